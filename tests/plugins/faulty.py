"""A deliberately broken plugin: every way a fact, check or action can misbehave.

Used by ``tests/test_plugin_faults.py`` (and by the CLI fault tests, loaded as a
file from a policy's ``[plugins] modules``).  Nothing here is domain logic.

Facts (all ``faulty.*``): ``raises`` (RuntimeError), ``wrong_type`` (an int
fact that gives a string), ``bool_for_int`` (``True`` for an int), ``none``
(``None`` for a fact that is not optional), ``other_currency`` (USD money in a
CNY policy), ``bad_code`` (a code outside its vocabulary), ``nan`` (a decimal
NaN), ``ok`` (1, counted).

Checks: ``faulty_raises``, ``faulty_yes`` (returns ``"yes"``), ``faulty_none``,
``faulty_one`` (returns ``1``), ``faulty_recursion`` (RecursionError),
``faulty_exit`` (``SystemExit``), ``faulty_explain`` (true, but its explanation
raises), ``faulty_counted`` (true, counted).

Actions: ``faulty_raises``, ``faulty_list`` (a list, not a mapping),
``faulty_none``, ``faulty_int_keys`` (a mapping with an int key),
``faulty_exit`` (``SystemExit``), ``faulty_ok`` (``{"ok": true}``).

:class:`Provider` is a host object for the standard pack's data hooks
(``returnrules_stock_level``, ``returnrules_supplier_terms``) that answers
what a test tells it to, raises, and counts its calls.
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, NoReturn

from returnrules import (
    Action,
    Check,
    Fact,
    FactType,
    LineContext,
    Money,
    hookimpl,
)

CALLS: collections.Counter[str] = collections.Counter()
"""How often each counted fact, check and provider ran (tests clear it)."""


def _raise(what: str) -> NoReturn:
    raise RuntimeError(f"faulty {what} raised")


def _ok(ctx: LineContext) -> int:
    CALLS["faulty.ok"] += 1
    return 1


def _fact_raises(ctx: LineContext) -> int:
    _raise("fact")


FACTS: dict[str, tuple[FactType, Callable[[LineContext], Any]]] = {
    "faulty.raises": (FactType("int"), _fact_raises),
    "faulty.wrong_type": (FactType("int"), lambda ctx: "many"),
    "faulty.bool_for_int": (FactType("int"), lambda ctx: True),
    "faulty.none": (FactType("int"), lambda ctx: None),
    "faulty.other_currency": (FactType("money"), lambda ctx: Money(Decimal(1), "USD")),
    "faulty.bad_code": (FactType.enum("reason"), lambda ctx: "not_a_reason"),
    "faulty.nan": (FactType("decimal"), lambda ctx: Decimal("NaN")),
    "faulty.ok": (FactType("int"), _ok),
}


def _recurse(ctx: LineContext, params: object) -> bool:
    return _recurse(ctx, params)


def _exit(ctx: LineContext, params: object) -> NoReturn:
    sys.exit(3)


def _counted(ctx: LineContext, params: object) -> bool:
    CALLS["faulty_counted"] += 1
    return True


def _check_raises(ctx: LineContext, params: object) -> bool:
    _raise("check")


def _explain_raises(ctx: LineContext, params: object) -> str:
    _raise("explanation")


def _wrong(value: object) -> Callable[[LineContext, object], Any]:
    return lambda ctx, params: value


def _action_raises(ctx: LineContext, params: object) -> Mapping[str, Any]:
    _raise("action")


@hookimpl
def returnrules_register_facts(register: Callable[[Fact], None]) -> None:
    for name, (ftype, resolve) in FACTS.items():
        register(Fact(name, ftype, resolve))


@hookimpl
def returnrules_register_checks(register: Callable[[Check[Any]], None]) -> None:
    register(Check("faulty_raises", _check_raises))
    register(Check("faulty_yes", _wrong("yes")))
    register(Check("faulty_none", _wrong(None)))
    register(Check("faulty_one", _wrong(1)))
    register(Check("faulty_recursion", _recurse))
    register(Check("faulty_exit", _exit))
    register(Check("faulty_explain", _wrong(True), explain=_explain_raises))
    register(Check("faulty_counted", _counted))


@hookimpl
def returnrules_register_actions(register: Callable[[Action[Any]], None]) -> None:
    register(Action("faulty_raises", _action_raises))
    register(Action("faulty_list", _wrong(["a", "b"])))
    register(Action("faulty_none", _wrong(None)))
    register(Action("faulty_int_keys", _wrong({1: "one"})))
    register(Action("faulty_exit", _exit))
    register(Action("faulty_ok", _wrong({"ok": True})))


class Provider:
    """A host's data provider for the stock and supplier plugins.

    ``Provider(stock=StockLevel(5))`` answers every SKU with that record (a
    callable is called for each answer, so a record that cannot be made fails
    inside the provider); ``error=`` makes every call raise it.  ``calls``
    counts calls per hook.
    """

    __name__ = "host"

    def __init__(
        self,
        *,
        stock: object = None,
        terms: object = None,
        error: Exception | None = None,
    ) -> None:
        self.stock = stock
        self.terms = terms
        self.error = error
        self.calls: collections.Counter[str] = collections.Counter()

    @hookimpl
    def returnrules_stock_level(self, sku: str, context: LineContext) -> object:
        self.calls["stock"] += 1
        if self.error is not None:
            raise self.error
        return self.stock() if callable(self.stock) else self.stock

    @hookimpl
    def returnrules_supplier_terms(self, supplier: str, context: LineContext) -> object:
        self.calls["supplier"] += 1
        if self.error is not None:
            raise self.error
        return self.terms() if callable(self.terms) else self.terms
