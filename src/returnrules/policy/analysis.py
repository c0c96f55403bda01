"""What a policy that type-checks can still get wrong: rules that never fire.

Each finding is a warning at the place the author wrote the rule
(``returnrules check``; ``--strict`` makes them errors):

* ``never-matches`` - a rule whose conditions contradict each other;
* ``duplicate-conditions`` - a rule with the same conditions as an earlier one;
* ``never-decides`` - a rule whose ``decide`` is never the line's decision,
  because whenever it matches a rule (or one of several rules) with a
  stronger decision matches too;
* ``action-never-wins`` - a single action (refund, restock...) that never
  wins, because whenever it applies a rule with a higher priority, or an
  earlier one, applies the same action;
* ``redundant-branch`` - an ``any`` branch that holds only when another one
  does, or an ``all`` condition that holds whenever the others do;
* ``uncovered`` - when ``[policy] default`` is not ``review``: regions of the
  facts the rules test where no deciding rule can match, which the default
  approves or rejects without anyone looking.  (The regions are always in
  :class:`Coverage`, printed by ``returnrules check --analyze``.)

The first two are cheap and run whenever a policy loads (:func:`at_load`);
the others compare rules with each other and run under ``returnrules check``
(:func:`analyze`).  The reasoning is :mod:`returnrules.policy.logic`'s: checks
are unknowns unless they declare an equivalent condition, so every finding
holds whatever the checks answer (as long as none of them fails: a failing
check makes its line ``review``).  A question that takes more than the
search's budget is left unanswered, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import attrs

from returnrules.engine.ir import (
    AllOf,
    AnyOf,
    CheckCall,
    Compare,
    Cond,
    FactRef,
    NotOf,
    PolicyIR,
    Present,
    RuleIR,
)
from returnrules.model.errors import Issue, PathKey
from returnrules.plugin.api import Fact
from returnrules.policy.logic import (
    Allowed,
    Both,
    Codes,
    Either,
    Formula,
    Lit,
    Logic,
    Model,
    Ranges,
    Search,
    Space,
    Unknown,
    Var,
    hull,
    negate,
    overlaps,
)

__all__ = [
    "Analysis",
    "Coverage",
    "Finding",
    "Region",
    "analyze",
    "at_load",
    "condition_nodes",
]

STRENGTH: Final = {"approve": 0, "review": 1, "reject": 2}
MAX_REGIONS: Final = 1_500
MAX_UNION: Final = 24
"""Rules tried together as "one of them always matches too"."""
"""Regions examined by the coverage search before it gives up (and says so)."""


@attrs.frozen
class Finding:
    """A warning and, for ``--analyze``, the lines that explain it."""

    issue: Issue
    details: tuple[str, ...] = ()


@attrs.frozen
class Region:
    """Values of some facts (by number) where a line gets the default, unless
    one of the rules ``unless`` matches.

    Those rules depend on something the table does not show (a check, a
    fact compared with another, a fact with no threshold): ``over-return``
    (``line.qty > line.returnable_qty``) can reject a line anywhere.
    """

    allowed: Mapping[int, Allowed]
    shown: Mapping[str, str]
    """Fact name → the values as the author would write them (``≤ 5000``)."""
    unless: tuple[str, ...] = ()


@attrs.frozen
class Coverage:
    """The regions that get ``[policy] default``, over ``facts``.

    ``complete`` is False when the search stopped at its budget: the regions
    listed are uncovered, others may be too.
    """

    default: str
    facts: tuple[str, ...]
    regions: tuple[Region, ...]
    complete: bool = True


@attrs.frozen
class Analysis:
    findings: tuple[Finding, ...]
    coverage: Coverage
    unanswered: int = 0
    """Questions the search left open within its budget (no finding made)."""


def condition_nodes(
    cond: Cond | None, where: PathKey, polarity: bool = True
) -> Iterator[tuple[Cond, PathKey, bool]]:
    """Every node of a condition with its key path and polarity (False under
    an odd number of ``not``), parents first."""
    if cond is None:
        return
    yield cond, where, polarity
    if isinstance(cond, AllOf | AnyOf):
        key = "all" if isinstance(cond, AllOf) else "any"
        for i, item in enumerate(cond.items):
            yield from condition_nodes(item, (*where, key, i), polarity)
    elif isinstance(cond, NotOf):
        yield from condition_nodes(cond.item, (*where, "not"), not polarity)


# -- the analyzer ----------------------------------------------------------------------


class _Analyzer:
    """The formulas of every rule of a policy, and the questions asked of them."""

    def __init__(self, ir: PolicyIR, facts: Sequence[Fact]) -> None:
        self.ir = ir
        self.spaces = [Space.of(f.name, f.type, ir.vocabularies) for f in facts]
        self.logic = Logic(self.spaces)
        self.search = Search(self.spaces)
        self.unanswered = 0
        self.pos = [
            self.logic.formula(r.when, ("rule", r.index, "when")) for r in ir.rules
        ]
        self.neg = [negate(f, self.spaces) for f in self.pos]
        self.hulls = [hull(f, self.spaces) for f in self.pos]
        self.models: dict[int, Model] = {}
        """A line each rule matches (a region), found by never_matches."""
        self.reads = [frozenset(_facts_read(f)) for f in self.pos]
        """The facts each rule's formula constrains (a variable's needs too)."""
        self._may_match: dict[tuple[int, tuple[tuple[int, Allowed], ...]], bool] = {}

    def may_match_in(self, rule: int, region: Mapping[int, Allowed]) -> bool:
        """False only for a rule proven never to match in *region*.  The
        answer depends only on what the region says of the facts the rule
        reads, so it is kept by that: a region cut along another fact asks
        nothing again."""
        shape = self.hulls[rule]
        if shape is None or not overlaps(shape, region):
            return False
        reads = self.reads[rule]
        key = (rule, tuple((n, a) for n, a in region.items() if n in reads))
        found = self._may_match.get(key)
        if found is None:
            given = Model(dict(key[1]), {})
            found = self._may_match[key] = (
                self.ask(self.pos[rule], given=given) is not False
            )
        return found

    def ask(self, *formulas: Formula, given: Model | None = None) -> bool | None:
        """Can the formulas hold together?  None when the budget ran out."""
        try:
            return self.search.holds(*formulas, given=given)
        except Unknown:
            self.unanswered += 1
            return None

    def implies(self, a: Formula, b: Formula) -> bool:
        """True only when proven: *b* holds whenever *a* does."""
        return self.ask(a, negate(b, self.spaces)) is False

    def matches_sometimes(self, rule: RuleIR) -> bool:
        """False only for a rule proven never to match."""
        return (
            self.hulls[rule.index] is not None
            or self.ask(self.pos[rule.index]) is not False
        )

    # -- never-matches --------------------------------------------------------------

    def never_matches(self, rule: RuleIR) -> Finding | None:
        if rule.when is None:
            return None
        try:
            found = self.search.find([self.pos[rule.index]])
        except Unknown:
            self.unanswered += 1
            return None
        if found is not None:
            self.models[rule.index] = found
            return None
        reasons, where = self._reasons(rule)
        return Finding(
            Issue(
                where,
                f'rule "{rule.id}" can never match: {reasons[0]}',
                "never-matches",
                "warning",
            ),
            tuple(reasons[1:]),
        )

    def _reasons(self, rule: RuleIR) -> tuple[list[str], PathKey]:
        reasons: list[str] = []
        where: PathKey = ("rule", rule.index, "when")
        located = False
        for conflict in self.search.conflicts:
            if isinstance(conflict, Either) and not conflict.items:
                text = 'an empty "any" never holds'
            elif isinstance(conflict, Either):
                names = sorted({self.spaces[lit.fact].name for lit in _lits(conflict)})
                which = " and ".join(names) or "its checks"
                text = f"no value of {which} meets all its conditions"
            elif isinstance(conflict, Lit):
                name = self.spaces[conflict.fact].name
                if conflict.allowed.empty:
                    text = f"its condition on {name} never holds"
                else:
                    text = f"no value of {name} meets all its conditions on it"
            else:
                name = self.logic.variables[conflict.key]
                text = f"{name} would have to hold and fail at once"
            if not located and not isinstance(conflict, Either) and conflict.where:
                where, located = conflict.where, True
            if text not in reasons:
                reasons.append(text)
        return reasons or ["its conditions contradict each other"], where

    # -- never-decides ----------------------------------------------------------------

    def never_decides(self, rule: RuleIR, live: Sequence[RuleIR]) -> Finding | None:
        if rule.decide is None:
            return None
        mine = self.hulls[rule.index]
        assert mine is not None
        stronger = [
            other
            for other in live
            if other.decide is not None
            and STRENGTH[other.decide] > STRENGTH[rule.decide]
            and overlaps(mine, self.hulls[other.index] or {})
        ]
        if not stronger or any(o.when is None for o in stronger):
            return None  # none; or an unconditional one, which the lint reports
        by = self._covered_by(rule, stronger)
        if not by:
            return None
        if len(by) == 1:
            (other,) = by
            why = (
                f'whenever it matches, rule "{other.id}" matches too and '
                f"decides {other.decide}, which wins"
            )
        else:
            names = ", ".join(f'"{o.id}"' for o in by)
            why = (
                f"whenever it matches, one of rules {names} matches too and "
                "decides something stronger"
            )
        return Finding(
            Issue(
                ("rule", rule.index, "decide"),
                f'rule "{rule.id}" can never decide {rule.decide}: {why}',
                "never-decides",
                "warning",
            ),
            tuple(f'rule "{o.id}" decides {o.decide}' for o in by),
        )

    def _covered_by(self, rule: RuleIR, others: Sequence[RuleIR]) -> list[RuleIR]:
        """Rules among *others* one of which matches whenever *rule* does
        (one alone if one suffices; [] when none is proven to)."""
        mine = self.pos[rule.index]
        model = self.models.get(rule.index)
        alone = others
        if model is not None:  # lines rule matches: one other alone must match them
            alone = [o for o in others if self._may_hold_on(o, model)]
        for other in alone:
            if self.implies(mine, self.pos[other.index]):
                return [other]
        if 1 < len(others) <= MAX_UNION and self.implies(
            mine, Either(tuple(self.pos[o.index] for o in others))
        ):
            return list(others)
        return []

    def _may_hold_on(self, rule: RuleIR, model: Model) -> bool:
        """False when *rule* cannot hold on all of the region *model*: a
        value the region allows is outside what the rule's hull allows."""
        shape = self.hulls[rule.index]
        if shape is None:
            return False
        for fact, allowed in shape.items():
            here = model.facts.get(fact) or self.spaces[fact].everything()
            if here.meet(allowed) != here:
                return False
        return True

    # -- action-never-wins ------------------------------------------------------------

    def actions_never_win(
        self, rule: RuleIR, live: Sequence[RuleIR]
    ) -> Iterator[Finding]:
        mine = self.hulls[rule.index]
        assert mine is not None
        if not rule.for_:
            return
        for j, planned in enumerate(rule.then):
            action = planned.action
            if action.multiple:
                continue
            rivals = [
                other
                for other in live
                if other is not rule
                and (other.priority, -other.index) > (rule.priority, -rule.index)
                and any(p.action.name == action.name for p in other.then)
                and overlaps(mine, self.hulls[other.index] or {})
            ]
            winners: list[RuleIR] = []
            for decision in sorted(rule.for_):
                by = self._covered_by(rule, [o for o in rivals if decision in o.for_])
                if not by:
                    break
                winners += [o for o in by if o not in winners]
            else:
                names = ", ".join(f'"{o.id}"' for o in winners)
                one = len(winners) == 1
                yield Finding(
                    Issue(
                        ("rule", rule.index, "then", j),
                        f'{action.name} of rule "{rule.id}" never wins: whenever it '
                        f"applies, rule{'' if one else 's'} {names} "
                        f"appl{'ies' if one else 'y'} {action.name} too with a "
                        "higher priority or earlier in the file",
                        "action-never-wins",
                        "warning",
                    ),
                    tuple(
                        f'rule "{o.id}": priority {o.priority}, rule #{o.index + 1}'
                        for o in winners
                    ),
                )

    # -- redundant-branch -------------------------------------------------------------

    def redundant_branches(self, rule: RuleIR) -> Iterator[Finding]:
        for node, where, _ in condition_nodes(rule.when, ("rule", rule.index, "when")):
            if not isinstance(node, AllOf | AnyOf) or len(node.items) < 2:
                continue
            key = "all" if isinstance(node, AllOf) else "any"
            items = [
                self.logic.formula(item, (*where, key, i))
                for i, item in enumerate(node.items)
            ]
            kept = list(range(len(items)))
            for i in reversed(range(len(items))):
                others = tuple(items[k] for k in kept if k != i)
                if isinstance(node, AnyOf):
                    never = self.ask(items[i]) is False
                    redundant = never or self.implies(items[i], Either(others))
                    text = (
                        "can never hold"
                        if never
                        else "holds only when another branch of the any holds"
                    )
                    what = f'this branch of rule "{rule.id}"\'s any'
                else:
                    redundant = self.implies(Both(others), items[i])
                    text = "holds whenever the other conditions of its all hold"
                    what = f'this condition of rule "{rule.id}"'
                if redundant:
                    kept.remove(i)
                    yield Finding(
                        Issue(
                            (*where, key, i),
                            f"{what} is redundant: it {text}",
                            "redundant-branch",
                            "warning",
                        )
                    )

    # -- coverage ---------------------------------------------------------------------

    def coverage(self, live: Sequence[RuleIR]) -> Coverage:
        deciding = [r for r in live if r.decide is not None]
        mentions = {r.index: set(_facts_of(self.pos[r.index])) for r in deciding}
        dims = sorted(
            {
                n
                for facts in mentions.values()
                for n in facts
                if self.spaces[n].finite or self.spaces[n].ordered
            }
        )
        cells = {n: self._cells(n, deciding) for n in dims}
        found: list[tuple[dict[int, Allowed], tuple[int, ...]]] = []
        budget = [MAX_REGIONS]
        complete = self._refine({}, [r.index for r in deciding], cells, mentions,
                                found, budget)  # fmt: skip
        merged = _merge(found, self.spaces)
        order = sorted(
            {n for region, _ in merged for n in region},
            key=lambda n: (-sum(n in region for region, _ in merged), n),
        )
        rules = self.ir.rules
        regions = tuple(
            Region(
                region,
                {
                    self.spaces[n].name: _show(self.spaces[n], region[n])
                    for n in order
                    if n in region
                },
                tuple(rules[i].id for i in unless),
            )
            for region, unless in merged
        )
        return Coverage(
            self.ir.default,
            tuple(self.spaces[n].name for n in order),
            regions,
            complete,
        )

    def _cells(self, fact: int, rules: Sequence[RuleIR]) -> list[Allowed]:
        """The partition of a fact's values that the rules' conditions cut."""
        space = self.spaces[fact]
        sets = [
            lit.allowed
            for r in rules
            for lit in _lits(self.pos[r.index])
            if lit.fact == fact
        ]
        cells: list[Allowed] = []
        if space.type.optional:
            cells.append(space.absent())
        if space.codes is not None:
            groups: dict[tuple[bool, ...], set[object]] = {}
            for code in sorted(space.codes, key=str):
                signature = tuple(s.values.contains(code) for s in sets)  # type: ignore[arg-type]
                groups.setdefault(signature, set()).add(code)
            cells += [Allowed(Codes(frozenset(g))) for g in groups.values()]
            return cells
        points = sorted({p for s in sets if isinstance(s.values, Ranges)
                         for p in s.values.cut_points()})  # fmt: skip
        integral = space.integral
        lo: Any = -float("inf")
        for p in points:
            cells.append(Allowed(Ranges.of([(lo, False, p, False)], integral)))
            cells.append(Allowed(Ranges.of([(p, True, p, True)], integral)))
            lo = p
        cells.append(Allowed(Ranges.of([(lo, False, float("inf"), False)], integral)))
        # neighbouring cells every rule treats alike are one
        out: list[Allowed] = [c for c in cells if not c.empty]
        merged: list[Allowed] = []
        for cell in out:
            if (
                merged
                and not cell.absent
                and not merged[-1].absent
                and all(_same_side(merged[-1], cell, s) for s in sets)
            ):
                merged[-1] = merged[-1].join(cell)
            else:
                merged.append(cell)
        return merged

    def _refine(
        self,
        region: dict[int, Allowed],
        rules: list[int],
        cells: Mapping[int, list[Allowed]],
        mentions: Mapping[int, set[int]],
        found: list[tuple[dict[int, Allowed], tuple[int, ...]]],
        budget: list[int],
    ) -> bool:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        given = Model(region, {})
        live = [r for r in rules if self.may_match_in(r, region)]
        if not live:
            found.append((region, ()))
            return True
        if self.ask(Both(tuple(self.neg[r] for r in live)), given=given) is False:
            return True  # some deciding rule matches everywhere here
        counts: dict[int, int] = {}
        for r in live:
            for n in mentions[r]:
                if n in cells and n not in region:
                    counts[n] = counts.get(n, 0) + 1
        if not counts:  # the rest depends on other facts or on checks
            found.append((region, tuple(live)))
            return True
        dim = max(counts, key=lambda n: (counts[n], -n))
        complete = True
        for cell in cells[dim]:
            complete &= self._refine({**region, dim: cell}, live, cells, mentions,
                                     found, budget)  # fmt: skip
            if not complete:
                return False
        return complete


def _same_side(a: Allowed, b: Allowed, s: Allowed) -> bool:
    """Whether two cells are both inside *s* or both outside it."""
    return a.meet(s).empty == b.meet(s).empty


def _lits(formula: Formula) -> Iterator[Lit]:
    if isinstance(formula, Lit):
        yield formula
    elif isinstance(formula, Both | Either):
        for item in formula.items:
            yield from _lits(item)


def _facts_of(formula: Formula) -> Iterator[int]:
    for lit in _lits(formula):
        yield lit.fact


def _facts_read(formula: Formula) -> Iterator[int]:
    """The facts of the literals, and those a variable needs present."""
    if isinstance(formula, Lit):
        yield formula.fact
    elif isinstance(formula, Var):
        yield from formula.needs
    else:
        for item in formula.items:
            yield from _facts_read(item)


def _merge(
    regions: list[tuple[dict[int, Allowed], tuple[int, ...]]], spaces: Sequence[Space]
) -> list[tuple[dict[int, Allowed], tuple[int, ...]]]:
    """Join regions that differ in one fact only, until none do."""
    out = [(dict(r), unless) for r, unless in regions]
    changed = True
    while changed:
        changed = False
        for n in sorted({n for r, _ in out for n in r}):
            groups: dict[object, list[tuple[dict[int, Allowed], tuple[int, ...]]]] = {}
            for region, unless in out:
                if n not in region:
                    key: object = ("whole", id(region))
                else:
                    rest = tuple(sorted((k, v) for k, v in region.items() if k != n))
                    key = (frozenset(region), unless, rest)
                groups.setdefault(key, []).append((region, unless))
            merged: list[tuple[dict[int, Allowed], tuple[int, ...]]] = []
            for group in groups.values():
                if len(group) == 1:
                    merged.append(group[0])
                    continue
                changed = True
                first, unless = group[0]
                joined = first[n]
                for region, _ in group[1:]:
                    joined = joined.join(region[n])
                region = dict(first)
                if joined == spaces[n].everything():
                    del region[n]
                else:
                    region[n] = joined
                merged.append((region, unless))
            out = merged
    return out


def _number(value: object) -> str:
    return str(value)


def _show(space: Space, allowed: Allowed) -> str:
    """Values of a fact as a rule author writes them."""
    parts: list[str] = []
    values = allowed.values
    if isinstance(values, Codes):
        if space.codes is not None and not values.cofinite:
            inside = sorted(values.values, key=str)
            outside = sorted(space.codes - values.values, key=str)
            show = [_code(v) for v in inside]
            if len(outside) < len(inside) and outside:
                parts.append("all but " + ", ".join(_code(v) for v in outside))
            elif show:
                parts.append(", ".join(show))
        elif values.cofinite:
            if values.values:
                parts.append(
                    "all but "
                    + ", ".join(_code(v) for v in sorted(values.values, key=str))
                )
            else:
                parts.append("any")
        elif values.values:
            parts.append(", ".join(_code(v) for v in sorted(values.values, key=str)))
    else:
        for lo, lo_in, hi, hi_in in values.ranges:
            lo_v, hi_v = _literal(space, lo), _literal(space, hi)
            if lo == hi:
                parts.append(f"= {lo_v}")
            elif lo == -float("inf") and hi == float("inf"):
                parts.append("present")
            elif lo == -float("inf"):
                parts.append(f"{'≤' if hi_in else '<'} {hi_v}")
            elif hi == float("inf"):
                parts.append(f"{'≥' if lo_in else '>'} {lo_v}")
            else:
                parts.append(
                    f"{lo_v} {'≤' if lo_in else '<'} x {'≤' if hi_in else '<'} {hi_v}"
                )
    if allowed.absent:
        parts.append("absent")
    return " or ".join(parts) if parts else "nothing"


def _code(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _literal(space: Space, point: Any) -> str:
    value = space.value_of(point)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# -- duplicate conditions --------------------------------------------------------------


def _key(cond: Cond) -> object:
    """A canonical form of a condition: equal for conditions written alike
    up to the order of ``all``/``any`` items, nesting and one-item lists."""
    if isinstance(cond, AllOf | AnyOf):
        kind = type(cond)
        items: set[object] = set()
        for item in cond.items:
            if type(item) is kind:
                inner = _key(item)
                assert isinstance(inner, tuple)
                items |= set(inner[1])
            else:
                items.add(_key(item))
        if len(items) == 1:
            return next(iter(items))
        return (kind.__name__, frozenset(items))
    if isinstance(cond, NotOf):
        return ("not", _key(cond.item))
    if isinstance(cond, Present):
        return ("present", cond.fact.name, cond.expected)
    if isinstance(cond, CheckCall):
        return (
            "check",
            cond.check.name,
            json.dumps(cond.shown, sort_keys=True, default=str),
        )
    assert isinstance(cond, Compare)
    value: object = cond.value
    op = cond.op
    if isinstance(value, FactRef):
        value = ("fact", value.name)
    elif isinstance(value, frozenset):
        if len(value) == 1:
            op = "eq" if op == "in" else "ne"
            (value,) = value
        else:
            value = frozenset(map(repr, value))
    return ("compare", cond.fact.name, op, repr(value))


def _duplicates(rules: Sequence[RuleIR]) -> Iterator[Finding]:
    seen: dict[object, RuleIR] = {}
    for rule in rules:
        if rule.when is None:
            continue  # rules that always match differ by their for lists, on purpose
        try:
            key = _key(rule.when)
        except TypeError:  # an unhashable literal: not compared
            continue
        first = seen.setdefault(key, rule)
        if first is not rule:
            yield Finding(
                Issue(
                    ("rule", rule.index, "when"),
                    f'rule "{rule.id}" has the same conditions as rule "{first.id}"',
                    "duplicate-conditions",
                    "warning",
                )
            )


# -- entry points ---------------------------------------------------------------------


def at_load(ir: PolicyIR, facts: Sequence[Fact]) -> list[Issue]:
    """The cheap findings, made whenever a policy loads: rules that can never
    match, and rules with the same conditions as an earlier one."""
    analyzer = _Analyzer(ir, facts)
    out = [f.issue for f in _duplicates(ir.rules)]
    for rule in ir.rules:
        finding = analyzer.never_matches(rule)
        if finding is not None:
            out.append(finding.issue)
    return out


def analyze(ir: PolicyIR, facts: Sequence[Fact]) -> Analysis:
    """Every finding (those of :func:`at_load` too) and the coverage."""
    analyzer = _Analyzer(ir, facts)
    findings: list[Finding] = list(_duplicates(ir.rules))
    live: list[RuleIR] = []
    for rule in ir.rules:
        finding = analyzer.never_matches(rule)
        if finding is None:
            live.append(rule)
        else:
            findings.append(finding)
    for rule in live:
        finding = analyzer.never_decides(rule, live)
        if finding is not None:
            findings.append(finding)
        findings.extend(analyzer.actions_never_win(rule, live))
        findings.extend(analyzer.redundant_branches(rule))
    coverage = analyzer.coverage(live)
    if coverage.regions and ir.default != "review":
        findings.append(
            Finding(
                Issue(
                    ("policy", "default"),
                    f"{len(coverage.regions)} region"
                    f"{'s' if len(coverage.regions) != 1 else ''} of "
                    f"{', '.join(coverage.facts) or 'the facts'} "
                    f"get{'s' if len(coverage.regions) == 1 else ''} the default "
                    f"{ir.default}: no deciding rule can match there "
                    "(returnrules check --analyze lists them)",
                    "uncovered",
                    "warning",
                )
            )
        )
    return Analysis(tuple(findings), coverage, analyzer.unanswered)
