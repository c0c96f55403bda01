"""Canonical JSON and money in minor units: how the desk writes values down.

A request is stored as *canonical JSON* (keys sorted, no spaces, dates as ISO
8601), so the same request always has the same text and the same SHA-256:
that is how a resubmission is told from a conflict.  Money goes into queryable
columns as an integer count of the currency's minor unit (306.00 CNY is
30600), so SQL sums it exactly on both databases.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from returnrules.model.decision import ActionResult, jsonable
from returnrules.model.money import Money, minor_units, round_half_up

__all__ = ["canonical", "digest", "minor", "plain"]


def plain(value: Any) -> Any:
    """*value* with TOML's dates and times as ISO 8601 text, tables and arrays
    copied: what JSON can hold."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return jsonable(value)


def _unusual(value: Any) -> Any:
    """What JSON cannot hold itself: dates as ISO 8601, money as text..."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return plain(value)


def canonical(value: Any) -> str:
    """The canonical JSON text of *value* (the text of :func:`plain`)."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_unusual,
    )


def digest(text: str) -> str:
    """The SHA-256 of *text*, hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def minor(money: Money) -> int:
    """*money* as an integer count of its currency's minor unit, half-up."""
    rounded = round_half_up(money.amount, money.currency)
    return int(rounded.scaleb(minor_units(money.currency)))


def refund_of(actions: Iterable[ActionResult]) -> tuple[int, int]:
    """The money a line's actions pay back and keep: reported ``amount`` and
    ``fee`` of money, in minor units (the refund's, in the standard pack).
    What the desk records for a line and what a replay compares it with."""
    refund = fee = 0
    for action in actions:
        amount, charged = action.fields.get("amount"), action.fields.get("fee")
        if isinstance(amount, Money):
            refund += minor(amount)
        if isinstance(charged, Money):
            fee += minor(charged)
    return refund, fee


def from_minor(count: int, currency: str) -> Decimal:
    """The amount *count* minor units of *currency* make: 30600 CNY → 306.00."""
    return Decimal(count).scaleb(-minor_units(currency))


def shown_minor(count: int, currency: str) -> str:
    """*count* minor units as a person reads them: 48000 CNY → ``480.00 CNY``."""
    return f"{from_minor(count, currency)} {currency}"


__all__ += ["from_minor", "refund_of", "shown_minor"]


def rule_list(ids: Iterable[str]) -> str:
    """A list of rule ids as the desk records it (``lines.decided_by``,
    ``lines.matched``); :func:`rule_ids` reads it back."""
    return json.dumps(list(ids))


@functools.lru_cache(maxsize=4096)
def rule_ids(text: str) -> tuple[str, ...]:
    """A recorded list of rule ids (``lines.decided_by``, ``lines.matched``)
    read back.  The same few lists recur on most lines: each is decoded once.

    ValueError when *text* is not a JSON list (a ledger written by hand)."""
    value = json.loads(text) if isinstance(text, str) else None
    if not isinstance(value, list):
        raise ValueError(f"not a recorded list of rules: {str(text)[:80]!r}")
    return tuple(str(rule) for rule in value)


__all__ += ["rule_ids", "rule_list"]
