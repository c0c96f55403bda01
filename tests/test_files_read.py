"""The one reader of TOML and JSON files (``returnrules.files.read``) and its
nesting scan (``returnrules.files.nesting``): bounded in bytes, lines and depth.

What each caller makes of a :class:`ReadError` (policy problems, request
errors, case-file problems) is tested in ``test_hostile_input.py``.
"""

from __future__ import annotations

import io
import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from returnrules.files import read
from returnrules.files.nesting import MAX_NESTING, too_deep
from returnrules.files.read import ReadError

# -- the nesting scan ----------------------------------------------------------------


def depth(text: str, *, json: bool = False) -> int:
    """The smallest limit *text* passes: how deep the scan finds it."""
    limit = 0
    while too_deep(text, json=json, limit=limit) is not None:
        limit += 1
    return limit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = 1", 1),
        ("a.b.c = 1", 3),
        ("a . 'b' . \"c\" = 1", 3),
        ("[a.b]\nc = 1", 3),
        ("[a.b]", 2),
        ("[[a.b]]\nc.d = 1", 5),
        ("[[a]]\n[[a.b.c]]\nx = 1", 5),  # the index of a's element is not counted
        ("x = []", 2),
        ("x = [[1]]", 3),
        ("x = {}", 1),
        ("x = {a.b = {c = 1}}", 4),
        ("x = [{a = 1}, {b.c = [1]}]", 5),
        ("x = 1.5\ny.z = 2", 2),
        ("x = 1979-05-27T07:32:00.999-07:00\ny.z = 2", 2),
        ('[rule]\nwhen = { not = { not = { fact = "x" } } }', 5),
    ],
)
def test_depth_is_the_length_of_the_deepest_key_path(text: str, expected: int) -> None:
    assert depth(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('x = "a.b.c[[[{{{"', 1),
        ("x = 'a.b.c[[['", 1),
        ('x = """a.b\n[[[.\n"""', 1),
        ("x = '''a.b\n[[[.\n'''", 1),
        ('x = """""a.[["""""', 1),
        ("x = '''''a.[['''''", 1),
        ('x = """\na\\"""[[\n"""', 1),
        ('x = "\\"[[["', 1),
        ('"a.b.c" = 1', 1),
        ("'a.b.c' = 1", 1),
        ("# a.b.c.d [[[\nx = 1", 1),
        ("x = 1 # [[[ a.b", 1),
        ("x = [ # [[[ a.b\n 1 ]", 2),
        ('x = ""\ny.z = 1', 2),
    ],
)
def test_dots_and_brackets_in_strings_and_comments_count_for_nothing(
    text: str, expected: int
) -> None:
    assert depth(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [[1]]}', 3),
        ('[{"a": "[[[[{{"}]', 2),
        ('{"a\\"[[": {}}', 2),
    ],
)
def test_json_depth_counts_brackets_outside_strings(text: str, expected: int) -> None:
    assert depth(text, json=True) == expected


def test_the_place_where_the_limit_is_passed_is_found() -> None:
    text = "x" + ".a" * 500 + " = 1"
    assert too_deep(text) == 2 * MAX_NESTING - 1  # the dot before part 101
    assert too_deep("x = " + "[" * 500) == 4 + MAX_NESTING - 1
    assert too_deep("[" * 500, json=True) == MAX_NESTING
    header = "[" + ".".join(["t"] * 500) + "]"
    assert too_deep(header) == 2 * MAX_NESTING


def test_a_string_that_never_closes_ends_the_scan_quietly() -> None:
    # The parser stops there with a syntax error; nothing deeper was parsed.
    assert too_deep('x = "' + "a." * 500) is None
    assert too_deep("x = '''" + "a." * 500) is None
    assert too_deep("[" * 50 + '"' + "[" * 500, json=True) is None
    assert too_deep("[" * 500 + '"', json=True) == MAX_NESTING


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab =[]{},.\"'#\n\\1", max_size=60), st.booleans())
def test_the_scan_never_raises(text: str, as_json: bool) -> None:
    too_deep(text, json=as_json, limit=3)


# Documents written in every form TOML has for nesting: dotted keys, inline
# tables, arrays split over lines with comments, headers; with strings full of
# dots, brackets, quotes and hashes.  The scan must find exactly the depth of
# the structure, and tomllib must read the document back (so the writer writes
# valid TOML).

NASTY = st.text(alphabet="a.[]{}#\"'\\=,\n", max_size=8)
SCALARS = st.one_of(st.integers(-5, 5), st.booleans(), NASTY)
KEYS = st.sampled_from(["a", "b", "a.b", "[x]", "#", "'q'", '"', "中"])
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3)
    ),
    max_leaves=12,
)


def structure_depth(value: object, here: int) -> int:
    """Depth of a value at path length *here*; an array counts for its
    elements even when empty, as the scan (which cannot look ahead) does."""
    if isinstance(value, list):
        return max([here + 1, *(structure_depth(v, here + 1) for v in value)])
    if isinstance(value, dict):
        return max([here, *(structure_depth(v, here + 1) for v in value.values())])
    return here


def toml_key(key: str) -> str:
    return key if key.isalnum() and key.isascii() else json.dumps(key)


def toml_string(text: str, form: int) -> str:
    if form == 1 and "'" not in text and "\n" not in text:
        return f"'{text}'"
    # A newline right after the opening quotes of a multi-line string is
    # not part of it.
    if form == 2 and "'''" not in text and not text.endswith("'"):
        return f"'''\n{text}'''"
    if form == 3:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"""\n{escaped}"""'
    return json.dumps(text)


def inline(value: object, draw: st.DrawFn) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return toml_string(value, draw(st.integers(0, 3)))
    if isinstance(value, list):
        sep = draw(st.sampled_from([", ", ",\n", ", # a.[{'\"\n"]))
        return "[" + sep.join(inline(v, draw) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(keyvals(value, draw, "")) + "}"
    return str(value)


def keyvals(table: dict[str, Any], draw: st.DrawFn, prefix: str) -> list[str]:
    """``key = value`` for each entry; a table is written dotted or inline."""
    out = []
    for key, value in table.items():
        name = prefix + toml_key(key)
        if isinstance(value, dict) and value and draw(st.booleans()):
            out += keyvals(value, draw, name + " . ")
        else:
            out.append(f"{name} = {inline(value, draw)}")
    return out


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    doc = draw(st.dictionaries(KEYS, VALUES, max_size=4))
    plain = {k: v for k, v in doc.items() if not (isinstance(v, dict) and v)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict) and v}
    lines = keyvals(plain, draw, "")
    for key, table in tables.items():  # a table: under a header, or dotted
        if draw(st.booleans()):
            lines += [f"[{toml_key(key)}]  # [[x]] a.b", *keyvals(table, draw, "")]
        else:
            lines[:0] = keyvals(table, draw, toml_key(key) + ".")
    return "\n".join(lines) + "\n", doc


@settings(max_examples=200, deadline=None)
@given(documents())
def test_the_scan_finds_the_depth_of_any_document(
    document: tuple[str, dict[str, Any]],
) -> None:
    text, doc = document
    assert tomllib.loads(text) == doc
    expected = max((structure_depth(v, 1) for v in doc.values()), default=0)
    assert depth(text) == expected


def json_depth(value: object, here: int) -> int:
    """Depth of a JSON value: an object counts for its keys even when empty."""
    if isinstance(value, list | dict):
        items = value.values() if isinstance(value, dict) else value
        return max([here + 1, *(json_depth(v, here + 1) for v in items)])
    return here


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_the_json_scan_finds_the_depth_of_any_value(value: object) -> None:
    assert depth(json.dumps(value), json=True) == json_depth(value, 0)


# -- reading -------------------------------------------------------------------------


def test_a_file_is_read_whole_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_bytes(b"\xef\xbb\xbfa = 1\n")
    assert read.read_text(path, 9) == "a = 1\n"  # the BOM is read, then dropped
    with pytest.raises(ReadError) as info:
        read.read_text(path, 8)
    assert (info.value.kind, info.value.message) == ("too-large", "larger than 8 bytes")


def test_a_device_is_read_only_up_to_the_limit() -> None:
    with pytest.raises(ReadError) as info:
        read.read_bytes("/dev/zero", 1000)
    assert info.value.kind == "too-large"


def test_a_pipe_is_read_only_up_to_the_limit() -> None:
    stream = io.BufferedReader(io.BytesIO(b"y\n" * 10_000))  # as `yes` would write
    with pytest.raises(ReadError) as info:
        read.read_stream(stream, 100)
    assert info.value.kind == "too-large"
    assert stream.tell() == 101


def test_missing_files_and_directories_are_read_errors(tmp_path: Path) -> None:
    with pytest.raises(ReadError) as info:
        read.read_bytes(tmp_path / "missing.toml", 10)
    assert (info.value.kind, info.value.message) == (
        "unreadable",
        "No such file or directory",
    )
    with pytest.raises(ReadError) as info:
        read.read_bytes(tmp_path, 10)
    assert info.value.kind == "directory"


def test_bad_utf8_is_located_at_its_line() -> None:
    with pytest.raises(ReadError) as info:
        read.decode(b"a = 1\nb = 2\nc = '\xff'\n")
    assert (info.value.kind, info.value.line) == ("encoding", 3)


def test_syntax_errors_are_located() -> None:
    with pytest.raises(ReadError) as info:
        read.parse_toml("a = 1\n[b\n")
    assert (info.value.kind, info.value.line, info.value.col) == ("syntax", 2, 3)
    assert info.value.message.startswith("invalid TOML: ")
    with pytest.raises(ReadError) as info:
        read.parse_json('{"a": 1,\n "b" 2}')
    assert (info.value.kind, info.value.line, info.value.col) == ("syntax", 2, 6)
    with pytest.raises(ReadError) as info:
        read.parse_json('{"a": NaN}')
    assert (info.value.message, info.value.line) == (
        "invalid JSON: NaN is not a number JSON allows",
        None,
    )


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        ("a = 1\nx" + ".a" * 200 + " = 1\n", 2, 2 * MAX_NESTING),
        ("x = " + "[" * 200 + "]" * 200, 1, 4 + MAX_NESTING),
        ("[" + ".".join(["t"] * 200) + "]", 1, 2 * MAX_NESTING + 1),
        ("when" + ".not" * 200 + ' = "x"', 1, 4 * MAX_NESTING + 1),
    ],
)
def test_toml_nested_too_deeply_is_refused_before_it_is_parsed(
    text: str, line: int, col: int
) -> None:
    with pytest.raises(ReadError) as info:
        read.parse_toml(text)
    assert (info.value.kind, info.value.line, info.value.col) == ("too-deep", line, col)
    assert (
        info.value.message == f"keys and arrays nest deeper than {MAX_NESTING} levels"
    )


def test_json_nested_too_deeply_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(ReadError) as info:
        read.parse_json('{"a":\n' + "[" * 200 + "]" * 200 + "}")
    assert (info.value.kind, info.value.line, info.value.col) == (
        "too-deep",
        2,
        MAX_NESTING,
    )


def test_a_document_as_deep_as_the_limit_is_parsed() -> None:
    key = ".".join(["a"] * MAX_NESTING)
    assert read.parse_toml(f"{key} = 1")
    assert isinstance(read.parse_json("[" * MAX_NESTING + "]" * MAX_NESTING), list)
    with pytest.raises(ReadError):
        read.parse_toml(f"{key}.a = 1")


# -- lines ---------------------------------------------------------------------------


class Spy(io.BytesIO):
    """A stream that remembers the largest read asked of it."""

    largest = 0

    def readline(self, size: int | None = -1, /) -> bytes:
        assert size is not None  # never "the whole line"
        assert size > 0
        self.largest = max(self.largest, size)
        return super().readline(size)


def test_lines_are_read_each_up_to_the_limit_and_a_long_one_is_skipped() -> None:
    stream = Spy(b'{"a": 1}\n' + b"x" * 1_000_000 + b'\n\n{"b": 2}')
    lines = list(read.read_lines(stream, 100))
    assert lines[0] == '{"a": 1}\n'
    assert isinstance(lines[1], ReadError)
    assert (lines[1].kind, lines[1].message) == (
        "too-large",
        "line longer than 100 bytes",
    )
    assert lines[2:] == ["\n", '{"b": 2}']
    assert stream.largest <= max(101, read.SKIP)


def test_a_line_of_exactly_the_limit_is_read() -> None:
    assert list(read.read_lines(io.BytesIO(b"x" * 100 + b"\nyy"), 100)) == [
        "x" * 100 + "\n",
        "yy",
    ]


def test_a_long_line_on_a_device_without_end_ends_the_reading() -> None:
    with open("/dev/zero", "rb") as stream:
        lines = list(read.read_lines(stream, 1000))
    assert [type(line) for line in lines] == [ReadError]


def test_a_line_that_is_not_utf8_gives_an_error_in_its_place() -> None:
    lines = list(read.read_lines(io.BytesIO(b"\xef\xbb\xbfa\n\xff\n\xef\xbb\xbfb"), 10))
    assert lines[0] == "a\n"  # a BOM is dropped on the first line only
    assert isinstance(lines[1], ReadError)
    assert lines[2] == "\ufeffb"


def test_lines_in_counts_only_regular_files(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_bytes(b"{}\n\n  \n" + b"x" * 50 + b"\n{}")
    assert read.lines_in(path, 10) == 3
    assert read.lines_in(tmp_path / "missing.jsonl", 10) is None
    assert read.lines_in("/dev/zero", 10) is None
    os.mkfifo(tmp_path / "fifo.jsonl")
    assert read.lines_in(tmp_path / "fifo.jsonl", 10) is None  # nor even opened
