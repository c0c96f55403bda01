"""Read request and data files: TOML or JSON by extension, ``-`` for stdin.

Nothing here raises for a user's mistake except :class:`RequestError`, whose
``source`` names the file (``req.toml``, ``batch.jsonl:12``, ``<stdin>``, or
``req.toml:3:7`` for a syntax error at a known place): a missing file, a
directory, bad UTF-8, bad TOML or JSON, a file larger than :data:`MAX_BYTES`
or nested too deeply, and a document that is not a table are all reported
that way, never as a traceback.  The reading is :mod:`returnrules.files.read`'s.

* ``.toml`` and ``.json`` hold one request (or one data table);
* ``.jsonl`` holds one JSON request per line (blank lines are skipped), and a
  bad line, or one longer than :data:`MAX_BYTES`, is reported as
  ``FILE:LINENO`` without stopping the others;
* ``-`` is one JSON request read from standard input.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final

import attrs

from returnrules.files import read
from returnrules.files.read import ReadError
from returnrules.model.errors import RequestError, RequestProblem

__all__ = [
    "DATA_SUFFIXES",
    "REQUEST_SUFFIXES",
    "STDIN",
    "read_data",
    "read_document",
    "read_requests",
]

STDIN: Final = "-"
STDIN_NAME: Final = "<stdin>"
REQUEST_SUFFIXES: Final = (".toml", ".json", ".jsonl")
DATA_SUFFIXES: Final = (".toml", ".json")
MAX_BYTES: Final = 16 * 1024 * 1024
"""The most a request or data file, or one line of a ``.jsonl`` file, may hold."""


@attrs.frozen
class JsonLine:
    """One line of a ``.jsonl`` file, read but not yet decoded.

    A batch on several cores hands these to its workers, so that the JSON is
    decoded there and not in the one process that reads and prints.
    """

    text: str
    source: str
    line: int

    def load(self) -> Mapping[str, Any]:
        """The request; raises RequestError (with ``SOURCE:LINE:COL``) if it is bad."""
        return parse_json(self.text, self.source, line=self.line)


Loaded = Mapping[str, Any] | RequestError | JsonLine
"""A request mapping, the error that stands in its place, or a line to decode."""


def _error(source: str, message: str, code: str = "unreadable") -> RequestError:
    return RequestError([RequestProblem((), message, code)], source)


def _failed(source: str, exc: ReadError, line: int | None = None) -> RequestError:
    """What the reader could not do, as the error of the request *source*.

    *line* is the line of a ``.jsonl`` file the text came from.
    """
    where = source
    if line is not None or exc.line is not None:
        where += f":{line or exc.line}"
        if exc.col is not None:
            where += f":{exc.col}"
    if exc.kind == "unreadable":
        return _error(where, f"cannot read file: {exc.message}")
    if exc.kind == "directory":
        return _error(where, "is a directory, not a file")
    if exc.kind == "encoding":
        return _error(where, "not valid UTF-8 text")
    if exc.kind == "too-large":
        return _error(where, exc.message, "too-large")
    if exc.kind == "too-deep":
        return _error(where, exc.message, "too-deep")
    return _error(where, exc.message, "syntax")


def _table(value: object, source: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        kind = "an array" if isinstance(value, list) else type(value).__name__
        raise _error(
            source, f"expected {what} (a JSON object), got {kind}", "bad-value"
        )
    return value


def parse_json(
    text: str, source: str, what: str = "a request", *, line: int | None = None
) -> Mapping[str, Any]:
    """One JSON object; a syntax error is reported at ``SOURCE:LINE:COL``.

    *line* is the line number of *text* in its file (for JSON Lines).
    """
    try:
        value = read.parse_json(text)
    except ReadError as exc:
        raise _failed(source, exc, line) from None
    return _table(value, source if line is None else f"{source}:{line}", what)


def _suffix(path: Path, source: str, allowed: tuple[str, ...]) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        kinds = ", ".join(allowed)
        shown = f'"{path.suffix}"' if path.suffix else "no extension"
        raise _error(
            source,
            f"cannot tell the format from {shown}: name the file {kinds}",
            "bad-format",
        )
    return suffix


def read_document(
    path: str | Path,
    *,
    what: str = "a request",
    allowed: tuple[str, ...] = DATA_SUFFIXES,
) -> Mapping[str, Any]:
    """Read one ``.toml`` or ``.json`` document as a mapping (RequestError if not)."""
    source = str(path)
    suffix = _suffix(Path(path), source, allowed)
    try:
        text = read.read_text(path, MAX_BYTES)
        if suffix == ".toml":
            return read.parse_toml(text)
    except ReadError as exc:
        raise _failed(source, exc) from None
    return parse_json(text, source, what)


def read_data(path: str | Path) -> Mapping[str, Any]:
    """A ``--data`` file: stock levels, supplier terms... as one table."""
    return read_document(path, what="a data table")


def _jsonl(path: Path, source: str, lazy: bool) -> Iterator[tuple[str, Loaded]]:
    if path.is_dir():
        yield source, _error(source, "is a directory, not a file")
        return
    try:
        stream = path.open("rb")
    except OSError as exc:
        yield source, _error(source, f"cannot read file: {exc.strerror}")
        return
    with stream:
        lines = read.read_lines(stream, MAX_BYTES)
        for number, text in enumerate(lines, start=1):
            where = f"{source}:{number}"
            if isinstance(text, ReadError):
                yield where, _failed(source, text, number)
                continue
            if not text.strip():
                continue
            if lazy:
                yield where, JsonLine(text, source, number)
                continue
            try:
                yield where, parse_json(text, source, line=number)
            except RequestError as exc:
                yield where, exc


def _stdin(stdin: IO[bytes] | None) -> Mapping[str, Any]:
    if stdin is None:
        raise _error(STDIN_NAME, "standard input is not available")
    try:
        text = read.decode(read.read_stream(stdin, MAX_BYTES))
    except ReadError as exc:
        raise _failed(STDIN_NAME, exc) from None
    if not text.strip():
        raise _error(STDIN_NAME, "no request on standard input (expected JSON)")
    return parse_json(text, STDIN_NAME)


def read_requests(
    spec: str, stdin: IO[bytes] | None = None, *, lazy: bool = False
) -> Iterator[tuple[str, Loaded]]:
    """The requests named by one command-line argument, lazily.

    Yields ``(source, mapping)`` for each request, or ``(source, RequestError)``
    in its place; one bad request never stops the others.  With *lazy*, the
    lines of a ``.jsonl`` file come as :class:`JsonLine`, decoded by whoever
    evaluates them.
    """
    if spec == STDIN:
        try:
            yield STDIN_NAME, _stdin(stdin)
        except RequestError as exc:
            yield STDIN_NAME, exc
        return
    path = Path(spec)
    if path.is_dir():
        yield spec, _error(spec, "is a directory, not a request file")
        return
    try:
        suffix = _suffix(path, spec, REQUEST_SUFFIXES)
    except RequestError as exc:
        yield spec, exc
        return
    if suffix == ".jsonl":
        yield from _jsonl(path, spec, lazy)
        return
    try:
        yield spec, read_document(path, allowed=REQUEST_SUFFIXES)
    except RequestError as exc:
        yield spec, exc
