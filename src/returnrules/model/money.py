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

MAX_PLACES: Final = 24
"""Digits after the point a money or decimal value may have: no digit below 10⁻²⁴.

With :data:`MAX_DIGITS` and the readers' bound of 10¹², every value read is
``k × 10⁻²⁴`` with ``|k| < 10³⁶``; that is what makes :data:`CONTEXT` exact."""

_TRAPS: Final = [decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow]

CONTEXT: Final = decimal.Context(
    prec=64, rounding=decimal.ROUND_HALF_EVEN, traps=_TRAPS
)
"""The decimal context for a plugin's own money arithmetic (64 digits).

Arithmetic never runs in the caller's context: a host that lowered
``decimal.getcontext().prec`` must not change a refund.

Sums and products of what the readers accept are exact in it.  A value read
is ``k × 10⁻²⁴`` with ``|k| < 10³⁶`` and at most 24 significant digits
(:data:`MAX_PLACES`, :data:`MAX_DIGITS`, bound 10¹²); a quantity is at most
10¹² (13 digits).  So:

* value × quantity has at most 24 + 13 = 37 digits;
* value × value (an amount by a percentage) at most 24 + 24 = 48, and
  (value × quantity) × value at most 37 + 24 = 61;
* a sum of n line amounts is a multiple of 10⁻²⁴ below n × 10²⁴, that is
  ``k × 10⁻²⁴`` with ``|k| < n × 10⁴⁸``: at most 64 digits for any n < 10¹⁶,
  however the lines' magnitudes differ.

Each fits in 64 digits, so none is rounded.  A quotient usually does not
terminate and is rounded to 64 digits; :meth:`Money.prorated` divides exactly
instead, and :class:`Money`'s own ``+``, ``-`` and ``*`` are exact for any
amounts, within these bounds or not."""

_EXACT: Final = decimal.Context(
    prec=decimal.MAX_PREC,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    rounding=decimal.ROUND_DOWN,
    traps=[*_TRAPS, decimal.Underflow, decimal.Inexact, decimal.Rounded],
)
"""Money's own ``+ - *``, and the integer quotient of :meth:`Money.prorated`.

Its precision is the implementation's limit (10¹⁸ digits), so a sum,
difference or product of two finite Decimals is never rounded (the digits it
needs are those of its operands), and ``divide_int`` gives the exact integer
part of any quotient.  Anything that would be rounded all the same raises
(``Inexact`` and ``Rounded`` are traps) instead of being silently wrong.  Never
used for ``divide``: a quotient like 1/3 would be computed to 10¹⁸ digits."""

_HALF_UP: Final = CONTEXT.copy()
_HALF_UP.rounding = decimal.ROUND_HALF_UP
_POWERS_OF_TEN: Final[dict[int | Decimal, int]] = {10**k: k for k in range(40)}
"""1, 10, 100 … by their exponent; ``Decimal(100)`` finds 100 too (equal hash)."""
_QUANTA: dict[str, Decimal] = {}
"""The minor unit of each currency seen (``Decimal("0.01")`` for CNY)."""


def round_half_up(amount: Decimal, currency: str) -> Decimal:
    """*amount* rounded half-up to *currency*'s minor unit (0.125 CNY → 0.13).

    A zero is always ``0.00``, never ``-0.00`` (what -0.001 would round to).
    """
    quantum = _QUANTA.get(currency)
    if quantum is None:
        quantum = _EXACT.scaleb(Decimal(1), -minor_units(currency))
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


def _money(amount: Decimal, currency: str) -> Money:
    """Money without validation, for arithmetic on already valid values."""
    money = _new(Money)
    _set_amount(money, amount)  # the slots' own setters: frozen, yet fast
    _set_currency(money, currency)
    return money


@attrs.frozen(order=False)
class Money:
    """An amount of money in one currency.

    ``Money(Decimal("180.00"), "CNY")``; ``str()`` gives ``"180.00 CNY"``.
    Comparisons and arithmetic with another currency raise CurrencyMismatch.
    ``+``, ``-`` and ``*`` (by an int or a Decimal) are exact, whatever the
    amounts; ``/`` rounds to 64 digits; :meth:`rounded` and :meth:`prorated`
    round half-up to the minor unit, once, from the exact value.
    """

    amount: Decimal = attrs.field(validator=_check_amount)
    currency: str = attrs.field(validator=_check_code)

    _trusted = staticmethod(_money)  # for the core's sums of valid amounts

    @classmethod
    def of(cls, value: object, currency: str) -> Money:
        """Build from a TOML/JSON value: ``Money.of("180.10", "CNY")``."""
        return cls(to_decimal(value), currency)

    @staticmethod
    def zero(currency: str) -> Money:
        """Nothing, written in the minor unit: ``Money.zero("CNY")`` is 0.00 CNY."""
        zero = _ZEROS.get(currency)
        if zero is None:
            zero = Money(Decimal(0), currency).rounded()  # checks the code
            if len(_ZEROS) < 1024:  # a few currencies in practice; never unbounded
                _ZEROS[currency] = zero
        return zero

    @property
    def minor_units(self) -> int:
        return minor_units(self.currency)

    def rounded(self) -> Money:
        """This amount rounded half-up to the currency's minor unit."""
        return _money(round_half_up(self.amount, self.currency), self.currency)

    def format(self) -> str:
        """The rounded amount as a plain string, e.g. ``"306.00"`` (JSON output)."""
        return str(round_half_up(self.amount, self.currency))

    def prorated(
        self, numerator: int | Decimal | Money, denominator: int | Decimal | Money
    ) -> Money:
        """This amount × *numerator* / *denominator*, rounded half-up to the minor unit.

        ``line.prorated(15, 100)`` is 15 % of a line, and
        ``shipping_fee.prorated(line, goods)`` the line's part of the shipping
        fee (a Money argument counts by its amount, and must be in this
        currency).  Exactly: neither the product nor the quotient is rounded
        before the one half-up rounding, so 1.0000000000000000000002 × 50.4999
        9999999999999999899 / 100 is 0.50, where rounding the product to 34
        digits first gave 0.51.  A zero *denominator* raises ZeroDivisionError.
        """
        currency = self.currency
        if type(numerator) is Decimal and numerator.is_finite():
            factor: int | Decimal = numerator  # (the usual case, without a call)
        else:
            factor = self._factor(numerator)
        if type(denominator) is int or type(denominator) is Decimal:
            # A power of ten divides exactly: 15 % of 360.00 is 5400.00 × 10⁻² …
            shift = _POWERS_OF_TEN.get(denominator)
            if shift is not None:
                if not factor:
                    return Money.zero(currency)  # (fee_percent = 0, the default)
                if factor == denominator:
                    return self.rounded()  # the whole (percent = 100, the default)
                exact = _EXACT.scaleb(_EXACT.multiply(self.amount, factor), -shift)
                return _money(round_half_up(exact, currency), currency)
        divisor = self._factor(denominator)
        if not divisor:
            raise ZeroDivisionError(f"{self} prorated over zero")
        product = _EXACT.multiply(self.amount, factor)
        # … any other quotient is t / 10^(m+1), t its integer part once scaled
        # by 10^(m+1), with m the minor unit's digits: exact in _EXACT (an exact
        # product, an integer quotient truncated toward zero).  Rounding t /
        # 10^(m+1) half-up to m digits is rounding the quotient itself: write
        # |quotient| × 10^m = k + f with 0 ≤ f < 1; then |t| = 10k + ⌊10f⌋, which
        # rounds up exactly when ⌊10f⌋ ≥ 5, that is when f ≥ 1/2 (half away from
        # zero is symmetric, so the sign does not matter).
        places = minor_units(currency) + 1
        truncated = _EXACT.divide_int(_EXACT.scaleb(product, places), divisor)
        share = round_half_up(_EXACT.scaleb(truncated, -places), currency)
        return _money(share, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} with {other.currency}"
            )

    def _factor(self, value: int | Decimal | Money) -> int | Decimal:
        """A finite number for arithmetic with this amount (Money: its amount)."""
        if type(value) is int:
            return value
        if isinstance(value, Decimal):
            if value.is_finite():
                return value
            raise ValueError(f"expected a finite number, got {show(value)}")
        if isinstance(value, Money):
            self._same(value)
            return value.amount
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError(f"expected an int, a Decimal or Money, got {show(value)}")

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            self._same(other)
        return _money(_EXACT.add(self.amount, other.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        if other.currency != self.currency:
            self._same(other)
        return _money(_EXACT.subtract(self.amount, other.amount), self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        kind = factor.__class__
        if (
            kind is not int
            and kind is not Decimal
            and (kind is bool or not isinstance(factor, int | Decimal))
        ):
            return NotImplemented
        product = _EXACT.multiply(self.amount, factor)
        if not product:
            product = product.copy_abs()  # 0 × -1 is -0 to Decimal, 0 here
        elif not product.is_finite():  # a NaN or infinite factor
            raise ValueError(f"expected a finite factor, got {show(factor)}")
        return _money(product, self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: int | Decimal) -> Money:
        """The quotient, rounded to 64 digits (:data:`CONTEXT`).

        For an exact half-up share of a quotient, use :meth:`prorated`.
        """
        if isinstance(divisor, bool) or not isinstance(divisor, int | Decimal):
            return NotImplemented
        quotient = CONTEXT.divide(self.amount, divisor)
        if not quotient.is_finite():  # a NaN divisor
            raise ValueError(f"expected a finite divisor, got {show(divisor)}")
        return _money(quotient, self.currency)

    def __neg__(self) -> Money:
        # minus() is 0 − amount: -(0) is 0, not -0, and it ignores the
        # caller's context (unary - would round in it).
        return _money(_EXACT.minus(self.amount), self.currency)

    def __lt__(self, other: Money) -> bool:
        if other.currency != self.currency:
            self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if other.currency != self.currency:
            self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if other.currency != self.currency:
            self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if other.currency != self.currency:
            self._same(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.format()} {self.currency}"


_ZEROS: dict[str, Money] = {}
"""``Money.zero`` of each currency seen (Money is immutable: one is enough)."""
_new = object.__new__
_set_amount = Money.__dict__["amount"].__set__
_set_currency = Money.__dict__["currency"].__set__
