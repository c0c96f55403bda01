"""Fuzz the request parser with atheris: ``parse_request`` on arbitrary input.

Two modes, chosen by the first byte.  *Text*: the rest is read as JSON when it
starts with ``{`` or ``[`` and as TOML otherwise, as ``returnrules eval`` does
by extension.  *Structured*: one of ``examples/requests/*`` is mutated key by
key (delete, rename, retype, duplicate, nest), the fuzzer's bytes choosing the
paths and the new values, which reaches deep into the request checks.  The
document is handed to ``Policy.parse_request`` (the shipped ``rules.toml``)
and, if valid, evaluated.  Every input must give a ``Decision`` or a
``RequestError`` whose problems all have a key path, a message and a code.

    pip install atheris
    python fuzz/fuzz_request.py fuzz/corpus/request -max_total_time=600

The corpus directory is seeded with ``examples/requests/*`` when it is empty.
"""

from __future__ import annotations

import copy
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import atheris  # type: ignore[import-not-found,import-untyped,unused-ignore]

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports():
    import common
    import returnrules

POLICY = returnrules.load_policy(common.REPO / "rules.toml")


def _document(text: str) -> Any:
    if text.lstrip().startswith(("{", "[")):
        return json.loads(text)
    return tomllib.loads(text)


EXAMPLES = [
    _document(p.read_text("utf-8"))
    for p in sorted((common.REPO / "examples" / "requests").iterdir())
]


def _value(fdp: Any, depth: int = 0) -> Any:
    kind = fdp.ConsumeIntInRange(0, 9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return fdp.ConsumeBool()
    if kind == 2:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 16))
    if kind == 3:
        return fdp.ConsumeRegularFloat() if fdp.ConsumeBool() else fdp.ConsumeFloat()
    if kind in (4, 5, 6):
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40))
    if kind in (7, 8):
        return [_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    return {
        _key(fdp): _value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))
    }


def _key(fdp: Any) -> Any:
    """Mostly text; sometimes an int, which a Python host can pass."""
    if fdp.ConsumeIntInRange(0, 15) == 0:
        return fdp.ConsumeIntInRange(0, 9)
    return fdp.ConsumeUnicodeNoSurrogates(12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


def _mutated(fdp: Any) -> Any:
    document = copy.deepcopy(EXAMPLES[fdp.ConsumeIntInRange(0, len(EXAMPLES) - 1)])
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        paths = [p for p in _paths(document) if p]
        path = paths[fdp.ConsumeIntInRange(0, len(paths) - 1)]
        holder: Any = document
        for key in path[:-1]:
            holder = holder[key]
        key = path[-1]
        op = fdp.ConsumeIntInRange(0, 4)
        if op == 0:
            del holder[key]
        elif op == 1 and isinstance(holder, dict):
            holder[_key(fdp)] = holder.pop(key)
        elif op == 2 and isinstance(holder, list):
            holder.append(copy.deepcopy(holder[key]))
        elif op == 3:
            holder[key] = [holder[key]] if fdp.ConsumeBool() else {"x": holder[key]}
        else:
            holder[key] = _value(fdp)
    return document


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        document = _mutated(fdp)
    else:
        text = fdp.ConsumeUnicodeNoSurrogates(len(data))
        try:
            document = _document(text)
        except (ValueError, RecursionError):  # JSON/TOML syntax: the readers' job
            return
    try:
        request = POLICY.parse_request(document)
    except returnrules.RequestError as exc:
        common.check_request_error(exc)
        return
    common.evaluate(POLICY, request)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    if args:
        seeds = sorted((common.REPO / "examples" / "requests").iterdir())
        common.seed(args[0], seeds)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
