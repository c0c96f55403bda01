"""Semantics 1-6 of DESIGN.md, each shown with a tiny inline policy.

The request (``request_dict``) has order lines 1 (brake, 4 x 180.00, supplier
SUP-BOSCH) and 2 (electrical, 2 x 35.50); it returns 2 of line 1 for
``wrong_part``, ``unopened``.  ``line2`` below adds a return of line 2.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import returnrules
from returnrules import Decision, RequestError
from tests.conftest import PolicyFactory
from tests.plugins import sample

SAMPLE = "tests.plugins.sample"
LINE2 = {"line": 2, "qty": 1, "reason": "defective", "condition": "opened"}


def with_line2(request: dict[str, Any]) -> dict[str, Any]:
    request = copy.deepcopy(request)
    request["lines"].append(dict(LINE2))
    return request


def matched(decision: Decision) -> list[list[str]]:
    return [list(line.matched) for line in decision.lines]


# -- 1. matching -----------------------------------------------------------------------


def test_a_rule_without_when_matches_every_line(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy('[[rule]]\nid = "always"\ndecide = "approve"\n')
    decision = policy.evaluate(with_line2(request_dict))
    assert matched(decision) == [["always"], ["always"]]


def test_all_any_and_not_nest_freely(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "nested"
decide = "reject"
[rule.when]
all = [
  { any = [
      { fact = "part.category", eq = "electrical" },
      { fact = "line.reason", in = ["changed_mind", "ordered_wrong"] },
  ] },
  { not = { fact = "line.condition", eq = "unopened" } },
  { not = { not = { fact = "line.qty", ge = 1 } } },
]
"""
    )
    decision = policy.evaluate(with_line2(request_dict))
    # line 1: brake, wrong_part -> any is false; line 2: electrical and opened
    assert matched(decision) == [[], ["nested"]]
    assert [line.decision for line in decision.lines] == ["review", "reject"]


def test_empty_all_is_true_and_empty_any_is_false(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        '[[rule]]\nid = "all"\nwhen = { all = [] }\ndecide = "approve"\n'
        '[[rule]]\nid = "any"\nwhen = { any = [] }\ndecide = "reject"\n'
    )
    assert matched(policy.evaluate(request_dict)) == [["all"]]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "2", True),
        ("ne", "2", False),
        ("lt", "3", True),
        ("le", "2", True),
        ("gt", "2", False),
        ("ge", "2", True),
        ("in", "[1, 2]", True),
        ("not_in", "[1, 2]", False),
    ],
)
def test_each_operator_compares_the_fact_with_the_literal(
    make_policy: PolicyFactory,
    request_dict: dict[str, Any],
    op: str,
    value: str,
    expected: bool,
) -> None:
    policy = make_policy(
        f'[[rule]]\nid = "r"\nwhen = {{ fact = "line.qty", {op} = {value} }}\n'
        'decide = "approve"\n'
    )
    assert matched(policy.evaluate(request_dict)) == [["r"] if expected else []]


def test_a_fact_is_compared_with_another_fact(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "within"
when = { fact = "line.qty", le = { fact = "line.returnable_qty" } }
decide = "approve"
[[rule]]
id = "over"
when = { fact = "line.qty", gt = { fact = "line.returnable_qty" } }
decide = "reject"
[[rule]]
id = "part-of-request"
when = { fact = "line.amount", lt = { fact = "request.amount" } }
"""
    )
    request_dict["lines"][0]["qty"] = 4
    request = with_line2(request_dict)
    request["order"]["lines"][1]["returned_qty"] = 2  # nothing left on line 2
    decision = policy.evaluate(request)
    assert matched(decision) == [
        ["within", "part-of-request"],
        ["over", "part-of-request"],
    ]
    assert decision.decision == "partial"


def test_a_money_fact_compares_with_money_literals(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "big"
when = { fact = "line.amount", ge = "300.00" }
[[rule]]
id = "small"
when = { fact = "line.amount", lt = 300 }
[[rule]]
id = "listed"
when = { fact = "line.unit_price", in = [35.5, "180"] }
"""
    )
    decision = policy.evaluate(with_line2(request_dict))
    assert matched(decision) == [["big", "listed"], ["small", "listed"]]


ABSENT_RULES = """
[[rule]]
id = "eq"
when = { fact = "sample.level", eq = 1 }
[[rule]]
id = "ne"
when = { fact = "sample.level", ne = 1 }
[[rule]]
id = "lt"
when = { fact = "sample.level", lt = 1 }
[[rule]]
id = "ge"
when = { fact = "sample.level", ge = 1 }
[[rule]]
id = "in"
when = { fact = "sample.level", in = [1, 2] }
[[rule]]
id = "not_in"
when = { fact = "sample.level", not_in = [1, 2] }
[[rule]]
id = "vs-fact"
when = { fact = "sample.level", ne = { fact = "line.qty" } }
[[rule]]
id = "fact-vs"
when = { fact = "line.qty", ne = { fact = "sample.level" } }
[[rule]]
id = "not-ne"
when = { not = { fact = "sample.level", ne = 1 } }
[[rule]]
id = "present"
when = { fact = "sample.level", present = true }
[[rule]]
id = "absent"
when = { fact = "sample.level", present = false }
"""


@pytest.mark.parametrize("explain", [False, True], ids=["compiled", "explain"])
def test_every_comparison_with_an_absent_optional_fact_is_false(
    make_policy: PolicyFactory, request_dict: dict[str, Any], explain: bool
) -> None:
    policy = make_policy(ABSENT_RULES)
    decision = policy.evaluate(request_dict, data={}, explain=explain)
    # only "present = false" and the negation of a false comparison match
    assert matched(decision) == [["not-ne", "absent"]]


@pytest.mark.parametrize("explain", [False, True], ids=["compiled", "explain"])
@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (1, ["eq", "ge", "in", "vs-fact", "fact-vs", "not-ne", "present"]),
        (2, ["ne", "ge", "in", "present"]),
        (5, ["ne", "ge", "not_in", "vs-fact", "fact-vs", "present"]),
    ],
)
def test_a_present_optional_fact_compares_normally(
    make_policy: PolicyFactory,
    request_dict: dict[str, Any],
    explain: bool,
    level: int,
    expected: list[str],
) -> None:
    policy = make_policy(ABSENT_RULES)
    decision = policy.evaluate(request_dict, data={"level": level}, explain=explain)
    assert matched(decision) == [expected]


def test_request_level_facts_are_visible_to_every_line(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        '[[rule]]\nid = "workshop"\n'
        'when = { all = [ { fact = "customer.tier", eq = "workshop" }, '
        '{ fact = "order.channel", eq = "online" }, '
        '{ fact = "request.kind", eq = "return" } ] }\n'
        'decide = "approve"\n'
    )
    decision = policy.evaluate(with_line2(request_dict))
    assert matched(decision) == [["workshop"], ["workshop"]]
    assert decision.decision == "approve"


# -- 2. the line's decision ------------------------------------------------------------


def _deciders(*decides: str) -> str:
    return "".join(
        f'[[rule]]\nid = "{d}-rule"\ndecide = "{d}"\nmessage = "{d} {{line.qty}}"\n'
        for d in decides
    )


@pytest.mark.parametrize(
    ("decides", "expected"),
    [
        (("approve", "review", "reject"), "reject"),
        (("reject", "approve"), "reject"),
        (("approve", "review"), "review"),
        (("review", "approve"), "review"),
        (("approve",), "approve"),
    ],
)
def test_reject_beats_review_beats_approve(
    make_policy: PolicyFactory,
    request_dict: dict[str, Any],
    decides: tuple[str, ...],
    expected: str,
) -> None:
    policy = make_policy(_deciders(*decides))
    (line,) = policy.evaluate(request_dict).lines
    assert line.decision == expected
    assert line.decided_by == (f"{expected}-rule",)
    assert line.messages == (f"{expected} 2",)
    assert line.matched == tuple(f"{d}-rule" for d in decides)


def test_decided_by_lists_every_matched_rule_with_the_decision_in_file_order(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "first"
decide = "reject"
message = "one"
[[rule]]
id = "quiet"
decide = "reject"
[[rule]]
id = "approver"
decide = "approve"
message = "never shown"
[[rule]]
id = "unmatched"
when = { fact = "line.qty", gt = 100 }
decide = "reject"
message = "not matched"
[[rule]]
id = "last"
decide = "reject"
message = "two"
"""
    )
    (line,) = policy.evaluate(request_dict).lines
    assert line.decision == "reject"
    assert line.decided_by == ("first", "quiet", "last")
    assert line.messages == ("one", "two")
    assert line.matched == ("first", "quiet", "approver", "last")


@pytest.mark.parametrize("default", ["approve", "reject", "review"])
def test_the_policy_default_applies_when_no_matched_rule_decides(
    make_policy: PolicyFactory, request_dict: dict[str, Any], default: str
) -> None:
    header = f'version = 1\n[policy]\ncurrency = "CNY"\ndefault = "{default}"\n'
    policy = make_policy(
        """
[[rule]]
id = "just-notes"
then = [ { action = "note", to = "desk" } ]
for = ["approve", "reject", "review"]
[[rule]]
id = "would-reject"
when = { fact = "line.qty", gt = 100 }
decide = "reject"
message = "too many"
""",
        header=header,
    )
    (line,) = policy.evaluate(request_dict).lines
    assert line.decision == default
    assert line.decided_by == ()
    assert line.messages == ()
    assert line.matched == ("just-notes",)
    assert [a.action for a in line.actions] == ["note"]


def test_the_default_default_is_review(request_dict: dict[str, Any]) -> None:
    policy = returnrules.loads_policy(
        'version = 1\n[policy]\ncurrency = "CNY"\n', autoload=False
    )
    assert policy.default == "review"
    assert policy.evaluate(request_dict).lines[0].decision == "review"


def test_messages_render_fact_placeholders(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "r"
decide = "reject"
message = "{line.qty} x {part.sku}: {line.amount}, {line.reason}, kit {part.kit}, level {sample.level}, {{braces}}"
"""  # noqa: E501
    )
    (line,) = policy.evaluate(request_dict).lines
    # enums show their vocabulary label, money its currency, absent facts "—"
    assert line.messages == (
        "2 x BOSCH-0986494: 360.00 CNY, 错发配件, kit false, level —, {braces}",
    )


def test_a_policy_label_is_used_in_messages(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        '[vocab.reason]\nwrong_part = "Wrong part sent"\n'
        '[[rule]]\nid = "r"\ndecide = "reject"\nmessage = "{line.reason}"\n'
    )
    assert policy.evaluate(request_dict).lines[0].messages == ("Wrong part sent",)


# -- 3. which rules' actions apply -----------------------------------------------------


def test_a_deciding_rules_actions_apply_only_for_its_own_decision(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "approve-and-pay"
decide = "approve"
then = [ { action = "pay" } ]
[[rule]]
id = "reject-electrical"
when = { fact = "part.category", eq = "electrical" }
decide = "reject"
then = [ { action = "hold" } ]
"""
    )
    first, second = policy.evaluate(with_line2(request_dict)).lines
    assert [(a.action, a.rule) for a in first.actions] == [("pay", "approve-and-pay")]
    assert [(a.action, a.rule) for a in second.actions] == [
        ("hold", "reject-electrical")
    ]


def test_a_rule_without_decide_acts_only_on_approve_by_default(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "pay-always"
then = [ { action = "pay", percent = 50 } ]
[[rule]]
id = "approve-brake"
when = { fact = "part.category", eq = "brake" }
decide = "approve"
[[rule]]
id = "reject-electrical"
when = { fact = "part.category", eq = "electrical" }
decide = "reject"
"""
    )
    first, second = policy.evaluate(with_line2(request_dict)).lines
    assert [a.to_dict() for a in first.actions] == [
        {"action": "pay", "rule": "pay-always", "amount": "180.00"}
    ]
    assert second.decision == "reject"
    assert second.actions == ()


def test_a_rule_without_decide_does_not_act_on_the_review_default(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy('[[rule]]\nid = "pay"\nthen = [ { action = "pay" } ]\n')
    (line,) = policy.evaluate(request_dict).lines
    assert line.decision == "review"
    assert line.actions == ()


def test_for_reject_acts_on_a_rejection_decided_by_another_rule(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "tell-customer"
for = ["reject"]
then = [ { action = "note", to = "customer", message = "rejected: {line.reason}" } ]
[[rule]]
id = "reject-electrical"
when = { fact = "part.category", eq = "electrical" }
decide = "reject"
[[rule]]
id = "approve-brake"
when = { fact = "part.category", eq = "brake" }
decide = "approve"
"""
    )
    first, second = policy.evaluate(with_line2(request_dict)).lines
    assert first.decision == "approve"
    assert first.actions == ()
    assert [a.to_dict() for a in second.actions] == [
        {
            "action": "note",
            "rule": "tell-customer",
            "to": "customer",
            "message": "rejected: 质量问题",
        }
    ]


def test_for_may_list_several_decisions_and_overrides_decide(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "review-and-hold"
decide = "review"
for = ["approve", "review"]
then = [ { action = "hold" } ]
[[rule]]
id = "pay-on-reject-only"
decide = "review"
for = ["reject"]
then = [ { action = "pay" } ]
"""
    )
    (line,) = policy.evaluate(request_dict).lines
    assert line.decision == "review"
    assert [a.rule for a in line.actions] == ["review-and-hold"]


# -- 4. single and multiple actions ----------------------------------------------------


def test_a_single_action_goes_to_the_highest_priority_rule(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "low"
decide = "approve"
then = [ { action = "pay", percent = 10 } ]
[[rule]]
id = "high"
decide = "approve"
priority = 5
then = [ { action = "pay", percent = 50 } ]
[[rule]]
id = "negative"
decide = "approve"
priority = -1
then = [ { action = "pay", percent = 90 } ]
"""
    )
    (line,) = policy.evaluate(request_dict).lines
    assert [a.to_dict() for a in line.actions] == [
        {"action": "pay", "rule": "high", "amount": "180.00"}
    ]
    assert [o.to_dict() for o in line.overridden] == [
        {"action": "pay", "rule": "low", "by": "high"},
        {"action": "pay", "rule": "negative", "by": "high"},
    ]


def test_a_priority_tie_goes_to_the_earliest_rule_in_the_file(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "low"
decide = "approve"
then = [ { action = "pay", percent = 10 } ]
[[rule]]
id = "first-of-two"
decide = "approve"
priority = 3
then = [ { action = "pay", percent = 50 } ]
[[rule]]
id = "second-of-two"
decide = "approve"
priority = 3
then = [ { action = "pay", percent = 20 } ]
"""
    )
    (line,) = policy.evaluate(request_dict).lines
    assert [a.rule for a in line.actions] == ["first-of-two"]
    assert [(o.rule, o.by) for o in line.overridden] == [
        ("low", "first-of-two"),
        ("second-of-two", "first-of-two"),
    ]


def test_only_rules_whose_actions_apply_compete_for_a_single_action(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "pays-on-reject"
priority = 100
for = ["reject"]
then = [ { action = "pay", percent = 10 } ]
[[rule]]
id = "pays-on-approve"
decide = "approve"
then = [ { action = "pay", percent = 50 } ]
"""
    )
    (line,) = policy.evaluate(request_dict).lines
    assert [a.rule for a in line.actions] == ["pays-on-approve"]
    assert line.overridden == ()


def test_different_single_actions_do_not_compete(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "a"
decide = "approve"
then = [ { action = "pay" }, { action = "hold" } ]
[[rule]]
id = "b"
decide = "approve"
priority = 1
then = [ { action = "hold" } ]
"""
    )
    (line,) = policy.evaluate(request_dict).lines
    assert [(a.action, a.rule) for a in line.actions] == [("pay", "a"), ("hold", "b")]
    assert [o.to_dict() for o in line.overridden] == [
        {"action": "hold", "rule": "a", "by": "b"}
    ]


def test_a_multiple_action_keeps_every_distinct_occurrence_once(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "a"
decide = "approve"
then = [
  { action = "note", to = "warehouse" },
  { action = "note", to = "customer", message = "qty {line.qty}" },
]
[[rule]]
id = "b"
decide = "approve"
priority = 9
then = [
  { action = "note", to = "warehouse" },
  { action = "note", to = "customer", message = "qty 2" },
  { action = "note", to = "finance" },
]
"""
    )
    (line,) = policy.evaluate(request_dict).lines
    assert [a.to_dict() for a in line.actions] == [
        {"action": "note", "rule": "a", "to": "warehouse", "message": ""},
        {"action": "note", "rule": "a", "to": "customer", "message": "qty 2"},
        {"action": "note", "rule": "b", "to": "finance", "message": ""},
    ]
    assert line.overridden == ()


# -- 5. the request's decision ---------------------------------------------------------


@pytest.mark.parametrize(
    ("electrical", "brake", "expected"),
    [
        ("approve", "approve", "approve"),
        ("reject", "reject", "reject"),
        ("approve", "review", "review"),
        ("reject", "review", "review"),
        ("approve", "reject", "partial"),
        ("reject", "approve", "partial"),
    ],
)
def test_the_request_decision_combines_the_lines(
    make_policy: PolicyFactory,
    request_dict: dict[str, Any],
    electrical: str,
    brake: str,
    expected: str,
) -> None:
    policy = make_policy(
        f"""
[[rule]]
id = "electrical"
when = {{ fact = "part.category", eq = "electrical" }}
decide = "{electrical}"
[[rule]]
id = "brake"
when = {{ fact = "part.category", eq = "brake" }}
decide = "{brake}"
"""
    )
    decision = policy.evaluate(with_line2(request_dict))
    assert [line.decision for line in decision.lines] == [brake, electrical]
    assert decision.decision == expected


def test_a_single_line_request_takes_the_line_decision(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy('[[rule]]\nid = "r"\ndecide = "reject"\n')
    assert policy.evaluate(request_dict).decision == "reject"


def test_lines_are_reported_in_request_order_by_order_line_number(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy('[[rule]]\nid = "r"\ndecide = "approve"\n')
    request = with_line2(request_dict)
    request["lines"].reverse()
    assert [line.line for line in policy.evaluate(request).lines] == [2, 1]


# -- 6. fault isolation ----------------------------------------------------------------

FAULTS = {
    "check-raises": (
        '{ check = "explode" }',
        f"check explode (plugin {SAMPLE})",
        "RuntimeError: the sample check exploded",
    ),
    "fact-raises": (
        '{ fact = "sample.boom", gt = 1 }',
        f"fact sample.boom (plugin {SAMPLE})",
        "RuntimeError: the sample fact exploded",
    ),
    "fact-wrong-type": (
        '{ fact = "sample.wrong", gt = 1 }',
        f"fact sample.wrong (plugin {SAMPLE})",
        "FactTypeError: fact sample.wrong (int) resolved to 'not an int'",
    ),
    "check-not-bool": (
        '{ check = "sloppy" }',
        f"check sloppy (plugin {SAMPLE})",
        "CheckResultError: returned 'yes', not true or false",
    ),
}


@pytest.mark.parametrize("explain", [False, True], ids=["compiled", "explain"])
@pytest.mark.parametrize("fault", FAULTS)
def test_a_failing_condition_makes_only_its_line_review(
    make_policy: PolicyFactory,
    request_dict: dict[str, Any],
    fault: str,
    explain: bool,
) -> None:
    condition, source, message = FAULTS[fault]
    policy = make_policy(
        f"""
[[rule]]
id = "fragile"
when = {{ all = [ {{ fact = "part.category", eq = "electrical" }}, {condition} ] }}
decide = "reject"
[[rule]]
id = "approve-all"
decide = "approve"
then = [ {{ action = "pay" }} ]
"""
    )
    decision = policy.evaluate(with_line2(request_dict), explain=explain)
    brake, electrical = decision.lines
    assert brake.decision == "approve"
    assert brake.errors == ()
    assert [a.action for a in brake.actions] == ["pay"]
    assert electrical.decision == "review"
    assert electrical.matched == ("approve-all",)  # the other rules still run
    assert electrical.actions == ()
    assert [e.to_dict() for e in electrical.errors] == [
        {"rule": "fragile", "source": source, "message": message}
    ]
    assert decision.decision == "review"


def test_a_failing_action_makes_its_line_review(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "crashing"
when = { fact = "part.category", eq = "electrical" }
decide = "approve"
then = [ { action = "crash" }, { action = "pay" } ]
[[rule]]
id = "approve-all"
decide = "approve"
then = [ { action = "hold" } ]
"""
    )
    brake, electrical = policy.evaluate(with_line2(request_dict)).lines
    assert brake.decision == "approve"
    assert [a.action for a in brake.actions] == ["hold"]
    assert electrical.decision == "review"
    assert [e.to_dict() for e in electrical.errors] == [
        {
            "rule": "crashing",
            "source": f"action crash (plugin {SAMPLE})",
            "message": "RuntimeError: the sample action crashed",
        }
    ]
    # the line is re-planned as review: approve-only actions do not apply
    assert electrical.actions == ()


def test_a_failed_fact_is_not_resolved_again_and_fails_later_rules(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "first"
when = { fact = "sample.boom", gt = 1 }
decide = "reject"
[[rule]]
id = "second"
when = { fact = "sample.boom", lt = 1 }
decide = "reject"
[[rule]]
id = "fine"
decide = "approve"
"""
    )
    (line,) = policy.evaluate(request_dict).lines
    assert sample.CALLS["sample.boom"] == 1
    assert line.decision == "review"
    assert line.matched == ("fine",)
    assert [(e.rule, e.message) for e in line.errors] == [
        ("first", "RuntimeError: the sample fact exploded"),
        (
            "second",
            "FactUnavailable: fact sample.boom is unavailable: its resolver "
            "failed earlier on this line",
        ),
    ]


def test_a_failing_message_placeholder_makes_the_line_review(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        '[[rule]]\nid = "r"\ndecide = "reject"\nmessage = "boom: {sample.boom}"\n'
    )
    (line,) = policy.evaluate(request_dict).lines
    assert line.decision == "review"
    assert [(e.rule, e.source) for e in line.errors] == [("r", "message")]


def test_a_batch_goes_on_after_a_bad_request_and_a_failing_line(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        '[[rule]]\nid = "boom"\nwhen = { check = "explode" }\n'
        '[[rule]]\nid = "ok"\ndecide = "approve"\n'
    )
    bad = copy.deepcopy(request_dict)
    bad["lines"][0]["qty"] = 0
    second = copy.deepcopy(request_dict)
    second["id"] = "RT-2"
    results = list(policy.evaluate_many([request_dict, bad, second]))
    assert isinstance(results[0], Decision)
    assert results[0].decision == "review"
    assert isinstance(results[1], RequestError)
    assert [str(p) for p in results[1].problems] == [
        "$.lines[0].qty: must be ≥ 1, got 0"
    ]
    assert isinstance(results[2], Decision)
    assert results[2].request == "RT-2"


def test_evaluate_many_is_lazy(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy('[[rule]]\nid = "r"\ndecide = "approve"\n')

    def requests() -> Any:
        yield request_dict
        raise AssertionError("read too far")

    first = next(iter(policy.evaluate_many(requests())))
    assert isinstance(first, Decision)


# -- facts: lazily, at most once per line ----------------------------------------------

THREE_READERS = """
[[rule]]
id = "a"
when = { fact = "sample.level", gt = 1 }
decide = "approve"
[[rule]]
id = "b"
when = { fact = "sample.level", lt = 10 }
[[rule]]
id = "c"
when = { any = [ { fact = "line.qty", gt = 100 }, { fact = "sample.level", eq = 5 } ] }
message = "level {sample.level}"
decide = "approve"
"""


@pytest.mark.parametrize("explain", [False, True], ids=["compiled", "explain"])
def test_a_fact_read_by_several_rules_is_resolved_once_per_line(
    make_policy: PolicyFactory, request_dict: dict[str, Any], explain: bool
) -> None:
    policy = make_policy(THREE_READERS)
    decision = policy.evaluate(
        with_line2(request_dict), data={"level": 5}, explain=explain
    )
    assert matched(decision) == [["a", "b", "c"], ["a", "b", "c"]]
    assert decision.lines[0].messages == ("level 5",)
    assert sample.CALLS == {"sample.level": 2}  # one per line


@pytest.mark.parametrize("explain", [False, True], ids=["compiled", "explain"])
def test_a_fact_behind_a_false_all_branch_is_never_resolved(
    make_policy: PolicyFactory, request_dict: dict[str, Any], explain: bool
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "short"
when = { all = [
  { fact = "line.qty", gt = 100 },
  { fact = "sample.level", eq = 1 },
  { check = "flag" },
  { fact = "sample.boom", eq = 1 },
] }
decide = "reject"
[[rule]]
id = "any-stops-at-true"
when = { any = [ { fact = "line.qty", ge = 1 }, { check = "explode" } ] }
decide = "approve"
"""
    )
    (line,) = policy.evaluate(request_dict, explain=explain).lines
    assert line.decision == "approve"
    assert line.errors == ()
    assert sample.CALLS == {}


def test_facts_no_rule_needs_are_not_resolved(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        '[[rule]]\nid = "r"\nwhen = { fact = "line.qty", ge = 1 }\ndecide = "approve"\n'
        '[[rule]]\nid = "s"\nwhen = { fact = "sample.boom", ge = 1 }\n'
        'for = ["reject"]\nthen = [ { action = "hold" } ]\n'
    )
    policy.evaluate(request_dict, data={"level": 1})
    assert "sample.level" not in sample.CALLS


# -- core facts ------------------------------------------------------------------------


def _facts(policy: returnrules.Policy, request: dict[str, Any]) -> dict[str, Any]:
    trace = policy.evaluate(request, explain=True).lines[0].trace
    assert trace is not None
    return dict(trace["facts"])


CORE_FACTS = (
    "request.kind",
    "request.days_since_order",
    "request.days_since_delivery",
    "request.amount",
    "line.returnable_qty",
    "line.amount",
    "part.core_charge",
    "part.supplier",
    "part.warranty_days",
    "part.obsolete",
    "request.return_shipping",
)
CORE_READER = "".join(
    f'[[rule]]\nid = "read-{i}"\nwhen = {{ fact = "{name}", present = true }}\n'
    for i, name in enumerate(CORE_FACTS)
)


def test_core_facts_are_computed_from_the_request(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(CORE_READER)
    request_dict["lines"][0]["qty"] = 3
    request_dict["order"]["lines"][0]["returned_qty"] = 1
    facts = _facts(policy, with_line2(request_dict))
    assert facts == {
        "request.kind": "return",
        "request.days_since_order": 19,
        "request.days_since_delivery": 16,
        "request.amount": "575.50",  # 3 x 180.00 + 1 x 35.50
        "line.returnable_qty": 3,
        "line.amount": "540.00",
        "part.core_charge": "0.00",
        "part.supplier": "SUP-BOSCH",
        "part.warranty_days": None,  # absent: the order line gives none
        "part.obsolete": False,
        "request.return_shipping": None,
    }


def test_the_optional_part_and_return_facts_of_a_request(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(CORE_READER)
    request_dict["return_shipping"] = "15.00"
    request_dict["order"]["lines"][0].update(warranty_days=365, obsolete=True)
    facts = _facts(policy, request_dict)
    assert facts["part.warranty_days"] == 365
    assert facts["part.obsolete"] is True
    assert facts["request.return_shipping"] == "15.00"


@pytest.mark.parametrize(
    ("delivered_at", "requested_at", "days"),
    [
        # 40 minutes, but another calendar day
        ("2026-11-19T23:30:00+08:00", "2026-11-20T00:10:00+08:00", 1),
        # 16:05 UTC is 00:05 on the 20th in +08:00: the same day
        ("2026-11-19T16:05:00+00:00", "2026-11-20T00:10:00+08:00", 0),
        # a bare date is that date
        ("2026-11-19", "2026-11-20T00:10:00+08:00", 1),
        # the same UTC date, but 23:00 on the 19th in -05:00
        ("2026-11-20T04:00:00+00:00", "2026-11-20T06:00:00-05:00", 1),
    ],
)
def test_day_counts_are_calendar_days_in_the_offset_of_requested_at(
    make_policy: PolicyFactory,
    request_dict: dict[str, Any],
    delivered_at: str,
    requested_at: str,
    days: int,
) -> None:
    policy = make_policy(CORE_READER)
    request_dict["requested_at"] = requested_at
    request_dict["order"]["delivered_at"] = delivered_at
    assert _facts(policy, request_dict)["request.days_since_delivery"] == days


def test_a_cancellation_has_no_delivery_days_and_counts_unshipped_qty(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(CORE_READER)
    request_dict["order"]["status"] = "allocated"
    del request_dict["order"]["delivered_at"]
    facts = _facts(policy, request_dict)
    assert facts["request.kind"] == "cancel"
    assert facts["request.days_since_delivery"] is None
    assert facts["line.returnable_qty"] == 4


# -- the API around evaluate -----------------------------------------------------------


def test_evaluate_accepts_a_mapping_or_a_parsed_request(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy('[[rule]]\nid = "r"\ndecide = "approve"\n')
    from_mapping = policy.evaluate(request_dict)
    from_request = policy.evaluate(policy.parse_request(request_dict))
    assert from_mapping == from_request
    assert from_mapping.decision == "approve"


def test_evaluate_raises_request_error_for_a_bad_mapping(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy("")
    request_dict["lines"][0]["reason"] = "defectve"
    with pytest.raises(RequestError, match=r"\$\.lines\[0\]\.reason"):
        policy.evaluate(request_dict)


def test_to_dict_has_exactly_the_contract_shape(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "wrong-part"
when = { fact = "line.reason", eq = "wrong_part" }
decide = "approve"
message = "错发: {part.sku}"
then = [ { action = "pay" }, { action = "note", to = "warehouse" } ]
[[rule]]
id = "boom"
when.all = [ { fact = "part.category", eq = "electrical" }, { check = "explode" } ]
"""
    )
    result = policy.evaluate(with_line2(request_dict)).to_dict()
    assert result == {
        "request": "RT-1",
        "decision": "review",
        "lines": [
            {
                "line": 1,
                "decision": "approve",
                "matched": ["wrong-part"],
                "decided_by": ["wrong-part"],
                "messages": ["错发: BOSCH-0986494"],
                "actions": [
                    {"action": "pay", "rule": "wrong-part", "amount": "360.00"},
                    {
                        "action": "note",
                        "rule": "wrong-part",
                        "to": "warehouse",
                        "message": "",
                    },
                ],
                "errors": [],
            },
            {
                "line": 2,
                "decision": "review",
                "matched": [],
                "decided_by": [],
                "messages": [],
                "actions": [],
                "errors": [
                    {
                        "rule": "boom",
                        "source": f"check explode (plugin {SAMPLE})",
                        "message": "RuntimeError: the sample check exploded",
                    }
                ],
            },
        ],
    }
    assert list(result) == ["request", "decision", "lines"]
    assert list(result["lines"][0]) == [
        "line",
        "decision",
        "matched",
        "decided_by",
        "messages",
        "actions",
        "errors",
    ]


def test_to_dict_has_a_trace_only_when_explained(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy('[[rule]]\nid = "r"\ndecide = "approve"\n')
    plain = policy.evaluate(request_dict)
    explained = policy.evaluate(request_dict, explain=True)
    assert "trace" not in plain.to_dict()
    assert plain.trace is None
    assert list(explained.to_dict()) == ["request", "decision", "lines", "trace"]
    without_trace = {k: v for k, v in explained.to_dict().items() if k != "trace"}
    assert without_trace == plain.to_dict()


def test_action_results_give_money_objects_in_python_and_strings_in_json(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        '[[rule]]\nid = "r"\ndecide = "approve"\nthen = [ { action = "pay" } ]\n'
    )
    decision = policy.evaluate(request_dict)
    (action,) = decision.actions
    assert action["amount"] == returnrules.Money.of("360.00", "CNY")
    assert action.to_dict()["amount"] == "360.00"
