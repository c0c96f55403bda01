"""The JSON Schema (draft 2020-12) of a policy file, generated from the registry.

TOML editors (Taplo / Even Better TOML) complete and validate ``rules.toml``
with it: write ``returnrules schema > rules.schema.json`` and put
``#:schema ./rules.schema.json`` on the first line of ``rules.toml``.

The schema follows the checker's own reading of a policy:

* a condition is told apart by its key, in the checker's order (``all``,
  ``any``, ``not``, then ``fact``, then ``check``), with ``if``/``then``
  chains so that an editor reports the problem of the branch that applies;
* a fact comparison allows only the operators that fit the fact's type, with
  literals of that type (enum facts: the vocabulary's codes);
* each check and action has its own parameters, from its params attrs class:
  types, ``Literal`` choices as enums, defaults, required parameters.

* vocabulary codes: with a policy's vocabularies (``--rules``), exactly its
  codes; without, a policy may add codes with ``[vocab.NAME]`` that the
  schema cannot know, so an open vocabulary's value is any code (``a-z``,
  ``0-9``, ``_``), the default codes offered for completion, and only a
  closed vocabulary's (``status``, ``kind``) is an exact list.

The schema is necessarily looser than the checker in places (a
``{fact = ...}`` value is not type-checked against the other fact, a money
string is only checked to look like a number, a code without ``--rules`` is
only checked to look like one).  ``returnrules check`` stays the authority.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from returnrules import __version__
from returnrules.engine.ir import OPERATORS, ORDERING
from returnrules.model.bounds import Bounds
from returnrules.model.decision import DECISIONS
from returnrules.model.money import PLAIN_DECIMAL
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import Fact, FactType
from returnrules.plugin.manager import Registry
from returnrules.policy.params import (
    MISSING,
    Param,
    is_mapping,
    is_optional,
    is_sequence,
    params_of,
    simple_name,
    vocab_of,
)

__all__ = ["DIALECT", "policy_schema", "type_schema"]

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
DECIMAL_PATTERN: Final = f"^{PLAIN_DECIMAL.pattern}$"  # what the checker accepts
RULE_ID_PATTERN: Final = "^[a-z0-9_-]+$"
CODE_PATTERN: Final = "^[a-z0-9_]+$"

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def _one_or_many(item: Schema) -> Schema:
    """An item, or an array of them (told apart by type: clearer errors than anyOf)."""
    return {
        "if": {"type": "array"},
        "then": {"type": "array", "items": item},
        "else": item,
    }


def _number(kind: str = "decimal") -> Schema:
    return {
        "type": ["number", "string"],
        "pattern": DECIMAL_PATTERN,
        "description": 'an amount in the policy\'s currency, e.g. "180.10"'
        if kind == "money"
        else "a number (a string keeps its decimals exact)",
    }


def _codes(vocab: Vocabulary | None, name: str, exact: bool = True) -> Schema:
    """A code of vocabulary *name*: one of its codes, or (not *exact*, for an
    open vocabulary a policy may extend) any code, its known ones suggested."""
    if vocab is None or not vocab.labels:
        return {"type": "string", "description": f"a {name} code"}
    known = ", ".join(f"{code} {label}" for code, label in vocab.labels.items())
    if exact or vocab.closed:
        return {"enum": list(vocab.labels), "description": f"a {name} code: {known}"}
    return {
        "anyOf": [
            {"enum": list(vocab.labels)},
            {"type": "string", "pattern": CODE_PATTERN},
        ],
        "description": f"a {name} code: {known}; or one the policy adds in "
        f"[vocab.{name}]",
    }


def _json_number(value: int | Decimal) -> int | float:
    return value if isinstance(value, int) else float(value)


def type_schema(
    t: Any, vocabularies: Mapping[str, Vocabulary], *, exact: bool = True
) -> Schema:
    """The schema of a parameter of Python type *t* (as the checker reads it).

    *exact*: codes are exactly the *vocabularies*' (else any code of an open
    vocabulary, see :func:`policy_schema`).
    """
    vocab = vocab_of(t)
    if vocab is not None:
        return _codes(vocabularies.get(vocab), vocab, exact)
    origin = typing.get_origin(t)
    args = typing.get_args(t)
    if origin is typing.Annotated:
        inner_schema = type_schema(args[0], vocabularies, exact=exact)
        for meta in t.__metadata__:
            if isinstance(meta, Bounds):  # applies to numbers (not to "1.5")
                if meta.ge is not None:
                    inner_schema["minimum"] = _json_number(meta.ge)
                if meta.le is not None:
                    inner_schema["maximum"] = _json_number(meta.le)
        return inner_schema
    if origin is typing.Literal:
        return {"enum": list(args)}
    optional, inner = is_optional(t)
    if optional:  # TOML has no null: an optional parameter is one left out
        return type_schema(inner, vocabularies, exact=exact)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [type_schema(a, vocabularies, exact=exact) for a in args]}
    if is_mapping(origin):
        key, value = (*args, Any, Any)[:2]
        out: Schema = {"type": "object"}
        if value is not Any:
            out["additionalProperties"] = type_schema(value, vocabularies, exact=exact)
        key_schema = type_schema(key, vocabularies, exact=exact)
        names = {k: v for k, v in key_schema.items() if k in _NAME_KEYWORDS}
        if names:
            out["propertyNames"] = names
        return out
    if is_sequence(origin):
        item = args[0] if args else Any
        array: Schema = {"type": "array"}
        if item is not Any and item is not Ellipsis:
            array["items"] = type_schema(item, vocabularies, exact=exact)
        return array
    name = simple_name(t)
    if name == "int":
        return {"type": "integer"}
    if name == "bool":
        return {"type": "boolean"}
    if name == "str":
        return {"type": "string"}
    if name == "number":
        return {"type": "number"}
    if name in ("decimal", "money"):
        return _number(name)
    if name == "template":
        return {
            "type": "string",
            "description": "a message; {fact.name} placeholders are filled in",
        }
    if name == "date":
        return {"type": "string", "format": "date"}
    if name == "datetime":
        return {"type": "string", "format": "date-time"}
    if isinstance(t, type) and attrs.has(t):
        return _table(params_of(t), vocabularies, exact=exact)
    return {}


_NAME_KEYWORDS: Final = ("enum", "pattern", "anyOf")
"""What of a key's schema applies to a table's keys (``propertyNames``)."""


def _param_schema(
    param: Param, vocabularies: Mapping[str, Vocabulary], exact: bool
) -> Schema:
    schema = dict(type_schema(param.type, vocabularies, exact=exact))
    if param.default is not MISSING and param.default is not None:
        schema["default"] = param.default
    if param.doc:
        schema["description"] = param.doc
    return schema


def _table(
    params: tuple[Param, ...],
    vocabularies: Mapping[str, Vocabulary],
    extra: Mapping[str, Schema] | None = None,
    *,
    exact: bool = True,
) -> Schema:
    properties = dict(extra or {})
    properties.update((p.name, _param_schema(p, vocabularies, exact)) for p in params)
    out: Schema = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    required = [*(extra or {}), *(p.name for p in params if p.required)]
    if required:
        out["required"] = required
    return out


def _literal(
    ftype: FactType, vocabularies: Mapping[str, Vocabulary], exact: bool
) -> Schema:
    kind = ftype.kind
    if kind == "int":
        return {"type": "integer"}
    if kind in ("decimal", "money"):
        return _number(kind)
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "str":
        return {"type": "string"}
    if kind == "date":
        return {"type": "string", "format": "date"}
    if kind == "datetime":
        return {"type": "string", "format": "date-time"}
    name = ftype.vocab or ""
    return _codes(vocabularies.get(name), name, exact)


def _operators(ftype: FactType) -> tuple[str, ...]:
    if ftype.kind == "bool":
        return ("eq", "ne")
    if ftype.ordered:
        return OPERATORS
    return tuple(op for op in OPERATORS if op not in ORDERING)


def _fact_schema(
    fact: Fact, vocabularies: Mapping[str, Vocabulary], exact: bool
) -> Schema:
    literal = _literal(fact.type, vocabularies, exact)
    ops = _operators(fact.type)
    properties: Schema = {}
    for op in ops:
        if op in ("in", "not_in"):
            properties[op] = {"type": "array", "items": literal}
        else:
            properties[op] = {
                "if": {"type": "object"},
                "then": _ref("factRef"),
                "else": literal,
            }
    return {
        "properties": properties,
        "propertyNames": {"enum": ["fact", *ops, "present"]},
    }


def _dispatch(key: str, names: list[str], prefix: str) -> list[Schema]:
    return [
        {
            "if": {"properties": {key: {"const": name}}, "required": [key]},
            "then": _ref(f"{prefix}:{name}"),
        }
        for name in names
    ]


def _condition() -> Schema:
    branches = [
        ("all", "all"),
        ("any", "any"),
        ("not", "not"),
        ("fact", "comparison"),
        ("check", "checkCall"),
    ]
    node: Schema = {
        "required": ["fact"],
        "description": "a condition: { fact = ... }, { check = ... }, "
        "{ all = [...] }, { any = [...] } or { not = {...} }",
    }
    for key, name in reversed(branches):
        node = {"if": {"required": [key]}, "then": _ref(name), "else": node}
    return {"type": "object", **node}


def policy_schema(
    registry: Registry, vocabularies: Mapping[str, Vocabulary] | None = None
) -> Schema:
    """The schema of a policy file using *registry*'s facts, checks and actions.

    With *vocabularies* (a loaded policy's, with its own codes), a code must
    be one of them.  Without, the registry's codes are offered, but any code
    of an open vocabulary is accepted: a policy's ``[vocab.NAME]`` may add it
    (``returnrules schema > rules.schema.json`` must accept the shipped
    ``rules.toml`` and its ``core_return``).
    """
    exact = vocabularies is not None
    vocabs = registry.vocabularies if vocabularies is None else vocabularies
    facts = sorted(registry.facts, key=lambda f: f.name)
    checks = sorted(registry.checks.values(), key=lambda c: c.name)
    actions = sorted(registry.actions.values(), key=lambda a: a.name)
    defs: dict[str, Schema] = {
        "decision": {"enum": list(DECISIONS)},
        "factName": {
            "enum": [f.name for f in facts],
            "description": "a fact: see `returnrules facts`",
        },
        "factRef": {
            "type": "object",
            "properties": {"fact": _ref("factName")},
            "required": ["fact"],
            "additionalProperties": False,
            "description": "another fact's value",
        },
        "condition": _condition(),
        "all": _combinator("all", "every condition holds"),
        "any": _combinator("any", "at least one condition holds"),
        "not": {
            "type": "object",
            "properties": {"not": _ref("condition")},
            "required": ["not"],
            "additionalProperties": False,
        },
        "comparison": {
            "type": "object",
            "properties": {
                "fact": _ref("factName"),
                **{op: {} for op in OPERATORS},
                "present": {"type": "boolean"},
            },
            "required": ["fact"],
            "additionalProperties": False,
            "minProperties": 2,
            "maxProperties": 2,
            "allOf": _dispatch("fact", [f.name for f in facts], "fact"),
        },
        "checkCall": _named_call("check", [c.name for c in checks]),
        "action": _named_call("action", [a.name for a in actions]),
        "rule": _rule(),
    }
    for fact in facts:
        defs[f"fact:{fact.name}"] = _fact_schema(fact, vocabs, exact)
        if fact.doc:
            defs[f"fact:{fact.name}"]["description"] = fact.doc
    for check in checks:
        defs[f"check:{check.name}"] = _table(
            params_of(check.params),
            vocabs,
            {"check": {"const": check.name}},
            exact=exact,
        )
        if check.doc:
            defs[f"check:{check.name}"]["description"] = check.doc
    for action in actions:
        defs[f"action:{action.name}"] = _table(
            params_of(action.params),
            vocabs,
            {"action": {"const": action.name}},
            exact=exact,
        )
        if action.doc:
            defs[f"action:{action.name}"]["description"] = action.doc
    return {
        "$schema": DIALECT,
        "title": "returnrules policy (rules.toml)",
        "description": f"Generated by returnrules {__version__} from the loaded "
        "plugins; `returnrules check` reports what a schema cannot.",
        "type": "object",
        "properties": {
            "version": {"const": 1, "description": "the policy format: 1"},
            "policy": {
                "type": "object",
                "properties": {
                    "currency": {
                        "type": "string",
                        "pattern": "^[A-Z]{3}$",
                        "description": "ISO 4217; money in this file is in it",
                    },
                    "default": {
                        **_ref("decision"),
                        "default": "review",
                        "description": "the decision when no deciding rule matches",
                    },
                },
                "required": ["currency"],
                "additionalProperties": False,
            },
            "plugins": {
                "type": "object",
                "properties": {
                    "modules": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "plugin files (relative to this file) or "
                        "module names",
                    },
                    "disable": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "names of plugins not to load",
                    },
                },
                "additionalProperties": False,
            },
            "vocab": {
                "type": "object",
                "properties": {
                    name: _vocab_table(vocab) for name, vocab in sorted(vocabs.items())
                },
                "additionalProperties": False,
            },
            "explain": {
                "type": "object",
                "properties": {
                    "actionable": {
                        "type": "array",
                        "items": _ref("factName"),
                        "description": "the facts `eval --why-not` may change",
                    },
                },
                "additionalProperties": False,
            },
            "rule": {"type": "array", "items": _ref("rule")},
        },
        "required": ["version", "policy"],
        "additionalProperties": False,
        "$defs": defs,
    }


def _combinator(key: str, description: str) -> Schema:
    return {
        "type": "object",
        "properties": {
            key: {
                "type": "array",
                "items": _ref("condition"),
                "description": description,
            }
        },
        "required": [key],
        "additionalProperties": False,
    }


def _named_call(key: str, names: list[str]) -> Schema:
    out: Schema = {
        "type": "object",
        "properties": {key: {"enum": names} if names else False},
        "required": [key],
    }
    if names:
        out["allOf"] = _dispatch(key, names, key)
    return out


def _vocab_table(vocab: Vocabulary) -> Schema:
    out: Schema = {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "propertyNames": {"pattern": CODE_PATTERN},
        "description": vocab.doc or f"codes of {vocab.name}: code = label",
    }
    if vocab.closed:
        out["propertyNames"] = {"enum": list(vocab.labels)}
        out["description"] += " (closed: codes can be relabelled, not added)"
    return out


def _rule() -> Schema:
    return {
        "type": "object",
        "properties": {
            "id": {
                "type": "string",
                "pattern": RULE_ID_PATTERN,
                "description": "unique; a-z, 0-9, _ and -",
            },
            "title": {"type": "string", "description": "shown in explanations"},
            "when": {
                **_ref("condition"),
                "description": "when the rule matches; absent = always",
            },
            "decide": _ref("decision"),
            "for": {
                **_one_or_many(_ref("decision")),
                "description": "the decisions for which `then` applies "
                '(default: [decide], or ["approve"])',
            },
            "message": {
                "type": "string",
                "description": "shown with the decision; {fact.name} placeholders",
            },
            "priority": {
                "type": "integer",
                "default": 0,
                "description": "the highest wins among single actions",
            },
            "then": {
                **_one_or_many(_ref("action")),
                "description": "actions planned when the rule matches",
            },
        },
        "required": ["id"],
        "additionalProperties": False,
    }
