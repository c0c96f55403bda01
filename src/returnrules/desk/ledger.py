"""The ledger: one database the desk records in, opened by URL.

``open_ledger("returnrules.db")`` (a path or ``sqlite:///PATH``: SQLite, the
embedded default, in WAL mode) or ``open_ledger("postgresql://...")``
(PostgreSQL through psycopg 3, the ``postgres`` extra, for several desks
sharing one ledger).  Both run the same SQL: statements are written with
``?`` placeholders and plain types (TEXT, INTEGER, BIGINT).  Where the
dialects differ, :class:`Transaction` says it once: locking rows
(:attr:`~Transaction.for_update`), a list of values (:meth:`~Transaction.among`:
``IN (...)`` or ``= ANY(array)``) and bulk inserts (:meth:`~Transaction.insert`:
executemany or ``COPY``).  On PostgreSQL, :meth:`Ledger.run_write` runs a
transaction again when the server aborted it for a conflict with another desk.

The schema is versioned: numbered files in ``desk/migrations/`` applied in
order and recorded in ``schema_migrations``.  A new ledger is created on first
use; an older one is refused until ``returnrules db upgrade``; a newer one
(written by a newer returnrules) is refused with a clear error.  Every failure
to reach, read or write the database is a :class:`LedgerError` naming the URL.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import itertools
import json
import random
import re
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypeVar

import attrs

from returnrules.plugin.execute import LedgerTable, now

__all__ = [
    "DEFAULT_URL",
    "Ledger",
    "LedgerError",
    "Transaction",
    "open_ledger",
]

DEFAULT_URL: Final = "returnrules.db"
SCHEMA: Final = "core"
"""The component name of the core's own migrations in ``schema_migrations``."""

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any]
T = TypeVar("T")

RETRIES: Final = 8
"""How often a write transaction PostgreSQL aborted for a conflict with a
concurrent one (a deadlock, a serialization failure, a key inserted by both)
is run again before the error is given up to the caller."""
_RETRYABLE: Final = frozenset({"40001", "40P01", "23505"})


class LedgerError(Exception):
    """The ledger cannot be used: unreachable, read-only, full, or of another
    schema version.  ``str()`` names the URL; ``code`` says which."""

    def __init__(self, url: str, message: str, code: str) -> None:
        self.url = url
        self.code = code
        super().__init__(f"{url}: {message}")


def _migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every core migration, in order."""
    folder = importlib.resources.files("returnrules.desk") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found)


def _statements(sql: str) -> list[str]:
    """The statements of a migration file (``;`` at the end of a line ends one)."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    text = "\n".join(line.split(" --", 1)[0] for line in lines)
    return [s.strip() for s in re.split(r";\s*(?:\n|$)", text) if s.strip()]


class Transaction(Protocol):
    """What the desk does inside one transaction, whatever the database."""

    dialect: Dialect
    for_update: str
    """``" FOR UPDATE"`` where rows can be locked (PostgreSQL), else ``""``."""

    def execute(self, sql: str, params: Params = ()) -> None: ...

    def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    def among(self, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
        """SQL for "is one of *values*", and its parameters: ``IN (?, ?...)``
        on SQLite, ``= ANY(?)`` with one array on PostgreSQL (one statement
        to plan, however many values)."""
        ...

    def insert(
        self, table: str, columns: Sequence[str], rows: Iterable[Params]
    ) -> None:
        """Insert new *rows* (an existing key is an error): PostgreSQL gets
        them by ``COPY``, several times quicker than an INSERT per row even
        pipelined; SQLite by executemany (a C loop)."""
        ...

    def one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None: ...

    def all(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...


@attrs.define
class _Cursor:
    """A DB-API cursor with ``?`` placeholders on both databases."""

    cursor: Any
    dialect: Dialect
    for_update: str

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Params = ()) -> None:
        if not params and self.dialect == "postgresql":
            # No parameters: the simple protocol, which runs several statements.
            self.cursor.execute(sql)
            return
        self.cursor.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        rows = [tuple(row) for row in rows]
        if rows:
            self.cursor.executemany(self._sql(sql), rows)

    def among(self, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
        if self.dialect == "postgresql":
            return "= ANY(?)", (list(values),)
        return f"IN ({', '.join('?' * len(values))})", tuple(values)

    def insert(
        self, table: str, columns: Sequence[str], rows: Iterable[Params]
    ) -> None:
        rows = [tuple(row) for row in rows]
        if not rows:
            return
        names = ", ".join(columns)
        if self.dialect == "postgresql":
            with self.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        self.cursor.executemany(sql, rows)

    def one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        self.cursor.execute(self._sql(sql), tuple(params))
        row = self.cursor.fetchone()
        return None if row is None else tuple(row)

    def all(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(self._sql(sql), tuple(params))
        return [tuple(row) for row in self.cursor.fetchall()]


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


class Ledger:
    """An open ledger: one connection, used by one thread at a time.

    Open it with :func:`open_ledger`; ``with ledger.write() as tx:`` runs one
    write transaction (committed at the end, rolled back on an exception),
    ``with ledger.read() as tx:`` a read.
    """

    def __init__(self, url: str, dialect: Dialect, connection: Any) -> None:
        self.url = url
        self.dialect: Dialect = dialect
        self._connection = connection
        self._for_update = " FOR UPDATE" if dialect == "postgresql" else ""

    def __repr__(self) -> str:
        return f"<Ledger {self.url}>"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ---------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[Transaction]:
        """One write transaction; on SQLite it holds the write lock throughout
        (``BEGIN IMMEDIATE``), so what it reads stays true until it commits."""
        with self._failures():
            cursor = self._connection.cursor()
            if self.dialect == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _Cursor(cursor, self.dialect, self._for_update)
            except BaseException:
                with contextlib.suppress(Exception):  # a lost connection: gone anyway
                    self._connection.rollback()
                raise
            self._connection.commit()

    @contextlib.contextmanager
    def read(self) -> Iterator[Transaction]:
        """A read; on PostgreSQL one transaction, so it sees one snapshot."""
        with self._failures():
            cursor = self._connection.cursor()
            try:
                yield _Cursor(cursor, self.dialect, "")
            finally:
                with contextlib.suppress(Exception):
                    self._connection.rollback()

    def run_write(self, work: Callable[[Transaction], T]) -> T:
        """``work(tx)`` in one write transaction, run again from the start
        when PostgreSQL aborted it for a conflict with a concurrent desk.

        Under READ COMMITTED the desk's transactions lock what they change in
        one order (requests, then ``taken`` rows, journal entries, and the
        chain's head last), so they wait for each other rather than deadlock;
        what is left - two desks inserting the same new request id at once,
        or a deadlock the server detects anyway - aborts one transaction,
        and that one is simply run again, seeing the other's commit.  *work*
        must therefore change nothing outside the transaction it is handed.
        (SQLite holds one write lock for the whole transaction: no retries.)
        """
        for attempt in itertools.count(1):
            try:
                with self.write() as tx:
                    return work(tx)
            except LedgerError as exc:
                if attempt >= RETRIES or not _retryable(exc.__cause__):
                    raise
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def _failures(self) -> Iterator[None]:
        """Database errors as LedgerError naming the URL (bugs are not hidden)."""
        try:
            yield
        except LedgerError:
            raise
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise  # a bug of the desk's, not a state of the ledger
            raise _sqlite_error(self.url, exc) from exc
        except Exception as exc:
            if type(exc).__module__.startswith("psycopg"):
                raise _pg_error(self.url, exc) from exc
            raise

    # -- schema ---------------------------------------------------------------------

    def schema_version(self) -> int:
        """The core schema version of this ledger (0: not created yet)."""
        with self.read() as tx:
            if not self._has_table(tx, "schema_migrations"):
                return 0
            row = tx.one(
                "SELECT MAX(version) FROM schema_migrations WHERE component = ?",
                (SCHEMA,),
            )
        return int(row[0]) if row and row[0] is not None else 0

    def check_schema(self, *, create: bool = True) -> None:
        """Make sure this program can use the ledger: create a new one (if
        *create*), refuse an older one (``db upgrade``) or a newer one."""
        version = self.schema_version()
        latest = LATEST_VERSION
        if version > latest:
            raise LedgerError(
                self.url,
                f"the ledger's schema is version {version}, newer than this "
                f"returnrules knows ({latest}): use a newer returnrules",
                "newer-schema",
            )
        if version == 0 and create:
            self.upgrade()
        elif version < latest:
            raise LedgerError(
                self.url,
                f"the ledger's schema is version {version}, older than this "
                f"returnrules uses ({latest}): run `returnrules db upgrade`",
                "older-schema",
            )

    def upgrade(self, *, to: int | None = None) -> list[int]:
        """Apply the migrations this ledger has not had (up to version *to*,
        default the latest); the versions applied."""
        applied: list[int] = []
        with self.write() as tx:
            self._serialize(tx)  # first: two new desks must not both create it
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL,"
                " version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT"
                " NULL, PRIMARY KEY (component, version))"
            )
            row = tx.one(
                "SELECT MAX(version) FROM schema_migrations WHERE component = ?",
                (SCHEMA,),
            )
            current = int(row[0]) if row and row[0] is not None else 0
            if current > LATEST_VERSION:
                raise LedgerError(
                    self.url,
                    f"the ledger's schema is version {current}, newer than this "
                    f"returnrules knows ({LATEST_VERSION})",
                    "newer-schema",
                )
            for version, name, sql in MIGRATIONS:
                if version <= current or (to is not None and version > to):
                    continue
                statements = _statements(sql)
                if self.dialect == "postgresql":  # one round trip, not forty
                    statements = [";\n".join(statements)]
                for statement in statements:
                    tx.execute(statement)
                tx.execute(
                    "INSERT INTO schema_migrations (component, version, name, "
                    "applied_at) VALUES (?, ?, ?, ?)",
                    (SCHEMA, version, name, now().isoformat()),
                )
                applied.append(version)
        return applied

    def ensure_tables(self, tables: Mapping[str, LedgerTable]) -> None:
        """Create the plugins' ledger tables, and add the columns they gained.

        Looked at first without the write lock (a ledger that has them all
        needs no write: a read-only one still opens), then again under it, so
        two desks starting at once do not both add a column.
        """

        def missing(tx: Transaction) -> tuple[dict[str, Any], list[LedgerTable]]:
            known = {
                name: json.loads(columns)
                for name, columns in tx.all("SELECT name, columns FROM ledger_tables")
            }
            return known, [
                t
                for t in tables.values()
                if t.name not in known or set(t.columns) - set(known[t.name])
            ]

        with self.read() as tx:
            if not missing(tx)[1]:
                return
        with self.write() as tx:
            self._serialize(tx)
            known, todo = missing(tx)
            for table in todo:
                had = known.get(table.name)
                if had is None:
                    columns = "".join(
                        f", {name} {'BIGINT' if kind == 'integer' else 'TEXT'}"
                        for name, kind in table.columns.items()
                    )
                    tx.execute(
                        f"CREATE TABLE IF NOT EXISTS {table.name} (key TEXT PRIMARY "
                        "KEY, request_id TEXT NOT NULL, line INTEGER NOT NULL, "
                        f"recorded_at TEXT NOT NULL{columns})"
                    )
                    for column in ("request_id", *table.indexes):
                        tx.execute(
                            f"CREATE INDEX IF NOT EXISTS {table.name}_by_{column} "
                            f"ON {table.name} ({column})"
                        )
                else:
                    for name, kind in table.columns.items():
                        if name not in had:
                            sql_type = "BIGINT" if kind == "integer" else "TEXT"
                            tx.execute(
                                f"ALTER TABLE {table.name} ADD COLUMN {name} {sql_type}"
                            )
                merged = {**(had or {}), **table.columns}
                tx.execute(
                    "INSERT INTO ledger_tables (name, plugin, columns) VALUES (?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET columns = excluded.columns",
                    (table.name, table.plugin, json.dumps(merged)),
                )

    def _serialize(self, tx: Transaction) -> None:
        """One schema change at a time across processes (SQLite's write lock
        already serializes; PostgreSQL takes an advisory lock)."""
        if self.dialect == "postgresql":
            tx.execute("SELECT pg_advisory_xact_lock(7243)")

    def _has_table(self, tx: Transaction, name: str) -> bool:
        if self.dialect == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        else:
            sql = (
                "SELECT 1 FROM information_schema.tables WHERE table_name = ? "
                "AND table_schema = current_schema()"
            )
        return tx.one(sql, (name,)) is not None


MIGRATIONS: Final = _migrations()
LATEST_VERSION: Final = MIGRATIONS[-1][0]


def _pg_message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text


def _retryable(exc: BaseException | None) -> bool:
    """Did PostgreSQL abort a transaction for a conflict with another one?"""
    return getattr(exc, "sqlstate", None) in _RETRYABLE


def _sqlite_error(url: str, exc: sqlite3.Error) -> LedgerError:
    """What SQLite's refusal means for the person at the desk."""
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return LedgerError(url, "the ledger is read-only", "read-only")
    if "full" in text:
        return LedgerError(url, "the disk is full; nothing was written", "full")
    if "locked" in text:
        return LedgerError(url, f"{text} (another desk?)", "busy")
    if "unable to open" in text:
        hint = (
            " sqlite:///PATH reads PATH as written: an absolute path takes four "
            "slashes, sqlite:////var/..."
            if url.startswith("sqlite:///") and not url.startswith("sqlite:////")
            else ""
        )
        return LedgerError(
            url,
            "cannot open the ledger file (does its directory exist, and may it "
            f"be written?{hint})",
            "unreachable",
        )
    return LedgerError(url, text, "unwritable")


def _pg_error(url: str, exc: BaseException) -> LedgerError:
    """What PostgreSQL's refusal means, by its SQLSTATE."""
    state = str(getattr(exc, "sqlstate", None) or "")
    if state == "25006":  # read_only_sql_transaction
        return LedgerError(url, "the ledger is read-only", "read-only")
    if state.startswith("53"):  # insufficient resources: a full disk, no memory
        return LedgerError(url, f"{_pg_message(exc)}; nothing was written", "full")
    import psycopg  # it raised exc, so it is there

    lost = isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    if state.startswith(("08", "57P")) or (lost and not state):
        # a connection exception, a server shutting down, a connection gone
        return LedgerError(url, f"connection lost: {_pg_message(exc)}", "unreachable")
    return LedgerError(url, _pg_message(exc), "database")


def open_ledger(url: str | None = None, *, timeout: float = 30.0) -> Ledger:
    """Open the ledger at *url* (a path, ``sqlite:///PATH`` or
    ``postgresql://...``; default ``returnrules.db``).

    The database is reached, but its schema is not checked here: the desk
    does that (:meth:`Ledger.check_schema`) before it records anything.
    Raises :class:`LedgerError` naming the URL when it cannot be opened.
    """
    url = url or DEFAULT_URL
    if url.startswith(("postgresql://", "postgres://")):
        return _open_postgres(url, timeout)
    return _open_sqlite(url, sqlite_path(url), timeout)


def sqlite_path(url: str) -> Path:
    """The file a SQLite ledger URL names.

    A plain path is itself; ``sqlite:///PATH`` is PATH exactly as written, the
    way SQLAlchemy reads it: ``sqlite:///returns.db`` is ``returns.db`` in the
    current directory, ``sqlite:////var/lib/returns.db`` (four slashes) is
    absolute.  Raises :class:`LedgerError` for anything else with a scheme.
    """
    if url.startswith("sqlite:"):
        if not url.startswith("sqlite:///") or url == "sqlite:///":
            raise LedgerError(url, "write a SQLite URL as sqlite:///PATH", "bad-url")
        return Path(url.removeprefix("sqlite:///"))
    if "://" in url:
        raise LedgerError(
            url,
            "not a ledger URL: a path, sqlite:///PATH or postgresql://...",
            "bad-url",
        )
    return Path(url)


def _open_sqlite(url: str, path: Path, timeout: float) -> Ledger:
    try:
        if path.is_dir():
            raise LedgerError(url, "is a directory, not a ledger file", "bad-url")
    except OSError as exc:  # a directory on the way that may not be read
        raise LedgerError(
            url, f"cannot open the ledger file: {exc.strerror}", "unreachable"
        ) from exc
    try:
        connection = sqlite3.connect(
            path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        connection.isolation_level = None
        connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        connection.execute("PRAGMA foreign_keys = ON")
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()
        connection.execute("PRAGMA synchronous = NORMAL")
        # 32 MiB of page cache (the default is 2 MiB): a batch's lookups of the
        # journal and the events it just wrote stay in memory.
        connection.execute("PRAGMA cache_size = -32768")
    except sqlite3.Error as exc:
        raise _sqlite_error(url, exc) from exc
    ledger = _SqliteLedger(url, "sqlite", connection)
    if mode is None or str(mode[0]).lower() != "wal":
        ledger.journal_mode = str(mode[0]) if mode else "unknown"
    return ledger


class _SqliteLedger(Ledger):
    """SQLite with explicit transactions (the connection is in autocommit
    mode, so ``BEGIN IMMEDIATE`` takes the write lock at the start)."""

    journal_mode = "wal"

    @contextlib.contextmanager
    def write(self) -> Iterator[Transaction]:
        with self._failures():
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _Cursor(cursor, "sqlite", "")
                cursor.execute("COMMIT")  # which can fail too (a full disk)
            except BaseException:
                if self._connection.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        cursor.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._failures():
            cursor = self._connection.cursor()
            cursor.execute("BEGIN")
            try:
                yield _Cursor(cursor, "sqlite", "")
            finally:
                with contextlib.suppress(sqlite3.Error):
                    cursor.execute("ROLLBACK")


def _open_postgres(url: str, timeout: float) -> Ledger:
    shown = _shown(url)
    try:
        import psycopg
    except ImportError:
        raise LedgerError(
            shown,
            "PostgreSQL needs the postgres extra: pip install 'returnrules[postgres]'",
            "missing-driver",
        ) from None
    try:
        connection = psycopg.connect(url, connect_timeout=max(int(timeout), 1))
    except psycopg.Error as exc:
        raise LedgerError(
            shown, f"connection failed: {_pg_message(exc)}", "unreachable"
        ) from None
    return Ledger(shown, "postgresql", connection)
