"""returnrules: a typed rules engine for auto-parts returns and cancellations (退单).

A policy written in TOML is loaded, type-checked and compiled once; each line of
a request is then evaluated into a decision (approve / reject / review), the
actions that follow and the reasons why::

    import returnrules

    policy = returnrules.load_policy("rules.toml")
    decision = policy.evaluate(returnrules.parse_request(mapping))
    decision.decision, decision.lines[0].actions, decision.to_dict()

Checks, actions, facts and data providers come from plugins (:mod:`pluggy`);
see :mod:`returnrules.hookspecs` and :func:`hookimpl`.
"""

from __future__ import annotations

from returnrules.engine.evaluate import LinePlan, Outcome, RequestPlan
from returnrules.hookspecs import hookimpl
from returnrules.model.bounds import Bounds, VocabCode
from returnrules.model.convert import structure_data, validate_as
from returnrules.model.decision import (
    ActionResult,
    Decision,
    EvalError,
    LineDecision,
    Overridden,
)
from returnrules.model.errors import (
    PathKey,
    PolicyError,
    Problem,
    RequestError,
    RequestProblem,
)
from returnrules.model.money import CONTEXT as MONEY_CONTEXT
from returnrules.model.money import CurrencyMismatch, Money, minor_units, round_half_up
from returnrules.model.reader import parse_request
from returnrules.model.request import (
    Customer,
    Order,
    OrderLine,
    Request,
    ReturnLine,
    calendar_days,
    local_date,
    returnable_qty,
    shipped_qty,
)
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import (
    Action,
    Check,
    Data,
    Fact,
    FactType,
    FactUnavailable,
    LineContext,
    NoParams,
    Template,
)
from returnrules.plugin.execute import Execution, Executor, LedgerTable
from returnrules.policy.load import load_policy, loads_policy
from returnrules.policy.policy import Policy

__version__ = "0.1.0"

__all__ = [
    "MONEY_CONTEXT",
    "Action",
    "ActionResult",
    "Bounds",
    "Check",
    "CurrencyMismatch",
    "Customer",
    "Data",
    "Decision",
    "EvalError",
    "Execution",
    "Executor",
    "Fact",
    "FactType",
    "FactUnavailable",
    "LedgerTable",
    "LineContext",
    "LineDecision",
    "LinePlan",
    "Money",
    "NoParams",
    "Order",
    "OrderLine",
    "Outcome",
    "Overridden",
    "PathKey",
    "Policy",
    "PolicyError",
    "Problem",
    "Request",
    "RequestError",
    "RequestPlan",
    "RequestProblem",
    "ReturnLine",
    "Template",
    "VocabCode",
    "Vocabulary",
    "__version__",
    "calendar_days",
    "hookimpl",
    "load_policy",
    "loads_policy",
    "local_date",
    "minor_units",
    "parse_request",
    "returnable_qty",
    "round_half_up",
    "shipped_qty",
    "structure_data",
    "validate_as",
]
