"""Small helpers shared by the standard plugins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from returnrules import (
    Data,
    LineContext,
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


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def provided(ctx: LineContext, hook: str, cls: type[T], **arguments: Any) -> T | None:
    """A data provider's answer for this line, asked once: ``ctx.hook.first(hook,
    ..., context=ctx)``.

    The answer must be a *cls* (or None).  A provider that raises, or answers
    something else, is not asked again on the same line: the error is kept and
    raised again for every fact and check that needs the answer.
    """
    key = (hook, *arguments.values())
    memo = ctx.memo
    if key in memo:
        hit = memo[key]
        if hit.__class__ is _Failed:
            raise hit.error
        result: T | None = hit
        return result
    try:
        answer = ctx.hook.first(hook, **arguments, context=ctx)
        if answer is not None and not isinstance(answer, cls):
            raise TypeError(
                f"{hook} returned a {type(answer).__name__}, not a {cls.__name__}"
            )
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        memo[key] = _Failed(exc)
        raise
    memo[key] = answer
    return answer


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
            if isinstance(data, Data):  # checked once, kept for the evaluations
                data.record(key, name, cls, path=(key, name), vocabularies=vocabularies)
            else:
                structure_data(record, cls, path=(key, name), vocabularies=vocabularies)
        except RequestError as exc:
            problems.extend(exc.problems)
    return problems
