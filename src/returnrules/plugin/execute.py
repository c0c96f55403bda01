"""What a plugin registers for the desk: executors, and the tables they keep.

The engine only *decides* that a line is refunded or restocked; the desk
(``returnrules submit``) then carries each decided action out, exactly once,
through an :class:`Executor` a plugin registers for that action.  An executor
receives an :class:`Execution`: the action's reported fields and a stable
idempotency ``key`` that a host's payment or inventory API can deduplicate on.

Executors that keep their effect in the ledger itself (the standard pack does:
refunds, stock movements, supplier returns, exchanges, notifications) call
``execution.record(table, **columns)`` on a :class:`LedgerTable` some plugin
registered.  The desk writes those rows in the same transaction that marks the
action done, keyed by the action's key, so an effect is recorded once even if
the executor runs again after a crash.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import attrs

__all__ = ["Column", "Execution", "Executor", "LedgerTable"]

Column = Literal["text", "integer"]
"""A column type of a plugin's ledger table: text, or a 64-bit integer (money
is kept as an integer count of the currency's minor unit, never a float)."""

NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,62}")
"""What a table or column name may be: it becomes an SQL identifier."""
RESERVED: Final = frozenset({"key", "request_id", "line", "recorded_at"})
"""The columns every plugin table has, filled in by the desk."""


def _name(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise ValueError(f"{attribute.name} must match {NAME.pattern}: {value!r}")


def _columns(_: object, __: object, value: Mapping[str, Column]) -> None:
    for name, kind in value.items():
        if not isinstance(name, str) or not NAME.fullmatch(name) or name in RESERVED:
            raise ValueError(f"invalid column name {name!r}")
        if kind not in ("text", "integer"):
            raise ValueError(f"column {name}: type is text or integer, got {kind!r}")


@attrs.frozen
class LedgerTable:
    """A table a plugin keeps in the desk's ledger.

    ``LedgerTable("refunds", {"amount_minor": "integer", "method": "text"})``.
    Every table also has ``key`` (the action's idempotency key, its primary
    key), ``request_id``, ``line`` and ``recorded_at``.  Columns may be added
    in later versions of a plugin (``returnrules db upgrade`` adds them, as
    nullable); never removed or retyped.
    """

    name: str = attrs.field(validator=_name)
    columns: Mapping[str, Column] = attrs.field(validator=_columns)
    indexes: tuple[str, ...] = ()
    doc: str = ""
    plugin: str = ""


@attrs.define
class Execution:
    """One decided action being carried out, as its executor sees it.

    ``key`` is stable across retries (request id, line, action, rule, step):
    the same action is never executed under another key, so an external
    system that remembers keys executes it at most once.  ``fields`` are what
    the decision reported, as its JSON shows them (money as strings).
    """

    key: str
    request: str
    line: int
    action: str
    rule: str
    fields: Mapping[str, Any]
    attempt: int = 1
    records: list[tuple[str, dict[str, Any]]] = attrs.field(factory=list)

    def record(self, table: str, **columns: Any) -> None:
        """Keep a row in a plugin's ledger table, written with the action's
        done-mark (and never twice for one key)."""
        self.records.append((table, columns))


@attrs.frozen
class Executor:
    """Carries out one action: ``Executor("refund", pay)``.

    ``run(execution)`` does the work and returns what to keep as the action's
    result (a mapping, or None); raising marks the action failed with the
    error (``returnrules resume --retry-failed`` runs it again).  A run that
    takes longer than ``timeout`` seconds is failed too.  ``replaces=True``
    takes over an action another plugin already has an executor for (a host
    replacing a standard executor); otherwise a second executor for one
    action is an error naming both plugins.
    """

    action: str
    run: Callable[[Execution], Mapping[str, Any] | None]
    timeout: float = 30.0
    replaces: bool = False
    doc: str = ""
    plugin: str = ""

    @property
    def name(self) -> str:
        """What it is registered under: the action it executes."""
        return self.action


def now() -> dt.datetime:
    """The desk's clock: an aware UTC time."""
    return dt.datetime.now(dt.UTC)
