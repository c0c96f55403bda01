"""``returnrules report`` and ``returnrules replay`` from the command line."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from returnrules.cli import main

ROOT = Path(__file__).parent.parent
EXTRA_RULE = """
[[rule]]
id = "half-wrong"
title = "a policy change: wrong parts refunded at half"
when = { fact = "line.reason", eq = "wrong_part" }
then = [{ action = "refund", percent = 50 }]
priority = 1000
"""


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with the shipped policy, a draft, and a ledger of the examples."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("RETURNRULES_DB", raising=False)
    shutil.copy(ROOT / "rules.toml", "rules.toml")
    (tmp_path / "draft.toml").write_text(
        (ROOT / "rules.toml").read_text("utf-8") + EXTRA_RULE, encoding="utf-8"
    )
    requests = sorted(str(p) for p in (ROOT / "examples" / "requests").glob("*.toml"))
    data = str(ROOT / "examples" / "data.toml")
    assert main(["submit", *requests, "--data", data, "--by", "test"]) in (0, 3)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_prints_tables_with_labels(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "report", "--by", "reason,supplier")
    assert (code, err) == (0, "")
    assert "质量问题 (defective)" in out
    assert "supplier" in out
    assert "次品率" in out


def test_report_json_and_csv_agree(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "report", "--json", "--by", "reason")
    assert code == 0
    data = json.loads(out)
    by_json = {row["key"]: row["lines"] for row in data["groups"]["reason"]}
    code, out, _ = run(capsys, "report", "--csv", "--by", "reason")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {row["key"]: int(row["lines"]) for row in rows} == by_json
    assert sum(by_json.values()) == data["totals"][0]["lines"]


def test_report_writes_a_page(desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "--html", "review.html")
    assert (code, out) == (0, "wrote review.html\n")
    assert (desk / "review.html").read_text("utf-8").count("<svg") == 2


def test_report_refuses_an_unknown_grouping(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "report", "--by", "reason,colour")
    assert code == 2
    assert "cannot group by colour" in err


def test_report_without_a_ledger_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "report")
    assert code == 1
    assert err.startswith("returnrules: ledger returnrules.db: there is no ledger")
    assert not (tmp_path / "returnrules.db").exists()


@pytest.mark.parametrize("command", [["report"], ["replay", "--rules", "rules.toml"],
                                     ["history"]])  # fmt: skip
def test_a_period_that_ends_before_it_begins_is_a_usage_error(
    desk: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, out, err = run(
        capsys, *command, "--since", "2027-01-01", "--until", "2026-12-31"
    )
    assert (code, out) == (2, "")
    assert err == (
        f"returnrules {command[0]}: error: --since 2027-01-01 is after --until "
        "2026-12-31: no day is in that period\n"
    )
    code, _, _ = run(capsys, *command, "--since", "2026-12-31", "--until", "2026-12-31")
    assert code == 0  # one day is a period


def test_replay_under_the_deciding_policy_says_it_reproduces_everything(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "replay", "--rules", "rules.toml", "--fail-on-change")
    assert code == 0
    assert ": 0 lines change" in out.splitlines()[0]
    assert "reproduces every one of the recorded decisions, to the amount" in out


def test_replay_shows_what_a_draft_changes_and_fails_on_change(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "replay", "--rules", "draft.toml", "--fail-on-change")
    assert code == 1
    assert "differs from the recorded decisions" in out
    assert "half-wrong" in out
    code, out, _ = run(capsys, "replay", "--rules", "draft.toml", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["changed"] == len(data["changes"]) > 0
    assert not data["reproduced"]


def test_a_recorded_request_that_cannot_be_decided_again_is_exit_2(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    with sqlite3.connect(desk / "returnrules.db") as db:
        (victim,) = db.execute("SELECT min(request_id) FROM requests").fetchone()
        db.execute(
            "UPDATE requests SET body = ? WHERE request_id = ?", ('{"cut', victim)
        )
    db.close()
    code, out, err = run(capsys, "replay", "--rules", "rules.toml", "--json")
    assert code == 2  # as a request file that does not read: the rest is shown
    assert err.startswith(f"returnrules: {victim} cannot be decided again:")
    data = json.loads(out)
    assert (data["changed"], data["reproduced"]) == (0, False)
    assert data["requests"] > 1


def test_replay_of_request_files_compares_two_policies(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests = sorted(str(p) for p in (ROOT / "examples" / "requests").glob("*.toml"))
    data = str(ROOT / "examples" / "data.toml")
    code, _, err = run(capsys, "replay", *requests, "--rules", "draft.toml")
    assert code == 2
    assert "--against OLD" in err
    code, out, _ = run(
        capsys, "replay", *requests, "--rules", "draft.toml",
        "--against", "rules.toml", "--data", data, "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["changed"] > 0


def test_a_dask_scheduler_that_does_not_answer_is_one_line(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import dask
    import distributed  # its config defaults first: leaving the `with` block
    # below removes the keys that were not there when it was entered

    assert distributed
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, out, err = run(
            capsys, "replay", "--rules", "rules.toml",
            "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9",
        )  # fmt: skip
    assert (code, out) == (1, "")
    assert err.startswith(
        "returnrules: cannot reach the Dask scheduler tcp://127.0.0.1:9"
    )
    assert err.count("\n") == 1  # one line, no traceback


def test_dask_without_the_extra_is_one_line(
    desk: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import sys

    gc.collect()  # an earlier test's LocalCluster: its __del__ imports distributed
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    code, out, err = run(capsys, "replay", "--rules", "rules.toml", "--engine", "dask")
    assert (code, out) == (1, "")
    assert err == (
        "returnrules: replay --engine dask needs the dask extra: "
        "pip install 'returnrules[dask]'\n"
    )


def test_replay_jobs_0_is_one_worker_per_core(
    desk: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from returnrules.desk import replay

    asked: list[int] = []
    here = replay.run_here

    def spy(policy: Any, chunks: Any, jobs: int) -> Any:
        asked.append(jobs)
        return here(policy, chunks)

    monkeypatch.setattr("returnrules.cli.review.default_jobs", lambda: 3)
    monkeypatch.setattr(replay, "run_in_processes", spy)
    code, out, _ = run(capsys, "replay", "--rules", "rules.toml", "--jobs", "0")
    assert (code, asked) == (0, [3])
    assert "reproduces every one of the recorded decisions" in out


def test_replay_writes_a_page(desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "replay", "--rules", "draft.toml", "--html", "r.html")
    assert (code, out) == (0, "wrote r.html\n")
    assert "Changed lines" in (desk / "r.html").read_text("utf-8")
