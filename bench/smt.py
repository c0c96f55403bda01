"""The analysis's questions put to an SMT solver (z3), beside the search it uses.

    pip install z3-solver          # not a dependency of returnrules
    python bench/smt.py            # prints the comparison; skips without z3

Issue 14 asks to choose the method by measurement: the finite-domain and
interval search of ``returnrules.policy.logic``, or an SMT solver behind the
same interface.  Both get the *same formulas* (``logic.Formula``, built from
the checked rules by ``analysis._Analyzer``: checks as free booleans unless
they declare an equivalent condition), so only the solving differs:

* a fact is a z3 ``Int`` (whole numbers, dates, date-times; the index of a
  code for enums and booleans, bounded by the vocabulary; strings as distinct
  integers, any other integer being "another string") or ``Real`` (decimals,
  money), with a boolean "present" for an optional fact;
* ``Lit`` is the membership of its set (ranges, codes, absent), ``Var`` a
  boolean (true needs its facts present), ``Both``/``Either`` are and/or.

The questions, on ``rules.toml`` and on the generated 1,000-rule policy:

1. can each rule's condition hold (``never-matches``);
2. implications: does rule A's condition imply rule B's, for every ordered
   pair of ``rules.toml``'s deciding rules and 2,000 seeded pairs of the
   generated policy's (what ``never-decides`` and ``action-never-wins`` ask);
3. is there a line that no deciding rule matches (the start of the coverage
   search: the conjunction of every deciding rule's negation).

Each answer of the two must agree (z3 has no budget; the search gives up
past 20,000 steps, which counts as "unknown").  Times are per question
set, z3's with and without building its terms.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import returnrules

BENCH: Final = Path(__file__).resolve().parent
ROOT: Final = BENCH.parent
if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(ROOT))

from bench import bigpolicy  # noqa: E402
from returnrules.policy import analysis  # noqa: E402
from returnrules.policy.logic import (  # noqa: E402
    INF,
    Allowed,
    Both,
    Codes,
    Either,
    Formula,
    Lit,
    Model,
    Ranges,
    Search,
    Space,
    Unknown,
    Var,
    negate,
)

try:
    import z3
except ImportError:  # pragma: no cover - the usual case
    z3 = None

__all__ = ["Encoder", "SolverSearch", "main"]

PAIRS: Final = 2_000


class Encoder:
    """``logic.Formula`` → z3 terms, over one policy's fact spaces."""

    def __init__(self, spaces: Sequence[Space]) -> None:
        self.spaces = spaces
        self.values: dict[int, Any] = {}
        self.present: dict[int, Any] = {}
        self.codes: dict[int, dict[Hashable, int]] = {}
        self.flags: dict[int, Any] = {}
        self.domain: list[Any] = []

    def fact(self, n: int) -> Any:
        found = self.values.get(n)
        if found is not None:
            return found
        space = self.spaces[n]
        if space.ordered and not space.integral:
            found = z3.Real(f"f{n}")
        else:
            found = z3.Int(f"f{n}")
        if space.codes is not None:  # a finite vocabulary: its indexes
            self.codes[n] = {c: i for i, c in enumerate(sorted(space.codes, key=str))}
            self.domain.append(z3.And(found >= 0, found < len(space.codes)))
        self.values[n] = found
        return found

    def code(self, n: int, value: Hashable) -> int:
        table = self.codes.setdefault(n, {})
        if value not in table:  # a string: the next integer stands for it
            table[value] = len(table)
        return table[value]

    def is_present(self, n: int) -> Any:
        if not self.spaces[n].type.optional:
            return z3.BoolVal(True)
        found = self.present.get(n)
        if found is None:
            found = self.present[n] = z3.Bool(f"p{n}")
        return found

    @staticmethod
    def _number(value: Any) -> Any:
        if isinstance(value, Decimal):
            return z3.RealVal(str(value))
        return value

    def values_in(self, n: int, allowed: Allowed) -> Any:
        x = self.fact(n)
        values = allowed.values
        if isinstance(values, Codes):
            inside = z3.Or([x == self.code(n, v) for v in values.values])
            return z3.Not(inside) if values.cofinite else inside
        assert isinstance(values, Ranges)
        parts = []
        for lo, lo_in, hi, hi_in in values.ranges:
            bounds = []
            if lo != -INF:
                low = self._number(lo)
                bounds.append(x >= low if lo_in else x > low)
            if hi != INF:
                high = self._number(hi)
                bounds.append(x <= high if hi_in else x < high)
            parts.append(z3.And(bounds))
        return z3.Or(parts)

    def term(self, formula: Formula) -> Any:
        if isinstance(formula, Lit):
            present = self.is_present(formula.fact)
            held = z3.And(present, self.values_in(formula.fact, formula.allowed))
            if formula.allowed.absent and self.spaces[formula.fact].type.optional:
                return z3.Or(held, z3.Not(present))
            return held
        if isinstance(formula, Var):
            flag = self.flags.get(formula.key)
            if flag is None:
                flag = self.flags[formula.key] = z3.Bool(f"v{formula.key}")
            if not formula.value:
                return z3.Not(flag)
            return z3.And(flag, *(self.is_present(n) for n in formula.needs))
        if isinstance(formula, Both):
            return z3.And([self.term(f) for f in formula.items])
        assert isinstance(formula, Either)
        return z3.Or([self.term(f) for f in formula.items])

    def check(self, *formulas: Formula) -> tuple[str, float]:
        """z3's answer ("sat", "unsat", "unknown") and the time of the check alone."""
        terms = [self.term(f) for f in formulas]
        solver = z3.Solver()
        solver.add(*terms, *self.domain)
        start = time.perf_counter()
        answer = str(solver.check())
        return answer, time.perf_counter() - start


class SolverSearch:
    """z3 behind the interface of ``logic.Search`` (``find``, ``holds``,
    ``conflicts``), so that ``policy.analyze()`` can run on it unchanged."""

    def __init__(self, spaces: Sequence[Space], budget: int = 0) -> None:
        self.spaces = spaces
        self.encoder = Encoder(spaces)
        self.conflicts: list[Any] = []  # z3 gives no reasons the messages use

    def holds(self, *formulas: Formula, given: Model | None = None) -> bool:
        return self.find(formulas, given) is not None

    def find(
        self, formulas: Iterable[Formula], given: Model | None = None
    ) -> Model | None:
        solver = z3.Solver()
        solver.add(*(self.encoder.term(f) for f in formulas), *self.encoder.domain)
        if given is not None:
            solver.add(*(self.encoder.term(Lit(n, a)) for n, a in given.facts.items()))
            for key, value in given.variables.items():
                solver.add(self.encoder.term(Var(key, value)))
        answer = solver.check()
        if answer == z3.unknown:
            raise Unknown
        if answer == z3.unsat:
            return None
        return Model(self._facts(solver.model()), {})

    def _facts(self, model: Any) -> dict[int, Allowed]:
        """The model's value of each fact, as the one-point set the search's
        models hold (``analysis`` uses them to skip hopeless questions); a
        fact only required present (by a variable's needs) is just present."""
        out: dict[int, Allowed] = {}
        for n in {*self.encoder.values, *self.encoder.present}:
            space = self.spaces[n]
            present = self.encoder.present.get(n)
            if present is not None and z3.is_false(model.eval(present)):
                out[n] = space.absent()
                continue
            var = self.encoder.values.get(n)
            if var is None:
                if present is not None and z3.is_true(model.eval(present)):
                    out[n] = space.present()
                continue
            value = model[var]
            if value is None:  # this question does not constrain it
                continue
            if space.ordered:
                point: Any = (
                    value.as_long() if space.integral
                    else Decimal(value.numerator_as_long())
                    / Decimal(value.denominator_as_long())
                )  # fmt: skip
                out[n] = Allowed(
                    Ranges.of([(point, True, point, True)], space.integral)
                )
            else:
                codes = {i: c for c, i in self.encoder.codes.get(n, {}).items()}
                code = codes.get(value.as_long())
                if code is None:  # another string: all but the known ones
                    out[n] = Allowed(Codes(frozenset(codes.values()), cofinite=True))
                else:
                    out[n] = Allowed(Codes(frozenset({code})))
        return out


def _search(analyzer: analysis._Analyzer, *formulas: Formula) -> str:
    try:
        return "sat" if analyzer.search.holds(*formulas) else "unsat"
    except Unknown:
        return "unknown"


def _compare(
    name: str,
    analyzer: analysis._Analyzer,
    questions: Sequence[tuple[Formula, ...]],
) -> dict[str, Any]:
    """Both methods on every question: answers, disagreements and times."""
    ours: list[str] = []
    start = time.perf_counter()
    for question in questions:
        ours.append(_search(analyzer, *question))
    search_time = time.perf_counter() - start

    encoder = Encoder(analyzer.spaces)
    theirs: list[str] = []
    solving = 0.0
    start = time.perf_counter()
    for question in questions:
        answer, spent = encoder.check(*question)
        theirs.append(answer)
        solving += spent
    z3_time = time.perf_counter() - start

    disagree = sum(
        a != b and "unknown" not in (a, b) for a, b in zip(ours, theirs, strict=True)
    )
    row = {
        "questions": name,
        "count": len(questions),
        "search s": search_time,
        "z3 s": z3_time,
        "z3 solving s": solving,
        "search unknown": ours.count("unknown"),
        "z3 unknown": theirs.count("unknown"),
        "unsat": theirs.count("unsat"),
        "disagreements": disagree,
    }
    print(
        f"  {name:<44} {len(questions):>6}  search {_s(search_time):>9} "
        f"({ours.count('unknown')} unknown)   z3 {_s(z3_time):>9} "
        f"(solving {_s(solving)}; {theirs.count('unknown')} unknown)  "
        f"unsat {theirs.count('unsat')}, disagreements {disagree}"
    )
    return row


def _s(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _questions(
    policy: returnrules.Policy, pairs: int | None
) -> tuple[analysis._Analyzer, list[tuple[str, list[tuple[Formula, ...]]]]]:
    analyzer = analysis._Analyzer(policy.ir, policy.engine.facts)
    pos, spaces = analyzer.pos, analyzer.spaces
    rules = [r for r in policy.ir.rules if r.when is not None]
    deciding = [r.index for r in rules if r.decide is not None]
    every = [(a, b) for a in deciding for b in deciding if a != b]
    if pairs is not None:
        every = random.Random(14).sample(every, min(pairs, len(every)))
    implications: list[tuple[Formula, ...]] = [
        (pos[a], negate(pos[b], spaces)) for a, b in every
    ]
    uncovered: tuple[Formula, ...] = (Both(tuple(analyzer.neg[i] for i in deciding)),)
    return analyzer, [
        ("each rule can match", [(pos[r.index],) for r in rules]),
        ("A implies B, pairs of deciding rules", implications),
        ("a line no deciding rule matches", [uncovered]),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    if z3 is None:
        print("z3 is not installed (pip install z3-solver): nothing to compare")
        return 0
    print(f"z3 {z3.get_version_string()}")
    policies: list[tuple[str, Callable[[], returnrules.Policy], int | None]] = [
        ("rules.toml", lambda: returnrules.load_policy(ROOT / "rules.toml"), None),
        ("generated 1,000 rules",
         lambda: returnrules.loads_policy(bigpolicy.make_big_policy(), source="gen"),
         PAIRS),
    ]  # fmt: skip
    failed = False
    for name, load, pairs in policies:
        print(f"{name}:")
        policy = load()
        analyzer, questions = _questions(policy, pairs)
        for label, asked in questions:
            row = _compare(label, analyzer, asked)
            failed |= row["disagreements"] > 0
        failed |= not _whole(policy)
    return 1 if failed else 0


def _whole(policy: returnrules.Policy) -> bool:
    """``policy.analyze()`` with the search, then with z3 in its place: the
    time of each, and whether they find the same (by code and place)."""
    times, found = [], []
    for search in (Search, SolverSearch):
        # the analyzer builds its search from the name in its module
        setattr(analysis, "Search", search)  # noqa: B010
        try:
            start = time.perf_counter()
            result = policy.analyze()
            times.append(time.perf_counter() - start)
        finally:
            setattr(analysis, "Search", Search)  # noqa: B010
        found.append(
            (
                sorted((f.issue.code, f.issue.path) for f in result.findings),
                result.unanswered,
                len(result.coverage.regions),
                result.coverage.complete,
            )
        )
    (ours, our_open, our_regions, our_complete) = found[0]
    (theirs, their_open, their_regions, their_complete) = found[1]
    print(
        f"  {'analyze(), the whole analysis':<44} {'':>6}  search {_s(times[0]):>9} "
        f"({our_open} unanswered, {our_regions} regions"
        f"{'' if our_complete else ', search budget hit'})   z3 {_s(times[1]):>9} "
        f"({their_open} unanswered, {their_regions} regions"
        f"{'' if their_complete else ', search budget hit'}); "
        f"same findings: {'yes' if ours == theirs else 'NO'}"
    )
    if ours != theirs:
        print("    only the search:", sorted(set(ours) - set(theirs))[:5])
        print("    only z3:", sorted(set(theirs) - set(ours))[:5])
    return True


if __name__ == "__main__":
    sys.exit(main())
