"""``returnrules eval`` over many requests: streamed, optionally on several cores.

Requests are read lazily (a ``.jsonl`` file of a year of returns is never held
in memory), evaluated, rendered and printed in input order.  With ``jobs > 1``
chunks of requests go to worker processes that each load and compile the
policy once; the results come back in order, and only plain strings cross the
process boundary (the lines of a ``.jsonl`` file are decoded in the workers).
A request that cannot be read or parsed is reported with its source
(``batch.jsonl:12``) and the batch goes on.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Final, TextIO

import attrs

from returnrules.cli.inputs import MAX_BYTES, JsonLine, Loaded
from returnrules.cli.render import (
    Style,
    render_decision,
    render_request_error,
    render_why_not,
)
from returnrules.files.read import lines_in
from returnrules.model.decision import Decision
from returnrules.model.errors import PolicyError, RequestError
from returnrules.policy.load import load_policy
from returnrules.policy.policy import Policy
from returnrules.policy.whynot import WhyNot

__all__ = ["Options", "Progress", "Result", "WorkerDied", "evaluate_stream"]

_ENCODER: Final = json.JSONEncoder(ensure_ascii=False)
"""``json.dumps(..., ensure_ascii=False)``, without a new encoder per request."""

CHUNK: Final = 256
"""Requests per chunk sent to a worker: large enough to amortise the pickling."""
CHUNK_BYTES: Final = 4 * 1024 * 1024
"""Text of ``.jsonl`` lines per chunk, at most (plus one line)."""


@attrs.frozen
class Options:
    """How each request is evaluated and shown (the same in every worker)."""

    as_json: bool = False
    explain: bool = False
    colour: bool = False
    why_not: str | None = None
    """The target decision of ``--why-not`` (None: no counterfactuals)."""


@attrs.frozen
class Result:
    """One request's output: lines for stdout, or error lines for stderr."""

    out: tuple[str, ...] = ()
    err: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.err


def render_one(
    policy: Policy,
    data: Mapping[str, Any] | None,
    options: Options,
    source: str,
    loaded: Loaded,
) -> Result:
    """Parse, evaluate and render one request; a bad one becomes error lines."""
    try:
        if isinstance(loaded, RequestError):
            raise loaded
        if isinstance(loaded, JsonLine):
            loaded = loaded.load()
        request = policy.parse_request(loaded)
        decision = policy.evaluate(request, data, explain=options.explain)
        answers = _why_not(policy, loaded, data, decision, options.why_not)
    except RequestError as exc:
        error = exc if exc.source else exc.with_source(source)
        return Result(err=tuple(render_request_error(error)))
    if options.as_json:
        shown = decision.to_dict()
        if options.why_not is not None:
            shown["why_not"] = [answer.to_dict() for answer in answers]
        return Result(out=(_ENCODER.encode(shown),))
    style = Style(options.colour)
    out = render_decision(decision, request, policy, style, source=source)
    for answer in answers:
        out += render_why_not(answer, style)
    return Result(out=tuple(out))


def _why_not(
    policy: Policy,
    loaded: Mapping[str, Any],
    data: Mapping[str, Any] | None,
    decision: Decision,
    target: str | None,
) -> list[WhyNot]:
    """The counterfactuals of every rejected or reviewed line, for --why-not."""
    if target is None:
        return []
    return [
        policy.why_not(loaded, data, line=line.line, target=target)  # type: ignore[arg-type]
        for line in decision.lines
        if line.decision != target and line.decision in ("reject", "review")
    ]


# -- workers ---------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _start_worker(rules: str, data: Mapping[str, Any] | None, options: Options) -> None:
    """Pool initializer: load and compile the policy once per worker process.

    A failure is kept for :func:`_work` to report: raised here, it would only
    be logged with a traceback, and the pool marked broken without a reason.
    """
    try:
        _worker.update(policy=load_policy(rules), data=data, options=options)
    except Exception as exc:
        problems = exc.errors if isinstance(exc, PolicyError) else (exc,)
        _worker["failed"] = "the policy did not load in a worker process: " + "; ".join(
            map(str, problems)
        )


def _work(chunk: list[tuple[str, Loaded | Result]]) -> list[Result]:
    if "failed" in _worker:
        raise RuntimeError(_worker["failed"])
    policy, data, options = _worker["policy"], _worker["data"], _worker["options"]
    return [
        item
        if isinstance(item, Result)
        else render_one(policy, data, options, source, item)
        for source, item in chunk
    ]


class WorkerDied(Exception):
    """A worker process died or failed: the batch stopped.

    Every result before *first* was yielded; no request from *first* on was
    evaluated (those up to *last* were in flight, the rest not yet read).
    """

    def __init__(self, first: str, last: str, cause: BaseException) -> None:
        self.first = first
        self.last = last
        self.cause = cause
        if isinstance(cause, BrokenProcessPool):
            what = "died (killed, out of memory, or ended by a plugin)"
        else:
            what = f"failed ({type(cause).__name__}: {cause})"
        span = first if first == last else f"the requests from {first} to {last}"
        super().__init__(
            f"a worker process {what} while evaluating {span}; the batch stopped: "
            f"no request from {first} on was evaluated"
        )


def _chunks(
    items: Iterable[tuple[str, Loaded]], policy: Policy, options: Options
) -> Iterator[list[tuple[str, Loaded | Result]]]:
    """Chunks for the workers: :data:`CHUNK` requests, or fewer once their
    ``.jsonl`` lines hold :data:`CHUNK_BYTES` of text, so that long lines (up
    to 16 MiB each) are never held and pickled by the hundred.

    A request that could not even be read is rendered here: a RequestError
    does not survive pickling (its args are its text)."""
    chunk: list[tuple[str, Loaded | Result]] = []
    size = 0
    for source, item in items:
        if isinstance(item, RequestError):
            chunk.append((source, render_one(policy, None, options, source, item)))
        else:
            chunk.append((source, item))
            size += len(item.text) if isinstance(item, JsonLine) else 0
        if len(chunk) >= CHUNK or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


_InFlight = tuple[str, str, Future[list[Result]]]
"""A chunk sent to a worker: the sources of its first and last request, and
its future results."""


def _results(window: collections.deque[_InFlight]) -> list[Result]:
    """The results of the oldest chunk in flight; WorkerDied if it has none."""
    first, last, future = window.popleft()
    try:
        return future.result()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a worker's own failure, whatever it raised
        raise WorkerDied(first, window[-1][1] if window else last, exc) from None


def evaluate_stream(
    items: Iterable[tuple[str, Loaded]],
    policy: Policy,
    rules: str,
    data: Mapping[str, Any] | None,
    options: Options,
    jobs: int = 1,
) -> Iterator[Result]:
    """The results of *items* in input order, computed here or in *jobs* workers.

    *policy* is the loaded policy (used here); *rules* is its path, which each
    worker loads and compiles once.  At most two chunks per worker are in
    flight, so a huge input is never read ahead into memory.  A worker that
    dies (killed, out of memory, ended by a plugin) or fails raises
    :class:`WorkerDied` after the results before its chunk: the batch stops,
    it never waits for ever.
    """
    if jobs <= 1:
        for source, item in items:
            yield render_one(policy, data, options, source, item)
        return
    pool = ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(rules, data, options),
    )
    window: collections.deque[_InFlight] = collections.deque()
    try:
        for chunk in _chunks(items, policy, options):
            window.append((chunk[0][0], chunk[-1][0], pool.submit(_work, chunk)))
            if len(window) >= 2 * jobs:
                yield from _results(window)
        while window:
            yield from _results(window)
    finally:
        pool.shutdown(cancel_futures=True)


# -- progress --------------------------------------------------------------------------


@attrs.define
class Progress:
    """A one-line progress display on stderr: count, rate, time left.

    Shown only when asked (the CLI asks when stderr is a terminal); redrawn
    at most every *interval* seconds and erased at the end.
    """

    stream: TextIO
    total: int | None = None
    interval: float = 0.2
    count: int = 0
    started: float = attrs.field(factory=time.monotonic)
    shown: float = 0.0

    def step(self) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.shown >= self.interval:
            self.shown = now
            self.draw(now)

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.count / elapsed
        text = f"{self.count:,}"
        if self.total:
            text += f"/{self.total:,} requests"
            if rate > 0 and self.count < self.total:
                left = (self.total - self.count) / rate
                text += f", {_duration(left)} left"
        else:
            text += " requests"
        return f"{text}, {rate:,.0f}/s"

    def draw(self, now: float) -> None:
        self.stream.write("\r\x1b[K" + self.line(now))
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def count_requests(specs: Iterable[str]) -> int | None:
    """How many requests the files hold (lines of a .jsonl), or None if unknown.

    Only regular files are counted: a pipe read here would be empty for the
    batch, and a device may never end.
    """
    total = 0
    for spec in specs:
        if spec == "-":
            return None
        if spec.endswith(".jsonl"):
            lines = lines_in(spec, MAX_BYTES)
            if lines is None:
                return None
            total += lines
        else:
            total += 1
    return total


def default_jobs() -> int:
    return os.cpu_count() or 1
