"""Data providers: asked through pluggy, once per line, never from a stale cache.

The standard plugins ask their ``firstresult`` hooks (stock levels, supplier
terms) through ``ctx.hook.first(...)``, the typed facade over pluggy, so
wrappers, ``tryfirst`` and several implementations work as pluggy says.  What
they structure from the data lives in the :class:`returnrules.Data` of one
evaluation (or of one batch, when the host makes one with ``check_data``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

import returnrules
from returnrules_std.stock import StockLevel

POLICY = """
version = 1
[policy]
currency = "CNY"
default = "reject"
[[rule]]
id = "exchange"
when = { check = "stock_available" }
decide = "approve"
"""


def request() -> dict[str, Any]:
    return {
        "id": "RT-1",
        "requested_at": "2026-11-20T10:00:00+08:00",
        "customer": {"id": "C-1"},
        "order": {
            "id": "SO-1",
            "status": "delivered",
            "placed_at": "2026-11-01T09:30:00+08:00",
            "lines": [
                {"line": 1, "sku": "X", "qty": 4, "unit_price": "10.00",
                 "category": "brake"},
            ],
        },
        "lines": [{"line": 1, "qty": 2, "reason": "wrong_part",
                   "condition": "unopened"}],
    }  # fmt: skip


class Fixed:
    def __init__(self, on_hand: int) -> None:
        self.on_hand = on_hand
        self.calls = 0

    @returnrules.hookimpl
    def returnrules_stock_level(self, sku: str, context: object) -> StockLevel:
        self.calls += 1
        return StockLevel(on_hand=self.on_hand)


class Nothing:
    @returnrules.hookimpl(tryfirst=True)
    def returnrules_stock_level(self, sku: str) -> StockLevel | None:
        return None


class Plus100:
    @returnrules.hookimpl(wrapper=True)
    def returnrules_stock_level(
        self, sku: str
    ) -> Generator[None, StockLevel | None, StockLevel | None]:
        level = yield
        return None if level is None else StockLevel(on_hand=level.on_hand + 100)


def test_changing_the_data_in_place_changes_the_next_decision() -> None:
    # Regression: structured records were cached by id() of the data and
    # outlived the host's change.
    policy = returnrules.loads_policy(POLICY)
    data: dict[str, Any] = {"stock": {"X": {"on_hand": 5}}}
    assert policy.evaluate(request(), data).decision == "approve"
    data["stock"]["X"]["on_hand"] = 0
    assert policy.evaluate(request(), data).decision == "reject"
    data["stock"]["X"]["on_hand"] = 2
    assert policy.plan(request(), data).decision == "approve"


def test_a_checked_data_snapshot_keeps_what_it_was_given() -> None:
    policy = returnrules.loads_policy(POLICY)
    raw: dict[str, Any] = {"stock": {"X": {"on_hand": 5}}}
    snapshot = policy.check_data(raw)
    raw["stock"]["X"]["on_hand"] = 0  # the host's own mapping, changed later
    assert policy.evaluate(request(), snapshot).decision == "approve"
    assert policy.evaluate(request(), raw).decision == "reject"


def test_a_provider_registered_after_an_evaluation_is_asked() -> None:
    # Regression: the choice of implementation was cached per hook caller.
    policy = returnrules.loads_policy(POLICY)
    assert policy.evaluate(request()).decision == "reject"  # no stock record
    host = Fixed(on_hand=9)
    policy.registry.plugin_manager.register(host, name="late-host")
    assert policy.evaluate(request()).decision == "approve"
    assert host.calls == 1


def test_several_implementations_and_wrappers_go_through_pluggy() -> None:
    host = Fixed(on_hand=1)  # too few for 2 on its own
    policy = returnrules.loads_policy(POLICY, plugins=[host, Nothing(), Plus100()])
    # Nothing (tryfirst) says None, the host answers 1, the wrapper adds 100.
    assert policy.evaluate(request()).decision == "approve"


def test_a_wrapper_around_the_built_in_provider_alone_wraps_it() -> None:
    # The one-implementation shortcut of Hooks.first must not skip a wrapper.
    policy = returnrules.loads_policy(POLICY, plugins=[Plus100()])
    data = {"stock": {"X": {"on_hand": 0}}}
    assert policy.evaluate(request(), data).decision == "approve"  # 0 + 100
    alone = returnrules.loads_policy(POLICY)
    assert alone.evaluate(request(), data).decision == "reject"


def test_records_checked_by_check_data_are_not_structured_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``check_data`` structures every record to check it; the Data it returns
    keeps them, so the evaluations of a batch only look them up."""
    import returnrules.plugin.api as api

    policy = returnrules.loads_policy(POLICY)
    data = policy.check_data({"stock": {"X": {"on_hand": 5}, "Y": {"on_hand": 1}}})
    calls: list[object] = []
    real = api.structure_data  # type: ignore[attr-defined]

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "structure_data", counted)
    for _ in range(3):
        assert policy.evaluate(request(), data).decision == "approve"
    assert calls == []
    fresh = {"stock": {"X": {"on_hand": 5}}}  # a plain mapping: a Data per call
    assert policy.evaluate(request(), fresh).decision == "approve"
    assert calls == [StockLevel]


def test_check_data_checks_records_an_evaluation_structured_before() -> None:
    """A Data first read by an evaluation (its records structured without the
    policy's vocabularies) is still checked against them by check_data."""
    text = POLICY.replace('check = "stock_available"', 'check = "supplier_accepts"')
    policy = returnrules.loads_policy(text)
    data = returnrules.Data(
        {"supplier": {"S": {"non_returnable_categories": ["no_such_category"]}}}
    )
    line = request()
    line["order"]["lines"][0]["supplier"] = "S"
    policy.evaluate(line, data)  # reads S's terms, without the vocabularies
    with pytest.raises(returnrules.RequestError) as refused:
        policy.check_data(data)
    assert "no_such_category" in str(refused.value)


def test_a_provider_is_asked_once_per_line() -> None:
    host = Fixed(on_hand=9)
    text = POLICY + (
        '[[rule]]\nid = "again"\nwhen = { fact = "stock.available", ge = 1 }\n'
        'then = [{ action = "exchange" }]\n'
    )
    policy = returnrules.loads_policy(text, plugins=[host])
    two = request()
    two["order"]["lines"].append(
        {"line": 2, "sku": "Y", "qty": 1, "unit_price": "1", "category": "brake"}
    )
    two["lines"].append(
        {"line": 2, "qty": 1, "reason": "wrong_part", "condition": "unopened"}
    )
    assert policy.evaluate(two).decision == "approve"
    assert host.calls == 2  # one per line, for the check and the fact together


def test_a_plugin_cannot_change_the_data_the_next_line_sees() -> None:
    # Regression: a check doing ctx.data["stock"][sku]["on_hand"] -= qty made a
    # request approved alone rejected after another in the same batch.
    class Greedy:
        @returnrules.hookimpl
        def returnrules_register_checks(self, register: Any) -> None:
            def take(ctx: returnrules.LineContext, params: object) -> bool:
                ctx.data["stock"]["X"]["on_hand"] -= ctx.line.qty
                return True

            register(returnrules.Check("take", take))

    text = POLICY.replace('{ check = "stock_available" }', '{ check = "take" }')
    policy = returnrules.loads_policy(text, plugins=[Greedy()])
    data = policy.check_data({"stock": {"X": {"on_hand": 2}}})
    (line,) = policy.evaluate(request(), data).lines
    assert line.decision == "review"
    assert line.errors[0].message.startswith("TypeError: ")
    assert dict(data["stock"]["X"]) == {"on_hand": 2}
