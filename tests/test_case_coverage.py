"""``returnrules test --coverage``: what the cases never exercise (``cli/coverage.py``).

A rule is exercised when it matched a line; a branch (a leaf, a nested
``all``/``any``, a ``not`` with what it wraps) when it was true on some line
and false on some line.  Each test writes a tiny policy and cases, runs the
command and reads the report.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

import returnrules
from returnrules.cli import main
from returnrules.cli.coverage import CaseCoverage, branches
from tests.plugins import diff_facts

ROOT = Path(__file__).resolve().parent.parent
REQUEST = ROOT / "tests" / "data" / "cli" / "request.toml"
HEAD = 'version = 1\n[policy]\ncurrency = "CNY"\n'

POLICY = """\
version = 1
[policy]
currency = "CNY"
default = "review"

[[rule]]
id = "over-return"
when = { fact = "line.qty", gt = { fact = "line.returnable_qty" } }
decide = "reject"

[[rule]]
id = "wrong-part"
when.all = [
  { fact = "line.reason", eq = "wrong_part" },
  { any = [
    { fact = "line.condition", eq = "unopened" },
    { not = { fact = "part.category", eq = "electrical" } },
  ] },
]
decide = "approve"

[[rule]]
id = "defective"
when = { fact = "line.reason", eq = "defective" }
decide = "approve"
"""

CASES = """\
rules = "rules.toml"
request = "request.toml"

[[case]]
name = "a wrong part is approved"
expect = { decision = "approve" }
"""

TOO_MANY = """
[[case]]
name = "too many is rejected"
with.lines = [{ line = 1, qty = 9, reason = "wrong_part", condition = "opened" }]
expect = { decision = "reject" }
"""
ELECTRICAL = """
[[case]]
name = "an opened electrical part sent by mistake goes to review"
with.lines = [{ line = 2, qty = 1, reason = "wrong_part", condition = "opened" }]
expect = { decision = "review" }
"""
DEFECTIVE = """
[[case]]
name = "defective is approved"
with.lines = [{ line = 1, qty = 1, reason = "defective", condition = "opened" }]
expect = { decision = "approve" }
"""


@pytest.fixture(autouse=True)
def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.toml").write_text(POLICY, encoding="utf-8")
    shutil.copy(REQUEST, tmp_path / "request.toml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["test", *argv])
    return code, capsys.readouterr().out.splitlines()


def test_coverage_lists_what_no_case_exercises_at_its_place(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("cases.toml").write_text(CASES, encoding="utf-8")
    code, out = run(capsys, "cases.toml", "--coverage")
    assert code == 0
    assert out == [
        "coverage of rules.toml by 1 case (1 line):",
        "  rules     1 of 3 matched (33.3%)",
        "  branches  0 of 6 both true and false (0.0%)",
        'rules.toml:6:3: rule "over-return" never matched',
        'rules.toml:8:1: never true in rule "over-return": '
        "line.qty > line.returnable_qty",
        'rules.toml:14:3: never false in rule "wrong-part": line.reason == wrong_part',
        'rules.toml:15:3: never false in rule "wrong-part": any of 2 conditions',
        'rules.toml:16:5: never false in rule "wrong-part": line.condition == unopened',
        'rules.toml:17:5: never evaluated in rule "wrong-part": '
        "not part.category == electrical",
        'rules.toml:22:3: rule "defective" never matched',
        'rules.toml:24:1: never true in rule "defective": line.reason == defective',
        "1 passed, 0 failed",
    ]


def test_a_branch_is_exercised_by_being_true_once_and_false_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = CASES + TOO_MANY + ELECTRICAL + DEFECTIVE
    Path("cases.toml").write_text(text, encoding="utf-8")
    code, out = run(capsys, "cases.toml", "--coverage", "--fail-under", "100")
    assert code == 0
    assert out == [
        "coverage of rules.toml by 4 cases (4 lines):",
        "  rules     3 of 3 matched (100.0%)",
        "  branches  6 of 6 both true and false (100.0%)",
        "4 passed, 0 failed",
    ]


def test_fail_under_fails_when_rules_or_branches_are_below(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # rules 1 of 3 (33.3%), branches 0 of 6
    Path("cases.toml").write_text(CASES, encoding="utf-8")
    code, out = run(capsys, "cases.toml", "--fail-under", "30")
    assert code == 1
    assert out[-2:] == [
        "coverage of rules.toml is below --fail-under 30%",
        "1 passed, 0 failed",
    ]
    assert out[0] == "coverage of rules.toml by 1 case (1 line):"  # implies it
    # no defective case: rules 2 of 3, branches 4 of 6 (the reason is never
    # false and "defective" never true)
    text = CASES + TOO_MANY + ELECTRICAL
    Path("cases.toml").write_text(text, encoding="utf-8")
    code, out = run(capsys, "cases.toml", "--fail-under", "66.6")
    assert code == 0
    assert out[1:3] == [
        "  rules     2 of 3 matched (66.6%)",
        "  branches  4 of 6 both true and false (66.6%)",
    ]
    assert run(capsys, "cases.toml", "--fail-under", "66.7")[0] == 1


def test_without_coverage_nothing_is_traced_or_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("cases.toml").write_text(CASES, encoding="utf-8")
    assert run(capsys, "cases.toml") == (0, ["1 passed, 0 failed"])


def test_a_failing_case_still_counts_and_the_run_still_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = CASES.replace('decision = "approve"', 'decision = "reject"')
    Path("cases.toml").write_text(text, encoding="utf-8")
    code, out = run(capsys, "cases.toml", "--coverage")
    assert code == 1
    assert out[0] == "FAILED cases.toml:4: a wrong part is approved"
    assert out[2:4] == ["", "coverage of rules.toml by 1 case (1 line):"]
    assert "  rules     1 of 3 matched (33.3%)" in out
    assert out[-1] == "0 passed, 1 failed"


def test_a_bad_percentage_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("cases.toml").write_text(CASES, encoding="utf-8")
    assert main(["test", "cases.toml", "--fail-under", "120"]) == 2
    assert "a percentage is between 0 and 100" in capsys.readouterr().err


def test_a_not_counts_once_with_what_it_wraps_and_the_when_is_the_rule() -> None:
    policy = returnrules.load_policy("rules.toml")
    found = [(b.path, b.steps, b.text) for b in branches(policy)]
    assert found == [
        (("rule", 0, "when"), (), "line.qty > line.returnable_qty"),
        (("rule", 1, "when", "all", 0), ("all", 0), "line.reason == wrong_part"),
        (("rule", 1, "when", "all", 1), ("all", 1), "any of 2 conditions"),
        (("rule", 1, "when", "all", 1, "any", 0), ("all", 1, "any", 0),
         "line.condition == unopened"),
        (("rule", 1, "when", "all", 1, "any", 1), ("all", 1, "any", 1),
         "not part.category == electrical"),
        (("rule", 2, "when"), (), "line.reason == defective"),
    ]  # fmt: skip


def test_a_check_that_raises_counts_as_neither_true_nor_false() -> None:
    policy = returnrules.loads_policy(
        HEAD + '[[rule]]\nid = "r"\nwhen = { not = { check = "diff_gate" } }\n',
        plugins=[diff_facts],
        autoload=False,
    )
    coverage = CaseCoverage(policy)
    request = tomllib.loads(REQUEST.read_text(encoding="utf-8"))

    def add(gate: object) -> tuple[bool, bool]:
        data = {"diff": {"1": {"gate": gate}}}
        coverage.add(policy.evaluate(request, data, explain=True))
        return coverage.true[0], coverage.false[0]

    assert add(diff_facts.RAISE) == (False, False)
    assert add(0) == (False, True)  # not (0 >= 0)
    assert add(-1) == (True, True)


def test_the_shipped_policy_is_fully_exercised_by_its_cases(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, out = run(capsys, "--coverage", "--fail-under", "100")
    assert code == 0
    assert out == [
        out[0],
        "  rules     29 of 29 matched (100.0%)",
        "  branches  104 of 104 both true and false (100.0%)",
        out[-1],
    ]
    assert out[0].startswith("coverage of rules.toml by ")
    assert out[-1].endswith(" passed, 0 failed")
