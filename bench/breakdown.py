"""Where a request's time goes, end to end from a dict (issue 5's 50,000/s target).

    python bench/breakdown.py               # 20,000 workload requests, 7 rounds
    python bench/breakdown.py --n 5000 --repeat 3

``bench/run.py`` says *how fast*; this says *what the time is made of*, so that
"what stands in the way" in bench/RESULTS.md is measured, not guessed.  Every
row is timed over the same workload, the rows taking turns (one run of each
per round, median of the rounds), on one core:

* the **floors**: what any reader of these requests must pay in CPython,
  whatever its design: the standard library's conversions (ISO 8601 date-times,
  decimal strings) and constructing the model objects from values already
  checked; and the hand-written function's decision;
* the **engine**: ``parse_request``, ``plan``, ``evaluate``, and
  ``evaluate(dict)`` (parse and evaluate in one call);
* **together vs apart**: ``evaluate(dict)`` costs more than ``parse_request``
  and ``evaluate`` timed apart; the difference is shown on its own row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

import returnrules
from returnrules import Customer, Order, OrderLine, Request, ReturnLine

BENCH: Final = Path(__file__).resolve().parent
if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(BENCH.parent))

from bench import handwritten, workload  # noqa: E402
from bench.run import Timer  # noqa: E402
from bench.run import loop_over as loop  # noqa: E402

__all__ = ["main", "measure"]

Row = tuple[str, Callable[[], object]]


def _datetimes(mapping: dict[str, Any]) -> list[str]:
    order = mapping["order"]
    keys = ("placed_at", "promised_at", "shipped_at", "delivered_at")
    return [mapping["requested_at"], *(order[k] for k in keys if k in order)]


def _decimals(mapping: dict[str, Any]) -> list[str]:
    order = mapping["order"]
    found = [order["shipping_fee"]] if "shipping_fee" in order else []
    for line in order["lines"]:
        found += [line[k] for k in ("unit_price", "core_charge") if k in line]
    return found


def _fields(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, f.name) for f in attrs.fields(type(obj)) if f.init)


def _constructions(request: Request) -> list[tuple[type, tuple[Any, ...]]]:
    """Every model object of *request*, as (class, positional arguments)."""
    calls: list[tuple[type, tuple[Any, ...]]] = [(Customer, _fields(request.customer))]
    calls += [(OrderLine, _fields(line)) for line in request.order.lines]
    calls += [(Order, _fields(request.order)), (Request, _fields(request))]
    calls += [(ReturnLine, _fields(line)) for line in request.lines]
    return calls


def measure(n: int, repeat: int) -> list[tuple[str, float]]:
    """(row, µs per request) for the rows of the module docstring."""
    policy = returnrules.load_policy(BENCH / "policy.toml")
    dicts = workload.generate(n, workload.DEFAULT_SEED)
    data = workload.make_data()  # read by the hand-written function
    checked = policy.check_data(data)  # the policy's snapshot of it
    parsed = [policy.parse_request(d) for d in dicts]
    stamps = [s for d in dicts for s in _datetimes(d)]
    amounts = [s for d in dicts for s in _decimals(d)]
    builds = [c for r in parsed for c in _constructions(r)]
    parse, plan, evaluate = policy.parse_request, policy.plan, policy.evaluate
    decide, fromisoformat = handwritten.decide, dt.datetime.fromisoformat

    def stdlib() -> None:
        for stamp in stamps:
            fromisoformat(stamp)
        for amount in amounts:
            Decimal(amount)

    def objects() -> None:
        for cls, args in builds:
            cls(*args)

    rows: list[Row] = [
        ("floor: date-times and decimals (stdlib)", stdlib),
        ("floor: the model objects, values given", objects),
        ("floor: hand-written decide (parsed)", loop(decide, parsed, data)),
        ("parse_request", loop(parse, dicts)),
        ("plan (parsed)", loop(plan, parsed, checked)),
        ("evaluate (parsed)", loop(evaluate, parsed, checked)),
        ("evaluate(dict)", loop(evaluate, dicts, checked)),
    ]
    for _, run in rows:  # warm up: first calls, plan caches, data records
        run()
    gc.collect()
    gc.freeze()  # the workload is not garbage: keep the collector off it
    times = Timer(repeat, gc_off=True).rounds([run for _, run in rows])
    gc.unfreeze()
    return [
        (label, statistics.median(mine) / n * 1e6)
        for (label, _), mine in zip(rows, times, strict=True)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="requests")
    parser.add_argument("--repeat", type=int, default=7, help="rounds")
    args = parser.parse_args(argv)
    result = dict(measure(args.n, args.repeat))
    print(f"{args.n:,} workload requests, median of {args.repeat} rounds, one core")
    print(f"  {'':44} {'µs/request':>10}")
    for label, micros in result.items():
        print(f"  {label:44} {micros:10.2f}")
    apart = result["parse_request"] + result["evaluate (parsed)"]
    together = result["evaluate(dict)"]
    floor = sum(v for k, v in result.items() if k.startswith("floor"))
    print(f"  {'parse_request + evaluate, timed apart':44} {apart:10.2f}")
    print(f"  {'  cost of running them together':44} {together - apart:10.2f}")
    print(f"  {'the three floors together':44} {floor:10.2f}")
    print(f"  50,000 requests/s is {1e6 / 50_000:.2f} µs a request; now {together:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
