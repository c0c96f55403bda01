"""Counterfactuals: "what would have made this line eligible?"

For a line that did not get the *target* decision, :func:`why_not` looks for
the smallest sets of changes to the policy's actionable facts
(``[explain] actionable``; by default the line's condition, packaging and
quantity and the request's date, never the reason or the part) that give it
the target, and keeps only those the real engine confirms:

1. candidate values come from the policy itself: every code of an enum
   fact's vocabulary, and for numbers the thresholds the conditions use
   (literals, the windows of checks that declare an equivalent condition, the
   current value of a fact compared with this one), each threshold ``t`` as
   ``t - 1``, ``t`` and ``t + 1``;
2. sets of facts are tried by increasing size, up to *max_changes* (3), and
   a set that contains one already answered is skipped (no supersets);
3. a set is skipped too when changing its facts cannot give the target
   whatever their values (:func:`_may_give`): a rule that blocks the target
   would still match, because none of the conditions that make it match reads
   any of the facts, or no rule deciding the target could start to match.
   Which conditions hold now comes from the line's trace; what a condition
   reads, from its facts (a check reads its declared equivalent condition's,
   a check without one and a plugin's fact may read anything);
4. each candidate request is built as a mapping and decided by
   :meth:`Policy.plan` with the same data (the decisions and deciding rules of
   :meth:`Policy.evaluate`, without running actions); only a line that then
   gets the target counts.  At most :data:`MAX_EVALUATIONS` evaluations are
   made.

The pruning of step 3 is what makes a line with no answer quick: for most
such lines no set survives it and nothing is evaluated.

A number is shown as a range ("within 30 days") only when every candidate
tried inside that range was confirmed, which includes both ends of every
stretch between the policy's thresholds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from returnrules.engine.ir import (
    AllOf,
    AnyOf,
    CheckCall,
    Compare,
    Cond,
    FactRef,
    NotOf,
    Present,
)
from returnrules.model.decision import DecisionName
from returnrules.model.errors import RequestError
from returnrules.policy.levers import LEVERS, Lever, changed

if TYPE_CHECKING:
    from returnrules.policy.policy import Policy

__all__ = ["MAX_CHANGES", "MAX_EVALUATIONS", "Change", "Option", "WhyNot", "why_not"]

MAX_CHANGES: Final = 3
MAX_EVALUATIONS: Final = 2_000
STRENGTH: Final = {"approve": 0, "review": 1, "reject": 2}
_PREFIX: Final = {
    "reason": "退货原因：",
    "tier": "客户等级：",
    "channel": "下单渠道：",
}


@attrs.frozen
class Change:
    """One fact changed: *to* in the rule author's terms, *text* for the desk."""

    fact: str
    was: Any
    to: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"fact": self.fact, "was": self.was, "to": self.to, "text": self.text}


@attrs.frozen
class Option:
    """A set of changes that gives the line the target, and the rules that
    then decide it."""

    changes: tuple[Change, ...]
    decided_by: tuple[str, ...]

    @property
    def text(self) -> str:
        return "，且".join(c.text for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": [c.to_dict() for c in self.changes],
            "decided_by": list(self.decided_by),
            "text": self.text,
        }


@attrs.frozen
class WhyNot:
    """The answer for one line: every minimal option found (none: no change
    of the actionable facts gives the target)."""

    request: str
    line: int
    decision: str
    target: str
    options: tuple[Option, ...]
    evaluated: int
    complete: bool = True
    """False when the search stopped at MAX_EVALUATIONS."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "line": self.line,
            "decision": self.decision,
            "target": self.target,
            "options": [o.to_dict() for o in self.options],
            "evaluated": self.evaluated,
            "complete": self.complete,
        }


def _thresholds(policy: Policy, facts: set[str]) -> set[int]:
    """Integer literals the policy compares any of *facts* with."""
    out: set[int] = set()
    stack: list[Any] = [r.when for r in policy.rules if r.when is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, CheckCall):
            if node.equivalent is not None:
                stack.append(node.equivalent)
        elif isinstance(node, Compare):
            if node.fact.name in facts and isinstance(node.value, int):
                out.add(node.value)
            if node.fact.name in facts and isinstance(node.value, frozenset):
                out |= {v for v in node.value if isinstance(v, int)}
        elif hasattr(node, "items"):
            stack.extend(node.items)
        elif hasattr(node, "item"):
            stack.append(node.item)
    return out


def _compared_with(policy: Policy, fact: str) -> set[str]:
    """Facts the policy compares *fact* with."""
    out: set[str] = set()
    stack: list[Any] = [r.when for r in policy.rules if r.when is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, Compare) and isinstance(node.value, FactRef):
            if node.fact.name == fact:
                out.add(node.value.name)
            elif node.value.name == fact:
                out.add(node.fact.name)
        elif hasattr(node, "items"):
            stack.extend(node.items)
        elif hasattr(node, "item"):
            stack.append(node.item)
    return out


def _around(points: set[int], low: int) -> list[int]:
    return sorted({p + d for p in points for d in (-1, 0, 1) if p + d >= low})


def why_not(
    policy: Policy,
    request: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
    *,
    line: int | None = None,
    target: DecisionName = "approve",
    max_changes: int = MAX_CHANGES,
) -> WhyNot:
    """See the module's docstring; *request* is a mapping (as read from a file)."""
    parsed = policy.parse_request(request)
    decision = policy.evaluate(parsed, data, explain=True)
    numbers = [d.line for d in decision.lines]
    if line is None:
        line = next(
            (d.line for d in decision.lines if d.decision != target), numbers[0]
        )
    if line not in numbers:
        raise ValueError(f"request {parsed.id} has no line {line} (lines: {numbers})")
    index = numbers.index(line)
    now = decision.lines[index]
    if now.decision == target:
        return WhyNot(parsed.id, line, now.decision, target, (), 0)
    rline, _ = parsed.pairs[index]
    delivered = parsed.days_since_delivery
    days_now = delivered if delivered is not None else parsed.days_since_order
    values: dict[Lever, list[object]] = {}
    for name in policy.ir.actionable:
        lever = LEVERS[name]
        if lever in values or any(v.key == lever.key for v in values):
            continue
        if lever.kind == "code":
            fact = policy.registry.fact(name)
            vocab = policy.vocabularies[fact.type.vocab or ""] if fact else None
            current = _current(parsed, rline, lever)
            values[lever] = [c for c in (vocab.labels if vocab else ()) if c != current]
        elif lever.kind == "count":
            points = _thresholds(policy, {"line.qty"}) | {1}
            for other in _compared_with(policy, "line.qty"):
                value = _fact_now(policy, parsed, index, other)
                if isinstance(value, int):
                    points.add(value)
            values[lever] = [q for q in _around(points, 1) if q != rline.qty]
        else:
            names = {"request.days_since_delivery"} if delivered is not None else set()
            names.add("request.days_since_order")
            days = _around(_thresholds(policy, names) | {0}, 0)
            values[lever] = [d - days_now for d in days if d != days_now]
    levers = list(values)
    reach = _Reach(policy, frozenset(lv.key for lv in levers))
    found: list[tuple[dict[Lever, object], tuple[str, ...]]] = []
    answered: list[frozenset[Lever]] = []
    evaluated = 0
    complete = True
    for size in range(1, max_changes + 1):
        for combo in itertools.combinations(levers, size):
            chosen = frozenset(combo)
            if any(done <= chosen for done in answered):
                continue
            moved = frozenset(lv.key for lv in combo)
            if not _may_give(policy, now, target, reach, moved):
                continue
            hits = 0
            for choice in itertools.product(*(values[lv] for lv in combo)):
                if evaluated >= MAX_EVALUATIONS:
                    complete = False
                    break
                changes = dict(zip(combo, choice, strict=True))
                evaluated += 1
                result = _decide(policy, request, index, changes, parsed, data)
                if result is not None and result.lines[index].decision == target:
                    found.append((changes, result.lines[index].decided_by))
                    hits += 1
            if hits:
                answered.append(chosen)
    options = tuple(_options(found, values, parsed, rline, days_now, policy, delivered))
    return WhyNot(parsed.id, line, now.decision, target, options, evaluated, complete)


def _current(parsed: Any, rline: Any, lever: Lever) -> object:
    where = lever.place
    if where[0] == "lines":
        return getattr(rline, where[1])
    if where[0] == "customer":
        return parsed.customer.tier
    return parsed.order.channel


def _fact_now(policy: Policy, parsed: Any, index: int, name: str) -> object:
    from returnrules.plugin.api import UNSET, Data, LineContext

    rline, oline = parsed.pairs[index]
    ctx = LineContext(parsed, rline, oline, Data(), policy.registry.hooks,
                      policy.engine.facts)  # fmt: skip
    ctx.values = [UNSET] * len(policy.engine.facts)
    number = policy.registry.fact_numbers[name]
    try:
        return ctx.fact_value(number)
    except Exception:  # a plugin fact that needs data: no candidate from it
        return None


def _decide(
    policy: Policy,
    request: Mapping[str, Any],
    index: int,
    changes: Mapping[Lever, object],
    parsed: Any,
    data: Mapping[str, Any] | None,
) -> Any:
    try:
        return policy.plan(changed(request, index, changes, parsed.requested_at), data)
    except RequestError:  # e.g. a date before delivery: not a possible request
        return None


# -- which sets of changes can give the target --------------------------------


class _Reach:
    """Which levers (by key) can change the value of a condition."""

    def __init__(self, policy: Policy, keys: frozenset[str]) -> None:
        self.every = keys
        self.by_fact: dict[str, frozenset[str]] = {}
        for fact in policy.facts:
            if fact.plugin == "core":
                moving = {lv.key for lv in LEVERS.values() if fact.name in lv.moves}
                self.by_fact[fact.name] = frozenset(moving) & keys
            else:  # a plugin's fact may read anything
                self.by_fact[fact.name] = keys

    def of(self, cond: Cond) -> frozenset[str]:
        if isinstance(cond, AllOf | AnyOf):
            out: frozenset[str] = frozenset()
            for item in cond.items:
                out |= self.of(item)
            return out
        if isinstance(cond, NotOf):
            return self.of(cond.item)
        if isinstance(cond, CheckCall):
            if cond.equivalent is None:
                return self.every
            return self.of(cond.equivalent)
        found = self.by_fact.get(cond.fact.name, self.every)
        if isinstance(cond, Compare) and isinstance(cond.value, FactRef):
            found |= self.by_fact.get(cond.value.name, self.every)
        return found

    def can_be(self, cond: Cond, node: Any, want: bool, moved: frozenset[str]) -> bool:
        """Whether *cond*, whose trace *node* says what it is now, can be
        *want* when only the levers *moved* change (True when unsure)."""
        if not isinstance(node, Mapping):
            return True
        result = node.get("result")
        if node.get("skipped") or result is None or result is want:
            return True  # not evaluated (or it failed): it may be anything
        if isinstance(cond, NotOf):
            return self.can_be(cond.item, node.get("not"), not want, moved)
        if isinstance(cond, AllOf | AnyOf):
            children = node.get("all" if isinstance(cond, AllOf) else "any")
            if not isinstance(children, list) or len(children) != len(cond.items):
                return True
            parts = (
                self.can_be(item, child, want, moved)
                for item, child in zip(cond.items, children, strict=True)
            )
            every = isinstance(cond, AllOf) == want
            return all(parts) if every else any(parts)
        assert isinstance(cond, Compare | Present | CheckCall)
        return bool(self.of(cond) & moved)


def _may_give(
    policy: Policy, now: Any, target: str, reach: _Reach, moved: frozenset[str]
) -> bool:
    """False when changing only the levers *moved* cannot give line *now*
    (a LineDecision with its trace) the *target* decision, whatever the
    values: a rule deciding something stronger would still match, or no rule
    deciding the target (nor the default) could decide it."""
    if now.errors or now.trace is None:
        return True
    entries = {e.get("rule"): e for e in now.trace.get("rules", ())}

    def can_be(rule: Any, want: bool) -> bool:
        entry = entries.get(rule.id)
        if entry is None or entry.get("error"):
            return True
        if rule.when is None:
            return want
        return reach.can_be(rule.when, entry.get("condition"), want, moved)

    matched = set(now.matched)
    stake = STRENGTH[target]
    deciding = [r for r in policy.rules if r.decide is not None]
    stronger = (r for r in deciding if STRENGTH[r.decide or "approve"] > stake)
    if any(r.id in matched and not can_be(r, False) for r in stronger):
        return False  # it would still match, and win
    for rule in deciding:
        if rule.decide == target and can_be(rule, True):
            return True
    if policy.default != target:
        return False
    return all(can_be(r, False) for r in deciding if r.id in matched)


def _options(
    found: list[tuple[dict[Lever, object], tuple[str, ...]]],
    values: Mapping[Lever, list[object]],
    parsed: Any,
    rline: Any,
    days_now: int,
    policy: Policy,
    delivered: int | None,
) -> Iterator[Option]:
    """The confirmed changes, numbers joined into ranges where every candidate
    tried inside the range was confirmed."""
    groups: dict[
        tuple[object, ...], list[tuple[dict[Lever, object], tuple[str, ...]]]
    ] = {}
    for changes, by in found:
        key = tuple(
            (lv.fact, v if lv.kind == "code" else None) for lv, v in changes.items()
        )
        groups.setdefault(key, []).append((changes, by))
    for group in groups.values():
        first, by = group[0]
        texts: list[Change] = []
        for lever, value in first.items():
            if lever.kind == "code":
                texts.append(_code_change(policy, parsed, rline, lever, value))
                continue
            confirmed = sorted({int(str(c[lever])) for c, _ in group})
            tried = sorted(int(str(v)) for v in values[lever])
            texts.append(
                _number_change(lever, confirmed, tried, rline.qty, days_now, delivered)
            )
        yield Option(tuple(texts), by)


def _code_change(
    policy: Policy, parsed: Any, rline: Any, lever: Lever, value: object
) -> Change:
    fact = policy.registry.fact(lever.fact)
    vocab = policy.vocabularies[fact.type.vocab or ""] if fact is not None else None
    was = _current(parsed, rline, lever)
    new_label = vocab.label(str(value)) if vocab else str(value)
    old_label = vocab.label(str(was)) if vocab else str(was)
    prefix = _PREFIX.get(lever.key, "")
    return Change(
        lever.fact, was, str(value), f"{prefix}{new_label}（现为{old_label}）"
    )


def _span(confirmed: list[int], tried: list[int]) -> tuple[int | None, int | None]:
    """(low, high) of the stretch of *tried* values all confirmed, open-ended
    where it reaches the end of what was tried (None)."""
    lo, hi = confirmed[0], confirmed[-1]
    inside = [t for t in tried if lo <= t <= hi]
    if inside != [t for t in confirmed if lo <= t <= hi]:
        return lo, lo  # not one stretch: the single nearest value
    return (None if lo == tried[0] else lo), (None if hi == tried[-1] else hi)


def _number_change(
    lever: Lever,
    confirmed: list[int],
    tried: list[int],
    qty: int,
    days_now: int,
    delivered: int | None,
) -> Change:
    if lever.kind == "count":
        lo, hi = _span(confirmed, tried)
        if lo is None and hi is not None:
            shown, text = f"≤ {hi}", f"退货数量不超过 {hi} 件"
        elif hi is None and lo is not None:
            shown, text = f"≥ {lo}", f"退货数量至少 {lo} 件"
        else:
            value = lo if lo is not None else confirmed[0]
            shown, text = f"= {value}", f"退货数量为 {value} 件"
        return Change(lever.fact, qty, shown, f"{text}（现为 {qty} 件）")
    days = [days_now + d for d in confirmed]
    all_days = [days_now + d for d in tried]
    lo, hi = _span(days, all_days)
    since = "签收" if delivered is not None else "下单"
    fact = (
        "request.days_since_delivery"
        if delivered is not None
        else "request.days_since_order"
    )
    if lo is None and hi is not None:
        shown, text = f"≤ {hi}", f"退货日期在{since}后 {hi} 天内"
    elif hi is None and lo is not None:
        shown, text = f"≥ {lo}", f"退货日期在{since}后第 {lo} 天或以后"
    elif lo is not None and hi is not None and lo != hi:
        shown, text = f"{lo}–{hi}", f"退货日期在{since}后第 {lo}–{hi} 天"
    else:
        value = lo if lo is not None else days[0]
        shown, text = f"= {value}", f"退货日期在{since}后第 {value} 天"
    return Change(fact, days_now, shown, f"{text}（现为 {days_now} 天）")
