"""bench/policy.toml written by hand: the yardstick the engine is measured against.

This is the function a programmer would write instead of a rules engine: plain
``if`` statements over a parsed :class:`returnrules.Request` and the raw data
mapping, no generic machinery.  It returns, per return line,
``(decision, action names in the order the engine reports them)``.

It follows DESIGN.md's semantics for this particular policy, worked out by hand:

* decision: any reject rule → ``reject``; else any review rule → ``review``;
  else the policy default, ``approve``;
* a rule's actions apply when the decision is in its ``for`` list (a deciding
  rule's own decision by default; ``approve`` for the action-only rules;
  ``high-amount`` notifies finance on ``review`` and ``reject``);
* actions are reported in rule order, then in each rule's ``then`` order;
* single actions (refund, restock, ...): the highest priority wins, then the
  earliest rule; the winner keeps its own place in the order.  Here
  ``refund-our-fault`` (priority 10) beats the two customer-reason refunds, and
  ``restock-unopened`` / ``restock-opened-inspect`` beat the exchange rule's
  restock;
* notify: every one is kept, identical ones (same ``to``, same rendered
  message) once.  Here the two rules rejecting opened or installed parts send
  the customer the same notice, and the three refund rules send finance the
  same ``退款 {part.sku} × {line.qty}``.

Keep it in step with the policy: ``bench/run.py`` checks the engine against it
on every request before timing anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from returnrules import Request

__all__ = ["LineResult", "decide"]

LineResult = tuple[str, tuple[str, ...]]

OPENED_OR_INSTALLED: Final = frozenset({"opened", "installed"})
NOT_SPECIAL_EXCUSES: Final = frozenset({"wrong_part", "defective"})
CONSUMABLES: Final = frozenset({"filter", "consumable"})
DAMAGE_EXCUSES: Final = frozenset({"defective", "damaged_in_transit"})
CUSTOMER_REASONS: Final = frozenset({"changed_mind", "ordered_wrong"})
UNOPENED_FULL_REFUND: Final = frozenset(
    {"changed_mind", "ordered_wrong", "duplicate_order"}
)
OUR_FAULT: Final = frozenset({"defective", "damaged_in_transit", "late_delivery"})
NOT_RESTOCKED: Final = frozenset({"defective", "damaged_in_transit"})
EMPTY: Final[Mapping[str, Any]] = {}
SHIPPED: Final = frozenset({"shipped", "delivered"})
LIMIT: Final = Decimal(5000)

N: Final = "notify"


def decide(request: Request, data: Mapping[str, Any]) -> list[LineResult]:
    """Each return line's ``(decision, action names)``, in request order."""
    order = request.order
    requested_at = request.requested_at
    tier = request.customer.tier
    tz = requested_at.tzinfo
    assert tz is not None
    # calendar days, both dates read in requested_at's offset (DESIGN.md)
    delivered = order.delivered_at
    delivered_day: dt.date | None = None
    since_delivery: int | None = None
    if delivered is not None:
        if isinstance(delivered, dt.datetime):
            delivered_day = delivered.astimezone(tz).date()
        else:
            delivered_day = delivered
        since_delivery = (requested_at.date() - delivered_day).days
    inside_window = since_delivery is None or since_delivery <= (
        60 if tier == "vip" else 30
    )
    shipped = order.status in SHIPPED
    late: bool | None = None  # delivered ≥ 3 days after promised_at: asked once
    stock: Mapping[str, Any] = data.get("stock", EMPTY)
    suppliers: Mapping[str, Any] = data.get("supplier", EMPTY)

    results: list[LineResult] = []
    for rline, oline in request.pairs:
        qty = rline.qty
        reason = rline.reason
        condition = rline.condition
        category = oline.category
        defective = reason == "defective"
        high_amount = oline.unit_price.amount * qty > LIMIT
        # line.returnable_qty: shipped − returned, or ordered − shipped (a cancel)
        given = oline.shipped_qty
        if given is not None:
            shipped_qty: int = given
        else:
            shipped_qty = oline.qty if shipped else 0
        if shipped:
            returnable = shipped_qty - oline.returned_qty
        else:
            returnable = oline.qty - shipped_qty

        # -- reject rules, in file order -------------------------------------------
        over_return = qty > returnable
        electrical_opened = (
            category == "electrical"
            and condition in OPENED_OR_INSTALLED
            and not defective
        )
        special = oline.special_order and reason not in NOT_SPECIAL_EXCUSES
        outside = not inside_window and not defective
        old_consumable = (
            category in CONSUMABLES
            and defective
            and since_delivery is not None
            and since_delivery > 90
        )
        installed = condition == "installed" and not defective
        customer_damage = condition == "damaged" and reason not in DAMAGE_EXCUSES
        opened_duplicate = reason == "duplicate_order" and condition != "unopened"
        if (
            over_return
            or electrical_opened
            or special
            or outside
            or old_consumable
            or installed
            or customer_damage
            or opened_duplicate
        ):
            notices: list[str] = []
            if over_return:
                notices.append(N)
            if electrical_opened:
                notices.append(N)
            if special:
                notices.append(N)
            if outside:
                notices.append(N)
            if installed and not electrical_opened:  # the same notice: sent once
                notices.append(N)
            if customer_damage:
                notices.append(N)
            if high_amount:  # high-amount: for = ["review", "reject"]
                notices.append(N)
            results.append(("reject", tuple(notices)))
            continue

        # -- review rules ------------------------------------------------------------
        supplier_takes_it = False
        if defective:
            supplier_takes_it = _supplier_accepts(
                oline.supplier, category, since_delivery, suppliers
            )
        battery = category == "battery"
        supplier_refuses = defective and not supplier_takes_it
        workshop_bulk = tier == "workshop" and qty >= 8 and reason == "changed_mind"
        if battery or high_amount or supplier_refuses or workshop_bulk:
            notices = []
            if battery:
                notices.append(N)
            if high_amount:
                notices.append(N)
            if supplier_refuses:
                notices.append(N)
            if workshop_bulk:
                notices.append(N)
            results.append(("review", tuple(notices)))
            continue

        # -- approved: the action rules ----------------------------------------------
        unopened = condition == "unopened"
        opened = condition == "opened"
        wrong_part = reason == "wrong_part"
        in_stock = wrong_part and _in_stock(stock.get(oline.sku), qty)
        our_fault = reason in OUR_FAULT or (wrong_part and not in_stock)
        if not our_fault:  # refund-our-fault's { check = "late_delivery", days = 3 }
            if late is None:
                late = _late(order.promised_at, delivered_day, tz, 3)
            our_fault = late
        actions: list[str] = []
        finance_told = False
        if unopened and reason in UNOPENED_FULL_REFUND:
            if not our_fault:  # refund-our-fault's refund has priority 10
                actions.append("refund")
            actions.append(N)
            finance_told = True
        if opened and reason in CUSTOMER_REASONS:
            if not our_fault:
                actions.append("refund")
            actions.append(N)
            finance_told = True
        if our_fault:
            actions.append("refund")
            if not finance_told:  # the same 退款 notice: sent once
                actions.append(N)
        restocked = False
        if reason not in NOT_RESTOCKED and (unopened or opened):
            actions += ("restock", N)  # restock-unopened / restock-opened-inspect
            restocked = True
        if defective and supplier_takes_it:
            actions += ("return_to_supplier", N)
        if in_stock:
            actions.append("exchange")
            if not restocked:
                actions.append("restock")
            actions.append(N)
        if reason == "damaged_in_transit":
            actions += ("scrap", N)
        results.append(("approve", tuple(actions)))
    return results


def _supplier_accepts(
    supplier: str | None,
    category: str,
    since_delivery: int | None,
    suppliers: Mapping[str, Any],
) -> bool:
    if supplier is None:
        return False
    terms = suppliers.get(supplier)
    if terms is None or not terms.get("accepts_returns", True):
        return False
    if category in terms.get("non_returnable_categories", ()):
        return False
    window = terms.get("window_days")
    return window is None or window - (since_delivery or 0) >= 0


def _in_stock(record: Mapping[str, Any] | None, qty: int) -> bool:
    if record is None:
        return False
    available: int = record["on_hand"] - record.get("reserved", 0)
    return available >= qty


def _late(
    promised: dt.datetime | dt.date | None,
    delivered_day: dt.date | None,
    tz: dt.tzinfo,
    days: int,
) -> bool:
    if promised is None or delivered_day is None:
        return False
    if isinstance(promised, dt.datetime):
        return (delivered_day - promised.astimezone(tz).date()).days >= days
    return (delivered_day - promised).days >= days
