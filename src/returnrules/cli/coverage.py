"""What a policy's own cases exercise: ``returnrules test --coverage``.

The cases are evaluated with ``explain=True``, and every line's trace says,
rule by rule, whether the rule matched and what each node of its condition
evaluated to (``engine/trace.py``).  From the traces of every line of every
case run against a policy:

* a **rule** is *exercised* when it matched at least one line;
* a **branch** is *exercised* when it evaluated to true on some line and to
  false on some line (not necessarily the same case).  One that a short
  circuit skipped, or whose check or fact raised, counts as neither.

The branches of a rule are the leaves of its ``when`` (comparisons,
``present``, checks) and every ``all``/``any`` nested inside it; the ``when``
itself is the rule (matched or not).  A ``not`` is one branch with what it
wraps: ``{ not = { check = "stock_available" } }`` is exercised when it was
true once and false once.  So a rule all of whose branches are exercised has
cases that show each condition matters: each one has held, and each one has
failed.

This is not the coverage of ``returnrules check --analyze``, which is about
the *policy*: the regions of the facts that no deciding rule reaches.  This
one is about the *cases*: the rules and conditions they never try.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Any, Final

import attrs

from returnrules.cli.render import Style, plural, show
from returnrules.engine.ir import (
    OP_SYMBOLS,
    AllOf,
    AnyOf,
    CheckCall,
    Compare,
    Cond,
    FactRef,
    NotOf,
    Present,
)
from returnrules.model.decision import Decision
from returnrules.model.errors import PathKey
from returnrules.policy.policy import Policy

__all__ = ["Branch", "CaseCoverage", "Gap", "branches", "describe"]

NEVER: Final = {
    (False, False): "never evaluated",
    (True, False): "never false",
    (False, True): "never true",
}
"""What a branch lacks, by (seen true, seen false)."""


@attrs.frozen
class Branch:
    """A condition of rule *rule* (by index) at key path *path*
    (``("rule", 4, "when", "all", 2)``), described by *text*."""

    rule: int
    path: PathKey
    text: str

    @property
    def steps(self) -> PathKey:
        """The way from the rule's condition trace to the node whose result
        is the branch's outcome: the path after ``("rule", N, "when")``."""
        return self.path[3:]


def describe(cond: Cond) -> str:
    """A condition in the words of ``--explain``: ``line.qty > 3``."""
    if isinstance(cond, NotOf):
        return f"not {describe(cond.item)}"
    if isinstance(cond, AllOf | AnyOf):
        key = "all" if isinstance(cond, AllOf) else "any"
        return f"{key} of {plural(len(cond.items), 'condition')}"
    if isinstance(cond, CheckCall):
        params = ", ".join(f"{k}={show(v)}" for k, v in cond.shown.items())
        return f"check {cond.check.name}" + (f"({params})" if params else "")
    if isinstance(cond, Present):
        return f"{cond.fact.name} present = {show(cond.expected)}"
    assert isinstance(cond, Compare)
    value = cond.value.name if isinstance(cond.value, FactRef) else show(cond.shown)
    return f"{cond.fact.name} {OP_SYMBOLS[cond.op]} {value}"


def branches(policy: Policy) -> list[Branch]:
    """Every branch of every rule of *policy*, in file order."""
    out: list[Branch] = []
    for rule in policy.rules:
        where: PathKey = ("rule", rule.index, "when")
        out.extend(_branches(rule.index, rule.when, where, root=True))
    return out


def _branches(
    rule: int, cond: Cond | None, where: PathKey, *, root: bool
) -> Iterator[Branch]:
    if cond is None:
        return
    inner, hops = cond, 0
    while isinstance(inner, NotOf):  # a not is one branch with what it wraps
        inner, hops = inner.item, hops + 1
    if not root or not isinstance(inner, AllOf | AnyOf):
        yield Branch(rule, where, describe(cond))
    if isinstance(inner, AllOf | AnyOf):
        key = "all" if isinstance(inner, AllOf) else "any"
        inside = ("not",) * hops
        for i, item in enumerate(inner.items):
            yield from _branches(rule, item, (*where, *inside, key, i), root=False)


def _node(condition: Any, steps: Sequence[str | int]) -> Mapping[str, Any] | None:
    """The trace node *steps* away from a rule's condition trace (None: none)."""
    node = condition
    for step in steps:
        if isinstance(step, str) and isinstance(node, Mapping):
            node = node.get(step)
        elif isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
        else:
            return None
    return node if isinstance(node, Mapping) else None


@attrs.frozen
class Gap:
    """A rule or branch the cases do not exercise, at *line*:*col* of the policy."""

    line: int
    col: int
    message: str


def _percent(part: int, whole: int) -> str:
    """``92.3%``, rounded down: 99.96 % is not shown as 100 %."""
    if whole == 0:
        return "100%"
    tenths = math.floor(Fraction(1000 * part, whole))
    return f"{tenths // 10}.{tenths % 10}%"


class CaseCoverage:
    """The rules and branches of one policy exercised by the cases run on it.

    Feed it every decision (evaluated with ``explain=True``) with :meth:`add`.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.branches = branches(policy)
        self._by_rule: dict[str, int] = {r.id: r.index for r in policy.rules}
        self._of_rule: list[list[int]] = [[] for _ in policy.rules]
        for i, branch in enumerate(self.branches):
            self._of_rule[branch.rule].append(i)
        self.matched = [False] * len(policy.rules)
        self.true = [False] * len(self.branches)
        self.false = [False] * len(self.branches)
        self.cases = 0
        self.lines = 0

    def add(self, decision: Decision) -> None:
        """Count what one case's decision exercised."""
        self.cases += 1
        for line in decision.lines:
            if line.trace is None:
                continue
            self.lines += 1
            for entry in line.trace.get("rules", ()):
                index = self._by_rule.get(str(entry.get("rule")))
                if index is None:
                    continue
                if entry.get("matched") is True:
                    self.matched[index] = True
                condition = entry.get("condition")
                for b in self._of_rule[index]:
                    node = _node(condition, self.branches[b].steps)
                    result = None if node is None else node.get("result")
                    if result is True:
                        self.true[b] = True
                    elif result is False:
                        self.false[b] = True

    # -- the numbers ------------------------------------------------------------------

    @property
    def rules_exercised(self) -> int:
        return sum(self.matched)

    @property
    def branches_exercised(self) -> int:
        return sum(t and f for t, f in zip(self.true, self.false, strict=True))

    def below(self, percent: float) -> bool:
        """Whether the rules' or the branches' coverage is below *percent*
        (compared exactly: 57.3 is 573/1000, not the float nearest to it)."""
        need = Fraction(str(percent)) / 100
        return any(
            whole and Fraction(part, whole) < need
            for part, whole in (
                (self.rules_exercised, len(self.matched)),
                (self.branches_exercised, len(self.branches)),
            )
        )

    def gaps(self) -> list[Gap]:
        """Every rule never matched and every branch not exercised, in file order."""
        policy = self.policy
        out: list[Gap] = []
        for rule in policy.rules:
            if not self.matched[rule.index]:
                line, col = policy.position(("rule", rule.index))
                out.append(Gap(line, col, f'rule "{rule.id}" never matched'))
        for i, branch in enumerate(self.branches):
            seen = (self.true[i], self.false[i])
            if seen == (True, True):
                continue
            rule = policy.rules[branch.rule]
            line, col = policy.position(branch.path)
            out.append(
                Gap(line, col, f'{NEVER[seen]} in rule "{rule.id}": {branch.text}')
            )
        return sorted(out, key=lambda g: (g.line, g.col))

    @property
    def source(self) -> str:
        """The policy's file, as a path from the current directory: ``rules.toml``
        rather than the cases' ``tests/policy/../../rules.toml``."""
        source = self.policy.source
        if not os.path.isfile(source):
            return source
        try:
            return os.path.relpath(os.path.realpath(source))
        except ValueError:  # another drive
            return source

    def report(self, style: Style) -> list[str]:
        """The summary, then one ``FILE:LINE:COL: ...`` line per gap."""
        rules, branches_ = len(self.matched), len(self.branches)
        head = (
            f"coverage of {self.source} by {plural(self.cases, 'case')} "
            f"({plural(self.lines, 'line')}):"
        )
        out = [
            style.bold(head),
            f"  rules     {self.rules_exercised} of {rules} matched "
            f"({_percent(self.rules_exercised, rules)})",
            f"  branches  {self.branches_exercised} of {branches_} both true and "
            f"false ({_percent(self.branches_exercised, branches_)})",
        ]
        for gap in self.gaps():
            where = f"{self.source}:{gap.line}:{gap.col}:"
            out.append(f"{style.bold(where)} {gap.message}")
        return out
