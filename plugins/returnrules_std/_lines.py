"""Small helpers shared by the standard plugins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from returnrules import LineContext, PathKey, structure_data

T = TypeVar("T")


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


class Records(Generic[T]):
    """Data records structured once, not once per line.

    The same ``--data`` mapping serves every request of a batch; structuring
    a record (a cattrs pass) costs more than evaluating a line, so the result
    is kept, keyed by the record's identity.  The record itself is held too,
    so its id cannot be reused while cached.  Data mappings are taken to be
    unchanging while they are evaluated against.
    """

    def __init__(self, cls: type[T], limit: int = 65_536) -> None:
        self.cls = cls
        self.limit = limit
        self._cache: dict[int, tuple[object, T]] = {}

    def get(self, record: object, path: PathKey) -> T:
        hit = self._cache.get(id(record))
        if hit is not None and hit[0] is record:
            return hit[1]
        value = structure_data(record, self.cls, path=path)
        if len(self._cache) >= self.limit:
            self._cache.clear()
        self._cache[id(record)] = (record, value)
        return value
