"""What is loaded: ``returnrules plugins`` and ``returnrules facts``.

Each listing exists as data (``--json``) and as text; the text is built from
the data so the two never disagree.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from returnrules.cli.render import Style, plural
from returnrules.model.vocab import Vocabulary
from returnrules.plugin.api import Action, Check, Fact
from returnrules.plugin.manager import Registry
from returnrules.policy.params import Param, params_of

__all__ = ["facts_data", "plugins_data", "render_facts", "render_plugins"]

_WIDTH = 88


def _param(param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "type": param.type_text,
        "required": param.required,
    }
    if not param.required:
        out["default"] = param.default
    if param.doc:
        out["doc"] = param.doc
    return out


def _check(check: Check[Any]) -> dict[str, Any]:
    return {
        "name": check.name,
        "doc": check.doc,
        "params": [_param(p) for p in params_of(check.params)],
    }


def _action(action: Action[Any]) -> dict[str, Any]:
    return {
        "name": action.name,
        "doc": action.doc,
        "multiple": action.multiple,
        "params": [_param(p) for p in params_of(action.params)],
    }


def _fact(fact: Fact, vocabularies: Mapping[str, Vocabulary]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": fact.name,
        "type": str(fact.type),
        "kind": fact.type.kind,
        "optional": fact.type.optional,
        "plugin": fact.plugin,
        "doc": fact.doc,
    }
    if fact.type.vocab is not None:
        out["vocab"] = fact.type.vocab
        vocab = vocabularies.get(fact.type.vocab)
        if vocab is not None:
            out["codes"] = dict(vocab.labels)
    return out


def plugins_data(registry: Registry) -> list[dict[str, Any]]:
    """Every loaded plugin, where it came from, and what it added."""
    return [
        {
            "name": info.name,
            "origin": info.origin,
            "source": info.source,
            "vocabularies": list(info.vocabularies),
            "facts": list(info.facts),
            "checks": [_check(registry.checks[n]) for n in info.checks],
            "actions": [_action(registry.actions[n]) for n in info.actions],
        }
        for info in registry.plugins
    ]


def facts_data(
    registry: Registry, vocabularies: Mapping[str, Vocabulary] | None = None
) -> list[dict[str, Any]]:
    """Every fact with its type and plugin (enum facts with their codes)."""
    vocabs = registry.vocabularies if vocabularies is None else vocabularies
    return [_fact(fact, vocabs) for fact in registry.facts]


def _wrapped(label: str, items: list[str], indent: int) -> list[str]:
    return textwrap.wrap(
        ", ".join(items),
        width=_WIDTH,
        initial_indent=" " * indent + f"{label}: ",
        subsequent_indent=" " * (indent + 2),
        break_on_hyphens=False,
    )


def _param_line(param: Mapping[str, Any]) -> str:
    text = f"{param['name']}: {param['type']}"
    if param["required"]:
        return text + " (required)"
    default = param.get("default")
    if default is None:
        return text
    if isinstance(default, bool):
        shown = "true" if default else "false"
    elif isinstance(default, str) and param["type"] not in ("decimal", "money"):
        shown = f'"{default}"'
    else:
        shown = str(default)
    return f"{text} = {shown}"


def _thing(kind: str, thing: Mapping[str, Any], style: Style) -> list[str]:
    head = f"    {kind} {style.bold(thing['name'])}"
    if kind == "action":
        head += style.dim(
            " (many per line)" if thing["multiple"] else " (one per line)"
        )
    out = [head]
    if thing["doc"]:
        out.extend(
            textwrap.wrap(
                thing["doc"],
                width=_WIDTH,
                initial_indent=" " * 6,
                subsequent_indent=" " * 6,
            )
        )
    if not thing["params"]:
        out.append(style.dim("      (no parameters)"))
    out.extend(f"      {_param_line(p)}" for p in thing["params"])
    return out


def render_plugins(registry: Registry, style: Style) -> list[str]:
    """The loaded plugins, their origin, and their facts, checks and actions."""
    out: list[str] = []
    for plugin in plugins_data(registry):
        out.append(
            f"{style.bold(plugin['name'])}  "
            + style.dim(f"({plugin['origin']}: {plugin['source']})")
        )
        if plugin["vocabularies"]:
            out.extend(_wrapped("vocabularies", plugin["vocabularies"], 4))
        if plugin["facts"]:
            out.extend(_wrapped("facts", plugin["facts"], 4))
        for check in plugin["checks"]:
            out.extend(_thing("check", check, style))
        for action in plugin["actions"]:
            out.extend(_thing("action", action, style))
        if not any(plugin[k] for k in ("vocabularies", "facts", "checks", "actions")):
            out.append(style.dim("    (adds nothing)"))
    out.append(
        f"{plural(len(registry.plugins), 'plugin')}: "
        f"{plural(len(registry.facts), 'fact')}, "
        f"{plural(len(registry.checks), 'check')}, "
        f"{plural(len(registry.actions), 'action')}"
    )
    return out


def render_facts(
    registry: Registry,
    vocabularies: Mapping[str, Vocabulary] | None,
    style: Style,
) -> list[str]:
    """A table of facts, then the codes of every vocabulary an enum fact uses."""
    facts = facts_data(registry, vocabularies)
    header = ("FACT", "TYPE", "PLUGIN")
    rows = [(f["name"], f["type"], f["plugin"]) for f in facts]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]

    def row(cells: tuple[str, str, str], doc: str) -> str:
        text = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        return (text + "  " + doc).rstrip()

    out = [style.bold(row(header, "DESCRIPTION"))]
    out.extend(row(cells, f["doc"]) for cells, f in zip(rows, facts, strict=True))
    used = sorted({f["vocab"] for f in facts if "vocab" in f})
    vocabs = registry.vocabularies if vocabularies is None else vocabularies
    if used:
        out.append("")
        out.append(style.bold("Codes of the enum facts:"))
        for name in used:
            vocab = vocabs.get(name)
            if vocab is None:
                continue
            codes = [
                code if label == code else f"{code} {label}"
                for code, label in vocab.labels.items()
            ]
            out.extend(_wrapped(name + (" (closed)" if vocab.closed else ""), codes, 2))
    out.append(plural(len(facts), "fact"))
    return out
