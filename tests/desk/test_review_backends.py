"""The review on both backends: the report's one pass gives the same numbers
as counting the ledger's lines one by one, for every dimension and period; a
ledger of schema version 3 gets its lines' months when upgraded; a replay
reads every recorded request once, in order, however small its chunks.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import returnrules
from returnrules.desk import Desk, open_ledger, views
from returnrules.desk.desk import PAID
from returnrules.desk.ledger import LATEST_VERSION, Ledger
from returnrules.desk.replay import history_chunks, replay_ledger
from returnrules.desk.report import DEFAULT_BY, build_report
from tests.desk.helpers import rows
from tests.test_desk_review import DATA, RULES, examples

MONTHS = (
    dt.datetime(2026, 9, 30, 23, 59, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 1, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 15, 8, 30, tzinfo=dt.UTC),
)


def counted(
    ledger: Ledger, since: dt.date | None, until: dt.date | None
) -> dict[str, dict[tuple[str, str], list[int]]]:
    """Each dimension's groups, counted line by line in Python."""
    key_of: dict[str, Callable[[dict[str, Any]], list[str]]] = {
        "reason": lambda r: [r["reason"]],
        "category": lambda r: [r["category"]],
        "supplier": lambda r: [r["supplier"] or ""],
        "brand": lambda r: [r["brand"]],
        "customer": lambda r: [r["customer_id"]],
        "month": lambda r: [r["received_at"][:7]],
        "rule": lambda r: json.loads(r["decided_by"]),
        "": lambda r: [""],
    }
    groups: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(dict)
    columns = (
        "reason, category, supplier, brand, customer_id, received_at, decided_by, "
        "currency, decision, qty, refunded_minor, refunded_fee_minor"
    )
    for values in rows(ledger, f"SELECT {columns} FROM lines"):
        line: dict[str, Any] = dict(zip(columns.split(", "), values, strict=True))
        day = dt.datetime.fromisoformat(line["received_at"]).astimezone(dt.UTC).date()
        if (since and day < since) or (until and day > until):
            continue
        counts = [
            1,
            line["qty"],
            line["decision"] == "approve",
            line["decision"] == "reject",
            line["decision"] == "review",
            line["refunded_minor"],
            line["refunded_fee_minor"],
            line["qty"] if line["reason"] == "defective" else 0,
        ]
        for dimension, keys in key_of.items():
            for key in keys(line):
                into = groups[dimension].setdefault((key, line["currency"]), [0] * 8)
                for i, value in enumerate(counts):
                    into[i] += int(value)
    return groups


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    policy = returnrules.load_policy(RULES)
    with open_ledger(ledger_url) as opened:
        requests = examples()
        for month, start in enumerate(range(0, len(requests), 8)):
            clock = functools.partial(MONTHS.__getitem__, month % len(MONTHS))
            with Desk(opened, policy, DATA, actor="test", clock=clock) as desk:
                part = requests[start : start + 8]
                assert all(hasattr(o, "status") for o in desk.submit(part))
        yield opened


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (None, None),
        (dt.date(2026, 10, 1), None),
        (None, dt.date(2026, 9, 30)),
        (dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
        (dt.date.min, dt.date.max),  # the calendar's ends: no day after the last
    ],
)
def test_the_one_pass_counts_what_counting_each_line_counts(
    ledger: Ledger, since: dt.date | None, until: dt.date | None
) -> None:
    by = (*DEFAULT_BY, "brand")
    report = build_report(ledger, since=since, until=until, by=by)
    expected = counted(ledger, since, until)
    assert expected, "the period has lines"
    for dimension in by:
        got = {
            (row.key, row.currency): [
                row.lines, row.qty, row.approved, row.rejected, row.review,
                row.refunded_minor, row.fees_minor, row.defective,
            ]
            for row in report.tables[dimension]
        }  # fmt: skip
        assert got == expected[dimension], dimension
        lines = [row.lines for row in report.tables[dimension]]
        assert lines == sorted(lines, reverse=True), "the largest groups first"
    assert {
        (row.key, row.currency): [row.lines, row.qty, row.refunded_minor]
        for row in report.totals
    } == {key: [c[0], c[1], c[5]] for key, c in expected[""].items()}
    months = {m for m, _, _, _ in report.trend}
    assert months == {key for key, _ in expected["month"]}


def test_the_months_of_a_version_3_ledger_are_filled_by_the_upgrade(
    ledger_url: str,
) -> None:
    with open_ledger(ledger_url) as ledger:
        assert ledger.upgrade(to=3) == [1, 2, 3]
        with ledger.write() as tx:
            tx.execute("INSERT INTO policies VALUES ('p', 'rules.toml', '', '[]', '')")
            tx.execute(
                "INSERT INTO requests VALUES ('R1', 'c', '{}', 'SO-1', 'C-1', "
                "'return', '', '2026-07-31T23:00:00+00:00', 'p', NULL, 'approve', "
                "'completed', '{}', '{}', 'test', '')"
            )
            tx.execute(
                "INSERT INTO lines (request_id, line, order_id, customer_id, sku, "
                "brand, category, supplier, qty, reason, condition, amount_minor, "
                "currency, decision, policy_decision, decided_by, received_at, "
                "refunded_minor) VALUES ('R1', 1, 'SO-1', 'C-1', 'SKU-1', 'Bosch', "
                "'brake', NULL, 2, 'defective', 'opened', 36000, 'CNY', 'approve', "
                "'approve', '[\"a\"]', '2026-07-31T23:00:00+00:00', 36000)"
            )
        assert ledger.upgrade() == list(range(4, LATEST_VERSION + 1))
        assert rows(ledger, "SELECT month FROM lines") == [("2026-07",)]
        report = build_report(ledger, by=("month", "supplier", "rule"))
        [month] = report.tables["month"]
        assert (month.key, month.lines, month.refunded_minor) == ("2026-07", 1, 36000)
        [supplier] = report.tables["supplier"]
        assert (supplier.key, supplier.label, supplier.defective) == (
            "",
            "(no supplier)",
            2,
        )
        assert [row.key for row in report.tables["rule"]] == ["a"]


@pytest.mark.parametrize("chunk", [1, 2, 7, 1000])
def test_a_replay_reads_every_request_once_in_order_in_chunks_of_any_size(
    ledger: Ledger, chunk: int
) -> None:
    """Many requests share a received time (a batch is received at once):
    the chunks go on from the last (time, id), never skipping or repeating."""
    recorded = rows(
        ledger, "SELECT received_at, request_id FROM requests ORDER BY 1, 2"
    )
    assert len({at for at, _ in recorded}) < len(recorded), "times are shared"
    read = [
        (row[1], len(chunk_rows))
        for chunk_rows, _ in history_chunks(ledger, chunk=chunk)
        for row in chunk_rows
    ]
    assert [rid for rid, _ in read] == [rid for _, rid in recorded]
    assert all(size <= chunk for _, size in read)
    since = dt.date(2026, 10, 1)
    later = [rid for at, rid in recorded if at >= "2026-10-01"]
    assert [
        row[1]
        for rows_, _ in history_chunks(ledger, since=since, chunk=chunk)
        for row in rows_
    ] == later
    policy = returnrules.load_policy(RULES)
    assert replay_ledger(ledger, policy, chunk=chunk).reproduced


def test_paying_a_line_looks_its_journal_up_by_request_not_by_state(
    tmp_path: Path,
) -> None:
    """The refunds paid are summed from each line's own journal entries: a
    plan through ``journal_by_state`` reads every done entry of the ledger
    for each line, and a submit slows down as the ledger grows."""
    with open_ledger(str(tmp_path / "plan.db")) as ledger:
        ledger.upgrade()
        sql = PAID.format(among="IN (?, ?)")
        plan = rows(ledger, "EXPLAIN QUERY PLAN " + sql, ("a", "b"))
    details = [str(row[-1]) for row in plan]
    assert any("journal_by_request" in d for d in details), details
    assert not any("journal_by_state" in d for d in details), details


def test_the_calendars_ends_bound_every_period_query(ledger: Ledger) -> None:
    """``--since 0001-01-01 --until 9999-12-31`` is every day there is, for
    history, report and replay alike (the day after the last overflowed)."""
    first, last = dt.date.min, dt.date.max
    everything = len(rows(ledger, "SELECT request_id FROM requests"))
    found = views.history(
        ledger, views.HistoryFilter(since=first, until=last, limit=10**6)
    )
    assert len(found) == everything
    chunks = history_chunks(ledger, since=first, until=last)
    assert sum(len(chunk) for chunk, _ in chunks) == everything
    (total,) = build_report(ledger, since=first, until=last).totals
    assert total.lines == len(rows(ledger, "SELECT line FROM lines"))
    assert views.history(ledger, views.HistoryFilter(since=last, until=last)) == []
