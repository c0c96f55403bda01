"""The clauses of published return policies that rules.toml could not express.

Issue 11 wrote five real auto-parts return policies as rules; four of their
clauses needed the language to grow.  Each is a plain rule of one test policy
below, and every amount is worked out by hand in the test (round = half-up to
the fen):

1. "Wrong part or defective: 100 % including the return shipping, capped at
   the original shipping charge": ``include_return_shipping`` and
   ``return_shipping_cap``, with the request's ``return_shipping``;
2. "A core deposit is refunded when the old core comes back, with no
   restocking fee": ``basis = "core_charge"`` (and ``include_core_charge``
   to pay a deposit back with the price of an unused part);
3. a warranty term per part, and obsolete parts refused:
   ``part.warranty_days`` and ``part.obsolete``;
4. workshops on credit terms paid as account credit: ``method_per_tier``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import returnrules
from returnrules.cli import main
from returnrules_std.refund import RefundParams
from tests.std.helpers import actions, first_line, make_request, policy, problems

POLICY = """
[vocab.reason]
core_return = "旧件回收"

[[rule]]
id = "our-mistake"
title = "错发或质量问题：全额退款，含退货运费（不超过原运费）"
when = { fact = "line.reason", in = ["wrong_part", "defective"] }
decide = "approve"
then = [
  @RETURN_SHIPPING@,
]

[[rule]]
id = "core-return"
title = "旧件回收：退还旧件押金，不收拆封费"
when.all = [
  { fact = "line.reason", eq = "core_return" },
  { fact = "part.core_charge", gt = 0 },
]
decide = "approve"
then = [ { action = "refund", basis = "core_charge" } ]

[[rule]]
id = "after-warranty"
title = "超过配件质保期的质量问题转质保部"
when.all = [
  { fact = "line.reason", eq = "defective" },
  { fact = "request.days_since_delivery", gt = { fact = "part.warranty_days" } },
]
decide = "review"
message = "已签收 {request.days_since_delivery} 天，超过质保期 {part.warranty_days} 天"

[[rule]]
id = "obsolete"
title = "停产配件非质量问题不退"
when.all = [
  { fact = "part.obsolete", eq = true },
  { fact = "line.reason", in = ["changed_mind", "ordered_wrong"] },
]
decide = "reject"

[[rule]]
id = "changed-mind"
title = "不需要了：收 15% 手续费，修理厂记入挂账"
when = { fact = "line.reason", eq = "changed_mind" }
decide = "approve"
then = [
  @METHOD_PER_TIER@,
]
""".replace(  # lines longer than this file's 88 characters
    "@RETURN_SHIPPING@",
    '{ action = "refund", include_return_shipping = true, '
    'return_shipping_cap = "original" }',
).replace(
    "@METHOD_PER_TIER@",
    '{ action = "refund", fee_percent = 15, '
    'method_per_tier = { workshop = "account_credit" } }',
)

PADS = {"line": 1, "sku": "BOSCH-0986494", "category": "brake", "qty": 4,
        "unit_price": "180.00"}  # fmt: skip
PLUGS = {"line": 2, "sku": "NGK-BKR6E", "category": "electrical", "qty": 2,
         "unit_price": "35.50"}  # fmt: skip
FILTERS = {"line": 3, "sku": "MANN-W712/75", "category": "filter", "qty": 4,
           "unit_price": "12.25"}  # fmt: skip
ALTERNATOR = {"line": 4, "sku": "DENSO-DAN1037", "category": "electrical", "qty": 2,
              "unit_price": "1280.00", "core_charge": "300.00"}  # fmt: skip


@pytest.fixture(scope="module")
def the_policy() -> returnrules.Policy:
    loaded = policy(POLICY)
    assert loaded.warnings == ()
    return loaded


def refunds(
    the_policy: returnrules.Policy, request: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each line's refund, as the JSON output shows it."""
    decision = the_policy.evaluate(request)
    found = []
    for line in decision.lines:
        assert not line.errors, line.errors
        (refund,) = [a for a in actions(line) if a["action"] == "refund"]
        found.append(refund)
    return found


def two_lines_back(**changes: Any) -> dict[str, Any]:
    """2 pads (wrong part) and 1 plug (defective) back, of an order of three
    lines with 20.00 shipping."""
    request = make_request(
        lines=[PADS, PLUGS, FILTERS],
        returns=[
            {"line": 1, "qty": 2, "reason": "wrong_part", "condition": "unopened"},
            {"line": 2, "qty": 1, "reason": "defective", "condition": "opened"},
        ],
        order={"shipping_fee": "20.00"},
    )
    request.update(changes)
    return request


# -- 1. return shipping, capped at the original shipping charge ------------------------


def test_return_shipping_above_the_original_charge_is_capped_then_shared() -> None:
    the_policy = policy(POLICY)
    found = refunds(the_policy, two_lines_back(return_shipping="25.00"))
    # R = 25.00 paid, capped at the order's shipping fee: R' = 20.00
    # V = 2 × 180.00 + 1 × 35.50 = 395.50 (the lines sent back together)
    # pads:  20.00 × 360.00 / 395.50 = 18.2048… → 18.20; 360.00 + 18.20 = 378.20
    # plugs: 20.00 ×  35.50 / 395.50 =  1.7952… →  1.80;  35.50 +  1.80 =  37.30
    # (18.20 + 1.80 = 20.00: the whole capped return shipping)
    assert found == [
        {"action": "refund", "rule": "our-mistake", "amount": "378.20",
         "fee": "0.00", "currency": "CNY", "method": "original",
         "return_shipping": "18.20"},
        {"action": "refund", "rule": "our-mistake", "amount": "37.30",
         "fee": "0.00", "currency": "CNY", "method": "original",
         "return_shipping": "1.80"},
    ]  # fmt: skip


def test_return_shipping_below_the_cap_is_refunded_whole() -> None:
    the_policy = policy(POLICY)
    found = refunds(the_policy, two_lines_back(return_shipping="12.00"))
    # 12.00 < 20.00: not capped
    # pads:  12.00 × 360.00 / 395.50 = 10.9228… → 10.92; 360.00 + 10.92 = 370.92
    # plugs: 12.00 ×  35.50 / 395.50 =  1.0771… →  1.08;  35.50 +  1.08 =  36.58
    assert [(r["amount"], r["return_shipping"]) for r in found] == [
        ("370.92", "10.92"),
        ("36.58", "1.08"),
    ]


def test_an_order_without_a_shipping_charge_caps_the_return_shipping_at_zero() -> None:
    the_policy = policy(POLICY)
    request = two_lines_back(return_shipping="25.00")
    del request["order"]["shipping_fee"]
    found = refunds(the_policy, request)
    # the original shipping was free: "original" caps the return shipping at 0
    assert [(r["amount"], r["return_shipping"]) for r in found] == [
        ("360.00", "0.00"),
        ("35.50", "0.00"),
    ]


def test_a_request_that_gives_no_return_shipping_refunds_none() -> None:
    the_policy = policy(POLICY)
    found = refunds(the_policy, two_lines_back())
    assert [(r["amount"], r["return_shipping"]) for r in found] == [
        ("360.00", "0.00"),
        ("35.50", "0.00"),
    ]


def test_a_cap_may_be_an_amount_and_no_cap_refunds_all_that_was_paid() -> None:
    request = {**make_request(reason="wrong_part"), "return_shipping": "25.00"}
    # one line, 2 × 180.00 = 360.00, the whole request: its share is all of R'
    capped = policy(
        '[[rule]]\nid = "r"\ndecide = "approve"\nthen = [ { action = "refund", '
        'include_return_shipping = true, return_shipping_cap = "15.50" } ]\n'
    )
    # min(25.00, 15.50) = 15.50; 360.00 + 15.50 = 375.50
    assert actions(first_line(capped, request))[0]["amount"] == "375.50"
    uncapped = policy(
        '[[rule]]\nid = "r"\ndecide = "approve"\n'
        'then = [ { action = "refund", include_return_shipping = true } ]\n'
    )
    # no cap: 360.00 + 25.00 = 385.00
    assert actions(first_line(uncapped, request))[0]["amount"] == "385.00"


def test_return_shipping_adds_to_a_refund_with_fees_and_shipping() -> None:
    request = {**make_request(reason="wrong_part"), "return_shipping": "9.00"}
    the_policy = policy(
        '[[rule]]\nid = "r"\ndecide = "approve"\nthen = [ { action = "refund", '
        "fee_percent = 10, include_shipping = true, include_return_shipping = true, "
        'return_shipping_cap = "original" } ]\n'
    )
    # 2 of 4 pads at 180.00, order shipping 20.00, goods 720.00
    # share 360.00; fee 10 % = 36.00; shipping 20.00 × 360 / 720 = 10.00;
    # return shipping min(9.00, 20.00) × 360 / 360 = 9.00
    # amount = 360.00 − 36.00 + 10.00 + 9.00 = 343.00
    found = actions(first_line(the_policy, request))[0]
    assert (found["amount"], found["fee"], found["return_shipping"]) == (
        "343.00",
        "36.00",
        "9.00",
    )


# -- 2. core charges -------------------------------------------------------------------


def core_back(**changes: Any) -> dict[str, Any]:
    return make_request(
        lines=[ALTERNATOR, PADS],
        returns=[
            {"line": 4, "qty": 2, "reason": "core_return", "condition": "opened"},
            {"line": 1, "qty": 1, "reason": "core_return", "condition": "opened"},
        ],
        **changes,
    )


def test_a_core_return_refunds_the_deposit_and_no_fee(
    the_policy: returnrules.Policy,
) -> None:
    decision = the_policy.evaluate(core_back())
    alternators, pads = decision.lines
    # 2 reman alternators at 1,280.00 with a 300.00 core deposit each:
    # the deposit comes back, 2 × 300.00 = 600.00 (not the price, 2,560.00)
    assert actions(alternators) == [
        {"action": "refund", "rule": "core-return", "amount": "600.00",
         "fee": "0.00", "currency": "CNY", "method": "original",
         "basis": "core_charge"},
    ]  # fmt: skip
    # pads were sold without a deposit: core-return does not match them
    assert pads.decision == "review"
    assert pads.actions == ()


def test_a_damaged_core_gets_part_of_the_deposit() -> None:
    the_policy = policy(
        '[vocab.reason]\ncore_return = "旧件回收"\n[[rule]]\nid = "cracked"\n'
        'decide = "approve"\n'
        'then = [ { action = "refund", basis = "core_charge", percent = 50 } ]\n'
    )
    # 50 % of 2 × 300.00 = 300.00
    found = actions(first_line(the_policy, core_back()))[0]
    assert (found["amount"], found["fee"]) == ("300.00", "0.00")


def test_an_unused_reman_part_comes_back_with_its_deposit() -> None:
    the_policy = policy(
        '[[rule]]\nid = "r"\ndecide = "approve"\nthen = [ { action = "refund", '
        "fee_percent = 15, include_core_charge = true } ]\n"
    )
    request = make_request(
        lines=[ALTERNATOR],
        returns=[{"line": 4, "qty": 1, "reason": "changed_mind",
                  "condition": "unopened"}],
    )  # fmt: skip
    # price 1,280.00; fee 15 % of the price = 192.00; the deposit 300.00 whole
    # amount = 1,280.00 − 192.00 + 300.00 = 1,388.00
    found = actions(first_line(the_policy, request))[0]
    assert (found["amount"], found["fee"], found["core_charge"]) == (
        "1388.00",
        "192.00",
        "300.00",
    )


# -- 3. per part: warranty term, obsolete ----------------------------------------------


def defective_pads(requested_at: str, **part: Any) -> dict[str, Any]:
    return make_request(
        requested_at=requested_at,
        line=part,
        reason="defective",
        condition="installed",
    )


def test_a_defect_within_the_parts_warranty_is_refunded(
    the_policy: returnrules.Policy,
) -> None:
    # delivered 2026-11-04, requested 2027-10-01: 331 days ≤ 365
    line = first_line(
        the_policy, defective_pads("2027-10-01T10:00:00+08:00", warranty_days=365)
    )
    assert (line.decision, line.decided_by) == ("approve", ("our-mistake",))


def test_a_defect_after_the_parts_warranty_goes_to_the_warranty_desk(
    the_policy: returnrules.Policy,
) -> None:
    # 2026-11-04 to 2027-11-20: 381 days > 365
    line = first_line(
        the_policy, defective_pads("2027-11-20T10:00:00+08:00", warranty_days=365)
    )
    assert (line.decision, line.decided_by) == ("review", ("after-warranty",))
    assert line.messages == ("已签收 381 天，超过质保期 365 天",)
    # a part with a 30-day term: 2026-11-04 to 2026-12-20 is 46 days
    line = first_line(
        the_policy, defective_pads("2026-12-20T10:00:00+08:00", warranty_days=30)
    )
    assert line.decision == "review"


def test_a_part_without_a_warranty_term_is_never_past_it(
    the_policy: returnrules.Policy,
) -> None:
    # part.warranty_days is absent: the comparison is false
    line = first_line(the_policy, defective_pads("2029-11-20T10:00:00+08:00"))
    assert line.decision == "approve"


def test_an_obsolete_part_is_refused_for_a_change_of_mind(
    the_policy: returnrules.Policy,
) -> None:
    request = make_request(line={"obsolete": True}, reason="changed_mind")
    assert first_line(the_policy, request).decided_by == ("obsolete",)
    request = make_request(line={"obsolete": True}, reason="defective")
    assert first_line(the_policy, request).decision == "approve"


# -- 4. the refund method follows the customer -----------------------------------------


@pytest.mark.parametrize(
    ("tier", "method"),
    [("workshop", "account_credit"), ("retail", "original"), ("vip", "original")],
)
def test_the_method_follows_the_customers_tier(
    the_policy: returnrules.Policy, tier: str, method: str
) -> None:
    request = make_request(tier=tier, reason="changed_mind")
    # 2 × 180.00 = 360.00; fee 15 % = 54.00; 360.00 − 54.00 = 306.00
    assert actions(first_line(the_policy, request)) == [
        {"action": "refund", "rule": "changed-mind", "amount": "306.00",
         "fee": "54.00", "currency": "CNY", "method": method},
    ]  # fmt: skip


def test_method_per_tier_overrides_method_for_its_tiers_only() -> None:
    params = RefundParams(
        method="store_credit", method_per_tier={"workshop": "account_credit"}
    )
    assert params.method_for("workshop") == "account_credit"
    assert params.method_for("retail") == "store_credit"


# -- every new parameter is type-checked and located -----------------------------------


@pytest.mark.parametrize(
    ("params", "col", "message"),
    [
        (
            'include_return_shipping = true, return_shipping_cap = "orignal"',
            85,
            'return_shipping_cap: expected "original", or a decimal number like '
            '180.10, got "orignal"; did you mean "original"?',
        ),
        (
            "include_return_shipping = true, return_shipping_cap = -1",
            85,
            "return_shipping_cap: must be ≥ 0, got -1",
        ),
        (
            'return_shipping_cap = "original"',
            10,
            "return_shipping_cap caps the return shipping that "
            "include_return_shipping = true refunds; set that too",
        ),
        ('include_return_shipping = "yes"', 57, "include_return_shipping: expected "
         'true or false, got "yes"'),
        (
            'basis = "cor_charge"',
            39,
            'basis: expected one of "price", "core_charge", got "cor_charge"; '
            'did you mean "core_charge"?',
        ),
        (
            'basis = "core_charge", include_core_charge = true',
            10,
            "include_core_charge adds the deposit to a refund of the price; with "
            'basis = "core_charge" the refund is the deposit: it would be paid '
            "twice",
        ),
        (
            'method_per_tier = { wrokshop = "account_credit" }',
            51,
            'method_per_tier: unknown tier "wrokshop"; did you mean "workshop"?',
        ),
        (
            'method_per_tier = { workshop = "cash" }',
            62,
            'method_per_tier.workshop: expected one of "original", "store_credit", '
            '"account_credit", got "cash"',
        ),
        (
            'method_per_tier = "workshop"',
            49,
            'method_per_tier: expected a table, got "workshop"',
        ),
    ],
)  # fmt: skip
def test_bad_new_refund_parameters_are_reported_where_they_are_written(
    params: str, col: int, message: str
) -> None:
    (found,) = problems(
        f'[[rule]]\nid = "r"\nthen = [ {{ action = "refund", {params} }} ]\n'
    )
    assert found.startswith(f"rules.toml:7:{col}: error: action refund: {message}"), (
        found
    )


def test_the_new_parameters_are_listed_by_returnrules_plugins(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plugins", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    (refund,) = [a for p in listed for a in p["actions"] if a["name"] == "refund"]
    params = {p["name"]: p for p in refund["params"]}
    assert params["include_return_shipping"]["type"] == "bool"
    assert params["return_shipping_cap"]["type"] == '"original" | money?'
    assert params["basis"]["type"] == '"price" | "core_charge"'
    assert params["basis"]["default"] == "price"
    assert params["include_core_charge"]["default"] is False
    assert params["method_per_tier"]["type"] == (
        'table[tier code, "original" | "store_credit" | "account_credit"]'
    )
    assert all(p.get("doc") for p in params.values()), params


def test_the_new_parameters_are_in_the_json_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    properties = schema["$defs"]["action:refund"]["properties"]
    assert properties["basis"]["enum"] == ["price", "core_charge"]
    assert properties["include_core_charge"]["type"] == "boolean"
    assert properties["return_shipping_cap"]["anyOf"][0] == {"enum": ["original"]}
    assert "workshop" in str(properties["method_per_tier"]["propertyNames"])
    validator = jsonschema.Draft202012Validator(schema)

    def refund_errors(action: dict[str, Any]) -> list[str]:
        rule = {"id": "r", "then": [{"action": "refund", **action}]}
        doc = {"version": 1, "policy": {"currency": "CNY"}, "rule": [rule]}
        return [e.message for e in validator.iter_errors(doc)]

    good = {
        "include_return_shipping": True,
        "return_shipping_cap": "original",
        "basis": "core_charge",
        "method_per_tier": {"workshop": "account_credit"},
    }
    assert refund_errors(good) == []
    assert refund_errors({**good, "return_shipping_cap": "12.50"}) == []
    assert refund_errors({**good, "basis": "core"}) != []
    assert refund_errors({**good, "method_per_tier": {"workshop": "cash"}}) != []
    assert refund_errors({**good, "return_shipping_cap": "orignal"}) != []


def test_the_desk_sees_the_return_shipping_of_a_refund(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        'version = 1\n[policy]\ncurrency = "CNY"\n' + POLICY, encoding="utf-8"
    )
    request = tmp_path / "request.json"
    request.write_text(json.dumps(two_lines_back(return_shipping="25.00")))
    assert main(["eval", str(request), "--rules", str(rules)]) == 0
    out = capsys.readouterr().out
    assert (
        "refund  amount 378.20 CNY, fee 0.00 CNY, method original, "
        "return_shipping 18.20 CNY  [our-mistake]"
    ) in out


def test_the_clauses_in_docs_policy_md_load_without_warnings() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "policy.md").read_text("utf-8")
    (clauses,) = [
        b for b in re.findall(r"```toml\n(.*?)```", doc, re.S) if "[[rule]]" in b
    ]
    loaded = policy(clauses)
    assert loaded.warnings == ()
    assert [r.id for r in loaded.rules] == [
        "our-mistake",
        "core-return",
        "after-warranty",
        "obsolete",
        "changed-mind",
    ]


def test_the_new_facts_are_listed_and_in_the_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["facts", "--json"]) == 0
    types = {f["name"]: f["type"] for f in json.loads(capsys.readouterr().out)}
    assert types["request.return_shipping"] == "money?"
    assert types["part.warranty_days"] == "int?"
    assert types["part.obsolete"] == "bool"
    assert main(["schema"]) == 0
    defs = json.loads(capsys.readouterr().out)["$defs"]
    assert defs["fact:part.obsolete"]["propertyNames"] == {
        "enum": ["fact", "eq", "ne", "present"]
    }
    assert "le" in defs["fact:part.warranty_days"]["properties"]
    assert "gt" in defs["fact:request.return_shipping"]["properties"]


def test_a_bad_literal_for_a_new_fact_is_reported_at_the_value() -> None:
    (found,) = problems(
        '[[rule]]\nid = "r"\nwhen = { fact = "part.warranty_days", gt = "1y" }\n'
    )
    assert found == (
        "rules.toml:7:44: error: part.warranty_days is int?: expected an integer, "
        'got "1y"'
    )
