"""The facts a counterfactual may change, and how a request changes with each.

A *lever* is something about a request the desk could see differently: the
line's condition, packaging, quantity or reason, the customer's tier, the
order's channel, or the day the request is made (which moves
``request.days_since_delivery`` and ``request.days_since_order`` together).
Only core facts read straight from the request have one; a policy's
``[explain] actionable`` may name only these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

__all__ = ["LEVERS", "Lever", "changed"]

Kind = Literal["code", "count", "days"]


@attrs.frozen
class Lever:
    """How fact *fact* is changed in a request mapping.

    *key* names the lever (two facts may share one: the request's date);
    *place* is where the value goes: ``("lines", "condition")`` is the
    condition of the return line being explained.  *moves* are every core
    fact of the line whose value the lever can change: ``--why-not`` skips
    the changes that cannot move a rule, so a fact missing here would hide
    answers (a plugin's fact is assumed to depend on anything).
    """

    fact: str
    key: str
    kind: Kind
    moves: tuple[str, ...]
    place: tuple[str, ...] = ()


_DAYS: Final = ("request.days_since_delivery", "request.days_since_order")

LEVERS: Final[Mapping[str, Lever]] = {
    lever.fact: lever
    for lever in (
        Lever("line.condition", "condition", "code", ("line.condition",),
              ("lines", "condition")),
        Lever("line.packaging", "packaging", "code", ("line.packaging",),
              ("lines", "packaging")),
        Lever("line.qty", "qty", "count",
              ("line.qty", "line.amount", "request.amount"), ("lines", "qty")),
        Lever("line.reason", "reason", "code", ("line.reason",),
              ("lines", "reason")),
        Lever("customer.tier", "tier", "code", ("customer.tier",),
              ("customer", "tier")),
        Lever("order.channel", "channel", "code", ("order.channel",),
              ("order", "channel")),
        Lever("request.days_since_delivery", "date", "days", _DAYS),
        Lever("request.days_since_order", "date", "days", _DAYS),
    )
}  # fmt: skip
"""Every fact a counterfactual can change, by name."""


def changed(
    mapping: Mapping[str, Any],
    line_index: int,
    changes: Mapping[Lever, object],
    requested_at: dt.datetime,
) -> dict[str, Any]:
    """A copy of request *mapping* with *changes* made to return line *line_index*.

    A ``days`` lever's value is a number of days to move the request's date
    (*requested_at*, as parsed) by.  Only the tables on the way to a change
    are copied: *mapping* is never modified, and the rest is shared with it.
    """
    out: dict[str, Any] = dict(mapping)
    for lever, value in changes.items():
        if lever.kind == "days":
            assert isinstance(value, int)
            out["requested_at"] = (requested_at + dt.timedelta(days=value)).isoformat()
        elif lever.place[0] == "lines":
            lines = out["lines"] = list(out["lines"])
            line = lines[line_index] = dict(lines[line_index])
            line[lever.place[1]] = value
        else:
            table = out[lever.place[0]] = dict(out.get(lever.place[0], {}))
            table[lever.place[1]] = value
    return out
