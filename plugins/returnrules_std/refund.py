"""Refunds: the money of DESIGN.md, to the letter.

For a line worth ``A = qty × unit_price``::

    share    = round(A × percent / 100)
    fee      = min(max(round(A × fee_percent / 100), round(fee_min)), share)
    deducted = min(round(deduct), share − fee)
    shipping = round(shipping_fee × A / Σ order qty × unit_price)  if include_shipping
    amount   = share − fee − deducted + shipping

Every component is rounded half-up to the currency's minor unit *before* they
are combined, so ``amount + fee + deducted == share + shipping`` exactly and
nothing is ever negative.  Each rounding is of the exact value: ``Money``'s
products are exact and :meth:`~returnrules.Money.prorated` divides exactly, so
no digit is lost however many a price, a quantity or a percentage has.
Reports ``amount``, ``fee``, ``currency``, ``method``.

:func:`compute_refund` is the calculation; the action only gathers its inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, NamedTuple

import attrs

from returnrules import (
    Action,
    Bounds,
    Execution,
    Executor,
    LineContext,
    Money,
    hookimpl,
    minor_units,
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


class Refund(NamedTuple):
    """The parts of a refund, each rounded half-up to the minor unit.

    A named tuple rather than an attrs class: one is made per refunded line,
    and a tuple is three times quicker to make.
    """

    share: Money
    fee: Money
    deducted: Money
    shipping: Money

    @property
    def amount(self) -> Money:
        """share − fee − deducted + shipping: what the customer gets back."""
        # Most refunds have no fee, deduction or shipping: skip adding zeros.
        amount = self.share
        if self.fee.amount:
            amount = amount - self.fee
        if self.deducted.amount:
            amount = amount - self.deducted
        if self.shipping.amount:
            amount = amount + self.shipping
        return amount


def compute_refund(
    line_amount: Money,
    params: RefundParams,
    shipping_fee: Money | None = None,
    goods_value: Money | None = None,
) -> Refund:
    """The refund of a line worth *line_amount* (see the module docstring).

    *shipping_fee* and *goods_value* (Σ qty × unit price over the order's
    lines) matter only with ``include_shipping``.  Money in another currency
    than the line's raises :class:`~returnrules.CurrencyMismatch`.
    """
    zero = Money.zero(line_amount.currency)
    share = line_amount.prorated(params.percent, 100)
    fee = line_amount.prorated(params.fee_percent, 100)
    # fee is a multiple of the minor unit, so fee_min rounds above it exactly
    # when it is above it: round it only then.
    if params.fee_min is not None and params.fee_min > fee:
        fee = params.fee_min.rounded()
    fee = min(fee, share)
    deducted = zero
    if params.deduct is not None:
        deducted = min(params.deduct.rounded(), share - fee)
    shipping = zero
    if (
        params.include_shipping
        and shipping_fee is not None
        and goods_value is not None
        and goods_value > zero
    ):
        shipping = shipping_fee.prorated(line_amount, goods_value)
    return Refund(share, fee, deducted, shipping)


def _refund(ctx: LineContext, params: RefundParams) -> Mapping[str, Any]:
    line_amount = ctx.order_line.unit_price * ctx.line.qty
    shipping_fee = goods_value = None
    if params.include_shipping:
        order = ctx.request.order
        shipping_fee = order.shipping_fee
        if shipping_fee is not None:
            goods_value = order.goods_value
    refund = compute_refund(line_amount, params, shipping_fee, goods_value)
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


def _minor(amount: str, currency: str) -> int:
    """``"306.00"`` CNY as 30600: the ledger's integer count of minor units."""
    return int(Decimal(amount).scaleb(minor_units(currency)))


def _execute_refund(execution: Execution) -> None:
    fields = execution.fields  # as the JSON output shows them: money as strings
    currency = fields["currency"]
    execution.record(
        "refunds",
        amount_minor=_minor(fields["amount"], currency),
        fee_minor=_minor(fields["fee"], currency),
        currency=currency,
        method=fields["method"],
    )


@hookimpl
def returnrules_register_executors(register: Callable[[Executor], None]) -> None:
    register(
        Executor(
            "refund",
            _execute_refund,
            doc="a refund to make, in the ledger's refunds table (for finance)",
        )
    )
