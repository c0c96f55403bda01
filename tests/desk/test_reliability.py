"""The desk under crashes, competition, failing executors and a ledger it
cannot use - with real processes and real databases, on both backends.

The kill trials and the competition are kept small for the test suite;
``RETURNRULES_DESK_KILL_N`` / ``RETURNRULES_DESK_KILL_TRIALS`` and
``RETURNRULES_DESK_COMPETE_N`` raise them for the long runs recorded in
``bench/RESULTS.md`` (10,000 requests, 20 kills per backend).
"""

from __future__ import annotations

import collections
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from bench import workload

from returnrules.desk import Desk, LedgerError, Submitted, open_ledger, views
from returnrules.desk.ledger import LATEST_VERSION
from tests.desk import driver
from tests.desk.conftest import NewUrl
from tests.desk.helpers import (
    EFFECT_TABLES,
    POLICY,
    REPO,
    count,
    load,
    make_request,
    open_desk,
    rows,
    snapshot,
    table_counts,
)
from tests.plugins import desk_probe

KILL_N = int(os.environ.get("RETURNRULES_DESK_KILL_N", "200"))
KILL_TRIALS = int(os.environ.get("RETURNRULES_DESK_KILL_TRIALS", "10"))
COMPETE_N = int(os.environ.get("RETURNRULES_DESK_COMPETE_N", "40"))
TIMEOUT = 120 + KILL_N / 20


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.desk.driver", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def expect_line(stream: IO[str] | None, want: str, proc: subprocess.Popen[str]) -> None:
    assert stream is not None
    line = stream.readline().strip()
    if line != want:
        proc.kill()
        _, err = proc.communicate(timeout=TIMEOUT)
        pytest.fail(f"driver said {line!r}, not {want!r}:\n{err}")


def finish(proc: subprocess.Popen[str]) -> None:
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert out.strip().endswith("done"), (out, err)


def invariants(url: str) -> None:
    """What holds after any crash: the chain intact, no half-recorded request,
    an effect row for every entry done and for nothing else."""
    with open_ledger(url) as ledger:
        assert views.verify(ledger).intact
        assert (
            rows(
                ledger,
                "SELECT r.request_id FROM requests r WHERE NOT EXISTS (SELECT 1 "
                "FROM lines l WHERE l.request_id = r.request_id) OR NOT EXISTS ("
                "SELECT 1 FROM events e WHERE e.request_id = r.request_id "
                "AND e.kind = 'decided')",
            )
            == []
        )
        for table in EFFECT_TABLES:
            orphans = rows(
                ledger,
                f"SELECT t.key FROM {table} t LEFT JOIN journal j ON j.key = t.key "
                "WHERE j.state IS NULL OR j.state <> 'done'",
            )
            assert orphans == [], table
        missing = rows(
            ledger,
            "SELECT j.key FROM journal j WHERE j.state = 'done' AND j.action IN "
            "('probe', 'refund', 'restock', 'notify') AND NOT EXISTS ("
            "SELECT 1 FROM probe_effects p WHERE p.key = j.key UNION ALL "
            "SELECT 1 FROM refunds f WHERE f.key = j.key UNION ALL "
            "SELECT 1 FROM stock_movements s WHERE s.key = j.key UNION ALL "
            "SELECT 1 FROM notifications n WHERE n.key = j.key)",
        )
        assert missing == []


# -- kill -9 --------------------------------------------------------------------------


def test_kill_9_during_submit_then_submit_and_resume_run_everything_once(
    new_url: NewUrl, tmp_path: Path
) -> None:
    n, trials = KILL_N, KILL_TRIALS
    requests = driver.kill_workload(n, 7)
    # The reference: the same workload in one undisturbed run.
    reference_url = new_url()
    started = time.perf_counter()
    with open_ledger(reference_url) as ledger:
        desk = Desk(ledger, driver.kill_policy(), workload.make_data(), batch=50)
        for _ in desk.submit((r["id"], r) for r in requests):
            pass
        rate = n / (time.perf_counter() - started)
        expected = snapshot(ledger)
    planned = len(expected["journal"])

    url, log = new_url(), tmp_path / "probe-runs.log"
    proc = spawn(
        "trials", url, "--n", str(n), "--batch", "50", env={desk_probe.LOG: str(log)}
    )
    rng = random.Random(20261128)
    killed = 0

    def trial(command: str, kill_after: float | None) -> int:
        """Fork a desk that runs *command*; kill -9 it after *kill_after* s."""
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
        ready = proc.stdout.readline().split()
        assert ready[:1] == ["ready"], (ready, proc.stderr and proc.stderr.read())
        if kill_after is not None:
            time.sleep(kill_after)
            with contextlib.suppress(ProcessLookupError):  # it may have finished
                os.kill(int(ready[1]), signal.SIGKILL)
        while not (line := proc.stdout.readline()).startswith("exit"):
            assert line, "the driver ended"
        return int(line.split()[1])

    try:
        for _ in range(trials):
            status = trial("submit", rng.uniform(0.2, 1.8) * (n / trials) / rate)
            killed += status == -signal.SIGKILL
            invariants(url)
        assert trial("submit", None) == 0
        assert trial("resume", None) == 0
    finally:
        assert proc.stdin is not None
        proc.stdin.write("quit\n")
        proc.communicate(timeout=TIMEOUT)

    invariants(url)
    with open_ledger(url) as ledger:
        got = snapshot(ledger)
        assert count(ledger, "SELECT COUNT(*) FROM requests") == n
        assert rows(ledger, "SELECT DISTINCT state FROM journal") == [("done",)]
    assert got == expected  # every request once, every entry done, one effect each
    assert len(got["journal"]) == planned
    runs = collections.Counter(log.read_text().split())
    assert set(runs) == set(expected["effects"]["probe_effects"])
    rerun = sum(r - 1 for r in runs.values())
    print(
        f"\n{n} requests, {trials} kills ({killed} mid-run), {planned} actions, "
        f"{len(runs)} probes, {rerun} run again after a kill"
    )
    assert killed >= trials // 2, "most kills land while the driver works"
    # A probe runs again only when a kill came between its run and its mark:
    # at most one mark's worth (4 batches of 50 requests) per kill.
    assert rerun <= killed * 4 * 50 * 3


# -- competing desks ------------------------------------------------------------------


def test_four_desks_competing_for_50_order_lines_never_over_return(
    ledger_url: str,
) -> None:
    Desk(open_ledger(ledger_url), load()).ledger.close()  # created once, first
    procs = [
        spawn("compete", ledger_url, "--worker", str(w), "--n", str(COMPETE_N),
              "--batch", "3")
        for w in range(4)
    ]  # fmt: skip
    for proc in procs:
        expect_line(proc.stdout, "ready", proc)
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        finish(proc)

    with open_ledger(ledger_url) as ledger:
        assert count(ledger, "SELECT COUNT(*) FROM requests") == 4 * COMPETE_N
        held = dict(
            ((order, line), int(qty))
            for order, line, qty in rows(
                ledger,
                "SELECT order_id, line, SUM(qty) FROM lines WHERE decision IN "
                "('approve', 'review') GROUP BY order_id, line",
            )
        )
        taken = {
            (order, line): int(qty)
            for order, line, qty in rows(
                ledger, "SELECT order_id, line, qty FROM taken"
            )
        }
        assert max(held.values()) <= driver.LINE_QTY
        assert {k: v for k, v in taken.items() if v} == held
        rejected = count(ledger, "SELECT COUNT(*) FROM lines WHERE decision = 'reject'")
        assert rejected > 0, "the lines were contested: some returns were too many"
        full = sum(qty == driver.LINE_QTY for qty in held.values())
        print(
            f"\n4 desks x {COMPETE_N} requests: {sum(held.values())} units held on "
            f"{len(held)} lines ({full} taken to the last unit), {rejected} lines "
            "refused as over-returns"
        )
        assert rows(ledger, "SELECT DISTINCT state FROM journal") == [("done",)]
        assert views.verify(ledger).intact


def test_two_desks_submitting_the_same_requests_at_once_record_each_once(
    ledger_url: str,
) -> None:
    """The race the locks cannot order: both find a request new, one inserts
    it first; the other's transaction is run again and finds a duplicate."""
    Desk(open_ledger(ledger_url), load()).ledger.close()
    procs = [
        spawn("compete", ledger_url, "--worker", "0", "--n", str(COMPETE_N),
              "--batch", "2")
        for _ in range(2)
    ]  # fmt: skip
    for proc in procs:
        expect_line(proc.stdout, "ready", proc)
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        finish(proc)
    with open_ledger(ledger_url) as ledger:
        assert count(ledger, "SELECT COUNT(*) FROM requests") == COMPETE_N
        assert count(ledger, "SELECT COUNT(*) FROM events WHERE kind = 'received'") == (
            COMPETE_N
        )
        alone = open_desk(new_sqlite := f"sqlite:///{tempfile.mkdtemp()}/alone.db")
        try:
            for _ in alone.submit(
                (r["id"], r) for r in driver.compete_workload(0, COMPETE_N)
            ):
                pass
            # Decided as one desk alone decides them, in the same order.
            assert snapshot(ledger)["lines"] == snapshot(alone.ledger)["lines"]
        finally:
            alone.ledger.close()
            shutil.rmtree(Path(new_sqlite.removeprefix("sqlite:///")).parent)
        assert views.verify(ledger).intact


def test_a_transaction_postgresql_aborts_for_a_conflict_is_run_again(
    pg_cluster: Any,
) -> None:
    """(PostgreSQL only: SQLite holds one write lock, there is nothing to retry.)"""
    import psycopg

    url = pg_cluster.database()
    runs: list[int] = []

    def work(tx: Any) -> str:
        runs.append(1)
        tx.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        tx.execute("INSERT INTO t VALUES (?)", (len(runs),))
        if len(runs) < 3:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return "done"

    with open_ledger(url) as ledger:
        assert ledger.run_write(work) == "done"
        assert len(runs) == 3
        assert rows(ledger, "SELECT x FROM t") == [
            (3,)
        ]  # the aborted ones left nothing

        def fails(tx: Any) -> None:
            raise psycopg.errors.UndefinedTable("no such table")

        with pytest.raises(LedgerError) as error:
            ledger.run_write(fails)
        assert error.value.code == "database"


# -- failing executors ----------------------------------------------------------------

FLAKY = (
    POLICY
    + """
[[rule]]
id = "flaky"
when = { fact = "line.reason", eq = "defective" }
priority = 1
then = [{ action = "probe", mode = "MODE" }]
"""
)


@pytest.mark.parametrize("mode", ["raise-once", "hang-once"])
def test_a_failing_executor_fails_its_entry_and_a_retry_completes_it(
    ledger_url: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(desk_probe.TIMEOUT, "0.3")
    desk = open_desk(ledger_url, load(FLAKY.replace("MODE", mode)))
    try:
        outcomes = list(
            desk.submit(
                [
                    ("a", make_request("R1", reason="defective")),
                    ("b", make_request("R2", order="SO-2")),
                ]
            )
        )
        first, second = outcomes
        assert isinstance(first, Submitted)
        assert isinstance(second, Submitted)
        assert (first.status, first.failed) == ("failed", 1)
        assert (second.status, second.failed) == ("completed", 0)
        [(state, error, attempts)] = rows(
            desk.ledger,
            "SELECT state, error, attempts FROM journal WHERE request_id = 'R1' "
            "AND action = 'probe'",
        )
        assert (state, attempts) == ("failed", 1)
        want = "probe failed on attempt 1" if mode == "raise-once" else "timed out"
        assert want in error
        # The rest went on: R1's refund and restock are done.
        assert rows(
            desk.ledger,
            "SELECT action, state FROM journal WHERE request_id = 'R1' ORDER BY action",
        ) == [("probe", "failed"), ("refund", "done"), ("restock", "done")]

        assert desk.resume().ran == 0  # a failure waits for --retry-failed
        report = desk.resume(retry_failed=True)
        assert (report.ran, report.failed, report.pending) == (1, 0, 0)
        assert rows(
            desk.ledger,
            "SELECT state, attempts, error FROM journal WHERE request_id = 'R1' "
            "AND action = 'probe'",
        ) == [("done", 2, None)]
        assert rows(desk.ledger, "SELECT sku, attempt FROM probe_effects "
                    "WHERE request_id = 'R1'") == [("SKU-1", 2)]  # fmt: skip
        assert rows(
            desk.ledger,
            "SELECT kind FROM events WHERE request_id = 'R1' ORDER BY seq",
        ) == [("received",), ("decided",), ("failed",), ("retried",), ("completed",)]
        assert rows(desk.ledger, "SELECT status FROM requests ORDER BY request_id") == [
            ("completed",),
            ("completed",),
        ]
        assert views.verify(desk.ledger).intact
    finally:
        desk.ledger.close()


# -- a ledger the desk cannot use -----------------------------------------------------


def unchanged(url: str, before: dict[str, int], head: str) -> None:
    with open_ledger(url) as ledger:
        assert table_counts(ledger) == before
        result = views.verify(ledger)
        assert result.intact
        assert result.head_hash == head


def recorded_ledger(url: str) -> tuple[dict[str, int], str]:
    desk = open_desk(url)
    try:
        list(desk.submit([("a", make_request("R1"))]))
        return table_counts(desk.ledger), views.verify(desk.ledger).head_hash
    finally:
        desk.ledger.close()


READ_ONLY_SUBMIT = """
import os, sys
from returnrules.desk import LedgerError, open_ledger, Desk
from tests.desk.helpers import load, make_request
policy = load()
if os.geteuid() == 0:  # root writes anything: be nobody, as a desk clerk would be
    os.setgid(65534)
    os.setuid(65534)
try:
    with open_ledger(sys.argv[1]) as ledger:
        desk = Desk(ledger, policy)
        list(desk.submit([("b", make_request("R2", order="SO-2"))]))
except LedgerError as exc:
    print(exc.code)
    print(exc)
else:
    print("written")
"""


def test_a_read_only_ledger_is_a_clear_error_and_stays_as_it_was(
    backend: str, new_url: NewUrl, request: pytest.FixtureRequest
) -> None:
    if backend == "postgresql":
        url = new_url()
    else:  # where the clerk (nobody, when the tests run as root) can reach it
        folder = Path(tempfile.mkdtemp(prefix="returnrules-ro-"))
        request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
        folder.chmod(0o755)
        url = f"sqlite:///{folder / 'ledger.db'}"
    before, head = recorded_ledger(url)
    if backend == "postgresql":
        read_only = url + "%20-cdefault_transaction_read_only%3Don"
        with pytest.raises(LedgerError) as refused, open_ledger(read_only) as ledger:
            list(Desk(ledger, load()).submit([("b", make_request("R2"))]))
        assert refused.value.code == "read-only"
        assert str(refused.value).startswith(read_only + ": ")
    else:
        path = Path(url.removeprefix("sqlite:///"))
        for mode, target in ((0o444, path), (0o555, path.parent)):
            target.chmod(mode)
            try:
                done = subprocess.run(
                    [sys.executable, "-c", READ_ONLY_SUBMIT, url],
                    cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT,
                    check=False,
                )  # fmt: skip
            finally:
                target.chmod(0o755 if target.is_dir() else 0o644)
            code, message = done.stdout.splitlines()[:2] or [done.stderr, ""]
            assert code in ("read-only", "unreachable"), done.stderr
            assert message.startswith(f"{url}: "), message
            assert "read-only" in message or "may it be written" in message
    unchanged(url, before, head)


@contextlib.contextmanager
def small_tablespace(cluster: Any) -> Iterator[str]:
    """A PostgreSQL tablespace on a 1 MiB tmpfs (root only: it mounts one)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a full disk on PostgreSQL needs root to mount a small tmpfs")
    import pwd

    import psycopg

    folder = Path(tempfile.mkdtemp(prefix="returnrules-full-"))
    folder.chmod(0o755)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    name = f"full_{os.getpid()}"
    try:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        with psycopg.connect(cluster.url("ledgers"), autocommit=True) as connection:
            connection.execute(f"CREATE TABLESPACE {name} LOCATION '{folder}'")
        yield name
    finally:
        with psycopg.connect(cluster.url("ledgers"), autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
            connection.execute("CHECKPOINT")
            connection.execute(f"DROP TABLESPACE IF EXISTS {name}")
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()


def test_a_full_disk_on_postgresql_is_a_clear_error(pg_cluster: Any) -> None:
    import psycopg

    cluster = pg_cluster
    with small_tablespace(cluster) as space:
        with psycopg.connect(cluster.url("ledgers"), autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {space}")
        url = (
            cluster.url("ledgers")
            + f"?options=-csearch_path%3D{space}%20-cdefault_tablespace%3D{space}"
        )
        before, head = recorded_ledger(url)
        desk = open_desk(url)

        def fill() -> None:
            """Batches of 100 until the disk is full."""
            nonlocal before, head
            for start in range(0, 100_000, 100):
                batch = [
                    (f"{n}", make_request(f"F{n}", order=f"SO-F{n}"))
                    for n in range(start, start + 100)
                ]
                list(desk.submit(batch))
                before = table_counts(desk.ledger)
                head = views.verify(desk.ledger).head_hash

        try:
            with pytest.raises(LedgerError) as full:
                fill()
        finally:
            desk.ledger.close()
        assert full.value.code == "full"
        assert str(full.value).startswith(f"{url}: ")
        # The batch that did not fit is recorded whole or not at all (if its
        # record fitted but not its marks, its entries wait for resume).
        invariants(url)
        with open_ledger(url) as ledger:
            recorded = table_counts(ledger)["requests"] - before["requests"]
            assert recorded in (0, 100)
            if recorded == 0:
                assert views.verify(ledger).head_hash == head


def test_a_full_disk_on_sqlite_is_a_clear_error_and_nothing_is_half_written(
    tmp_path: Path,
) -> None:
    """(Simulated with SQLite's max_page_count.)"""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    before, head = recorded_ledger(url)
    desk = open_desk(url)
    try:
        connection: Any = desk.ledger._connection  # SQLite's own, for the simulation
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages + 2}")
        batch = [(f"{n}", make_request(f"F{n}", order=f"SO-F{n}")) for n in range(200)]
        with pytest.raises(LedgerError) as full:
            list(desk.submit(batch))
        assert full.value.code == "full"
        assert str(full.value).startswith(f"{url}: ")
        unchanged(url, before, head)
        # Room again: the same batch goes in whole.
        connection.execute("PRAGMA max_page_count = 1073741823")
        assert all(isinstance(o, Submitted) for o in desk.submit(batch))
        assert count(desk.ledger, "SELECT COUNT(*) FROM requests") == 201
    finally:
        desk.ledger.close()


def test_a_ledger_of_a_newer_schema_is_refused_before_anything_is_written(
    new_url: NewUrl,
) -> None:
    url = new_url()
    before, head = recorded_ledger(url)
    with open_ledger(url) as ledger, ledger.write() as tx:
        tx.execute(
            "INSERT INTO schema_migrations (component, version, name, applied_at) "
            "VALUES ('core', ?, 'next', '2030-01-01')",
            (LATEST_VERSION + 1,),
        )
    with pytest.raises(LedgerError) as refused, open_ledger(url) as ledger:
        Desk(ledger, load())
    assert refused.value.code == "newer-schema"
    assert str(refused.value).startswith(f"{url}: ")
    unchanged(url, before, head)


def test_a_postgresql_that_is_down_is_a_clear_error_naming_the_url() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        url = f"postgresql://desk:s3cret@127.0.0.1:{port}/returns"
        with pytest.raises(LedgerError) as refused:
            open_ledger(url, timeout=2)
    shown = f"postgresql://desk:***@127.0.0.1:{port}/returns"
    assert refused.value.code == "unreachable"
    assert str(refused.value).startswith(f"{shown}: connection failed")
    assert "s3cret" not in str(refused.value)
