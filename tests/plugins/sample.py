"""A tiny plugin for the core's tests: a few checks, facts and actions.

It knows nothing of the auto-parts domain; it exists so that the core's tests
do not depend on the standard plugin pack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import attrs

from returnrules import (
    Action,
    Check,
    Fact,
    FactType,
    LineContext,
    Money,
    Template,
    hookimpl,
)

CALLS: dict[str, int] = {}
"""How often each fact resolver and check ran (tests reset it)."""


def _count(name: str) -> None:
    CALLS[name] = CALLS.get(name, 0) + 1


@attrs.frozen
class FlagParams:
    value: bool = True


@attrs.frozen
class NoteParams:
    to: str
    message: Template | None = None


@attrs.frozen
class PayParams:
    percent: int = 100
    minimum: Money | None = None


def _level(ctx: LineContext) -> int | None:
    _count("sample.level")
    level = ctx.data.get("level")
    return level if isinstance(level, int) else None


def _boom(ctx: LineContext) -> int:
    _count("sample.boom")
    raise RuntimeError("the sample fact exploded")


def _flag(ctx: LineContext, params: FlagParams) -> bool:
    _count("flag")
    return params.value


def _explode(ctx: LineContext, params: object) -> bool:
    _count("explode")
    raise RuntimeError("the sample check exploded")


def _pay(ctx: LineContext, params: PayParams) -> Mapping[str, Any]:
    amount = ctx.order_line.unit_price * ctx.line.qty
    return {"amount": (amount * params.percent / 100).rounded()}


def _sloppy(ctx: LineContext, params: object) -> bool:
    return cast(bool, "yes")  # a buggy plugin: not a bool


def _note(ctx: LineContext, params: NoteParams) -> Mapping[str, Any]:
    message = params.message.render(ctx) if params.message else ""
    return {"to": params.to, "message": message}


def _crash(ctx: LineContext, params: object) -> Mapping[str, Any]:
    raise RuntimeError("the sample action crashed")


@hookimpl
def returnrules_register_facts(register: Callable[[Fact], None]) -> None:
    register(Fact("sample.level", FactType("int", optional=True), _level))
    register(Fact("sample.boom", FactType("int"), _boom))
    register(Fact("sample.wrong", FactType("int"), lambda ctx: "not an int"))


@hookimpl
def returnrules_register_checks(register: Callable[[Check[Any]], None]) -> None:
    register(Check("flag", _flag, FlagParams, explain=lambda c, p: f"flag={p.value}"))
    register(Check("explode", _explode))
    register(Check("sloppy", _sloppy))


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(Action("pay", _pay, PayParams))
    register(Action("hold", lambda ctx, params: {"sku": ctx.order_line.sku}))
    register(Action("note", _note, NoteParams, multiple=True))
    register(Action("crash", _crash))
