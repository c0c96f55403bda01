"""The real command, in a child process: ``python -m returnrules`` and the script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import returnrules

DATA = Path(__file__).parent / "data" / "cli"
ALLOW = {
    "RETURNRULES_ALLOW_MODULES": "tests.plugins.sample,tests.plugins.cli_extras",
    "PYTHONPATH": str(Path(__file__).parent.parent),
}
"""The test plugins, importable and allowed, as a host would set them up."""
SCRIPT = Path(sys.executable).parent / "returnrules"


def run(
    *argv: str, stdin: bytes = b"", command: tuple[str, ...] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RETURNRULES_DISABLE_PLUGIN_AUTOLOAD": "1", **ALLOW}
    env.pop("NO_COLOR", None)
    prefix = command or (sys.executable, "-m", "returnrules")
    return subprocess.run(
        [*prefix, *argv],
        input=stdin.decode(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=DATA,
        env=env,
        timeout=60,
        check=False,
    )


def test_python_m_returnrules_prints_its_version() -> None:
    result = run("--version")
    assert (result.returncode, result.stdout) == (
        0,
        f"returnrules {returnrules.__version__}\n",
    )


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_the_console_script_runs_check() -> None:
    result = run("check", "broken.toml", command=(str(SCRIPT),))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        'broken.toml:8:17: error: unknown fact "line.reson"; '
        'did you mean "line.reason"?'
    )
    assert result.stdout.endswith("Found 3 errors.\n")


def test_eval_reads_stdin_and_prints_json_lines() -> None:
    result = run(
        "eval", "-", "--json", "--rules", "rules.toml",
        stdin=(DATA / "partial.json").read_bytes(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["decision"] == "partial"
    assert "可退数量只有 2 件" in result.stdout


def test_a_mixed_batch_exits_2_and_prints_the_good_requests() -> None:
    result = run("eval", "request.toml", "bad-qty.toml", "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["request"] == "RT-1"
    assert result.stderr.splitlines()[0] == (
        "bad-qty.toml: $.lines[0].qty: must be ≥ 1, got 0"
    )
    assert "Traceback" not in result.stderr


def test_user_mistakes_never_show_a_traceback(tmp_path: Path) -> None:
    for argv in (
        ("check", str(tmp_path)),
        ("eval", str(tmp_path / "missing.toml")),
        ("eval", "request.toml", "--data", str(tmp_path)),
        ("test", str(tmp_path / "missing.toml")),
        ("plugins", "--rules", str(tmp_path / "missing.toml")),
        ("init", str(DATA / "rules.toml")),
    ):
        result = run(*argv)
        assert result.returncode in (1, 2), argv
        assert "Traceback" not in result.stderr + result.stdout, argv


def test_output_survives_a_terminal_that_cannot_show_chinese() -> None:
    env = {**os.environ, "RETURNRULES_DISABLE_PLUGIN_AUTOLOAD": "1", **ALLOW}
    env["PYTHONIOENCODING"] = "ascii"
    result = subprocess.run(
        [sys.executable, "-m", "returnrules", "eval", "request.toml"],
        capture_output=True,
        cwd=DATA,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert b"\\u9519" in result.stdout  # 错, escaped rather than a crash


def test_a_reader_that_goes_away_ends_eval_quietly_with_sigpipes_status(
    tmp_path: Path,
) -> None:
    # issue 11: `returnrules eval ... --json | head -1` exited 1 ("the policy
    # has errors"); a Unix tool ended by SIGPIPE exits 128 + 13 in a shell
    root = Path(__file__).parent.parent
    request = json.loads(
        (root / "examples" / "requests" / "02-wrong-part-refund.json").read_text(
            encoding="utf-8"
        )
    )
    batch = tmp_path / "batch.jsonl"
    with batch.open("w", encoding="utf-8") as stream:
        for i in range(3000):  # far more output than a pipe holds (64 KiB)
            stream.write(json.dumps({**request, "id": f"RT-{i}"}) + "\n")
    env = dict(os.environ)
    env.pop("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", None)  # the standard pack
    command = [sys.executable, "-m", "returnrules", "eval", str(batch), "--json"]
    command += ["--rules", str(root / "rules.toml")]
    command += ["--data", str(root / "examples" / "data.toml")]
    producer = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert producer.stdout is not None
    head = subprocess.run(
        ["head", "-1"], stdin=producer.stdout, capture_output=True, check=True
    )
    producer.stdout.close()  # only head reads it now, and head is gone
    _, err = producer.communicate(timeout=120)
    assert json.loads(head.stdout)["request"] == "RT-0"
    assert err == b""
    assert producer.returncode == 141


def test_the_help_lists_every_exit_status() -> None:
    result = run("--help")
    listed = result.stdout.split("exit status:")[1].splitlines()
    statuses = [line.split()[0] for line in listed if line[2:3].isdigit()]
    assert statuses == ["0", "1", "2", "3", "130", "141"]
