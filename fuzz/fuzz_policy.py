"""Fuzz the policy loader with atheris: ``loads_policy`` on arbitrary text.

Every input must give a ``Policy`` (which then evaluates a request without
raising) or a ``PolicyError`` whose problems all have a line, a column, a
message and a code.  Anything else is a crash that libFuzzer saves.

    pip install atheris
    python fuzz/fuzz_policy.py fuzz/corpus/policy -max_total_time=600

The corpus directory is seeded with ``rules.toml`` and the test policies when
it is empty.  See fuzz/README.md.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import atheris  # type: ignore[import-not-found,import-untyped,unused-ignore]

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports():
    import common
    import returnrules


def test_one_input(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    if not common.imports_only_safe_modules(text):
        return  # never import a module a fuzzer named
    try:
        policy = returnrules.loads_policy(
            text, source="fuzz.toml", base_dir=common.EMPTY_DIR
        )
    except returnrules.PolicyError as exc:
        common.check_policy_error(exc, text)
        return
    # the policy's vocabularies or currency may refuse the sample request
    with contextlib.suppress(returnrules.RequestError):
        common.evaluate(policy, common.BASE_REQUEST)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if args:
        repo = common.REPO
        seeds = [repo / "rules.toml", *sorted((repo / "tests").rglob("rules*.toml"))]
        common.seed(args[0], seeds)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
