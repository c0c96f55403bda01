"""The fast request reader agrees with the converter: same request, or it declines.

``parse_request`` tries a straight-line reader first and falls back to the
cattrs converter for anything it is unsure of.  It must never accept what the
converter rejects, nor build a different request.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import operator
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import returnrules
from returnrules import Request, RequestError, parse_request
from returnrules.model import reader as _request
from tests.conftest import BASE_REQUEST

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CODES = _request._codes(_request.DEFAULT_VOCABULARY_TABLE)


def _examples() -> Iterator[dict[str, Any]]:
    for path in sorted((ROOT / "examples" / "requests").iterdir()):
        if path.suffix == ".toml":
            yield tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".json":
            yield json.loads(path.read_text(encoding="utf-8"))


def slow(
    mapping: Any, vocabularies: Any = None, currency: str | None = None
) -> Request:
    """parse_request with the fast reader switched off."""

    def decline(*args: object) -> Any:
        raise _request._Decline

    original = _request._quick
    _request._quick = decline  # type: ignore[assignment]
    try:
        return parse_request(mapping, vocabularies=vocabularies, currency=currency)
    finally:
        _request._quick = original


def same(a: Request, b: Request) -> bool:
    return a == b and a.pairs == b.pairs and a.currency == b.currency


@pytest.mark.parametrize("mapping", list(_examples()), ids=lambda m: str(m["id"]))
def test_the_fast_reader_reads_every_example_like_the_converter(
    mapping: dict[str, Any],
) -> None:
    policy = returnrules.load_policy(ROOT / "rules.toml")  # it adds reason codes
    assert _request._quick(mapping, "CNY", _request._codes(policy.vocabularies))
    assert same(policy.parse_request(mapping), slow(mapping, policy.vocabularies))


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m["customer"].update(nickname="x"),  # an unknown key
        lambda m: m["order"]["lines"][0].update({1: "x"}),  # a key not a string
        lambda m: m["order"]["lines"][0].pop("sku"),  # a required key missing
        lambda m: m.pop("requested_at"),
        lambda m: m["order"].update(shipping_fee=None, placed_at=None),
    ],
    ids=["unknown", "not-a-string", "missing", "missing-top", "null-required"],
)
def test_the_fast_reader_declines_a_table_with_other_keys(change: Any) -> None:
    """It counts the keys it read instead of comparing key sets: a table
    with a key more, or one less, is the converter's to report."""
    mapping = copy.deepcopy(BASE_REQUEST)
    change(mapping)
    with pytest.raises(_request._Decline):
        _request._quick(mapping, "CNY", DEFAULT_CODES)
    with pytest.raises(RequestError):
        parse_request(mapping)


def test_the_fast_reader_takes_an_optional_key_given_as_null() -> None:
    mapping = copy.deepcopy(BASE_REQUEST)
    mapping["order"]["shipping_fee"] = None
    mapping["order"]["lines"][0]["warranty_days"] = None
    fast = _request._quick(mapping, "CNY", DEFAULT_CODES)
    assert same(fast, slow(mapping))
    assert fast.order.shipping_fee is None


def test_the_fast_reader_reads_the_optional_keys_of_issue_11() -> None:
    mapping = copy.deepcopy(BASE_REQUEST)
    mapping["return_shipping"] = "15.00"
    mapping["order"]["lines"][0]["warranty_days"] = 365
    mapping["order"]["lines"][0]["obsolete"] = True
    fast = _request._quick(mapping, "CNY", DEFAULT_CODES)
    assert same(fast, slow(mapping))
    assert fast.return_shipping == returnrules.Money.of("15.00", "CNY")
    oline = fast.order.lines[0]
    assert (oline.warranty_days, oline.obsolete) == (365, True)
    assert (fast.order.lines[1].warranty_days, fast.order.lines[1].obsolete) == (
        None,
        False,
    )


def test_the_fast_reader_declines_what_it_does_not_know() -> None:
    mapping = copy.deepcopy(BASE_REQUEST)
    mapping["lines"][0]["qty"] = 2.0  # a float: the converter reports it
    with pytest.raises(_request._Decline):
        _request._quick(mapping, "CNY", DEFAULT_CODES)
    with pytest.raises(RequestError, match=r"\$\.lines\[0\]\.qty: expected an integer"):
        parse_request(mapping)


_PATHS = [
    ("id",),
    ("requested_at",),
    ("customer", "id"),
    ("customer", "tier"),
    ("order", "id"),
    ("order", "status"),
    ("order", "channel"),
    ("order", "placed_at"),
    ("order", "shipped_at"),
    ("order", "delivered_at"),
    ("order", "shipping_fee"),
    ("order", "currency"),
    ("order", "lines", 0, "line"),
    ("order", "lines", 0, "qty"),
    ("order", "lines", 0, "unit_price"),
    ("order", "lines", 0, "category"),
    ("order", "lines", 0, "shipped_qty"),
    ("order", "lines", 0, "returned_qty"),
    ("order", "lines", 0, "special_order"),
    ("order", "lines", 0, "supplier"),
    ("order", "lines", 0, "core_charge"),
    ("order", "lines", 0, "warranty_days"),
    ("order", "lines", 0, "obsolete"),
    ("return_shipping",),
    ("lines", 0, "line"),
    ("lines", 0, "qty"),
    ("lines", 0, "reason"),
    ("lines", 0, "condition"),
    ("lines", 0, "packaging"),
    ("lines", 0, "extra"),
]
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10),
    st.integers(min_value=10**11, max_value=10**13),
    st.floats(allow_nan=True),
    st.sampled_from(
        ["", "1", "2.50", " 3", "-1", "1e3", "1_000", "NaN", "wrong_part", "opened",
         "damaged", "brake", "vip", "delivered", "placed", "2026-11-04",
         "2026-11-04T11:00:00+08:00", "2026-11-04T11:00:00", "2026-13-01", "x" * 1001,
         "CNY", "USD", "cny", "+5", ".5", "5.", "1.2.3", "\u0663", "１２", " 12",
         "12 ", "\t12", "-0", "0.000000000000000000000001", "1000.00500001000000000001"]
    ),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["a", "line"]), st.integers(), max_size=2),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    changes=st.lists(st.tuples(st.sampled_from(_PATHS), _VALUES), max_size=3),
    currency=st.sampled_from([None, "CNY", "USD"]),  # the policy's, if any
)
def test_the_fast_reader_never_disagrees_with_the_converter(
    changes: list[tuple[tuple[str | int, ...], object]], currency: str | None
) -> None:
    mapping: Any = copy.deepcopy(BASE_REQUEST)
    for path, value in changes:
        target = mapping
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    def outcome(read: Any) -> Request | tuple[str, ...]:
        try:
            return read(mapping)  # type: ignore[no-any-return]
        except RequestError as exc:
            return tuple(map(str, exc.problems))

    expected = outcome(lambda m: slow(m, currency=currency))
    got = outcome(lambda m: parse_request(m, currency=currency))
    if isinstance(expected, Request) and isinstance(got, Request):
        assert same(got, expected)
    else:
        assert got == expected


def _with(changes: dict[tuple[str | int, ...], object]) -> Any:
    mapping: Any = copy.deepcopy(BASE_REQUEST)
    for path, value in changes.items():
        target = mapping
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mapping


_TWO = [
    {"line": 1, "qty": 1, "reason": "defective", "condition": "opened"},
    {"line": 2, "qty": 1, "reason": "defective", "condition": "opened"},
]

# What only the cross-field checks catch: the fast reader must decline each of
# these, so that the converter path reports exactly what it always reported.
_CROSS_FIELD = {
    "both lines": _with({("lines",): _TWO}),
    "a line listed twice": _with({("lines",): [_TWO[0], dict(_TWO[0])]}),
    "an unknown line": _with({("lines", 0, "line"): 7}),
    "a duplicate order line": _with({("order", "lines", 1, "line"): 1}),
    "shipped more than ordered": _with({("order", "lines", 0, "shipped_qty"): 5}),
    "returned more than shipped": _with({("order", "lines", 0, "returned_qty"): 5}),
    "delivered before placed": _with({("order", "delivered_at"): "2026-10-30"}),
    "requested before delivered": _with(
        {("order", "delivered_at"): "2026-11-21T08:00:00+08:00"}
    ),
    "a bare date on the day it was placed": _with(
        {("order", "delivered_at"): "2026-11-01"}
    ),
    "requested before placed, delivered a bare date": _with(
        {
            ("requested_at",): "2026-11-01T08:00:00+08:00",
            ("order", "delivered_at"): "2026-11-01",
        }
    ),
    "shipped after delivered": _with(
        {("order", "shipped_at"): "2026-11-05T09:00:00+08:00"}
    ),
    "another offset": _with({("order", "delivered_at"): "2026-11-04T03:30:00Z"}),
}


@pytest.mark.parametrize("mapping", _CROSS_FIELD.values(), ids=list(_CROSS_FIELD))
def test_the_cross_field_checks_agree_on_both_readers(mapping: Any) -> None:
    def outcome(read: Any) -> Request | tuple[str, ...]:
        try:
            return read(mapping)  # type: ignore[no-any-return]
        except RequestError as exc:
            return tuple(map(str, exc.problems))

    expected, got = outcome(slow), outcome(parse_request)
    if isinstance(expected, Request) and isinstance(got, Request):
        assert same(got, expected)
    else:
        assert got == expected


def test_the_quick_reader_is_generated_from_the_model_with_inert_source() -> None:
    # One definition of a request (the attrs model); the quick reader is made
    # from it.  Its source holds only names made by the generator.
    import ast

    tree = ast.parse(_request.QUICK_SOURCE)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    made = {"m", "x", "o", "n", "currency", "DECLINE", "ABSENT", "MAX_STRING",
            "MAX_INT", "MAX_LINES", "MOMENT", "INSTANT", "AMOUNT", "NEW", "bool",
            "dict", "int", "len", "list", "str", "tuple"}  # fmt: skip
    for name in names - made:
        assert (name[0] in "vKRFDCS" and name[1:].isdigit()) or name.startswith(
            ("codes_", "read_")
        ), name
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Constant)
                and isinstance(n.value, str) and n.value]  # fmt: skip
    for cls in ("Customer", "OrderLine", "Order", "ReturnLine", "_RawRequest"):
        assert f"def read_{cls}(" in _request.QUICK_SOURCE
    # The root's reader returns its fields' values, which _quick unpacks by
    # name in this order.
    import attrs

    assert [f.name for f in attrs.fields(_request._RawRequest)] == [
        "id", "requested_at", "customer", "order", "lines", "return_shipping"
    ]  # fmt: skip
    assert "return (v0, v1, v2, v3, v4, v5, )" in _request.QUICK_SOURCE


def test_the_quick_reader_builds_what_the_classes_init_builds() -> None:
    """Plain model classes are built through their slots' setters: the
    objects must be those ``__init__`` builds, caches at their defaults."""
    import attrs

    mapping = {
        "id": "RT-1",
        "requested_at": "2026-11-20T10:00:00+08:00",
        "customer": {"id": "C-1", "tier": "workshop"},
        "order": {
            "id": "SO-1",
            "status": "delivered",
            "placed_at": "2026-11-01T09:00:00+08:00",
            "delivered_at": "2026-11-03",
            "lines": [
                {"line": 1, "sku": "A", "qty": 2, "unit_price": "10.50",
                 "category": "brake", "supplier": "S", "warranty_days": 30},
                {"line": 2, "sku": "B", "qty": 1, "unit_price": "3",
                 "category": "filter", "obsolete": True},
            ],
        },
        "lines": [{"line": 1, "qty": 1, "reason": "defective", "condition": "opened"}],
    }  # fmt: skip
    quick = _request.parse_request(mapping)
    order = quick.order
    built: list[Any] = [quick.customer, order, *order.lines, *quick.lines]
    for obj in built:
        cls = type(obj)
        args = {f.name: getattr(obj, f.name) for f in attrs.fields(cls) if f.init}
        rebuilt = cls(**args)
        for field in attrs.fields(cls):
            assert getattr(obj, field.name) == getattr(rebuilt, field.name), field
    assert order._goods_value is None  # the cache starts empty
    assert order.goods_value.amount == 24
    assert order._goods_value is not None  # kept once worked out
    # The Request itself, built the same way: every field as __init__ sets it
    # (nothing taken back, read-only), the amount's cache empty.
    rebuilt_request = returnrules.Request(
        **{f.name: getattr(quick, f.name) for f in attrs.fields(Request) if f.init}
    )
    for field in attrs.fields(Request):
        if field.name != "taken":
            assert getattr(quick, field.name) == getattr(rebuilt_request, field.name)
    assert dict(quick.taken) == {}
    with pytest.raises(TypeError):
        operator.setitem(quick.taken, 1, 1)  # read-only
    assert quick.amount.amount == Decimal("10.50")
    assert quick.with_taken({1: 1}).taken == {1: 1}


class _NoOffset(dt.tzinfo):
    """A tzinfo that knows no offset: a date-time with it is naive."""

    def utcoffset(self, when: dt.datetime | None) -> dt.timedelta | None:
        return None

    def dst(self, when: dt.datetime | None) -> dt.timedelta | None:
        return None

    def tzname(self, when: dt.datetime | None) -> str | None:
        return None


class _Plus8(dt.tzinfo):
    def utcoffset(self, when: dt.datetime | None) -> dt.timedelta | None:
        return dt.timedelta(hours=8)

    def dst(self, when: dt.datetime | None) -> dt.timedelta | None:
        return None

    def tzname(self, when: dt.datetime | None) -> str | None:
        return "+08"


def test_a_moment_is_aware_by_its_offset_whatever_its_tzinfo() -> None:
    """A ``datetime.timezone`` is taken as aware without asking; any other
    tzinfo is asked for its offset."""
    for tzinfo, aware in ((_NoOffset(), False), (_Plus8(), True)):
        mapping = copy.deepcopy(BASE_REQUEST)
        mapping["requested_at"] = dt.datetime(2026, 11, 20, 10, tzinfo=tzinfo)
        if aware:
            fast = _request._quick(mapping, "CNY", DEFAULT_CODES)
            assert same(fast, slow(mapping))
        else:
            with pytest.raises(_request._Decline):
                _request._quick(mapping, "CNY", DEFAULT_CODES)
            with pytest.raises(RequestError, match="requested_at"):
                parse_request(mapping)
