"""Annotations that constrain a value, checked wherever it is read.

``Annotated[int, Bounds(ge=0)]`` and ``Annotated[str, VocabCode("tier")]`` on
a field of an attrs class (a plugin's parameters, a data record, the request
model) are understood by the converter (:mod:`returnrules.model.convert`), the
JSON Schema and the listings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

__all__ = ["Bounds", "VocabCode"]


@attrs.frozen
class Bounds:
    """Limits for a number parameter: ``Annotated[int, Bounds(ge=0)]``.

    Checked when the policy (or a data record) is loaded, and reported at the
    key: ``must be ≤ 100, got 150``.  Works for ``int``, ``Decimal`` and
    :class:`~returnrules.Money` (its amount).
    """

    ge: int | Decimal | None = None
    le: int | Decimal | None = None

    def check(self, value: Any) -> None:
        """Raise ValueError outside the bounds (for money, its amount is checked)."""
        value = getattr(value, "amount", value)
        if self.ge is not None and value < self.ge:
            raise ValueError(f"must be ≥ {self.ge}, got {value}")
        if self.le is not None and value > self.le:
            raise ValueError(f"must be ≤ {self.le}, got {value}")


@attrs.frozen
class VocabCode:
    """Marks a ``str`` parameter as a code of a vocabulary.

    ``per_tier: dict[Annotated[str, VocabCode("tier")], int]``
    """

    vocab: str
