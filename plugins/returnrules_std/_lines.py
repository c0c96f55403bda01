"""Small helpers shared by the standard plugins."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from returnrules import (
    LineContext,
    PathKey,
    RequestError,
    RequestProblem,
    Vocabulary,
    structure_data,
)

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
    if type(value) is dict or isinstance(value, Mapping):
        return value
    return {}


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
        self._keep(record, value)
        self._keep(value, value)  # a structured record needs no second check
        return value

    def find(self, data: Mapping[str, Any], key: str, name: str) -> T | None:
        """The record ``data[key][name]``, structured, or None if there is none."""
        record = table(data, key).get(name)
        return None if record is None else self.get(record, (key, name))

    def checked(self, value: object, hook: str) -> T:
        """*value* from a host's provider hook, checked like a data record."""
        hit = self._cache.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        if not isinstance(value, self.cls):
            raise TypeError(f"{hook} returned {value!r}, not a {self.cls.__name__}")
        try:
            fields = attrs.asdict(value, recurse=False)  # type: ignore[arg-type]
            structure_data(fields, self.cls, path=())
        except RequestError as exc:
            raise ValueError(f"{hook} returned {value!r}: {exc}") from None
        self._keep(value, value)
        return value

    def _keep(self, key: object, value: T) -> None:
        if len(self._cache) >= self.limit:
            self._cache.clear()
        self._cache[id(key)] = (key, value)


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


_NOT_ASKED: Any = object()


def provided(
    ctx: LineContext,
    key: object,
    ask: Callable[[Any, LineContext], object],
    arg: object,
    records: Records[T],
    hook: str,
) -> T | None:
    """A data provider's answer for this line: ``ask(arg, ctx)``, once, checked once.

    A provider that raises is not asked again on the same line: the error is
    kept and raised again for every fact and check that needs the answer.
    """
    memo = ctx.memo
    hit = memo.get(key, _NOT_ASKED)
    if hit is not _NOT_ASKED:
        if hit.__class__ is _Failed:
            raise hit.error
        result: T | None = hit
        return result
    try:
        value = ask(arg, ctx)
        checked = None if value is None else records.checked(value, hook)
    except Exception as exc:
        memo[key] = _Failed(exc)
        raise
    memo[key] = checked
    return checked


_DIRECT: dict[int, tuple[object, Callable[[Any, LineContext], Any]]] = {}


def first_result(caller: Any, argname: str) -> Callable[[Any, LineContext], Any]:
    """A ``firstresult`` hook ``(argname, context)`` as a positional function.

    pluggy's general dispatch costs more than a small provider's own work; a
    hook with a single plain implementation (no wrapper) gives the same
    result when that implementation is called by itself, and when it takes
    its arguments in the hook's order it is that function.  The plugin manager
    of a loaded policy does not change, so the choice is made once per hook.
    """
    hit = _DIRECT.get(id(caller))
    if hit is not None and hit[0] is caller:
        return hit[1]
    impls = caller.get_hookimpls()
    call: Callable[[Any, LineContext], Any]
    if len(impls) == 1 and not (impls[0].wrapper or impls[0].hookwrapper):
        function, names = impls[0].function, tuple(impls[0].argnames)
        if names == (argname, "context"):
            call = function
        else:  # fewer arguments, or another order (pluggy passes them by name)

            def call(arg: Any, context: LineContext) -> Any:
                given = {argname: arg, "context": context}
                return function(*[given[name] for name in names])

    else:

        def call(arg: Any, context: LineContext) -> Any:
            return caller(**{argname: arg, "context": context})

    if len(_DIRECT) >= 1024:  # policies loaded again and again: forget old ones
        _DIRECT.clear()
    _DIRECT[id(caller)] = (caller, call)
    return call


def check_records(
    data: Mapping[str, Any],
    key: str,
    cls: type[Any],
    vocabularies: Mapping[str, Vocabulary],
    what: str,
) -> list[RequestProblem]:
    """The problems of ``data[key]``, a table of *cls* records (``[stock."SKU"]``)."""
    table = data.get(key)
    if table is None:
        return []
    if not isinstance(table, Mapping):
        return [RequestProblem((key,), f"expected a table of {what}", "bad-value")]
    problems: list[RequestProblem] = []
    for name, record in table.items():
        try:
            structure_data(record, cls, path=(key, name), vocabularies=vocabularies)
        except RequestError as exc:
            problems.extend(exc.problems)
    return problems
