"""The core's built-in plugin: the default vocabularies and the request facts.

These are registered through the same hooks as any plugin's; the core has no
other way to know a fact.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from operator import attrgetter
from typing import Any

from returnrules.hookspecs import hookimpl
from returnrules.model.money import CONTEXT, Money
from returnrules.model.vocab import DEFAULT_VOCABULARIES, Vocabulary
from returnrules.plugin.api import Fact, FactType, LineContext

ZERO = Decimal(0)
INT = FactType("int")
MONEY = FactType("money")
BOOL = FactType("bool")
STR = FactType("str")


def _line_amount(ctx: LineContext) -> Money:
    price = ctx.order_line.unit_price
    return Money._trusted(CONTEXT.multiply(price.amount, ctx.line.qty), price.currency)


def _core_charge(ctx: LineContext) -> Money:
    charge = ctx.order_line.core_charge
    return Money.zero(ctx.request.currency) if charge is None else charge


# (name, type, resolver or attribute path on the LineContext, doc)
_FACTS: tuple[tuple[str, FactType, Callable[[LineContext], Any] | str, str], ...] = (
    (
        "request.kind",
        FactType.enum("kind"),
        "request.kind",
        "cancel while the order has not shipped, else return",
    ),
    (
        "request.days_since_order",
        INT,
        "request.days_since_order",
        "calendar days from placed_at to requested_at",
    ),
    (
        "request.days_since_delivery",
        INT.as_optional(),
        "request.days_since_delivery",
        "calendar days from delivered_at to requested_at; absent before delivery",
    ),
    (
        "request.amount",
        MONEY,
        "request.amount",
        "Σ qty × unit price over the request's lines",
    ),
    (
        "request.return_shipping",
        MONEY.as_optional(),
        "request.return_shipping",
        "what the customer paid to ship the parts back; absent unless the "
        "request gives return_shipping",
    ),
    ("order.status", FactType.enum("status"), "request.order.status", ""),
    ("order.channel", FactType.enum("channel"), "request.order.channel", ""),
    ("customer.id", STR, "request.customer.id", ""),
    ("customer.tier", FactType.enum("tier"), "request.customer.tier", ""),
    ("line.qty", INT, "line.qty", "the quantity to return or cancel"),
    (
        "line.returnable_qty",
        INT,
        lambda c: c.request.returnable(c.order_line),
        "shipped − already returned (the request's returned_qty, and what the "
        "desk's ledger recorded); ordered − shipped for a cancellation",
    ),
    ("line.reason", FactType.enum("reason"), "line.reason", ""),
    ("line.condition", FactType.enum("condition"), "line.condition", ""),
    ("line.packaging", FactType.enum("packaging"), "line.packaging", ""),
    ("line.unit_price", MONEY, "order_line.unit_price", ""),
    (
        "line.amount",
        MONEY,
        _line_amount,
        "line.qty × line.unit_price",
    ),
    ("part.sku", STR, "order_line.sku", ""),
    ("part.brand", STR, "order_line.brand", ""),
    ("part.category", FactType.enum("category"), "order_line.category", ""),
    (
        "part.special_order",
        BOOL,
        "order_line.special_order",
        "ordered specially from the supplier for this customer",
    ),
    (
        "part.no_return",
        BOOL,
        "order_line.no_return",
        "the catalogue marks the part non-returnable",
    ),
    ("part.kit", BOOL, "order_line.kit", "sold as a set or kit"),
    ("part.core_charge", MONEY, _core_charge, "deposit on the old part (0 if none)"),
    ("part.supplier", STR.as_optional(), "order_line.supplier", ""),
    (
        "part.warranty_days",
        INT.as_optional(),
        "order_line.warranty_days",
        "the part's warranty term in days from delivery; absent if the order "
        "line gives none",
    ),
    (
        "part.obsolete",
        BOOL,
        "order_line.obsolete",
        "the part is obsolete: no longer made or sold (false unless given)",
    ),
)


@hookimpl
def returnrules_register_vocabularies(register: Callable[[Vocabulary], None]) -> None:
    for vocabulary in DEFAULT_VOCABULARIES:
        register(vocabulary)


@hookimpl
def returnrules_register_facts(register: Callable[[Fact], None]) -> None:
    for name, type_, resolve, doc in _FACTS:
        if isinstance(resolve, str):
            register(Fact(name, type_, attrgetter(resolve), doc, attribute=resolve))
        else:
            register(Fact(name, type_, resolve, doc))
