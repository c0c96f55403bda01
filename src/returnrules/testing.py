"""pytest plugin: a policy's case files as pytest items, and fixtures.

Installed with returnrules (entry point ``pytest11``), so a host system's own
test suite can run the rule authors' case files (the format of
``returnrules test``, see :mod:`returnrules.cli.cases`) and test its own plugins.

Case files
    Name them in the host's pytest configuration (globs relative to the
    rootdir; a glob without ``/`` matches file names anywhere)::

        [tool.pytest.ini_options]
        returnrules_cases = ["tests/policy/*.toml"]

    Each ``[[case]]`` becomes an item (``tests/policy/returns.toml::a wrong
    part is refunded in full``), failing with what differed.  A ``.toml`` file
    named on the command line (``pytest tests/policy/returns.toml``) is
    collected as a case file too.  A case file without ``rules = ...`` uses
    ``returnrules_rules`` (default ``rules.toml`` in the rootdir).

Fixtures
    ``returnrules_policy``
        the policy at ``returnrules_rules`` (or ``--returnrules-rules``),
        loaded once per session; its problems fail the test, listed.
    ``returnrules_make_policy``
        ``make(text, *, plugins=(), autoload=None)``: a policy from TOML text,
        for testing a plugin against a tiny inline policy.
    ``returnrules_request``
        a fresh, valid request mapping (DESIGN.md's example) to modify.

:func:`assert_decision` compares a decision with the ``[case.expect]`` shape
(``{"decision": "approve", "lines": [{"line": 1, ...}]}``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import pytest

from returnrules.cli.cases import (
    Case,
    CaseFile,
    CaseFileError,
    CaseOutcome,
    CaseRunner,
    Expect,
    ExpectedLine,
    compare,
    load_case_file,
)
from returnrules.cli.starter import sample_request
from returnrules.model.decision import Decision
from returnrules.model.errors import PolicyError
from returnrules.policy.load import load_policy, loads_policy
from returnrules.policy.policy import Policy

__all__ = [
    "CaseFailed",
    "CaseItem",
    "PolicyCaseFile",
    "assert_decision",
]

CASES_INI: Final = "returnrules_cases"
RULES_INI: Final = "returnrules_rules"
RULES_OPTION: Final = "--returnrules-rules"

_RUNNER: Final = pytest.StashKey[CaseRunner]()

PolicyFactory = Callable[..., Policy]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("returnrules", "returnrules policy cases")
    group.addoption(
        RULES_OPTION,
        metavar="RULES",
        default=None,
        help="policy file for case files without `rules` and for the "
        "returnrules_policy fixture (default: the returnrules_rules ini value)",
    )
    parser.addini(
        CASES_INI,
        type="linelist",
        default=[],
        help="globs of returnrules case files to collect, relative to the rootdir",
    )
    parser.addini(
        RULES_INI,
        type="string",
        default="rules.toml",
        help="the policy file, relative to the rootdir (default: rules.toml)",
    )


def _rules(config: pytest.Config) -> Path:
    option = config.getoption(RULES_OPTION)
    if option:
        return Path(option)
    value = config.getini(RULES_INI)
    return config.rootpath / (value if isinstance(value, str) else "rules.toml")


def _runner(config: pytest.Config) -> CaseRunner:
    runner = config.stash.get(_RUNNER, None)
    if runner is None:
        runner = config.stash[_RUNNER] = CaseRunner()
    return runner


def _matches(path: Path, root: Path, patterns: Iterable[str]) -> bool:
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        relative = path.as_posix()
    for pattern in patterns:
        target = relative if "/" in pattern else path.name
        if fnmatch.fnmatchcase(target, pattern):
            return True
    return False


def pytest_collect_file(
    file_path: Path, parent: pytest.Collector
) -> pytest.Collector | None:
    if file_path.suffix != ".toml":
        return None
    config = parent.config
    patterns = config.getini(CASES_INI)
    if parent.session.isinitpath(file_path) or _matches(
        file_path, config.rootpath, patterns
    ):
        return PolicyCaseFile.from_parent(parent, path=file_path)
    return None


class CaseFailed(AssertionError):
    """A case's decision differed from what it expects."""

    def __init__(self, outcome: CaseOutcome) -> None:
        self.outcome = outcome
        super().__init__("\n".join(outcome.differences))


class PolicyCaseFile(pytest.File):
    """A returnrules case file: one item per ``[[case]]``."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            case_file = load_case_file(self.path, default_rules=_rules(self.config))
        except CaseFileError as exc:
            raise self.CollectError(
                "malformed returnrules case file:\n" + "\n".join(map(str, exc.problems))
            ) from None
        for case in case_file.cases:
            yield CaseItem.from_parent(
                self,
                name=case.name.replace("::", ": "),
                case_file=case_file,
                case=case,
            )


class CaseItem(pytest.Item):
    """One ``[[case]]`` of a case file."""

    def __init__(self, *, case_file: CaseFile, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case_file = case_file
        self.case = case

    def runtest(self) -> None:
        outcome = _runner(self.config).run(self.case_file, self.case)
        if not outcome.passed:
            raise CaseFailed(outcome)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, CaseFailed):
            where = f"{self.location[0]}:{self.case.line}"
            details = excinfo.value.outcome.differences
            return "\n".join(
                [f"{where}: {self.case.name}", *(f"    {d}" for d in details)]
            )
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"case: {self.case.name}"


# -- fixtures -------------------------------------------------------------------------


def _loaded(load: Callable[[], Policy]) -> Policy:
    """``load()``, or fail the test listing the policy's problems (no traceback)."""
    try:
        return load()
    except PolicyError as exc:
        problems = "\n".join(map(str, exc.problems))
    pytest.fail(problems, pytrace=False)


@pytest.fixture(scope="session")
def returnrules_policy(pytestconfig: pytest.Config) -> Policy:
    """The policy at ``returnrules_rules`` (or ``--returnrules-rules``)."""
    return _loaded(lambda: load_policy(_rules(pytestconfig)))


@pytest.fixture
def returnrules_make_policy() -> PolicyFactory:
    """``make(text, *, plugins=(), autoload=None, source="rules.toml")``."""

    def make(
        text: str,
        *,
        plugins: Iterable[object] = (),
        autoload: bool | None = None,
        source: str = "rules.toml",
    ) -> Policy:
        return _loaded(
            lambda: loads_policy(
                text, source=source, plugins=plugins, autoload=autoload
            )
        )

    return make


@pytest.fixture
def returnrules_request() -> dict[str, Any]:
    """A fresh, valid request: 2 of 4 brake pads at 180.00 returned, wrong part."""
    return sample_request()


def _expect(expect: Mapping[str, Any]) -> Expect:
    lines = []
    for line in expect.get("lines", ()):
        tuples = {
            key: tuple(line[key])
            for key in ("decided_by", "matched", "messages", "actions")
            if key in line
        }
        lines.append(
            ExpectedLine(line=line["line"], decision=line.get("decision"), **tuples)
        )
    return Expect(decision=expect.get("decision"), lines=tuple(lines))


def assert_decision(decision: Decision, expect: Mapping[str, Any]) -> None:
    """Assert *decision* matches *expect*, shaped like a case's ``[case.expect]``.

    ``assert_decision(d, {"decision": "approve", "lines": [{"line": 1,
    "actions": [{"action": "refund", "amount": "306.00"}]}]})``
    """
    differences = compare(decision, _expect(expect))
    if differences:
        raise AssertionError("\n".join(differences))
