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

For a line ``ctx``, with fact 3 optional and compared to a constant, and a
check::

    try:
        if (
            (
            ((f3 if f3 is not U else ((f3 := X3) and (f3 := R3(ctx)))) is not None
             and f3 > C0)
            and ((k0 if k0 is not U else (k0 := K0(ctx, A0))) is True or ...)
            )
        ):
            m |= B1
    except EX as e:
        errs = E(errs, 0, e)

Each leaf has a line of its own: when one raises, the traceback's line
number tells which, at no cost to the lines that do not fail.

``X3`` is a marker stored *before* the resolver is called: if the resolver
raises, the marker stays, and any later use of fact 3 on this line raises
``FactUnavailable`` instead of calling the resolver again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from returnrules.engine.ir import (
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
from returnrules.model.money import Money
from returnrules.plugin.api import UNSET, Fact, FactUnavailable, FailedFact, LineContext
from returnrules.plugin.hooks import is_fault
from returnrules.plugin.manager import Registry

__all__ = ["Matcher", "RuleError", "compile_policy"]


MatchFn = Callable[[LineContext, bool], tuple[int, "list[RuleError] | None"]]
"""``match(ctx, keep)``: with *keep*, the facts loaded are left in ``ctx.values``
for the messages; ``plan`` renders none and passes False."""
Line = tuple[str, "Leaf | None"]
"""A line of generated source, with the condition leaf it evaluates (if any)."""


@attrs.frozen
class RuleError:
    """A rule whose condition raised: which rule, what exception, and the line of
    the generated source it was raised on (which tells the leaf)."""

    rule: int
    error: BaseException
    line: int


def _record(
    errs: list[RuleError] | None, rule: int, exc: BaseException
) -> list[RuleError]:
    """Keep a rule's error with the generated line it came from.

    The caught exception's traceback starts in the generated function, at the
    line of the leaf being evaluated: every leaf has a line of its own, so
    the success path pays nothing for knowing which leaf failed.
    """
    if not is_fault(exc):  # KeyboardInterrupt: the person, not the plugin
        raise exc
    if errs is None:
        errs = []
    tb = exc.__traceback__
    errs.append(RuleError(rule, exc, tb.tb_lineno if tb is not None else 0))
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

    ``match(ctx, keep)`` → ``(mask, errors)``; ``lines`` maps each line of the
    generated ``source`` that evaluates a condition leaf to that leaf (an
    error's line tells which fact or check failed).
    """

    match: MatchFn
    lines: Mapping[int, Leaf]
    source: str

    def leaf_of(self, error: RuleError) -> Leaf | None:
        """The condition leaf a rule's error was raised in."""
        return self.lines.get(error.line)


@attrs.define
class _Gen:
    facts_table: Sequence[Fact]
    args: dict[str, object] = attrs.field(factory=dict)
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

    def cond(self, cond: Cond) -> list[Line]:
        """The condition as source lines, one per leaf (with the leaf it holds)."""
        if isinstance(cond, AllOf | AnyOf):
            if not cond.items:
                return [("True" if isinstance(cond, AllOf) else "False", None)]
            word = "and" if isinstance(cond, AllOf) else "or"
            lines: list[Line] = [("(", None)]
            for i, item in enumerate(cond.items):
                first, *rest = self.cond(item)
                lines += [(f"{word} {first[0]}" if i else first[0], first[1]), *rest]
            return [*lines, (")", None)]
        if isinstance(cond, NotOf):
            return [("(not (", None), *self.cond(cond.item), ("))", None)]
        if isinstance(cond, Present):
            test = f"P({self.load(cond.fact)})"
            return [(test if cond.expected else f"(not {test})", cond)]
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
            return [(f"({call} is True or ({k} is not False and BAD({k})))", cond)]
        return [(self.compare(cond), cond)]

    def present(self, fact: FactRef) -> str:
        """A guard that is true when an optional fact is there, loading it first.

        A fact whose resolver failed earlier on the line is not "there": it
        raises, as any other use of it does, rather than passing the guard.
        """
        n = fact.number
        load = self.load(fact)
        if self.facts_table[n].attribute:  # read directly: can never have failed
            return f"{load} is not None"
        return f"{load} is not None and (f{n} is not X{n} or X{n}.fail())"

    def compare(self, cond: Compare) -> str:
        # Left to right, like the explain interpreter: the left fact is loaded
        # first even when only the right one is optional.
        guards: list[str] = []
        left = self.load(cond.fact)
        if cond.fact.type.optional:
            guards.append(self.present(cond.fact))
            left = f"f{cond.fact.number}"
        if isinstance(cond.value, FactRef):
            if cond.value.type.optional:
                if not guards:  # load the left fact before the right one
                    guards.append(f"{left} is not U")
                    left = f"f{cond.fact.number}"
                guards.append(self.present(cond.value))
                right = f"f{cond.value.number}"
            else:
                right = self.load(cond.value)
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
    body: list[Line] = []
    for rule in ir.rules:
        bit = 1 << rule.index
        if rule.when is None:
            always |= bit
            continue
        test = gen.cond(rule.when)
        mask = gen.bind("B", bit)
        body += [
            ("    try:", None),
            ("        if (", None),
            *((f"            {text}", leaf) for text, leaf in test),
            ("        ):", None),
            (f"            m |= {mask}", None),
            ("    except EX as e:", None),
            (f"        errs = E(errs, {rule.index}, e)", None),
        ]
    used = sorted(gen.loaded)
    values = ", ".join(f"f{n}" if n in gen.loaded else "U" for n in range(len(facts)))
    head = ["def match(ctx, keep):", f"    m = {always}", "    errs = None"]
    head += [f"    {local} = ctx.{root}" for root, local in gen.roots.items()]
    slots = [f"f{n}" for n in used] + [f"k{i}" for i in range(len(gen.checks))]
    if slots:
        head.append("    " + " = ".join(slots) + " = U")
    tail = ["    if keep:", f"        ctx.values = [{values}]", "    return m, errs"]
    fixed: dict[str, object] = {
        "U": UNSET,
        "EX": BaseException,
        "E": _record,
        "P": _present,
        "BAD": _bad_check,
    }
    params = [*fixed, *gen.args]
    lines: list[Line] = [
        (f"def make({', '.join(params)}):", None),
        *((f"    {text}", None) for text in head),
        *((f"    {text}", leaf) for text, leaf in body),
        *((f"    {text}", None) for text in tail),
        ("    return match", None),
    ]
    source = "\n".join(text for text, _ in lines) + "\n"
    leaves = {number: leaf for number, (_, leaf) in enumerate(lines, 1) if leaf}
    namespace: dict[str, Any] = {"__builtins__": {}}
    exec(compile(source, f"<returnrules policy {ir.source}>", "exec"), namespace)
    match = namespace["make"](**fixed, **gen.args)
    return Matcher(match, leaves, source)


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
