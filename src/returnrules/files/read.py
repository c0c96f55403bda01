"""Reading TOML and JSON files: the one reader for policies, requests, data and cases.

Every step is bounded, so no file can make returnrules read, hold or parse
without end:

* bytes are read up to a limit, from the open file: a device such as
  ``/dev/zero``, a pipe or a symlink to either is stopped at ``limit + 1``
  bytes (a regular file larger than the limit is refused unread);
* the bytes are decoded as UTF-8 (a byte-order mark is allowed), an error
  located at its line;
* nesting is checked before parsing (:mod:`returnrules.files.nesting`), then
  the text is parsed as TOML or JSON, a syntax error located at its line and
  column;
* the lines of a JSON Lines file are read one at a time, each up to a limit.

Failures raise :class:`ReadError`; each caller words it as its own error (a
policy problem, a request error, a case-file problem).
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final, Literal

from returnrules.files.nesting import MAX_NESTING, too_deep
from returnrules.files.positions import syntax_error_position

__all__ = [
    "Failure",
    "ReadError",
    "decode",
    "lines_in",
    "parse_json",
    "parse_toml",
    "read_bytes",
    "read_lines",
    "read_stream",
    "read_text",
]

Failure = Literal[
    "unreadable", "directory", "too-large", "encoding", "syntax", "too-deep"
]

SKIP: Final = 64 * 1024
"""Bytes read at a time while skipping the rest of an over-long line."""


class ReadError(Exception):
    """Why a file could not be read or parsed, and where, when that is known.

    *kind* says what failed; *message* says it in words every caller can use
    as they are (``invalid TOML: ...``, ``larger than 100 bytes``) or after a
    word of its own (``cannot read policy: No such file or directory``).
    """

    def __init__(
        self,
        kind: Failure,
        message: str,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: Failure = kind
        self.message = message
        self.line = line
        self.col = col


def _larger(limit: int) -> ReadError:
    return ReadError("too-large", f"larger than {limit} bytes")


def read_stream(stream: IO[bytes], limit: int) -> bytes:
    """At most *limit* bytes of *stream*; more is a ``too-large`` ReadError."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _larger(limit)
    return data


def read_bytes(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the file at *path*, at most *limit* of them.

    The size a file claims is used only to refuse a large regular file without
    reading it; the bound itself is the reading.
    """
    try:
        with open(path, "rb") as stream:
            info = os.fstat(stream.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                raise _larger(limit)
            return read_stream(stream, limit)
    except IsADirectoryError as exc:
        raise ReadError("directory", exc.strerror or "Is a directory") from None
    except OSError as exc:
        raise ReadError("unreadable", exc.strerror or type(exc).__name__) from None


def decode(data: bytes, *, bom: bool = True) -> str:
    """*data* as UTF-8 text (a leading byte-order mark dropped when *bom*)."""
    try:
        return data.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ReadError("encoding", "not valid UTF-8", line) from None


def read_text(path: str | os.PathLike[str], limit: int) -> str:
    """The text of the file at *path*: :func:`read_bytes`, then :func:`decode`."""
    return decode(read_bytes(path, limit))


def _check_nesting(text: str, *, json: bool = False) -> None:
    at = too_deep(text, json=json)
    if at is not None:
        line = text.count("\n", 0, at) + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        message = f"keys and arrays nest deeper than {MAX_NESTING} levels"
        raise ReadError("too-deep", message, line, col)


def parse_toml(text: str) -> dict[str, Any]:
    """A TOML document, its nesting checked before :mod:`tomllib` parses it."""
    _check_nesting(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, message = syntax_error_position(str(exc), text)
        raise ReadError("syntax", f"invalid TOML: {message}", line, col) from None
    except RecursionError:  # below MAX_NESTING only if the stack is nearly full
        raise ReadError("syntax", "invalid TOML: nested too deeply") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
"""``json.loads(text, parse_constant=...)``, without a new decoder per text."""


def parse_json(text: str) -> Any:
    """A JSON value (``NaN`` and ``Infinity`` refused), its nesting checked."""
    _check_nesting(text, json=True)
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ReadError(
            "syntax", f"invalid JSON: {exc.msg}", exc.lineno, exc.colno
        ) from None
    except (ValueError, RecursionError) as exc:
        raise ReadError("syntax", f"invalid JSON: {exc}") from None


def _skips_long_lines(stream: IO[bytes]) -> bool:
    """Whether the rest of an over-long line of *stream* can be skipped: a
    regular file or a pipe ends, a device such as ``/dev/zero`` may never."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError):  # not a real file: a test's BytesIO ends
        return True
    return stat.S_ISREG(mode) or stat.S_ISFIFO(mode)


def _raw_lines(stream: IO[bytes], limit: int) -> Iterator[bytes | ReadError]:
    skip = _skips_long_lines(stream)
    while line := stream.readline(limit + 1):
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        yield ReadError("too-large", f"line longer than {limit} bytes")
        if not skip:
            return
        while (rest := stream.readline(SKIP)) and not rest.endswith(b"\n"):
            pass


def read_lines(stream: IO[bytes], limit: int) -> Iterator[str | ReadError]:
    """The lines of *stream* as text, each at most *limit* bytes.

    A line that is too long or not UTF-8 gives a ReadError in its place (line
    numbers count it).  An over-long line is skipped to its newline, never held
    whole; on a device that has no end it ends the reading instead.
    """
    for number, line in enumerate(_raw_lines(stream, limit), start=1):
        if isinstance(line, ReadError):
            yield line
            continue
        try:
            yield decode(line, bom=number == 1)
        except ReadError as exc:
            yield exc


def lines_in(path: str | Path, limit: int) -> int | None:
    """How many lines that are not blank the file at *path* holds (over-long
    ones included), read *limit* bytes at a time; None unless it is a regular
    file, which can be read twice.  Anything else is not even opened: opening
    a named pipe waits for its writer, and closing it again breaks the pipe."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as stream:
            return sum(
                1
                for line in _raw_lines(stream, limit)
                if isinstance(line, ReadError) or line.strip()
            )
    except OSError:
        return None
