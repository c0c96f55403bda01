"""``load_policy``: read, check and compile a policy file, reporting every problem.

The stages, each collecting issues rather than stopping:

1. read the file and parse it with :mod:`tomllib` (a syntax error is reported
   with tomllib's own line and column, and nothing else can be checked);
2. load the plugins the policy names, on top of the built-in and entry-point
   ones (a plugin that fails is a problem at its ``[plugins]`` entry);
3. type-check the document against the registry (:mod:`returnrules.policy.check`);
4. map every issue's key path to a line and column (:mod:`returnrules.files.positions`)
   and raise :class:`~returnrules.PolicyError` if any is an error;
5. compile.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final, NoReturn

from returnrules.engine.evaluate import Policy
from returnrules.files.positions import key_positions, locate, syntax_error_position
from returnrules.model.errors import Issue, PathKey, PolicyError, Problem, quote
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.manager import Registry, load_registry
from returnrules.policy.check import check_policy, merged_vocabularies

__all__ = ["MAX_POLICY_BYTES", "load_plugins", "load_policy", "loads_policy"]

MAX_POLICY_BYTES: Final = 8 * 1024 * 1024


def _fail(
    source: str, message: str, code: str, line: int = 1, col: int = 1
) -> NoReturn:
    raise PolicyError([Problem(source, line, col, message, code)])


def _read(path: str | os.PathLike[str]) -> str:
    """The text of a policy file; unreadable, huge or non-UTF-8 is a PolicyError."""
    shown = os.fspath(path)
    file = Path(path)
    try:
        if file.stat().st_size > MAX_POLICY_BYTES:
            _fail(shown, f"policy larger than {MAX_POLICY_BYTES} bytes", "too-large")
        data = file.read_bytes()
    except OSError as exc:
        _fail(shown, f"cannot read policy: {exc.strerror}", "unreadable")
    try:
        return data.decode("utf-8-sig")  # editors on Windows may add a BOM
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        _fail(shown, "the policy is not valid UTF-8", "unreadable", line)


def _parse(text: str, source: str) -> dict[str, Any]:
    if len(text) > MAX_POLICY_BYTES:
        _fail(source, f"policy larger than {MAX_POLICY_BYTES} bytes", "too-large")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, message = syntax_error_position(str(exc), text)
        _fail(source, f"invalid TOML: {message}", "toml-syntax", line, col)
    except RecursionError:
        _fail(source, "invalid TOML: nested too deeply", "toml-syntax")


def _strings(value: object, path: PathKey, issues: list[Issue]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        issues.append(Issue(path, "expected an array of strings", "bad-value"))
        return []
    return value


def _load_plugins(
    doc: Mapping[str, Any],
    base_dir: Path | None,
    plugins: Iterable[object],
    autoload: bool | None,
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
    )
    return registry, issues + plugin_issues


def _located(
    issues: Iterable[Issue], positions: Mapping[PathKey, tuple[int, int]], source: str
) -> list[Problem]:
    """Issues as problems at their line and column, in file order."""
    return sorted(
        (
            Problem(source, *locate(positions, i.path), i.message, i.code,
                    i.severity, i.path)
            for i in issues
        ),
        key=lambda p: (p.line, p.col),
    )  # fmt: skip


def loads_policy(
    text: str,
    *,
    source: str = "<string>",
    base_dir: str | os.PathLike[str] | None = None,
    plugins: Iterable[object] = (),
    autoload: bool | None = None,
) -> Policy:
    """Load a policy from TOML *text*; *source* names it in problems.

    *base_dir* resolves ``[plugins] modules`` files (default: the current
    directory); *plugins* are plugin objects added in code; *autoload* = False
    skips the ``returnrules`` entry points.
    """
    doc = _parse(text, source)
    base = Path(base_dir) if base_dir is not None else None
    registry, issues = _load_plugins(doc, base, plugins, autoload)
    ir, check_issues = check_policy(doc, registry, source)
    issues += check_issues
    # Positions cost more than parsing: they are found only when needed.
    problems = _located(issues, key_positions(text), source) if issues else []
    if ir is None or any(p.severity == "error" for p in problems):
        raise PolicyError(problems)
    return Policy(ir, registry, warnings=problems, text=text)


def load_policy(
    path: str | os.PathLike[str],
    *,
    plugins: Iterable[object] = (),
    autoload: bool | None = None,
) -> Policy:
    """Load, type-check and compile the policy file at *path*.

    Raises :class:`~returnrules.PolicyError` whose ``.problems`` lists every
    problem found, each with file, line and column.
    """
    return loads_policy(
        _read(path),
        source=os.fspath(path),
        base_dir=Path(path).parent,
        plugins=plugins,
        autoload=autoload,
    )


def load_plugins(
    path: str | os.PathLike[str],
    *,
    plugins: Iterable[object] = (),
    autoload: bool | None = None,
) -> tuple[Registry, Mapping[str, Vocabulary], list[Problem]]:
    """The plugins and vocabularies a policy file asks for, even if its rules
    have errors: for tools (``returnrules plugins --rules``, the schema).

    Returns the registry, the merged vocabularies and the problems of the
    ``[plugins]`` and ``[vocab]`` tables; an unreadable file or a TOML syntax
    error raises :class:`~returnrules.PolicyError`.
    """
    text, source = _read(path), os.fspath(path)
    doc = _parse(text, source)
    registry, issues = _load_plugins(doc, Path(path).parent, plugins, autoload)
    vocabularies, vocabulary_issues = merged_vocabularies(doc, registry)
    problems = _located(issues + vocabulary_issues, key_positions(text), source)
    return registry, vocabularies, problems
