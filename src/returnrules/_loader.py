"""``load_policy``: read, check and compile a policy file, reporting every problem.

The stages, each collecting issues rather than stopping:

1. read the file and parse it with :mod:`tomllib` (a syntax error is reported
   with tomllib's own line and column, and nothing else can be checked);
2. load the plugins the policy names, on top of the built-in and entry-point
   ones (a plugin that fails is a problem at its ``[plugins]`` entry);
3. type-check the document against the registry (:mod:`returnrules._checker`);
4. map every issue's key path to a line and column (:mod:`returnrules._tomlpos`)
   and raise :class:`~returnrules.PolicyError` if any is an error;
5. compile.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from returnrules._checker import check_policy
from returnrules._engine import Policy
from returnrules._errors import Issue, PathKey, PolicyError, Problem
from returnrules._plugins import load_registry
from returnrules._tomlpos import key_positions, locate

__all__ = ["MAX_POLICY_BYTES", "load_policy", "loads_policy"]

MAX_POLICY_BYTES: Final = 8 * 1024 * 1024
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _strings(value: object, path: PathKey, issues: list[Issue]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        issues.append(Issue(path, "expected an array of strings", "bad-value"))
        return []
    return value


def _plugin_settings(
    doc: Mapping[str, Any], issues: list[Issue]
) -> tuple[list[str], list[str]]:
    section = doc.get("plugins", {})
    if not isinstance(section, Mapping):
        issues.append(Issue(("plugins",), "[plugins] is a table", "bad-value"))
        return [], []
    for key in section:
        if key not in ("modules", "disable"):
            issues.append(
                Issue(
                    ("plugins", key),
                    f'unknown key "{key}" in [plugins] (modules, disable)',
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
    return (
        _strings(section.get("modules"), ("plugins", "modules"), issues),
        disable,
    )


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
    if len(text) > MAX_POLICY_BYTES:
        raise PolicyError(
            [
                Problem(
                    source,
                    1,
                    1,
                    f"policy larger than {MAX_POLICY_BYTES} bytes",
                    "too-large",
                )
            ]
        )
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_POSITION.search(message)
        if found:
            line, col = int(found[1]), int(found[2])
        elif message.endswith("(at end of document)"):
            written = text.rstrip()  # point just after the last thing written
            line, col = written.count("\n") + 1, len(written) - written.rfind("\n")
        else:
            line, col = 1, 1
        message = _TOML_POSITION.sub("", message).removesuffix(" (at end of document)")
        raise PolicyError(
            [Problem(source, line, col, f"invalid TOML: {message}", "toml-syntax")]
        ) from None
    except RecursionError:
        raise PolicyError(
            [Problem(source, 1, 1, "invalid TOML: nested too deeply", "toml-syntax")]
        ) from None

    issues: list[Issue] = []
    modules, disable = _plugin_settings(doc, issues)
    registry, plugin_issues = load_registry(
        modules,
        base_dir=Path(base_dir) if base_dir is not None else None,
        disable=disable,
        plugins=plugins,
        autoload=autoload,
    )
    issues += plugin_issues
    ir, check_issues = check_policy(doc, registry, source)
    issues += check_issues

    positions = key_positions(text)
    problems = sorted(
        (
            Problem(
                source,
                *locate(positions, i.path),
                i.message,
                i.code,
                i.severity,
                i.path,
            )
            for i in issues
        ),
        key=lambda p: (p.line, p.col),
    )
    if ir is None or any(p.severity == "error" for p in problems):
        raise PolicyError(problems)
    ir = attrs.evolve(
        ir,
        rules=tuple(
            attrs.evolve(rule, line=locate(positions, ("rule", rule.index))[0])
            for rule in ir.rules
        ),
    )
    return Policy(ir, registry, warnings=problems)


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
    shown = os.fspath(path)
    file = Path(path)
    try:
        if file.stat().st_size > MAX_POLICY_BYTES:
            raise PolicyError(
                [
                    Problem(
                        shown,
                        1,
                        1,
                        f"policy larger than {MAX_POLICY_BYTES} bytes",
                        "too-large",
                    )
                ]
            )
        data = file.read_bytes()
    except OSError as exc:
        raise PolicyError(
            [Problem(shown, 1, 1, f"cannot read policy: {exc.strerror}", "unreadable")]
        ) from None
    try:
        text = data.decode("utf-8-sig")  # editors on Windows may add a BOM
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PolicyError(
            [Problem(shown, line, 1, "the policy is not valid UTF-8", "unreadable")]
        ) from None
    return loads_policy(
        text, source=shown, base_dir=file.parent, plugins=plugins, autoload=autoload
    )
