"""The stock plugin: ``stock.*`` facts, ``stock_available``, its data provider hook.

The actions ``exchange`` and ``cancel_line`` are tested in test_std_actions.py.
"""

from __future__ import annotations

from typing import Any

import pytest

import returnrules
from returnrules import LineContext
from returnrules_std.stock import StockLevel
from tests.std.helpers import explanations, first_line, make_request, policy

SKU = "BOSCH-0986494"
DATA: dict[str, Any] = {"stock": {SKU: {"on_hand": 12, "reserved": 3}}}

SHOW_FACTS = """
[[rule]]
id = "show"
decide = "review"
message = "{stock.on_hand}/{stock.available}"
"""

AVAILABLE = """
[[rule]]
id = "exchange"
when = { check = "stock_available" }
decide = "approve"
"""


def shown(data: Any, the_policy: returnrules.Policy | None = None) -> str:
    line = first_line(the_policy or policy(SHOW_FACTS), make_request(), data)
    assert not line.errors
    return line.messages[0]


def available(
    qty: int, data: Any, rules: str = AVAILABLE, **kwargs: Any
) -> returnrules.LineDecision:
    return first_line(policy(rules, **kwargs), make_request(qty=qty), data)


# -- facts -----------------------------------------------------------------------------


def test_stock_facts_come_from_the_data_mapping() -> None:
    assert shown(DATA) == "12/9"


def test_reserved_defaults_to_zero() -> None:
    assert shown({"stock": {SKU: {"on_hand": 5}}}) == "5/5"


def test_available_may_be_negative_when_more_is_reserved_than_on_hand() -> None:
    assert shown({"stock": {SKU: {"on_hand": 2, "reserved": 5}}}) == "2/-3"


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"stock": {}},
        {"stock": {"NGK-BKR6E": {"on_hand": 100}}},
    ],
    ids=["no-data", "empty-data", "no-stock", "other-sku"],
)
def test_without_a_stock_record_the_facts_are_absent(data: Any) -> None:
    assert shown(data) == "—/—"


def test_comparisons_with_absent_stock_facts_are_false() -> None:
    the_policy = policy(
        """
[[rule]]
id = "compared"
when = { any = [ { fact = "stock.available", ge = 0 },
                 { fact = "stock.available", lt = 0 },
                 { fact = "stock.on_hand", ne = 1 } ] }
decide = "approve"

[[rule]]
id = "absent"
when = { all = [ { fact = "stock.on_hand", present = false },
                 { fact = "stock.available", present = false } ] }
decide = "reject"
"""
    )
    assert first_line(the_policy, make_request()).matched == ("absent",)
    assert first_line(the_policy, make_request(), DATA).matched == ("compared",)


# -- stock_available -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qty", "decision"),
    [
        (1, "approve"),
        (4, "approve"),  # 12 on hand − 3 reserved = 9 available
    ],
)
def test_stock_available_compares_available_with_the_line_qty(
    qty: int, decision: str
) -> None:
    assert available(qty, DATA).decision == decision


def test_exactly_enough_available_stock_is_enough() -> None:
    data = {"stock": {SKU: {"on_hand": 5, "reserved": 3}}}
    assert available(2, data).decision == "approve"
    assert available(3, data).decision == "review"


def test_reserved_stock_is_not_available() -> None:
    data = {"stock": {SKU: {"on_hand": 4, "reserved": 4}}}
    assert available(1, data).decision == "review"


def test_no_stock_record_means_not_enough() -> None:
    assert available(1, None).decision == "review"
    assert available(1, {"stock": {"NGK-BKR6E": {"on_hand": 99}}}).decision == "review"
    negated = AVAILABLE.replace(
        '{ check = "stock_available" }', '{ not = { check = "stock_available" } }'
    )
    assert available(1, None, negated).decision == "approve"


@pytest.mark.parametrize(("qty", "decision"), [(9, "approve"), (10, "review")])
def test_the_qty_parameter_overrides_the_line_qty(qty: int, decision: str) -> None:
    rules = AVAILABLE.replace(
        '{ check = "stock_available" }', f'{{ check = "stock_available", qty = {qty} }}'
    )
    # the line asks for 1; the check asks for qty
    assert available(1, DATA, rules).decision == decision


def test_stock_available_explains_the_arithmetic() -> None:
    decision = policy(AVAILABLE).evaluate(make_request(qty=2), DATA, explain=True)
    assert explanations(decision, "stock_available") == [
        "BOSCH-0986494: 12 on hand − 3 reserved = 9 available, 2 needed"
    ]
    decision = policy(AVAILABLE).evaluate(make_request(qty=2), None, explain=True)
    assert explanations(decision, "stock_available") == [
        "no stock record for BOSCH-0986494: not enough"
    ]


def test_a_bad_stock_parameter_is_reported_at_load_time() -> None:
    with pytest.raises(returnrules.PolicyError) as info:
        policy(AVAILABLE.replace('"stock_available"', '"stock_available", qty = "2"'))
    (problem,) = info.value.problems
    assert problem.line == 8  # the when line, after the 4-line header
    assert "check stock_available" in problem.message
    assert "expected an integer" in problem.message


# -- the data provider hook ------------------------------------------------------------


class HostInventory:
    """A host system answering stock levels from its own database."""

    def __init__(self, levels: dict[str, StockLevel]) -> None:
        self.levels = levels
        self.calls: list[str] = []

    @returnrules.hookimpl
    def returnrules_stock_level(
        self, sku: str, context: LineContext
    ) -> StockLevel | None:
        self.calls.append(sku)
        return self.levels.get(sku)


def test_a_host_provider_overrides_the_data_mapping() -> None:
    host = HostInventory({SKU: StockLevel(on_hand=40, reserved=10)})
    the_policy = policy(SHOW_FACTS, plugins=[host])
    assert shown(DATA, the_policy) == "40/30"


def test_the_data_mapping_answers_what_the_host_does_not_know() -> None:
    host = HostInventory({})
    the_policy = policy(SHOW_FACTS, plugins=[host])
    assert shown(DATA, the_policy) == "12/9"
    assert host.calls == [SKU]


def test_the_provider_is_asked_once_per_line_however_many_rules_need_it() -> None:
    host = HostInventory({SKU: StockLevel(on_hand=3)})
    rules = (
        SHOW_FACTS
        + AVAILABLE
        + """
[[rule]]
id = "plenty"
when = { fact = "stock.available", gt = 100 }
decide = "approve"
"""
    )
    the_policy = policy(rules, plugins=[host])
    request = make_request(
        lines=[
            {"line": 1, "sku": SKU, "category": "brake", "qty": 4, "unit_price": "1"},
            {"line": 2, "sku": SKU, "category": "brake", "qty": 4, "unit_price": "1"},
        ],
        returns=[
            {"line": 1, "qty": 1, "reason": "wrong_part", "condition": "unopened"},
            {"line": 2, "qty": 4, "reason": "wrong_part", "condition": "unopened"},
        ],
    )
    decision = the_policy.evaluate(request)
    assert [line.matched for line in decision.lines] == [
        ("show", "exchange"),
        ("show",),
    ]
    assert host.calls == [SKU, SKU]  # once per line


def test_the_provider_is_not_asked_when_no_rule_needs_stock() -> None:
    host = HostInventory({SKU: StockLevel(on_hand=3)})
    the_policy = policy(
        '[[rule]]\nid = "any"\nwhen = { fact = "line.qty", ge = 1 }\n'
        'decide = "approve"\n',
        plugins=[host],
    )
    assert first_line(the_policy, make_request()).decision == "approve"
    assert host.calls == []


class BrokenInventory:
    @returnrules.hookimpl
    def returnrules_stock_level(self, sku: str, context: LineContext) -> StockLevel:
        raise ConnectionError("inventory database unreachable")


def test_a_failing_provider_makes_the_line_review_and_reports_the_error() -> None:
    the_policy = policy(
        AVAILABLE + '[[rule]]\nid = "ok"\nwhen = { fact = "line.qty", ge = 1 }\n'
        'decide = "approve"\n',
        plugins=[BrokenInventory()],
    )
    decision = the_policy.evaluate(make_request(), DATA)
    (line,) = decision.lines
    assert line.decision == "review"
    (error,) = line.errors
    assert error.rule == "exchange"
    assert "ConnectionError: inventory database unreachable" in error.message


class WrongInventory:
    @returnrules.hookimpl
    def returnrules_stock_level(self, sku: str, context: LineContext) -> object:
        return {"on_hand": 3}


def test_a_provider_returning_something_else_is_an_error_not_a_guess() -> None:
    the_policy = policy(AVAILABLE, plugins=[WrongInventory()])
    line = first_line(the_policy, make_request(), DATA)
    assert line.decision == "review"
    (error,) = line.errors
    assert "returnrules_stock_level returned" in error.message


# -- check_data ------------------------------------------------------------------------


def check_data(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(returnrules.RequestError) as info:
        policy("").check_data(data)
    return [(p.path, p.message) for p in info.value.problems]


def test_good_stock_data_passes_the_check() -> None:
    policy("").check_data(DATA)
    policy("").check_data({})


def test_check_data_reports_each_bad_stock_record_with_its_key_path() -> None:
    found = check_data(
        {
            "stock": {
                SKU: {"on_hand": "lots"},
                "NGK-BKR6E": {"reserved": 2},
                "MANN-W712/75": {"on_hand": 3, "reservd": 1},
                "VARTA-E11": [],
            }
        }
    )
    paths = [path for path, _ in found]
    assert ("stock", SKU, "on_hand") in paths
    assert ("stock", "NGK-BKR6E", "on_hand") in paths  # missing
    assert ("stock", "MANN-W712/75", "reservd") in paths  # unknown key
    assert ("stock", "VARTA-E11") in paths
    assert len(found) == 4
    messages = dict(found)
    assert "expected an integer" in messages["stock", SKU, "on_hand"]
    assert 'did you mean "reserved"?' in messages["stock", "MANN-W712/75", "reservd"]


def test_check_data_reports_a_stock_section_that_is_not_a_table() -> None:
    assert check_data({"stock": ["BOSCH-0986494"]}) == [
        (("stock",), "expected a table of SKUs")
    ]


def test_check_data_rejects_negative_stock() -> None:
    ((path, message),) = check_data({"stock": {SKU: {"on_hand": -1}}})
    assert path == ("stock", SKU, "on_hand")
    assert message == "must be ≥ 0, got -1"


def test_check_data_points_at_the_negative_key() -> None:
    ((path, _),) = check_data({"stock": {SKU: {"on_hand": 3, "reserved": -1}}})
    assert path == ("stock", SKU, "reserved")
