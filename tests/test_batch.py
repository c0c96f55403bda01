"""Batches: streaming in and out, --jobs with the order kept, progress, bad lines."""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import returnrules
from returnrules.cli import main
from returnrules.cli.batch import (
    CHUNK,
    CHUNK_BYTES,
    Options,
    Progress,
    _chunks,
    count_requests,
)
from returnrules.cli.inputs import JsonLine, read_requests
from returnrules.model.errors import RequestError
from tests.conftest import BASE_REQUEST, HEADER

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.workload import generate, make_data  # noqa: E402

POLICY = ROOT / "bench" / "policy.toml"


def endless() -> Iterator[dict[str, Any]]:
    yield from itertools.cycle(generate(50, seed=7))


def test_evaluate_many_streams_one_request_at_a_time() -> None:
    policy = returnrules.load_policy(POLICY)
    consumed = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal consumed
        for request in endless():
            consumed += 1
            yield request

    results = policy.evaluate_many(counted(), make_data())
    first = list(itertools.islice(results, 3))
    assert len(first) == 3
    assert consumed == 3  # nothing was read ahead


def test_evaluate_many_yields_the_error_of_a_bad_request_in_its_place() -> None:
    policy = returnrules.load_policy(POLICY)
    good = generate(2, seed=3)
    results = list(policy.evaluate_many([good[0], {"id": "x"}, good[1]], make_data()))
    assert isinstance(results[0], returnrules.Decision)
    assert isinstance(results[1], returnrules.RequestError)
    assert isinstance(results[2], returnrules.Decision)


@pytest.fixture
def batch(tmp_path: Path) -> tuple[Path, Path]:
    requests = generate(600, seed=11)
    lines = [json.dumps(r, ensure_ascii=False) for r in requests]
    lines.insert(300, '{"id": "RT-bad"}')  # line 301: a request that does not parse
    lines.insert(450, "{not json")  # line 451
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = tmp_path / "data.json"
    data.write_text(json.dumps(make_data()), encoding="utf-8")
    return path, data


def run(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, list[str], list[str]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_a_jsonl_batch_is_evaluated_in_order_with_bad_lines_reported(
    batch: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, data = batch
    code, out, err = run(
        capsys, "eval", str(path), "--rules", str(POLICY), "--data", str(data), "--json"
    )
    assert code == 2
    ids = [json.loads(line)["request"] for line in out]
    assert ids == [r["id"] for r in generate(600, seed=11)]
    assert any(line.startswith(f"{path}:301: $.requested_at: ") for line in err)
    assert any(line.startswith(f"{path}:451:2: invalid JSON") for line in err)
    assert err[-1] == "2 requests could not be evaluated"


def test_lazy_jsonl_lines_load_to_what_the_eager_reader_gives(
    batch: tuple[Path, Path],
) -> None:
    path = str(batch[0])
    eager = list(read_requests(path))
    lazy = list(read_requests(path, lazy=True))
    assert [source for source, _ in lazy] == [source for source, _ in eager]
    for (_, loaded), (_, wanted) in zip(lazy, eager, strict=True):
        assert isinstance(loaded, JsonLine)
        if isinstance(wanted, RequestError):
            with pytest.raises(RequestError) as caught:
                loaded.load()
            assert str(caught.value) == str(wanted)
        else:
            assert loaded.load() == wanted


def test_jobs_spread_the_batch_over_processes_and_keep_the_order(
    batch: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, data = batch
    args = ["eval", str(path), "--rules", str(POLICY), "--data", str(data), "--json"]
    one = run(capsys, *args)
    two = run(capsys, *args, "--jobs", "2")
    assert two == one  # same exit status, same lines in the same order, same errors


def test_jobs_render_human_output_the_same_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests = [str(p) for p in sorted((ROOT / "examples" / "requests").iterdir())[:4]]
    rules, data = str(ROOT / "rules.toml"), str(ROOT / "examples" / "data.toml")
    one = run(capsys, "eval", *requests, "--rules", rules, "--data", data)
    two = run(capsys, "eval", *requests, "--rules", rules, "--data", data, "-j", "2")
    assert two == one
    assert one[0] == 0


def test_a_chunk_for_the_workers_holds_a_few_megabytes_of_lines_at_most() -> None:
    # 256 lines of 16 MiB each would be 4 GiB in one chunk, held and pickled.
    policy = returnrules.load_policy(POLICY)
    line = JsonLine("x" * (CHUNK_BYTES // 4), "b.jsonl", 1)
    sizes = [len(c) for c in _chunks([("b.jsonl:1", line)] * 10, policy, Options())]
    assert sizes == [4, 4, 2]
    short = JsonLine("{}", "b.jsonl", 1)
    sizes = [len(c) for c in _chunks([("b.jsonl:1", short)] * 600, policy, Options())]
    assert sizes == [CHUNK, CHUNK, 600 - 2 * CHUNK]


# -- a worker that dies ------------------------------------------------------------

FATAL = ROOT / "tests" / "plugins" / "fatal.py"


def fatal_batch(tmp_path: Path, marked: str) -> list[str]:
    """A policy whose check ends the process on the request *marked*, and a
    batch of 300 with *marked* at line 281 (in the second chunk of 256)."""
    shutil.copy(FATAL, tmp_path / "fatal.py")  # a policy's plugins live beside it
    (tmp_path / "rules.toml").write_text(
        HEADER + '[plugins]\nmodules = ["fatal.py"]\n'
        '[[rule]]\nid = "r"\nwhen = { check = "fatal" }\ndecide = "approve"\n'
    )
    ids = [f"RT-{i}" for i in range(1, 301)]
    ids[280] = marked
    lines = (json.dumps(dict(BASE_REQUEST, id=id_)) for id_ in ids)
    (tmp_path / "batch.jsonl").write_text("\n".join(lines) + "\n")
    return ids


def eval_batch(
    tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """``returnrules eval batch.jsonl --json ...`` in a process of its own; the
    timeout only turns a hang into a failure."""
    return subprocess.run(
        [sys.executable, "-m", "returnrules", "eval", "batch.jsonl", "--json", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env={**os.environ, "RETURNRULES_DISABLE_PLUGIN_AUTOLOAD": "1", **env},
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("way", ["die-exit", "die-kill"])
def test_a_worker_that_dies_stops_the_batch_with_a_message_and_status_2(
    tmp_path: Path, way: str
) -> None:
    ids = fatal_batch(tmp_path, way)
    result = eval_batch(tmp_path, "--jobs", "2")
    assert result.returncode == 2
    printed = [json.loads(line)["request"] for line in result.stdout.splitlines()]
    assert printed == ids[: len(printed)]  # in order, up to the first lost chunk
    assert len(printed) in (0, 256)  # the first chunk may be lost with the second
    first = f"batch.jsonl:{len(printed) + 1}"
    what = "died (killed, out of memory, or ended by a plugin)"
    assert result.stderr.splitlines() == [
        f"returnrules: a worker process {what} while evaluating the requests from "
        f"{first} to batch.jsonl:300; the batch stopped: no request from {first} on "
        "was evaluated"
    ]


def test_a_plugin_raising_a_base_exception_in_a_worker_is_contained(
    tmp_path: Path,
) -> None:
    ids = fatal_batch(tmp_path, "die-base")
    result = eval_batch(tmp_path, "--jobs", "2")
    assert (result.returncode, result.stderr) == (0, "")
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["request"] for p in printed] == ids
    (doomed,) = [p for p in printed if p["request"] == "die-base"]
    assert doomed["decision"] == "review"
    assert doomed["lines"][0]["errors"][0]["message"] == "Doom: die-base"


def test_a_policy_that_does_not_load_in_the_workers_stops_the_batch(
    tmp_path: Path,
) -> None:
    fatal_batch(tmp_path, "RT-0")
    result = eval_batch(tmp_path, "--jobs", "2", FATAL_IMPORT_IN_WORKERS="1")
    assert (result.returncode, result.stdout) == (2, "")
    (message,) = result.stderr.splitlines()  # no traceback
    assert message.startswith(
        "returnrules: a worker process failed (RuntimeError: the policy did not load "
        'in a worker process: rules.toml:6:12: error: plugin "fatal"'
    )
    assert message.endswith("no request from batch.jsonl:1 on was evaluated")


def test_a_process_ended_by_a_plugin_without_jobs_ends_too(tmp_path: Path) -> None:
    ids = fatal_batch(tmp_path, "die-kill")
    result = eval_batch(tmp_path)
    assert result.returncode == -signal.SIGKILL
    printed = [json.loads(line)["request"] for line in result.stdout.splitlines()]
    assert printed == ids[:280]


def test_a_negative_number_of_jobs_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["eval", "x.json", "--jobs", "-1"]) == 2
    assert "jobs must be 0 (one per core) or more" in capsys.readouterr().err


def test_progress_shows_count_rate_and_time_left() -> None:
    stream = io.StringIO()
    meter = Progress(stream, total=4, interval=0.0)
    meter.started -= 2.0  # two seconds ago
    meter.step()
    assert meter.line(meter.started + 2.0) == "1/4 requests, 6s left, 0/s"
    meter.step()
    shown = stream.getvalue()
    assert shown.startswith("\r\x1b[K1/4 requests, ")
    assert "2/4 requests" in shown
    assert "/s" in shown
    meter.close()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_progress_without_a_total_shows_count_and_rate() -> None:
    meter = Progress(io.StringIO(), total=None)
    meter.count = 1500
    assert meter.line(meter.started + 1.0) == "1,500 requests, 1,500/s"


def test_eval_shows_progress_on_stderr_when_asked(
    batch: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, data = batch
    code, out, err = run(
        capsys, "eval", str(path), "--rules", str(POLICY), "--data", str(data),
        "--json", "--progress",
    )  # fmt: skip
    assert code == 2
    assert len(out) == 600
    text = "\n".join(err)
    assert "/602 requests" in text  # the total counted from the file
    assert text.endswith("2 requests could not be evaluated")


def test_no_progress_when_stderr_is_not_a_terminal(
    batch: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, data = batch
    _, _, err = run(
        capsys, "eval", str(path), "--rules", str(POLICY), "--data", str(data), "--json"
    )
    assert not any("\x1b[K" in line for line in err)


def test_count_requests_counts_jsonl_lines_and_files(tmp_path: Path) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("{}\n\n{}\n{}\n", encoding="utf-8")
    assert count_requests([str(jsonl), "b.toml"]) == 4
    assert count_requests(["-"]) is None
    assert count_requests([str(tmp_path / "missing.jsonl")]) is None


def test_count_requests_never_reads_a_pipe_or_a_device(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # opened at both ends: nothing blocks
    try:
        os.write(writer, b"{}\n{}\n")
        assert count_requests([str(fifo)]) is None
        assert os.read(writer, 100) == b"{}\n{}\n"  # still there for the batch
    finally:
        os.close(writer)
    (tmp_path / "zero.jsonl").symlink_to("/dev/zero")
    assert count_requests([str(tmp_path / "zero.jsonl")]) is None
