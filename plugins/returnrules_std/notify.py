"""Notifications: tell the customer and the departments what follows.

``{ action = "notify", to = "warehouse", message = "{part.sku} × {line.qty}" }``;
placeholders name facts and are checked when the policy loads.  Several
notifications on a line are all kept; identical ones are sent once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from returnrules import Action, Execution, Executor, LineContext, Template, hookimpl

Recipient = Literal[
    "customer",
    "warehouse",
    "purchasing",
    "finance",
    "customer_service",
    "production",
    "logistics",
    "supplier",
]


@attrs.frozen
class NotifyParams:
    to: Recipient
    message: Template | None = None


def _notify(ctx: LineContext, params: NotifyParams) -> Mapping[str, Any]:
    message = "" if params.message is None else params.message.render(ctx)
    return {"to": params.to, "message": message}


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(
        Action(
            "notify",
            _notify,
            NotifyParams,
            multiple=True,
            doc="tell `to` (customer, warehouse, purchasing, finance, "
            "customer_service, production, logistics, supplier) `message`; "
            "reports to, message",
        )
    )


def _execute_notify(execution: Execution) -> None:
    execution.record(
        "notifications",
        recipient=execution.fields["to"],
        message=execution.fields["message"],
    )


@hookimpl
def returnrules_register_executors(register: Callable[[Executor], None]) -> None:
    register(
        Executor(
            "notify",
            _execute_notify,
            doc="a message in the outbox of its recipient (a department, the "
            "customer, the supplier)",
        )
    )
