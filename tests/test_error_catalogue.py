"""``docs/errors.md`` lists every problem code, and its examples are real.

* Every ``code`` used in ``src/`` and ``plugins/`` (found with :mod:`ast`: the
  code argument of ``Issue``, ``RequestProblem``, ``Problem`` and of every
  helper that takes a ``code`` parameter, such as ``.error(...)``,
  ``.warn(...)`` and ``_error(...)``; ``code = ...`` assignments; the codes
  ``issues_from_cattrs`` yields) has a ``### `code` `` entry, and every entry
  names a code still in use.
* Every policy example (a ```` ```toml ```` block followed by a ```` ```text ````
  block) is loaded as ``/shop/rules.toml`` and must print those lines; the
  request, data and plugin examples are produced here and must appear in
  their entry word for word.
"""

from __future__ import annotations

import ast
import copy
import functools
import itertools
import json
import re
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import returnrules
from returnrules import PolicyError, RequestError, hookimpl, loads_policy

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "errors.md"
SOURCES = sorted([*(REPO / "src").rglob("*.py"), *(REPO / "plugins").rglob("*.py")])

# The attrs classes that carry a code, and the position of ``code`` in them.
CODE_CLASSES = {
    "Issue": 2,
    "RequestProblem": 2,
    "Problem": 4,
    "LedgerError": 2,
    "CattrsIssue": 2,
}
# Codes that must have a doc-tested policy example unless listed here.
NEEDS_PYTHON = {
    "plugin-invalid",
    "plugin-failed",
    "duplicate-plugin",
    "bad-equivalent",  # a plugin's Check.equivalent: tests/test_analysis.py
}


# -- finding the codes in the source --------------------------------------------------


def _strings(node: ast.expr | None) -> list[str]:
    """String constants of an expression: ``"a"``, ``"a" if x else "b"``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _code_positions(trees: list[ast.Module]) -> dict[str, set[int]]:
    """Callable name → positions of its ``code`` argument (``self`` not counted)."""
    positions: dict[str, set[int]] = {k: {v} for k, v in CODE_CLASSES.items()}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                if names and names[0] in ("self", "cls"):
                    names = names[1:]
                if "code" in names:
                    positions.setdefault(node.name, set()).add(names.index("code"))
    return positions


def codes_in(sources: dict[str, str]) -> dict[str, set[str]]:
    """Every problem code in *sources* (name → text), with where it is used."""
    trees = {name: ast.parse(text) for name, text in sources.items()}
    positions = _code_positions(list(trees.values()))
    found: dict[str, set[str]] = {}

    def add(codes: list[str], where: str) -> None:
        for code in codes:
            found.setdefault(code, set()).add(where)

    for name, tree in trees.items():
        for node in ast.walk(tree):
            where = f"{name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and _name(node) in positions:
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        add(_strings(keyword.value), where)
                starred = any(isinstance(a, ast.Starred) for a in node.args)
                for index in positions[_name(node) or ""]:
                    if not starred and index < len(node.args):
                        add(_strings(node.args[index]), where)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args.posonlyargs + node.args.args
                for arg, default in zip(
                    args[len(args) - len(node.args.defaults) :],
                    node.args.defaults,
                    strict=True,
                ):
                    if arg.arg == "code":
                        add(_strings(default), where)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in node.targets
            ):
                add(_strings(node.value), where)
            if isinstance(node, ast.FunctionDef) and node.name == "issues_from_cattrs":
                for inner in ast.walk(node):
                    if (
                        isinstance(inner, ast.Yield)
                        and isinstance(inner.value, ast.Tuple)
                        and len(inner.value.elts) == 3
                    ):
                        add(_strings(inner.value.elts[2]), where)
    return found


@functools.cache
def source_codes() -> dict[str, set[str]]:
    return codes_in(
        {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in SOURCES}
    )


# -- reading the catalogue -----------------------------------------------------------

HEADING = re.compile(r"^### `([a-z]+(?:-[a-z]+)*)`.*$", re.M)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)


@functools.cache
def sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    marks = list(HEADING.finditer(text))
    out: dict[str, str] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following is not None else len(text)
        body = text[mark.end() : end].split("\n## ", 1)[0]
        assert mark[1] not in out, f"two entries for {mark[1]}"
        out[mark[1]] = body
    return out


def policy_examples() -> Iterator[tuple[str, str, list[str]]]:
    """(code, policy text, expected lines) for each toml block + text block."""
    for code, body in sections().items():
        blocks = [(m[1], m[2]) for m in FENCE.finditer(body)]
        for (lang, text), (next_lang, expected) in itertools.pairwise(blocks):
            if lang == "toml" and next_lang == "text":
                yield code, text, expected.splitlines()


EXAMPLES = list(policy_examples())


# -- the tests: codes ----------------------------------------------------------------


def test_the_scanner_sees_every_form_of_code() -> None:
    sample = """
def fail(source, message, code, line=1):
    pass

class Checker:
    def error(self, path, message, code):
        pass

    def run(self):
        self.error((), "m", "from-method")
        fail("s", "m", "from-helper")
        fail("s", "m", code="from-keyword")
        Issue((), "m", "from-issue")
        Problem("f", 1, 1, "m", "from-problem")
        RequestProblem(*triple)
        code = "from-assign-a" if x else "from-assign-b"

def _error(source, message, code="from-default"):
    pass

def issues_from_cattrs(exc, path):
    yield path, "m", "from-yield"
"""
    assert sorted(codes_in({"sample.py": sample})) == [
        "from-assign-a",
        "from-assign-b",
        "from-default",
        "from-helper",
        "from-issue",
        "from-keyword",
        "from-method",
        "from-problem",
        "from-yield",
    ]


def test_the_scanner_finds_the_well_known_codes() -> None:
    codes = source_codes()
    for code in ("unknown-fact", "bad-value", "unknown-key", "missing-key", "syntax"):
        assert code in codes


def test_every_problem_code_has_an_entry_in_errors_md() -> None:
    missing = {
        code: sorted(where)
        for code, where in source_codes().items()
        if code not in sections()
    }
    assert not missing, f"add a ### `code` entry to docs/errors.md for: {missing}"


def test_every_entry_in_errors_md_is_a_code_in_use() -> None:
    stale = sorted(set(sections()) - set(source_codes()))
    assert not stale, f"docs/errors.md documents codes no longer used: {stale}"


def test_every_policy_code_has_a_doc_tested_example() -> None:
    text = DOC.read_text(encoding="utf-8")
    part_one = text.split("\n## 1.", 1)[1].split("\n## 2.", 1)[0]
    policy_only = set(HEADING.findall(part_one))
    tested = {code for code, _, _ in EXAMPLES}
    assert policy_only - NEEDS_PYTHON <= tested, policy_only - NEEDS_PYTHON - tested


# -- the tests: the examples are what returnrules prints ------------------------------


def rendered(text: str) -> tuple[list[str], list[str]]:
    """The lines ``returnrules check`` prints (errors, or warnings and the
    analysis's findings if it loads), and codes."""
    try:
        policy = loads_policy(
            text,
            source="rules.toml",
            base_dir=Path("/shop"),
            allow_modules=["shop_plugins.crm"],  # as the host of the examples
        )
    except PolicyError as exc:
        problems = exc.problems
    else:
        problems = policy.problems(policy.analyze())
    return [str(p) for p in problems], [p.code for p in problems]


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    EXAMPLES,
    ids=[f"{code}-{i}" for i, (code, _, _) in enumerate(EXAMPLES)],
)
def test_a_policy_example_prints_what_the_catalogue_shows(
    code: str, text: str, expected: list[str]
) -> None:
    lines, codes = rendered(text)
    for line in expected:
        assert line in lines
    assert code in [c for line, c in zip(lines, codes, strict=True) if line in expected]


BASE = json.loads(
    (REPO / "examples" / "requests" / "02-wrong-part-refund.json").read_text("utf-8")
)
Change = Callable[[dict[str, Any]], object]


def _set(path: tuple[Any, ...], value: object) -> Change:
    def change(request: dict[str, Any]) -> None:
        target: Any = request
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _pop(path: tuple[Any, ...]) -> Change:
    def change(request: dict[str, Any]) -> None:
        target: Any = request
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def _duplicate(*path: Any) -> Change:
    def change(request: dict[str, Any]) -> None:
        target: Any = request
        for key in path:
            target = target[key]
        target.append(copy.deepcopy(target[0]))

    return change


def _many_lines(request: dict[str, Any]) -> None:
    line = request["lines"][0]
    order_line = request["order"]["lines"][0]
    request["order"]["lines"] = [dict(order_line, line=i) for i in range(1, 10_002)]
    request["lines"] = [dict(line, line=i) for i in range(1, 10_002)]


REQUEST_EXAMPLES: list[tuple[str, Change]] = [
    ("bad-value", _set(("lines", 0, "qty"), 0)),
    ("bad-value", _set(("order", "lines", 0, "unit_price"), float("nan"))),
    ("bad-value", _set(("requested_at",), "2026-11-20T10:00:00")),
    ("bad-value", _set(("lines", 0, "reason"), "defectve")),
    ("bad-value", _set(("order", "currency"), "usd")),
    ("bad-value", _set(("order", "lines", 0, "shipped_qty"), 5)),
    ("bad-value", _set(("id",), "x" * 1001)),
    ("bad-value", _set(("order", "lines", 0, "unit_price"), "１８０")),
    ("bad-value", _set(("order", "shipping_fee"), "0." + "0" * 24 + "1")),
    ("bad-value", _set(("customer", "tier"), "x" * 15_000_000)),
    ("unknown-key", _set(("lines", 0, "reson"), "x")),
    ("missing-key", _pop(("lines", 0, "reason"))),
    ("too-large", _many_lines),
    ("empty", _set(("lines",), [])),
    ("empty", _set(("order", "lines"), [])),
    ("currency-mismatch", _set(("order", "currency"), "USD")),
    ("duplicate-line", _duplicate("lines")),
    ("duplicate-line", _duplicate("order", "lines")),
    ("unknown-line", _set(("lines", 0, "line"), 7)),
    (
        "dates-out-of-order",
        _set(("order", "delivered_at"), "2026-11-06T09:00:00+08:00"),
    ),
    ("dates-out-of-order", _set(("requested_at",), "2026-11-01T10:00:00+08:00")),
]

POLICY = returnrules.load_policy(REPO / "rules.toml")


@pytest.mark.parametrize(
    ("code", "change"),
    REQUEST_EXAMPLES,
    ids=[f"{code}-{i}" for i, (code, _) in enumerate(REQUEST_EXAMPLES)],
)
def test_a_request_example_is_in_the_catalogue(code: str, change: Change) -> None:
    request = copy.deepcopy(BASE)
    change(request)
    with pytest.raises(RequestError) as info:
        POLICY.parse_request(request)
    problems = [p for p in info.value.problems if p.code == code]
    assert problems, [str(p) for p in info.value.problems]
    body = sections()[code]
    assert any(f"request.json: {p}" in body for p in problems), [
        str(p) for p in problems
    ]


def test_the_data_example_is_in_the_catalogue() -> None:
    with pytest.raises(RequestError) as info:
        POLICY.check_data({"stock": {"X": {"on_hand": -1}}})
    (problem,) = info.value.problems
    assert f"data.toml: {problem}" in sections()[problem.code]


def _plugin(**hooks: Callable[..., Any]) -> object:
    return types.SimpleNamespace(
        __name__="crm", **{k: hookimpl(v) for k, v in hooks.items()}
    )


def _divide(register: object) -> None:
    _ = 1 / 0


def _register_nope(register: Callable[[object], None]) -> None:
    register("nope")


@pytest.mark.parametrize(
    ("code", "plugin"),
    [
        ("plugin-failed", _plugin(returnrules_register_checks=_divide)),
        ("plugin-invalid", _plugin(returnrules_register_facts=_register_nope)),
    ],
)
def test_a_plugin_example_is_in_the_catalogue(code: str, plugin: object) -> None:
    with pytest.raises(PolicyError) as info:
        loads_policy(
            'version = 1\n[policy]\ncurrency = "CNY"\n',
            source="rules.toml",
            plugins=[plugin],
            autoload=False,
        )
    (problem,) = info.value.problems
    assert problem.code == code
    assert str(problem) in sections()[code]


def test_the_duplicate_plugin_example_is_in_the_catalogue(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "vip.py").write_text("")
    text = 'version = 1\n[policy]\ncurrency = "CNY"\n[plugins]\n'
    text += 'modules = ["a/vip.py", "b/vip.py"]\n'
    with pytest.raises(PolicyError) as info:
        loads_policy(text, source="rules.toml", base_dir=tmp_path, autoload=False)
    (problem,) = info.value.problems
    assert problem.code == "duplicate-plugin"
    assert str(problem) in sections()["duplicate-plugin"]
