"""Compile a checked policy into one Python function.

The function takes a :class:`~returnrules.LineContext` and returns the bit mask
of matched rules plus the errors raised on the way.  It is what a programmer
would write by hand: every fact is loaded into a local variable the first time
a condition needs it (never twice), conditions short-circuit, and each rule
sits in its own ``try`` so that a failing check or fact cannot hide the others.

**Safety.** No text from a policy or a request is ever put into the generated
source.  Every value (literals, parameters, resolvers, checks) is passed into a
factory function as an argument, and every name in the source (``f3``, ``C12``,
``K0``...) is made here from numbers.  The source is kept on the matcher
(``Matcher.source``) for inspection.

For a line ``ctx``, with fact 3 optional and compared to a constant::

    try:
        if ((w := 1) and ((f3 if f3 is not U else ((f3 := X3) and (f3 := R3(ctx))))
                          is not None and f3 > C0)):
            m |= B0
    except Exception as e:
        errs = E(errs, 0, w, e)

``X3`` is a marker stored *before* the resolver is called: if the resolver
raises, the marker stays, and any later use of fact 3 on this line raises
``FactUnavailable`` instead of calling the resolver again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import attrs

from returnrules._api import UNSET, Fact, FactUnavailable, FailedFact, LineContext
from returnrules._ir import (
    OP_SYMBOLS,
    AllOf,
    AnyOf,
    CheckCall,
    Compare,
    Cond,
    FactRef,
    Leaf,
    NotOf,
    PolicyIR,
    Present,
)
from returnrules._money import Money
from returnrules._plugins import Registry

__all__ = ["Matcher", "RuleError", "compile_policy"]


MatchFn = Callable[[LineContext], tuple[int, "list[RuleError] | None"]]


@attrs.frozen
class RuleError:
    """A rule whose condition raised: which rule, which leaf, what exception."""

    rule: int
    leaf: int
    error: BaseException


CAUGHT: Final = (Exception, SystemExit)
"""What a rule's condition may raise without stopping the evaluation: a plugin
that calls sys.exit() is a broken plugin, not a request to end the process."""


def _record(
    errs: list[RuleError] | None, rule: int, leaf: int, exc: BaseException
) -> list[RuleError]:
    if errs is None:
        errs = []
    errs.append(RuleError(rule, leaf, exc))
    return errs


def _present(value: Any) -> bool:
    if value.__class__ is FailedFact:
        value.fail()
    return value is not None


class CheckResultError(TypeError):
    """A check returned something other than True or False."""


def _bad_check(value: object) -> bool:
    raise CheckResultError(f"returned {value!r}, not true or false")


@attrs.frozen
class Matcher:
    """The compiled conditions of a policy.

    ``match(ctx)`` → ``(mask, errors)``; ``leaves[n]`` is the condition leaf
    numbered *n* in the source (for error messages); ``source`` is the
    generated code.
    """

    match: MatchFn
    leaves: tuple[Leaf | None, ...]
    source: str


@attrs.define
class _Gen:
    facts_table: Sequence[Fact]
    args: dict[str, object] = attrs.field(factory=dict)
    leaves: list[Leaf | None] = attrs.field(factory=lambda: [None])
    loaded: set[int] = attrs.field(factory=set)
    checks: list[tuple[Any, Any]] = attrs.field(factory=list)
    roots: dict[str, str] = attrs.field(factory=dict)

    def bind(self, prefix: str, value: object) -> str:
        """A fresh argument name for *value*, made from *prefix* and a number."""
        name = f"{prefix}{len(self.args)}"
        self.args[name] = value
        return name

    def load(self, fact: FactRef) -> str:
        n = fact.number
        attribute = self.facts_table[n].attribute
        if attribute:
            # A plain attribute of the context: cheaper to read than to cache.
            # The path comes from the fact's registration (validated public
            # identifiers), never from the policy; its first step (ctx.line,
            # ctx.request...) is read once per line into a local a0, a1...
            self.loaded.add(n)
            root, _, rest = attribute.partition(".")
            local = self.roots.setdefault(root, f"a{len(self.roots)}")
            return f"(f{n} := {local}{'.' if rest else ''}{rest})"
        if n not in self.loaded:
            self.loaded.add(n)
            self.args[f"R{n}"] = self.facts_table[n].resolve
            self.args[f"X{n}"] = FailedFact(fact.name)
        return f"(f{n} if f{n} is not U else ((f{n} := X{n}) and (f{n} := R{n}(ctx))))"

    def leaf(self, leaf: Leaf, test: str) -> str:
        self.leaves.append(leaf)
        return f"((w := {len(self.leaves) - 1}) and {test})"

    def cond(self, cond: Cond) -> str:
        if isinstance(cond, AllOf):
            if not cond.items:
                return "True"
            return "(" + " and ".join(self.cond(c) for c in cond.items) + ")"
        if isinstance(cond, AnyOf):
            if not cond.items:
                return "False"
            return "(" + " or ".join(self.cond(c) for c in cond.items) + ")"
        if isinstance(cond, NotOf):
            return f"(not {self.cond(cond.item)})"
        if isinstance(cond, Present):
            test = f"P({self.load(cond.fact)})"
            return self.leaf(cond, test if cond.expected else f"(not {test})")
        if isinstance(cond, CheckCall):
            # The same check with equal parameters in several rules runs once
            # per line: its result is kept in a local (k0, k1...).
            for i, (check, params) in enumerate(self.checks):
                if check is cond.check and params == cond.params:
                    k = f"k{i}"
                    break
            else:
                k = f"k{len(self.checks)}"
                self.checks.append((cond.check, cond.params))
                self.args[k.upper()] = cond.check.test
                self.args[f"A{k[1:]}"] = cond.params
            call = f"({k} if {k} is not U else ({k} := {k.upper()}(ctx, A{k[1:]})))"
            return self.leaf(
                cond, f"({call} is True or ({k} is not False and BAD({k})))"
            )
        return self.leaf(cond, self.compare(cond))

    def compare(self, cond: Compare) -> str:
        guards: list[str] = []
        left = self.load(cond.fact)
        if cond.fact.type.optional:
            guards.append(f"{left} is not None")
            left = f"f{cond.fact.number}"
        if isinstance(cond.value, FactRef):
            right = self.load(cond.value)
            if cond.value.type.optional:
                guards.append(f"{right} is not None")
                right = f"f{cond.value.number}"
        elif isinstance(cond.value, Money) and cond.op not in ("in", "not_in"):
            # Money facts are in the policy's currency (requests are checked on
            # parsing, plugin facts as they resolve): compare the amounts.  A
            # failed fact's marker has no .amount and raises, as it should.
            left = f"{left}.amount"
            right = self.bind("C", cond.value.amount)
        else:
            right = self.bind("C", cond.value)
        test = f"{left} {OP_SYMBOLS[cond.op]} {right}"
        return "(" + " and ".join([*guards, test]) + ")"


def compile_policy(ir: PolicyIR, facts: Sequence[Fact]) -> Matcher:
    """Generate, compile and instantiate the matcher of *ir*.

    *facts* is the registry's fact table, numbered as the IR refers to it (with
    the resolvers the policy should call, e.g. type-checked ones).
    """
    gen = _Gen(facts)
    always = 0
    body: list[str] = []
    for rule in ir.rules:
        bit = 1 << rule.index
        if rule.when is None:
            always |= bit
            continue
        test = gen.cond(rule.when)
        mask = gen.bind("B", bit)
        body += [
            "    try:",
            f"        if {test}:",
            f"            m |= {mask}",
            "    except EX as e:",
            f"        errs = E(errs, {rule.index}, w, e)",
        ]
    used = sorted(gen.loaded)
    values = ", ".join(f"f{n}" if n in gen.loaded else "U" for n in range(len(facts)))
    head = ["def match(ctx):", f"    m = {always}", "    errs = None", "    w = 0"]
    head += [f"    {local} = ctx.{root}" for root, local in gen.roots.items()]
    slots = [f"f{n}" for n in used] + [f"k{i}" for i in range(len(gen.checks))]
    if slots:
        head.append("    " + " = ".join(slots) + " = U")
    tail = [f"    ctx.values = [{values}]", "    return m, errs"]
    fixed: dict[str, object] = {
        "U": UNSET,
        "EX": CAUGHT,
        "E": _record,
        "P": _present,
        "BAD": _bad_check,
    }
    params = [*fixed, *gen.args]
    source = "\n".join(
        [
            f"def make({', '.join(params)}):",
            *("    " + line for line in [*head, *body, *tail]),
            "    return match",
            "",
        ]
    )
    namespace: dict[str, Any] = {"__builtins__": {}}
    exec(compile(source, f"<returnrules policy {ir.source}>", "exec"), namespace)
    match = namespace["make"](**fixed, **gen.args)
    return Matcher(match, tuple(gen.leaves), source)


def leaf_source(leaf: Leaf | None, registry: Registry) -> str:
    """Which fact, check or comparison a leaf is, and its plugin, for messages."""
    if isinstance(leaf, CheckCall):
        return f"check {leaf.check.name} (plugin {leaf.check.plugin})"
    if isinstance(leaf, Compare | Present):
        facts: Sequence[FactRef] = [leaf.fact]
        if isinstance(leaf, Compare) and isinstance(leaf.value, FactRef):
            facts = [leaf.fact, leaf.value]
        names = [
            f"fact {f.name} (plugin {registry.facts[f.number].plugin})" for f in facts
        ]
        return " / ".join(names)
    return "condition"


__all__ += ["CheckResultError", "FactUnavailable", "leaf_source"]
