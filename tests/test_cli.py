"""The ``returnrules`` command line, as rule authors and operators use it.

Each test runs ``main(argv)`` in-process against the policy and requests in
``tests/data/cli`` (which load only the test plugins); ``test_cli_process.py``
runs the real console script.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

import returnrules
from returnrules.cli import main
from returnrules.cli.render import Style

DATA = Path(__file__).parent / "data" / "cli"
ALLOWED = "tests.plugins.sample,tests.plugins.cli_extras"
"""The plugin modules the CLI tests' policy names, allowed as a host would."""


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the test plugins, no colour, and the CLI data as current directory."""
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("RETURNRULES_ALLOW_MODULES", ALLOWED)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(DATA)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``cli("eval", "request.toml", stdin=b"...")``: exit status, stdout, stderr."""

    def run(*argv: str, stdin: bytes | None = None) -> Result:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the command line itself -----------------------------------------------------------


def test_version_names_the_program_and_version(cli: Run) -> None:
    result = cli("--version")
    assert (result.code, result.out) == (0, f"returnrules {returnrules.__version__}\n")


def test_help_teaches_with_examples_and_exit_codes(cli: Run) -> None:
    result = cli("--help")
    assert result.code == 0
    for text in ("returnrules eval req.toml --explain", "exit status:", "schema"):
        assert text in result.out


@pytest.mark.parametrize(
    ("command", "example"),
    [
        ("check", "returnrules check shop/rules.toml"),
        ("eval", "returnrules eval - --json"),
        ("test", "[case.expect]"),
        ("schema", "#:schema ./rules.schema.json"),
        ("plugins", "returnrules plugins --rules rules.toml"),
        ("facts", "returnrules facts --json"),
        ("init", "returnrules init shop"),
    ],
)
def test_each_command_has_help_with_examples(
    cli: Run, command: str, example: str
) -> None:
    result = cli(command, "--help")
    assert result.code == 0
    assert example in result.out


def test_no_command_prints_the_help_on_stderr_and_exits_2(cli: Run) -> None:
    result = cli()
    assert result.code == 2
    assert "usage: returnrules" in result.err


@pytest.mark.parametrize(
    "argv",
    [["frobnicate"], ["eval"], ["check", "--bogus"], ["eval", "x.toml", "--jsn"]],
)
def test_a_usage_error_exits_2(cli: Run, argv: list[str]) -> None:
    result = cli(*argv)
    assert result.code == 2
    assert "usage:" in result.err


# -- check -----------------------------------------------------------------------------


def test_check_prints_each_problem_as_file_line_col_then_a_count(cli: Run) -> None:
    result = cli("check", "broken.toml")
    assert result.code == 1
    assert result.lines == [
        'broken.toml:8:17: error: unknown fact "line.reson"; '
        'did you mean "line.reason"?',
        'broken.toml:9:10: error: invalid decision "aprove"; '
        'did you mean "approve"? (approve, reject, review)',
        'broken.toml:13:29: error: operator "lt" does not apply to part.kit '
        "(bool); use eq, ne",
        "Found 3 errors.",
    ]
    assert result.err == ""


def test_check_of_a_clean_policy_prints_one_all_clear_line(cli: Run) -> None:
    result = cli("check", "rules.toml")
    assert (result.code, result.out) == (0, "rules.toml: no problems (4 rules)\n")


def test_check_reads_rules_toml_in_the_current_directory_by_default(cli: Run) -> None:
    assert cli("check").out == "rules.toml: no problems (4 rules)\n"


def test_check_reports_warnings_but_exits_0(cli: Run, tmp_path: Path) -> None:
    policy = write(
        tmp_path / "warn.toml",
        """\
version = 1
[policy]
currency = "CNY"
[vocab.reason]
core_return = "旧件返还"
[[rule]]
id = "always-review"
decide = "review"
[[rule]]
id = "wrong-part"
when = { fact = "line.reason", eq = "wrong_part" }
decide = "approve"
[[rule]]
id = "idle"
when = { fact = "line.reason", eq = "defective" }
""",
    )
    result = cli("check", str(policy))
    assert result.code == 0
    assert result.lines == [
        f'{policy}:5:1: warning: reason code "core_return" is added here but no '
        "rule mentions it",
        f'{policy}:12:1: warning: rule "wrong-part" can never decide approve: rule '
        '"always-review" always matches and decides review, which wins',
        f'{policy}:13:3: warning: rule "idle" has neither decide nor then: it can '
        "only show up in matched",
        f"{policy}: no errors, 3 warnings (3 rules)",
    ]


def test_check_counts_errors_and_warnings_together(cli: Run, tmp_path: Path) -> None:
    policy = write(
        tmp_path / "rules.toml",
        """\
version = 1
[policy]
currency = "CNY"
[[rule]]
id = "idle"
[[rule]]
id = "bad"
decide = "maybe"
""",
    )
    result = cli("check", str(policy))
    assert result.code == 1
    assert result.lines[-1] == "Found 1 error and 1 warning."
    assert [line.split(": ")[1] for line in result.lines[:-1]] == ["warning", "error"]


def test_check_several_policies_reports_them_all(cli: Run) -> None:
    result = cli("check", "rules.toml", "broken.toml")
    assert result.code == 1
    assert result.lines[0] == "rules.toml: no problems (4 rules)"
    assert result.lines[-1] == "Found 3 errors."


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.toml", None, "missing.toml:1:1: error: cannot read policy: "),
        ("dir.toml", "DIR", "dir.toml:1:1: error: cannot read policy: "),
        ("latin1.toml", b"version = 1\n# caf\xe9\n", "latin1.toml:2:1: error: "),
        ("syntax.toml", b"version = 1\n[policy\n", "syntax.toml:2:8: error: invalid"),
    ],
)
def test_check_reports_unreadable_policies_without_a_traceback(
    cli: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    content: bytes | str | None,
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    if content == "DIR":
        (tmp_path / name).mkdir()
    elif isinstance(content, bytes):
        (tmp_path / name).write_bytes(content)
    result = cli("check", name)
    assert result.code == 1
    assert result.lines[0].startswith(expected)
    assert result.lines[-1] == "Found 1 error."
    assert "Traceback" not in result.out + result.err


# -- eval: human output ----------------------------------------------------------------


def test_eval_shows_the_decision_deciding_rules_and_actions(cli: Run) -> None:
    result = cli("eval", "request.toml")
    assert result.code == 0
    assert result.err == ""
    assert result.lines == [
        "RT-1  approve (通过)",
        "  order SO-1 · customer C-1, workshop (修理厂) · from request.toml",
        "  line 1 · BOSCH-0986494 前刹车片 ×2 · wrong_part (错发配件) · "
        "unopened (未拆封)  →  approve (通过)",
        "    decided by wrong-part: 错发配件全额退款",
        "      » 错发配件：全额退款",
        "    pay   amount 360.00 CNY  [wrong-part]",
        "    note  to warehouse, message BOSCH-0986494 × 2  [wrong-part]",
    ]


def test_eval_names_the_matched_rules_whose_decision_lost_and_no_others(
    cli: Run, tmp_path: Path
) -> None:
    # issue 11: "also matched: ..." listed, under an approved line, rules that
    # matched but did nothing (a notification for rejections), as if they
    # counted; --explain shows every rule
    policy = write(
        tmp_path / "rules.toml",
        """\
version = 1
[policy]
currency = "CNY"
[plugins]
modules = ["tests.plugins.sample", "tests.plugins.cli_extras"]
[[rule]]
id = "approve-it"
decide = "approve"
[[rule]]
id = "look-first"
decide = "review"
[[rule]]
id = "pay-less"
then = [{ action = "pay", percent = 50 }]
[[rule]]
id = "on-reject"
for = ["reject"]
then = [{ action = "note", to = "customer", message = "no" }]
""",
    )
    result = cli("eval", "request.toml", "--rules", str(policy))
    assert "    decided by look-first" in result.lines
    assert "    overruled: approve-it would approve" in result.lines
    assert not any("on-reject" in line for line in result.lines)
    assert not any("also matched" in line for line in result.lines)
    explained = cli("eval", "request.toml", "--rules", str(policy), "--explain")
    assert "on-reject" in explained.out


def test_eval_shows_each_line_of_a_partial_decision(cli: Run) -> None:
    result = cli("eval", "partial.json")
    assert result.code == 0
    out = result.out
    assert out.startswith("RT-2  partial (部分通过)\n")
    assert "customer C-2, vip (大客户)" in out
    assert "→  reject (拒绝)\n    decided by over-return: 退货数量超过可退数量\n" in out
    assert "      » 可退数量只有 2 件\n" in out
    assert "    note  to customer, message 未通过  [tell-customer]\n" in out


def test_eval_says_when_the_policy_default_decided(cli: Run, tmp_path: Path) -> None:
    policy = write(
        tmp_path / "rules.toml",
        'version = 1\n[policy]\ncurrency = "CNY"\ndefault = "review"\n',
    )
    result = cli("eval", "request.toml", "--rules", str(policy))
    assert "no deciding rule matched: the policy's default (review)" in result.out
    assert "no actions" in result.out


def test_eval_reports_a_failing_check_in_the_line(cli: Run, tmp_path: Path) -> None:
    policy = write(
        tmp_path / "rules.toml",
        """\
version = 1
[policy]
currency = "CNY"
[plugins]
modules = ["tests.plugins.sample"]
[[rule]]
id = "fragile"
when = { check = "explode" }
decide = "approve"
""",
    )
    result = cli("eval", "request.toml", "--rules", str(policy))
    assert result.code == 0
    assert "→  review (人工审核)" in result.out
    assert "an error made this line review" in result.out
    assert (
        "    ! error in rule fragile: check explode (plugin sample): "
        "RuntimeError: the sample check exploded"
    ) in result.out


def test_eval_explain_shows_every_rule_and_condition_with_its_value(cli: Run) -> None:
    result = cli("eval", "request.toml", "--explain")
    assert result.code == 0
    why = result.out.split("    why:\n", 1)[1].splitlines()
    assert why[:9] == [
        "      ✗ over-return — 退货数量超过可退数量",
        "          line.qty = 2 > line.returnable_qty (4) ✗",
        "      ✗ late — 签收超过30天",
        "          request.days_since_delivery = 16 > 30 ✗",
        "      ✓ wrong-part — 错发配件全额退款",
        "          all of 2 ✓",
        "            line.reason = wrong_part (错发配件) in "
        "[wrong_part, core_return] ✓",
        "            check window(days=30, per_tier={vip = 60}) ✓ — "
        "16 days since delivery, window 30",
        "      ✓ tell-customer (no condition)",
    ]
    assert why[9].startswith("      facts: request.days_since_delivery = 16, ")


def test_eval_explain_marks_skipped_branches(cli: Run) -> None:
    out = cli("eval", "partial.json", "--explain").out
    line2 = out.split("  line 2 ", 1)[1]
    assert (
        "            line.reason = changed_mind (不需要了) in "
        "[wrong_part, core_return] ✗\n"
        "            check window(days=30, per_tier={vip = 60}) (skipped)\n"
    ) in line2


def test_eval_explain_says_when_an_optional_fact_is_absent(
    cli: Run, tmp_path: Path
) -> None:
    request = tomllib_load(DATA / "request.toml")
    del request["order"]["delivered_at"]
    request["order"]["status"] = "shipped"
    path = write(tmp_path / "shipped.json", json.dumps(request, default=str))
    out = cli("eval", str(path), "--explain").out
    assert (
        "request.days_since_delivery is absent > 30 ✗ (a missing fact compares false)"
    ) in out


def tomllib_load(path: Path) -> dict[str, Any]:
    import tomllib

    with path.open("rb") as stream:
        return tomllib.load(stream)


def test_style_colours_a_terminal_unless_no_color() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert Style.for_stream(Terminal(), {}).enabled
    assert not Style.for_stream(Terminal(), {"NO_COLOR": "1"}).enabled
    assert not Style.for_stream(Terminal(), {"TERM": "dumb"}).enabled
    assert not Style.for_stream(io.StringIO(), {}).enabled
    assert Style(True).decision("reject") == "\x1b[1;31mreject (拒绝)\x1b[0m"
    assert Style(False).decision("reject") == "reject (拒绝)"


def test_eval_output_has_no_colour_codes_when_piped(cli: Run) -> None:
    result = cli("eval", "request.toml", "--explain")
    assert "\x1b[" not in result.out


# -- eval: JSON ------------------------------------------------------------------------


def test_eval_json_prints_the_contract_shape_one_line_per_request(cli: Run) -> None:
    result = cli("eval", "request.toml", "partial.json", "--json")
    assert result.code == 0
    first, second = (json.loads(line) for line in result.lines)
    assert first == {
        "request": "RT-1",
        "decision": "approve",
        "lines": [
            {
                "line": 1,
                "decision": "approve",
                "matched": ["wrong-part", "tell-customer"],
                "decided_by": ["wrong-part"],
                "messages": ["错发配件：全额退款"],
                "actions": [
                    {"action": "pay", "rule": "wrong-part", "amount": "360.00"},
                    {
                        "action": "note",
                        "rule": "wrong-part",
                        "to": "warehouse",
                        "message": "BOSCH-0986494 × 2",
                    },
                ],
                "errors": [],
            }
        ],
    }
    assert second["decision"] == "partial"
    assert [line["decision"] for line in second["lines"]] == ["approve", "reject"]


def test_eval_json_keeps_chinese_readable(cli: Run) -> None:
    out = cli("eval", "request.toml", "--json").out
    assert "错发配件：全额退款" in out
    assert "\\u" not in out


def test_eval_json_explain_adds_the_trace(cli: Run) -> None:
    (line,) = cli("eval", "request.toml", "--json", "--explain").lines
    decision = json.loads(line)
    (trace,) = decision["trace"]
    assert trace["line"] == 1
    assert [r["rule"] for r in trace["rules"]] == [
        "over-return",
        "late",
        "wrong-part",
        "tell-customer",
    ]
    assert trace["rules"][1]["condition"] == {
        "fact": "request.days_since_delivery",
        "value": 16,
        "op": "gt",
        "expected": 30,
        "result": False,
    }


def test_eval_json_without_explain_has_no_trace(cli: Run) -> None:
    (line,) = cli("eval", "request.toml", "--json").lines
    assert "trace" not in json.loads(line)


# -- eval: inputs ----------------------------------------------------------------------


def request_json() -> bytes:
    return (DATA / "partial.json").read_bytes()


def test_eval_reads_one_json_request_from_stdin(cli: Run) -> None:
    result = cli("eval", "-", "--json", stdin=request_json())
    assert result.code == 0
    assert json.loads(result.out)["request"] == "RT-2"


def test_eval_names_stdin_when_its_json_is_bad(cli: Run) -> None:
    result = cli("eval", "-", stdin=b'{"id": "RT-9",\n  oops}')
    assert result.code == 2
    assert result.err_lines[0] == (
        "<stdin>:2:3: invalid JSON: Expecting property name enclosed in double quotes"
    )


def test_eval_of_empty_stdin_is_an_error(cli: Run) -> None:
    result = cli("eval", "-", stdin=b"")
    assert result.code == 2
    assert "no request on standard input" in result.err


def test_a_bad_request_is_reported_and_the_others_still_evaluated(cli: Run) -> None:
    result = cli("eval", "request.toml", "bad-qty.toml", "partial.json", "--json")
    assert result.code == 2
    assert [json.loads(line)["request"] for line in result.lines] == ["RT-1", "RT-2"]
    assert result.err_lines == [
        "bad-qty.toml: $.lines[0].qty: must be ≥ 1, got 0",
        'bad-qty.toml: $.lines[0].reason: unknown reason "defectve"; '
        'did you mean "defective"?',
        "1 request could not be evaluated",
    ]


def test_a_jsonl_batch_reports_each_bad_line_and_evaluates_the_rest(
    cli: Run, tmp_path: Path
) -> None:
    good = json.dumps(json.loads(request_json()))
    batch = write(
        tmp_path / "batch.jsonl",
        "\n".join([good, '{"id": "RT-X"}', "", "not json", good]) + "\n",
    )
    result = cli("eval", str(batch), "--json")
    assert result.code == 2
    assert len(result.lines) == 2
    assert any(
        line.startswith(f"{batch}:2: $.requested_at: ") for line in result.err_lines
    )
    assert f"{batch}:4:1: invalid JSON: Expecting value" in result.err_lines
    assert result.err_lines[-1] == "2 requests could not be evaluated"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.toml", None, "missing.toml: cannot read file: No such file"),
        ("folder", "DIR", "folder: is a directory, not a request file"),
        ("req.yaml", "id: 1", 'req.yaml: cannot tell the format from ".yaml": '),
        ("latin1.toml", b'id = "caf\xe9"', "latin1.toml:1: not valid UTF-8 text"),
        ("syntax.toml", b"id = \n", "syntax.toml:1:6: invalid TOML: "),
        (
            "list.json",
            b"[1, 2]",
            "list.json: expected a request (a JSON object), got an array",
        ),
        ("nan.json", b'{"id": NaN}', "nan.json: invalid JSON: NaN is not"),
    ],
)
def test_unreadable_request_files_are_reported_without_a_traceback(
    cli: Run,
    tmp_path: Path,
    name: str,
    content: str | bytes | None,
    message: str,
) -> None:
    path = tmp_path / name
    if content == "DIR":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = cli("eval", str(path), "request.toml", "--json")
    assert result.code == 2
    assert result.err_lines[0].startswith(f"{tmp_path}/{message}")
    assert json.loads(result.out)["request"] == "RT-1"
    assert "Traceback" not in result.err


def test_a_request_in_another_currency_is_a_bad_request(
    cli: Run, tmp_path: Path
) -> None:
    request = json.loads(request_json())
    request["order"]["currency"] = "USD"
    path = write(tmp_path / "usd.json", json.dumps(request))
    result = cli("eval", str(path))
    assert result.code == 2
    assert result.err_lines[0] == (
        f'{path}: $.order.currency: "USD" does not match the policy\'s currency "CNY"'
    )


def test_eval_with_an_invalid_policy_exits_1_with_its_problems(cli: Run) -> None:
    result = cli("eval", "request.toml", "--rules", "broken.toml")
    assert result.code == 1
    assert result.out == ""
    assert result.err_lines[0].startswith("broken.toml:8:17: error: unknown fact")
    assert result.err_lines[-1] == "Found 3 errors."


def test_eval_with_a_missing_policy_exits_1(cli: Run, tmp_path: Path) -> None:
    result = cli("eval", "request.toml", "--rules", str(tmp_path / "none.toml"))
    assert result.code == 1
    assert "cannot read policy" in result.err


# -- eval: data ------------------------------------------------------------------------


LEVEL_POLICY = """\
version = 1
[policy]
currency = "CNY"
[plugins]
modules = ["tests.plugins.sample", "tests.plugins.cli_extras"]
[[rule]]
id = "high-level"
when = {{ fact = "sample.level", ge = 3 }}
decide = "approve"
"""


@pytest.fixture
def level_policy(tmp_path: Path) -> Path:
    return write(tmp_path / "rules.toml", LEVEL_POLICY.format())


def test_eval_hands_the_data_file_to_the_plugins(cli: Run, level_policy: Path) -> None:
    with_data = cli("eval", "request.toml", "--rules", str(level_policy), "--data",
                    "data.toml", "--json")  # fmt: skip
    without = cli("eval", "request.toml", "--rules", str(level_policy), "--json")
    assert json.loads(with_data.out)["decision"] == "approve"
    assert json.loads(without.out)["decision"] == "review"


def test_eval_accepts_json_data(cli: Run, level_policy: Path, tmp_path: Path) -> None:
    data = write(tmp_path / "data.json", '{"level": 4}')
    result = cli("eval", "request.toml", "--rules", str(level_policy), "--data",
                 str(data), "--json")  # fmt: skip
    assert json.loads(result.out)["decision"] == "approve"


def test_data_the_plugins_reject_exits_2_before_any_request(
    cli: Run, level_policy: Path
) -> None:
    result = cli("eval", "request.toml", "--rules", str(level_policy), "--data",
                 "bad-data.toml")  # fmt: skip
    assert result.code == 2
    assert result.out == ""
    assert result.err_lines == [
        "bad-data.toml: $.level: must be an integer ≥ 0, got -1"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "data.toml: cannot read file: No such file or directory"),
        (b"level = 1\nstock = = 2\n", "data.toml:2:9: invalid TOML: "),
        (b"\xff", "data.toml:1: not valid UTF-8 text"),
    ],
)
def test_an_unreadable_data_file_exits_2(
    cli: Run, tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "data.toml"
    if content is not None:
        path.write_bytes(content)
    result = cli("eval", "request.toml", "--data", str(path))
    assert result.code == 2
    assert result.err_lines[0].startswith(f"{tmp_path}/{message}")
    assert "Traceback" not in result.err


# -- plugins, facts --------------------------------------------------------------------


def test_plugins_lists_origin_and_parameters(cli: Run) -> None:
    result = cli("plugins", "--rules", "rules.toml")
    assert result.code == 0
    out = result.lines
    assert out[0] == "core  (built-in: returnrules.plugin.core)"
    assert "sample  (module: tests.plugins.sample)" in out
    assert "cli_extras  (module: tests.plugins.cli_extras)" in out
    window = out.index("    check window")
    assert out[window + 1 : window + 5] == [
        "      the request is within `days` of delivery (or order)",
        "      days: int (required)",
        "      per_tier: table[tier code, int] = {}",
        '      from: "delivery" | "order" = "delivery"',
    ]
    credit = out.index("    action credit (one per line)")
    assert out[credit + 2 : credit + 7] == [
        '      method: "store_credit" | "account_credit" = "store_credit"',
        "      cap: money?",
        "      rate: decimal = 0.5",
        "      memo: template?",
        "      tags: list[str] = []",
    ]
    assert "    action note (many per line)" in out
    assert out[-1] == "3 plugins: 29 facts, 4 checks, 5 actions"


def test_plugins_without_rules_lists_the_default_registry(cli: Run) -> None:
    result = cli("plugins")
    assert result.code == 0
    assert result.lines[0] == "core  (built-in: returnrules.plugin.core)"
    assert "sample" not in result.out


def test_plugins_json(cli: Run) -> None:
    plugins = json.loads(cli("plugins", "--rules", "rules.toml", "--json").out)
    extras = next(p for p in plugins if p["name"] == "cli_extras")
    assert extras["origin"] == "module"
    assert extras["checks"][0]["params"][0] == {
        "name": "days",
        "type": "int",
        "required": True,
    }
    assert extras["actions"][0]["params"][2] == {
        "name": "rate",
        "type": "decimal",
        "required": False,
        "default": "0.5",
    }
    assert extras["actions"][0]["multiple"] is False


def test_plugins_of_a_policy_with_rule_errors_still_lists(cli: Run) -> None:
    result = cli("plugins", "--rules", "broken.toml")
    assert (result.code, result.err) == (0, "")
    assert "core  (built-in: returnrules.plugin.core)" in result.out


def test_plugins_reports_a_plugin_that_does_not_load(cli: Run, tmp_path: Path) -> None:
    policy = write(
        tmp_path / "rules.toml",
        'version = 1\n[policy]\ncurrency = "CNY"\n'
        '[plugins]\nmodules = ["nowhere.py"]\n',
    )
    result = cli("plugins", "--rules", str(policy))
    assert result.code == 1
    assert result.err.startswith(
        f'{policy}:5:12: error: plugin file "nowhere.py" not found'
    )
    assert "core  (built-in" in result.out


def test_facts_lists_types_plugins_and_codes(cli: Run) -> None:
    result = cli("facts", "--rules", "rules.toml")
    assert result.code == 0
    rows = {line.split()[0]: line.split()[1:3] for line in result.lines[1:30]}
    assert rows["request.days_since_delivery"] == ["int?", "core"]
    assert rows["line.reason"] == ["enum[reason]", "core"]
    assert rows["sample.level"] == ["int?", "sample"]
    assert "core_return 旧件返还" in result.out
    assert result.lines[-1] == "29 facts"


def test_facts_json(cli: Run) -> None:
    facts = {f["name"]: f for f in json.loads(cli("facts", "--json").out)}
    assert facts["line.reason"]["codes"]["defective"] == "质量问题"
    assert facts["request.days_since_delivery"] == {
        "name": "request.days_since_delivery",
        "type": "int?",
        "kind": "int",
        "optional": True,
        "plugin": "core",
        "doc": "calendar days from delivered_at to requested_at; absent before "
        "delivery",
    }


def test_schema_prints_a_json_schema(cli: Run) -> None:
    result = cli("schema")
    assert result.code == 0
    schema = json.loads(result.out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_of_an_unreadable_policy_exits_1(cli: Run) -> None:
    result = cli("schema", "--rules", "missing.toml")
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("missing.toml:1:1: error: cannot read policy")
