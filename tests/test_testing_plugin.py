"""The ``returnrules.testing`` pytest plugin, inside a host project's test suite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PLUGINS = Path(__file__).parent / "plugins"

POLICY = """\
version = 1
[policy]
currency = "CNY"
[plugins]
modules = ["sample.py"]
[[rule]]
id = "wrong-part"
when = { fact = "line.reason", eq = "wrong_part" }
decide = "approve"
then = [{ action = "pay", percent = 50 }]
"""

REQUEST = """\
id = "RT-1"
requested_at = 2026-11-20T10:00:00+08:00
customer = { id = "C-1" }
lines = [{ line = 1, qty = 2, reason = "wrong_part", condition = "unopened" }]
[order]
id = "SO-1"
status = "delivered"
placed_at = 2026-11-01
[[order.lines]]
line = 1
sku = "X-1"
category = "brake"
qty = 4
unit_price = "180.00"
"""

CASES = """\
rules = "../../rules.toml"
request = "../../request.toml"

[[case]]
name = "half is paid"
expect = { lines = [{ line = 1, actions = [{ action = "pay", amount = "180.00" }] }] }

[[case]]
name = "the whole amount is paid"
expect = { lines = [{ line = 1, actions = [{ action = "pay", amount = "360.00" }] }] }

[[case]]
name = "wrong parts are approved"
expect = { decision = "approve" }
"""


@pytest.fixture
def host(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A host project with a policy, a request and a case file."""
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    shutil.copy(PLUGINS / "sample.py", pytester.path / "sample.py")
    pytester.makefile(".toml", rules=POLICY, request=REQUEST)
    (pytester.path / "tests" / "policy").mkdir(parents=True)
    (pytester.path / "tests" / "policy" / "returns.toml").write_text(
        CASES, encoding="utf-8"
    )
    return pytester


def run(host: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run the host's pytest in-process, without plugins that only slow it down."""
    return host.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args)


def configure(pytester: pytest.Pytester, cases: str = "tests/policy/*.toml") -> None:
    pytester.makeini(f"[pytest]\nreturnrules_cases = {cases}\n")


def test_case_files_run_as_pytest_items(host: pytest.Pytester) -> None:
    configure(host)
    result = run(host, "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "tests/policy/returns.toml::half is paid PASSED*",
            "tests/policy/returns.toml::the whole amount is paid FAILED*",
            "tests/policy/returns.toml:8: the whole amount is paid",
            '    line 1: pay.amount: expected "360.00", got "180.00"',
        ]
    )


def test_a_glob_without_a_slash_matches_file_names(host: pytest.Pytester) -> None:
    configure(host, "returns.toml")
    run(host).assert_outcomes(passed=2, failed=1)


def test_toml_files_are_not_collected_unless_configured(host: pytest.Pytester) -> None:
    result = run(host)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_case_file_named_on_the_command_line_is_collected(
    host: pytest.Pytester,
) -> None:
    result = run(host, "tests/policy/returns.toml")
    result.assert_outcomes(passed=2, failed=1)


def test_a_malformed_case_file_is_a_collection_error_with_its_place(
    host: pytest.Pytester,
) -> None:
    configure(host)
    (host.path / "tests" / "policy" / "returns.toml").write_text(
        '[[case]]\nname = "x"\nrequest = "r.toml"\n[case.expct]\n', encoding="utf-8"
    )
    result = run(host)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*malformed returnrules case file:",
            '*returns.toml:4:7: error: unknown key "expct" in a case; did you mean*',
        ]
    )


def test_fixtures_give_the_policy_a_factory_and_a_request(
    host: pytest.Pytester,
) -> None:
    host.makepyfile(
        test_host="""
        from returnrules.testing import assert_decision

        def test_the_configured_policy(returnrules_policy, returnrules_request):
            decision = returnrules_policy.evaluate(returnrules_request)
            assert_decision(decision, {"decision": "approve", "lines": [
                {"line": 1, "decided_by": ["wrong-part"],
                 "actions": [{"action": "pay", "amount": "180.00"}]}]})

        def test_an_inline_policy(returnrules_make_policy, returnrules_request):
            policy = returnrules_make_policy(
                'version = 1\\n[policy]\\ncurrency = "CNY"\\ndefault = "reject"\\n'
            )
            assert policy.evaluate(returnrules_request).decision == "reject"

        def test_assert_decision_says_what_differs(returnrules_policy,
                                                   returnrules_request):
            decision = returnrules_policy.evaluate(returnrules_request)
            try:
                assert_decision(decision, {"decision": "reject"})
            except AssertionError as exc:
                assert str(exc).startswith("decision: expected reject, got approve")
            else:
                raise AssertionError("no difference reported")

        def test_a_broken_inline_policy_fails_with_its_problems(
            returnrules_make_policy,
        ):
            returnrules_make_policy('version = 1\\n[policy]\\ncurrency = "cny"\\n')
        """
    )
    result = run(host, "test_host.py")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["rules.toml:3:*: error: ?policy? currency must be*"])
    result.stdout.no_fnmatch_line("*During handling*")


def test_the_rules_option_chooses_the_policy(host: pytest.Pytester) -> None:
    host.makefile(
        ".toml",
        other='version = 1\n[policy]\ncurrency = "CNY"\ndefault = "reject"\n',
    )
    host.makepyfile(
        test_host="""
        def test_default(returnrules_policy, returnrules_request):
            assert returnrules_policy.evaluate(returnrules_request).decision == "reject"
        """
    )
    result = run(host, "--returnrules-rules=other.toml")
    result.assert_outcomes(passed=1)
