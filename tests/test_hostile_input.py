"""Hostile input: nothing from a policy or a request runs as code or leaks.

* The compiled matcher's source (``Policy.matcher.source``) never contains text
  from the policy: every literal is bound as an argument of a factory, every
  name is made from numbers.  Checked structurally with :mod:`ast` on generated
  policies full of Python code, quotes, newlines and format strings, and the
  evaluation still compares those strings correctly.
* Message templates reach only declared facts: attribute walks, indexing,
  conversions and format specs are load-time errors, and values from a request
  are never formatted a second time.
* ``[plugins] modules`` files resolve relative to the policy file.
* Absurd inputs hit limits with clear, located errors; odd but legal ones have
  documented behaviour.  See ``docs/reliability.md``.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import datetime as dt
import io
import json
import os
import re
import string
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import returnrules
from returnrules import (
    PolicyError,
    RequestError,
    load_policy,
    loads_policy,
    parse_request,
)
from returnrules.cli import main
from returnrules.files.nesting import MAX_NESTING
from returnrules.model.convert import CONTROL, MAX_STRING
from returnrules.model.reader import MAX_LINES
from returnrules.plugin.api import FailedFact
from returnrules.policy.check import MAX_DEPTH, MAX_RULES
from returnrules.policy.load import MAX_POLICY_BYTES
from tests.conftest import BASE_REQUEST
from tests.plugins import sample

HEAD = 'version = 1\n[policy]\ncurrency = "CNY"\ndefault = "review"\n'

PAYLOADS = [
    "__import__('os').system('echo pwned')",
    '"); __import__("os").system("id"); ("',
    "'''\nimport os\n'''",
    '"""; raise SystemExit; """',
    "\\x00\\n\\\\",
    "{line.__class__.__init__.__globals__}",
    "{0.__globals__[os]}",
    "%(x)s %s %d",
    "${jndi:ldap://x}",
    "f'{1+1}'",
    "lambda: None",
    "ctx.data",
    "m |= 1",
    "\n    m |= 9999\n",
    "C0",
    "U",
    "exec",
    "<script>alert(1)</script>",
    "退单'\"\\",
    "\u202e\u200b",
    "",
]

RULE_IDS = [
    "__import__",
    "exec",
    "eval",
    "ctx",
    "match",
    "make",
    "m",
    "errs",
    "os-system",
    "0",
    "-",
    "_",
]

NAME = re.compile(r"ctx|errs|keep|make|match|Exception|[A-Za-z]{1,3}\d*")
"""The generator's own names: a few words, and letters with a number."""


def model_attributes() -> set[str]:
    """Public names of what the generated code may walk: the line context and
    the request model (never anything a policy wrote)."""
    names: set[str] = {"values"}
    classes: tuple[type, ...] = (
        returnrules.LineContext,
        returnrules.Request,
        returnrules.Order,
        returnrules.OrderLine,
        returnrules.ReturnLine,
        returnrules.Customer,
        returnrules.Money,
        FailedFact,  # a failed fact's marker: .fail() raises FactUnavailable
    )
    for cls in classes:
        if attrs.has(cls):
            names |= {f.name for f in attrs.fields(cls)}
        names |= {n for n in dir(cls) if not n.startswith("_")}
    return names


def source_is_inert(source: str) -> None:
    """The generated source holds no string, and only names made from numbers."""
    tree = ast.parse(source)
    attributes = model_attributes()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            assert node.value is None or type(node.value) in (int, bool), node.value
        elif isinstance(node, ast.Name):
            assert NAME.fullmatch(node.id), node.id
        elif isinstance(node, ast.arg):
            assert NAME.fullmatch(node.arg), node.arg
        elif isinstance(node, ast.Attribute):
            assert node.attr in attributes, node.attr
        elif isinstance(node, ast.FunctionDef):
            assert NAME.fullmatch(node.name), node.name
            assert not node.decorator_list
        else:
            assert not isinstance(
                node, ast.Import | ast.ImportFrom | ast.Lambda | ast.Subscript
            )


def escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


hostile = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(max_size=40),
    st.builds(
        "".join, st.lists(st.sampled_from([*PAYLOADS, "{", "}", "'", '"']), max_size=4)
    ),
).filter(lambda s: len(s) <= MAX_STRING)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule_id=st.sampled_from(RULE_IDS),
    sku=hostile,
    customer=hostile,
    other=hostile,
    title=hostile,
    message=hostile,
    to=hostile,
    note=hostile,
    label=hostile,
)
def test_policy_strings_never_reach_the_generated_source(
    rule_id: str,
    sku: str,
    customer: str,
    other: str,
    title: str,
    message: str,
    to: str,
    note: str,
    label: str,
) -> None:
    document = {
        "version": 1,
        "policy": {"currency": "CNY", "default": "approve"},
        "vocab": {"reason": {"hostile_code": label}},
        "rule": [
            {
                "id": rule_id,
                "title": title,
                "when": {
                    "all": [
                        {"fact": "part.sku", "eq": sku},
                        {"fact": "customer.id", "in": [customer, other]},
                        {"not": {"fact": "part.brand", "eq": other + "x"}},
                    ]
                },
                "decide": "reject",
                "message": escape_braces(message) + "{part.sku}",
                "then": [{"action": "note", "to": to, "message": escape_braces(note)}],
                "for": ["reject"],
            }
        ],
    }
    policy = loads_policy(
        tomli_w.dumps(document), plugins=[sample], autoload=False, source="p.toml"
    )
    source_is_inert(policy.engine.matcher.source)
    # Every value is bound as a constant, so the source does not depend on the
    # strings at all: it is the source of the same policy with plain ones.
    plain = {sku: "S", customer: "C", other: "O", other + "x": "Ox"}
    rule = {
        "id": rule_id,
        "when": {
            "all": [
                {"fact": "part.sku", "eq": plain[sku]},
                {"fact": "customer.id", "in": [plain[customer], plain[other]]},
                {"not": {"fact": "part.brand", "eq": plain[other + "x"]}},
            ]
        },
        "decide": "reject",
    }
    baseline = loads_policy(
        tomli_w.dumps({**document, "vocab": {}, "rule": [rule]}),
        plugins=[sample],
        autoload=False,
        source="p.toml",
    )
    assert policy.engine.matcher.source == baseline.engine.matcher.source

    # A request's text may not hold control characters (see the control
    # character test below); the policy's may.
    assume(not CONTROL.search(sku + customer))
    request = copy.deepcopy(BASE_REQUEST)
    request["order"]["lines"][0]["sku"] = sku
    request["customer"]["id"] = customer
    (line,) = policy.evaluate(request).lines
    assert line.decision == "reject"
    assert line.decided_by == (rule_id,)
    assert line.messages == (message + sku,)
    assert [a.to_dict() for a in line.actions] == [
        {"action": "note", "rule": rule_id, "to": to, "message": note}
    ]
    request["order"]["lines"][0]["sku"] = sku + "!"
    assert policy.evaluate(request).lines[0].decision == "approve"


def test_the_shipped_policy_compiles_to_inert_source() -> None:
    policy = load_policy(Path(__file__).parents[1] / "rules.toml")
    source_is_inert(policy.engine.matcher.source)
    for rule in policy.rules:
        assert f'"{rule.id}"' not in policy.engine.matcher.source


def test_the_generated_code_has_no_builtins() -> None:
    policy = loads_policy(
        HEAD + '[[rule]]\nid = "r"\nwhen = { fact = "line.qty", gt = 1 }\n',
        autoload=False,
    )
    globals_ = policy.engine.matcher.match.__globals__
    assert globals_["__builtins__"] == {}  # it catches a bound tuple, not a builtin


# -- message templates ----------------------------------------------------------------

BAD_TEMPLATES = {
    "{line.__class__}": "{line.__class__} is not a fact",
    "{0.__globals__}": "{0.__globals__} is not a fact",
    "{line.qty.__class__}": "{line.qty.__class__} is not a fact",
    "{request}": "{request} is not a fact",
    "{line.qty[0]}": "{line.qty[0]} is not a fact",
    "{}": "{} is not a fact",
    "{0}": "{0} is not a fact",
    "{line.qty!r}": "{line.qty!r}: write just {line.qty}, without ! or :",
    "{line.qty:>{line.qty}}": "{line.qty:>{line.qty}}: write just {line.qty}",
    "{part.sku:%s}": "{part.sku:%s}: write just {part.sku}",
    "{": 'Single "{" encountered in format string',
    "}": 'Single "}" encountered in format string',
    "{line.qty": 'expected "}" before end of string',
}


@pytest.mark.parametrize("where", ["message", "notify"])
@pytest.mark.parametrize("template", BAD_TEMPLATES)
def test_a_template_reaching_beyond_facts_is_a_load_time_error(
    template: str, where: str
) -> None:
    quoted = json.dumps(template)
    if where == "message":
        rule = f'decide = "reject"\nmessage = {quoted}\n'
    else:
        rule = f'then = [ {{ action = "note", to = "x", message = {quoted} }} ]\n'
    with pytest.raises(PolicyError) as info:
        loads_policy(
            HEAD + f'[[rule]]\nid = "r"\n{rule}',
            plugins=[sample],
            autoload=False,
            source="p.toml",
        )
    (problem,) = info.value.problems
    assert problem.code == "bad-value"
    assert problem.line == (8 if where == "message" else 7)
    assert problem.col >= 1
    assert BAD_TEMPLATES[template] in problem.message


def test_escaped_braces_are_literal_text() -> None:
    policy = loads_policy(
        HEAD
        + '[[rule]]\nid = "r"\ndecide = "reject"\n'
        + 'message = "{{line.__class__}} {{0.__globals__}} {line.qty}}}"\n',
        autoload=False,
    )
    (line,) = policy.evaluate(copy.deepcopy(BASE_REQUEST)).lines
    assert line.messages == ("{line.__class__} {0.__globals__} 2}",)


def test_request_values_are_never_formatted_again() -> None:
    policy = loads_policy(
        HEAD
        + '[[rule]]\nid = "r"\ndecide = "reject"\n'
        + 'message = "{customer.id}/{part.sku}"\n',
        autoload=False,
    )
    request = copy.deepcopy(BASE_REQUEST)
    request["customer"]["id"] = "{line.__class__}"
    request["order"]["lines"][0]["sku"] = "{0.__globals__}%s{{"
    (line,) = policy.evaluate(request).lines
    assert line.messages == ("{line.__class__}/{0.__globals__}%s{{",)


def attempt(text: str) -> returnrules.Policy | PolicyError:
    try:
        return loads_policy(text, autoload=False, source="p.toml")
    except PolicyError as exc:
        return exc


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("{}!:.[]0_ab lineqtypartsku"), max_size=30))
def test_any_template_loads_only_with_plain_fact_placeholders(text: str) -> None:
    document = {
        "version": 1,
        "policy": {"currency": "CNY"},
        "rule": [{"id": "r", "decide": "reject", "message": text}],
    }
    policy = attempt(tomli_w.dumps(document))
    if isinstance(policy, PolicyError):
        assert {p.code for p in policy.problems} == {"bad-value"}
        assert all(p.line >= 1 and p.col >= 1 for p in policy.problems)
        return
    for _, field, spec, conversion in string.Formatter().parse(text):
        assert not spec
        assert not conversion
        assert field is None or policy.registry.fact(field) is not None
    (line,) = policy.evaluate(copy.deepcopy(BASE_REQUEST)).lines
    (rendered,) = line.messages
    assert "<" not in rendered
    assert " at 0x" not in rendered


# -- plugin module paths --------------------------------------------------------------

PLUGIN = """\
from returnrules import Fact, FactType, hookimpl


@hookimpl
def returnrules_register_facts(register):
    register(Fact("where.am_i", FactType("str"), lambda ctx: {where!r}))
"""

USES = '[[rule]]\nid = "r"\nwhen = { fact = "where.am_i", eq = "policy-dir" }\n'


@pytest.fixture(autouse=True)
def _forget_plugin_files() -> Iterator[None]:
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("_returnrules_plugin_"):
            del sys.modules[name]


def test_a_plugin_file_resolves_relative_to_the_policy_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "cwd").mkdir()
    (tmp_path / "policy" / "where.py").write_text(PLUGIN.format(where="policy-dir"))
    (tmp_path / "cwd" / "where.py").write_text(PLUGIN.format(where="cwd"))
    rules = tmp_path / "policy" / "rules.toml"
    rules.write_text(HEAD + '[plugins]\nmodules = ["where.py"]\n' + USES)
    monkeypatch.chdir(tmp_path / "cwd")
    policy = load_policy(rules, autoload=False)
    (line,) = policy.evaluate(copy.deepcopy(BASE_REQUEST)).lines
    assert line.matched == ("r",)


def test_a_dotdot_plugin_path_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy is a rule author's file: it loads plugin files from its own
    directory tree only (``../`` and absolute paths are refused, never run)."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "shop").mkdir()
    (tmp_path / "shared" / "where.py").write_text("raise SystemExit('ran')\n")
    rules = tmp_path / "shop" / "rules.toml"
    rules.write_text(HEAD + '[plugins]\nmodules = ["../shared/where.py"]\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PolicyError) as info:
        load_policy(rules, autoload=False)
    assert [p.code for p in info.value.problems] == ["plugin-outside"]


@pytest.mark.parametrize("spec", ["missing.py", "sub/missing.py", "subdir/"])
def test_a_missing_plugin_file_is_a_located_problem(tmp_path: Path, spec: str) -> None:
    (tmp_path / "subdir").mkdir()
    rules = tmp_path / "rules.toml"
    rules.write_text(HEAD + f'[plugins]\nmodules = ["ok.py", {json.dumps(spec)}]\n')
    (tmp_path / "ok.py").write_text("")
    with pytest.raises(PolicyError) as info:
        load_policy(rules, autoload=False)
    (problem,) = info.value.problems
    assert problem.code == "plugin-not-found"
    assert (problem.line, problem.col) == (6, 21)
    assert problem.message == (
        f'plugin file "{spec}" not found (looked for {tmp_path / spec})'
    )


def test_loads_policy_resolves_plugin_files_from_base_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "where.py").write_text(PLUGIN.format(where="policy-dir"))
    monkeypatch.chdir(Path(__file__).parent)
    text = HEAD + '[plugins]\nmodules = ["where.py"]\n' + USES
    policy = loads_policy(text, base_dir=tmp_path, autoload=False)
    assert policy.evaluate(copy.deepcopy(BASE_REQUEST)).lines[0].matched == ("r",)
    with pytest.raises(PolicyError) as info:
        loads_policy(text, autoload=False)  # no base_dir: the current directory
    assert info.value.problems[0].code == "plugin-not-found"


def test_a_plugin_file_that_raises_is_a_located_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import no_such_module_anywhere\n")
    rules = tmp_path / "rules.toml"
    rules.write_text(HEAD + '[plugins]\nmodules = ["bad.py"]\n')
    with pytest.raises(PolicyError) as info:
        load_policy(rules, autoload=False)
    (problem,) = info.value.problems
    assert problem.code == "plugin-import"
    assert (problem.line, problem.col) == (6, 12)
    assert problem.message == (
        'plugin "bad" (bad.py) failed to import: ModuleNotFoundError: '
        "No module named 'no_such_module_anywhere'"
    )


# -- limits ----------------------------------------------------------------------


def nested_not(depth: int) -> str:
    return "{ not = " * depth + '{ fact = "line.qty", gt = 1 }' + " }" * depth


def test_conditions_may_nest_up_to_max_depth() -> None:
    loads_policy(
        HEAD + f'[[rule]]\nid = "r"\nwhen = {nested_not(MAX_DEPTH)}\n', autoload=False
    )


def test_conditions_nested_deeper_than_max_depth_are_a_located_error() -> None:
    with pytest.raises(PolicyError) as info:
        loads_policy(
            HEAD + f'[[rule]]\nid = "r"\nwhen = {nested_not(MAX_DEPTH + 1)}\n',
            autoload=False,
            source="p.toml",
        )
    (problem,) = info.value.problems
    assert problem.code == "too-deep"
    assert problem.message == f"conditions nest deeper than {MAX_DEPTH} levels"
    assert problem.line == 7
    assert problem.col > 1


def nested_all(depth: int) -> str:
    return "{ all = [" * depth + '{ fact = "line.qty", gt = 1 }' + "] }" * depth


def test_conditions_nested_up_to_max_depth_pass_the_toml_nesting_limit() -> None:
    # An "all" is two levels of TOML (a table, then an array): the checker,
    # not the file reader, must be the one to refuse conditions too deep.
    rule = f'[[rule]]\nid = "r"\nwhen = {nested_all(MAX_DEPTH)}\n'
    loads_policy(HEAD + rule, autoload=False)
    too_deep = rule.replace(nested_all(MAX_DEPTH), nested_all(MAX_DEPTH + 1))
    with pytest.raises(PolicyError) as info:
        loads_policy(HEAD + too_deep, autoload=False)
    assert [p.message for p in info.value.problems] == [
        f"conditions nest deeper than {MAX_DEPTH} levels"
    ]


DEEP = f"keys and arrays nest deeper than {MAX_NESTING} levels"


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("x = " + "[" * 50_000 + "]" * 50_000 + "\n", "1:104"),
        (
            HEAD + '[[rule]]\nid = "r"\nwhen' + ".not" * 100_000 + '.fact = "x"\n',
            "7:393",
        ),
        (HEAD + "[" + ".".join(["rule"] * 40_000) + "]\n", "5:501"),
    ],
    ids=["arrays", "dotted-key", "header"],
)
def test_toml_nested_deeper_than_the_limit_is_a_located_error(
    text: str, at: str
) -> None:
    with pytest.raises(PolicyError) as info:
        loads_policy(text, autoload=False, source="p.toml")
    assert [(str(p), p.code) for p in info.value.problems] == [
        (
            f"p.toml:{at}: error: {DEEP}",
            "too-deep",
        )
    ]


def test_a_policy_text_larger_than_the_limit_is_refused() -> None:
    text = HEAD + "#" * MAX_POLICY_BYTES
    with pytest.raises(PolicyError) as info:
        loads_policy(text, autoload=False, source="big.toml")
    assert [(str(p), p.code) for p in info.value.problems] == [
        (
            f"big.toml:1:1: error: policy larger than {MAX_POLICY_BYTES} bytes",
            "too-large",
        )
    ]


def test_a_policy_file_larger_than_the_limit_is_refused_before_reading(
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.toml"
    with big.open("wb") as f:
        f.truncate(MAX_POLICY_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(PolicyError) as info:
        load_policy(big, autoload=False)
    assert [p.code for p in info.value.problems] == ["too-large"]


def test_more_rules_than_the_limit_is_a_located_error() -> None:
    rules = "".join(f'[[rule]]\nid = "r{i}"\n' for i in range(MAX_RULES + 1))
    with pytest.raises(PolicyError) as info:
        loads_policy(HEAD + rules, autoload=False, source="p.toml")
    assert [str(p) for p in info.value.problems] == [
        f"p.toml:5:3: error: more than {MAX_RULES} rules"
    ]


@pytest.mark.parametrize("name", ["request.json", "request.toml"])
def test_request_files_larger_than_the_limit_are_refused_unread(
    tmp_path: Path, name: str
) -> None:
    big = tmp_path / name
    with big.open("wb") as f:
        f.truncate(returnrules.cli.inputs.MAX_BYTES + 1)  # sparse: nothing is written
    ((_, error),) = list(returnrules.cli.inputs.read_requests(str(big)))
    assert isinstance(error, RequestError)
    assert [(p.message, p.code) for p in error.problems] == [
        (f"larger than {returnrules.cli.inputs.MAX_BYTES} bytes", "too-large")
    ]
    with pytest.raises(RequestError):
        returnrules.cli.inputs.read_data(big)


# -- files without end, lines without end, nesting without end --------------------

CLI_DATA = Path(__file__).parent / "data" / "cli"
RULES = str(CLI_DATA / "rules.toml")
MAX_BYTES = returnrules.cli.inputs.MAX_BYTES

Cli = Callable[..., tuple[int, list[str], list[str]]]


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    """``cli("eval", ...)`` in a directory with a request of the CLI test policy
    (:data:`RULES`): exit status, stdout lines, stderr lines."""
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv(  # the CLI test policy names the test plugins' modules
        "RETURNRULES_ALLOW_MODULES", "tests.plugins.sample,tests.plugins.cli_extras"
    )
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    for name in ("request.toml", "partial.json"):
        (tmp_path / name).write_bytes((CLI_DATA / name).read_bytes())

    def run(*argv: str, stdin: bytes | None = None) -> tuple[int, list[str], list[str]]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out.splitlines(), err.splitlines()

    return run


def _write_forever(fd: int) -> None:
    """Write to *fd* until its reader goes away, as ``yes`` does."""
    with contextlib.suppress(OSError), open(fd, "wb") as pipe:
        while True:
            pipe.write(b"y = 1\n" * 1000)


@contextlib.contextmanager
def endless_pipe() -> Iterator[str]:
    """A path like ``<(yes)``'s: ``/dev/fd/N``, a pipe that never ends."""
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=_write_forever, args=(write_end,), daemon=True)
    writer.start()
    try:
        yield f"/dev/fd/{read_end}"
    finally:
        os.close(read_end)
        writer.join()


def test_a_policy_that_never_ends_is_refused_at_the_limit(cli: Cli) -> None:
    large = f"error: policy larger than {MAX_POLICY_BYTES} bytes"
    assert cli("check", "/dev/zero") == (
        1,
        [f"/dev/zero:1:1: {large}", "Found 1 error."],
        [],
    )
    with endless_pipe() as path:
        assert cli("check", path) == (1, [f"{path}:1:1: {large}", "Found 1 error."], [])


def test_request_and_data_files_that_never_end_are_refused_at_the_limit(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    large = f"larger than {MAX_BYTES} bytes"
    code, out, err = cli(
        "eval", "zero.toml", "zero.json", "request.toml", "--json", "--rules", RULES
    )
    assert code == 2
    assert json.loads(out[0])["request"] == "RT-1"
    assert err == [
        f"zero.toml: {large}",
        f"zero.json: {large}",
        "2 requests could not be evaluated",
    ]
    assert cli("eval", "request.toml", "--data", "zero.toml", "--rules", RULES) == (
        2,
        [],
        [f"zero.toml: {large}"],
    )
    code, out, err = cli("eval", "-", "--rules", RULES, stdin=b" " * (MAX_BYTES + 1))
    assert (code, err[0]) == (2, f"<stdin>: {large}")


def test_a_named_pipe_that_never_ends_is_refused_at_the_limit(
    cli: Cli, tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "fifo.toml")
    writer = threading.Thread(
        target=lambda: _write_forever(os.open(tmp_path / "fifo.toml", os.O_WRONLY)),
        daemon=True,
    )
    writer.start()
    code, _, err = cli("eval", "fifo.toml", "--rules", RULES)
    writer.join(timeout=60)  # it stops when the reader goes away
    assert (code, err[0]) == (2, f"fifo.toml: larger than {MAX_BYTES} bytes")
    assert not writer.is_alive()


def test_a_case_file_that_never_ends_is_refused_at_the_limit(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "cases.toml").symlink_to("/dev/zero")
    assert cli("test", "cases.toml") == (
        2,
        [
            f"cases.toml:1:1: error: case file larger than {MAX_BYTES} bytes",
            "0 passed, 0 failed",
        ],
        [],
    )


DEEP_KEY = "x" + ".a" * 40_000 + " = 1\n"  # 80 KB; six gigabytes once


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("deep.toml", DEEP_KEY, f"deep.toml:1:200: {DEEP}"),
        ("deep.toml", "x = " + "[" * 50_000 + "]" * 50_000, f"deep.toml:1:104: {DEEP}"),
        ("deep.toml", "[" + "a." * 40_000 + "a]\n", f"deep.toml:1:201: {DEEP}"),
        (
            "deep.json",
            '{"x": ' + "[" * 50_000 + "]" * 50_000 + "}",
            f"deep.json:1:106: {DEEP}",
        ),
    ],
    ids=["dotted-key", "arrays", "header", "json"],
)
def test_a_request_nested_too_deeply_is_refused_at_its_place(
    cli: Cli, tmp_path: Path, name: str, text: str, error: str
) -> None:
    (tmp_path / name).write_text(text)
    code, out, err = cli("eval", name, "request.toml", "--json", "--rules", RULES)
    assert (code, err) == (2, [error, "1 request could not be evaluated"])
    assert json.loads(out[0])["request"] == "RT-1"


def test_data_nested_too_deeply_is_refused_at_its_place(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "deep.toml").write_text("[stock]\n" + DEEP_KEY)
    assert cli("eval", "request.toml", "--data", "deep.toml", "--rules", RULES) == (
        2,
        [],
        [f"deep.toml:2:198: {DEEP}"],
    )


def test_a_policy_nested_too_deeply_is_refused_at_its_place(
    cli: Cli, tmp_path: Path
) -> None:
    text = HEAD + '[[rule]]\nid = "r"\nwhen' + ".not" * 100_000 + '.fact = "x"\n'
    (tmp_path / "deep.toml").write_text(text)  # 400 KB; 24 GB once
    assert cli("check", "deep.toml") == (
        1,
        [f"deep.toml:7:393: error: {DEEP}", "Found 1 error."],
        [],
    )


def test_a_case_file_nested_too_deeply_is_refused_at_its_place(
    cli: Cli, tmp_path: Path
) -> None:
    text = '[[case]]\nname = "x"\nwith' + ".a" * 40_000 + " = 1\n"
    (tmp_path / "cases.toml").write_text(text)
    assert cli("test", "cases.toml") == (
        2,
        [f"cases.toml:3:199: error: {DEEP}", "0 passed, 0 failed"],
        [],
    )


def test_dots_and_brackets_in_strings_and_comments_are_not_nesting(
    cli: Cli, tmp_path: Path
) -> None:
    request = (tmp_path / "request.toml").read_text()
    noise = "a.[{'" * 199
    text = request.replace('name = "前刹车片"', f'name = "{noise}"  # {noise * 50}')
    (tmp_path / "noisy.toml").write_text(f"# {'a.' * 20_000}[[[\n" + text)
    code, out, err = cli("eval", "noisy.toml", "--json", "--rules", RULES)
    assert (code, err) == (0, [])
    assert json.loads(out[0])["decision"] == "approve"


def jsonl(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_jsonl_line_longer_than_the_limit_is_skipped_and_the_batch_goes_on(
    cli: Cli, tmp_path: Path
) -> None:
    good = json.dumps(json.loads((tmp_path / "partial.json").read_text()))
    long = '{"id": "' + "x" * MAX_BYTES + '"}'
    path = jsonl(tmp_path, good, long, good)
    code, out, err = cli("eval", path, "--json", "--rules", RULES)
    assert code == 2
    assert len(out) == 2
    assert err == [
        f"{path}:2: line longer than {MAX_BYTES} bytes",
        "1 request could not be evaluated",
    ]


def test_a_jsonl_line_nested_too_deeply_is_refused_at_its_place(
    cli: Cli, tmp_path: Path
) -> None:
    good = json.dumps(json.loads((tmp_path / "partial.json").read_text()))
    path = jsonl(tmp_path, good, "[" * 50_000, good)
    code, out, err = cli("eval", path, "--json", "--rules", RULES)
    assert (code, len(out)) == (2, 2)
    assert err == [f"{path}:2:101: {DEEP}", "1 request could not be evaluated"]


def test_a_jsonl_file_that_never_ends_a_line_is_refused_once(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "zero.jsonl").symlink_to("/dev/zero")
    assert cli("eval", "zero.jsonl", "--rules", RULES) == (
        2,
        [],
        [
            f"zero.jsonl:1: line longer than {MAX_BYTES} bytes",
            "1 request could not be evaluated",
        ],
    )


def request_with_lines(count: int) -> dict[str, Any]:
    request = copy.deepcopy(BASE_REQUEST)
    order_line = request["order"]["lines"][0]
    request["order"]["lines"] = [dict(order_line, line=i) for i in range(1, count + 1)]
    request["lines"] = [dict(request["lines"][0], line=i) for i in range(1, count + 1)]
    return request


def test_more_request_lines_than_the_limit_is_an_error() -> None:
    with pytest.raises(RequestError) as info:
        parse_request(request_with_lines(MAX_LINES + 1))
    assert [(str(p), p.code) for p in info.value.problems] == [
        (f"$.lines: more than {MAX_LINES} lines", "too-large")
    ]


@pytest.mark.parametrize(
    "where",
    [("id",), ("customer", "id"), ("order", "id"), ("order", "lines", 0, "sku")],
)
def test_strings_longer_than_the_limit_are_an_error(where: tuple[Any, ...]) -> None:
    request = copy.deepcopy(BASE_REQUEST)
    target: Any = request
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = "x" * MAX_STRING
    parse_request(request)
    target[where[-1]] = "x" * (MAX_STRING + 1)
    with pytest.raises(RequestError) as info:
        parse_request(request)
    assert [(p.path, p.message) for p in info.value.problems] == [
        (where, f"string longer than {MAX_STRING} characters")
    ]


# -- numbers ----------------------------------------------------------------------


def problems_of(request: dict[str, Any], **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(RequestError) as info:
        parse_request(request, **kwargs)
    return [(str(p), p.code) for p in info.value.problems]


def changed(path: tuple[Any, ...], value: object) -> dict[str, Any]:
    request = copy.deepcopy(BASE_REQUEST)
    target: Any = request
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return request


QTY = ("lines", 0, "qty")
PRICE = ("order", "lines", 0, "unit_price")

BAD_NUMBERS = {
    "huge-qty": (QTY, 10**30, "$.lines[0].qty: integer out of range: " + str(10**30)),
    "zero-qty": (QTY, 0, "$.lines[0].qty: must be ≥ 1, got 0"),
    "negative-qty": (QTY, -2, "$.lines[0].qty: must be ≥ 1, got -2"),
    "float-qty": (QTY, 2.0, "$.lines[0].qty: expected an integer, got 2.0"),
    "bool-qty": (QTY, True, "$.lines[0].qty: expected an integer, got true"),
    "nan-qty": (QTY, float("nan"), "$.lines[0].qty: expected an integer, got nan"),
    "nan-price": (
        PRICE,
        float("nan"),
        "$.order.lines[0].unit_price: expected a finite number, got nan",
    ),
    "inf-price": (
        PRICE,
        float("inf"),
        "$.order.lines[0].unit_price: expected a finite number, got inf",
    ),
    "nan-string-price": (
        PRICE,
        "NaN",
        '$.order.lines[0].unit_price: expected a decimal number like 180.10, got "NaN"',
    ),
    "exponent-price": (
        PRICE,
        "1e400",
        "$.order.lines[0].unit_price: expected a decimal number like 180.10, "
        'got "1e400"',
    ),
    "huge-price": (
        PRICE,
        10**30,
        f"$.order.lines[0].unit_price: number out of range: {10**30}",
    ),
    "negative-price": (
        PRICE,
        "-1.00",
        "$.order.lines[0].unit_price: must be ≥ 0, got -1.00",
    ),
    "negative-returned": (
        ("order", "lines", 0, "returned_qty"),
        -1,
        "$.order.lines[0].returned_qty: must be ≥ 0, got -1",
    ),
    "shipped-over-ordered": (
        ("order", "lines", 0, "shipped_qty"),
        5,
        "$.order.lines[0].shipped_qty: shipped_qty 5 exceeds the ordered qty 4",
    ),
}


@pytest.mark.parametrize("case", BAD_NUMBERS)
def test_absurd_numbers_in_a_request_are_clean_errors(case: str) -> None:
    path, value, message = BAD_NUMBERS[case]
    assert problems_of(changed(path, value)) == [(message, "bad-value")]


def test_nan_in_a_json_request_is_a_syntax_error(tmp_path: Path) -> None:
    text = json.dumps(BASE_REQUEST).replace('"180.00"', "NaN")
    (tmp_path / "r.json").write_text(text)
    with pytest.raises(RequestError) as info:
        list(returnrules.cli.inputs.read_document(tmp_path / "r.json"))
    assert str(info.value).endswith("invalid JSON: NaN is not a number JSON allows")


BAD_LITERALS = {
    "huge-int": (
        '{ fact = "line.qty", gt = 1000000000000000000000000000000 }',
        "line.qty is int: integer out of range: 1000000000000000000000000000000",
    ),
    "nan-int": (
        '{ fact = "line.qty", gt = nan }',
        "line.qty is int: expected an integer, got nan",
    ),
    "inf-money": (
        '{ fact = "line.amount", gt = inf }',
        "line.amount is money: expected a finite number, got inf",
    ),
    "nan-money": (
        '{ fact = "line.amount", lt = -nan }',
        "line.amount is money: expected a finite number, got nan",
    ),
    "exponent-money": (
        '{ fact = "line.amount", lt = "1e3" }',
        'line.amount is money: expected a decimal number like 180.10, got "1e3"',
    ),
    "huge-money": (
        '{ fact = "line.amount", lt = 1e300 }',
        "line.amount is money: number out of range: 1e+300",
    ),
}


@pytest.mark.parametrize("case", BAD_LITERALS)
def test_absurd_numbers_in_a_policy_are_located_errors(case: str) -> None:
    condition, message = BAD_LITERALS[case]
    with pytest.raises(PolicyError) as info:
        loads_policy(
            HEAD + f'[[rule]]\nid = "r"\nwhen = {condition}\n',
            autoload=False,
            source="p.toml",
        )
    (problem,) = info.value.problems
    assert (problem.line, problem.message, problem.code) == (7, message, "bad-literal")
    assert problem.col > 1


def test_a_huge_priority_is_accepted() -> None:
    """Documented behaviour: priority is any integer (only ordering matters)."""
    loads_policy(
        HEAD + '[[rule]]\nid = "r"\npriority = 100000000000000000000000\n',
        autoload=False,
    )


# -- currencies, line numbers, dates ---------------------------------------------------


def test_a_request_in_another_currency_is_an_error() -> None:
    request = changed(("order", "currency"), "USD")
    assert problems_of(request, currency="CNY") == [
        (
            '$.order.currency: "USD" does not match the policy\'s currency "CNY"',
            "currency-mismatch",
        )
    ]


def test_a_request_that_names_one_currency_is_refused_by_a_policy_of_another() -> None:
    usd = loads_policy(HEAD.replace("CNY", "USD"), autoload=False)
    named = copy.deepcopy(BASE_REQUEST)
    named["order"]["currency"] = "CNY"
    request = parse_request(named)
    with pytest.raises(RequestError) as info:
        usd.evaluate(request)
    assert [p.code for p in info.value.problems] == ["currency-mismatch"]


def test_a_request_that_names_no_currency_takes_the_policys() -> None:
    # Regression: parse_request(mapping) fixed such a request to CNY, and the
    # contract's library example then failed for a policy in another currency.
    usd = loads_policy(HEAD.replace("CNY", "USD"), autoload=False)
    request = parse_request(copy.deepcopy(BASE_REQUEST))
    assert request.currency == "CNY"  # read without a policy
    decision = usd.evaluate(request)
    assert decision.to_dict() == usd.evaluate(copy.deepcopy(BASE_REQUEST)).to_dict()
    assert usd.plan(request).decision == decision.decision


def test_a_malformed_currency_is_an_error() -> None:
    assert problems_of(changed(("order", "currency"), "usd")) == [
        ('$.order.currency: not an ISO 4217 currency code: "usd"', "bad-value")
    ]


def test_duplicate_line_numbers_are_errors() -> None:
    request = copy.deepcopy(BASE_REQUEST)
    request["lines"].append(dict(request["lines"][0]))
    request["order"]["lines"].append(dict(request["order"]["lines"][1]))
    assert problems_of(request) == [
        ("$.order.lines[2].line: duplicate order line 2", "duplicate-line"),
        (
            "$.lines[1].line: order line 1 is listed twice; give one entry per line",
            "duplicate-line",
        ),
    ]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param([1], id="list"),
        pytest.param({"a": 1}, id="table"),
        pytest.param(None, id="none"),
        pytest.param("1", id="string"),
    ],
)
def test_a_line_number_of_the_wrong_type_is_a_clean_error(value: object) -> None:
    problems = problems_of(changed(("order", "lines", 0, "line"), value))
    assert problems[0][0].startswith("$.order.lines[0].line: ")


@pytest.mark.parametrize("where", [(), ("customer",), ("order", "lines", 0)])
def test_a_non_string_key_is_a_clean_error(where: tuple[Any, ...]) -> None:
    request = copy.deepcopy(BASE_REQUEST)
    target: Any = request
    for key in where:
        target = target[key]
    target[5] = "five"
    problems = problems_of(request)
    assert [code for _, code in problems] == ["unknown-key"]


DATES = {
    "delivered-before-placed": (
        ("order", "delivered_at"),
        "2026-10-01T00:00:00+08:00",
        "$.order.delivered_at: delivered_at is before placed_at",
    ),
    "delivered-before-shipped": (
        ("order", "shipped_at"),
        "2026-11-10T00:00:00+08:00",
        "$.order.delivered_at: delivered_at is before shipped_at",
    ),
    "requested-before-placed": (
        ("requested_at",),
        "2026-10-31T23:00:00+08:00",
        "$.requested_at: requested_at is before the order's placed_at",
    ),
}


@pytest.mark.parametrize("case", DATES)
def test_dates_out_of_order_are_errors(case: str) -> None:
    path, value, message = DATES[case]
    assert problems_of(changed(path, value)) == [(message, "dates-out-of-order")]


def test_a_request_before_delivery_is_an_error() -> None:
    request = changed(("order", "delivered_at"), "2026-11-25T10:00:00+08:00")
    assert [code for _, code in problems_of(request)] == ["dates-out-of-order"]


def test_a_date_and_a_datetime_in_the_same_day_are_in_order() -> None:
    request = changed(("order", "delivered_at"), "2026-11-01")
    parse_request(request)


@pytest.mark.parametrize(
    "path",
    [
        ("requested_at",),
        ("order", "placed_at"),
        ("order", "shipped_at"),
        ("order", "delivered_at"),
        ("order", "promised_at"),
    ],
)
def test_naive_datetimes_are_errors(path: tuple[str, ...]) -> None:
    request = changed(path, "2026-11-02T10:00:00")
    ((message, code),) = problems_of(request)
    assert code == "bad-value"
    assert message.endswith(
        "2026-11-02T10:00:00 has no UTC offset; write it like 2026-11-20T10:00:00+08:00"
    )
    request = changed(path, dt.datetime(2026, 11, 2, 10))
    assert [code for _, code in problems_of(request)] == ["bad-value"]


def test_requested_at_must_be_a_datetime() -> None:
    assert problems_of(changed(("requested_at",), "2026-11-20")) == [
        (
            "$.requested_at: 2026-11-20T00:00:00 has no UTC offset; "
            "write it like 2026-11-20T10:00:00+08:00",
            "bad-value",
        )
    ]


# -- hostile strings in a request ------------------------------------------------------


def test_control_characters_from_a_request_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    rules = tmp_path / "rules.toml"
    rules.write_text(
        HEAD + '[[rule]]\nid = "r"\ndecide = "reject"\nmessage = "{part.sku}"\n'
    )
    request = copy.deepcopy(BASE_REQUEST)
    request["id"] = "RT-9\nRT-FAKE  approve (通过)"
    request["customer"]["id"] = "C\x1b[2J\x1b]0;owned\x07"
    request["order"]["lines"][0]["sku"] = "SKU\r\n    decided by nobody"
    (tmp_path / "r.json").write_text(json.dumps(request))
    bad = copy.deepcopy(BASE_REQUEST)
    bad["lines"][0]["reason"] = "x\x1b[2J"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    main(
        [
            "eval",
            str(tmp_path / "r.json"),
            str(tmp_path / "bad.json"),
            "--rules",
            str(rules),
        ]
    )
    out, err = capsys.readouterr()
    for text in (out, err):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text), text
    assert "RT-FAKE" not in [line.split()[0] for line in out.splitlines() if line]


def test_code_in_request_strings_is_just_data() -> None:
    policy = loads_policy(
        HEAD
        + '[[rule]]\nid = "r"\n'
        + 'when = { fact = "part.sku", eq = "__import__(\'os\')" }\n'
        + 'decide = "reject"\nmessage = "{customer.id}"\n',
        autoload=False,
    )
    request = copy.deepcopy(BASE_REQUEST)
    request["order"]["lines"][0]["sku"] = "__import__('os')"
    request["customer"]["id"] = "{0.__globals__}"
    decision = policy.evaluate(request)
    assert decision.to_dict()["lines"][0]["messages"] == ["{0.__globals__}"]
    out = io.StringIO()
    json.dump(decision.to_dict(), out)
    assert "__globals__" in out.getvalue()
