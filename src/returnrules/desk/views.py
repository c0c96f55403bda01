"""Reading the record back: history, one request in full, the review queue,
and the verification of the event chain.  Nothing here writes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

from returnrules.desk.chain import ChainProblem, Event, verify_chain
from returnrules.desk.ledger import Ledger

__all__ = [
    "HistoryFilter",
    "Record",
    "Summary",
    "history",
    "review_queue",
    "show",
    "verify",
]

Mapping_ = dict[str, Any]
"""A row as a JSON-minded table."""

STATUSES: Final = (
    "received",
    "approved",
    "rejected",
    "partial",
    "review",
    "completed",
    "failed",
)


@attrs.frozen
class Summary:
    """One request in a listing: ``history`` and the review queue."""

    request_id: str
    order_id: str
    customer_id: str
    kind: str
    decision: str
    status: str
    received_at: str
    lines: tuple[Mapping_, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request_id,
            "order": self.order_id,
            "customer": self.customer_id,
            "kind": self.kind,
            "decision": self.decision,
            "status": self.status,
            "received_at": self.received_at,
            "lines": [dict(line) for line in self.lines],
        }


@attrs.frozen
class HistoryFilter:
    """Which requests ``history`` lists; every given filter must hold."""

    order: str | None = None
    customer: str | None = None
    status: str | None = None
    reason: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    limit: int = 100


def received_between(
    column: str, since: dt.date | None, until: dt.date | None
) -> tuple[list[str], list[str]]:
    """SQL conditions on *column* (ISO 8601 in UTC) for the days *since* to
    *until*, inclusive, and their parameters: the start of *since*, and the
    start of the day after *until* - none after 9999-12-31, the last day
    there is."""
    clauses, params = [], []
    if since is not None:
        clauses.append(f"{column} >= ?")
        params.append(dt.datetime.combine(since, dt.time(), dt.UTC).isoformat())
    if until is not None and until < dt.date.max:
        clauses.append(f"{column} < ?")
        after = until + dt.timedelta(days=1)
        params.append(dt.datetime.combine(after, dt.time(), dt.UTC).isoformat())
    return clauses, params


def history(ledger: Ledger, where: HistoryFilter = HistoryFilter()) -> list[Summary]:
    """Recorded requests, newest first, with their lines; *where* filters.

    Dates are the day received, in UTC: ``since`` from its start, ``until``
    up to its end.
    """
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("order_id", where.order),
        ("customer_id", where.customer),
        ("status", where.status),
    ):
        if value is not None:
            clauses.append(f"r.{column} = ?")
            params.append(value)
    if where.reason is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM lines l WHERE l.request_id = r.request_id "
            "AND l.reason = ?)"
        )
        params.append(where.reason)
    period, values = received_between("r.received_at", where.since, where.until)
    clauses += period
    params += values
    sql = (
        "SELECT r.request_id, r.order_id, r.customer_id, r.kind, r.decision, "
        "r.status, r.received_at FROM requests r"
        + (" WHERE " + " AND ".join(clauses) if clauses else "")
        + " ORDER BY r.received_at DESC, r.request_id DESC LIMIT ?"
    )
    with ledger.read() as tx:
        rows = tx.all(sql, (*params, max(0, where.limit)))
        lines = _lines(tx, [row[0] for row in rows])
    return [_summary(row, lines.get(row[0], ())) for row in rows]


def _summary(row: Sequence[Any], lines: Iterable[Mapping_]) -> Summary:
    rid, order, customer, kind, decision, status, received = row[:7]
    return Summary(rid, order, customer, kind, decision, status, received, tuple(lines))


_LINE_COLUMNS: Final = (
    "line",
    "sku",
    "brand",
    "category",
    "supplier",
    "qty",
    "reason",
    "condition",
    "amount_minor",
    "currency",
    "decision",
    "policy_decision",
    "decided_by",
    "resolved_by",
    "resolved_at",
    "resolution_note",
)


def _lines(tx: Any, request_ids: Sequence[str]) -> dict[str, list[Mapping_]]:
    found: dict[str, list[Mapping_]] = {}
    for start in range(0, len(request_ids), 500):
        part = request_ids[start : start + 500]
        for row in tx.all(
            f"SELECT request_id, {', '.join(_LINE_COLUMNS)} FROM lines "
            f"WHERE request_id IN ({', '.join('?' * len(part))}) "
            "ORDER BY request_id, line",
            part,
        ):
            line = dict(zip(_LINE_COLUMNS, row[1:], strict=True))
            line["decided_by"] = json.loads(line["decided_by"])
            found.setdefault(row[0], []).append(line)
    return found


def review_queue(ledger: Ledger) -> list[Summary]:
    """Requests with a line waiting for a person, oldest first."""
    with ledger.read() as tx:
        rows = tx.all(
            "SELECT r.request_id, r.order_id, r.customer_id, r.kind, r.decision, "
            "r.status, r.received_at FROM requests r WHERE EXISTS (SELECT 1 FROM "
            "lines l WHERE l.request_id = r.request_id AND l.decision = 'review') "
            "ORDER BY r.received_at, r.request_id"
        )
        lines = _lines(tx, [row[0] for row in rows])
    return [_summary(row, lines.get(row[0], ())) for row in rows]


@attrs.frozen
class Record:
    """Everything the ledger holds about one request (``returnrules show``)."""

    summary: Summary
    request: Mapping_
    """The request as given."""
    policy: Mapping_
    """sha256, source and plugins of the policy that decided it."""
    data: Mapping_ | None
    """The ``--data`` it was decided with (None: none was given)."""
    provided: Mapping_
    """What the data providers answered, per line."""
    result: Mapping_
    """The decision: the ``eval --json`` object, with its trace."""
    actions: tuple[Mapping_, ...]
    events: tuple[Mapping_, ...]
    submitted_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary.to_dict(),
            "submitted_by": self.submitted_by,
            "request_as_given": self.request,
            "policy": self.policy,
            "data": self.data,
            "provided": self.provided,
            "result": self.result,
            "actions": [dict(a) for a in self.actions],
            "events": [dict(e) for e in self.events],
        }


_JOURNAL_COLUMNS: Final = (
    "key",
    "line",
    "action",
    "rule",
    "fields",
    "state",
    "attempts",
    "executor",
    "result",
    "error",
    "created_at",
    "updated_at",
)


def show(ledger: Ledger, request_id: str) -> Record | None:
    """The whole record of *request_id*, or None if the ledger has none."""
    with ledger.read() as tx:
        row = tx.one(
            "SELECT r.request_id, r.order_id, r.customer_id, r.kind, r.decision, "
            "r.status, r.received_at, r.body, r.result, r.provided, r.submitted_by, "
            "p.sha256, p.source, p.plugins, d.body FROM requests r "
            "JOIN policies p ON p.sha256 = r.policy_sha256 "
            "LEFT JOIN data_snapshots d ON d.sha256 = r.data_sha256 "
            "WHERE r.request_id = ?",
            (request_id,),
        )
        if row is None:
            return None
        lines = _lines(tx, [request_id]).get(request_id, [])
        journal = tx.all(
            f"SELECT {', '.join(_JOURNAL_COLUMNS)} FROM journal WHERE request_id = ? "
            "ORDER BY line, key",
            (request_id,),
        )
        events = tx.all(
            "SELECT seq, request_id, at, actor, kind, status, line, note, prev_hash, "
            "hash FROM events WHERE request_id = ? ORDER BY seq",
            (request_id,),
        )
    actions = []
    for entry in journal:
        action = dict(zip(_JOURNAL_COLUMNS, entry, strict=True))
        action["fields"] = json.loads(action["fields"])
        action["result"] = (
            None if action["result"] is None else json.loads(action["result"])
        )
        actions.append(action)
    return Record(
        summary=_summary(row, lines),
        request=json.loads(row[7]),
        policy={"sha256": row[11], "source": row[12], "plugins": json.loads(row[13])},
        data=None if row[14] is None else json.loads(row[14]),
        provided=json.loads(row[9]),
        result=json.loads(row[8]),
        actions=tuple(actions),
        events=tuple(Event.from_row(e).to_dict() for e in events),
        submitted_by=row[10],
    )


@attrs.frozen
class Verification:
    """The result of ``ledger verify``: the chain's head and its problems."""

    events: int
    head_seq: int
    head_hash: str
    problems: tuple[ChainProblem, ...]

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "events": self.events,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "problems": [p.to_dict() for p in self.problems],
        }


def verify(ledger: Ledger, *, chunk: int = 10_000) -> Verification:
    """Walk every event in order and check the chain (see :mod:`.chain`)."""
    with ledger.read() as tx:
        head = tx.one("SELECT seq, hash FROM chain WHERE id = 1")
        head_seq, head_hash = (0, "") if head is None else (int(head[0]), str(head[1]))

        def events() -> Any:
            after = -1
            while True:
                rows = tx.all(
                    "SELECT seq, request_id, at, actor, kind, status, line, note, "
                    "prev_hash, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                    (after, chunk),
                )
                if not rows:
                    return
                for row in rows:
                    yield Event.from_row(row)
                after = rows[-1][0]

        counted: list[int] = []

        def counting() -> Any:
            for event in events():
                counted.append(1)
                yield event

        problems = verify_chain(counting(), head_seq, head_hash)
    return Verification(len(counted), head_seq, head_hash, tuple(problems))


__all__ += ["STATUSES", "Verification"]


# -- for the desk's command line ---------------------------------------------------


def journal(
    ledger: Ledger,
    *,
    states: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Journal entries in the order ``resume`` runs them: those in *states*
    (default: every state), or those with *keys*; each with its request id,
    fields and result decoded."""
    columns = ("request_id", *_JOURNAL_COLUMNS)
    select = f"SELECT {', '.join(columns)} FROM journal"
    rows: list[tuple[Any, ...]] = []
    with ledger.read() as tx:
        if keys is not None:
            keys = list(keys)
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                rows += tx.all(
                    f"{select} WHERE key IN ({', '.join('?' * len(part))})", part
                )
            order = {key: i for i, key in enumerate(keys)}
            rows.sort(key=lambda row: order[row[1]])
        elif states is not None:
            rows = tx.all(
                f"{select} WHERE state IN ({', '.join('?' * len(states))}) "
                "ORDER BY created_at, key",
                tuple(states),
            )
        else:
            rows = tx.all(f"{select} ORDER BY created_at, key")
    found = []
    for row in rows:
        entry = dict(zip(columns, row, strict=True))
        entry["fields"] = json.loads(entry["fields"])
        if entry["result"] is not None:
            entry["result"] = json.loads(entry["result"])
        found.append(entry)
    return found


def recorded_policies(ledger: Ledger) -> list[dict[str, Any]]:
    """Every policy the ledger has decided with (sha256, source, text), oldest
    first."""
    with ledger.read() as tx:
        rows = tx.all(
            "SELECT sha256, source, text, first_used FROM policies "
            "ORDER BY first_used, sha256"
        )
    return [
        {"sha256": sha, "source": source, "text": text, "first_used": first}
        for sha, source, text, first in rows
    ]


def ledger_tables(ledger: Ledger) -> dict[str, dict[str, str]]:
    """The plugins' ledger tables: name → {column: type}."""
    with ledger.read() as tx:
        rows = tx.all("SELECT name, columns FROM ledger_tables ORDER BY name")
    return {name: json.loads(columns) for name, columns in rows}


__all__ += ["journal", "ledger_tables", "recorded_policies"]
