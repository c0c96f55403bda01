"""``returnrules init``: a starter policy and cases that work, never overwriting.

The starter uses the standard pack's refund, restock and notify; these tests
check it against ``tests/plugins/fake_std.py`` (the contract's parameters and
refund arithmetic), and against the real pack when it is installed.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest

import returnrules
from returnrules.cli import main
from returnrules.cli.cases import CaseRunner, load_case_file
from returnrules.cli.starter import SAMPLE_REQUEST, sample_request, starter_files
from tests.plugins import fake_std


@pytest.fixture(autouse=True)
def _no_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")


def std_pack_installed() -> bool:
    names = {ep.name for ep in importlib.metadata.entry_points(group="returnrules")}
    return {"refund", "restock", "notify"} <= names


def test_init_writes_a_policy_and_a_case_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "shop"
    assert main(["init", str(target)]) == 0
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.toml")) == [
        "rules.toml",
        "tests/policy/starter.toml",
    ]
    out = capsys.readouterr().out
    assert f"created {target / 'rules.toml'}" in out
    assert f"returnrules check {target / 'rules.toml'}" in out


def test_the_starter_policy_loads_with_the_standard_actions(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path)]) == 0
    policy = returnrules.load_policy(tmp_path / "rules.toml", plugins=[fake_std])
    assert policy.warnings == ()
    assert [rule.id for rule in policy.rules] == [
        "over-return",
        "not-returnable",
        "our-mistake",
        "changed-mind",
        "tell-customer",
    ]


def test_the_starter_cases_pass(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path)]) == 0
    case_file = load_case_file(
        tmp_path / "tests" / "policy" / "starter.toml",
        default_rules=Path("elsewhere.toml"),
    )
    assert case_file.rules == tmp_path / "tests" / "policy" / "../../rules.toml"
    outcomes = CaseRunner(plugins=[fake_std], autoload=False).run_file(case_file)
    assert [o.differences for o in outcomes] == [()] * 4


@pytest.mark.skipif(not std_pack_installed(), reason="the standard pack is absent")
def test_init_then_check_and_test_with_the_standard_pack(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD")
    assert main(["init", str(tmp_path)]) == 0
    assert main(["check", str(tmp_path / "rules.toml")]) == 0
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["test"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "4 passed, 0 failed"


def test_the_starter_files_explain_themselves_and_parse() -> None:
    for path, text in starter_files().items():
        assert tomllib.loads(text), path
        assert text.startswith("# "), "each starter file explains itself"


def test_the_starter_request_is_the_sample_request() -> None:
    cases = tomllib.loads(starter_files()[Path("tests/policy/starter.toml")])
    assert cases["request"] == SAMPLE_REQUEST


def _conditions_style(text: str) -> set[str]:
    """How a TOML text writes its rules' `when`: `when = {`, `when.all = [`..."""
    found = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[rule.") or line.startswith("[[rule."):
            found.add(line)  # a sub-table of a rule: [rule.when], [[rule.then]]
        elif line.startswith("when"):
            found.add(line.split("=")[0].strip())
    return found


def test_the_starter_writes_rules_as_the_readme_and_the_shipped_policy_do() -> None:
    # issue 11: init wrote [rule.when] sub-tables, the README and rules.toml
    # `when.all = [...]`: one style in everything a new author copies from
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    copied_from = {
        "starter": starter_files()[Path("rules.toml")],
        "rules.toml": (root / "rules.toml").read_text(encoding="utf-8"),
        "README": "\n".join(re.findall(r"```toml\n(.*?)```", readme, flags=re.S)),
    }
    for name, text in copied_from.items():
        assert _conditions_style(text) <= {"when", "when.all", "when.any"}, name
    starter = starter_files()[Path("rules.toml")]
    assert {"when", "when.all", "when.any"} <= _conditions_style(starter)
    assert "\nthen = [\n  { action = " in starter
    assert "[case.with]" not in starter_files()[Path("tests/policy/starter.toml")]


def test_init_refuses_to_overwrite_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rules.toml").write_text("# mine\n")
    assert main(["init", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"returnrules init: {tmp_path / 'rules.toml'} already exists; nothing was "
        "written (move it away, or init another directory)\n"
    )
    assert (tmp_path / "rules.toml").read_text() == "# mine\n"
    assert not (tmp_path / "tests").exists()


def test_init_into_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "file"
    target.write_text("")
    assert main(["init", str(target)]) == 1
    assert "exists and is not a directory" in capsys.readouterr().err


def test_init_defaults_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert (tmp_path / "rules.toml").is_file()
    assert "  returnrules test" in capsys.readouterr().out.splitlines()


def test_sample_request_is_valid_and_fresh_each_time() -> None:
    first = sample_request()
    first["lines"][0]["qty"] = 99
    request = returnrules.parse_request(sample_request())
    assert request.lines[0].qty == 2
