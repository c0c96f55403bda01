"""The periodic review (``report``) and policy replays over the ledger.

A small history is recorded through the desk (the shipped policy, the example
requests and data), then reviewed and replayed.  The replay must reproduce
every recorded decision and amount under the policy that decided them, show
exactly what a policy change changes, and give the same answer here, in
worker processes and on a Dask cluster.
"""

from __future__ import annotations

import copy
import csv
import html
import io
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import returnrules
from returnrules.desk import Desk, open_ledger, replay
from returnrules.desk.ledger import Ledger
from returnrules.desk.page import replay_page, report_page
from returnrules.desk.replay import (
    WORKER_DIED,
    WorkersDying,
    history_chunks,
    quarantine,
    replay_files,
    replay_ledger,
)
from returnrules.desk.report import build_report

ROOT = Path(__file__).parent.parent
RULES = ROOT / "rules.toml"


def examples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((ROOT / "examples" / "requests").iterdir()):
        if path.suffix == ".toml":
            found.append((path.name, tomllib.loads(path.read_text("utf-8"))))
        elif path.suffix == ".json":
            found.append((path.name, json.loads(path.read_text("utf-8"))))
    return found


DATA = tomllib.loads((ROOT / "examples" / "data.toml").read_text("utf-8"))


@pytest.fixture(scope="module")
def policy() -> returnrules.Policy:
    return returnrules.load_policy(RULES)


@pytest.fixture
def ledger(tmp_path: Path, policy: returnrules.Policy) -> Iterator[Ledger]:
    """A ledger holding the example requests, decided by the shipped policy."""
    with open_ledger(str(tmp_path / "desk.db")) as opened:
        desk = Desk(opened, policy, DATA, actor="test")
        outcomes = list(desk.submit(examples()))
        assert all(hasattr(o, "status") for o in outcomes)
        yield opened


def recorded_ids(ledger: Ledger) -> list[str]:
    """The ledger's request ids in history order: request i is replayed as seq i + 1."""
    with ledger.read() as tx:
        rows = tx.all(
            "SELECT request_id FROM requests ORDER BY received_at, request_id"
        )
    return [row[0] for row in rows]


# -- report ------------------------------------------------------------------------


def test_the_report_counts_every_line_once_per_dimension(
    ledger: Ledger, policy: returnrules.Policy
) -> None:
    report = build_report(ledger, vocabularies=policy.vocabularies)
    (total,) = report.totals
    requests = examples()
    assert total.lines == sum(len(r["lines"]) for _, r in requests)
    assert total.qty == sum(line["qty"] for _, r in requests for line in r["lines"])
    for dimension in ("reason", "category", "supplier", "customer", "month"):
        rows = report.tables[dimension]
        assert sum(row.lines for row in rows) == total.lines, dimension
        assert sum(row.refunded_minor for row in rows) == total.refunded_minor
    assert total.approved + total.rejected + total.review == total.lines


def test_refunded_amounts_are_what_the_refund_executor_recorded(
    ledger: Ledger,
) -> None:
    report = build_report(ledger)
    with ledger.read() as tx:
        row = tx.one("SELECT SUM(amount_minor), SUM(fee_minor) FROM refunds")
    assert row is not None
    assert (report.totals[0].refunded_minor, report.totals[0].fees_minor) == (
        int(row[0]),
        int(row[1]),
    )


def test_codes_are_shown_with_the_policys_labels(
    ledger: Ledger, policy: returnrules.Policy
) -> None:
    report = build_report(ledger, by=("reason",), vocabularies=policy.vocabularies)
    labels = {row.key: row.label for row in report.tables["reason"]}
    assert labels["defective"] == "质量问题"
    assert labels["wrong_part"] == "错发配件"
    data = report.to_dict()
    assert set(data["groups"]) == {"reason"}
    assert data["groups"]["reason"][0]["label"]


def test_a_supplier_row_says_what_its_defect_rate_is_of(ledger: Ledger) -> None:
    report = build_report(ledger, by=("supplier",))
    for row in report.tables["supplier"]:
        shown = row.to_dict("supplier")
        assert shown["defect_basis"] in ("sold", "returned")
        if row.sold:
            assert row.defect_rate == round(
                type(row.refunded)(row.defective) / row.sold, 3
            )


def test_the_deciding_rules_group_the_decided_lines(ledger: Ledger) -> None:
    report = build_report(ledger, by=("rule",))
    decided = {row.key: row.lines for row in report.tables["rule"]}
    with ledger.read() as tx:
        rows = tx.all("SELECT decided_by FROM lines")
    counted: dict[str, int] = {}
    for (decided_by,) in rows:
        for rule in json.loads(decided_by):
            counted[rule] = counted.get(rule, 0) + 1
    assert decided == counted


def test_a_deciding_rule_list_edited_by_hand_is_shown_as_it_is(
    ledger: Ledger,
) -> None:
    with ledger.write() as tx:
        tx.execute(
            "UPDATE lines SET decided_by = 'by hand' WHERE rowid = "
            "(SELECT min(rowid) FROM lines)"
        )
    report = build_report(ledger, by=("rule",))
    assert {row.key: row.lines for row in report.tables["rule"]}["by hand"] == 1


def test_a_period_without_returns_is_an_empty_report(ledger: Ledger) -> None:
    import datetime as dt

    report = build_report(ledger, since=dt.date(2001, 1, 1), until=dt.date(2001, 1, 31))
    assert report.totals == ()
    assert all(rows == () for rows in report.tables.values())


def test_an_unknown_dimension_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="cannot group by colour"):
        build_report(ledger, by=("colour",))


def test_the_csv_keeps_formulas_from_requests_as_text(
    tmp_path: Path, policy: returnrules.Policy
) -> None:
    formula = '=HYPERLINK("http://evil.example","账单")'
    request = copy.deepcopy(dict(examples())["01-wrong-part-exchange.toml"])
    request["customer"]["id"] = formula
    with open_ledger(str(tmp_path / "csv.db")) as ledger:
        list(Desk(ledger, policy, DATA, actor="test").submit([("r", request)]))
        report = build_report(ledger, by=("customer",))
    rows = list(csv.reader(io.StringIO(report.to_csv())))
    assert rows[1][1:3] == ["'" + formula, "'" + formula]
    assert report.to_dict()["groups"]["customer"][0]["key"] == formula


def test_a_label_with_dollar_signs_is_text_not_tex(
    ledger: Ledger, policy: returnrules.Policy, tmp_path: Path
) -> None:
    """matplotlib reads $...$ in a label as TeX: "$\\frac{x$" raised there."""
    label = "$\\frac{x$ 错件"
    path = tmp_path / "dollars.toml"
    path.write_text(
        policy.text.replace(
            "[vocab.reason]\n",
            f'[vocab.reason]\nwrong_part = "{label}"\n'.replace("\\", "\\\\"),
            1,
        ),
        encoding="utf-8",
    )
    dollars = returnrules.load_policy(path)
    assert dollars.vocabularies["reason"].labels["wrong_part"] == label
    page = report_page(build_report(ledger, vocabularies=dollars.vocabularies))
    assert page.count("<svg") == 2
    assert html.escape(label) in page


def test_the_csv_has_a_row_per_group_with_a_header(ledger: Ledger) -> None:
    text = build_report(ledger, by=("reason", "supplier")).to_csv()
    lines = text.splitlines()
    assert lines[0].startswith("dimension,key,label,currency,lines,qty")
    assert {line.split(",")[0] for line in lines[1:]} == {"reason", "supplier"}


def test_the_page_is_self_contained_with_its_charts(
    ledger: Ledger, policy: returnrules.Policy
) -> None:
    page = report_page(build_report(ledger, vocabularies=policy.vocabularies))
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 2
    for external in ('href="http', "href='http", 'src="', "<script", "<link",
                     "@import", "url(http", "url('http", 'url("http'):  # fmt: skip
        assert external not in page, external


# -- replay ------------------------------------------------------------------------


def test_replaying_under_the_deciding_policy_reproduces_every_decision(
    ledger: Ledger, policy: returnrules.Policy
) -> None:
    comparison = replay_ledger(ledger, policy)
    assert comparison.requests == len(examples())
    assert comparison.reproduced, comparison.changes[:3]
    assert all(old == new for old, new in comparison.matrix)
    for before, after, fees_before, fees_after in comparison.refunds.values():
        assert (before, fees_before) == (after, fees_after)


STRICTER = """
[[rule]]
id = "replay-test-half"
title = "a policy change: wrong parts are refunded at half, whatever else applies"
when = { fact = "line.reason", eq = "wrong_part" }
then = [{ action = "refund", percent = 50 }]
priority = 1000
"""


def stricter(policy: returnrules.Policy, tmp_path: Path) -> returnrules.Policy:
    """The shipped policy and one more rule: wrong parts approved are refunded
    half (the highest priority wins the single refund)."""
    text = policy.text + STRICTER
    path = tmp_path / "stricter.toml"
    path.write_text(text, encoding="utf-8")
    return returnrules.load_policy(path)


def test_a_policy_change_shows_what_it_changes(
    ledger: Ledger, policy: returnrules.Policy, tmp_path: Path
) -> None:
    comparison = replay_ledger(ledger, stricter(policy, tmp_path))
    assert not comparison.reproduced
    assert comparison.changes
    for change in comparison.changes:
        assert change.after.decision == change.before.decision == "approve"
        assert change.after.refund_minor != change.before.refund_minor
        assert "replay-test-half" in change.after.matched
    matched_before, matched_after = comparison.rules["replay-test-half"][:2]
    assert matched_before == 0
    assert matched_after >= len(comparison.changes)  # some did not approve
    ((currency, (before, after, _, _)),) = comparison.refunds.items()
    assert currency == "CNY"
    assert after - before == sum(
        c.after.refund_minor - c.before.refund_minor for c in comparison.changes
    )
    data = comparison.to_dict()
    assert data["changed"] == len(comparison.changes)
    assert {m["from"] for m in data["matrix"]} <= {"approve", "reject", "review"}


def test_a_refund_in_another_currency_is_a_change(
    ledger: Ledger, policy: returnrules.Policy, tmp_path: Path
) -> None:
    """The examples name no currency: under a USD copy of the policy they are
    read in USD, and 100.00 CNY refunded then is 100.00 USD now."""
    path = tmp_path / "usd.toml"
    path.write_text(
        policy.text.replace('currency = "CNY"', 'currency = "USD"', 1), "utf-8"
    )
    comparison = replay_ledger(ledger, returnrules.load_policy(path))
    assert not comparison.errors
    moved = [c for c in comparison.changes if c.before.refund_minor]
    assert moved
    assert len(moved) == len(comparison.changes)
    for change in moved:
        assert (change.before.currency, change.after.currency) == ("CNY", "USD")
        assert change.before.refund_minor == change.after.refund_minor
    assert not comparison.reproduced
    refunds = {currency: money for currency, money in comparison.refunds.items()}
    assert refunds["CNY"][1] == refunds["USD"][0] == 0


def test_the_rules_counts_are_the_recorded_lines_counts(
    ledger: Ledger, policy: returnrules.Policy
) -> None:
    """Counted from the ledger's columns here, one line at a time; the replay
    counts per distinct list, and a list written with other spacing is the
    same list."""
    with ledger.read() as tx:
        rows = tx.all("SELECT request_id, line, matched, decided_by FROM lines")
    expected: dict[str, list[int]] = {}
    for _, _, matched, decided in rows:
        for rule in json.loads(matched):
            expected.setdefault(rule, [0, 0])[0] += 1
        for rule in json.loads(decided):
            expected.setdefault(rule, [0, 0])[1] += 1
    respaced = next(row for row in rows if len(json.loads(row[2])) > 1)
    with ledger.write() as tx:
        tx.execute(
            "UPDATE lines SET matched = ? WHERE request_id = ? AND line = ?",
            (json.dumps(json.loads(respaced[2]), indent=1), respaced[0], respaced[1]),
        )
    comparison = replay_ledger(ledger, policy)
    assert comparison.reproduced
    assert {rule: [c[0], c[2]] for rule, c in comparison.rules.items()} == expected
    assert all(c[0] == c[1] and c[2] == c[3] for c in comparison.rules.values())


def test_a_recorded_request_that_does_not_read_is_an_error_not_the_end(
    ledger: Ledger, policy: returnrules.Policy
) -> None:
    ids = recorded_ids(ledger)
    with ledger.read() as tx:
        lines = tx.all("SELECT request_id FROM lines")
    broken = {ids[0]: ("body", '{"id": "cut off'), ids[1]: ("provided", "[1, 2]"),
              ids[2]: ("provided", '{"1": [{"no": "hook"}]}'),
              ids[3]: ("body", "[" * 100_000)}  # fmt: skip
    with ledger.write() as tx:
        for request_id, (column, text) in broken.items():
            tx.execute(
                f"UPDATE requests SET {column} = ? WHERE request_id = ?",
                (text, request_id),
            )
    comparison = replay_ledger(ledger, policy)
    assert comparison.requests == len(ids)
    assert {request for _, request, _ in comparison.errors} == set(broken)
    assert not comparison.changes  # every other request replayed as decided
    messages = " | ".join(message for _, _, message in comparison.errors)
    assert "does not read" in messages
    assert "nested too deeply" in messages
    assert comparison.lines == sum(1 for (r,) in lines if r not in broken)


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("requests", "body", 7),
        ("requests", "provided", b"{}"),
        ("requests", "provided", '{"1": "not a list"}'),
        ("lines", "line", "one"),
        ("lines", "refund_minor", "lots"),
        ("lines", "taken_before", "x"),
        ("lines", "decided_by", '{"not": "a list"}'),
        ("lines", "matched", "[unclosed"),
        ("lines", "currency", b"CNY"),  # a blob: TEXT affinity keeps it so
    ],
)
def test_a_ledger_edited_by_hand_fails_its_request_only(
    ledger: Ledger, policy: returnrules.Policy, table: str, column: str, value: object
) -> None:
    """SQLite keeps whatever is written into a column: a value the desk never
    writes makes its request an error of the replay, and the rest replays."""
    ids = recorded_ids(ledger)
    victim = ids[len(ids) // 2]
    with ledger.write() as tx:  # one row: the first line of a request
        tx.execute(
            f"UPDATE {table} SET {column} = ? WHERE rowid = "
            f"(SELECT min(rowid) FROM {table} WHERE request_id = ?)",
            (value, victim),
        )
    comparison = replay_ledger(ledger, policy)
    assert comparison.requests == len(ids)
    assert [request for _, request, _ in comparison.errors] == [victim]
    assert not comparison.changes


def test_replay_in_processes_equals_replay_here(
    ledger: Ledger, policy: returnrules.Policy, tmp_path: Path
) -> None:
    new = stricter(policy, tmp_path)
    here = replay_ledger(ledger, new, chunk=4)
    there = replay_ledger(ledger, new, chunk=4, jobs=2)
    assert there.to_dict() == here.to_dict()


def test_a_replay_plays_the_providers_answers_back(
    tmp_path: Path, policy: returnrules.Policy
) -> None:
    # Recorded with a host's stock provider saying 9 on hand; replayed where
    # no provider answers at all: the tape decides as the host did.
    class Host:
        @returnrules.hookimpl
        def returnrules_stock_level(self, sku: str, context: object) -> object:
            from returnrules_std.stock import StockLevel

            return StockLevel(on_hand=9)

    hosted = returnrules.load_policy(RULES, plugins=[Host()])
    with open_ledger(str(tmp_path / "host.db")) as ledger:
        list(Desk(ledger, hosted, actor="test").submit(examples()))
        comparison = replay_ledger(ledger, policy)  # no host, no --data
    assert comparison.reproduced, comparison.changes[:3]


def test_request_files_compare_one_policy_with_another(
    policy: returnrules.Policy, tmp_path: Path
) -> None:
    new = stricter(policy, tmp_path)
    same = replay_files(examples(), policy, policy, DATA)
    assert same.reproduced
    changed = replay_files(examples(), new, policy, DATA)
    assert changed.changes
    broken = copy.deepcopy(examples())
    broken[0][1]["lines"][0]["qty"] = 0
    with_error = replay_files(broken, policy, policy, DATA)
    assert len(with_error.errors) == 1
    assert not with_error.reproduced


def test_the_replay_page_lists_every_changed_line(
    ledger: Ledger, policy: returnrules.Policy, tmp_path: Path
) -> None:
    comparison = replay_ledger(ledger, stricter(policy, tmp_path))
    page = replay_page(comparison)
    assert page.startswith("<!DOCTYPE html>")
    for change in comparison.changes:
        assert change.request in page


def test_replay_on_a_dask_cluster_equals_replay_here(
    ledger: Ledger, policy: returnrules.Policy, tmp_path: Path
) -> None:
    from returnrules.desk import dask  # the dask extra: in the test extra too

    new = stricter(policy, tmp_path)
    here = replay_ledger(ledger, new, chunk=3)
    on_dask = replay_ledger(ledger, new, chunk=3, runner=dask.runner(workers=2))
    assert on_dask.to_dict() == here.to_dict()


# -- worker processes that die ------------------------------------------------------

KILLER = """
import os

from returnrules import Fact, FactType, hookimpl


def _ends_the_process(ctx):
    if ctx.request.id in os.environ.get("RETURNRULES_TEST_KILL", "").split(","):
        os._exit(9)  # as a plugin that exits, or the OOM killer, would
    return False


@hookimpl
def returnrules_register_facts(register):
    register(Fact("line.deadly", FactType("bool"), _ends_the_process, "test"))
"""
DEADLY_RULE = """
[[rule]]
id = "deadly"
title = "asks the fact that ends the process for some requests"
when = { fact = "line.deadly", eq = true }
decide = "reject"
"""


def deadly(policy: returnrules.Policy, tmp_path: Path) -> returnrules.Policy:
    """The shipped policy with a plugin file that ends the process deciding
    the requests named in RETURNRULES_TEST_KILL (a rule asks its fact)."""
    (tmp_path / "killer.py").write_text(KILLER, encoding="utf-8")
    text = policy.text.replace(
        "\n[policy]\n", '\n[plugins]\nmodules = ["killer.py"]\n\n[policy]\n', 1
    )
    path = tmp_path / "deadly.toml"
    path.write_text(text + DEADLY_RULE, encoding="utf-8")
    return returnrules.load_policy(path)


def test_a_request_that_ends_its_worker_is_one_error_and_the_rest_replays(
    ledger: Ledger,
    policy: returnrules.Policy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = recorded_ids(ledger)
    with ledger.read() as tx:
        lines = dict(tx.all("SELECT request_id, count(*) FROM lines GROUP BY 1"))
    victim = ids[len(ids) // 2]
    new = deadly(policy, tmp_path)
    here = replay_ledger(ledger, new, chunk=4)  # nobody named: nothing dies
    assert here.reproduced
    monkeypatch.setenv("RETURNRULES_TEST_KILL", victim)
    there = replay_ledger(ledger, new, chunk=4, jobs=2)
    assert there.errors == [(ids.index(victim) + 1, victim, WORKER_DIED)]
    assert (there.requests, there.lines) == (here.requests, here.lines - lines[victim])
    assert not there.changes


def test_a_plugin_that_ends_every_worker_stops_the_replay(
    ledger: Ledger,
    policy: returnrules.Policy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = recorded_ids(ledger)
    monkeypatch.setenv("RETURNRULES_TEST_KILL", ",".join(ids))
    monkeypatch.setattr(replay, "MAX_DEATHS", 2)
    with pytest.raises(WorkersDying, match="died more than 2 times"):
        replay_ledger(ledger, deadly(policy, tmp_path), chunk=4, jobs=2)


def test_quarantine_halves_a_chunk_down_to_the_deadly_request(
    ledger: Ledger,
    policy: returnrules.Policy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chunks = list(history_chunks(ledger, chunk=100))
    assert len(chunks) == 1
    rows = chunks[0][0]
    victims = {rows[1][1], rows[-1][1]}
    monkeypatch.setenv("RETURNRULES_TEST_KILL", ",".join(victims))
    new = deadly(policy, tmp_path)
    apart = quarantine(new, chunks)
    assert {(request, message) for _, request, message in apart.errors} == {
        (victim, WORKER_DIED) for victim in victims
    }
    assert apart.requests == len(rows)
    assert not apart.changes


def test_a_request_that_ends_its_dask_worker_is_one_error(
    ledger: Ledger,
    policy: returnrules.Policy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from returnrules.desk import dask

    ids = recorded_ids(ledger)
    victim = ids[1]
    monkeypatch.setenv("RETURNRULES_TEST_KILL", victim)
    on_dask = replay_ledger(
        ledger, deadly(policy, tmp_path), chunk=4, runner=dask.runner(workers=2)
    )
    assert on_dask.errors == [(2, victim, WORKER_DIED)]
    assert not on_dask.changes
    assert on_dask.requests == len(ids)
