"""Replay on a Dask cluster (the ``dask`` extra: ``pip install 'returnrules[dask]'``).

``returnrules replay --engine dask [--scheduler ADDRESS]`` hands the chunks
of the history to Dask workers; without a scheduler address, a
``distributed.LocalCluster`` of worker processes on this machine.

The policy reaches each worker once (``Client.scatter(..., broadcast=True)``)
as what it was loaded from - its source text, its directory and its plugins'
names: :meth:`returnrules.Policy.__reduce__` - and is loaded and compiled
there once per worker process; generated code is never pickled.  The plugins
must be installed on the workers as they are here (entry points, or files in
the policy's directory where the workers can read it).

The history is read here a chunk at a time; at most two chunks per worker are
in flight, so memory stays flat however long it is.  The results are merged in
history order, so they are the same as a local replay's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from returnrules.desk.replay import Comparison, Row, replay_chunk
from returnrules.policy.policy import Policy

__all__ = ["DaskUnavailable", "runner"]


class DaskUnavailable(RuntimeError):
    """``--engine dask`` without the ``dask`` extra installed."""


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DaskUnavailable(
            "replay --engine dask needs the dask extra: pip install 'returnrules[dask]'"
        ) from None
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
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

    def run(
        policy: Policy, chunks: Iterable[tuple[list[Row], dict[str, str]]]
    ) -> Comparison:
        from distributed import as_completed

        total = Comparison()
        with _client(scheduler, workers) as client:
            shared = client.scatter(policy, broadcast=True)
            limit = 2 * max(
                1, len(client.scheduler_info().get("workers", {})) or workers
            )
            flight = as_completed()
            for rows, snapshots in chunks:
                flight.add(
                    client.submit(replay_chunk, shared, rows, snapshots, pure=False)
                )
                if flight.count() >= limit:
                    total.merge(next(flight).result())
            for future in flight:
                total.merge(future.result())
        return total.finish()

    return run
