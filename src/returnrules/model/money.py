"""Money: a :class:`~decimal.Decimal` amount with an ISO 4217 currency.

Money never touches binary floating point.  Arithmetic is allowed only between
equal currencies, and rounding to the currency's minor unit is always half-up
(the rule a cashier uses: 0.005 becomes 0.01).
"""

from __future__ import annotations

import decimal
import math
import re
from decimal import Decimal
from typing import Final

import attrs

from returnrules.model.errors import show

__all__ = [
    "CONTEXT",
    "CurrencyMismatch",
    "Money",
    "minor_units",
    "round_half_up",
    "to_decimal",
]

# ISO 4217 minor units for the currencies that differ from the usual two, plus a
# few common ones spelt out for the reader.  Every other well-formed code has 2.
_MINOR_UNITS: Final = {
    "CNY": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "TWD": 2,
    "SGD": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "UGX": 0,
    "PYG": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "RWF": 0,
    "KMF": 0,
    "GNF": 0,
    "DJF": 0,
    "VUV": 0,
    "BIF": 0,
    "BHD": 3,
    "JOD": 3,
    "KWD": 3,
    "OMR": 3,
    "TND": 3,
    "IQD": 3,
    "LYD": 3,
}
_CODE = re.compile(r"[A-Z]{3}")
PLAIN_DECIMAL: Final = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
"""What a money or decimal string may look like: ``180``, ``-3.5``, ``.25``.

ASCII digits only, and nothing around them: ``Decimal()``, ``str.isdigit()``
and a regex's backslash-d would also read full-width ``"１２"``, Arabic-Indic
``"٣"`` or a padded ``" 12"``, which no client means to send."""

MAX_DIGITS: Final = 24
"""Significant digits a money or decimal value may have (far above any price)."""

CONTEXT: Final = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
"""The decimal context of all money arithmetic (34 digits, IEEE decimal128).

Arithmetic never runs in the caller's context: a host that lowered
``decimal.getcontext().prec`` must not change a refund.  Values have at most
:data:`MAX_DIGITS` digits, so sums and products are exact and a quotient is
rounded once, here, before the half-up rounding to the minor unit."""


_HALF_UP: Final = CONTEXT.copy()
_HALF_UP.rounding = decimal.ROUND_HALF_UP
_QUANTA: dict[str, Decimal] = {}
"""The minor unit of each currency seen (``Decimal("0.01")`` for CNY)."""


def round_half_up(amount: Decimal, currency: str) -> Decimal:
    """*amount* rounded half-up to *currency*'s minor unit (0.125 CNY → 0.13).

    A zero is always ``0.00``, never ``-0.00`` (what -0.001 would round to).
    """
    quantum = _QUANTA.get(currency)
    if quantum is None:
        quantum = Decimal(1).scaleb(-minor_units(currency))
        if len(_QUANTA) < 1024:  # a few currencies in practice; never unbounded
            _QUANTA[currency] = quantum
    rounded = _HALF_UP.quantize(amount, quantum)
    return rounded if rounded else rounded.copy_abs()


class CurrencyMismatch(ValueError):
    """Raised by arithmetic or comparison between two different currencies."""


def is_currency_code(code: str) -> bool:
    """True for a well-formed ISO 4217 code (three capital letters)."""
    return _CODE.fullmatch(code) is not None


def minor_units(currency: str) -> int:
    """Digits after the decimal point for *currency* (CNY 2, JPY 0, KWD 3)."""
    return _MINOR_UNITS.get(currency, 2)


def to_decimal(value: object) -> Decimal:
    """Turn a TOML/JSON number or numeric string into a finite Decimal.

    Floats go through their shortest ``repr`` (``0.1`` becomes ``Decimal("0.1")``,
    not the binary expansion).  Strings are :data:`PLAIN_DECIMAL`: ASCII digits,
    no exponent, no surrounding space.  A signed zero (``-0``, ``-0.0``) is read
    as zero: it would be reported as ``"-0.00"``.  Booleans, NaN, infinities and
    anything else raise ``ValueError`` with a message fit for an error report.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {show(value)}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {show(value)}")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        if not PLAIN_DECIMAL.fullmatch(value):
            raise ValueError(
                f"expected a decimal number like 180.10, got {show(value)}"
            )
        result = Decimal(value)
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"expected a finite number, got {show(value)}")
    return result if result else result.copy_abs()  # -0.0 is 0.0


def _check_code(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or not is_currency_code(value):
        raise ValueError(f"not an ISO 4217 currency code: {show(value)}")


def _check_amount(_: object, __: object, value: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"a money amount is a finite Decimal, got {show(value)}")


@attrs.frozen(order=False)
class Money:
    """An amount of money in one currency.

    ``Money(Decimal("180.00"), "CNY")``; ``str()`` gives ``"180.00 CNY"``.
    Comparisons and arithmetic with another currency raise CurrencyMismatch.
    """

    amount: Decimal = attrs.field(validator=_check_amount)
    currency: str = attrs.field(validator=_check_code)

    @staticmethod
    def _trusted(amount: Decimal, currency: str) -> Money:
        """Build without validation, for arithmetic on already valid values."""
        money = _new(Money)
        _set_amount(money, amount)  # the slots' own setters: frozen, yet fast
        _set_currency(money, currency)
        return money

    @classmethod
    def of(cls, value: object, currency: str) -> Money:
        """Build from a TOML/JSON value: ``Money.of("180.10", "CNY")``."""
        return cls(to_decimal(value), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @property
    def minor_units(self) -> int:
        return minor_units(self.currency)

    def rounded(self) -> Money:
        """This amount rounded half-up to the currency's minor unit."""
        return Money._trusted(round_half_up(self.amount, self.currency), self.currency)

    def format(self) -> str:
        """The rounded amount as a plain string, e.g. ``"306.00"`` (JSON output)."""
        return str(round_half_up(self.amount, self.currency))

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} with {other.currency}"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money._trusted(CONTEXT.add(self.amount, other.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money._trusted(
            CONTEXT.subtract(self.amount, other.amount), self.currency
        )

    def __mul__(self, factor: int | Decimal) -> Money:
        kind = factor.__class__
        if (
            kind is not int
            and kind is not Decimal
            and (kind is bool or not isinstance(factor, int | Decimal))
        ):
            return NotImplemented
        product = CONTEXT.multiply(self.amount, factor)
        if not product:
            product = product.copy_abs()  # 0 × -1 is -0 to Decimal, 0 here
        return Money._trusted(product, self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: int | Decimal) -> Money:
        if isinstance(divisor, bool) or not isinstance(divisor, int | Decimal):
            return NotImplemented
        return Money._trusted(CONTEXT.divide(self.amount, divisor), self.currency)

    def __neg__(self) -> Money:
        # minus() is 0 − amount: -(0) is 0, not -0, and it ignores the
        # caller's context (unary - would round in it).
        return Money._trusted(CONTEXT.minus(self.amount), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.format()} {self.currency}"


_new = object.__new__
_set_amount = Money.__dict__["amount"].__set__
_set_currency = Money.__dict__["currency"].__set__
