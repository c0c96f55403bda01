"""The README's examples are true: its commands, its library code, its case file."""

from __future__ import annotations

import re
import shlex
import shutil
import tomllib
from pathlib import Path

import pytest
import tomli_w

import returnrules
from returnrules import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_the_readme_starts_with_the_two_commands() -> None:
    commands = [line[2:] for line in blocks("console")[0].splitlines()]
    assert len(commands) == 2
    assert "returnrules eval examples/requests/" in commands[0]
    assert "--rules rules.toml --data examples/data.toml" in commands[0]
    assert commands[1].endswith("python -m pytest -q")
    assert README.index("```console") < README.index("## ")


ACTIVATE = "source .venv/bin/activate"


def test_the_first_bare_returnrules_command_follows_how_to_reach_it() -> None:
    # issue 11: after the two commands at the top, `returnrules check
    # rules.toml` failed with "command not found": they install into .venv
    first = README.index("\n$ returnrules ")
    assert README.count(ACTIVATE) == 1  # said once ...
    assert README.rfind("```console", 0, README.index(ACTIVATE)) == README.index(
        "```console"
    )  # ... after the commands at the top that make .venv ...
    assert README.index(ACTIVATE) < first  # ... and before it is needed
    assert ".venv/bin/returnrules" in README[:first]
    top = blocks("console")[0]
    assert "python3 -m venv .venv" in top


def test_the_first_command_evaluates_an_existing_example() -> None:
    first = blocks("console")[0].splitlines()[0]
    request = re.search(r"eval (\S+)", first)
    assert request is not None
    assert (ROOT / request[1]).is_file()


def test_the_library_example_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    (code,) = re.findall(
        r"```python\n(.*?)```", section("Embedding as a library"), re.S
    )
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("{'request': 'RT-2026-0001', 'decision': 'approve'")
    assert printed[1] == "approve"
    assert '$.requested_at: missing required key "requested_at"' in printed[2:]


def test_the_case_file_example_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (case_file,) = [b for b in blocks("toml") if "[[case]]" in b]
    cases = tomllib.loads(case_file)
    here = ROOT / "tests" / "policy"
    for key in ("rules", "data", "request"):
        cases[key] = str((here / cases[key]).resolve())
    path = tmp_path / "readme.toml"
    path.write_text(tomli_w.dumps(cases), encoding="utf-8")
    assert cli.main(["test", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith("2 passed, 0 failed")


def test_the_rule_example_is_a_valid_rule() -> None:
    (rule,) = [b for b in blocks("toml") if 'id = "electrical-opened"' in b]
    policy = returnrules.loads_policy(
        'version = 1\n[policy]\ncurrency = "CNY"\n' + rule
    )
    assert policy.warnings == ()


# -- the return desk's session ---------------------------------------------------------

_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?")
_SHA = re.compile(r"sha256 [0-9a-f]{12}")


def _normalized(lines: list[str]) -> list[str]:
    """Times and the policy's digest are the session's own."""
    return [_SHA.sub("sha256 …", _TIME.sub("TIME", line)) for line in lines]


def _shown_in(expected: list[str], actual: list[str]) -> bool:
    """*expected* is *actual*, but where a line is ``…``: lines left out."""
    chunks: list[list[str]] = [[]]
    for line in expected:
        if line == "…":
            chunks.append([])
        else:
            chunks[-1].append(line)
    at = 0
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        starts = [
            j
            for j in range(at, len(actual) - len(chunk) + 1)
            if actual[j : j + len(chunk)] == chunk
            and (i > 0 or j == 0)
            and (not last or j + len(chunk) == len(actual))
        ]
        if not starts:
            return False
        at = starts[0] + len(chunk)
    return True


def test_the_desk_session_prints_what_the_readme_shows(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (session,) = [b for b in blocks("console") if b.startswith("$ returnrules submit")]
    steps = re.split(r"^\$ returnrules ", session, flags=re.M)[1:]
    shutil.copy(ROOT / "rules.toml", tmp_path)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RETURNRULES_DB", raising=False)
    monkeypatch.delenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    for step in steps:
        command, *expected = step.rstrip("\n").split("\n")
        code = cli.main(shlex.split(command))
        actual = capsys.readouterr().out.splitlines()
        assert code == 0, command
        assert _shown_in(_normalized(expected), _normalized(actual)), (
            command,
            actual,
        )


def test_the_sample_output_is_what_the_first_command_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a new user runs the first command and compares: every line must be there
    monkeypatch.chdir(ROOT)
    first = blocks("console")[0].splitlines()[0]
    argv = first.split(".venv/bin/returnrules ", 1)[1].split()
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    (sample,) = [b for b in blocks("text") if b.startswith("RT-2026-0001")]
    assert [line.rstrip() for line in sample.splitlines()] == [
        line.rstrip() for line in printed
    ]


EXECUTED = ("returnrules eval", "returnrules test")
"""The README's sessions that run here.  ``returnrules check``'s shows the
errors of a policy with mistakes (rules.toml has none) and stays an
illustration; the commands without output are the first test's."""


def sessions() -> list[tuple[str, list[str]]]:
    """Each ``$ returnrules ...`` command of a console block that shows its
    output, with that output (``...`` stands for lines left out)."""
    out: list[tuple[str, list[str]]] = []
    for block in blocks("console"):
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *shown = part.rstrip("\n").split("\n")
            if shown and command.startswith(EXECUTED):
                out.append((command, shown))
    return out


def test_the_readme_shows_the_sessions_it_runs() -> None:
    commands = [command.split()[1:3] for command, _ in sessions()]
    assert ["eval", "examples/requests/10-return-window-closed.toml"] in commands
    assert ["test"] in [c[:1] for c in commands]
    assert any("--why-not" in c for c, _ in sessions())
    assert any("--coverage" in c for c, _ in sessions())


@pytest.mark.parametrize(
    ("command", "shown"),
    sessions(),
    ids=[" ".join(shlex.split(c, comments=True)[1:]) for c, _ in sessions()],
)
def test_a_readme_session_prints_what_it_shows(
    command: str,
    shown: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(ROOT)
    argv = shlex.split(command, comments=True)
    assert argv[0] == "returnrules"
    assert cli.main(argv[1:]) == 0
    printed = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    at = 0
    skipping = False
    for line in shown:
        if line == "...":
            skipping = True
            continue
        if skipping:
            assert line in printed[at:], (line, printed)
            at = printed.index(line, at)
        else:
            assert printed[at : at + 1] == [line], (line, printed)
        at += 1
        skipping = False
    assert skipping or at == len(printed), printed[at:]
