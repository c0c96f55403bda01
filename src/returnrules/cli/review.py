"""The review commands: ``returnrules report`` and ``returnrules replay``.

``report`` reads the ledger's lines of a period, grouped by the database, and
prints them as tables, JSON, CSV or one self-contained HTML page with charts.
``replay`` decides the recorded history (or request files) again under a new
policy and says what would change.  Both take the ledger the desk commands
take (``--db``, ``RETURNRULES_DB``, ``returnrules.db``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

from returnrules.cli.batch import default_jobs
from returnrules.cli.commands import BAD_INPUT, FAILED, OK, Console, load_reporting
from returnrules.cli.desk import guarded, ledger_url, opened, recorded_labels
from returnrules.cli.inputs import JsonLine, Loaded, read_data, read_requests
from returnrules.cli.render import Style, render_request_error
from returnrules.cli.render_desk import json_line, text_table
from returnrules.desk.canonical import from_minor, shown_minor
from returnrules.desk.dask import DaskUnavailable
from returnrules.desk.page import ChartsUnavailable, replay_page, report_page
from returnrules.desk.replay import (
    Comparison,
    WorkersDying,
    replay_files,
    replay_ledger,
)
from returnrules.desk.report import DEFAULT_BY, DIMENSIONS, Report, Row, build_report
from returnrules.model.errors import RequestError

__all__ = ["run_replay", "run_report"]

Output = Literal["table", "json", "csv"]
DECISIONS: Final = ("approve", "reject", "review")
SHOWN_CHANGES: Final = 50
"""Changed lines a replay lists on the terminal (``--json`` lists them all)."""


def parse_by(text: str) -> tuple[str, ...]:
    """``--by reason,supplier``: the dimensions, checked."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in DIMENSIONS]
    if unknown or not names:
        raise ValueError(
            f"cannot group by {', '.join(unknown) or 'nothing'}: "
            f"choose from {', '.join(DIMENSIONS)}"
        )
    return names


# -- report ------------------------------------------------------------------------


def run_report(
    console: Console,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    by: Sequence[str] = DEFAULT_BY,
    output: Output = "table",
    html: str | None = None,
    db: str | None = None,
) -> int:
    """``returnrules report``: the lines of a period, grouped, with what they cost."""
    return guarded(
        console, _report, since=since, until=until, by=by, output=output,
        html=html, db=db,
    )  # fmt: skip


def _report(
    console: Console,
    *,
    since: dt.date | None,
    until: dt.date | None,
    by: Sequence[str],
    output: Output,
    html: str | None,
    db: str | None,
) -> int:
    with opened(ledger_url(db), create=False) as ledger:
        vocabularies = recorded_labels(ledger).vocabularies
        report = build_report(
            ledger, since=since, until=until, by=by, vocabularies=vocabularies
        )
    if html is not None:
        try:
            page = report_page(report)
        except ChartsUnavailable as exc:
            console.error(f"returnrules: {exc}")
            return FAILED
        return _write_page(console, html, page)
    if output == "json":
        console.print(json_line(report.to_dict()))
    elif output == "csv":
        console.out.write(report.to_csv())
    else:
        console.print(*render_report(report, console.style))
    return OK


def _write_page(console: Console, path: str, page: str) -> int:
    try:
        Path(path).write_text(page, encoding="utf-8")
    except OSError as exc:
        console.error(f"returnrules: cannot write {path}: {exc.strerror}")
        return FAILED
    console.print(f"wrote {path}")
    return OK


def _percent(value: object) -> str:
    return "—" if value is None else f"{float(str(value)) * 100:.1f}%"


def _rows(rows: Sequence[Row], supplier: bool) -> list[list[str]]:
    out = []
    for row in rows:
        same = row.label == row.key or not row.key
        name = row.label if same else f"{row.label} ({row.key})"
        cells = [
            name or "—", str(row.lines), str(row.approved), str(row.rejected),
            str(row.review), _percent(row.approval_rate),
            f"{row.refunded} {row.currency}", f"{row.fees}",
        ]  # fmt: skip
        if supplier:
            basis = "售出" if row.sold else "退回"
            cells += [_percent(row.defect_rate), basis]
        out.append(cells)
    return out


TITLES: Final = {
    "reason": "原因 reason",
    "category": "类别 category",
    "supplier": "供应商 supplier",
    "brand": "品牌 brand",
    "customer": "客户 customer",
    "month": "月份 month",
    "rule": "决定规则 deciding rule",
}
HEAD: Final = ("", "行", "通过", "拒绝", "待审核", "通过率", "退款", "手续费")


def render_report(report: Report, style: Style) -> list[str]:
    """The report as tables for a terminal."""
    period = " – ".join(
        "…" if d is None else d.isoformat() for d in (report.since, report.until)
    )
    lines = [style.bold(f"退货复盘 returns review  {period}")]
    for total in report.totals:
        lines.append(
            f"{total.lines} lines, {total.approved} approved, {total.rejected} "
            f"rejected, {total.review} in review; refunded {total.refunded} "
            f"{total.currency}, fees {total.fees}"
        )
    if not report.totals:
        lines.append("no return lines in this period")
        return lines
    for dimension, rows in report.tables.items():
        supplier = dimension == "supplier"
        head = [dimension, *HEAD[1:]]
        if supplier:
            head += ["次品率", "基数"]
        lines += ["", style.bold(TITLES.get(dimension, dimension))]
        lines += text_table(head, _rows(rows, supplier))
    return lines


# -- replay ------------------------------------------------------------------------


def run_replay(
    requests: Sequence[str],
    console: Console,
    *,
    rules: str,
    against: str | None = None,
    data: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    as_json: bool = False,
    html: str | None = None,
    fail_on_change: bool = False,
    engine: Literal["local", "dask"] = "local",
    scheduler: str | None = None,
    jobs: int = 1,
    db: str | None = None,
) -> int:
    """``returnrules replay``: what changes under *rules*, on the history (or
    on request files, against the policy *against*)."""
    return guarded(
        console, _replay, requests, rules=rules, against=against, data=data,
        since=since, until=until, as_json=as_json, html=html,
        fail_on_change=fail_on_change, engine=engine, scheduler=scheduler,
        jobs=jobs, db=db,
    )  # fmt: skip


def _replay(
    console: Console,
    requests: Sequence[str],
    *,
    rules: str,
    against: str | None,
    data: str | None,
    since: dt.date | None,
    until: dt.date | None,
    as_json: bool,
    html: str | None,
    fail_on_change: bool,
    engine: Literal["local", "dask"],
    scheduler: str | None,
    jobs: int,
    db: str | None,
) -> int:
    new = load_reporting(rules, console)
    if new is None:
        return FAILED
    jobs = jobs or default_jobs()  # --jobs 0: one per core
    bad = 0
    if requests:
        if against is None:
            console.error(
                "returnrules: replaying request files compares two policies: "
                "give the one they are compared with, --against OLD"
            )
            return BAD_INPUT
        old = load_reporting(against, console)
        if old is None:
            return FAILED
        mapping = _data_file(data, console)
        if mapping is False:
            return BAD_INPUT
        comparison = replay_files(_items(requests, console), new, old, mapping or None)
        bad = len(comparison.errors)
        for _, source, message in comparison.errors:
            console.error(
                message if message.startswith(source) else f"{source}: {message}"
            )
    else:
        if against is not None:
            console.error(
                "returnrules: --against compares two policies on request files; "
                "a replay of the ledger compares with what was decided"
            )
            return BAD_INPUT
        runner = None
        if engine == "dask":
            from returnrules.desk import dask  # (Dask itself only when it runs)

            runner = dask.runner(scheduler, workers=max(jobs, 2))
        try:
            with opened(ledger_url(db), create=False) as ledger:
                comparison = replay_ledger(
                    ledger, new, since=since, until=until, jobs=jobs, runner=runner
                )
        except (DaskUnavailable, WorkersDying) as exc:
            console.error(f"returnrules: {exc}")
            return FAILED
        bad = len(comparison.errors)  # as for request files: exit 2, all else shown
        for _, request_id, message in comparison.errors:
            console.error(
                f"returnrules: {request_id} cannot be decided again: {message}"
            )
    if html is not None:
        try:
            page = replay_page(comparison)
        except ChartsUnavailable as exc:
            console.error(f"returnrules: {exc}")
            return FAILED
        status = _write_page(console, html, page)
        if status != OK:
            return status
    elif as_json:
        console.print(json_line(comparison.to_dict()))
    else:
        console.print(*render_replay(comparison, console.style, ledger=not requests))
    if fail_on_change and not comparison.reproduced:
        return FAILED
    return BAD_INPUT if bad else OK


def _data_file(
    path: str | None, console: Console
) -> Mapping[str, Any] | Literal[False] | None:
    """The ``--data`` mapping, None without one, False (reported) if invalid."""
    if path is None:
        return None
    try:
        return read_data(path)
    except RequestError as exc:
        console.error(
            *render_request_error(exc if exc.source else exc.with_source(path))
        )
        return False


def _items(
    specs: Sequence[str], console: Console
) -> Iterator[tuple[str, Mapping[str, Any] | RequestError]]:
    for spec in specs:
        for source, loaded in read_requests(spec, console.stdin):
            yield source, _decoded(loaded)


def _decoded(loaded: Loaded) -> Mapping[str, Any] | RequestError:
    if isinstance(loaded, JsonLine):
        try:
            return loaded.load()
        except RequestError as exc:
            return exc
    return loaded


def render_replay(comparison: Comparison, style: Style, *, ledger: bool) -> list[str]:
    """A replay's comparison for a terminal."""
    what = "the recorded decisions" if ledger else "the decisions of --against"
    lines = [
        style.bold(
            f"{comparison.requests} requests, {comparison.lines} lines replayed: "
            f"{comparison.changed} lines change"
        ),
        (
            f"reproduces every one of {what}, to the amount"
            if comparison.reproduced
            else f"differs from {what}"
            if comparison.changes
            else f"could not decide {len(comparison.errors)} of them again (listed "
            f"on stderr); the others reproduce every one of {what}, to the amount"
        ),
        "",
        style.bold("decisions before → after (lines)"),
    ]
    lines += text_table(
        ["before \\ after", *DECISIONS],
        [[old, *(str(comparison.matrix.get((old, new), 0)) for new in DECISIONS)]
         for old in DECISIONS],
    )  # fmt: skip
    if comparison.refunds:
        lines += ["", style.bold("refunds")]
        lines += text_table(
            ["currency", "before", "after", "difference"],
            [[currency, *(str(from_minor(v, currency)) for v in
              (before, after, after - before))]
             for currency, (before, after, _, _) in sorted(comparison.refunds.items())],
        )  # fmt: skip
    moved = {
        rule: c for rule, c in comparison.rules.items() if c[0] != c[1] or c[2] != c[3]
    }
    if moved:
        lines += ["", style.bold("rules whose counts change (matched, decided)")]
        lines += text_table(
            ["rule", "matched before", "after", "decided before", "after"],
            [
                [rule, *(str(n) for n in counts)]
                for rule, counts in sorted(moved.items())
            ],
        )
    if comparison.changes:
        lines += ["", style.bold("changed lines")]
        for change in comparison.changes[:SHOWN_CHANGES]:
            before, after = change.before, change.after
            lines.append(
                f"  {change.request} line {change.line}: {before.decision} "
                f"[{', '.join(before.decided_by) or 'default'}] "
                f"{shown_minor(before.refund_minor, before.currency)} → "
                f"{after.decision} [{', '.join(after.decided_by) or 'default'}] "
                f"{shown_minor(after.refund_minor, after.currency)}"
            )
        more = len(comparison.changes) - SHOWN_CHANGES
        if more > 0:
            lines.append(f"  … and {more} more (--json lists them all)")
    return lines
