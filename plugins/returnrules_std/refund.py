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
        return self.share - self.fee - self.deducted + self.shipping


def compute_refund(
    line_amount: Money,
    params: RefundParams,
    shipping_fee: Money | None = None,
    goods_value: Money | None = None,
) -> Refund:
    """The refund of a line worth *line_amount* (see the module docstring)."""
    currency = line_amount.currency
    for other in (params.fee_min, params.deduct, shipping_fee, goods_value):
        if other is not None and other.currency != currency:
            raise CurrencyMismatch(f"cannot combine {currency} with {other.currency}")

    def rounded(amount: Decimal) -> Decimal:
        return round_half_up(amount, currency)

    def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
        return CONTEXT.divide(CONTEXT.multiply(amount, percent), 100)

    amount = line_amount.amount
    zero = rounded(Decimal(0))
    share = rounded(percent_of(amount, params.percent))
    fee = rounded(percent_of(amount, params.fee_percent))
    if params.fee_min is not None:
        fee = max(fee, rounded(params.fee_min.amount))
    fee = min(fee, share)
    deducted = zero if params.deduct is None else rounded(params.deduct.amount)
    deducted = min(deducted, CONTEXT.subtract(share, fee))
    shipping = zero
    if (
        params.include_shipping
        and shipping_fee is not None
        and goods_value is not None
        and goods_value.amount > 0
    ):
        # Multiply before dividing: the share is exact until the one rounding.
        shipping = rounded(
            CONTEXT.divide(
                CONTEXT.multiply(shipping_fee.amount, amount), goods_value.amount
            )
        )
    return Refund(
        Money(share, currency),
        Money(fee, currency),
        Money(deducted, currency),
        Money(shipping, currency),
    )


def _refund(ctx: LineContext, params: RefundParams) -> Mapping[str, Any]:
    order = ctx.request.order
    line_amount = ctx.order_line.unit_price * ctx.line.qty
    goods_value = order.goods_value if params.include_shipping else None
    refund = compute_refund(line_amount, params, order.shipping_fee, goods_value)
    return {
        "amount": refund.amount,
        "fee": refund.fee,
        "currency": line_amount.currency,
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
