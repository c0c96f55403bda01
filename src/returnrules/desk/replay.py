"""Replay: what would change if we adopted this policy?

``returnrules replay`` re-evaluates recorded requests under a new policy and
compares with what was decided: the from→to matrix of line decisions, the
refund totals before and after, how often each rule matched and decided
before and after, and every line that changed.  Each recorded request is
decided again from what the desk knew then - the request as given, the
``--data`` snapshot, what the data providers answered (played back from the
ledger's tape, not asked again) and what earlier requests had taken back - so
replaying under the policy that decided them reproduces every recorded
decision and amount (``Comparison.reproduced``).

From request files instead of a ledger, one policy is compared with another.

The work is in chunks: :func:`replay_chunk` is a pure function of a policy
and a chunk of plain rows, so chunks can be evaluated here, in worker
processes (``jobs``), or on a Dask cluster (:mod:`returnrules.desk.dask`).
The history is read a chunk at a time and at most a few chunks are in flight,
so memory stays flat however long the history.
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import functools
import json
import json.scanner
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Final

import attrs

from returnrules.desk.canonical import refund_of, rule_ids, rule_list
from returnrules.desk.ledger import Ledger
from returnrules.desk.views import received_between
from returnrules.model.decision import Decision
from returnrules.model.errors import RequestError
from returnrules.plugin.api import Data
from returnrules.plugin.tape import Index, Recorded, Tape
from returnrules.policy.policy import Policy

__all__ = [
    "CHUNK",
    "Change",
    "Comparison",
    "LineResult",
    "replay_chunk",
    "replay_files",
    "replay_ledger",
]

CHUNK: Final = 1000
"""Recorded requests per chunk of work."""


@attrs.frozen
class LineResult:
    """A line's decision as a replay compares it: a line changes when its
    decision, its deciding rules, its refund or fee, or (when it moves money)
    their currency is not the same."""

    decision: str
    decided_by: tuple[str, ...]
    matched: tuple[str, ...]
    refund_minor: int = 0
    fee_minor: int = 0
    currency: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "decided_by": list(self.decided_by),
            "matched": list(self.matched),
            "refund_minor": self.refund_minor,
            "fee_minor": self.fee_minor,
            "currency": self.currency,
        }


@attrs.frozen
class Change:
    """A line whose decision (or deciding rules, or refund) changed."""

    seq: int
    request: str
    line: int
    before: LineResult
    after: LineResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "line": self.line,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


@attrs.define
class Comparison:
    """Everything a replay found; chunks' comparisons merge into one."""

    requests: int = 0
    lines: int = 0
    matrix: collections.Counter[tuple[str, str]] = attrs.field(
        factory=collections.Counter
    )
    refunds: dict[str, list[int]] = attrs.field(factory=dict)
    """currency → [refund before, after, fees before, after] in minor units."""
    rules: dict[str, list[int]] = attrs.field(factory=dict)
    """rule → [matched before, after, decided before, after]."""
    changes: list[Change] = attrs.field(factory=list)
    errors: list[tuple[int, str, str]] = attrs.field(factory=list)
    """(seq, request, message) of requests that could not be replayed."""

    def merge(self, other: Comparison) -> None:
        self.requests += other.requests
        self.lines += other.lines
        self.matrix.update(other.matrix)
        for table, into in ((other.refunds, self.refunds), (other.rules, self.rules)):
            for key, values in table.items():
                mine = into.setdefault(key, [0, 0, 0, 0])
                for i, value in enumerate(values):
                    mine[i] += value
        self.changes.extend(other.changes)
        self.errors.extend(other.errors)

    def finish(self) -> Comparison:
        """Changes and errors in history order (chunks may finish in any order)."""
        self.changes.sort(key=lambda c: (c.seq, c.line))
        self.errors.sort()
        return self

    @property
    def changed(self) -> int:
        return len(self.changes)

    @property
    def reproduced(self) -> bool:
        """Every line decided exactly as before, every request replayed."""
        return not self.changes and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "lines": self.lines,
            "changed": self.changed,
            "reproduced": self.reproduced,
            "matrix": [
                {"from": old, "to": new, "lines": n}
                for (old, new), n in sorted(self.matrix.items())
            ],
            "refunds": [
                {
                    "currency": currency,
                    "before_minor": before,
                    "after_minor": after,
                    "difference_minor": after - before,
                    "fees_before_minor": fees_before,
                    "fees_after_minor": fees_after,
                }
                for currency, (before, after, fees_before, fees_after) in sorted(
                    self.refunds.items()
                )
            ],
            "rules": [
                {
                    "rule": rule,
                    "matched_before": counts[0],
                    "matched_after": counts[1],
                    "decided_before": counts[2],
                    "decided_after": counts[3],
                }
                for rule, counts in sorted(self.rules.items())
            ],
            "changes": [c.to_dict() for c in self.changes],
            "errors": [{"request": r, "message": m} for _, r, m in self.errors],
        }


# -- one chunk ---------------------------------------------------------------------

Row = tuple[int, str, str, str, str | None, tuple[tuple[Any, ...], ...]]
"""(seq, request id, body, provided, data sha, lines) of a recorded request;
each line (line, decision, decided_by, matched, refund, fee, currency, taken)."""


@functools.lru_cache(maxsize=8)
def _data(body: str | None) -> Data:
    """The Data of a snapshot, made once per process (by content)."""
    return Data() if body is None else Data(json.loads(body))


_scan_once = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def _json(text: str) -> Any:
    """``json.loads(text)`` for the ledger's compact JSON, in one C call.

    ``json.loads`` spends about 1.5 µs a call in its Python layers (two
    whitespace regexes among them) before the scanner it ends in; a replay
    reads two texts per request.  Anything but one value filling the text
    is left to ``json.loads``, which takes it or raises its usual error.
    """
    if type(text) is not str:
        raise ValueError(f"not JSON text: a {type(text).__name__}")
    try:
        value, end = _scan_once(text, 0)
    except (ValueError, StopIteration):
        end = -1
    return value if end == len(text) else json.loads(text)


_Index = Mapping[int, Index]


def _answers(provided: str) -> _Index:
    """A recorded request's provider answers (``requests.provided``), by line,
    indexed for :meth:`Tape.playback`.  ValueError when the text is not what
    the desk writes."""
    answers = _json(provided)
    if not isinstance(answers, dict):
        raise ValueError("the recorded provider answers are not a table")
    try:
        return {
            int(line): Index(Recorded.from_dict(a) for a in recorded)
            for line, recorded in answers.items()
            if recorded
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"a recorded provider answer is malformed: {exc!r}") from None


def replay_chunk(
    policy: Policy, rows: Sequence[Row], snapshots: Mapping[str, str]
) -> Comparison:
    """Decide each recorded request of *rows* again under *policy*, with what
    the desk knew then, and compare with what was recorded.

    A request whose recorded text no longer reads (or checks) is an error of
    the comparison; the chunk goes on.  The lines are compared by
    :class:`_Tally`, on the recorded columns as they are.
    """
    comparison = Comparison()
    tally = _Tally(comparison)
    evaluate = policy.engine.evaluate
    read = policy.parse_request
    indexed: dict[str, _Index] = {}  # a chunk's requests share few answer sets
    for seq, request_id, body, provided, data_sha, lines in rows:
        try:
            index = indexed.get(provided)
            if index is None:
                index = indexed[provided] = _answers(provided)
            request = read(_json(body))
            _check_lines(lines)
            if len(lines) == 1 and not lines[0][7]:
                pass  # the usual request: nothing taken back before it
            else:
                taken = {line[0]: line[7] for line in lines if line[7]}
                if taken:
                    request = request.with_taken(taken)
            data = _data(None if data_sha is None else snapshots.get(data_sha))
            tapes = (
                {line: Tape.playback(answers) for line, answers in index.items()}
                if index
                else None
            )
            decision = evaluate(request, data, False, tapes)
        except (RequestError, ValueError, RecursionError) as exc:
            comparison.errors.append((seq, request_id, _problem(exc)))
            continue
        tally.add(seq, request_id, lines, decision, request.currency)
    comparison.requests = len(rows)
    return tally.spread()


class _Tally:
    """A comparison being made, line by line, from lines as the ledger
    records them (``Row``'s) and the decision made again.

    The bookkeeping works on the recorded columns as they are: a
    :class:`LineResult` is made only for a line that changed, and each line
    is one count of its (decision then, now, rules then as recorded, now),
    spread into the matrix and the rules' counts once, at the end.  The
    replay of the ledger and of request files both count here.
    """

    __slots__ = (
        "changes",
        "comparison",
        "counts",
        "money",
        "money_currency",
        "refunds",
    )

    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.refunds, self.changes = comparison.refunds, comparison.changes
        self.counts: collections.Counter[tuple[str, str, Any, Any, _Ids, _Ids]]
        self.counts = collections.Counter()
        self.money = [0, 0, 0, 0]  # refunds[money_currency], once a line sets it
        self.money_currency: str | None = None

    def add(
        self,
        seq: int,
        request_id: str,
        lines: Sequence[tuple[Any, ...]],
        decision: Decision,
        currency: str,
    ) -> None:
        """Compare the recorded *lines* of a request with *decision* (in
        *currency*)."""
        refunds, changes, counts = self.refunds, self.changes, self.counts
        money, money_currency = self.money, self.money_currency
        decided_lines = decision.lines
        if len(decided_lines) == 1 and len(lines) == 1:  # the usual request
            after = {lines[0][0]: decided_lines[0]}
        else:
            after = {new.line: new for new in decided_lines}
        for line, old, decided, matched, refund, fee, old_currency, _ in lines:
            new = after.get(line)
            if new is None:
                continue
            new_refund, new_fee = refund_of(new.actions)  # as the desk recorded
            if old_currency != money_currency:
                money_currency = old_currency
                money = refunds.setdefault(old_currency, [0, 0, 0, 0])
            money[0] += refund
            money[2] += fee
            if old_currency == currency:
                money[1] += new_refund
                money[3] += new_fee
            else:
                other = refunds.setdefault(currency, [0, 0, 0, 0])
                other[1] += new_refund
                other[3] += new_fee
            new_decided = new.decided_by
            counts[old, new.decision, matched, decided, new.matched, new_decided] += 1
            if (
                old != new.decision
                or rule_ids(decided) != new_decided
                or refund != new_refund
                or fee != new_fee
                # 100.00 CNY then, 100.00 USD now (a policy in another currency)
                or (old_currency != currency and (refund or fee))
            ):
                before = LineResult(
                    old, rule_ids(decided), rule_ids(matched), refund, fee,
                    old_currency,
                )  # fmt: skip
                now = LineResult(
                    new.decision, new_decided, new.matched, new_refund, new_fee,
                    currency,
                )  # fmt: skip
                changes.append(Change(seq, request_id, line, before, now))
        self.money, self.money_currency = money, money_currency

    def spread(self) -> Comparison:
        """The comparison, its counts spread into the matrix and the rules'."""
        comparison = self.comparison
        matrix, rules = comparison.matrix, comparison.rules
        for (
            old,
            new_decision,
            matched,
            decided,
            matched_now,
            decided_now,
        ), n in self.counts.items():
            comparison.lines += n
            matrix[old, new_decision] += n
            # (the recorded texts are read here: two texts may say one list)
            counted = (rule_ids(matched), rule_ids(decided)), (matched_now, decided_now)
            for column, (matched_ids, decided_ids) in enumerate(counted):
                for rule in matched_ids:
                    rules.setdefault(rule, [0, 0, 0, 0])[column] += n
                for rule in decided_ids:
                    rules.setdefault(rule, [0, 0, 0, 0])[column + 2] += n
        self.counts.clear()
        return comparison


_Ids = tuple[str, ...]


def _check_lines(lines: Sequence[tuple[Any, ...]]) -> None:
    """The recorded lines of a request are what the desk writes (numbers are
    ints, rule lists are JSON lists), or ValueError: a ledger edited by hand
    is an error of its request, not the end of the replay."""
    for line, _, decided, matched, refund, fee, currency, taken in lines:
        if not (
            type(line) is type(refund) is type(fee) is int
            and (taken is None or type(taken) is int)
            and type(currency) is str
        ):
            raise ValueError(f"line {line!r} of the ledger is not as the desk wrote it")
        rule_ids(decided)
        rule_ids(matched)


def _problem(exc: BaseException) -> str:
    if isinstance(exc, RequestError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "the recorded request is nested too deeply to read"
    return f"the recorded request does not read: {exc}"


# -- the history -------------------------------------------------------------------


def history_chunks(
    ledger: Ledger,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    chunk: int = CHUNK,
) -> Iterator[tuple[list[Row], dict[str, str]]]:
    """The recorded requests received in the period, in order, a chunk at a
    time, with the data snapshots the chunk needs."""
    clauses, params = received_between("received_at", since, until)
    seq = 0
    last: tuple[str, str] | None = None
    snapshots: dict[str, str] = {}
    while True:
        where = list(clauses)
        values = list(params)
        if last is not None:
            # A row value, so that the index (received_at, request_id) finds
            # where the chunk starts; written as an OR, it was scanned from
            # the start for every chunk (a million requests read in 62 s).
            where.append("(received_at, request_id) > (?, ?)")
            values += [last[0], last[1]]
        sql = (
            "SELECT request_id, body, provided, data_sha256, received_at FROM requests"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY received_at, request_id LIMIT ?"
        )
        with ledger.read() as tx:
            found = tx.all(sql, (*values, chunk))
            if not found:
                return
            ids = [row[0] for row in found]
            lines: dict[str, list[tuple[Any, ...]]] = {}
            for row in tx.all(
                "SELECT request_id, line, policy_decision, decided_by, matched, "
                "refund_minor, refund_fee_minor, currency, taken_before FROM lines "
                f"WHERE request_id IN ({', '.join('?' * len(ids))}) ORDER BY line",
                ids,
            ):
                lines.setdefault(row[0], []).append(tuple(row[1:]))
            needed = {row[3] for row in found if row[3] is not None} - set(snapshots)
            for sha in needed:
                body = tx.one(
                    "SELECT body FROM data_snapshots WHERE sha256 = ?", (sha,)
                )
                if body is not None:
                    snapshots[sha] = str(body[0])
        rows: list[Row] = []
        for request_id, body, provided, data_sha, _ in found:
            seq += 1
            rows.append(
                (
                    seq,
                    request_id,
                    body,
                    provided,
                    data_sha,
                    tuple(lines.get(request_id, ())),
                )
            )
        used = {row[4] for row in rows if row[4] is not None}
        yield rows, {sha: snapshots[sha] for sha in used if sha in snapshots}
        last = (str(found[-1][4]), str(found[-1][0]))


Chunk = tuple[list[Row], dict[str, str]]
"""A chunk of the history: its rows and the data snapshots they need."""
Runner = Callable[[Policy, Iterable[Chunk]], Comparison]

WORKER_DIED: Final = (
    "a worker process died deciding it (killed, out of memory, or ended by one "
    "of the policy's plugins)"
)
"""The error of a recorded request that ends the worker process deciding it."""
MAX_DEATHS: Final = 16
"""Worker pools broken, or requests found to end their worker, before a
replay stops (:class:`WorkersDying`)."""


class WorkersDying(RuntimeError):
    """Worker processes kept dying: the replay stopped."""

    def __init__(self) -> None:
        super().__init__(
            f"worker processes died more than {MAX_DEATHS} times (killed, out of "
            "memory, or ended by one of the policy's plugins); the replay stopped"
        )


def quarantine(policy: Policy, suspects: Iterable[Chunk]) -> Comparison:
    """Replay the chunks that were in flight when a worker process died.

    Each runs alone in a worker process of its own; a chunk that ends its
    worker again is halved, and halved again, until the request that does
    it is found: that request is an error of the replay (:data:`WORKER_DIED`)
    and every other one is decided.  A chunk that was only in the same
    pool (or whose worker the machine killed for memory) simply replays.
    More than :data:`MAX_DEATHS` such requests raise :class:`WorkersDying`:
    a plugin that ends every process would otherwise be bisected request by
    request through the whole history.
    """
    total = Comparison()
    found = 0  # requests that end their worker
    stack = list(suspects)[::-1]
    context = multiprocessing.get_context("spawn")
    pool: concurrent.futures.ProcessPoolExecutor | None = None
    try:
        while stack:
            rows, snapshots = stack.pop()
            if pool is None:
                pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=context)
            try:
                total.merge(pool.submit(replay_chunk, policy, rows, snapshots).result())
                continue
            except BrokenProcessPool:
                pool.shutdown()
                pool = None
            if len(rows) == 1:
                found += 1
                if found > MAX_DEATHS:
                    raise WorkersDying
                total.requests += 1
                total.errors.append((rows[0][0], rows[0][1], WORKER_DIED))
            else:
                half = len(rows) // 2
                stack += [(rows[half:], snapshots), (rows[:half], snapshots)]
    finally:
        if pool is not None:
            pool.shutdown()
    return total


def run_here(
    policy: Policy, chunks: Iterable[tuple[list[Row], dict[str, str]]]
) -> Comparison:
    """Every chunk in this process."""
    total = Comparison()
    for rows, snapshots in chunks:
        total.merge(replay_chunk(policy, rows, snapshots))
    return total.finish()


def run_in_processes(policy: Policy, chunks: Iterable[Chunk], jobs: int) -> Comparison:
    """Chunks in *jobs* worker processes, at most two per worker in flight.

    A worker that dies breaks the pool: the chunks in flight then are set
    aside, a new pool takes the rest, and the set-aside chunks are replayed
    apart at the end (:func:`quarantine`), so one deadly request is one error.
    """
    total = Comparison()
    suspects: list[Chunk] = []
    deaths = 0
    context = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context)
    flight: collections.deque[tuple[Chunk, concurrent.futures.Future[Comparison]]]
    flight = collections.deque()

    def settle(everything: bool, broken: bool = False) -> None:
        nonlocal pool, deaths
        while flight and (everything or broken or len(flight) >= 2 * jobs):
            chunk, future = flight.popleft()
            try:
                total.merge(future.result())
            except BrokenProcessPool:
                broken = True  # and so is every chunk still in flight
                suspects.append(chunk)
        if broken:
            pool.shutdown()
            deaths += 1
            if deaths > MAX_DEATHS:
                raise WorkersDying
            pool = concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context)

    try:
        for chunk in chunks:
            try:
                future = pool.submit(replay_chunk, policy, *chunk)
            except BrokenProcessPool:  # broken between two chunks: a new pool
                settle(True, broken=True)
                future = pool.submit(replay_chunk, policy, *chunk)
            flight.append((chunk, future))
            settle(False)
        settle(True)
    finally:
        pool.shutdown()
    if suspects:
        total.merge(quarantine(policy, suspects))
    return total.finish()


def replay_ledger(
    ledger: Ledger,
    policy: Policy,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    jobs: int = 1,
    chunk: int = CHUNK,
    runner: Runner | None = None,
) -> Comparison:
    """Replay the ledger's history of the period under *policy*.

    *runner* evaluates the chunks (default: here, or in *jobs* processes);
    :func:`returnrules.desk.dask.runner` runs them on a Dask cluster.  A
    request that ends the worker process deciding it is an error of the
    comparison (:data:`WORKER_DIED`); :class:`WorkersDying` is raised when
    workers die more than :data:`MAX_DEATHS` times.
    """
    chunks = history_chunks(ledger, since=since, until=until, chunk=chunk)
    if runner is not None:
        return runner(policy, chunks)
    if jobs > 1:
        return run_in_processes(policy, chunks, jobs)
    return run_here(policy, chunks)


def replay_files(
    items: Iterable[tuple[str, Mapping[str, Any] | RequestError]],
    new: Policy,
    old: Policy,
    data: Mapping[str, Any] | None = None,
) -> Comparison:
    """Compare two policies on request files: *old* decides the "before"."""
    total = Comparison()
    tally = _Tally(total)
    new_data = Data() if data is None else new.check_data(data)
    old_data = Data() if data is None else old.check_data(data)
    for seq, (source, item) in enumerate(items, 1):
        try:
            if isinstance(item, RequestError):
                raise item
            before = old.evaluate(item, old_data)
            after = new.evaluate(item, new_data)
        except RequestError as exc:
            total.requests += 1
            shown = exc if exc.source else exc.with_source(source)
            total.errors.append((seq, source, str(shown)))
            continue
        total.requests += 1
        tally.add(
            seq, before.request, _as_recorded(before, old.currency), after, new.currency
        )
    return tally.spread().finish()


def _as_recorded(decision: Decision, currency: str) -> tuple[tuple[Any, ...], ...]:
    """*decision*'s lines as the desk records them (``Row``'s lines)."""
    recorded = []
    for line in decision.lines:
        refund, fee = refund_of(line.actions)
        recorded.append(
            (
                line.line,
                line.decision,
                rule_list(line.decided_by),
                rule_list(line.matched),
                refund,
                fee,
                currency,
                0,
            )
        )
    return tuple(recorded)


__all__ += [
    "MAX_DEATHS",
    "WORKER_DIED",
    "Chunk",
    "Row",
    "Runner",
    "WorkersDying",
    "history_chunks",
    "quarantine",
    "run_here",
]
