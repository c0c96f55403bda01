"""Small helpers shared by the standard plugins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from returnrules import LineContext


def part_and_qty(ctx: LineContext) -> dict[str, Any]:
    """``{"sku": ..., "qty": ...}``: what most warehouse actions report."""
    return {"sku": ctx.order_line.sku, "qty": ctx.line.qty}


def days(n: int) -> str:
    """``"1 day"``, ``"16 days"``."""
    return f"{n} day" if n in (1, -1) else f"{n} days"


def table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``data[key]`` if it is a table, else an empty one (checked elsewhere)."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}
