"""parse_request: what TOML/JSON give becomes a checked Request, or every problem."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
import tomllib
import zoneinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

import returnrules
from returnrules import Money, RequestError, parse_request
from returnrules.cli import main
from returnrules.model.errors import did_you_mean, quote, show
from tests.conftest import PolicyFactory

RULES = Path(__file__).parent.parent / "rules.toml"

CST = dt.timezone(dt.timedelta(hours=8))


def problems(mapping: Any, **kwargs: Any) -> list[str]:
    """The rendered problems of a request that must not parse."""
    with pytest.raises(RequestError) as caught:
        parse_request(mapping, **kwargs)
    return [str(p) for p in caught.value.problems]


def codes(mapping: Any) -> list[str]:
    with pytest.raises(RequestError) as caught:
        parse_request(mapping)
    return [p.code for p in caught.value.problems]


# -- what is accepted ------------------------------------------------------------------


def test_a_valid_request_parses_into_frozen_domain_values(
    request_dict: dict[str, Any],
) -> None:
    request = parse_request(request_dict)
    assert request.id == "RT-1"
    assert (request.customer.id, request.customer.tier) == ("C-1", "workshop")
    assert request.order.status == "delivered"
    assert request.order.lines[0].unit_price == Money(Decimal("180.00"), "CNY")
    assert request.currency == "CNY"
    assert [(r.line, o.sku) for r, o in request.pairs] == [(1, "BOSCH-0986494")]
    assert request.kind == "return"


def test_iso_strings_and_toml_datetimes_give_the_same_request(
    request_dict: dict[str, Any],
) -> None:
    toml_dict = dict(request_dict)
    toml_dict["requested_at"] = dt.datetime(2026, 11, 20, 10, tzinfo=CST)
    toml_dict["order"] = dict(request_dict["order"])
    toml_dict["order"]["placed_at"] = dt.datetime(2026, 11, 1, 9, 30, tzinfo=CST)
    toml_dict["order"]["delivered_at"] = dt.datetime(2026, 11, 4, 11, tzinfo=CST)
    assert parse_request(toml_dict) == parse_request(request_dict)


def test_a_request_read_by_tomllib_parses() -> None:
    text = """
id = "RT-2026-0001"
requested_at = 2026-11-20T10:00:00+08:00
[customer]
id = "C-1001"
[order]
id = "SO-88812"
status = "delivered"
placed_at = 2026-11-01T09:30:00+08:00
delivered_at = 2026-11-04
[[order.lines]]
line = 1
sku = "BOSCH-0986494"
category = "brake"
qty = 4
unit_price = "180.00"
[[lines]]
line = 1
qty = 2
reason = "wrong_part"
condition = "unopened"
"""
    request = parse_request(tomllib.loads(text))
    assert request.requested_at == dt.datetime(2026, 11, 20, 10, tzinfo=CST)
    assert request.order.delivered_at == dt.date(2026, 11, 4)


@pytest.mark.parametrize(
    "value",
    ["2026-11-04", dt.date(2026, 11, 4)],
    ids=["iso-string", "toml-date"],
)
def test_a_bare_date_is_accepted_for_an_order_moment(
    request_dict: dict[str, Any], value: object
) -> None:
    request_dict["order"]["delivered_at"] = value
    request = parse_request(request_dict)
    assert request.order.delivered_at == dt.date(2026, 11, 4)
    assert not isinstance(request.order.delivered_at, dt.datetime)


def test_a_utc_z_suffix_is_an_offset(request_dict: dict[str, Any]) -> None:
    request_dict["requested_at"] = "2026-11-20T02:00:00Z"
    request = parse_request(request_dict)
    assert request.requested_at.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("180.10", Decimal("180.10")),
        (180, Decimal(180)),
        (180.1, Decimal("180.1")),  # through the float's shortest form
        (0.1, Decimal("0.1")),
        ("0." + "0" * 23 + "1", Decimal("1E-24")),  # the least: MAX_PLACES
        ("999999999999.999999999999", Decimal("999999999999.999999999999")),
    ],
    ids=["string", "int", "float", "float-0.1", "least", "most"],
)
def test_money_may_be_a_string_an_int_or_a_float(
    request_dict: dict[str, Any], value: object, expected: Decimal
) -> None:
    request_dict["order"]["lines"][0]["unit_price"] = value
    request_dict["order"]["shipping_fee"] = value
    request = parse_request(request_dict)
    price = request.order.lines[0].unit_price
    assert price == Money(expected, "CNY")
    assert str(price.amount) == str(expected)
    assert request.order.shipping_fee == Money(expected, "CNY")


def test_defaults_fill_the_optional_keys(request_dict: dict[str, Any]) -> None:
    del request_dict["order"]["channel"]
    del request_dict["customer"]["tier"]
    request = parse_request(request_dict)
    rline, oline = request.pairs[0]
    assert rline.packaging == "original"
    assert request.order.channel == "store"
    assert request.customer.tier == "retail"
    assert oline.returned_qty == 0
    assert oline.shipped_qty is None
    assert oline.special_order is False
    assert oline.no_return is False
    assert oline.kit is False
    assert oline.core_charge is None
    assert request.order.promised_at is None


@pytest.mark.parametrize(
    ("status", "shipped", "returnable", "kind"),
    [
        ("placed", 0, 4, "cancel"),
        ("allocated", 0, 4, "cancel"),
        ("shipped", 4, 4, "return"),
        ("delivered", 4, 4, "return"),
    ],
)
def test_shipped_qty_defaults_by_order_status(
    request_dict: dict[str, Any],
    status: str,
    shipped: int,
    returnable: int,
    kind: str,
) -> None:
    request_dict["order"]["status"] = status
    if status in ("placed", "allocated"):
        del request_dict["order"]["delivered_at"]
    request = parse_request(request_dict)
    oline = request.order.lines[0]
    assert returnrules.shipped_qty(request.order, oline) == shipped
    assert returnrules.returnable_qty(request.order, oline) == returnable
    assert request.kind == kind


def test_returnable_qty_subtracts_earlier_returns(
    request_dict: dict[str, Any],
) -> None:
    request_dict["order"]["lines"][0].update(shipped_qty=3, returned_qty=1)
    request = parse_request(request_dict)
    assert returnrules.returnable_qty(request.order, request.order.lines[0]) == 2


def test_the_currency_defaults_to_the_policys(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy("", header='version = 1\n[policy]\ncurrency = "USD"\n')
    request = policy.parse_request(request_dict)
    assert request.currency == "USD"
    assert request.order.lines[0].unit_price == Money(Decimal(180), "USD")


def test_the_orders_own_currency_is_used_without_a_policy(
    request_dict: dict[str, Any],
) -> None:
    request_dict["order"]["currency"] = "JPY"
    request_dict["order"]["lines"][0]["unit_price"] = 1800
    request = parse_request(request_dict)
    assert request.currency == "JPY"
    assert request.order.lines[0].unit_price == Money(Decimal(1800), "JPY")


def test_policy_vocabulary_additions_are_accepted_by_policy_parse_request(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy('[vocab.reason]\nwarranty = "保修"\n')
    request_dict["lines"][0]["reason"] = "warranty"
    assert policy.parse_request(request_dict).lines[0].reason == "warranty"
    # ...but the core's default vocabulary does not know the code
    assert problems(request_dict) == ['$.lines[0].reason: unknown reason "warranty"']


# -- every bad-request case ------------------------------------------------------------


def test_a_quantity_below_one_is_reported_at_its_key_path(
    request_dict: dict[str, Any],
) -> None:
    request_dict["lines"][0]["qty"] = 0
    assert problems(request_dict) == ["$.lines[0].qty: must be ≥ 1, got 0"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "must be ≥ 1, got -1"),
        (2.5, "expected an integer, got 2.5"),
        (True, "expected an integer, got true"),
        ("2", 'expected an integer, got "2"'),
    ],
)
def test_a_quantity_is_a_positive_integer(
    request_dict: dict[str, Any], value: object, message: str
) -> None:
    request_dict["lines"][0]["qty"] = value
    assert problems(request_dict) == [f"$.lines[0].qty: {message}"]


# -- the optional keys of issue 11 -----------------------------------------------------


def test_return_shipping_warranty_days_and_obsolete_are_read(
    request_dict: dict[str, Any],
) -> None:
    request_dict["return_shipping"] = "15.00"
    request_dict["order"]["lines"][0].update(warranty_days=365, obsolete=True)
    request = parse_request(request_dict)
    assert request.return_shipping == Money.of("15.00", "CNY")
    assert (request.order.lines[0].warranty_days, request.order.lines[0].obsolete) == (
        365,
        True,
    )
    # in the policy's currency, as every amount of a request
    moved = parse_request(request_dict, currency="JPY")
    assert moved.return_shipping == Money.of(15, "JPY")


def test_return_shipping_takes_the_evaluating_policys_currency(
    request_dict: dict[str, Any],
) -> None:
    # read without a currency (the default), evaluated under a JPY policy
    request_dict["return_shipping"] = "15.00"
    request = parse_request(request_dict).in_currency("JPY")
    assert request.return_shipping == Money.of(15, "JPY")
    assert request.amount == Money.of(360, "JPY")


def test_the_optional_keys_default_to_absent_and_false(
    request_dict: dict[str, Any],
) -> None:
    request = parse_request(request_dict)
    assert request.return_shipping is None
    assert request.order.lines[0].warranty_days is None
    assert request.order.lines[0].obsolete is False


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("return_shipping",), "-5", "must be ≥ 0, got -5"),
        (("return_shipping",), "x", 'expected a decimal number like 180.10, got "x"'),
        (("return_shipping",), True, "expected an amount of money, got true"),
        (("order", "lines", 0, "warranty_days"), -1, "must be ≥ 0, got -1"),
        (("order", "lines", 0, "warranty_days"), "90", 'expected an integer, got "90"'),
        (("order", "lines", 0, "warranty_days"), 10**13, "integer out of range: "
         "10000000000000"),
        (("order", "lines", 0, "obsolete"), "yes", 'expected true or false, got "yes"'),
        (("order", "lines", 0, "obsolete"), 1, "expected true or false, got 1"),
    ],
)  # fmt: skip
def test_bad_optional_keys_of_issue_11_are_reported_at_their_path(
    request_dict: dict[str, Any], path: tuple[Any, ...], value: object, message: str
) -> None:
    target: Any = request_dict
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    where = "$." + ".".join(str(p) for p in path).replace(".0.", "[0].")
    assert problems(request_dict) == [f"{where}: {message}"]


def test_a_misspelt_return_shipping_is_suggested(request_dict: dict[str, Any]) -> None:
    request_dict["return_shiping"] = "15.00"
    assert problems(request_dict) == [
        '$.return_shiping: unknown key "return_shiping"; '
        'did you mean "return_shipping"?'
    ]


def test_an_unknown_order_line_lists_the_orders_lines(
    request_dict: dict[str, Any],
) -> None:
    request_dict["lines"][0]["line"] = 9
    assert problems(request_dict) == [
        '$.lines[0].line: order "SO-1" has no line 9 (its lines: 1, 2)'
    ]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("reason", "defectve", 'unknown reason "defectve"; did you mean "defective"?'),
        ("condition", "opend", 'unknown condition "opend"; did you mean "opened"?'),
        (
            "packaging",
            "orignal",
            'unknown packaging "orignal"; did you mean "original"?',
        ),
    ],
)
def test_an_unknown_vocabulary_code_is_reported_with_a_suggestion(
    request_dict: dict[str, Any], key: str, value: str, message: str
) -> None:
    request_dict["lines"][0][key] = value
    assert problems(request_dict) == [f"$.lines[0].{key}: {message}"]


def test_unknown_codes_in_order_and_customer_are_reported(
    request_dict: dict[str, Any],
) -> None:
    request_dict["order"]["status"] = "delivred"
    request_dict["order"]["channel"] = "onlin"
    request_dict["customer"]["tier"] = "vipp"
    request_dict["order"]["lines"][0]["category"] = "brakes"
    assert problems(request_dict) == [
        '$.customer.tier: unknown tier "vipp"; did you mean "vip"?',
        '$.order.status: unknown status "delivred"; did you mean "delivered"?',
        '$.order.lines[0].category: unknown category "brakes"; did you mean "brake"?',
        '$.order.channel: unknown channel "onlin"; did you mean "online"?',
    ]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("placed_at", "2026-13-01", 'not an ISO 8601 date: "2026-13-01"'),
        ("placed_at", "yesterday", 'not an ISO 8601 date-time: "yesterday"'),
        ("placed_at", 20261101, "expected a date or date-time, got 20261101"),
        (
            "placed_at",
            "2026-11-01T09:30:00",
            "2026-11-01T09:30:00 has no UTC offset; write it like "
            "2026-11-20T10:00:00+08:00",
        ),
        (
            "placed_at",
            dt.datetime(2026, 11, 1, 9, 30),
            "2026-11-01T09:30:00 has no UTC offset; write it like "
            "2026-11-20T10:00:00+08:00",
        ),
    ],
    ids=["bad-date", "not-a-date", "number", "naive-string", "naive-toml"],
)
def test_malformed_or_naive_dates_are_reported(
    request_dict: dict[str, Any], key: str, value: object, message: str
) -> None:
    request_dict["order"][key] = value
    assert problems(request_dict) == [f"$.order.{key}: {message}"]


def test_requested_at_must_be_a_datetime_with_an_offset(
    request_dict: dict[str, Any],
) -> None:
    request_dict["requested_at"] = dt.datetime(2026, 11, 20, 10)
    assert problems(request_dict) == [
        "$.requested_at: 2026-11-20T10:00:00 has no UTC offset; write it like "
        "2026-11-20T10:00:00+08:00"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", 'expected a decimal number like 180.10, got "abc"'),
        ("NaN", 'expected a decimal number like 180.10, got "NaN"'),
        (float("inf"), "expected a finite number, got inf"),
        (True, "expected an amount of money, got true"),
        ([1], "expected an amount of money, got an array"),
        ("-1", "must be ≥ 0, got -1"),
        ("１２", 'expected a decimal number like 180.10, got "１２"'),
        ("  12", 'expected a decimal number like 180.10, got "  12"'),
        ("12 ", 'expected a decimal number like 180.10, got "12 "'),
        ("\t12", 'expected a decimal number like 180.10, got "\\t12"'),
        (f"0.{'0' * 24}1", f'more than 24 digits after the point: "0.{"0" * 24}1"'),
        (1e-25, "more than 24 digits after the point: 1e-25"),
        ("1." + "1" * 24, f'more than 24 significant digits: "1.{"1" * 24}"'),
        ("1000000000000", 'number out of range: "1000000000000"'),
    ],
    ids=["word", "nan", "inf", "bool", "array", "negative", "full-width", "lead",
         "trail", "tab", "places", "tiny-float", "digits", "range"],
)  # fmt: skip
def test_malformed_money_is_reported(
    request_dict: dict[str, Any], value: object, message: str
) -> None:
    request_dict["order"]["lines"][0]["unit_price"] = value
    assert problems(request_dict) == [f"$.order.lines[0].unit_price: {message}"]
    request_dict["order"]["lines"][0]["unit_price"] = "1"
    request_dict["order"]["shipping_fee"] = value
    assert problems(request_dict) == [f"$.order.shipping_fee: {message}"]


def test_missing_required_keys_are_each_reported(
    request_dict: dict[str, Any],
) -> None:
    del request_dict["id"]
    del request_dict["customer"]["id"]
    del request_dict["order"]["lines"][0]["sku"]
    del request_dict["lines"][0]["reason"]
    assert problems(request_dict) == [
        '$.id: missing required key "id"',
        '$.customer.id: missing required key "id"',
        '$.order.lines[0].sku: missing required key "sku"',
        '$.lines[0].reason: missing required key "reason"',
    ]


def test_misspelt_keys_are_reported_with_a_suggestion(
    request_dict: dict[str, Any],
) -> None:
    request_dict["lines"][0]["packagin"] = "original"
    request_dict["order"]["lines"][0]["unit_prize"] = "1"
    assert problems(request_dict) == [
        '$.order.lines[0].unit_prize: unknown key "unit_prize"; '
        'did you mean "unit_price"?',
        '$.lines[0].packagin: unknown key "packagin"; did you mean "packaging"?',
    ]


def test_a_misspelt_required_key_is_missing_and_unknown(
    request_dict: dict[str, Any],
) -> None:
    request_dict["custmer"] = request_dict.pop("customer")
    assert problems(request_dict) == [
        '$.customer: missing required key "customer"',
        '$.custmer: unknown key "custmer"; did you mean "customer"?',
    ]


def test_a_return_line_listed_twice_is_reported(
    request_dict: dict[str, Any],
) -> None:
    request_dict["lines"].append(dict(request_dict["lines"][0]))
    assert problems(request_dict) == [
        "$.lines[1].line: order line 1 is listed twice; give one entry per line"
    ]


def test_a_duplicate_order_line_number_is_reported(
    request_dict: dict[str, Any],
) -> None:
    request_dict["order"]["lines"][1]["line"] = 1
    assert problems(request_dict) == ["$.order.lines[1].line: duplicate order line 1"]


def test_no_return_lines_is_reported(request_dict: dict[str, Any]) -> None:
    request_dict["lines"] = []
    assert problems(request_dict) == ["$.lines: nothing to return: no lines"]


def test_a_currency_other_than_the_policys_is_reported(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy("")
    request_dict["order"]["currency"] = "USD"
    with pytest.raises(RequestError) as caught:
        policy.parse_request(request_dict)
    assert [str(p) for p in caught.value.problems] == [
        '$.order.currency: "USD" does not match the policy\'s currency "CNY"'
    ]
    assert caught.value.problems[0].code == "currency-mismatch"


def test_evaluating_a_request_parsed_in_another_currency_is_refused(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy("")
    request_dict["order"]["currency"] = "USD"
    request = parse_request(request_dict)
    with pytest.raises(RequestError, match="does not match the policy's currency"):
        policy.evaluate(request)


def test_a_malformed_currency_code_is_reported(request_dict: dict[str, Any]) -> None:
    request_dict["order"]["currency"] = "cny"
    assert problems(request_dict) == [
        '$.order.currency: not an ISO 4217 currency code: "cny"'
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"shipped_at": "2026-11-05", "delivered_at": "2026-11-04T11:00:00+08:00"},
            "$.order.delivered_at: delivered_at is before shipped_at",
        ),
        (
            {"shipped_at": "2026-10-30"},
            "$.order.shipped_at: shipped_at is before placed_at",
        ),
    ],
)
def test_order_dates_out_of_order_are_reported(
    request_dict: dict[str, Any], changes: dict[str, str], expected: str
) -> None:
    request_dict["order"].update(changes)
    assert problems(request_dict) == [expected]


def test_a_request_before_the_order_was_placed_is_reported(
    request_dict: dict[str, Any],
) -> None:
    request_dict["requested_at"] = "2026-10-01T00:00:00+08:00"
    request_dict["order"].pop("delivered_at")
    request_dict["order"]["status"] = "placed"
    assert problems(request_dict) == [
        "$.requested_at: requested_at is before the order's placed_at"
    ]


def test_dates_in_different_offsets_are_compared_as_instants(
    request_dict: dict[str, Any],
) -> None:
    # 2026-11-04T02:00+00:00 is 10:00 in +08:00: after placed_at, so valid
    request_dict["order"]["delivered_at"] = "2026-11-04T02:00:00+00:00"
    parse_request(request_dict)


_ZONES = [
    dt.timezone(dt.timedelta(hours=8)),
    dt.timezone(dt.timedelta(hours=8)),  # equal, not identical: as parsed
    dt.timezone(dt.timedelta(hours=-3, minutes=-30)),
    dt.UTC,
    zoneinfo.ZoneInfo("America/Sao_Paulo"),  # fell back at midnight in 2018
    zoneinfo.ZoneInfo("Asia/Shanghai"),
]


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.example(  # a later day, an earlier instant: offsets 11:30 apart
    moments=[
        (dt.datetime(2018, 2, 16, 23), _ZONES[2], 0),
        (dt.datetime(2018, 2, 17, 0, 30), _ZONES[0], 0),
    ]
)
@hypothesis.example(  # a later day in one offset, two tzinfo objects
    moments=[
        (dt.datetime(2018, 2, 16, 23), _ZONES[0], 0),
        (dt.datetime(2018, 2, 17, 0, 30), _ZONES[1], 0),
    ]
)
@hypothesis.given(
    moments=st.lists(
        st.tuples(
            st.datetimes(  # a day around one midnight, Sao Paulo's fall-back's
                min_value=dt.datetime(2018, 2, 16, 12),
                max_value=dt.datetime(2018, 2, 17, 12),
            ),
            st.sampled_from(_ZONES),
            st.sampled_from([0, 1]),
        ),
        min_size=2,
        max_size=4,
    )
)
def test_the_order_of_the_dates_is_the_order_of_the_instants(
    moments: list[tuple[dt.datetime, dt.tzinfo, int]],
) -> None:
    """placed ≤ shipped ≤ delivered ≤ requested as Python compares them,
    however the offsets and zones mix: the check's short cut (a later
    calendar day in one fixed offset is later) never answers otherwise."""
    from returnrules.model.reader import _check_dates
    from returnrules.model.request import Order, StatusCode, Text

    instants = [wall.replace(tzinfo=zone, fold=fold) for wall, zone, fold in moments]
    placed, *between, requested = instants
    shipped, delivered = ([*between, None, None])[:2]  # (None: not yet)
    order = Order(Text("SO-1"), StatusCode("delivered"), placed, (),
                  shipped_at=shipped, delivered_at=delivered)  # fmt: skip
    expected = all(later >= earlier for earlier, later in itertools.pairwise(instants))
    assert (not _check_dates(order, requested)) == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [([1, 2], "an array"), ("x", '"x"'), (None, "None"), (3, "3")],
)
def test_a_request_that_is_not_a_mapping_is_reported(value: object, shown: str) -> None:
    assert problems(value) == [f"$: expected a table, got {shown}"]


def test_a_non_mapping_part_is_reported_at_its_path(
    request_dict: dict[str, Any],
) -> None:
    request_dict["customer"] = "C-1"
    request_dict["lines"][0] = 7
    assert problems(request_dict) == [
        '$.customer: expected a table, got "C-1"',
        "$.lines[0]: expected a table, got 7",
    ]


def test_shipped_or_returned_more_than_ordered_is_reported(
    request_dict: dict[str, Any],
) -> None:
    request_dict["order"]["lines"][0].update(shipped_qty=5, returned_qty=6)
    assert codes(request_dict) == ["bad-value", "bad-value"]
    assert problems(request_dict)[0] == (
        "$.order.lines[0].shipped_qty: shipped_qty 5 exceeds the ordered qty 4"
    )


def test_every_problem_of_one_kind_of_check_is_listed_at_once(
    request_dict: dict[str, Any],
) -> None:
    request_dict["requested_at"] = "2026-11-20T10:00:00"
    request_dict["order"]["placed_at"] = "2026-13-01"
    request_dict["order"]["lines"][0]["unit_price"] = "abc"
    request_dict["lines"][0].update(qty=0, reason="defectve", packagin="x")
    found = problems(request_dict)
    assert len(found) == 6
    assert [p.split(":")[0] for p in found] == [
        "$.requested_at",
        "$.order.placed_at",
        "$.order.lines[0].unit_price",
        "$.lines[0].qty",
        "$.lines[0].reason",
        "$.lines[0].packagin",
    ]


def test_an_unknown_order_line_is_listed_with_other_problems(
    request_dict: dict[str, Any],
) -> None:
    request_dict["lines"] = [
        {"line": 1, "qty": 0, "reason": "wrong_part", "condition": "unopened"},
        {"line": 9, "qty": 1, "reason": "wrong_part", "condition": "unopened"},
    ]
    assert problems(request_dict) == [
        "$.lines[0].qty: must be ≥ 1, got 0",
        '$.lines[1].line: order "SO-1" has no line 9 (its lines: 1, 2)',
    ]


def test_request_error_renders_every_problem_one_per_line(
    request_dict: dict[str, Any],
) -> None:
    request_dict["lines"][0]["qty"] = 0
    request_dict["id"] = 5
    with pytest.raises(RequestError) as caught:
        parse_request(request_dict)
    assert str(caught.value) == (
        "$.id: expected a string, got 5\n$.lines[0].qty: must be ≥ 1, got 0"
    )
    assert str(caught.value.with_source("req.toml")).splitlines() == [
        "req.toml: $.id: expected a string, got 5",
        "req.toml: $.lines[0].qty: must be ≥ 1, got 0",
    ]


# -- huge values in messages -----------------------------------------------------------

HUGE = 15_000_000
"""Characters of the huge values below: 15 MB, about what a request file may hold."""


def _huge_problem(request_dict: dict[str, Any]) -> tuple[str, float]:
    """The first problem of *request_dict*, rendered, and the seconds it took.

    Every other problem (a currency code is also too long a string) is short.
    """
    started = time.perf_counter()
    with pytest.raises(RequestError) as caught:
        parse_request(request_dict)
    elapsed = time.perf_counter() - started
    assert all(len(str(p)) < 300 for p in caught.value.problems)
    return str(caught.value.problems[0]), elapsed


@pytest.mark.parametrize(
    ("where", "start"),
    [
        (("customer", "tier"), '$.customer.tier: unknown tier "xxx'),
        (("order", "status"), '$.order.status: unknown status "xxx'),
        (("order", "channel"), '$.order.channel: unknown channel "xxx'),
        (("order", "lines", 0, "category"), "$.order.lines[0].category: unknown"),
        (("lines", 0, "reason"), '$.lines[0].reason: unknown reason "xxx'),
        (("lines", 0, "condition"), "$.lines[0].condition: unknown condition"),
        (("order", "placed_at"), '$.order.placed_at: not an ISO 8601 date-time: "x'),
        (("order", "shipping_fee"), "$.order.shipping_fee: "),
        (("order", "currency"), "$.order.currency: not an ISO 4217 currency code"),
    ],
    ids=lambda v: ".".join(map(str, v)) if isinstance(v, tuple) else "",
)
def test_a_huge_bad_value_is_cut_in_its_message_and_reported_quickly(
    request_dict: dict[str, Any], where: tuple[str | int, ...], start: str
) -> None:
    target: Any = request_dict
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = "x" * HUGE
    message, elapsed = _huge_problem(request_dict)
    assert message.startswith(start)
    assert len(message) < 300, message[:400]
    assert "x" * 60 + "…" in message
    assert "(15,000,000 characters)" in message
    assert elapsed < 2, elapsed  # difflib on 15 MB took minutes


def test_a_huge_unknown_key_is_cut_in_its_path_and_message(
    request_dict: dict[str, Any],
) -> None:
    request_dict["customer"]["y" * HUGE] = 1
    message, elapsed = _huge_problem(request_dict)
    cut = '"' + "y" * 60 + '…" (15,000,000 characters)'
    assert message == f"$.customer[{cut}]: unknown key {cut}"
    assert elapsed < 2, elapsed


def test_a_value_up_to_the_limit_is_shown_whole(request_dict: dict[str, Any]) -> None:
    request_dict["customer"]["tier"] = "v" * 60
    message, _ = _huge_problem(request_dict)
    assert message == f'$.customer.tier: unknown tier "{"v" * 60}"'


def test_a_long_word_gets_no_suggestion_however_close() -> None:
    assert did_you_mean("vip", ["vip"]) == '; did you mean "vip"?'
    long = "a" * 100
    assert did_you_mean(long + "b", [long + "c"]) == ""
    assert did_you_mean(long[:-1] + "b", [long]) != ""  # 100 characters still do


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("abc", '"abc"'),
        ("x" * 61, '"' + "x" * 60 + '…" (61 characters)'),
        ("\x1b[2J" + "x" * 100, '"\\u001b[2J' + "x" * 56 + '…" (104 characters)'),
        (10**100, "a 101-digit integer"),
        (-(10**5000), "an integer of about 5,000 digits"),
        (Decimal(10**80), "Decimal('1" + "0" * 50 + "… (92 characters)"),
        (True, "true"),
        ({"a": 1}, "a table"),
    ],
    ids=["short", "long", "control", "int", "huge-int", "decimal", "bool", "table"],
)
def test_show_cuts_long_values(value: object, shown: str) -> None:
    assert show(value) == shown


def test_quote_cuts_long_strings_and_escapes_control_characters() -> None:
    assert quote("RT-9\nRT-1") == '"RT-9\\nRT-1"'
    assert quote("z" * 1000) == '"' + "z" * 60 + '…" (1,000 characters)'


def test_a_huge_request_value_gives_a_short_cli_error_quickly(
    tmp_path: Path, request_dict: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    request_dict["customer"]["tier"] = "x" * HUGE
    path = tmp_path / "big.json"
    path.write_text(json.dumps(request_dict), encoding="utf-8")
    started = time.perf_counter()
    code = main(["eval", str(path), "--rules", str(RULES)])
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown tier" in err
    assert len(err) < 300, err[:400]
    assert elapsed < 3, elapsed
