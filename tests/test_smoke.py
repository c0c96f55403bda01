"""The library API of DESIGN.md, end to end, in a few lines."""

from __future__ import annotations

from typing import Any

from tests.conftest import PolicyFactory


def test_a_request_is_decided_with_actions(
    make_policy: PolicyFactory, request_dict: dict[str, Any]
) -> None:
    policy = make_policy(
        """
[[rule]]
id = "wrong-part"
when = { fact = "line.reason", eq = "wrong_part" }
decide = "approve"
then = [ { action = "pay" } ]
"""
    )
    decision = policy.evaluate(policy.parse_request(request_dict))
    assert decision.decision == "approve"
    assert str(decision.lines[0].actions[0]["amount"]) == "360.00 CNY"
    assert decision.to_dict()["lines"][0]["actions"] == [
        {"action": "pay", "rule": "wrong-part", "amount": "360.00"}
    ]
