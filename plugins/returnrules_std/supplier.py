"""Suppliers: will the supplier take the part back, inside its window?

Supplier terms come from the ``returnrules_supplier_terms`` hook; the default
implementation reads the ``[supplier.ID]`` tables of the data mapping::

    [supplier.SUP-BOSCH]
    accepts_returns = true
    window_days = 90
    restocking_fee_percent = 10
    non_returnable_categories = ["electrical"]

A part without a supplier, or a supplier without a record, has no
``supplier.*`` facts and ``supplier_accepts`` is false.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Annotated, Any

import attrs
import pluggy

from returnrules import (
    Action,
    Bounds,
    Check,
    Execution,
    Executor,
    Fact,
    FactType,
    LineContext,
    RequestProblem,
    VocabCode,
    Vocabulary,
    hookimpl,
    validate_as,
)
from returnrules.hookspecs import PROJECT
from returnrules_std._lines import check_records, days, part_and_qty, provided

hookspec = pluggy.HookspecMarker(PROJECT)


Window = Annotated[int, Bounds(ge=0)] | None
Percent = Annotated[Decimal, Bounds(ge=0, le=100)]
Categories = tuple[Annotated[str, VocabCode("category")], ...]


@attrs.frozen
class SupplierTerms:
    """A supplier's return terms; checked when made, whoever makes them."""

    accepts_returns: bool = attrs.field(default=True, validator=validate_as(bool))
    window_days: Window = attrs.field(default=None, validator=validate_as(Window))
    restocking_fee_percent: Percent = attrs.field(
        default=Decimal(0), validator=validate_as(Percent)
    )
    non_returnable_categories: Categories = attrs.field(
        default=(), validator=validate_as(Categories)
    )


class SupplierSpecs:
    """The supplier plugin's data-provider hook, for host systems to implement."""

    @hookspec(firstresult=True)
    def returnrules_supplier_terms(
        self, supplier: str, context: LineContext
    ) -> SupplierTerms | None:
        """The return terms of *supplier*, or None if there is no record.

        Called at most once per line, only when a rule needs a supplier fact or
        check.  Stops at the first non-None result; the built-in implementation
        (``trylast``) reads ``data["supplier"][supplier]``.
        """


@hookimpl
def returnrules_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    pluginmanager.add_hookspecs(SupplierSpecs)


@hookimpl(trylast=True)
def returnrules_supplier_terms(
    supplier: str, context: LineContext
) -> SupplierTerms | None:
    return context.data.record("supplier", supplier, SupplierTerms)


@hookimpl
def returnrules_check_data(
    data: Mapping[str, Any], vocabularies: Mapping[str, Vocabulary]
) -> Iterable[RequestProblem]:
    return check_records(data, "supplier", SupplierTerms, vocabularies, "suppliers")


def supplier_terms(ctx: LineContext) -> SupplierTerms | None:
    """The terms of the line's supplier, asked of the hook once per line."""
    supplier = ctx.order_line.supplier
    if supplier is None:
        return None
    return provided(ctx, "returnrules_supplier_terms", SupplierTerms, supplier=supplier)


def days_left(ctx: LineContext) -> int | None:
    """Days left in the supplier's window (the whole window before delivery)."""
    return _days_left(ctx, supplier_terms(ctx))


def _days_left(ctx: LineContext, terms: SupplierTerms | None) -> int | None:
    if terms is None or terms.window_days is None:
        return None
    return terms.window_days - (ctx.request.days_since_delivery or 0)


def _refusal(ctx: LineContext) -> str | None:
    """Why the supplier will not take the part back, or None if it will."""
    supplier = ctx.order_line.supplier
    if supplier is None:
        return "the part has no supplier"
    terms = supplier_terms(ctx)
    if terms is None:
        return f"no terms on record for supplier {supplier}"
    if not terms.accepts_returns:
        return f"{supplier} accepts no returns"
    category = ctx.order_line.category
    if category in terms.non_returnable_categories:
        return f"{supplier} takes no returns of {category} parts"
    left = _days_left(ctx, terms)
    if left is not None and left < 0:
        window = days(terms.window_days or 0)
        return f"{supplier}'s window of {window} ended {days(-left)} ago"
    return None


def supplier_accepts(ctx: LineContext, params: object) -> bool:
    return _refusal(ctx) is None


def explain_accepts(ctx: LineContext, params: object) -> str:
    refusal = _refusal(ctx)
    if refusal is not None:
        return refusal
    left = days_left(ctx)
    window = "no window" if left is None else f"{days(left)} left in its window"
    return f"{ctx.order_line.supplier} takes it back ({window})"


def _return_to_supplier(ctx: LineContext, params: object) -> Mapping[str, Any]:
    supplier = ctx.order_line.supplier
    if supplier is None:
        raise ValueError(f"part {ctx.order_line.sku} has no supplier to return it to")
    return {"supplier": supplier, **part_and_qty(ctx)}


def _accepts_returns(ctx: LineContext) -> bool | None:
    terms = supplier_terms(ctx)
    return None if terms is None else terms.accepts_returns


def _fee_percent(ctx: LineContext) -> Decimal | None:
    terms = supplier_terms(ctx)
    return None if terms is None else terms.restocking_fee_percent


@hookimpl
def returnrules_register_facts(register: Callable[[Fact], None]) -> None:
    register(
        Fact(
            "supplier.accepts_returns",
            FactType("bool", optional=True),
            _accepts_returns,
            "the supplier accepts returns at all",
        )
    )
    register(
        Fact(
            "supplier.days_left",
            FactType("int", optional=True),
            days_left,
            "window_days − days since delivery (negative once past)",
        )
    )
    register(
        Fact(
            "supplier.restocking_fee_percent",
            FactType("decimal", optional=True),
            _fee_percent,
            "the supplier's restocking fee in percent",
        )
    )


@hookimpl
def returnrules_register_checks(register: Callable[[Check[Any]], None]) -> None:
    register(
        Check(
            "supplier_accepts",
            supplier_accepts,
            explain=explain_accepts,
            doc="the part's supplier takes it back: accepts returns, category not "
            "excluded, within its window_days of delivery",
        )
    )


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(
        Action(
            "return_to_supplier",
            _return_to_supplier,
            doc="send the part back to its supplier; reports supplier, sku, qty",
        )
    )


def _execute_return(execution: Execution) -> None:
    fields = execution.fields
    execution.record(
        "supplier_returns",
        supplier=fields["supplier"],
        sku=fields["sku"],
        qty=fields["qty"],
    )


@hookimpl
def returnrules_register_executors(register: Callable[[Executor], None]) -> None:
    register(
        Executor(
            "return_to_supplier",
            _execute_return,
            doc="a line of the supplier's return list (RTV)",
        )
    )
