"""Stand-ins for the standard pack's refund, restock and notify, per DESIGN.md.

The CLI's tests use them to check the ``returnrules init`` starter without
depending on the standard pack: same names, same parameters, and the
contract's refund arithmetic (each part rounded half-up first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal

import attrs

from returnrules import Action, LineContext, Money, Template, hookimpl


@attrs.frozen
class RefundParams:
    percent: Decimal = Decimal(100)
    fee_percent: Decimal = Decimal(0)
    fee_min: Money | None = None
    deduct: Money | None = None
    include_shipping: bool = False
    method: Literal["original", "store_credit", "account_credit"] = "original"


@attrs.frozen
class RestockParams:
    location: str = "main"
    inspect: bool = False


@attrs.frozen
class NotifyParams:
    to: Literal[
        "customer",
        "warehouse",
        "purchasing",
        "finance",
        "customer_service",
        "production",
        "logistics",
        "supplier",
    ]
    message: Template | None = None


def _refund(ctx: LineContext, params: RefundParams) -> Mapping[str, Any]:
    value = ctx.order_line.unit_price * ctx.line.qty
    zero = Money.zero(value.currency)
    share = (value * params.percent / 100).rounded()
    fee = (value * params.fee_percent / 100).rounded()
    if params.fee_min is not None and params.fee_min.rounded() > fee:
        fee = params.fee_min.rounded()
    fee = min(fee, share, key=lambda m: m.amount)
    deduct = (params.deduct or zero).rounded()
    deduct = min(deduct, share - fee, key=lambda m: m.amount)
    shipping = zero
    order = ctx.request.order
    if params.include_shipping and order.shipping_fee is not None:
        goods = order.goods_value
        shipping = (order.shipping_fee * value.amount / goods.amount).rounded()
    return {
        "amount": share - fee - deduct + shipping,
        "fee": fee,
        "currency": value.currency,
        "method": params.method,
    }


def _restock(ctx: LineContext, params: RestockParams) -> Mapping[str, Any]:
    return {
        "sku": ctx.order_line.sku,
        "qty": ctx.line.qty,
        "location": params.location,
        "inspect": params.inspect,
    }


def _notify(ctx: LineContext, params: NotifyParams) -> Mapping[str, Any]:
    message = params.message.render(ctx) if params.message is not None else ""
    return {"to": params.to, "message": message}


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(Action("refund", _refund, RefundParams))
    register(Action("restock", _restock, RestockParams))
    register(Action("notify", _notify, NotifyParams, multiple=True))
