"""What each ``returnrules`` subcommand does; :mod:`returnrules.cli` parses and calls.

Every command takes plain arguments and a :class:`Console`, prints, and
returns the exit status (:data:`OK`, :data:`FAILED`, :data:`BAD_INPUT`).  A
user's mistake (a missing file, bad TOML, an invalid request) is reported as a
message, never a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final, TextIO

import attrs

from returnrules.cli.batch import (
    Options,
    Progress,
    WorkerDied,
    count_requests,
    default_jobs,
    evaluate_stream,
)
from returnrules.cli.cases import CaseFile, CaseFileError, CaseRunner, load_case_file
from returnrules.cli.coverage import CaseCoverage
from returnrules.cli.inputs import read_data, read_requests
from returnrules.cli.listing import (
    facts_data,
    plugins_data,
    render_facts,
    render_plugins,
)
from returnrules.cli.render import (
    Style,
    plural,
    render_analysis,
    render_problem,
    render_request_error,
    summary,
)
from returnrules.cli.starter import StarterExists, write_starter
from returnrules.model.errors import PolicyError, Problem, RequestError
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.manager import Registry, load_registry
from returnrules.policy.load import load_plugins, load_policy
from returnrules.policy.policy import Policy
from returnrules.policy.schema import policy_schema

__all__ = [
    "BAD_INPUT",
    "DEFAULT_CASES",
    "DEFAULT_RULES",
    "FAILED",
    "OK",
    "Console",
    "load_reporting",
    "read_data_reporting",
    "run_check",
    "run_eval",
    "run_facts",
    "run_init",
    "run_plugins",
    "run_schema",
    "run_test",
]

OK: Final = 0
FAILED: Final = 1
"""Policy errors, failed cases, files ``init`` would overwrite."""
BAD_INPUT: Final = 2
"""An invalid request, data or case file; a usage error."""

DEFAULT_RULES: Final = "rules.toml"
DEFAULT_CASES: Final = "tests/policy"


@attrs.define
class Console:
    """Where a command writes, and how (colour only on a terminal)."""

    out: TextIO
    err: TextIO
    stdin: IO[bytes] | None = None
    style: Style = attrs.field()
    err_style: Style = attrs.field()

    @style.default
    def _out_style(self) -> Style:
        return Style.for_stream(self.out)

    @err_style.default
    def _err_style(self) -> Style:
        return Style.for_stream(self.err)

    def print(self, *lines: str) -> None:
        for line in lines:
            print(line, file=self.out)

    def error(self, *lines: str) -> None:
        for line in lines:
            print(line, file=self.err)


def _problems(problems: Iterable[Problem], style: Style) -> list[str]:
    return [render_problem(p, style) for p in problems]


def load_reporting(path: str, console: Console) -> Policy | None:
    """Load a policy, or print its problems on stderr and return None."""
    try:
        return load_policy(path)
    except PolicyError as exc:
        console.error(*_problems(exc.problems, console.err_style))
        warnings = len(exc.problems) - len(exc.errors)
        console.error(summary(len(exc.errors), warnings))
        return None


# -- check --------------------------------------------------------------------------


def run_check(
    paths: Sequence[str],
    console: Console,
    *,
    strict: bool = False,
    analyze: bool = False,
) -> int:
    """``returnrules check``: every problem of each policy, then a summary.

    The analysis (rules that never match or decide, actions that never win,
    redundant branches, uncovered regions) runs too; *strict* makes its
    warnings errors, *analyze* prints the long form and the coverage table.
    """
    errors = warnings = 0
    for path in paths:
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            console.print(*_problems(exc.problems, console.style))
            errors += len(exc.errors)
            warnings += len(exc.problems) - len(exc.errors)
            continue
        analysis = policy.analyze()
        found = list(policy.problems(analysis))
        if strict:
            found = [attrs.evolve(p, severity="error") for p in found]
        details = {(f.issue.path, f.issue.code): f.details for f in analysis.findings}
        for problem in found:
            console.print(render_problem(problem, console.style))
            if analyze:
                for line in details.get((problem.path, problem.code), ()):
                    console.print(f"    {line}")
        if analyze:
            console.print(*render_analysis(policy, analysis, console.style))
        rules = plural(len(policy.rules), "rule")
        if strict and found:
            errors += len(found)
        elif found:
            warnings += len(found)
            console.print(
                f"{path}: no errors, {plural(len(found), 'warning')} ({rules})"
            )
        else:
            console.print(f"{path}: no problems ({rules})")
    if errors:
        console.print(summary(errors, warnings))
        return FAILED
    return OK


# -- eval ----------------------------------------------------------------------------


def read_data_reporting(
    path: str, policy: Policy, console: Console
) -> Mapping[str, Any] | None:
    """Read and check a ``--data`` file, or print its problems and return None."""
    try:
        data = read_data(path)
        policy.check_data(data)
    except RequestError as exc:
        error = exc if exc.source else exc.with_source(path)
        console.error(*render_request_error(error))
        return None
    return data


def run_eval(
    requests: Sequence[str],
    console: Console,
    *,
    rules: str = DEFAULT_RULES,
    data: str | None = None,
    as_json: bool = False,
    explain: bool = False,
    jobs: int = 1,
    progress: bool | None = None,
    why_not: str | None = None,
) -> int:
    """``returnrules eval``: decide each request; a bad one never stops the others.

    Requests stream in and out in order; *jobs* > 1 spreads them over worker
    processes (0: one per core).  *progress* (default: when stderr is a
    terminal) shows the count, the rate and the time left on stderr.
    """
    policy = load_reporting(rules, console)
    if policy is None:
        return FAILED
    data_map = None
    if data is not None:
        data_map = read_data_reporting(data, policy, console)
        if data_map is None:
            return BAD_INPUT
    if progress is None:
        progress = _is_terminal(console.err)
    meter = Progress(console.err, count_requests(requests)) if progress else None
    items = (
        item
        for spec in requests
        for item in read_requests(spec, console.stdin, lazy=True)
    )
    options = Options(as_json, explain, console.style.enabled, why_not)
    bad = 0
    first = True
    try:
        for result in evaluate_stream(
            items, policy, rules, data_map, options, jobs or default_jobs()
        ):
            if meter is not None:
                meter.step()
            if not result.ok:
                bad += 1
                console.error(*result.err)
                continue
            if not first and not as_json:
                console.print("")
            first = False
            console.print(*result.out)
    except WorkerDied as exc:
        # Not every request was evaluated, as for invalid ones; the message
        # names the first that was not.
        console.error(f"returnrules: {exc}")
        return BAD_INPUT
    finally:
        if meter is not None:
            meter.close()
    if bad:
        console.error(f"{plural(bad, 'request')} could not be evaluated")
        return BAD_INPUT
    return OK


# -- test ----------------------------------------------------------------------------


def _case_files(specs: Sequence[str]) -> Iterator[Path]:
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            yield from sorted(path.rglob("*.toml"))
        else:
            yield path


def run_test(
    cases: Sequence[str],
    console: Console,
    *,
    rules: str | None = None,
    verbose: bool = False,
    coverage: bool = False,
    fail_under: float | None = None,
) -> int:
    """``returnrules test``: run case files, report what differed, then a count.

    With *coverage* (or *fail_under*), the cases are evaluated with a trace
    and each policy's rules and branches that no case exercised are listed
    (:mod:`returnrules.cli.coverage`); *fail_under* fails the run when the
    rules' or the branches' percentage is below it.
    """
    if cases:
        files = list(_case_files(cases))
    else:
        default = Path(DEFAULT_CASES)
        files = sorted(default.glob("*.toml")) if default.is_dir() else []
        if not files:
            console.error(
                f"no case files found in {DEFAULT_CASES}/; name them: "
                "returnrules test CASES..."
            )
            return BAD_INPUT
    coverage = coverage or fail_under is not None
    runner = CaseRunner(
        rules=Path(rules) if rules is not None else None, explain=coverage
    )
    covered: dict[Path, CaseCoverage] = {}
    passed = failed = 0
    malformed = False
    reported: set[Path] = set()
    for path in files:
        try:
            case_file = load_case_file(path, default_rules=Path(DEFAULT_RULES))
        except CaseFileError as exc:
            console.print(*_problems(exc.problems, console.style))
            malformed = True
            continue
        _report_policy(runner, case_file, reported, console)
        for outcome in runner.run_file(case_file):
            if coverage and outcome.decision is not None:
                _covered(runner, case_file, covered).add(outcome.decision)
            if outcome.passed:
                passed += 1
                if verbose:
                    console.print(outcome.report()[0])
                continue
            failed += 1
            head, *details = outcome.report()
            console.print(console.style.paint(head, "red", "bold"), *details)
    low = False
    for i, found in enumerate(covered.values()):  # before the count, the last line
        if i or failed or verbose or malformed:
            console.print("")
        console.print(*found.report(console.style))
        if fail_under is not None and found.below(fail_under):
            low = True
            console.print(
                console.style.paint(
                    f"coverage of {found.source} is below --fail-under {fail_under:g}%",
                    "red",
                    "bold",
                )
            )
    console.print(f"{passed} passed, {failed} failed")
    if malformed:
        return BAD_INPUT
    return FAILED if failed or low else OK


def _covered(
    runner: CaseRunner, case_file: CaseFile, covered: dict[Path, CaseCoverage]
) -> CaseCoverage:
    """The coverage of a case file's policy, one per policy (it loaded: the
    case has a decision)."""
    rules = runner.rules_of(case_file)
    key = rules.resolve()
    found = covered.get(key)
    if found is None:
        found = covered[key] = CaseCoverage(runner.policy(rules))
    return found


def _report_policy(
    runner: CaseRunner, case_file: CaseFile, reported: set[Path], console: Console
) -> None:
    """Print a policy's problems once, before the cases that fail because of them."""
    rules = runner.rules_of(case_file)
    if rules.resolve() in reported:
        return
    reported.add(rules.resolve())
    try:
        runner.policy(rules)
    except PolicyError as exc:
        console.print(*_problems(exc.problems, console.style))


# -- schema, plugins, facts ------------------------------------------------------


@attrs.frozen
class _Loaded:
    registry: Registry
    vocabularies: Mapping[str, Vocabulary]
    problems: tuple[str, ...] = ()


def _registry(rules: str | None) -> _Loaded:
    """The registry (and vocabularies) of a policy, or the default one.

    A policy with errors in its rules still gives its plugins: only problems
    that stop the plugins from loading are reported.
    """
    if rules is None:
        registry, issues = load_registry()
        return _Loaded(
            registry,
            registry.vocabularies,
            tuple(f"error: {i.message}" for i in issues if i.severity == "error"),
        )
    try:
        registry, vocabularies, problems = load_plugins(rules)
    except PolicyError as exc:
        raise _Unusable([str(p) for p in exc.problems]) from None
    errors = tuple(str(p) for p in problems if p.severity == "error")
    return _Loaded(registry, vocabularies, errors)


class _Unusable(Exception):
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


def _with_registry(rules: str | None, console: Console) -> _Loaded | None:
    try:
        loaded = _registry(rules)
    except _Unusable as exc:
        console.error(*exc.lines)
        return None
    console.error(*loaded.problems)
    return loaded


def run_schema(console: Console, *, rules: str | None = None) -> int:
    """``returnrules schema``: the JSON Schema of the policy file."""
    loaded = _with_registry(rules, console)
    if loaded is None:
        return FAILED
    # A policy's own vocabularies make its codes exact; without one, any code
    # of an open vocabulary is allowed (a policy's [vocab] may add it).
    document = policy_schema(
        loaded.registry, loaded.vocabularies if rules is not None else None
    )
    console.print(json.dumps(document, indent=2, ensure_ascii=False))
    return FAILED if loaded.problems else OK


def run_plugins(
    console: Console, *, rules: str | None = None, as_json: bool = False
) -> int:
    """``returnrules plugins``: the loaded plugins and what each adds."""
    loaded = _with_registry(rules, console)
    if loaded is None:
        return FAILED
    if as_json:
        console.print(
            json.dumps(plugins_data(loaded.registry), indent=2, ensure_ascii=False)
        )
    else:
        console.print(*render_plugins(loaded.registry, console.style))
    return FAILED if loaded.problems else OK


def run_facts(
    console: Console, *, rules: str | None = None, as_json: bool = False
) -> int:
    """``returnrules facts``: every fact a rule can test, with its type."""
    loaded = _with_registry(rules, console)
    if loaded is None:
        return FAILED
    if as_json:
        data = facts_data(loaded.registry, loaded.vocabularies)
        console.print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        console.print(
            *render_facts(loaded.registry, loaded.vocabularies, console.style)
        )
    return FAILED if loaded.problems else OK


# -- init -----------------------------------------------------------------------


def run_init(directory: str, console: Console) -> int:
    """``returnrules init``: a starter policy and case file; never overwrites."""
    target = Path(directory)
    if target.exists() and not target.is_dir():
        console.error(f"returnrules init: {directory} exists and is not a directory")
        return FAILED
    try:
        written = write_starter(target)
    except StarterExists as exc:
        names = " and ".join(map(str, exc.paths))
        verb = "exists" if len(exc.paths) == 1 else "exist"
        console.error(
            f"returnrules init: {names} already {verb}; nothing was written "
            "(move it away, or init another directory)"
        )
        return FAILED
    except OSError as exc:
        console.error(f"returnrules init: cannot write in {directory}: {exc.strerror}")
        return FAILED
    for path in written:
        console.print(f"created {path}")
    rules = target / "rules.toml"
    here = "" if os.path.samefile(target, ".") else f"cd {directory} && "
    console.print(
        "",
        "next:",
        f"  returnrules check {rules}",
        f"  {here}returnrules test",
    )
    return OK


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
