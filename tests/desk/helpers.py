"""What the desk's tests share: a small policy, requests, and counting rows.

``POLICY`` decides with the standard pack and the probe plugin
(:mod:`tests.plugins.desk_probe`): over-returns are rejected (the customer is
told), installed parts go to a person (the warehouse is told), everything
approved is refunded, restocked and probed; a defective part is exchanged
when the stock allows (a data provider the ledger keeps the answer of).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import returnrules
from returnrules.desk import Desk, Ledger, open_ledger
from tests.plugins import desk_probe

REPO: Final = Path(__file__).resolve().parents[2]

POLICY: Final = """\
version = 1
[policy]
currency = "CNY"
default = "approve"

[[rule]]
id = "over-return"
when = { fact = "line.qty", gt = { fact = "line.returnable_qty" } }
decide = "reject"
then = [
  { action = "notify", to = "customer", message = "{line.returnable_qty} left" },
]

[[rule]]
id = "installed"
when = { fact = "line.condition", eq = "installed" }
decide = "review"
for = ["review", "approve"]
then = [{ action = "notify", to = "warehouse", message = "inspect {part.sku}" }]

[[rule]]
id = "defective-exchange"
when.all = [{ fact = "line.reason", eq = "defective" }, { check = "stock_available" }]
then = [{ action = "exchange" }]

[[rule]]
id = "refund-all"
then = [
  { action = "refund" },
  { action = "restock", location = "main" },
  { action = "probe" },
]
"""

EFFECT_TABLES: Final = (
    "refunds",
    "stock_movements",
    "supplier_returns",
    "exchanges",
    "notifications",
    "probe_effects",
)


def load(text: str = POLICY) -> returnrules.Policy:
    """*text* with the entry-point plugins (the standard pack) and the probe."""
    return returnrules.loads_policy(
        text, source="rules.toml", plugins=[desk_probe], autoload=True
    )


def order_line(line: int, qty: int = 4, **changes: Any) -> dict[str, Any]:
    return {
        "line": line,
        "sku": f"SKU-{line}",
        "brand": "Bosch",
        "category": "brake",
        "qty": qty,
        "unit_price": "180.00",
        "supplier": "SUP-BOSCH",
        **changes,
    }


def make_request(
    rid: str,
    *,
    order: str = "SO-1",
    customer: str = "C-1",
    lines: Iterable[tuple[int, int]] = ((1, 2),),
    condition: str = "unopened",
    reason: str = "wrong_part",
    order_lines: Iterable[Mapping[str, Any]] = (),
    requested_at: str = "2026-11-20T10:00:00+08:00",
) -> dict[str, Any]:
    """A request *rid* returning ``(line, qty)`` pairs of *order*."""
    wanted = list(lines)
    ordered = [dict(o) for o in order_lines] or [
        order_line(n) for n in sorted({n for n, _ in wanted} | {1, 2})
    ]
    return {
        "id": rid,
        "requested_at": requested_at,
        "customer": {"id": customer, "tier": "workshop"},
        "order": {
            "id": order,
            "status": "delivered",
            "channel": "online",
            "placed_at": "2026-11-01T09:30:00+08:00",
            "delivered_at": "2026-11-04T11:00:00+08:00",
            "shipping_fee": "20.00",
            "lines": copy.deepcopy(ordered),
        },
        "lines": [
            {"line": n, "qty": q, "reason": reason, "condition": condition}
            for n, q in wanted
        ],
    }


def count(ledger: Ledger, sql: str, params: Iterable[Any] = ()) -> int:
    with ledger.read() as tx:
        row = tx.one(sql, tuple(params))
    assert row is not None
    return int(row[0])


def rows(ledger: Ledger, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    with ledger.read() as tx:
        return tx.all(sql, tuple(params))


def table_counts(ledger: Ledger) -> dict[str, int]:
    """Rows in every table the desk writes: what "nothing changed" compares."""
    names = (
        "requests",
        "lines",
        "journal",
        "events",
        "taken",
        "policies",
        "data_snapshots",
        *EFFECT_TABLES,
    )
    return {name: count(ledger, f"SELECT COUNT(*) FROM {name}") for name in names}


def snapshot(ledger: Ledger) -> dict[str, Any]:
    """What a ledger holds, without times: two runs of one workload compare equal."""
    effects = {
        table: sorted(r[0] for r in rows(ledger, f"SELECT key FROM {table}"))
        for table in EFFECT_TABLES
    }
    return {
        "requests": sorted(
            rows(
                ledger,
                "SELECT request_id, content_sha256, decision, status FROM requests",
            )
        ),
        "lines": sorted(
            rows(ledger, "SELECT request_id, line, qty, decision FROM lines")
        ),
        "journal": sorted(rows(ledger, "SELECT key, state, executor FROM journal")),
        "taken": sorted(rows(ledger, "SELECT order_id, line, qty FROM taken")),
        "effects": effects,
    }


def open_desk(
    url: str, policy: returnrules.Policy | None = None, **kwargs: Any
) -> Desk:
    """A desk on a new connection to *url* (the caller closes ``desk.ledger``)."""
    return Desk(open_ledger(url), policy or load(), **kwargs)
