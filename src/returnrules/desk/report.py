"""The periodic review: why parts come back, from whom, and what it cost.

``returnrules report`` (and :func:`build_report`) groups the ledger's return
lines of a period by reason, category, supplier, brand, customer, month or
deciding rule, and counts for each group the lines, how they were decided,
the refunds paid and the fees kept.  The database does the grouping (one
``GROUP BY`` per dimension); Python only labels and formats the rows.

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

from returnrules.desk.canonical import from_minor
from returnrules.desk.ledger import Ledger
from returnrules.model.vocab import Vocabulary

__all__ = ["DIMENSIONS", "Report", "Row", "build_report"]

DIMENSIONS: Final[Mapping[str, str]] = {
    "reason": "l.reason",
    "category": "l.category",
    "supplier": "COALESCE(l.supplier, '')",
    "brand": "l.brand",
    "customer": "l.customer_id",
    "month": "SUBSTR(l.received_at, 1, 7)",
    "rule": "r.rule",
}
"""Each dimension a report can group by, and the SQL expression of its key."""

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
                    [dimension, row.key, row.label, row.currency]
                    + ["" if values[c] is None else values[c] for c in columns]
                )
        return out.getvalue()


def _period(
    since: dt.date | None, until: dt.date | None, column: str
) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if since is not None:
        clauses.append(f"{column} >= ?")
        params.append(dt.datetime.combine(since, dt.time(), dt.UTC).isoformat())
    if until is not None:
        clauses.append(f"{column} < ?")
        after = until + dt.timedelta(days=1)
        params.append(dt.datetime.combine(after, dt.time(), dt.UTC).isoformat())
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


_COUNTS: Final = (
    "COUNT(*), COALESCE(SUM(l.qty), 0), "
    "COALESCE(SUM(CASE WHEN l.decision = 'approve' THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN l.decision = 'reject' THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN l.decision = 'review' THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(l.refunded_minor), 0), COALESCE(SUM(l.refunded_fee_minor), 0), "
    "COALESCE(SUM(CASE WHEN l.reason = 'defective' THEN l.qty ELSE 0 END), 0)"
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
    where, params = _period(since, until, "l.received_at")
    tables: dict[str, tuple[Row, ...]] = {}
    with ledger.read() as tx:
        for dimension in by:
            join = (
                " JOIN line_rules r ON r.request_id = l.request_id AND r.line = l.line"
                if dimension == "rule"
                else ""
            )
            key = DIMENSIONS[dimension]
            rows = tx.all(
                f"SELECT {key} AS k, l.currency, {_COUNTS} FROM lines l{join}{where} "
                f"GROUP BY {key}, l.currency ORDER BY COUNT(*) DESC, k",
                params,
            )
            sold = _sold(tx) if dimension == "supplier" else {}
            tables[dimension] = tuple(
                _row(dimension, row, vocabularies, sold.get(str(row[0]), 0))
                for row in rows
            )
        totals = tx.all(
            f"SELECT '', l.currency, {_COUNTS} FROM lines l{where} GROUP BY l.currency",
            params,
        )
        trend = tx.all(
            f"SELECT SUBSTR(l.received_at, 1, 7) AS m, l.reason, COUNT(*) FROM lines l"
            f"{where} GROUP BY m, l.reason ORDER BY m, l.reason",
            params,
        )
    return Report(
        since,
        until,
        tables,
        tuple(
            (str(m), str(r), _label("reason", str(r), vocabularies), int(n))
            for m, r, n in trend
        ),
        tuple(_row("", row, None, 0) for row in totals),
    )


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
    row: Sequence[Any],
    vocabularies: Mapping[str, Vocabulary] | None,
    sold: int,
) -> Row:
    key = str(row[0])
    lines, qty, approved, rejected, review, refunded, fees, defective = (
        int(v) for v in row[2:10]
    )
    return Row(
        key,
        _label(dimension, key, vocabularies),
        str(row[1]),
        lines,
        qty,
        approved,
        rejected,
        review,
        refunded,
        fees,
        defective,
        sold,
    )


def rows_by_label(rows: Iterable[Row]) -> dict[str, Row]:
    """Rows keyed by their label (for charts)."""
    return {row.label: row for row in rows}
