"""The domain: a return/cancellation request and the order it refers to.

These are frozen attrs classes built by :func:`returnrules.parse_request`; every
value in them has already been checked (codes are in their vocabularies, dates
carry a UTC offset, money is in the request's currency).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, NewType, TypeVar

import attrs

from returnrules.model.bounds import Bounds
from returnrules.model.money import CONTEXT, Money

__all__ = [
    "CategoryCode",
    "ChannelCode",
    "ConditionCode",
    "Count",
    "Customer",
    "Order",
    "OrderLine",
    "PackagingCode",
    "Qty",
    "ReasonCode",
    "Request",
    "ReturnLine",
    "StatusCode",
    "Text",
    "TierCode",
    "calendar_days",
    "returnable_qty",
    "shipped_qty",
]

# Typed markers for the request converter: each is a plain int/str at run time,
# checked while structuring (a quantity is ≥ 1, a code is in its vocabulary).
Text = NewType("Text", str)
"""Text of a request: at most 1,000 characters, no control characters."""
Qty = NewType("Qty", int)
Count = NewType("Count", int)
ReasonCode = NewType("ReasonCode", str)
ConditionCode = NewType("ConditionCode", str)
PackagingCode = NewType("PackagingCode", str)
CategoryCode = NewType("CategoryCode", str)
TierCode = NewType("TierCode", str)
ChannelCode = NewType("ChannelCode", str)
StatusCode = NewType("StatusCode", str)

Moment = dt.datetime | dt.date
"""A point in time as a request gives it: an aware datetime or a bare date."""

Amount = Annotated[Money, Bounds(ge=0)]
"""An amount of money a request gives: never negative."""

SHIPPED_STATUSES = frozenset({"shipped", "delivered"})


_T = TypeVar("_T")


def _keep(instance: object, slot: str, value: _T) -> _T:
    """Keep *value*, worked out from a frozen instance, in its cache *slot*.

    Not ``functools.cached_property``: on a slotted attrs class it needs a
    ``__getattr__``, and a class with one loses CPython's fast attribute
    reads for every field (the model's readers, and every rule, read them
    all the time: 25 % of the engine's time).
    """
    object.__setattr__(instance, slot, value)
    return value


def local_date(moment: Moment, tz: dt.tzinfo) -> dt.date:
    """The calendar date of *moment* in the time zone *tz* (a bare date is itself)."""
    if isinstance(moment, dt.datetime):
        if moment.tzinfo == tz:  # the usual case: one offset throughout
            return moment.date()
        return moment.astimezone(tz).date()
    return moment


def calendar_days(start: Moment, end: dt.datetime) -> int:
    """Calendar days from *start* to *end*, both read in *end*'s UTC offset.

    This is the contract's day count: ``2026-11-04T23:30+08:00`` to
    ``2026-11-05T00:10+08:00`` is 1 day, although only 40 minutes passed.
    """
    tz = end.tzinfo
    assert tz is not None, "requested_at is always aware"
    if not isinstance(start, dt.datetime):
        return (end.date() - start).days
    if start.tzinfo is not tz and start.tzinfo != tz:
        start = start.astimezone(tz)
    return (end.date() - start.date()).days


def shipped_qty(order: Order, line: OrderLine) -> int:
    """The line's shipped quantity: as given, else all of it once the order shipped."""
    if line.shipped_qty is not None:
        return line.shipped_qty
    return line.qty if order.shipped else 0


def returnable_qty(order: Order, line: OrderLine) -> int:
    """What can still be returned (shipped − returned) or cancelled (ordered − shipped).

    Both are per order line; ``returned_qty`` counts earlier returns.
    """
    shipped = shipped_qty(order, line)
    if order.shipped:
        return shipped - line.returned_qty
    return line.qty - shipped


@attrs.frozen
class Customer:
    id: Text
    tier: TierCode = TierCode("retail")


@attrs.frozen
class OrderLine:
    """One line of the original order."""

    line: Qty
    sku: Text
    qty: Qty
    unit_price: Amount
    category: CategoryCode
    name: Text = Text("")
    brand: Text = Text("")
    shipped_qty: Count | None = None
    returned_qty: Count = Count(0)
    special_order: bool = False
    no_return: bool = False
    kit: bool = False
    core_charge: Amount | None = None
    supplier: Text | None = None
    warranty_days: Count | None = None
    """The part's warranty term in days from delivery, if the catalogue has one."""
    obsolete: bool = False
    """The part is obsolete: no longer made or sold (suppliers refuse it back)."""


@attrs.frozen
class Order:
    id: Text
    status: StatusCode
    placed_at: Moment
    lines: tuple[OrderLine, ...]
    channel: ChannelCode = ChannelCode("store")
    promised_at: Moment | None = None
    shipped_at: Moment | None = None
    delivered_at: Moment | None = None
    shipping_fee: Amount | None = None
    currency: Text | None = None
    _goods_value: Money | None = attrs.field(
        default=None, init=False, eq=False, repr=False
    )
    """:attr:`goods_value`, once worked out (see :func:`_keep`)."""

    @property
    def shipped(self) -> bool:
        return self.status in SHIPPED_STATUSES

    @property
    def goods_value(self) -> Money:
        """Σ qty × unit price over the order's lines (the base for shipping shares).

        Worked out once per order: a refund with shipping asks for it on every
        line, and an order may have 10,000 lines.
        """
        if self._goods_value is not None:
            return self._goods_value
        currency = self.lines[0].unit_price.currency
        total = Decimal(0)
        for line in self.lines:
            total = CONTEXT.add(
                total, CONTEXT.multiply(line.unit_price.amount, line.qty)
            )
        # a sum of valid amounts
        return _keep(self, "_goods_value", Money._trusted(total, currency))


@attrs.frozen
class ReturnLine:
    """What the customer wants to return or cancel from one order line."""

    line: Qty
    qty: Qty
    reason: ReasonCode
    condition: ConditionCode
    packaging: PackagingCode = PackagingCode("original")


@attrs.frozen
class Request:
    """A return or cancellation request, checked and resolved.

    ``pairs`` holds each return line with the order line it refers to, in the
    order the request lists them.  ``return_shipping`` is what the customer
    paid to send the parts back, when the request says.
    """

    id: Text
    requested_at: dt.datetime
    customer: Customer
    order: Order
    lines: tuple[ReturnLine, ...]
    currency: str
    pairs: tuple[tuple[ReturnLine, OrderLine], ...] = attrs.field(eq=False, repr=False)
    taken: Mapping[int, int] = attrs.field(factory=dict, eq=False, repr=False)
    """Per order line, the quantity earlier requests recorded in a ledger took
    back; ``line.returnable_qty`` counts it as returned (the desk sets it)."""
    return_shipping: Amount | None = None
    _amount: Money | None = attrs.field(default=None, init=False, eq=False, repr=False)
    """:attr:`amount`, once worked out (see :func:`_keep`)."""

    @property
    def amount(self) -> Money:
        """Σ qty × unit price over the request's lines (``request.amount``).

        Worked out once per request: the base of every line's share of the
        return shipping, and a request may have 10,000 lines.
        """
        if self._amount is not None:
            return self._amount
        total = Decimal(0)
        for rline, oline in self.pairs:
            total = CONTEXT.add(
                total, CONTEXT.multiply(oline.unit_price.amount, rline.qty)
            )
        # a sum of valid amounts
        return _keep(self, "_amount", Money._trusted(total, self.currency))

    @property
    def kind(self) -> str:
        """``cancel`` while the order has not shipped, else ``return``."""
        return "return" if self.order.shipped else "cancel"

    def returnable(self, line: OrderLine) -> int:
        """``line.returnable_qty``: what of *line* can still be returned or
        cancelled, after what the order says and what a ledger knows was taken."""
        qty = returnable_qty(self.order, line)
        taken = self.taken
        return qty - taken.get(line.line, 0) if taken else qty

    def with_taken(self, taken: Mapping[int, int]) -> Request:
        """This request as a ledger sees it: *taken* units already taken back."""
        return attrs.evolve(self, taken=taken)

    @property
    def days_since_order(self) -> int:
        """Calendar days from ``placed_at`` to ``requested_at`` (the contract's)."""
        return calendar_days(self.order.placed_at, self.requested_at)

    @property
    def days_since_delivery(self) -> int | None:
        """Calendar days from ``delivered_at`` to ``requested_at``; else None."""
        delivered = self.order.delivered_at
        return (
            None if delivered is None else calendar_days(delivered, self.requested_at)
        )

    def in_currency(self, currency: str) -> Request:
        """This request with its amounts in *currency*.

        For a request that named no currency (``order.currency`` absent): it
        was read in a default currency and takes the evaluating policy's.
        """

        def moved(money: Money | None) -> Money | None:
            return None if money is None else Money(money.amount, currency)

        lines = {
            oline.line: attrs.evolve(
                oline,
                unit_price=Money(oline.unit_price.amount, currency),
                core_charge=moved(oline.core_charge),
            )
            for oline in self.order.lines
        }
        order = attrs.evolve(
            self.order,
            lines=tuple(lines.values()),
            shipping_fee=moved(self.order.shipping_fee),
        )
        return attrs.evolve(
            self,
            order=order,
            currency=currency,
            pairs=tuple((rline, lines[rline.line]) for rline in self.lines),
            return_shipping=moved(self.return_shipping),
        )
