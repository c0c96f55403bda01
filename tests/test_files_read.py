"""The nesting scan (``returnrules.files.nesting``) that bounds how deep a
TOML or JSON text may nest before a parser sees it."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from returnrules.files.nesting import MAX_NESTING, too_deep

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
