"""Shared fixtures: build tiny policies and requests inline."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import returnrules
from tests.plugins import sample

HEADER = """\
version = 1
[policy]
currency = "CNY"
default = "review"
"""

BASE_REQUEST: dict[str, Any] = {
    "id": "RT-1",
    "requested_at": "2026-11-20T10:00:00+08:00",
    "customer": {"id": "C-1", "tier": "workshop"},
    "order": {
        "id": "SO-1",
        "status": "delivered",
        "channel": "online",
        "placed_at": "2026-11-01T09:30:00+08:00",
        "delivered_at": "2026-11-04T11:00:00+08:00",
        "shipping_fee": "20.00",
        "lines": [
            {
                "line": 1,
                "sku": "BOSCH-0986494",
                "category": "brake",
                "qty": 4,
                "unit_price": "180.00",
                "supplier": "SUP-BOSCH",
            },
            {
                "line": 2,
                "sku": "NGK-BKR6E",
                "category": "electrical",
                "qty": 2,
                "unit_price": "35.50",
            },
        ],
    },
    "lines": [{"line": 1, "qty": 2, "reason": "wrong_part", "condition": "unopened"}],
}

PolicyFactory = Callable[..., returnrules.Policy]


@pytest.fixture
def request_dict() -> dict[str, Any]:
    """A fresh, valid request mapping that a test may change."""
    return copy.deepcopy(BASE_REQUEST)


@pytest.fixture
def make_policy() -> PolicyFactory:
    """``make_policy(rules_toml)``: a policy with the header and the sample plugin.

    The entry-point plugins are not loaded, so core tests see only the core and
    the sample plugin.
    """

    def make(rules: str, *, header: str = HEADER, **kwargs: Any) -> returnrules.Policy:
        kwargs.setdefault("plugins", [sample])
        kwargs.setdefault("autoload", False)
        return returnrules.loads_policy(header + rules, source="rules.toml", **kwargs)

    return make


@pytest.fixture(autouse=True)
def _reset_sample_calls() -> Iterator[None]:
    sample.CALLS.clear()
    yield
    sample.CALLS.clear()
