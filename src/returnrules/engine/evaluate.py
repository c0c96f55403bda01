"""A loaded policy, and the evaluation of requests against it.

Evaluation of one line is three steps:

1. **match** - the compiled matcher (or, with ``explain=True``, the tracing
   interpreter) returns the mask of matched rules and any errors;
2. **plan** - from the mask alone: the decision, the deciding rules, which
   rules' actions apply and which single actions win.  A plan depends only on
   the mask, so plans are cached: a policy sees few distinct masks;
3. **realize** - run the planned actions and render the messages for this
   line.  An action that raises turns the line into ``review`` (re-planned),
   with the error reported; other lines and requests go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from returnrules.engine.compiler import Matcher, compile_policy, leaf_source
from returnrules.engine.ir import Leaf, PlannedAction, PolicyIR, RuleIR
from returnrules.engine.trace import explain_rules
from returnrules.model.decision import (
    MAX_REPORTED_INT as MAX_INT,
)
from returnrules.model.decision import (
    MAX_REPORTED_TEXT,
    ActionResult,
    Decision,
    DecisionName,
    EvalError,
    LineDecision,
    Overridden,
    action_result,
    jsonable,
    reportable,
)
from returnrules.model.money import Money
from returnrules.model.request import OrderLine, Request, ReturnLine
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import (
    PYTHON_TYPES,
    UNSET,
    Data,
    Fact,
    FailedFact,
    LineContext,
    Template,
)
from returnrules.plugin.hooks import describe, is_fault
from returnrules.plugin.manager import Registry
from returnrules.plugin.tape import Tape

__all__ = ["Engine", "LinePlan", "Outcome", "RequestPlan", "combine"]

_MAX_PLANS: Final = 4096


class FactTypeError(TypeError):
    """A plugin's fact resolver returned a value of the wrong type."""


def _typed_resolver(
    fact: Fact, vocabularies: Mapping[str, Vocabulary]
) -> Callable[[LineContext], Any]:
    """Wrap a plugin's resolver so a wrongly typed value is an error, not a guess."""
    resolve, name, ftype = fact.resolve, fact.name, fact.type
    expected = PYTHON_TYPES.get(ftype.kind, Money)
    codes = vocabularies[ftype.vocab] if ftype.kind == "enum" and ftype.vocab else None

    def resolve_checked(ctx: LineContext) -> Any:
        value = resolve(ctx)
        if value is None:
            if ftype.optional:
                return None
            raise FactTypeError(f"fact {name} is not optional but resolved to None")
        if (
            not isinstance(value, expected)
            or (isinstance(value, bool) and ftype.kind != "bool")
            or (codes is not None and value not in codes)
            or (isinstance(value, Money) and value.currency != ctx.request.currency)
            or (ftype.kind == "date" and isinstance(value, dt.datetime))
            or (isinstance(value, dt.datetime) and value.utcoffset() is None)
        ):
            raise FactTypeError(f"fact {name} ({ftype}) resolved to {_short(value)}")
        if (  # what a trace or a message shows must be showable
            (value.__class__ is int and not -MAX_INT <= value <= MAX_INT)
            or (
                isinstance(value, Decimal)
                and (not value.is_finite() or len(value.as_tuple().digits) > 34)
            )
            or (isinstance(value, str) and len(value) > MAX_REPORTED_TEXT)
        ):
            raise FactTypeError(f"fact {name} ({ftype}) resolved to {_short(value)}")
        return value

    return resolve_checked


_Call = tuple[Callable[[LineContext, Any], Any], Any, str, str, bool, str, int]
"""(run, params, action name, rule id, multiple, source for an error, step)."""


@attrs.frozen
class Outcome:
    """What follows from a set of matched rules, before any action runs.

    Computed once per distinct set of matched rules and shared by every line
    that matches the same rules.  ``steps`` are the planned ``(action, rule)``
    pairs in the order the actions will be reported.
    """

    decision: DecisionName
    matched: tuple[str, ...]
    decided_by: tuple[str, ...]
    steps: tuple[tuple[str, str], ...]
    overridden: tuple[Overridden, ...]
    messages: tuple[tuple[str, Template], ...] = attrs.field(repr=False)
    actions: tuple[tuple[RuleIR, PlannedAction], ...] = attrs.field(repr=False)
    calls: tuple[_Call, ...] = attrs.field(init=False, repr=False, eq=False)
    """The actions as evaluate runs them, every look-up done once."""

    @calls.default
    def _calls(self) -> tuple[_Call, ...]:
        return tuple(
            (
                planned.action.run,
                planned.params,
                planned.action.name,
                rule.id,
                planned.action.multiple,
                f"action {planned.action.name} (plugin {planned.action.plugin})",
                next(n for n, p in enumerate(rule.then) if p is planned),
            )
            for rule, planned in self.actions
        )


@attrs.frozen
class LinePlan:
    """A line's decision and planned actions, without running the actions.

    ``Policy.plan`` returns these: the fast path for deciding many requests
    when amounts and messages are not needed.  The errors are those of the
    conditions (which make the line ``review``); an action that fails only
    shows up in ``evaluate``.
    """

    line: int
    outcome: Outcome
    errors: tuple[EvalError, ...] = ()

    @property
    def decision(self) -> DecisionName:
        return self.outcome.decision

    @property
    def matched(self) -> tuple[str, ...]:
        return self.outcome.matched

    @property
    def decided_by(self) -> tuple[str, ...]:
        return self.outcome.decided_by

    @property
    def steps(self) -> tuple[tuple[str, str], ...]:
        """The planned ``(action, rule)`` pairs."""
        return self.outcome.steps


@attrs.frozen
class RequestPlan:
    """``Policy.plan``'s result for one request."""

    request: str
    decision: str
    lines: tuple[LinePlan, ...]


def combine(decisions: Iterable[str]) -> str:
    """The request's decision from its lines' (semantics rule 5)."""
    seen = set(decisions)
    if seen == {"approve"}:
        return "approve"
    if seen == {"reject"}:
        return "reject"
    if "review" in seen:
        return "review"
    return "partial"


def _bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class Engine:
    """The evaluation of one compiled policy: match, plan, realize, line by line.

    Built once per policy by :class:`~returnrules.Policy`, which checks requests
    and data before handing them here: the engine takes a parsed
    :class:`Request` in the policy's currency and a :class:`Data`.  It does no
    parsing and no I/O.  Plans are cached per engine (a policy sees few
    distinct sets of matched rules).
    """

    def __init__(self, ir: PolicyIR, registry: Registry) -> None:
        self.ir = ir
        self.rules = ir.rules
        self.default = ir.default
        self.registry = registry
        # The core's facts are trusted; a plugin's are type-checked as resolved
        # (which also means they are never read as plain attributes).
        self.facts: tuple[Fact, ...] = tuple(
            fact
            if fact.plugin == "core"
            else attrs.evolve(
                fact, resolve=_typed_resolver(fact, ir.vocabularies), attribute=""
            )
            for fact in registry.facts
        )
        self.matcher: Matcher = compile_policy(ir, self.facts)
        self._hooks = registry.hooks
        self._plans: dict[tuple[int, bool], Outcome] = {}
        self._line_plans: dict[tuple[int, int], LinePlan] = {}
        masks: dict[str, int] = {"approve": 0, "reject": 0, "review": 0}
        for rule in ir.rules:
            if rule.decide is not None:
                masks[rule.decide] |= 1 << rule.index
        self._decide_masks = masks

    def evaluate(
        self,
        request: Request,
        data: Data,
        explain: bool,
        tapes: Mapping[int, Tape] | None = None,
    ) -> Decision:
        """Decide a checked *request* (semantics 1-6).

        *tapes* (by order line number) keep - or play back - what the data
        providers answered for each line: the desk's snapshot.
        """
        pairs = request.pairs
        if len(pairs) == 1 and tapes is None:  # most requests: nothing to combine
            ((rline, oline),) = pairs
            line = self._line(request, rline, oline, data, explain, None)
            return Decision(request.id, line.decision, (line,), explain)
        lines = tuple(
            self._line(
                request,
                rline,
                oline,
                data,
                explain,
                None if tapes is None else tapes.get(rline.line),
            )
            for rline, oline in pairs
        )
        overall = combine([line.decision for line in lines])
        return Decision(request.id, overall, lines, explain)

    def plan(self, request: Request, data: Data) -> RequestPlan:
        """Decide a checked *request* and list the planned actions, without
        running them."""
        match, hooks, facts = self.matcher.match, self._hooks, self.facts
        known = self._line_plans
        lines = []
        for rline, oline in request.pairs:
            ctx = LineContext(request, rline, oline, data, hooks, facts)
            mask, raised = match(ctx, False)  # no messages: no fact values kept
            if raised is None:
                # A LinePlan without errors is immutable: one is shared by all the
                # lines with the same number that match the same rules.
                line = known.get((rline.line, mask))
                if line is None:
                    if len(known) >= _MAX_PLANS:
                        known.clear()
                    line = known[rline.line, mask] = LinePlan(
                        rline.line, self._plan(mask, False)
                    )
                lines.append(line)
            else:
                errors = tuple(
                    self._error(f.rule, self.matcher.leaf_of(f), f.error)
                    for f in raised
                )
                lines.append(LinePlan(rline.line, self._plan(mask, True), errors))
        if len(lines) == 1:
            overall: str = lines[0].outcome.decision
        else:
            overall = combine([line.outcome.decision for line in lines])
        return RequestPlan(request.id, overall, tuple(lines))

    def resolve(
        self,
        request: Request,
        data: Data,
        line: int,
        matched: Iterable[str],
        decision: DecisionName,
        tape: Tape | None = None,
    ) -> LineDecision:
        """Line *line* decided by a person: what follows when the rules that
        *matched* it meet *decision* (semantics 3-4), its actions realized.

        Raises ``ValueError`` if an action fails: a person's decision is
        carried out whole or not at all.
        """
        wanted = set(matched)
        mask = 0
        for rule in self.rules:
            if rule.id in wanted:
                mask |= 1 << rule.index
        pair = next((p for p in request.pairs if p[0].line == line), None)
        if pair is None:
            raise ValueError(f"request {request.id} has no line {line}")
        rline, oline = pair
        ctx = LineContext(request, rline, oline, data, self._hooks, self.facts, tape)
        ctx.values = [UNSET] * len(self.facts)
        plan = self._make_plan(mask, False, decision)
        errors: list[EvalError] = []
        actions, messages = self._realize(plan, ctx, errors)
        if errors:
            failures = "; ".join(
                f"{e.source} of rule {e.rule}: {e.message}" for e in errors
            )
            raise ValueError(f"line {line}: {failures}")
        return LineDecision(
            line, decision, plan.matched, plan.decided_by, messages, actions,
            (), plan.overridden,
        )  # fmt: skip

    # -- one line -------------------------------------------------------------------

    def _line(
        self,
        request: Request,
        rline: ReturnLine,
        oline: OrderLine,
        data: Data,
        explain: bool,
        tape: Tape | None,
    ) -> LineDecision:
        ctx = LineContext(request, rline, oline, data, self._hooks, self.facts, tape)
        errors: list[EvalError] = []
        trace: dict[str, Any] | None = None
        if explain:
            ctx.values = [UNSET] * len(self.facts)
            mask, failures, entries = explain_rules(self.ir, ctx)
            for rule, leaf, exc in failures:
                errors.append(self._error(rule, leaf, exc))
            trace = {"line": rline.line, "rules": entries}
            plan = self._plan(mask, bool(errors))
            actions, messages = self._realize(plan, ctx, errors)
        else:
            mask, raised = self.matcher.match(ctx, True)
            if raised is None:
                plan = self._plan(mask, False)
                actions, messages = self._realize(plan, ctx, errors)
                if not errors:  # the usual line: straight through
                    return LineDecision(
                        rline.line,
                        plan.decision,
                        plan.matched,
                        plan.decided_by,
                        messages,
                        actions,
                        (),
                        plan.overridden,
                    )
            else:
                for failure in raised:
                    leaf = self.matcher.leaf_of(failure)
                    errors.append(self._error(failure.rule, leaf, failure.error))
                plan = self._plan(mask, True)
                actions, messages = self._realize(plan, ctx, errors)
        if errors and plan.decision != "review":
            plan = self._plan(mask, True)
            actions, messages = self._realize(plan, ctx, errors)
        if trace is not None:
            trace.update(
                decision=plan.decision,
                facts={
                    fact.name: _shown(value)
                    for fact, value in zip(self.facts, ctx.values, strict=True)
                    if value is not UNSET
                },
                overridden=[o.to_dict() for o in plan.overridden],
            )
        return LineDecision(
            line=rline.line,
            decision=plan.decision,
            matched=plan.matched,
            decided_by=plan.decided_by,
            messages=messages,
            actions=actions,
            errors=tuple(errors),
            overridden=plan.overridden,
            trace=trace,
        )

    def _error(self, rule: int, leaf: Leaf | None, exc: BaseException) -> EvalError:
        return EvalError(
            rule=self.rules[rule].id,
            source=leaf_source(leaf, self.registry),
            message=describe(exc),
        )

    def _plan(self, mask: int, errored: bool) -> Outcome:
        key = (mask, errored)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            plan = self._plans[key] = self._make_plan(mask, errored)
        return plan

    def _make_plan(
        self, mask: int, errored: bool, decided: DecisionName | None = None
    ) -> Outcome:
        """What follows from matching the rules of *mask* (semantics 2-4);
        *decided* is a decision made by a person, in place of the rules'."""
        rules = self.rules
        matched = [rules[i] for i in _bits(mask)]
        decision: DecisionName
        if decided is not None:
            decision = decided
        elif errored:
            decision = "review"
        elif mask & self._decide_masks["reject"]:
            decision = "reject"
        elif mask & self._decide_masks["review"]:
            decision = "review"
        elif mask & self._decide_masks["approve"]:
            decision = "approve"
        else:
            decision = self.default
        deciders = [r for r in matched if r.decide == decision]
        applicable = [
            (rule, planned)
            for rule in matched
            if decision in rule.for_
            for planned in rule.then
        ]
        winners: dict[str, RuleIR] = {}
        for rule, planned in applicable:
            if planned.action.multiple:
                continue
            best = winners.get(planned.action.name)
            if best is None or rule.priority > best.priority:
                winners[planned.action.name] = rule
        actions: list[tuple[RuleIR, PlannedAction]] = []
        overridden: list[Overridden] = []
        seen: list[tuple[str, Any]] = []
        for rule, planned in applicable:
            name = planned.action.name
            winner = winners.get(name)
            if winner is not None and winner is not rule:
                overridden.append(Overridden(name, rule.id, winner.id))
            elif winner is None and (name, planned.params) in seen:
                continue  # an identical multiple action (same parameters): once
            else:
                seen.append((name, planned.params))
                actions.append((rule, planned))
        return Outcome(
            decision=decision,
            matched=tuple(r.id for r in matched),
            decided_by=tuple(r.id for r in deciders),
            steps=tuple((p.action.name, r.id) for r, p in actions),
            overridden=tuple(overridden),
            messages=tuple((r.id, r.message) for r in deciders if r.message),
            actions=tuple(actions),
        )

    def _realize(
        self, plan: Outcome, ctx: LineContext, errors: list[EvalError]
    ) -> tuple[tuple[ActionResult, ...], tuple[str, ...]]:
        """Run the plan's actions and render its messages; failures go to *errors*."""
        results: list[ActionResult] = []
        for run, params, name, rule_id, multiple, source, step in plan.calls:
            try:
                fields = reportable(run(ctx, params))
            except BaseException as exc:  # a plugin's fault: see is_fault
                if not is_fault(exc):
                    raise
                _report_once(errors, EvalError(rule_id, source, describe(exc)))
                continue
            if multiple:
                for earlier in results:
                    if earlier.action == name and earlier.fields == fields:
                        break  # identical once rendered, though written differently
                else:
                    results.append(action_result(name, rule_id, fields, step))
            else:
                results.append(action_result(name, rule_id, fields, step))
        if not plan.messages:
            return tuple(results), ()
        messages: list[str] = []
        for rule_id, template in plan.messages:
            try:
                messages.append(template.render(ctx))
            except BaseException as exc:  # a plugin's fault: see is_fault
                if not is_fault(exc):
                    raise
                messages.append(template.text)
                _report_once(errors, EvalError(rule_id, "message", describe(exc)))
        return tuple(results), tuple(messages)


def _report_once(errors: list[EvalError], error: EvalError) -> None:
    """Keep *error* unless its rule's same action (or message) already failed.

    A line whose action fails is planned again for review, and the actions
    that apply to review run again: the same action failing a second time
    (now, say, on a fact that is already unavailable) is the same failure.
    """
    if not any(e.rule == error.rule and e.source == error.source for e in errors):
        errors.append(error)


def _short(value: object) -> str:
    """A value for a message: its type and a short repr, never a crash."""
    try:
        text = repr(value)
    except BaseException as exc:  # a broken __repr__ is the plugin's fault too
        if not is_fault(exc):
            raise
        return f"<unprintable {type(value).__name__}>"
    return text if len(text) <= 80 else f"{text[:77]}... ({type(value).__name__})"


def _shown(value: Any) -> Any:
    return None if value.__class__ is FailedFact else jsonable(value)


__all__ += ["FactTypeError"]
