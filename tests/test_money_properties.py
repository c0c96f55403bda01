"""Money properties: refunds and Money arithmetic over random amounts and currencies.

The refund contract (DESIGN.md, ``refund``), for a line worth ``A = qty × unit
price`` and an order whose goods are worth ``G`` with shipping fee ``S``::

    share    = round(A × percent / 100)
    fee      = min(max(round(A × fee_percent / 100), round(fee_min)), share)
    deducted = min(round(deduct), share − fee)
    shipping = round(S × A / G)            (with include_shipping)
    amount   = share − fee − deducted + shipping

``round`` is half-up to the currency's minor unit (CNY 2, JPY/KRW 0, KWD/BHD
3, any other code 2).  Here the model is computed with exact fractions, and
``returnrules_std.refund.compute_refund`` (the one calculation, which the
action calls) and a real ``policy.evaluate`` with a refund action must match
it: every reported amount and fee is quantized to the minor unit, never
negative, and ``amount + fee + deducted == share + shipping`` exactly.
Mixing currencies raises ``CurrencyMismatch``.

Two domains: what requests and policies hold in practice (prices below 10^6
with a few more digits than the currency has, quantities below 10^4), and, at
the end, everything the readers accept at its bounds (24 significant digits,
digits down to 10^-24, values just below 10^12, quantities up to 10^12,
24-digit percentages), including values built to fall a hair (10^-24) from
half a minor unit, where rounding a product or a quotient to a fixed number
of digits before the half-up step goes wrong.

``RETURNRULES_MONEY_SCALE=50 python -m pytest tests/test_money_properties.py``
multiplies every property's example count (about 6,000 each) for a long run.
"""

from __future__ import annotations

import decimal
import functools
import math
import os
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs
import pytest
import tomli_w
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import returnrules
from returnrules import CurrencyMismatch, Money, minor_units
from returnrules_std import refund as refund_plugin
from returnrules_std.refund import Refund, RefundParams, compute_refund

_SCALE = float(os.environ.get("RETURNRULES_MONEY_SCALE", "1"))


def _n(examples: int) -> int:
    """*examples*, scaled by RETURNRULES_MONEY_SCALE for long local runs."""
    return max(1, int(examples * _SCALE))


CURRENCIES = ("CNY", "USD", "JPY", "KRW", "KWD", "BHD", "CHF")
MINOR = {"CNY": 2, "USD": 2, "JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3, "CHF": 2}
"""The minor units the contract and ISO 4217 give (CHF: any other code, 2)."""


# -- the exact model -------------------------------------------------------------------


def half_up(value: Fraction, digits: int) -> Fraction:
    """*value* rounded half away from zero to *digits* decimal places, exactly."""
    scale = 10**digits
    units = math.floor(abs(value) * scale + Fraction(1, 2))
    return Fraction(units if value >= 0 else -units, scale)


def exact(money: Money | Decimal | None) -> Fraction:
    if money is None:
        return Fraction(0)
    return Fraction(money.amount if isinstance(money, Money) else money)


def model(
    line_amount: Fraction,
    params: RefundParams,
    shipping_fee: Fraction | None,
    goods_value: Fraction,
    digits: int,
) -> dict[str, Fraction]:
    """The contract's refund, computed with fractions."""
    share = half_up(line_amount * Fraction(params.percent) / 100, digits)
    fee = half_up(line_amount * Fraction(params.fee_percent) / 100, digits)
    if params.fee_min is not None:
        fee = max(fee, half_up(exact(params.fee_min), digits))
    fee = min(fee, share)
    deducted = Fraction(0)
    if params.deduct is not None:
        deducted = half_up(exact(params.deduct), digits)
    deducted = min(deducted, share - fee)
    shipping = Fraction(0)
    if params.include_shipping and shipping_fee is not None and goods_value > 0:
        shipping = half_up(shipping_fee * line_amount / goods_value, digits)
    return {
        "share": share,
        "fee": fee,
        "deducted": deducted,
        "shipping": shipping,
        "amount": share - fee - deducted + shipping,
    }


def reported(text: str, digits: int) -> Fraction:
    """A reported amount string: plain digits, exactly *digits* decimals, >= 0."""
    pattern = r"\d+" if digits == 0 else rf"\d+\.\d{{{digits}}}"
    assert re.fullmatch(pattern, text), f"{text!r} is not quantized to {digits}"
    return Fraction(Decimal(text))


def assert_quantized(money: Money, currency: str) -> None:
    assert money.currency == currency
    assert money.amount.is_finite()
    # exactly the minor unit: 306.00, not 306 or 306.000
    assert money.amount.as_tuple().exponent == -MINOR[currency], money
    assert not money.amount.is_signed(), f"negative (or -0): {money!r}"


# -- strategies ------------------------------------------------------------------------


def decimals(high: int, places: int) -> st.SearchStrategy[Decimal]:
    """Decimals in [0, high] with exactly *places* digits after the point."""
    return st.integers(0, high * 10**places).map(lambda n: Decimal(n).scaleb(-places))


def prices(currency: str) -> st.SearchStrategy[Decimal]:
    """Unit prices, some with more digits than the currency (0.333 CNY, 0.5 JPY)."""
    return st.integers(0, 2).flatmap(
        lambda extra: decimals(100_000, MINOR[currency] + extra)
    ) | st.sampled_from([Decimal("0.005"), Decimal("0.5"), Decimal("0.0005")])


def percents() -> st.SearchStrategy[Decimal]:
    return (
        st.sampled_from([Decimal(0), Decimal(100), Decimal(15), Decimal("33.3")])
        | decimals(100, 0)
        | decimals(100, 3)
    )


@st.composite
def refund_params(draw: st.DrawFn, currency: str) -> RefundParams:
    places = MINOR[currency] + draw(st.integers(0, 2))

    def amounts() -> st.SearchStrategy[Money | None]:
        return st.none() | decimals(1_000, places).map(lambda d: Money(d, currency))

    return RefundParams(
        percent=draw(percents()),
        fee_percent=draw(percents()),
        fee_min=draw(amounts()),
        deduct=draw(amounts()),
        include_shipping=draw(st.booleans()),
        method=draw(st.sampled_from(["original", "store_credit", "account_credit"])),
    )


# -- compute_refund --------------------------------------------------------------------


def assert_refund(
    parts: Refund,
    line_amount: Money,
    params: RefundParams,
    shipping_fee: Money | None,
    goods_value: Money,
) -> None:
    currency = line_amount.currency
    digits = MINOR[currency]
    for money in (parts.share, parts.fee, parts.deducted, parts.shipping, parts.amount):
        assert_quantized(money, currency)
    assert parts.amount + parts.fee + parts.deducted == parts.share + parts.shipping
    want = model(
        exact(line_amount),
        params,
        None if shipping_fee is None else exact(shipping_fee),
        exact(goods_value),
        digits,
    )
    got = {
        "share": exact(parts.share),
        "fee": exact(parts.fee),
        "deducted": exact(parts.deducted),
        "shipping": exact(parts.shipping),
        "amount": exact(parts.amount),
    }
    assert got == want


@settings(max_examples=_n(150), deadline=None)
@given(st.data())
def test_compute_refund_is_the_exact_half_up_model(data: st.DataObject) -> None:
    currency = data.draw(st.sampled_from(CURRENCIES))
    assert minor_units(currency) == MINOR[currency]
    unit = data.draw(prices(currency))
    qty = data.draw(st.integers(1, 9_999))
    line_amount = Money(unit * qty, currency)
    goods_value = Money(
        line_amount.amount + data.draw(decimals(1_000_000, MINOR[currency])), currency
    )
    shipping_fee = data.draw(
        st.none() | decimals(500, MINOR[currency]).map(lambda d: Money(d, currency))
    )
    params = data.draw(refund_params(currency))
    parts = compute_refund(line_amount, params, shipping_fee, goods_value)
    assert_refund(parts, line_amount, params, shipping_fee, goods_value)


@settings(max_examples=_n(100), deadline=None)
@given(st.data())
def test_a_refund_is_monotonic_in_its_parameters(data: st.DataObject) -> None:
    """More percent never refunds less; a higher fee or deduction never more."""
    currency = data.draw(st.sampled_from(CURRENCIES))
    line_amount = Money(
        data.draw(prices(currency)) * data.draw(st.integers(1, 99)), currency
    )
    params = data.draw(refund_params(currency))
    bump = data.draw(decimals(50, 1))
    base = compute_refund(line_amount, params).amount
    more = RefundParams(
        percent=min(Decimal(100), params.percent + bump),
        fee_percent=params.fee_percent,
        fee_min=params.fee_min,
        deduct=params.deduct,
    )
    assert compute_refund(line_amount, more).amount >= base
    dearer = RefundParams(
        percent=params.percent,
        fee_percent=min(Decimal(100), params.fee_percent + bump),
        fee_min=params.fee_min,
        deduct=None if params.deduct is None else params.deduct + Money(bump, currency),
    )
    assert compute_refund(line_amount, dearer).amount <= base


# -- through policy.evaluate -----------------------------------------------------------


def _policy(currency: str, params: dict[str, Any]) -> returnrules.Policy:
    doc = {
        "version": 1,
        "policy": {"currency": currency, "default": "review"},
        "rule": [
            {
                "id": "refund-it",
                "decide": "approve",
                "then": [{"action": "refund", **params}],
            }
        ],
    }
    return returnrules.loads_policy(
        tomli_w.dumps(doc), plugins=[refund_plugin], autoload=False
    )


def _toml_money(draw: st.DrawFn, value: Decimal) -> object:
    """A money literal written as a string, or as an integer when it is one."""
    if value == value.to_integral_value() and draw(st.booleans()):
        return int(value)
    return str(value)


@attrs.frozen
class RefundCase:
    """A currency, refund parameters (and how the policy writes them), a request."""

    currency: str
    params: RefundParams
    written: dict[str, Any]
    unit_prices: tuple[Decimal, ...]  # per order line
    ordered: tuple[int, ...]  # qty per order line
    returned: tuple[int, ...]  # qty returned per order line
    shipping_fee: Decimal | None
    request: dict[str, Any]


@st.composite
def refund_cases(draw: st.DrawFn) -> RefundCase:
    currency = draw(st.sampled_from(CURRENCIES))
    params = draw(refund_params(currency))
    written: dict[str, Any] = {
        "percent": str(params.percent),
        "fee_percent": str(params.fee_percent),
        "include_shipping": params.include_shipping,
        "method": params.method,
    }
    if params.fee_min is not None:
        written["fee_min"] = _toml_money(draw, params.fee_min.amount)
    if params.deduct is not None:
        written["deduct"] = _toml_money(draw, params.deduct.amount)
    count = draw(st.integers(1, 3))
    unit_prices = tuple(draw(prices(currency)) for _ in range(count))
    ordered = tuple(draw(st.integers(1, 500)) for _ in range(count))
    returned = tuple(draw(st.integers(1, qty)) for qty in ordered)
    digits = MINOR[currency] + draw(st.integers(0, 1))
    shipping_fee = draw(st.none() | decimals(300, digits))
    order: dict[str, Any] = {
        "id": "SO-1",
        "status": "delivered",
        "placed_at": "2026-11-01",
        "lines": [
            {
                "line": i + 1,
                "sku": f"P-{i}",
                "category": "brake",
                "qty": ordered[i],
                "unit_price": str(unit_prices[i]),
            }
            for i in range(count)
        ],
    }
    if draw(st.booleans()):
        order["currency"] = currency
    if shipping_fee is not None:
        order["shipping_fee"] = str(shipping_fee)
    request = {
        "id": "RT-1",
        "requested_at": "2026-11-20T10:00:00+08:00",
        "customer": {"id": "C-1"},
        "order": order,
        "lines": [
            {
                "line": i + 1,
                "qty": returned[i],
                "reason": "defective",
                "condition": "unopened",
            }
            for i in range(count)
        ],
    }
    return RefundCase(
        currency,
        params,
        written,
        unit_prices,
        ordered,
        returned,
        shipping_fee,
        request,
    )


@settings(max_examples=_n(120), deadline=None)
@given(refund_cases())
def test_evaluate_reports_quantized_refunds_that_add_up(case: RefundCase) -> None:
    digits = MINOR[case.currency]
    policy = _policy(case.currency, case.written)
    decision = policy.evaluate(case.request)
    goods = sum(
        (Fraction(p) * q for p, q in zip(case.unit_prices, case.ordered, strict=True)),
        Fraction(0),
    )
    shipping = None if case.shipping_fee is None else Fraction(case.shipping_fee)
    parsed = policy.parse_request(case.request)
    lines = decision.to_dict()["lines"]
    for i, line in enumerate(lines):
        assert line["decision"] == "approve", line["errors"]
        (action,) = line["actions"]
        assert action["currency"] == case.currency
        assert action["method"] == case.params.method
        line_amount = Fraction(case.unit_prices[i]) * case.returned[i]
        want = model(line_amount, case.params, shipping, goods, digits)
        amount = reported(action["amount"], digits)
        fee = reported(action["fee"], digits)
        assert (amount, fee) == (want["amount"], want["fee"])
        # amount + fee + deducted == share + shipping, with deducted what is left
        assert amount + fee + want["deducted"] == want["share"] + want["shipping"]
        # and the plugin's function agrees with what evaluate reported
        _, oline = parsed.pairs[i]
        parts = compute_refund(
            oline.unit_price * case.returned[i],
            case.params,
            parsed.order.shipping_fee,
            parsed.order.goods_value,
        )
        assert (parts.amount.format(), parts.fee.format()) == (
            action["amount"],
            action["fee"],
        )


def test_a_request_in_another_currency_is_a_request_error() -> None:
    policy = _policy("JPY", {})
    request = {
        "id": "RT-1",
        "requested_at": "2026-11-20T10:00:00+08:00",
        "customer": {"id": "C-1"},
        "order": {
            "id": "SO-1",
            "status": "delivered",
            "placed_at": "2026-11-01",
            "currency": "CNY",
            "lines": [
                {"line": 1, "sku": "A", "category": "brake", "qty": 1,
                 "unit_price": "5"},
            ],
        },
        "lines": [{"line": 1, "qty": 1, "reason": "defective",
                   "condition": "unopened"}],
    }  # fmt: skip
    with pytest.raises(returnrules.RequestError) as info:
        policy.evaluate(request)
    assert [p.code for p in info.value.problems] == ["currency-mismatch"]
    # a request that names no currency takes the evaluating policy's
    order = request["order"]
    assert isinstance(order, dict)
    del order["currency"]
    cny_request = _policy("CNY", {}).parse_request(request)
    assert cny_request.currency == "CNY"
    assert policy.evaluate(cny_request).to_dict() == policy.evaluate(request).to_dict()


# -- mixing currencies -----------------------------------------------------------------

OPERATIONS: dict[str, Callable[[Money, Money], object]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "max": max,
    "min": min,
}

amounts = st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False)
two_currencies = st.lists(
    st.sampled_from(CURRENCIES), min_size=2, max_size=2, unique=True
)


@settings(max_examples=_n(100), deadline=None)
@given(
    a=amounts,
    b=amounts,
    currencies=two_currencies,
    op=st.sampled_from(sorted(OPERATIONS)),
)
def test_arithmetic_and_comparison_across_currencies_raise(
    a: Decimal, b: Decimal, currencies: list[str], op: str
) -> None:
    x, y = Money(a, currencies[0]), Money(b, currencies[1])
    with pytest.raises(CurrencyMismatch):
        OPERATIONS[op](x, y)
    with pytest.raises(CurrencyMismatch):
        OPERATIONS[op](y, x)
    assert x != y  # equality is not an error: different currencies are not equal


@pytest.mark.parametrize(
    "which",
    ["fee_min", "deduct", "shipping_fee", "goods_value"],
)
def test_compute_refund_refuses_money_in_another_currency(which: str) -> None:
    line_amount = Money(Decimal("360.00"), "CNY")
    usd = Money(Decimal("5.00"), "USD")
    params = RefundParams(
        fee_min=usd if which == "fee_min" else None,
        deduct=usd if which == "deduct" else None,
        include_shipping=True,
    )
    shipping = usd if which == "shipping_fee" else Money(Decimal(20), "CNY")
    goods = usd if which == "goods_value" else Money(Decimal("720.00"), "CNY")
    try:
        parts = compute_refund(line_amount, params, shipping, goods)
        parts.amount  # noqa: B018  (the sum of the parts, in one currency)
    except CurrencyMismatch:
        return
    raise AssertionError(f"a {which} in USD was mixed into a CNY refund: {parts}")


# -- Money arithmetic ------------------------------------------------------------------

# What requests and policies accept: |x| < 10^12, and (here) up to 6 places, so
# that sums of a few stay within the 28 significant digits of the default context.
domain = st.decimals(
    min_value=-(10**12) + 1, max_value=10**12 - 1, places=6, allow_nan=False
)


@settings(max_examples=_n(150), deadline=None)
@given(a=domain, b=domain, c=domain, currency=st.sampled_from(CURRENCIES))
def test_addition_is_associative_commutative_and_exact(
    a: Decimal, b: Decimal, c: Decimal, currency: str
) -> None:
    x, y, z = (Money(v, currency) for v in (a, b, c))
    assert (x + y) + z == x + (y + z)
    assert x + y == y + x
    assert (x + y) - y == x
    assert exact(x + y + z) == exact(a) + exact(b) + exact(c)
    assert (x - x) - x == -x
    assert x - x == Money.zero(currency)
    assert exact(x * 7) == exact(a) * 7


@settings(max_examples=_n(150), deadline=None)
@given(amount=domain, currency=st.sampled_from(CURRENCIES))
def test_rounding_is_half_up_idempotent_and_quantized(
    amount: Decimal, currency: str
) -> None:
    money = Money(amount, currency)
    rounded = money.rounded()
    digits = MINOR[currency]
    assert rounded.rounded() == rounded
    assert rounded.amount.as_tuple().exponent == -digits
    assert exact(rounded) == half_up(exact(amount), digits)
    assert money.format() == str(rounded.amount)
    assert str(money) == f"{rounded.amount} {currency}"


@settings(max_examples=_n(150), deadline=None)
@given(units=st.integers(0, 10**11), currency=st.sampled_from(CURRENCIES))
def test_an_exact_half_of_the_minor_unit_rounds_up(units: int, currency: str) -> None:
    digits = MINOR[currency]
    unit = Decimal(1).scaleb(-digits)
    half = (Decimal(units) + Decimal("0.5")) * unit
    assert Money(half, currency).rounded().amount == (units + 1) * unit
    # and away from zero below zero (ROUND_HALF_UP), a hair below half stays down
    assert Money(-half, currency).rounded().amount == -(units + 1) * unit
    below = half - unit / 1000
    assert Money(below, currency).rounded().amount == units * unit


@pytest.mark.parametrize(
    ("currency", "price", "amount"),
    [
        ("JPY", "0.5", "1"),
        ("KRW", "2.5", "3"),
        ("CNY", "0.005", "0.01"),
        ("CNY", "0.004", "0.00"),
        ("KWD", "0.0005", "0.001"),
        ("BHD", "1.2345", "1.235"),
    ],
)
def test_evaluate_rounds_exact_halves_up_in_every_minor_unit(
    currency: str, price: str, amount: str
) -> None:
    line = (
        _policy(currency, {}).evaluate(_one_line_request(price)).to_dict()["lines"][0]
    )
    assert (line["actions"][0]["amount"], line["actions"][0]["fee"]) == (
        amount,
        "0" if MINOR[currency] == 0 else "0." + "0" * MINOR[currency],
    )


# -- regression tests ------------------------------------------------------------------


def _one_line_request(unit_price: str, qty: int = 1) -> dict[str, Any]:
    return {
        "id": "RT-1",
        "requested_at": "2026-11-20T10:00:00+08:00",
        "customer": {"id": "C-1"},
        "order": {
            "id": "SO-1",
            "status": "delivered",
            "placed_at": "2026-11-01",
            "lines": [{"line": 1, "sku": "A", "category": "brake", "qty": qty,
                       "unit_price": unit_price}],
        },
        "lines": [{"line": 1, "qty": qty, "reason": "defective",
                   "condition": "unopened"}],
    }  # fmt: skip


def test_a_price_beyond_the_decimal_precision_is_refused_or_rounded_once() -> None:
    price = "0.00499999999999999999999999999999"
    policy = _policy("CNY", {})
    try:
        decision = policy.evaluate(_one_line_request(price))
    except returnrules.RequestError:
        return  # refusing such a price is a fine answer too
    (action,) = decision.lines[0].actions
    assert action.to_dict()["amount"] == "0.00"  # half-up of the exact amount


def test_refunds_do_not_depend_on_the_hosts_decimal_context() -> None:
    policy = _policy("CNY", {"fee_percent": 15})
    request = _one_line_request("1234567.89")
    want = policy.evaluate(request).to_dict()
    with decimal.localcontext() as context:
        context.prec = 6
        got = policy.evaluate(request).to_dict()
    assert got == want


# -- at the bounds ---------------------------------------------------------------------
#
# What the readers accept at its extremes: 24 significant digits, digits down to
# 10^-24, values just below 10^12, quantities up to 10^12, 24-digit percentages.
# Money's arithmetic, Money.prorated and the core's sums (MONEY_CONTEXT, 64
# digits) must be exact there too: each is compared with fractions.

EDGES = tuple(
    map(
        Decimal,
        [
            "999999999999.999999999999",
            "0.000000000000000000000001",
            "1000.00500001000000000001",
            "1.0000000000000000000002",
            "0.005",
            "0.5",
            "0",
        ],
    )
)


@st.composite
def bounded(draw: st.DrawFn, high_digits: int = 12) -> Decimal:
    """A value the readers accept, below 10^high_digits: any size, any depth."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from([d for d in EDGES if d < 10**high_digits]))
    digits = draw(st.integers(1, 24))
    exponent = draw(st.integers(-24, high_digits - digits))
    coefficient = draw(st.integers(0, 10**digits - 1) | st.just(10**digits - 1))
    return Decimal(f"{coefficient}E{exponent}")


def bounded_percents() -> st.SearchStrategy[Decimal]:
    return bounded(high_digits=2) | st.sampled_from(
        [Decimal(100), Decimal("50.4999999999999999999899"), Decimal("99." + "9" * 22)]
    )


QTYS = st.integers(1, 10**12) | st.sampled_from([1, 999_999_999_999, 10**12])


def plain(value: Decimal) -> str:
    """How a client writes *value*: plain digits, never an exponent."""
    return format(value, "f")


@settings(max_examples=_n(300), deadline=None)
@given(
    price=bounded(),
    qty=QTYS,
    numerator=bounded() | QTYS,
    denominator=bounded().filter(bool) | QTYS,
    currency=st.sampled_from(CURRENCIES),
)
def test_prorated_is_the_exact_half_up_quotient_at_the_bounds(
    price: Decimal, qty: int, numerator: Decimal | int, denominator: Decimal | int,
    currency: str,
) -> None:  # fmt: skip
    line = Money(price, currency) * qty
    assert exact(line) == Fraction(price) * qty
    share = line.prorated(numerator, denominator)
    want = half_up(
        exact(line) * Fraction(numerator) / Fraction(denominator), MINOR[currency]
    )
    assert exact(share) == want
    assert_quantized(share, currency)


@functools.cache
def _amount_policy(currency: str) -> returnrules.Policy:
    """A policy whose one rule's message shows request.amount."""
    return returnrules.loads_policy(
        f'version = 1\n[policy]\ncurrency = "{currency}"\n'
        '[[rule]]\nid = "r"\ndecide = "approve"\nmessage = "{request.amount}"\n',
        autoload=False,
    )


@settings(max_examples=_n(200), deadline=None)
@given(
    lines=st.lists(st.tuples(bounded(), QTYS), min_size=1, max_size=6),
    currency=st.sampled_from(CURRENCIES),
)
def test_the_cores_sums_are_exact_at_the_bounds(
    lines: list[tuple[Decimal, int]], currency: str
) -> None:
    """goods_value and request.amount, in the 64-digit MONEY_CONTEXT, lose nothing."""
    request = {
        "id": "RT-1",
        "requested_at": "2026-11-20T10:00:00+08:00",
        "customer": {"id": "C-1"},
        "order": {
            "id": "SO-1",
            "status": "delivered",
            "placed_at": "2026-11-01",
            "currency": currency,
            "lines": [
                {"line": i + 1, "sku": f"P-{i}", "category": "brake", "qty": qty,
                 "unit_price": plain(price)}
                for i, (price, qty) in enumerate(lines)
            ],
        },
        "lines": [
            {"line": i + 1, "qty": qty, "reason": "defective", "condition": "unopened"}
            for i, (_, qty) in enumerate(lines)
        ],
    }  # fmt: skip
    parsed = returnrules.parse_request(request)
    total = sum((Fraction(price) * qty for price, qty in lines), Fraction(0))
    assert exact(parsed.order.goods_value) == total
    (line, *_) = _amount_policy(currency).evaluate(parsed).lines
    assert Fraction(Decimal(line.messages[0].split()[0])) == half_up(
        total, MINOR[currency]
    )


@st.composite
def bounded_money(draw: st.DrawFn, currency: str) -> Money | None:
    value = draw(st.none() | bounded())
    return None if value is None else Money(value, currency)


@attrs.frozen
class BoundCase:
    """A refund at the bounds: line amount, parameters, shipping, goods value."""

    currency: str
    prices: tuple[Decimal, ...]  # per order line; line 1 is refunded
    ordered: tuple[int, ...]
    returned: int
    shipping_fee: Decimal | None
    params: RefundParams


def _hair(nines: int, scale: int, minor: int, below: bool, high: int) -> int:
    """A coefficient c for which c × (10^nines − 1) × 10^-scale is half a minor
    unit (10^-minor) plus or minus 10^-scale: a hair below or above a half.

    (10^nines − 1) is prime to 10, so c is found modulo 10^(scale − minor);
    *high* fills the digits above.  Random values almost never come that close
    to a half, yet that is where rounding a product or a quotient to a fixed
    number of digits before the half-up step goes wrong."""
    modulus: int = 10 ** (scale - minor)
    target = (5 * modulus // 10 + (-1 if below else 1)) % modulus
    inverse: int = pow(10**nines - 1, -1, modulus)
    return target * inverse % modulus + high * modulus


@st.composite
def hair_cases(draw: st.DrawFn) -> BoundCase:
    """A line amount, a share, a fee or a shipping share a hair from a half."""
    currency = draw(st.sampled_from(CURRENCIES))
    minor = MINOR[currency]
    below = draw(st.booleans())
    which = draw(st.sampled_from(["amount", "percent", "fee_percent", "shipping"]))
    if which == "shipping":
        # S × A / (A + ε) = S − S·ε / (A + ε): just below S, half a minor unit
        units = draw(st.integers(0, 10**11))
        half = Decimal(2 * units + 1).scaleb(-minor - 1)  # (units + 1/2) × unit
        price = draw(bounded().filter(lambda p: p >= 10**6))
        qty = draw(st.integers(10**6, 10**12))
        tiny = Decimal(draw(st.integers(1, 99))).scaleb(-24)
        params = RefundParams(include_shipping=True)
        return BoundCase(currency, (price, tiny), (qty, 1), qty, half, params)
    nines = draw(st.integers(2, 12) if which == "amount" else st.integers(3, 22))
    scale_extra = 0 if which == "amount" else nines
    places = draw(
        st.integers(max(0, minor + 1 - scale_extra), 24 + minor - scale_extra)
    )
    places = min(places, 24)
    scale = places + scale_extra
    room = 24 - (scale - minor)  # digits left above the modulus
    high = draw(st.integers(0, 10**room - 1)) if room > 0 else 0
    price = Decimal(_hair(nines, scale, minor, below, high)).scaleb(-places)
    assume(price < 10**12 and len(price.as_tuple().digits) <= 24)
    if which == "amount":
        qty = 10**nines - 1
        return BoundCase(currency, (price,), (qty,), qty, None, RefundParams())
    percent = Decimal(10**nines - 1).scaleb(2 - nines)  # 99.9…9
    params = (
        RefundParams(percent=percent)
        if which == "percent"
        else RefundParams(fee_percent=percent)
    )
    return BoundCase(currency, (price,), (1,), 1, None, params)


@st.composite
def bound_cases(draw: st.DrawFn) -> BoundCase:
    if draw(st.integers(0, 2)) == 0:
        return draw(hair_cases())
    currency = draw(st.sampled_from(CURRENCIES))
    count = draw(st.integers(1, 3))
    prices = tuple(draw(bounded()) for _ in range(count))
    ordered = tuple(draw(QTYS) for _ in range(count))
    returned = draw(st.integers(1, ordered[0]) | st.just(ordered[0]))
    return BoundCase(
        currency,
        prices,
        ordered,
        returned,
        draw(st.none() | bounded()),
        RefundParams(
            percent=draw(bounded_percents()),
            fee_percent=draw(bounded_percents()),
            fee_min=draw(bounded_money(currency)),
            deduct=draw(bounded_money(currency)),
            include_shipping=draw(st.booleans()),
        ),
    )


def _bound_model(case: BoundCase) -> dict[str, Fraction]:
    goods = sum(
        (Fraction(p) * q for p, q in zip(case.prices, case.ordered, strict=True)),
        Fraction(0),
    )
    return model(
        Fraction(case.prices[0]) * case.returned,
        case.params,
        None if case.shipping_fee is None else Fraction(case.shipping_fee),
        goods,
        MINOR[case.currency],
    )


@settings(max_examples=_n(300), deadline=None)
@given(bound_cases())
def test_compute_refund_is_exact_at_the_bounds(case: BoundCase) -> None:
    """Every part, at 24 digits, 1e-24, 1e12 − ε, qty 1e12: the fraction model's."""
    currency = case.currency
    line_amount = Money(case.prices[0], currency) * case.returned
    goods = sum(
        (
            Money(p, currency) * q
            for p, q in zip(case.prices, case.ordered, strict=True)
        ),
        Money.zero(currency),
    )
    shipping = None if case.shipping_fee is None else Money(case.shipping_fee, currency)
    parts = compute_refund(line_amount, case.params, shipping, goods)
    assert_refund(parts, line_amount, case.params, shipping, goods)
    got = {name: exact(getattr(parts, name)) for name in _bound_model(case)}
    assert got == _bound_model(case)


@settings(max_examples=_n(120), deadline=None)
@given(bound_cases())
def test_evaluate_refunds_exactly_at_the_bounds(case: BoundCase) -> None:
    """The same through a policy and a request written as clients write them."""
    params = case.params
    written: dict[str, Any] = {
        "percent": plain(params.percent),
        "fee_percent": plain(params.fee_percent),
        "include_shipping": params.include_shipping,
    }
    for key in ("fee_min", "deduct"):
        money = getattr(params, key)
        if money is not None:
            written[key] = plain(money.amount)
    order: dict[str, Any] = {
        "id": "SO-1",
        "status": "delivered",
        "placed_at": "2026-11-01",
        "lines": [
            {"line": i + 1, "sku": f"P-{i}", "category": "brake", "qty": qty,
             "unit_price": plain(price)}
            for i, (price, qty) in enumerate(zip(case.prices, case.ordered,
                                                 strict=True))
        ],
    }  # fmt: skip
    if case.shipping_fee is not None:
        order["shipping_fee"] = plain(case.shipping_fee)
    request = {
        "id": "RT-1",
        "requested_at": "2026-11-20T10:00:00+08:00",
        "customer": {"id": "C-1"},
        "order": order,
        "lines": [{"line": 1, "qty": case.returned, "reason": "defective",
                   "condition": "unopened"}],
    }  # fmt: skip
    (line,) = _policy(case.currency, written).evaluate(request).to_dict()["lines"]
    (action,) = line["actions"]
    want = _bound_model(case)
    digits = MINOR[case.currency]
    got = (reported(action["amount"], digits), reported(action["fee"], digits))
    assert got == (want["amount"], want["fee"])
