"""The checked policy: what the checker produces and the compiler consumes.

Every name here is already resolved (facts to their numbers, checks and
actions to their registered objects) and every literal already has its
runtime type, so nothing downstream parses or looks anything up by string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from returnrules.model.decision import DecisionName
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import Action, Check, FactType, Template

__all__ = [
    "DEFAULT_ACTIONABLE",
    "AllOf",
    "AnyOf",
    "CheckCall",
    "Compare",
    "Cond",
    "FactRef",
    "NotOf",
    "PlannedAction",
    "PolicyIR",
    "Present",
    "RuleIR",
]

OPERATORS: Final = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in")
OP_SYMBOLS: Final = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "in": "in",
    "not_in": "not in",
}
"""Each operator as Python writes it: the generated code and explanations use it."""
ORDERING: Final = frozenset({"lt", "le", "gt", "ge"})


@attrs.frozen
class FactRef:
    """A fact as a condition uses it: its registry number, name and type."""

    number: int
    name: str
    type: FactType


@attrs.frozen
class Compare:
    """``{ fact = NAME, OP = VALUE }``; *value* is a runtime constant or a FactRef.

    For ``in``/``not_in`` the value is a frozenset.  *shown* is the literal as
    the author wrote it (JSON-able), for the trace.
    """

    fact: FactRef
    op: str
    value: Any
    shown: Any = None


@attrs.frozen
class Present:
    """``{ fact = NAME, present = true|false }``."""

    fact: FactRef
    expected: bool


@attrs.frozen
class CheckCall:
    """``{ check = NAME, ... }`` with its structured parameters.

    *equivalent* is the condition over facts the check declares it is
    (``Check.equivalent``), checked like the author's own: the analysis
    reasons with it, the engine still calls the check.
    """

    check: Check[Any]
    params: Any
    shown: Mapping[str, Any]
    equivalent: Cond | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class AllOf:
    items: tuple[Cond, ...]


@attrs.frozen
class AnyOf:
    items: tuple[Cond, ...]


@attrs.frozen
class NotOf:
    item: Cond


Cond = AllOf | AnyOf | NotOf | Compare | Present | CheckCall
Leaf = Compare | Present | CheckCall


@attrs.frozen
class PlannedAction:
    """One entry of a rule's ``then``: an action and its parameters."""

    action: Action[Any]
    params: Any
    shown: Mapping[str, Any]


@attrs.frozen
class RuleIR:
    """A rule, checked.  ``index`` is its position in the file (0-based)."""

    index: int
    id: str
    title: str | None
    when: Cond | None
    decide: DecisionName | None
    for_: frozenset[DecisionName]
    message: Template | None
    priority: int
    then: tuple[PlannedAction, ...]


DEFAULT_ACTIONABLE: Final = (
    "line.condition",
    "line.packaging",
    "line.qty",
    "request.days_since_delivery",
)
"""The facts a counterfactual may change unless ``[explain] actionable`` says."""


@attrs.frozen
class PolicyIR:
    """A whole checked policy, ready to compile.

    *actionable* names the facts a counterfactual ("what would make this line
    eligible?") may change: ``[explain] actionable``.
    """

    source: str
    currency: str
    default: DecisionName
    rules: tuple[RuleIR, ...]
    vocabularies: Mapping[str, Vocabulary]
    actionable: tuple[str, ...] = DEFAULT_ACTIONABLE
