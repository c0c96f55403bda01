"""Stock: is there replacement stock, and what happens to reservations.

Stock levels come from the ``returnrules_stock_level`` hook, so a host system
answers from its own inventory; the default implementation reads the
``[stock."SKU"]`` tables of the data mapping (``--data``)::

    [stock."BOSCH-0986494"]
    on_hand = 12
    reserved = 3

A part with no stock record has no ``stock.*`` facts (comparisons with them
are false) and ``stock_available`` is false.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
    Vocabulary,
    hookimpl,
    validate_as,
)
from returnrules.hookspecs import PROJECT
from returnrules_std._lines import check_records, part_and_qty, provided

hookspec = pluggy.HookspecMarker(PROJECT)


Units = Annotated[int, Bounds(ge=0)]


@attrs.frozen
class StockLevel:
    """A part's stock: what is on hand and how much of it is already reserved.

    Checked when made, so a host's provider cannot hand over a negative count.
    """

    on_hand: Units = attrs.field(validator=validate_as(Units))
    reserved: Units = attrs.field(default=0, validator=validate_as(Units))

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockSpecs:
    """The stock plugin's data-provider hook, for host systems to implement."""

    @hookspec(firstresult=True)
    def returnrules_stock_level(
        self, sku: str, context: LineContext
    ) -> StockLevel | None:
        """The stock of *sku*, or None if there is no record.

        Called at most once per line, only when a rule needs a stock fact or
        check.  Stops at the first non-None result; the built-in implementation
        (``trylast``) reads ``data["stock"][sku]``.
        """


@hookimpl
def returnrules_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    pluginmanager.add_hookspecs(StockSpecs)


@hookimpl(trylast=True)
def returnrules_stock_level(sku: str, context: LineContext) -> StockLevel | None:
    return context.data.record("stock", sku, StockLevel)


@hookimpl
def returnrules_check_data(
    data: Mapping[str, Any], vocabularies: Mapping[str, Vocabulary]
) -> Iterable[RequestProblem]:
    return check_records(data, "stock", StockLevel, vocabularies, "SKUs")


def stock_level(ctx: LineContext) -> StockLevel | None:
    """The line's stock record, asked of the hook once per line."""
    return provided(ctx, "returnrules_stock_level", StockLevel, sku=ctx.order_line.sku)


@attrs.frozen
class AvailableParams:
    """``{ check = "stock_available", qty = 2 }``; qty defaults to the line's."""

    qty: Annotated[int, Bounds(ge=1)] | None = None


def _needed(ctx: LineContext, params: AvailableParams) -> int:
    return ctx.line.qty if params.qty is None else params.qty


def stock_available(ctx: LineContext, params: AvailableParams) -> bool:
    level = stock_level(ctx)
    return level is not None and level.available >= _needed(ctx, params)


def explain_available(ctx: LineContext, params: AvailableParams) -> str:
    level = stock_level(ctx)
    sku = ctx.order_line.sku
    if level is None:
        return f"no stock record for {sku}: not enough"
    return (
        f"{sku}: {level.on_hand} on hand − {level.reserved} reserved = "
        f"{level.available} available, {_needed(ctx, params)} needed"
    )


def _on_hand(ctx: LineContext) -> int | None:
    level = stock_level(ctx)
    return None if level is None else level.on_hand


def _available(ctx: LineContext) -> int | None:
    level = stock_level(ctx)
    return None if level is None else level.available


@hookimpl
def returnrules_register_facts(register: Callable[[Fact], None]) -> None:
    optional_int = FactType("int", optional=True)
    register(Fact("stock.on_hand", optional_int, _on_hand, "units on hand"))
    register(Fact("stock.available", optional_int, _available, "on hand − reserved"))


@hookimpl
def returnrules_register_checks(register: Callable[[Check[Any]], None]) -> None:
    register(
        Check(
            "stock_available",
            stock_available,
            AvailableParams,
            explain_available,
            "enough available stock (on hand − reserved) for an exchange",
        )
    )


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(
        Action(
            "exchange",
            lambda ctx, params: part_and_qty(ctx),
            doc="reserve replacement stock; reports sku, qty",
        )
    )
    register(
        Action(
            "cancel_line",
            lambda ctx, params: part_and_qty(ctx),
            doc="release the reservation of the unshipped qty; reports sku, qty",
        )
    )


def _execute_exchange(execution: Execution) -> None:
    fields = execution.fields
    execution.record("exchanges", sku=fields["sku"], qty=fields["qty"])


def _execute_cancel(execution: Execution) -> None:
    fields = execution.fields
    execution.record(
        "stock_movements", sku=fields["sku"], qty=fields["qty"], movement="release"
    )


@hookimpl
def returnrules_register_executors(register: Callable[[Executor], None]) -> None:
    register(Executor("exchange", _execute_exchange, doc="a replacement to pick"))
    register(
        Executor(
            "cancel_line",
            _execute_cancel,
            doc="a stock movement: release the reservation",
        )
    )
