"""What a plugin registers, and what it is handed at evaluation time.

A plugin adds *named things* through the ``register`` callback of a hook (see
:mod:`returnrules.hookspecs`): :class:`Fact`, :class:`Check`, :class:`Action`
and :class:`~returnrules.Vocabulary`.  Names are what ``rules.toml`` refers to.

Parameters of checks and actions are declared as attrs classes; the policy
loader structures and type-checks them before anything runs.  Besides the
plain types (``int``, ``bool``, ``str``, ``Decimal``, ``date``, ``datetime``,
``Literal[...]``, lists, dicts and ``X | None``) a parameter may be:

* :class:`~returnrules.Money` - a money literal in the policy's currency;
* :class:`Template` - a message with ``{fact.name}`` placeholders, checked at
  load time and rendered per line;
* ``Annotated[str, VocabCode("tier")]`` - a code of a vocabulary.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final, Generic, Literal, TypeVar

import attrs

from returnrules.model.convert import Bounds, VocabCode
from returnrules.model.request import OrderLine, Request, ReturnLine

__all__ = [
    "Action",
    "Bounds",
    "Check",
    "Fact",
    "FactType",
    "FactUnavailable",
    "LineContext",
    "NoParams",
    "Template",
    "VocabCode",
]

P = TypeVar("P")

Kind = Literal["int", "decimal", "money", "bool", "str", "date", "datetime", "enum"]
ORDERED_KINDS: Final = frozenset({"int", "decimal", "money", "date", "datetime"})
NUMERIC_KINDS: Final = frozenset({"int", "decimal"})


@attrs.frozen
class FactType:
    """The static type of a fact: ``FactType("int")``, ``FactType.enum("reason")``.

    ``optional`` facts may be absent for a line (their value is ``None``); any
    comparison with an absent fact is false, only ``present`` tests for it.
    """

    kind: Kind = attrs.field(validator=attrs.validators.in_(typing.get_args(Kind)))
    vocab: str | None = None
    optional: bool = False

    @classmethod
    def enum(cls, vocab: str, *, optional: bool = False) -> FactType:
        return cls("enum", vocab, optional)

    def as_optional(self) -> FactType:
        return attrs.evolve(self, optional=True)

    @property
    def ordered(self) -> bool:
        return self.kind in ORDERED_KINDS

    def compatible(self, other: FactType) -> bool:
        """Can a value of this type be compared with one of *other*?"""
        if self.kind in NUMERIC_KINDS and other.kind in NUMERIC_KINDS:
            return True
        return self.kind == other.kind and self.vocab == other.vocab

    def __str__(self) -> str:
        base = f"enum[{self.vocab}]" if self.kind == "enum" else self.kind
        return base + ("?" if self.optional else "")


#: The Python class of a fact's value, per kind (enum codes are ``str``).
PYTHON_TYPES: Final[Mapping[str, type | tuple[type, ...]]] = {
    "int": int,
    "decimal": (Decimal, int),
    "bool": bool,
    "str": str,
    "enum": str,
    "date": dt.date,
    "datetime": dt.datetime,
}


class FactUnavailable(Exception):
    """A fact whose resolver already failed on this line is asked for again."""


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Final[Any] = _Unset()


class FailedFact:
    """Stands in for a fact whose resolver raised, so it is never called twice.

    It is truthy but refuses every comparison and hashing, so any condition that
    reaches it raises :class:`FactUnavailable` instead of guessing.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, *_: object) -> Any:
        raise FactUnavailable(
            f"fact {self.name} is unavailable: its resolver failed earlier on this line"
        )

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = fail
    __hash__ = fail

    def __repr__(self) -> str:
        return f"<failed {self.name}>"


class LineContext:
    """One return line being evaluated, as facts, checks and actions see it.

    ``request``, ``line`` (the return line), ``order_line`` and ``data`` (the
    mapping passed to ``evaluate(..., data=...)``) are the inputs; ``hook`` is
    the plugin manager's hook relay, through which a plugin calls its own data
    provider hooks; ``memo`` is a per-line dict a plugin may use to cache a
    record that several of its facts share.

    One is made per line evaluated, so it is a plain slotted class.
    """

    __slots__ = ("data", "facts", "hook", "line", "memo", "order_line", "request",
                 "values")  # fmt: skip

    def __init__(
        self,
        request: Request,
        line: ReturnLine,
        order_line: OrderLine,
        data: Mapping[str, Any],
        hook: Any,
        facts: tuple[Fact, ...] = (),
    ) -> None:
        self.request = request
        self.line = line
        self.order_line = order_line
        self.data = data
        self.hook = hook
        self.memo: dict[object, Any] = {}
        # The per-line fact cache, indexed by the registry's fact numbers; filled
        # by the compiled policy, read by templates.  Not for plugins.
        self.values: list[Any] = []
        self.facts = facts

    def __repr__(self) -> str:
        return f"<LineContext {self.request.id} line {self.line.line}>"

    def fact_value(self, index: int) -> Any:
        """The value of fact number *index*, resolving it at most once."""
        value = self.values[index]
        if value is UNSET:
            fact = self.facts[index]
            self.values[index] = FailedFact(fact.name)
            value = self.values[index] = fact.resolve(self)
        elif value.__class__ is FailedFact:
            value.fail()
        return value


def _attribute_path(_: object, __: object, path: str) -> None:
    parts = path.split(".") if path else []
    if not all(p.isidentifier() and not p.startswith("_") for p in parts):
        raise ValueError(f"attribute must be a dotted path of public names: {path!r}")


@attrs.frozen
class Fact:
    """A named, typed value about a line: ``Fact("line.qty", FactType("int"), fn)``.

    ``resolve`` is called at most once per line, only when a rule needs it.  An
    optional fact returns ``None`` when absent.

    A fact that is simply an attribute of the context may say so with
    ``attribute="line.qty"`` (the same value ``resolve`` returns): compiled
    policies then read it directly instead of calling a function.
    """

    name: str
    type: FactType
    resolve: Callable[[LineContext], Any]
    doc: str = ""
    plugin: str = ""
    attribute: str = attrs.field(default="", validator=_attribute_path)


@attrs.frozen
class NoParams:
    """The parameters of a check or action that takes none."""


@attrs.frozen
class Check(Generic[P]):
    """A named test a rule can use in ``when``: ``{ check = "NAME", ... }``.

    ``test(ctx, params)`` returns ``True``/``False``; ``explain(ctx, params)``
    returns a sentence for the trace ("delivered 2026-11-04, requested
    2026-11-20: 16 days, window 30").  ``params`` is an attrs class.
    """

    name: str
    test: Callable[[LineContext, P], bool]
    params: type[P] = NoParams  # type: ignore[assignment]
    explain: Callable[[LineContext, P], str] | None = None
    doc: str = ""
    plugin: str = ""


@attrs.frozen
class Action(Generic[P]):
    """A named consequence a rule plans in ``then``: ``{ action = "NAME", ... }``.

    ``run(ctx, params)`` returns the fields the decision reports (``amount``,
    ``qty``...).  A *single* action (``multiple=False``) happens at most once per
    line: the matching rule with the highest priority wins.  A *multiple*
    action (notify) keeps every distinct occurrence.
    """

    name: str
    run: Callable[[LineContext, P], Mapping[str, Any]]
    params: type[P] = NoParams  # type: ignore[assignment]
    multiple: bool = False
    doc: str = ""
    plugin: str = ""


@attrs.frozen
class Template:
    """A message with ``{fact.name}`` placeholders, checked when the policy loads.

    Only registered facts can be named; there is no attribute access, indexing
    or format spec, so a template can never reach anything but a fact's value.
    ``{{`` and ``}}`` stand for literal braces.
    """

    text: str
    parts: tuple[str | int, ...] = ()  # literal text, or a fact number
    formatters: tuple[Callable[[Any], str], ...] = attrs.field(default=(), eq=False)
    fixed: str = attrs.field(init=False, eq=False, repr=False)
    """The literal text alone: the whole message when there are no placeholders."""
    _steps: tuple[tuple[str, int, Callable[[Any], str]], ...] = attrs.field(
        init=False, eq=False, repr=False
    )
    """(literal text before it, fact number, formatter) for each placeholder."""
    _tail: str = attrs.field(init=False, eq=False, repr=False)
    """The literal text after the last placeholder."""

    @fixed.default
    def _literal_text(self) -> str:
        return "".join(p for p in self.parts if isinstance(p, str))

    @_steps.default
    def _make_steps(self) -> tuple[tuple[str, int, Callable[[Any], str]], ...]:
        if not self.formatters:  # built without placeholders' formatters: fixed text
            return ()
        steps: list[tuple[str, int, Callable[[Any], str]]] = []
        literal = ""
        formatters = iter(self.formatters)
        for part in self.parts:
            if isinstance(part, str):
                literal += part
            else:
                steps.append((literal, part, next(formatters, str)))
                literal = ""
        return tuple(steps)

    @_tail.default
    def _make_tail(self) -> str:
        tail: list[str] = []
        for part in reversed(self.parts):
            if not isinstance(part, str):
                break
            tail.append(part)
        return "".join(reversed(tail))

    def render(self, ctx: LineContext) -> str:
        steps = self._steps
        if not steps:  # no placeholders: the message is fixed
            return self.fixed
        value = ctx.fact_value
        text = ""
        for literal, index, show in steps:
            text += literal + show(value(index))
        return text + self._tail

    def __str__(self) -> str:
        return self.text
