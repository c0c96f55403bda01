"""The trace (``evaluate(..., explain=True)``); it agrees with the compiled path."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import returnrules
from tests.conftest import BASE_REQUEST, HEADER, PolicyFactory
from tests.plugins import sample


def trace_of(
    policy: returnrules.Policy,
    request: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The trace entries of the first line, one per rule."""
    trace = policy.evaluate(request, data, explain=True).lines[0].trace
    assert trace is not None
    return list(trace["rules"])


def test_every_rule_has_an_entry_saying_whether_it_matched(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "yes"
when = { fact = "line.qty", eq = 2 }
decide = "approve"
[[rule]]
id = "no"
when = { fact = "line.qty", eq = 3 }
decide = "reject"
[[rule]]
id = "always"
"""
    )
    assert trace_of(policy, request_dict) == [
        {
            "rule": "yes",
            "matched": True,
            "condition": {
                "fact": "line.qty",
                "value": 2,
                "op": "eq",
                "expected": 2,
                "result": True,
            },
        },
        {
            "rule": "no",
            "matched": False,
            "condition": {
                "fact": "line.qty",
                "value": 2,
                "op": "eq",
                "expected": 3,
                "result": False,
            },
        },
        {"rule": "always", "matched": True, "condition": None},
    ]


def test_a_line_trace_has_the_decision_the_facts_seen_and_the_overridden(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "a"
when = { fact = "line.reason", eq = "wrong_part" }
decide = "approve"
then = [ { action = "pay" } ]
[[rule]]
id = "b"
when = { fact = "line.amount", gt = { fact = "line.unit_price" } }
priority = 2
then = [ { action = "pay", percent = 50 } ]
"""
    )
    decision = policy.evaluate(request_dict, explain=True)
    assert decision.trace == [
        {
            "line": 1,
            "rules": trace_of(policy, request_dict),
            "decision": "approve",
            "facts": {
                "line.reason": "wrong_part",
                "line.amount": "360.00",
                "line.unit_price": "180.00",
            },
            "overridden": [{"action": "pay", "rule": "a", "by": "b"}],
        }
    ]


def test_a_leaf_shows_literals_as_written_and_money_as_strings(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "r"
when = { all = [
  { fact = "line.reason", in = ["defective", "wrong_part"] },
  { fact = "part.kit", ne = true },
  { fact = "line.amount", ge = { fact = "line.unit_price" } },
] }
decide = "approve"
"""
    )
    (entry,) = trace_of(policy, request_dict)
    assert entry["condition"] == {
        "all": [
            {
                "fact": "line.reason",
                "value": "wrong_part",
                "op": "in",
                "expected": ["defective", "wrong_part"],
                "result": True,
            },
            {
                "fact": "part.kit",
                "value": False,
                "op": "ne",
                "expected": True,
                "result": True,
            },
            {
                "fact": "line.amount",
                "value": "360.00",
                "op": "ge",
                "expected": {"fact": "line.unit_price", "value": "180.00"},
                "result": True,
            },
        ],
        "result": True,
    }


def test_a_check_leaf_has_its_params_result_and_explanation(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        '[[rule]]\nid = "r"\nwhen = { check = "flag", value = false }\n'
        'decide = "reject"\n'
    )
    (entry,) = trace_of(policy, request_dict)
    assert entry == {
        "rule": "r",
        "matched": False,
        "condition": {
            "check": "flag",
            "params": {"value": False},
            "result": False,
            "explanation": "flag=False",
        },
    }


def test_branches_after_a_short_circuit_are_marked_skipped(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "r"
when = { any = [
  { not = { fact = "line.qty", gt = 5 } },
  { all = [ { check = "flag" }, { fact = "sample.level", present = true } ] },
  { not = { fact = "line.qty", lt = { fact = "sample.level" } } },
] }
decide = "approve"
"""
    )
    (entry,) = trace_of(policy, request_dict)
    assert entry["condition"] == {
        "any": [
            {
                "not": {
                    "fact": "line.qty",
                    "value": 2,
                    "op": "gt",
                    "expected": 5,
                    "result": False,
                },
                "result": True,
            },
            {
                "all": [
                    {"check": "flag", "params": {}, "skipped": True},
                    {
                        "fact": "sample.level",
                        "op": "present",
                        "expected": True,
                        "skipped": True,
                    },
                ],
                "result": None,
                "skipped": True,
            },
            {
                "not": {
                    "fact": "line.qty",
                    "op": "lt",
                    "expected": {"fact": "sample.level"},
                    "skipped": True,
                },
                "result": None,
                "skipped": True,
            },
        ],
        "result": True,
    }
    assert sample.CALLS == {}  # skipped branches resolve nothing


def test_an_absent_optional_fact_is_marked_absent(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "left"
when = { fact = "sample.level", ne = 1 }
[[rule]]
id = "right"
when = { fact = "line.qty", lt = { fact = "sample.level" } }
[[rule]]
id = "present"
when = { fact = "sample.level", present = false }
"""
    )
    left, right, present = trace_of(policy, request_dict)
    assert left["condition"] == {
        "fact": "sample.level",
        "value": None,
        "op": "ne",
        "expected": 1,
        "result": False,
        "absent": True,
    }
    assert right["condition"] == {
        "fact": "line.qty",
        "value": 2,
        "op": "lt",
        "expected": {"fact": "sample.level", "value": None},
        "result": False,
        "absent": True,
    }
    assert present["condition"] == {
        "fact": "sample.level",
        "value": None,
        "op": "present",
        "expected": False,
        "result": True,
    }


def test_a_failing_rule_has_the_error_in_its_entry(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        '[[rule]]\nid = "boom"\nwhen = { all = [ { fact = "line.qty", ge = 1 }, '
        '{ check = "explode" } ] }\n'
    )
    (entry,) = trace_of(policy, request_dict)
    assert entry == {
        "rule": "boom",
        "matched": False,
        "error": "RuntimeError: the sample check exploded",
        "condition": {
            "all": [
                {
                    "fact": "line.qty",
                    "value": 2,
                    "op": "ge",
                    "expected": 1,
                    "result": True,
                },
                {
                    "check": "explode",
                    "params": {},
                    "result": None,
                    "error": "RuntimeError: the sample check exploded",
                },
            ],
            "result": None,
        },
    }


def test_an_explanation_that_raises_does_not_change_the_outcome(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    def bad_explain(ctx: returnrules.LineContext, params: object) -> str:
        raise ValueError("no words")

    class Plugin:
        __name__ = "explainer"

        @returnrules.hookimpl
        def returnrules_register_checks(self, register: Any) -> None:
            register(returnrules.Check("mute", lambda c, p: True, explain=bad_explain))

    policy = make_policy(
        '[[rule]]\nid = "r"\nwhen = { check = "mute" }\ndecide = "approve"\n',
        plugins=[sample, Plugin()],
    )
    decision = policy.evaluate(request_dict, explain=True)
    assert decision.decision == "approve"
    (entry,) = trace_of(policy, request_dict)
    assert (
        entry["condition"]["explanation"]
        == "(explanation failed: ValueError: no words)"
    )


def test_each_line_has_its_own_trace(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        '[[rule]]\nid = "r"\nwhen = { fact = "part.category", eq = "brake" }\n'
        'decide = "approve"\n'
    )
    request_dict["lines"].append(
        {"line": 2, "qty": 1, "reason": "defective", "condition": "opened"}
    )
    decision = policy.evaluate(request_dict, explain=True)
    assert decision.trace is not None
    assert [(t["line"], t["decision"]) for t in decision.trace] == [
        (1, "approve"),
        (2, "review"),
    ]
    assert [t["rules"][0]["matched"] for t in decision.trace] == [True, False]


# -- the explain path and the compiled path agree --------------------------------------

AGREEMENT_POLICIES = {
    "nested": """
[[rule]]
id = "a"
when = { any = [ { all = [ { fact = "line.qty", ge = 2 }, { check = "flag" } ] },
                 { not = { fact = "sample.level", present = true } } ] }
decide = "approve"
then = [ { action = "pay" }, { action = "note", to = "x", message = "{sample.level}" } ]
[[rule]]
id = "b"
when = { fact = "part.category", in = ["electrical"] }
decide = "reject"
then = [ { action = "hold" } ]
for = ["reject", "review"]
""",
    "errors": """
[[rule]]
id = "boom"
when.all = [ { fact = "part.category", eq = "electrical" }, { check = "explode" } ]
[[rule]]
id = "fact-boom"
when = { fact = "sample.boom", gt = 1 }
decide = "reject"
[[rule]]
id = "again"
when = { fact = "sample.boom", lt = 1 }
[[rule]]
id = "sloppy"
when = { check = "sloppy" }
[[rule]]
id = "ok"
decide = "approve"
""",
    "priorities": """
[[rule]]
id = "a"
decide = "approve"
then = [ { action = "pay", percent = 10 } ]
[[rule]]
id = "b"
priority = 3
when = { fact = "line.qty", gt = { fact = "sample.level" } }
then = [ { action = "pay", percent = 20 }, { action = "crash" } ]
[[rule]]
id = "c"
priority = 3
then = [ { action = "pay", percent = 30 } ]
for = ["approve", "review"]
""",
}


def _without_trace(decision: returnrules.Decision) -> dict[str, Any]:
    return {k: v for k, v in decision.to_dict().items() if k != "trace"}


@pytest.mark.parametrize("level", [None, 1, 3])
@pytest.mark.parametrize("name", AGREEMENT_POLICIES)
def test_the_explain_path_and_the_compiled_path_agree(
    make_policy: PolicyFactory,
    request_dict: dict[str, Any],
    name: str,
    level: int | None,
) -> None:
    policy = make_policy(AGREEMENT_POLICIES[name])
    request_dict["lines"].append(
        {"line": 2, "qty": 1, "reason": "defective", "condition": "opened"}
    )
    data = {} if level is None else {"level": level}
    compiled = policy.evaluate(request_dict, data)
    compiled_calls = dict(sample.CALLS)
    sample.CALLS.clear()
    explained = policy.evaluate(request_dict, data, explain=True)
    assert _without_trace(explained) == compiled.to_dict()
    assert [line.overridden for line in explained.lines] == [
        line.overridden for line in compiled.lines
    ]
    assert compiled_calls == sample.CALLS  # the same facts and checks ran


# A random policy: conditions over a few core facts and the sample plugin.

FACT_LEAVES: list[st.SearchStrategy[dict[str, Any]]] = [
    st.builds(
        lambda op, n: {"fact": "line.qty", op: n},
        st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge"]),
        st.integers(0, 5),
    ),
    st.builds(
        lambda op, codes: {"fact": "line.reason", op: codes},
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(["wrong_part", "defective", "other"]), max_size=2),
    ),
    st.builds(
        lambda op, code: {"fact": "part.category", op: code},
        st.sampled_from(["eq", "ne"]),
        st.sampled_from(["brake", "electrical", "engine"]),
    ),
    st.builds(
        lambda op, b: {"fact": "part.kit", op: b},
        st.sampled_from(["eq", "ne"]),
        st.booleans(),
    ),
    st.builds(
        lambda op, n: {"fact": "sample.level", op: n},
        st.sampled_from(["eq", "ne", "lt", "ge", "in", "not_in"]),
        st.integers(0, 4),
    ).map(
        lambda leaf: (
            {**leaf, leaf_op: [leaf[leaf_op]]}
            if (leaf_op := next(k for k in leaf if k != "fact")) in ("in", "not_in")
            else leaf
        )
    ),
    st.builds(
        lambda b: {"fact": "sample.level", "present": b},
        st.booleans(),
    ),
    st.builds(
        lambda op, swap: (
            {"fact": "sample.level", op: {"fact": "line.qty"}}
            if swap
            else {"fact": "line.qty", op: {"fact": "sample.level"}}
        ),
        st.sampled_from(["eq", "ne", "lt", "gt"]),
        st.booleans(),
    ),
    st.builds(lambda b: {"check": "flag", "value": b}, st.booleans()),
    # optional core facts: part.supplier is absent on line 2, the delivery days
    # when the order is only shipped
    st.one_of(
        st.builds(
            lambda op, s: {"fact": "part.supplier", op: s},
            st.sampled_from(["eq", "ne"]),
            st.sampled_from(["SUP-BOSCH", "SUP-NGK"]),
        ),
        st.builds(lambda b: {"fact": "part.supplier", "present": b}, st.booleans()),
        st.builds(
            lambda op, n: {"fact": "request.days_since_delivery", op: n},
            st.sampled_from(["lt", "ge", "ne"]),
            st.integers(14, 18),
        ),
        st.builds(
            lambda op: {"fact": "line.amount", op: {"fact": "line.unit_price"}},
            st.sampled_from(["eq", "gt"]),
        ),
    ),
    # faults: one leaf kind in ten, so most examples exercise matching
    st.sampled_from(
        [
            {"check": "explode"},
            {"check": "sloppy"},
            {"fact": "sample.boom", "gt": 1},
            {"fact": "sample.wrong", "eq": 1},
        ]
    ),
]


CONDITIONS: st.SearchStrategy[dict[str, Any]] = st.recursive(
    st.one_of(*FACT_LEAVES),
    lambda inner: st.one_of(
        st.builds(lambda items: {"all": items}, st.lists(inner, max_size=3)),
        st.builds(lambda items: {"any": items}, st.lists(inner, max_size=3)),
        st.builds(lambda item: {"not": item}, inner),
    ),
    max_leaves=6,
)

ACTIONS = st.lists(
    st.one_of(
        st.builds(lambda p: {"action": "pay", "percent": p}, st.integers(0, 100)),
        st.just({"action": "hold"}),
        st.builds(
            lambda to: {"action": "note", "to": to, "message": "{line.qty}"},
            st.sampled_from(["a", "b"]),
        ),
        st.just({"action": "crash"}),
    ),
    max_size=3,
    unique_by=lambda a: a["action"] if a["action"] != "note" else a["to"],
)


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if draw(st.booleans()):
        rule["when"] = draw(CONDITIONS)
    decide = draw(st.sampled_from([None, "approve", "reject", "review"]))
    if decide is not None:
        rule["decide"] = decide
    then = draw(ACTIONS)
    if then:
        rule["then"] = then
        rule["priority"] = draw(st.integers(-1, 2))
        if draw(st.booleans()):
            rule["for"] = draw(
                st.lists(
                    st.sampled_from(["approve", "reject", "review"]),
                    min_size=1,
                    max_size=3,
                    unique=True,
                )
            )
    return rule


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    request = copy.deepcopy(BASE_REQUEST)
    reasons = st.sampled_from(["wrong_part", "defective", "other"])
    request["lines"] = [
        {
            "line": 1,
            "qty": draw(st.integers(1, 4)),
            "reason": draw(reasons),
            "condition": "unopened",
        },
        {
            "line": 2,
            "qty": draw(st.integers(1, 2)),
            "reason": draw(reasons),
            "condition": "opened",
        },
    ]
    request["order"]["lines"][1]["kit"] = draw(st.booleans())
    if draw(st.booleans()):
        request["order"]["status"] = "shipped"
        del request["order"]["delivered_at"]
    return request


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    rule_list=st.lists(rules(), min_size=1, max_size=5),
    request=requests(),
    level=st.one_of(st.none(), st.integers(0, 4)),
    default=st.sampled_from(["approve", "reject", "review"]),
)
def test_random_policies_decide_the_same_with_and_without_explain(
    rule_list: list[dict[str, Any]],
    request: dict[str, Any],
    level: int | None,
    default: str,
) -> None:
    doc = {
        "version": 1,
        "policy": {"currency": "CNY", "default": default},
        "rule": [{"id": f"r{i}", **rule} for i, rule in enumerate(rule_list)],
    }
    policy = returnrules.loads_policy(
        tomli_w.dumps(doc), plugins=[sample], autoload=False
    )
    data = {} if level is None else {"level": level}
    sample.CALLS.clear()
    compiled = policy.evaluate(request, data)
    compiled_calls = dict(sample.CALLS)
    sample.CALLS.clear()
    explained = policy.evaluate(request, data, explain=True)
    assert _without_trace(explained) == compiled.to_dict()
    assert compiled_calls == sample.CALLS
    event(f"request decision {compiled.decision}")
    event(f"lines with errors: {sum(bool(line.errors) for line in compiled.lines)}")
    # every rule has an entry, and "matched" agrees with the decision
    assert explained.trace is not None
    for line, trace in zip(explained.lines, explained.trace, strict=True):
        entries = trace["rules"]
        assert [e["rule"] for e in entries] == [r.id for r in policy.rules]
        assert tuple(e["rule"] for e in entries if e["matched"]) == line.matched
        assert trace["decision"] == line.decision


def test_the_generated_policies_parse_with_the_header_fixture() -> None:
    # a sanity check for the generator: tomli_w output is a valid policy
    doc = {"rule": [{"id": "x", "when": {"all": [{"fact": "line.qty", "eq": 1}]}}]}
    text = HEADER + tomli_w.dumps(doc)
    policy = returnrules.loads_policy(text, plugins=[sample], autoload=False)
    assert [r.id for r in policy.rules] == ["x"]
