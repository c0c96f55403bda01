"""Describe the parameters of checks and actions, as rule authors write them.

A plugin declares a check's or action's parameters as an attrs class; this
module reads that class back (names as written in ``rules.toml``, resolved
types, defaults) for ``returnrules plugins`` and ``returnrules schema``.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Mapping, Sequence, Set
from decimal import Decimal
from typing import Any, Final

import attrs

from returnrules.model.bounds import VocabCode
from returnrules.model.convert import public_name
from returnrules.model.decision import jsonable
from returnrules.model.money import Money
from returnrules.plugin.api import Template

__all__ = [
    "MISSING",
    "Param",
    "is_mapping",
    "is_optional",
    "is_sequence",
    "params_of",
    "simple_name",
    "type_text",
    "vocab_of",
]

MISSING: Final[Any] = attrs.NOTHING
"""The default of a required parameter."""

_NAMES: Final[Mapping[object, str]] = {
    int: "int",
    bool: "bool",
    str: "str",
    float: "number",
    Decimal: "decimal",
    Money: "money",
    Template: "template",
    dt.date: "date",
    dt.datetime: "datetime",
    type(None): "none",
}


@attrs.frozen
class Param:
    """One parameter: its key in ``rules.toml``, type, and default."""

    name: str
    type: Any
    default: Any = MISSING
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is MISSING

    @property
    def type_text(self) -> str:
        return type_text(self.type)


def _default(field: attrs.Attribute[Any]) -> Any:
    default: Any = field.default
    factory = getattr(default, "factory", None)
    if callable(factory):  # attrs.Factory(...)
        if getattr(default, "takes_self", False):
            return None
        try:
            default = factory()
        except Exception:  # a plugin's factory; a listing must not fail on it
            return None
    if default is attrs.NOTHING:
        return MISSING
    if isinstance(default, Decimal) and default == default.to_integral_value():
        return int(default)  # shown as written: percent = 100
    return jsonable(default)


def params_of(cls: type) -> tuple[Param, ...]:
    """The parameters of a check's or action's params class, in declared order."""
    if not attrs.has(cls):
        return ()
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:  # unresolvable annotations: fall back to what attrs holds
        hints = {}
    out = []
    for field in attrs.fields(cls):
        if not field.init:
            continue
        doc = field.metadata.get("doc", "")
        out.append(
            Param(
                name=public_name(field.name),
                type=hints.get(field.name, field.type),
                default=_default(field),
                doc=doc if isinstance(doc, str) else "",
            )
        )
    return tuple(out)


def simple_name(t: Any) -> str | None:
    """``int``, ``money``, ``message``... for the plain parameter types, else None."""
    try:
        return _NAMES.get(t)
    except TypeError:  # an unhashable annotation
        return None


def vocab_of(t: Any) -> str | None:
    """The vocabulary of ``Annotated[str, VocabCode("tier")]``, else None."""
    if typing.get_origin(t) is typing.Annotated:
        for meta in t.__metadata__:
            if isinstance(meta, VocabCode):
                return meta.vocab
    return None


def is_optional(t: Any) -> tuple[bool, Any]:
    """``(True, X)`` for ``X | None``; ``(False, t)`` otherwise."""
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(t) if a is not type(None)]
        if len(args) < len(typing.get_args(t)):
            rest: Any = args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007 - built from a runtime tuple
            return True, rest
    return False, t


def is_sequence(origin: Any) -> bool:
    return (
        isinstance(origin, type)
        and issubclass(origin, Sequence | Set)
        and (origin is not str)
    )


def is_mapping(origin: Any) -> bool:
    return isinstance(origin, type) and issubclass(origin, Mapping)


def type_text(t: Any) -> str:
    """A short, TOML-minded rendering of a parameter type: ``int``, ``"a" | "b"``."""
    if isinstance(t, str):
        return t
    vocab = vocab_of(t)
    if vocab is not None:
        return f"{vocab} code"
    origin = typing.get_origin(t)
    if origin is typing.Annotated:
        return type_text(typing.get_args(t)[0])
    if origin is typing.Literal:
        return " | ".join(
            ("true" if a else "false")
            if isinstance(a, bool)
            else f'"{a}"'
            if isinstance(a, str)
            else str(a)
            for a in typing.get_args(t)
        )
    optional, inner = is_optional(t)
    if optional:
        return f"{type_text(inner)}?"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in typing.get_args(t))
    args = typing.get_args(t)
    if is_mapping(origin):
        key, value = (*args, Any, Any)[:2]
        return f"table[{type_text(key)}, {type_text(value)}]"
    if is_sequence(origin):
        item = args[0] if args else Any
        return f"list[{type_text(item)}]"
    name = simple_name(t)
    if name is not None:
        return name
    if t is Any:
        return "any"
    if isinstance(t, type) and attrs.has(t):
        return "table"
    return getattr(t, "__name__", str(t))
