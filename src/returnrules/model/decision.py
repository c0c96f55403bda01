"""The result of evaluating a request: decisions, actions, errors and the trace.

``Decision.to_dict()`` is the JSON shape of ``returnrules eval --json``::

    {"request": ..., "decision": ..., "lines": [{"line", "decision", "matched",
     "decided_by", "messages", "actions": [{"action", "rule", ...}], "errors"}]}

plus ``"trace"`` when the request was evaluated with ``explain=True``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from returnrules.model.money import Money

__all__ = [
    "DECISIONS",
    "ActionResult",
    "Decision",
    "DecisionName",
    "EvalError",
    "LineDecision",
    "Overridden",
    "RequestDecision",
    "jsonable",
]

DecisionName = Literal["approve", "reject", "review"]
"""A line's decision."""
DECISIONS: Final[tuple[DecisionName, ...]] = ("approve", "reject", "review")
RequestDecision = DecisionName | str  # "partial" for requests


_PLAIN: Final = frozenset({str, int, bool, type(None)})


def jsonable(value: Any) -> Any:
    """A value as the JSON output shows it: money and decimals as strings."""
    kind = value.__class__
    if kind in _PLAIN:  # the common cases first, by exact type
        return value
    if kind is Money:
        return value.format()
    if kind is dict:
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Money):
        return value.format()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


@attrs.frozen
class ActionResult:
    """One planned action: its kind, the rule that planned it, what it reports."""

    action: str
    rule: str
    fields: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "rule": self.rule, **jsonable(self.fields)}


_new = object.__new__
_set_action = ActionResult.__dict__["action"].__set__
_set_rule = ActionResult.__dict__["rule"].__set__
_set_fields = ActionResult.__dict__["fields"].__set__


def action_result(action: str, rule: str, fields: Mapping[str, Any]) -> ActionResult:
    """``ActionResult(action, rule, fields)`` through the slots' own setters.

    The same object, built in about half the time: evaluate makes one for
    every action of every line.
    """
    result = _new(ActionResult)
    _set_action(result, action)
    _set_rule(result, rule)
    _set_fields(result, fields)
    return result


@attrs.frozen
class Overridden:
    """A single action of a rule that lost to another rule's (priority, then order)."""

    action: str
    rule: str
    by: str

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "rule": self.rule, "by": self.by}


@attrs.frozen
class EvalError:
    """A check, fact or action that raised while a line was evaluated."""

    rule: str
    source: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "source": self.source, "message": self.message}


@attrs.frozen
class LineDecision:
    """The decision for one return line (``line`` is the order line number)."""

    line: int
    decision: DecisionName
    matched: tuple[str, ...]
    decided_by: tuple[str, ...]
    messages: tuple[str, ...]
    actions: tuple[ActionResult, ...]
    errors: tuple[EvalError, ...] = ()
    overridden: tuple[Overridden, ...] = ()
    trace: Mapping[str, Any] | None = attrs.field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "decision": self.decision,
            "matched": list(self.matched),
            "decided_by": list(self.decided_by),
            "messages": list(self.messages),
            "actions": [a.to_dict() for a in self.actions],
            "errors": [e.to_dict() for e in self.errors],
        }


@attrs.frozen
class Decision:
    """The decision for a whole request.

    ``decision`` is ``approve`` when every line approves, ``reject`` when every
    line rejects, ``review`` when any line needs review, else ``partial``.
    """

    request: str
    decision: RequestDecision
    lines: tuple[LineDecision, ...]
    explained: bool = False

    @property
    def actions(self) -> tuple[ActionResult, ...]:
        """Every line's actions, in line order."""
        return tuple(a for line in self.lines for a in line.actions)

    @property
    def trace(self) -> list[Mapping[str, Any]] | None:
        if not self.explained:
            return None
        return [line.trace or {} for line in self.lines]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request": self.request,
            "decision": self.decision,
            "lines": [line.to_dict() for line in self.lines],
        }
        if self.explained:
            out["trace"] = self.trace
        return out
