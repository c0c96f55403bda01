"""Policy checking: every mistake in rules.toml is reported at once, at its line.

Each test writes a whole policy (the header is 3 lines, so the first ``[[rule]]``
is on line 4) and asserts the checker's exact output line
``rules.toml:LINE:COL: error: MESSAGE``.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

import returnrules
from returnrules import PolicyError, loads_policy
from returnrules.model.errors import quote
from tests.plugins import sample, typed

HEAD = 'version = 1\n[policy]\ncurrency = "CNY"\n'


def load(text: str, **kwargs: Any) -> returnrules.Policy:
    kwargs.setdefault("plugins", [sample, typed])
    kwargs.setdefault("autoload", False)
    return loads_policy(text, source="rules.toml", **kwargs)


def problems(text: str, **kwargs: Any) -> list[str]:
    """The checker's lines for a policy that must not load."""
    with pytest.raises(PolicyError) as caught:
        load(text, **kwargs)
    return [str(p) for p in caught.value.problems]


def rule(*lines: str) -> str:
    """A policy with one rule "a" (on line 4); *lines* start on line 6."""
    return HEAD + '[[rule]]\nid = "a"\n' + "".join(f"{line}\n" for line in lines)


def only_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# -- unknown names, with suggestions ---------------------------------------------------


def test_an_unknown_fact_is_reported_with_did_you_mean() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nwhen = { fact = "line.reasn", eq = "x" }\n'
    assert only_problem(text) == (
        'rules.toml:6:17: error: unknown fact "line.reasn"; did you mean "line.reason"?'
    )


def test_an_unknown_fact_on_the_right_hand_side_is_reported() -> None:
    text = rule('when = { fact = "line.qty", lt = { fact = "line.qtty" } }')
    assert only_problem(text) == (
        'rules.toml:6:43: error: unknown fact "line.qtty"; did you mean "line.qty"?'
    )


def test_an_unknown_check_is_reported_with_did_you_mean() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nwhen = { check = "flg" }\n'
    assert only_problem(text) == (
        'rules.toml:6:18: error: unknown check "flg"; did you mean "flag"?'
    )


def test_an_unknown_action_is_reported_with_did_you_mean() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nthen = [ { action = "pya" } ]\n'
    assert only_problem(text) == (
        'rules.toml:6:21: error: unknown action "pya"; did you mean "pay"?'
    )


def test_an_unknown_operator_is_reported() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nwhen = { fact = "line.qty", gte = 1 }\n'
    assert only_problem(text) == (
        'rules.toml:6:29: error: unknown operator "gte"; did you mean "gt"? '
        "(operators: eq, ne, lt, le, gt, ge, in, not_in, present)"
    )


# -- types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            '{ fact = "part.kit", lt = true }',
            'operator "lt" does not apply to part.kit (bool); use eq, ne',
        ),
        (
            '{ fact = "part.kit", in = [true] }',
            'operator "in" does not apply to part.kit (bool); use eq, ne',
        ),
        (
            '{ fact = "line.reason", ge = "defective" }',
            'operator "ge" does not apply to line.reason (enum[reason]); '
            "use eq, ne, in, not_in",
        ),
        (
            '{ fact = "part.sku", gt = "A" }',
            'operator "gt" does not apply to part.sku (str); use eq, ne, in, not_in',
        ),
    ],
    ids=["lt-bool", "in-bool", "ge-enum", "gt-str"],
)
def test_an_operator_that_does_not_fit_the_type_is_reported(
    condition: str, message: str
) -> None:
    text = HEAD + f'[[rule]]\nid = "a"\nwhen = {condition}\n'
    found = only_problem(text)
    assert found.startswith("rules.toml:6:")
    assert found.endswith(f"error: {message}")


@pytest.mark.parametrize(
    ("condition", "col", "message"),
    [
        (
            '{ fact = "line.qty", eq = "3" }',
            34,
            'line.qty is int: expected an integer, got "3"',
        ),
        (
            '{ fact = "line.qty", eq = 2.0 }',
            34,
            "line.qty is int: expected an integer, got 2.0",
        ),
        (
            '{ fact = "line.qty", eq = true }',
            34,
            "line.qty is int: expected an integer, got true",
        ),
        (
            '{ fact = "part.kit", eq = 1 }',
            34,
            "part.kit is bool: expected true or false, got 1",
        ),
        (
            '{ fact = "part.sku", eq = 5 }',
            34,
            "part.sku is str: expected a string, got 5",
        ),
        (
            '{ fact = "line.amount", ge = "12x" }',
            37,
            'line.amount is money: expected a decimal number like 180.10, got "12x"',
        ),
        (
            '{ fact = "typed.day", lt = 2026-11-04T00:00:00+08:00 }',
            35,
            "typed.day is date?: expected a date like 2026-11-20, "
            "got 2026-11-04T00:00:00+08:00",
        ),
        (
            '{ fact = "typed.at", ge = 2026-11-04T00:00:00 }',
            34,
            "typed.at is datetime?: expected a date-time with UTC offset, "
            "got 2026-11-04T00:00:00",
        ),
        (
            '{ fact = "typed.ratio", gt = true }',
            37,
            "typed.ratio is decimal?: expected a number, got true",
        ),
    ],
    ids=[
        "int-str",
        "int-float",
        "int-bool",
        "bool-int",
        "str-int",
        "money-word",
        "date-datetime",
        "datetime-naive",
        "decimal-bool",
    ],
)
def test_a_literal_of_the_wrong_type_is_reported(
    condition: str, col: int, message: str
) -> None:
    text = HEAD + f'[[rule]]\nid = "a"\nwhen = {condition}\n'
    assert only_problem(text) == f"rules.toml:6:{col}: error: {message}"


@pytest.mark.parametrize(
    ("fact", "literal"),
    [
        ("line.amount", '"１２"'),
        ("line.amount", '" 12"'),
        ("line.amount", '"12\\t"'),
        ("typed.ratio", '"０.５"'),
        ("typed.ratio", '"0.5 "'),
    ],
)
def test_a_number_literal_takes_only_ascii_digits_without_spaces(
    fact: str, literal: str
) -> None:
    found = only_problem(rule(f'when = {{ fact = "{fact}", ge = {literal} }}'))
    written = tomllib.loads(f"x = {literal}")["x"]
    assert found.endswith(
        f"error: {fact} is {'money' if fact == 'line.amount' else 'decimal?'}: "
        f"expected a decimal number like 180.10, got {quote(written)}"
    )


def test_a_literal_array_element_of_the_wrong_type_is_reported_at_the_element() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nwhen = { fact = "line.qty", in = [1, "2"] }\n'
    assert only_problem(text) == (
        'rules.toml:6:38: error: line.qty is int: expected an integer, got "2"'
    )


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ('{ fact = "line.qty", in = 1 }', "in takes an array, got 1"),
        (
            '{ fact = "line.qty", eq = [1] }',
            "eq takes a single value; use in for a list",
        ),
        (
            '{ fact = "line.qty", in = { fact = "line.qty" } }',
            'a value is a literal or { fact = "NAME" } (not with in)',
        ),
    ],
)
def test_a_value_of_the_wrong_shape_is_reported(condition: str, message: str) -> None:
    text = HEAD + f'[[rule]]\nid = "a"\nwhen = {condition}\n'
    assert only_problem(text) == f"rules.toml:6:34: error: {message}"


def test_comparing_facts_of_incompatible_types_is_reported() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\nwhen = { fact = "line.qty", eq = { fact = "part.kit" } }\n'
    )
    assert only_problem(text) == (
        "rules.toml:6:34: error: cannot compare line.qty (int) with part.kit (bool)"
    )


def test_enums_over_different_vocabularies_do_not_compare() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\n'
        'when = { fact = "typed.colour", eq = { fact = "customer.tier" } }\n'
    )
    assert only_problem(text) == (
        "rules.toml:6:38: error: cannot compare typed.colour (enum[colour]?) "
        "with customer.tier (enum[tier])"
    )


def test_numeric_facts_compare_with_each_other_and_dates_with_literals() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\nwhen.any = [\n'
        '  { fact = "typed.ratio", gt = { fact = "line.qty" } },\n'
        '  { fact = "typed.ratio", gt = 0.5 },\n'
        '  { fact = "typed.ratio", le = "2.25" },\n'
        '  { fact = "typed.day", lt = 2026-11-04 },\n'
        '  { fact = "typed.day", lt = "2026-11-04" },\n'
        '  { fact = "typed.at", ge = 2026-11-04T00:00:00+08:00 },\n'
        '  { fact = "typed.tier", eq = { fact = "customer.tier" } },\n'
        "]\n"
        'decide = "approve"\n'
    )
    assert load(text).warnings == ()


@pytest.mark.parametrize(
    ("condition", "col", "message"),
    [
        (
            '{ fact = "line.reason", eq = "defectve" }',
            37,
            'unknown reason "defectve"; did you mean "defective"?',
        ),
        (
            '{ fact = "line.reason", in = ["defective", "wrng_part"] }',
            51,
            'unknown reason "wrng_part"; did you mean "wrong_part"?',
        ),
        (
            '{ fact = "part.category", ne = "electric" }',
            39,
            'unknown category "electric"; did you mean "electrical"?',
        ),
        ('{ fact = "typed.colour", in = ["green"] }', 39, 'unknown colour "green"'),
        (
            '{ fact = "line.reason", eq = 3 }',
            37,
            "line.reason is enum[reason]: expected a reason code, got 3",
        ),
    ],
)
def test_an_enum_value_outside_its_vocabulary_is_reported(
    condition: str, col: int, message: str
) -> None:
    text = HEAD + f'[[rule]]\nid = "a"\nwhen = {condition}\n'
    assert only_problem(text) == f"rules.toml:6:{col}: error: {message}"


def test_codes_added_by_the_policy_vocabulary_are_usable_in_rules() -> None:
    text = HEAD + (
        '[vocab.reason]\nwarranty = "保修"\n'
        '[[rule]]\nid = "a"\nwhen = { fact = "line.reason", eq = "warranty" }\n'
        'decide = "review"\n'
    )
    assert "warranty" in load(text).vocabularies["reason"]


@pytest.mark.parametrize(
    "condition",
    [
        '{ fact = "line.amount", ge = 300 }',
        '{ fact = "line.amount", ge = "180.10" }',
        '{ fact = "line.unit_price", in = [180, "35.50"] }',
    ],
)
def test_a_money_literal_in_a_condition_loads(condition: str) -> None:
    text = HEAD + f'[[rule]]\nid = "a"\nwhen = {condition}\ndecide = "approve"\n'
    load(text)


# -- plugin parameters -----------------------------------------------------------------


def test_a_check_parameter_of_the_wrong_type_is_reported() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nwhen = { check = "flag", value = "yes" }\n'
    assert only_problem(text) == (
        'rules.toml:6:34: error: check flag: value: expected true or false, got "yes"'
    )


def test_an_extra_check_parameter_is_reported_with_did_you_mean() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nwhen = { check = "flag", valu = true }\n'
    assert only_problem(text) == (
        'rules.toml:6:26: error: check flag: unknown parameter "valu"; '
        'did you mean "value"?'
    )


def test_a_missing_check_parameter_is_reported() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nwhen = { check = "window" }\n'
    found = only_problem(text)
    assert found.startswith("rules.toml:6:1: error: check window: ")
    assert 'missing required parameter "days"' in found


def test_a_missing_parameter_message_says_missing_once() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nwhen = { check = "window" }\n'
    assert only_problem(text).count("missing") == 1


def test_typed_check_parameters_are_each_checked() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\nwhen = { check = "window", days = 3, '
        'per_tier = { vipp = 3, fleet = "x" }, from = "deliver" }\n'
    )
    assert problems(text) == [
        'rules.toml:6:51: error: check window: per_tier: unknown tier "vipp"; '
        'did you mean "vip"?',
        "rules.toml:6:69: error: check window: per_tier.fleet: expected an integer, "
        'got "x"',
        'rules.toml:6:83: error: check window: from: expected one of "delivery", '
        '"shipment", "order", got "deliver"; did you mean "delivery"?',
    ]


def test_a_parameter_named_like_a_keyword_is_written_without_underscore() -> None:
    good = rule('when = { check = "window", days = 3, from = "order" }')
    load(good)
    bad = rule('when = { check = "window", days = 3, from_ = "order" }')
    assert only_problem(bad) == (
        'rules.toml:6:38: error: check window: unknown parameter "from_"; '
        'did you mean "from"?'
    )


def test_action_parameters_are_each_checked() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\nthen = [\n'
        '  { action = "settle", method = "cash", fee = true, rate = "x", memo = 3 },\n'
        '  { action = "pay", percnt = 3 },\n'
        '  { action = "note" },\n'
        "]\n"
    )
    found = problems(text)
    assert found[:-1] == [
        'rules.toml:7:33: error: action settle: method: expected one of "original", '
        '"store_credit", got "cash"',
        "rules.toml:7:47: error: action settle: fee: "
        "expected an amount of money, got true",
        "rules.toml:7:60: error: action settle: rate: "
        'expected a decimal number like 180.10, got "x"',
        "rules.toml:7:72: error: action settle: memo: expected a message string, got 3",
        'rules.toml:8:21: error: action pay: unknown parameter "percnt"; '
        'did you mean "percent"?',
    ]
    assert found[-1].startswith(
        'rules.toml:9:3: error: action note: missing required parameter "to"'
    )


def test_a_single_action_twice_in_one_rule_is_reported() -> None:
    text = rule('then = [ { action = "pay" }, { action = "pay" } ]')
    assert only_problem(text) == (
        "rules.toml:6:41: error: pay happens once per line; "
        "this rule already plans it in then[0]"
    )


def test_an_action_entry_without_action_is_reported() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nthen = [ { to = "x" } ]\n'
    assert only_problem(text) == (
        'rules.toml:6:10: error: each entry of then is { action = "NAME", ... }'
    )


# -- rules -----------------------------------------------------------------------------


def test_a_misspelt_rule_key_is_reported_with_did_you_mean() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\nwhne = { fact = "line.qty", gt = 1 }\ndecide = "reject"\n'
    )
    assert only_problem(text) == (
        'rules.toml:6:1: error: unknown key "whne" in a rule; did you mean "when"?'
    )


def test_a_duplicate_rule_id_is_reported_at_the_second_rule() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\ndecide = "approve"\n\n'
        '[[rule]]\nid = "a"\ndecide = "reject"\n'
    )
    assert only_problem(text) == (
        'rules.toml:9:6: error: duplicate rule id "a" (first used on line 5)'
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('id = "Bad Id"', 'a rule id uses a-z, 0-9, _ and -; got "Bad Id"'),
        ("id = 7", "a rule id uses a-z, 0-9, _ and -; got 7"),
    ],
)
def test_a_malformed_rule_id_is_reported(rule: str, message: str) -> None:
    text = HEAD + f'[[rule]]\n{rule}\ndecide = "approve"\n'
    assert only_problem(text) == f"rules.toml:5:6: error: {message}"


def test_a_rule_without_id_is_reported_at_its_header() -> None:
    text = HEAD + '[[rule]]\ndecide = "approve"\n'
    assert only_problem(text) == "rules.toml:4:3: error: the rule has no id"


@pytest.mark.parametrize(
    ("line", "col", "message"),
    [
        (
            'decide = "rejct"',
            10,
            'invalid decision "rejct"; did you mean "reject"? '
            "(approve, reject, review)",
        ),
        ('decide = "deny"', 10, 'invalid decision "deny" (approve, reject, review)'),
        (
            'decide = ["reject"]',
            10,
            "invalid decision an array (approve, reject, review)",
        ),
        ("priority = 'high'", 12, 'priority is an integer, got "high"'),
        ("priority = true", 12, "priority is an integer, got true"),
        ("title = 3", 9, "title is a string, got 3"),
        ("message = 3", 11, "message is a string, got 3"),
        ("then = 3", 8, "then is an array of actions, got 3"),
    ],
)
def test_bad_rule_values_are_reported(line: str, col: int, message: str) -> None:
    # each at the value, where the mistake is (not at the key, column 1)
    text = HEAD + f'[[rule]]\nid = "a"\n{line}\n'
    assert only_problem(text) == f"rules.toml:6:{col}: error: {message}"


@pytest.mark.parametrize(
    ("line", "where", "message"),
    [
        (
            'for = ["aprove"]',
            "6:8",
            'invalid decision "aprove"; did you mean '
            '"approve"? (approve, reject, review)',
        ),
        ('for = "nope"', "6:7", 'invalid decision "nope" (approve, reject, review)'),
        ("for = 3", "6:7", "for is an array of decisions, got 3"),
    ],
)
def test_bad_for_values_are_reported(line: str, where: str, message: str) -> None:
    text = HEAD + f'[[rule]]\nid = "a"\n{line}\nthen = [ {{ action = "hold" }} ]\n'
    assert only_problem(text) == f"rules.toml:{where}: error: {message}"


@pytest.mark.parametrize(
    ("when", "col", "message"),
    [
        (
            '{ fact = "line.qty" }',
            1,
            "a fact comparison needs exactly one operator "
            "(eq, ne, lt, le, gt, ge, in, not_in, present); found none",
        ),
        (
            '{ fact = "line.qty", eq = 1, ne = 2 }',
            1,
            "a fact comparison needs exactly one operator "
            "(eq, ne, lt, le, gt, ge, in, not_in, present); found eq, ne",
        ),
        (
            '{ fcat = "line.qty", eq = 1 }',
            1,
            'a condition needs fact, check, all, any or not; found "fcat", "eq"; '
            'did you mean "fact"?',
        ),
        (
            "{ all = [], any = [] }",
            20,
            '"all" must be alone in its table; found also "any"',
        ),
        (
            '{ all = { fact = "line.qty", eq = 1 } }',
            16,
            '"all" takes an array of conditions, got a table',
        ),
        (
            "3",
            8,
            "a condition is a table: { fact = ... }, { check = ... }, "
            "{ all = [...] }, { any = [...] } or { not = {...} }; got 3",
        ),
        (
            '{ fact = "line.qty", present = 1 }',
            39,
            "present takes true or false, got 1",
        ),
    ],
)
def test_malformed_conditions_are_reported(when: str, col: int, message: str) -> None:
    text = HEAD + f'[[rule]]\nid = "a"\nwhen = {when}\n'
    assert only_problem(text) == f"rules.toml:6:{col}: error: {message}"


def test_problems_deep_in_a_multi_line_condition_have_their_own_line() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\nwhen.all = [\n'
        '  { fact = "line.qty", gt = 1 },\n'
        '  { any = [ { fact = "line.reason", in = ["defective", "wrng_part"] } ] },\n'
        '  { not = { fact = "part.kit", eq = 1 } },\n'
        "]\n"
    )
    assert problems(text) == [
        'rules.toml:8:56: error: unknown reason "wrng_part"; '
        'did you mean "wrong_part"?',
        "rules.toml:9:37: error: part.kit is bool: expected true or false, got 1",
    ]


def test_problems_in_a_rule_when_subtable_are_located() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\n[rule.when]\nfact = "line.reason"\nlt = "defective"\n'
    )
    assert only_problem(text) == (
        'rules.toml:8:1: error: operator "lt" does not apply to line.reason '
        "(enum[reason]); use eq, ne, in, not_in"
    )


# -- messages and their placeholders ---------------------------------------------------


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("{line.qtyy}", '{line.qtyy} is not a fact; did you mean "line.qty"?'),
        ("{line.__class__}", "{line.__class__} is not a fact"),
        ("{0.__globals__}", "{0.__globals__} is not a fact"),
        ("{line.qty!r}", "{line.qty!r}: write just {line.qty}, without ! or :"),
        ("{line.qty:>99}", "{line.qty:>99}: write just {line.qty}, without ! or :"),
        ("{}", "{} is not a fact"),
        ("{line}", '{line} is not a fact; did you mean "line.qty"?'),
    ],
)
def test_an_unknown_placeholder_in_a_message_is_reported(
    message: str, error: str
) -> None:
    text = HEAD + f'[[rule]]\nid = "a"\ndecide = "reject"\nmessage = "{message}"\n'
    assert only_problem(text) == (
        f"rules.toml:7:11: error: unknown placeholder: {error}"
    )


def test_every_bad_placeholder_of_a_message_is_named() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\ndecide = "reject"\n'
        'message = "{line.__class__} and {0.__globals__} but {line.qty}"\n'
    )
    assert only_problem(text) == (
        "rules.toml:7:11: error: unknown placeholder: {line.__class__} is not a "
        "fact; {0.__globals__} is not a fact"
    )


def test_an_unbalanced_brace_in_a_message_is_reported() -> None:
    text = HEAD + '[[rule]]\nid = "a"\ndecide = "reject"\nmessage = "{line.qty"\n'
    assert only_problem(text) == (
        'rules.toml:7:11: error: bad placeholder in "{line.qty": '
        'expected "}" before end of string'
    )


def test_an_unknown_placeholder_in_an_action_message_is_reported() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\n'
        'then = [ { action = "note", to = "x", message = "hi {line.qtyy}" } ]\n'
    )
    assert only_problem(text) == (
        "rules.toml:6:49: error: action note: message: unknown placeholder: "
        "{line.qtyy} "
        'is not a fact; did you mean "line.qty"?'
    )


def test_doubled_braces_are_literal_braces() -> None:
    text = rule('decide = "reject"', 'message = "{{x}} {line.qty}"')
    load(text)


# -- the document ----------------------------------------------------------------------


def test_a_toml_syntax_error_has_tomllibs_line_and_column() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nwhen = = 3\n'
    assert problems(text) == ["rules.toml:6:8: error: invalid TOML: Invalid value"]


def test_a_redefined_key_is_a_toml_syntax_error() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nid = "b"\n'
    assert problems(text) == [
        "rules.toml:6:9: error: invalid TOML: Cannot overwrite a value"
    ]


def test_a_syntax_error_at_the_end_of_the_document_is_reported() -> None:
    # tomllib gives no line for "end of document": the loader points at the end
    found = problems(HEAD + "x = [1, 2\n")
    assert found == ["rules.toml:4:10: error: invalid TOML: Unclosed array"]


def test_an_unknown_top_level_key_is_reported_with_did_you_mean() -> None:
    text = 'version = 1\nrules = []\n[policy]\ncurrency = "CNY"\n'
    assert only_problem(text) == (
        'rules.toml:2:1: error: unknown key "rules" at the top level; '
        'did you mean "rule"?'
    )


def test_an_unknown_key_in_policy_is_reported() -> None:
    text = 'version = 1\n[policy]\ncurrency = "CNY"\ndefualt = "review"\n'
    assert only_problem(text) == (
        'rules.toml:4:1: error: unknown key "defualt" in [policy]; '
        'did you mean "default"?'
    )


def test_a_missing_version_is_reported() -> None:
    text = '[policy]\ncurrency = "CNY"\n'
    assert only_problem(text) == (
        "rules.toml:1:1: error: the policy needs version = 1 at the top"
    )


def test_an_unsupported_version_is_reported() -> None:
    text = 'version = 2\n[policy]\ncurrency = "CNY"\n'
    assert only_problem(text) == (
        "rules.toml:1:11: error: unsupported version 2; this returnrules reads "
        "version = 1"
    )


def test_a_missing_currency_is_reported_at_the_policy_table() -> None:
    text = 'version = 1\n[policy]\ndefault = "approve"\n'
    assert only_problem(text) == (
        "rules.toml:2:2: error: [policy] currency must be an ISO 4217 code like "
        '"CNY"; got nothing'
    )


def test_a_missing_policy_table_is_reported() -> None:
    assert only_problem("version = 1\n") == (
        "rules.toml:1:1: error: the policy needs a [policy] table with currency"
    )


def test_a_bad_currency_and_default_are_reported() -> None:
    text = 'version = 1\n[policy]\ncurrency = "yuan"\ndefault = "maybe"\n'
    assert problems(text) == [
        "rules.toml:3:12: error: [policy] currency must be an ISO 4217 code like "
        '"CNY"; got "yuan"',
        'rules.toml:4:11: error: invalid decision "maybe" (approve, reject, review)',
    ]


def test_bad_vocabulary_tables_are_reported() -> None:
    text = HEAD + (
        "[vocab.reason]\n"
        'warranty = "保修"\n'
        '"Bad Code" = "x"\n'
        "num = 3\n"
        "[vocab.colur]\n"
        'red = "红"\n'
    )
    assert problems(text) == [
        'rules.toml:6:1: error: a code uses a-z, 0-9 and _; got "Bad Code"',
        "rules.toml:7:7: error: a label is a string, got 3",
        'rules.toml:8:8: error: unknown vocabulary "colur"; did you mean "colour"?',
    ]


def test_a_vocabulary_that_is_not_a_table_is_reported() -> None:
    text = HEAD + "[vocab]\nreason = 3\n"
    assert only_problem(text) == (
        "rules.toml:5:10: error: [vocab.reason] maps codes to labels"
    )


@pytest.mark.parametrize("vocab", ["status", "kind"])
def test_a_closed_vocabulary_cannot_be_extended(vocab: str) -> None:
    text = HEAD + f'[vocab.{vocab}]\nlost = "丢失"\n'
    assert only_problem(text) == (
        f"rules.toml:5:1: error: vocabulary {vocab} is closed: its codes can be "
        "relabelled, not added"
    )


def test_a_closed_vocabulary_can_be_relabelled() -> None:
    text = HEAD + '[vocab.status]\nplaced = "已下单(新)"\n'
    assert load(text).vocabularies["status"].label("placed") == "已下单(新)"


def test_plugins_table_problems_are_reported() -> None:
    text = HEAD + '[plugins]\nmodules = "x.py"\ndisable = [1]\nextra = 1\n'
    assert problems(text) == [
        "rules.toml:5:11: error: expected an array of strings",
        "rules.toml:6:11: error: expected an array of strings",
        'rules.toml:7:1: error: unknown key "extra" in [plugins] (modules, disable)',
    ]


# -- one way of quoting ----------------------------------------------------------------


def test_the_checkers_messages_quote_what_the_author_wrote_in_double_quotes() -> None:
    # issue 11: `invalid decision 'aprove'; did you mean "approve"?` mixed them
    text = HEAD + (
        '[[rule]]\nid = "Bad Id"\ndecide = "aprove"\npriority = "high"\n'
        'when.all = [{ fact = "line.qty", eq = "2" },\n'
        '  { check = "flag", value = "y" }]\n'
        'then = [ { action = "settle", method = "cash", rate = "x" } ]\n'
        'message = "{line.qty"\n'
    )
    found = problems(text)
    assert len(found) == 8, found
    for line in found:
        assert "'" not in line, line
        assert '"' in line, line


# -- all at once, sorted ---------------------------------------------------------------


def test_every_problem_is_reported_at_once_sorted_by_line() -> None:
    text = """\
version = 1
[policy]
currency = "CNY"
defualt = "review"

[[rule]]
id = "one"
when = { fact = "line.reasn", eq = "defective" }
decide = "reject"

[[rule]]
id = "two"
whne = { fact = "line.qty", gt = 1 }
decide = "approve"

[[rule]]
id = "three"
when = { fact = "part.kit", lt = true }
decide = "rejct"
"""
    with pytest.raises(PolicyError) as caught:
        load(text)
    found = caught.value.problems
    assert [str(p) for p in found] == [
        'rules.toml:4:1: error: unknown key "defualt" in [policy]; '
        'did you mean "default"?',
        'rules.toml:8:17: error: unknown fact "line.reasn"; '
        'did you mean "line.reason"?',
        'rules.toml:13:1: error: unknown key "whne" in a rule; did you mean "when"?',
        'rules.toml:18:29: error: operator "lt" does not apply to part.kit (bool); '
        "use eq, ne",
        'rules.toml:19:10: error: invalid decision "rejct"; did you mean "reject"? '
        "(approve, reject, review)",
    ]
    assert [p.code for p in found] == [
        "unknown-key",
        "unknown-fact",
        "unknown-key",
        "bad-operator",
        "bad-decision",
    ]
    assert all(p.file == "rules.toml" for p in found)
    assert caught.value.errors == found
    assert str(caught.value).splitlines()[0] == "5 errors in policy"


def test_problems_carry_their_key_path() -> None:
    text = HEAD + '[[rule]]\nid = "a"\nwhen.all = [{ fact = "line.qty", eq = "1" }]\n'
    with pytest.raises(PolicyError) as caught:
        load(text)
    (problem,) = caught.value.problems
    assert problem.path == ("rule", 0, "when", "all", 0, "eq")
    assert (problem.line, problem.col) == (6, 39)
    assert problem.severity == "error"


# -- warnings --------------------------------------------------------------------------


def test_a_rule_with_neither_decide_nor_then_is_a_warning_not_an_error() -> None:
    text = HEAD + '[[rule]]\nid = "idle"\nwhen = { fact = "line.qty", gt = 1 }\n'
    policy = load(text)
    assert [str(w) for w in policy.warnings] == [
        'rules.toml:4:3: warning: rule "idle" has neither decide nor then: it can '
        "only show up in matched"
    ]
    assert policy.warnings[0].severity == "warning"
    assert [r.id for r in policy.rules] == ["idle"]


def test_present_on_a_fact_that_is_never_absent_is_a_warning() -> None:
    text = HEAD + (
        '[[rule]]\nid = "a"\nwhen = { fact = "line.qty", present = true }\n'
        'decide = "approve"\n'
    )
    assert [str(w) for w in load(text).warnings] == [
        "rules.toml:6:29: warning: line.qty is never absent; present is always true"
    ]


def test_warnings_are_listed_along_with_errors() -> None:
    text = HEAD + '[[rule]]\nid = "idle"\n[[rule]]\nid = "x"\ndecide = "nope"\n'
    found = problems(text)
    assert found[0].startswith('rules.toml:4:3: warning: rule "idle"')
    assert found[1].startswith("rules.toml:8:10: error: invalid decision")


def test_a_clean_policy_has_no_warnings_and_knows_its_rule_lines() -> None:
    text = HEAD + '\n[[rule]]\nid = "a"\ndecide = "approve"\n'
    policy = load(text)
    assert policy.warnings == ()
    assert policy.rule_line("a") == 5
    assert policy.position(("rule", 0, "decide")) == (7, 1)
    assert policy.source == "rules.toml"
    assert policy.currency == "CNY"
    assert policy.default == "review"


# -- load_policy on files --------------------------------------------------------------


def test_load_policy_reports_problems_with_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(HEAD + '[[rule]]\nid = "a"\ndecide = "rejct"\n', encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        returnrules.load_policy(path, plugins=[sample], autoload=False)
    assert [str(p) for p in caught.value.problems] == [
        f'{path}:6:10: error: invalid decision "rejct"; did you mean "reject"? '
        "(approve, reject, review)"
    ]


def test_load_policy_on_a_missing_file_is_a_problem_not_a_traceback(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(PolicyError) as caught:
        returnrules.load_policy(path, autoload=False)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:1:1: error: cannot read policy: No such file or directory"
    ]
    assert caught.value.problems[0].code == "unreadable"


def test_load_policy_on_a_directory_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        returnrules.load_policy(tmp_path, autoload=False)
    assert caught.value.problems[0].message.startswith("cannot read policy: ")


def test_load_policy_on_a_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_bytes(HEAD.encode() + b'[[rule]]\nid = "a"\ntitle = "\xb5\xe7"\n')
    with pytest.raises(PolicyError) as caught:
        returnrules.load_policy(path, autoload=False)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:6:1: error: the policy is not valid UTF-8"
    ]


def test_huge_names_in_a_policy_are_cut_in_its_messages() -> None:
    key, fact, rule_id = "k" * 1_000_000, "f" * 1_000_000, "a" * 100_000
    text = HEAD + (
        f'[[rule]]\nid = "{rule_id}"\n{key} = 1\nwhen = {{ fact = "{fact}", eq = 1 }}\n'
        f'[[rule]]\nid = "{rule_id}"\ndecide = "approve"\n'
        f"[vocab.{key}]\n"
    )
    started = time.perf_counter()
    found = problems(text)
    assert time.perf_counter() - started < 5
    assert len(found) >= 4
    for problem in found:
        assert len(problem) < 300, problem[:400]
    assert any(
        'unknown fact "ffff' in p and "(1,000,000 characters)" in p for p in found
    )
