"""Tiny inline policies and requests for the standard plugin pack's tests.

``policy(rules)`` loads a policy with the entry-point plugins (the standard pack
among them), exactly as a user's ``rules.toml`` would be; ``make_request()``
builds a valid request mapping that a test changes where it matters.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import returnrules

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules.toml"
EXAMPLES = REPO / "examples"

HEADER = """\
version = 1
[policy]
currency = "{currency}"
default = "review"
"""

BASE_ORDER: dict[str, Any] = {
    "id": "SO-88812",
    "status": "delivered",
    "channel": "online",
    "placed_at": "2026-11-01T09:30:00+08:00",
    "shipped_at": "2026-11-02T15:00:00+08:00",
    "delivered_at": "2026-11-04T11:00:00+08:00",
    "shipping_fee": "20.00",
}

BASE_LINE: dict[str, Any] = {
    "line": 1,
    "sku": "BOSCH-0986494",
    "name": "前刹车片",
    "brand": "Bosch",
    "category": "brake",
    "qty": 4,
    "unit_price": "180.00",
    "supplier": "SUP-BOSCH",
}

BASE_RETURN: dict[str, Any] = {
    "line": 1,
    "qty": 2,
    "reason": "wrong_part",
    "condition": "unopened",
}


def policy(
    rules: str, *, currency: str = "CNY", plugins: Iterable[object] = ()
) -> returnrules.Policy:
    """A policy made of the standard header and *rules*, with the entry points."""
    return returnrules.loads_policy(
        HEADER.format(currency=currency) + rules, source="rules.toml", plugins=plugins
    )


def problems(rules: str, **kwargs: Any) -> list[str]:
    """The problems ``policy(rules)`` reports, as ``FILE:LINE:COL: ...`` lines."""
    with pytest.raises(returnrules.PolicyError) as info:
        policy(rules, **kwargs)
    return [str(p) for p in info.value.problems]


def make_request(
    *,
    requested_at: str = "2026-11-20T10:00:00+08:00",
    tier: str = "retail",
    order: Mapping[str, Any] | None = None,
    line: Mapping[str, Any] | None = None,
    lines: Iterable[Mapping[str, Any]] | None = None,
    returns: Iterable[Mapping[str, Any]] | None = None,
    **ret: Any,
) -> dict[str, Any]:
    """A valid request: 2 of 4 Bosch pads at 180.00, delivered 2026-11-04.

    *order* changes order keys and *line* those of order line 1 (a None value
    removes the key); *lines* replaces the order lines; *returns* replaces the return
    lines; other keywords change return line 1 (``qty=3``, ``reason=...``).
    """
    the_order = _changed(BASE_ORDER, order or {})
    if lines is None:
        lines = [_changed(BASE_LINE, line or {})]
    the_order["lines"] = [dict(item) for item in lines]
    if returns is None:
        returns = [{**BASE_RETURN, **ret}]
    return {
        "id": "RT-TEST",
        "requested_at": requested_at,
        "customer": {"id": "C-1001", "tier": tier},
        "order": the_order,
        "lines": [dict(item) for item in returns],
    }


def _changed(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of *base* with *changes*; a None value removes the key."""
    out = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def first_line(
    the_policy: returnrules.Policy,
    request: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
) -> returnrules.LineDecision:
    """The decision of the request's first line."""
    return the_policy.evaluate(request, data).lines[0]


def actions(line: returnrules.LineDecision) -> list[dict[str, Any]]:
    """The line's actions as the JSON output shows them."""
    return [a.to_dict() for a in line.actions]


def _nodes(node: object) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _nodes(item)


def explanations(decision: returnrules.Decision, check: str) -> list[str]:
    """Every explanation of *check* in an explained decision's trace."""
    return [
        str(node["explanation"])
        for node in _nodes(decision.trace)
        if node.get("check") == check and "explanation" in node
    ]


def load_shipped_policy() -> returnrules.Policy:
    """``rules.toml`` at the repository root, loaded as a user loads it."""
    return returnrules.load_policy(RULES)
