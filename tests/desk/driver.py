"""A desk in a process of its own, for the reliability tests.

Run from the repository's root::

    python -m tests.desk.driver trials URL --n 200 --seed 7    # kill trials
    python -m tests.desk.driver compete URL --worker 2 --n 60  # 50 order lines

It uses the library (``Desk``), not the CLI.

``trials`` imports everything and loads the policy once, then reads commands
on stdin: ``submit`` or ``resume`` forks a child that opens the ledger and
does it (printing ``ready PID`` once its desk is open, ``done`` at the end);
the parent prints ``exit STATUS`` when the child is gone - finished, or
killed by the test with ``kill -9 PID``.  Each trial is thus a whole process,
killed for real, without paying for the imports each time.  ``compete``
prints ``ready``, waits for a line on stdin so that competitors start
together, submits and prints ``done``.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
from collections.abc import Sequence
from typing import Any, Final

from bench import workload

import returnrules
from returnrules.desk import Desk, open_ledger
from tests.desk import helpers
from tests.plugins import desk_probe

PROBE_RULE: Final = """
[[rule]]
id = "probe-every-line"
for = ["approve", "reject", "review"]
then = [{ action = "probe" }]
"""

ORDERS: Final = 25
LINES_PER_ORDER: Final = 2
LINE_QTY: Final = 6
"""The contested order lines: 25 orders of 2 lines of 6 units: 50 lines."""


def kill_policy() -> returnrules.Policy:
    """The benchmark's 20 rules and a probe on every line."""
    text = (helpers.REPO / "bench" / "policy.toml").read_text(encoding="utf-8")
    return returnrules.loads_policy(
        text + PROBE_RULE, source="policy.toml", plugins=[desk_probe], autoload=True
    )


def kill_workload(n: int, seed: int) -> list[dict[str, Any]]:
    """*n* realistic requests; every third returns more of the order before it,
    so what earlier requests took back decides later ones."""
    requests = workload.generate(n, seed)
    for index in range(2, n, 3):
        earlier, request = requests[index - 1], requests[index]
        request["order"] = copy.deepcopy(earlier["order"])
        request["customer"] = copy.deepcopy(earlier["customer"])
        request["requested_at"] = earlier["requested_at"]
        request["lines"] = [
            {**line, "qty": 1 + (index % 3)} for line in copy.deepcopy(earlier["lines"])
        ]
    return requests


def contested_order(number: int) -> dict[str, Any]:
    return {
        "id": f"SO-C{number:02d}",
        "status": "delivered",
        "channel": "store",
        "placed_at": "2026-11-01T09:30:00+08:00",
        "delivered_at": "2026-11-04T11:00:00+08:00",
        "shipping_fee": "0.00",
        "lines": [
            helpers.order_line(line, LINE_QTY) for line in range(1, LINES_PER_ORDER + 1)
        ],
    }


def compete_workload(worker: int, n: int) -> list[dict[str, Any]]:
    """*n* requests of one competitor, each for a random contested order line."""
    rng = random.Random(1000 + worker)
    requests = []
    for index in range(n):
        order = contested_order(rng.randrange(ORDERS))
        lines = rng.sample(range(1, LINES_PER_ORDER + 1), rng.choice((1, 1, 2)))
        requests.append(
            {
                "id": f"W{worker}-{index:04d}",
                "requested_at": "2026-11-20T10:00:00+08:00",
                "customer": {"id": f"C-{worker}", "tier": "workshop"},
                "order": order,
                "lines": [
                    {
                        "line": line,
                        "qty": rng.choice((1, 1, 2, 3)),
                        "reason": "wrong_part",
                        "condition": rng.choice(("unopened", "unopened", "installed")),
                    }
                    for line in sorted(lines)
                ],
            }
        )
    return requests


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.desk.driver")
    parser.add_argument("mode", choices=("trials", "compete"))
    parser.add_argument("url")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--worker", type=int, default=0)
    args = parser.parse_args(argv)

    if args.mode == "compete":
        policy = helpers.load()
        with open_ledger(args.url) as ledger:
            desk = Desk(ledger, policy, actor=f"desk-{args.worker}", batch=args.batch)
            print("ready", flush=True)
            sys.stdin.readline()
            for _ in desk.submit(
                (r["id"], r) for r in compete_workload(args.worker, args.n)
            ):
                pass
        print("done", flush=True)
        return 0

    policy, data = kill_policy(), workload.make_data()
    requests = kill_workload(args.n, args.seed)
    for command in sys.stdin:
        command = command.strip()
        if command == "quit":
            break
        pid = os.fork()
        if pid == 0:  # the child: one desk, killed or finishing
            status = 1
            try:
                with open_ledger(args.url) as ledger:
                    desk = Desk(ledger, policy, data, actor="driver", batch=args.batch)
                    print(f"ready {os.getpid()}", flush=True)
                    if command == "resume":
                        desk.resume(retry_failed=True)
                    else:
                        for _ in desk.submit((r["id"], r) for r in requests):
                            pass
                print("done", flush=True)
                status = 0
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
