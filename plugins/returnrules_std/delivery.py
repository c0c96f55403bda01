"""Delivery deadlines: is the request inside its window, was delivery late?

Day counts follow the contract: calendar days between local dates, both read
in ``requested_at``'s UTC offset; "within N days" means ≤ N.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

import attrs

from returnrules import (
    Check,
    Fact,
    FactType,
    LineContext,
    VocabCode,
    calendar_days,
    hookimpl,
    local_date,
)
from returnrules_std._lines import days

Start = Literal["delivery", "shipment", "order"]
_WORDS = {"delivery": "delivered", "shipment": "shipped", "order": "ordered"}


@attrs.frozen
class DeadlineParams:
    """``{ check = "delivery_deadline", days = 30, per_tier = { vip = 60 } }``."""

    days: int = attrs.field(validator=attrs.validators.ge(0))
    per_tier: dict[Annotated[str, VocabCode("tier")], int] = attrs.field(factory=dict)
    from_: Start = "delivery"


@attrs.frozen
class LateParams:
    """``{ check = "late_delivery", days = 1 }``: at least *days* late."""

    days: int = attrs.field(default=1, validator=attrs.validators.ge(0))


def _start(ctx: LineContext, start: Start) -> dt.datetime | dt.date | None:
    """When the window opens: delivery, shipment or order (None: not yet)."""
    order = ctx.request.order
    if start == "delivery":
        return order.delivered_at
    if start == "shipment":
        return order.shipped_at
    return order.placed_at


def _date(ctx: LineContext, moment: dt.datetime | dt.date) -> dt.date:
    """The calendar date of *moment* in requested_at's UTC offset."""
    tz = ctx.request.requested_at.tzinfo
    assert tz is not None
    return local_date(moment, tz)


def _window(ctx: LineContext, params: DeadlineParams) -> int:
    """The customer's window: per_tier[tier] if given, else days."""
    return params.per_tier.get(ctx.request.customer.tier, params.days)


def _elapsed(ctx: LineContext, params: DeadlineParams) -> int | None:
    """Calendar days from the window's start to the request (None: not started)."""
    start = _start(ctx, params.from_)
    return None if start is None else calendar_days(start, ctx.request.requested_at)


def within_deadline(ctx: LineContext, params: DeadlineParams) -> bool:
    """True inside the window; a window whose start has not happened counts as in."""
    elapsed = _elapsed(ctx, params)
    return elapsed is None or elapsed <= _window(ctx, params)


def explain_deadline(ctx: LineContext, params: DeadlineParams) -> str:
    window = _window(ctx, params)
    tier = ctx.request.customer.tier
    window_text = f"window {window}" + (
        f" (tier {tier})" if tier in params.per_tier else ""
    )
    requested = ctx.request.requested_at.date().isoformat()
    start = _start(ctx, params.from_)
    if start is None:
        return (
            f"not {_WORDS[params.from_]} yet, requested {requested}: "
            f"inside the {window_text}"
        )
    elapsed = _elapsed(ctx, params)
    return (
        f"{_WORDS[params.from_]} {_date(ctx, start).isoformat()}, requested "
        f"{requested}: {days(elapsed or 0)}, {window_text}"
    )


_DAYS_SINCE = {
    "delivery": "request.days_since_delivery",
    "order": "request.days_since_order",
}


def deadline_condition(params: DeadlineParams) -> dict[str, Any] | None:
    """The deadline as a condition over facts, for ``returnrules check``:
    ``request.days_since_delivery`` (absent before delivery: inside) within
    the tier's window.  None from shipment, which no fact counts from."""
    fact = _DAYS_SINCE.get(params.from_)
    if fact is None:
        return None
    windows: list[dict[str, Any]] = [
        {"all": [{"fact": "customer.tier", "eq": tier}, {"fact": fact, "le": days}]}
        for tier, days in sorted(params.per_tier.items())
    ]
    others: dict[str, Any] = {"fact": fact, "le": params.days}
    if params.per_tier:
        tiers = {"fact": "customer.tier", "not_in": sorted(params.per_tier)}
        others = {"all": [tiers, others]}
    windows.append(others)
    if params.from_ == "delivery":
        windows.insert(0, {"fact": fact, "present": False})
    return {"any": windows}


def late_condition(params: LateParams) -> dict[str, Any]:
    """Lateness as a condition over facts: ``delivery.days_late ≥ days``."""
    return {"fact": "delivery.days_late", "ge": params.days}


def days_late(ctx: LineContext) -> int | None:
    """Calendar days from promised_at to delivered_at: 0 on the day, negative if
    early; None without both dates."""
    order = ctx.request.order
    if order.promised_at is None or order.delivered_at is None:
        return None
    return (_date(ctx, order.delivered_at) - _date(ctx, order.promised_at)).days


def is_late(ctx: LineContext, params: LateParams) -> bool:
    late = days_late(ctx)
    return late is not None and late >= params.days


def explain_late(ctx: LineContext, params: LateParams) -> str:
    order = ctx.request.order
    if order.promised_at is None or order.delivered_at is None:
        missing = "promised_at" if order.promised_at is None else "delivered_at"
        return f"no {missing}: not late"
    return (
        f"promised {_date(ctx, order.promised_at).isoformat()}, delivered "
        f"{_date(ctx, order.delivered_at).isoformat()}: {days(days_late(ctx) or 0)} "
        f"late, threshold {params.days}"
    )


@hookimpl
def returnrules_register_facts(register: Callable[[Fact], None]) -> None:
    register(
        Fact(
            "delivery.days_late",
            FactType("int", optional=True),
            days_late,
            "calendar days delivered after promised_at (0 on the day, negative "
            "if early); absent without both dates",
        )
    )


@hookimpl
def returnrules_register_checks(register: Callable[[Check[Any]], None]) -> None:
    register(
        Check(
            "delivery_deadline",
            within_deadline,
            DeadlineParams,
            explain_deadline,
            "the request is within `days` (or per_tier[tier]) of delivery, "
            "shipment or order; not yet started counts as within",
            equivalent=deadline_condition,
        )
    )
    register(
        Check(
            "late_delivery",
            is_late,
            LateParams,
            explain_late,
            "delivered at least `days` days after promised_at",
            equivalent=late_condition,
        )
    )
