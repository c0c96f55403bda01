"""Shared by the atheris harnesses: seeds, invariants and the known bugs.

Not a test module (pytest never collects ``fuzz/``) and never imported by the
test suite; atheris is an optional dependency (``pip install atheris``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import returnrules

REPO: Final = Path(__file__).resolve().parents[1]
EMPTY_DIR: Final = tempfile.mkdtemp(prefix="returnrules-fuzz-")
SAFE_MODULES: Final = frozenset({"missing.py", "no_such_module_q"})
BASE_REQUEST: Final[dict[str, Any]] = json.loads(
    (REPO / "examples" / "requests" / "02-wrong-part-refund.json").read_text("utf-8")
)
DATA: Final = tomllib.loads((REPO / "examples" / "data.toml").read_text("utf-8"))


def imports_only_safe_modules(text: str) -> bool:
    """False if the TOML names ``[plugins] modules`` that might really import."""
    try:
        doc = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return True
    section = doc.get("plugins")
    if not isinstance(section, Mapping):
        return True
    modules = section.get("modules")
    if not isinstance(modules, list):
        return True
    return all(not isinstance(m, str) or m in SAFE_MODULES for m in modules)


class InvariantBroken(Exception):
    """An input broke a loader's promise; libFuzzer saves it as a crash."""


def require(condition: object, what: object) -> None:
    """Like ``assert``, but not removed by ``python -O``."""
    if not condition:
        raise InvariantBroken(repr(what))


def check_policy_error(exc: returnrules.PolicyError, text: str) -> None:
    require(exc.problems, "a PolicyError without problems")
    require(exc.errors, "a PolicyError without errors")
    last = text.count("\n") + 2
    for p in exc.problems:
        require(p.file == "fuzz.toml", p)
        require(1 <= p.line <= last, p)
        require(p.col >= 1, p)
        require(p.message.strip(), p)
        require(p.code, p)


def check_request_error(exc: returnrules.RequestError) -> None:
    require(exc.problems, "a RequestError without problems")
    for p in exc.problems:
        require(isinstance(p, returnrules.RequestProblem), p)
        require(isinstance(p.path, tuple), p)
        require(p.message.strip(), p)
        require(p.code, p)
    str(exc)


def evaluate(policy: returnrules.Policy, request: Any) -> None:
    for explain in (False, True):
        decision = policy.evaluate(request, DATA, explain=explain)
        json.dumps(decision.to_dict())


def seed(corpus: str, sources: list[Path]) -> None:
    """Fill an empty or missing corpus directory with the project's own inputs."""
    folder = Path(corpus)
    if folder.is_dir() and any(folder.iterdir()):
        return
    folder.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(sources):
        shutil.copy(source, folder / f"seed-{i:02d}{source.suffix}")
