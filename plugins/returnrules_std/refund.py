"""Refunds: the money of DESIGN.md, to the letter.

For a line worth ``A = qty × unit_price``::

    share    = round(A × percent / 100)
    fee      = min(max(round(A × fee_percent / 100), round(fee_min)), share)
    deducted = min(round(deduct), share − fee)
    shipping = round(shipping_fee × A / Σ order qty × unit_price)  if include_shipping
    amount   = share − fee − deducted + shipping

Every component is rounded half-up to the currency's minor unit *before* they
are combined, so ``amount + fee + deducted == share + shipping`` exactly and
nothing is ever negative.  Reports ``amount``, ``fee``, ``currency``, ``method``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

import attrs

from returnrules import (
    MONEY_CONTEXT as CONTEXT,
)
from returnrules import (
    Action,
    Bounds,
    CurrencyMismatch,
    LineContext,
    Money,
    hookimpl,
    round_half_up,
)

Method = Literal["original", "store_credit", "account_credit"]


Percent = Annotated[Decimal, Bounds(ge=0, le=100)]
Amount = Annotated[Money, Bounds(ge=0)]


@attrs.frozen
class RefundParams:
    """``{ action = "refund", fee_percent = 15, method = "account_credit" }``."""

    percent: Percent = Decimal(100)
    fee_percent: Percent = Decimal(0)
    fee_min: Amount | None = None
    deduct: Amount | None = None
    include_shipping: bool = False
    method: Method = "original"


@attrs.frozen
class Refund:
    """The computed parts of a refund, each rounded to the minor unit."""

    share: Money
    fee: Money
    deducted: Money
    shipping: Money

    @property
    def amount(self) -> Money:
        """share − fee − deducted + shipping (all in one currency, by construction)."""
        for part in (self.fee, self.deducted, self.shipping):
            self.share._same(part)
        return Money._trusted(
            _net(self.share.amount, self.fee.amount, self.deducted.amount,
                 self.shipping.amount),
            self.share.currency,
        )  # fmt: skip


_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


def _percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    if percent == _HUNDRED:
        return amount  # exactly amount × 100 / 100, without the two operations
    return CONTEXT.divide(CONTEXT.multiply(amount, percent), _HUNDRED)


def _net(share: Decimal, fee: Decimal, deducted: Decimal, shipping: Decimal) -> Decimal:
    return CONTEXT.add(
        CONTEXT.subtract(CONTEXT.subtract(share, fee), deducted), shipping
    )


def _parts(
    amount: Decimal,
    currency: str,
    params: RefundParams,
    shipping_fee: Money | None,
    goods_value: Money | None,
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(share, fee, deducted, shipping) of a line worth *amount*, each rounded."""
    fee_min, deduct = params.fee_min, params.deduct
    for other in (fee_min, deduct, shipping_fee, goods_value):
        if other is not None and other.currency != currency:
            raise CurrencyMismatch(f"cannot combine {currency} with {other.currency}")
    share = round_half_up(_percent_of(amount, params.percent), currency)
    fee = round_half_up(_percent_of(amount, params.fee_percent), currency)
    if fee_min is not None:
        fee = max(fee, round_half_up(fee_min.amount, currency))
    fee = min(fee, share)
    zero = round_half_up(_ZERO, currency)
    deducted = zero
    if deduct is not None:
        deducted = min(
            round_half_up(deduct.amount, currency), CONTEXT.subtract(share, fee)
        )
    shipping = zero
    if (
        params.include_shipping
        and shipping_fee is not None
        and goods_value is not None
        and goods_value.amount > 0
    ):
        # Multiply before dividing: the share is exact until the one rounding.
        shipping = round_half_up(
            CONTEXT.divide(
                CONTEXT.multiply(shipping_fee.amount, amount), goods_value.amount
            ),
            currency,
        )
    return share, fee, deducted, shipping


def compute_refund(
    line_amount: Money,
    params: RefundParams,
    shipping_fee: Money | None = None,
    goods_value: Money | None = None,
) -> Refund:
    """The refund of a line worth *line_amount* (see the module docstring)."""
    currency = line_amount.currency
    share, fee, deducted, shipping = _parts(
        line_amount.amount, currency, params, shipping_fee, goods_value
    )
    # Every part is a finite Decimal in a checked currency: no need to check again.
    trusted = Money._trusted
    return Refund(
        trusted(share, currency),
        trusted(fee, currency),
        trusted(deducted, currency),
        trusted(shipping, currency),
    )


def _refund(ctx: LineContext, params: RefundParams) -> Mapping[str, Any]:
    order = ctx.request.order
    price = ctx.order_line.unit_price
    currency = price.currency
    shipping_fee = order.shipping_fee
    goods_value = (
        order.goods_value
        if params.include_shipping and shipping_fee is not None
        else None
    )
    amount = CONTEXT.multiply(price.amount, ctx.line.qty)
    share, fee, deducted, shipping = _parts(
        amount, currency, params, shipping_fee, goods_value
    )
    return {
        "amount": Money._trusted(_net(share, fee, deducted, shipping), currency),
        "fee": Money._trusted(fee, currency),
        "currency": currency,
        "method": params.method,
    }


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(
        Action(
            "refund",
            _refund,
            RefundParams,
            doc="refund the line: percent, fee_percent, fee_min, deduct, "
            "include_shipping, method; reports amount, fee, currency, method",
        )
    )
