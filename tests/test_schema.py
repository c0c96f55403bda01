"""``returnrules schema``: a JSON Schema that accepts good policies, rejects bad ones.

TOML editors validate the document tomllib would read, with dates as strings;
``instance()`` does the same conversion before validating.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from returnrules.cli import main
from returnrules.cli.starter import starter_files
from returnrules.plugin.manager import load_registry
from returnrules.policy.schema import policy_schema
from tests.plugins import cli_extras, fake_std, sample

# jsonschema is a test dependency of this module only; without it, skip.
jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "cli"

Schema = dict[str, Any]


@pytest.fixture(autouse=True)
def _no_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv(  # the CLI tests' policy loads the test plugins by name
        "RETURNRULES_ALLOW_MODULES", "tests.plugins.sample,tests.plugins.cli_extras"
    )


def instance(value: Any) -> Any:
    """A tomllib document as a JSON-minded editor sees it."""
    if isinstance(value, dict):
        return {k: instance(v) for k, v in value.items()}
    if isinstance(value, list):
        return [instance(v) for v in value]
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


def schema_for(*plugins: object, exact: bool = False) -> Schema:
    """The schema of the registry of *plugins*: as `returnrules schema` makes it
    without a policy, or *exact*, as with `--rules` (the codes known, no more)."""
    registry, issues = load_registry(plugins=plugins, autoload=False)
    assert issues == []
    return policy_schema(registry, registry.vocabularies if exact else None)


def cli_schema(capsys: pytest.CaptureFixture[str], *argv: str) -> Schema:
    assert main(["schema", *argv]) == 0
    schema: Schema = json.loads(capsys.readouterr().out)
    return schema


def errors(schema: Schema, text: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    found = validator.iter_errors(instance(tomllib.loads(text)))
    return [e.message for e in found]


GOOD = """\
version = 1
[policy]
currency = "CNY"
default = "review"
[plugins]
modules = []
[vocab.reason]
core_return = "旧件返还"
[vocab.status]
delivered = "已送达"

[[rule]]
id = "wrong-part"
title = "错发配件"
when.all = [
  { fact = "line.reason", in = ["wrong_part", "defective"] },
  { fact = "line.qty", le = { fact = "line.returnable_qty" } },
  { fact = "part.supplier", present = true },
  { not = { fact = "part.kit", eq = true } },
  { any = [
    { check = "window", days = 30, per_tier = { vip = 60 } },
    { check = "flag" },
  ] },
  { fact = "line.amount", ge = "100.00" },
  { fact = "request.days_since_delivery", lt = 30 },
]
decide = "approve"
message = "{line.reason}"
priority = 2
then = [
  { action = "pay", percent = 90, minimum = "5.00" },
  { action = "credit", method = "account_credit", cap = 100, memo = "{part.sku}" },
  { action = "note", to = "customer" },
]

[[rule]]
id = "tell"
for = ["reject", "review"]
then = { action = "note", to = "customer", message = "no" }
"""


def test_the_schema_is_valid_json_schema_2020_12(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = cli_schema(capsys)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_a_representative_policy_is_valid() -> None:
    assert errors(schema_for(sample, cli_extras), GOOD) == []


def test_the_cli_test_policy_is_valid_against_its_own_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = cli_schema(capsys, "--rules", str(DATA / "rules.toml"))
    assert errors(schema, (DATA / "rules.toml").read_text(encoding="utf-8")) == []


def test_the_starter_policy_is_valid() -> None:
    text = starter_files()[Path("rules.toml")]
    assert errors(schema_for(fake_std), text) == []


def test_codes_a_policy_adds_are_accepted_by_the_schema_without_the_policy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # issue 11: `returnrules schema > rules.schema.json` rejected the shipped
    # rules.toml, 3 x "'core_return' is not one of [...]"
    rule = '[[rule]]\nid = "x"\nwhen = { fact = "line.reason", eq = "core_return" }\n'
    text = (DATA / "rules.toml").read_text(encoding="utf-8") + rule
    assert errors(schema_for(sample, cli_extras), text) == []
    assert errors(cli_schema(capsys, "--rules", str(DATA / "rules.toml")), text) == []
    # ... while a value that is no code at all, or a closed vocabulary's
    # unknown code, is still an error
    not_a_code = text.replace('eq = "core_return"', 'eq = "Core Return"')
    found = errors(schema_for(sample, cli_extras), not_a_code)
    assert any("'Core Return' is not valid" in e for e in found), found
    found = errors(
        schema_for(sample, cli_extras), GOOD.replace("delivered =", "lost =")
    )
    assert any("'lost' is not one of" in e for e in found), found


def test_completion_still_offers_the_known_codes() -> None:
    reason = schema_for(sample, cli_extras)["$defs"]["fact:line.reason"]
    eq = reason["properties"]["eq"]["else"]
    assert eq["anyOf"][0] == {
        "enum": [
            "wrong_part",
            "ordered_wrong",
            "defective",
            "damaged_in_transit",
            "late_delivery",
            "changed_mind",
            "duplicate_order",
            "out_of_stock",
            "other",
        ]
    }
    assert eq["anyOf"][1] == {"type": "string", "pattern": "^[a-z0-9_]+$"}
    assert "[vocab.reason]" in eq["description"]


def test_a_policys_schema_knows_exactly_its_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_policy = cli_schema(capsys, "--rules", str(DATA / "rules.toml"))
    rule = '[[rule]]\nid = "x"\nwhen = { fact = "line.reason", eq = "core_retrun" }\n'
    text = (DATA / "rules.toml").read_text(encoding="utf-8") + rule
    found = errors(with_policy, text)
    assert any("'core_retrun' is not one of" in e for e in found), found


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("version = 1", "version = 2"), "1 was expected"),
        (('currency = "CNY"', 'currency = "cny"'), "does not match '^[A-Z]{3}$'"),
        (("[plugins]", "colour = 1\n[plugins]"), "'colour' was unexpected"),
        (("priority = 2", "prio = 2"), "'prio' was unexpected"),
        (('decide = "approve"', 'decide = "aprove"'), "'aprove' is not one of"),
        (('"reject", "review"', '"reject", "later"'), "'later' is not one of"),
        (("in = [", "inside = ["), "'inside' was unexpected"),
        (("le = { fact", "lt_eq = { fact"), "'lt_eq' was unexpected"),
        (('kit", eq = true', 'kit", lt = true'), "'lt' is not one of ['fact', 'eq', "),
        (('"wrong_part", "defective"', '"wrong_part", "defectve"'), "'defectve'"),
        (('"line.reason", in', '"line.reson", in'), "'line.reson' is not one of"),
        (("lt = 30", 'lt = "30"'), "'30' is not of type 'integer'"),
        (('check = "flag"', 'check = "flg"'), "'flg' is not one of"),
        (("days = 30,", 'days = "30",'), "'30' is not of type 'integer'"),
        (('{ check = "window", days = 30,', '{ check = "window",'), "'days' is a req"),
        (("vip = 60", "vipp = 60"), "'vipp' is not one of"),
        (('method = "account_credit"', 'method = "cash"'), "'cash' is not one of"),
        (('action = "pay"', 'action = "pya"'), "'pya' is not one of"),
        (("percent = 90", "percnt = 90"), "'percnt' was unexpected"),
        (('to = "customer" },\n]', "to = 3 },\n]"), "3 is not of type 'string'"),
        (('delivered = "已送达"', 'lost = "丢失"'), "'lost' is not one of"),
        (('id = "wrong-part"', 'id = "Wrong Part"'), "does not match"),
        (("{ not = {", "{ nope = {"), "'fact' is a required property"),
        (('ge = "100.00"', 'ge = " 100.00"'), "' 100.00' does not match '^[+-]"),
        (('minimum = "5.00"', 'minimum = "５.00"'), "'５.00' does not match '^[+-]"),
    ],
)
def test_the_schema_rejects_a_bad_policy(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in GOOD
    found = errors(
        schema_for(sample, cli_extras, exact=True), GOOD.replace(old, new, 1)
    )
    assert any(message in e for e in found), found


def test_parameters_carry_types_defaults_and_required(
    capsys: pytest.CaptureFixture[str],
) -> None:
    defs = cli_schema(capsys, "--rules", str(DATA / "rules.toml"))["$defs"]
    window = defs["check:window"]
    assert window["required"] == ["check", "days"]
    assert window["properties"]["from"] == {
        "enum": ["delivery", "order"],
        "default": "delivery",
    }
    assert window["properties"]["per_tier"]["propertyNames"] == {
        "enum": ["retail", "workshop", "fleet", "vip"]
    }
    credit = defs["action:credit"]["properties"]
    assert credit["rate"]["default"] == "0.5"
    assert credit["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
    }
    assert defs["action:credit"]["description"] == "credit the account"
    assert defs["fact:line.reason"]["propertyNames"] == {
        "enum": ["fact", "eq", "ne", "in", "not_in", "present"]
    }


def shipped_policies() -> Iterator[Path]:
    for path in [ROOT / "rules.toml", *sorted((ROOT / "examples").rglob("*.toml"))]:
        if path.is_file() and "[policy]" in path.read_text(encoding="utf-8"):
            yield path


def std_pack_installed() -> bool:
    return bool(importlib.metadata.entry_points(group="returnrules"))


@pytest.mark.skipif(not std_pack_installed(), reason="the standard pack is absent")
@pytest.mark.parametrize(
    "policy", list(shipped_policies()), ids=lambda p: str(p.relative_to(ROOT))
)
@pytest.mark.parametrize("with_rules", [True, False], ids=["--rules", "plain"])
def test_the_shipped_policies_are_valid(
    policy: Path,
    with_rules: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `returnrules schema > rules.schema.json` as the README says, and with
    # the policy's own --rules
    monkeypatch.delenv("RETURNRULES_DISABLE_PLUGIN_AUTOLOAD")
    schema = cli_schema(capsys, *(["--rules", str(policy)] if with_rules else []))
    assert errors(schema, policy.read_text(encoding="utf-8")) == []


def test_bounds_become_minimum_and_maximum() -> None:
    from decimal import Decimal
    from typing import Annotated

    from returnrules import Bounds
    from returnrules.policy.schema import type_schema

    assert type_schema(Annotated[int, Bounds(ge=1)], {}) == {
        "type": "integer",
        "minimum": 1,
    }
    percent = type_schema(Annotated[Decimal, Bounds(ge=0, le=Decimal("99.5"))], {})
    assert (percent["minimum"], percent["maximum"]) == (0, 99.5)
