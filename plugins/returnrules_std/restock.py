"""Restocking: put the returned part back on a shelf, or inspect it first."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from returnrules import Action, Execution, Executor, LineContext, hookimpl
from returnrules_std._lines import part_and_qty


@attrs.frozen
class RestockParams:
    """``{ action = "restock", location = "main", inspect = true }``."""

    location: str = "main"
    inspect: bool = False


def _restock(ctx: LineContext, params: RestockParams) -> Mapping[str, Any]:
    return {**part_and_qty(ctx), "location": params.location, "inspect": params.inspect}


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(
        Action(
            "restock",
            _restock,
            RestockParams,
            doc="put the part back in stock at `location`, after inspection if "
            "`inspect`; reports sku, qty, location, inspect",
        )
    )


def _execute_restock(execution: Execution) -> None:
    fields = execution.fields
    execution.record(
        "stock_movements",
        sku=fields["sku"],
        qty=fields["qty"],
        movement="inspect" if fields["inspect"] else "restock",
        location=fields["location"],
    )


@hookimpl
def returnrules_register_executors(register: Callable[[Executor], None]) -> None:
    register(
        Executor(
            "restock",
            _execute_restock,
            doc="a stock movement: restock at the location, or inspect first",
        )
    )
