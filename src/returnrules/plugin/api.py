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
from collections.abc import Callable, Hashable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar

import attrs

from returnrules.model.convert import structure_data
from returnrules.model.errors import PathKey, RequestError
from returnrules.model.request import OrderLine, Request, ReturnLine
from returnrules.model.vocab import Vocabulary

if TYPE_CHECKING:
    from returnrules.plugin.hooks import Hooks
    from returnrules.plugin.tape import Tape

__all__ = [
    "Action",
    "Check",
    "Data",
    "Fact",
    "FactType",
    "FactUnavailable",
    "LineContext",
    "NoParams",
    "ReadOnlyMapping",
    "Template",
]

P = TypeVar("P")
T = TypeVar("T")

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


class ReadOnlyMapping(Mapping[str, Any]):
    """A read-only view of a mapping whose tables and arrays are read-only too.

    What plugins are handed of the data: a check that writes into it (``on_hand
    -= qty``) raises ``TypeError`` instead of changing what the next line sees.
    Tables are wrapped as they are read, arrays become tuples; nothing is copied
    up front.
    """

    __slots__ = ("_mapping",)

    def __init__(self, mapping: Mapping[Any, Any]) -> None:
        self._mapping = mapping

    def __getitem__(self, key: Any) -> Any:
        return _read_only(self._mapping[key])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._mapping)

    def __len__(self) -> int:
        return len(self._mapping)

    def __contains__(self, key: object) -> bool:
        return key in self._mapping

    def __repr__(self) -> str:
        return f"ReadOnlyMapping({self._mapping!r})"


def _read_only(value: Any) -> Any:
    if isinstance(value, ReadOnlyMapping):
        return value
    if isinstance(value, Mapping):
        return ReadOnlyMapping(value)
    if isinstance(value, list | tuple):
        return tuple(_read_only(item) for item in value)
    if isinstance(value, set | frozenset):
        return frozenset(value)
    return value


def _copied(value: Any) -> Any:
    """A private deep copy of the tables and arrays of a data mapping."""
    if isinstance(value, Mapping):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_copied(item) for item in value]
    return value


class Data(ReadOnlyMapping):
    """The data of one evaluation, or of one batch: ``ctx.data`` for plugins.

    A read-only mapping (the CLI's ``--data``: stock levels, supplier terms...)
    with a cache that lives exactly as long as this object.  ``evaluate(request,
    data=mapping)`` wraps a plain mapping in a new ``Data`` for that one call;
    ``Policy.check_data(mapping)`` checks a mapping and returns a *snapshot*
    (a private copy) to pass to every evaluation of a batch, so that what the
    plugins structure from it (:meth:`record`) is worked out once per batch and
    a host changing its own mapping afterwards changes nothing here.
    """

    __slots__ = ("cache",)

    def __init__(self, mapping: Mapping[str, Any] | None = None) -> None:
        super().__init__({} if mapping is None else mapping)
        self.cache: dict[Hashable, Any] = {}
        """Anything a plugin works out from the data, kept as long as the data."""

    @classmethod
    def snapshot(cls, mapping: Mapping[str, Any]) -> Data:
        """A Data over a private copy of *mapping*'s tables and arrays."""
        return cls(_copied(mapping))

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses a process boundary as its plain content; the cache stays here.
        return (Data, (_copied(self._mapping),))

    def record(
        self,
        table: str,
        key: str,
        cls: type[T],
        *,
        path: PathKey | None = None,
        vocabularies: Mapping[str, Vocabulary] | None = None,
    ) -> T | None:
        """``data[table][key]`` structured into the attrs class *cls*, or None.

        Structured (and so checked) at most once per Data; a bad record raises
        :class:`~returnrules.RequestError` with its key path, every time it is
        asked for.  A missing table or a table that is not one gives None.
        With the policy's *vocabularies* the record is always structured and
        checked against them (a plugin's ``returnrules_check_data`` does
        this), and kept for the evaluations that read it without.
        """
        cache_key = (Data.record, table, key, cls)
        hit = self.cache.get(cache_key, _MISSING)
        # Asked with the vocabularies (a check), it is always structured and
        # checked against them; the result is kept for what asks without.
        if hit is not _MISSING and vocabularies is None:
            if isinstance(hit, RequestError):
                raise hit
            result: T | None = hit
            return result
        found = self._mapping.get(table)
        raw = found.get(key) if isinstance(found, Mapping) else None
        if raw is None:
            self.cache[cache_key] = None
            return None
        try:
            where = (table, key) if path is None else path
            value = structure_data(raw, cls, path=where, vocabularies=vocabularies)
        except RequestError as exc:
            self.cache[cache_key] = exc
            raise
        self.cache[cache_key] = value
        return value

    def __repr__(self) -> str:
        return f"<Data {sorted(map(str, self._mapping))}>"


_MISSING: Final[Any] = object()


class LineContext:
    """One return line being evaluated, as facts, checks and actions see it.

    ``request``, ``line`` (the return line), ``order_line`` and ``data`` (the
    read-only :class:`Data` of this evaluation) are the inputs; ``hook`` is the
    typed facade over the plugin manager, through which a plugin calls its own
    data-provider hooks (``ctx.hook.first("returnrules_stock_level", sku=...,
    context=ctx)``); ``memo`` is a per-line dict a plugin may use to keep a
    record that several of its facts share.

    One is made per line evaluated, so it is a plain slotted class.
    """

    __slots__ = ("data", "facts", "hook", "line", "memo", "order_line", "request",
                 "tape", "values")  # fmt: skip

    def __init__(
        self,
        request: Request,
        line: ReturnLine,
        order_line: OrderLine,
        data: Data,
        hook: Hooks,
        facts: tuple[Fact, ...] = (),
        tape: Tape | None = None,
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
        # What the data providers answered, kept by the desk (plugin.tape).
        self.tape = tape

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

    ``equivalent(params)``, optional, returns a condition over facts, written
    as in ``rules.toml`` (``{"fact": "request.days_since_delivery", "le": 30}``,
    with ``all``/``any``/``not``), that holds exactly when the check does, or
    None when there is none for these parameters.  ``returnrules check``
    reasons with it instead of treating the check as an unknown (rules that
    can never match, coverage, counterfactuals); the engine still calls
    ``test``.  It must be exact: a test should hold the two in agreement.
    """

    name: str
    test: Callable[[LineContext, P], bool]
    params: type[P] = NoParams  # type: ignore[assignment]
    explain: Callable[[LineContext, P], str] | None = None
    doc: str = ""
    plugin: str = ""
    equivalent: Callable[[P], Mapping[str, Any] | None] | None = None


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
