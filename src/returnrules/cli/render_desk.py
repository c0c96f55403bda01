"""The desk's human output: statuses, the history table, a record in full.

Like :mod:`returnrules.cli.render`, everything here returns lines of text and
the CLI prints them; decisions are drawn by ``render``'s own renderers, from
the JSON the ledger keeps.  What a ledger holds came from many hands (request
files, ``--by`` and ``--note``, executors' error messages, a database someone
may have edited), so no control character from it ever reaches the output:
:func:`printable` escapes them (``"\\u001b"``) in every line printed, JSON
lines too (where the escapes are JSON's own).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from returnrules.cli.render import (
    DECISION_LABELS,
    Style,
    action_fields,
    plural,
    render_decision,
    show,
)
from returnrules.desk.canonical import from_minor
from returnrules.desk.desk import ResumeReport, Submitted
from returnrules.desk.views import Record, Summary, Verification
from returnrules.model.decision import (
    ActionResult,
    Decision,
    EvalError,
    LineDecision,
    Overridden,
)
from returnrules.model.request import Request
from returnrules.model.vocab import Vocabulary
from returnrules.policy.policy import Policy

__all__ = [
    "ACTION_STATE_LABELS",
    "EVENT_LABELS",
    "STATUS_LABELS",
    "Labels",
    "decision_from_dict",
    "json_line",
    "printable",
    "render_history",
    "render_queue",
    "render_record",
    "render_resolution",
    "render_resume",
    "render_submitted",
    "render_verification",
]

STATUS_LABELS: Final = {
    "received": "已受理",
    "approved": "已通过",
    "rejected": "已拒绝",
    "partial": "部分通过",
    "review": "待审核",
    "completed": "已完成",
    "failed": "处理失败",
}
ACTION_STATE_LABELS: Final = {
    "pending": "待执行",
    "done": "已执行",
    "failed": "执行失败",
}
EVENT_LABELS: Final = {
    "received": "受理",
    "decided": "决定",
    "reviewed": "审核",
    "completed": "完成",
    "failed": "失败",
    "retried": "重试",
}
_STATUS_COLOURS: Final = {
    "approved": "green",
    "completed": "green",
    "rejected": "red",
    "failed": "red",
    "review": "yellow",
    "partial": "yellow",
}
_STATE_COLOURS: Final = {"done": "green", "failed": "red", "pending": "yellow"}

# -- nothing unprintable ------------------------------------------------------------

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SGR: Final = re.compile(r"(\x1b\[[0-9;]*m)")
"""The colour codes :class:`Style` writes, and nothing else."""
_SHORT: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match[0]
    return _SHORT.get(char) or f"\\u{ord(char):04x}"


def escape(text: str) -> str:
    """*text* with every control character written as an escape (``\\u001b``)."""
    return _CONTROL.sub(_escaped, text)


def printable(line: str, style: Style) -> str:
    """A line safe to print: control characters escaped, except the colour
    codes *style* itself adds (on a terminal)."""
    if not style.enabled:
        return escape(line)
    parts = _SGR.split(line)
    return "".join(p if i % 2 else escape(p) for i, p in enumerate(parts))


def scrub(value: Any) -> Any:
    """*value* (from JSON) with every string, key or value, :func:`escape`\\ d."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, Mapping):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def json_line(value: Any) -> str:
    """*value* as one line of JSON, Chinese as is.  ``json`` escapes the
    control characters below U+0020 itself; :func:`printable` writes DEL and
    the C1 ones as the JSON escapes they are (``\\u009b``), so a printed JSON
    line carries none either and still decodes to the same value."""
    return json.dumps(value, ensure_ascii=False)


# -- labels ---------------------------------------------------------------------------


@attrs.frozen
class Labels:
    """Chinese labels of codes: statuses, states, and vocabulary codes."""

    vocabularies: Mapping[str, Vocabulary]

    def plain(self, vocab: str, value: str) -> str:
        """The label of the code *value* (the code itself when it has none)."""
        vocabulary = self.vocabularies.get(vocab)
        return value if vocabulary is None else vocabulary.label(value)

    def both(self, vocab: str, value: str) -> str:
        """``wrong_part (错发配件)``, as :mod:`render` shows codes."""
        label = self.plain(vocab, value)
        return value if label == value else f"{value} ({label})"


def status(name: str, style: Style) -> str:
    """``已完成 (completed)``, coloured by how it ended."""
    label = STATUS_LABELS.get(name)
    text = f"{label} ({name})" if label else name
    return style.paint(text, "bold", _STATUS_COLOURS.get(name, "bold"))


def state(name: str, style: Style) -> str:
    """An action's state: ``已执行 (done)``."""
    label = ACTION_STATE_LABELS.get(name)
    text = f"{label} ({name})" if label else name
    return style.paint(text, _STATE_COLOURS.get(name, "bold"))


def when(stamp: str | None, *, seconds: bool = False) -> str:
    """An ISO time from the ledger (UTC) as ``2026-11-28 11:40``."""
    if not stamp:
        return "—"
    try:
        moment = dt.datetime.fromisoformat(stamp).astimezone(dt.UTC)
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def money(lines: Iterable[Mapping[str, Any]]) -> str:
    """The total amount of *lines* (``amount_minor``, ``currency``): ``360.00 CNY``."""
    totals: dict[str, int] = {}
    for line in lines:
        currency = str(line.get("currency") or "")
        totals[currency] = totals.get(currency, 0) + int(line.get("amount_minor") or 0)
    return " + ".join(
        f"{from_minor(count, currency)} {currency}" if currency else str(count)
        for currency, count in totals.items()
    )


def width(text: str) -> int:
    """Columns *text* takes on a terminal: CJK characters take two."""
    return sum(
        2
        if unicodedata.east_asian_width(c) in "WF"
        else 0
        if unicodedata.combining(c)
        else 1
        for c in text
    )


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [c + " " * (w - width(c)) for c, w in zip(cells, widths, strict=True)]
        return "  ".join(padded).rstrip()

    return [line(header), *(line(r) for r in rows)]


# -- decisions from the ledger's JSON ----------------------------------------------


def decision_from_dict(result: Mapping[str, Any], *, explained: bool) -> Decision:
    """The :class:`Decision` a recorded ``eval --json`` object describes (money
    stays text), so ``render``'s renderers can draw it; with *explained*,
    its trace too."""
    traces = result.get("trace") or []
    lines = []
    for i, line in enumerate(result.get("lines", ())):
        trace = traces[i] if i < len(traces) and isinstance(traces[i], Mapping) else {}
        actions = tuple(
            ActionResult(
                str(a.get("action")),
                str(a.get("rule")),
                {k: v for k, v in a.items() if k not in ("action", "rule")},
            )
            for a in line.get("actions", ())
        )
        lines.append(
            LineDecision(
                line=int(line.get("line", 0)),
                decision=line.get("decision", "review"),
                matched=tuple(line.get("matched", ())),
                decided_by=tuple(line.get("decided_by", ())),
                messages=tuple(line.get("messages", ())),
                actions=actions,
                errors=tuple(
                    EvalError(
                        str(e.get("rule")), str(e.get("source")), str(e["message"])
                    )
                    for e in line.get("errors", ())
                ),
                overridden=tuple(
                    Overridden(
                        str(o.get("action")), str(o.get("rule")), str(o.get("by"))
                    )
                    for o in trace.get("overridden", ())
                ),
                trace=trace if explained else None,
            )
        )
    return Decision(
        str(result.get("request")),
        str(result.get("decision")),
        tuple(lines),
        explained=explained and bool(traces),
    )


# -- submit ---------------------------------------------------------------------------


def render_submitted(
    outcome: Submitted,
    request: Request | None,
    policy: Policy,
    style: Style,
    *,
    failures: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    """One submitted request: its decision as ``eval`` shows it, then its
    status, a note when it had been recorded before, and its failed actions."""
    decision = decision_from_dict(scrub(outcome.result), explained=False)
    out = render_decision(decision, request, policy, style, source=outcome.source)
    head = f"  状态: {status(outcome.status, style)}"
    if outcome.duplicate:
        head += style.dim(" · 已记录过 (recorded before: nothing decided or run again)")
    out.append(head)
    count = outcome.failed or len(failures)
    if count:
        out.append(
            style.paint(
                f"  {plural(count, 'action')} failed "
                "(`returnrules resume --retry-failed` runs them again):",
                "red",
            )
        )
        out.extend(_failure(entry, style) for entry in failures)
    return out


def _failure(entry: Mapping[str, Any], style: Style) -> str:
    return (
        f"    {style.paint('✗', 'red')} line {entry['line']} {entry['action']} "
        f"[{entry['rule']}]: {entry.get('error') or 'failed'}"
    )


# -- resume ---------------------------------------------------------------------------


def render_resume(
    entries: Sequence[Mapping[str, Any]], report: ResumeReport, style: Style
) -> list[str]:
    """What ``resume`` ran, each with how it ended, then the journal's counts."""
    out = []
    for entry in scrub(list(entries)):
        line = f"{state(entry['state'], style)}  {entry['key']}"
        if entry["state"] == "failed" and entry.get("error"):
            line += f": {entry['error']}"
        out.append(line)
    ran = plural(report.ran, "action")
    out.append(
        f"ran {ran}; journal: {report.done} done, {report.failed} failed, "
        f"{report.pending} pending"
    )
    if report.failed:
        out.append(
            style.dim("`returnrules resume --retry-failed` runs the failed ones again")
        )
    return out


# -- review ---------------------------------------------------------------------------


def _line_summary(line: Mapping[str, Any], labels: Labels) -> str:
    decided = ", ".join(line.get("decided_by") or ()) or "the policy's default"
    return (
        f"line {line['line']} · {line['sku']} ×{line['qty']} · "
        f"{labels.both('reason', line['reason'])} · "
        f"{labels.both('condition', line['condition'])} · "
        f"{money([line])} · {decided}"
    )


def render_queue(
    summaries: Sequence[Summary], labels: Labels, style: Style
) -> list[str]:
    """The review queue: each request with the lines waiting for a person."""
    out = []
    for summary in summaries:
        s = scrub(summary.to_dict())
        out.append(
            f"{style.bold(s['request'])}  {status(s['status'], style)}  "
            + style.dim(
                f"order {s['order']} · customer {s['customer']} · "
                f"received {when(s['received_at'])} UTC"
            )
        )
        for line in s["lines"]:
            if line["decision"] == "review":
                out.append(f"  {_line_summary(line, labels)}")
    if not summaries:
        out.append("no request waits for review")
    else:
        waits = "waits" if len(summaries) == 1 else "wait"
        out.append(
            f"{plural(len(summaries), 'request')} {waits} for review: "
            "returnrules review resolve REQUEST_ID --decision approve|reject --by NAME"
        )
    return out


def render_resolution(
    record: Record,
    resolved: Sequence[int],
    new_actions: Sequence[Mapping[str, Any]],
    policy: Policy,
    style: Style,
) -> list[str]:
    """A person's decision on review lines: what it became, what ran, the status."""
    labels = Labels(policy.vocabularies)
    r = scrub(record.to_dict())
    out = []
    for line in r["lines"]:
        if line["line"] not in resolved:
            continue
        note = f" · {line['resolution_note']}" if line.get("resolution_note") else ""
        out.append(
            f"{style.bold(r['request'])}  line {line['line']} · {line['sku']} "
            f"×{line['qty']} · {labels.both('reason', line['reason'])}  "
            f"{line['policy_decision']} → {style.decision(line['decision'])}  "
            f"by {line['resolved_by']}{note}"
        )
        for action in (
            a for a in scrub(list(new_actions)) if a["line"] == line["line"]
        ):
            out.append(_action_line(action, style))
    if not new_actions:
        out.append(style.dim("  no actions follow from it"))
    waiting = sum(1 for line in r["lines"] if line["decision"] == "review")
    tail = f"状态: {status(r['status'], style)}"
    if waiting:
        verb = "waits" if waiting == 1 else "wait"
        tail += f" · {plural(waiting, 'line')} still {verb} for review"
    out.append(tail)
    return out


def _action_line(action: Mapping[str, Any], style: Style) -> str:
    fields = action_fields(
        ActionResult(action["action"], action["rule"], action["fields"])
    )
    text = (
        f"  {style.paint(action['action'], 'cyan')}  {fields}  "
        f"{style.dim('[' + action['rule'] + ']')}  {state(action['state'], style)}"
    )
    if action["state"] == "failed" and action.get("error"):
        text += f": {action['error']}"
    return text


# -- history --------------------------------------------------------------------------


def render_history(
    summaries: Sequence[Summary], labels: Labels, style: Style, *, limit: int
) -> list[str]:
    """Requests as a compact table, newest first, with Chinese labels."""
    if not summaries:
        return ["no recorded request matches"]
    rows = []
    for summary in summaries:
        s = scrub(summary.to_dict())
        reasons = dict.fromkeys(
            labels.plain("reason", ln["reason"]) for ln in s["lines"]
        )
        rows.append(
            [
                when(s["received_at"]),
                s["request"],
                s["order"],
                s["customer"],
                STATUS_LABELS.get(s["status"], s["status"]),
                str(len(s["lines"])),
                money(s["lines"]),
                "、".join(reasons),
            ]
        )
    header = ["受理时间 (UTC)", "退单号", "订单", "客户", "状态", "行", "金额", "原因"]
    table = text_table(header, rows)
    out = [style.bold(table[0]), *table[1:]]
    shown = plural(len(summaries), "request")
    if len(summaries) >= limit:
        out.append(style.dim(f"{shown}, the newest; --limit N shows more"))
    else:
        out.append(style.dim(shown))
    return out


# -- show -----------------------------------------------------------------------------


def _answer(recorded: Mapping[str, Any]) -> str:
    hook = str(recorded.get("hook", "")).removeprefix("returnrules_")
    args = ", ".join(f"{k}={show(v)}" for k, v in (recorded.get("args") or {}).items())
    answer = recorded.get("answer")
    if answer is None:
        told = "no answer"
    elif answer.get("type") is None:
        told = str(answer.get("repr"))
    else:
        kind = str(answer["type"]).rpartition(":")[2]
        fields = answer.get("fields") or {}
        told = f"{kind} " + ", ".join(f"{k} {show(v)}" for k, v in fields.items())
    return f"{hook}({args}) → {told}"


def render_record(
    record: Record,
    request: Request | None,
    policy: Policy,
    style: Style,
    *,
    note: str = "",
) -> list[str]:
    """Everything the ledger holds about one request, in one place."""
    labels = Labels(policy.vocabularies)
    r = scrub(record.to_dict())
    kind = labels.both("kind", r["kind"])
    out = [
        f"{style.bold(r['request'])}  状态: {status(r['status'], style)}",
        f"  订单 order {r['order']} · 客户 customer {r['customer']} · {kind}",
        f"  受理 received {when(r['received_at'], seconds=True)} UTC "
        f"by {r['submitted_by']}",
        style.dim(
            f"  策略 policy {r['policy']['source']} · "
            f"sha256 {r['policy']['sha256'][:12]}"
        ),
    ]
    if note:
        out.append(style.dim(f"  ({note})"))

    out += ["", style.bold("请求 the request as given")]
    body = json.dumps(r["request_as_given"], ensure_ascii=False, indent=2)
    out += [f"  {text}" for text in body.splitlines()]

    out += ["", style.bold("数据 what the data providers answered")]
    provided = r["provided"] or {}
    for line, answers in sorted(provided.items(), key=lambda kv: int(kv[0])):
        if answers:
            out.append(f"  line {line}")
            out += [f"    {_answer(a)}" for a in answers]
    if not any(provided.values()):
        out.append("  nothing was asked")
    data = r["data"]
    out.append(
        style.dim(
            "  --data: none"
            if data is None
            else f"  --data: {', '.join(data) or 'empty'} (in full: show --json)"
        )
    )

    decision = decision_from_dict(r["result"], explained=True)
    out += [
        "",
        f"{style.bold('决定 the decision')}  {style.decision(decision.decision)}",
    ]
    # render_decision's head and, with a request, its order line are said above.
    drawn = render_decision(decision, request, policy, style)
    out += drawn[1 if request is None else 2 :]
    for line in r["lines"]:
        if line.get("resolved_by"):
            note = f": {line['resolution_note']}" if line.get("resolution_note") else ""
            out.append(
                f"  line {line['line']} 审核 reviewed: "
                f"{style.decision(line['decision'])} by {line['resolved_by']}, "
                f"{when(line['resolved_at'])} UTC{note}"
            )

    out += ["", style.bold("执行 the actions")]
    for action in r["actions"]:
        out += _action_block(action, style)
    if not r["actions"]:
        out.append("  none")

    out += ["", style.bold("事件 the events")]
    out += _events(r["events"], style)
    return out


def _action_block(action: Mapping[str, Any], style: Style) -> list[str]:
    fields = action_fields(
        ActionResult(action["action"], action["rule"], action["fields"])
    )
    attempts = plural(int(action["attempts"]), "attempt")
    by = f" · by {action['executor']}" if action.get("executor") else ""
    out = [
        f"  line {action['line']} {style.paint(action['action'], 'cyan')}  {fields}  "
        + style.dim(f"[{action['rule']}]"),
        f"    {state(action['state'], style)} · {attempts}{by} · "
        f"{when(action['updated_at'], seconds=True)} UTC",
        style.dim(f"    key {action['key']}"),
    ]
    if action.get("result") is not None:
        out.append(f"    result {show(action['result'])}")
    if action.get("error"):
        out.append(style.paint(f"    error {action['error']}", "red"))
    return out


def _events(events: Sequence[Mapping[str, Any]], style: Style) -> list[str]:
    rows = []
    for event in events:
        kind = event["kind"]
        label = EVENT_LABELS.get(kind)
        what = f"{kind} {label}" if label else kind
        told = event.get("status")
        if kind == "reviewed" and told in DECISION_LABELS:
            told = f"{told} ({DECISION_LABELS[told]})"
        elif told in STATUS_LABELS:
            told = f"{STATUS_LABELS[told]} ({told})"
        where = f"line {event['line']}" if event.get("line") is not None else ""
        rows.append(
            [
                f"#{event['seq']}",
                when(event["at"], seconds=True),
                event["actor"],
                what,
                " ".join(x for x in (where, told or "") if x),
                event.get("note") or "",
            ]
        )
    if not rows:
        return ["  none"]
    header = ["", "时间 (UTC)", "操作人", "事件", "状态", "备注"]
    return [f"  {line}" for line in text_table(header, rows)]


# -- ledger verify --------------------------------------------------------------------


def render_verification(url: str, result: Verification, style: Style) -> list[str]:
    """``intact`` with the head to keep elsewhere, or every problem."""
    head = f"head: event {result.head_seq}, hash {result.head_hash}"
    if result.intact:
        return [
            f"{url}: {plural(result.events, 'event')}, "
            + style.paint("intact", "green"),
            head,
        ]
    out = [f"{url}: {problem.message}" for problem in result.problems]
    count = plural(len(result.problems), "problem")
    out.append(
        style.paint(f"Found {count} in {plural(result.events, 'event')}.", "red")
    )
    out.append(head)
    return out
