"""cattrs configuration shared by the request and policy loaders.

cattrs' default hooks are lenient in ways that would hide a rule author's or a
client's mistake (``int(True) == 1``, ``int(2.9) == 2``, ``str(5) == "5"``), so
every primitive gets a strict hook here.  :func:`issues_from_cattrs` turns a
``ClassValidationError`` into ``(key path, message, code)`` triples, with
"did you mean" suggestions for misspelt keys.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Callable, Hashable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Final, NamedTuple, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_mapping_structure_fn, override

from returnrules.model.bounds import Bounds, VocabCode
from returnrules.model.errors import (
    PathKey,
    RequestError,
    RequestProblem,
    did_you_mean,
    format_path,
    quote,
    show,
)
from returnrules.model.money import MAX_DIGITS, MAX_PLACES, Money, to_decimal
from returnrules.model.request import (
    CategoryCode,
    ChannelCode,
    ConditionCode,
    Count,
    Moment,
    PackagingCode,
    Qty,
    ReasonCode,
    StatusCode,
    Text,
    TierCode,
)
from returnrules.model.vocab import Vocabulary

__all__ = [
    "MAX_STRING",
    "Bounds",
    "CattrsIssue",
    "Context",
    "VocabCode",
    "converter",
    "issues_from_cattrs",
    "make_converter",
    "public_name",
    "show",
    "structure_data",
    "table_hook",
    "validate_as",
]

T = TypeVar("T")
M = TypeVar("M")

MAX_STRING: Final = 1_000
MAX_INT: Final = 10**12


def strict_int(value: object, _: object = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {show(value)}")
    if abs(value) > MAX_INT:
        raise ValueError(f"integer out of range: {show(value)}")
    return value


CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Control characters: never in a request's text (they could forge output)."""


def strict_str(value: object, _: object = None) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {show(value)}")
    if len(value) > MAX_STRING:
        raise ValueError(f"string longer than {MAX_STRING} characters")
    return value


def plain_str(value: object, _: object = None) -> str:
    """A string of a request: strict, and without control characters."""
    text = strict_str(value)
    if CONTROL.search(text):
        raise ValueError(f"control characters are not allowed: {quote(text)}")
    return text


def strict_bool(value: object, _: object = None) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {show(value)}")
    return value


def strict_decimal(value: object, _: object = None) -> Decimal:
    """A number as TOML or JSON writes it: ``180.10``, ``"180.10"``, ``5000``.

    A string is ASCII digits with an optional sign and point, nothing around
    (:data:`~returnrules.model.money.PLAIN_DECIMAL`), at most
    :data:`MAX_STRING` characters.  The number is below 10¹² in magnitude, with
    at most :data:`~returnrules.model.money.MAX_DIGITS` significant digits and
    :data:`~returnrules.model.money.MAX_PLACES` after the point: the bounds
    under which :data:`~returnrules.model.money.CONTEXT` is exact.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"expected a number, got {show(value)}")
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise ValueError(f"expected a decimal number like 180.10, got {show(value)}")
    number = to_decimal(value)
    if number.copy_abs() >= MAX_INT:  # abs() would round in the caller's context
        raise ValueError(f"number out of range: {show(value)}")
    digits, exponent = number.as_tuple()[1:]
    if len(digits) > MAX_DIGITS:
        raise ValueError(f"more than {MAX_DIGITS} significant digits: {show(value)}")
    if isinstance(exponent, int) and exponent < -MAX_PLACES:  # finite: an int
        raise ValueError(
            f"more than {MAX_PLACES} digits after the point: {show(value)}"
        )
    return number


def strict_money(value: object, currency: str) -> Money:
    """An amount of money as TOML or JSON writes it (``"180.10"``, ``5000``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected an amount of money, got {show(value)}")
    return Money(strict_decimal(value), currency)


def aware(value: dt.datetime) -> dt.datetime:
    if value.utcoffset() is None:
        raise ValueError(
            f"{value.isoformat()} has no UTC offset; write it like "
            "2026-11-20T10:00:00+08:00"
        )
    return value


def strict_datetime(value: object, _: object = None) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date-time: {show(value)}") from None
    if not isinstance(value, dt.datetime):
        raise ValueError(f"expected a date-time with UTC offset, got {show(value)}")
    return aware(value)


def strict_date(value: object, _: object = None) -> dt.date:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO 8601 date: {show(value)}") from None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"expected a date, got {show(value)}")
    return value


def public_name(field_name: str) -> str:
    """The key users write for an attrs field: ``from_`` is written ``from``."""
    return field_name.rstrip("_")


def table_hook(cls: type, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """A structure hook for an attrs class that takes only a mapping.

    Fields named with a trailing underscore (``from_``) are read from the key
    without it, so parameters can be called by Python keywords.
    """
    renames: dict[str, Any] = {
        f.name: override(rename=public_name(f.name))
        for f in attrs.fields(cls)
        if f.name != public_name(f.name)
    }
    fn: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls, converter, _cattrs_forbid_extra_keys=True, **renames
    )

    def structure(value: object, t: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a table, got {show(value)}")
        return fn(value, t)

    return structure


def _is_mapping(t: Any) -> bool:
    """``dict[K, V]`` and the like (not an attrs class, which is a table too)."""
    origin = typing.get_origin(t) or t
    return (
        isinstance(origin, type)
        and issubclass(origin, Mapping)
        and not attrs.has(origin)
    )


def _mapping_hook(
    t: Any, converter: cattrs.Converter
) -> Callable[[object, object], object]:
    """cattrs' own mapping hook, for a mapping only: ``per_tier = 5`` is
    "expected a table, got 5", not an AttributeError about ``.items``."""
    fn: Callable[[Any, Any], Any] = make_mapping_structure_fn(t, converter)

    def structure(value: object, _: object) -> object:
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a table, got {show(value)}")
        return fn(value, t)

    return structure


def _is_literal(t: Any) -> bool:
    return typing.get_origin(t) is typing.Literal


def _literal_hook(t: Any) -> Callable[[object, object], object]:
    allowed = typing.get_args(t)

    def structure(value: object, _: object) -> object:
        if value not in allowed or isinstance(value, bool) != isinstance(
            allowed[0], bool
        ):
            choices = ", ".join(f'"{a}"' for a in allowed)
            hint = (
                did_you_mean(value, map(str, allowed)) if isinstance(value, str) else ""
            )
            raise ValueError(f"expected one of {choices}, got {show(value)}{hint}")
        return value

    return structure


def _literal_union(t: Any) -> bool:
    """``Literal["original"] | Money`` (optionally ``| None``): a word or a value."""
    if typing.get_origin(t) not in (typing.Union, types.UnionType):
        return False
    args = [a for a in typing.get_args(t) if a is not type(None)]
    literals = [a for a in args if _is_literal(a)]
    return bool(literals) and len(args) - len(literals) == 1


def _literal_union_hook(
    t: Any, converter: cattrs.Converter
) -> Callable[[object, object], object]:
    """One of the words of the ``Literal`` members, else the other member.

    ``return_shipping_cap = "original"`` or ``= "12.00"``: a word that is not
    one of them is reported with both choices and a suggestion.
    """
    args = typing.get_args(t)
    optional = type(None) in args
    words = [w for a in args if _is_literal(a) for w in typing.get_args(a)]
    (other,) = [a for a in args if a is not type(None) and not _is_literal(a)]
    choices = " or ".join(f'"{w}"' if isinstance(w, str) else show(w) for w in words)

    def structure(value: object, _: object) -> object:
        if value is None and optional:
            return None
        if isinstance(value, str) and value in words:
            return value
        try:
            return converter.structure(value, other)
        except ValueError as exc:
            text = str(exc)
            if not text.startswith("expected "):
                raise  # a value of the other kind, out of its bounds
            hint = (
                did_you_mean(value, map(str, words)) if isinstance(value, str) else ""
            )
            raise ValueError(
                f"expected {choices}, or {text.removeprefix('expected ')}{hint}"
            ) from None

    return structure


def _annotation(t: Any, kind: type[M]) -> M | None:
    """The first ``kind`` metadata of an ``Annotated`` type, else None."""
    if typing.get_origin(t) is typing.Annotated:
        for meta in t.__metadata__:
            if isinstance(meta, kind):
                return meta
    return None


@attrs.frozen
class Context:
    """What structuring a value may depend on, passed explicitly to
    :func:`converter`: the currency of money values (None: money is not
    expected) and the vocabularies that codes are checked against (None: any
    string is a code, as when a host's record is checked on its own)."""

    currency: str | None = None
    vocabularies: Mapping[str, Vocabulary] | None = attrs.field(
        default=None, eq=False, hash=False
    )

    @property
    def key(self) -> Hashable:
        """Equal for contexts that structure alike (the vocabularies' codes)."""
        if self.vocabularies is None:
            return (self.currency, None)
        codes = tuple(
            sorted((name, frozenset(v.labels)) for name, v in self.vocabularies.items())
        )
        return (self.currency, codes)


def _vocab_hook(
    t: Any, vocabularies: Mapping[str, Vocabulary] | None
) -> Callable[[object, object], str]:
    vocab_name = getattr(_annotation(t, VocabCode), "vocab", "")
    return _code_hook(vocab_name, vocabularies)


def _code_hook(
    name: str, vocabularies: Mapping[str, Vocabulary] | None
) -> Callable[[object, object], str]:
    """A code of vocabulary *name*, checked against *vocabularies* if given."""
    known = None if vocabularies is None else vocabularies.get(name)

    def structure(value: object, _: object) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a {name} code, got {show(value)}")
        if vocabularies is None:
            return value
        if known is None or value not in known:
            codes = known.labels if known is not None else ()
            raise ValueError(
                f"unknown {name} {quote(value)}{did_you_mean(value, codes)}"
            )
        return value

    return structure


def _bounds_hook(
    t: Any, converter: cattrs.Converter
) -> Callable[[object, object], object]:
    bounds = _annotation(t, Bounds)
    assert bounds is not None
    inner = typing.get_args(t)[0]

    def structure(value: object, _: object) -> object:
        number = converter.structure(value, inner)
        bounds.check(number)
        return number

    return structure


def _count_hook(least: int) -> Callable[[object, object], int]:
    def structure(value: object, _: object) -> int:
        n = strict_int(value)
        if n < least:
            raise ValueError(f"must be ≥ {least}, got {n}")
        return n

    return structure


def _money_hook(currency: str | None) -> Callable[[object, object], Money]:
    def structure(value: object, _: object) -> Money:
        if currency is None:
            raise ValueError("no currency is known here for an amount of money")
        return strict_money(value, currency)

    return structure


def _moment(value: object, _: object) -> Moment:
    """A date-time with a UTC offset, or a bare date (``"2026-11-04"``)."""
    if isinstance(value, str):
        return (strict_date if len(value) == 10 else strict_datetime)(value)
    if isinstance(value, dt.datetime):
        return aware(value)
    if isinstance(value, dt.date):
        return value
    raise ValueError(f"expected a date or date-time, got {show(value)}")


def _optional(
    hook: Callable[[object, object], T],
) -> Callable[[object, object], T | None]:
    def structure(value: object, t: object) -> T | None:
        return None if value is None else hook(value, t)

    return structure


CODE_TYPES: Final[Mapping[object, str]] = {
    ReasonCode: "reason",
    ConditionCode: "condition",
    PackagingCode: "packaging",
    CategoryCode: "category",
    TierCode: "tier",
    ChannelCode: "channel",
    StatusCode: "status",
}


def make_converter(context: Context = Context()) -> cattrs.Converter:
    """A new converter with every strict hook, for *context*.

    The one configuration of cattrs in returnrules: strict primitives (no
    ``int(True)``, no ``str(5)``), tables only for attrs classes (unknown
    keys refused, with a suggestion), ``Literal[...]`` with suggestions, a
    word or a value (``Literal["original"] | Money``),
    ``Annotated[..., Bounds(...)]`` and ``Annotated[str, VocabCode(...)]``,
    money in the context's currency, and the request model's quantities,
    codes and moments.  Prefer :func:`converter`, which keeps one per context.
    """
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook(str, strict_str)
    conv.register_structure_hook(int, strict_int)
    conv.register_structure_hook(bool, strict_bool)
    conv.register_structure_hook(Decimal, strict_decimal)
    conv.register_structure_hook(dt.datetime, strict_datetime)
    conv.register_structure_hook(dt.date, strict_date)
    conv.register_structure_hook(Money, _money_hook(context.currency))
    conv.register_structure_hook_factory(attrs.has, lambda cls: table_hook(cls, conv))
    conv.register_structure_hook_factory(_is_mapping, lambda t: _mapping_hook(t, conv))
    conv.register_structure_hook_factory(_is_literal, _literal_hook)
    conv.register_structure_hook_factory(
        _literal_union, lambda t: _literal_union_hook(t, conv)
    )
    conv.register_structure_hook_factory(
        lambda t: _annotation(t, VocabCode) is not None,
        lambda t: _vocab_hook(t, context.vocabularies),
    )
    conv.register_structure_hook_factory(
        lambda t: _annotation(t, Bounds) is not None,
        lambda t: _bounds_hook(t, conv),
    )
    # The request model's own types: plain ints and strings, checked here.
    conv.register_structure_hook(Text, plain_str)
    conv.register_structure_hook(Qty, _count_hook(1))
    conv.register_structure_hook(Count, _count_hook(0))
    conv.register_structure_hook(Moment, _moment)
    conv.register_structure_hook(Moment | None, _optional(_moment))
    for newtype, vocab in CODE_TYPES.items():
        conv.register_structure_hook(newtype, _code_hook(vocab, context.vocabularies))
    return conv


_CONVERTERS: dict[Hashable, cattrs.Converter] = {}


def converter(context: Context = Context()) -> cattrs.Converter:
    """The converter for *context*, made once per distinct context.

    Keyed by what the context structures by (currency and vocabulary codes),
    never by identity: contexts that are equal share one converter.
    """
    key = context.key
    conv = _CONVERTERS.get(key)
    if conv is None:
        if len(_CONVERTERS) >= 64:  # many policies, each with its vocabularies
            _CONVERTERS.clear()
        conv = _CONVERTERS[key] = make_converter(context)
    return conv


class CattrsIssue(NamedTuple):
    """One problem cattrs found: where, what, and its code.

    *about_key* is true when the problem is the key written at *path* (an
    unknown key, a mapping key outside its vocabulary), not the value after
    it: a policy problem is then shown at the key, else at the value.
    """

    path: PathKey
    message: str
    code: str
    about_key: bool = False


_MAPPING_KEY: Final = "Structuring mapping key"
"""How cattrs notes a mapping key (not its value) that failed to structure."""


def issues_from_cattrs(
    exc: BaseException, path: PathKey, *, about_key: bool = False
) -> Iterator[CattrsIssue]:
    """Flatten a cattrs validation error into :class:`CattrsIssue` items."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            key: str | int = (
                note.index
                if isinstance(note, IterableValidationNote)
                else public_name(note.name)
            )
            yield from issues_from_cattrs(
                sub, (*path, key), about_key=str(note).startswith(_MAPPING_KEY)
            )
        for sub in without:
            yield from issues_from_cattrs(sub, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        known = (
            [public_name(f.name) for f in attrs.fields(exc.cl)]
            if exc.cl is not None and attrs.has(exc.cl)
            else []
        )
        for extra in sorted(exc.extra_fields, key=str):
            key = extra if isinstance(extra, str) else repr(extra)
            yield CattrsIssue(
                (*path, key),
                f"unknown key {quote(key)}{did_you_mean(key, known)}",
                "unknown-key",
                about_key=True,
            )
    elif isinstance(exc, KeyError):
        what = f' "{path[-1]}"' if path else ""
        yield CattrsIssue(
            path, f"missing required key{what}", "missing-key", about_key=True
        )
    elif isinstance(exc, ValueError):
        yield CattrsIssue(path, str(exc), "bad-value", about_key)
    else:
        message = f"invalid value ({type(exc).__name__}: {exc})"
        yield CattrsIssue(path, message, "bad-value", about_key)


def structure_data(
    value: object,
    cls: type[T],
    *,
    path: PathKey = (),
    vocabularies: Mapping[str, Vocabulary] | None = None,
) -> T:
    """Structure *value* into the attrs class *cls* with the strict hooks.

    For plugins reading a ``--data`` mapping or a host's records: raises
    :class:`~returnrules.RequestError` listing every problem with its key path
    (prefixed by *path*).  With *vocabularies*, ``VocabCode`` fields are
    checked against them.
    """
    try:
        return converter(Context(vocabularies=vocabularies)).structure(value, cls)
    except (ClassValidationError, IterableValidationError, ValueError) as exc:
        raise RequestError(
            [
                RequestProblem(issue.path, issue.message, issue.code)
                for issue in issues_from_cattrs(exc, path)
            ]
        ) from None


def validate_as(t: Any) -> Callable[[Any, Any, Any], None]:
    """An attrs validator: the value must be one the strict hooks accept as *t*.

    For the records a host's data provider builds itself, so they are as
    checked as those read from ``--data``::

        on_hand: Units = attrs.field(validator=validate_as(Units))
    """

    def validate(instance: Any, attribute: Any, value: Any) -> None:
        try:
            converter().structure(value, t)
        except (ClassValidationError, IterableValidationError, ValueError) as exc:
            problems = [
                f"{format_path(where)}: {message}" if where else message
                for where, message, *_ in issues_from_cattrs(exc, ())
            ]
            raise ValueError(f"{attribute.name}: {'; '.join(problems)}") from None

    return validate
