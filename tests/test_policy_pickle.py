"""A policy crosses process boundaries as what it was loaded from.

Regression (issue 10): a policy pickled with its generated code evaluated
wrongly in another process without an error (messages rendered ``<unset>``:
the identity of a sentinel did not survive).  Now ``Policy.__reduce__`` gives
its origin - source text, directory, plugins - and the other process loads and
compiles it again, once per process.
"""

from __future__ import annotations

import copy
import multiprocessing
import pickle
from pathlib import Path
from typing import Any

import returnrules
from returnrules.policy.policy import _compiled
from tests.conftest import BASE_REQUEST

ROOT = Path(__file__).parent.parent


def _evaluate(payload: bytes) -> list[dict[str, Any]]:
    """In a fresh (spawned) interpreter: unpickle a policy and decide."""
    policy = pickle.loads(payload)
    requests = [copy.deepcopy(BASE_REQUEST)]
    data = {"stock": {"BOSCH-0986494": {"on_hand": 9}}}
    return [policy.evaluate(r, data, explain=True).to_dict() for r in requests]


def here(policy: returnrules.Policy) -> list[dict[str, Any]]:
    data = {"stock": {"BOSCH-0986494": {"on_hand": 9}}}
    request = copy.deepcopy(BASE_REQUEST)
    return [policy.evaluate(request, data, explain=True).to_dict()]


POLICY = """
version = 1
[policy]
currency = "CNY"
default = "review"
[[rule]]
id = "say"
when = { fact = "line.qty", ge = 1 }
decide = "approve"
message = "{part.sku} × {line.qty}, {line.reason}, {stock.available} left"
then = [{ action = "refund", fee_percent = 10 },
        { action = "notify", to = "customer", message = "{line.amount}" }]
"""


def test_a_policy_pickles_as_its_origin_and_decides_the_same() -> None:
    policy = returnrules.loads_policy(POLICY, source="inline.toml")
    copied = pickle.loads(pickle.dumps(policy))
    assert copied is not policy
    assert copied.text == policy.text
    assert here(copied) == here(policy)
    assert "<unset>" not in str(here(copied))


def test_a_policy_decides_the_same_in_a_spawned_process() -> None:
    policy = returnrules.load_policy(ROOT / "rules.toml")
    expected = here(policy)
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        got = pool.apply(_evaluate, (pickle.dumps(policy),))
    assert got == expected
    assert "<unset>" not in str(got)


def test_a_policy_is_compiled_once_per_process() -> None:
    policy = returnrules.loads_policy(POLICY)
    payload = pickle.dumps(policy)
    first, second = pickle.loads(payload), pickle.loads(payload)
    assert first is second  # the same origin: the same compiled policy
    assert _compiled.cache_info().currsize >= 1


def test_plugins_passed_in_code_travel_with_the_policy() -> None:
    policy = returnrules.loads_policy(
        POLICY.replace("{stock.available}", "{sample.level}"),
        plugins=[SamplePlugin()],
    )
    copied = pickle.loads(pickle.dumps(policy))
    assert [p.name for p in copied.registry.plugins][-1] == "SamplePlugin"
    assert here(copied) == here(policy)


class SamplePlugin:
    """A picklable host plugin (a module-level class)."""

    @returnrules.hookimpl
    def returnrules_register_facts(self, register: Any) -> None:
        register(
            returnrules.Fact("sample.level", returnrules.FactType("int"), lambda ctx: 7)
        )
