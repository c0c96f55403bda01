"""Read request and data files: TOML or JSON by extension, ``-`` for stdin.

Nothing here raises for a user's mistake except :class:`RequestError`, whose
``source`` names the file (``req.toml``, ``batch.jsonl:12``, ``<stdin>``, or
``req.toml:3:7`` for a syntax error at a known place): a missing file, a
directory, bad UTF-8, bad TOML or JSON and a document that is not a table are
all reported that way, never as a traceback.

* ``.toml`` and ``.json`` hold one request (or one data table);
* ``.jsonl`` holds one JSON request per line (blank lines are skipped), and a
  bad line is reported as ``FILE:LINENO`` without stopping the others;
* ``-`` is one JSON request read from standard input.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final

import attrs

from returnrules.files.positions import syntax_error_position
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
"""``json.loads(text, parse_constant=...)``, without a new decoder per request."""


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _error(f"{source}:{line}", "not valid UTF-8 text") from None


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
    here = source if line is None else f"{source}:{line}"
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        at = f"{source}:{line or exc.lineno}:{exc.colno}"
        raise _error(at, f"invalid JSON: {exc.msg}", "syntax") from None
    except (ValueError, RecursionError) as exc:
        raise _error(here, f"invalid JSON: {exc}", "syntax") from None
    return _table(value, here, what)


def parse_toml(text: str, source: str) -> Mapping[str, Any]:
    """One TOML document; a syntax error is reported at ``SOURCE:LINE:COL``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, message = syntax_error_position(str(exc), text)
        where = f"{source}:{line}:{col}"
        raise _error(where, f"invalid TOML: {message}", "syntax") from None
    except RecursionError:
        raise _error(source, "invalid TOML: nested too deeply", "syntax") from None


def _read_bytes(path: Path, source: str) -> bytes:
    try:
        if path.is_dir():
            raise _error(source, "is a directory, not a file")
        if path.stat().st_size > MAX_BYTES:
            raise _error(source, f"larger than {MAX_BYTES} bytes", "too-large")
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _error(source, f"cannot read file: {reason}") from None


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
    file = Path(path)
    suffix = _suffix(file, source, allowed)
    text = _decode(_read_bytes(file, source), source)
    if suffix == ".json":
        return parse_json(text, source, what)
    return parse_toml(text, source)


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
        for number, raw in enumerate(stream, start=1):
            where = f"{source}:{number}"
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                yield where, _error(where, "not valid UTF-8 text")
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
        if stdin is None:
            yield STDIN_NAME, _error(STDIN_NAME, "standard input is not available")
            return
        try:
            text = _decode(stdin.read(MAX_BYTES + 1), STDIN_NAME)
            if not text.strip():
                raise _error(STDIN_NAME, "no request on standard input (expected JSON)")
            yield STDIN_NAME, parse_json(text, STDIN_NAME)
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
