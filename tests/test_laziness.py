"""Facts and data providers are resolved lazily, and at most once per line.

DESIGN.md's ``matched`` lists every matched rule, so every rule's condition is
evaluated; laziness means a provider is asked only when a condition actually
reaches a fact or check that needs it, and never twice on one line.
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import returnrules
from returnrules import LineContext, hookimpl
from returnrules_std.stock import StockLevel
from returnrules_std.supplier import SupplierTerms

ROOT = Path(__file__).resolve().parent.parent


class CountingHost:
    """A host's inventory and supplier database that counts every question."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    @hookimpl
    def returnrules_stock_level(self, sku: str, context: LineContext) -> StockLevel:
        self.calls["stock"] += 1
        return StockLevel(on_hand=10, reserved=0)

    @hookimpl
    def returnrules_supplier_terms(
        self, supplier: str, context: LineContext
    ) -> SupplierTerms:
        self.calls["supplier"] += 1
        return SupplierTerms(accepts_returns=True, window_days=90)


REQUEST: dict[str, Any] = {
    "id": "RT-LAZY",
    "requested_at": "2026-11-20T10:00:00+08:00",
    "customer": {"id": "C-1", "tier": "retail"},
    "order": {
        "id": "SO-1",
        "status": "delivered",
        "placed_at": "2026-11-01T09:30:00+08:00",
        "delivered_at": "2026-11-04T11:00:00+08:00",
        "lines": [
            {"line": 1, "sku": "BOSCH-0986494", "category": "brake", "qty": 4,
             "unit_price": "180.00", "supplier": "SUP-BOSCH"},
        ],
    },
    "lines": [{"line": 1, "qty": 2, "reason": "changed_mind", "condition": "unopened"}],
}  # fmt: skip


@pytest.fixture
def host() -> CountingHost:
    return CountingHost()


@pytest.fixture
def policy(host: CountingHost) -> returnrules.Policy:
    return returnrules.load_policy(ROOT / "bench" / "policy.toml", plugins=[host])


def request(**line: Any) -> dict[str, Any]:
    mapping = copy.deepcopy(REQUEST)
    mapping["lines"][0].update(line)
    return mapping


@pytest.mark.parametrize("path", ["evaluate", "plan", "explain"])
def test_a_rejected_line_whose_other_rules_need_no_data_never_asks_a_provider(
    policy: returnrules.Policy, host: CountingHost, path: str
) -> None:
    over_return = request(qty=9)  # rejected by the first rule
    if path == "plan":
        assert policy.plan(over_return).decision == "reject"
    else:
        decision = policy.evaluate(over_return, explain=path == "explain")
        assert decision.lines[0].decided_by[0] == "over-return"
    assert host.calls == Counter()


@pytest.mark.parametrize("path", ["evaluate", "plan", "explain"])
def test_each_provider_is_asked_once_per_line_however_many_rules_need_it(
    policy: returnrules.Policy, host: CountingHost, path: str
) -> None:
    # A defective part: two rules ask whether the supplier takes it back, and
    # refund-our-fault looks at the stock; each question is asked once.
    defective = request(reason="defective", condition="opened")
    if path == "plan":
        policy.plan(defective)
    else:
        policy.evaluate(defective, explain=path == "explain")
    assert host.calls == Counter({"supplier": 1})
    wrong_part = request(reason="wrong_part")
    if path == "plan":
        policy.plan(wrong_part)
    else:
        policy.evaluate(wrong_part, explain=path == "explain")
    assert host.calls == Counter({"supplier": 1, "stock": 1})


def test_every_line_asks_again(policy: returnrules.Policy, host: CountingHost) -> None:
    two_lines = copy.deepcopy(REQUEST)
    two_lines["order"]["lines"].append(
        {"line": 2, "sku": "MANN-W712/75", "category": "filter", "qty": 1,
         "unit_price": "48.00", "supplier": "SUP-MANN"}
    )  # fmt: skip
    two_lines["lines"] = [
        {"line": 1, "qty": 1, "reason": "defective", "condition": "opened"},
        {"line": 2, "qty": 1, "reason": "defective", "condition": "opened"},
    ]
    policy.evaluate(two_lines)
    assert host.calls == Counter({"supplier": 2})
