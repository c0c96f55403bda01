"""The report and replay as one self-contained HTML page, with charts.

``returnrules report --html FILE`` writes a page that opens offline in any
browser: no CDN, no external font or script.  The charts are drawn by
matplotlib (the ``report`` extra: ``pip install 'returnrules[report]'``) and
inlined as SVG, with their text turned into paths, so the page needs no font
of its own.

Chinese labels need a CJK font when the charts are drawn.  The first of
:data:`CJK_FONTS` that matplotlib finds is used (Debian: ``fonts-wqy-zenhei``
or ``fonts-noto-cjk``).  Without one, the charts label the groups by their
codes (``defective``) and the page says so; a chart never shows a glyph as a
box, and matplotlib's missing-glyph warnings are caught here, not left to
whoever runs it.
"""

from __future__ import annotations

import contextlib
import html
import io
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

from returnrules.desk.canonical import from_minor, shown_minor
from returnrules.desk.replay import Comparison
from returnrules.desk.report import Report, Row

__all__ = ["CJK_FONTS", "ChartsUnavailable", "replay_page", "report_page"]

CJK_FONTS: Final = (
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)


class ChartsUnavailable(RuntimeError):
    """``--html`` without the ``report`` extra (matplotlib) installed."""


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("svg", force=True)
        from matplotlib import pyplot
    except ImportError:
        raise ChartsUnavailable(
            "the HTML page needs the report extra: pip install 'returnrules[report]'"
        ) from None
    return pyplot


def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


Draw = Callable[[Any, Sequence[str]], None]
"""Draws a chart on a matplotlib figure, with these labels."""


def _svg(draw: Draw, labels: Sequence[str], font: str | None) -> str:
    """A chart as inline SVG; raises _MissingGlyphs if a label cannot be drawn."""
    pyplot = _pyplot()
    # A label is text as recorded, never TeX: "$x^{$" in a code's label (a
    # policy's, or a request's supplier) would otherwise be parsed as math.
    params: dict[str, Any] = {
        "svg.fonttype": "path",
        "font.size": 10,
        "text.parse_math": False,
    }
    if font is not None:
        params["font.family"] = [font, "DejaVu Sans"]
    fonts = logging.getLogger("matplotlib.font_manager")
    level = fonts.level
    fonts.setLevel(logging.ERROR)  # "using weight 500 for normal" is no news here
    with (
        pyplot.rc_context(params),
        warnings.catch_warnings(record=True) as caught,
        contextlib.ExitStack() as restore,
    ):
        restore.callback(fonts.setLevel, level)
        warnings.simplefilter("always")
        figure = pyplot.figure(figsize=(8, max(2.4, 0.32 * len(labels) + 1.2)))
        try:
            draw(figure, labels)
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg", bbox_inches="tight")
        finally:
            pyplot.close(figure)
    if any("missing from font" in str(w.message) or "Glyph" in str(w.message)
           for w in caught):  # fmt: skip
        raise _MissingGlyphs
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    # The RDF metadata only names matplotlib and the time it drew: drop it, so
    # the page is the same for the same report.
    start, end = text.find("<metadata>"), text.find("</metadata>")
    if 0 <= start < end:
        text = text[:start] + text[end + len("</metadata>") :]
    return text


class _MissingGlyphs(Exception):
    """A label has characters the chosen font cannot draw."""


Chart = tuple[str, Draw, Sequence[str], Sequence[str]]
"""(title, draw, labels, codes): the codes label it when glyphs are missing."""


def _charts(specs: Sequence[Chart]) -> tuple[list[tuple[str, str]], str | None]:
    """Each chart as (title, SVG); on missing glyphs, all of them again with
    codes, and a note saying so."""
    if not specs:
        return [], None
    font = cjk_font()
    try:
        return [
            (title, _svg(draw, labels, font)) for title, draw, labels, _ in specs
        ], None
    except _MissingGlyphs:
        note = (
            "No font with Chinese glyphs is installed where this page was made "
            "(e.g. Debian's fonts-wqy-zenhei): the charts show the codes."
        )
        return [
            (title, _svg(draw, codes, None)) for title, draw, _, codes in specs
        ], note


_STYLE: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em;
       color: #1d2329; max-width: 72em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #d9dee3; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f5f7; }
.chart svg { max-width: 100%; height: auto; }
.note { color: #8a5a00; background: #fff6e0; padding: 0.5em 1em; }
.muted { color: #66717c; }
"""


def _page(title: str, body: Iterator[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="zh-CN"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{_STYLE}</style></head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    lines = [f"<table><thead><tr>{cells}</tr></thead><tbody>"]
    for row in rows:
        lines.append(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        )
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _percent(value: object) -> str:
    return "—" if value is None else f"{float(str(value)) * 100:.1f} %"


def _bars(figure: Any, labels: Sequence[str], values: Sequence[int]) -> None:
    axes = figure.add_subplot()
    axes.barh(list(range(len(values))), values, color="#3b7dd8")
    axes.set_yticks(list(range(len(values))), labels)
    axes.invert_yaxis()
    axes.set_xlabel("lines")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _trend(
    figure: Any,
    labels: Sequence[str],
    months: Sequence[str],
    series: Sequence[Sequence[int]],
) -> None:
    axes = figure.add_subplot()
    for label, values in zip(labels, series, strict=True):
        axes.plot(months, values, marker="o", label=label)
    axes.set_ylabel("lines")
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _group_rows(rows: Sequence[Row], supplier: bool) -> list[list[object]]:
    out: list[list[object]] = []
    for row in rows:
        cells: list[object] = [
            row.label if row.label == row.key else f"{row.label} ({row.key})",
            row.lines,
            row.qty,
            row.approved,
            row.rejected,
            row.review,
            _percent(row.approval_rate),
            f"{row.refunded} {row.currency}",
            f"{row.fees} {row.currency}",
        ]
        if supplier:
            cells += [row.sold or "—", row.defective, _percent(row.defect_rate),
                      "of sold" if row.sold else "of returned"]  # fmt: skip
        out.append(cells)
    return out


HEAD: Final = ("group", "lines", "qty", "approved", "rejected", "review",
               "approval", "refunded", "fees")  # fmt: skip
SUPPLIER_HEAD: Final = ("sold", "defective", "defect rate", "basis")
TITLES: Final = {
    "reason": "By reason 按退货原因",
    "category": "By category 按类别",
    "supplier": "Suppliers 供应商",
    "brand": "By brand 按品牌",
    "customer": "By customer 按客户",
    "month": "By month 按月份",
    "rule": "By deciding rule 按决定规则",
}


def report_page(report: Report, *, title: str = "Returns review 退货复盘") -> str:
    """The report as a self-contained HTML page with its charts."""
    reasons = report.tables.get("reason", ())
    months = sorted({m for m, _, _, _ in report.trend})
    codes = sorted({r for _, r, _, _ in report.trend})
    label_of = {r: label for _, r, label, _ in report.trend}
    counts = {(m, r): n for m, r, _, n in report.trend}
    series = [[counts.get((m, r), 0) for m in months] for r in codes]
    specs: list[Chart] = []
    if reasons:
        values = [row.lines for row in reasons]
        specs.append(
            (
                "Lines by reason 各原因退货行数",
                lambda f, labels: _bars(f, labels, values),
                [row.label for row in reasons],
                [row.key for row in reasons],
            )
        )
    if months:
        specs.append(
            (
                "Monthly trend per reason 各原因月度趋势",
                lambda f, labels: _trend(f, labels, months, series),
                [label_of[c] for c in codes],
                codes,
            )
        )
    charts, note = _charts(specs)

    def body() -> Iterator[str]:
        period = " – ".join(
            "…" if d is None else d.isoformat() for d in (report.since, report.until)
        )
        yield f"<h1>{html.escape(title)}</h1>"
        yield f'<p class="muted">Period 期间: {html.escape(period)}</p>'
        if note:
            yield f'<p class="note">{html.escape(note)}</p>'
        for row in report.totals:
            yield (
                f"<p>{row.lines} lines, {row.approved} approved, {row.rejected} "
                f"rejected, {row.review} in review; refunded {row.refunded} "
                f"{html.escape(row.currency)}, fees {row.fees}.</p>"
            )
        for chart_title, svg in charts:
            yield f'<h2>{html.escape(chart_title)}</h2><div class="chart">{svg}</div>'
        for dimension, rows in report.tables.items():
            supplier = dimension == "supplier"
            head = (
                [*HEAD, "sold", "defective", "defect rate", "basis"]
                if supplier
                else list(HEAD)
            )
            yield f"<h2>{html.escape(TITLES.get(dimension, dimension))}</h2>"
            yield _table(head, _group_rows(rows, supplier))

    return _page(title, body())


def replay_page(comparison: Comparison, *, title: str = "Replay 策略回放") -> str:
    """A replay's comparison as a self-contained HTML page."""
    data = comparison.to_dict()
    decisions = ("approve", "reject", "review")
    matrix = {(m["from"], m["to"]): m["lines"] for m in data["matrix"]}
    changed = [
        (f"{old}→{new}", n) for (old, new), n in sorted(matrix.items()) if old != new
    ]
    specs: list[tuple[str, Any, Sequence[str], Sequence[str]]] = []
    if changed:
        names = [name for name, _ in changed]
        counts = [n for _, n in changed]
        specs.append(
            (
                "Changed lines 变化的行",
                lambda f, labels: _bars(f, labels, counts),
                names,
                names,
            )
        )
    charts, note = _charts(specs)

    def body() -> Iterator[str]:
        verdict = (
            "Every recorded decision and amount is reproduced."
            if comparison.reproduced
            else f"{comparison.changed} of {comparison.lines} lines change."
        )
        yield f"<h1>{html.escape(title)}</h1>"
        counted = f"{comparison.requests} requests, {comparison.lines} lines."
        yield f"<p>{counted} {verdict}</p>"
        if note:
            yield f'<p class="note">{html.escape(note)}</p>'
        yield "<h2>Decisions before → after</h2>"
        yield _table(
            ["before \\ after", *decisions],
            [
                [old, *[matrix.get((old, new), 0) for new in decisions]]
                for old in decisions
            ],
        )
        for chart_title, svg in charts:
            yield f'<h2>{html.escape(chart_title)}</h2><div class="chart">{svg}</div>'
        yield "<h2>Refunds 退款合计</h2>"
        yield _table(
            ["currency", "before", "after", "difference"],
            [[r["currency"], *(from_minor(r[k], r["currency"]) for k in
              ("before_minor", "after_minor", "difference_minor"))]
             for r in data["refunds"]],
        )  # fmt: skip
        yield "<h2>Rules</h2>"
        yield _table(
            ["rule", "matched before", "after", "decided before", "after"],
            [[r["rule"], r["matched_before"], r["matched_after"], r["decided_before"],
              r["decided_after"]] for r in data["rules"]],
        )  # fmt: skip
        yield "<h2>Changed lines</h2>"
        yield _table(
            ["request", "line", "before", "after", "refund before", "after"],
            [[c["request"], c["line"], c["before"]["decision"], c["after"]["decision"],
              *(shown_minor(c[k]["refund_minor"], c[k]["currency"])
                for k in ("before", "after"))]
             for c in data["changes"]],
        )  # fmt: skip

    return _page(title, body())
