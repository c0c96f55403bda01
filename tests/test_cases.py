"""``returnrules test`` and the case-file format (see ``returnrules.cli.cases``)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

import returnrules
from returnrules.cli import main
from returnrules.cli.cases import (
    CaseFileError,
    Expect,
    ExpectedLine,
    compare,
    load_case_file,
)

DATA = Path(__file__).parent / "data" / "cli"
PLUGINS = Path(__file__).parent / "plugins"

POLICY = """\
version = 1
[policy]
currency = "CNY"
default = "review"
[plugins]
modules = ["tests.plugins.sample"]

[[rule]]
id = "over-return"
when = { fact = "line.qty", gt = { fact = "line.returnable_qty" } }
decide = "reject"
message = "只能退 {line.returnable_qty} 件"

[[rule]]
id = "wrong-part"
when = { fact = "line.reason", eq = "wrong_part" }
decide = "approve"
then = [
  { action = "pay" },
  { action = "note", to = "warehouse", message = "{part.sku}" },
  { action = "note", to = "finance" },
]
"""

CASES = """\
rules = "rules.toml"
request = "request.toml"

[[case]]
name = "a wrong part is paid in full"
[case.expect]
decision = "approve"
[[case.expect.lines]]
line = 1
decision = "approve"
decided_by = ["wrong-part"]
actions = [
  { action = "pay", amount = "360.00", rule = "wrong-part" },
  { action = "note", to = "warehouse", message = "BOSCH-0986494" },
  { action = "note", to = "finance" },
]

[[case]]
name = "returning more than was delivered is rejected"
with.lines = [{ line = 1, qty = 9, reason = "wrong_part", condition = "unopened" }]
expect = { decision = "reject", lines = [{ line = 1, messages = ["只能退 4 件"] }] }
"""


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A policy, a request and cases in a temporary directory, the cwd."""
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv(
        "RETURNRULES_ALLOW_MODULES", "tests.plugins.sample,tests.plugins.cli_extras"
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.toml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "request.toml").write_bytes((DATA / "request.toml").read_bytes())


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str) -> Result:
        code = main(["test", *argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def write(path: Path | str, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- passing and failing ---------------------------------------------------------------


def test_passing_cases_end_with_the_count_and_exit_0(cli: Run) -> None:
    write("cases.toml", CASES)
    result = cli("cases.toml")
    assert (result.code, result.out) == (0, "2 passed, 0 failed\n")


def test_verbose_lists_the_passing_cases(cli: Run) -> None:
    write("cases.toml", CASES)
    assert cli("cases.toml", "-v").lines == [
        "passed cases.toml:4: a wrong part is paid in full",
        "passed cases.toml:18: returning more than was delivered is rejected",
        "2 passed, 0 failed",
    ]


def test_a_failure_says_what_differed_per_line_and_field(cli: Run) -> None:
    write(
        "cases.toml",
        """\
rules = "rules.toml"
request = "request.toml"

[[case]]
name = "expectations that are all wrong"
[case.expect]
decision = "reject"
[[case.expect.lines]]
line = 1
decision = "review"
decided_by = ["over-return"]
matched = []
actions = [
  { action = "pay", amount = "300.00" },
  { action = "note", to = "customer" },
  { action = "note", to = "finance", sent = true },
]
[[case.expect.lines]]
line = 7
decision = "approve"
""",
    )
    result = cli("cases.toml")
    assert result.code == 1
    assert result.lines == [
        "FAILED cases.toml:4: expectations that are all wrong",
        "    decision: expected reject, got approve (line 1 approve by wrong-part)",
        "    line 1: decision: expected review, got approve",
        "    line 1: decided_by: expected [over-return], got [wrong-part]",
        "    line 1: matched: expected [], got [wrong-part]",
        '    line 1: pay.amount: expected "300.00", got "360.00"',
        '    line 1: note[1].to: expected "customer", got "warehouse"',
        '    line 1: note[2]: no field "sent" (it reports: rule, to, message)',
        "    line 7: not in the request's lines (lines: 1)",
        "0 passed, 1 failed",
    ]


def test_action_names_must_match_exactly(cli: Run) -> None:
    write(
        "cases.toml",
        """\
rules = "rules.toml"
request = "request.toml"
[[case]]
name = "names"
expect = { lines = [{ line = 1, actions = [{ action = "pay" }, { action = "hold" }] }] }
""",
    )
    result = cli("cases.toml")
    assert result.lines[1] == (
        "    line 1: actions: expected [hold, pay], got [note, note, pay]"
    )


def test_an_empty_action_list_expects_no_actions(cli: Run) -> None:
    write(
        "cases.toml",
        """\
rules = "rules.toml"
request = "request.toml"
[[case]]
name = "none"
expect = { lines = [{ line = 1, actions = [] }] }
""",
    )
    assert "expected [], got [note, note, pay]" in cli("cases.toml").out


def test_numbers_compare_by_value_and_booleans_strictly() -> None:
    policy = returnrules.load_policy("rules.toml")
    decision = policy.evaluate(_request_mapping())
    same = Expect(
        lines=(
            ExpectedLine(line=1, actions=({"action": "pay", "amount": 360}, *_notes())),
        )
    )
    assert compare(decision, same) == []
    as_bool = Expect(
        lines=(
            ExpectedLine(
                line=1, actions=({"action": "pay", "amount": True}, *_notes())
            ),
        )
    )
    assert compare(decision, as_bool) == [
        'line 1: pay.amount: expected true, got "360.00"'
    ]


def _notes() -> tuple[dict[str, str], ...]:
    return ({"action": "note"}, {"action": "note"})


def _request_mapping() -> dict[str, object]:
    import tomllib

    return tomllib.loads((DATA / "request.toml").read_text(encoding="utf-8"))


def test_evaluation_errors_are_shown_when_a_line_differs(cli: Run) -> None:
    write(
        "fragile.toml",
        POLICY
        + """
[[rule]]
id = "fragile"
when = { check = "explode" }
decide = "approve"
""",
    )
    write(
        "cases.toml",
        """\
rules = "fragile.toml"
request = "request.toml"
[[case]]
name = "fragile"
expect = { lines = [{ line = 1, decision = "approve" }] }
""",
    )
    assert cli("cases.toml").lines[1:3] == [
        "    line 1: decision: expected approve, got review",
        "    line 1: (error in rule fragile: check explode (plugin sample): "
        "RuntimeError: the sample check exploded)",
    ]


# -- requests and data -----------------------------------------------------------------


def test_a_case_may_give_its_request_inline(cli: Run) -> None:
    write(
        "cases.toml",
        """\
rules = "rules.toml"

[[case]]
name = "inline"
expect = { decision = "reject" }

[case.request]
id = "RT-9"
requested_at = 2026-11-20T10:00:00+08:00
customer = { id = "C-9" }
lines = [{ line = 1, qty = 3, reason = "changed_mind", condition = "opened" }]

[case.request.order]
id = "SO-9"
status = "delivered"
placed_at = 2026-11-01

[[case.request.order.lines]]
line = 1
sku = "X-1"
category = "brake"
qty = 2
unit_price = "10.00"
""",
    )
    result = cli("cases.toml")
    assert (result.code, result.out) == (0, "1 passed, 0 failed\n")


def test_request_files_are_relative_to_the_case_file(cli: Run) -> None:
    write(
        "tests/policy/relative.toml",
        """\
rules = "../../rules.toml"
[[case]]
name = "relative"
request = "../../request.toml"
expect = { decision = "approve" }
""",
    )
    assert cli("tests/policy/relative.toml").code == 0


def test_an_invalid_request_fails_its_case_with_the_key_path(cli: Run) -> None:
    write(
        "cases.toml",
        """\
rules = "rules.toml"
request = "request.toml"
[[case]]
name = "zero"
with.lines = [{ line = 1, qty = 0, reason = "wrong_part", condition = "unopened" }]
expect = { decision = "approve" }
[[case]]
name = "missing file"
request = "nowhere.toml"
expect = { decision = "approve" }
""",
    )
    result = cli("cases.toml")
    assert result.code == 1
    assert result.lines == [
        "FAILED cases.toml:3: zero",
        "    request: request.toml: $.lines[0].qty: must be ≥ 1, got 0",
        "FAILED cases.toml:7: missing file",
        "    request: nowhere.toml: cannot read file: No such file or directory",
        "0 passed, 2 failed",
    ]


def test_data_is_given_per_file_or_per_case(cli: Run, tmp_path: Path) -> None:
    write(
        "levels.toml",
        POLICY.replace(
            '"]\n',
            '", "tests.plugins.cli_extras"]\n',
            1,
        )
        + """
[[rule]]
id = "high"
when = { fact = "sample.level", ge = 3 }
decide = "reject"
""",
    )
    write("data.toml", "level = 5\n")
    write(
        "cases.toml",
        """\
rules = "levels.toml"
request = "request.toml"
data = "data.toml"
[[case]]
name = "file data"
expect = { decision = "reject" }
[[case]]
name = "inline data"
data = { level = 1 }
expect = { decision = "approve" }
[[case]]
name = "bad data"
data = { level = -4 }
expect = { decision = "approve" }
""",
    )
    result = cli("cases.toml")
    assert result.lines == [
        "FAILED cases.toml:11: bad data",
        "    data: $.level: must be an integer ≥ 0, got -4",
        "2 passed, 1 failed",
    ]


# -- the policy ------------------------------------------------------------------------


def test_an_invalid_policy_is_reported_once_and_its_cases_fail(cli: Run) -> None:
    write("broken.toml", 'version = 1\n[policy]\ncurrency = "cny"\n')
    write("cases.toml", CASES.replace('rules = "rules.toml"', 'rules = "broken.toml"'))
    result = cli("cases.toml")
    assert result.code == 1
    assert result.lines[0].startswith("broken.toml:3:12: error: [policy] currency")
    assert result.lines[1:3] == [
        "FAILED cases.toml:4: a wrong part is paid in full",
        "    the policy broken.toml does not load (1 error; run: returnrules check "
        "broken.toml)",
    ]
    assert result.lines[-1] == "0 passed, 2 failed"


def test_rules_defaults_to_rules_toml_in_the_current_directory(cli: Run) -> None:
    text = CASES.replace('rules = "rules.toml"\n', "")
    write(
        "tests/policy/cases.toml",
        text.replace('"request.toml"', '"../../request.toml"'),
    )
    assert cli("tests/policy/cases.toml").lines == ["2 passed, 0 failed"]


def test_the_rules_option_overrides_every_case_file(cli: Run) -> None:
    write("other.toml", 'version = 1\n[policy]\ncurrency = "CNY"\ndefault = "reject"\n')
    write("cases.toml", CASES)
    result = cli("cases.toml", "--rules", "other.toml")
    assert result.code == 1
    assert result.lines[-1] == "0 passed, 2 failed"


# -- finding case files ----------------------------------------------------------------


def test_default_cases_are_tests_policy_toml_files(cli: Run) -> None:
    write("tests/policy/a.toml", CASES.replace('"rules.toml"', '"../../rules.toml"')
          .replace('"request.toml"', '"../../request.toml"'))  # fmt: skip
    write("tests/policy/nested/ignored.toml", "not a case file")
    assert cli().lines == ["2 passed, 0 failed"]


def test_a_directory_argument_runs_every_toml_file_in_it(cli: Run) -> None:
    text = CASES.replace('"rules.toml"', '"../rules.toml"').replace(
        '"request.toml"', '"../request.toml"'
    )
    write("cases/a.toml", text)
    write("cases/more/b.toml", text.replace('"../', '"../../'))
    assert cli("cases").lines == ["4 passed, 0 failed"]


def test_no_case_files_is_a_usage_error(cli: Run) -> None:
    result = cli()
    assert result.code == 2
    assert result.err == (
        "no case files found in tests/policy/; name them: returnrules test CASES...\n"
    )


# -- malformed case files --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'rules = "rules.toml"\nrequest = "request.toml"\n[[case]]\nname = "x"\n'
            '[case.expct]\ndecision = "approve"\n',
            'cases.toml:5:7: error: unknown key "expct" in a case; did you mean '
            '"expect"? (name, request, with, data, expect)',
        ),
        (
            'request = "request.toml"\n[[case]]\nexpect = { decision = "approve" }\n',
            'cases.toml:2:3: error: the case needs name = "what it shows"',
        ),
        (
            'request = "request.toml"\n[[case]]\nname = "x"\n',
            "cases.toml:2:3: error: the case needs [case.expect]",
        ),
        (
            'request = "request.toml"\n[[case]]\nname = "x"\n'
            'expect = { decision = "aprove" }\n',
            'cases.toml:4:12: error: invalid decision "aprove"; did you mean '
            '"approve"? (approve, reject, review, partial)',
        ),
        (
            'request = "request.toml"\n[[case]]\nname = "x"\nexpect = {}\n',
            "cases.toml:4:1: error: expect needs a decision or lines",
        ),
        (
            '[[case]]\nname = "x"\nexpect = { decision = "approve" }\n',
            'cases.toml:1:3: error: the case has no request: give request = "FILE", '
            "a [case.request] table, or a top-level request",
        ),
        (
            'request = "request.toml"\n[[case]]\nname = "x"\n'
            'expect = { lines = [{ decision = "approve" }] }\n',
            "cases.toml:4:21: error: each expected line needs line = N "
            "(the order line)",
        ),
        (
            'request = "request.toml"\n[[case]]\nname = "x"\n'
            "expect = { lines = [{ line = 1, actions = [{ amount = 1 }] }] }\n",
            'cases.toml:4:44: error: each expected action is { action = "NAME", ... }',
        ),
        (
            'rules = "rules.toml"\n',
            "cases.toml:1:1: error: a case file needs [[case]] tables, each with a "
            "name and [case.expect]",
        ),
        (
            'request = "r.toml"\n[[case]]\nname = "x"\n'
            'expect = { decision = "approve" }\n'
            '[[case]]\nname = "x"\nexpect = { decision = "reject" }\n',
            'cases.toml:6:1: error: duplicate case name "x" (first used by case #1)',
        ),
        (
            "[[case]\n",
            "cases.toml:1:7: error: invalid TOML: ",
        ),
    ],
)
def test_a_malformed_case_file_is_reported_at_its_place_and_exits_2(
    cli: Run, text: str, problem: str
) -> None:
    write("cases.toml", text)
    write("good.toml", CASES)
    result = cli("cases.toml", "good.toml")
    assert result.code == 2
    assert result.lines[0].startswith(problem)
    assert result.lines[-1] == "2 passed, 0 failed"


def test_a_case_file_that_cannot_be_read_is_malformed(cli: Run) -> None:
    result = cli("missing.toml")
    assert result.code == 2
    assert result.lines == [
        "missing.toml:1:1: error: cannot read case file: No such file or directory",
        "0 passed, 0 failed",
    ]


def test_load_case_file_lists_every_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path / "cases.toml",
        '[[case]]\nname = 3\nexpect = { decision = "nope" }\nrequest = 5\n',
    )
    with pytest.raises(CaseFileError) as caught:
        load_case_file(path, default_rules=Path("rules.toml"))
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (2, "name is a string, got 3"),
        (3, 'invalid decision "nope" (approve, reject, review, partial)'),
        (4, "request is a file name or a table, got 5"),
    ]


# -- the shipped policy's own cases ----------------------------------------------------

ROOT = Path(__file__).parent.parent


def std_pack_installed() -> bool:
    names = {ep.name for ep in importlib.metadata.entry_points(group="returnrules")}
    return {"refund", "restock", "notify"} <= names


@pytest.mark.skipif(not std_pack_installed(), reason="the standard pack is absent")
@pytest.mark.skipif(
    not (ROOT / "tests" / "policy").is_dir(), reason="no shipped policy cases"
)
def test_the_shipped_policy_passes_its_cases(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD")
    monkeypatch.chdir(ROOT)
    result = cli()
    assert result.code == 0, result.out
    assert result.lines[-1].endswith(" passed, 0 failed")


def test_the_documented_example_is_a_valid_case_file(tmp_path: Path) -> None:
    from returnrules.cli import cases as _cases

    doc = _cases.__doc__ or ""
    example = doc.split("relative to the case file itself::\n\n", 1)[1]
    example = example.split("\n\nEach ``[[case]]`` takes:", 1)[0]
    text = "\n".join(line.removeprefix("    ") for line in example.splitlines())
    case_file = load_case_file(
        write(tmp_path / "returns.toml", text), default_rules=Path("rules.toml")
    )
    assert [case.name for case in case_file.cases] == [
        "a wrong part is refunded in full",
        "an opened part the customer no longer wants goes to review",
    ]
    assert case_file.cases[1].request == "base-request.toml"
