"""The return desk: record every 退单, execute its actions once, keep the audit.

The layer above the engine (which decides and does no I/O): a
:class:`~returnrules.desk.ledger.Ledger` (SQLite or PostgreSQL) records each
request with its decision and the data it used; a
:class:`~returnrules.desk.desk.Desk` submits, executes, resumes and resolves
reviews; :mod:`returnrules.desk.views` reads the record back (history, show,
the review queue) and :mod:`returnrules.desk.chain` verifies the events.
"""

from __future__ import annotations

from returnrules.desk.desk import Desk, Refused, ResumeReport, Submitted
from returnrules.desk.ledger import Ledger, LedgerError, open_ledger

__all__ = [
    "Desk",
    "Ledger",
    "LedgerError",
    "Refused",
    "ResumeReport",
    "Submitted",
    "open_ledger",
]
