"""Refunds: the money of DESIGN.md, to the letter, and the additions of issue 11.

For a line of ``qty`` parts worth ``A = qty × unit_price``, with a deposit
``K = qty × core_charge`` (0 if none), and ``B`` the basis: ``A``, or ``K``
with ``basis = "core_charge"``::

    share           = round(B × percent / 100)
    fee             = min(max(round(B × fee_percent / 100), round(fee_min)), share)
    deducted        = min(round(deduct), share − fee)
    shipping        = round(S × A / G)        if include_shipping
    return_shipping = round(R' × A / V)       if include_return_shipping
    core_charge     = round(K)                if include_core_charge
    amount          = share − fee − deducted + shipping + return_shipping
                      + core_charge

``S`` is the order's shipping fee and ``G`` its goods value (Σ qty × unit
price over the order's lines); ``R`` is the return shipping the request says
the customer paid, ``R' = min(R, cap)`` with ``return_shipping_cap`` (an
amount, or ``"original"``: ``S``, 0 when the order has none; no cap: ``R``),
and ``V`` the request's value (Σ qty × unit price over its lines): the return
shipping is shared by value among the lines sent back together, as the
shipping fee is among the order's lines.  A share whose base is 0 (no
shipping fee, no return shipping, no value) is 0.

Every component is rounded half-up to the currency's minor unit *before* they
are combined, so ``amount + fee + deducted == share + shipping +
return_shipping + core_charge`` exactly and nothing is ever negative.  Each
rounding is of the exact value: ``Money``'s products are exact and
:meth:`~returnrules.Money.prorated` divides exactly, so no digit is lost
however many a price, a quantity or a percentage has.

Reports ``amount``, ``fee``, ``currency`` and ``method`` (``method_per_tier``
for the customer's tier, else ``method``); and, only when the parameter that
adds it is used, ``return_shipping`` (its part of ``amount``),
``core_charge`` (the deposit added by ``include_core_charge``) and ``basis``
(``"core_charge"``).

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
    VocabCode,
    hookimpl,
    minor_units,
)

Method = Literal["original", "store_credit", "account_credit"]
Basis = Literal["price", "core_charge"]

Percent = Annotated[Decimal, Bounds(ge=0, le=100)]
Amount = Annotated[Money, Bounds(ge=0)]
Cap = Literal["original"] | Amount


def _doc(text: str) -> dict[str, str]:
    """A parameter's description, for `returnrules plugins` and the schema."""
    return {"doc": text}


def _capped_only_if_included(instance: RefundParams, _: object, cap: object) -> None:
    if cap is not None and not instance.include_return_shipping:
        raise ValueError(
            "return_shipping_cap caps the return shipping that "
            "include_return_shipping = true refunds; set that too"
        )


def _not_twice(instance: RefundParams, _: object, include: bool) -> None:
    if include and instance.basis == "core_charge":
        raise ValueError(
            "include_core_charge adds the deposit to a refund of the price; with "
            'basis = "core_charge" the refund is the deposit: it would be paid twice'
        )


@attrs.frozen
class RefundParams:
    """``{ action = "refund", fee_percent = 15, method = "account_credit" }``."""

    percent: Percent = attrs.field(
        default=Decimal(100), metadata=_doc("% of the basis refunded")
    )
    fee_percent: Percent = attrs.field(
        default=Decimal(0), metadata=_doc("restocking fee, % of the basis")
    )
    fee_min: Amount | None = attrs.field(
        default=None, metadata=_doc("the restocking fee is at least this")
    )
    deduct: Amount | None = attrs.field(
        default=None, metadata=_doc("a fixed deduction, e.g. a return label")
    )
    include_shipping: bool = attrs.field(
        default=False,
        metadata=_doc("add the line's share of the order's shipping fee, by value"),
    )
    method: Method = attrs.field(default="original", metadata=_doc("how to pay"))
    include_return_shipping: bool = attrs.field(
        default=False,
        metadata=_doc(
            "add the line's share (by value, among the request's lines) of the "
            "return shipping the request says the customer paid"
        ),
    )
    return_shipping_cap: Cap | None = attrs.field(
        default=None,
        validator=_capped_only_if_included,
        metadata=_doc(
            "at most this much return shipping for the request: an amount, or "
            '"original" (the order\'s shipping fee)'
        ),
    )
    basis: Basis = attrs.field(
        default="price",
        metadata=_doc(
            "what percent and fees are of: qty × unit price, or qty × core "
            'charge ("core_charge": a core return refunds the deposit)'
        ),
    )
    include_core_charge: bool = attrs.field(
        default=False,
        validator=_not_twice,
        metadata=_doc("also pay back the deposit, qty × core charge, whole"),
    )
    method_per_tier: dict[Annotated[str, VocabCode("tier")], Method] = attrs.field(
        factory=dict,
        metadata=_doc('the method for these tiers: { workshop = "account_credit" }'),
    )

    def method_for(self, tier: str) -> Method:
        """The method for a customer of *tier*: ``method_per_tier``, else ``method``."""
        return self.method_per_tier.get(tier, self.method)


class Refund(NamedTuple):
    """The parts of a refund, each rounded half-up to the minor unit.

    A named tuple rather than an attrs class: one is made per refunded line,
    and a tuple is three times quicker to make.
    """

    share: Money
    fee: Money
    deducted: Money
    shipping: Money
    return_shipping: Money
    core_charge: Money

    @property
    def amount(self) -> Money:
        """share − fee − deducted + shipping + return_shipping + core_charge."""
        # Most refunds have no fee, deduction or shipping: skip adding zeros.
        amount = self.share
        if self.fee.amount:
            amount = amount - self.fee
        if self.deducted.amount:
            amount = amount - self.deducted
        if self.shipping.amount:
            amount = amount + self.shipping
        if self.return_shipping.amount:
            amount = amount + self.return_shipping
        if self.core_charge.amount:
            amount = amount + self.core_charge
        return amount


def _share(whole: Money, part: Money, of: Money | None) -> Money | None:
    """*whole* × *part* / *of*, rounded; None when *of* is missing or zero."""
    if of is None or not of.amount:
        return None
    return whole.prorated(part, of)


def compute_refund(
    line_amount: Money,
    params: RefundParams,
    shipping_fee: Money | None = None,
    goods_value: Money | None = None,
    *,
    return_shipping: Money | None = None,
    request_value: Money | None = None,
    line_core_charge: Money | None = None,
) -> Refund:
    """The refund of a line worth *line_amount* (see the module docstring).

    *shipping_fee* (``S``) and *goods_value* (``G``) matter with
    ``include_shipping``, and *shipping_fee* with ``return_shipping_cap =
    "original"``; *return_shipping* (``R``) and *request_value* (``V``) with
    ``include_return_shipping``; *line_core_charge* (``K``, qty × core
    charge) with ``basis = "core_charge"`` or ``include_core_charge``.  Money
    in another currency than the line's raises
    :class:`~returnrules.CurrencyMismatch`.
    """
    zero = Money.zero(line_amount.currency)
    deposit = zero if line_core_charge is None else line_core_charge
    basis = line_amount if params.basis == "price" else deposit
    share = basis.prorated(params.percent, 100)
    fee = basis.prorated(params.fee_percent, 100)
    # fee is a multiple of the minor unit, so fee_min rounds above it exactly
    # when it is above it: round it only then.
    if params.fee_min is not None and params.fee_min > fee:
        fee = params.fee_min.rounded()
    fee = min(fee, share)
    deducted = zero
    if params.deduct is not None:
        deducted = min(params.deduct.rounded(), share - fee)
    shipping = zero
    if params.include_shipping and shipping_fee is not None:
        shipping = _share(shipping_fee, line_amount, goods_value) or zero
    returned = zero
    if params.include_return_shipping and return_shipping is not None:
        paid = return_shipping
        cap = params.return_shipping_cap
        if cap == "original":
            cap = zero if shipping_fee is None else shipping_fee
        if cap is not None and cap < paid:
            paid = cap
        returned = _share(paid, line_amount, request_value) or zero
    core = deposit.rounded() if params.include_core_charge else zero
    return Refund(share, fee, deducted, shipping, returned, core)


def _refund(ctx: LineContext, params: RefundParams) -> Mapping[str, Any]:
    order_line, qty = ctx.order_line, ctx.line.qty
    line_amount = order_line.unit_price * qty
    request = ctx.request
    order = request.order
    shipping_fee = goods_value = None
    if params.include_shipping or params.return_shipping_cap == "original":
        shipping_fee = order.shipping_fee
        if params.include_shipping and shipping_fee is not None:
            goods_value = order.goods_value
    return_shipping = request_value = None
    if params.include_return_shipping:
        return_shipping = request.return_shipping
        if return_shipping is not None:
            request_value = request.amount
    deposit = None
    if params.basis == "core_charge" or params.include_core_charge:
        charge = order_line.core_charge
        deposit = None if charge is None else charge * qty
    refund = compute_refund(
        line_amount,
        params,
        shipping_fee,
        goods_value,
        return_shipping=return_shipping,
        request_value=request_value,
        line_core_charge=deposit,
    )
    fields: dict[str, Any] = {
        "amount": refund.amount,
        "fee": refund.fee,
        "currency": line_amount.currency,
        "method": (
            params.method_for(request.customer.tier)
            if params.method_per_tier
            else params.method
        ),
    }
    if params.include_return_shipping:
        fields["return_shipping"] = refund.return_shipping
    if params.include_core_charge:
        fields["core_charge"] = refund.core_charge
    if params.basis != "price":
        fields["basis"] = params.basis
    return fields


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(
        Action(
            "refund",
            _refund,
            RefundParams,
            doc="refund the line: percent, fee_percent, fee_min, deduct, "
            "include_shipping, include_return_shipping, return_shipping_cap, "
            "basis, include_core_charge, method, method_per_tier; reports amount, "
            "fee, currency, method (and return_shipping, core_charge, basis when "
            "their parameters are used)",
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
