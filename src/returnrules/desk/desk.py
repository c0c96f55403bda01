"""The return desk: record every request, execute its actions exactly once.

:class:`Desk` is the library call behind ``returnrules submit``, ``resume``
and ``review resolve``::

    with open_ledger("returnrules.db") as ledger, Desk(ledger, policy, data) as desk:
        for outcome in desk.submit(requests):
            ...

**Submitting** a batch is two transactions.  The first records every request
of the batch - the request as given, the policy and data it was decided with,
the decision (with its trace, unless ``trace=False``), what the data
providers answered, what earlier requests had taken of each line, one row per
line, one *journal* entry per planned action (the outbox) and the events -
and, in the same transaction, the quantities of each order line taken back,
so two desks racing for the last unit cannot both get it.  The second runs
the executors after that commit and marks each journal entry ``done`` or
``failed``, writing the rows executors keep in the ledger in the same
transaction as the mark.  A crash between the two leaves entries ``pending``:
``resume`` runs them.

**Concurrent desks** (PostgreSQL, READ COMMITTED).  Every write transaction
takes its row locks in one order - requests (sorted by id), ``taken`` rows
(one ``SELECT ... ORDER BY order_id, line FOR UPDATE``), journal entries,
executors' tables, and the chain's head last - so desks wait for each other
instead of deadlocking; a locked row is read as last committed, so no
quantity update is lost.  What is recorded already is looked up only after
the ``taken`` locks are held.  The one race left - two desks inserting the
same new request id - aborts one transaction, which ``run_write`` runs again
and which then finds the request recorded.

**Exactly once.**  Every entry has a stable key (request, line, action, rule,
position), which the executor receives.  The desk never runs an entry that
is ``done``; the rows an executor records are keyed by it, so they are kept
once even if the executor runs again after a crash; an executor that acts
outside the ledger (a payment service) must deduplicate on the key itself.
"""

from __future__ import annotations

import functools
import getpass
import itertools
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from returnrules.desk.canonical import canonical, digest, minor, refund_of, rule_list
from returnrules.desk.chain import Event, chained
from returnrules.desk.ledger import Ledger, LedgerError, Transaction
from returnrules.model.decision import ActionResult, Decision, LineDecision, reportable
from returnrules.model.errors import RequestError, RequestProblem
from returnrules.model.money import Money
from returnrules.model.request import OrderLine, Request, ReturnLine
from returnrules.plugin.api import Data
from returnrules.plugin.execute import NAME, Execution, Executor, now
from returnrules.plugin.hooks import describe, is_fault
from returnrules.plugin.tape import Recorded, Tape
from returnrules.policy.policy import Policy

__all__ = ["Desk", "Refused", "Submitted", "default_actor"]

BATCH: Final = 200
"""Requests recorded per transaction: large enough to amortise the commit."""

FINAL: Final = frozenset({"completed", "failed"})
STATUS_OF: Final = {
    "approve": "approved",
    "reject": "rejected",
    "review": "review",
    "partial": "partial",
}


def default_actor() -> str:
    """Who is at the desk: the OS user (``--by`` overrides it)."""
    try:
        return getpass.getuser()
    except Exception:  # no user name (a container): say so rather than fail
        return f"uid {os.getuid()}"


@attrs.frozen
class Submitted:
    """A request the ledger now holds: recorded now, or earlier (a duplicate)."""

    source: str
    request_id: str
    status: str
    result: Mapping[str, Any]
    """The ``eval --json`` object it was decided with (with its trace, when
    the desk records traces)."""
    duplicate: bool = False
    failed: int = 0
    """How many of its actions failed (``resume --retry-failed`` runs them)."""

    def to_dict(self, *, trace: bool = False) -> dict[str, Any]:
        """The ``submit --json`` object: the ``eval --json`` object plus
        ``status``, and the decision's ``trace`` (when recorded) if *trace*."""
        shown = {**self.result, "status": self.status}
        if not trace:
            shown.pop("trace", None)
        return shown


@attrs.frozen
class Refused:
    """A request the desk did not record: invalid, or a conflict."""

    source: str
    error: RequestError


Outcome = Submitted | Refused


# -- running executors -------------------------------------------------------------


_Job = tuple[Callable[[], Any], float]
"""A run for the worker: the call, and how long it may take (seconds)."""


class _Batch:
    """Runs handed to a worker at once, and what became of them so far."""

    def __init__(self, jobs: Sequence[_Job]) -> None:
        self.jobs = jobs
        self.answers: list[tuple[str, Any]] = []
        self.current = (0, time.monotonic())
        """The run under way and when it started (replaced, never changed)."""
        self.finished = threading.Event()
        self.abandoned = False


class _Worker:
    """One daemon thread that runs executors, so a run can be given up on.

    It is handed a whole batch of runs and the desk waits once for all of
    them, waking only when the run under way passes its timeout: a thread
    switch per batch, not per run.  A run that outlasts its timeout is
    abandoned with its thread (Python cannot stop a thread), and the rest of
    the batch goes to a new one.
    """

    def __init__(self) -> None:
        self._batches: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._loop, args=(self._batches,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """End the thread once it is idle (it is, between the desk's calls)."""
        self._batches.put(None)
        self._thread.join()

    @staticmethod
    def _loop(batches: queue.SimpleQueue[_Batch | None]) -> None:
        while True:
            batch = batches.get()
            if batch is None:
                return
            for index, (job, _) in enumerate(batch.jobs):
                batch.current = (index, time.monotonic())
                try:
                    batch.answers.append(("ok", job()))
                except BaseException as exc:  # handed back to the desk
                    batch.answers.append(("error", exc))
                if batch.abandoned:
                    return  # given up on: the desk has a new worker
            batch.finished.set()

    def run(self, jobs: Sequence[_Job]) -> tuple[list[tuple[str, Any]], bool]:
        """Each job's ``(kind, value)``: ``ok`` and its result, ``error`` and
        the exception, or ``timeout`` for one that overran (and then this
        worker is abandoned: the second value is False), in order, up to it."""
        # The shortest timeout from each run on: a later run, not started
        # yet, cannot be overdue before now + that.
        soonest = list(itertools.accumulate(reversed([t for _, t in jobs]), min))[::-1]
        batch = _Batch(jobs)
        self._batches.put(batch)
        while True:
            index, started = batch.current
            now = time.monotonic()
            wake = min(
                started + jobs[index][1], now + soonest[min(index + 1, len(jobs) - 1)]
            )
            if batch.finished.wait(max(0.0, wake - now)):
                return batch.answers, True
            running = batch.current == (index, started) and len(batch.answers) == index
            if running and time.monotonic() >= started + jobs[index][1]:
                batch.abandoned = True
                return [*batch.answers[:index], ("timeout", None)], False


@attrs.frozen
class _Done:
    """What became of one journal entry."""

    key: str
    request_id: str
    state: Literal["done", "failed"]
    executor: str | None
    result: str | None
    error: str | None
    records: tuple[tuple[str, dict[str, Any]], ...] = ()
    line: int = 0


# -- the desk ----------------------------------------------------------------------


class Desk:
    """A ledger and a policy, at a desk.

    *data* is the ``--data`` mapping (stock, suppliers...) the policy's
    plugins read; *actor* names who acts (``--by``; default the OS user).
    *trace* records each decision with its condition-by-condition trace;
    without it (``trace=False``) the decision is recorded as ``eval --json``
    prints it, and :meth:`explain` works the trace out again when asked -
    the explanation is most of what a decision costs (see bench/RESULTS.md).
    Opening a desk creates a new ledger, refuses one of another schema
    version, and adds the tables the policy's plugins keep.
    """

    def __init__(
        self,
        ledger: Ledger,
        policy: Policy,
        data: Mapping[str, Any] | None = None,
        *,
        actor: str | None = None,
        batch: int = BATCH,
        clock: Callable[[], Any] = now,
        trace: bool = True,
    ) -> None:
        self.ledger = ledger
        self.policy = policy
        self.actor = actor or default_actor()
        self.batch = max(1, batch)
        self.clock = clock
        self.trace = trace
        ledger.check_schema(create=True)
        ledger.ensure_tables(policy.registry.tables)
        self.data = Data() if data is None else policy.check_data(data)
        self._data_body = None if data is None else canonical(data)
        self._data_sha = None if self._data_body is None else digest(self._data_body)
        self.policy_sha = digest(policy.text)
        self._worker: _Worker | None = None
        self._policies: dict[str, Policy] = {self.policy_sha: policy}
        self._store_policy()

    def __repr__(self) -> str:
        return f"<Desk {self.ledger.url} {self.policy.source}>"

    def close(self) -> None:
        """End the thread that runs the executors (started by the first
        action executed).  The ledger stays open: it is the caller's.  A desk
        may be used again after it; ``with Desk(...) as desk:`` closes it."""
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.stop()

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _store_policy(self) -> None:
        plugins = [
            {"name": p.name, "origin": p.origin, "source": p.source}
            for p in self.policy.registry.plugins
        ]
        with self.ledger.write() as tx:
            tx.execute(
                "INSERT INTO policies (sha256, source, text, plugins, first_used) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
                (
                    self.policy_sha,
                    self.policy.source,
                    self.policy.text,
                    json.dumps(plugins, ensure_ascii=False),
                    self._now(),
                ),
            )
            if self._data_body is not None:
                tx.execute(
                    "INSERT INTO data_snapshots (sha256, body) VALUES (?, ?) "
                    "ON CONFLICT (sha256) DO NOTHING",
                    (self._data_sha, self._data_body),
                )

    def _now(self) -> str:
        return str(self.clock().isoformat())

    # -- submit ---------------------------------------------------------------------

    def submit(
        self, requests: Iterable[tuple[str, Mapping[str, Any] | RequestError]]
    ) -> Iterator[Outcome]:
        """Decide, record and execute each ``(source, request)``, in order.

        A request already recorded with the same content is not decided or
        executed again: its recorded result comes back (``duplicate``).  The
        same id with other content is refused as a conflict, and so is an
        invalid request; the others are recorded.
        """
        items = iter(requests)
        while chunk := list(itertools.islice(items, self.batch)):
            yield from self._submit_batch(chunk)

    def _submit_batch(
        self, chunk: Sequence[tuple[str, Mapping[str, Any] | RequestError]]
    ) -> list[Outcome]:
        outcomes: list[Outcome | _Pending] = []
        for source, item in chunk:
            outcomes.append(self._prepare(source, item))
        pending = [o for o in outcomes if isinstance(o, _Pending)]
        if pending:
            planned = self.ledger.run_write(lambda tx: self._record(tx, pending))
            if planned:
                # The entries just recorded, as _entries would read them back.
                self._execute([(*row[:6], 0) for row in planned])
                statuses = self._statuses([p.request.id for p in pending if p.planned])
                for p in pending:
                    if p.planned:
                        p.status, p.failed = statuses[p.request.id]
        return [o.outcome() if isinstance(o, _Pending) else o for o in outcomes]

    def _prepare(
        self, source: str, item: Mapping[str, Any] | RequestError
    ) -> _Pending | Refused:
        if isinstance(item, RequestError):
            return Refused(source, item if item.source else item.with_source(source))
        try:
            request = self.policy.parse_request(item)
        except RequestError as exc:
            return Refused(source, exc if exc.source else exc.with_source(source))
        body = canonical(item)
        return _Pending(source, request, body, digest(body))

    def _record(
        self, tx: Transaction, pending: Sequence[_Pending]
    ) -> list[tuple[Any, ...]]:
        """Decide and record *pending* in one transaction (see the module);
        the journal rows planned.

        The ``taken`` rows come first, locked (on PostgreSQL) in one order,
        and only then is it looked up which requests the ledger already has:
        a desk that waited for another's locks sees what that one recorded.
        Run again from the start if PostgreSQL aborts it (``run_write``).
        """
        for p in pending:
            p.reset()
        taken = self._lock_taken(tx, pending)
        before = dict(taken)
        ids = list(dict.fromkeys(p.request.id for p in pending))
        known = {
            row[0]: row[1:]
            for among, args in _among(tx, ids)
            for row in tx.all(
                "SELECT request_id, content_sha256, status, result FROM requests "
                f"WHERE request_id {among}",
                args,
            )
        }
        at = self._now()
        seen: dict[str, _Pending] = {}
        rows = _Rows()
        for p in pending:
            rid = p.request.id
            if rid in known or rid in seen:
                earlier = known.get(rid)
                sha = earlier[0] if earlier else seen[rid].sha
                if sha != p.sha:
                    p.conflict = True
                    continue
                if earlier is not None:
                    p.status, p.result = earlier[1], json.loads(earlier[2])
                else:
                    p.status, p.result = seen[rid].status, seen[rid].result
                p.duplicate = True
                continue
            seen[rid] = p
            self._decide(p, taken, rows, at)
        rows.taken = [
            (qty, order, line)
            for (order, line), qty in taken.items()
            if qty != before.get((order, line))
        ]
        rows.write(tx)
        self._append_events(tx, rows.events)
        return rows.journal

    def _lock_taken(
        self, tx: Transaction, pending: Sequence[_Pending]
    ) -> dict[tuple[str, int], int]:
        """The quantities already taken back of every order line *pending*
        returns, locked until the transaction ends.

        Rows missing are created first (a row another desk is creating is
        waited for), then all are locked in one order - sorted by order and
        line - so desks wanting overlapping lines queue up instead of
        deadlocking; under READ COMMITTED a locked row is read as last
        committed, so no update is lost.  (SQLite: the write lock is held.)
        """
        wanted = sorted(
            {
                (p.request.order.id, rline.line)
                for p in pending
                for rline in p.request.lines
            }
        )
        taken: dict[tuple[str, int], int] = dict.fromkeys(wanted, 0)
        # One statement for a whole batch (parts only past 1,000 lines).
        for part in _parts(wanted, 1000):
            flat = [value for pair in part for value in pair]
            tx.execute(
                "INSERT INTO taken (order_id, line, qty) VALUES "
                + ", ".join(["(?, ?, 0)"] * len(part))
                + " ON CONFLICT (order_id, line) DO NOTHING",
                flat,
            )
            for order, line, qty in tx.all(
                "SELECT order_id, line, qty FROM taken WHERE (order_id, line) IN "
                f"(VALUES {', '.join(['(?, ?)'] * len(part))}) "
                "ORDER BY order_id, line" + tx.for_update,
                flat,
            ):
                taken[order, int(line)] = int(qty)
        return taken

    def _decide(
        self,
        p: _Pending,
        taken: dict[tuple[str, int], int],
        rows: _Rows,
        at: str,
    ) -> None:
        order = p.request.order.id
        request = p.request.with_taken(
            {rline.line: taken.get((order, rline.line), 0) for rline in p.request.lines}
        )
        tapes: dict[int, Tape] = {rline.line: Tape() for rline in request.lines}
        decision = self.policy.evaluate(
            request, self.data, explain=self.trace, tapes=tapes
        )
        p.result = decision.to_dict()
        p.status = STATUS_OF[decision.decision]
        p.recorded = True
        provided = {
            str(line): [r.to_dict() for r in tape.answers]
            for line, tape in tapes.items()
        }
        lines: dict[int, tuple[ReturnLine, OrderLine]] = {
            rline.line: (rline, oline) for rline, oline in request.pairs
        }
        planned: list[tuple[Any, ...]] = []
        for oline in request.order.lines:
            rows.order_lines.append(
                (order, oline.line, oline.sku, oline.brand, oline.category,
                 oline.supplier, oline.qty, at)
            )  # fmt: skip
        for line in decision.lines:
            rline, oline = lines[line.line]
            amount = oline.unit_price * rline.qty
            before = request.taken.get(line.line, 0)
            refund, fee = refund_of(line.actions)
            rows.lines.append(
                (
                    request.id,
                    line.line,
                    order,
                    request.customer.id,
                    oline.sku,
                    oline.brand,
                    oline.category,
                    oline.supplier,
                    rline.qty,
                    rline.reason,
                    rline.condition,
                    minor(amount),
                    amount.currency,
                    line.decision,
                    line.decision,
                    rule_list(line.decided_by),
                    at,
                    before,
                    rule_list(line.matched),
                    refund,
                    fee,
                    at[:7],
                )
            )
            rows.line_rules.extend((request.id, line.line, r) for r in line.decided_by)
            if line.decision in ("approve", "review"):
                taken[order, line.line] = before + rline.qty
            planned += self._entries_of(request.id, line, at)
        rows.journal += planned
        p.planned = bool(planned)
        rows.events.append(Event(0, request.id, at, self.actor, "received", "received"))
        rows.events.append(Event(0, request.id, at, self.actor, "decided", p.status))
        if not planned and p.status != "review":
            # Nothing to execute: done as soon as it is recorded.
            p.status = "completed"
            rows.events.append(
                Event(0, request.id, at, self.actor, "completed", "completed")
            )
        rows.requests.append(
            (
                request.id,
                p.sha,
                p.body,
                order,
                request.customer.id,
                request.kind,
                request.requested_at.isoformat(),
                at,
                self.policy_sha,
                self._data_sha,
                decision.decision,
                p.status,
                _json(p.result),
                _json(provided),
                self.actor,
                at,
            )
        )

    def _entries_of(
        self, request_id: str, line: LineDecision, at: str
    ) -> list[tuple[Any, ...]]:
        """The journal rows of a line's actions (keys stable across retries)."""
        return [_journal_row(request_id, line.line, a, at) for a in line.actions]

    def _append_events(self, tx: Transaction, events: Sequence[Event]) -> None:
        if not events:
            return
        head = tx.one("SELECT seq, hash FROM chain WHERE id = 1" + tx.for_update)
        assert head is not None, "the chain head is created with the ledger"
        done = chained(events, int(head[0]), str(head[1]))
        tx.insert("events", _EVENT_COLUMNS, [e.row() for e in done])
        tx.execute(
            "UPDATE chain SET seq = ?, hash = ? WHERE id = 1",
            (done[-1].seq, done[-1].hash),
        )

    # -- executing ------------------------------------------------------------------

    def _entries(
        self, request_ids: Sequence[str] | None, *, failed: bool = False
    ) -> list[tuple[Any, ...]]:
        """Journal entries to run: pending (and failed, if asked) ones."""
        states = ("pending", "failed") if failed else ("pending",)
        select = (
            "SELECT key, request_id, line, action, rule, fields, attempts FROM journal "
            f"WHERE state IN ({_marks(states)})"
        )
        with self.ledger.read() as tx:
            if request_ids is None:
                return tx.all(select + " ORDER BY created_at, key", states)
            found: list[tuple[Any, ...]] = []
            for among, args in _among(tx, request_ids):
                found += tx.all(
                    select + f" AND request_id {among} ORDER BY key", (*states, *args)
                )
            return found

    def _execute(self, entries: Sequence[tuple[Any, ...]]) -> None:
        """Run each entry's executor and record the outcomes, in batches."""
        executors = self.policy.registry.executors
        size = 4 * self.batch
        for start in range(0, len(entries), size):
            runs = [
                (
                    executors.get(action),
                    Execution(
                        key, rid, line, action, rule, json.loads(fields), attempts + 1
                    ),
                )
                for key, rid, line, action, rule, fields, attempts in entries[
                    start : start + size
                ]
            ]
            self._mark(self._run_all(runs))

    def _run_all(
        self, runs: Sequence[tuple[Executor | None, Execution]]
    ) -> list[_Done]:
        """Run the executors of *runs* in order, on the worker thread."""
        done: list[_Done] = []
        while len(done) < len(runs):
            todo = runs[len(done) :]
            jobs: list[_Job] = [
                (functools.partial(executor.run, execution), executor.timeout)
                if executor is not None
                else (_no_executor, 1.0)
                for executor, execution in todo
            ]
            if self._worker is None:
                self._worker = _Worker()
            answers, alive = self._worker.run(jobs)
            if not alive:
                self._worker = None  # abandoned with the run that will not end
            for (executor, execution), (kind, value) in zip(
                todo, answers, strict=False
            ):
                done.append(self._outcome(executor, execution, kind, value))
        return done

    def _outcome(
        self, executor: Executor | None, execution: Execution, kind: str, value: Any
    ) -> _Done:
        """What became of one run: a journal entry done or failed."""

        def failed(error: str, by: str | None = None) -> _Done:
            return _Done(
                execution.key, execution.request, "failed", by, None, error[:2000],
                line=execution.line,
            )  # fmt: skip

        if executor is None:
            return failed(f'no executor is registered for action "{execution.action}"')
        if kind == "timeout":
            return failed(
                f"timed out after {executor.timeout:g} s (executor of plugin "
                f"{executor.plugin})",
                executor.plugin,
            )
        if kind == "error":
            if not is_fault(value):
                raise value
            return failed(describe(value), executor.plugin)
        try:
            result = None if value is None else json.dumps(
                reportable(value), default=str, ensure_ascii=False
            )  # fmt: skip
            records = tuple(self._checked_record(t, c) for t, c in execution.records)
        except BaseException as exc:  # the executor's fault: a bad record or result
            if not is_fault(exc):
                raise
            return failed(describe(exc), executor.plugin)
        return _Done(
            execution.key,
            execution.request,
            "done",
            executor.plugin,
            result,
            None,
            records,
            execution.line,
        )

    def _checked_record(
        self, table: str, columns: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        known = self.policy.registry.tables.get(table)
        if known is None:
            raise ValueError(f'record(): no ledger table "{table}" is registered')
        row: dict[str, Any] = {}
        for name, value in columns.items():
            kind = known.columns.get(name)
            if kind is None or not NAME.fullmatch(name):
                raise ValueError(f'record(): table "{table}" has no column "{name}"')
            if isinstance(value, Money):
                value = minor(value) if kind == "integer" else str(value)
            if kind == "integer" and (type(value) is not int and value is not None):
                raise TypeError(f"record(): {table}.{name} is an integer column")
            if kind == "text" and value is not None and not isinstance(value, str):
                value = str(value)
            row[name] = value
        return table, row

    def _mark(self, done: Sequence[_Done]) -> None:
        """Record outcomes: entries, executors' rows and statuses, one transaction.

        The requests are locked first (the order every desk transaction
        follows: requests, journal, executors' tables, the chain's head), so a
        desk marking the same entries - a ``resume`` beside a ``submit`` -
        waits, then sees them done and leaves them as they are.
        """
        at = self._now()
        self.ledger.run_write(lambda tx: self._mark_in(tx, done, at))

    def _mark_in(self, tx: Transaction, done: Sequence[_Done], at: str) -> None:
        request_ids = sorted({d.request_id for d in done})
        current = self._lock_requests(tx, request_ids)
        # An entry another desk finished meanwhile stays as it is (state <>
        # 'done'), and the effects it recorded too (ON CONFLICT DO NOTHING).
        todo = sorted(done, key=lambda d: d.key)
        # One statement per outcome (most entries share theirs: done by the
        # same executor, with no result), not one per entry.
        outcomes: dict[tuple[Any, ...], list[str]] = {}
        for d in todo:
            outcomes.setdefault((d.state, d.executor, d.result, d.error), []).append(
                d.key
            )
        for outcome, keys in outcomes.items():
            for among, args in _among(tx, keys):
                tx.execute(
                    "UPDATE journal SET state = ?, attempts = attempts + 1, "
                    "executor = ?, result = ?, error = ?, updated_at = ? "
                    f"WHERE key {among} AND state <> 'done'",
                    (*outcome, at, *args),
                )
        by_table: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
        for d in todo:
            if d.state != "done":
                continue
            for table, row in d.records:
                names = tuple(row)
                by_table.setdefault((table, names), []).append(
                    (d.key, d.request_id, d.line, at, *row.values())
                )
        for (table, names), values in by_table.items():
            columns = ("key", "request_id", "line", "recorded_at", *names)
            tx.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                f"({_marks(columns)}) ON CONFLICT (key) DO NOTHING",
                values,
            )
        self._paid(tx, sorted({d.request_id for d in todo if d.state == "done"}))
        self._settle(tx, request_ids, at, current)

    @staticmethod
    def _paid(tx: Transaction, request_ids: Sequence[str]) -> None:
        """The lines' refunds paid and fees kept: the money of their done
        actions, summed again from the journal (so never counted twice).

        One aggregate over the batch's journal entries, found by request id;
        the state is tested inside the sums: given ``state = 'done'`` in a
        WHERE, SQLite's planner (without statistics) looked the entries up by
        state, every done entry of the ledger for each line, and a submit
        slowed down as the ledger grew.
        """
        for among, args in _among(tx, list(request_ids)):
            tx.execute(PAID.format(among=among), args)

    def _lock_requests(
        self, tx: Transaction, request_ids: Sequence[str]
    ) -> dict[str, str]:
        """Lock *request_ids* (sorted) until the transaction ends; their status."""
        current: dict[str, str] = {}
        for among, args in _among(tx, sorted(request_ids)):
            current.update(
                tx.all(
                    f"SELECT request_id, status FROM requests WHERE request_id {among} "
                    "ORDER BY request_id" + tx.for_update,
                    args,
                )
            )
        return current

    def _settle(
        self,
        tx: Transaction,
        request_ids: Sequence[str],
        at: str,
        current: Mapping[str, str] | None = None,
    ) -> None:
        """Move requests whose actions are all run to completed or failed.

        *current*: their statuses, read with the rows locked (else locked here,
        before the journal is read, so what is read stays true).
        """
        if current is None:
            current = self._lock_requests(tx, request_ids)
        events: list[Event] = []
        changed: dict[str, list[str]] = {}
        for part in _parts(list(request_ids)):
            among, args = tx.among(part)
            states: dict[str, set[str]] = {}
            for rid, state in tx.all(
                f"SELECT request_id, state FROM journal WHERE request_id {among}", args
            ):
                states.setdefault(rid, set()).add(state)
            review = {
                row[0]
                for row in tx.all(
                    f"SELECT DISTINCT request_id FROM lines WHERE request_id {among} "
                    "AND decision = 'review'",
                    args,
                )
            }
            for rid in part:
                seen = states.get(rid, set())
                if "pending" in seen:
                    continue
                if "failed" in seen:
                    status = "failed"
                elif rid in review:
                    status = "review"
                else:
                    status = "completed"
                if current.get(rid) != status:
                    changed.setdefault(status, []).append(rid)
                    if status != "review":
                        events.append(Event(0, rid, at, self.actor, status, status))
        for status, rids in changed.items():
            for among, args in _among(tx, rids):
                tx.execute(
                    f"UPDATE requests SET status = ?, updated_at = ? "
                    f"WHERE request_id {among}",
                    (status, at, *args),
                )
        self._append_events(tx, events)

    def _statuses(self, request_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        found: dict[str, tuple[str, int]] = {}
        with self.ledger.read() as tx:
            for among, args in _among(tx, request_ids):
                failed = dict(
                    tx.all(
                        "SELECT request_id, COUNT(*) FROM journal WHERE request_id "
                        f"{among} AND state = 'failed' GROUP BY request_id",
                        args,
                    )
                )
                for rid, status in tx.all(
                    f"SELECT request_id, status FROM requests WHERE request_id {among}",
                    args,
                ):
                    found[rid] = (status, int(failed.get(rid, 0)))
        return found

    # -- resume ---------------------------------------------------------------------

    def resume(self, *, retry_failed: bool = False) -> ResumeReport:
        """Run what a crash (or, with *retry_failed*, a failure) left undone,
        and settle the statuses of requests whose actions have all run."""
        entries = self._entries(None, failed=retry_failed)
        retried = [e for e in entries if e[6] > 0]
        if retry_failed and retried:
            at = self._now()
            events = [
                Event(0, rid, at, self.actor, "retried", None)
                for rid in sorted({e[1] for e in retried})
            ]
            self.ledger.run_write(lambda tx: self._append_events(tx, events))
        self._execute(entries)
        with self.ledger.read() as tx:
            unsettled = [
                row[0]
                for row in tx.all(
                    "SELECT request_id FROM requests WHERE status NOT IN "
                    "('completed', 'failed', 'review')"
                )
            ]
        if unsettled:
            at = self._now()
            self.ledger.run_write(lambda tx: self._settle(tx, unsettled, at))
        with self.ledger.read() as tx:
            counts = dict(tx.all("SELECT state, COUNT(*) FROM journal GROUP BY state"))
        return ResumeReport(
            ran=len(entries),
            done=int(counts.get("done", 0)),
            failed=int(counts.get("failed", 0)),
            pending=int(counts.get("pending", 0)),
        )

    # -- review ---------------------------------------------------------------------

    def resolve(
        self,
        request_id: str,
        decision: Literal["approve", "reject"],
        *,
        line: int | None = None,
        note: str | None = None,
    ) -> Submitted:
        """A person decides a line sent to review (*line*: every such line).

        The line's decision becomes the person's; the actions that apply to it
        (semantics 3-4, over the rules that matched it) are planned and
        executed once; an event records who and why.  Raises
        :class:`RequestError` (``not-found``, ``not-in-review``) otherwise,
        and :class:`ValueError` for a *decision* other than the two.
        """
        if decision not in ("approve", "reject"):
            raise ValueError(f"a person decides approve or reject, not {decision!r}")
        at = self._now()
        recorded = self.ledger.run_write(
            lambda tx: self._resolve_in(tx, request_id, decision, line, note, at)
        )
        self._execute(self._entries([request_id]))
        self.ledger.run_write(lambda tx: self._settle(tx, [request_id], self._now()))
        status, failed = self._statuses([request_id])[request_id]
        return Submitted("", request_id, status, recorded, failed=failed)

    def _resolve_in(
        self,
        tx: Transaction,
        request_id: str,
        decision: Literal["approve", "reject"],
        line: int | None,
        note: str | None,
        at: str,
    ) -> Mapping[str, Any]:
        """The transaction of :meth:`resolve`; the request's recorded result."""
        row = tx.one(
            "SELECT body, result, provided, policy_sha256, data_sha256, order_id "
            "FROM requests WHERE request_id = ?" + tx.for_update,
            (request_id,),
        )
        if row is None:
            raise _problem(request_id, "not-found", "is not in the ledger")
        body, result, provided, policy_sha, data_sha, order = row
        waiting = [
            int(r[0])
            for r in tx.all(
                "SELECT line FROM lines WHERE request_id = ? "
                "AND decision = 'review' ORDER BY line",
                (request_id,),
            )
        ]
        chosen = waiting if line is None else [n for n in waiting if n == line]
        if not chosen:
            which = "has no line" if line is None else f"has no line {line}"
            raise _problem(request_id, "not-in-review", f"{which} waiting for review")
        policy = self._policy_of(tx, policy_sha)
        data = self._data_of(tx, data_sha)
        request = policy.parse_request(json.loads(body)).with_taken(
            self._taken_before(tx, request_id)
        )
        recorded = json.loads(result)
        answers = json.loads(provided)
        matched = {ln["line"]: tuple(ln["matched"]) for ln in recorded["lines"]}
        journal: list[tuple[Any, ...]] = []
        events: list[Event] = []
        for number in chosen:
            tape = Tape(Recorded.from_dict(a) for a in answers.get(str(number), ()))
            decided = policy.engine.resolve(
                request, data, number, matched[number], decision, tape
            )
            journal += [
                _journal_row(request_id, number, a, at) for a in decided.actions
            ]
            refund, fee = refund_of(decided.actions)
            tx.execute(
                "UPDATE lines SET decision = ?, resolved_by = ?, resolved_at = ?, "
                "resolution_note = ?, refund_minor = refund_minor + ?, "
                "refund_fee_minor = refund_fee_minor + ? "
                "WHERE request_id = ? AND line = ?",
                (decision, self.actor, at, note, refund, fee, request_id, number),
            )
            if decision == "reject":  # what review held back is free again
                qty = next(rl.qty for rl in request.lines if rl.line == number)
                tx.execute(
                    "UPDATE taken SET qty = qty - ? WHERE order_id = ? AND line = ?",
                    (qty, order, number),
                )
            events.append(
                Event(
                    0,
                    request_id,
                    at,
                    self.actor,
                    "reviewed",
                    decision,
                    number,
                    note,
                )
            )
        tx.executemany(
            "INSERT INTO journal (key, request_id, line, action, rule, fields, "
            "amount_minor, fee_minor, currency, state, attempts, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            journal,
        )
        self._append_events(tx, events)
        return recorded  # type: ignore[no-any-return]

    # -- explaining ----------------------------------------------------------------

    def explain(self, request_id: str) -> Mapping[str, Any]:
        """The recorded decision of *request_id* with its trace, as ``eval
        --json --explain`` prints it.

        A trace recorded at submit is returned as it is; otherwise the
        decision is worked out again from what the ledger kept - the request
        as given, the policy that decided it, the data snapshot, the data
        providers' answers (played back, the host is not asked again) and
        what earlier requests had taken back of each line - which gives the
        decision that was recorded.  Raises :class:`RequestError`
        (``not-found``) for a request the ledger does not hold.
        """
        with self.ledger.read() as tx:
            row = tx.one(
                "SELECT body, result, provided, policy_sha256, data_sha256 "
                "FROM requests WHERE request_id = ?",
                (request_id,),
            )
            if row is None:
                raise _problem(request_id, "not-found", "is not in the ledger")
            body, result, provided, policy_sha, data_sha = row
            recorded = json.loads(result)
            if "trace" in recorded:
                return recorded  # type: ignore[no-any-return]
            taken = self._taken_before(tx, request_id)
            policy = self._policy_of(tx, policy_sha)
            data = self._data_of(tx, data_sha)
        request = policy.parse_request(json.loads(body)).with_taken(taken)
        answers = json.loads(provided)
        tapes: dict[int, Tape] = {
            rline.line: Tape(
                Recorded.from_dict(a) for a in answers.get(str(rline.line), ())
            )
            for rline in request.lines
        }
        return policy.evaluate(request, data, explain=True, tapes=tapes).to_dict()

    @staticmethod
    def _taken_before(tx: Transaction, request_id: str) -> dict[int, int]:
        """What earlier requests had taken of each line when it was decided
        (0 for lines recorded before schema version 2)."""
        return {
            int(line): int(qty or 0)
            for line, qty in tx.all(
                "SELECT line, taken_before FROM lines WHERE request_id = ?",
                (request_id,),
            )
        }

    def _policy_of(self, tx: Transaction, sha: str) -> Policy:
        """The policy that decided a request, loaded from the ledger's text."""
        if sha not in self._policies:
            row = tx.one("SELECT source, text FROM policies WHERE sha256 = ?", (sha,))
            if row is None:
                raise LedgerError(
                    self.ledger.url, f"policy {sha} is missing", "corrupt"
                )
            source, text = row
            self._policies[sha] = attrs.evolve(
                self.policy.origin, text=text, source=source
            ).load()
        return self._policies[sha]

    def _data_of(self, tx: Transaction, sha: str | None) -> Data:
        if sha is None:
            return Data()
        if sha == self._data_sha:
            return self.data
        row = tx.one("SELECT body FROM data_snapshots WHERE sha256 = ?", (sha,))
        return Data() if row is None else Data(json.loads(row[0]))


@attrs.frozen
class ResumeReport:
    """What ``resume`` ran, and how the journal stands after it."""

    ran: int
    done: int
    failed: int
    pending: int


@attrs.define
class _Pending:
    """A valid request of a batch, on its way into the ledger."""

    source: str
    request: Request
    body: str
    sha: str
    status: str = "received"
    result: Mapping[str, Any] = attrs.field(factory=dict)
    recorded: bool = False
    planned: bool = False
    """Recorded now with actions to execute."""
    duplicate: bool = False
    conflict: bool = False
    failed: int = 0

    def reset(self) -> None:
        """As before the transaction that records it (which may run again)."""
        self.status, self.result, self.failed = "received", {}, 0
        self.recorded = self.planned = self.duplicate = self.conflict = False

    def outcome(self) -> Outcome:
        rid = self.request.id
        if self.conflict:
            return Refused(
                self.source,
                RequestError(
                    [
                        RequestProblem(
                            ("id",),
                            f'request "{rid}" is already recorded with other content;'
                            " nothing changed (give the new request its own id)",
                            "conflict",
                        )
                    ],
                    self.source,
                ),
            )
        return Submitted(
            self.source, rid, self.status, self.result, self.duplicate, self.failed
        )


@attrs.define
class _Rows:
    """The rows one batch writes, gathered for ``executemany``."""

    requests: list[tuple[Any, ...]] = attrs.field(factory=list)
    lines: list[tuple[Any, ...]] = attrs.field(factory=list)
    journal: list[tuple[Any, ...]] = attrs.field(factory=list)
    taken: list[tuple[Any, ...]] = attrs.field(factory=list)
    events: list[Event] = attrs.field(factory=list)
    line_rules: list[tuple[Any, ...]] = attrs.field(factory=list)
    order_lines: list[tuple[Any, ...]] = attrs.field(factory=list)

    def write(self, tx: Transaction) -> None:
        tx.insert("requests", _REQUEST_COLUMNS, self.requests)
        tx.insert("lines", _LINE_COLUMNS, self.lines)
        tx.insert("line_rules", ("request_id", "line", "rule"), self.line_rules)
        tx.executemany(  # an order seen again: its lines are known already
            "INSERT INTO order_lines (order_id, line, sku, brand, category, "
            "supplier, qty, first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (order_id, line) DO NOTHING",
            self.order_lines,
        )
        tx.insert(
            "journal",
            _JOURNAL_COLUMNS,
            [(*row[:9], "pending", 0, *row[9:]) for row in self.journal],
        )
        tx.executemany(
            "UPDATE taken SET qty = ? WHERE order_id = ? AND line = ?", self.taken
        )


_json: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), check_circular=False
).encode
"""JSON text for the ledger's TEXT columns: compact (a trace is kilobytes)."""


def _no_executor() -> None:
    """The run of an action no plugin executes (the desk fails it)."""


_EVENT_COLUMNS: Final = (
    "seq", "request_id", "at", "actor", "kind", "status", "line", "note",
    "prev_hash", "hash",
)  # fmt: skip
PAID: Final = (
    "UPDATE lines SET refunded_minor = p.amount, refunded_fee_minor = p.fee FROM ("
    "SELECT request_id, line, "
    "COALESCE(SUM(CASE WHEN state = 'done' THEN amount_minor END), 0) AS amount, "
    "COALESCE(SUM(CASE WHEN state = 'done' THEN fee_minor END), 0) AS fee "
    "FROM journal WHERE request_id {among} GROUP BY request_id, line) AS p "
    "WHERE lines.request_id = p.request_id AND lines.line = p.line"
)
"""What :meth:`Desk._paid` runs (``{among}``: the request ids' condition): the
journal of the batch's requests summed once, by line, then set on the lines."""
_REQUEST_COLUMNS: Final = (
    "request_id", "content_sha256", "body", "order_id", "customer_id", "kind",
    "requested_at", "received_at", "policy_sha256", "data_sha256", "decision",
    "status", "result", "provided", "submitted_by", "updated_at",
)  # fmt: skip
_LINE_COLUMNS: Final = (
    "request_id", "line", "order_id", "customer_id", "sku", "brand", "category",
    "supplier", "qty", "reason", "condition", "amount_minor", "currency",
    "decision", "policy_decision", "decided_by", "received_at", "taken_before",
    "matched", "refund_minor", "refund_fee_minor", "month",
)  # fmt: skip
_JOURNAL_COLUMNS: Final = (
    "key", "request_id", "line", "action", "rule", "fields", "amount_minor",
    "fee_minor", "currency", "state", "attempts", "created_at", "updated_at",
)  # fmt: skip


def key_of(request_id: str, line: int, action: ActionResult) -> str:
    """An action's idempotency key: request, line, action, rule, step."""
    return f"{request_id}:{line}:{action.action}:{action.rule}:{action.step}"


def _journal_row(
    request_id: str, line: int, action: ActionResult, at: str
) -> tuple[Any, ...]:
    fields = action.fields
    amount, fee = fields.get("amount"), fields.get("fee")
    money = amount if isinstance(amount, Money) else None
    return (
        key_of(request_id, line, action),
        request_id,
        line,
        action.action,
        action.rule,
        canonical(fields),
        None if money is None else minor(money),
        minor(fee) if isinstance(fee, Money) else None,
        None if money is None else money.currency,
        at,
        at,
    )


def _problem(request_id: str, code: str, text: str) -> RequestError:
    return RequestError(
        [RequestProblem(("id",), f'request "{request_id}" {text}', code)]
    )


def _parts(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _among(
    tx: Transaction, values: Sequence[Any]
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """:meth:`Transaction.among` for each part of *values* (500 at a time)."""
    for part in _parts(list(values)):
        yield tx.among(part)


def _marks(items: Sequence[Any]) -> str:
    """``?, ?, ?``: one placeholder per item."""
    return ", ".join("?" * len(items))


__all__ += ["Decision", "ResumeReport"]
