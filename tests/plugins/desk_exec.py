"""Executors for the desk's CLI tests: the sample plugin's actions carried out.

* ``pay`` keeps a row in the ``payments`` ledger table (amount in minor units);
* ``note`` keeps nothing: the message is "sent";
* ``wire`` (an action of this plugin) fails while ``BANK["open"]`` is False,
  with ``BANK["error"]`` as its message: the failure ``resume --retry-failed``
  runs again.

``RUNS`` counts each executor run by idempotency key (the tests reset it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from returnrules import (
    Action,
    Execution,
    Executor,
    LedgerTable,
    LineContext,
    hookimpl,
)

RUNS: dict[str, int] = {}
BANK: dict[str, Any] = {"open": True, "error": "the bank is closed"}


def _ran(execution: Execution) -> None:
    RUNS[execution.key] = RUNS.get(execution.key, 0) + 1


def _pay(execution: Execution) -> Mapping[str, Any]:
    _ran(execution)
    amount = str(execution.fields["amount"])
    execution.record("payments", amount=amount)
    return {"paid": amount}


def _note(execution: Execution) -> None:
    _ran(execution)


def _wire(execution: Execution) -> Mapping[str, Any]:
    _ran(execution)
    if not BANK["open"]:
        raise ConnectionError(BANK["error"])
    return {"wired": execution.fields["amount"]}


def _wire_action(ctx: LineContext, params: object) -> Mapping[str, Any]:
    return {"amount": ctx.order_line.unit_price * ctx.line.qty}


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(Action("wire", _wire_action, doc="wire the amount to the customer"))


@hookimpl
def returnrules_register_executors(register: Callable[[Executor], None]) -> None:
    register(Executor("pay", _pay))
    register(Executor("note", _note))
    register(Executor("wire", _wire, timeout=5))


@hookimpl
def returnrules_register_ledger_tables(register: Callable[[LedgerTable], None]) -> None:
    register(LedgerTable("payments", {"amount": "text"}))
