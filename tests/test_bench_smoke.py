"""The benchmark in bench/ keeps working: a tiny workload, checked, not timed.

bench/run.py times the engine against a hand-written function; these tests
make sure the pieces it relies on stay right: the policy loads cleanly, the
workload is deterministic, and the engine and the hand-written function agree
on every line.
"""

from __future__ import annotations

import tomllib

import pytest
from bench import bigpolicy, breakdown, handwritten, run, workload

import returnrules

SEED = 5


@pytest.fixture(scope="module")
def policy() -> returnrules.Policy:
    return returnrules.load_policy(run.POLICY_PATH)


@pytest.fixture(scope="module")
def parsed(policy: returnrules.Policy) -> list[returnrules.Request]:
    return [policy.parse_request(d) for d in workload.generate(300, SEED)]


def test_the_benchmark_policy_has_20_rules_and_loads_without_problems(
    policy: returnrules.Policy,
) -> None:
    assert len(policy.rules) == 20
    assert policy.warnings == ()
    assert policy.default == "approve"


def test_the_workload_is_the_same_for_the_same_seed() -> None:
    assert workload.generate(40, SEED) == workload.generate(40, SEED)
    assert workload.generate(40, SEED) != workload.generate(40, SEED + 1)
    assert list(workload.iter_requests(40, SEED)) == workload.generate(40, SEED)


def test_the_workload_data_passes_the_plugins_checks(
    policy: returnrules.Policy,
) -> None:
    policy.check_data(workload.make_data())


def test_the_workload_covers_every_decision_and_action(
    policy: returnrules.Policy, parsed: list[returnrules.Request]
) -> None:
    data = workload.make_data()
    seen = {
        (d, a)
        for request in parsed
        for d, actions in handwritten.decide(request, data)
        for a in actions or ("-",)
    }
    assert {d for d, _ in seen} == {"approve", "reject", "review"}
    assert {a for _, a in seen} >= {
        "refund",
        "restock",
        "return_to_supplier",
        "exchange",
        "scrap",
        "notify",
    }


def test_plan_and_evaluate_agree_with_the_handwritten_function(
    policy: returnrules.Policy, parsed: list[returnrules.Request]
) -> None:
    counts, found = run.agreement(
        policy, parsed, workload.make_data(), explain_sample=100
    )
    shown = "\n".join(str(d) for d in found[:5])
    assert counts == {"plan": 0, "evaluate": 0, "explain": 0}, shown


def test_the_generated_big_policy_is_what_its_rules_say_and_loads() -> None:
    text = bigpolicy.make_big_policy(60)
    assert tomllib.loads(text)["rule"] == bigpolicy.big_policy_rules(60)
    big = returnrules.loads_policy(text, source="big.toml")
    assert len(big.rules) == 60
    # Generated at random, some rules repeat another's conditions: the analysis
    # says so (the checker itself has nothing to say).
    assert {w.code for w in big.warnings} <= {"duplicate-conditions", "never-matches"}


def test_the_breakdown_rebuilds_every_model_object_of_a_request(
    parsed: list[returnrules.Request],
) -> None:
    # Its "model objects" floor times these constructions: they must give back
    # the very request the reader built, or the floor measures something else.
    for request in parsed[:50]:
        built = {cls: cls(*args) for cls, args in breakdown._constructions(request)}
        assert built[returnrules.Request] == request
        assert built[returnrules.Customer] == request.customer
        assert built[returnrules.Order] == request.order


def test_the_breakdown_runs_every_row() -> None:
    rows = dict(breakdown.measure(20, 1))
    assert list(rows)[:3] == [
        "floor: date-times and decimals (stdlib)",
        "floor: the model objects, values given",
        "floor: hand-written decide (parsed)",
    ]
    assert all(micros > 0 for micros in rows.values())


def test_the_analysis_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import analysis

    assert analysis.main(["--repeat", "1", "--big-rules", "40"]) in (0, 1)
    out = capsys.readouterr().out
    assert "rules.toml: 29 rules, analyze()" in out
    assert "10-return-window-closed.toml           line 1 reject" in out
    assert out.rstrip().splitlines()[-1].startswith("targets: analyze rules.toml")


def test_the_smt_comparison_says_so_when_z3_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import smt

    monkeypatch.setattr(smt, "z3", None)
    assert smt.main() == 0
    assert "z3 is not installed" in capsys.readouterr().out


def test_the_review_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """report and replay as commands over a small ledger; the replay checks
    itself that every recorded decision is reproduced."""
    from bench import review

    assert review.main(["--quick", "--no-dask"]) == 0
    out = capsys.readouterr().out
    assert "| report --json | 3,000 requests, 3,000 lines," in out
    assert "| replay, one process | 3,000 requests, every decision reproduced |" in out
    assert "| replay, --jobs 2 | 3,000 requests, every decision reproduced |" in out
    assert "- reading the history alone" in out
