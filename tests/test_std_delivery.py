"""The delivery plugin: checks delivery_deadline, late_delivery; delivery.days_late.

Day counts are calendar days between local dates, both read in requested_at's
UTC offset; "within N days" means ≤ N.
"""

from __future__ import annotations

from typing import Any

import pytest

import returnrules
from tests.std.helpers import explanations, first_line, make_request, policy, problems


def deadline(condition: str, request: dict[str, Any]) -> bool:
    """Does ``when = condition`` hold for the request's first line?"""
    the_policy = policy(
        f'[[rule]]\nid = "in"\nwhen = {condition}\ndecide = "approve"\n'
    )
    return first_line(the_policy, request).decision == "approve"


# -- delivery_deadline -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested_at", "within"),
    [
        ("2026-11-04T11:00:00+08:00", True),  # the day of delivery: 0 days
        ("2026-11-11T23:59:00+08:00", True),  # the last day of a 7-day window
        ("2026-11-12T00:00:00+08:00", False),  # the first day past it
        ("2026-11-30T10:00:00+08:00", False),
    ],
)
def test_the_last_day_of_the_window_is_within_and_the_next_is_not(
    requested_at: str, within: bool
) -> None:
    request = make_request(requested_at=requested_at)
    assert deadline('{ check = "delivery_deadline", days = 7 }', request) is within


def test_a_zero_day_window_is_the_day_of_delivery_only() -> None:
    same_day = make_request(requested_at="2026-11-04T23:59:00+08:00")
    next_day = make_request(requested_at="2026-11-05T00:01:00+08:00")
    condition = '{ check = "delivery_deadline", days = 0 }'
    assert deadline(condition, same_day) is True
    assert deadline(condition, next_day) is False


def test_days_are_calendar_days_across_midnight() -> None:
    # 40 minutes apart, but on two calendar days: 1 day.
    request = make_request(
        order={"delivered_at": "2026-11-04T23:30:00+08:00"},
        requested_at="2026-11-05T00:10:00+08:00",
    )
    assert deadline('{ check = "delivery_deadline", days = 0 }', request) is False
    assert deadline('{ check = "delivery_deadline", days = 1 }', request) is True


def test_dates_are_read_in_the_offset_of_requested_at() -> None:
    # 2026-11-04T20:00-05:00 is 2026-11-05T09:00+08:00: delivered on the 5th as
    # seen from the request, so 7 days to the 12th (8 if read in -05:00).
    request = make_request(
        order={"delivered_at": "2026-11-04T20:00:00-05:00"},
        requested_at="2026-11-12T10:00:00+08:00",
    )
    assert deadline('{ check = "delivery_deadline", days = 7 }', request) is True
    assert deadline('{ check = "delivery_deadline", days = 6 }', request) is False


def test_the_day_count_follows_requested_at_even_when_it_is_not_utc_plus_8() -> None:
    # Delivered 2026-11-05T01:00+08:00 = 2026-11-04T17:00Z; requested at
    # 2026-11-11T12:00Z (20:00 in Beijing): 7 days in UTC, 6 if read in +08:00.
    request = make_request(
        order={"delivered_at": "2026-11-05T01:00:00+08:00"},
        requested_at="2026-11-11T12:00:00+00:00",
    )
    assert deadline('{ check = "delivery_deadline", days = 6 }', request) is False
    assert deadline('{ check = "delivery_deadline", days = 7 }', request) is True


def test_a_bare_date_is_that_date() -> None:
    request = make_request(
        order={"delivered_at": "2026-11-04"}, requested_at="2026-11-11T23:00:00+08:00"
    )
    assert deadline('{ check = "delivery_deadline", days = 7 }', request) is True
    assert deadline('{ check = "delivery_deadline", days = 6 }', request) is False


@pytest.mark.parametrize(
    ("tier", "requested_at", "within"),
    [
        ("workshop", "2026-12-04T10:00:00+08:00", True),  # day 30 of 30
        ("workshop", "2026-12-05T10:00:00+08:00", False),  # day 31
        ("vip", "2026-12-04T10:00:00+08:00", True),  # vip has its own 60
        ("retail", "2026-11-11T10:00:00+08:00", True),  # no per_tier: days = 7
        ("retail", "2026-11-12T10:00:00+08:00", False),
    ],
)
def test_per_tier_overrides_days_for_the_customers_tier(
    tier: str, requested_at: str, within: bool
) -> None:
    request = make_request(tier=tier, requested_at=requested_at)
    condition = (
        '{ check = "delivery_deadline", days = 7, '
        "per_tier = { workshop = 30, vip = 60 } }"
    )
    assert deadline(condition, request) is within


@pytest.mark.parametrize(
    ("start", "within_7"),
    [
        ("delivery", True),  # delivered 2026-11-04: 7 days to the 11th
        ("shipment", False),  # shipped 2026-11-02: 9 days
        ("order", False),  # placed 2026-11-01: 10 days
    ],
)
def test_from_picks_the_start_of_the_window(start: str, within_7: bool) -> None:
    request = make_request(requested_at="2026-11-11T10:00:00+08:00")
    condition = f'{{ check = "delivery_deadline", days = 7, from = "{start}" }}'
    assert deadline(condition, request) is within_7


def test_from_order_counts_from_placed_at() -> None:
    request = make_request(requested_at="2026-11-11T10:00:00+08:00")
    assert deadline(
        '{ check = "delivery_deadline", days = 10, from = "order" }', request
    )
    assert not deadline(
        '{ check = "delivery_deadline", days = 9, from = "order" }', request
    )


def test_a_window_that_has_not_started_counts_as_within() -> None:
    # Shipped but not delivered yet, a month after the order.
    request = make_request(
        order={"status": "shipped", "delivered_at": None},
        requested_at="2026-12-20T10:00:00+08:00",
    )
    assert deadline('{ check = "delivery_deadline", days = 7 }', request) is True
    # ... while the shipment window, which has started, is over.
    assert (
        deadline(
            '{ check = "delivery_deadline", days = 7, from = "shipment" }', request
        )
        is False
    )


def test_an_order_not_shipped_is_within_a_shipment_window() -> None:
    request = make_request(
        order={"status": "placed", "shipped_at": None, "delivered_at": None},
        requested_at="2027-03-01T10:00:00+08:00",
    )
    condition = '{ check = "delivery_deadline", days = 1, from = "shipment" }'
    assert deadline(condition, request) is True


def test_the_explanation_states_the_dates_and_the_day_count() -> None:
    the_policy = policy(
        '[[rule]]\nid = "in"\ndecide = "approve"\n'
        'when = { check = "delivery_deadline", days = 7, per_tier = { workshop = 30 } }'
    )
    decision = the_policy.evaluate(make_request(tier="workshop"), explain=True)
    assert decision.decision == "approve"
    assert explanations(decision, "delivery_deadline") == [
        "delivered 2026-11-04, requested 2026-11-20: 16 days, window 30 (tier workshop)"
    ]
    not_yet = make_request(order={"status": "shipped", "delivered_at": None})
    decision = the_policy.evaluate(not_yet, explain=True)
    assert explanations(decision, "delivery_deadline") == [
        "not delivered yet, requested 2026-11-20: inside the window 7"
    ]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('{ check = "delivery_deadline" }', ("missing", '"days"')),
        (
            '{ check = "delivery_deadline", days = 7, from = "delivry" }',
            ('"delivery", "shipment", "order"', 'did you mean "delivery"?'),
        ),
        (
            '{ check = "delivery_deadline", days = 7, per_tier = { wrokshop = 30 } }',
            ('unknown tier "wrokshop"', 'did you mean "workshop"?'),
        ),
        ('{ check = "delivery_deadline", days = "7" }', ("expected an integer",)),
        (
            '{ check = "delivery_deadline", day = 7 }',
            ('unknown parameter "day"', 'did you mean "days"?'),
        ),
    ],
)
def test_bad_deadline_parameters_are_reported_at_load_time(
    condition: str, expected: tuple[str, ...]
) -> None:
    found = problems(f'[[rule]]\nid = "in"\nwhen = {condition}\ndecide = "approve"\n')
    prefix = "rules.toml:7:"
    assert any(
        p.startswith(prefix)
        and "error: check delivery_deadline: " in p
        and all(part in p for part in expected)
        for p in found
    ), found


def test_a_negative_window_is_rejected_at_load_time() -> None:
    found = problems(
        '[[rule]]\nid = "in"\n'
        'when = { check = "delivery_deadline", days = -1 }\ndecide = "approve"\n'
    )
    assert len(found) == 1
    assert "check delivery_deadline" in found[0]
    assert "days" in found[0]
    assert "-1" in found[0]


# -- late_delivery and delivery.days_late ----------------------------------------------


def late(condition: str, **order: Any) -> bool:
    return deadline(condition, make_request(order=order))


@pytest.mark.parametrize(
    ("promised_at", "late_by_default"),
    [
        ("2026-11-03T18:00:00+08:00", True),  # delivered the next day: 1 day late
        ("2026-11-04T09:00:00+08:00", False),  # same day, earlier hour: 0 days
        ("2026-11-04T18:00:00+08:00", False),  # same day, on time
        ("2026-11-06T18:00:00+08:00", False),  # early
        ("2026-11-03", True),  # a bare date
    ],
)
def test_late_delivery_defaults_to_one_day_late(
    promised_at: str, late_by_default: bool
) -> None:
    assert late('{ check = "late_delivery" }', promised_at=promised_at) is (
        late_by_default
    )


@pytest.mark.parametrize(
    ("days", "is_late"), [(1, True), (2, True), (3, True), (4, False)]
)
def test_late_delivery_days_is_a_minimum(days: int, is_late: bool) -> None:
    # promised 2026-11-01, delivered 2026-11-04: 3 days late
    condition = f'{{ check = "late_delivery", days = {days} }}'
    assert late(condition, promised_at="2026-11-01T12:00:00+08:00") is is_late


@pytest.mark.parametrize(
    "order",
    [
        {"promised_at": None},
        {"promised_at": "2026-11-01T12:00:00+08:00", "delivered_at": None},
    ],
)
def test_late_delivery_is_false_when_a_date_is_missing(order: dict[str, Any]) -> None:
    if "delivered_at" in order:
        order["status"] = "shipped"
    assert late('{ check = "late_delivery" }', **order) is False
    assert late('{ not = { check = "late_delivery" } }', **order) is True


def test_late_delivery_reads_both_dates_in_the_offset_of_requested_at() -> None:
    # promised 2026-11-04T23:00+08:00, delivered 2026-11-04T12:30-05:00, which
    # is 2026-11-05T01:30+08:00: 1 day late seen from Beijing (0 in -05:00).
    assert late(
        '{ check = "late_delivery" }',
        promised_at="2026-11-04T23:00:00+08:00",
        delivered_at="2026-11-04T12:30:00-05:00",
    )


def test_late_delivery_with_zero_days_is_false_for_an_early_delivery() -> None:
    assert (
        late('{ check = "late_delivery", days = 0 }', promised_at="2026-11-06") is False
    )


def days_late_shown(**order: Any) -> str:
    the_policy = policy(
        '[[rule]]\nid = "show"\ndecide = "review"\nmessage = "{delivery.days_late}"\n'
    )
    return first_line(the_policy, make_request(order=order)).messages[0]


def test_days_late_counts_calendar_days_after_the_promise() -> None:
    assert days_late_shown(promised_at="2026-11-01T20:00:00+08:00") == "3"
    assert days_late_shown(promised_at="2026-11-04T20:00:00+08:00") == "0"


def test_days_late_is_negative_for_an_early_delivery() -> None:
    assert days_late_shown(promised_at="2026-11-09") == "-5"


def test_days_late_is_absent_without_both_dates() -> None:
    assert days_late_shown(promised_at=None) == "—"
    assert (
        days_late_shown(promised_at="2026-11-01", status="shipped", delivered_at=None)
        == "—"
    )


def test_comparisons_with_an_absent_days_late_are_false() -> None:
    the_policy = policy(
        """
[[rule]]
id = "late"
when = { any = [ { fact = "delivery.days_late", ge = 0 },
                 { fact = "delivery.days_late", lt = 0 } ] }
decide = "approve"

[[rule]]
id = "unknown"
when = { fact = "delivery.days_late", present = false }
decide = "reject"
"""
    )
    line = first_line(the_policy, make_request())  # no promised_at
    assert line.matched == ("unknown",)
    line = first_line(the_policy, make_request(order={"promised_at": "2026-11-01"}))
    assert line.matched == ("late",)


def test_the_late_delivery_explanation_states_both_dates() -> None:
    the_policy = policy(
        '[[rule]]\nid = "late"\nwhen = { check = "late_delivery", days = 2 }\n'
        'decide = "approve"\n'
    )
    request = make_request(order={"promised_at": "2026-11-01T18:00:00+08:00"})
    decision = the_policy.evaluate(request, explain=True)
    assert explanations(decision, "late_delivery") == [
        "promised 2026-11-01, delivered 2026-11-04: 3 days late, threshold 2"
    ]
    decision = the_policy.evaluate(make_request(), explain=True)
    assert explanations(decision, "late_delivery") == ["no promised_at: not late"]


def test_late_delivery_rejects_a_negative_threshold_at_load_time() -> None:
    found = problems(
        '[[rule]]\nid = "late"\nwhen = { check = "late_delivery", days = -2 }\n'
        'decide = "approve"\n'
    )
    assert len(found) == 1
    assert "check late_delivery" in found[0]


def test_the_delivery_plugin_registers_through_the_entry_point() -> None:
    registry = policy("").registry
    info = {p.name: p for p in registry.plugins}["delivery"]
    assert info.origin == "entry point"
    assert set(info.checks) == {"delivery_deadline", "late_delivery"}
    assert info.facts == ("delivery.days_late",)
    assert registry.fact("delivery.days_late") is not None
    assert isinstance(registry.checks["delivery_deadline"], returnrules.Check)
