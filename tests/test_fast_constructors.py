"""The constructors that skip ``__init__`` build exactly what ``__init__`` builds.

``Money._trusted`` and ``action_result`` set an attrs class's slots directly,
because evaluate makes one per amount and per action.  That is only sound while
``__init__`` does nothing but store the fields: these tests fail as soon as a
validator, converter or default factory is added to those classes.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from returnrules import ActionResult, Money
from returnrules.model.decision import action_result


def _plain(cls: type) -> None:
    for field in attrs.fields(cls):
        assert field.converter is None, field.name
        assert field.init, field.name
        assert not isinstance(field.default, attrs.Factory), field.name  # type: ignore[arg-type]
    assert "__attrs_post_init__" not in vars(cls)
    assert "__slots__" in vars(cls)


def test_action_result_is_built_like_its_init() -> None:
    _plain(ActionResult)
    assert all(f.validator is None for f in attrs.fields(ActionResult))
    fields = {"amount": Money(Decimal("12.50"), "CNY"), "method": "original"}
    fast = action_result("refund", "r1", fields)
    assert fast == ActionResult("refund", "r1", fields)
    assert type(fast) is ActionResult
    assert fast.to_dict() == {"action": "refund", "rule": "r1", "amount": "12.50",
                              "method": "original"}  # fmt: skip


def test_trusted_money_is_the_validated_money() -> None:
    _plain(Money)
    fast = Money._trusted(Decimal("0.125"), "KWD")
    assert fast == Money(Decimal("0.125"), "KWD")
    assert hash(fast) == hash(Money(Decimal("0.125"), "KWD"))
    assert str(fast) == "0.125 KWD"


def test_the_request_model_keeps_cpythons_fast_attribute_reads() -> None:
    """A class with ``__getattr__`` (what ``functools.cached_property`` needs
    on a slotted attrs class) makes every attribute read of it slow: CPython
    specialises reads only for the default lookup.  Rules and readers read
    these fields all the time; the lazily computed sums keep their own slot."""
    from returnrules.model.request import (
        Customer,
        Order,
        OrderLine,
        Request,
        ReturnLine,
    )

    for cls in (Request, Order, OrderLine, ReturnLine, Customer, Money, ActionResult):
        assert "__getattr__" not in vars(cls), cls
        assert "__getattribute__" not in vars(cls), cls
        assert "__slots__" in vars(cls), cls
