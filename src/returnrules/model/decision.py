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
    "reportable",
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


MAX_REPORTED_INT: Final = 10**15
"""The largest integer an action or fact may report (in absolute value): JSON
readers keep every integer exact up to 2**53, about 9 × 10**15."""
MAX_REPORTED_TEXT: Final = 100_000
MAX_REPORTED_DEPTH: Final = 8


def reportable(fields: Mapping[Any, Any]) -> dict[str, Any]:
    """A private copy of an action's fields, every value one the decision can show.

    Allowed: str, bool, None, ints up to :data:`MAX_REPORTED_INT`, finite
    Decimals, Money, dates and date-times, and lists / tuples / str-keyed
    tables of these up to :data:`MAX_REPORTED_DEPTH` deep (a table that holds
    itself is too deep).  Anything else raises ``TypeError`` here, where
    the action produced it, instead of crashing ``to_dict`` or a renderer
    later.  Lists become tuples and tables copies: the plugin keeps no handle
    on what the decision reports.
    """
    if fields.__class__ is dict:  # what actions return: the common fields inline
        for key, value in fields.items():
            kind = value.__class__
            if kind is str:
                if len(value) <= MAX_REPORTED_TEXT and key.__class__ is str:
                    continue
            elif kind in _AS_IS:
                if key.__class__ is str:
                    continue
            elif kind is int and (
                -MAX_REPORTED_INT <= value <= MAX_REPORTED_INT and key.__class__ is str
            ):
                continue
            return _table(fields, 0)  # checked one by one, with the message
        return fields.copy()  # every value as it is: one copy at C speed
    if not isinstance(fields, Mapping):
        raise TypeError(f"returned {_kind(fields)}, not a mapping of fields")
    return _table(fields, 0)


_SCALARS: Final = frozenset({str, bool, type(None), Money, dt.date, dt.datetime})
_AS_IS: Final = frozenset({bool, type(None), Money, dt.date})
"""The values an action reports as they are, with nothing to check."""


def _table(fields: Mapping[Any, Any], depth: int, top: str = "") -> dict[str, Any]:
    """A copy of a table; messages name the action's field (*top*) it is in."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key.__class__ is not str:
            raise TypeError(f"field names are strings, got {_kind(key)}")
        out[key] = _value(value, top or key, depth)
    return out


def _value(value: Any, key: str, depth: int) -> Any:
    kind = value.__class__
    if kind in _SCALARS:
        if kind is str and len(value) > MAX_REPORTED_TEXT:
            raise TypeError(f"field {key}: text longer than {MAX_REPORTED_TEXT}")
        if kind is dt.datetime and value.utcoffset() is None:
            raise TypeError(f"field {key}: a date-time without UTC offset")
        return value
    if kind is int:
        if -MAX_REPORTED_INT <= value <= MAX_REPORTED_INT:
            return value
        raise TypeError(f"field {key}: integer out of range")
    if kind is Decimal:
        if value.is_finite() and len(value.as_tuple().digits) <= 34:
            return value
        raise TypeError(f"field {key}: not a finite decimal of at most 34 digits")
    if depth >= MAX_REPORTED_DEPTH:
        raise TypeError(f"field {key}: nested deeper than {MAX_REPORTED_DEPTH}")
    if kind is list or kind is tuple:
        return tuple(_value(item, key, depth + 1) for item in value)
    if kind is dict:
        return _table(value, depth + 1, key)
    raise TypeError(f"field {key}: cannot report {_kind(value)}")


def _kind(value: object) -> str:
    """A value's type, for a message (never its repr: that could raise, or be huge)."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


@attrs.frozen
class ActionResult:
    """One planned action: its kind, the rule that planned it, what it reports.

    ``step`` is its place in the rule's ``then`` (0 for the first): with the
    request, line and rule it names the action for good - the desk's
    idempotency key.
    """

    action: str
    rule: str
    fields: Mapping[str, Any]
    step: int = 0

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "rule": self.rule, **jsonable(self.fields)}


_new = object.__new__
_set_action = ActionResult.__dict__["action"].__set__
_set_rule = ActionResult.__dict__["rule"].__set__
_set_fields = ActionResult.__dict__["fields"].__set__
_set_step = ActionResult.__dict__["step"].__set__


def action_result(
    action: str, rule: str, fields: Mapping[str, Any], step: int = 0
) -> ActionResult:
    """``ActionResult(action, rule, fields, step)`` through the slots' own setters.

    The same object, built in about half the time: evaluate makes one for
    every action of every line.
    """
    result = _new(ActionResult)
    _set_action(result, action)
    _set_rule(result, rule)
    _set_fields(result, fields)
    _set_step(result, step)
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
