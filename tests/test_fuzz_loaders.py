"""Fuzzing the loaders with hypothesis: garbage in, a located error out.

Whatever the input — arbitrary TOML documents, arbitrary text, arbitrary JSON
values, request-shaped tables, or valid policies and requests mutated key by
key — the loaders either succeed or raise their own error:

* ``loads_policy`` → a ``Policy`` or ``PolicyError`` whose every problem has a
  file, a line and column ≥ 1 inside the text, a message and a code;
* ``parse_request`` → a ``Request`` or ``RequestError`` whose every problem
  has a key path, a message and a code;
* ``Policy.check_data`` → ``None`` or ``RequestError``;
* ``returnrules eval`` on garbage files → exit status 0, 1 or 2 as the contract
  says, never a traceback.

Never another exception, never a hang (each example is timed).  Loaded policies
and parsed requests are also evaluated, which must give a ``Decision``.

These are kept small for CI (60 examples a test, under 15 s together); set
``RETURNRULES_FUZZ_EXAMPLES=5000`` to search longer, and see ``fuzz/`` for the
atheris harnesses.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import math
import os
import re
import tempfile
import time
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import returnrules
from returnrules import (
    Decision,
    PolicyError,
    RequestError,
    RequestProblem,
    loads_policy,
    parse_request,
)
from returnrules.cli import main
from tests.conftest import BASE_REQUEST

REPO = Path(__file__).resolve().parents[1]
RULES_TEXT = (REPO / "rules.toml").read_text(encoding="utf-8")
RULES_DOC = tomllib.loads(RULES_TEXT)
DATA = tomllib.loads((REPO / "examples" / "data.toml").read_text(encoding="utf-8"))
EXAMPLES: list[dict[str, Any]] = [
    tomllib.loads(p.read_text(encoding="utf-8"))
    if p.suffix == ".toml"
    else json.loads(p.read_text(encoding="utf-8"))
    for p in sorted((REPO / "examples" / "requests").iterdir())
]
SMALL_POLICY = """\
version = 1
[policy]
currency = "CNY"
default = "review"
[vocab.reason]
core_return = "旧件回收"
[[rule]]
id = "over-return"
when = { fact = "line.qty", gt = { fact = "line.returnable_qty" } }
decide = "reject"
message = "only {line.returnable_qty} left"
[[rule]]
id = "window"
when.all = [
  { check = "delivery_deadline", days = 30, per_tier = { vip = 60 } },
  { any = [ { fact = "line.reason", in = ["wrong_part", "defective"] },
            { not = { fact = "part.supplier", present = false } } ] },
]
decide = "approve"
then = [ { action = "refund", fee_percent = 15, fee_min = "5.00" },
         { action = "notify", to = "customer", message = "{part.sku} × {line.qty}" } ]
priority = 2
[[rule]]
id = "late"
when = { check = "late_delivery" }
for = ["review", "approve"]
then = { action = "restock", location = "main", inspect = true }
"""
SMALL_DOC = tomllib.loads(SMALL_POLICY)

SECONDS_PER_EXAMPLE = 5.0
CODE = re.compile(r"[a-z]+(-[a-z]+)*")
EXAMPLES_PER_TEST = int(os.environ.get("RETURNRULES_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES_PER_TEST,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
SAFE_MODULES = ["missing.py", "sub/missing.py", "../missing.py", "no_such_module_q"]
"""What fuzzed ``[plugins] modules`` entries become: never a real module."""

POLICY = loads_policy(RULES_TEXT, source="rules.toml")


@contextlib.contextmanager
def time_bound() -> Iterator[None]:
    start = time.perf_counter()
    yield
    took = time.perf_counter() - start
    assert took < SECONDS_PER_EXAMPLE, f"took {took:.1f} s"


# -- strategies ------------------------------------------------------------------------

POLICY_WORDS = [
    "version", "policy", "plugins", "vocab", "rule", "currency", "default",
    "modules", "disable", "id", "title", "when", "decide", "for", "message",
    "priority", "then", "all", "any", "not", "fact", "check", "action", "eq",
    "ne", "lt", "le", "gt", "ge", "in", "not_in", "present", "line.qty",
    "line.reason", "part.category", "line.amount", "request.days_since_delivery",
    "delivery_deadline", "days", "per_tier", "from", "refund", "percent",
    "fee_percent", "fee_min", "notify", "to", "restock", "reason", "approve",
    "reject", "review", "CNY", "JPY", "defective", "vip", "supplier_accepts",
    "stock_available", "qty", "exchange", "{line.qty}", "{x.__class__}",
]  # fmt: skip

REQUEST_WORDS = [
    "id", "requested_at", "customer", "tier", "order", "status", "channel",
    "placed_at", "promised_at", "shipped_at", "delivered_at", "shipping_fee",
    "currency", "lines", "line", "sku", "name", "brand", "category", "qty",
    "shipped_qty", "returned_qty", "unit_price", "special_order", "no_return",
    "kit", "core_charge", "supplier", "reason", "condition", "packaging",
    "warranty_days", "obsolete", "return_shipping",
    "delivered", "placed", "online", "workshop", "brake", "wrong_part",
    "unopened", "CNY", "2026-11-20T10:00:00+08:00",
]  # fmt: skip

timezones = st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-14))]
)
text = st.one_of(st.text(max_size=20), st.sampled_from(POLICY_WORDS + REQUEST_WORDS))
toml_scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, 1, -1, 10**12, 10**30, -(10**30)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -0.0]),
    text,
    st.dates(),
    st.datetimes(timezones=st.none() | timezones),
    st.times(),
)


def toml_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        toml_scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=5),
        ),
        max_leaves=25,
    )


policy_keys = st.one_of(st.sampled_from(POLICY_WORDS), st.text(max_size=10))
request_keys = st.one_of(st.sampled_from(REQUEST_WORDS), st.text(max_size=10))
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(request_keys, children, max_size=5),
    ),
    max_leaves=25,
)


def safe_plugins(doc: Any) -> Any:
    """Replace fuzzed ``[plugins] modules`` strings with names that never import."""
    if isinstance(doc, dict) and isinstance(doc.get("plugins"), dict):
        modules = doc["plugins"].get("modules")
        if isinstance(modules, list):
            doc["plugins"]["modules"] = [
                SAFE_MODULES[i % len(SAFE_MODULES)] if isinstance(m, str) else m
                for i, m in enumerate(modules)
            ]
    return doc


def dump(doc: Mapping[str, Any]) -> str:
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError):  # e.g. a time with an offset: not TOML
        assume(False)
        raise


# -- mutations -------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


def paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, (*prefix, i))


def parent(doc: Any, path: Path_) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def mutate_once(doc: Any, data: st.DataObject, keys: st.SearchStrategy[str]) -> None:
    """Apply one random structural mutation to *doc* in place."""
    all_paths = [p for p in paths(doc) if p]
    if not all_paths:
        return
    path = data.draw(st.sampled_from(all_paths), label="path")
    holder, key = parent(doc, path), path[-1]
    op = data.draw(
        st.sampled_from(["delete", "rename", "duplicate", "retype", "nest", "swap"]),
        label="op",
    )
    if op == "delete":
        del holder[key]
    elif op == "rename" and isinstance(holder, dict):
        new = data.draw(
            st.one_of(keys, st.just(str(key) + "x"), st.just(str(key)[:-1])),
            label="new key",
        )
        holder[new] = holder.pop(key)
    elif op == "duplicate" and isinstance(holder, list):
        holder.insert(int(key), copy.deepcopy(holder[int(key)]))
    elif op == "duplicate" and isinstance(holder, dict):
        holder[str(key) + "_"] = copy.deepcopy(holder[key])
    elif op == "retype":
        holder[key] = data.draw(toml_values(keys), label="value")
    elif op == "nest":
        depth = data.draw(st.integers(1, 40), label="depth")
        value = holder[key]
        for _ in range(depth):
            value = data.draw(
                st.sampled_from([{"not": value}, [value], {"all": [value]}])
            )
        holder[key] = value
    else:
        other = data.draw(st.sampled_from(all_paths), label="other")
        try:
            other_holder, other_key = parent(doc, other), other[-1]
            holder[key], other_holder[other_key] = other_holder[other_key], holder[key]
        except (KeyError, IndexError, TypeError):
            pass  # the paths overlapped and one moved: nothing to swap


def mutated(
    base: Mapping[str, Any], data: st.DataObject, keys: st.SearchStrategy[str]
) -> Any:
    doc = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        mutate_once(doc, data, keys)
    return doc


def mutate_text(source: str, data: st.DataObject) -> str:
    """Line-level damage: delete, duplicate or swap lines, or insert characters."""
    lines = source.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        op = data.draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = data.draw(st.integers(0, len(lines) - 1), label="other line")
            lines[i], lines[j] = lines[j], lines[i]
        else:
            at = data.draw(st.integers(0, len(lines[i])), label="column")
            junk = data.draw(
                st.text(alphabet="[]{}=\"'#.,\n\\x0 ", min_size=1, max_size=4)
            )
            lines[i] = lines[i][:at] + junk + lines[i][at:]
    return "".join(lines)


# -- invariants ------------------------------------------------------------------------


def check_policy_text(source: str, *, evaluate: bool = True) -> None:
    """``loads_policy`` succeeds or raises a PolicyError with located problems."""
    with tempfile.TemporaryDirectory() as empty, time_bound():
        try:
            policy = loads_policy(source, source="fuzz.toml", base_dir=empty)
        except PolicyError as exc:
            check_policy_error(exc, source)
            return
    if evaluate:
        check_evaluation(policy, copy.deepcopy(BASE_REQUEST))


def check_policy_error(exc: PolicyError, source: str) -> None:
    assert exc.problems, "a PolicyError without problems"
    assert exc.errors, "a PolicyError without errors"
    last_line = source.count("\n") + 1
    for problem in exc.problems:
        assert problem.file == "fuzz.toml"
        assert 1 <= problem.line <= last_line + 1, problem
        assert problem.col >= 1, problem
        assert problem.message.strip(), problem
        assert CODE.fullmatch(problem.code), problem
        assert problem.severity in ("error", "warning")
        assert str(problem).startswith(f"fuzz.toml:{problem.line}:{problem.col}: ")


def check_evaluation(policy: returnrules.Policy, request: Mapping[str, Any]) -> None:
    with time_bound():
        for explain in (False, True):
            decision = policy.evaluate(request, DATA, explain=explain)
            assert isinstance(decision, Decision)
            json.dumps(decision.to_dict())


def check_request(mapping: Any, policy: returnrules.Policy | None = None) -> None:
    """``parse_request`` succeeds or raises a RequestError with key paths."""
    with time_bound():
        try:
            if policy is None:
                request = parse_request(mapping)
            else:
                request = policy.parse_request(mapping)
        except RequestError as exc:
            check_request_error(exc)
            return
    if policy is not None:
        check_evaluation(policy, request)  # type: ignore[arg-type]


def check_request_error(exc: RequestError) -> None:
    assert exc.problems, "a RequestError without problems"
    for problem in exc.problems:
        assert isinstance(problem, RequestProblem)
        assert isinstance(problem.path, tuple)
        assert all(isinstance(k, str | int) for k in problem.path)
        assert problem.message.strip(), problem
        assert CODE.fullmatch(problem.code), problem
        str(problem)
    str(exc)


# -- policies --------------------------------------------------------------------------


@FUZZ
@given(toml_values(policy_keys).filter(lambda v: isinstance(v, dict)))
def test_arbitrary_toml_documents_load_or_fail_cleanly(doc: dict[str, Any]) -> None:
    check_policy_text(dump(safe_plugins(doc)))


@FUZZ
@given(
    st.fixed_dictionaries(
        {
            "version": st.sampled_from([1, 1, 2, "1", True]),
            "policy": st.just({"currency": "CNY"}),
        },
        optional={
            "rule": st.lists(
                st.dictionaries(policy_keys, toml_values(policy_keys), max_size=6),
                max_size=4,
            ),
            "vocab": toml_values(policy_keys),
            "plugins": toml_values(policy_keys),
        },
    )
)
def test_policy_shaped_documents_load_or_fail_cleanly(doc: dict[str, Any]) -> None:
    check_policy_text(dump(safe_plugins(doc)))


@FUZZ
@given(
    st.one_of(
        st.text(max_size=200),
        st.lists(
            st.sampled_from(
                [
                    "[",
                    "]",
                    "[[rule]]",
                    "=",
                    '"',
                    "'",
                    "{",
                    "}",
                    ",",
                    "\n",
                    "#",
                    "id",
                    "when",
                    " = ",
                    "1",
                    "1979-05-27",
                    "nan",
                    "inf",
                    '"""',
                    "\\u00",
                    "a.b",
                    "version = 1\n",
                    "[policy]\n",
                ]
            ),
            max_size=40,
        ).map("".join),
    )
)
def test_arbitrary_text_loads_or_fails_cleanly(source: str) -> None:
    check_policy_text(source)


@FUZZ
@given(st.data())
def test_mutated_shipped_policy_loads_or_fails_cleanly(data: st.DataObject) -> None:
    check_policy_text(dump(safe_plugins(mutated(RULES_DOC, data, policy_keys))))


@FUZZ
@given(st.data())
def test_mutated_small_policy_loads_or_fails_cleanly(data: st.DataObject) -> None:
    check_policy_text(dump(safe_plugins(mutated(SMALL_DOC, data, policy_keys))))


@FUZZ
@given(st.data(), st.sampled_from([RULES_TEXT, SMALL_POLICY]))
def test_damaged_policy_text_loads_or_fails_cleanly(
    data: st.DataObject, source: str
) -> None:
    check_policy_text(mutate_text(source, data), evaluate=False)


# -- requests --------------------------------------------------------------------------


@FUZZ
@given(json_values)
def test_arbitrary_json_values_parse_or_fail_cleanly(value: Any) -> None:
    check_request(value)


@FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={
            key: json_values
            for key in ("id", "requested_at", "customer", "order", "lines")
        },
    )
)
def test_request_shaped_tables_parse_or_fail_cleanly(value: dict[str, Any]) -> None:
    check_request(value, POLICY)


@FUZZ
@given(st.data(), st.sampled_from([BASE_REQUEST, *EXAMPLES]))
def test_mutated_requests_parse_or_fail_cleanly(
    data: st.DataObject, base: dict[str, Any]
) -> None:
    check_request(mutated(base, data, request_keys), POLICY)


def test_every_example_request_is_valid() -> None:
    """The mutation bases are valid, so mutations start from a real request."""
    for example in EXAMPLES:
        check_evaluation(POLICY, POLICY.parse_request(example))  # type: ignore[arg-type]


# -- data ------------------------------------------------------------------------------


@FUZZ
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "stock": st.dictionaries(
                    st.sampled_from(["BOSCH-0986494", "X"]) | text,
                    st.fixed_dictionaries(
                        {}, optional={"on_hand": json_values, "reserved": json_values}
                    )
                    | json_values,
                    max_size=3,
                ),
                "supplier": st.dictionaries(
                    text,
                    st.dictionaries(
                        st.sampled_from(
                            [
                                "accepts_returns",
                                "window_days",
                                "restocking_fee_percent",
                                "non_returnable_categories",
                            ]
                        )
                        | text,
                        json_values,
                        max_size=4,
                    )
                    | json_values,
                    max_size=3,
                ),
            },
        ),
    )
)
def test_check_data_accepts_or_fails_cleanly(data: Any) -> None:
    with time_bound():
        try:
            POLICY.check_data(data)
        except RequestError as exc:
            check_request_error(exc)
            return
    # data that passes its check never breaks an evaluation
    decision = POLICY.evaluate(copy.deepcopy(BASE_REQUEST), data)
    assert isinstance(decision, Decision)


# -- the CLI ---------------------------------------------------------------------------


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


garbage_bytes = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.just(b""),
)


@settings(FUZZ, max_examples=max(1, EXAMPLES_PER_TEST * 2 // 3))
@given(
    garbage_bytes,
    st.sampled_from([".toml", ".json", ".jsonl", ".txt", ""]),
    st.booleans(),
)
def test_eval_on_garbage_request_files_exits_2_without_a_traceback(
    content: bytes, suffix: str, as_json: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        request = Path(folder) / f"request{suffix}"
        request.write_bytes(content)
        good = Path(folder) / "good.json"
        good.write_text(json.dumps(BASE_REQUEST))
        argv = ["eval", str(request), str(good), "--rules", str(REPO / "rules.toml")]
        with time_bound():
            code, out, err = run_cli(*argv, *(["--json"] if as_json else []))
    assert "Traceback" not in err
    assert code in (0, 2)
    assert out.strip(), "the good request is still evaluated"
    if code == 2:
        assert err.strip().endswith("could not be evaluated")


@settings(FUZZ, max_examples=max(1, EXAMPLES_PER_TEST // 2))
@given(garbage_bytes, st.sampled_from(["rules", "data"]))
def test_eval_on_garbage_policy_or_data_files_exits_per_contract(
    content: bytes, which: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        garbage = Path(folder) / ("rules.toml" if which == "rules" else "data.json")
        garbage.write_bytes(content)
        request = Path(folder) / "r.json"
        request.write_text(json.dumps(BASE_REQUEST))
        if which == "rules":
            argv = ["eval", str(request), "--rules", str(garbage)]
        else:
            argv = ["eval", str(request), "--rules", str(REPO / "rules.toml")]
            argv += ["--data", str(garbage)]
        with time_bound():
            code, _, err = run_cli(*argv)
    assert "Traceback" not in err
    if which == "rules":
        assert code == 1
        assert err.strip().splitlines()[-1].startswith("Found ")
    else:
        assert code in (0, 2)  # an empty JSON object is valid data
        if code == 2:
            assert err.strip()
