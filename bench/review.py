"""The review's numbers: ``report`` and ``replay`` over a big ledger.

    python bench/review.py                    # 1,000,000 requests on SQLite
    python bench/review.py --big 200000 --backends sqlite postgresql
    python bench/review.py --quick            # a smoke run of a few seconds

The ledger is built as ``bench/desk.py`` builds its big one (``--seed-n``
requests of ``bench/workload.py`` submitted for real under
``bench/policy.toml``, then copied in SQL with new ids), with the copies
received over the year before, so the monthly trend has twelve months.

**report**: ``returnrules report --db URL --json`` as a command (Python's
start and the import included), the median of ``--repeat`` runs.

**replay**: ``returnrules replay --rules bench/policy.toml --db URL --json``
under the policy that decided the history (so every decision is reproduced,
and the output says so), as a command: in one process, with ``--jobs 2``,
and with ``--engine dask --jobs 2`` (a ``distributed.LocalCluster`` of two
worker processes, started by the command).  Each is timed by the clock, and
its peak memory is the highest sum of the resident sets of the command and
every process under it (Dask's scheduler and workers included), sampled
every 50 ms.  Then, to say where a single process's time goes, the same
history is read without deciding (``history_chunks``) and its requests are
parsed and evaluated without reading or comparing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psutil  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

import returnrules  # noqa: E402  (after the path: run as a script)
from bench import desk as desk_bench  # noqa: E402
from returnrules.desk import open_ledger  # noqa: E402
from returnrules.desk.replay import history_chunks, replay_chunk  # noqa: E402
from returnrules.plugin.api import Data  # noqa: E402

POLICY = HERE / "policy.toml"
RETURNRULES = Path(sys.executable).with_name("returnrules")


def _say(text: str = "") -> None:
    print(text, flush=True)


def measured(argv: Sequence[str]) -> tuple[float, int, str]:
    """Run *argv*; its seconds by the clock, the peak of the resident sets of
    it and its descendants (bytes), and its standard output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            root = psutil.Process(process.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.wait(0.05):
            total = 0
            try:
                family = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for member in family:
                try:
                    total += member.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            peak = max(peak, total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {process.returncode}\n{err}")
    return elapsed, peak, out


def bench_report(url: str, size: int, repeat: int) -> None:
    argv = [str(RETURNRULES), "report", "--db", url, "--json"]
    runs = [measured(argv) for _ in range(repeat)]
    seconds = [r[0] for r in runs]
    report = json.loads(runs[0][2])
    lines = sum(row["lines"] for row in report["totals"])
    months = len(report["groups"]["month"])
    _say(
        f"| report --json | {size:,} requests, {lines:,} lines, {months} months | "
        f"**{statistics.median(seconds):.2f} s** | "
        f"{', '.join(f'{s:.2f}' for s in seconds)} | "
        f"{max(r[1] for r in runs) / 2**20:,.0f} MiB |"
    )


def bench_replay(url: str, size: int, dask: bool) -> None:
    base = [str(RETURNRULES), "replay", "--rules", str(POLICY), "--db", url, "--json"]
    ways: list[tuple[str, list[str]]] = [("one process", []), ("--jobs 2", ["-j2"])]
    if dask:
        ways.append(("--engine dask --jobs 2", ["--engine", "dask", "--jobs", "2"]))
    for label, extra in ways:
        seconds, peak, out = measured([*base, *extra])
        comparison = json.loads(out)
        assert comparison["reproduced"], "the deciding policy reproduces the history"
        assert comparison["requests"] == size, comparison["requests"]
        _say(
            f"| replay, {label} | {size:,} requests, every decision reproduced | "
            f"**{size / seconds:,.0f} requests/s** | {seconds:.1f} s | "
            f"{peak / 2**20:,.0f} MiB |"
        )


def where_it_goes(url: str, size: int) -> None:
    """One process's replay, taken apart: reading the history; and for the
    first 100,000 requests, a chunk's whole work (``replay_chunk``), then the
    same requests decoded, checked and evaluated one at a time as the replay
    does them (each step timed on its own; the clock's reads cost about
    0.1 µs a request), the rest being the playback and the comparison."""
    policy = returnrules.load_policy(POLICY)
    read = replayed = decoded = parsed = evaluated = 0.0
    n = 0
    clock = time.perf_counter
    datas: dict[str | None, Data] = {}  # by snapshot, made once as a replay's
    with open_ledger(url) as ledger:
        started = clock()
        for rows, snapshots in history_chunks(ledger):
            read += clock() - started
            if n < 100_000:
                n += len(rows)
                started = clock()
                replay_chunk(policy, rows, snapshots)
                replayed += clock() - started
                for row in rows:
                    data = datas.get(row[4])
                    if data is None:
                        body = snapshots.get(row[4] or "")
                        data = datas[row[4]] = Data(json.loads(body or "{}"))
                    t0 = clock()
                    mapping = json.loads(row[2])
                    t1 = clock()
                    request = policy.parse_request(mapping)
                    t2 = clock()
                    policy.evaluate(request, data)
                    t3 = clock()
                    decoded += t1 - t0
                    parsed += t2 - t1
                    evaluated += t3 - t2
            started = clock()
    _say(
        f"- reading the history alone (SQL, {size:,} requests and their lines, "
        f"in chunks): {read:.1f} s, {read / size * 1e6:.1f} µs a request"
    )
    us = 1e6 / n
    rest = replayed - decoded - parsed - evaluated
    _say(
        f"- of {n:,} requests: deciding and comparing {replayed * us:.1f} µs "
        f"each (replay_chunk); of it, JSON decoding {decoded * us:.1f} µs, "
        f"checking into a Request {parsed * us:.1f} µs, evaluating "
        f"{evaluated * us:.1f} µs, and playing the providers' answers back "
        f"and comparing {rest * us:.1f} µs"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--seed-n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--postgres", default="auto", help="a database URL, or auto")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument(
        "--keep", metavar="FILE", type=Path,
        help="a SQLite ledger to build once and keep (reused when it exists)",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.big, args.seed_n, args.repeat = 3_000, 300, 1
    _say(
        f"returnrules {returnrules.__version__}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores, {desk_bench._load()}"
    )
    _say()
    with desk_bench._urls(args) as new:
        for backend in args.backends:
            if backend == "sqlite" and args.keep is not None:
                url = f"sqlite:///{args.keep.resolve()}"
                built = args.keep.exists()
            else:
                url, built = new(backend), False
            if built:
                how = f"{args.keep}, built before"
            else:
                took, _ = desk_bench.build_big(
                    url, args.seed_n, args.big, spread_days=365
                )
                how = f"built in {took:.0f} s"
            _say(f"## {backend}: {args.big:,} recorded requests ({how})")
            _say()
            _say("| command | over | median / rate | runs / time | peak memory |")
            _say("|---|---|---:|---|---:|")
            bench_report(url, args.big, args.repeat)
            bench_replay(url, args.big, dask=not args.no_dask)
            _say()
            where_it_goes(url, args.big)
            _say()
    _say(desk_bench._load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
