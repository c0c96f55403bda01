"""What a plugin does can never end an evaluation, a batch or the process.

Regressions from the hostile review of issue 10: a plugin raising a
``BaseException`` subclass (other than ``KeyboardInterrupt``) from a check, a
fact, an action, an explanation, a message or its import; an action reporting
values the decision cannot show (a 5,000-digit integer, an object whose
``__str__`` raises, a table that holds itself); a fact of 5,000 digits shown
by ``--explain``.  Each is contained at its line with an error naming the
plugin, and every other line and request goes on.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from returnrules import (
    Action,
    Check,
    Fact,
    FactType,
    LineContext,
    PolicyError,
    hookimpl,
    loads_policy,
)
from returnrules.cli import main
from tests.conftest import BASE_REQUEST

HEAD = 'version = 1\n[policy]\ncurrency = "CNY"\ndefault = "approve"\n'


class Doom(BaseException):
    """Not an Exception: what a careless plugin might raise to "stop"."""


def doom(*_: object) -> Any:
    raise Doom("the end")


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    __repr__ = __str__


def recursive() -> dict[str, Any]:
    table: dict[str, Any] = {}
    table["self"] = table
    return table


class Hostile:
    """A plugin whose every piece can be made to misbehave by the test."""

    __name__ = "hostile"

    def __init__(
        self,
        *,
        test: Callable[..., Any] = lambda ctx, p: True,
        fact: Callable[..., Any] = lambda ctx: 1,
        run: Callable[..., Any] = lambda ctx, p: {"ok": True},
        explain: Callable[..., Any] = lambda ctx, p: "fine",
    ) -> None:
        self.test, self.fact, self.run, self.explain = test, fact, run, explain

    @hookimpl
    def returnrules_register_checks(self, register: Any) -> None:
        register(Check("hostile", lambda c, p: self.test(c, p), explain=self.explain))

    @hookimpl
    def returnrules_register_facts(self, register: Any) -> None:
        register(Fact("hostile.n", FactType("int"), lambda c: self.fact(c)))

    @hookimpl
    def returnrules_register_actions(self, register: Any) -> None:
        register(Action("hostile", lambda c, p: self.run(c, p)))


POLICY = (
    HEAD
    + """
[[rule]]
id = "checks"
when = { check = "hostile" }
then = [{ action = "hostile" }]
[[rule]]
id = "counts"
when = { fact = "hostile.n", ge = 0 }
message = "n = {hostile.n}"
decide = "approve"
"""
)


def decide(plugin: Hostile, *, explain: bool = False) -> Any:
    policy = loads_policy(POLICY, plugins=[plugin], autoload=False)
    decision = policy.evaluate(copy.deepcopy(BASE_REQUEST), explain=explain)
    json.dumps(decision.to_dict(), ensure_ascii=False)  # always serialisable
    return decision


@pytest.mark.parametrize("piece", ["test", "fact", "run", "explain"])
@pytest.mark.parametrize("explain", [False, True])
def test_a_base_exception_from_a_plugin_is_contained(piece: str, explain: bool) -> None:
    decision = decide(Hostile(**{piece: doom}), explain=explain)
    for line in decision.lines:
        if piece == "explain":  # an explanation never changes the outcome
            assert line.decision == "approve"
            if explain:
                node = line.trace["rules"][0]["condition"]
                assert node["explanation"] == "(explanation failed: Doom: the end)"
            continue
        assert line.decision == "review"
        assert any(e.message == "Doom: the end" for e in line.errors), line.errors


def test_keyboard_interrupt_still_stops_the_evaluation() -> None:
    def interrupt(*_: object) -> bool:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        decide(Hostile(test=interrupt))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"n": 10**5000}, "TypeError: field n: integer out of range"),
        ({"n": Unprintable()}, "TypeError: field n: cannot report an Unprintable"),
        ({"t": recursive()}, "TypeError: field t: nested deeper than 8"),
        ({"x": float("nan")}, "TypeError: field x: cannot report a float"),
        (["not", "a", "table"], "TypeError: returned a list, not a mapping of fields"),
        ({"s": "x" * 100_001}, "TypeError: field s: text longer than 100000"),
    ],
    ids=["huge-int", "unprintable", "recursive", "float", "list", "long-text"],
)
def test_what_an_action_reports_is_checked_where_it_is_produced(
    fields: object, message: str
) -> None:
    decision = decide(Hostile(run=lambda c, p: fields))
    for line in decision.lines:
        assert line.decision == "review"
        assert [e.message for e in line.errors] == [message]
        assert [a.action for a in line.actions] == []


def test_an_action_keeps_no_handle_on_what_the_decision_reports() -> None:
    shared: dict[str, Any] = {"items": [1, 2], "table": {"a": 1}}
    decision = decide(Hostile(run=lambda c, p: shared))
    shared["items"].append(3)
    shared["table"]["a"] = 2
    fields = decision.lines[0].actions[0].fields
    assert fields == {"items": (1, 2), "table": {"a": 1}}


@pytest.mark.parametrize(
    "value", [10**5000, 10**16, -(10**16)], ids=["huge", "16", "-16"]
)
def test_a_fact_too_large_to_show_is_an_error_even_when_explained(value: int) -> None:
    decision = decide(Hostile(fact=lambda c: value), explain=True)
    line = decision.lines[0]
    assert line.decision == "review"
    assert line.errors[0].message.startswith("FactTypeError: fact hostile.n (int)")
    assert len(line.errors[0].message) < 200


def test_the_cli_survives_a_hostile_plugin_with_explain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hostile.py").write_text(
        "from returnrules import Fact, FactType, hookimpl\n"
        "class Doom(BaseException): pass\n"
        "@hookimpl\n"
        "def returnrules_register_facts(register):\n"
        "    register(Fact('hostile.n', FactType('int'), lambda c: 10**5000))\n"
        "    register(Fact('hostile.doom', FactType('int'), lambda c: Doom()))\n"
    )
    rules = tmp_path / "rules.toml"
    rules.write_text(
        HEAD + '[plugins]\nmodules = ["hostile.py"]\n'
        '[[rule]]\nid = "n"\nwhen = { fact = "hostile.n", ge = 0 }\n'
        '[[rule]]\nid = "d"\nwhen = { fact = "hostile.doom", ge = 0 }\n'
    )
    request = tmp_path / "r.json"
    request.write_text(json.dumps(BASE_REQUEST))
    for extra in ([], ["--explain"], ["--json"], ["--json", "--explain"]):
        code = main(["eval", str(request), "--rules", str(rules), *extra])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert "Traceback" not in out + err
        assert "review" in out


def test_a_plugin_raising_a_base_exception_on_import_is_a_problem(
    tmp_path: Path,
) -> None:
    (tmp_path / "doomed.py").write_text(
        "class Doom(BaseException): pass\nraise Doom('at import')\n"
    )
    with pytest.raises(PolicyError) as info:
        loads_policy(
            HEAD + '[plugins]\nmodules = ["doomed.py"]\n',
            base_dir=tmp_path,
            autoload=False,
        )
    (problem,) = info.value.problems
    assert problem.code == "plugin-import"
    assert problem.message.endswith("failed to import: Doom: at import")


def test_a_register_hook_raising_a_base_exception_is_a_problem() -> None:
    class Registers:
        __name__ = "registers"

        @hookimpl
        def returnrules_register_checks(self, register: Any) -> None:
            doom()

    with pytest.raises(PolicyError) as info:
        loads_policy(HEAD, plugins=[Registers()], autoload=False)
    assert [p.message for p in info.value.problems] == [
        'plugin "registers" failed in returnrules_register_checks: Doom: the end'
    ]


def test_an_exception_whose_str_raises_is_still_reported() -> None:
    class Odd(Exception):
        def __str__(self) -> str:
            raise ValueError("no words")

    def odd(ctx: LineContext, params: object) -> bool:
        raise Odd

    decision = decide(Hostile(test=odd))
    assert decision.lines[0].errors[0].message == "Odd: <unprintable Odd>"


def test_what_a_plugin_prints_never_reaches_the_json_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "chatty.py").write_text(
        "from returnrules import Check, hookimpl\n"
        "print('importing chatty')\n"
        "def noisy(ctx, params):\n"
        "    print('checking', ctx.line.line)\n"
        "    return True\n"
        "@hookimpl\n"
        "def returnrules_register_checks(register):\n"
        "    register(Check('noisy', noisy))\n"
    )
    rules = tmp_path / "rules.toml"
    rules.write_text(
        HEAD + '[plugins]\nmodules = ["chatty.py"]\n'
        '[[rule]]\nid = "n"\nwhen = { check = "noisy" }\n'
    )
    request = tmp_path / "r.json"
    request.write_text(json.dumps(BASE_REQUEST))
    assert main(["eval", str(request), "--rules", str(rules), "--json"]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["decision"] for line in out.splitlines()] == ["approve"]
    assert "importing chatty" in err
    assert "checking 1" in err


def test_quoted_values_escape_del_and_c1_controls_too() -> None:
    from returnrules.model.errors import quote

    # \x9b is CSI on some terminals: as dangerous as ESC [
    assert quote("a\x9b[2Jb\x7fc\nd") == '"a\\u009b[2Jb\\u007fc\\nd"'
