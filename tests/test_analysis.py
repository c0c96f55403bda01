"""The analysis of ``returnrules check`` and the counterfactuals of ``--why-not``.

Each kind of finding is shown on a tiny policy built to contain it; the
shipped policy has none.  Soundness is tested, not assumed: over random
policies and requests (``tests/strategies.py``), a rule reported as never
matching never matches, a rule that never decides never decides, an action
that never wins never wins, and a line in a region reported to get the
default gets it (unless a rule the region names matches).  Counterfactuals
are confirmed by evaluating the changed request again.

``RETURNRULES_ANALYSIS_EXAMPLES`` sets the number of random policies (CI: 25,
each with 20 requests; 500 policies make the 10,000 requests of issue 14).
"""

from __future__ import annotations

import copy
import os
import tomllib
import types
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import returnrules
from returnrules import Policy, cli
from returnrules.plugin.api import UNSET, Data, LineContext
from returnrules.policy.analysis import Analysis
from tests.strategies import Vocab, conditions, policies, requests
from tests.test_differential import load as load_differential

ROOT = Path(__file__).resolve().parent.parent
HEAD = 'version = 1\n[policy]\ncurrency = "CNY"\n'
EXAMPLES = int(os.environ.get("RETURNRULES_ANALYSIS_EXAMPLES", "25"))
REQUESTS = 20
"""Requests drawn per random policy (more overrun hypothesis's buffer)."""


def load(text: str) -> Policy:
    return returnrules.loads_policy(text, source="rules.toml")


def codes(text: str) -> list[tuple[str, str]]:
    policy = load(text)
    return [(p.code, p.message) for p in policy.problems(policy.analyze())]


FINDINGS = ROOT / "tests" / "data" / "analysis" / "findings.toml"


def test_the_test_policy_shows_every_kind_of_finding() -> None:
    policy = returnrules.load_policy(FINDINGS)
    found = {p.code for p in policy.problems(policy.analyze())}
    assert found == {
        "never-matches",
        "never-decides",
        "action-never-wins",
        "duplicate-conditions",
        "redundant-branch",
        "uncovered",
    }


def test_the_shipped_policy_has_no_finding() -> None:
    policy = returnrules.load_policy(ROOT / "rules.toml")
    analysis = policy.analyze()
    assert policy.problems(analysis) == ()
    assert analysis.coverage.complete
    assert analysis.unanswered == 0


@pytest.mark.parametrize(
    ("when", "why"),
    [
        (
            '[{ fact = "line.qty", gt = 5 }, { fact = "line.qty", lt = 3 }]',
            "no value of line.qty",
        ),
        (
            '[{ fact = "line.amount", gt = 10 }, { fact = "line.amount", le = 10 }]',
            "line.amount",
        ),
        (
            '[{ fact = "part.supplier", present = false }, '
            '{ fact = "part.supplier", eq = "SUP-A" }]',
            "part.supplier",
        ),
        ('[{ fact = "line.condition", in = [] }]', "never holds"),
        ("[{ any = [] }]", 'an empty "any"'),
        (
            '[{ check = "stock_available" }, { not = { check = "stock_available" } }]',
            "check stock_available would have to hold and fail",
        ),
        (
            '[{ check = "delivery_deadline", days = 7 }, '
            '{ fact = "request.days_since_delivery", gt = 7 }]',
            "request.days_since_delivery",
        ),
    ],
)
def test_contradictory_conditions_never_match(when: str, why: str) -> None:
    found = codes(HEAD + f'[[rule]]\nid = "r"\nwhen.all = {when}\ndecide = "reject"\n')
    assert [c for c, _ in found] == ["never-matches"]
    assert why in found[0][1]


def test_a_satisfiable_rule_is_not_reported() -> None:
    text = HEAD + (
        '[[rule]]\nid = "r"\nwhen.all = [{ fact = "line.qty", ge = 3 }, '
        '{ fact = "line.qty", le = 3 }, { not = { check = "stock_available" } }]\n'
        'decide = "reject"\n'
    )
    assert codes(text) == []


def test_a_union_of_stronger_rules_makes_a_decision_dead() -> None:
    text = (
        HEAD
        + """
[[rule]]
id = "opened"
when = { fact = "line.condition", eq = "opened" }
decide = "reject"
[[rule]]
id = "installed"
when = { fact = "line.condition", eq = "installed" }
decide = "review"
[[rule]]
id = "used"
when = { fact = "line.condition", in = ["opened", "installed"] }
decide = "approve"
"""
    )
    ((code, message),) = codes(text)
    assert code == "never-decides"
    assert 'one of rules "opened", "installed"' in message


def test_check_strict_turns_findings_into_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["check", str(FINDINGS)]) == 0
    assert cli.main(["check", "--strict", str(FINDINGS)]) == 1
    out = capsys.readouterr().out
    assert ': error: rule "contradiction" can never match' in out
    assert out.rstrip().endswith("errors.")


def test_check_analyze_prints_the_regions_that_get_the_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["check", "--analyze", str(ROOT / "rules.toml")]) == 0
    out = capsys.readouterr().out
    assert "regions get the default (review)" in out
    assert "other, out_of_stock" in out


def test_an_equivalent_that_does_not_check_is_a_warning() -> None:
    def broken(params: object) -> dict[str, Any]:
        return {"fact": "line.nope", "eq": 1}

    def register_checks(register: Any) -> None:
        register(returnrules.Check("odd", lambda c, p: True, equivalent=broken))

    plugin = types.SimpleNamespace(
        __name__="odd",
        returnrules_register_checks=returnrules.hookimpl(register_checks),
    )
    policy = returnrules.loads_policy(
        HEAD + '[[rule]]\nid = "r"\nwhen = { check = "odd" }\ndecide = "review"\n',
        plugins=[plugin],
    )
    (warning,) = policy.warnings
    assert warning.code == "bad-equivalent"
    assert 'unknown fact "line.nope"' in warning.message


# -- counterfactuals ---------------------------------------------------------

DATA = tomllib.loads((ROOT / "examples" / "data.toml").read_text("utf-8"))


def _request(name: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / "examples" / "requests" / name).read_text("utf-8"))


def test_why_not_names_the_window_in_the_authors_terms() -> None:
    policy = returnrules.load_policy(ROOT / "rules.toml")
    answer = policy.why_not(_request("10-return-window-closed.toml"), DATA)
    assert answer.decision == "reject"
    assert [o.text for o in answer.options] == ["退货日期在签收后 7 天内（现为 12 天）"]
    assert answer.to_dict()["options"][0]["changes"][0]["to"] == "≤ 7"


def test_why_not_options_are_confirmed_by_evaluating_again() -> None:
    policy = returnrules.load_policy(ROOT / "rules.toml")
    request = _request("05-electrical-opened.toml")
    answer = policy.why_not(request, DATA, line=1)
    assert [o.text for o in answer.options] == ["未拆封（现为已拆封）"]
    changed = copy.deepcopy(request)
    changed["lines"][0]["condition"] = "unopened"
    assert policy.evaluate(changed, DATA).lines[0].decision == "approve"


def test_no_change_of_the_actionable_facts_is_an_answer_too() -> None:
    policy = returnrules.load_policy(ROOT / "rules.toml")
    answer = policy.why_not(_request("05-electrical-opened.toml"), DATA, line=2)
    assert answer.options == ()
    assert answer.complete


def test_the_policy_chooses_its_actionable_facts() -> None:
    text = (
        HEAD
        + """
[explain]
actionable = ["customer.tier"]
[[rule]]
id = "workshop"
when = { fact = "customer.tier", eq = "workshop" }
decide = "approve"
"""
    )
    request = _request("10-return-window-closed.toml")
    answer = load(text).why_not(request, None)
    assert [o.text for o in answer.options] == ["客户等级：修理厂（现为零售）"]


# -- soundness over random policies ------------------------------------------

_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@st.composite
def _contradictory(draw: st.DrawFn) -> dict[str, Any]:
    """A policy of the differential tests, plus rules made of a few leaves,
    which often contradict or imply each other."""
    doc, vocab, currency = draw(policies(rule_count=(2, 6), depth=2))
    for i in range(draw(st.integers(2, 6))):
        leaves = draw(st.lists(conditions(vocab, depth=0), min_size=1, max_size=3))
        doc["rule"].append(
            {
                "id": f"c{i}",
                "when": {"all": leaves},
                "decide": draw(st.sampled_from(["approve", "review", "reject"])),
                "then": [{"action": "diff_hold"}],
                "priority": draw(st.integers(0, 2)),
            }
        )
    doc["policy"]["default"] = draw(st.sampled_from(["approve", "reject"]))
    return {"doc": doc, "vocab": vocab, "currency": currency}


def _load(doc: dict[str, Any]) -> Policy:
    """The differential tests' policies: the test plugin and the standard pack."""
    return load_differential(tomli_w.dumps(doc))


def _in_region(policy: Policy, analysis: Analysis, mapping: dict[str, Any],
               data: dict[str, Any]) -> list[tuple[int, tuple[str, ...]]]:  # fmt: skip
    """For each line (by index): the ``unless`` rules of the region it is in,
    or nothing when it is in no uncovered region."""
    from returnrules.policy.logic import Space

    request = policy.parse_request(mapping)
    facts = policy.engine.facts
    spaces = [Space.of(f.name, f.type, policy.vocabularies) for f in facts]
    out = []
    for index, (rline, oline) in enumerate(request.pairs):
        ctx = LineContext(request, rline, oline, Data(data), policy.registry.hooks,
                          facts)  # fmt: skip
        ctx.values = [UNSET] * len(facts)
        for region in analysis.coverage.regions:
            try:
                inside = all(
                    spaces[n].contains(allowed, ctx.fact_value(n))
                    for n, allowed in region.allowed.items()
                )
            except Exception:  # a faulty plugin fact: not in any region
                inside = False
            if inside:
                out.append((index, region.unless))
    return out


@_SETTINGS
@given(_contradictory(), st.data())
def test_findings_hold_on_random_requests(
    case: dict[str, Any], data: st.DataObject
) -> None:
    doc, vocab = case["doc"], case["vocab"]
    assert isinstance(vocab, Vocab)
    policy = _load(doc)
    analysis = policy.analyze()

    def rules(code: str) -> set[int]:
        return {int(f.issue.path[1]) for f in analysis.findings if f.issue.code == code}

    never, dead = rules("never-matches"), rules("never-decides")
    losing = {
        (int(f.issue.path[1]), int(f.issue.path[3]))
        for f in analysis.findings
        if f.issue.code == "action-never-wins"
    }
    ids = {r.index: r.id for r in policy.rules}
    for _ in range(REQUESTS):
        mapping = data.draw(requests(vocab, case["currency"]))
        decision = policy.evaluate(mapping, {})
        for line in decision.lines:
            assert not {ids[i] for i in never} & set(line.matched)
            assert not {ids[i] for i in dead} & set(line.decided_by)
            for rule, j in losing:
                action = policy.rules[rule].then[j].action.name
                assert (action, ids[rule]) not in {
                    (a.action, a.rule) for a in line.actions
                }
        for index, unless in _in_region(policy, analysis, mapping, {}):
            line = decision.lines[index]
            if not set(unless) & set(line.decided_by):
                assert line.decision == policy.default, (line, unless)
                assert line.decided_by == ()


@settings(_SETTINGS, max_examples=EXAMPLES * 2)
@given(
    st.integers(0, 120),
    st.dictionaries(st.sampled_from(["workshop", "vip", "fleet"]), st.integers(0, 90)),
    st.sampled_from(["delivery", "order"]),
    st.data(),
)
def test_the_deadline_check_is_its_declared_condition(
    days: int, per_tier: dict[str, int], start: str, data: st.DataObject
) -> None:
    from returnrules_std.delivery import DeadlineParams, deadline_condition

    params = DeadlineParams(days, per_tier, start)  # type: ignore[arg-type]
    check = {"check": "delivery_deadline", "days": days, "per_tier": per_tier,
             "from": start}  # fmt: skip
    doc = {
        "version": 1,
        "policy": {"currency": "CNY"},
        "rule": [
            {"id": "check", "when": check},
            {"id": "facts", "when": deadline_condition(params)},
        ],
    }
    policy = returnrules.loads_policy(tomli_w.dumps(doc), source="rules.toml")
    for _ in range(20):
        mapping = data.draw(requests(Vocab(), "CNY"))
        for line in policy.evaluate(mapping).lines:
            assert ("check" in line.matched) == ("facts" in line.matched)
