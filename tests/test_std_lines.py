"""``first_result``: a data-provider hook called directly when that is the same.

The standard plugins ask their ``firstresult`` hooks (stock levels, supplier
terms) through ``first_result(caller, argname)(arg, context)``.  With a single
plain implementation it calls that function itself (no pluggy dispatch); in
every other case it must give what pluggy gives.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pluggy

import returnrules
from returnrules.hookspecs import PROJECT
from returnrules_std._lines import first_result
from returnrules_std.stock import StockLevel, StockSpecs

CONTEXT: Any = object()  # the providers below never look at it


def hook(*plugins: object) -> Any:
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(StockSpecs)
    for plugin in plugins:
        manager.register(plugin)
    return manager.hook.returnrules_stock_level


class InOrder:
    @returnrules.hookimpl
    def returnrules_stock_level(self, sku: str, context: object) -> StockLevel:
        assert context is CONTEXT
        return StockLevel(on_hand=len(sku))


class Reversed:
    @returnrules.hookimpl
    def returnrules_stock_level(self, context: object, sku: str) -> StockLevel:
        assert context is CONTEXT
        return StockLevel(on_hand=len(sku) * 2)


class SkuOnly:
    @returnrules.hookimpl
    def returnrules_stock_level(self, sku: str) -> StockLevel | None:
        return None if sku == "none" else StockLevel(on_hand=len(sku) * 3)


class Wrapper:
    @returnrules.hookimpl(wrapper=True)
    def returnrules_stock_level(
        self, sku: str
    ) -> Generator[None, StockLevel, StockLevel]:
        level = yield
        return StockLevel(on_hand=level.on_hand + 100)


def test_a_single_implementation_in_the_hooks_order_is_called_itself() -> None:
    plugin = InOrder()
    call = first_result(hook(plugin), "sku")
    assert call == plugin.returnrules_stock_level
    assert call("ABCD", CONTEXT) == StockLevel(on_hand=4)


def test_arguments_in_another_order_or_fewer_are_passed_by_name() -> None:
    assert first_result(hook(Reversed()), "sku")("ABCD", CONTEXT).on_hand == 8
    assert first_result(hook(SkuOnly()), "sku")("ABCD", CONTEXT).on_hand == 12


def test_several_implementations_or_a_wrapper_go_through_pluggy() -> None:
    # pluggy calls the last registered first; the first non-None answer wins.
    both = hook(InOrder(), SkuOnly())
    assert first_result(both, "sku")("ABCD", CONTEXT) == both(
        sku="ABCD", context=CONTEXT
    )
    assert first_result(both, "sku")("none", CONTEXT).on_hand == 4
    wrapped = hook(InOrder(), Wrapper())
    assert first_result(wrapped, "sku")("ABCD", CONTEXT).on_hand == 104


def test_the_choice_is_made_once_per_hook() -> None:
    caller = hook(InOrder())
    assert first_result(caller, "sku") is first_result(caller, "sku")
