"""A test plugin for the desk: an action whose executor counts its runs.

``{ action = "probe", mode = "ok" }`` reports the line's ``sku``, ``qty`` and
its ``mode``; the executor

* appends the action's key to the file named by ``RETURNRULES_PROBE_LOG``
  (when set) on every run, before anything else: the real number of runs,
  crashes included, one ``write`` of one line each (atomic with O_APPEND);
* records a row in its own ledger table ``probe_effects`` (keyed, so kept
  once) with the attempt that made it;
* in mode ``raise-once`` raises on the first attempt, in ``hang-once`` hangs
  past its timeout on the first attempt (``RETURNRULES_PROBE_TIMEOUT``
  seconds, 1.5 by default), and in ``raise`` always raises.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from returnrules import (
    Action,
    Execution,
    Executor,
    LedgerTable,
    LineContext,
    hookimpl,
)

LOG = "RETURNRULES_PROBE_LOG"
TIMEOUT = "RETURNRULES_PROBE_TIMEOUT"
NEVER = threading.Event()
"""What a hanging run waits for (set by nobody; the wait has a limit)."""


@attrs.frozen
class ProbeParams:
    mode: Literal["ok", "raise-once", "hang-once", "raise"] = "ok"


def _probe(ctx: LineContext, params: ProbeParams) -> Mapping[str, Any]:
    return {"sku": ctx.order_line.sku, "qty": ctx.line.qty, "mode": params.mode}


def _timeout() -> float:
    return float(os.environ.get(TIMEOUT, "1.5"))


def _execute(execution: Execution) -> Mapping[str, Any]:
    log = os.environ.get(LOG)
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{execution.key}\n".encode())
        finally:
            os.close(fd)
    mode = execution.fields["mode"]
    if mode == "raise" or (mode == "raise-once" and execution.attempt == 1):
        raise RuntimeError(f"probe failed on attempt {execution.attempt}")
    if mode == "hang-once" and execution.attempt == 1:
        NEVER.wait(_timeout() + 3)
    execution.record(
        "probe_effects", sku=execution.fields["sku"], attempt=execution.attempt
    )
    return {"attempt": execution.attempt}


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(Action("probe", _probe, ProbeParams, doc="reports sku, qty, mode"))


@hookimpl
def returnrules_register_executors(register: Callable[[Executor], None]) -> None:
    register(Executor("probe", _execute, timeout=_timeout(), doc="counts its runs"))


@hookimpl
def returnrules_register_ledger_tables(register: Callable[[LedgerTable], None]) -> None:
    register(
        LedgerTable(
            "probe_effects",
            {"sku": "text", "attempt": "integer"},
            doc="one row per probe action executed",
        )
    )
