"""The analysis of ``returnrules check`` and the counterfactuals of ``--why-not``.

Each kind of finding is shown on a tiny policy built to contain it; the
shipped policy has none.  Soundness is tested, not assumed: over random
policies and requests (``tests/strategies.py``), a rule reported as never
matching never matches, a rule that never decides never decides, an action
that never wins never wins, and a line in a region reported to get the
default gets it (unless a rule the region names matches).  Counterfactuals
are confirmed by evaluating the changed request again.

``RETURNRULES_ANALYSIS_EXAMPLES`` sets the number of random policies (CI:
40) and ``RETURNRULES_ANALYSIS_REQUESTS`` the random requests they share (CI:
10,000, the number of issue 14).  A few requests per policy are drawn by
hypothesis, the rest sampled by a seeded ``random.Random`` over the same
domains (``tests/strategies.py``: one generator, two ways to choose), which
is what makes 10,000 take seconds.  The long run is recorded in
docs/reliability.md.
"""

from __future__ import annotations

import copy
import json
import os
import random
import tomllib
import types
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import returnrules
from returnrules import Policy, cli
from returnrules.model.decision import DecisionName
from returnrules.model.errors import RequestError
from returnrules.model.request import Request
from returnrules.plugin.api import UNSET, Data, LineContext
from returnrules.policy import whynot
from returnrules.policy.analysis import Analysis
from returnrules.policy.levers import LEVERS, changed
from returnrules.policy.logic import Space
from tests.strategies import (
    Sampled,
    Vocab,
    conditions,
    make_data,
    make_request,
    policies,
    requests,
)
from tests.test_differential import load as load_differential

ROOT = Path(__file__).resolve().parent.parent
HEAD = 'version = 1\n[policy]\ncurrency = "CNY"\n'
EXAMPLES = int(os.environ.get("RETURNRULES_ANALYSIS_EXAMPLES", "40"))
REQUESTS = int(os.environ.get("RETURNRULES_ANALYSIS_REQUESTS", "10000"))
DRAWN = 4
"""Requests per random policy drawn by hypothesis (they cost ~10 ms each)."""
SAMPLED = max(0, -(-REQUESTS // EXAMPLES) - DRAWN)
"""Requests per random policy sampled by random.Random (~0.1 ms each)."""


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


def _requests() -> list[dict[str, Any]]:
    """Every example request, then a few random ones (same seed every run)."""
    folder = ROOT / "examples" / "requests"
    out: list[dict[str, Any]] = [
        tomllib.loads(path.read_text("utf-8")) if path.suffix == ".toml"
        else json.loads(path.read_text("utf-8"))
        for path in sorted(folder.iterdir())
    ]  # fmt: skip
    pick = Sampled(random.Random(14))
    return out + [make_request(pick, Vocab(), "CNY") for _ in range(8)]


@pytest.mark.parametrize("target", ["approve", "review", "reject"])
def test_pruning_never_loses_an_option(
    target: DecisionName, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sets of changes skipped because they cannot give the target would
    indeed have given nothing: the answers are those of the full search."""
    policy = returnrules.load_policy(ROOT / "rules.toml")
    lines = [
        (request, line.line)
        for request in _requests()
        for line in policy.plan(request, DATA).lines
        if line.decision != target
    ]
    pruned = [policy.why_not(r, DATA, line=n, target=target) for r, n in lines]
    monkeypatch.setattr(whynot, "_may_give", lambda *args: True)
    full = [policy.why_not(r, DATA, line=n, target=target) for r, n in lines]
    assert [a.options for a in pruned] == [a.options for a in full]
    assert sum(a.evaluated for a in pruned) < sum(a.evaluated for a in full) / 2


def test_each_lever_moves_exactly_the_core_facts_it_says() -> None:
    """The pruning trusts ``Lever.moves``: changing a lever on any example
    line changes no other core fact of that line."""
    policy = returnrules.load_policy(ROOT / "rules.toml")
    core = [n for n, fact in enumerate(policy.facts) if fact.plugin == "core"]
    names = {n: policy.facts[n].name for n in core}
    values: dict[str, list[object]] = {
        "code": ["opened", "damaged", "installed"], "count": [1, 2, 7],
        "days": [-1, 3, 40], "line.packaging": ["missing"],
        "line.reason": ["defective"], "customer.tier": ["vip"],
        "order.channel": ["phone"],
    }  # fmt: skip
    seen: dict[str, set[str]] = {}
    for request in _requests():
        parsed = policy.parse_request(request)
        for index in range(len(parsed.pairs)):
            before = _values(policy, parsed, index, core)
            for lever in LEVERS.values():
                for value in values.get(lever.fact, values[lever.kind]):
                    mapping = changed(request, index, {lever: value},
                                      parsed.requested_at)  # fmt: skip
                    try:
                        after = policy.parse_request(mapping)
                    except RequestError:  # e.g. before the delivery
                        continue
                    now = _values(policy, after, index, core)
                    moved = {names[n] for n in core if now[n] != before[n]}
                    assert moved <= set(lever.moves), (lever.fact, value, moved)
                    seen.setdefault(lever.fact, set()).update(moved)
    assert all(seen[f] for f in LEVERS), seen  # each was seen moving something


def _values(policy: Policy, request: Request, index: int, facts: list[int]
            ) -> dict[int, object]:  # fmt: skip
    rline, oline = request.pairs[index]
    ctx = LineContext(request, rline, oline, Data(), policy.registry.hooks,
                      policy.facts)  # fmt: skip
    ctx.values = [UNSET] * len(policy.facts)
    return {n: ctx.fact_value(n) for n in facts}


def test_a_line_no_change_can_help_is_answered_without_evaluating() -> None:
    """The non-returnable hose, returned because it was ordered wrong: the rule
    that rejects it reads none of the actionable facts."""
    policy = returnrules.load_policy(ROOT / "rules.toml")
    answer = policy.why_not(_request("05-electrical-opened.toml"), DATA, line=2)
    assert (answer.options, answer.evaluated, answer.complete) == ((), 0, True)


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


def _in_region(
    policy: Policy,
    analysis: Analysis,
    spaces: list[Space],
    request: Request,
    data: Data,
) -> list[tuple[int, tuple[str, ...]]]:
    """For each line (by index): the ``unless`` rules of the region it is in,
    or nothing when it is in no uncovered region."""
    facts = policy.engine.facts
    out = []
    for index, (rline, oline) in enumerate(request.pairs):
        ctx = LineContext(request, rline, oline, data, policy.registry.hooks, facts)
        ctx.values = [UNSET] * len(facts)
        for region in analysis.coverage.regions:
            inside = all(
                spaces[n].contains(allowed, ctx.fact_value(n))
                for n, allowed in region.allowed.items()
            )
            if inside:
                out.append((index, region.unless))
    return out


@pytest.fixture(scope="module")
def tally() -> Iterator[Counter[str]]:
    """What the random requests met, over every policy: the test is not
    vacuous (printed with ``pytest -s``, for docs/reliability.md)."""
    counts: Counter[str] = Counter()
    yield counts
    print("\nsoundness over random policies:", dict(sorted(counts.items())))
    if counts["policies"] >= EXAMPLES:  # a whole run (some examples stop early)
        assert counts["requests"] >= REQUESTS
        assert counts["never-matches"]
        assert counts["lines in a region, no rule of unless matched"]


@_SETTINGS
@given(_contradictory(), st.integers(0, 2**32 - 1), st.data())
def test_findings_hold_on_random_requests(
    tally: Counter[str], case: dict[str, Any], seed: int, data: st.DataObject
) -> None:
    """Over each random policy, a few requests drawn by hypothesis (with its
    boundary values) and many sampled by a seeded random.Random over the
    same domains, each with random plugin data (no faults)."""
    doc, vocab, currency = case["doc"], case["vocab"], case["currency"]
    assert isinstance(vocab, Vocab)
    policy = _load(doc)
    analysis = policy.analyze()

    def rules(code: str) -> set[str]:
        return {
            policy.rules[int(f.issue.path[1])].id
            for f in analysis.findings
            if f.issue.code == code
        }

    never, dead = rules("never-matches"), rules("never-decides")
    losing = {
        (policy.rules[int(f.issue.path[1])].then[int(f.issue.path[3])].action.name,
         policy.rules[int(f.issue.path[1])].id)
        for f in analysis.findings
        if f.issue.code == "action-never-wins"
    }  # fmt: skip
    tally.update(
        {"policies": 1, "never-matches": len(never), "never-decides": len(dead),
         "action-never-wins": len(losing),
         "uncovered regions": len(analysis.coverage.regions)}
    )  # fmt: skip
    spaces = [Space.of(f.name, f.type, policy.vocabularies) for f in policy.facts]
    pick = Sampled(random.Random(seed))
    mappings = [data.draw(requests(vocab, currency)) for _ in range(DRAWN)]
    mappings += (make_request(pick, vocab, currency) for _ in range(SAMPLED))
    for mapping in mappings:
        numbers = [line["line"] for line in mapping["lines"]]
        snapshot = Data(make_data(pick, numbers, vocab, fault_percent=0))
        request = policy.parse_request(mapping)
        plan = policy.plan(request, snapshot)
        tally["requests"] += 1
        for line in plan.lines:
            tally["lines"] += 1
            assert not line.errors
            assert not never & set(line.matched)
            assert not dead & set(line.decided_by)
            assert not losing & set(line.steps)
        for index, unless in _in_region(policy, analysis, spaces, request, snapshot):
            tally["lines in a region"] += 1
            line = plan.lines[index]
            if not set(unless) & set(line.matched):
                tally["lines in a region, no rule of unless matched"] += 1
                assert line.decision == policy.default, (line, unless)
                assert line.decided_by == ()


@_SETTINGS
@given(
    st.integers(0, 120),
    st.dictionaries(st.sampled_from(["workshop", "vip", "fleet"]), st.integers(0, 90)),
    st.sampled_from(["delivery", "order"]),
    st.integers(0, 2**32 - 1),
    st.data(),
)
def test_the_deadline_check_is_its_declared_condition(
    days: int, per_tier: dict[str, int], start: str, seed: int, data: st.DataObject
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
    pick = Sampled(random.Random(seed))
    mappings = [data.draw(requests(Vocab(), "CNY")) for _ in range(DRAWN)]
    mappings += (make_request(pick, Vocab(), "CNY") for _ in range(100 - DRAWN))
    for mapping in mappings:
        for line in policy.plan(mapping).lines:
            assert ("check" in line.matched) == ("facts" in line.matched)
