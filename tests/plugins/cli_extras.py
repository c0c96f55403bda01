"""A test plugin for the CLI's tests: a data check, and richly typed parameters.

* ``returnrules_check_data``: ``level`` in the data must be an integer ≥ 0;
* check ``window`` (``days``, ``per_tier`` by tier code, ``from``), with an
  explanation for the trace;
* action ``credit`` (``method`` choice, ``cap`` money, ``rate`` decimal,
  ``memo`` template, ``tags`` list), reporting ``amount`` as money.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

import attrs

from returnrules import (
    Action,
    Check,
    LineContext,
    Money,
    RequestProblem,
    Template,
    VocabCode,
    calendar_days,
    hookimpl,
)


@attrs.frozen
class WindowParams:
    days: int
    per_tier: dict[Annotated[str, VocabCode("tier")], int] = attrs.field(factory=dict)
    from_: Literal["delivery", "order"] = "delivery"


@attrs.frozen
class CreditParams:
    method: Literal["store_credit", "account_credit"] = "store_credit"
    cap: Money | None = None
    rate: Decimal = Decimal("0.5")
    memo: Template | None = None
    tags: list[str] = attrs.field(factory=list)


def _days(ctx: LineContext, params: WindowParams) -> int | None:
    order = ctx.request.order
    start = order.delivered_at if params.from_ == "delivery" else order.placed_at
    if start is None:
        return None
    return calendar_days(start, ctx.request.requested_at)


def _window(ctx: LineContext, params: WindowParams) -> bool:
    days = _days(ctx, params)
    limit = params.per_tier.get(ctx.request.customer.tier, params.days)
    return days is None or days <= limit


def _explain(ctx: LineContext, params: WindowParams) -> str:
    limit = params.per_tier.get(ctx.request.customer.tier, params.days)
    return f"{_days(ctx, params)} days since {params.from_}, window {limit}"


def _credit(ctx: LineContext, params: CreditParams) -> Mapping[str, Any]:
    amount = (ctx.order_line.unit_price * ctx.line.qty * params.rate).rounded()
    if params.cap is not None and amount > params.cap:
        amount = params.cap
    memo = params.memo.render(ctx) if params.memo else ""
    return {"amount": amount, "method": params.method, "memo": memo}


@hookimpl
def returnrules_register_checks(register: Callable[[Check[Any]], None]) -> None:
    register(
        Check(
            "window",
            _window,
            WindowParams,
            explain=_explain,
            doc="the request is within `days` of delivery (or order)",
        )
    )


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(Action("credit", _credit, CreditParams, doc="credit the account"))


@hookimpl
def returnrules_check_data(data: Mapping[str, Any]) -> Iterable[RequestProblem]:
    level = data.get("level")
    if level is not None and (
        isinstance(level, bool) or not isinstance(level, int) or level < 0
    ):
        return [
            RequestProblem(
                ("level",), f"must be an integer ≥ 0, got {level!r}", "bad-value"
            )
        ]
    return []
