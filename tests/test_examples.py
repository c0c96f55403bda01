"""Every example request, evaluated against rules.toml and examples/data.toml.

The expectations are written out by hand below (what a return desk expects), not
computed by the engine: a change to the policy, the plugins or an example that
changes a decision, a deciding rule or an action fails here.  A new example
without an entry in EXPECTED fails too.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

import returnrules
from tests.std.helpers import EXAMPLES, RULES, load_shipped_policy

REQUESTS = EXAMPLES / "requests"


@attrs.frozen
class Line:
    """What one line of an example must come out as.

    ``actions`` lists every action in order, each as the fields it must have
    (``action`` and ``rule`` always; the others are the key reported fields).
    ``messages``, when given, are the line's rendered messages.
    """

    line: int
    decision: str
    decided_by: tuple[str, ...]
    actions: tuple[Mapping[str, Any], ...]
    messages: tuple[str, ...] | None = None


@attrs.frozen
class Expected:
    decision: str
    lines: tuple[Line, ...]


def act(action: str, rule: str, **fields: Any) -> dict[str, Any]:
    return {"action": action, "rule": rule, **fields}


def refund(
    rule: str,
    amount: str,
    fee: str = "0.00",
    method: str = "original",
    **more: str,
) -> Any:
    return act(
        "refund", rule, amount=amount, fee=fee, currency="CNY", method=method, **more
    )


def notify(rule: str, to: str, message: str | None = None) -> dict[str, Any]:
    return act(
        "notify", rule, to=to, **({} if message is None else {"message": message})
    )


def tell_customer() -> dict[str, Any]:
    return notify("notify-customer-on-reject", "customer")


def review_task() -> dict[str, Any]:
    return notify("review-task", "customer_service")


EXPECTED: dict[str, Expected] = {
    "01-wrong-part-exchange.toml": Expected(
        "approve",
        (
            Line(
                1,
                "approve",
                ("wrong-part-exchange",),
                (
                    act("exchange", "wrong-part-exchange", sku="BOSCH-0986494", qty=2),
                    notify(
                        "wrong-part-exchange",
                        "warehouse",
                        "错发：收回错发实物，补发 BOSCH-0986494 × 2，请核查拣货",
                    ),
                ),
                ("错发配件，为您补发正确配件 BOSCH-0986494 × 2",),
            ),
        ),
    ),
    "02-wrong-part-refund.json": Expected(
        "approve",
        (
            Line(
                1,
                "approve",
                ("wrong-part-refund",),
                (
                    # 780.00 + 30.00 × 780 / 1378 = 780.00 + 16.98
                    refund("wrong-part-refund", "796.98"),
                    notify("wrong-part-refund", "warehouse"),
                ),
            ),
        ),
    ),
    "03-cancel-stock-part.toml": Expected(
        "approve",
        (
            Line(
                1,
                "approve",
                ("cancel-stock-part",),
                (
                    # a workshop: credited to its account (method_per_tier)
                    refund("cancel-stock-part", "480.00", method="account_credit"),
                    act("cancel_line", "cancel-stock-part", sku="MANN-W712/75", qty=10),
                    notify(
                        "cancel-stock-part",
                        "purchasing",
                        "客户取消 MANN-W712/75 × 10，预留已释放，请调整补货计划",
                    ),
                ),
            ),
        ),
    ),
    "04-cancel-special-order.toml": Expected(
        "review",
        (
            Line(
                1,
                "review",
                ("cancel-special-order",),
                (
                    refund("cancel-special-order", "1880.00", fee="470.00"),
                    notify(
                        "cancel-special-order",
                        "purchasing",
                        "订货件 HELLA-1EL354 × 1 客户要求取消，请联系供应商 SUP-HELLA "
                        "确认能否取消",
                    ),
                    notify(
                        "review-task",
                        "customer_service",
                        "退单待审核：HELLA-1EL354 × 1（不需要了）",
                    ),
                ),
            ),
        ),
    ),
    "05-electrical-opened.toml": Expected(
        "reject",
        (
            Line(
                1,
                "reject",
                ("electrical-opened",),
                (tell_customer(),),
                ("电器件已拆封或已安装，非质量问题不予退货",),
            ),
            Line(
                2,
                "reject",
                ("no-return-part",),
                (tell_customer(),),
                ("GATES-3225-08 为不可退配件，非质量问题不予退货",),
            ),
        ),
    ),
    "06-online-7-day-no-reason.toml": Expected(
        "approve",
        (
            Line(
                1,
                "approve",
                ("online-7-day-no-reason",),
                (
                    refund("online-7-day-no-reason", "2160.00"),
                    act(
                        "restock",
                        "online-7-day-no-reason",
                        sku="MICHELIN-PS4-2254517",
                        qty=2,
                        location="main",
                        inspect=False,
                    ),
                ),
            ),
        ),
    ),
    "07-workshop-online-account-credit.json": Expected(
        "approve",
        (
            Line(
                1,
                "approve",
                ("online-7-day-no-reason", "workshop-30-day"),
                (
                    # both rules plan the same refund, credited to the workshop's
                    # account, and restock: the first in the file is used
                    refund("online-7-day-no-reason", "598.00", method="account_credit"),
                    act("restock", "online-7-day-no-reason", qty=2, location="main"),
                ),
            ),
        ),
    ),
    "08-workshop-opened-fee.toml": Expected(
        "approve",
        (
            Line(
                1,
                "approve",
                ("workshop-30-day",),
                (
                    refund("workshop-opened-fee", "476.00", "84.00", "account_credit"),
                    act(
                        "restock",
                        "workshop-opened-fee",
                        sku="GATES-K015603XS",
                        location="returns",
                        inspect=True,
                    ),
                ),
            ),
            Line(
                2,
                "approve",
                ("workshop-30-day",),
                (
                    # 15 % of 48.00 is 7.20: the minimum fee of 20.00 applies
                    refund("workshop-opened-fee", "28.00", "20.00", "account_credit"),
                    act("restock", "workshop-opened-fee", inspect=True),
                ),
            ),
        ),
    ),
    "09-retail-opened-review.toml": Expected(
        "review",
        (
            Line(
                1,
                "review",
                ("opened-restocking-fee",),
                (
                    refund("opened-restocking-fee", "153.00", "27.00"),
                    act(
                        "restock",
                        "opened-restocking-fee",
                        location="returns",
                        inspect=True,
                    ),
                    review_task(),
                ),
            ),
            Line(
                2,
                "review",
                ("special-order-return",),
                (
                    notify(
                        "special-order-return",
                        "purchasing",
                        "客户要求退回订货件 HELLA-1EL354 × 1，供应商 SUP-HELLA "
                        "退货期剩余 27 天",
                    ),
                    review_task(),
                ),
            ),
        ),
    ),
    "10-return-window-closed.toml": Expected(
        "reject",
        (
            Line(
                1,
                "reject",
                ("return-window-closed",),
                (tell_customer(),),
                ("已签收 12 天，超过退货期限（修理厂 30 天，其他客户 7 天）",),
            ),
        ),
    ),
    "11-over-return-partial.toml": Expected(
        "partial",
        (
            Line(
                1,
                "reject",
                ("over-return",),
                (
                    notify(
                        "notify-customer-on-reject",
                        "customer",
                        "您申请退回的 NGK-BKR6E × 3 未通过审核，原因见退单说明；"
                        "如有疑问请联系客服",
                    ),
                ),
                ("可退数量只有 2 件，本次申请 3 件",),
            ),
            Line(
                2,
                "approve",
                ("online-7-day-no-reason",),
                (
                    refund("online-7-day-no-reason", "48.00"),
                    act("restock", "online-7-day-no-reason", sku="MANN-W712/75", qty=1),
                ),
            ),
        ),
    ),
    "12-defective-supplier-or-scrap.toml": Expected(
        "approve",
        (
            Line(
                1,
                "approve",
                ("defective-in-warranty",),
                (
                    # no warranty term given: 90 days; 40 days after delivery
                    # 360.00 + 25.00 × 360 / 1560 = 360.00 + 5.77; no return
                    # shipping given; a workshop: credited to its account
                    refund(
                        "defective-in-warranty",
                        "365.77",
                        method="account_credit",
                        return_shipping="0.00",
                    ),
                    notify(
                        "defective-in-warranty",
                        "purchasing",
                        "质量反馈：Bosch BOSCH-0986494 × 2",
                    ),
                    act(
                        "return_to_supplier",
                        "defective-to-supplier",
                        supplier="SUP-BOSCH",
                        sku="BOSCH-0986494",
                        qty=2,
                    ),
                ),
            ),
            Line(
                2,
                "approve",
                ("defective-in-warranty",),
                (
                    # 840.00 + 25.00 × 840 / 1560 = 840.00 + 13.46
                    refund("defective-in-warranty", "853.46", method="account_credit"),
                    notify("defective-in-warranty", "purchasing"),
                    act("scrap", "defective-scrap", sku="SACHS-313410", qty=2),
                ),
            ),
        ),
    ),
    "13-defective-after-90-days.toml": Expected(
        "review",
        (
            Line(
                1,
                "review",
                ("defective-after-warranty",),
                (review_task(),),
                ("已签收 120 天，超过质保期，转厂家质保索赔",),
            ),
        ),
    ),
    "14-transit-damage.json": Expected(
        "approve",
        (
            Line(
                1,
                "approve",
                ("transit-damage-exchange",),
                (
                    act(
                        "exchange",
                        "transit-damage-exchange",
                        sku="MICHELIN-PS4-2254517",
                        qty=1,
                    ),
                    notify("transit-damage-logistics", "logistics"),
                    act(
                        "scrap", "transit-damage-logistics", sku="MICHELIN-PS4-2254517"
                    ),
                ),
            ),
            Line(
                2,
                "approve",
                ("transit-damage-refund",),
                (
                    # no VARTA-E11 available: 780.00 + 30.00 × 780 / 1860 = + 12.58
                    refund("transit-damage-refund", "792.58"),
                    notify(
                        "transit-damage-logistics",
                        "logistics",
                        "运输损坏：VARTA-E11 × 1，请向承运商索赔",
                    ),
                    act("scrap", "transit-damage-logistics", sku="VARTA-E11", qty=1),
                ),
            ),
        ),
    ),
    "15-late-delivery-refund.toml": Expected(
        "approve",
        (
            Line(
                1,
                "approve",
                ("late-delivery-refund",),
                (
                    refund("late-delivery-refund", "580.00"),
                    act("restock", "late-delivery-refund", sku="GATES-K015603XS"),
                ),
                ("延误 3 天送达，全额退款（含运费）",),
            ),
        ),
    ),
    "16-late-delivery-unverified.toml": Expected(
        "review",
        (
            Line(
                1,
                "review",
                ("late-delivery-unverified",),
                (review_task(),),
            ),
        ),
    ),
    "17-high-amount-review.toml": Expected(
        "review",
        (
            Line(
                1,
                "review",
                ("high-amount-review",),
                (
                    notify(
                        "high-amount-review", "finance", "大额退单待审批：6800.00 CNY"
                    ),
                    review_task(),
                ),
                ("退单金额 6800.00 CNY，超过 5000 元审批线，需财务审批",),
            ),
        ),
    ),
    "18-core-return.toml": Expected(
        "partial",
        (
            Line(
                1,
                "approve",
                ("core-return",),
                (
                    # the deposit, 2 × 80.00, not the price; no restocking fee;
                    # a workshop: credited to its account
                    refund(
                        "core-return",
                        "160.00",
                        method="account_credit",
                        basis="core_charge",
                    ),
                    act(
                        "return_to_supplier",
                        "core-return",
                        supplier="SUP-VARTA",
                        sku="VARTA-E11",
                        qty=2,
                    ),
                ),
            ),
            Line(2, "reject", ("core-return-no-charge",), (tell_customer(),)),
        ),
    ),
    "20-wrong-part-return-shipping.json": Expected(
        "approve",
        (
            Line(
                1,
                "approve",
                ("wrong-part-refund",),
                (
                    # 780.00 + shipping 30.00 × 780 / 1378 = 16.98 + return
                    # shipping min(45.00, 30.00) × 780 / 780 = 30.00: 826.98
                    refund("wrong-part-refund", "826.98", return_shipping="30.00"),
                    notify("wrong-part-refund", "warehouse"),
                ),
            ),
        ),
    ),
    "21-defective-warranty-per-part.toml": Expected(
        "review",
        (
            Line(
                1,
                "approve",
                ("defective-in-warranty",),
                (
                    # 194 days ≤ 730: 890.00 + shipping 25.00 × 890 / 1730 =
                    # 12.86 + return shipping min(40.00, 25.00) × 890 / 1730 =
                    # 12.86: 915.72
                    refund("defective-in-warranty", "915.72", return_shipping="12.86"),
                    notify("defective-in-warranty", "purchasing"),
                    # Gates takes returns within 90 days only
                    act("scrap", "defective-scrap", sku="GATES-K015603XS", qty=1),
                ),
            ),
            Line(
                2,
                "review",
                ("defective-after-warranty",),
                (review_task(),),
                ("已签收 194 天，超过质保期，转厂家质保索赔",),
            ),
        ),
    ),
    "22-obsolete-changed-mind.toml": Expected(
        "partial",
        (
            Line(
                1,
                "reject",
                ("obsolete-part",),
                (tell_customer(),),
                ("NGK-BKR6E 已停产，非质量问题不予退货",),
            ),
            Line(
                2,
                "approve",
                ("online-7-day-no-reason",),
                (
                    refund("online-7-day-no-reason", "48.00"),
                    act("restock", "online-7-day-no-reason", sku="MANN-W712/75"),
                ),
            ),
        ),
    ),
    "19-store-default-review.toml": Expected(
        "review",
        (
            # no rule decides a store retail return: policy.default
            Line(1, "review", (), (review_task(),), ()),
            Line(
                2,
                "reject",
                ("installed-not-returnable",),
                (tell_customer(),),
                ("配件已安装使用，非质量问题不予退货",),
            ),
        ),
    ),
}


def read(path: Path) -> dict[str, Any]:
    if path.suffix == ".json":
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    with path.open("rb") as f:
        return tomllib.load(f)


def example_files() -> list[str]:
    return sorted(p.name for p in REQUESTS.iterdir() if p.suffix in (".toml", ".json"))


@pytest.fixture(scope="module")
def shipped() -> returnrules.Policy:
    return load_shipped_policy()


@pytest.fixture(scope="module")
def data(shipped: returnrules.Policy) -> dict[str, Any]:
    loaded = read(EXAMPLES / "data.toml")
    shipped.check_data(loaded)
    return loaded


def test_the_shipped_policy_loads_without_any_problem(
    shipped: returnrules.Policy,
) -> None:
    assert shipped.warnings == ()
    assert shipped.currency == "CNY"
    assert shipped.default == "review"
    assert "core_return" in shipped.vocabularies["reason"]
    assert RULES.name == "rules.toml"


def test_every_example_has_expectations_and_every_expectation_an_example() -> None:
    assert example_files() == sorted(EXPECTED)


def test_examples_come_in_toml_and_json() -> None:
    suffixes = [Path(name).suffix for name in example_files()]
    assert suffixes.count(".json") >= 2
    assert suffixes.count(".toml") >= 10


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example(name: str, shipped: returnrules.Policy, data: dict[str, Any]) -> None:
    expected = EXPECTED[name]
    decision = shipped.evaluate(read(REQUESTS / name), data)
    assert decision.decision == expected.decision
    assert [line.line for line in decision.lines] == [
        line.line for line in expected.lines
    ]
    for got, want in zip(decision.lines, expected.lines, strict=True):
        assert not got.errors, got.errors
        assert (got.line, got.decision, got.decided_by) == (
            want.line,
            want.decision,
            want.decided_by,
        )
        reported = [a.to_dict() for a in got.actions]
        assert [(a["action"], a["rule"]) for a in reported] == [
            (a["action"], a["rule"]) for a in want.actions
        ], f"line {got.line}"
        for action, fields in zip(reported, want.actions, strict=True):
            assert {key: action.get(key) for key in fields} == fields
        if want.messages is not None:
            assert got.messages == want.messages


def test_the_overridden_single_actions_are_reported(
    shipped: returnrules.Policy, data: dict[str, Any]
) -> None:
    request = read(REQUESTS / "07-workshop-online-account-credit.json")
    (line,) = shipped.evaluate(request, data).lines
    assert {(o.action, o.rule, o.by) for o in line.overridden} == {
        ("refund", "workshop-30-day", "online-7-day-no-reason"),
        ("restock", "workshop-30-day", "online-7-day-no-reason"),
    }
    request = read(REQUESTS / "08-workshop-opened-fee.toml")
    for line in shipped.evaluate(request, data).lines:
        assert {(o.action, o.rule, o.by) for o in line.overridden} == {
            ("refund", "workshop-30-day", "workshop-opened-fee"),
            ("restock", "workshop-30-day", "workshop-opened-fee"),
        }


def test_every_rule_shows_up_in_some_example(shipped: returnrules.Policy) -> None:
    used = {
        rule
        for expected in EXPECTED.values()
        for line in expected.lines
        for rule in (*line.decided_by, *(a["rule"] for a in line.actions))
    }
    assert [rule.id for rule in shipped.rules if rule.id not in used] == []


def test_the_examples_are_dated_in_beijing_time(shipped: returnrules.Policy) -> None:
    eight_hours = dt.timedelta(hours=8)
    for name in example_files():
        request = shipped.parse_request(read(REQUESTS / name))
        order = request.order
        moments = [request.requested_at, order.placed_at, order.shipped_at]
        moments += [order.delivered_at, order.promised_at]
        for moment in moments:
            if isinstance(moment, dt.datetime):
                assert moment.utcoffset() == eight_hours, name


def test_a_plain_evaluation_and_an_explained_one_agree(
    shipped: returnrules.Policy, data: dict[str, Any]
) -> None:
    for name in example_files():
        request = shipped.parse_request(read(REQUESTS / name))
        plain = shipped.evaluate(request, data).to_dict()
        explained = shipped.evaluate(request, data, explain=True).to_dict()
        assert explained.pop("trace")
        assert plain == explained, name
