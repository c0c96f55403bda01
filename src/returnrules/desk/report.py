"""The periodic review: why parts come back, from whom, and what it cost.

``returnrules report`` (and :func:`build_report`) groups the ledger's return
lines of a period by reason, category, supplier, brand, customer, month or
deciding rule, and counts for each group the lines, how they were decided,
the refunds paid and the fees kept.  The database does the grouping, in one
pass: the period's lines grouped by every dimension at once, in the order of
an index that holds them all (``lines_for_report``, schema version 4: no sort,
no table lookups), then those groups added up per dimension in the same
statement; Python only splits the deciding rules, labels and formats.

A supplier's *defect rate* is its defective return quantity over the quantity
the ledger knows it sold (the order lines of the orders its requests refer
to); where the ledger knows of no sale, over the quantity returned - each row
says which (``basis``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from returnrules.desk.canonical import from_minor, rule_ids
from returnrules.desk.ledger import Ledger
from returnrules.desk.views import received_between
from returnrules.model.vocab import Vocabulary

__all__ = ["DIMENSIONS", "Report", "Row", "build_report"]

DIMENSIONS: Final[Mapping[str, str]] = {
    "reason": "reason",
    "category": "category",
    "supplier": "supplier",
    "brand": "brand",
    "customer": "customer_id",
    "month": "month",
    "rule": "decided_by",
}
"""Each dimension a report can group by, and its column of the one pass (a
rule's groups are those of the lines' ``decided_by`` lists, split)."""

DEFAULT_BY: Final = ("reason", "category", "supplier", "customer", "month", "rule")
VOCAB_OF: Final = {"reason": "reason", "category": "category"}


@attrs.frozen
class Row:
    """One group of a report."""

    key: str
    label: str
    currency: str
    lines: int
    qty: int
    approved: int
    rejected: int
    review: int
    refunded_minor: int
    fees_minor: int
    defective: int = 0
    """Supplier rows: the defective quantity returned."""
    sold: int = 0
    """Supplier rows: the quantity the ledger knows was sold."""

    @property
    def decided(self) -> int:
        return self.approved + self.rejected

    @property
    def approval_rate(self) -> Decimal | None:
        """Approved over decided lines (review excluded), or None."""
        if not self.decided:
            return None
        return (Decimal(self.approved) / self.decided).quantize(Decimal("0.001"))

    @property
    def refunded(self) -> Decimal:
        return from_minor(self.refunded_minor, self.currency)

    @property
    def fees(self) -> Decimal:
        return from_minor(self.fees_minor, self.currency)

    @property
    def defect_basis(self) -> str:
        """``sold`` when the ledger knows sales of the supplier, else ``returned``."""
        return "sold" if self.sold else "returned"

    @property
    def defect_rate(self) -> Decimal | None:
        base = self.sold or self.qty
        if not base:
            return None
        return (Decimal(self.defective) / base).quantize(Decimal("0.001"))

    def to_dict(self, dimension: str = "") -> dict[str, Any]:
        rate = self.approval_rate
        out: dict[str, Any] = {
            "key": self.key,
            "label": self.label,
            "currency": self.currency,
            "lines": self.lines,
            "qty": self.qty,
            "approved": self.approved,
            "rejected": self.rejected,
            "review": self.review,
            "approval_rate": None if rate is None else str(rate),
            "refunded": str(self.refunded),
            "fees": str(self.fees),
        }
        if dimension == "supplier":
            defect = self.defect_rate
            out.update(
                defective=self.defective,
                sold=self.sold,
                defect_rate=None if defect is None else str(defect),
                defect_basis=self.defect_basis,
            )
        return out


@attrs.frozen
class Report:
    """A report: its period, a table of rows per dimension, and the monthly
    trend per reason (for the charts)."""

    since: dt.date | None
    until: dt.date | None
    tables: Mapping[str, tuple[Row, ...]]
    trend: tuple[tuple[str, str, str, int], ...]
    """(month, reason, its label, lines)."""
    totals: tuple[Row, ...]
    """All lines of the period: one row per currency."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "totals": [row.to_dict() for row in self.totals],
            "groups": {
                dimension: [row.to_dict(dimension) for row in rows]
                for dimension, rows in self.tables.items()
            },
            "trend": [
                {"month": m, "reason": r, "label": label, "lines": n}
                for m, r, label, n in self.trend
            ],
        }

    def to_csv(self) -> str:
        """One table for a spreadsheet: a row per group, its dimension first."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        columns = [
            "lines", "qty", "approved", "rejected", "review", "approval_rate",
            "refunded", "fees", "defective", "sold", "defect_rate", "defect_basis",
        ]  # fmt: skip
        writer.writerow(["dimension", "key", "label", "currency", *columns])
        for dimension, rows in self.tables.items():
            for row in rows:
                values = row.to_dict("supplier")
                writer.writerow(
                    [dimension, _cell(row.key), _cell(row.label), row.currency]
                    + ["" if values[c] is None else values[c] for c in columns]
                )
        return out.getvalue()


_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """*text* for a spreadsheet's cell: text that a spreadsheet would run as a
    formula (a customer id ``=HYPERLINK(...)`` in a request) is kept as text
    with a leading apostrophe, as OWASP advises for CSV.  ``--json`` keeps
    every value as it was recorded."""
    return "'" + text if text.startswith(_FORMULA) else text


_GROUPED: Final = (
    # The one pass: grouped in the order of the index lines_for_report.
    "SELECT reason, category, COALESCE(supplier, '') AS supplier, brand, "
    "customer_id, currency, decided_by, month, COUNT(*) AS n, SUM(qty) AS qty, "
    "SUM(CASE WHEN decision = 'approve' THEN 1 ELSE 0 END) AS approved, "
    "SUM(CASE WHEN decision = 'reject' THEN 1 ELSE 0 END) AS rejected, "
    "SUM(CASE WHEN decision = 'review' THEN 1 ELSE 0 END) AS review, "
    "SUM(refunded_minor) AS refunded, SUM(refunded_fee_minor) AS fees, "
    "SUM(CASE WHEN reason = 'defective' THEN qty ELSE 0 END) AS defective "
    "FROM lines{where} GROUP BY reason, category, supplier, brand, customer_id, "
    "currency, decided_by, month"
)
_SUMS: Final = (
    "SUM(n), SUM(qty), SUM(approved), SUM(rejected), SUM(review), SUM(refunded), "
    "SUM(fees), SUM(defective)"
)


def build_report(
    ledger: Ledger,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    by: Sequence[str] = DEFAULT_BY,
    vocabularies: Mapping[str, Vocabulary] | None = None,
) -> Report:
    """The report of the lines received from *since* to *until* (inclusive
    days, UTC), grouped by each dimension of *by* (:data:`DIMENSIONS`).

    *vocabularies* label the reason and category codes (the policy's).
    """
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise ValueError(
            f"cannot group by {', '.join(unknown)}: one of {', '.join(DIMENSIONS)}"
        )
    clauses, params = received_between("received_at", since, until)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    parts = [
        f"SELECT '{dimension}', {DIMENSIONS[dimension]}, '', currency, {_SUMS} "
        f"FROM grouped GROUP BY {DIMENSIONS[dimension]}, currency"
        for dimension in dict.fromkeys(by)
    ]
    parts.append(f"SELECT '', '', '', currency, {_SUMS} FROM grouped GROUP BY currency")
    parts.append(
        f"SELECT 'trend', month, reason, '', {_SUMS} "
        "FROM grouped GROUP BY month, reason"
    )
    with ledger.read() as tx:
        found = tx.all(
            f"WITH grouped AS MATERIALIZED ({_GROUPED.format(where=where)}) "
            + " UNION ALL ".join(parts),
            params,
        )
        sold = _sold(tx) if "supplier" in by else {}
    sums: dict[str, dict[tuple[str, str], list[int]]] = {d: {} for d in by}
    totals: dict[tuple[str, str], list[int]] = {}
    trend: list[tuple[str, str, int]] = []
    for dimension, key, second, currency, *values in found:
        counts = [int(v or 0) for v in values]
        if dimension == "trend":
            trend.append((str(key), str(second), counts[0]))
        elif not dimension:
            totals[("", str(currency))] = counts
        elif dimension == "rule":  # a line counts for each rule that decided it
            try:
                rules = rule_ids(str(key))  # none for the default
            except ValueError:  # a ledger edited by hand: shown as it is
                rules = (str(key),)
            for rule in rules:
                _add(sums["rule"], (rule, str(currency)), counts)
        else:
            _add(sums[dimension], (str(key), str(currency)), counts)
    tables = {
        dimension: tuple(
            sorted(
                (
                    _row(dimension, key, currency, counts, vocabularies, sold)
                    for (key, currency), counts in groups.items()
                ),
                key=lambda row: (-row.lines, row.key, row.currency),
            )
        )
        for dimension, groups in sums.items()
    }
    return Report(
        since,
        until,
        tables,
        tuple(
            (m, r, _label("reason", r, vocabularies), n) for m, r, n in sorted(trend)
        ),
        tuple(
            _row("", "", currency, counts, None, {})
            for (_, currency), counts in sorted(totals.items())
        ),
    )


def _add(
    groups: dict[tuple[str, str], list[int]], key: tuple[str, str], counts: list[int]
) -> None:
    into = groups.get(key)
    if into is None:
        groups[key] = list(counts)
    else:
        for i, value in enumerate(counts):
            into[i] += value


def _sold(tx: Any) -> dict[str, int]:
    return {
        str(supplier): int(qty)
        for supplier, qty in tx.all(
            "SELECT COALESCE(supplier, ''), SUM(qty) FROM order_lines GROUP BY supplier"
        )
    }


def _label(
    dimension: str, key: str, vocabularies: Mapping[str, Vocabulary] | None
) -> str:
    name = VOCAB_OF.get(dimension, "")
    vocab = None if vocabularies is None else vocabularies.get(name)
    if vocab is not None and key in vocab:
        return vocab.label(key)
    if dimension == "supplier" and not key:
        return "(no supplier)"
    return key


def _row(
    dimension: str,
    key: str,
    currency: str,
    counts: Sequence[int],
    vocabularies: Mapping[str, Vocabulary] | None,
    sold: Mapping[str, int],
) -> Row:
    lines, qty, approved, rejected, review, refunded, fees, defective = counts
    return Row(
        key,
        _label(dimension, key, vocabularies),
        currency,
        lines,
        qty,
        approved,
        rejected,
        review,
        refunded,
        fees,
        defective,
        sold.get(key, 0) if dimension == "supplier" else 0,
    )


def rows_by_label(rows: Iterable[Row]) -> dict[str, Row]:
    """Rows keyed by their label (for charts)."""
    return {row.label: row for row in rows}
