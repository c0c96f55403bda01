"""A third-party plugin installed through an entry point, like the standard pack.

The test writes a throw-away distribution into a temporary directory: a module
``vipmod`` and a ``vipcheck-1.0.dist-info`` whose entry_points.txt registers it in
the ``returnrules`` group, exactly what ``pip install`` of a plugin leaves behind.
With that directory on sys.path, ``loads_policy`` finds the plugin by itself.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import returnrules
from tests.std.helpers import first_line, make_request, policy

VIPMOD = '''
"""VIP terms: a fact and a check for the contract customers of a distributor."""

import attrs

from returnrules import Check, Fact, FactType, calendar_days, hookimpl


@attrs.frozen
class VipDeadline:
    days: int = 60


def _level(ctx):
    level = ctx.data.get("vip", {}).get(ctx.request.customer.id)
    return level if isinstance(level, int) else None


def _within(ctx, params):
    if _level(ctx) is None:
        return False
    delivered = ctx.request.order.delivered_at
    if delivered is None:
        return True
    return calendar_days(delivered, ctx.request.requested_at) <= params.days


@hookimpl
def returnrules_register_facts(register):
    register(Fact("vip.level", FactType("int", optional=True), _level, "VIP level"))


@hookimpl
def returnrules_register_checks(register):
    register(Check("vip_deadline", _within, VipDeadline, doc="a VIP inside its days"))
'''

POLICY = """
[[rule]]
id = "vip-return"
when.all = [
  { check = "vip_deadline", days = 45 },
  { fact = "vip.level", ge = 2 },
]
decide = "approve"
then = [ { action = "refund", method = "account_credit" } ]
"""

DATA = {"vip": {"C-1001": 3}}


@pytest.fixture
def vipcheck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Install the vipcheck distribution into a directory on sys.path."""
    (tmp_path / "vipmod.py").write_text(textwrap.dedent(VIPMOD), encoding="utf-8")
    dist_info = tmp_path / "vipcheck-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: vipcheck\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[returnrules]\nvipcheck = vipmod\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()  # importlib.metadata caches the path entries
    yield tmp_path
    sys.modules.pop("vipmod", None)
    importlib.invalidate_caches()


@pytest.mark.usefixtures("vipcheck")
def test_the_plugin_is_loaded_from_its_entry_point_like_the_standard_pack() -> None:
    plugins = {p.name: p for p in policy("").registry.plugins}
    vip = plugins["vipcheck"]
    assert vip.origin == plugins["delivery"].origin == "entry point"
    assert vip.source == "vipmod from vipcheck"
    assert vip.checks == ("vip_deadline",)
    assert vip.facts == ("vip.level",)


@pytest.mark.usefixtures("vipcheck")
def test_its_check_and_fact_are_usable_from_toml() -> None:
    the_policy = policy(POLICY)
    line = first_line(the_policy, make_request(), DATA)
    assert line.decision == "approve"
    assert line.decided_by == ("vip-return",)
    assert [(a.action, a["amount"], a["method"]) for a in line.actions] == [
        ("refund", returnrules.Money.of("360.00", "CNY"), "account_credit")
    ]
    # not a VIP: the fact is absent, the check false, the default applies
    assert first_line(the_policy, make_request(), {}).decision == "review"
    # a VIP past its 45 days (delivered 2026-11-04)
    late = make_request(requested_at="2026-12-20T10:00:00+08:00")
    assert first_line(the_policy, late, DATA).decision == "review"


@pytest.mark.usefixtures("vipcheck")
def test_its_parameters_are_type_checked_at_load_time() -> None:
    with pytest.raises(returnrules.PolicyError) as info:
        policy(POLICY.replace("days = 45", 'days = "45"'))
    (problem,) = info.value.problems
    assert problem.line == 9
    assert problem.message.startswith("check vip_deadline: ")
    assert "expected an integer" in problem.message


@pytest.mark.usefixtures("vipcheck")
def test_a_misspelt_name_of_its_check_gets_a_suggestion() -> None:
    with pytest.raises(returnrules.PolicyError) as info:
        policy(POLICY.replace('"vip_deadline"', '"vip_deadlin"'))
    (problem,) = info.value.problems
    assert 'unknown check "vip_deadlin"' in problem.message
    assert 'did you mean "vip_deadline"?' in problem.message


@pytest.mark.usefixtures("vipcheck")
def test_disabling_the_plugin_removes_its_check() -> None:
    disabled = '[plugins]\ndisable = ["vipcheck"]\n' + POLICY
    with pytest.raises(returnrules.PolicyError) as info:
        policy(disabled)
    messages = [p.message for p in info.value.problems]
    assert messages == [
        'unknown check "vip_deadline"; did you mean "delivery_deadline"?',
        'unknown fact "vip.level"',
    ]
    assert [p.line for p in info.value.problems] == [11, 12]
    # the rest of the entry points still load
    the_policy = policy('[plugins]\ndisable = ["vipcheck"]\n')
    assert "vipcheck" not in {p.name for p in the_policy.registry.plugins}
    assert "delivery_deadline" in the_policy.registry.checks


@pytest.mark.usefixtures("vipcheck")
def test_the_environment_can_block_it_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGINS", "vipcheck")
    assert "vip_deadline" not in policy("").registry.checks


def test_without_the_distribution_the_check_does_not_exist() -> None:
    assert "vip_deadline" not in policy("").registry.checks
