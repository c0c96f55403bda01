"""The analysis of issue 14, timed: ``returnrules check``'s findings and ``--why-not``.

    python bench/analysis.py              # the run recorded in bench/RESULTS.md
    python bench/analysis.py --repeat 3 --big-rules 300

In one process, on one core, it times (each the median of ``--repeat`` runs):

1. ``policy.analyze()`` on ``rules.toml``: every finding and the coverage of
   ``[policy] default`` (target < 1 s);
2. ``policy.analyze()`` on the generated 1,000-rule policy
   (``bench/bigpolicy.py``; target < 10 s), with the time of each question
   (never matches, never decides, actions that never win, redundant
   branches, the coverage search);
3. ``policy.why_not(request, data, line=N)`` on every line of the example
   requests (``examples/requests``) that is not approved, with the shipped
   data (target < 50 ms a line): how many candidate requests it decided, and
   the options it found;
4. ``returnrules test`` on the shipped cases, without and with
   ``--coverage`` (which evaluates every case with a trace).

Exit status 1 when a target is missed.  ``bench/smt.py`` puts the same
satisfiability questions to the z3 SMT solver, for comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import returnrules

BENCH: Final = Path(__file__).resolve().parent
ROOT: Final = BENCH.parent
if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(ROOT))

from bench import bigpolicy  # noqa: E402
from bench.run import machine  # noqa: E402
from returnrules import cli  # noqa: E402
from returnrules.policy import analysis  # noqa: E402

__all__ = ["main", "median_time"]

T = TypeVar("T")
TARGETS: Final = {"rules.toml": 1.0, "generated": 10.0, "why-not": 0.050}


def median_time(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The median wall-clock time of *repeat* calls, and the last result."""
    times = []
    result: Any = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _questions(policy: returnrules.Policy) -> dict[str, float]:
    """The time of each question of the analysis, asked in analyze()'s order."""
    out: dict[str, float] = {}
    start = time.perf_counter()
    analyzer = analysis._Analyzer(policy.ir, policy.engine.facts)
    out["formulas"] = time.perf_counter() - start
    rules = policy.ir.rules
    steps: list[tuple[str, Callable[[], object]]] = []
    live: list[Any] = []

    def never() -> None:
        live.extend(r for r in rules if analyzer.never_matches(r) is None)

    steps = [
        ("never matches", never),
        ("never decides", lambda: [analyzer.never_decides(r, live) for r in live]),
        ("action never wins",
         lambda: [list(analyzer.actions_never_win(r, live)) for r in live]),
        ("redundant branches",
         lambda: [list(analyzer.redundant_branches(r)) for r in live]),
        ("coverage of the default", lambda: analyzer.coverage(live)),
    ]  # fmt: skip
    for name, step in steps:
        start = time.perf_counter()
        step()
        out[name] = time.perf_counter() - start
    return out


def _analyze(name: str, policy: returnrules.Policy, repeat: int) -> dict[str, Any]:
    seconds, found = median_time(policy.analyze, repeat)
    codes: dict[str, int] = {}
    for finding in found.findings:
        codes[finding.issue.code] = codes.get(finding.issue.code, 0) + 1
    row: dict[str, Any] = {
        "policy": name,
        "rules": len(policy.rules),
        "seconds": seconds,
        "findings": codes,
        "unanswered": found.unanswered,
        "regions": len(found.coverage.regions),
        "coverage complete": found.coverage.complete,
        "questions": _questions(policy),
    }
    print(
        f"{name}: {len(policy.rules)} rules, analyze() {_ms(seconds)} "
        f"(target < {TARGETS[name]:g} s); findings {codes or 'none'}, "
        f"{found.unanswered} questions unanswered, "
        f"{len(found.coverage.regions)} regions get the default"
        + ("" if found.coverage.complete else " (the search stopped at its budget)")
    )
    for question, spent in row["questions"].items():
        print(f"    {question:<26} {_ms(spent):>10}")
    return row


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    found: dict[str, Any] = (
        tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    )
    return found


def _why_not(policy: returnrules.Policy, repeat: int) -> list[dict[str, Any]]:
    data = _read(ROOT / "examples" / "data.toml")
    rows = []
    print("why-not on the lines of the examples that are not approved:")
    for path in sorted((ROOT / "examples" / "requests").iterdir()):
        request = _read(path)
        for line in policy.plan(request, data).lines:
            if line.decision == "approve":
                continue
            seconds, answer = median_time(
                lambda: policy.why_not(request, data, line=line.line),  # noqa: B023
                repeat,
            )
            options = [o.text for o in answer.options]
            rows.append(
                {
                    "request": path.name,
                    "line": line.line,
                    "decision": line.decision,
                    "seconds": seconds,
                    "evaluated": answer.evaluated,
                    "options": options,
                }
            )
            print(
                f"    {path.name:<38} line {line.line} {line.decision:<7} "
                f"{_ms(seconds):>9}  {answer.evaluated:>4} decided  "
                + ("; ".join(options) or "no option")
            )
    return rows


def _cases(repeat: int) -> dict[str, float]:
    out = {}
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        for name, argv in (
            ("test", ["test"]),
            ("test --coverage", ["test", "--coverage"]),
        ):

            def run(argv: list[str] = argv) -> int:
                with contextlib.redirect_stdout(io.StringIO()):
                    return cli.main(argv)

            out[name], _ = median_time(run, repeat)
            print(f"returnrules {name:<16} {_ms(out[name]):>9} (the shipped cases)")
    finally:
        os.chdir(here)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per median")
    parser.add_argument(
        "--big-rules",
        type=int,
        default=bigpolicy.DEFAULT_RULES,
        help="rules in the generated policy (default 1,000)",
    )
    parser.add_argument("--json", metavar="FILE", help="write every number here")
    args = parser.parse_args(argv)  # fmt: skip

    for key, value in machine().items():
        print(f"{key}: {value}")
    print()
    shipped = returnrules.load_policy(ROOT / "rules.toml")
    big = returnrules.loads_policy(
        bigpolicy.make_big_policy(args.big_rules), source="generated"
    )
    report: dict[str, Any] = {"machine": machine()}
    report["rules.toml"] = _analyze("rules.toml", shipped, args.repeat)
    report["generated"] = _analyze("generated", big, max(1, args.repeat // 2))
    report["why-not"] = _why_not(shipped, args.repeat)
    report["cases"] = _cases(args.repeat)

    worst = max((r["seconds"] for r in report["why-not"]), default=0.0)
    met = {
        "rules.toml": report["rules.toml"]["seconds"] < TARGETS["rules.toml"],
        "generated": report["generated"]["seconds"] < TARGETS["generated"],
        "why-not": worst < TARGETS["why-not"],
    }
    print()
    said = {name: "met" if ok else "NOT met" for name, ok in met.items()}
    print(f"targets: analyze rules.toml {_ms(report['rules.toml']['seconds'])} < 1 s: "
          f"{said['rules.toml']}; analyze 1,000 rules "
          f"{_ms(report['generated']['seconds'])} < 10 s: {said['generated']}; "
          f"why-not, slowest line {_ms(worst)} < 50 ms: {said['why-not']}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
