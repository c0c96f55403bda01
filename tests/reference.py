"""A reference evaluator: the semantics of DESIGN.md and README "Semantics", by hand.

This is the model the differential tests (``tests/test_differential.py``)
hold the engine to.  It is written to be obviously right rather than fast:

* it reads the policy as the raw TOML mapping the author wrote (``tomllib``'s
  output), not the engine's checked form; it does no compilation and keeps no
  cache between lines;
* it reads the request as the raw mapping too (JSON-like: ISO strings or
  ``datetime`` objects, defaults filled in as DESIGN.md says), so a mistake in
  the engine's request reader shows up as a disagreement;
* it has its own table of facts (the core facts of the contract, and the facts
  of the test plugin ``tests/plugins/diff_facts.py``, whose docstring is their
  specification), computed from the request and the data mapping;
* it has its own standard plugins: the facts, checks and actions of DESIGN.md
  "Contract: standard checks and actions", written from that text (see
  "The standard plugins" below), not from ``plugins/returnrules_std``;
* numbers (int, decimal and money) are :class:`fractions.Fraction` here, so
  every comparison and every refund is exact;
* it shares no code with the engine or the standard plugins.

The semantics it implements (each rule numbered as in DESIGN.md):

1. A rule matches a line when its ``when`` holds (no ``when``: always).
   ``all``/``any`` evaluate left to right and stop at the first false/true
   item; ``not`` negates.  A comparison resolves its left fact first; if that
   is absent (an optional fact with no value) the comparison is false, whatever
   the operator, and the right-hand fact is not resolved.  Only ``present``
   tests for absence.  A fact is resolved at most once per line: the first
   condition that reaches it resolves it, later ones reuse the value.
2. Decision: ``reject`` beats ``review`` beats ``approve`` among matched rules
   with ``decide``; with none, ``[policy] default``.  ``decided_by`` lists the
   matched rules whose ``decide`` equals the decision, in file order; their
   ``message``s are rendered.
3. A matched rule's ``then`` applies when the decision is in its ``for``
   (default ``[decide]``, or ``["approve"]`` without ``decide``).
4. A *single* action kind happens once per line: among the applicable rules
   planning it, the highest ``priority`` wins, then the earliest in the file;
   the others are overridden.  A *multiple* kind keeps every occurrence except
   identical ones: the same action with the same parameters (after defaults)
   is planned once; once run, one whose reported fields equal an earlier one's
   is reported once.  Actions are listed in file order (rule, then position
   in its ``then``).
5. Request: ``approve`` if every line approves, ``reject`` if every line
   rejects, ``review`` if any line is ``review``, else ``partial``.
6. Faults: a check or fact resolver that raises, or a fact that resolves to a
   value outside its type (a wrong Python type, ``None`` for a required fact,
   a datetime for a date, a non-finite decimal, a naive datetime), or a check
   that returns something other than true/false, is an error of the rule
   whose condition reached it; that rule does not match, the others are still
   evaluated.  A fact that failed stays failed for the line: every later
   condition that reaches it is an error too (it is never resolved again).
   With any error the line's decision is ``review`` (whatever matched), and
   the actions applicable to ``review`` apply.  An action that raises while it
   is run is reported and left out; if the line was not ``review`` it becomes
   ``review`` and the actions applicable to ``review`` are run instead.
   ``Policy.plan`` does not run actions, so it knows only condition errors.
   The actions run before the deciding rules' messages are rendered; a
   message whose placeholder names a fact that fails is reported as written
   (unrendered), with an error of its rule naming ``message``.

The standard plugins (DESIGN.md "Contract: facts" and "Contract: standard
checks and actions"; where the contract leaves a case open, the plugin's
documented choice, noted here):

* Day counts are calendar days: both moments' local dates in ``requested_at``'s
  UTC offset (a bare date is that date); "within N days" is ≤ N.
* ``delivery.days_late``: delivered date − promised date (negative when
  early), absent without both.  ``late_delivery`` (``days`` = 1): days_late ≥
  days, false without both dates.  ``delivery_deadline`` (``days``,
  ``per_tier``, ``from`` = delivery | shipment | order): the days from the
  start (``delivered_at``, ``shipped_at``, ``placed_at``) to the request are ≤
  ``per_tier[tier]``, else ``days``; no start (not delivered, not shipped, or
  its date not given) counts as within.
* ``[stock.SKU]`` (``on_hand``, ``reserved`` = 0, integers ≥ 0) gives
  ``stock.on_hand`` and ``stock.available`` = on_hand − reserved (negative
  when over-reserved); no record: both absent and ``stock_available`` (``qty``
  = the line's qty) is false.
* ``[supplier.ID]`` (``accepts_returns`` = true, ``window_days`` (none: no
  limit), ``restocking_fee_percent`` = 0 (0..100),
  ``non_returnable_categories`` = []) of the part's supplier gives
  ``supplier.accepts_returns``, ``supplier.restocking_fee_percent`` and
  ``supplier.days_left`` = window_days − days since delivery (the whole window
  before delivery; absent without a window).  ``supplier_accepts``: a
  supplier, a record, accepts returns, the category not excluded, and days
  since delivery ≤ window_days (before delivery: within).
* A data record that is not of that shape makes every stock (or supplier)
  fact and check of the line that reads it fail (data is not checked before
  an evaluation; ``Policy.check_data`` is the caller's business).
* Actions report, in this order: ``refund`` amount, fee, currency, method (see
  :func:`refund`); ``restock`` sku, qty, location (= "main"), inspect (=
  false); ``return_to_supplier`` supplier, sku, qty (a part without supplier:
  the action fails); ``exchange``, ``cancel_line``, ``scrap`` sku, qty (the
  returned qty); ``notify`` to, message (rendered, "" without one; several
  kept, the same parameters or the same fields once).
* Messages render a fact as its value; an absent one as "—", a bool as
  ``true``/``false``, money as its amount rounded half-up to the minor unit
  with the currency code (``"360.00 CNY"``).  Money in an action's fields is
  that text too (the test turns the engine's ``Money`` into it unrounded, so
  an amount with the wrong number of digits shows).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

import attrs

from tests.plugins import diff_facts

__all__ = [
    "FACTS",
    "MULTIPLE",
    "SINGLE",
    "FactSpec",
    "RefAction",
    "RefError",
    "RefLine",
    "RefOutcome",
    "RefRequest",
    "evaluate",
    "read_request",
]

DECISIONS: Final = ("approve", "reject", "review")
SHIPPED: Final = frozenset({"shipped", "delivered"})
#: ISO 4217 minor units of the currencies the tests use.
MINOR_UNITS: Final[Mapping[str, int]] = {"CNY": 2, "USD": 2, "JPY": 0, "KWD": 3}


@attrs.frozen
class FactSpec:
    """A fact's declared type: kind (int, decimal, money, ...), vocabulary, optional."""

    kind: str
    vocab: str | None = None
    optional: bool = False

    @property
    def ordered(self) -> bool:
        return self.kind in ("int", "decimal", "money", "date", "datetime")


def _spec(text: str) -> FactSpec:
    """``"int"``, ``"enum:tier?"`` ... as a FactSpec."""
    optional = text.endswith("?")
    text = text.rstrip("?")
    kind, _, vocab = text.partition(":")
    return FactSpec(kind, vocab or None, optional)


#: Every fact the reference knows, with its declared type.
FACTS: Final[Mapping[str, FactSpec]] = {
    name: _spec(t)
    for name, t in {
        "request.kind": "enum:kind",
        "request.days_since_order": "int",
        "request.days_since_delivery": "int?",
        "request.amount": "money",
        "order.status": "enum:status",
        "order.channel": "enum:channel",
        "customer.id": "str",
        "customer.tier": "enum:tier",
        "line.qty": "int",
        "line.returnable_qty": "int",
        "line.reason": "enum:reason",
        "line.condition": "enum:condition",
        "line.packaging": "enum:packaging",
        "line.unit_price": "money",
        "line.amount": "money",
        "part.sku": "str",
        "part.brand": "str",
        "part.category": "enum:category",
        "part.special_order": "bool",
        "part.no_return": "bool",
        "part.kit": "bool",
        "part.core_charge": "money",
        "part.supplier": "str?",
        "part.warranty_days": "int?",
        "part.obsolete": "bool",
        "request.return_shipping": "money?",
        "diff.score": "int?",
        "diff.ratio": "decimal?",
        "diff.flag": "bool?",
        "diff.due": "date?",
        "diff.seen": "datetime?",
        "diff.tier": "enum:tier?",
        "diff.credit": "money?",
        "diff.code": "str?",
        "diff.level": "int",
        "delivery.days_late": "int?",
        "stock.on_hand": "int?",
        "stock.available": "int?",
        "supplier.accepts_returns": "bool?",
        "supplier.days_left": "int?",
        "supplier.restocking_fee_percent": "decimal?",
    }.items()
}

#: The action kinds: the test plugin's, then the standard ones (DESIGN.md 4).
SINGLE: Final = frozenset(
    {
        "diff_hold",
        "diff_ship",
        "refund",
        "restock",
        "return_to_supplier",
        "exchange",
        "cancel_line",
        "scrap",
    }
)
MULTIPLE: Final = frozenset({"diff_tag", "notify"})
_ACTION_DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "diff_hold": {"bin": "main"},
    "diff_ship": {"speed": "slow"},
    "diff_tag": {"upper": False},
    "refund": {
        "percent": 100,
        "fee_percent": 0,
        "fee_min": 0,
        "deduct": 0,
        "include_shipping": False,
        "method": "original",
    },
    "restock": {"location": "main", "inspect": False},
}


# -- results ---------------------------------------------------------------------------


@attrs.frozen
class RefError:
    """A rule's error: *what* is the fact, check or action name that failed."""

    rule: str
    what: str
    kind: str  # "fact", "check" or "action"


@attrs.frozen
class RefAction:
    action: str
    rule: str
    fields: Mapping[str, Any]


@attrs.frozen
class RefOutcome:
    """What follows from the matched rules: decision, deciders, planned steps."""

    decision: str
    decided_by: tuple[str, ...]
    steps: tuple[tuple[str, str], ...]
    overridden: tuple[tuple[str, str, str], ...]
    # (action, rule id, parameters with defaults), in step order
    planned: tuple[tuple[str, str, Mapping[str, Any]], ...] = attrs.field(repr=False)
    # (rule id, message as written) of the deciding rules with a message
    templates: tuple[tuple[str, str], ...] = attrs.field(repr=False)
    #: the rendered messages, once the actions have run (plan renders none)
    messages: tuple[str, ...] = ()


@attrs.frozen
class RefLine:
    """The reference's result for one line.

    ``plan`` is what ``Policy.plan`` reports (condition errors only); ``final``,
    ``actions`` and ``errors`` are what ``Policy.evaluate`` reports after
    running the actions.  ``calls`` are the test plugin's fact resolutions and
    check calls, in order; ``std_checks`` the standard checks' results (for
    statistics: nothing asserts on them).
    """

    line: int
    matched: tuple[str, ...]
    condition_errors: tuple[RefError, ...]
    calls: tuple[tuple[str, int], ...]
    plan: RefOutcome
    final: RefOutcome
    actions: tuple[RefAction, ...]
    errors: tuple[RefError, ...]
    std_checks: tuple[tuple[str, bool], ...] = ()


@attrs.frozen
class RefRequest:
    id: str
    plan_decision: str
    decision: str
    lines: tuple[RefLine, ...]


# -- the request, read from the raw mapping -----------------------------------------


@attrs.frozen
class OrderLine:
    line: int
    sku: str
    category: str
    qty: int
    unit_price: Fraction
    brand: str
    shipped_qty: int | None
    returned_qty: int
    special_order: bool
    no_return: bool
    kit: bool
    core_charge: Fraction | None
    supplier: str | None
    warranty_days: int | None
    obsolete: bool


@attrs.frozen
class ReturnLine:
    line: int
    qty: int
    reason: str
    condition: str
    packaging: str


@attrs.frozen
class Request:
    """A request as the contract describes it, defaults filled in."""

    id: str
    requested_at: dt.datetime
    customer_id: str
    tier: str
    status: str
    channel: str
    placed_at: dt.date
    shipped_at: dt.date | None
    promised_at: dt.date | None
    delivered_at: dt.date | None
    shipping_fee: Fraction | None
    currency: str
    order_lines: tuple[OrderLine, ...]
    lines: tuple[ReturnLine, ...]
    return_shipping: Fraction | None


def _moment(value: object) -> dt.date:
    """A date-time (ISO text with offset, or datetime) or a bare date."""
    if isinstance(value, dt.date):
        return value
    assert isinstance(value, str)
    if len(value) == 10:
        return dt.date.fromisoformat(value)
    return dt.datetime.fromisoformat(value)


def read_request(raw: Mapping[str, Any], currency: str = "CNY") -> Request:
    """The request mapping, with DESIGN.md's defaults (valid requests only).

    *currency* is the policy's, the default of ``order.currency``.
    """
    order, customer = raw["order"], raw["customer"]
    requested_at = _moment(raw["requested_at"])
    assert isinstance(requested_at, dt.datetime)

    def moment(key: str) -> dt.date | None:
        value = order.get(key)
        return None if value is None else _moment(value)

    fee = order.get("shipping_fee")
    return Request(
        id=raw["id"],
        requested_at=requested_at,
        customer_id=customer["id"],
        tier=customer.get("tier", "retail"),
        status=order["status"],
        channel=order.get("channel", "store"),
        placed_at=_moment(order["placed_at"]),
        shipped_at=moment("shipped_at"),
        promised_at=moment("promised_at"),
        delivered_at=moment("delivered_at"),
        shipping_fee=None if fee is None else _number(fee),
        currency=order.get("currency", currency),
        order_lines=tuple(
            OrderLine(
                line=ol["line"],
                sku=ol["sku"],
                category=ol["category"],
                qty=ol["qty"],
                unit_price=_number(ol["unit_price"]),
                brand=ol.get("brand", ""),
                shipped_qty=ol.get("shipped_qty"),
                returned_qty=ol.get("returned_qty", 0),
                special_order=ol.get("special_order", False),
                no_return=ol.get("no_return", False),
                kit=ol.get("kit", False),
                core_charge=(
                    None
                    if ol.get("core_charge") is None
                    else _number(ol["core_charge"])
                ),
                supplier=ol.get("supplier"),
                warranty_days=ol.get("warranty_days"),
                obsolete=ol.get("obsolete", False),
            )
            for ol in order["lines"]
        ),
        lines=tuple(
            ReturnLine(
                line=rl["line"],
                qty=rl["qty"],
                reason=rl["reason"],
                condition=rl["condition"],
                packaging=rl.get("packaging", "original"),
            )
            for rl in raw["lines"]
        ),
        return_shipping=(
            None
            if raw.get("return_shipping") is None
            else _number(raw["return_shipping"])
        ),
    )


# -- facts -----------------------------------------------------------------------------


class Fault(Exception):
    """A fact, check or action failed; *what* names it."""

    def __init__(self, what: str, kind: str, why: str) -> None:
        super().__init__(f"{kind} {what}: {why}")
        self.what = what
        self.kind = kind


def _number(value: object) -> Fraction:
    """An int, Decimal, float (through its shortest repr) or numeric string, exactly."""
    if isinstance(value, bool):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(repr(value))
    if isinstance(value, Decimal):
        return Fraction(value)
    if isinstance(value, str):
        return Fraction(value)  # a plain decimal: ASCII digits, nothing around
    raise TypeError(f"not a number: {value!r}")


# -- the standard plugins' data -------------------------------------------------------

STD_PLUGINS: Final = frozenset({"delivery", "stock", "supplier"})
STD_CHECKS: Final = frozenset(
    {"delivery_deadline", "late_delivery", "stock_available", "supplier_accepts"}
)


class BadRecord(Exception):
    """A stock or supplier record of the data mapping is malformed."""


@attrs.frozen
class StockRecord:
    on_hand: int
    reserved: int


@attrs.frozen
class SupplierRecord:
    accepts_returns: bool
    window_days: int | None
    restocking_fee_percent: Fraction
    non_returnable_categories: tuple[str, ...]


def _record(data: Mapping[str, Any], table: str, key: str) -> object:
    """``data[table][key]``, or None."""
    records = data.get(table)
    return records.get(key) if isinstance(records, Mapping) else None


def _fields(record: object, known: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(record, Mapping):
        raise BadRecord(f"not a table: {record!r}")
    extra = set(record) - set(known)
    if extra:
        raise BadRecord(f"unknown keys {sorted(extra)}")
    return record


def _units(value: object, key: str) -> int:
    """A count of units: an integer (not a bool) ≥ 0."""
    if type(value) is not int or value < 0:
        raise BadRecord(f"{key} = {value!r} is not a whole number ≥ 0")
    return value


def read_stock(record: object) -> StockRecord | None:
    """``[stock.SKU]``: ``on_hand``, ``reserved`` (default 0), units ≥ 0."""
    if record is None:
        return None
    fields = _fields(record, ("on_hand", "reserved"))
    if "on_hand" not in fields:
        raise BadRecord("on_hand is missing")
    return StockRecord(
        _units(fields["on_hand"], "on_hand"),
        _units(fields.get("reserved", 0), "reserved"),
    )


def read_supplier(record: object) -> SupplierRecord | None:
    """``[supplier.ID]``, every key optional (see the module docstring)."""
    if record is None:
        return None
    fields = _fields(
        record,
        (
            "accepts_returns",
            "window_days",
            "restocking_fee_percent",
            "non_returnable_categories",
        ),
    )
    accepts = fields.get("accepts_returns", True)
    if not isinstance(accepts, bool):
        raise BadRecord(f"accepts_returns = {accepts!r} is not a bool")
    window = fields.get("window_days")
    try:
        percent = _number(fields.get("restocking_fee_percent", 0))
    except (TypeError, ValueError):
        raise BadRecord("restocking_fee_percent is not a number") from None
    if not 0 <= percent <= 100:
        raise BadRecord(f"restocking_fee_percent = {percent} is not in 0..100")
    categories = fields.get("non_returnable_categories", [])
    if not isinstance(categories, list) or not all(
        isinstance(c, str) for c in categories
    ):
        raise BadRecord("non_returnable_categories is not a list of codes")
    return SupplierRecord(
        accepts_returns=accepts,
        window_days=None if window is None else _units(window, "window_days"),
        restocking_fee_percent=percent,
        non_returnable_categories=tuple(categories),
    )


def _local_date(moment: dt.date, offset: dt.tzinfo) -> dt.date:
    """The calendar date of *moment* read in *offset* (a bare date is itself)."""
    if isinstance(moment, dt.datetime):
        return moment.astimezone(offset).date()
    return moment


class _Line:
    """One line's facts: resolved lazily, each at most once; failures stick."""

    _FAILED: Final = object()

    def __init__(
        self,
        request: Request,
        rline: ReturnLine,
        oline: OrderLine,
        data: Mapping[str, Any],
    ) -> None:
        self.request = request
        self.rline = rline
        self.oline = oline
        self.data = data
        self.values: dict[str, object] = {}
        self.calls: list[tuple[str, int]] = []
        self.std_checks: list[tuple[str, bool]] = []  # for the tests' statistics

    # the fact table

    def _core(self, name: str) -> object:
        req, rline, oline = self.request, self.rline, self.oline
        offset = req.requested_at.tzinfo
        assert offset is not None
        shipped_status = req.status in SHIPPED
        if name == "request.kind":
            return "return" if shipped_status else "cancel"
        if name == "request.days_since_order":
            today = req.requested_at.date()
            return Fraction((today - _local_date(req.placed_at, offset)).days)
        if name == "request.days_since_delivery":
            if req.delivered_at is None:
                return None
            today = req.requested_at.date()
            return Fraction((today - _local_date(req.delivered_at, offset)).days)
        if name == "request.amount":
            by_number = {ol.line: ol for ol in req.order_lines}
            return sum(by_number[rl.line].unit_price * rl.qty for rl in req.lines)
        if name == "line.returnable_qty":
            shipped: int
            if oline.shipped_qty is not None:
                shipped = oline.shipped_qty
            else:
                shipped = oline.qty if shipped_status else 0
            if shipped_status:
                return Fraction(shipped - oline.returned_qty)
            return Fraction(oline.qty - shipped)
        if name == "line.amount":
            return oline.unit_price * rline.qty
        if name == "part.core_charge":
            return oline.core_charge or Fraction(0)
        if name == "part.warranty_days":
            days = oline.warranty_days
            return None if days is None else Fraction(days)
        if name == "request.return_shipping":
            return req.return_shipping
        simple: dict[str, Callable[[], object]] = {
            "order.status": lambda: req.status,
            "order.channel": lambda: req.channel,
            "customer.id": lambda: req.customer_id,
            "customer.tier": lambda: req.tier,
            "line.qty": lambda: Fraction(rline.qty),
            "line.reason": lambda: rline.reason,
            "line.condition": lambda: rline.condition,
            "line.packaging": lambda: rline.packaging,
            "line.unit_price": lambda: oline.unit_price,
            "part.sku": lambda: oline.sku,
            "part.brand": lambda: oline.brand,
            "part.category": lambda: oline.category,
            "part.special_order": lambda: oline.special_order,
            "part.no_return": lambda: oline.no_return,
            "part.kit": lambda: oline.kit,
            "part.obsolete": lambda: oline.obsolete,
            "part.supplier": lambda: oline.supplier,
        }
        return simple[name]()

    def table(self) -> Mapping[str, Any]:
        tables = self.data.get("diff")
        table = (
            tables.get(str(self.rline.line)) if isinstance(tables, Mapping) else None
        )
        return table if isinstance(table, Mapping) else {}

    def _plugin(self, name: str) -> object:
        """The test plugin's facts (see tests/plugins/diff_facts.py)."""
        self.calls.append((name, self.rline.line))
        spec = FACTS[name]
        key = name.split(".", 1)[1]
        raw = self.table().get(key)
        if raw in (diff_facts.RAISE, diff_facts.WRONG, diff_facts.NONSENSE):
            raise Fault(name, "fact", f"resolver gave {raw}")
        if raw is None or raw == diff_facts.NONE:
            if spec.optional:
                return None
            if raw is None:  # diff.level defaults to 0
                return Fraction(0)
            raise Fault(name, "fact", "a required fact resolved to None")
        if spec.kind in ("int", "decimal", "money"):
            return _number(raw)
        return raw

    def fact(self, name: str) -> object:
        """The fact's value (None when absent); raises Fault if it failed."""
        if name in self.values:
            value = self.values[name]
            if value is self._FAILED:
                raise Fault(name, "fact", "failed earlier on this line")
            return value
        self.values[name] = self._FAILED
        if name.startswith("diff."):
            value = self._plugin(name)
        elif name.split(".", 1)[0] in STD_PLUGINS:
            try:
                value = self._std(name)
            except BadRecord as exc:
                raise Fault(name, "fact", str(exc)) from None
        else:
            value = self._core(name)
        self.values[name] = value
        return value

    # the standard plugins' facts

    def days_since(self, moment: dt.date | None) -> int | None:
        """Calendar days from *moment* to the request (None without a moment)."""
        if moment is None:
            return None
        offset = self.request.requested_at.tzinfo
        assert offset is not None
        today = self.request.requested_at.date()
        return (today - _local_date(moment, offset)).days

    def days_late(self) -> int | None:
        """Calendar days from promised_at to delivered_at (None without both)."""
        req = self.request
        if req.promised_at is None or req.delivered_at is None:
            return None
        offset = req.requested_at.tzinfo
        assert offset is not None
        delivered = _local_date(req.delivered_at, offset)
        return (delivered - _local_date(req.promised_at, offset)).days

    def stock(self) -> StockRecord | None:
        """The part's stock record; raises BadRecord for a malformed one."""
        return read_stock(_record(self.data, "stock", self.oline.sku))

    def terms(self) -> SupplierRecord | None:
        """The terms of the part's supplier; None without supplier or record."""
        if self.oline.supplier is None:
            return None
        return read_supplier(_record(self.data, "supplier", self.oline.supplier))

    def _std(self, name: str) -> object:
        if name == "delivery.days_late":
            late = self.days_late()
            return None if late is None else Fraction(late)
        if name.startswith("stock."):
            level = self.stock()
            if level is None:
                return None
            if name == "stock.on_hand":
                return Fraction(level.on_hand)
            return Fraction(level.on_hand - level.reserved)
        terms = self.terms()
        if terms is None:
            return None
        if name == "supplier.accepts_returns":
            return terms.accepts_returns
        if name == "supplier.restocking_fee_percent":
            return terms.restocking_fee_percent
        assert name == "supplier.days_left"
        if terms.window_days is None:
            return None
        since = self.days_since(self.request.delivered_at)
        return Fraction(terms.window_days - (since or 0))

    # checks

    def _std_check(self, name: str, node: Mapping[str, Any]) -> bool:
        req = self.request
        if name == "delivery_deadline":
            start = {
                "delivery": req.delivered_at,
                "shipment": req.shipped_at,
                "order": req.placed_at,
            }[node.get("from", "delivery")]
            elapsed = self.days_since(start)
            if elapsed is None:  # the window has not started: within
                return True
            window = node.get("per_tier", {}).get(req.tier, node["days"])
            return bool(elapsed <= window)
        if name == "late_delivery":
            late = self.days_late()
            return late is not None and late >= node.get("days", 1)
        if name == "stock_available":
            level = self.stock()
            wanted = node.get("qty", self.rline.qty)
            return level is not None and level.on_hand - level.reserved >= wanted
        assert name == "supplier_accepts"
        terms = self.terms()
        if terms is None or not terms.accepts_returns:
            return False
        if self.oline.category in terms.non_returnable_categories:
            return False
        since = self.days_since(req.delivered_at)
        return terms.window_days is None or since is None or since <= terms.window_days

    def check(self, node: Mapping[str, Any]) -> bool:
        name = node["check"]
        if name in STD_CHECKS:
            try:
                result = self._std_check(name, node)
            except BadRecord as exc:
                raise Fault(name, "check", str(exc)) from None
            self.std_checks.append((name, result))
            return result
        if name == "diff_gate":
            self.calls.append((f"diff_gate(min={node.get('min', 0)})", self.rline.line))
            gate = self.table().get("gate")
            if gate in (diff_facts.RAISE, diff_facts.BAD):
                raise Fault(name, "check", f"gate = {gate}")
            if gate is None:
                return False
            return bool(gate >= node.get("min", 0))
        if name == "diff_qty_over":
            self.calls.append((f"diff_qty_over(qty={node['qty']})", self.rline.line))
            return bool(self.rline.qty > node["qty"])
        raise AssertionError(f"the reference does not know check {name}")


# -- conditions ------------------------------------------------------------------------


def _literal(value: object, spec: FactSpec) -> object:
    """A literal as the author wrote it, in the reference's representation."""
    if spec.kind in ("int", "decimal", "money"):
        return _number(value)
    if spec.kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if spec.kind == "datetime" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op == "lt":
        return bool(left < right)
    if op == "le":
        return bool(left <= right)
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    if op == "in":
        return any(left == item for item in right)
    if op == "not_in":
        return all(left != item for item in right)
    raise AssertionError(f"unknown operator {op}")


def holds(node: Mapping[str, Any], line: _Line) -> bool:
    """Does condition *node* hold on *line*?  Raises Fault on an error."""
    # all() and any() over a generator stop at the first false / true item
    if "all" in node:
        return all(holds(item, line) for item in node["all"])
    if "any" in node:
        return any(holds(item, line) for item in node["any"])
    if "not" in node:
        return not holds(node["not"], line)
    if "check" in node:
        return line.check(node)
    name = node["fact"]
    (op,) = [key for key in node if key != "fact"]
    value = node[op]
    left = line.fact(name)
    if op == "present":
        return (left is not None) is value
    if left is None:
        return False
    if isinstance(value, Mapping):
        right = line.fact(value["fact"])
        if right is None:
            return False
    elif op in ("in", "not_in"):
        right = [_literal(item, FACTS[name]) for item in value]
    else:
        right = _literal(value, FACTS[name])
    return _compare(op, left, right)


# -- messages and actions --------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z0-9_.]+)\}")


def half_up(value: Fraction, digits: int) -> Fraction:
    """*value* rounded to *digits* decimals, a half away from zero (0.125 → 0.13)."""
    unit = Fraction(1, 10**digits)
    whole = math.floor(abs(value) / unit + Fraction(1, 2))
    return (whole if value >= 0 else -whole) * unit


def money_text(value: Fraction, currency: str) -> str:
    """An amount on the currency's minor unit as text with its code: ``"6.50 CNY"``."""
    digits = MINOR_UNITS[currency]
    scaled = value * 10**digits
    assert scaled.denominator == 1, f"{value} is not on the minor unit of {currency}"
    whole, cents = divmod(abs(scaled.numerator), 10**digits)
    sign = "-" if value < 0 else ""
    text = f"{sign}{whole}.{cents:0{digits}d}" if digits else f"{sign}{whole}"
    return f"{text} {currency}"


def _shown(name: str, value: object, currency: str) -> str:
    """A fact's value in a message (the kinds the generated messages use)."""
    kind = FACTS[name].kind
    if value is None:
        return "—"
    if kind == "bool":
        return "true" if value else "false"
    if kind == "money":
        assert isinstance(value, Fraction)
        return money_text(half_up(value, MINOR_UNITS[currency]), currency)
    if kind == "int":
        assert isinstance(value, Fraction)
        assert value.denominator == 1
        return str(value.numerator)
    assert kind == "str", f"the tests render no {kind} facts in messages"
    assert isinstance(value, str)
    return value


def render(text: str, line: _Line) -> str:
    """A message with ``{fact}`` placeholders; raises Fault if a fact fails."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        return _shown(name, line.fact(name), line.request.currency)

    return _PLACEHOLDER.sub(one, text)


def _params(entry: Mapping[str, Any]) -> dict[str, Any]:
    name = entry["action"]
    params = dict(_ACTION_DEFAULTS.get(name, {}))
    params.update((k, v) for k, v in entry.items() if k != "action")
    return params


def refund(params: Mapping[str, Any], line: _Line) -> dict[str, Any]:
    """DESIGN.md's refund of the line, exactly.

    With A = line.amount, every component rounded half-up to the minor unit:
    share = A × percent / 100; fee = max(A × fee_percent / 100, fee_min), at
    most the share; deducted = deduct, at most share − fee; shipping =
    shipping_fee × A / Σ (order qty × unit price) with ``include_shipping``;
    amount = share − fee − deducted + shipping, never below 0.
    """
    request = line.request
    currency = request.currency
    digits = MINOR_UNITS[currency]

    def rounded(value: Fraction) -> Fraction:
        return half_up(value, digits)

    amount = line.oline.unit_price * line.rline.qty
    share = rounded(amount * _number(params["percent"]) / 100)
    fee = rounded(amount * _number(params["fee_percent"]) / 100)
    fee = min(max(fee, rounded(_number(params["fee_min"]))), share)
    deducted = min(rounded(_number(params["deduct"])), share - fee)
    shipping = Fraction(0)
    goods = sum((ol.unit_price * ol.qty for ol in request.order_lines), Fraction(0))
    if params["include_shipping"] and request.shipping_fee is not None and goods:
        shipping = rounded(request.shipping_fee * amount / goods)
    total = max(share - fee - deducted + shipping, Fraction(0))
    return {
        "amount": money_text(total, currency),
        "fee": money_text(fee, currency),
        "currency": currency,
        "method": params["method"],
    }


def run_action(name: str, params: Mapping[str, Any], line: _Line) -> dict[str, Any]:
    """The test plugin's and the standard actions; raises Fault when one fails."""
    part = {"sku": line.oline.sku, "qty": line.rline.qty}
    if name == "diff_hold":
        if line.table().get("hold") == diff_facts.RAISE:
            raise Fault(name, "action", "hold = RAISE")
        return {"bin": params["bin"], "qty": line.rline.qty}
    if name == "diff_ship":
        return {"speed": params["speed"]}
    if name == "diff_tag":
        label = params["label"]
        return {"label": label.upper() if params["upper"] else label}
    if name == "refund":
        return refund(params, line)
    if name == "restock":
        return {**part, "location": params["location"], "inspect": params["inspect"]}
    if name == "return_to_supplier":
        if line.oline.supplier is None:
            raise Fault(name, "action", "the part has no supplier")
        return {"supplier": line.oline.supplier, **part}
    if name in ("exchange", "cancel_line", "scrap"):
        return part
    if name == "notify":
        message = params.get("message")
        text = "" if message is None else render(message, line)
        return {"to": params["to"], "message": text}
    raise AssertionError(f"the reference does not know action {name}")


# -- rules -----------------------------------------------------------------------------


def _for(rule: Mapping[str, Any]) -> Sequence[str]:
    if "for" in rule:
        value = rule["for"]
        return [value] if isinstance(value, str) else list(value)
    return [rule.get("decide") or "approve"]


def outcome(
    rules: Sequence[Mapping[str, Any]],
    matched: Sequence[Mapping[str, Any]],
    default: str,
    errored: bool,
) -> RefOutcome:
    """Semantics 2-4 for a line whose matched rules are *matched*."""
    decides = {rule.get("decide") for rule in matched}
    if errored:
        decision = "review"
    elif "reject" in decides:
        decision = "reject"
    elif "review" in decides:
        decision = "review"
    elif "approve" in decides:
        decision = "approve"
    else:
        decision = default
    deciders = [rule for rule in matched if rule.get("decide") == decision]

    applicable = [
        (rule, entry)
        for rule in matched
        if decision in _for(rule)
        for entry in _as_list(rule.get("then", []))
    ]
    # single kinds: the highest priority, then the earliest rule, wins
    winner: dict[str, Mapping[str, Any]] = {}
    for rule, entry in applicable:
        name = entry["action"]
        if name in SINGLE:
            best = winner.get(name)
            if best is None or rule.get("priority", 0) > best.get("priority", 0):
                winner[name] = rule
    steps: list[tuple[str, str]] = []
    planned: list[tuple[str, str, Mapping[str, Any]]] = []
    overridden: list[tuple[str, str, str]] = []
    seen: list[tuple[str, dict[str, Any]]] = []
    for rule, entry in applicable:
        name = entry["action"]
        params = _params(entry)
        if name in SINGLE:
            if winner[name] is not rule:
                overridden.append((name, rule["id"], winner[name]["id"]))
                continue
        elif (name, params) in seen:
            continue
        seen.append((name, params))
        steps.append((name, rule["id"]))
        planned.append((name, rule["id"], params))
    return RefOutcome(
        decision=decision,
        decided_by=tuple(r["id"] for r in deciders),
        steps=tuple(steps),
        overridden=tuple(overridden),
        planned=tuple(planned),
        templates=tuple((r["id"], r["message"]) for r in deciders if "message" in r),
    )


def _as_list(value: object) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    assert isinstance(value, list)
    return value


def _report(errors: list[RefError], error: RefError) -> None:
    if error not in errors:
        errors.append(error)


def _realize(
    plan: RefOutcome, line: _Line, errors: list[RefError]
) -> tuple[RefOutcome, tuple[RefAction, ...]]:
    """Run the plan's actions, then render its messages; failures go to *errors*."""
    results: list[RefAction] = []
    for name, rule, params in plan.planned:
        try:
            fields = run_action(name, params, line)
        except Fault:  # the action failed, or a fact its message names
            _report(errors, RefError(rule, name, "action"))
            continue
        if name in MULTIPLE and any(
            r.action == name and r.fields == fields for r in results
        ):
            continue
        results.append(RefAction(name, rule, fields))
    messages: list[str] = []
    for rule, text in plan.templates:
        try:
            messages.append(render(text, line))
        except Fault:
            messages.append(text)
            _report(errors, RefError(rule, "message", "message"))
    return attrs.evolve(plan, messages=tuple(messages)), tuple(results)


def evaluate_line(
    doc: Mapping[str, Any],
    request: Request,
    rline: ReturnLine,
    data: Mapping[str, Any],
) -> RefLine:
    (oline,) = [ol for ol in request.order_lines if ol.line == rline.line]
    line = _Line(request, rline, oline, data)
    rules: list[Mapping[str, Any]] = list(doc.get("rule", []))
    default = doc.get("policy", {}).get("default", "review")

    matched: list[Mapping[str, Any]] = []
    condition_errors: list[RefError] = []
    for rule in rules:
        if "when" not in rule:
            matched.append(rule)
            continue
        try:
            if holds(rule["when"], line):
                matched.append(rule)
        except Fault as fault:
            condition_errors.append(RefError(rule["id"], fault.what, fault.kind))
    calls = tuple(line.calls)  # messages name no test-plugin facts: no more calls

    plan = outcome(rules, matched, default, bool(condition_errors))
    errors = list(condition_errors)
    final, actions = _realize(plan, line, errors)
    if errors and plan.decision != "review":
        final, actions = _realize(outcome(rules, matched, default, True), line, errors)
    return RefLine(
        line=rline.line,
        matched=tuple(r["id"] for r in matched),
        condition_errors=tuple(condition_errors),
        calls=calls,
        plan=plan,
        final=final,
        actions=actions,
        errors=tuple(errors),
        std_checks=tuple(line.std_checks),
    )


def combine(decisions: Sequence[str]) -> str:
    """Semantics 5."""
    if all(d == "approve" for d in decisions):
        return "approve"
    if all(d == "reject" for d in decisions):
        return "reject"
    if any(d == "review" for d in decisions):
        return "review"
    return "partial"


def evaluate(
    doc: Mapping[str, Any],
    raw_request: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
) -> RefRequest:
    """Evaluate the request mapping against the policy document (``tomllib``'s)."""
    request = read_request(raw_request, doc["policy"]["currency"])
    lines = tuple(
        evaluate_line(doc, request, rline, data or {}) for rline in request.lines
    )
    return RefRequest(
        id=request.id,
        plan_decision=combine([line.plan.decision for line in lines]),
        decision=combine([line.final.decision for line in lines]),
        lines=lines,
    )
