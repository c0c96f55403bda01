"""Small helpers shared by the standard plugins."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


_DIRECT: dict[int, tuple[object, Callable[..., Any]]] = {}


def first_result(caller: Any) -> Callable[..., Any]:
    """A ``firstresult`` hook, called directly when it has one implementation.

    pluggy's general dispatch costs more than a small provider's own work; a
    hook with a single plain implementation (no wrapper) gives the same
    result when that implementation is called by itself.  The plugin manager
    of a loaded policy does not change, so the choice is made once per hook.
    """
    hit = _DIRECT.get(id(caller))
    if hit is not None and hit[0] is caller:
        return hit[1]
    impls = caller.get_hookimpls()
    call: Callable[..., Any] = caller
    if len(impls) == 1 and not (impls[0].wrapper or impls[0].hookwrapper):
        function, names = impls[0].function, impls[0].argnames

        def call(**kwargs: Any) -> Any:
            return function(*[kwargs[name] for name in names])

    if len(_DIRECT) >= 1024:  # policies loaded again and again: forget old ones
        _DIRECT.clear()
    _DIRECT[id(caller)] = (caller, call)
    return call
