"""The warehouse and messaging actions of the standard pack.

restock, scrap, notify, exchange, cancel_line and return_to_supplier: what each
reports, their parameters, and the load-time checks of notify's recipients and
message placeholders.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.std.helpers import actions, first_line, make_request, policy, problems


def planned(then: str, request: dict[str, Any] | None = None, **rule: str) -> Any:
    """The actions a one-rule approving policy plans for the first line."""
    extra = "".join(f"{key} = {value}\n" for key, value in rule.items())
    the_policy = policy(
        f'[[rule]]\nid = "r"\ndecide = "approve"\n{extra}then = [ {then} ]\n'
    )
    line = first_line(the_policy, request or make_request())
    assert not line.errors, line.errors
    return actions(line)


# -- restock ---------------------------------------------------------------------------


def test_restock_defaults_to_the_main_warehouse_without_inspection() -> None:
    assert planned('{ action = "restock" }') == [
        {
            "action": "restock",
            "rule": "r",
            "sku": "BOSCH-0986494",
            "qty": 2,
            "location": "main",
            "inspect": False,
        }
    ]


def test_restock_takes_a_location_and_inspection() -> None:
    (found,) = planned('{ action = "restock", location = "returns", inspect = true }')
    assert (found["location"], found["inspect"]) == ("returns", True)


def test_restock_reports_the_returned_qty_not_the_ordered_one() -> None:
    (found,) = planned('{ action = "restock" }', make_request(qty=3))
    assert found["qty"] == 3


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ('inspect = "yes"', "expected true or false"),
        ("location = 3", "expected a string"),
        ("inspekt = true", 'did you mean "inspect"?'),
    ],
)
def test_bad_restock_parameters_are_reported_at_load_time(
    params: str, expected: str
) -> None:
    (found,) = problems(
        f'[[rule]]\nid = "r"\nthen = [ {{ action = "restock", {params} }} ]\n'
    )
    assert "error: action restock: " in found
    assert expected in found


# -- scrap -----------------------------------------------------------------------------


def test_scrap_reports_the_part_and_qty() -> None:
    assert planned('{ action = "scrap" }') == [
        {"action": "scrap", "rule": "r", "sku": "BOSCH-0986494", "qty": 2}
    ]


def test_scrap_takes_no_parameters() -> None:
    (found,) = problems(
        '[[rule]]\nid = "r"\nthen = [ { action = "scrap", location = "bin" } ]\n'
    )
    assert 'action scrap: unknown parameter "location"' in found


# -- exchange and cancel_line ----------------------------------------------------------


def test_exchange_reserves_the_replacement() -> None:
    assert planned('{ action = "exchange" }') == [
        {"action": "exchange", "rule": "r", "sku": "BOSCH-0986494", "qty": 2}
    ]


def test_cancel_line_releases_the_unshipped_qty() -> None:
    request = make_request(
        order={"status": "allocated", "shipped_at": None, "delivered_at": None},
        reason="changed_mind",
        qty=3,
    )
    assert planned('{ action = "cancel_line" }', request) == [
        {"action": "cancel_line", "rule": "r", "sku": "BOSCH-0986494", "qty": 3}
    ]


def test_exchange_and_cancel_line_are_single_actions() -> None:
    (found,) = problems(
        '[[rule]]\nid = "r"\n'
        'then = [ { action = "exchange" }, { action = "exchange" } ]\n'
    )
    assert "exchange happens once per line" in found


# -- return_to_supplier ----------------------------------------------------------------


def test_return_to_supplier_names_the_supplier() -> None:
    assert planned('{ action = "return_to_supplier" }') == [
        {
            "action": "return_to_supplier",
            "rule": "r",
            "supplier": "SUP-BOSCH",
            "sku": "BOSCH-0986494",
            "qty": 2,
        }
    ]


def test_return_to_supplier_without_a_supplier_sends_the_line_to_review() -> None:
    the_policy = policy(
        '[[rule]]\nid = "r"\ndecide = "approve"\n'
        'then = [ { action = "return_to_supplier" }, { action = "scrap" } ]\n'
    )
    decision = the_policy.evaluate(make_request(line={"supplier": None}))
    (line,) = decision.lines
    assert line.decision == "review"
    (error,) = line.errors
    assert error.rule == "r"
    assert "return_to_supplier" in error.source
    assert "has no supplier" in error.message


# -- notify ----------------------------------------------------------------------------


def test_notify_renders_fact_placeholders() -> None:
    (found,) = planned(
        '{ action = "notify", to = "warehouse", '
        'message = "{part.sku} × {line.qty}（{line.reason}）{line.amount} {{ok}}" }'
    )
    assert found == {
        "action": "notify",
        "rule": "r",
        "to": "warehouse",
        "message": "BOSCH-0986494 × 2（错发配件）360.00 CNY {ok}",
    }


def test_notify_renders_plugin_facts_and_absent_ones() -> None:
    (found,) = planned(
        '{ action = "notify", to = "purchasing", '
        'message = "{part.supplier}: {supplier.days_left} / {stock.available}" }'
    )
    assert found["message"] == "SUP-BOSCH: — / —"  # no data: absent facts


def test_notify_without_a_message_reports_an_empty_one() -> None:
    assert planned('{ action = "notify", to = "finance" }') == [
        {"action": "notify", "rule": "r", "to": "finance", "message": ""}
    ]


@pytest.mark.parametrize(
    "to",
    [
        "customer",
        "warehouse",
        "purchasing",
        "finance",
        "customer_service",
        "production",
        "logistics",
        "supplier",
    ],
)
def test_every_recipient_of_the_contract_is_accepted(to: str) -> None:
    (found,) = planned(f'{{ action = "notify", to = "{to}" }}')
    assert found["to"] == to


def test_notifications_are_all_kept_and_identical_ones_sent_once() -> None:
    the_policy = policy(
        """
[[rule]]
id = "a"
decide = "approve"
then = [
  { action = "notify", to = "warehouse", message = "收货 {part.sku}" },
  { action = "notify", to = "customer", message = "已受理" },
]

[[rule]]
id = "b"
when = { fact = "line.qty", ge = 1 }
then = [
  { action = "notify", to = "warehouse", message = "收货 {part.sku}" },
  { action = "notify", to = "warehouse", message = "入库 {part.sku}" },
  { action = "notify", to = "finance", message = "收货 {part.sku}" },
]
"""
    )
    line = first_line(the_policy, make_request())
    assert [(a["rule"], a["to"], a["message"]) for a in actions(line)] == [
        ("a", "warehouse", "收货 BOSCH-0986494"),
        ("a", "customer", "已受理"),
        ("b", "warehouse", "入库 BOSCH-0986494"),
        ("b", "finance", "收货 BOSCH-0986494"),
    ]
    assert line.overridden == ()


def test_notify_for_reject_tells_the_customer_about_a_rejection() -> None:
    the_policy = policy(
        """
[[rule]]
id = "over-return"
when = { fact = "line.qty", gt = { fact = "line.returnable_qty" } }
decide = "reject"

[[rule]]
id = "tell-customer"
for = ["reject"]
then = [
  { action = "notify", to = "customer", message = "可退 {line.returnable_qty} 件" },
]
"""
    )
    rejected = first_line(the_policy, make_request(qty=5))
    assert rejected.decision == "reject"
    assert actions(rejected) == [
        {
            "action": "notify",
            "rule": "tell-customer",
            "to": "customer",
            "message": "可退 4 件",
        }
    ]
    reviewed = first_line(the_policy, make_request(qty=2))  # default: review
    assert reviewed.decision == "review"
    assert reviewed.actions == ()


def test_a_bad_recipient_is_rejected_at_load_time_with_a_suggestion() -> None:
    (found,) = problems(
        '[[rule]]\nid = "r"\nthen = [ { action = "notify", to = "custmer" } ]\n'
    )
    # at the value, naming the parameter (issue 11: it said only "action notify")
    assert found == (
        'rules.toml:7:36: error: action notify: to: expected one of "customer", '
        '"warehouse", "purchasing", "finance", "customer_service", "production", '
        '"logistics", "supplier", got "custmer"; did you mean "customer"?'
    )


def test_a_missing_recipient_is_rejected_at_load_time() -> None:
    (found,) = problems(
        '[[rule]]\nid = "r"\nthen = [ { action = "notify", message = "hi" } ]\n'
    )
    assert "action notify: " in found
    assert '"to"' in found


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("{part.skuu}", '{part.skuu} is not a fact; did you mean "part.sku"?'),
        ("{line.reasn} {line.qty}", 'did you mean "line.reason"?'),
        ("{part.sku.upper}", "{part.sku.upper} is not a fact"),
        ("{part.sku!r}", "{part.sku!r}"),
        ("{line.qty:>5}", "{line.qty:>5}"),
        ("{0}", "{0} is not a fact"),
        ("{}", "is not a fact"),
        ("unbalanced {", "placeholder"),
    ],
)
def test_a_bad_placeholder_is_rejected_at_load_time(
    message: str, expected: str
) -> None:
    (found,) = problems(
        '[[rule]]\nid = "r"\n'
        f'then = [ {{ action = "notify", to = "warehouse", message = "{message}" }} ]\n'
    )
    assert found.startswith("rules.toml:7:")
    assert "error: action notify: " in found
    assert expected in found


def test_every_bad_notification_is_reported_at_once() -> None:
    found = problems(
        """
[[rule]]
id = "a"
then = [
  { action = "notify", to = "custmer" },
  { action = "notify", to = "warehouse", message = "{part.skuu}" },
]

[[rule]]
id = "b"
then = [ { action = "notify", to = "logistic" } ]
"""
    )
    assert len(found) == 3
    assert [p.split(":")[1] for p in found] == ["9", "10", "15"]


def test_the_warehouse_actions_are_single_and_notify_is_many() -> None:
    registry = policy("").registry
    single = {"refund", "restock", "return_to_supplier", "exchange", "cancel_line"}
    for name in [*single, "scrap"]:
        assert registry.actions[name].multiple is False, name
    assert registry.actions["notify"].multiple is True
    owners = {name: action.plugin for name, action in registry.actions.items()}
    assert owners["restock"] == "restock"
    assert owners["scrap"] == "scrap"
    assert owners["notify"] == "notify"
    assert owners["exchange"] == owners["cancel_line"] == "stock"
    assert owners["return_to_supplier"] == "supplier"
