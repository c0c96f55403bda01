"""Conditions as logic: sets of fact values, and a search for a line that fits.

The analysis of a policy (:mod:`returnrules.policy.analysis`) asks one kind of
question of checked conditions: *can these hold together?*  A rule that can
never match is one whose condition cannot hold; rule A implies rule B when
"A and not B" cannot hold.  This module answers it by finite-domain and
interval reasoning:

* every fact has a :class:`Space`, the values it can take: the codes of its
  vocabulary, true/false, any string, or a line of numbers (ints, decimals,
  money amounts, dates as day numbers, date-times as microseconds), plus
  *absent* for an optional fact;
* a comparison ``{ fact = F, OP = V }`` is the set of F's values for which it
  holds (:class:`Codes` or :class:`Ranges`); ``not`` is the complement, and
  since a comparison with an absent fact is false, its complement contains
  *absent*;
* a check is an opaque true/false :class:`Var` (the same check with equal
  parameters is the same variable: a line runs it once), unless its plugin
  declares an equivalent condition over facts (``Check.equivalent``), which
  is used instead; a fact compared with another fact is a variable too, that
  needs both facts present when it holds.

:meth:`Search.find` looks for values of the facts and variables that make a
conjunction of formulas hold, depth first, in a bounded number of steps
(:class:`Unknown` past it).  Treating checks as free variables only adds
lines that cannot happen, so "no line fits" is always true of the real
engine; "a line fits" may not be.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Final, TypeAlias

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
from returnrules.model.errors import PathKey
from returnrules.model.money import Money
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import FactType

__all__ = [
    "Both",
    "Codes",
    "Either",
    "Formula",
    "Lit",
    "Logic",
    "Model",
    "Ranges",
    "Search",
    "Space",
    "Unknown",
    "Var",
    "negate",
]

INF: Final = math.inf
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
Number: TypeAlias = int | Decimal | float
Range: TypeAlias = tuple[Number, bool, Number, bool]
"""(low, low included, high, high included); infinite ends are never included."""


# -- sets of values ----------------------------------------------------------------


@attrs.frozen
class Codes:
    """Codes, booleans or strings: exactly *values*, or (``cofinite``) all but them."""

    values: frozenset[Hashable] = frozenset()
    cofinite: bool = False

    @property
    def empty(self) -> bool:
        return not self.cofinite and not self.values

    def contains(self, value: Hashable) -> bool:
        return (value in self.values) != self.cofinite

    def meet(self, other: Codes) -> Codes:
        if self.cofinite and other.cofinite:
            return Codes(self.values | other.values, True)
        if self.cofinite:
            return Codes(other.values - self.values)
        if other.cofinite:
            return Codes(self.values - other.values)
        return Codes(self.values & other.values)

    def join(self, other: Codes) -> Codes:
        if self.cofinite and other.cofinite:
            return Codes(self.values & other.values, True)
        if self.cofinite:
            return Codes(self.values - other.values, True)
        if other.cofinite:
            return Codes(other.values - self.values, True)
        return Codes(self.values | other.values)

    def complement(self) -> Codes:
        return Codes(self.values, not self.cofinite)


def _low_before(a: Range, b: Range) -> bool:
    """Whether *a* starts before *b* (an included low end starts first)."""
    return a[0] < b[0] or (a[0] == b[0] and a[1] and not b[1])


@attrs.frozen
class Ranges:
    """Disjoint ranges of numbers, in order; ``integral`` for whole numbers."""

    ranges: tuple[Range, ...] = ()
    integral: bool = False

    @classmethod
    def of(cls, ranges: Iterable[Range], integral: bool) -> Ranges:
        """The union of *ranges*, normalised (whole-number ends included)."""
        out: list[Range] = []
        for lo, lo_in, hi, hi_in in sorted(
            ranges, key=lambda r: (r[0], not r[1], r[2], r[3])
        ):
            if lo > hi or (lo == hi and not (lo_in and hi_in)):
                continue
            if integral:
                if lo != -INF and not lo_in:
                    lo, lo_in = math.floor(lo) + 1, True
                elif lo != -INF:
                    lo = math.ceil(lo)
                if hi != INF and not hi_in:
                    hi, hi_in = math.ceil(hi) - 1, True
                elif hi != INF:
                    hi = math.floor(hi)
                if lo > hi:
                    continue
            if out:
                plo, plo_in, phi, phi_in = out[-1]
                touches = hi_in or lo_in if phi == lo else phi > lo
                if integral and phi != INF and lo != -INF and phi + 1 == lo:
                    touches = True
                if phi == lo and not (phi_in or lo_in):
                    touches = False
                if touches:
                    if hi > phi or (hi == phi and hi_in):
                        out[-1] = (plo, plo_in, hi, hi_in)
                    continue
            out.append((lo, lo_in, hi, hi_in))
        return cls(tuple(out), integral)

    @property
    def empty(self) -> bool:
        return not self.ranges

    def contains(self, value: Number) -> bool:
        for lo, lo_in, hi, hi_in in self.ranges:
            if (lo < value or (lo_in and lo == value)) and (
                value < hi or (hi_in and hi == value)
            ):
                return True
        return False

    def meet(self, other: Ranges) -> Ranges:
        out: list[Range] = []
        for a in self.ranges:
            for b in other.ranges:
                lo, lo_in = (a[0], a[1]) if _low_before(b, a) else (b[0], b[1])
                if a[2] < b[2] or (a[2] == b[2] and not a[3]):
                    hi, hi_in = a[2], a[3]
                else:
                    hi, hi_in = b[2], b[3]
                out.append((lo, lo_in, hi, hi_in))
        return Ranges.of(out, self.integral)

    def join(self, other: Ranges) -> Ranges:
        return Ranges.of([*self.ranges, *other.ranges], self.integral)

    def complement(self) -> Ranges:
        out: list[Range] = []
        lo: Number = -INF
        lo_in = False
        for r in self.ranges:
            out.append((lo, lo_in, r[0], not r[1] and r[0] != -INF))
            lo, lo_in = r[2], not r[3] and r[2] != INF
        out.append((lo, lo_in, INF, False))
        return Ranges.of(out, self.integral)

    def cut_points(self) -> Iterator[Number]:
        for lo, _, hi, _ in self.ranges:
            if lo != -INF:
                yield lo
            if hi != INF:
                yield hi


Values: TypeAlias = Codes | Ranges


@attrs.frozen
class Allowed:
    """The values a fact may take, and whether it may be absent."""

    values: Values
    absent: bool = False

    @property
    def empty(self) -> bool:
        return self.values.empty and not self.absent

    def meet(self, other: Allowed) -> Allowed:
        return Allowed(
            self.values.meet(other.values),  # type: ignore[arg-type]
            self.absent and other.absent,
        )

    def join(self, other: Allowed) -> Allowed:
        return Allowed(
            self.values.join(other.values),  # type: ignore[arg-type]
            self.absent or other.absent,
        )


# -- what a fact can be --------------------------------------------------------------


@attrs.frozen
class Space:
    """Every value a fact can take, by its type: the universe of its sets."""

    name: str
    type: FactType
    codes: frozenset[Hashable] | None = None
    """The finite universe of an enum or bool fact; None for the others."""

    @classmethod
    def of(
        cls, name: str, ftype: FactType, vocabularies: Mapping[str, Vocabulary]
    ) -> Space:
        if ftype.kind == "enum":
            vocab = vocabularies.get(ftype.vocab or "")
            codes = frozenset(vocab.labels) if vocab is not None else None
            return cls(name, ftype, codes)
        if ftype.kind == "bool":
            return cls(name, ftype, frozenset({True, False}))
        return cls(name, ftype)

    @property
    def ordered(self) -> bool:
        return self.type.ordered

    @property
    def finite(self) -> bool:
        return self.codes is not None

    @property
    def integral(self) -> bool:
        """Whole numbers: ints, dates (day numbers), date-times (microseconds)."""
        return self.type.kind in ("int", "date", "datetime")

    def _all_values(self) -> Values:
        if self.ordered:
            return Ranges(((-INF, False, INF, False),), self.integral)
        if self.codes is not None:
            return Codes(self.codes)
        return Codes(frozenset(), cofinite=True)

    def everything(self) -> Allowed:
        return Allowed(self._all_values(), self.type.optional)

    def present(self) -> Allowed:
        return Allowed(self._all_values())

    def absent(self) -> Allowed:
        return Allowed(Codes() if not self.ordered else Ranges(), True)

    def complement(self, allowed: Allowed) -> Allowed:
        values = allowed.values.complement().meet(self._all_values())  # type: ignore[arg-type]
        return Allowed(values, self.type.optional and not allowed.absent)

    def point(self, value: object) -> Number | Hashable:
        """A literal or a fact's value as the sets hold it."""
        if isinstance(value, Money):
            return value.amount
        if isinstance(value, dt.datetime):
            return (value - _EPOCH) // dt.timedelta(microseconds=1)
        if isinstance(value, dt.date):
            return value.toordinal()
        return value

    def value_of(self, point: Number | Hashable) -> object:
        """A point back as a literal of the fact's type (for messages)."""
        if self.type.kind == "date" and isinstance(point, int):
            return dt.date.fromordinal(point)
        if self.type.kind == "datetime" and isinstance(point, int):
            return _EPOCH + dt.timedelta(microseconds=point)
        return point

    def holding(self, op: str, value: object) -> Allowed:
        """The values for which ``{ fact = F, OP = value }`` holds."""
        if op in ("in", "not_in"):
            assert isinstance(value, frozenset)
            points = [self.point(v) for v in value]
            if self.ordered:
                inside: Values = Ranges.of(
                    [(p, True, p, True) for p in points],  # type: ignore[misc]
                    self.integral,
                )
            else:
                inside = Codes(frozenset(points))
            held = Allowed(inside)
            return held if op == "in" else self.complement(held).meet(self.present())
        p = self.point(value)
        if not self.ordered:
            inside = Codes(frozenset({p}))
            held = Allowed(inside)
            if op == "eq":
                return held
            return self.complement(held).meet(self.present())
        ranges = {
            "eq": [(p, True, p, True)],
            "ne": [(-INF, False, p, False), (p, False, INF, False)],
            "lt": [(-INF, False, p, False)],
            "le": [(-INF, False, p, True)],
            "gt": [(p, False, INF, False)],
            "ge": [(p, True, INF, False)],
        }[op]
        return Allowed(Ranges.of(ranges, self.integral))  # type: ignore[arg-type]

    def contains(self, allowed: Allowed, value: object) -> bool:
        """Whether a fact's runtime *value* (None: absent) is in *allowed*."""
        if value is None:
            return allowed.absent
        point = self.point(value)
        return allowed.values.contains(point)  # type: ignore[arg-type]


# -- formulas --------------------------------------------------------------------


@attrs.frozen
class Lit:
    """``fact`` takes one of the ``allowed`` values; *where* is the condition's path."""

    fact: int
    allowed: Allowed
    where: PathKey = attrs.field(default=(), eq=False)


@attrs.frozen
class Var:
    """Opaque variable *key* (a check, a fact-to-fact comparison) is *value*.

    *needs* are facts that must be present when the variable holds.
    """

    key: int
    value: bool
    needs: tuple[int, ...] = ()
    where: PathKey = attrs.field(default=(), eq=False)


@attrs.frozen
class Both:
    items: tuple[Formula, ...]


@attrs.frozen
class Either:
    items: tuple[Formula, ...]


Formula: TypeAlias = Lit | Var | Both | Either
TRUE: Final = Both(())
FALSE: Final = Either(())


def negate(formula: Formula, spaces: Sequence[Space]) -> Formula:
    """The formula that holds exactly when *formula* does not."""
    if isinstance(formula, Lit):
        return Lit(
            formula.fact,
            spaces[formula.fact].complement(formula.allowed),
            formula.where,
        )
    if isinstance(formula, Var):
        return Var(formula.key, not formula.value, formula.needs, formula.where)
    if isinstance(formula, Both):
        return Either(tuple(negate(f, spaces) for f in formula.items))
    return Both(tuple(negate(f, spaces) for f in formula.items))


@attrs.define
class Logic:
    """Turns checked conditions into formulas over one policy's facts.

    *spaces* are indexed by fact number; opaque checks and fact-to-fact
    comparisons get variable numbers as they are met (``variables`` names them).
    """

    spaces: Sequence[Space]
    variables: list[str] = attrs.field(factory=list)
    _keys: list[object] = attrs.field(factory=list)

    def var(self, key: object, name: str) -> int:
        for i, known in enumerate(self._keys):
            try:
                if known == key:
                    return i
            except Exception:  # parameters that cannot be compared: another variable
                continue
        self._keys.append(key)
        self.variables.append(name)
        return len(self._keys) - 1

    def formula(
        self, cond: Cond | None, where: PathKey = (), positive: bool = True
    ) -> Formula:
        """*cond* (None: always true) as a formula; negated unless *positive*."""
        if cond is None:
            return TRUE if positive else FALSE
        if isinstance(cond, AllOf | AnyOf):
            key = "all" if isinstance(cond, AllOf) else "any"
            items = tuple(
                self.formula(item, (*where, key, i), positive)
                for i, item in enumerate(cond.items)
            )
            return Both(items) if isinstance(cond, AllOf) == positive else Either(items)
        if isinstance(cond, NotOf):
            return self.formula(cond.item, (*where, "not"), not positive)
        leaf = self.leaf(cond, where)
        return leaf if positive else negate(leaf, self.spaces)

    def leaf(self, cond: Compare | Present | CheckCall, where: PathKey) -> Formula:
        if isinstance(cond, CheckCall):
            if cond.equivalent is not None:
                return self.formula(cond.equivalent, where)
            key = self.var((cond.check.name, cond.params), f"check {cond.check.name}")
            return Var(key, True, (), where)
        space = self.spaces[cond.fact.number]
        if isinstance(cond, Present):
            allowed = space.present() if cond.expected else space.absent()
            return Lit(cond.fact.number, allowed, where)
        if isinstance(cond.value, FactRef):
            return self.fact_to_fact(cond, cond.value, where)
        return Lit(cond.fact.number, space.holding(cond.op, cond.value), where)

    def fact_to_fact(self, cond: Compare, other: FactRef, where: PathKey) -> Formula:
        a, b = cond.fact.number, other.number
        present = Lit(a, self.spaces[a].present(), where)
        if a == b:  # a fact against itself: only presence matters
            return present if cond.op in ("eq", "le", "ge") else FALSE
        op = cond.op
        if a > b:  # one variable for "x < y" and "y > x"
            a, b = b, a
            op = {"lt": "gt", "gt": "lt", "le": "ge", "ge": "le"}.get(op, op)
        name = f"{self.spaces[a].name} {op} {self.spaces[b].name}"
        return Var(self.var(("facts", a, op, b), name), True, (a, b), where)


# -- the search ------------------------------------------------------------------


class Unknown(Exception):
    """The search took more steps than it was given: no answer."""


@attrs.frozen
class Model:
    """Values (as sets) for the facts a search constrained, and its variables."""

    facts: Mapping[int, Allowed]
    variables: Mapping[int, bool]


@attrs.define
class Search:
    """Find a line that satisfies formulas, or show there is none.

    *budget* bounds the steps of each :meth:`find`; ``conflicts`` collects,
    for an unsatisfiable question, the formulas (facts and variables) that
    emptied a set, for messages.
    """

    spaces: Sequence[Space]
    budget: int = 20_000
    conflicts: list[Lit | Var | Either] = attrs.field(factory=list)

    def holds(self, *formulas: Formula, given: Model | None = None) -> bool:
        """Whether some line satisfies every formula (raises Unknown)."""
        return self.find(formulas, given) is not None

    def implies(self, a: Formula, b: Formula, given: Model | None = None) -> bool:
        """Whether *b* holds on every line *a* holds on (raises Unknown)."""
        return self.find((a, negate(b, self.spaces)), given) is None

    def find(
        self, formulas: Iterable[Formula], given: Model | None = None
    ) -> Model | None:
        """A model of the conjunction of *formulas*, or None (raises Unknown).

        Depth first over the ``either``s: literals are applied as they come,
        an ``either`` whose items are all contradicted is a conflict, one with
        a single item left is applied, one with an item already true is
        dropped, and the search branches on the one with the fewest items left.
        """
        self.conflicts = []
        facts: dict[int, Allowed] = dict(given.facts) if given is not None else {}
        variables: dict[int, bool] = dict(given.variables) if given is not None else {}
        pending: list[Formula] = list(reversed(list(formulas)))
        deferred: list[Either] = []
        steps = 0
        # choice points: (facts, variables, eithers left, alternatives left)
        choices: list[
            tuple[dict[int, Allowed], dict[int, bool], list[Either], list[Formula]]
        ] = []
        while True:
            outcome, facts, variables, deferred, alternatives, used = self._propagate(
                facts, variables, pending, deferred
            )
            steps += used
            if steps > self.budget:
                raise Unknown
            if outcome == "sat":
                return Model(facts, variables)
            if outcome == "choice":
                first, *rest = alternatives
                choices.append((facts, variables, deferred, rest))
                pending = [first]
                continue
            while choices and not choices[-1][3]:
                choices.pop()
            if not choices:
                return None
            facts, variables, deferred, rest = choices[-1]
            first, *others = rest
            choices[-1] = (facts, variables, deferred, others)
            pending = [first]

    def _propagate(
        self,
        facts: dict[int, Allowed],
        variables: dict[int, bool],
        pending: list[Formula],
        deferred: list[Either],
    ) -> tuple[
        str, dict[int, Allowed], dict[int, bool], list[Either], list[Formula], int
    ]:
        """Apply what is certain until done, a conflict, or a choice to make."""
        steps = 0
        facts, deferred = dict(facts), list(deferred)
        while True:
            while pending:
                formula = pending.pop()
                steps += 1
                if isinstance(formula, Lit):
                    known = facts.get(formula.fact)
                    now = (
                        formula.allowed
                        if known is None
                        else known.meet(formula.allowed)
                    )
                    if now.empty:
                        self.conflicts.append(formula)
                        return "conflict", facts, variables, deferred, [], steps
                    facts[formula.fact] = now
                elif isinstance(formula, Var):
                    known_value = variables.get(formula.key)
                    if known_value is not None and known_value != formula.value:
                        self.conflicts.append(formula)
                        return "conflict", facts, variables, deferred, [], steps
                    if known_value is None:
                        variables = {**variables, formula.key: formula.value}
                    if formula.value:
                        pending += [
                            Lit(n, self.spaces[n].present()) for n in formula.needs
                        ]
                elif isinstance(formula, Both):
                    pending += reversed(formula.items)
                else:
                    deferred.append(formula)
            # every either: drop the satisfied, apply the forced, find the tightest
            left: list[Either] = []
            best: list[Formula] | None = None
            best_at = -1
            for either in deferred:
                steps += 1
                if any(self._true(f, facts, variables) for f in either.items):
                    continue
                alive = [
                    f for f in either.items if not self._refuted(f, facts, variables)
                ]
                if not alive:
                    self.conflicts.append(either)
                    return "conflict", facts, variables, deferred, [], steps
                if len(alive) == 1:
                    pending.append(alive[0])
                    continue
                if best is None or len(alive) < len(best):
                    best, best_at = alive, len(left)
                left.append(either)
            deferred = left
            if pending:
                continue
            if best is None:
                return "sat", facts, variables, [], [], steps
            del deferred[best_at]
            return "choice", facts, variables, deferred, best, steps

    def _true(
        self,
        formula: Formula,
        facts: Mapping[int, Allowed],
        variables: Mapping[int, bool],
    ) -> bool:
        """Whether *formula* is a literal that already holds whatever comes next."""
        if isinstance(formula, Lit):
            known = facts.get(formula.fact)
            if known is None:
                known = self.spaces[formula.fact].everything()
            return known.meet(formula.allowed) == known
        if isinstance(formula, Var):
            return variables.get(formula.key) == formula.value and not formula.needs
        return isinstance(formula, Both) and not formula.items

    def _refuted(
        self,
        formula: Formula,
        facts: Mapping[int, Allowed],
        variables: Mapping[int, bool],
    ) -> bool:
        """Whether *formula* is a literal already contradicted (a cheap look)."""
        if isinstance(formula, Lit):
            known = facts.get(formula.fact)
            return known is not None and known.meet(formula.allowed).empty
        if isinstance(formula, Var):
            value = variables.get(formula.key)
            return value is not None and value != formula.value
        if isinstance(formula, Either):
            return not formula.items
        return False


def hull(formula: Formula, spaces: Sequence[Space]) -> dict[int, Allowed] | None:
    """Per fact, a superset of the values *formula* allows (None: never holds).

    Cheap and syntactic: ``both`` meets its items' hulls, ``either`` joins
    them (a fact one item does not constrain is unconstrained).
    """
    if isinstance(formula, Lit):
        return None if formula.allowed.empty else {formula.fact: formula.allowed}
    if isinstance(formula, Var):
        return {n: spaces[n].present() for n in formula.needs} if formula.value else {}
    if isinstance(formula, Both):
        out: dict[int, Allowed] = {}
        for item in formula.items:
            part = hull(item, spaces)
            if part is None:
                return None
            for fact, allowed in part.items():
                known = out.get(fact)
                out[fact] = allowed if known is None else known.meet(allowed)
                if out[fact].empty:
                    return None
        return out
    parts = [p for p in (hull(item, spaces) for item in formula.items) if p is not None]
    if not parts:
        return None
    first, *rest = parts
    joined = dict(first)
    for part in rest:
        for fact in list(joined):
            if fact in part:
                joined[fact] = joined[fact].join(part[fact])
            else:
                del joined[fact]
    return joined


def overlaps(a: Mapping[int, Allowed], b: Mapping[int, Allowed]) -> bool:
    """Whether two hulls can hold together."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    for fact, allowed in small.items():
        other = large.get(fact)
        if other is not None and other.meet(allowed).empty:
            return False
    return True
