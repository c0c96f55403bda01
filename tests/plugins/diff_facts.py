"""The test plugin of the differential tests (``tests/test_differential.py``).

Every fact, check and action here reads the per-line table
``data["diff"][str(line)]`` of the data mapping, so a generated test chooses
its values, and its faults, line by line.  The behaviour below is the
specification that ``tests/reference.py`` implements independently.

Facts (``KEY`` is the key of the per-line table):

========== ===================== ======== ===========================================
fact        type                 KEY      when the key is missing
========== ===================== ======== ===========================================
diff.score  int, optional        score    absent (None)
diff.ratio  decimal, optional    ratio    absent
diff.flag   bool, optional       flag     absent
diff.due    date, optional       due      absent
diff.seen   datetime, optional   seen     absent
diff.tier   enum[tier], optional tier     absent
diff.credit money, optional      credit   absent (a Decimal in the data becomes
                                          Money in the request's currency)
diff.code   str, optional        code     absent
diff.level  int (always present) level    0
========== ===================== ======== ===========================================

Faults: the value :data:`RAISE` makes the resolver raise ``RuntimeError``;
:data:`WRONG` makes it return a value of the wrong type (per fact, see
``_WRONG``), and :data:`NONE` makes it return ``None`` (wrong for the
non-optional ``diff.level``, merely absent for the others).
:data:`NONSENSE` (for ``diff.due``, ``diff.ratio`` and ``diff.seen`` only) returns
a value that passes an ``isinstance`` test but is outside the fact's type: a
datetime for the date, ``Decimal("NaN")`` for the decimal, a naive datetime.

Checks:

* ``diff_gate`` (``min: int = 0``): the table's ``gate`` is ≥ ``min``; false
  when there is no ``gate``; ``gate = RAISE`` raises, ``gate = BAD`` returns a
  non-boolean.
* ``diff_qty_over`` (``qty: int``): the line's qty is greater than ``qty``.

Actions:

* ``diff_hold`` (single; ``bin: str = "main"``) reports ``bin`` and ``qty``;
  raises when the table has ``hold = RAISE``.
* ``diff_ship`` (single; ``speed: "slow" | "fast" = "slow"``) reports ``speed``.
* ``diff_tag`` (multiple; ``label: str``, ``upper: bool = false``) reports
  ``label`` (upper-cased when ``upper``): ``{label = "a", upper = true}`` and
  ``{label = "A"}`` differ as parameters but render the same fields.

:data:`CALLS` logs every fact resolution as ``(name, line)`` and every check
call as ``("name(param=value)", line)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from returnrules import (
    Action,
    Check,
    Fact,
    FactType,
    LineContext,
    Money,
    hookimpl,
)

RAISE: Final = "!raise"
WRONG: Final = "!wrong"
NONE: Final = "!none"
BAD: Final = "!bad"
NONSENSE: Final = "!nonsense"

CALLS: list[tuple[str, int]] = []
"""Every fact resolution and check call, in order, with the line number."""

# name -> (type, data key)
FACTS: Final[Mapping[str, tuple[FactType, str]]] = {
    "diff.score": (FactType("int", optional=True), "score"),
    "diff.ratio": (FactType("decimal", optional=True), "ratio"),
    "diff.flag": (FactType("bool", optional=True), "flag"),
    "diff.due": (FactType("date", optional=True), "due"),
    "diff.seen": (FactType("datetime", optional=True), "seen"),
    "diff.tier": (FactType.enum("tier", optional=True), "tier"),
    "diff.credit": (FactType("money", optional=True), "credit"),
    "diff.code": (FactType("str", optional=True), "code"),
    "diff.level": (FactType("int"), "level"),
}

# What WRONG resolves to, per fact: each is of the wrong type for its fact
# (True is not an int, a float is not a decimal, 1 is not a bool, a code
# outside the vocabulary is not a tier, a Decimal is not money...).
_WRONG: Final[Mapping[str, object]] = {
    "diff.score": True,
    "diff.ratio": 0.5,
    "diff.flag": 1,
    "diff.due": "2026-11-20",
    "diff.seen": dt.date(2026, 11, 20),
    "diff.tier": "gold",
    "diff.credit": Decimal("1.00"),
    "diff.code": 42,
    "diff.level": "3",
}


# What NONSENSE resolves to: a value that passes an ``isinstance`` test for the
# fact's Python type but is outside the fact's type all the same (a datetime is
# not a date, NaN is not a number, a naive datetime has no UTC offset).
NONSENSE_VALUES: Final[Mapping[str, object]] = {
    "diff.due": dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC),
    "diff.ratio": Decimal("NaN"),
    "diff.seen": dt.datetime(2026, 11, 20, 10, 0),
}


def entry(ctx: LineContext) -> Mapping[str, Any]:
    """This line's table of the data mapping (empty when there is none)."""
    tables = ctx.data.get("diff")
    if not isinstance(tables, Mapping):
        return {}
    table = tables.get(str(ctx.line.line))
    return table if isinstance(table, Mapping) else {}


def _resolver(name: str, key: str, optional: bool) -> Callable[[LineContext], Any]:
    def resolve(ctx: LineContext) -> Any:
        CALLS.append((name, ctx.line.line))
        raw = entry(ctx).get(key)
        if raw == RAISE:
            raise RuntimeError(f"{name} exploded")
        if raw == WRONG:
            return _WRONG[name]
        if raw == NONE:
            return None
        if raw == NONSENSE:
            return NONSENSE_VALUES[name]
        if raw is None:
            return None if optional else 0
        if name == "diff.credit":
            return Money(raw, ctx.request.currency)
        return raw

    return resolve


@attrs.frozen
class GateParams:
    min: int = 0


@attrs.frozen
class QtyParams:
    qty: int


@attrs.frozen
class HoldParams:
    bin: str = "main"


@attrs.frozen
class ShipParams:
    speed: Literal["slow", "fast"] = "slow"


@attrs.frozen
class TagParams:
    label: str
    upper: bool = False


def _gate(ctx: LineContext, params: GateParams) -> bool:
    CALLS.append((f"diff_gate(min={params.min})", ctx.line.line))
    gate = entry(ctx).get("gate")
    if gate == RAISE:
        raise RuntimeError("diff_gate exploded")
    if gate == BAD:
        return "yes"  # type: ignore[return-value]  # a buggy check, on purpose
    if gate is None:
        return False
    return bool(gate >= params.min)


def _qty_over(ctx: LineContext, params: QtyParams) -> bool:
    CALLS.append((f"diff_qty_over(qty={params.qty})", ctx.line.line))
    return ctx.line.qty > params.qty


def _hold(ctx: LineContext, params: HoldParams) -> Mapping[str, Any]:
    if entry(ctx).get("hold") == RAISE:
        raise RuntimeError("diff_hold exploded")
    return {"bin": params.bin, "qty": ctx.line.qty}


def _ship(ctx: LineContext, params: ShipParams) -> Mapping[str, Any]:
    return {"speed": params.speed}


def _tag(ctx: LineContext, params: TagParams) -> Mapping[str, Any]:
    return {"label": params.label.upper() if params.upper else params.label}


@hookimpl
def returnrules_register_facts(register: Callable[[Fact], None]) -> None:
    for name, (ftype, key) in FACTS.items():
        register(Fact(name, ftype, _resolver(name, key, ftype.optional)))


@hookimpl
def returnrules_register_checks(register: Callable[[Check[Any]], None]) -> None:
    register(Check("diff_gate", _gate, GateParams))
    register(Check("diff_qty_over", _qty_over, QtyParams))


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(Action("diff_hold", _hold, HoldParams))
    register(Action("diff_ship", _ship, ShipParams))
    register(Action("diff_tag", _tag, TagParams, multiple=True))
