"""Plugins that misbehave: a fault is contained to its line, named, and reported.

A check, fact, action or data provider that raises, returns the wrong type or
returns nonsense must never crash an evaluation or silently decide: the line
becomes ``review`` with an error naming the rule and the plugin, the other
lines and requests go on, and ``returnrules eval`` still exits 0 (every request
was evaluated) with the errors shown.  A plugin that fails while loading is a
``PolicyError`` problem naming it, never a traceback.

The broken plugin is ``tests/plugins/faulty.py``; the data-provider tests use
its ``Provider`` host object with the standard pack's stock and supplier hooks.
See ``docs/reliability.md``.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
import types
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

import returnrules
from returnrules import (
    Check,
    Decision,
    Fact,
    FactType,
    PolicyError,
    RequestError,
    hookimpl,
    loads_policy,
)
from returnrules.cli import main
from returnrules_std.stock import StockLevel
from returnrules_std.supplier import SupplierTerms
from tests.conftest import BASE_REQUEST
from tests.plugins import faulty

FAULTY = faulty.__name__  # the plugin's name when passed as a module object
FAULTY_FILE = Path(faulty.__file__ or "").resolve()

HEAD = 'version = 1\n[policy]\ncurrency = "CNY"\ndefault = "approve"\n'


@pytest.fixture(autouse=True)
def _clear_calls() -> Iterator[None]:
    faulty.CALLS.clear()
    yield
    faulty.CALLS.clear()


def two_lines() -> dict[str, Any]:
    """The base request with a second return line (the electrical part)."""
    request = copy.deepcopy(BASE_REQUEST)
    request["lines"].append(
        {"line": 2, "qty": 1, "reason": "defective", "condition": "opened"}
    )
    return request


def fragile(condition: str, *, then: str = "") -> returnrules.Policy:
    """A policy whose rule ``fragile`` reaches *condition* only on the brake line."""
    return loads_policy(
        HEAD
        + f"""
[[rule]]
id = "fragile"
when = {{ all = [ {{ fact = "part.category", eq = "brake" }}, {condition} ] }}
decide = "reject"
[[rule]]
id = "everyone"
then = [ {{ action = "faulty_ok" }} ]
{then}
""",
        plugins=[faulty],
        autoload=False,
    )


def assert_contained(decision: Decision, source: str, message: str) -> None:
    """Line 1 is review with exactly this error of rule fragile; line 2 is fine."""
    brake, electrical = decision.lines
    assert brake.decision == "review"
    assert [e.to_dict() for e in brake.errors] == [
        {"rule": "fragile", "source": source, "message": message}
    ]
    assert brake.matched == ("everyone",)  # the other rules still ran
    assert electrical.decision == "approve"
    assert electrical.errors == ()
    assert [a.to_dict() for a in electrical.actions] == [
        {"action": "faulty_ok", "rule": "everyone", "ok": True}
    ]
    assert decision.decision == "review"


# -- facts -----------------------------------------------------------------------------

FACT_FAULTS = {
    "raises": ("faulty.raises", "gt = 0", "RuntimeError: faulty fact raised"),
    "wrong-type": (
        "faulty.wrong_type",
        "gt = 0",
        "FactTypeError: fact faulty.wrong_type (int) resolved to 'many'",
    ),
    "bool-for-int": (
        "faulty.bool_for_int",
        "gt = 0",
        "FactTypeError: fact faulty.bool_for_int (int) resolved to True",
    ),
    "none-not-optional": (
        "faulty.none",
        "gt = 0",
        "FactTypeError: fact faulty.none is not optional but resolved to None",
    ),
    "other-currency": (
        "faulty.other_currency",
        "gt = 0",
        "FactTypeError: fact faulty.other_currency (money) resolved to "
        "Money(amount=Decimal('1'), currency='USD')",
    ),
    "code-outside-vocabulary": (
        "faulty.bad_code",
        'eq = "defective"',
        "FactTypeError: fact faulty.bad_code (enum[reason]) resolved to 'not_a_reason'",
    ),
}


@pytest.mark.parametrize("explain", [False, True], ids=["compiled", "explain"])
@pytest.mark.parametrize("fault", FACT_FAULTS)
def test_a_faulty_fact_makes_only_its_line_review(fault: str, explain: bool) -> None:
    fact, test, message = FACT_FAULTS[fault]
    policy = fragile(f'{{ fact = "{fact}", {test} }}')
    decision = policy.evaluate(two_lines(), explain=explain)
    assert_contained(decision, f"fact {fact} (plugin {FAULTY})", message)


def test_a_nan_decimal_fact_is_an_error_not_a_silent_false() -> None:
    policy = fragile('{ fact = "faulty.nan", eq = 1 }')
    (brake, _) = policy.evaluate(two_lines()).lines
    assert brake.decision == "review"
    assert [e.source for e in brake.errors] == [f"fact faulty.nan (plugin {FAULTY})"]


def test_a_nan_decimal_fact_compared_by_order_is_an_error() -> None:
    policy = fragile('{ fact = "faulty.nan", gt = 1 }')
    (brake, _) = policy.evaluate(two_lines()).lines
    assert brake.decision == "review"
    assert [e.source for e in brake.errors] == [f"fact faulty.nan (plugin {FAULTY})"]


def test_a_failed_fact_is_resolved_once_and_later_uses_fail_fast() -> None:
    policy = loads_policy(
        HEAD
        + """
[[rule]]
id = "a"
when = { fact = "faulty.raises", gt = 0 }
[[rule]]
id = "b"
when = { fact = "faulty.raises", lt = 0 }
[[rule]]
id = "c"
when = { fact = "faulty.ok", eq = 1 }
[[rule]]
id = "d"
when = { fact = "faulty.ok", ne = 1 }
""",
        plugins=[faulty],
        autoload=False,
    )
    (line,) = policy.evaluate(copy.deepcopy(BASE_REQUEST)).lines
    assert [(e.rule, e.message.split(":")[0]) for e in line.errors] == [
        ("a", "RuntimeError"),
        ("b", "FactUnavailable"),
    ]
    assert line.matched == ("c",)
    assert faulty.CALLS["faulty.ok"] == 1


# -- checks ---------------------------------------------------------------------------

CHECK_FAULTS = {
    "raises": ("faulty_raises", "RuntimeError: faulty check raised"),
    "returns-yes": (
        "faulty_yes",
        "CheckResultError: returned 'yes', not true or false",
    ),
    "returns-none": (
        "faulty_none",
        "CheckResultError: returned None, not true or false",
    ),
    "returns-1": ("faulty_one", "CheckResultError: returned 1, not true or false"),
    "recursion": (
        "faulty_recursion",
        "RecursionError: maximum recursion depth exceeded",
    ),
}


@pytest.mark.parametrize("explain", [False, True], ids=["compiled", "explain"])
@pytest.mark.parametrize("fault", CHECK_FAULTS)
def test_a_faulty_check_makes_only_its_line_review(fault: str, explain: bool) -> None:
    check, message = CHECK_FAULTS[fault]
    policy = fragile(f'{{ check = "{check}" }}')
    decision = policy.evaluate(two_lines(), explain=explain)
    assert_contained(decision, f"check {check} (plugin {FAULTY})", message)


def test_a_check_whose_explanation_fails_still_decides() -> None:
    policy = fragile('{ check = "faulty_explain" }')
    plain = policy.evaluate(two_lines())
    explained = policy.evaluate(two_lines(), explain=True)
    assert [line.decision for line in explained.lines] == ["reject", "approve"]
    assert [line.decision for line in plain.lines] == ["reject", "approve"]
    assert explained.lines[0].errors == ()
    node = explained.lines[0].trace["rules"][0]["condition"]["all"][1]  # type: ignore[index]
    assert (
        node["explanation"]
        == "(explanation failed: RuntimeError: faulty explanation raised)"
    )


@pytest.mark.parametrize("explain", [False, True], ids=["compiled", "explain"])
def test_a_check_calling_sys_exit_does_not_end_the_evaluation(explain: bool) -> None:
    policy = fragile('{ check = "faulty_exit" }')
    decision = policy.evaluate(two_lines(), explain=explain)
    assert [line.decision for line in decision.lines] == ["review", "approve"]


def test_an_action_calling_sys_exit_does_not_end_the_evaluation() -> None:
    policy = loads_policy(
        HEAD
        + '[[rule]]\nid = "exits"\ndecide = "approve"\n'
        + 'then = [ { action = "faulty_exit" } ]\n',
        plugins=[faulty],
        autoload=False,
    )
    decision = policy.evaluate(two_lines())
    assert [line.decision for line in decision.lines] == ["review", "review"]
    assert decision.lines[0].errors[0].message.startswith("SystemExit")


# -- actions ------------------------------------------------------------

ACTION_FAULTS = {
    "raises": ("faulty_raises", "RuntimeError: faulty action raised"),
    "returns-a-list": (
        "faulty_list",
        "TypeError: returned a list, not a mapping of fields",
    ),
    "returns-none": (
        "faulty_none",
        "TypeError: returned None, not a mapping of fields",
    ),
    "int-keys": (
        "faulty_int_keys",
        "TypeError: field names are strings, got an int",
    ),
}


@pytest.mark.parametrize("fault", ACTION_FAULTS)
def test_a_faulty_action_makes_only_its_line_review(fault: str) -> None:
    action, message = ACTION_FAULTS[fault]
    policy = loads_policy(
        HEAD
        + f"""
[[rule]]
id = "pays"
when = {{ fact = "part.category", eq = "brake" }}
then = [ {{ action = "{action}" }} ]
[[rule]]
id = "everyone"
then = [ {{ action = "faulty_ok" }} ]
""",
        plugins=[faulty],
        autoload=False,
    )
    brake, electrical = policy.evaluate(two_lines()).lines
    assert brake.decision == "review"
    assert [e.to_dict() for e in brake.errors] == [
        {
            "rule": "pays",
            "source": f"action {action} (plugin {FAULTY})",
            "message": message,
        }
    ]
    assert brake.actions == ()  # re-planned as review: approve-only actions go
    assert electrical.decision == "approve"
    assert [a.action for a in electrical.actions] == ["faulty_ok"]


def test_a_batch_goes_on_past_faulty_lines_and_bad_requests() -> None:
    policy = fragile('{ check = "faulty_raises" }')
    bad = two_lines()
    bad["lines"][0]["qty"] = 0
    results = list(policy.evaluate_many([two_lines(), bad, two_lines()]))
    assert [type(r).__name__ for r in results] == [
        "Decision",
        "RequestError",
        "Decision",
    ]
    for result in (results[0], results[2]):
        assert isinstance(result, Decision)
        assert [line.decision for line in result.lines] == ["review", "approve"]


def test_plan_contains_condition_faults_too() -> None:
    policy = fragile('{ check = "faulty_yes" }')
    plan = policy.plan(two_lines())
    assert [line.decision for line in plan.lines] == ["review", "approve"]
    assert [e.rule for e in plan.lines[0].errors] == ["fragile"]


# -- the CLI --------------------------------------------------------------------------


@pytest.fixture
def faulty_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A policy file beside a copy of ``faulty.py``, and two request files."""
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    shutil.copy(FAULTY_FILE, tmp_path / "faulty.py")
    rules = tmp_path / "rules.toml"
    rules.write_text(
        HEAD
        + """
[plugins]
modules = ["faulty.py"]

[[rule]]
id = "fragile"
when = { all = [ { fact = "part.category", eq = "brake" },
                  { check = "faulty_raises" } ] }
decide = "reject"
[[rule]]
id = "ok"
then = [ { action = "faulty_ok" } ]
""",
        encoding="utf-8",
    )
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(two_lines()), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return rules


RULES = ("--rules", "rules.toml")


def test_the_cli_shows_plugin_errors_and_exits_0(
    faulty_rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = faulty_rules.parent
    code = main(["eval", str(folder / "a.json"), str(folder / "b.json"), *RULES])
    out, err = capsys.readouterr()
    assert code == 0
    assert "Traceback" not in out + err
    shown = (
        "    ! error in rule fragile: check faulty_raises (plugin faulty): "
        "RuntimeError: faulty check raised"
    )
    assert out.splitlines().count(shown) == 2  # once per request


def test_the_cli_json_lists_plugin_errors_and_exits_0(
    faulty_rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = faulty_rules.parent
    code = main(
        ["eval", str(folder / "a.json"), str(folder / "b.json"), *RULES, "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert err == ""
    for text in out.splitlines():
        decision = json.loads(text)
        assert decision["decision"] == "review"
        brake, electrical = decision["lines"]
        assert brake["errors"] == [
            {
                "rule": "fragile",
                "source": "check faulty_raises (plugin faulty)",
                "message": "RuntimeError: faulty check raised",
            }
        ]
        assert electrical["errors"] == []
        assert electrical["decision"] == "approve"


def test_the_cli_explain_shows_plugin_errors(
    faulty_rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = faulty_rules.parent
    code = main(["eval", str(folder / "a.json"), *RULES, "--explain"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "Traceback" not in out + err
    assert "! fragile: error: RuntimeError: faulty check raised" in out


# -- data providers (the standard pack's stock and supplier hooks) ----------

PROVIDED = """
[[rule]]
id = "exchange"
when = { check = "stock_available" }
then = [ { action = "exchange" } ]
[[rule]]
id = "plenty"
when = { any = [ { fact = "stock.available", gt = 1 },
                 { fact = "stock.on_hand", gt = 1 } ] }
[[rule]]
id = "low"
when = { fact = "stock.on_hand", lt = 2 }
[[rule]]
id = "supplier-takes-it"
when = { check = "supplier_accepts" }
[[rule]]
id = "supplier-window"
when = { all = [ { fact = "supplier.days_left", ge = 0 },
                 { fact = "supplier.accepts_returns", eq = true },
                 { fact = "supplier.restocking_fee_percent", le = 20 } ] }
"""


def provided(provider: faulty.Provider, rules: str = PROVIDED) -> returnrules.Policy:
    """A policy using every stock and supplier fact and check, with *provider*."""
    return loads_policy(HEAD + rules, plugins=[provider])


def both_with_supplier() -> dict[str, Any]:
    request = two_lines()
    request["order"]["lines"][1]["supplier"] = "SUP-NGK"
    return request


@pytest.mark.parametrize("explain", [False, True], ids=["compiled", "explain"])
def test_each_provider_is_called_once_per_line(explain: bool) -> None:
    provider = faulty.Provider(
        stock=StockLevel(5, 1), terms=SupplierTerms(window_days=90)
    )
    decision = provided(provider).evaluate(both_with_supplier(), explain=explain)
    assert [line.errors for line in decision.lines] == [(), ()]
    assert decision.lines[0].matched == (
        "exchange",
        "plenty",
        "supplier-takes-it",
        "supplier-window",
    )
    assert provider.calls == {"stock": 2, "supplier": 2}  # two lines


def test_a_provider_no_rule_needs_is_never_called() -> None:
    provider = faulty.Provider(stock=StockLevel(5))
    policy = provided(
        provider, '[[rule]]\nid = "r"\nwhen = { fact = "line.qty", gt = 1 }\n'
    )
    policy.evaluate(both_with_supplier())
    assert provider.calls == {}


def test_a_failing_provider_is_called_once_per_line() -> None:
    provider = faulty.Provider(error=TimeoutError("inventory timed out"))
    provided(provider).evaluate(both_with_supplier())
    assert provider.calls == {"stock": 2, "supplier": 2}


def test_a_failing_provider_is_called_at_most_once_per_fact_or_check() -> None:
    provider = faulty.Provider(error=TimeoutError("inventory timed out"))
    provided(provider).evaluate(both_with_supplier())
    # stock: the check, stock.available and stock.on_hand (3 users) per line;
    # supplier: the check and supplier.days_left (the other facts fail fast).
    assert provider.calls["stock"] <= 3 * 2
    assert provider.calls["supplier"] <= 4 * 2


def test_a_provider_that_raises_makes_the_line_review_naming_plugin_and_rule() -> None:
    provider = faulty.Provider(error=TimeoutError("inventory timed out"))
    decision = provided(provider).evaluate(both_with_supplier())
    for line in decision.lines:
        assert line.decision == "review"
        assert line.actions == ()
        sources = {(e.rule, e.source) for e in line.errors}
        assert ("exchange", "check stock_available (plugin stock)") in sources
        assert ("plenty", "fact stock.available (plugin stock)") in sources
        assert (
            "supplier-takes-it",
            "check supplier_accepts (plugin supplier)",
        ) in sources
        assert all(e.message for e in line.errors)
        assert line.errors[0].message == "TimeoutError: inventory timed out"


@attrs.frozen
class LookAlike:
    """Has the fields of a StockLevel but is not one."""

    on_hand: int
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


WRONG_STOCK: dict[str, object] = {
    "look-alike-class": LookAlike(5, 1),
    "a-string": "lots",
    "a-dict": {"on_hand": 5},
    "an-int": 5,
}


@pytest.mark.parametrize("answer", WRONG_STOCK)
def test_a_stock_provider_returning_the_wrong_type_is_an_error(answer: str) -> None:
    provider = faulty.Provider(stock=WRONG_STOCK[answer])
    decision = provided(provider).evaluate(both_with_supplier())
    for line in decision.lines:
        assert line.decision == "review"
        (first, *_) = line.errors
        assert first.rule == "exchange"
        assert first.source == "check stock_available (plugin stock)"
        assert first.message.startswith("TypeError: returnrules_stock_level returned")


def test_a_supplier_provider_returning_the_wrong_type_is_an_error() -> None:
    provider = faulty.Provider(stock=StockLevel(5), terms={"accepts_returns": True})
    decision = provided(provider).evaluate(both_with_supplier())
    for line in decision.lines:
        assert line.decision == "review"
        assert any(
            e.source == "check supplier_accepts (plugin supplier)"
            and e.message.startswith("TypeError: returnrules_supplier_terms returned")
            for e in line.errors
        )


NONSENSE = [
    pytest.param(
        lambda: StockLevel(5),
        lambda: SupplierTerms(window_days="90"),  # type: ignore[arg-type]
        "supplier",
        "window_days: expected an integer",
        id="window-str",
    ),
    pytest.param(
        lambda: StockLevel("5"),  # type: ignore[arg-type]
        SupplierTerms,
        "stock",
        "on_hand: expected an integer",
        id="on-hand-str",
    ),
    pytest.param(
        lambda: StockLevel(-5),
        SupplierTerms,
        "stock",
        "on_hand: must be ≥ 0, got -5",
        id="negative-on-hand",
    ),
    pytest.param(
        lambda: StockLevel(5, -3),
        SupplierTerms,
        "stock",
        "reserved: must be ≥ 0, got -3",
        id="negative-reserved",
    ),
    pytest.param(
        lambda: StockLevel(5),
        lambda: SupplierTerms(accepts_returns="no"),  # type: ignore[arg-type]
        "supplier",
        "accepts_returns: expected true or false",
        id="accepts-returns-str",
    ),
    pytest.param(
        lambda: StockLevel(5),
        lambda: SupplierTerms(window_days=-5),
        "supplier",
        "window_days: must be ≥ 0, got -5",
        id="negative-window",
    ),
    pytest.param(
        lambda: StockLevel(5),
        lambda: SupplierTerms(restocking_fee_percent=Decimal(150)),
        "supplier",
        "restocking_fee_percent: must be ≤ 100, got 150",
        id="fee-over-100",
    ),
]


@pytest.mark.parametrize(("stock", "terms", "plugin", "message"), NONSENSE)
def test_a_provider_returning_nonsense_is_an_error_naming_the_plugin(
    stock: Callable[[], StockLevel],
    terms: Callable[[], SupplierTerms],
    plugin: str,
    message: str,
) -> None:
    # The records check themselves when made: a host's provider that builds
    # nonsense fails inside the provider, and the line says so.
    provider = faulty.Provider(stock=stock, terms=terms)
    decision = provided(provider).evaluate(both_with_supplier())
    for line in decision.lines:
        assert line.decision == "review"
        assert any(
            f"(plugin {plugin})" in e.source and message in e.message
            for e in line.errors
        ), line.errors


def test_a_supplier_window_of_none_means_no_window() -> None:
    """Documented behaviour: ``window_days`` is optional; None is "no window"."""
    provider = faulty.Provider(
        stock=StockLevel(5), terms=SupplierTerms(window_days=None)
    )
    policy = provided(
        provider,
        """
[[rule]]
id = "takes-it"
when = { check = "supplier_accepts" }
[[rule]]
id = "has-window"
when = { fact = "supplier.days_left", present = true }
""",
    )
    for line in policy.evaluate(both_with_supplier()).lines:
        assert line.errors == ()
        assert line.matched == ("takes-it",)


# -- faults while loading -----------------------------------------------------------


def plugin(name: str = "broken", /, **hooks: Callable[..., Any]) -> object:
    """A plugin object named *name* with the given hook implementations."""
    return types.SimpleNamespace(
        __name__=name, **{hook: hookimpl(fn) for hook, fn in hooks.items()}
    )


def load_problems(plugin_object: object, rules: str = "") -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as info:
        loads_policy(HEAD + rules, plugins=[plugin_object], autoload=False)
    return [(str(p), p.code) for p in info.value.problems]


def _divide(register: object) -> None:
    _ = 1 / 0


def test_a_register_hook_that_raises_is_a_problem_naming_the_plugin() -> None:
    problems = load_problems(plugin(returnrules_register_checks=_divide))
    assert problems == [
        (
            '<string>:1:1: error: plugin "broken" failed in '
            "returnrules_register_checks: ZeroDivisionError: division by zero",
            "plugin-failed",
        )
    ]


def test_an_addhooks_hook_that_raises_is_a_problem_naming_the_plugin() -> None:
    problems = load_problems(
        plugin(returnrules_addhooks=lambda pluginmanager: _divide(pluginmanager))
    )
    assert problems == [
        (
            '<string>:1:1: error: plugin "broken" failed in returnrules_addhooks: '
            "ZeroDivisionError: division by zero",
            "plugin-failed",
        )
    ]


def test_a_register_hook_calling_sys_exit_is_a_problem() -> None:
    problems = load_problems(
        plugin(returnrules_register_facts=lambda register: sys.exit(3))
    )
    assert [code for _, code in problems] == ["plugin-failed"]


def _one(ctx: object) -> int:
    return 1


def _register(thing: object) -> Callable[[Callable[[object], None]], None]:
    def hook(register: Callable[[object], None]) -> None:
        register(thing)

    return hook


BAD_REGISTRATIONS: dict[str, tuple[str, object, str]] = {
    "not-a-fact": (
        "returnrules_register_facts",
        "nope",
        "register() for facts takes a Fact, got 'nope'",
    ),
    "bad-fact-name": (
        "returnrules_register_facts",
        Fact("Bad Name", FactType("int"), _one),
        "invalid fact name 'Bad Name'",
    ),
    "fact-unknown-vocabulary": (
        "returnrules_register_facts",
        Fact("broken.colour", FactType.enum("colour"), _one),
        'fact "broken.colour" uses unknown vocabulary "colour"',
    ),
    "check-params-not-attrs": (
        "returnrules_register_checks",
        Check("c", len, params=int),  # type: ignore[arg-type]
        'check "c": params must be an attrs class',
    ),
    "not-a-check": (
        "returnrules_register_checks",
        Fact("broken.x", FactType("int"), _one),
        "register() for checks takes a Check",
    ),
}


@pytest.mark.parametrize("bad", BAD_REGISTRATIONS)
def test_registering_a_bad_thing_is_a_problem_naming_the_plugin(bad: str) -> None:
    hook, thing, message = BAD_REGISTRATIONS[bad]
    ((text, code),) = load_problems(plugin(**{hook: _register(thing)}))
    assert text.startswith(f'<string>:1:1: error: plugin "broken": {message}')
    assert code == "plugin-invalid"


def test_a_fact_type_of_an_unknown_kind_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="'kind' must be in"):
        FactType("bogus")  # type: ignore[arg-type]


def test_registering_a_fact_with_a_resolver_that_is_not_callable_is_a_problem() -> None:
    bad = Fact("broken.x", FactType("int"), 5)  # type: ignore[arg-type]
    problems = load_problems(plugin(returnrules_register_facts=_register(bad)))
    assert [code for _, code in problems] == ["plugin-invalid"]


def test_a_plugin_file_that_fails_to_import_is_a_problem_at_its_entry(
    tmp_path: Path,
) -> None:
    (tmp_path / "explodes.py").write_text("raise ImportError('no database driver')\n")
    rules = tmp_path / "rules.toml"
    rules.write_text(HEAD + '[plugins]\nmodules = ["explodes.py"]\n')
    with pytest.raises(PolicyError) as info:
        returnrules.load_policy(rules, autoload=False)
    assert [str(p) for p in info.value.problems] == [
        f'{rules}:6:12: error: plugin "explodes" (explodes.py) failed to import: '
        "ImportError: no database driver"
    ]
    assert info.value.problems[0].code == "plugin-import"


def test_a_failing_plugin_is_reported_by_the_cli_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "explodes.py").write_text("1 / 0\n")
    rules = tmp_path / "rules.toml"
    rules.write_text(HEAD + '[plugins]\nmodules = ["explodes.py"]\n')
    request = tmp_path / "r.json"
    request.write_text(json.dumps(BASE_REQUEST))
    code = main(["eval", str(request), "--rules", str(rules)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    assert err.splitlines() == [
        f'{rules}:6:12: error: plugin "explodes" (explodes.py) failed to import: '
        "ZeroDivisionError: division by zero",
        "Found 1 error.",
    ]


# -- data checks (returnrules_check_data) ------------------------------------------


def _eval_with_data_checker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, body: str
) -> tuple[int, str]:
    """``returnrules eval --data`` with plugin module *name* whose check_data
    hook runs *body*; the exit status and stderr."""
    (tmp_path / f"{name}.py").write_text(
        "from returnrules import hookimpl\n\n"
        "@hookimpl\ndef returnrules_check_data(data, vocabularies):\n"
        f"    {body}\n"
    )
    rules = tmp_path / "rules.toml"
    rules.write_text(HEAD + f'[plugins]\nmodules = ["{name}.py"]\n')
    (tmp_path / "data.toml").write_text("x = 1\n")
    request = tmp_path / "r.json"
    request.write_text(json.dumps(BASE_REQUEST))
    data = str(tmp_path / "data.toml")
    code = main(["eval", str(request), "--rules", str(rules), "--data", data])
    return code, capsys.readouterr().err


def test_a_check_data_hook_that_raises_is_reported_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    code, err = _eval_with_data_checker(
        tmp_path, capsys, "checker", "raise RuntimeError('checker broke')"
    )
    assert code == 2
    assert "Traceback" not in err
    assert err.strip() == (
        f'{tmp_path / "data.toml"}: plugin "checker" failed in '
        "returnrules_check_data: RuntimeError: checker broke"
    )


def test_a_check_data_hook_returning_junk_is_reported_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    code, err = _eval_with_data_checker(tmp_path, capsys, "junk", "return [5]")
    assert code == 2
    assert "junk" in err


def test_check_data_problems_from_a_plugin_are_a_request_error() -> None:
    def complain(
        data: object, vocabularies: object
    ) -> list[returnrules.RequestProblem]:
        return [returnrules.RequestProblem(("x",), "x is wrong", "bad-value")]

    policy = loads_policy(
        HEAD, plugins=[plugin(returnrules_check_data=complain)], autoload=False
    )
    with pytest.raises(RequestError) as info:
        policy.check_data({"x": 1})
    assert [str(p) for p in info.value.problems] == ["$.x: x is wrong"]
