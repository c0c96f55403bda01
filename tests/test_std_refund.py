"""The refund action: the money of DESIGN.md, to the letter.

For a line worth A = qty × unit price, with S the order's shipping fee and G the
order's goods value (Σ qty × unit price over all its lines)::

    share    = round(A × percent / 100)
    fee      = min(max(round(A × fee_percent / 100), round(fee_min)), share)
    deducted = min(round(deduct), share − fee)
    shipping = round(S × A / G)            (only with include_shipping)
    amount   = share − fee − deducted + shipping

where round is half-up to the currency's minor unit.
"""

from __future__ import annotations

import ast
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import returnrules
from returnrules import Money, minor_units
from returnrules_std import refund as refund_plugin
from returnrules_std.refund import RefundParams, compute_refund
from tests.std.helpers import actions, first_line, make_request, policy, problems


def refund(
    params: str = "",
    request: dict[str, Any] | None = None,
    *,
    currency: str = "CNY",
) -> dict[str, Any]:
    """The refund a one-rule policy plans for the request's first line."""
    the_policy = policy(
        f"""
[[rule]]
id = "r"
decide = "approve"
then = [ {{ action = "refund"{", " + params if params else ""} }} ]
""",
        currency=currency,
    )
    line = first_line(the_policy, request or make_request())
    assert not line.errors
    (action,) = actions(line)
    return action


def priced(unit_price: str, qty: int = 1, **order: Any) -> dict[str, Any]:
    """A request returning *qty* of one order line of *qty* at *unit_price*."""
    return make_request(
        line={"unit_price": unit_price, "qty": qty}, qty=qty, order=order
    )


# -- the documented examples -----------------------------------------------------------


def test_design_example_fee_percent() -> None:
    # 2 of 4 pads at 180.00, shipping 20.00, fee_percent = 15: 360.00 − 54.00
    assert refund("fee_percent = 15") == {
        "action": "refund",
        "rule": "r",
        "amount": "306.00",
        "fee": "54.00",
        "currency": "CNY",
        "method": "original",
    }


def test_design_example_include_shipping() -> None:
    # with include_shipping and no fee: 360.00 + 20.00 × 360 / 720 = 370.00
    found = refund("include_shipping = true")
    assert (found["amount"], found["fee"]) == ("370.00", "0.00")


def test_design_example_fee_min_never_exceeds_the_share() -> None:
    # 6.50 refunded with fee_min = 10: fee 6.50, amount 0.00
    found = refund("fee_min = 10", priced("6.50"))
    assert (found["amount"], found["fee"]) == ("0.00", "6.50")


# -- each parameter --------------------------------------------------------------------


def test_a_plain_refund_is_the_line_amount() -> None:
    assert refund() == {
        "action": "refund",
        "rule": "r",
        "amount": "360.00",
        "fee": "0.00",
        "currency": "CNY",
        "method": "original",
    }


def test_percent_refunds_part_of_the_line() -> None:
    assert refund("percent = 50")["amount"] == "180.00"
    assert refund("percent = 0")["amount"] == "0.00"
    assert refund('percent = "33.3"')["amount"] == "119.88"


def test_the_fee_is_a_percentage_of_the_line_not_of_the_share() -> None:
    # share 50 % of 360 = 180; fee 10 % of 360 = 36
    found = refund("percent = 50, fee_percent = 10")
    assert (found["amount"], found["fee"]) == ("144.00", "36.00")


def test_the_fee_never_exceeds_a_partial_share() -> None:
    found = refund("percent = 10, fee_percent = 15")  # share 36 < fee 54
    assert (found["amount"], found["fee"]) == ("0.00", "36.00")


@pytest.mark.parametrize(
    ("params", "fee", "amount"),
    [
        ("fee_percent = 15, fee_min = 20", "20.00", "28.00"),  # 7.20 → 20.00
        ('fee_percent = 15, fee_min = "5.00"', "7.20", "40.80"),  # 7.20 > 5
        ("fee_min = 20", "20.00", "28.00"),  # no percent fee: the minimum
        ('fee_percent = 15, fee_min = "7.20"', "7.20", "40.80"),  # equal
    ],
)
def test_fee_min_is_the_least_restocking_fee(
    params: str, fee: str, amount: str
) -> None:
    found = refund(params, priced("48.00"))
    assert (found["fee"], found["amount"]) == (fee, amount)


def test_deduct_takes_a_fixed_amount_off() -> None:
    found = refund('deduct = "12.50"')
    assert (found["amount"], found["fee"]) == ("347.50", "0.00")
    found = refund("fee_percent = 15, deduct = 6")
    assert (found["amount"], found["fee"]) == ("300.00", "54.00")


def test_deduct_never_exceeds_what_is_left_after_the_fee() -> None:
    found = refund("fee_min = 5, deduct = 10", priced("6.50"))
    assert (found["amount"], found["fee"]) == ("0.00", "5.00")
    parts = compute_refund(
        Money(Decimal("6.50"), "CNY"),
        RefundParams(fee_min=Money.of(5, "CNY"), deduct=Money.of(10, "CNY")),
    )
    assert parts.deducted == Money.of("1.50", "CNY")


def test_shipping_is_added_after_fee_and_deduction() -> None:
    # 6.50 of a 26.00 order with 20.00 shipping: share 6.50 − fee 6.50 − 0 + 5.00
    request = make_request(
        lines=[
            {
                "line": 1,
                "sku": "A",
                "category": "filter",
                "qty": 1,
                "unit_price": "6.50",
            },
            {
                "line": 2,
                "sku": "B",
                "category": "filter",
                "qty": 1,
                "unit_price": "19.50",
            },
        ],
        returns=[{"line": 1, "qty": 1, "reason": "defective", "condition": "opened"}],
    )
    found = refund("fee_min = 10, deduct = 3, include_shipping = true", request)
    assert (found["amount"], found["fee"]) == ("5.00", "6.50")


def test_the_shipping_share_is_the_lines_part_of_the_orders_goods_value() -> None:
    # 360.00 of 720.00 + 2 × 35.50 = 791.00; 20.00 × 360 / 791 = 9.1024 → 9.10
    request = make_request(
        lines=[
            {
                "line": 1,
                "sku": "BOSCH-0986494",
                "category": "brake",
                "qty": 4,
                "unit_price": "180.00",
            },
            {
                "line": 2,
                "sku": "NGK-BKR6E",
                "category": "electrical",
                "qty": 2,
                "unit_price": "35.50",
            },
        ]
    )
    assert refund("include_shipping = true", request)["amount"] == "369.10"


def test_the_shipping_share_counts_ordered_not_shipped_or_returned_qty() -> None:
    request = make_request(line={"shipped_qty": 3, "returned_qty": 1})
    assert refund("include_shipping = true", request)["amount"] == "370.00"


def test_without_a_shipping_fee_include_shipping_adds_nothing() -> None:
    request = make_request(order={"shipping_fee": None})
    assert refund("include_shipping = true", request)["amount"] == "360.00"


def test_shipping_is_not_refunded_unless_asked() -> None:
    assert refund()["amount"] == "360.00"


@pytest.mark.parametrize("method", ["original", "store_credit", "account_credit"])
def test_method_is_reported(method: str) -> None:
    assert refund(f'method = "{method}"')["method"] == method


# -- rounding --------------------------------------------------------------------------


def test_the_fee_is_rounded_half_up() -> None:
    # 0.05 × 50 % = 0.025 → 0.03 (half-even would give 0.02)
    found = refund("fee_percent = 50", priced("0.05"))
    assert (found["fee"], found["amount"]) == ("0.03", "0.02")


def test_the_share_is_rounded_half_up() -> None:
    assert refund("percent = 50", priced("0.05"))["amount"] == "0.03"
    # 0.25 × 50 % = 0.125 → 0.13 (half-even would give 0.12)
    assert refund("percent = 50", priced("0.25"))["amount"] == "0.13"


def test_the_shipping_share_is_rounded_half_up() -> None:
    # 1.00 of 8.00 with 0.20 shipping: 0.025 → 0.03
    request = make_request(
        lines=[
            {
                "line": 1,
                "sku": "A",
                "category": "other",
                "qty": 1,
                "unit_price": "1.00",
            },
            {
                "line": 2,
                "sku": "B",
                "category": "other",
                "qty": 1,
                "unit_price": "7.00",
            },
        ],
        returns=[{"line": 1, "qty": 1, "reason": "defective", "condition": "opened"}],
        order={"shipping_fee": "0.20"},
    )
    assert refund("include_shipping = true", request)["amount"] == "1.03"


def test_an_exact_half_cent_shipping_share_rounds_up_even_when_the_ratio_repeats() -> (
    None
):
    parts = compute_refund(
        Money.of("10.00", "CNY"),
        RefundParams(include_shipping=True),
        shipping_fee=Money.of("30.00", "CNY"),
        goods_value=Money.of("480.00", "CNY"),
    )
    assert parts.shipping == Money.of("0.63", "CNY")


def test_money_is_rounded_to_the_currencys_minor_unit_jpy() -> None:
    request = make_request(
        line={"unit_price": "1050", "qty": 2},
        qty=1,
        order={"shipping_fee": "500"},
    )
    found = refund("fee_percent = 15", request, currency="JPY")
    # 1050 × 15 % = 157.5 → 158 yen; JPY has no minor unit
    assert found == {
        "action": "refund",
        "rule": "r",
        "amount": "892",
        "fee": "158",
        "currency": "JPY",
        "method": "original",
    }
    # shipping 500 × 1050 / 2100 = 250
    assert refund("include_shipping = true", request, currency="JPY")["amount"] == (
        "1300"
    )


def test_a_fee_min_with_fen_is_rounded_like_everything_else() -> None:
    found = refund('fee_min = "10.005"', priced("48.00"))
    assert (found["fee"], found["amount"]) == ("10.01", "37.99")


# -- exact at the extremes -------------------------------------------------------------


def test_the_largest_price_by_the_largest_quantity_is_refunded_exactly() -> None:
    # 24 significant digits × 999999999999: rounded to 34 digits first, the
    # line was 1000005000009000.00
    qty = 999_999_999_999
    found = refund("", priced("1000.00500001000000000001", qty))
    assert found["amount"] == "1000005000008999.99"


def test_a_24_digit_percent_of_a_24_digit_price_is_exact() -> None:
    # 1.0000000000000000000002 × 50.4999999999999999999899 % is 0.50499...: 0.50
    found = refund(
        'percent = "50.4999999999999999999899"', priced("1.0000000000000000000002")
    )
    assert found["amount"] == "0.50"
    found = refund(
        'fee_percent = "50.4999999999999999999899"', priced("1.0000000000000000000002")
    )
    assert (found["amount"], found["fee"]) == ("0.50", "0.50")


def test_a_shipping_share_a_hair_below_half_a_fen_rounds_down() -> None:
    # 0.005 × A / (A + 10^-24), A = 999999999999.99 × 10^12: half a fen less
    # 5 × 10^-51, which a 34-digit quotient rounded up to 0.01
    request = make_request(
        lines=[
            {"line": 1, "sku": "A", "category": "other", "qty": 10**12,
             "unit_price": "999999999999.99"},
            {"line": 2, "sku": "B", "category": "other", "qty": 1,
             "unit_price": "0.000000000000000000000001"},
        ],
        returns=[{"line": 1, "qty": 10**12, "reason": "defective",
                  "condition": "opened"}],
        order={"shipping_fee": "0.005"},
    )  # fmt: skip
    found = refund("include_shipping = true", request)
    assert found["amount"] == "999999999999990000000000.00"


# -- one calculation, public API -------------------------------------------------------


def test_the_action_reports_what_compute_refund_computes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def spy(*args: Any, **kwargs: Any) -> refund_plugin.Refund:
        calls.append((args, kwargs))
        return compute_refund(*args, **kwargs)

    monkeypatch.setattr(refund_plugin, "compute_refund", spy)
    found = refund("fee_percent = 15, include_shipping = true")
    (((line_amount, params, shipping_fee, goods_value), kwargs),) = calls
    assert line_amount == Money.of("360.00", "CNY")
    assert (shipping_fee, goods_value) == (Money.of(20, "CNY"), Money.of(720, "CNY"))
    assert kwargs == {
        "return_shipping": None,
        "request_value": None,
        "line_core_charge": None,
    }
    parts = compute_refund(line_amount, params, shipping_fee, goods_value)
    assert (found["amount"], found["fee"]) == (
        parts.amount.format(),
        parts.fee.format(),
    )


def test_the_refund_plugin_uses_only_the_public_api() -> None:
    tree = ast.parse(Path(refund_plugin.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "returnrules":
            names = {alias.name for alias in node.names}
            assert names <= set(returnrules.__all__), names
        elif isinstance(node, ast.ImportFrom | ast.Import):
            modules = (
                [node.module]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
            )
            assert not any(str(m).startswith("returnrules.") for m in modules), modules
        elif isinstance(node, ast.Attribute):
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            assert not private, ast.unparse(node)


# -- signed zeros ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "request_changes", "amount", "fee"),
    [
        ("fee_percent = -0.0", {}, "360.00", "0.00"),
        ('fee_percent = "-0"', {}, "360.00", "0.00"),
        ("percent = -0.0", {}, "0.00", "0.00"),
        ('percent = "-0.000"', {}, "0.00", "0.00"),
        ('fee_min = "-0"', {}, "360.00", "0.00"),
        ("fee_min = -0.0", {}, "360.00", "0.00"),
        ('deduct = "-0.00"', {}, "360.00", "0.00"),
        ("percent = 0, fee_min = -0.0, deduct = -0.0", {}, "0.00", "0.00"),
        ("include_shipping = true", {"shipping_fee": "-0"}, "360.00", "0.00"),
        ("include_shipping = true", {"shipping_fee": -0.0}, "360.00", "0.00"),
        ("fee_percent = 15", {"price": "-0"}, "0.00", "0.00"),
        ("fee_percent = -0.0", {"price": "-0.00", "currency": "JPY"}, "0", "0"),
    ],
)
def test_a_refund_never_reports_a_negative_zero(
    params: str, request_changes: dict[str, Any], amount: str, fee: str
) -> None:
    currency = request_changes.get("currency", "CNY")
    order = {k: v for k, v in request_changes.items() if k == "shipping_fee"}
    line = {"unit_price": request_changes.get("price", "180.00")}
    found = refund(params, make_request(order=order, line=line), currency=currency)
    assert (found["amount"], found["fee"]) == (amount, fee)


# -- parameters checked at load time ---------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("percent = 120", "action refund: percent: must be ≤ 100, got 120"),
        ("fee_percent = -1", "action refund: fee_percent: must be ≥ 0, got -1"),
        ("fee_min = -5", "action refund: fee_min: must be ≥ 0, got -5"),
        ('deduct = "abc"', "expected a decimal number"),
        ('fee_min = "１０"', 'expected a decimal number like 180.10, got "１０"'),
        ('percent = " 50"', 'expected a decimal number like 180.10, got " 50"'),
        ('deduct = "5\\n"', 'expected a decimal number like 180.10, got "5\\n"'),
        ('include_shipping = "yes"', "expected true or false"),
        ('method = "account_credt"', 'did you mean "account_credit"?'),
        ('method = "cash"', '"original", "store_credit", "account_credit"'),
        ("fee = 10", 'unknown parameter "fee"'),
    ],
)
def test_bad_refund_parameters_are_reported_at_load_time(
    params: str, expected: str
) -> None:
    (found,) = problems(
        f'[[rule]]\nid = "r"\nthen = [ {{ action = "refund", {params} }} ]\n'
    )
    assert found.startswith("rules.toml:7:")
    assert "error: action refund: " in found
    assert expected in found


def test_a_bad_money_parameter_is_named_and_shown_at_its_value() -> None:
    # issue 11: it said "action refund: expected a decimal number like 180.10,
    # got 'x'" at the key, without saying it was fee_min
    (found,) = problems(
        '[[rule]]\nid = "r"\nthen = [ { action = "refund", fee_min = "x" } ]\n'
    )
    assert found == (
        "rules.toml:7:41: error: action refund: fee_min: "
        'expected a decimal number like 180.10, got "x"'
    )


def test_money_parameters_accept_numbers_and_strings() -> None:
    assert refund('fee_min = "20.00"', priced("48.00"))["fee"] == "20.00"
    assert refund("fee_min = 20", priced("48.00"))["fee"] == "20.00"
    assert refund("fee_min = 20.5", priced("48.00"))["fee"] == "20.50"


def test_refund_is_a_single_action_the_higher_priority_wins() -> None:
    the_policy = policy(
        """
[[rule]]
id = "generic"
decide = "approve"
then = [ { action = "refund", fee_percent = 15 } ]

[[rule]]
id = "with-shipping"
when = { fact = "line.reason", eq = "defective" }
priority = 10
then = [ { action = "refund", include_shipping = true } ]
"""
    )
    line = first_line(the_policy, make_request(reason="defective"))
    assert actions(line) == [
        {
            "action": "refund",
            "rule": "with-shipping",
            "amount": "370.00",
            "fee": "0.00",
            "currency": "CNY",
            "method": "original",
        }
    ]
    assert [o.to_dict() for o in line.overridden] == [
        {"action": "refund", "rule": "generic", "by": "with-shipping"}
    ]


def test_refund_results_are_money_in_python() -> None:
    the_policy = policy(
        '[[rule]]\nid = "r"\ndecide = "approve"\nthen = [ { action = "refund" } ]\n'
    )
    (action,) = first_line(the_policy, make_request()).actions
    assert action["amount"] == Money.of("360.00", "CNY")
    assert isinstance(action["fee"], Money)
    assert action["currency"] == "CNY"


# -- the property ----------------------------------------------------------------------


def _half_up(value: Fraction, digits: int) -> Fraction:
    scaled = value * 10**digits
    return Fraction(int(scaled + Fraction(1, 2)), 10**digits)  # value ≥ 0


def _fraction(money: Money) -> Fraction:
    return Fraction(money.amount)


def _decimals(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low * 10**places, high * 10**places).map(
        lambda n: Decimal(n).scaleb(-places)
    )


@attrs.frozen
class Inputs:
    """What compute_refund is given for one line (see its docstring)."""

    line_amount: Money
    params: RefundParams
    shipping_fee: Money | None
    goods: Money | None
    return_shipping: Money | None
    request_value: Money | None
    deposit: Money | None

    def compute(self) -> refund_plugin.Refund:
        return compute_refund(
            self.line_amount,
            self.params,
            self.shipping_fee,
            self.goods,
            return_shipping=self.return_shipping,
            request_value=self.request_value,
            line_core_charge=self.deposit,
        )


@st.composite
def refund_cases(draw: st.DrawFn) -> Inputs:
    currency = draw(st.sampled_from(["CNY", "JPY", "KWD"]))
    minor = minor_units(currency)
    # Prices may carry more digits than the currency (unit prices like 0.333).
    unit = draw(_decimals(0, 20_000, minor + draw(st.integers(0, 2))))
    qty = draw(st.integers(1, 50))
    line_amount = Money(unit * qty, currency)
    others = draw(_decimals(0, 100_000, minor))

    def money(high: int) -> st.SearchStrategy[Money | None]:
        return st.none() | _decimals(0, high, minor + 1).map(
            lambda d: Money(d, currency)
        )

    basis: refund_plugin.Basis = draw(st.sampled_from(["price", "core_charge"]))
    include_return_shipping = draw(st.booleans())
    cap: Any = None
    if include_return_shipping:
        cap = draw(st.none() | st.just("original") | money(300))
    params = RefundParams(
        percent=draw(_decimals(0, 100, 2)),
        fee_percent=draw(_decimals(0, 100, 2)),
        fee_min=draw(money(500)),
        deduct=draw(money(500)),
        include_shipping=draw(st.booleans()),
        method=draw(st.sampled_from(["original", "store_credit", "account_credit"])),
        include_return_shipping=include_return_shipping,
        return_shipping_cap=cap,
        basis=basis,
        include_core_charge=basis == "price" and draw(st.booleans()),
    )
    core = draw(_decimals(0, 5_000, minor + draw(st.integers(0, 1))))
    return Inputs(
        line_amount,
        params,
        shipping_fee=draw(money(300)),
        goods=Money(line_amount.amount + others, currency),
        return_shipping=draw(money(300)),
        request_value=Money(
            line_amount.amount + draw(_decimals(0, 50_000, minor)), currency
        ),
        deposit=draw(st.none() | st.just(Money(core * qty, currency))),
    )


@settings(max_examples=300, deadline=None)
@given(refund_cases())
def test_refund_parts_always_add_up_exactly(case: Inputs) -> None:
    line_amount, params = case.line_amount, case.params
    parts = case.compute()
    digits = minor_units(line_amount.currency)
    named = {
        "share": parts.share,
        "fee": parts.fee,
        "deducted": parts.deducted,
        "shipping": parts.shipping,
        "return_shipping": parts.return_shipping,
        "core_charge": parts.core_charge,
        "amount": parts.amount,
    }
    for name, money in named.items():
        assert money.currency == line_amount.currency, name
        # quantized to the minor unit: no digit beyond it
        assert money.rounded() == money, (name, money)
        assert int(money.amount.as_tuple().exponent) >= -digits, (name, money)
        assert money.amount >= 0, (name, money)

    # the parts add up, exactly
    assert parts.amount + parts.fee + parts.deducted == (
        parts.share + parts.shipping + parts.return_shipping + parts.core_charge
    )
    assert parts.fee <= parts.share
    assert parts.deducted <= parts.share - parts.fee

    # each part is the exact value rounded half-up (computed here with fractions)
    a = _fraction(line_amount)
    k = Fraction(0) if case.deposit is None else _fraction(case.deposit)
    b = a if params.basis == "price" else k
    share = _half_up(b * Fraction(params.percent) / 100, digits)
    assert _fraction(parts.share) == share
    fee = _half_up(b * Fraction(params.fee_percent) / 100, digits)
    if params.fee_min is not None:
        fee = max(fee, _half_up(_fraction(params.fee_min), digits))
    assert _fraction(parts.fee) == min(fee, share)
    deduct = Fraction(0)
    if params.deduct is not None:
        deduct = _half_up(_fraction(params.deduct), digits)
    assert _fraction(parts.deducted) == min(deduct, share - _fraction(parts.fee))
    shipping_fee, goods = case.shipping_fee, case.goods
    if params.include_shipping and shipping_fee is not None and goods is not None:
        exact = _fraction(shipping_fee) * a / _fraction(goods) if goods.amount else 0
        # the exact share, rounded half-up
        assert _fraction(parts.shipping) == _half_up(Fraction(exact), digits)
    else:
        assert parts.shipping.amount == 0
    paid, value = case.return_shipping, case.request_value
    if params.include_return_shipping and paid is not None and value is not None:
        r = _fraction(paid)
        cap = params.return_shipping_cap
        if cap == "original":
            r = min(r, Fraction(0) if shipping_fee is None else _fraction(shipping_fee))
        elif isinstance(cap, Money):
            r = min(r, _fraction(cap))
        exact = r * a / _fraction(value) if value.amount else 0
        assert _fraction(parts.return_shipping) == _half_up(Fraction(exact), digits)
    else:
        assert parts.return_shipping.amount == 0
    expected_core = _half_up(k, digits) if params.include_core_charge else 0
    assert _fraction(parts.core_charge) == expected_core


def test_the_refund_plugin_registers_through_the_entry_point() -> None:
    registry = policy("").registry
    info = {p.name: p for p in registry.plugins}["refund"]
    assert info.origin == "entry point"
    assert info.actions == ("refund",)
    assert registry.actions["refund"].multiple is False
    assert isinstance(registry.actions["refund"], returnrules.Action)


def test_shipping_shares_of_a_10000_line_order_take_linear_time() -> None:
    # goods_value is the same for every line: it was summed again for each
    # (10^8 Decimal operations, 45 s); now once per order
    n = 10_000
    request = make_request(
        lines=[
            {"line": i, "sku": f"P-{i}", "category": "filter", "qty": 3,
             "unit_price": "180.05"}
            for i in range(1, n + 1)
        ],
        returns=[
            {"line": i, "qty": 2, "reason": "defective", "condition": "opened"}
            for i in range(1, n + 1)
        ],
    )  # fmt: skip
    the_policy = policy(
        '[[rule]]\nid = "r"\ndecide = "approve"\n'
        'then = [ { action = "refund", include_shipping = true } ]\n'
    )
    parsed = the_policy.parse_request(request)
    started = time.perf_counter()
    decision = the_policy.evaluate(parsed)
    assert time.perf_counter() - started < 5
    amounts = {line.actions[0]["amount"] for line in decision.lines}
    # 360.10 + 20.00 × 360.10 / 5,401,500.00 = 360.10 + 0.0013…
    assert amounts == {Money.of("360.10", "CNY")}
