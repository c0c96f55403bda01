"""The supplier plugin: ``supplier.*`` facts, ``supplier_accepts``, its data hook.

The base request's part (BOSCH-0986494, brake) comes from SUP-BOSCH and was
delivered 2026-11-04; the request is made 2026-11-20, 16 days later.  The
``return_to_supplier`` action is tested in test_std_actions.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import returnrules
from returnrules import LineContext
from returnrules.model.errors import quote
from returnrules_std.supplier import SupplierTerms
from tests.std.helpers import explanations, first_line, make_request, policy

TERMS: dict[str, Any] = {
    "accepts_returns": True,
    "window_days": 90,
    "restocking_fee_percent": 10,
    "non_returnable_categories": ["electrical"],
}
DATA: dict[str, Any] = {"supplier": {"SUP-BOSCH": TERMS}}

SHOW_FACTS = (
    '[[rule]]\nid = "show"\ndecide = "review"\n'
    'message = "{supplier.accepts_returns}|{supplier.days_left}|'
    '{supplier.restocking_fee_percent}"\n'
)

ACCEPTS = """
[[rule]]
id = "to-supplier"
when = { check = "supplier_accepts" }
decide = "approve"
"""


def with_terms(**terms: Any) -> dict[str, Any]:
    """DATA with SUP-BOSCH's terms changed (None leaves a term out)."""
    changed = {**TERMS, **terms}
    return {
        "supplier": {"SUP-BOSCH": {k: v for k, v in changed.items() if v is not None}}
    }


def shown(data: Any, request: dict[str, Any] | None = None, **kwargs: Any) -> str:
    line = first_line(policy(SHOW_FACTS, **kwargs), request or make_request(), data)
    assert not line.errors
    return line.messages[0]


def accepts(data: Any, request: dict[str, Any] | None = None, **kwargs: Any) -> bool:
    line = first_line(policy(ACCEPTS, **kwargs), request or make_request(), data)
    assert not line.errors
    return line.decision == "approve"


def delivered_days_ago(days: int) -> dict[str, Any]:
    """The base request, made *days* calendar days after the 2026-11-04 delivery."""
    return make_request(requested_at=f"2026-11-{4 + days:02d}T23:00:00+08:00")


# -- facts -----------------------------------------------------------------------------


def test_supplier_facts_come_from_the_data_mapping() -> None:
    assert shown(DATA) == "true|74|10"  # 90 − 16 days


def test_a_supplier_record_may_leave_out_everything() -> None:
    assert shown({"supplier": {"SUP-BOSCH": {}}}) == "true|—|0"


def test_days_left_is_negative_once_the_window_is_over() -> None:
    assert shown(with_terms(window_days=10)) == "true|-6|10"


def test_days_left_is_the_whole_window_before_delivery() -> None:
    request = make_request(order={"status": "shipped", "delivered_at": None})
    assert shown(DATA, request) == "true|90|10"


def test_the_restocking_fee_percent_keeps_its_decimals() -> None:
    assert shown(with_terms(restocking_fee_percent="12.5")) == "true|74|12.5"
    the_policy = policy(
        '[[rule]]\nid = "fee"\n'
        'when = { fact = "supplier.restocking_fee_percent", gt = 12 }\n'
        'decide = "approve"\n'
    )
    line = first_line(
        the_policy, make_request(), with_terms(restocking_fee_percent=12.5)
    )
    assert line.decision == "approve"


@pytest.mark.parametrize(
    ("request_", "data"),
    [
        (make_request(line={"supplier": None}), DATA),  # the part has no supplier
        (make_request(), None),  # no data
        (make_request(), {"supplier": {"SUP-MANN": TERMS}}),  # no record for it
    ],
    ids=["no-supplier", "no-data", "no-record"],
)
def test_without_supplier_terms_the_facts_are_absent_and_it_does_not_accept(
    request_: dict[str, Any], data: Any
) -> None:
    assert shown(data, request_) == "—|—|—"
    assert accepts(data, request_) is False


def test_comparisons_with_absent_supplier_facts_are_false() -> None:
    the_policy = policy(
        """
[[rule]]
id = "compared"
when = { any = [ { fact = "supplier.accepts_returns", eq = true },
                 { fact = "supplier.accepts_returns", eq = false },
                 { fact = "supplier.days_left", ge = -1000 },
                 { fact = "supplier.restocking_fee_percent", ge = 0 } ] }
decide = "approve"
"""
    )
    assert first_line(the_policy, make_request()).decision == "review"
    assert first_line(the_policy, make_request(), DATA).decision == "approve"


# -- supplier_accepts ------------------------------------------------------------------


def test_a_supplier_that_accepts_returns_takes_the_part_back() -> None:
    assert accepts(DATA) is True


def test_a_supplier_that_accepts_no_returns_does_not() -> None:
    assert accepts(with_terms(accepts_returns=False)) is False


def test_an_excluded_category_is_not_taken_back() -> None:
    electrical = make_request(line={"category": "electrical"})
    assert accepts(DATA, electrical) is False
    assert accepts(with_terms(non_returnable_categories=[]), electrical) is True


@pytest.mark.parametrize(
    ("days", "accepted"),
    [(0, True), (14, True), (15, True), (16, False), (20, False)],
)
def test_the_supplier_window_is_inclusive(days: int, accepted: bool) -> None:
    data = with_terms(window_days=15)
    assert accepts(data, delivered_days_ago(days)) is accepted


def test_without_a_window_there_is_no_time_limit() -> None:
    data = {"supplier": {"SUP-BOSCH": {"accepts_returns": True}}}
    assert accepts(data, make_request(requested_at="2027-11-04T10:00:00+08:00"))


def test_before_delivery_the_window_has_not_started() -> None:
    request = make_request(
        order={"status": "shipped", "delivered_at": None},
        requested_at="2027-01-30T10:00:00+08:00",
    )
    assert accepts(with_terms(window_days=1), request) is True


@pytest.mark.parametrize(
    ("data", "request_", "expected"),
    [
        (DATA, None, "SUP-BOSCH takes it back (74 days left in its window)"),
        (
            with_terms(window_days=None),
            None,
            "SUP-BOSCH takes it back (no window)",
        ),
        (with_terms(accepts_returns=False), None, "SUP-BOSCH accepts no returns"),
        (
            DATA,
            make_request(line={"category": "electrical"}),
            "SUP-BOSCH takes no returns of electrical parts",
        ),
        (
            with_terms(window_days=10),
            None,
            "SUP-BOSCH's window of 10 days ended 6 days ago",
        ),
        (None, None, "no terms on record for supplier SUP-BOSCH"),
    ],
)
def test_supplier_accepts_explains_why(
    data: Any, request_: dict[str, Any] | None, expected: str
) -> None:
    decision = policy(ACCEPTS).evaluate(request_ or make_request(), data, explain=True)
    assert explanations(decision, "supplier_accepts") == [expected]


def test_supplier_accepts_takes_no_parameters() -> None:
    with pytest.raises(returnrules.PolicyError) as info:
        policy(ACCEPTS.replace('"supplier_accepts"', '"supplier_accepts", days = 30'))
    (problem,) = info.value.problems
    assert 'check supplier_accepts: unknown parameter "days"' in problem.message


# -- the data provider hook ------------------------------------------------------------


class HostSuppliers:
    """A host system answering supplier terms from its own database."""

    def __init__(self, terms: dict[str, SupplierTerms]) -> None:
        self.terms = terms
        self.calls: list[str] = []

    @returnrules.hookimpl
    def returnrules_supplier_terms(
        self, supplier: str, context: LineContext
    ) -> SupplierTerms | None:
        self.calls.append(supplier)
        return self.terms.get(supplier)


def test_a_host_provider_overrides_the_data_mapping() -> None:
    host = HostSuppliers(
        {
            "SUP-BOSCH": SupplierTerms(
                accepts_returns=False,
                window_days=30,
                restocking_fee_percent=Decimal("7.5"),
            )
        }
    )
    assert shown(DATA, plugins=[host]) == "false|14|7.5"
    assert accepts(DATA, plugins=[host]) is False
    assert set(host.calls) == {"SUP-BOSCH"}


def test_the_data_mapping_answers_what_the_host_does_not_know() -> None:
    host = HostSuppliers({})
    assert shown(DATA, plugins=[host]) == "true|74|10"


def test_the_provider_is_asked_once_per_line() -> None:
    host = HostSuppliers({"SUP-BOSCH": SupplierTerms(window_days=30)})
    the_policy = policy(SHOW_FACTS + ACCEPTS, plugins=[host])
    line = first_line(the_policy, make_request())
    assert line.decision == "review"  # show decides review; both rules matched
    assert line.matched == ("show", "to-supplier")
    assert host.calls == ["SUP-BOSCH"]


def test_the_provider_is_not_asked_for_a_part_without_supplier() -> None:
    host = HostSuppliers({})
    request = make_request(line={"supplier": None})
    assert accepts(DATA, request, plugins=[host]) is False
    assert host.calls == []


# -- check_data ------------------------------------------------------------------------


def check_data(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(returnrules.RequestError) as info:
        policy("").check_data(data)
    return [(p.path, p.message) for p in info.value.problems]


def test_good_supplier_data_passes_the_check() -> None:
    policy("").check_data(DATA)


def test_check_data_reports_each_bad_supplier_record_with_its_key_path() -> None:
    found = check_data(
        {
            "supplier": {
                "SUP-BOSCH": {"accepts_returns": "yes"},
                "SUP-MANN": {"window_day": 30},
                "SUP-NGK": {"window_days": "thirty"},
                "SUP-VARTA": 5,
            }
        }
    )
    messages = dict(found)
    assert (
        "expected true or false" in messages["supplier", "SUP-BOSCH", "accepts_returns"]
    )
    assert (
        'did you mean "window_days"?' in messages["supplier", "SUP-MANN", "window_day"]
    )
    assert "expected an integer" in messages["supplier", "SUP-NGK", "window_days"]
    assert ("supplier", "SUP-VARTA") in messages
    assert len(found) == 4


def test_check_data_rejects_out_of_range_terms() -> None:
    ((path, message),) = check_data(
        {"supplier": {"SUP-BOSCH": {"restocking_fee_percent": 120}}}
    )
    assert path == ("supplier", "SUP-BOSCH", "restocking_fee_percent")
    assert message == "must be ≤ 100, got 120"
    ((path, message),) = check_data({"supplier": {"SUP-BOSCH": {"window_days": -3}}})
    assert path == ("supplier", "SUP-BOSCH", "window_days")
    assert message == "must be ≥ 0, got -3"


@pytest.mark.parametrize("percent", ["１０", " 10", "10\n", "١٠"])
def test_check_data_takes_only_ascii_digits_for_a_percent(percent: str) -> None:
    ((path, message),) = check_data(
        {"supplier": {"SUP-BOSCH": {"restocking_fee_percent": percent}}}
    )
    assert path == ("supplier", "SUP-BOSCH", "restocking_fee_percent")
    assert message == f"expected a decimal number like 180.10, got {quote(percent)}"


def test_check_data_reports_a_supplier_section_that_is_not_a_table() -> None:
    assert check_data({"supplier": "SUP-BOSCH"}) == [
        (("supplier",), "expected a table of suppliers")
    ]


def test_check_data_reports_an_unknown_category_code() -> None:
    found = check_data(
        {"supplier": {"SUP-BOSCH": {"non_returnable_categories": ["electrcal"]}}}
    )
    assert [path for path, _ in found] == [
        ("supplier", "SUP-BOSCH", "non_returnable_categories", 0)
    ]
    assert 'did you mean "electrical"?' in found[0][1]
