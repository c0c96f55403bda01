"""Human-readable output: decisions, traces, problems and summaries.

Everything here returns lines of text; the CLI prints them.  Colour is applied
through a :class:`Style`, enabled only for a terminal and never when
``NO_COLOR`` is set (https://no-color.org), so piped output and tests see
plain text.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TextIO

import attrs

from returnrules.engine.ir import OP_SYMBOLS
from returnrules.model.decision import ActionResult, Decision, LineDecision
from returnrules.model.errors import Problem, RequestError, format_path
from returnrules.model.money import Money
from returnrules.model.request import OrderLine, Request, ReturnLine
from returnrules.policy.analysis import Analysis
from returnrules.policy.policy import Policy
from returnrules.policy.whynot import WhyNot

__all__ = [
    "DECISION_LABELS",
    "Style",
    "action_fields",
    "plural",
    "render_analysis",
    "render_decision",
    "render_problem",
    "render_request_error",
    "render_trace",
    "render_why_not",
    "summary",
]

DECISION_LABELS: Final = {
    "approve": "通过",
    "reject": "拒绝",
    "review": "人工审核",
    "partial": "部分通过",
}
_CODES: Final = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "cyan": "36",
}
_DECISION_COLOURS: Final = {
    "approve": "green",
    "reject": "red",
    "review": "yellow",
    "partial": "yellow",
}


@attrs.frozen
class Style:
    """ANSI colours, or none: ``Style.for_stream(sys.stdout)`` decides which."""

    enabled: bool = False

    @classmethod
    def for_stream(
        cls, stream: TextIO, environ: Mapping[str, str] = os.environ
    ) -> Style:
        if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
            return cls(False)
        try:
            return cls(stream.isatty())
        except (AttributeError, ValueError):  # a closed or odd stream
            return cls(False)

    def paint(self, text: str, *names: str) -> str:
        if not self.enabled or not names:
            return text
        codes = ";".join(_CODES[n] for n in names)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def bold(self, text: str) -> str:
        return self.paint(text, "bold")

    def dim(self, text: str) -> str:
        return self.paint(text, "dim")

    def decision(self, name: str) -> str:
        label = DECISION_LABELS.get(name)
        text = f"{name} ({label})" if label else name
        return self.paint(text, "bold", _DECISION_COLOURS.get(name, "bold"))

    def mark(self, result: object) -> str:
        if result is True:
            return self.paint("✓", "green")
        if result is False:
            return self.paint("✗", "red")
        return self.dim("–")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(errors: int, warnings: int) -> str:
    """``Found 2 errors.`` / ``Found 2 errors and 1 warning.``"""
    text = f"Found {plural(errors, 'error')}"
    if warnings:
        text += f" and {plural(warnings, 'warning')}"
    return text + "."


def render_problem(problem: Problem, style: Style) -> str:
    """``str(problem)`` (``FILE:LINE:COL: error: MESSAGE``), coloured on a terminal."""
    if not style.enabled:
        return str(problem)
    where = style.bold(f"{problem.file}:{problem.line}:{problem.col}:")
    colour = "red" if problem.severity == "error" else "yellow"
    return f"{where} {style.paint(problem.severity, colour)}: {problem.message}"


def render_request_error(exc: RequestError) -> list[str]:
    """``req.toml: $.lines[0].qty: must be ≥ 1, got 0``, one line per problem."""
    prefix = f"{exc.source}: " if exc.source else ""
    return [
        f"{prefix}{format_path(p.path)}: {p.message}" if p.path else prefix + p.message
        for p in exc.problems
    ]


# -- values -------------------------------------------------------------------------


def show(value: object) -> str:
    """A value as a person reads it: money with its currency, true/false, lists."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, Decimal | int | str):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return "[" + ", ".join(show(v) for v in items) + "]"
    return str(value)


@attrs.frozen
class _Labels:
    """Vocabulary labels for codes, from the policy (codes without one stay bare)."""

    policy: Policy

    def code(self, vocab: str | None, code: object) -> str:
        if not isinstance(code, str) or vocab is None:
            return show(code)
        vocabulary = self.policy.vocabularies.get(vocab)
        label = vocabulary.label(code) if vocabulary is not None else code
        return code if label == code else f"{code} ({label})"

    def fact_value(self, fact: str, value: object) -> str:
        found = self.policy.registry.fact(fact)
        if found is not None and found.type.kind == "enum":
            return self.code(found.type.vocab, value)
        return show(value)


# -- decisions ---------------------------------------------------------------------


_MONEY_FIELDS: Final = (
    "amount",
    "fee",
    "deducted",
    "shipping",
    "return_shipping",
    "core_charge",
)
"""Reported fields that are amounts in the reported ``currency``."""


def action_fields(action: ActionResult) -> str:
    fields = dict(action.fields)
    currency = fields.pop("currency", None)
    parts = []
    for key, value in fields.items():
        text = show(value)
        if currency is not None and isinstance(value, str) and key in _MONEY_FIELDS:
            text = f"{text} {currency}"  # (Money shows its currency itself)
        parts.append(f"{key} {text}")
    if currency is not None and not any(k in fields for k in _MONEY_FIELDS):
        parts.append(f"currency {currency}")
    return ", ".join(parts)


def _line_head(
    rline: ReturnLine | None, oline: OrderLine | None, labels: _Labels
) -> str:
    if rline is None or oline is None:
        return ""
    part = " ".join(x for x in (oline.sku, oline.name) if x)
    return (
        f" · {part} ×{rline.qty} · {labels.code('reason', rline.reason)}"
        f" · {labels.code('condition', rline.condition)}"
    )


def _render_line(
    line: LineDecision,
    pair: tuple[ReturnLine, OrderLine] | None,
    policy: Policy,
    labels: _Labels,
    style: Style,
    explain: bool,
) -> list[str]:
    rules = {rule.id: rule for rule in policy.rules}
    rline, oline = pair if pair is not None else (None, None)
    out = [
        f"  {style.bold(f'line {line.line}')}{_line_head(rline, oline, labels)}"
        f"  →  {style.decision(line.decision)}"
    ]
    if line.decided_by:
        for rule_id in line.decided_by:
            rule = rules.get(rule_id)
            title = f": {rule.title}" if rule is not None and rule.title else ""
            out.append(f"    decided by {style.bold(rule_id)}{title}")
    elif line.errors:
        out.append("    an error made this line review")
    else:
        out.append(
            f"    no deciding rule matched: the policy's default ({policy.default})"
        )
    out.extend(f"      » {message}" for message in line.messages)
    # A matched rule whose own decide lost is worth a word ("online-7-day-no-
    # reason would approve"); matched rules that simply had nothing to do with
    # this decision (a notification for rejections on an approved line) are
    # left to --explain, which shows every rule.
    overruled = [
        f"{rule_id} would {rules[rule_id].decide}"
        for rule_id in line.matched
        if rule_id in rules and rules[rule_id].decide not in (None, line.decision)
    ]
    if overruled:
        out.append(style.dim(f"    overruled: {', '.join(overruled)}"))
    if line.actions:
        width = max(len(a.action) for a in line.actions)
        for action in line.actions:
            out.append(
                f"    {style.paint(action.action.ljust(width), 'cyan')}  "
                f"{action_fields(action)}  {style.dim(f'[{action.rule}]')}"
            )
    else:
        out.append(style.dim("    no actions"))
    for over in line.overridden:
        out.append(
            style.dim(
                f"    ({over.action} of rule {over.rule} overridden by rule {over.by})"
            )
        )
    for error in line.errors:
        out.append(
            style.paint(
                f"    ! error in rule {error.rule}: {error.source}: {error.message}",
                "red",
            )
        )
    if explain and line.trace is not None:
        out.append("    why:")
        out.extend(render_trace(line.trace, policy, style, indent=6))
    return out


def render_decision(
    decision: Decision,
    request: Request | None,
    policy: Policy,
    style: Style,
    *,
    source: str = "",
) -> list[str]:
    """The decision on one request, for the return desk (and, explained, why)."""
    labels = _Labels(policy)
    out = [f"{style.bold(decision.request)}  {style.decision(decision.decision)}"]
    details = []
    if request is not None:
        customer = request.customer
        details.append(f"order {request.order.id}")
        details.append(f"customer {customer.id}, {labels.code('tier', customer.tier)}")
    if source:
        details.append(f"from {source}")
    if details:
        out.append(style.dim("  " + " · ".join(details)))
    pairs: Sequence[tuple[ReturnLine, OrderLine] | None] = (
        request.pairs if request is not None else ()
    )
    for i, line in enumerate(decision.lines):
        pair = pairs[i] if i < len(pairs) else None
        out.extend(_render_line(line, pair, policy, labels, style, decision.explained))
    return out


# -- traces --------------------------------------------------------------------------


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={show(v)}" for k, v in params.items())


def _expected(node: Mapping[str, Any]) -> str:
    expected = node.get("expected")
    if isinstance(expected, Mapping) and "fact" in expected:
        if "value" in expected:
            return f"{expected['fact']} ({show(expected['value'])})"
        return str(expected["fact"])
    return show(expected)


def _leaf(node: Mapping[str, Any], labels: _Labels, style: Style) -> str:
    result = node.get("result")
    skipped = node.get("skipped", False)
    tail = style.dim(" (skipped)") if skipped else f" {style.mark(result)}"
    if "check" in node:
        text = f"check {node['check']}"
        if node.get("params"):
            text += f"({_params(node['params'])})"
        explanation = node.get("explanation")
        text += tail
        if explanation:
            text += f" — {explanation}"
        return text
    fact = str(node.get("fact"))
    op = node.get("op")
    if skipped:
        if op == "present":
            return f"{fact} present = {show(node.get('expected'))}{tail}"
        return f"{fact} {OP_SYMBOLS.get(str(op), op)} {_expected(node)}{tail}"
    if node.get("absent"):
        return (
            f"{fact} is absent {OP_SYMBOLS.get(str(op), op)} {_expected(node)}{tail}"
            + style.dim(" (a missing fact compares false)")
        )
    value = labels.fact_value(fact, node.get("value"))
    if op == "present":
        shown = "absent" if node.get("value") is None else f"= {value}"
        return f"{fact} {shown}: present = {show(node.get('expected'))}{tail}"
    return f"{fact} = {value} {OP_SYMBOLS.get(str(op), op)} {_expected(node)}{tail}"


def _condition(
    node: Mapping[str, Any], depth: int, labels: _Labels, style: Style
) -> list[str]:
    pad = " " * depth
    skipped = node.get("skipped", False)
    tail = style.dim(" (skipped)") if skipped else f" {style.mark(node.get('result'))}"
    for key in ("all", "any"):
        if key in node:
            children = node[key]
            out = [f"{pad}{key} of {len(children)}{tail}"]
            for child in children:
                out.extend(_condition(child, depth + 2, labels, style))
            return out
    if "not" in node:
        return [f"{pad}not{tail}", *_condition(node["not"], depth + 2, labels, style)]
    if "error" in node:
        what = f"check {node['check']}" if "check" in node else str(node.get("fact"))
        return [style.paint(f"{pad}! {what}: {node['error']}", "red")]
    return [pad + _leaf(node, labels, style)]


def render_trace(
    trace: Mapping[str, Any], policy: Policy, style: Style, *, indent: int = 0
) -> list[str]:
    """One line's trace as an indented tree: every rule, matched or not, and why."""
    labels = _Labels(policy)
    titles = {rule.id: rule.title for rule in policy.rules}
    pad = " " * indent
    out = []
    for entry in trace.get("rules", ()):
        rule_id = str(entry.get("rule"))
        title = titles.get(rule_id)
        name = style.bold(rule_id) + (f" — {title}" if title else "")
        if "error" in entry:
            out.append(
                f"{pad}{style.paint('!', 'red')} {name}: "
                + style.paint(f"error: {entry['error']}", "red")
            )
            if entry.get("condition") is not None:
                out.extend(_condition(entry["condition"], indent + 4, labels, style))
            continue
        condition = entry.get("condition")
        if condition is None:
            out.append(f"{pad}{style.mark(True)} {name} {style.dim('(no condition)')}")
            continue
        out.append(f"{pad}{style.mark(bool(entry.get('matched')))} {name}")
        out.extend(_condition(condition, indent + 4, labels, style))
    facts = trace.get("facts") or {}
    if facts:
        shown = ", ".join(f"{k} = {labels.fact_value(k, v)}" for k, v in facts.items())
        out.append(style.dim(f"{pad}facts: {shown}"))
    return out


# -- analysis and counterfactuals ----------------------------------------------------


def render_analysis(policy: Policy, analysis: Analysis, style: Style) -> list[str]:
    """``check --analyze``: the regions that get the default, as a table."""
    coverage = analysis.coverage
    out = [""]
    if not coverage.regions:
        out.append(
            f"{policy.source}: every region of the facts the rules test is "
            "reached by a deciding rule"
        )
    else:
        out.append(
            style.bold(
                f"{policy.source}: {plural(len(coverage.regions), 'region')} get "
                f"the default ({coverage.default}) unless a rule in the last "
                "column matches:"
            )
        )
        head = [*coverage.facts, "unless"]
        rows = [
            [r.shown.get(name, "·") for name in coverage.facts]
            + [", ".join(r.unless) or "—"]
            for r in coverage.regions
        ]
        widths = [
            max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)
        ]
        out.append(
            "  "
            + "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()
        )
        for row in rows:
            out.append(
                "  "
                + "  ".join(
                    c.ljust(w) for c, w in zip(row, widths, strict=True)
                ).rstrip()
            )
    if not coverage.complete:
        out.append(
            style.dim(
                "  (the coverage search stopped at its budget: other regions may "
                "get the default too)"
            )
        )
    if analysis.unanswered:
        out.append(
            style.dim(
                f"  ({plural(analysis.unanswered, 'question')} left open within the "
                "search budget: no finding made for them)"
            )
        )
    return out


def render_why_not(answer: WhyNot, style: Style) -> list[str]:
    """The options that would have given a line the target decision."""
    head = (
        f"  why not {answer.target} ({DECISION_LABELS.get(answer.target, '')}), "
        f"line {answer.line}:"
    )
    out = [style.bold(head)]
    if not answer.options:
        out.append(
            f"    no change of the actionable facts gives {answer.target} "
            f"(tried {plural(answer.evaluated, 'request')})"
        )
    for option in answer.options:
        rules = ", ".join(option.decided_by)
        out.append(f"    · {option.text}" + style.dim(f"  [{rules}]" if rules else ""))
    if not answer.complete:
        out.append(style.dim("    (the search stopped at its budget)"))
    return out
