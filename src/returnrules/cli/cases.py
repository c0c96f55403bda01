"""A policy's own regression tests: the case-file format and its runner.

``returnrules test`` runs case files (by default ``tests/policy/*.toml``); the
``returnrules.testing`` pytest plugin runs the same files as pytest items.

The case-file format
====================

A case file is TOML.  Paths in it are relative to the case file itself::

    # tests/policy/returns.toml
    rules = "../../rules.toml"    # optional: the policy under test
                                  # (default: rules.toml in the current directory)
    data = "data.toml"            # optional: --data for every case (a path or a table)
    request = "base-request.toml" # optional: the request of every case that names none

    [[case]]
    name = "a wrong part is refunded in full"   # required, unique in the file
    request = "../../examples/wrong-part.toml"  # a request file (.toml or .json) ...

    [case.expect]
    decision = "approve"          # the request's: approve, reject, review, partial

    [[case.expect.lines]]
    line = 1                      # the order line number
    decision = "approve"
    decided_by = ["wrong-part"]
    actions = [
        { action = "refund", amount = "370.00", method = "original" },
        { action = "restock" },
    ]

    [[case]]
    name = "an opened part the customer no longer wants goes to review"
    with.lines = [{ line = 1, qty = 2, reason = "changed_mind", condition = "opened" }]
    expect = { decision = "review" }

Each ``[[case]]`` takes:

``name``
    Required; what the case shows.  Failures are reported with it.
``request``
    A request file, or the request itself as an inline table
    (``[case.request]``, ``[case.request.customer]``, ``[[case.request.lines]]``...).
    Without it, the file's top-level ``request`` is used.
``with``
    Optional table merged into the request: tables merge key by key, any other
    value (arrays included) replaces the request's.  With a top-level base
    request, each case states only what differs: ``with = { lines = [...] }``.
``data``
    Optional data (a path or an inline table) instead of the file's ``data``.
``expect``
    Required, with ``decision`` and/or ``lines``.  Each entry of ``lines``
    names its order ``line`` and may give ``decision``, ``decided_by``,
    ``matched`` and ``messages`` (compared as lists, in any order) and
    ``actions``.  For ``actions`` the *names* must match exactly (in any
    order; ``actions = []`` expects none), and each listed field must equal
    the reported one (``amount = "306.00"``; numbers compare by value, so
    ``306`` matches ``"306.00"``); fields not listed are not compared.  Lines
    not listed are not checked.

Outcomes and exit codes of ``returnrules test``: each failing case is
reported with what differed (expected vs got, per line and field), and the run
ends with ``N passed, N failed``.  A case fails when a comparison differs, when
its request or data is invalid or missing, or when the policy does not load
(every case of that policy then fails).  Exit status 0 when every case passed,
1 when any failed, 2 when a case file itself is malformed (not TOML, unknown
keys, missing ``name`` or ``expect``...: reported as ``FILE:LINE:COL: error:``,
its cases not run) or when no case file was found.

With ``--coverage`` the cases are evaluated with a trace, and the rules and
condition branches of each policy that no case exercised are listed before
the count (:mod:`returnrules.cli.coverage` says what "exercised" means);
``--fail-under PERCENT`` makes a coverage below it exit 1 too.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from returnrules.cli.inputs import MAX_BYTES, read_data, read_document
from returnrules.cli.render import plural, render_request_error
from returnrules.files import read
from returnrules.files.positions import key_positions, locate
from returnrules.files.read import ReadError
from returnrules.model.decision import Decision, LineDecision
from returnrules.model.errors import (
    Issue,
    PathKey,
    PolicyError,
    Problem,
    RequestError,
    RequestProblem,
    did_you_mean,
)
from returnrules.model.money import to_decimal
from returnrules.policy.load import load_policy
from returnrules.policy.policy import Policy

__all__ = [
    "Case",
    "CaseFile",
    "CaseFileError",
    "CaseOutcome",
    "CaseRunner",
    "Expect",
    "ExpectedLine",
    "compare",
    "load_case_file",
]

LINE_DECISIONS: Final = ("approve", "reject", "review")
REQUEST_DECISIONS: Final = (*LINE_DECISIONS, "partial")
TOP_KEYS: Final = ("rules", "data", "request", "case")
CASE_KEYS: Final = ("name", "request", "with", "data", "expect")
EXPECT_KEYS: Final = ("decision", "lines")
LINE_KEYS: Final = ("line", "decision", "decided_by", "matched", "messages", "actions")

Source = str | Mapping[str, Any]
"""A path (relative to the case file) or an inline table."""


@attrs.frozen
class ExpectedLine:
    """What a case expects of one line; ``None`` means "not checked"."""

    line: int
    decision: str | None = None
    decided_by: tuple[str, ...] | None = None
    matched: tuple[str, ...] | None = None
    messages: tuple[str, ...] | None = None
    actions: tuple[Mapping[str, Any], ...] | None = None


@attrs.frozen
class Expect:
    decision: str | None = None
    lines: tuple[ExpectedLine, ...] = ()


@attrs.frozen
class Case:
    """One case of a case file, with its request and data already chosen."""

    name: str
    file: Path
    line: int
    request: Source | None
    patch: Mapping[str, Any] | None
    data: Source | None
    expect: Expect

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


@attrs.frozen
class CaseFile:
    path: Path
    rules: Path
    cases: tuple[Case, ...]


class CaseFileError(Exception):
    """A malformed case file; ``.problems`` lists every problem with its place."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(map(str, self.problems)))


# -- reading a case file ----------------------------------------------------------


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@attrs.define
class _Reader:
    """Checks a case file's structure, collecting every issue at its key path."""

    issues: list[Issue] = attrs.field(factory=list)

    def error(self, path: PathKey, message: str) -> None:
        self.issues.append(Issue(path, message, "bad-case"))

    def table(self, value: object, path: PathKey, what: str) -> Mapping[str, Any]:
        if isinstance(value, Mapping):
            return value
        self.error(path, f"{what} is a table, got {_show(value)}")
        return {}

    def keys(
        self, table: Mapping[str, Any], allowed: Sequence[str], path: PathKey, what: str
    ) -> None:
        for key in table:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                known = ", ".join(allowed)
                self.error(
                    (*path, key), f'unknown key "{key}" in {what}{hint} ({known})'
                )

    def string(self, table: Mapping[str, Any], key: str, path: PathKey) -> str | None:
        value = table.get(key)
        if value is None or isinstance(value, str):
            return value
        self.error((*path, key), f"{key} is a string, got {_show(value)}")
        return None

    def source(
        self, table: Mapping[str, Any], key: str, path: PathKey
    ) -> Source | None:
        value = table.get(key)
        if value is None or isinstance(value, str | Mapping):
            return value
        self.error(
            (*path, key),
            f"{key} is a file name or a table, got {_show(value)}",
        )
        return None

    def strings(self, value: object, path: PathKey, key: str) -> tuple[str, ...] | None:
        if value is None:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.error(path, f"{key} is an array of strings, got {_show(value)}")
        return None

    def decision(
        self, value: object, path: PathKey, allowed: Sequence[str]
    ) -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and value in allowed:
            return value
        hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
        self.error(
            path,
            f"invalid decision {_show(value)}{hint} ({', '.join(allowed)})",
        )
        return None

    def expected_line(self, raw: object, path: PathKey) -> ExpectedLine | None:
        table = self.table(raw, path, "each entry of expect.lines")
        self.keys(table, LINE_KEYS, path, "an expected line")
        number = table.get("line")
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            where = (*path, "line") if "line" in table else path
            self.error(where, "each expected line needs line = N (the order line)")
            return None
        actions = table.get("actions")
        expected_actions: tuple[Mapping[str, Any], ...] | None = None
        if actions is not None:
            if not isinstance(actions, list):
                self.error(
                    (*path, "actions"),
                    'actions is an array: [{ action = "refund", amount = "306.00" }]',
                )
            else:
                good = []
                for i, action in enumerate(actions):
                    if not isinstance(action, Mapping) or not isinstance(
                        action.get("action"), str
                    ):
                        self.error(
                            (*path, "actions", i),
                            'each expected action is { action = "NAME", ... }',
                        )
                    else:
                        good.append(action)
                expected_actions = tuple(good)
        return ExpectedLine(
            line=number,
            decision=self.decision(
                table.get("decision"), (*path, "decision"), LINE_DECISIONS
            ),
            decided_by=self.strings(
                table.get("decided_by"), (*path, "decided_by"), "decided_by"
            ),
            matched=self.strings(table.get("matched"), (*path, "matched"), "matched"),
            messages=self.strings(
                table.get("messages"), (*path, "messages"), "messages"
            ),
            actions=expected_actions,
        )

    def expect(self, raw: object, path: PathKey) -> Expect:
        table = self.table(raw, path, "expect")
        self.keys(table, EXPECT_KEYS, path, "expect")
        if not any(key in table for key in EXPECT_KEYS):
            self.error(path, "expect needs a decision or lines")
        lines_raw = table.get("lines", [])
        lines: list[ExpectedLine] = []
        if not isinstance(lines_raw, list):
            self.error(
                (*path, "lines"), "lines is an array of tables ([[case.expect.lines]])"
            )
        else:
            seen: set[int] = set()
            for i, raw_line in enumerate(lines_raw):
                line = self.expected_line(raw_line, (*path, "lines", i))
                if line is None:
                    continue
                if line.line in seen:
                    self.error(
                        (*path, "lines", i, "line"),
                        f"line {line.line} is expected twice",
                    )
                seen.add(line.line)
                lines.append(line)
        return Expect(
            decision=self.decision(
                table.get("decision"), (*path, "decision"), REQUEST_DECISIONS
            ),
            lines=tuple(lines),
        )


def _misspelt(table: Mapping[str, Any], key: str) -> bool:
    """Whether an unknown key of *table* (already reported) looks like *key*."""
    return any(did_you_mean(k, [key]) for k in table if k not in CASE_KEYS and k != key)


def _problems(issues: Iterable[Issue], text: str, source: str) -> list[Problem]:
    positions = key_positions(text)
    return sorted(
        (
            Problem(source, *locate(positions, i.path), i.message, i.code, i.severity)
            for i in issues
        ),
        key=lambda p: (p.line, p.col),
    )


def _unread(source: str, exc: ReadError) -> Problem:
    """What the reader could not do, as the case file's one problem."""
    line, col = exc.line or 1, exc.col or 1
    if exc.kind in ("unreadable", "directory"):
        message = f"cannot read case file: {exc.message}"
        return Problem(source, 1, 1, message, "unreadable")
    if exc.kind == "too-large":
        return Problem(source, 1, 1, f"case file {exc.message}", "too-large")
    if exc.kind == "encoding":
        message = "the case file is not valid UTF-8"
        return Problem(source, line, col, message, "unreadable")
    if exc.kind == "too-deep":
        return Problem(source, line, col, exc.message, "too-deep")
    return Problem(source, line, col, exc.message, "toml-syntax")


def load_case_file(path: str | os.PathLike[str], *, default_rules: Path) -> CaseFile:
    """Read and check a case file; raise :class:`CaseFileError` if it is malformed.

    *default_rules* is the policy when the file names none.
    """
    file = Path(path)
    source = os.fspath(path)
    try:
        text = read.read_text(file, MAX_BYTES)
        doc = read.parse_toml(text)
    except ReadError as exc:
        raise CaseFileError([_unread(source, exc)]) from None

    reader = _Reader()
    reader.keys(doc, TOP_KEYS, (), "a case file")
    rules_name = reader.string(doc, "rules", ())
    base_request = reader.source(doc, "request", ())
    base_data = reader.source(doc, "data", ())
    raw_cases = doc.get("case")
    if not isinstance(raw_cases, list) or not raw_cases:
        reader.error(
            ("case",) if "case" in doc else (),
            "a case file needs [[case]] tables, each with a name and [case.expect]",
        )
        raw_cases = []
    cases: list[Case] = []
    names: dict[str, int] = {}
    positions = key_positions(text)
    for i, raw in enumerate(raw_cases):
        where: PathKey = ("case", i)
        table = reader.table(raw, where, "each [[case]]")
        reader.keys(table, CASE_KEYS, where, "a case")
        name = reader.string(table, "name", where)
        if name is None and "name" not in table and not _misspelt(table, "name"):
            reader.error(where, 'the case needs name = "what it shows"')
        elif name is not None:
            if name in names:
                reader.error(
                    (*where, "name"),
                    f'duplicate case name "{name}" '
                    f"(first used by case #{names[name] + 1})",
                )
            names.setdefault(name, i)
        request = reader.source(table, "request", where)
        if request is None and base_request is None and "request" not in table:
            reader.error(
                where,
                'the case has no request: give request = "FILE", a [case.request] '
                "table, or a top-level request",
            )
        patch = table.get("with")
        if patch is not None and not isinstance(patch, Mapping):
            reader.error((*where, "with"), f"with is a table, got {_show(patch)}")
            patch = None
        if "expect" not in table:
            if not _misspelt(table, "expect"):
                reader.error(where, "the case needs [case.expect]")
            expect = Expect()
        else:
            expect = reader.expect(table["expect"], (*where, "expect"))
        case_data = reader.source(table, "data", where)
        cases.append(
            Case(
                name=name or f"case #{i + 1}",
                file=file,
                line=locate(positions, where)[0],
                request=request if request is not None else base_request,
                patch=patch,
                data=case_data if case_data is not None else base_data,
                expect=expect,
            )
        )
    if reader.issues:
        raise CaseFileError(_problems(reader.issues, text, source))
    rules = file.parent / rules_name if rules_name is not None else default_rules
    return CaseFile(file, rules, tuple(cases))


# -- comparing -------------------------------------------------------------------------


def _same(expected: object, got: object) -> bool:
    """Equal as a rule author means it: numbers by value, lists and tables deeply."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected is got
    if isinstance(expected, int | float | str) and isinstance(got, int | float | str):
        if expected == got:
            return True
        try:
            return to_decimal(expected) == to_decimal(got)
        except ValueError:
            return False
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(
            _same(e, g) for e, g in zip(expected, got, strict=True)
        )
    if isinstance(expected, Mapping) and isinstance(got, Mapping):
        return expected.keys() == got.keys() and all(
            _same(v, got[k]) for k, v in expected.items()
        )
    return expected == got


def _names(items: Iterable[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _compare_actions(
    expected: Sequence[Mapping[str, Any]], line: LineDecision
) -> list[str]:
    got: list[dict[str, Any]] = [a.to_dict() for a in line.actions]
    out = []
    want_names = sorted(str(a["action"]) for a in expected)
    got_names = sorted(str(a["action"]) for a in got)
    if want_names != got_names:
        out.append(f"actions: expected {_names(want_names)}, got {_names(got_names)}")
    by_name: dict[str, list[dict[str, Any]]] = {}
    for action in got:
        by_name.setdefault(str(action["action"]), []).append(action)
    counts: dict[str, int] = {}
    for wanted in expected:
        name = str(wanted["action"])
        k = counts[name] = counts.get(name, 0) + 1
        candidates = by_name.get(name, [])
        if k > len(candidates):
            continue  # already reported by the names
        actual = candidates[k - 1]
        label = name if len(candidates) == 1 else f"{name}[{k}]"
        for key, value in wanted.items():
            if key == "action":
                continue
            if key not in actual:
                fields = ", ".join(f for f in actual if f != "action")
                out.append(f'{label}: no field "{key}" (it reports: {fields})')
            elif not _same(value, actual[key]):
                out.append(
                    f"{label}.{key}: expected {_show(value)}, got {_show(actual[key])}"
                )
    return out


def _compare_line(expected: ExpectedLine, line: LineDecision) -> list[str]:
    out = []
    if expected.decision is not None and expected.decision != line.decision:
        out.append(f"decision: expected {expected.decision}, got {line.decision}")
    for key in ("decided_by", "matched", "messages"):
        want: tuple[str, ...] | None = getattr(expected, key)
        got: tuple[str, ...] = getattr(line, key)
        if want is not None and sorted(want) != sorted(got):
            out.append(f"{key}: expected {_names(want)}, got {_names(got)}")
    if expected.actions is not None:
        out.extend(_compare_actions(expected.actions, line))
    if out:
        out.extend(
            f"(error in rule {e.rule}: {e.source}: {e.message})" for e in line.errors
        )
    return out


def compare(decision: Decision, expect: Expect) -> list[str]:
    """What differs between *decision* and *expect*, one sentence each."""
    out = []
    if expect.decision is not None and decision.decision != expect.decision:
        lines = ", ".join(
            f"line {line.line} {line.decision}"
            + (f" by {', '.join(line.decided_by)}" if line.decided_by else "")
            for line in decision.lines
        )
        out.append(
            f"decision: expected {expect.decision}, got {decision.decision} ({lines})"
        )
    by_number = {line.line: line for line in decision.lines}
    for expected in expect.lines:
        line = by_number.get(expected.line)
        if line is None:
            known = ", ".join(str(n) for n in by_number) or "none"
            out.append(
                f"line {expected.line}: not in the request's lines (lines: {known})"
            )
            continue
        out.extend(f"line {expected.line}: {d}" for d in _compare_line(expected, line))
    return out


# -- running -----------------------------------------------------------------------


@attrs.frozen
class CaseOutcome:
    """A case's result: passed when nothing differed."""

    case: Case
    differences: tuple[str, ...] = ()
    decision: Decision | None = None

    @property
    def passed(self) -> bool:
        return not self.differences

    def report(self) -> list[str]:
        """``FAILED FILE:LINE: NAME`` and what differed, indented."""
        status = "passed" if self.passed else "FAILED"
        return [
            f"{status} {self.case.location}: {self.case.name}",
            *(f"    {d}" for d in self.differences),
        ]


def _merged(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = _merged(current, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class CaseRunner:
    """Runs cases, loading each policy and data file once.

    *rules* overrides every case file's policy; *plugins* and *autoload* are
    passed to :func:`~returnrules.load_policy`.  With *explain* every case is
    evaluated with a trace (``returnrules test --coverage`` reads it).
    """

    def __init__(
        self,
        *,
        rules: Path | None = None,
        plugins: Iterable[object] = (),
        autoload: bool | None = None,
        explain: bool = False,
    ) -> None:
        self.rules = rules
        self.plugins = tuple(plugins)
        self.autoload = autoload
        self.explain = explain
        self._policies: dict[Path, Policy | PolicyError] = {}
        self._data: dict[tuple[Path, Path], Mapping[str, Any] | RequestError] = {}

    def rules_of(self, case_file: CaseFile) -> Path:
        return self.rules if self.rules is not None else case_file.rules

    def policy(self, path: Path) -> Policy:
        """The policy at *path*, loaded once; raises its PolicyError every time."""
        key = path.resolve()
        found = self._policies.get(key)
        if found is None:
            try:
                found = load_policy(path, plugins=self.plugins, autoload=self.autoload)
            except PolicyError as exc:
                found = exc
            self._policies[key] = found
        if isinstance(found, PolicyError):
            raise found
        return found

    def _data_for(
        self, case: Case, policy: Policy, rules: Path
    ) -> Mapping[str, Any] | None:
        source = case.data
        if source is None:
            return None
        if isinstance(source, Mapping):
            policy.check_data(source)
            return source
        path = case.file.parent / source
        key = (rules.resolve(), path.resolve())
        found = self._data.get(key)
        if found is None:
            try:
                found = read_data(path)
                try:
                    policy.check_data(found)
                except RequestError as exc:
                    raise exc.with_source(str(path)) from None
            except RequestError as exc:
                found = exc
            self._data[key] = found
        if isinstance(found, RequestError):
            raise found
        return found

    def _request(self, case: Case) -> Mapping[str, Any]:
        source = case.request
        if source is None:  # load_case_file makes sure there is one
            raise RequestError([RequestProblem((), "the case has no request", "empty")])
        if isinstance(source, str):
            base = read_document(case.file.parent / source)
        else:
            base = source
        return _merged(base, case.patch) if case.patch else base

    def run(self, case_file: CaseFile, case: Case) -> CaseOutcome:
        rules = self.rules_of(case_file)
        try:
            policy = self.policy(rules)
        except PolicyError as exc:
            errors = len(exc.errors)
            return CaseOutcome(
                case,
                (
                    f"the policy {rules} does not load ({plural(errors, 'error')}; "
                    f"run: returnrules check {rules})",
                ),
            )
        try:
            request = self._request(case)
        except RequestError as exc:
            return CaseOutcome(
                case, tuple(f"request: {p}" for p in render_request_error(exc))
            )
        try:
            data = self._data_for(case, policy, rules)
        except RequestError as exc:
            return CaseOutcome(
                case, tuple(f"data: {p}" for p in render_request_error(exc))
            )
        try:
            decision = policy.evaluate(request, data, explain=self.explain)
        except RequestError as exc:
            where = case.request if isinstance(case.request, str) else "inline request"
            return CaseOutcome(
                case,
                tuple(
                    f"request: {p}"
                    for p in render_request_error(exc.with_source(str(where)))
                ),
            )
        return CaseOutcome(case, tuple(compare(decision, case.expect)), decision)

    def run_file(self, case_file: CaseFile) -> list[CaseOutcome]:
        return [self.run(case_file, case) for case in case_file.cases]
