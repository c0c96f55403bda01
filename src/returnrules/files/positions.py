"""Source positions for the keys of a TOML document.

:mod:`tomllib` turns TOML into plain dicts and lists and forgets where each key was
written.  The policy checker reports problems by *key path*, for example
``("rule", 2, "when", "all", 1, "fact")``, but has to show authors
``rules.toml:LINE:COL:``.  This module is a small, dependency-free scanner that
recovers those positions, and those of the values written after an ``=``
(:func:`positions`): a problem with a key (``unknown key "whne"``) is shown at
the key, a problem with a value (``priority is an integer, got "high"``) at
the value.

It is meant for text that :func:`tomllib.loads` has already accepted, so it assumes
valid TOML and validates nothing itself.  Values are skipped rather than converted;
only arrays and inline tables are entered, so that their elements and keys get
positions too.  Paths mirror the structure :func:`tomllib.loads` returns: array
elements (including each ``[[table]]`` occurrence) are addressed by their 0-based
index.

The scanner never raises.  If it meets something it does not understand (which
cannot happen for valid TOML), or a path longer than :data:`MAX_PATH`, it stops
and returns the positions collected so far; :func:`locate` then falls back to
the longest known prefix of a path.
"""

from __future__ import annotations

import contextlib
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

from returnrules.files.nesting import MAX_NESTING

__all__ = [
    "MAX_PATH",
    "Path",
    "Positions",
    "key_positions",
    "locate",
    "locate_value",
    "positions",
    "syntax_error_position",
]

Path = tuple[str | int, ...]

MAX_PATH: Final = 2 * MAX_NESTING
"""The longest path recorded; the scan stops at a longer one.

Each path is a new tuple, so a key of n parts costs n² to record: the readers
refuse text nested deeper than :data:`MAX_NESTING` before it gets here, and
this bound keeps the cost so on any text.  It is twice the readers' limit
because they do not count the index of an array of tables that a header
extends (``[[a]]`` then ``[[a.b]]`` is at ``("a", 0, "b", 0)``)."""

_BARE_KEY = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
)
# Characters that end a scalar value (number, boolean, date/time, inf, nan).  A
# date-time may contain a space, so whitespace does not end a scalar; trailing
# blanks are simply skipped along with whatever follows.
_SCALAR_END = frozenset(",]}#\r\n")
_ESCAPE = re.compile(
    r"\\(U[0-9A-Fa-f]{8}|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|.)", re.DOTALL
)
_SIMPLE_ESCAPES = {
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    '"': '"',
    "\\": "\\",
}


class _Stop(Exception):
    """Internal: the scanner met input it does not understand."""


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) > 1:  # \uXXXX, \UXXXXXXXX or \xHH
        return chr(int(code[1:], 16))
    return _SIMPLE_ESCAPES.get(code, code)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.positions: dict[Path, tuple[int, int]] = {}
        # Where each value starts: after `key =`, and each array element.
        self.values: dict[Path, tuple[int, int]] = {}
        # Concrete path of every array of tables seen so far -> number of elements.
        self.table_arrays: dict[Path, int] = {}

    def peek(self) -> str:
        """The current character, or "" at the end of the text."""
        return self.text[self.i : self.i + 1]

    def record(
        self, path: Path, offset: int, table: dict[Path, tuple[int, int]] | None = None
    ) -> None:
        """Remember where `path` is written (in *table*, by default the keys'
        positions); the first position wins."""
        if len(path) > MAX_PATH:
            raise _Stop
        line = bisect_right(self.line_starts, offset) - 1
        where = self.positions if table is None else table
        where.setdefault(path, (line + 1, offset - self.line_starts[line] + 1))

    def expect(self, token: str) -> None:
        if not self.text.startswith(token, self.i):
            raise _Stop
        self.i += len(token)

    def skip_blanks(self) -> None:
        """Skip spaces and tabs."""
        while self.peek() in (" ", "\t"):
            self.i += 1

    def skip_trivia(self) -> None:
        """Skip whitespace, newlines and comments."""
        text, end = self.text, len(self.text)
        while self.i < end:
            if text[self.i] in " \t\r\n":
                self.i += 1
            elif text[self.i] == "#":
                newline = text.find("\n", self.i)
                self.i = end if newline < 0 else newline
            else:
                return

    def document(self) -> None:
        table: Path = ()
        while True:
            self.skip_trivia()
            if self.i >= len(self.text):
                return
            if self.text.startswith("[[", self.i):
                self.i += 2
                table = self.header(is_array=True)
                self.expect("]]")
            elif self.peek() == "[":
                self.i += 1
                table = self.header(is_array=False)
                self.expect("]")
            else:
                self.keyval(table)

    def header(self, is_array: bool) -> Path:
        """Read a table header's key and return the concrete path it opens."""
        parts = self.key()
        path: Path = ()
        for n, (name, offset) in enumerate(parts, 1):
            path += (name,)
            self.record(path, offset)
            if n == len(parts) and is_array:
                index = self.table_arrays.get(path, 0)
                self.table_arrays[path] = index + 1
                path += (index,)
                self.record(path, offset)
            elif path in self.table_arrays:  # refers to the latest element
                path += (self.table_arrays[path] - 1,)
        return path

    def key(self) -> list[tuple[str, int]]:
        """Read a (possibly dotted) key: its segments with their offsets."""
        parts: list[tuple[str, int]] = []
        while True:
            self.skip_blanks()
            start = self.i
            if self.peek() in ('"', "'"):
                self.i = self.string_end()
                name = self.text[start + 1 : self.i - 1]
                if self.text[start] == '"':
                    name = _ESCAPE.sub(_unescape, name)
            else:
                while self.peek() in _BARE_KEY:  # "" (end of text) is not
                    self.i += 1
                if self.i == start:
                    raise _Stop
                name = self.text[start : self.i]
            parts.append((name, start))
            self.skip_blanks()
            if self.peek() != ".":
                return parts
            self.i += 1

    def keyval(self, prefix: Path) -> None:
        path = prefix
        for name, offset in self.key():
            path += (name,)
            self.record(path, offset)
        self.expect("=")
        self.value(path)

    def value(self, path: Path) -> None:
        self.skip_blanks()
        self.record(path, self.i, self.values)
        char = self.peek()
        if char == "[":
            self.array(path)
        elif char == "{":
            self.inline_table(path)
        elif char in ('"', "'"):
            self.i = self.string_end()
        else:
            start, text, end = self.i, self.text, len(self.text)
            while self.i < end and text[self.i] not in _SCALAR_END:
                self.i += 1
            if self.i == start:
                raise _Stop

    def array(self, path: Path) -> None:
        self.i += 1  # "["
        index = 0
        while True:
            self.skip_trivia()
            if self.peek() == "]":
                self.i += 1
                return
            if not self.peek():
                raise _Stop
            self.record((*path, index), self.i)
            self.value((*path, index))  # records the element's value position
            index += 1
            self.skip_trivia()
            if self.peek() == ",":
                self.i += 1
            elif self.peek() != "]":
                raise _Stop

    def inline_table(self, path: Path) -> None:
        # TOML 1.0 forbids newlines, comments and a trailing comma in inline tables;
        # TOML 1.1 allows them.  Accepting them costs nothing.
        self.i += 1  # "{"
        while True:
            self.skip_trivia()
            if self.peek() == "}":
                self.i += 1
                return
            self.keyval(path)
            self.skip_trivia()
            if self.peek() == ",":
                self.i += 1
            elif self.peek() != "}":
                raise _Stop

    def string_end(self) -> int:
        """Offset just past the string (any of the four kinds) starting here."""
        text, end = self.text, len(self.text)
        quote = text[self.i]
        triple = text.startswith(quote * 3, self.i)
        i = self.i + (3 if triple else 1)
        while i < end:
            char = text[i]
            if char == "\\" and quote == '"':
                i += 2
            elif char == quote and not triple:
                return i + 1
            elif char == quote and text.startswith(quote * 3, i):
                # Up to two quotes may directly precede the closing delimiter.
                i += 3
                for _ in range(2):
                    if text.startswith(quote, i):
                        i += 1
                return i
            elif char == "\n" and not triple:
                raise _Stop
            else:
                i += 1
        raise _Stop


class Positions(NamedTuple):
    """Where a document's keys and values are written: ``{path: (line, col)}``."""

    keys: dict[Path, tuple[int, int]]
    values: dict[Path, tuple[int, int]]


def positions(text: str) -> Positions:
    """The 1-based (line, column) of every key path of a valid TOML document,
    and of every value written after a key's ``=`` or as an array element.

    Keys: array elements are included under their index, at their first
    character; an element of an array of tables is at the key name in its
    ``[[header]]``.  When a path is written more than once (e.g. ``[a.b]``
    after ``[a]``), the first position is kept.  Values: ``priority = "high"``
    has its key at column 1 and its value at column 12; a table opened by a
    header has no value position.  Columns count code points.  One pass over
    the text; on unexpected input the scan stops early and the positions found
    so far are returned.
    """
    scanner = _Scanner(text)
    with contextlib.suppress(_Stop, RecursionError):
        scanner.document()
    return Positions(scanner.positions, scanner.values)


def key_positions(text: str) -> dict[Path, tuple[int, int]]:
    """The keys' part of :func:`positions`: where each key path is written."""
    return positions(text).keys


def locate(
    positions: Mapping[Path, tuple[int, int]], path: Sequence[str | int]
) -> tuple[int, int]:
    """Position of the longest prefix of `path` that has a position; (1, 1) if none."""
    for length in range(len(path), 0, -1):
        found = positions.get(tuple(path[:length]))
        if found is not None:
            return found
    return (1, 1)


def locate_value(found: Positions, path: Sequence[str | int]) -> tuple[int, int]:
    """Where the value at `path` is written: the longest prefix of `path` with
    a position, its value's if it has one, else its key's (a table opened by a
    header has only a key); (1, 1) if none."""
    for length in range(len(path), 0, -1):
        prefix = tuple(path[:length])
        at = found.values.get(prefix) or found.keys.get(prefix)
        if at is not None:
            return at
    return (1, 1)


_SYNTAX_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = " (at end of document)"


def syntax_error_position(message: str, text: str) -> tuple[int, int, str]:
    """Line, column and bare message of a :class:`tomllib.TOMLDecodeError`.

    tomllib puts the position at the end of its message, or says "at end of
    document", in which case the position just after the last thing written
    is given; (1, 1) when the message names none.
    """
    found = _SYNTAX_POSITION.search(message)
    if found:
        return int(found[1]), int(found[2]), message[: found.start()]
    if message.endswith(_AT_END):
        written = text.rstrip()
        line = written.count("\n") + 1
        return line, len(written) - written.rfind("\n"), message.removesuffix(_AT_END)
    return 1, 1, message
