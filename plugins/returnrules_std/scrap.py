"""Scrapping: the returned part is written off (damaged, unsellable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from returnrules import Action, Execution, Executor, hookimpl
from returnrules_std._lines import part_and_qty


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(
        Action(
            "scrap",
            lambda ctx, params: part_and_qty(ctx),
            doc="write the returned part off; reports sku, qty",
        )
    )


def _execute_scrap(execution: Execution) -> None:
    fields = execution.fields
    execution.record(
        "stock_movements", sku=fields["sku"], qty=fields["qty"], movement="scrap"
    )


@hookimpl
def returnrules_register_executors(register: Callable[[Executor], None]) -> None:
    register(Executor("scrap", _execute_scrap, doc="a stock movement: scrap"))
