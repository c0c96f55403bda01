"""Dates at the ends of the calendar are located errors, never a crash.

Regression (issue 10): ``"placed_at": "0001-01-01T00:00:00+14:00"`` with a
``requested_at`` at ``+00:00`` overflowed (``OverflowError: date value out of
range``) in a day count: a traceback and exit status 1 for one file, a
``.jsonl`` batch that stopped (``--jobs 1``) or printed nothing (``--jobs 2``),
and ``parse_request`` raised something other than ``RequestError``, so
``evaluate_many`` stopped too.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import returnrules
from tests.conftest import BASE_REQUEST

ROOT = Path(__file__).parent.parent


def at_the_edge(
    placed: str = "0001-01-01T00:00:00+14:00",
    delivered: str | None = "0001-01-01",
    requested: str = "0001-01-02T00:00:00+00:00",
) -> dict[str, Any]:
    request = copy.deepcopy(BASE_REQUEST)
    order = request["order"]
    order["placed_at"] = placed
    for key in ("promised_at", "shipped_at", "delivered_at"):
        order.pop(key, None)
    if delivered is not None:
        order["delivered_at"] = delivered
    request["requested_at"] = requested
    return request


@pytest.mark.parametrize(
    ("placed", "delivered", "requested", "where"),
    [
        ("0001-01-01T00:00:00+14:00", "0001-01-01", "0001-01-02T00:00:00+00:00",
         ("order", "placed_at")),
        ("9999-12-31T23:00:00-05:00", None, "9999-12-31T23:30:00-05:00",
         ("order", "placed_at")),
        ("2026-11-01T09:30:00+08:00", None, "9999-12-31T23:59:59-14:00",
         ("requested_at",)),
    ],
    ids=["year-1-east", "year-9999-west", "requested-past-9999"],
)  # fmt: skip
def test_a_moment_off_the_calendar_is_a_located_error(
    placed: str, delivered: str | None, requested: str, where: tuple[str, ...]
) -> None:
    with pytest.raises(returnrules.RequestError) as info:
        returnrules.parse_request(at_the_edge(placed, delivered, requested))
    (problem, *_) = info.value.problems
    assert (problem.path, problem.code) == (where, "bad-value")
    assert "out of range" in problem.message


def test_the_first_and_last_days_that_exist_everywhere_are_fine() -> None:
    request = at_the_edge(
        "0001-01-02T00:00:00+00:00", "0001-01-03", "0001-01-04T00:00:00+00:00"
    )
    policy = returnrules.load_policy(ROOT / "rules.toml")
    assert policy.evaluate(request).decision in ("approve", "reject", "review")


def test_a_batch_goes_on_past_a_request_off_the_calendar() -> None:
    policy = returnrules.load_policy(ROOT / "rules.toml")
    results = list(policy.evaluate_many([at_the_edge(), copy.deepcopy(BASE_REQUEST)]))
    assert isinstance(results[0], returnrules.RequestError)
    assert isinstance(results[1], returnrules.Decision)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_eval_reports_it_and_goes_on(tmp_path: Path, jobs: str) -> None:
    lines = [
        dict(BASE_REQUEST, id="RT-A"),
        at_the_edge(),
        dict(BASE_REQUEST, id="RT-B"),
    ]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "returnrules", "eval", str(batch), "--json",
         "--rules", str(ROOT / "rules.toml"), "--jobs", jobs],
        capture_output=True, text=True, encoding="utf-8", timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert [json.loads(line)["request"] for line in result.stdout.splitlines()] == [
        "RT-A",
        "RT-B",
    ]
    assert (
        "batch.jsonl:2: $.order.placed_at: 0001-01-01T00:00:00+14:00 is out of range"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
