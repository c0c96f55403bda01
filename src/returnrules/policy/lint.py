"""Warnings about a policy that type-checks: cheap and certain.

Run by the checker once every rule is checked; the warnings end up in
``Policy.warnings`` and in ``returnrules check``:

* a code the policy adds to a vocabulary (``[vocab.reason] core_return = ...``)
  that no rule mentions: lines with it can only get the default decision or
  the decision of rules that do not look at that vocabulary;
* a rule whose ``decide`` can never win, because a rule without a condition
  always matches and decides something stronger (reject beats review beats
  approve).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from returnrules.engine.ir import AllOf, AnyOf, CheckCall, Compare, Cond, NotOf, RuleIR
from returnrules.model.errors import Issue, quote
from returnrules.model.vocab import Vocabulary

__all__ = ["lint"]

_STRENGTH: Final = {"approve": 0, "review": 1, "reject": 2}


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)


def _mentions(cond: Cond | None, out: dict[str, set[str]], anywhere: set[str]) -> None:
    if cond is None:
        return
    if isinstance(cond, AllOf | AnyOf):
        for item in cond.items:
            _mentions(item, out, anywhere)
    elif isinstance(cond, NotOf):
        _mentions(cond.item, out, anywhere)
    elif isinstance(cond, CheckCall):
        anywhere.update(_strings(cond.shown))
    elif isinstance(cond, Compare) and cond.fact.type.kind == "enum":
        vocab = cond.fact.type.vocab or ""
        out.setdefault(vocab, set()).update(_strings(cond.value))


def _unused_codes(
    rules: Sequence[RuleIR],
    doc: Mapping[str, Any],
    base: Mapping[str, Vocabulary],
) -> Iterator[Issue]:
    tables = doc.get("vocab")
    if not isinstance(tables, Mapping):
        return
    mentioned: dict[str, set[str]] = {}
    anywhere: set[str] = set()
    for rule in rules:
        _mentions(rule.when, mentioned, anywhere)
        for planned in rule.then:
            anywhere.update(_strings(planned.shown))
    for name, table in tables.items():
        if not isinstance(table, Mapping) or name not in base:
            continue
        for code in table:
            if code in base[name] or code in anywhere:
                continue
            if code not in mentioned.get(name, set()):
                yield Issue(
                    ("vocab", name, code),
                    f"{name} code {quote(code)} is added here but no rule mentions it",
                    "unused-code",
                    "warning",
                )


def _always(rule: RuleIR) -> bool:
    return rule.when is None or (isinstance(rule.when, AllOf) and not rule.when.items)


def _never_decides(rules: Sequence[RuleIR]) -> Iterator[Issue]:
    always = [r for r in rules if _always(r) and r.decide is not None]
    if not always:
        return
    strongest = max(always, key=lambda r: _STRENGTH[r.decide or "approve"])
    wins = strongest.decide or "approve"
    for rule in rules:
        if rule.decide is None or _STRENGTH[rule.decide] >= _STRENGTH[wins]:
            continue
        yield Issue(
            ("rule", rule.index, "decide"),
            f'rule "{rule.id}" can never decide {rule.decide}: rule '
            f'"{strongest.id}" always matches and decides {wins}, which wins',
            "never-decides",
            "warning",
        )


def lint(
    rules: Sequence[RuleIR],
    doc: Mapping[str, Any],
    registered: Mapping[str, Vocabulary],
) -> list[Issue]:
    """The warnings for checked *rules*; *registered* are the plugins' vocabularies
    before the policy's ``[vocab]`` additions."""
    return [*_unused_codes(rules, doc, registered), *_never_decides(rules)]
