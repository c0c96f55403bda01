"""The explain path: a plain interpreter over the checked policy that records why.

It walks the same rule tree the compiler turns into code, in the same order,
with the same short-circuits and the same per-line fact cache, so it reaches
exactly the same matches and errors (a test keeps the two in agreement).  It is
slower, and used only when a trace is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from returnrules.engine.compiler import CheckResultError
from returnrules.engine.ir import (
    AllOf,
    AnyOf,
    CheckCall,
    Cond,
    FactRef,
    Leaf,
    NotOf,
    PolicyIR,
    Present,
)
from returnrules.model.decision import MAX_REPORTED_TEXT, jsonable
from returnrules.plugin.api import FailedFact, LineContext
from returnrules.plugin.hooks import describe, is_fault

__all__ = ["explain_rules"]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
}


class _LeafFailed(Exception):
    """A leaf raised; carries the trace node built so far, up to the rule."""

    def __init__(self, leaf: Leaf, error: BaseException, node: dict[str, Any]) -> None:
        super().__init__(str(error))
        self.leaf = leaf
        self.error = error
        self.node = node


_CHECKS: Final = object()  # the ctx.memo key of the line's check results


def _check_result(cond: CheckCall, ctx: LineContext) -> Any:
    """Run a check once per line and (check, equal parameters), like compiled code."""
    done: list[tuple[CheckCall, Any]] = ctx.memo.setdefault(_CHECKS, [])
    for seen, result in done:
        if seen.check is cond.check and seen.params == cond.params:
            return result
    result = cond.check.test(ctx, cond.params)
    done.append((cond, result))
    return result


def _value(ctx: LineContext, fact: FactRef) -> Any:
    return ctx.fact_value(fact.number)


def _leaf(cond: Leaf, ctx: LineContext, node: dict[str, Any]) -> bool:
    if isinstance(cond, CheckCall):
        node.update(check=cond.check.name, params=dict(cond.shown))
        result = _check_result(cond, ctx)
        if result is not True and result is not False:
            raise CheckResultError(f"returned {result!r}, not true or false")
        node["result"] = result
        if cond.check.explain is not None:
            try:
                explanation = cond.check.explain(ctx, cond.params)
                if not isinstance(explanation, str):
                    raise TypeError(f"returned a {type(explanation).__name__}")
                node["explanation"] = explanation[:MAX_REPORTED_TEXT]
            except BaseException as exc:  # it must not change the outcome
                if not is_fault(exc):
                    raise
                node["explanation"] = f"(explanation failed: {describe(exc)})"
        return result
    node.update(fact=cond.fact.name)
    left = _value(ctx, cond.fact)
    node["value"] = jsonable(left)
    if isinstance(cond, Present):
        node.update(op="present", expected=cond.expected)
        if left.__class__ is FailedFact:
            left.fail()
        result = (left is not None) == cond.expected
        node["result"] = result
        return result
    node["op"] = cond.op
    if left is None and cond.fact.type.optional:
        node.update(expected=cond.shown, result=False, absent=True)
        return False
    if isinstance(cond.value, FactRef):
        right = _value(ctx, cond.value)
        node["expected"] = {"fact": cond.value.name, "value": jsonable(right)}
        if right is None and cond.value.type.optional:
            node.update(result=False, absent=True)
            return False
    else:
        right = cond.value
        node["expected"] = cond.shown
    result = bool(_OPS[cond.op](left, right))
    node["result"] = result
    return result


def _eval(cond: Cond, ctx: LineContext) -> tuple[bool, dict[str, Any]]:
    """Evaluate *cond*; return its result and its trace node."""
    if isinstance(cond, AllOf | AnyOf):
        key = "all" if isinstance(cond, AllOf) else "any"
        stop_on = isinstance(cond, AnyOf)
        children: list[dict[str, Any]] = []
        node: dict[str, Any] = {key: children}
        result = not stop_on
        for i, item in enumerate(cond.items):
            try:
                value, child = _eval(item, ctx)
            except _LeafFailed as failed:
                node["result"] = None
                children.append(failed.node)
                children.extend(_skipped(c) for c in cond.items[i + 1 :])
                failed.node = node
                raise
            children.append(child)
            if value == stop_on:
                result = stop_on
                children.extend(_skipped(c) for c in cond.items[i + 1 :])
                break
        node["result"] = result
        return result, node
    if isinstance(cond, NotOf):
        try:
            value, child = _eval(cond.item, ctx)
        except _LeafFailed as failed:
            failed.node = {"not": failed.node, "result": None}
            raise
        return not value, {"not": child, "result": not value}
    node = {}
    try:
        return _leaf(cond, ctx, node), node
    except BaseException as exc:  # a plugin's fault: see is_fault
        if not is_fault(exc):
            raise
        node.update(result=None, error=describe(exc))
        raise _LeafFailed(cond, exc, node) from exc


def _skipped(cond: Cond) -> dict[str, Any]:
    if isinstance(cond, AllOf | AnyOf):
        key = "all" if isinstance(cond, AllOf) else "any"
        return {key: [_skipped(c) for c in cond.items], "result": None, "skipped": True}
    if isinstance(cond, NotOf):
        return {"not": _skipped(cond.item), "result": None, "skipped": True}
    if isinstance(cond, CheckCall):
        return {"check": cond.check.name, "params": dict(cond.shown), "skipped": True}
    if isinstance(cond, Present):
        return {
            "fact": cond.fact.name,
            "op": "present",
            "expected": cond.expected,
            "skipped": True,
        }
    expected = (
        {"fact": cond.value.name} if isinstance(cond.value, FactRef) else cond.shown
    )
    return {
        "fact": cond.fact.name,
        "op": cond.op,
        "expected": expected,
        "skipped": True,
    }


def explain_rules(
    ir: PolicyIR, ctx: LineContext
) -> tuple[int, list[tuple[int, Leaf | None, BaseException]], list[dict[str, Any]]]:
    """Evaluate every rule on *ctx*: the mask, the errors, one trace entry per rule."""
    mask = 0
    errors: list[tuple[int, Leaf | None, BaseException]] = []
    entries: list[dict[str, Any]] = []
    for rule in ir.rules:
        entry: dict[str, Any] = {"rule": rule.id}
        if rule.when is None:
            entry.update(matched=True, condition=None)
            mask |= 1 << rule.index
        else:
            try:
                matched, node = _eval(rule.when, ctx)
            except _LeafFailed as failed:
                errors.append((rule.index, failed.leaf, failed.error))
                entry.update(
                    matched=False,
                    error=describe(failed.error),
                    condition=failed.node,
                )
            else:
                entry.update(matched=matched, condition=node)
                if matched:
                    mask |= 1 << rule.index
        entries.append(entry)
    return mask, errors, entries
