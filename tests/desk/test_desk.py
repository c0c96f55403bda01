"""The desk on both backends: what ``submit`` records, executes and refuses.

Every test runs twice, on a SQLite file and on a PostgreSQL database
(``ledger_url``; see ``conftest.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from returnrules import LedgerTable, RequestError, hookimpl, loads_policy
from returnrules.desk import Desk, LedgerError, Refused, Submitted, open_ledger, views
from returnrules.desk.canonical import canonical
from returnrules.desk.ledger import LATEST_VERSION
from tests.desk.helpers import (
    EFFECT_TABLES,
    POLICY,
    count,
    load,
    make_request,
    open_desk,
    rows,
    table_counts,
)
from tests.plugins import desk_probe

DATA = {"stock": {"SKU-1": {"on_hand": 5, "reserved": 0}}}


@pytest.fixture
def desk(ledger_url: str) -> Iterator[Desk]:
    desk = open_desk(ledger_url, data=DATA, actor="ann")
    yield desk
    desk.close()
    desk.ledger.close()


def submit(desk: Desk, *requests: dict[str, Any]) -> list[Submitted | Refused]:
    return list(desk.submit((f"{r['id']}.json", r) for r in requests))


def one(desk: Desk, request: dict[str, Any]) -> Submitted:
    [outcome] = submit(desk, request)
    assert isinstance(outcome, Submitted), outcome
    return outcome


def test_closing_a_desk_ends_its_executor_thread_and_it_may_be_used_again(
    ledger_url: str,
) -> None:
    before = set(threading.enumerate())
    with open_desk(ledger_url, data=DATA) as desk:
        assert one(desk, make_request("R1", lines=[(1, 1)])).status == "completed"
        assert len(set(threading.enumerate()) - before) == 1  # the executors' thread
    assert set(threading.enumerate()) - before == set()
    assert one(desk, make_request("R2", lines=[(1, 1)])).status == "completed"
    desk.close()
    desk.close()  # twice is harmless
    assert set(threading.enumerate()) - before == set()
    desk.ledger.close()


# -- what is recorded -----------------------------------------------------------------


def test_a_request_is_recorded_as_given_with_its_policy_data_and_lines(
    desk: Desk,
) -> None:
    request = make_request("R1", lines=[(1, 2), (2, 1)], reason="defective")
    outcome = one(desk, request)
    assert outcome.status == "completed"
    assert not outcome.duplicate

    [row] = rows(
        desk.ledger,
        "SELECT body, content_sha256, order_id, customer_id, kind, policy_sha256, "
        "data_sha256, decision, status, submitted_by FROM requests",
    )
    body, sha, order, customer, kind, policy_sha, data_sha, decision, status, by = row
    assert json.loads(body) == request
    assert sha == hashlib.sha256(body.encode()).hexdigest()
    assert (order, customer, kind, decision, status, by) == (
        "SO-1", "C-1", "return", "approve", "completed", "ann",
    )  # fmt: skip
    # The policy text is stored once, by its sha256; the data as a snapshot.
    [(text,)] = rows(
        desk.ledger, "SELECT text FROM policies WHERE sha256 = ?", [policy_sha]
    )
    assert text == POLICY
    assert policy_sha == hashlib.sha256(POLICY.encode()).hexdigest()
    [(snapshot,)] = rows(
        desk.ledger, "SELECT body FROM data_snapshots WHERE sha256 = ?", [data_sha]
    )
    assert json.loads(snapshot) == DATA
    # One row per line, with queryable columns.
    assert rows(
        desk.ledger,
        "SELECT line, order_id, sku, qty, reason, condition, amount_minor, currency, "
        "decision, policy_decision FROM lines ORDER BY line",
    ) == [
        (1, "SO-1", "SKU-1", 2, "defective", "unopened", 36000, "CNY", "approve",
         "approve"),
        (2, "SO-1", "SKU-2", 1, "defective", "unopened", 18000, "CNY", "approve",
         "approve"),
    ]  # fmt: skip
    # What the data provider answered, per line: enough to replay offline.
    record = views.show(desk.ledger, "R1")
    assert record is not None
    assert set(record.provided) == {"1", "2"}
    assert record.provided["1"], "the stock provider's answer for line 1 is kept"
    assert record.data == DATA


def test_a_second_desk_with_the_same_policy_stores_it_once(ledger_url: str) -> None:
    for rid in ("R1", "R2"):
        desk = open_desk(ledger_url, data=DATA)
        one(desk, make_request(rid, order=f"SO-{rid}"))
        desk.ledger.close()
    with open_ledger(ledger_url) as ledger:
        assert count(ledger, "SELECT COUNT(*) FROM policies") == 1
        assert count(ledger, "SELECT COUNT(*) FROM data_snapshots") == 1
        assert count(ledger, "SELECT COUNT(DISTINCT policy_sha256) FROM requests") == 1


def test_the_same_request_again_is_a_duplicate_with_the_recorded_result(
    desk: Desk,
) -> None:
    first = one(desk, make_request("R1"))
    before = table_counts(desk.ledger)
    again = one(desk, make_request("R1"))
    assert again.duplicate
    assert (again.status, again.result) == (first.status, first.result)
    assert table_counts(desk.ledger) == before
    # Twice in one batch: recorded once, the second a duplicate.
    both = submit(
        desk, make_request("R2", order="SO-2"), make_request("R2", order="SO-2")
    )
    assert [o.duplicate for o in both if isinstance(o, Submitted)] == [False, True]
    assert (
        count(desk.ledger, "SELECT COUNT(*) FROM requests WHERE request_id = 'R2'") == 1
    )


def test_the_same_id_with_other_content_is_a_conflict_and_nothing_changes(
    desk: Desk,
) -> None:
    one(desk, make_request("R1"))
    before = table_counts(desk.ledger)
    chain = views.verify(desk.ledger)
    [outcome] = submit(desk, make_request("R1", lines=[(1, 1)]))
    assert isinstance(outcome, Refused)
    assert outcome.error.problems[0].code == "conflict"
    assert "already recorded with other content" in str(outcome.error)
    assert table_counts(desk.ledger) == before
    assert views.verify(desk.ledger).head_hash == chain.head_hash


def test_an_invalid_request_is_refused_and_the_valid_ones_recorded(desk: Desk) -> None:
    bad = make_request("R2")
    del bad["order"]["lines"][0]["qty"]
    outcomes = submit(desk, make_request("R1"), bad, make_request("R3", order="SO-3"))
    assert [type(o).__name__ for o in outcomes] == ["Submitted", "Refused", "Submitted"]
    assert isinstance(outcomes[1], Refused)
    assert isinstance(outcomes[1].error, RequestError)
    recorded = rows(desk.ledger, "SELECT request_id FROM requests ORDER BY request_id")
    assert recorded == [("R1",), ("R3",)]


# -- executing, exactly once ----------------------------------------------------------


def test_every_planned_action_is_journalled_and_executed_once(desk: Desk) -> None:
    one(desk, make_request("R1", lines=[(1, 2), (2, 1)]))
    journal = rows(
        desk.ledger,
        "SELECT key, action, state, attempts, executor FROM journal ORDER BY key",
    )
    assert [(k, a, s, n) for k, a, s, n, _ in journal] == [
        ("R1:1:probe:refund-all:2", "probe", "done", 1),
        ("R1:1:refund:refund-all:0", "refund", "done", 1),
        ("R1:1:restock:refund-all:1", "restock", "done", 1),
        ("R1:2:probe:refund-all:2", "probe", "done", 1),
        ("R1:2:refund:refund-all:0", "refund", "done", 1),
        ("R1:2:restock:refund-all:1", "restock", "done", 1),
    ]
    assert rows(
        desk.ledger,
        "SELECT key, amount_minor, fee_minor, currency, method FROM refunds "
        "ORDER BY key",
    ) == [
        ("R1:1:refund:refund-all:0", 36000, 0, "CNY", "original"),
        ("R1:2:refund:refund-all:0", 18000, 0, "CNY", "original"),
    ]
    assert rows(
        desk.ledger,
        "SELECT key, sku, qty, movement, location FROM stock_movements ORDER BY key",
    ) == [
        ("R1:1:restock:refund-all:1", "SKU-1", 2, "restock", "main"),
        ("R1:2:restock:refund-all:1", "SKU-2", 1, "restock", "main"),
    ]
    assert count(desk.ledger, "SELECT COUNT(*) FROM probe_effects") == 2
    # Nothing is left to run: resume runs nothing and changes nothing.
    before = table_counts(desk.ledger)
    report = desk.resume(retry_failed=True)
    assert (report.ran, report.done, report.failed, report.pending) == (0, 6, 0, 0)
    assert table_counts(desk.ledger) == before


def test_statuses_and_events_follow_each_request(desk: Desk) -> None:
    approved = one(desk, make_request("R1"))
    review = one(desk, make_request("R2", order="SO-2", condition="installed"))
    rejected = one(desk, make_request("R3", order="SO-3", lines=[(1, 9)]))
    assert (approved.status, review.status, rejected.status) == (
        "completed", "review", "completed",
    )  # fmt: skip
    kinds = {
        rid: [
            (kind, status)
            for kind, status in rows(
                desk.ledger,
                "SELECT kind, status FROM events WHERE request_id = ? ORDER BY seq",
                [rid],
            )
        ]
        for rid in ("R1", "R2", "R3")
    }
    assert kinds == {
        "R1": [("received", "received"), ("decided", "approved"),
               ("completed", "completed")],
        "R2": [("received", "received"), ("decided", "review")],
        "R3": [("received", "received"), ("decided", "rejected"),
               ("completed", "completed")],
    }  # fmt: skip
    assert views.verify(desk.ledger).intact


def test_a_request_with_nothing_to_execute_is_completed_at_once(
    ledger_url: str,
) -> None:
    policy = load(
        'version = 1\n[policy]\ncurrency = "CNY"\ndefault = "approve"\n'
        '[[rule]]\nid = "over-return"\ndecide = "reject"\n'
        'when = { fact = "line.qty", gt = { fact = "line.returnable_qty" } }\n'
    )
    desk = open_desk(ledger_url, policy)
    try:
        outcome = one(desk, make_request("R1", lines=[(1, 9)]))
        assert outcome.status == "completed"
        assert count(desk.ledger, "SELECT COUNT(*) FROM journal") == 0
        # resume agrees: nothing moves.
        desk.resume()
        assert rows(desk.ledger, "SELECT status FROM requests") == [("completed",)]
    finally:
        desk.ledger.close()


def test_returns_across_requests_count_against_the_order_line(desk: Desk) -> None:
    assert one(desk, make_request("R1", lines=[(1, 3)])).result["decision"] == "approve"
    second = one(desk, make_request("R2", lines=[(1, 2)]))
    assert second.result["decision"] == "reject"
    assert second.result["lines"][0]["decided_by"] == ["over-return"]
    assert one(desk, make_request("R3", lines=[(1, 1)])).result["decision"] == "approve"
    assert rows(desk.ledger, "SELECT order_id, line, qty FROM taken ORDER BY line") == [
        ("SO-1", 1, 4)
    ]
    # In one batch too.
    outcomes = submit(
        desk,
        make_request("R4", order="SO-9", lines=[(2, 3)]),
        make_request("R5", order="SO-9", lines=[(2, 3)]),
    )
    decisions = [o.result["decision"] for o in outcomes if isinstance(o, Submitted)]
    assert decisions == ["approve", "reject"]


# -- review -------------------------------------------------------------------------


def test_review_approve_executes_what_applies_once(desk: Desk) -> None:
    one(desk, make_request("R1", condition="installed"))
    assert [s.request_id for s in views.review_queue(desk.ledger)] == ["R1"]
    # While in review: only the warehouse notice ran; the line holds its qty.
    assert rows(desk.ledger, "SELECT action, state FROM journal") == [
        ("notify", "done")
    ]
    assert rows(desk.ledger, "SELECT qty FROM taken") == [(2,)]

    desk.actor = "lee"
    resolved = desk.resolve("R1", "approve", note="checked: not installed")
    assert resolved.status == "completed"
    journal = rows(
        desk.ledger, "SELECT action, state, attempts FROM journal ORDER BY action"
    )
    assert journal == [
        ("notify", "done", 1),
        ("probe", "done", 1),
        ("refund", "done", 1),
        ("restock", "done", 1),
    ]
    assert count(desk.ledger, "SELECT COUNT(*) FROM notifications") == 1
    assert count(desk.ledger, "SELECT COUNT(*) FROM refunds") == 1
    assert rows(
        desk.ledger,
        "SELECT decision, policy_decision, resolved_by, resolution_note FROM lines",
    ) == [("approve", "review", "lee", "checked: not installed")]
    [event] = rows(
        desk.ledger,
        "SELECT actor, status, line, note FROM events WHERE kind = 'reviewed'",
    )
    assert event == ("lee", "approve", 1, "checked: not installed")
    assert views.review_queue(desk.ledger) == []
    with pytest.raises(RequestError) as again:
        desk.resolve("R1", "approve")
    assert again.value.problems[0].code == "not-in-review"
    with pytest.raises(RequestError) as missing:
        desk.resolve("NOPE", "approve")
    assert missing.value.problems[0].code == "not-found"
    assert rows(desk.ledger, "SELECT qty FROM taken") == [(2,)]
    assert views.verify(desk.ledger).intact


def test_review_reject_frees_the_quantity_it_held(desk: Desk) -> None:
    one(desk, make_request("R1", lines=[(1, 3)], condition="installed"))
    # Held by the review: only 1 left.
    assert one(desk, make_request("R2", lines=[(1, 2)])).result["decision"] == "reject"
    resolved = desk.resolve("R1", "reject", line=1, note="installed, worn")
    assert resolved.status == "completed"
    assert rows(desk.ledger, "SELECT qty FROM taken") == [(0,)]
    assert count(desk.ledger, "SELECT COUNT(*) FROM refunds") == 0
    assert one(desk, make_request("R3", lines=[(1, 4)])).result["decision"] == "approve"
    assert rows(desk.ledger, "SELECT qty FROM taken") == [(4,)]


# -- reading the record back ----------------------------------------------------------


def test_history_lists_newest_first_and_filters(ledger_url: str) -> None:
    days = iter(range(1, 10))

    def clock() -> dt.datetime:
        return dt.datetime(2026, 11, next(days), 9, 0, tzinfo=dt.UTC)

    desk = Desk(open_ledger(ledger_url), load(), DATA, actor="ann", clock=clock)
    try:
        one(desk, make_request("R1", order="SO-1", customer="C-1"))
        one(desk, make_request("R2", order="SO-2", customer="C-2", reason="defective"))
        one(
            desk,
            make_request("R3", order="SO-1", customer="C-2", condition="installed"),
        )

        def ids(**where: Any) -> list[str]:
            found = views.history(desk.ledger, views.HistoryFilter(**where))
            return [s.request_id for s in found]

        assert ids() == ["R3", "R2", "R1"]
        assert ids(order="SO-1") == ["R3", "R1"]
        assert ids(customer="C-2") == ["R3", "R2"]
        assert ids(status="review") == ["R3"]
        assert ids(reason="defective") == ["R2"]
        # received on days 1 (store_policy), 2, 3 (R2: executed day 4), 5 ...
        received = dict(
            rows(desk.ledger, "SELECT request_id, received_at FROM requests")
        )
        day = {
            rid: dt.datetime.fromisoformat(at).date() for rid, at in received.items()
        }
        assert ids(since=day["R2"]) == ["R3", "R2"]
        assert ids(until=day["R2"]) == ["R2", "R1"]
        assert ids(since=day["R2"], until=day["R2"]) == ["R2"]
        assert ids(order="SO-1", status="completed") == ["R1"]
        assert ids(limit=1) == ["R3"]
        [summary] = views.history(desk.ledger, views.HistoryFilter(order="SO-2"))
        assert summary.to_dict()["lines"][0]["reason"] == "defective"
    finally:
        desk.ledger.close()


def test_show_is_the_whole_record(desk: Desk) -> None:
    request = make_request("R1", condition="installed")
    one(desk, request)
    desk.resolve("R1", "approve", note="ok")
    record = views.show(desk.ledger, "R1")
    assert record is not None
    shown = record.to_dict()
    assert shown["request_as_given"] == request
    assert shown["status"] == "completed"
    assert shown["policy"]["sha256"] == hashlib.sha256(POLICY.encode()).hexdigest()
    assert shown["data"] == DATA
    assert shown["result"]["decision"] == "review"
    assert shown["result"]["trace"], "the decision is kept with its trace"
    assert {a["action"]: a["state"] for a in shown["actions"]} == {
        "notify": "done",
        "refund": "done",
        "restock": "done",
        "probe": "done",
    }
    assert all(a["key"].startswith("R1:1:") for a in shown["actions"])
    assert [e["kind"] for e in shown["events"]] == [
        "received",
        "decided",
        "reviewed",
        "completed",
    ]
    assert json.loads(json.dumps(shown)) == shown
    assert views.show(desk.ledger, "NOPE") is None


# -- the event chain ------------------------------------------------------------------


@pytest.fixture
def chained_desk(desk: Desk) -> Desk:
    for n in range(1, 5):
        one(desk, make_request(f"R{n}", order=f"SO-{n}"))
    assert views.verify(desk.ledger).intact
    return desk


def tamper(desk: Desk, *statements: tuple[str, tuple[Any, ...]]) -> list[Any]:
    with desk.ledger.write() as tx:
        for sql, params in statements:
            tx.execute(sql, params)
    result = views.verify(desk.ledger)
    assert not result.intact
    return [(p.seq, p.kind) for p in result.problems]


def test_verify_names_an_edited_event(chained_desk: Desk) -> None:
    problems = tamper(
        chained_desk, ("UPDATE events SET actor = 'mallory' WHERE seq = 4", ())
    )
    assert problems == [(4, "edited")]


def test_verify_names_a_removed_event(chained_desk: Desk) -> None:
    assert tamper(chained_desk, ("DELETE FROM events WHERE seq = 5", ())) == [
        (5, "removed")
    ]
    last = count(chained_desk.ledger, "SELECT MAX(seq) FROM events")
    assert tamper(chained_desk, ("DELETE FROM events WHERE seq = ?", (last,))) == [
        (5, "removed"),
        (last, "removed"),
    ]


def test_verify_names_reordered_events(chained_desk: Desk) -> None:
    problems = tamper(
        chained_desk,
        ("UPDATE events SET seq = -1 WHERE seq = 4", ()),
        ("UPDATE events SET seq = 4 WHERE seq = 5", ()),
        ("UPDATE events SET seq = 5 WHERE seq = -1", ()),
    )
    assert "reordered" in {kind for _, kind in problems}
    assert (4, "edited") in problems


# -- schema and plugin tables ---------------------------------------------------------


def test_a_ledger_of_a_newer_schema_is_refused_naming_its_url(ledger_url: str) -> None:
    open_desk(ledger_url).ledger.close()
    with open_ledger(ledger_url) as ledger, ledger.write() as tx:
        tx.execute(
            "INSERT INTO schema_migrations (component, version, name, applied_at) "
            "VALUES ('core', 99, 'future', '2030-01-01')"
        )
    with open_ledger(ledger_url) as ledger:
        with pytest.raises(LedgerError) as refused:
            Desk(ledger, load())
        assert refused.value.code == "newer-schema"
        assert str(refused.value).startswith(f"{ledger.url}: ")
        assert "version 99" in str(refused.value)
        with pytest.raises(LedgerError, match="newer"):
            ledger.upgrade()


def test_db_upgrade_creates_an_empty_ledger(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        assert ledger.schema_version() == 0
        assert ledger.upgrade() == list(range(1, LATEST_VERSION + 1))
        assert ledger.schema_version() == LATEST_VERSION
        assert ledger.upgrade() == []
        assert count(ledger, "SELECT COUNT(*) FROM requests") == 0
        assert rows(ledger, "SELECT seq FROM chain") == [(0,)]


def test_an_older_ledger_is_refused_until_db_upgrade(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        assert ledger.upgrade(to=1) == [1]
        with pytest.raises(LedgerError) as refused:
            Desk(ledger, load())
        assert refused.value.code == "older-schema"
        assert str(refused.value).startswith(f"{ledger.url}: ")
        assert "returnrules db upgrade" in str(refused.value)
        assert ledger.upgrade() == list(range(2, LATEST_VERSION + 1))
        desk = Desk(ledger, load(), DATA)
        one(desk, make_request("R1", lines=[(1, 3)]))
        one(desk, make_request("R2", lines=[(1, 1)]))
        assert rows(
            ledger, "SELECT request_id, taken_before FROM lines ORDER BY request_id"
        ) == [("R1", 0), ("R2", 3)]


def test_without_a_recorded_trace_explain_works_it_out_again(ledger_url: str) -> None:
    plain = Desk(open_ledger(ledger_url), load(), DATA, trace=False)
    traced = Desk(open_ledger(ledger_url), load(), DATA)
    try:
        one(plain, make_request("R1", lines=[(1, 3)], reason="defective"))
        one(plain, make_request("R2", lines=[(1, 2)], reason="defective"))
        one(traced, make_request("R3", lines=[(2, 1)], reason="defective"))
        stored = rows(plain.ledger, "SELECT request_id, result FROM requests")
        has_trace = {rid: "trace" in json.loads(text) for rid, text in stored}
        assert has_trace == {"R1": False, "R2": False, "R3": True}
        for rid in ("R1", "R2", "R3"):
            explained = plain.explain(rid)
            record = views.show(plain.ledger, rid)
            assert record is not None
            recorded = dict(record.result)
            assert {k: v for k, v in explained.items() if k != "trace"} == {
                k: v for k, v in recorded.items() if k != "trace"
            }
            assert explained["trace"]
        # R2 was an over-return only because of R1: the replay knows.
        [line] = plain.explain("R2")["trace"]
        assert line["facts"]["line.returnable_qty"] == 1
        assert line["decision"] == "reject"
        with pytest.raises(RequestError):
            plain.explain("NOPE")
    finally:
        plain.ledger.close()
        traced.ledger.close()


def test_plugin_tables_are_created_and_gain_new_columns(ledger_url: str) -> None:
    class Version:
        def __init__(self, columns: dict[str, Any]) -> None:
            self.columns = columns

        @hookimpl
        def returnrules_register_ledger_tables(self, register: Any) -> None:
            register(LedgerTable("parcels", self.columns, indexes=("carrier",)))

    def open_with(columns: dict[str, Any]) -> Desk:
        policy = loads_policy(
            POLICY, plugins=[desk_probe, Version(columns)], autoload=True
        )
        return Desk(open_ledger(ledger_url), policy)

    desk = open_with({"carrier": "text"})
    for table in EFFECT_TABLES:
        assert count(desk.ledger, f"SELECT COUNT(*) FROM {table}") == 0
    with desk.ledger.write() as tx:
        tx.execute(
            "INSERT INTO parcels (key, request_id, line, recorded_at, carrier) "
            "VALUES ('k', 'R1', 1, 'now', 'SF')"
        )
    desk.ledger.close()
    desk = open_with({"carrier": "text", "weight_g": "integer"})
    assert rows(desk.ledger, "SELECT carrier, weight_g FROM parcels") == [("SF", None)]
    [(columns,)] = rows(
        desk.ledger, "SELECT columns FROM ledger_tables WHERE name = 'parcels'"
    )
    assert json.loads(columns) == {"carrier": "text", "weight_g": "integer"}
    desk.ledger.close()


def test_canonical_bodies_make_key_order_irrelevant(desk: Desk) -> None:
    request = make_request("R1")
    reordered = dict(reversed(list(request.items())))
    one(desk, request)
    assert one(desk, reordered).duplicate
    assert canonical(request) == canonical(reordered)
