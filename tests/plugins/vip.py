"""A test plugin loaded by module name (``[plugins] modules = ["tests.plugins.vip"]``).

It adds the fact ``vip.discount`` (int percent: 10 for vip customers, else 0)
and the check ``is_vip``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from returnrules import Check, Fact, FactType, LineContext, NoParams, hookimpl


def _is_vip(ctx: LineContext, params: NoParams) -> bool:
    return ctx.request.customer.tier == "vip"


@hookimpl
def returnrules_register_facts(register: Callable[[Fact], None]) -> None:
    register(
        Fact(
            "vip.discount",
            FactType("int"),
            lambda ctx: 10 if ctx.request.customer.tier == "vip" else 0,
        )
    )


@hookimpl
def returnrules_register_checks(register: Callable[[Check[Any]], None]) -> None:
    register(Check("is_vip", _is_vip))
