"""Tests for returnrules.files.positions: source positions of TOML keys."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterator

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from returnrules.files.nesting import MAX_NESTING, too_deep
from returnrules.files.positions import (
    MAX_PATH,
    Path,
    key_positions,
    locate,
    locate_value,
    positions,
)


def lines(*source: str) -> str:
    """Join source lines; keeps the line numbers of the cases easy to read."""
    return "\n".join(source) + "\n"


def walk(obj: object, prefix: Path = ()) -> Iterator[Path]:
    """Every path (dict keys and list indices) in a tomllib result."""
    items: list[tuple[str | int, object]] = []
    if isinstance(obj, dict):
        items = list(obj.items())
    elif isinstance(obj, list):
        items = list(enumerate(obj))
    for name, child in items:
        yield (*prefix, name)
        yield from walk(child, (*prefix, name))


CASES: dict[str, tuple[str, dict[Path, tuple[int, int]]]] = {
    "top-level keys": (
        lines("a = 1", "  b = 'x'", "", "c=true"),
        {("a",): (1, 1), ("b",): (2, 3), ("c",): (4, 1)},
    ),
    "dotted and quoted keys": (
        lines("when.all = 1", '"a.b" = 2', r"""'x' . "y\"z\u4e2d" = 3"""),
        {
            ("when",): (1, 1),
            ("when", "all"): (1, 6),
            ("a.b",): (2, 1),
            ("x",): (3, 1),
            ("x", 'y"z中'): (3, 7),
        },
    ),
    "table headers": (
        lines(
            "[policy]",
            'name = "p"',
            "[vocab.reason]",
            "x = 1",
            '[stock."BOSCH-0986494"]',
            "qty = 3",
            "[ spaced . 'lit' ]  # [not.a.table]",
        ),
        {
            ("policy",): (1, 2),
            ("policy", "name"): (2, 1),
            ("vocab",): (3, 2),
            ("vocab", "reason"): (3, 8),
            ("vocab", "reason", "x"): (4, 1),
            ("stock",): (5, 2),
            ("stock", "BOSCH-0986494"): (5, 8),
            ("stock", "BOSCH-0986494", "qty"): (6, 1),
            ("spaced",): (7, 3),
            ("spaced", "lit"): (7, 12),
        },
    ),
    "arrays of tables": (
        lines(
            "[[rule]]",
            'id = "a"',
            "[[rule]]",
            'id = "b"',
            "[[ rule ]]",
            'id = "c"',
            "[rule.when]",
            'fact = "x"',
            "[[order.lines]]",
            "sku = 1",
            "[[order.lines]]",
            "sku = 2",
        ),
        {
            ("rule",): (1, 3),
            ("rule", 0): (1, 3),
            ("rule", 0, "id"): (2, 1),
            ("rule", 1): (3, 3),
            ("rule", 1, "id"): (4, 1),
            ("rule", 2): (5, 4),
            ("rule", 2, "id"): (6, 1),
            ("rule", 2, "when"): (7, 7),
            ("rule", 2, "when", "fact"): (8, 1),
            ("order",): (9, 3),
            ("order", "lines"): (9, 9),
            ("order", "lines", 0): (9, 9),
            ("order", "lines", 0, "sku"): (10, 1),
            ("order", "lines", 1): (11, 9),
            ("order", "lines", 1, "sku"): (12, 1),
        },
    ),
    "nested arrays of tables": (
        lines(
            "[[rule]]",
            "[[rule.then]]",
            "x = 1",
            "[[rule]]",
            "[[rule.then]]",
            "[[rule.then]]",
            "y = 2",
        ),
        {
            ("rule",): (1, 3),
            ("rule", 0): (1, 3),
            ("rule", 0, "then"): (2, 8),
            ("rule", 0, "then", 0): (2, 8),
            ("rule", 0, "then", 0, "x"): (3, 1),
            ("rule", 1): (4, 3),
            ("rule", 1, "then"): (5, 8),
            ("rule", 1, "then", 0): (5, 8),
            ("rule", 1, "then", 1): (6, 8),
            ("rule", 1, "then", 1, "y"): (7, 1),
        },
    ),
    "first position wins": (
        lines("[a.b]", "x = 1", "[a]", "c.d = 2", "c.e = 3"),
        {
            ("a",): (1, 2),
            ("a", "b"): (1, 4),
            ("a", "b", "x"): (2, 1),
            ("a", "c"): (4, 1),
            ("a", "c", "d"): (4, 3),
            ("a", "c", "e"): (5, 3),
        },
    ),
    "arrays": (
        lines(
            'in = ["opened", "installed"]',
            "nested = [ [1, 2], [ ], [[3]] ]",
            "multi = [",
            "  1,  # one, [two] = 3",
            '  "x" , # comment',
            "  [ 'y',",
            '    "z" ],',
            "]",
        ),
        {
            ("in",): (1, 1),
            ("in", 0): (1, 7),
            ("in", 1): (1, 17),
            ("nested",): (2, 1),
            ("nested", 0): (2, 12),
            ("nested", 0, 0): (2, 13),
            ("nested", 0, 1): (2, 16),
            ("nested", 1): (2, 20),
            ("nested", 2): (2, 25),
            ("nested", 2, 0): (2, 26),
            ("nested", 2, 0, 0): (2, 27),
            ("multi",): (3, 1),
            ("multi", 0): (4, 3),
            ("multi", 1): (5, 3),
            ("multi", 2): (6, 3),
            ("multi", 2, 0): (6, 5),
            ("multi", 2, 1): (7, 5),
        },
    ),
    "inline tables": (
        lines(
            'then = [ { action = "refund", fee_percent = 15 } ]',
            "point = { x = 1, y.z = { w = [true, false] } }",
            "empty = {}",
        ),
        {
            ("then",): (1, 1),
            ("then", 0): (1, 10),
            ("then", 0, "action"): (1, 12),
            ("then", 0, "fee_percent"): (1, 31),
            ("point",): (2, 1),
            ("point", "x"): (2, 11),
            ("point", "y"): (2, 18),
            ("point", "y", "z"): (2, 20),
            ("point", "y", "z", "w"): (2, 26),
            ("point", "y", "z", "w", 0): (2, 31),
            ("point", "y", "z", "w", 1): (2, 37),
            ("empty",): (3, 1),
        },
    ),
    "strings and scalars are skipped": (
        lines(
            r's1 = "a \" b \\"',
            r"s2 = 'C:\path'",
            's3 = """',
            "[[rule]]",
            "key = 1",
            '"""',
            "s4 = '''",
            "x = 2 '''",
            's5 = """quote "" inside"""""',
            "s6 = ''''quoted' '''",
            "d1 = 2026-11-20T10:00:00+08:00",
            "d2 = 2026-11-20 10:00:00Z # c = 1",
            "d3 = 2026-11-20",
            "t = 10:00:00",
            "f = [inf, -inf, nan, +1.5e-3, 0xDEAD_beef, 0o755, 0b1010, 1_000, "
            "true, false]",
            'end = "中文 # not a comment"',
            's7 = """line \\',
            '  continued \\""" = 1"""',
            "after = 1",
        ),
        {
            ("s1",): (1, 1),
            ("s2",): (2, 1),
            ("s3",): (3, 1),
            ("s4",): (7, 1),
            ("s5",): (9, 1),
            ("s6",): (10, 1),
            ("d1",): (11, 1),
            ("d2",): (12, 1),
            ("d3",): (13, 1),
            ("t",): (14, 1),
            ("f",): (15, 1),
            ("f", 0): (15, 6),
            ("f", 1): (15, 11),
            ("f", 2): (15, 17),
            ("f", 3): (15, 22),
            ("f", 4): (15, 31),
            ("f", 5): (15, 44),
            ("f", 6): (15, 51),
            ("f", 7): (15, 59),
            ("f", 8): (15, 66),
            ("f", 9): (15, 72),
            ("end",): (16, 1),
            ("s7",): (17, 1),
            ("after",): (19, 1),
        },
    ),
    "realistic policy": (
        lines(
            "# 退单规则 rules.toml  [[rule]] a = 1",
            "[policy]",
            'name = "默认退货政策"  # 名称 = 中文, [not a table]',
            "",
            "[vocab.reason]",
            'damaged = "货物损坏"',
            "",
            '[stock."BOSCH-0986494"]',
            "restock_fee = 0.1",
            "",
            "[[rule]]",
            'id = "opened-electrical"',
            'note = """',
            "多行说明:",
            "[[rule]]",
            "key = 1",
            '"""',
            "when.all = [",
            '  { fact = "item.state", in = ["opened", "installed"] },  # 已拆封',
            '  { fact = "order.placed_at", after = 2026-11-20T10:00:00+08:00 },',
            "]",
            "",
            "[[rule]]",
            'id = "无理由"',
            'then = [ { reason = "拆封", fee_percent = 15, "原因" = "质量" } ]',
            "",
            "[[rule]]",
            "[rule.when]",
            "all = [",
            '    { fact = "days_since_delivery", gt = 30 },',
            "]",
        ),
        {
            ("policy",): (2, 2),
            ("policy", "name"): (3, 1),
            ("vocab",): (5, 2),
            ("vocab", "reason"): (5, 8),
            ("vocab", "reason", "damaged"): (6, 1),
            ("stock",): (8, 2),
            ("stock", "BOSCH-0986494"): (8, 8),
            ("stock", "BOSCH-0986494", "restock_fee"): (9, 1),
            ("rule",): (11, 3),
            ("rule", 0): (11, 3),
            ("rule", 0, "id"): (12, 1),
            ("rule", 0, "note"): (13, 1),
            ("rule", 0, "when"): (18, 1),
            ("rule", 0, "when", "all"): (18, 6),
            ("rule", 0, "when", "all", 0): (19, 3),
            ("rule", 0, "when", "all", 0, "fact"): (19, 5),
            ("rule", 0, "when", "all", 0, "in"): (19, 26),
            ("rule", 0, "when", "all", 0, "in", 0): (19, 32),
            ("rule", 0, "when", "all", 0, "in", 1): (19, 42),
            ("rule", 0, "when", "all", 1): (20, 3),
            ("rule", 0, "when", "all", 1, "fact"): (20, 5),
            ("rule", 0, "when", "all", 1, "after"): (20, 31),
            ("rule", 1): (23, 3),
            ("rule", 1, "id"): (24, 1),
            ("rule", 1, "then"): (25, 1),
            ("rule", 1, "then", 0): (25, 10),
            ("rule", 1, "then", 0, "reason"): (25, 12),
            ("rule", 1, "then", 0, "fee_percent"): (25, 27),
            ("rule", 1, "then", 0, "原因"): (25, 45),
            ("rule", 2): (27, 3),
            ("rule", 2, "when"): (28, 7),
            ("rule", 2, "when", "all"): (29, 1),
            ("rule", 2, "when", "all", 0): (30, 5),
            ("rule", 2, "when", "all", 0, "fact"): (30, 7),
            ("rule", 2, "when", "all", 0, "gt"): (30, 37),
        },
    ),
}


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_key_positions(
    text: str, expected: dict[Path, tuple[int, int]], newline: str
) -> None:
    text = text.replace("\n", newline)
    # The expectations list every path tomllib produces, and nothing else.
    assert set(walk(tomllib.loads(text))) == set(expected)
    assert key_positions(text) == expected


def test_values_are_located_where_they_start() -> None:
    text = lines(
        "version = 1",
        "[[rule]]",
        'id = "a"',
        'priority   =   "high"',
        'when.all = [ { fact = "line.qty", gt = 2 },',
        "  { check = 'x' } ]",
        'then = { action = "refund", fee_min = "x" }',
    )
    found = positions(text)
    assert found.keys == key_positions(text)
    assert found.values == {
        ("version",): (1, 11),
        ("rule", 0, "id"): (3, 6),
        ("rule", 0, "priority"): (4, 16),
        ("rule", 0, "when", "all"): (5, 12),
        ("rule", 0, "when", "all", 0): (5, 14),
        ("rule", 0, "when", "all", 0, "fact"): (5, 23),
        ("rule", 0, "when", "all", 0, "gt"): (5, 40),
        ("rule", 0, "when", "all", 1): (6, 3),
        ("rule", 0, "when", "all", 1, "check"): (6, 13),
        ("rule", 0, "then"): (7, 8),
        ("rule", 0, "then", "action"): (7, 19),
        ("rule", 0, "then", "fee_min"): (7, 39),
    }
    # a [[table]] has only its key; a path not written is at the longest
    # prefix that is, its value first
    assert locate_value(found, ("rule", 0, "priority")) == (4, 16)
    assert locate_value(found, ("rule", 0)) == (2, 3)
    assert locate_value(found, ("rule", 0, "then", "nope")) == (7, 8)
    assert locate_value(found, ("rule", 0, "id", 0)) == (3, 6)
    assert locate_value(found, ("nope",)) == (1, 1)


def test_empty_document() -> None:
    assert key_positions("") == {}
    assert key_positions("# only a comment\n\n") == {}


POLICY, _ = CASES["realistic policy"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("rule", 0, "when", "all", 1, "fact"), (20, 5)),
        (["rule", 0, "when", "all", 1, "fact"], (20, 5)),
        (("rule", 0, "when", "all", 1, "missing", 3), (20, 3)),
        (("rule", 0, "when", "all", 7, "fact"), (18, 6)),
        (("rule", 9), (11, 3)),
        (("nope", "rule"), (1, 1)),
        ((), (1, 1)),
    ],
)
def test_locate(
    path: tuple[str | int, ...] | list[str | int], expected: tuple[int, int]
) -> None:
    assert locate(key_positions(POLICY), path) == expected


def test_locate_empty_positions() -> None:
    assert locate({}, ("a", 0)) == (1, 1)


def test_invalid_input_stops_without_raising() -> None:
    assert key_positions("a = 1\nb = [1, 2\n") == {
        ("a",): (1, 1),
        ("b",): (2, 1),
        ("b", 0): (2, 6),
        ("b", 1): (2, 9),
    }
    assert key_positions('a = 1\n"unterminated = 2\nc = 3') == {("a",): (1, 1)}
    assert key_positions("[" * 5000) == {}
    deep = key_positions("a = " + "[" * 5000)  # too deep to recurse into
    assert deep[("a",)] == (1, 1)


def test_a_path_longer_than_max_path_stops_the_scan() -> None:
    # Each path is a new tuple: recording a key of n parts costs n², so a key
    # of 40 000 parts took gigabytes; the scan now stops at MAX_PATH.
    positions = key_positions("x" + ".a" * 40_000 + " = 1\n")
    assert len(positions) == MAX_PATH
    assert locate(positions, ("x", *["a"] * 300)) == (1, 2 * MAX_PATH - 1)
    assert len(key_positions("x = " + "[" * 40_000 + "]" * 40_000)) == MAX_PATH


def test_a_document_as_deep_as_the_readers_allow_is_mapped_whole() -> None:
    key = ".".join(["a"] * (MAX_NESTING - 1))
    text = "".join(f"k{i}.{key} = [{{ b = 1 }}]\n" for i in range(500))
    positions = key_positions(text)
    assert len(positions) == 500 * (MAX_NESTING + 2)
    assert positions[("k499", *key.split("."), 0, "b")] == (500, 6 + len(key) + 6)
    # Arrays of tables: a header may extend one, so that its path runs deeper
    # than the readers count.
    headers = "".join(f"[[{'.'.join(['t'] * n)}]]\n" for n in range(1, MAX_NESTING))
    assert too_deep(headers) is None
    deepest = ("t", 0) * (MAX_NESTING - 1)
    assert key_positions(headers)[deepest] == (MAX_NESTING - 1, 2 * MAX_NESTING - 1)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab =[]{},.\"'#\n\\1", max_size=40))
def test_never_raises(text: str) -> None:
    key_positions(text)


# --- property: agrees with tomllib on whatever tomli_w writes -----------------------

KEYS = st.sampled_from(
    ["a", "b", "rule", "x-y", "1", "a.b", "", " ", 'q"t', "中文", "it's", "t\\n", "#["]
)
SCALARS: st.SearchStrategy[object] = st.one_of(
    st.integers(),
    st.booleans(),
    st.floats(),
    st.text(alphabet="ab \"'\\\n\t[]=#{},.中", max_size=8),
    st.dates(),
    st.times(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3)
    ),
    max_leaves=12,
)


def offset(text: str, position: tuple[int, int]) -> int:
    line, column = position
    return sum(len(s) + 1 for s in text.split("\n")[: line - 1]) + column - 1


@settings(max_examples=200, deadline=None)
@given(
    doc=st.dictionaries(KEYS, VALUES, max_size=4),
    multiline=st.booleans(),
    crlf=st.booleans(),
)
def test_matches_tomllib(doc: dict[str, object], multiline: bool, crlf: bool) -> None:
    text = tomli_w.dumps(doc, multiline_strings=multiline)
    if crlf:
        text = text.replace("\n", "\r\n")
    positions = key_positions(text)
    assert set(positions) == set(walk(tomllib.loads(text)))
    for path, position in positions.items():
        at = text[offset(text, position) :]
        name = path[-1]
        if isinstance(name, str):
            written = tomli_w.dumps({name: 0}).removesuffix(" = 0\n")
            assert at.startswith(written), (path, position)
        else:
            assert at[:1] not in ("", " ", "\t", "\r", "\n", ",", "]", "#"), path


@settings(max_examples=200, deadline=None)
@given(doc=st.dictionaries(KEYS, VALUES, max_size=4), crlf=st.booleans())
def test_value_positions_match_tomllib(doc: dict[str, object], crlf: bool) -> None:
    text = tomli_w.dumps(doc)
    if crlf:
        text = text.replace("\n", "\r\n")
    found = positions(text)
    parsed = tomllib.loads(text)
    assert set(found.values) <= set(walk(parsed))
    for path, position in found.values.items():
        value: object = parsed
        for part in path:
            value = value[part]  # type: ignore[index]
        first = text[offset(text, position)]
        if isinstance(value, dict):
            assert first == "{", (path, position)  # an inline table
        elif isinstance(value, list):
            assert first == "[", (path, position)
        elif isinstance(value, str):
            assert first in "\"'", (path, position)
        elif isinstance(value, bool):
            assert first == ("t" if value else "f"), (path, position)
        else:  # a number, a date or a time
            assert first in "+-0123456789in", (path, position)
