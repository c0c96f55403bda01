"""The returnrules benchmark (issue 5): the engine against a hand-written function.

    python bench/run.py                 # 100,000 requests, 5 repetitions, 1M streamed
    python bench/run.py --quick         # a smoke run of a few seconds
    python bench/run.py --n 20000 --repeat 3 --stream 200000 --profile

In one process and on one core it:

1. streams 1,000,000 generated request dicts through ``evaluate_many`` and
   shows the process's memory along the way (it must stay flat); this comes
   first, while the process is small, so that the peak RSS it shows is the
   stream's own;
2. generates the seeded workload (bench/workload.py) and parses every request
   once with ``policy.parse_request``;
3. checks that ``policy.plan`` and ``policy.evaluate`` (and, on a sample,
   ``evaluate(explain=True)``) give exactly the hand-written function's
   decision and action names on every line, and prints the disagreements;
4. times, as medians over repetitions, the hand-written function, the fast path
   (``plan``) and ``evaluate`` on parsed requests, the explain path, and the
   end-to-end paths from request dicts (parse + evaluate, parse + plan);
5. times load + check + compile of bench/policy.toml and of a generated
   1,000-rule policy (bench/bigpolicy.py).

See bench/README.md for what each number means.  Exit status 1 when any
disagreement was found.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import gc
import io
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

import returnrules

BENCH: Final = Path(__file__).resolve().parent
if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(BENCH.parent))

from bench import bigpolicy, handwritten, workload  # noqa: E402

POLICY_PATH: Final = BENCH / "policy.toml"
MiB: Final = 1024 * 1024
GIT: Final = ("git", "--no-optional-locks")  # never writes the index

__all__ = [
    "Disagreement",
    "Timer",
    "agreement",
    "evaluate_names",
    "loop_over",
    "main",
    "plan_names",
]


# -- agreement ----------------------------------------------------------------------


@attrs.frozen
class Disagreement:
    """One line where an engine path and the hand-written function differ."""

    path: str
    request: str
    line: int
    expected: tuple[str, tuple[str, ...]]
    got: tuple[str, tuple[str, ...]]
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.path}: request {self.request} line {self.line}\n"
            f"    expected {self.expected[0]} {list(self.expected[1])}\n"
            f"    got      {self.got[0]} {list(self.got[1])}\n"
            f"    {self.detail}"
        )


LineResult = tuple[str, tuple[str, ...]]


def plan_names(result: Any) -> list[LineResult]:
    """``[(decision, action names), ...]`` per line of a ``policy.plan`` result."""
    return [(line.decision, tuple(a for a, _ in line.steps)) for line in result.lines]


def evaluate_names(result: returnrules.Decision) -> list[LineResult]:
    """``[(decision, action names), ...]`` per line of a ``policy.evaluate`` result."""
    return [
        (line.decision, tuple(a.action for a in line.actions)) for line in result.lines
    ]


def _combine(decisions: Iterable[str]) -> str:
    """DESIGN.md semantics rule 5, by hand."""
    seen = set(decisions)
    if seen == {"approve"}:
        return "approve"
    if seen == {"reject"}:
        return "reject"
    return "review" if "review" in seen else "partial"


def agreement(
    policy: returnrules.Policy,
    requests: Sequence[returnrules.Request],
    data: Mapping[str, Any],
    *,
    explain_sample: int = 0,
) -> tuple[dict[str, int], list[Disagreement]]:
    """Compare plan, evaluate (and explain on a sample) with the hand-written function.

    Returns the number of disagreeing lines per path (``plan``, ``evaluate``,
    ``explain``) and every disagreement (callers show a few).  A line disagrees
    when its decision or its list of action names differs; a request whose
    overall decision differs counts its first line.
    """
    counts = {"plan": 0, "evaluate": 0, "explain": 0}
    found: list[Disagreement] = []
    checked = policy.check_data(data)  # the policy's snapshot, as a host keeps it
    for index, request in enumerate(requests):
        expected = handwritten.decide(request, data)
        overall = _combine(decision for decision, _ in expected)
        planned = policy.plan(request, checked)
        evaluated = policy.evaluate(request, checked)
        results: list[tuple[str, Any, list[LineResult]]] = [
            ("plan", planned, plan_names(planned)),
            ("evaluate", evaluated, evaluate_names(evaluated)),
        ]
        if index < explain_sample:
            explained = policy.evaluate(request, checked, explain=True)
            results.append(("explain", explained, evaluate_names(explained)))
        for path, result, got in results:
            if len(got) != len(expected):
                bad = list(range(max(len(got), len(expected))))
            else:
                bad = [
                    i
                    for i, pair in enumerate(zip(got, expected, strict=True))
                    if pair[0] != pair[1]
                ]
                if not bad and result.decision != overall:
                    bad = [0]
            counts[path] += len(bad)
            for i in bad:
                found.append(
                    Disagreement(
                        path,
                        request.id,
                        request.lines[i].line if i < len(request.lines) else i + 1,
                        expected[i] if i < len(expected) else ("-", ()),
                        got[i] if i < len(got) else ("-", ()),
                        _detail(result.lines[i]) if i < len(result.lines) else "",
                    )
                )
    return counts, found


def _detail(line: Any) -> str:
    steps = getattr(line, "steps", None)
    if steps is None:
        steps = tuple((a.action, a.rule) for a in line.actions)
    errors = [str(e) for e in line.errors]
    return f"matched {list(line.matched)}; steps {[f'{a}<-{r}' for a, r in steps]}" + (
        f"; errors {errors}" if errors else ""
    )


# -- timing -------------------------------------------------------------------------


@attrs.define
class Timer:
    """Medians of repeated runs; a full collection before each run."""

    repeat: int
    gc_off: bool

    def __call__(self, run: Callable[[], object], repeat: int | None = None) -> float:
        return statistics.median(self.once(run) for _ in range(repeat or self.repeat))

    def once(self, run: Callable[[], object]) -> float:
        gc.collect()
        if self.gc_off:
            gc.disable()
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
        gc.enable()
        return seconds

    def rounds(self, runs: Sequence[Callable[[], object]]) -> list[list[float]]:
        """Each run's times, the runs taking turns (one of each per round).

        A virtual machine's speed drifts over a minute; taking turns exposes
        every run to the same drift, and a ratio is taken within a round.
        """
        times: list[list[float]] = [[] for _ in runs]
        for _ in range(self.repeat):
            for mine, run in zip(times, runs, strict=True):
                mine.append(self.once(run))
        return times


def loop_over(
    fn: Callable[..., object], items: Sequence[Any], *args: Any
) -> Callable[[], None]:
    """A run that calls ``fn(item, *args)`` for every item, keeping no result."""

    def run() -> None:
        for item in items:
            fn(item, *args)

    return run


def _drain(iterator_of: Callable[[], Iterable[object]]) -> Callable[[], None]:
    def run() -> None:
        for _ in iterator_of():
            pass

    return run


# -- machine ------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    info: dict[str, str] = {
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()} "
        f"({platform.python_compiler()})",
        "cpus": str(os.cpu_count()),
        "returnrules": returnrules.__version__,
    }
    with contextlib.suppress(AttributeError):  # not on Linux
        info["cpus usable"] = str(len(os.sched_getaffinity(0)))
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        cpuinfo = ""
    fields: dict[str, str] = {}
    for row in cpuinfo.splitlines():
        key, _, value = row.partition(":")
        fields.setdefault(key.strip(), value.strip())
    if fields.get("model name"):
        model = fields["model name"]
        extra = [
            f"family {fields.get('cpu family', '?')} model {fields.get('model', '?')}",
            f"{fields.get('cpu MHz', '?')} MHz",
            f"cache {fields.get('cache size', '?')}",
        ]
        if "hypervisor" in fields.get("flags", "").split():
            extra.append("virtualised")
        info["cpu"] = f"{model} ({', '.join(extra)})"
    else:
        info["cpu"] = platform.processor() or platform.machine()
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
        info["memory"] = meminfo[0].split(":", 1)[1].strip()
    except (OSError, IndexError):
        pass
    try:
        commit = subprocess.run(
            [*GIT, "-C", str(BENCH.parent), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        if commit:
            info["commit"] = commit
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def _rss_now() -> int | None:
    """The resident set size now (Linux), in bytes."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _rss_peak() -> int:
    """The peak resident set size so far, in bytes (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


# -- the benchmark ------------------------------------------------------------------


@attrs.define
class Report:
    """Everything measured, for printing and for ``--json``."""

    settings: dict[str, Any] = attrs.field(factory=dict)
    machine: dict[str, str] = attrs.field(factory=dict)
    workload: dict[str, Any] = attrs.field(factory=dict)
    agreement: dict[str, Any] = attrs.field(factory=dict)
    timings: list[dict[str, Any]] = attrs.field(factory=list)
    loading: list[dict[str, Any]] = attrs.field(factory=list)
    stream: dict[str, Any] = attrs.field(factory=dict)
    targets: list[dict[str, Any]] = attrs.field(factory=list)

    @property
    def disagreements(self) -> int:
        counts: dict[str, int] = self.agreement.get("disagreements", {})
        return sum(counts.values())


def _say(text: str = "") -> None:
    print(text, flush=True)


def _mib(size: float) -> str:
    return f"{size / MiB:.1f} MiB"


def run_benchmark(args: argparse.Namespace) -> Report:
    """Every phase in order; prints as it goes and returns the numbers."""
    report = Report(settings=dict(vars(args)), machine=machine())
    timer = Timer(args.repeat, args.gc_off)
    _say("returnrules benchmark (issue 5)")
    for key, value in report.machine.items():
        _say(f"  {key:12} {value}")
    gc_mode = "off while timing" if args.gc_off else "on, the workload frozen"
    _say(
        f"  settings     n={args.n:,} seed={args.seed} repeat={args.repeat} "
        f"stream={args.stream:,} big-rules={args.big_rules:,} gc={gc_mode}"
    )

    start = time.perf_counter()
    policy = returnrules.load_policy(POLICY_PATH)
    first_load = time.perf_counter() - start
    if len(policy.rules) != 20 or policy.warnings:
        _say(f"! {POLICY_PATH}: {len(policy.rules)} rules; {list(policy.warnings)}")
    data = workload.make_data()  # the hand-written function reads this mapping;
    checked = policy.check_data(data)  # the policy its checked snapshot

    # Streaming comes first, while the process is small: its peak RSS then
    # shows what streaming costs, not what the in-memory workload did.
    if args.stream:
        report.stream = _stream(policy, checked, args)

    dicts, parsed = _workload(report, policy, data, args)
    _agreement(report, policy, parsed, data, args)
    _timings(report, timer, policy, parsed, dicts, data, args)
    _loading(report, timer, parsed, checked, first_load, args)
    if args.profile:
        _profile(policy, parsed[:20_000], dicts[:20_000], checked)

    report.targets = _targets(report)
    _say()
    _say("issue 5 targets:")
    for target in report.targets:
        mark = "met" if target["met"] else "NOT met"
        _say(f"  [{mark:7}] {target['target']}: {target['measured']}")
    counts = report.agreement["disagreements"]
    _say()
    _say(
        f"disagreements: {report.disagreements:,} (plan {counts['plan']:,}, "
        f"evaluate {counts['evaluate']:,}, explain {counts['explain']:,})"
    )
    return report


def _workload(
    report: Report,
    policy: returnrules.Policy,
    data: Mapping[str, Any],
    args: argparse.Namespace,
) -> tuple[list[dict[str, Any]], list[returnrules.Request]]:
    start = time.perf_counter()
    dicts = workload.generate(args.n, args.seed)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    parsed = [policy.parse_request(d) for d in dicts]
    parse_once = time.perf_counter() - start
    lines = sum(len(r.lines) for r in parsed)
    shares = workload.summarize(parsed, data)
    report.workload = {
        "requests": len(parsed),
        "lines": lines,
        "generate_s": generated,
        "parse_once_s": parse_once,
        "shares": shares,
    }
    _say()
    _say(
        f"workload: {len(parsed):,} requests, {lines:,} lines (seed {args.seed}; "
        f"generated in {generated:.2f} s, parsed once in {parse_once:.2f} s)"
    )
    _say("  " + ", ".join(f"{k.replace('_', ' ')} {v:.1%}" for k, v in shares.items()))
    return dicts, parsed


def _agreement(
    report: Report,
    policy: returnrules.Policy,
    parsed: Sequence[returnrules.Request],
    data: Mapping[str, Any],
    args: argparse.Namespace,
) -> None:
    sample = min(args.explain_sample, len(parsed))
    start = time.perf_counter()
    counts, found = agreement(policy, parsed, data, explain_sample=sample)
    checked_in = time.perf_counter() - start
    lines = report.workload["lines"]
    sample_lines = sum(len(r.lines) for r in parsed[:sample])
    outcomes = Counter(d for r in parsed for d, _ in handwritten.decide(r, data))
    report.agreement = {
        "lines": lines,
        "explain_sample_lines": sample_lines,
        "disagreements": counts,
        "decisions": dict(outcomes),
        "first": [str(d) for d in found[: args.show * 3]],
    }
    _say()
    _say(
        "agreement with the hand-written function: decision and action names, "
        f"every line (checked in {checked_in:.1f} s)"
    )
    _say(
        "  hand-written decisions: "
        + ", ".join(f"{k} {v / lines:.1%}" for k, v in sorted(outcomes.items()))
    )
    for path, label, of in (
        ("plan", "policy.plan", lines),
        ("evaluate", "policy.evaluate", lines),
        ("explain", "evaluate(explain=True)", sample_lines),
    ):
        _say(f"  {label:24} {counts[path]:>8,} disagreements of {of:,} lines")
    shown: Counter[str] = Counter()
    for disagreement in found:
        if shown[disagreement.path] < args.show:
            if not shown:
                _say("  first disagreements:")
            shown[disagreement.path] += 1
            _say("  - " + str(disagreement).replace("\n", "\n  "))


def _timings(
    report: Report,
    timer: Timer,
    policy: returnrules.Policy,
    parsed: Sequence[returnrules.Request],
    dicts: Sequence[Mapping[str, Any]],
    data: Mapping[str, Any],
    args: argparse.Namespace,
) -> None:
    lines = report.workload["lines"]
    checked = policy.check_data(data)
    explained = parsed[: min(args.explain_n, len(parsed))]
    explain = functools.partial(policy.evaluate, explain=True)
    runs: list[tuple[str, str, Callable[[], object], int]] = [
        (
            "hand-written function",
            "parsed",
            loop_over(handwritten.decide, parsed, data),
            lines,
        ),
        (
            "policy.plan (fast path)",
            "parsed",
            loop_over(policy.plan, parsed, checked),
            lines,
        ),
        (
            "policy.evaluate",
            "parsed",
            loop_over(policy.evaluate, parsed, checked),
            lines,
        ),
        (
            f"evaluate(explain=True), {len(explained):,} req",
            "parsed",
            loop_over(explain, explained, checked),
            sum(len(r.lines) for r in explained),
        ),
        (
            "policy.parse_request alone",
            "dicts",
            loop_over(policy.parse_request, dicts),
            lines,
        ),
        (
            "parse + plan: plan(dict)",
            "dicts",
            loop_over(policy.plan, dicts, checked),
            lines,
        ),
        (
            "parse + evaluate: evaluate(dict)",
            "dicts",
            loop_over(policy.evaluate, dicts, checked),
            lines,
        ),
        (
            "evaluate_many(list of dicts)",
            "dicts",
            _drain(functools.partial(policy.evaluate_many, dicts, checked)),
            lines,
        ),
    ]
    for request in parsed[:500]:  # warm up: plan cache, first calls
        policy.plan(request, checked)
        policy.evaluate(request, checked, explain=True)
    gc.collect()
    gc.freeze()  # the workload is not garbage: keep the collector off it
    _say()
    _say(
        f"timings: median of {args.repeat} rounds, each path once a round "
        "(time.perf_counter, one core); × hand is the median of the ratios within "
        "a round, rounds their range; one line per request, so lines/s = requests/s"
    )
    _say(
        f"  {'path':40} {'input':6} {'per line':>11} {'lines/s':>11} {'× hand':>8} "
        f"{'rounds':>13}"
    )
    times = timer.rounds([run for _, _, run, _ in runs])
    hand_count = runs[0][3]
    hand_per_round = [seconds / hand_count for seconds in times[0]]
    for (label, source, _, count), mine in zip(runs, times, strict=True):
        seconds = statistics.median(mine)
        per = seconds / count
        ratios = [t / count / h for t, h in zip(mine, hand_per_round, strict=True)]
        ratio = statistics.median(ratios)
        row = _row(label, source, count, seconds, ratio)
        row["x_handwritten_rounds"] = ratios
        report.timings.append(row)
        spread = f"{min(ratios):.2f}–{max(ratios):.2f}×"
        _say(
            f"  {label:40} {source:6} {per * 1e6:8.2f} µs {count / seconds:>11,.0f} "
            f"{ratio:7.2f}× {spread:>13}"
        )
    gc.unfreeze()


def _row(
    label: str, source: str, lines: int, seconds: float, ratio: float
) -> dict[str, Any]:
    return {
        "path": label,
        "input": source,
        "lines": lines,
        "median_s": seconds,
        "per_line_us": seconds / lines * 1e6,
        "lines_per_s": lines / seconds,
        "x_handwritten": ratio,
    }


def _loading(
    report: Report,
    timer: Timer,
    parsed: Sequence[returnrules.Request],
    data: Mapping[str, Any],
    first_load: float,
    args: argparse.Namespace,
) -> None:
    _say()
    _say("policy load + check + compile (load_policy on a file; median):")
    load_20 = timer(lambda: returnrules.load_policy(POLICY_PATH), max(args.repeat, 5))
    report.loading.append(
        {
            "policy": "bench/policy.toml",
            "rules": 20,
            "median_s": load_20,
            "first_s": first_load,
        }
    )
    _say(
        f"  bench/policy.toml, 20 rules        {load_20 * 1e3:8.1f} ms "
        f"(the first load in the process: {first_load * 1e3:.1f} ms)"
    )
    if not args.big_rules:
        return
    text = bigpolicy.make_big_policy(args.big_rules)
    size = len(text.encode())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"big-{args.big_rules}.toml"
        path.write_text(text, encoding="utf-8")
        big = returnrules.load_policy(path)
        load_big = timer(lambda: returnrules.load_policy(path), max(args.repeat, 3))
    report.loading.append(
        {
            "policy": f"bench/bigpolicy.py ({size:,} bytes)",
            "rules": args.big_rules,
            "median_s": load_big,
        }
    )
    label = f"generated, {args.big_rules:,} rules ({size / 1024:,.0f} KiB)"
    _say(f"  {label:34} {load_big * 1e3:8.1f} ms")
    subset = parsed[:20_000]
    hand = report.timings[0]["per_line_us"] / 1e6
    for name, fn in (("plan", big.plan), ("evaluate", big.evaluate)):
        seconds = timer(loop_over(fn, subset, data))
        row = _row(
            f"{args.big_rules}-rule policy: {name}", "parsed", len(subset), seconds, 0
        )
        row["x_handwritten"] = row["per_line_us"] / 1e6 / hand
        report.timings.append(row)
        _say(
            f"  evaluating with it: {name:8} {row['per_line_us']:8.2f} µs/line, "
            f"{row['lines_per_s']:,.0f} lines/s ({len(subset):,} requests)"
        )


def _timing(report: Report, prefix: str) -> dict[str, Any] | None:
    for row in report.timings:
        if str(row["path"]).startswith(prefix):
            return row
    return None


def _targets(report: Report) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []
    plan = _timing(report, "policy.plan")
    if plan is not None:
        targets.append(
            {
                "target": "fast path within 3× hand-written (aim 1.5×)",
                "met": plan["x_handwritten"] <= 3,
                "measured": f"{plan['x_handwritten']:.2f}×",
            }
        )
    e2e = _timing(report, "parse + evaluate")
    if e2e is not None:
        targets.append(
            {
                "target": "end-to-end from dicts ≥ 50,000 requests/s (aim 100,000)",
                "met": e2e["lines_per_s"] >= 50_000,
                "measured": f"{e2e['lines_per_s']:,.0f} requests/s",
            }
        )
    big = [row for row in report.loading if row["rules"] >= 1000]
    if big:
        targets.append(
            {
                "target": "load + check + compile of 1,000 rules < 0.5 s",
                "met": big[0]["median_s"] < 0.5,
                "measured": f"{big[0]['median_s']:.3f} s",
            }
        )
    if report.stream:
        targets.append(
            {
                "target": "memory flat while streaming",
                "met": report.stream["flat"],
                "measured": report.stream["verdict"],
            }
        )
    return targets


def _stream(
    policy: returnrules.Policy, data: Mapping[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """Stream generated dicts through evaluate_many; memory at every tenth."""
    total = args.stream
    step = max(total // 10, 1)
    trace = args.tracemalloc
    _say()
    _say(
        f"streaming {total:,} generated request dicts (seed {args.seed + 1}, a "
        "generator, never a list) through policy.evaluate_many"
        + (", tracemalloc on (slow)" if trace else "")
    )
    heading = f"  {'after':>10} {'RSS now':>10} {'peak RSS':>10}"
    if trace:
        heading += f" {'traced now':>11} {'traced peak':>12}"
    _say(heading + f" {'requests/s':>11}")
    gc.collect()
    rss_before, peak_before = _rss_now(), _rss_peak()
    if trace:
        tracemalloc.start()
    decisions: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []
    count = 0
    start = last = time.perf_counter()
    requests = workload.iter_requests(total, args.seed + 1)
    for result in policy.evaluate_many(requests, data):
        count += 1
        decisions[
            "bad request"
            if isinstance(result, returnrules.RequestError)
            else result.decision
        ] += 1
        if count % step and count != total:
            continue
        now = time.perf_counter()
        row: dict[str, Any] = {
            "after": count,
            "rss_now": _rss_now() or 0,
            "rss_peak": _rss_peak(),
            "rate": (count - (rows[-1]["after"] if rows else 0)) / (now - last),
        }
        last = now
        text = f"  {count:>10,} {_mib(row['rss_now']):>10} {_mib(row['rss_peak']):>10}"
        if trace:
            row["traced_now"], row["traced_peak"] = tracemalloc.get_traced_memory()
            text += f" {_mib(row['traced_now']):>11} {_mib(row['traced_peak']):>12}"
        rows.append(row)
        _say(text + f" {row['rate']:>11,.0f}")
    elapsed = time.perf_counter() - start
    if trace:
        tracemalloc.stop()
    first, final = rows[0], rows[-1]
    growth = (final["rss_peak"] - first["rss_peak"]) / MiB
    verdict = (
        f"peak RSS {_mib(first['rss_peak'])} after {first['after']:,}, "
        f"{_mib(final['rss_peak'])} after {final['after']:,} ({growth:+.1f} MiB)"
    )
    flat = growth < 2.0
    if trace:
        grew = (final["traced_peak"] - first["traced_peak"]) / MiB
        verdict += f"; traced peak {grew:+.2f} MiB"
        flat = flat and grew < 1.0
    _say(
        f"  {count:,} requests in {elapsed:.1f} s ({count / elapsed:,.0f}/s including "
        "generating the dicts): "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(decisions.items()))
    )
    _say(f"  before streaming: RSS {_mib(rss_before or 0)}, peak {_mib(peak_before)}")
    _say(f"  {verdict}: {'flat' if flat else 'GROWING'}")
    return {
        "requests": count,
        "seconds": elapsed,
        "rows": rows,
        "rss_before": rss_before,
        "rss_peak_before": peak_before,
        "flat": flat,
        "verdict": verdict,
        "decisions": dict(decisions),
    }


def _profile(
    policy: returnrules.Policy,
    parsed: Sequence[returnrules.Request],
    dicts: Sequence[Mapping[str, Any]],
    data: Mapping[str, Any],
) -> None:
    cases: list[tuple[str, Callable[[], object]]] = [
        ("policy.plan, parsed requests", loop_over(policy.plan, parsed, data)),
        ("policy.evaluate, parsed requests", loop_over(policy.evaluate, parsed, data)),
        (
            "policy.evaluate(dict): parse + evaluate",
            loop_over(policy.evaluate, dicts, data),
        ),
    ]
    for label, run in cases:
        profiler = cProfile.Profile()
        profiler.enable()
        run()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        text = out.getvalue()
        _say()
        _say(f"profile: {label} ({len(parsed):,} requests), top 15 by own time")
        for row in text[text.find("   ncalls") :].rstrip().splitlines():
            _say("  " + row.replace(str(BENCH.parent) + "/", ""))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python bench/run.py",
        description="Benchmark returnrules against a hand-written function (issue 5).",
    )
    parser.add_argument("--n", type=int, default=workload.DEFAULT_N, help="requests")
    parser.add_argument("--seed", type=int, default=workload.DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=5, help="runs per median")
    parser.add_argument(
        "--stream", type=int, default=1_000_000, help="requests to stream (0: skip)"
    )
    parser.add_argument(
        "--big-rules",
        "--rules",
        type=int,
        default=bigpolicy.DEFAULT_RULES,
        help="rules in the generated policy (0: skip)",
    )
    parser.add_argument(
        "--explain-n",
        type=int,
        default=20_000,
        help="requests timed on the explain path",
    )
    parser.add_argument(
        "--explain-sample",
        type=int,
        default=5_000,
        help="requests whose explain=True result is checked too",
    )
    parser.add_argument(
        "--show", type=int, default=5, help="disagreements shown per path"
    )
    parser.add_argument(
        "--gc-off", action="store_true", help="disable the collector while timing"
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also trace Python allocations while streaming (slower)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile plan/evaluate")
    parser.add_argument("--json", metavar="FILE", help="write every number as JSON")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: --n 2000 --repeat 3 --stream 20000 --big-rules 200",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.quick:
        args.n = min(args.n, 2000)
        args.repeat = min(args.repeat, 3)
        args.stream = min(args.stream, 20_000)
        args.big_rules = min(args.big_rules, 200)
        args.explain_n = min(args.explain_n, 2000)
        args.explain_sample = min(args.explain_sample, 2000)
    report = run_benchmark(args)
    if args.json:
        text = json.dumps(attrs.asdict(report), indent=2, ensure_ascii=False)
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 1 if report.disagreements else 0


if __name__ == "__main__":
    raise SystemExit(main())
