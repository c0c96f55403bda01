"""The tables the standard executors keep in the desk's ledger.

Each is a plain table a person can query (``sqlite3 returnrules.db``): one row
per executed action, keyed by the action's idempotency key, beside
``request_id`` and ``line``.  Money is an integer count of the currency's
minor unit (306.00 CNY is 30600).

=================== ==========================================================
table               what it lists
=================== ==========================================================
``refunds``         refunds to make: amount, fee, currency, method
``stock_movements`` parts to restock (at a location, or to the inspection
                    queue), to scrap, or reservations to release
``supplier_returns`` parts to send back, by supplier: the RTV list
``exchanges``       replacement parts to pick
``notifications``   messages to send, by recipient: an outbox per department
=================== ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable

from returnrules import LedgerTable, hookimpl


@hookimpl
def returnrules_register_ledger_tables(register: Callable[[LedgerTable], None]) -> None:
    register(
        LedgerTable(
            "refunds",
            {
                "amount_minor": "integer",
                "fee_minor": "integer",
                "currency": "text",
                "method": "text",
            },
            indexes=("method",),
            doc="refunds to make (finance)",
        )
    )
    register(
        LedgerTable(
            "stock_movements",
            {
                "sku": "text",
                "qty": "integer",
                "movement": "text",  # restock | inspect | scrap | release
                "location": "text",
            },
            indexes=("sku", "movement"),
            doc="parts to restock, inspect or scrap; reservations to release",
        )
    )
    register(
        LedgerTable(
            "supplier_returns",
            {"supplier": "text", "sku": "text", "qty": "integer"},
            indexes=("supplier",),
            doc="parts to send back to their supplier: the RTV list",
        )
    )
    register(
        LedgerTable(
            "exchanges",
            {"sku": "text", "qty": "integer"},
            indexes=("sku",),
            doc="replacement parts to pick",
        )
    )
    register(
        LedgerTable(
            "notifications",
            {"recipient": "text", "message": "text"},
            indexes=("recipient",),
            doc="messages to send: an outbox per department",
        )
    )
