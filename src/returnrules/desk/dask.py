"""Replay on a Dask cluster (the ``dask`` extra: ``pip install 'returnrules[dask]'``).

``returnrules replay --engine dask [--scheduler ADDRESS]`` hands the chunks
of the history to Dask workers; without a scheduler address, a
``distributed.LocalCluster`` of worker processes on this machine.

The policy goes with every chunk as what it was loaded from - its source
text, its directory and its plugins' names: :meth:`returnrules.Policy.__reduce__`,
a few kilobytes beside a chunk's rows - and is loaded and compiled once per
worker process (the first chunk there); generated code is never pickled.  It
is not scattered: data scattered to workers is lost with them, and a worker
that dies would then take every chunk in flight with it.  The plugins must
be installed on the workers as they are here (entry points, or files in the
policy's directory where the workers can read it).

The history is read here a chunk at a time; at most two chunks per worker are
in flight, so memory stays flat however long it is.  The results are merged in
history order, so they are the same as a local replay's.  A chunk whose
workers keep dying (Dask retries it on others first) is replayed here apart,
in a worker process of its own, as a local replay does
(:func:`returnrules.desk.replay.quarantine`): the request that ends its
process is an error of the replay, and the rest is decided.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from returnrules.desk.replay import Chunk, Comparison, quarantine, replay_chunk
from returnrules.policy.policy import Policy

__all__ = ["DaskUnavailable", "runner"]


class DaskUnavailable(RuntimeError):
    """``--engine dask`` without the ``dask`` extra installed, or with a
    scheduler that cannot be reached."""


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DaskUnavailable(
            "replay --engine dask needs the dask extra: pip install 'returnrules[dask]'"
        ) from None
    if scheduler is not None:
        try:
            client = Client(scheduler)
        except OSError as exc:  # refused, timed out, no such host
            raise DaskUnavailable(
                f"cannot reach the Dask scheduler {scheduler}: {exc}"
            ) from None
        with client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            # The scheduler serves HTTP even without a dashboard, on port 8787
            # unless told otherwise: two replays at once (or two test
            # processes) collided there.  Any free port, on loopback only.
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def runner(
    scheduler: str | None = None, workers: int = 2
) -> Any:  # a returnrules.desk.replay.Runner
    """A replay runner that evaluates the chunks on Dask.

    *scheduler* is a cluster's address (``tcp://host:8786``); without one, a
    local cluster of *workers* processes is started and stopped around the
    replay.
    """

    def run(policy: Policy, chunks: Iterable[Chunk]) -> Comparison:
        total = Comparison()
        suspects: list[Chunk] = []
        with _client(scheduler, workers) as client:  # (says if Dask is missing)
            from distributed import KilledWorker, as_completed
            from distributed.client import FutureCancelledError

            limit = 2 * max(
                1, len(client.scheduler_info().get("workers", {})) or workers
            )
            flight = as_completed()
            held: dict[str, Chunk] = {}

            def settle(future: Any) -> None:
                chunk = held.pop(future.key)
                try:
                    total.merge(future.result())
                except (KilledWorker, FutureCancelledError):
                    suspects.append(chunk)  # its workers died: replayed apart

            for chunk in chunks:
                future = client.submit(replay_chunk, policy, *chunk, pure=False)
                held[future.key] = chunk
                flight.add(future)
                if flight.count() >= limit:
                    settle(next(flight))
            for future in flight:
                settle(future)
        if suspects:
            total.merge(quarantine(policy, suspects))
        return total.finish()

    return run
