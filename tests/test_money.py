"""Money: Decimal amounts, ISO 4217 minor units, half-up rounding, one currency."""

from __future__ import annotations

import decimal
import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from returnrules import CurrencyMismatch, Money, minor_units
from returnrules.model.errors import quote
from returnrules.model.money import to_decimal

# -- minor units -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("CNY", 2), ("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3)],
)
def test_minor_units_follow_iso_4217(currency: str, digits: int) -> None:
    assert minor_units(currency) == digits
    assert Money.of(1, currency).minor_units == digits


def test_an_unlisted_currency_has_two_minor_units() -> None:
    assert minor_units("XYZ") == 2


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("180", "CNY", "180.00"),
        ("3", "JPY", "3"),
        ("3", "KWD", "3.000"),
        ("0.1", "USD", "0.10"),
    ],
)
def test_format_shows_exactly_the_minor_units(
    amount: str, currency: str, shown: str
) -> None:
    assert Money.of(amount, currency).format() == shown
    assert str(Money.of(amount, currency)) == f"{shown} {currency}"


# -- rounding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("0.125", "CNY", "0.13"),
        ("0.135", "CNY", "0.14"),  # half-up, not banker's rounding (0.14 either way)
        ("0.145", "CNY", "0.15"),  # banker's rounding would give 0.14
        ("2.675", "USD", "2.68"),  # float 2.675 is 2.67499..., Decimal is exact
        ("0.005", "EUR", "0.01"),
        ("0.004", "EUR", "0.00"),
        ("2.5", "JPY", "3"),
        ("3.5", "JPY", "4"),
        ("2.4", "KRW", "2"),
        ("1.0005", "KWD", "1.001"),
        ("1.0004", "KWD", "1.000"),
    ],
)
def test_rounding_is_half_up_to_the_minor_unit(
    amount: str, currency: str, rounded: str
) -> None:
    result = Money(Decimal(amount), currency).rounded()
    assert result == Money(Decimal(rounded), currency)
    assert str(result.amount) == rounded


def test_rounding_a_float_literal_uses_its_decimal_form() -> None:
    # 2.675 as a binary float is 2.67499999...; Money.of must see "2.675".
    assert Money.of(2.675, "CNY").format() == "2.68"
    assert Money.of(2.5, "JPY").format() == "3"


# -- arithmetic ------------------------------------------------------------------------


def test_arithmetic_between_equal_currencies() -> None:
    a, b = Money.of("180.10", "CNY"), Money.of("0.20", "CNY")
    assert a + b == Money.of("180.30", "CNY")
    assert a - b == Money.of("179.90", "CNY")
    assert a * 2 == Money.of("360.20", "CNY")
    assert 2 * a == Money.of("360.20", "CNY")
    assert a * Decimal("0.5") == Money.of("90.05", "CNY")
    assert a / 4 == Money.of("45.025", "CNY")
    assert -b == Money.of("-0.20", "CNY")
    assert b < a
    assert b <= a
    assert a > b
    assert a >= a


def test_amounts_stay_decimal_never_float() -> None:
    total = Money.of(0.1, "CNY") + Money.of(0.2, "CNY")
    assert isinstance(total.amount, Decimal)
    assert total.amount == Decimal("0.3")


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
    ids=["add", "sub", "lt", "le", "gt", "ge"],
)
def test_combining_two_currencies_raises_currency_mismatch(operation: Any) -> None:
    with pytest.raises(CurrencyMismatch, match="CNY with USD"):
        operation(Money.of(1, "CNY"), Money.of(1, "USD"))


def test_currency_mismatch_is_a_value_error() -> None:
    assert issubclass(CurrencyMismatch, ValueError)


def test_money_of_different_currencies_is_not_equal() -> None:
    assert Money.of(1, "CNY") != Money.of(1, "USD")


def test_equal_amounts_with_different_scale_are_equal() -> None:
    assert Money.of("1", "CNY") == Money.of("1.00", "CNY")
    assert hash(Money.of("1", "CNY")) == hash(Money.of("1.00", "CNY"))


@pytest.mark.parametrize("factor", [1.5, True], ids=["float", "bool"])
def test_money_cannot_be_multiplied_by_a_float_or_bool(factor: Any) -> None:
    with pytest.raises(TypeError):
        Money.of(1, "CNY") * factor
    with pytest.raises(TypeError):
        Money.of(1, "CNY") / factor


def test_money_is_never_multiplied_or_divided_into_a_non_finite_amount() -> None:
    one, nothing = Money.of(1, "CNY"), Money.zero("CNY")
    for factor in (Decimal("NaN"), Decimal("-Infinity")):
        with pytest.raises(ValueError, match="finite"):
            one * factor
    with pytest.raises(ValueError, match="finite"):
        nothing * Decimal("NaN")
    with pytest.raises(ValueError, match="finite"):
        one / Decimal("NaN")


@pytest.mark.parametrize("code", ["cny", "CN", "CNYY", "12A", ""])
def test_a_currency_is_three_capital_letters(code: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        Money.of(1, code)


@pytest.mark.parametrize(
    "amount", [0.1, Decimal("NaN"), Decimal("Infinity")], ids=["float", "nan", "inf"]
)
def test_the_money_constructor_rejects_non_decimal_or_non_finite_amounts(
    amount: Any,
) -> None:
    with pytest.raises((TypeError, ValueError)):
        Money(amount, "CNY")


# -- signed zeros ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-0", "-0.00", "+0", -0.0, Decimal("-0.000")])
def test_a_signed_zero_is_read_as_zero(value: object) -> None:
    number = to_decimal(value)
    assert number == 0
    assert not number.is_signed()
    assert Money.of(value, "CNY").format() == "0.00"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("-0", "CNY", "0.00"),
        ("-0.001", "CNY", "0.00"),
        ("-0.004999", "CNY", "0.00"),
        ("-0.4", "JPY", "0"),
        ("-0.0004", "KWD", "0.000"),
        ("-0.005", "CNY", "-0.01"),  # a real negative amount keeps its sign
    ],
)
def test_a_negative_amount_that_rounds_to_zero_is_shown_as_zero(
    amount: str, currency: str, shown: str
) -> None:
    money = Money(Decimal(amount), currency)
    assert money.format() == shown
    assert str(money.rounded().amount) == shown
    assert str(money) == f"{shown} {currency}"


def test_arithmetic_makes_no_negative_zero() -> None:
    zero = Money.zero("CNY")
    for result in (-zero, zero * -1, Money.of(-5, "CNY") * 0, zero * Decimal("-2.5")):
        assert result == zero
        assert not result.amount.is_signed(), result


# -- to_decimal ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, Decimal("0.1")),
        (180.1, Decimal("180.1")),
        (1e-7, Decimal("1e-7")),
        (5000, Decimal(5000)),
        ("180.10", Decimal("180.10")),
        ("+5", Decimal(5)),
        ("5.", Decimal(5)),
        (".5", Decimal("0.5")),
        (Decimal("2.50"), Decimal("2.50")),
    ],
)
def test_to_decimal_takes_floats_through_their_shortest_repr(
    value: object, expected: Decimal
) -> None:
    result = to_decimal(value)
    assert result == expected
    assert str(result) == str(expected)


def test_to_decimal_keeps_the_scale_of_a_string() -> None:
    assert str(to_decimal("180.10")) == "180.10"


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        math.nan,
        math.inf,
        -math.inf,
        "NaN",
        "inf",
        "-Infinity",
        "sNaN",
        Decimal("NaN"),
        "abc",
        "",
        None,
        [1],
    ],
)
def test_to_decimal_rejects_bools_non_finite_and_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="expected"):
        to_decimal(value)


@pytest.mark.parametrize(
    "value",
    [
        "１２",  # full-width digits: Decimal() reads them
        "１２.５０",
        "٣",  # Arabic-Indic three
        "१२",  # Devanagari twelve
        "  12",
        "12 ",
        "\t12",
        "12\n",
        "1\u00a02",
        "\u200b12",
        "1 2",
        "1_000",
        "1e3",
        ".",
        "+",
        "--1",
    ],
)
def test_to_decimal_takes_only_ascii_digits_with_nothing_around(value: str) -> None:
    message = f"expected a decimal number like 180.10, got {quote(value)}"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        to_decimal(value)
    with pytest.raises(ValueError, match=re.escape(message)):
        Money.of(value, "CNY")


@pytest.mark.parametrize("value", [True, math.nan, math.inf, "NaN", "x"])
def test_money_of_rejects_what_to_decimal_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="expected"):
        Money.of(value, "CNY")


# -- properties ------------------------------------------------------------------------

CURRENCIES = st.sampled_from(["CNY", "USD", "EUR", "JPY", "KRW", "KWD"])
AMOUNTS = st.decimals(
    min_value=Decimal("-1000000"),
    max_value=Decimal("1000000"),
    allow_nan=False,
    allow_infinity=False,
    places=6,
)


@settings(max_examples=100, deadline=None)
@given(amount=AMOUNTS, currency=CURRENCIES)
def test_rounding_is_idempotent_and_within_half_a_minor_unit(
    amount: Decimal, currency: str
) -> None:
    money = Money(amount, currency)
    rounded = money.rounded()
    assert rounded.rounded() == rounded
    assert rounded.currency == currency
    unit = Decimal(1).scaleb(-minor_units(currency))
    assert abs(rounded.amount - amount) <= unit / 2
    assert rounded.amount == rounded.amount.quantize(unit)
    # exactly half a unit away only when rounding away from zero (half-up)
    if abs(rounded.amount - amount) == unit / 2:
        assert abs(rounded.amount) > abs(amount)


@settings(max_examples=100, deadline=None)
@given(a=AMOUNTS, b=AMOUNTS, currency=CURRENCIES)
def test_addition_is_exact_decimal_arithmetic(
    a: Decimal, b: Decimal, currency: str
) -> None:
    x, y = Money(a, currency), Money(b, currency)
    assert (x + y).amount == a + b
    assert (x + y) - y == x
    assert (x < y) == (a < b)


@settings(max_examples=100, deadline=None)
@given(
    value=st.floats(
        allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12
    )
)
def test_to_decimal_of_a_float_round_trips_through_repr(value: float) -> None:
    result = to_decimal(value)
    assert float(result) == value
    assert result == Decimal(repr(value))


# -- exact products and quotients ------------------------------------------------------


def test_a_product_is_exact_at_the_largest_price_and_quantity() -> None:
    # 24 significant digits × 999999999999: 37 digits, once rounded to 34
    line = Money.of("1000.00500001000000000001", "CNY") * 999_999_999_999
    assert line.amount == Decimal("1000005000008999.99499999999999999999")
    assert line.format() == "1000005000008999.99"  # not ...9000.00


def test_sums_and_differences_are_exact_however_the_magnitudes_differ() -> None:
    big, tiny = Money.of("999999999999", "CNY"), Money(Decimal("1E-60"), "CNY")
    assert (big + tiny - big).amount == Decimal("1E-60")
    total = (big * 10**12 + tiny).amount
    assert Fraction(total) == Fraction(10**24 - 10**12) + Fraction(1, 10**60)


def test_prorated_is_exact_where_rounding_the_product_first_was_not() -> None:
    price = Money.of("1.0000000000000000000002", "CNY")
    percent = Decimal("50.4999999999999999999899")
    # exactly 0.504999999999999999999900099...: below half a fen
    assert price.prorated(percent, 100) == Money.of("0.50", "CNY")
    assert str(price.prorated(percent, 100).amount) == "0.50"


@pytest.mark.parametrize(
    ("amount", "numerator", "denominator", "currency", "expected"),
    [
        ("10.00", "30.00", "480.00", "CNY", "0.63"),  # 0.625, from a repeating ratio
        ("-10.00", "30.00", "480.00", "CNY", "-0.63"),  # half away from zero
        ("30.00", "10.00", "480.00", "CNY", "0.63"),
        ("0.01", "1", "3", "CNY", "0.00"),
        ("0.02", "1", "3", "CNY", "0.01"),
        ("1050", "15", "100", "JPY", "158"),  # 157.5
        ("1", "1", "2000", "KWD", "0.001"),  # 0.0005
        ("1", "1", "2001", "KWD", "0.000"),  # 0.000499750...
        ("360.00", "100", "100", "CNY", "360.00"),  # the whole
        ("360", "0", "100", "CNY", "0.00"),  # nothing, in the minor unit
        ("0.005", "1", "1", "CNY", "0.01"),
    ],
)
def test_prorated_rounds_the_exact_quotient_half_up_once(
    amount: str, numerator: str, denominator: str, currency: str, expected: str
) -> None:
    money = Money(Decimal(amount), currency)
    result = money.prorated(Decimal(numerator), Decimal(denominator))
    assert str(result.amount) == expected
    assert result.currency == currency
    assert money.prorated(int(Decimal(numerator)), Decimal(denominator)) == result


def test_prorated_a_hair_below_half_rounds_down_at_any_depth() -> None:
    # 0.01 × (10^80 − 1) / (2 × 10^80): half a fen minus 5 × 10^-83
    fen = Money.of("0.01", "CNY")
    assert fen.prorated(10**80 - 1, 2 * 10**80).amount == Decimal("0.00")
    assert fen.prorated(10**80, 2 * 10**80).amount == Decimal("0.01")


def test_prorated_takes_money_of_its_own_currency_as_a_ratio() -> None:
    shipping = Money.of("20.00", "CNY")
    line, goods = Money.of("360.00", "CNY"), Money.of("791.00", "CNY")
    assert shipping.prorated(line, goods) == Money.of("9.10", "CNY")
    with pytest.raises(CurrencyMismatch):
        shipping.prorated(line, Money.of("791.00", "USD"))
    with pytest.raises(CurrencyMismatch):
        shipping.prorated(Money.of("360", "USD"), goods)


@pytest.mark.parametrize(
    ("numerator", "denominator", "error"),
    [
        (1, 0, ZeroDivisionError),
        (0, Decimal("0.00"), ZeroDivisionError),
        (Decimal("NaN"), 1, ValueError),
        (1, Decimal("Infinity"), ValueError),
        (True, 1, TypeError),
        (1, 1.5, TypeError),
        ("1", 1, TypeError),
    ],
)
def test_prorated_refuses_what_has_no_exact_share(
    numerator: Any, denominator: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        Money.of(1, "CNY").prorated(numerator, denominator)


def test_money_arithmetic_ignores_the_hosts_decimal_context() -> None:
    price = Money.of("1000.00500001000000000001", "CNY")
    want = (price * 999_999_999_999, -price, price.prorated(Decimal("33.3"), 7))
    with decimal.localcontext() as context:
        context.prec = 3
        context.rounding = decimal.ROUND_FLOOR
        got = (price * 999_999_999_999, -price, price.prorated(Decimal("33.3"), 7))
    assert got == want
    assert str(got[1].amount) == "-1000.00500001000000000001"


def test_zero_is_written_in_the_minor_unit() -> None:
    assert str(Money.zero("CNY").amount) == "0.00"
    assert str(Money.zero("JPY").amount) == "0"
    assert str(Money.zero("KWD").amount) == "0.000"
    assert Money.zero("CNY") == Money(Decimal(0), "CNY")
    with pytest.raises(ValueError, match="ISO 4217"):
        Money.zero("cny")
