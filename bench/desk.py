"""The desk's numbers: submit throughput, and history/show on a big ledger.

    python bench/desk.py                  # SQLite, then PostgreSQL (a throwaway server)
    python bench/desk.py --n 10000 --repeat 3 --postgres postgresql://...
    python bench/desk.py --big 1000000 --no-submit
    python bench/desk.py --quick          # a smoke run of a few seconds

**submit**: ``--n`` requests of ``bench/workload.py`` (with ``make_data()`` and
``bench/policy.toml``) submitted through the library (``Desk.submit``, the
standard executors included) into a new ledger, timed from the first request
to the last executed action; ``--repeat`` times on a fresh ledger each, the
median reported, with the decision's trace recorded (the default) and
without (``Desk(trace=False)``).

**history and show** at ``--big`` recorded requests: the ledger is built by
submitting ``--seed-n`` requests for real, then copying those rows in SQL with
new request and order ids until it holds ``--big`` requests (same rows, same
sizes, every index kept up to date); then ``history --order`` and ``show`` of
random requests are timed (``views.history``, ``views.show``: what the CLI
calls, on an open ledger) and the query plans printed (EXPLAIN), to show which
index serves each query.

PostgreSQL: ``--postgres URL`` (a database the run may fill), or ``auto`` (the
default): a throwaway server started as the tests start theirs
(``tests/desk/postgres.py``), removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

import returnrules  # noqa: E402  (after the path: run as a script)
from bench import workload  # noqa: E402
from returnrules.desk import Desk, Ledger, open_ledger, views  # noqa: E402

POLICY = HERE / "policy.toml"


def _say(text: str = "") -> None:
    print(text, flush=True)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


@contextlib.contextmanager
def _urls(args: argparse.Namespace) -> Iterator[Callable[[str], str]]:
    """Makes new ledger URLs for a backend: ``new("sqlite")``."""
    folder = Path(tempfile.mkdtemp(prefix="returnrules-bench-"))
    cluster: Any = None
    names = iter(range(1_000_000))
    try:

        def new(backend: str) -> str:
            nonlocal cluster
            if backend == "sqlite":
                return f"sqlite:///{folder / f'ledger{next(names)}.db'}"
            if args.postgres != "auto":
                import psycopg

                schema = f"bench_{os.getpid()}_{next(names)}"
                with psycopg.connect(args.postgres, autocommit=True) as connection:
                    connection.execute(f"CREATE SCHEMA {schema}")
                sep = "&" if "?" in args.postgres else "?"
                return f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
            if cluster is None:
                from tests.desk import postgres

                cluster = postgres.start()
            return str(cluster.create_database("bench"))

        yield new
    finally:
        if cluster is not None:
            cluster.stop()
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


# -- submit ---------------------------------------------------------------------------


def submit_rate(
    url: str, requests: Sequence[dict[str, Any]], trace: bool
) -> tuple[float, float]:
    """Requests per second of one submit of *requests* into a new ledger: by
    the clock, and by this process's CPU time (what the run would take with
    a core of its own; PostgreSQL's server works in its own process)."""
    policy = returnrules.load_policy(POLICY)
    data = workload.make_data()
    with open_ledger(url) as ledger:
        desk = Desk(ledger, policy, data, actor="bench", trace=trace)
        started, cpu = time.perf_counter(), time.process_time()
        for outcome in desk.submit((r["id"], r) for r in requests):
            assert not getattr(outcome, "failed", 0), outcome
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        with ledger.read() as tx:
            pending = tx.one("SELECT COUNT(*) FROM journal WHERE state <> 'done'")
        assert pending == (0,), pending
    return len(requests) / elapsed, len(requests) / cpu


def bench_submit(args: argparse.Namespace, new: Callable[[str], str]) -> None:
    requests = workload.generate(args.n, args.seed)
    _say(f"## submit of {args.n:,} requests (median of {args.repeat})")
    _say()
    _say("| backend | trace | requests/s | runs | per CPU second | load before |")
    _say("|---|---|---:|---|---:|---|")
    for backend in args.backends:
        for trace in (True, False):
            load = _load().removeprefix("load average ")
            both = [
                submit_rate(new(backend), requests, trace) for _ in range(args.repeat)
            ]
            rates = [wall for wall, _ in both]
            runs = ", ".join(f"{r:,.0f}" for r in rates)
            cpu = statistics.median(c for _, c in both)
            _say(
                f"| {backend} | {'recorded' if trace else 'on demand'} | "
                f"**{statistics.median(rates):,.0f}** | {runs} | {cpu:,.0f} | {load} |"
            )
    _say()


# -- a big ledger ---------------------------------------------------------------------

COPIED = {
    # table: (columns, the SELECT list copying them with suffixed ids; RECEIVED
    # is the received time, moved back by the copy's days)
    "requests": (
        "request_id, content_sha256, body, order_id, customer_id, kind, requested_at, "
        "received_at, policy_sha256, data_sha256, decision, status, result, provided, "
        "submitted_by, updated_at",
        "request_id || ?, content_sha256, body, order_id || ?, customer_id, kind, "
        "requested_at, RECEIVED, policy_sha256, data_sha256, decision, status, "
        "result, provided, submitted_by, updated_at",
    ),
    "lines": (
        "request_id, line, order_id, customer_id, sku, brand, category, supplier, qty, "
        "reason, condition, amount_minor, currency, decision, policy_decision, "
        "decided_by, received_at, taken_before, matched, refund_minor, "
        "refund_fee_minor, refunded_minor, refunded_fee_minor, month",
        "request_id || ?, line, order_id || ?, customer_id, sku, brand, category, "
        "supplier, qty, reason, condition, amount_minor, currency, decision, "
        "policy_decision, decided_by, RECEIVED, taken_before, matched, "
        "refund_minor, refund_fee_minor, refunded_minor, refunded_fee_minor, "
        "SUBSTR(RECEIVED, 1, 7)",
    ),
    "line_rules": ("request_id, line, rule", "request_id || ?, line, rule"),
    "order_lines": (
        "order_id, line, sku, brand, category, supplier, qty, first_seen",
        "order_id || ?, line, sku, brand, category, supplier, qty, first_seen",
    ),
    "journal": (
        "key, request_id, line, action, rule, fields, amount_minor, fee_minor, "
        "currency, state, attempts, executor, result, error, created_at, updated_at",
        "key || ?, request_id || ?, line, action, rule, fields, amount_minor, "
        "fee_minor, currency, state, attempts, executor, result, error, created_at, "
        "updated_at",
    ),
}


def _moved_back(dialect: str, days: int) -> str:
    """SQL for ``received_at`` moved back by *days* (an ISO text column)."""
    if dialect == "sqlite":
        return (
            f"date(substr(received_at, 1, 10), '-{days} days') "
            "|| substr(received_at, 11)"
        )
    return (
        f"to_char(substr(received_at, 1, 10)::date - {days}, 'YYYY-MM-DD') "
        "|| substr(received_at, 11)"
    )


def build_big(
    url: str, seed_n: int, size: int, *, spread_days: int = 0
) -> tuple[float, list[str]]:
    """A ledger of *size* requests; the seconds it took and the seed's ids.

    The seed requests are submitted for real (their decisions recorded
    without the trace, as ``trace=False`` desks do: a recorded trace only
    makes the rows longer), then kept aside in ``seed_*`` tables and copied
    back in with new ids until the ledger holds *size* requests.  With
    *spread_days*, the copies are received that many days back at most,
    evenly (a year of history, say, for the monthly report).
    """
    started = time.perf_counter()
    requests = workload.generate(seed_n, 1)
    with open_ledger(url) as ledger:
        policy = returnrules.load_policy(POLICY)
        desk = Desk(ledger, policy, workload.make_data(), trace=False)
        for _ in desk.submit((r["id"], r) for r in requests):
            pass
        with ledger.write() as tx:
            for table in (*COPIED, "events"):
                tx.execute(f"CREATE TABLE seed_{table} AS SELECT * FROM {table}")
            last = tx.one("SELECT MAX(seq) FROM events")
        assert last is not None
        step = int(last[0])
        copies = -(-size // seed_n)
        for copy in range(1, copies):
            suffix = f"~{copy}"
            received = _moved_back(ledger.dialect, spread_days * copy // copies)
            with ledger.write() as tx:
                for table, (columns, select) in COPIED.items():
                    tx.execute(
                        f"INSERT INTO {table} ({columns}) "
                        f"SELECT {select.replace('RECEIVED', received)} "
                        f"FROM seed_{table}",
                        [suffix] * select.count("?"),
                    )
                tx.execute(
                    "INSERT INTO events (seq, request_id, at, actor, kind, status, "
                    "line, note, prev_hash, hash) SELECT seq + ?, request_id || ?, at, "
                    "actor, kind, status, line, note, prev_hash, hash FROM seed_events",
                    (step * copy, suffix),
                )
            if copy % 10 == 0:
                done, took = (copy + 1) * seed_n, time.perf_counter() - started
                _say(f"  {done:,} requests, {took:.0f} s")
        with ledger.write() as tx:
            for table in (*COPIED, "events"):
                tx.execute(f"DROP TABLE seed_{table}")
        with ledger.write() as tx:
            tx.execute("ANALYZE")
    return time.perf_counter() - started, [r["id"] for r in requests]


def _timed(calls: Sequence[Callable[[], object]]) -> tuple[float, float]:
    """Median and 95th percentile of the calls, in milliseconds."""
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def _plan(ledger: Ledger, sql: str, params: Sequence[Any]) -> list[str]:
    explain = "EXPLAIN QUERY PLAN " if ledger.dialect == "sqlite" else "EXPLAIN "
    with ledger.read() as tx:
        rows = tx.all(explain + sql, params)
    return [str(row[-1]) for row in rows]


def bench_big(args: argparse.Namespace, new: Callable[[str], str]) -> None:
    _say(f"## history --order and show at {args.big:,} requests")
    _say()
    for backend in args.backends:
        url = new(backend)
        _say(f"{backend}: building ({args.seed_n:,} submitted, then copied) ...")
        took, ids = build_big(url, args.seed_n, args.big)
        rng = random.Random(5)
        with open_ledger(url) as ledger:
            with ledger.read() as tx:
                count = tx.one("SELECT COUNT(*) FROM requests")
            assert count is not None
            _say(f"{backend}: {int(count[0]):,} requests, built in {took:.0f} s")
            picks = [
                f"{rng.choice(ids)}~{rng.randrange(1, args.big // args.seed_n)}"
                for _ in range(args.lookups)
            ]
            with ledger.read() as tx:
                orders = [
                    tx.one("SELECT order_id FROM requests WHERE request_id = ?", (p,))
                    for p in picks
                ]
            order_ids = [str(o[0]) for o in orders if o]
            assert len(order_ids) == len(picks), "every pick is in the ledger"
            found = views.history(ledger, views.HistoryFilter(order=order_ids[0]))
            assert found, "history --order finds the request"
            assert views.show(ledger, picks[0]) is not None
            history = _timed(
                [
                    functools.partial(
                        views.history, ledger, views.HistoryFilter(order=o)
                    )
                    for o in order_ids
                ]
            )
            show = _timed([functools.partial(views.show, ledger, p) for p in picks])
            newest = _timed([functools.partial(views.history, ledger)] * 20)
            _say(
                f"| {backend} | history --order: **{history[0]:.2f} ms** "
                f"(p95 {history[1]:.2f}) | show: **{show[0]:.2f} ms** (p95 "
                f"{show[1]:.2f}) | history, newest 100: {newest[0]:.1f} ms | "
                f"{_load()} |"
            )
            _say()
            for what, sql, params in (
                (
                    "history --order",
                    "SELECT r.request_id FROM requests r WHERE r.order_id = ? "
                    "ORDER BY r.received_at DESC, r.request_id DESC LIMIT ?",
                    (order_ids[0], 100),
                ),
                (
                    "its lines",
                    "SELECT request_id, line FROM lines WHERE request_id IN (?) "
                    "ORDER BY request_id, line",
                    (picks[0],),
                ),
                (
                    "show: the journal",
                    "SELECT key FROM journal WHERE request_id = ? ORDER BY line, key",
                    (picks[0],),
                ),
                (
                    "show: the events",
                    "SELECT seq FROM events WHERE request_id = ? ORDER BY seq",
                    (picks[0],),
                ),
                (
                    "history, newest first",
                    "SELECT r.request_id FROM requests r "
                    "ORDER BY r.received_at DESC, r.request_id DESC LIMIT ?",
                    (100,),
                ),
            ):
                _say(f"    {what}: " + " / ".join(_plan(ledger, sql, params)))
            _say()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="requests to submit")
    parser.add_argument("--seed", type=int, default=workload.DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=3, help="runs per median")
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"],
        choices=["sqlite", "postgresql"],
    )  # fmt: skip
    parser.add_argument("--postgres", default="auto", help="a database URL, or auto")
    parser.add_argument("--big", type=int, default=0, help="requests in the big ledger")
    parser.add_argument("--seed-n", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--no-submit", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.repeat, args.seed_n, args.lookups = 300, 1, 300, 20
        args.big = args.big or 3_000
    _say(f"returnrules {returnrules.__version__}, Python {sys.version.split()[0]}, "
         f"{os.cpu_count()} cores, {_load()}")  # fmt: skip
    _say()
    with _urls(args) as new:
        if not args.no_submit:
            bench_submit(args, new)
        if args.big:
            bench_big(args, new)
    _say(_load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
