"""``load_policy``: read, check and compile a policy file, reporting every problem.

The stages, each collecting issues rather than stopping:

1. read the file and parse it (:mod:`returnrules.files.read`: bounded in size
   and nesting; a syntax error is reported with tomllib's own line and
   column, and nothing else can be checked);
2. load the plugins the policy names, on top of the built-in and entry-point
   ones (a plugin that fails is a problem at its ``[plugins]`` entry);
3. type-check the document against the registry (:mod:`returnrules.policy.check`);
4. map every issue's key path to a line and column (:mod:`returnrules.files.positions`)
   and raise :class:`~returnrules.PolicyError` if any is an error;
5. compile.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final, NoReturn

from returnrules.files import read
from returnrules.files.positions import Positions, locate, locate_value, positions
from returnrules.files.read import ReadError
from returnrules.model.errors import Issue, PathKey, PolicyError, Problem, quote
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.manager import AllowModules, Registry, load_registry
from returnrules.policy.check import check_policy, merged_vocabularies
from returnrules.policy.policy import Origin, Policy

__all__ = ["MAX_POLICY_BYTES", "load_plugins", "load_policy", "loads_policy"]

MAX_POLICY_BYTES: Final = 8 * 1024 * 1024


def _fail(
    source: str, message: str, code: str, line: int = 1, col: int = 1
) -> NoReturn:
    raise PolicyError([Problem(source, line, col, message, code)])


def _read(path: str | os.PathLike[str]) -> str:
    """The text of a policy file; unreadable, huge or non-UTF-8 is a PolicyError."""
    try:
        return read.read_text(path, MAX_POLICY_BYTES)
    except ReadError as exc:
        _failed(os.fspath(path), exc)


def _parse(text: str, source: str) -> dict[str, Any]:
    if len(text) > MAX_POLICY_BYTES:
        _fail(source, f"policy larger than {MAX_POLICY_BYTES} bytes", "too-large")
    try:
        return read.parse_toml(text)
    except ReadError as exc:
        _failed(source, exc)


def _failed(source: str, exc: ReadError) -> NoReturn:
    """What the reader could not do, as the policy's one problem."""
    line, col = exc.line or 1, exc.col or 1
    if exc.kind in ("unreadable", "directory"):
        _fail(source, f"cannot read policy: {exc.message}", "unreadable")
    if exc.kind == "too-large":
        _fail(source, f"policy {exc.message}", "too-large")
    if exc.kind == "encoding":
        _fail(source, "the policy is not valid UTF-8", "unreadable", line)
    if exc.kind == "too-deep":
        _fail(source, exc.message, "too-deep", line, col)
    _fail(source, exc.message, "toml-syntax", line, col)


def _strings(value: object, path: PathKey, issues: list[Issue]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        issues.append(
            Issue(path, "expected an array of strings", "bad-value", at_value=True)
        )
        return []
    return value


def _load_plugins(
    doc: Mapping[str, Any],
    base_dir: Path | None,
    plugins: Iterable[object],
    autoload: bool | None,
    allow_modules: AllowModules,
) -> tuple[Registry, list[Issue]]:
    """The registry for a policy document's ``[plugins]`` table."""
    issues: list[Issue] = []
    section = doc.get("plugins", {})
    if not isinstance(section, Mapping):
        issues.append(Issue(("plugins",), "[plugins] is a table", "bad-value"))
        section = {}
    for key in section:
        if key not in ("modules", "disable"):
            issues.append(
                Issue(
                    ("plugins", key),
                    f"unknown key {quote(key)} in [plugins] (modules, disable)",
                    "unknown-key",
                )
            )
    disable = _strings(section.get("disable"), ("plugins", "disable"), issues)
    for i, name in enumerate(disable):
        if name == "core":
            issues.append(
                Issue(
                    ("plugins", "disable", i),
                    "the built-in core plugin cannot be disabled",
                    "bad-value",
                )
            )
    registry, plugin_issues = load_registry(
        _strings(section.get("modules"), ("plugins", "modules"), issues),
        base_dir=base_dir,
        disable=disable,
        plugins=plugins,
        autoload=autoload,
        allow_modules=allow_modules,
    )
    return registry, issues + plugin_issues


def _located(issues: Iterable[Issue], found: Positions, source: str) -> list[Problem]:
    """Issues as problems at their line and column (a value's problem where the
    value starts, else at the key), in file order."""

    def at(issue: Issue) -> tuple[int, int]:
        if issue.at_value:
            return locate_value(found, issue.path)
        return locate(found.keys, issue.path)

    return sorted(
        (
            Problem(source, *at(i), i.message, i.code, i.severity, i.path)
            for i in issues
        ),
        key=lambda p: (p.line, p.col),
    )


def loads_policy(
    text: str,
    *,
    source: str = "<string>",
    base_dir: str | os.PathLike[str] | None = None,
    plugins: Iterable[object] = (),
    autoload: bool | None = None,
    allow_modules: AllowModules = (),
) -> Policy:
    """Load a policy from TOML *text*; *source* names it in problems.

    *base_dir* is the policy's directory: ``[plugins] modules`` files are
    found there and must lie inside it (default: the current directory).
    *plugins* are plugin objects added in code; *autoload* = False skips the
    ``returnrules`` entry points; *allow_modules* names the installed modules
    a policy may load as plugins (True: any).
    """
    doc = _parse(text, source)
    base = Path(base_dir) if base_dir is not None else None
    plugins = tuple(plugins)
    allow = allow_modules if isinstance(allow_modules, bool) else tuple(allow_modules)
    registry, issues = _load_plugins(doc, base, plugins, autoload, allow)
    # Positions cost more than parsing: they are found only when needed, once.
    scanned = functools.cache(functools.partial(positions, text))
    ir, check_issues = check_policy(
        doc, registry, source, line_of=lambda path: locate(scanned().keys, path)[0]
    )
    issues += check_issues
    problems = _located(issues, scanned(), source) if issues else []
    if ir is None or any(p.severity == "error" for p in problems):
        raise PolicyError(problems)
    origin = Origin(
        text,
        source,
        None if base_dir is None else os.fspath(base_dir),
        plugins,
        autoload,
        allow,
    )
    return Policy(ir, registry, warnings=problems, origin=origin)


def load_policy(
    path: str | os.PathLike[str],
    *,
    plugins: Iterable[object] = (),
    autoload: bool | None = None,
    allow_modules: AllowModules = (),
) -> Policy:
    """Load, type-check and compile the policy file at *path*.

    Raises :class:`~returnrules.PolicyError` whose ``.problems`` lists every
    problem found, each with file, line and column.  See :func:`loads_policy`
    for the options.
    """
    return loads_policy(
        _read(path),
        source=os.fspath(path),
        base_dir=Path(path).parent,
        plugins=plugins,
        autoload=autoload,
        allow_modules=allow_modules,
    )


def load_plugins(
    path: str | os.PathLike[str],
    *,
    plugins: Iterable[object] = (),
    autoload: bool | None = None,
    allow_modules: AllowModules = (),
) -> tuple[Registry, Mapping[str, Vocabulary], list[Problem]]:
    """The plugins and vocabularies a policy file asks for, even if its rules
    have errors: for tools (``returnrules plugins --rules``, the schema).

    Returns the registry, the merged vocabularies and the problems of the
    ``[plugins]`` and ``[vocab]`` tables; an unreadable file or a TOML syntax
    error raises :class:`~returnrules.PolicyError`.
    """
    text, source = _read(path), os.fspath(path)
    doc = _parse(text, source)
    registry, issues = _load_plugins(
        doc, Path(path).parent, plugins, autoload, allow_modules
    )
    vocabularies, vocabulary_issues = merged_vocabularies(doc, registry)
    problems = _located(issues + vocabulary_issues, positions(text), source)
    return registry, vocabularies, problems
