"""The desk's command line: ``submit``, ``resume``, ``review``, ``history``,
``show``, ``ledger verify`` and ``db upgrade`` on a SQLite ledger.

Each test runs ``main(argv)`` in-process in its own directory, with a policy
written there that loads only the test plugins: ``tests.plugins.sample`` (the
actions ``pay`` and ``note``) and ``tests.plugins.desk_exec`` (their
executors, and ``wire``, whose executor fails while the bank is closed).
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from returnrules.cli import inputs, main
from returnrules.cli.commands import Console
from returnrules.cli.desk import run_submit
from returnrules.cli.render import Style
from returnrules.cli.render_desk import json_line, printable
from returnrules.desk.ledger import LATEST_VERSION, MIGRATIONS
from tests.plugins import desk_exec

ALLOWED = "tests.plugins.sample,tests.plugins.desk_exec"

POLICY = """\
version = 1

[policy]
currency = "CNY"
default = "review"

[plugins]
modules = ["tests.plugins.sample", "tests.plugins.desk_exec"]

[[rule]]
id = "over-return"
title = "退货数量超过可退数量"
when = { fact = "line.qty", gt = { fact = "line.returnable_qty" } }
decide = "reject"
message = "可退数量只有 {line.returnable_qty} 件"

[[rule]]
id = "wrong-part"
title = "错发配件全额退款"
when = { fact = "line.reason", eq = "wrong_part" }
decide = "approve"
then = [
  { action = "pay" },
  { action = "note", to = "warehouse", message = "{part.sku} × {line.qty}" },
]

[[rule]]
id = "defective"
title = "质量问题：转账退款"
when = { fact = "line.reason", eq = "defective" }
decide = "approve"
then = [{ action = "wire" }]

[[rule]]
id = "opened"
title = "已拆封需人工审核"
when = { fact = "line.condition", eq = "opened" }
decide = "review"
then = [{ action = "note", to = "customer_service", message = "待审核" }]

[[rule]]
id = "fee-if-approved"
title = "不需要了：审核通过后扣 15% 退款"
when = { fact = "line.reason", eq = "changed_mind" }
then = [{ action = "pay", percent = 85 }]
"""

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
"""Control characters but the newline that ends each line."""


def request(
    rid: str = "RT-1",
    *,
    qty: int = 2,
    reason: str = "wrong_part",
    condition: str = "unopened",
    order: str = "SO-1",
    customer: str = "C-1",
    line: int = 1,
) -> dict[str, Any]:
    """A return of *qty* of 4 brake pads (line 1) or 2 spark plugs (line 2)."""
    return {
        "id": rid,
        "requested_at": "2026-11-20T10:00:00+08:00",
        "customer": {"id": customer, "tier": "workshop"},
        "order": {
            "id": order,
            "status": "delivered",
            "placed_at": "2026-11-01T09:30:00+08:00",
            "delivered_at": "2026-11-04T11:00:00+08:00",
            "lines": [
                {
                    "line": 1,
                    "sku": "BOSCH-0986494",
                    "name": "前刹车片",
                    "category": "brake",
                    "qty": 4,
                    "unit_price": "180.00",
                },
                {
                    "line": 2,
                    "sku": "NGK-BKR6E",
                    "category": "electrical",
                    "qty": 2,
                    "unit_price": "35.50",
                },
            ],
        },
        "lines": [{"line": line, "qty": qty, "reason": reason, "condition": condition}],
    }


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def json(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only the test plugins, no colour, a fresh directory with the policy,
    no RETURNRULES_DB, the bank open and no runs counted."""
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("RETURNRULES_ALLOW_MODULES", ALLOWED)
    monkeypatch.delenv("RETURNRULES_DB", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.toml").write_text(POLICY, encoding="utf-8")
    desk_exec.RUNS.clear()
    desk_exec.BANK.update(open=True, error="the bank is closed")
    yield
    desk_exec.BANK.update(open=True, error="the bank is closed")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """``cli("submit", "r.json")``: exit status, stdout, stderr; no output line
    ever carries a control character."""

    def run(*argv: str) -> Result:
        code = main(list(argv))
        captured = capsys.readouterr()
        for text in (captured.out, captured.err):
            assert not CONTROL.search(text), text
        return Result(code, captured.out, captured.err)

    return run


def write(name: str, *requests: dict[str, Any]) -> str:
    """Requests in a file: one JSON request, or JSON Lines (``.jsonl``)."""
    if name.endswith(".jsonl"):
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests)
    else:
        (one,) = requests
        text = json.dumps(one, ensure_ascii=False)
    Path(name).write_text(text, encoding="utf-8")
    return name


def runs(key_part: str) -> int:
    """How often executors ran for keys containing *key_part*."""
    return sum(n for key, n in desk_exec.RUNS.items() if key_part in key)


def eval_object(cli: Run, path: str) -> dict[str, Any]:
    (obj,) = cli("eval", path, "--json").json
    return obj


# -- submit -------------------------------------------------------------------------


def test_submit_records_executes_and_prints_the_decision_with_its_status(
    cli: Run,
) -> None:
    result = cli("submit", write("r1.json", request()), "--by", "王芳")
    assert (result.code, result.err) == (0, "")
    assert result.lines[0] == "RT-1  approve (通过)"
    assert "    pay   amount 360.00  [wrong-part]" in result.lines
    assert result.lines[-1] == "  状态: 已完成 (completed)"
    assert runs("RT-1:1:pay:wrong-part") == 1
    assert runs("RT-1:1:note:wrong-part") == 1
    assert Path("returnrules.db").is_file()  # the default ledger, here


def test_submit_json_is_the_eval_object_plus_status(cli: Run) -> None:
    path = write("r1.json", request())
    expected = eval_object(cli, path)
    (submitted,) = cli("submit", path, "--json").json
    assert submitted.pop("status") == "completed"
    assert submitted == expected


def test_submit_json_explain_adds_the_trace_the_desk_keeps(cli: Run) -> None:
    path = write("r1.json", request())
    (submitted,) = cli("submit", path, "--json", "--explain").json
    assert [t["line"] for t in submitted["trace"]] == [1]
    (again,) = cli("submit", path, "--json").json  # recorded already: as recorded
    assert "trace" not in again
    assert {**again, "trace": submitted["trace"]} == submitted


def test_submit_streams_json_lines_in_input_order(cli: Run) -> None:
    path = write(
        "batch.jsonl",
        request("RT-1"),
        request("RT-2", reason="defective", line=2, qty=1),
        request("RT-3", condition="opened", reason="changed_mind"),
    )
    result = cli("submit", path, "--json")
    assert result.code == 0
    assert [(o["request"], o["decision"], o["status"]) for o in result.json] == [
        ("RT-1", "approve", "completed"),
        ("RT-2", "approve", "completed"),
        ("RT-3", "review", "review"),
    ]


def test_a_duplicate_prints_the_recorded_result_and_runs_nothing_again(
    cli: Run,
) -> None:
    path = write("r1.json", request())
    (first,) = cli("submit", path, "--json").json
    again = cli("submit", path, "--json")
    assert again.code == 0
    assert again.json == [first]
    human = cli("submit", path)
    assert human.lines[-1] == (
        "  状态: 已完成 (completed) · 已记录过 (recorded before: nothing decided or "
        "run again)"
    )
    assert runs("RT-1:") == 2  # pay and note, once each


def test_a_conflict_is_refused_with_exit_2_and_changes_nothing(cli: Run) -> None:
    cli("submit", write("r1.json", request(qty=2)))
    result = cli("submit", write("other.json", request(qty=1)))
    assert result.code == 2
    assert result.out == ""
    assert result.err.splitlines() == [
        'other.json: $.id: request "RT-1" is already recorded with other content;'
        " nothing changed (give the new request its own id)",
        "1 request was not recorded",
    ]
    (shown,) = cli("show", "RT-1", "--json").json
    assert shown["request_as_given"]["lines"][0]["qty"] == 2
    assert runs("RT-1:") == 2


def test_an_invalid_request_exits_2_and_the_valid_ones_are_recorded(
    cli: Run,
) -> None:
    path = write("batch.jsonl", request("RT-1"), request("RT-2", qty=0))
    result = cli("submit", path, "--json")
    assert result.code == 2
    assert [o["request"] for o in result.json] == ["RT-1"]
    assert result.err.splitlines()[0].startswith("batch.jsonl:2: $.lines[0].qty: ")
    assert [o["request"] for o in cli("history", "--json").json] == ["RT-1"]


def test_an_invalid_policy_exits_1_before_the_ledger_is_touched(cli: Run) -> None:
    Path("bad.toml").write_text(POLICY.replace('"wrong_part"', '"wrong_prt"'))
    result = cli("submit", write("r1.json", request()), "--rules", "bad.toml")
    assert result.code == 1
    assert 'unknown reason "wrong_prt"' in result.err
    assert not Path("returnrules.db").exists()


def test_invalid_data_exits_2_and_records_nothing(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("data.toml").write_text("level = -1\n", encoding="utf-8")
    (Path("rules.toml")).write_text(
        POLICY.replace('"tests.plugins.desk_exec"]', '"tests.plugins.desk_exec", '
                       '"tests.plugins.cli_extras"]'),
        encoding="utf-8",
    )  # fmt: skip
    monkeypatch.setenv(
        "RETURNRULES_ALLOW_MODULES", ALLOWED + ",tests.plugins.cli_extras"
    )
    result = cli("submit", write("r1.json", request()), "--data", "data.toml")
    assert result.code == 2
    assert result.err.startswith("data.toml: $.level: must be an integer ≥ 0")
    assert not Path("returnrules.db").exists()


def test_over_returns_across_requests_count_what_was_taken_back(cli: Run) -> None:
    cli("submit", write("r1.json", request("RT-1", qty=3)))
    result = cli("submit", write("r2.json", request("RT-2", qty=2)), "--json")
    (second,) = result.json
    assert second["decision"] == "reject"
    assert second["lines"][0]["messages"] == ["可退数量只有 1 件"]


# -- failures, resume ------------------------------------------------------------------


def test_a_failed_action_exits_3_and_resume_retries_it(cli: Run) -> None:
    desk_exec.BANK["open"] = False
    result = cli("submit", write("r1.json", request(reason="defective")), "--by", "a")
    assert result.code == 3
    assert "  状态: 处理失败 (failed)" in result.lines
    assert result.lines[-1] == (
        "    ✗ line 1 wire [defective]: ConnectionError: the bank is closed"
    )
    assert result.err == (
        "1 request has failed actions: `returnrules resume --retry-failed` "
        "runs them again\n"
    )

    still = cli("resume")  # failures are retried only when asked
    assert (still.code, still.lines) == (
        3,
        [
            "ran 0 actions; journal: 0 done, 1 failed, 0 pending",
            "`returnrules resume --retry-failed` runs the failed ones again",
        ],
    )

    desk_exec.BANK["open"] = True
    retried = cli("resume", "--retry-failed", "--by", "b")
    assert (retried.code, retried.lines) == (
        0,
        [
            "已执行 (done)  RT-1:1:wire:defective:0",
            "ran 1 action; journal: 1 done, 0 failed, 0 pending",
        ],
    )
    assert runs("RT-1:1:wire") == 2
    (shown,) = cli("show", "RT-1", "--json").json
    assert shown["status"] == "completed"
    assert [(a["state"], a["attempts"]) for a in shown["actions"]] == [("done", 2)]
    assert [(e["kind"], e["actor"]) for e in shown["events"]][-2:] == [
        ("retried", "b"),
        ("completed", "b"),
    ]
    assert cli("resume").code == 0  # nothing left to run, nothing failed


def test_a_duplicate_of_a_failed_request_exits_3(cli: Run) -> None:
    desk_exec.BANK["open"] = False
    path = write("r1.json", request(reason="defective"))
    cli("submit", path)
    again = cli("submit", path)
    assert again.code == 3
    assert "    ✗ line 1 wire [defective]: ConnectionError: the bank is closed" in (
        again.lines
    )
    assert runs("RT-1:") == 1


def test_exit_2_for_an_invalid_request_wins_over_3_for_a_failed_action(
    cli: Run,
) -> None:
    desk_exec.BANK["open"] = False
    path = write("b.jsonl", request("RT-1", reason="defective"), request("RT-2", qty=0))
    result = cli("submit", path)
    assert result.code == 2
    assert "1 request was not recorded" in result.err
    assert "1 request has failed actions" in result.err


def test_an_executors_control_characters_never_reach_the_output(cli: Run) -> None:
    desk_exec.BANK.update(open=False, error="down\x1b[2J\x9b31m\nforged line")
    path = write("r1.json", request(reason="defective"))
    result = cli("submit", path)  # the cli fixture asserts: no control character
    assert result.lines[-1].endswith(
        "ConnectionError: down\\u001b[2J\\u009b31m\\nforged line"
    )
    shown = cli("show", "RT-1", "--json")
    assert "\\u009b31m" in shown.out
    assert shown.json[0]["actions"][0]["error"].startswith(
        "ConnectionError: down\x1b[2J\x9b31m\n"
    )
    assert "down\\u001b[2J" in cli("show", "RT-1").out
    assert "down\\u001b[2J" in cli("resume", "--retry-failed").out


# -- review -------------------------------------------------------------------------


def test_review_list_shows_the_lines_waiting_for_a_person(cli: Run) -> None:
    cli("submit", write("r1.json", request()))
    opened = request("RT-2", reason="changed_mind", condition="opened", customer="C-2")
    cli("submit", write("r2.json", opened))
    result = cli("review", "list")
    assert result.code == 0
    assert result.lines[0].startswith(
        "RT-2  待审核 (review)  order SO-1 · customer C-2"
    )
    assert result.lines[1] == (
        "  line 1 · BOSCH-0986494 ×2 · changed_mind (不需要了) · opened (已拆封) · "
        "360.00 CNY · opened"
    )
    assert result.lines[2].startswith("1 request waits for review: ")
    (queued,) = cli("review", "list", "--json").json
    assert set(queued) == {
        "request", "order", "customer", "kind", "decision", "status",
        "received_at", "lines",
    }  # fmt: skip
    assert (queued["request"], queued["lines"][0]["decision"]) == ("RT-2", "review")


def test_an_empty_review_queue_says_so(cli: Run) -> None:
    cli("submit", write("r1.json", request()))
    assert cli("review", "list").lines == ["no request waits for review"]
    assert cli("review", "list", "--json").out == ""


def test_review_resolve_executes_the_newly_applicable_actions_once(cli: Run) -> None:
    opened = request(reason="changed_mind", condition="opened")
    cli("submit", write("r1.json", opened))
    assert runs("RT-1:1:pay") == 0  # a line in review is not refunded

    result = cli(
        "review", "resolve", "RT-1", "--decision", "approve", "--by", "王芳",
        "--note", "未安装，可退",
    )  # fmt: skip
    assert result.code == 0
    assert result.lines == [
        "RT-1  line 1 · BOSCH-0986494 ×2 · changed_mind (不需要了)  review → "
        "approve (通过)  by 王芳 · 未安装，可退",
        "  pay  amount 306.00  [fee-if-approved]  已执行 (done)",
        "状态: 已完成 (completed)",
    ]
    assert runs("RT-1:1:pay:fee-if-approved") == 1

    again = cli("review", "resolve", "RT-1", "--decision", "approve", "--by", "x")
    assert (again.code, again.out) == (2, "")
    assert again.err == ('returnrules: request "RT-1" has no line waiting for review\n')
    assert cli("resume", "--retry-failed").code == 0
    assert runs("RT-1:1:pay:fee-if-approved") == 1

    (shown,) = cli("show", "RT-1", "--json").json
    assert shown["lines"][0]["resolved_by"] == "王芳"
    reviewed = [e for e in shown["events"] if e["kind"] == "reviewed"]
    assert [(e["actor"], e["status"], e["line"], e["note"]) for e in reviewed] == [
        ("王芳", "approve", 1, "未安装，可退")
    ]


def test_review_resolve_one_line_leaves_the_others_waiting(cli: Run) -> None:
    both = request(reason="changed_mind", condition="opened")
    both["lines"].append(
        {"line": 2, "qty": 1, "reason": "changed_mind", "condition": "opened"}
    )
    cli("submit", write("r1.json", both))
    result = cli(
        "review", "resolve", "RT-1", "--line", "2", "--decision", "reject",
        "--by", "王芳",
    )  # fmt: skip
    assert result.code == 0
    assert result.lines[1:] == [
        "  no actions follow from it",
        "状态: 待审核 (review) · 1 line still waits for review",
    ]
    wrong = cli("review", "resolve", "RT-1", "--line", "2", "--decision", "approve",
                "--by", "王芳")  # fmt: skip
    assert (wrong.code, wrong.err) == (
        2, 'returnrules: request "RT-1" has no line 2 waiting for review\n'
    )  # fmt: skip


def test_review_resolve_of_an_unknown_request_is_one_line_exit_2(cli: Run) -> None:
    cli("submit", write("r1.json", request()))
    result = cli("review", "resolve", "RT-9", "--decision", "reject", "--by", "x")
    assert (result.code, result.out) == (2, "")
    assert result.err == 'returnrules: request "RT-9" is not in the ledger\n'


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--by", ""], "argument --by: it is empty"),
        (["--by", "王\x1b[31m芳"], "argument --by: control characters are not allowed"),
        (["--by", "x", "--note", "a\nb"], "argument --note: control characters"),
        (["--by", "x", "--line", "0"], "argument --line: must be 1 or more, got 0"),
        (["--by", "x", "--decision", "review"], "argument --decision: invalid choice"),
        (["--decision", "approve"], "the following arguments are required: --by"),
    ],
)
def test_review_resolve_checks_its_arguments(
    cli: Run, argv: list[str], message: str
) -> None:
    base = ["review", "resolve", "RT-1"]
    if "--decision" not in argv:
        base += ["--decision", "approve"]
    result = cli(*base, *argv)
    assert result.code == 2
    assert message in result.err


def test_review_with_no_subcommand_prints_its_help_and_exits_2(cli: Run) -> None:
    result = cli("review")
    assert result.code == 2
    assert "resolve" in result.err
    assert "usage: returnrules review" in result.err


# -- history ------------------------------------------------------------------------


def _three(cli: Run) -> None:
    cli("submit", write("r1.json", request("RT-1")))
    opened = request("RT-2", reason="changed_mind", condition="opened", order="SO-2",
                     customer="C-2")  # fmt: skip
    cli("submit", write("r2.json", opened))
    desk_exec.BANK["open"] = False
    cli("submit", write("r3.json", request("RT-3", reason="defective", line=2, qty=1)))
    desk_exec.BANK["open"] = True


def test_history_is_a_compact_table_with_chinese_labels(cli: Run) -> None:
    _three(cli)
    result = cli("history")
    assert result.code == 0
    header, *rows, tail = result.lines
    assert header.split() == [
        "受理时间", "(UTC)", "退单号", "订单", "客户", "状态", "行", "金额", "原因"
    ]  # fmt: skip
    assert [row.split()[2:] for row in rows] == [
        ["RT-3", "SO-1", "C-1", "处理失败", "1", "35.50", "CNY", "质量问题"],
        ["RT-2", "SO-2", "C-2", "待审核", "1", "360.00", "CNY", "不需要了"],
        ["RT-1", "SO-1", "C-1", "已完成", "1", "360.00", "CNY", "错发配件"],
    ]
    assert tail == "3 requests"
    # the columns line up, Chinese characters taking two columns
    starts = {row.index("RT-") for row in rows}
    assert len(starts) == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--status", "failed"], ["RT-3"]),
        (["--status", "completed"], ["RT-1"]),
        (["--reason", "changed_mind"], ["RT-2"]),
        (["--customer", "C-1"], ["RT-3", "RT-1"]),
        (["--order", "SO-2"], ["RT-2"]),
        (["--since", "2000-01-01", "--until", "2999-12-31"], ["RT-3", "RT-2", "RT-1"]),
        (["--until", "2000-01-01"], []),
        (["--limit", "1"], ["RT-3"]),
    ],
)
def test_history_filters(cli: Run, argv: list[str], expected: list[str]) -> None:
    _three(cli)
    result = cli("history", *argv, "--json")
    assert result.code == 0
    assert [o["request"] for o in result.json] == expected


def test_history_json_lines_name_every_line(cli: Run) -> None:
    cli("submit", write("r1.json", request()))
    (one,) = cli("history", "--json").json
    assert (one["request"], one["status"], one["decision"]) == (
        "RT-1", "completed", "approve"
    )  # fmt: skip
    (line,) = one["lines"]
    assert (line["reason"], line["amount_minor"], line["currency"]) == (
        "wrong_part", 36000, "CNY"
    )  # fmt: skip


def test_history_says_when_the_limit_cut_it_and_when_nothing_matches(
    cli: Run,
) -> None:
    _three(cli)
    assert cli("history", "--limit", "2").lines[-1] == (
        "2 requests, the newest; --limit N shows more"
    )
    assert cli("history", "--order", "SO-9").lines == ["no recorded request matches"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "2026-13-01"], "argument --since: not a date: '2026-13-01'"),
        (["--status", "done"], "argument --status: invalid choice: 'done'"),
        (["--limit", "0"], "argument --limit: must be 1 or more"),
    ],
)
def test_history_checks_its_arguments(cli: Run, argv: list[str], message: str) -> None:
    result = cli("history", *argv)
    assert result.code == 2
    assert message in result.err


def test_history_labels_the_codes_a_recorded_policy_added(cli: Run) -> None:
    Path("rules.toml").write_text(
        POLICY.replace(
            '[[rule]]\nid = "over-return"',
            '[vocab.reason]\nsplit_box = "外箱破损"\n\n[[rule]]\nid = "over-return"',
        ),
        encoding="utf-8",
    )
    cli("submit", write("r1.json", request(reason="split_box")))
    (row,) = cli("history").lines[1:-1]
    assert row.endswith("待审核  1   360.00 CNY  外箱破损")
    assert "split_box (外箱破损)" in cli("review", "list").out


# -- show ---------------------------------------------------------------------------


def test_show_prints_the_whole_record_with_chinese_labels(cli: Run) -> None:
    opened = request(reason="changed_mind", condition="opened")
    cli("submit", write("r1.json", opened), "--by", "alice")
    cli("review", "resolve", "RT-1", "--decision", "approve", "--by", "王芳",
        "--note", "可退")  # fmt: skip
    result = cli("show", "RT-1")
    assert result.code == 0
    text = result.out
    assert result.lines[0] == "RT-1  状态: 已完成 (completed)"
    assert "  订单 order SO-1 · 客户 customer C-1 · return (退货)" in result.lines
    for section in (
        "请求 the request as given",
        "数据 what the data providers answered",
        "决定 the decision  review (人工审核)",
        "执行 the actions",
        "事件 the events",
    ):
        assert section in result.lines
    assert '    "id": "RT-1",' in result.lines  # the request as given
    assert "    decided by opened: 已拆封需人工审核" in result.lines
    assert "    why:" in result.lines  # the trace, as eval --explain draws it
    assert "      ✓ opened — 已拆封需人工审核" in result.lines
    assert "  line 1 审核 reviewed: approve (通过) by 王芳" in text
    assert "    已执行 (done) · 1 attempt · by desk_exec · " in text
    assert "    key RT-1:1:pay:fee-if-approved:0" in result.lines
    assert "    result {paid = 306.00}" in result.lines
    events = result.lines[result.lines.index("事件 the events") + 2 :]
    assert [e.split()[3:] for e in events] == [
        ["alice", "received", "受理", "已受理", "(received)"],
        ["alice", "decided", "决定", "待审核", "(review)"],
        ["王芳", "reviewed", "审核", "line", "1", "approve", "(通过)", "可退"],
        ["王芳", "completed", "完成", "已完成", "(completed)"],
    ]


def test_show_json_holds_the_request_data_decision_actions_and_events(
    cli: Run,
) -> None:
    Path("data.json").write_text('{"level": 3}', encoding="utf-8")
    cli("submit", write("r1.json", request()), "--data", "data.json", "--by", "a")
    result = cli("show", "RT-1", "--json")
    assert result.code == 0
    (record,) = result.json
    assert record["request_as_given"] == request()
    assert record["data"] == {"level": 3}
    assert record["result"]["decision"] == "approve"
    assert record["result"]["trace"][0]["line"] == 1
    assert record["policy"]["source"] == "rules.toml"
    assert [(a["action"], a["state"], a["attempts"]) for a in record["actions"]] == [
        ("note", "done", 1),
        ("pay", "done", 1),
    ]
    assert record["actions"][1]["key"] == "RT-1:1:pay:wrong-part:0"
    assert [e["kind"] for e in record["events"]] == ["received", "decided", "completed"]


def test_show_of_an_unknown_request_is_one_line_exit_2(cli: Run) -> None:
    cli("submit", write("r1.json", request()))
    result = cli("show", "RT-\x1b[31m9")
    assert (result.code, result.out) == (2, "")
    assert result.err == 'returnrules: request "RT-\\u001b[31m9" is not in the ledger\n'


def test_show_draws_a_record_whose_policy_no_longer_loads(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("submit", write("r1.json", request()))
    monkeypatch.setenv("RETURNRULES_ALLOW_MODULES", "tests.plugins.sample")
    result = cli("show", "RT-1")
    assert result.code == 0
    assert "  (the policy rules.toml does not load here (its plugins?): " in result.out
    assert "    decided by wrong-part" in result.lines


# -- ledger verify ------------------------------------------------------------------


def test_ledger_verify_prints_the_head_of_an_intact_ledger(cli: Run) -> None:
    cli("submit", write("r1.json", request()))
    result = cli("ledger", "verify")
    assert result.code == 0
    assert result.lines[0] == "returnrules.db: 3 events, intact"
    assert re.fullmatch(r"head: event 3, hash [0-9a-f]{64}", result.lines[1])
    (verified,) = cli("ledger", "verify", "--json").json
    assert verified["intact"] is True
    assert verified["head"]["seq"] == 3
    assert verified["head"]["hash"] == result.lines[1].rsplit(" ", 1)[1]


def test_ledger_verify_names_an_edited_event_and_exits_1(cli: Run) -> None:
    cli("submit", write("r1.json", request()))
    with sqlite3.connect("returnrules.db") as db:
        db.execute("UPDATE events SET actor = 'mallory\x1b[8m' WHERE seq = 2")
    result = cli("ledger", "verify")
    assert result.code == 1
    assert result.lines[0] == (
        "returnrules.db: event 2 (decided of RT-1) was edited: its hash does not match"
    )
    assert result.lines[1] == "Found 1 problem in 3 events."
    (verified,) = cli("ledger", "verify", "--json").json
    assert verified["intact"] is False
    assert [(p["seq"], p["kind"]) for p in verified["problems"]] == [(2, "edited")]
    # the edited actor is shown escaped
    assert "mallory\\u001b[8m" in cli("show", "RT-1").out


def test_ledger_verify_names_a_removed_event(cli: Run) -> None:
    cli("submit", write("r1.json", request()))
    with sqlite3.connect("returnrules.db") as db:
        db.execute("DELETE FROM events WHERE seq = 2")
    result = cli("ledger", "verify")
    assert result.code == 1
    assert result.lines[0] == (
        "returnrules.db: event 2 before event 3 (completed of RT-1) is missing"
    )


# -- db upgrade, the ledger's URL and its failures ----------------------------------


def test_db_upgrade_creates_a_ledger_then_finds_it_up_to_date(
    cli: Run, tmp_path: Path
) -> None:
    result = cli("db", "upgrade", "--db", "new.db")
    assert result.code == 0
    assert result.lines == [
        *(f"new.db: applied migration {v:04d}_{name}" for v, name, _ in MIGRATIONS),
        f"new.db: schema version 0 → {LATEST_VERSION}",
    ]
    assert result.lines[0] == "new.db: applied migration 0001_initial"
    url = f"sqlite:///{tmp_path / 'new.db'}"  # sqlite:/// and an absolute path
    again = cli("db", "upgrade", "--db", url)
    assert again.lines == [f"{url}: schema version {LATEST_VERSION}, up to date"]


def test_the_ledger_is_named_by_db_else_returnrules_db_else_here(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETURNRULES_DB", "env.db")
    cli("submit", write("r1.json", request("RT-1")))
    cli("submit", write("r2.json", request("RT-2", order="SO-2")), "--db", "flag.db")
    assert sorted(p.name for p in Path().glob("*.db")) == ["env.db", "flag.db"]
    assert [o["request"] for o in cli("history", "--json").json] == ["RT-1"]
    monkeypatch.delenv("RETURNRULES_DB")
    result = cli("history")
    assert result.code == 1
    assert result.err.startswith(
        "returnrules: ledger returnrules.db: there is no ledger"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["history"],
        ["show", "RT-1"],
        ["review", "list"],
        ["review", "resolve", "RT-1", "--decision", "approve", "--by", "x"],
        ["resume"],
        ["ledger", "verify"],
    ],
)
def test_reading_a_ledger_that_is_not_there_exits_1_and_creates_none(
    cli: Run, argv: list[str]
) -> None:
    result = cli(*argv, "--db", "typo.db")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "returnrules: ledger typo.db: there is no ledger here: `returnrules submit` "
        "records the first request (or name the ledger with --db or RETURNRULES_DB)\n"
    )
    assert not Path("typo.db").exists()


def test_a_sqlite_url_names_its_path_as_written(cli: Run, tmp_path: Path) -> None:
    """``sqlite:///PATH`` is PATH: relative to the current directory unless it
    starts with a slash (SQLAlchemy's reading), so both spellings land where a
    person formatting ``f"sqlite:///{path}"`` expects."""
    relative = cli("submit", write("r1.json", request()), "--db", "sqlite:///here.db")
    assert relative.code == 0, relative.err
    assert Path("here.db").is_file()
    absolute = tmp_path / "there.db"
    done = cli("submit", write("r2.json", request()), "--db", f"sqlite:///{absolute}")
    assert done.code == 0, done.err
    assert absolute.is_file()


@pytest.mark.parametrize(
    ("db", "message"),
    [
        (".", "returnrules: ledger .: is a directory, not a ledger file"),
        (
            "missing/x.db",
            "returnrules: ledger missing/x.db: cannot open the ledger "
            "file (does its directory exist, and may it be written?)",
        ),
        (
            "sqlite:///missing/x.db",
            "returnrules: ledger sqlite:///missing/x.db: cannot open the ledger "
            "file (does its directory exist, and may it be written? sqlite:///PATH"
            " reads PATH as written: an absolute path takes four slashes,"
            " sqlite:////var/...)",
        ),
        (
            "sqlite:x.db",
            "returnrules: ledger sqlite:x.db: write a SQLite URL as sqlite:///PATH",
        ),
        (
            "mysql://db/x",
            "returnrules: ledger mysql://db/x: not a ledger URL: a path,"
            " sqlite:///PATH or postgresql://...",
        ),
        ("notes.txt", "returnrules: ledger notes.txt: file is not a database"),
        (
            "we\x1bird.db",
            "returnrules: ledger we\\u001bird.db: is a directory, not a ledger file",
        ),
    ],
)
def test_a_ledger_that_cannot_be_used_is_one_line_exit_1(
    cli: Run, db: str, message: str
) -> None:
    Path("notes.txt").write_text("not a database " * 100, encoding="utf-8")
    Path("we\x1bird.db").mkdir()
    result = cli("submit", write("r1.json", request()), "--db", db)
    assert (result.code, result.out, result.err) == (1, "", message + "\n")


def test_a_newer_schema_is_refused_by_every_command(cli: Run) -> None:
    cli("submit", write("r1.json", request()))
    with sqlite3.connect("returnrules.db") as db:
        db.execute(
            "INSERT INTO schema_migrations VALUES ('core', 99, 'future', '2030-01-01')"
        )
    message = (
        "returnrules: ledger returnrules.db: the ledger's schema is version 99, "
        f"newer than this returnrules knows ({LATEST_VERSION})"
    )
    for argv in (
        ["submit", "r1.json"],
        ["history"],
        ["show", "RT-1"],
        ["review", "list"],
        ["resume"],
        ["ledger", "verify"],
        ["db", "upgrade"],
    ):
        result = cli(*argv)
        assert (result.code, result.out) == (1, ""), argv
        assert result.err.startswith(message), argv
        assert len(result.err.splitlines()) == 1, argv


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_read_only_ledger_is_one_line_exit_1(cli: Run) -> None:
    cli("submit", write("r1.json", request("RT-1")))
    Path("returnrules.db").chmod(0o444)
    result = cli("submit", write("r2.json", request("RT-2", order="SO-2")))
    assert result.code == 1
    assert result.err.startswith("returnrules: ledger returnrules.db: ")


def test_a_request_with_control_characters_is_refused_and_shown_escaped(
    cli: Run,
) -> None:
    result = cli("submit", write("r1.json", request("RT-\x1b]0;pwned\x07")))
    assert result.code == 2
    assert "\\u001b]0;pwned\\u0007" in result.err


def test_lines_keep_the_colours_they_paint_and_escape_every_other_control() -> None:
    line = "\x1b[1mRT-1\x1b[0m \x1b[2J\x9b31m\tx"
    assert printable(line, Style(True)) == (
        "\x1b[1mRT-1\x1b[0m \\u001b[2J\\u009b31m\\tx"
    )
    assert printable(line, Style(False)) == (
        "\\u001b[1mRT-1\\u001b[0m \\u001b[2J\\u009b31m\\tx"
    )
    json_text = printable(json_line({"a": "\x1b\x7f\x9b好"}), Style(False))
    assert json_text == '{"a": "\\u001b\\u007f\\u009b好"}'
    assert json.loads(json_text) == {"a": "\x1b\x7f\x9b好"}


# -- a huge batch is streamed ----------------------------------------------------------


class _Watched(io.StringIO):
    """stdout that notes how many requests had been read at its first write."""

    def __init__(self, read: list[int]) -> None:
        super().__init__()
        self.reads = read
        self.first: int | None = None

    def write(self, text: str) -> int:
        if self.first is None:
            self.first = len(self.reads)
        return super().write(text)


def test_submit_streams_a_large_jsonl_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    count = 450  # more than two of the desk's batches of 200
    with open("big.jsonl", "w", encoding="utf-8") as f:
        for i in range(count):
            f.write(json.dumps(request(f"RT-{i}", order=f"SO-{i}", qty=1)) + "\n")
    read: list[int] = []
    original = inputs.read_requests

    def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for item in original(*args, **kwargs):
            read.append(1)
            yield item

    monkeypatch.setattr("returnrules.cli.desk.read_requests", counted)
    out = _Watched(read)
    err = io.StringIO()
    code = run_submit(
        ["big.jsonl"], Console(out, err), rules="rules.toml", as_json=True
    )
    assert (code, err.getvalue()) == (0, "")
    assert len(out.getvalue().splitlines()) == count
    assert out.first is not None
    assert out.first <= 200  # the first was printed before all were read


# -- help ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "example"),
    [
        (["submit"], "returnrules submit today.jsonl --json > out.jsonl"),
        (["resume"], "returnrules resume --retry-failed"),
        (["review", "list"], "returnrules review list --json"),
        (["review", "resolve"], "--decision approve --by 王芳"),
        (["history"], "returnrules history --customer C-1001 --since 2026-11-01"),
        (["show"], "returnrules show RT-2026-0001 --json"),
        (["ledger", "verify"], "returnrules ledger verify"),
        (["db", "upgrade"], "RETURNRULES_DB=postgresql://desk@db/returns"),
    ],
)
def test_each_desk_command_has_help_with_examples(
    cli: Run, argv: list[str], example: str
) -> None:
    result = cli(*argv, "--help")
    assert result.code == 0
    assert example in result.out
    assert "RETURNRULES_DB" in result.out or argv[0] == "review"


def test_the_top_level_help_names_the_desk_and_exit_status_3(cli: Run) -> None:
    result = cli("--help")
    for text in (
        "returnrules submit",
        "returnrules review resolve",
        "  3    an action",
    ):
        assert text in result.out
