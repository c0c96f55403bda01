"""The two exceptions a user of returnrules meets, and the problems they carry.

Both list **every** problem found, never only the first: a rule author fixes a
policy in one round, and a batch reports every broken key of a bad request.
Each problem has a stable ``code`` (catalogued in ``docs/errors.md``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal

import attrs

__all__ = [
    "Issue",
    "PathKey",
    "PolicyError",
    "Problem",
    "RequestError",
    "RequestProblem",
    "did_you_mean",
    "format_path",
    "quote",
    "show",
]

PathKey = tuple[str | int, ...]
Severity = Literal["error", "warning"]

MAX_SHOWN: Final = 60
"""Characters of a value a message shows; a longer value is cut, with its length.

A request may carry a value of megabytes (a 15 MB ``customer.tier``): the
message about it must stay one short line, quickly made."""

MAX_SUGGESTED: Final = 100
"""Words longer than this get no "did you mean": nothing is that close, and
comparing megabytes with difflib takes seconds."""


def _cut(text: str) -> tuple[str, str]:
    """(*text*, "") or (its first characters + "…", " (N characters)")."""
    if len(text) <= MAX_SHOWN:
        return text, ""
    return text[:MAX_SHOWN] + "…", f" ({len(text):,} characters)"


def format_path(path: Sequence[str | int]) -> str:
    """``("lines", 0, "qty")`` → ``$.lines[0].qty`` (keys that need it are quoted)."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif (
            len(part) <= MAX_SHOWN
            and part.replace("_", "a").replace("-", "a").isalnum()
            and part.isascii()
        ):
            out.append(f".{part}")
        else:
            out.append(f"[{show(part)}]")
    return "".join(out)


def did_you_mean(word: object, candidates: Iterable[str]) -> str:
    """``'; did you mean "line.reason"?'`` for the closest candidate, else ``''``."""
    if not isinstance(word, str) or len(word) > MAX_SUGGESTED:
        return ""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


_C1: Final = re.compile("[\x7f-\x9f]")


def quote(text: object) -> str:
    """A value from a request or data file, quoted safely for a message.

    Control characters are escaped, so a value can never forge an output line
    or send a terminal escape sequence: ``"RT-9\\nRT-1"``.  A value longer
    than :data:`MAX_SHOWN` characters is cut: ``"xxxx…" (15,000,000 characters)``.
    """
    if not isinstance(text, str):
        return show(text)
    head, tail = _cut(text)
    # json.dumps escapes C0 controls; DEL and the C1 controls (a terminal
    # reads \x9b as CSI) must not pass either.
    quoted = json.dumps(head, ensure_ascii=False)
    return _C1.sub(lambda m: f"\\u{ord(m[0]):04x}", quoted) + tail


def show(value: object) -> str:
    """A short, TOML-flavoured rendering of *value* for error messages.

    ``true``, ``a table``, ``an array``, ``2026-11-20``, ``"abc"``, ``5``.  A
    string is quoted as :func:`quote` quotes it, in the same double quotes as
    the names and suggestions of a message (``invalid decision "aprove"; did
    you mean "approve"?``), and cut like it; an integer too long to print is
    ``a 5,000-digit integer``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int) and value.bit_length() > 3 * MAX_SHOWN:
        # str() refuses an int past 4,300 digits (about 14,000 bits)
        if value.bit_length() < 14_000:
            return f"a {len(str(abs(value))):,}-digit integer"
        return f"an integer of about {int(value.bit_length() * 0.30103):,} digits"
    head, tail = _cut(repr(value))
    return head + tail


@attrs.frozen
class Issue:
    """A problem found while loading a policy, before it has a line and column.

    The loader collects issues by key path; :func:`returnrules.policy.load` turns
    them into :class:`Problem` once it can map the path to the file.  An issue
    *at_value* is about the value written at *path* (``priority = "high"``)
    and is shown where the value starts; else it is shown at the key.
    """

    path: PathKey
    message: str
    code: str
    severity: Severity = "error"
    at_value: bool = False


@attrs.frozen
class Problem:
    """One problem of a policy, at a place in its file.

    ``str(problem)`` is the checker's line: ``rules.toml:12:5: error: MESSAGE``.
    """

    file: str
    line: int
    col: int
    message: str
    code: str
    severity: Severity = "error"
    path: PathKey = ()

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message}"


class PolicyError(Exception):
    """A policy could not be loaded; ``.problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        head = f"{len(errors)} error{'s' if len(errors) != 1 else ''} in policy"
        super().__init__("\n".join([head, *map(str, self.problems)]))

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")


@attrs.frozen
class RequestProblem:
    """One problem of a request: where (a key path) and what."""

    path: PathKey
    message: str
    code: str

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}"


class RequestError(ValueError):
    """A request (or a data file) is invalid; ``.problems`` lists every problem.

    ``source`` names the file (or ``<stdin>``, ``file.jsonl:12``) when known.
    """

    def __init__(self, problems: Sequence[RequestProblem], source: str = "") -> None:
        self.problems: tuple[RequestProblem, ...] = tuple(problems)
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        return "\n".join(f"{prefix}{p}" for p in self.problems)

    def with_source(self, source: str) -> RequestError:
        """The same problems, attributed to *source* (a file name)."""
        return RequestError(self.problems, source)
