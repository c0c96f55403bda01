"""A test plugin with typed facts of every kind and richly typed parameters.

Every fact is optional and reads ``ctx.data`` (so a test chooses its value per
evaluation): ``typed.ratio`` (decimal), ``typed.day`` (date), ``typed.at``
(datetime), ``typed.label`` (str), ``typed.tier`` (enum over the core's tier
vocabulary), ``typed.colour`` (enum over the plugin's own ``colour``
vocabulary, data key ``c``), ``typed.deposit`` (money).  The check ``window``
and the action ``settle`` have ``Literal``, ``VocabCode``, ``Money``,
``Decimal`` and ``Template`` parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

import attrs

from returnrules import (
    Action,
    Check,
    Fact,
    FactType,
    LineContext,
    Money,
    Template,
    VocabCode,
    Vocabulary,
    hookimpl,
)


@attrs.frozen
class WindowParams:
    days: int
    per_tier: dict[Annotated[str, VocabCode("tier")], int] = attrs.field(factory=dict)
    from_: Literal["delivery", "shipment", "order"] = "delivery"


@attrs.frozen
class SettleParams:
    method: Literal["original", "store_credit"] = "original"
    fee: Money | None = None
    rate: Decimal = Decimal(0)
    memo: Template | None = None


def _data(name: str) -> Callable[[LineContext], Any]:
    return lambda ctx: ctx.data.get(name)


def _window(ctx: LineContext, params: WindowParams) -> bool:
    days = params.per_tier.get(ctx.request.customer.tier, params.days)
    return ctx.line.qty <= days


def _settle(ctx: LineContext, params: SettleParams) -> Mapping[str, Any]:
    return {
        "method": params.method,
        "fee": params.fee,
        "memo": params.memo.render(ctx) if params.memo else "",
    }


@hookimpl
def returnrules_register_vocabularies(register: Callable[[Vocabulary], None]) -> None:
    register(Vocabulary("colour", {"red": "红", "blue": "蓝"}))


@hookimpl
def returnrules_register_facts(register: Callable[[Fact], None]) -> None:
    register(Fact("typed.ratio", FactType("decimal", optional=True), _data("ratio")))
    register(Fact("typed.day", FactType("date", optional=True), _data("day")))
    register(Fact("typed.at", FactType("datetime", optional=True), _data("at")))
    register(Fact("typed.label", FactType("str", optional=True), _data("label")))
    register(Fact("typed.tier", FactType.enum("tier", optional=True), _data("tier")))
    register(Fact("typed.colour", FactType.enum("colour", optional=True), _data("c")))
    register(Fact("typed.deposit", FactType("money", optional=True), _data("deposit")))


@hookimpl
def returnrules_register_checks(register: Callable[[Check[Any]], None]) -> None:
    register(Check("window", _window, WindowParams))


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(Action("settle", _settle, SettleParams))
