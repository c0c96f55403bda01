"""A reference evaluator: the semantics of DESIGN.md and README "Semantics", by hand.

This is the model the differential tests (``tests/test_differential.py``)
hold the engine to.  It is written to be obviously right rather than fast:

* it reads the policy as the raw TOML mapping the author wrote (``tomllib``'s
  output), not the engine's checked form; it does no compilation and keeps no
  cache between lines;
* it reads the request as the raw mapping too (JSON-like: ISO strings or
  ``datetime`` objects, defaults filled in as DESIGN.md says), so a mistake in
  the engine's request reader shows up as a disagreement;
* it has its own table of facts (the core facts of the contract, and the facts
  of the test plugin ``tests/plugins/diff_facts.py``, whose docstring is their
  specification), computed from the request and the data mapping;
* numbers (int, decimal and money) are :class:`fractions.Fraction` here, so
  every comparison is exact;
* it shares no code with ``_engine``, ``_compiler`` or ``_trace``.

The semantics it implements (each rule numbered as in DESIGN.md):

1. A rule matches a line when its ``when`` holds (no ``when``: always).
   ``all``/``any`` evaluate left to right and stop at the first false/true
   item; ``not`` negates.  A comparison resolves its left fact first; if that
   is absent (an optional fact with no value) the comparison is false, whatever
   the operator, and the right-hand fact is not resolved.  Only ``present``
   tests for absence.  A fact is resolved at most once per line: the first
   condition that reaches it resolves it, later ones reuse the value.
2. Decision: ``reject`` beats ``review`` beats ``approve`` among matched rules
   with ``decide``; with none, ``[policy] default``.  ``decided_by`` lists the
   matched rules whose ``decide`` equals the decision, in file order; their
   ``message``s are rendered.
3. A matched rule's ``then`` applies when the decision is in its ``for``
   (default ``[decide]``, or ``["approve"]`` without ``decide``).
4. A *single* action kind happens once per line: among the applicable rules
   planning it, the highest ``priority`` wins, then the earliest in the file;
   the others are overridden.  A *multiple* kind keeps every occurrence except
   identical ones: the same action with the same parameters (after defaults)
   is planned once; once run, one whose reported fields equal an earlier one's
   is reported once.  Actions are listed in file order (rule, then position
   in its ``then``).
5. Request: ``approve`` if every line approves, ``reject`` if every line
   rejects, ``review`` if any line is ``review``, else ``partial``.
6. Faults: a check or fact resolver that raises, or a fact that resolves to a
   value outside its type (a wrong Python type, ``None`` for a required fact,
   a datetime for a date, a non-finite decimal, a naive datetime), or a check
   that returns something other than true/false, is an error of the rule
   whose condition reached it; that rule does not match, the others are still
   evaluated.  A fact that failed stays failed for the line: every later
   condition that reaches it is an error too (it is never resolved again).
   With any error the line's decision is ``review`` (whatever matched), and
   the actions applicable to ``review`` apply.  An action that raises while it
   is run is reported and left out; if the line was not ``review`` it becomes
   ``review`` and the actions applicable to ``review`` are run instead.
   ``Policy.plan`` does not run actions, so it knows only condition errors.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

import attrs

from tests.plugins import diff_facts

__all__ = [
    "FACTS",
    "MULTIPLE",
    "SINGLE",
    "FactSpec",
    "RefAction",
    "RefError",
    "RefLine",
    "RefOutcome",
    "RefRequest",
    "evaluate",
    "read_request",
]

DECISIONS: Final = ("approve", "reject", "review")
SHIPPED: Final = frozenset({"shipped", "delivered"})


@attrs.frozen
class FactSpec:
    """A fact's declared type: kind (int, decimal, money, ...), vocabulary, optional."""

    kind: str
    vocab: str | None = None
    optional: bool = False

    @property
    def ordered(self) -> bool:
        return self.kind in ("int", "decimal", "money", "date", "datetime")


def _spec(text: str) -> FactSpec:
    """``"int"``, ``"enum:tier?"`` ... as a FactSpec."""
    optional = text.endswith("?")
    text = text.rstrip("?")
    kind, _, vocab = text.partition(":")
    return FactSpec(kind, vocab or None, optional)


#: Every fact the reference knows, with its declared type.
FACTS: Final[Mapping[str, FactSpec]] = {
    name: _spec(t)
    for name, t in {
        "request.kind": "enum:kind",
        "request.days_since_order": "int",
        "request.days_since_delivery": "int?",
        "request.amount": "money",
        "order.status": "enum:status",
        "order.channel": "enum:channel",
        "customer.id": "str",
        "customer.tier": "enum:tier",
        "line.qty": "int",
        "line.returnable_qty": "int",
        "line.reason": "enum:reason",
        "line.condition": "enum:condition",
        "line.packaging": "enum:packaging",
        "line.unit_price": "money",
        "line.amount": "money",
        "part.sku": "str",
        "part.brand": "str",
        "part.category": "enum:category",
        "part.special_order": "bool",
        "part.no_return": "bool",
        "part.kit": "bool",
        "part.core_charge": "money",
        "part.supplier": "str?",
        "part.warranty_days": "int?",
        "part.obsolete": "bool",
        "request.return_shipping": "money?",
        "diff.score": "int?",
        "diff.ratio": "decimal?",
        "diff.flag": "bool?",
        "diff.due": "date?",
        "diff.seen": "datetime?",
        "diff.tier": "enum:tier?",
        "diff.credit": "money?",
        "diff.code": "str?",
        "diff.level": "int",
    }.items()
}

#: The test plugin's action kinds.
SINGLE: Final = frozenset({"diff_hold", "diff_ship"})
MULTIPLE: Final = frozenset({"diff_tag"})
_ACTION_DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "diff_hold": {"bin": "main"},
    "diff_ship": {"speed": "slow"},
    "diff_tag": {"upper": False},
}


# -- results ---------------------------------------------------------------------------


@attrs.frozen
class RefError:
    """A rule's error: *what* is the fact, check or action name that failed."""

    rule: str
    what: str
    kind: str  # "fact", "check" or "action"


@attrs.frozen
class RefAction:
    action: str
    rule: str
    fields: Mapping[str, Any]


@attrs.frozen
class RefOutcome:
    """What follows from the matched rules: decision, deciders, planned steps."""

    decision: str
    decided_by: tuple[str, ...]
    steps: tuple[tuple[str, str], ...]
    overridden: tuple[tuple[str, str, str], ...]
    messages: tuple[str, ...]
    # (action, rule id, parameters with defaults), in step order
    planned: tuple[tuple[str, str, Mapping[str, Any]], ...] = attrs.field(repr=False)


@attrs.frozen
class RefLine:
    """The reference's result for one line.

    ``plan`` is what ``Policy.plan`` reports (condition errors only); ``final``,
    ``actions`` and ``errors`` are what ``Policy.evaluate`` reports after
    running the actions.  ``calls`` are the test plugin's fact resolutions and
    check calls, in order.
    """

    line: int
    matched: tuple[str, ...]
    condition_errors: tuple[RefError, ...]
    calls: tuple[tuple[str, int], ...]
    plan: RefOutcome
    final: RefOutcome
    actions: tuple[RefAction, ...]
    errors: tuple[RefError, ...]


@attrs.frozen
class RefRequest:
    id: str
    plan_decision: str
    decision: str
    lines: tuple[RefLine, ...]


# -- the request, read from the raw mapping -----------------------------------------


@attrs.frozen
class OrderLine:
    line: int
    sku: str
    category: str
    qty: int
    unit_price: Fraction
    brand: str
    shipped_qty: int | None
    returned_qty: int
    special_order: bool
    no_return: bool
    kit: bool
    core_charge: Fraction | None
    supplier: str | None
    warranty_days: int | None
    obsolete: bool


@attrs.frozen
class ReturnLine:
    line: int
    qty: int
    reason: str
    condition: str
    packaging: str


@attrs.frozen
class Request:
    """A request as the contract describes it, defaults filled in."""

    id: str
    requested_at: dt.datetime
    customer_id: str
    tier: str
    status: str
    channel: str
    placed_at: dt.date
    delivered_at: dt.date | None
    order_lines: tuple[OrderLine, ...]
    lines: tuple[ReturnLine, ...]
    return_shipping: Fraction | None


def _moment(value: object) -> dt.date:
    """A date-time (ISO text with offset, or datetime) or a bare date."""
    if isinstance(value, dt.date):
        return value
    assert isinstance(value, str)
    if len(value) == 10:
        return dt.date.fromisoformat(value)
    return dt.datetime.fromisoformat(value)


def read_request(raw: Mapping[str, Any]) -> Request:
    """The request mapping, with DESIGN.md's defaults (valid requests only)."""
    order, customer = raw["order"], raw["customer"]
    requested_at = _moment(raw["requested_at"])
    assert isinstance(requested_at, dt.datetime)
    delivered = order.get("delivered_at")
    return Request(
        id=raw["id"],
        requested_at=requested_at,
        customer_id=customer["id"],
        tier=customer.get("tier", "retail"),
        status=order["status"],
        channel=order.get("channel", "store"),
        placed_at=_moment(order["placed_at"]),
        delivered_at=None if delivered is None else _moment(delivered),
        order_lines=tuple(
            OrderLine(
                line=ol["line"],
                sku=ol["sku"],
                category=ol["category"],
                qty=ol["qty"],
                unit_price=_number(ol["unit_price"]),
                brand=ol.get("brand", ""),
                shipped_qty=ol.get("shipped_qty"),
                returned_qty=ol.get("returned_qty", 0),
                special_order=ol.get("special_order", False),
                no_return=ol.get("no_return", False),
                kit=ol.get("kit", False),
                core_charge=(
                    None
                    if ol.get("core_charge") is None
                    else _number(ol["core_charge"])
                ),
                supplier=ol.get("supplier"),
                warranty_days=ol.get("warranty_days"),
                obsolete=ol.get("obsolete", False),
            )
            for ol in order["lines"]
        ),
        lines=tuple(
            ReturnLine(
                line=rl["line"],
                qty=rl["qty"],
                reason=rl["reason"],
                condition=rl["condition"],
                packaging=rl.get("packaging", "original"),
            )
            for rl in raw["lines"]
        ),
        return_shipping=(
            None
            if raw.get("return_shipping") is None
            else _number(raw["return_shipping"])
        ),
    )


# -- facts -----------------------------------------------------------------------------


class Fault(Exception):
    """A fact, check or action failed; *what* names it."""

    def __init__(self, what: str, kind: str, why: str) -> None:
        super().__init__(f"{kind} {what}: {why}")
        self.what = what
        self.kind = kind


def _number(value: object) -> Fraction:
    """An int, Decimal, float (through its shortest repr) or numeric string, exactly."""
    if isinstance(value, bool):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(repr(value))
    if isinstance(value, Decimal):
        return Fraction(value)
    if isinstance(value, str):
        return Fraction(value)  # a plain decimal: ASCII digits, nothing around
    raise TypeError(f"not a number: {value!r}")


def _local_date(moment: dt.date, offset: dt.tzinfo) -> dt.date:
    """The calendar date of *moment* read in *offset* (a bare date is itself)."""
    if isinstance(moment, dt.datetime):
        return moment.astimezone(offset).date()
    return moment


class _Line:
    """One line's facts: resolved lazily, each at most once; failures stick."""

    _FAILED: Final = object()

    def __init__(
        self,
        request: Request,
        rline: ReturnLine,
        oline: OrderLine,
        data: Mapping[str, Any],
    ) -> None:
        self.request = request
        self.rline = rline
        self.oline = oline
        self.data = data
        self.values: dict[str, object] = {}
        self.calls: list[tuple[str, int]] = []

    # the fact table

    def _core(self, name: str) -> object:
        req, rline, oline = self.request, self.rline, self.oline
        offset = req.requested_at.tzinfo
        assert offset is not None
        shipped_status = req.status in SHIPPED
        if name == "request.kind":
            return "return" if shipped_status else "cancel"
        if name == "request.days_since_order":
            today = req.requested_at.date()
            return Fraction((today - _local_date(req.placed_at, offset)).days)
        if name == "request.days_since_delivery":
            if req.delivered_at is None:
                return None
            today = req.requested_at.date()
            return Fraction((today - _local_date(req.delivered_at, offset)).days)
        if name == "request.amount":
            by_number = {ol.line: ol for ol in req.order_lines}
            return sum(by_number[rl.line].unit_price * rl.qty for rl in req.lines)
        if name == "line.returnable_qty":
            shipped: int
            if oline.shipped_qty is not None:
                shipped = oline.shipped_qty
            else:
                shipped = oline.qty if shipped_status else 0
            if shipped_status:
                return Fraction(shipped - oline.returned_qty)
            return Fraction(oline.qty - shipped)
        if name == "line.amount":
            return oline.unit_price * rline.qty
        if name == "part.core_charge":
            return oline.core_charge or Fraction(0)
        if name == "part.warranty_days":
            days = oline.warranty_days
            return None if days is None else Fraction(days)
        if name == "request.return_shipping":
            return req.return_shipping
        simple: dict[str, Callable[[], object]] = {
            "order.status": lambda: req.status,
            "order.channel": lambda: req.channel,
            "customer.id": lambda: req.customer_id,
            "customer.tier": lambda: req.tier,
            "line.qty": lambda: Fraction(rline.qty),
            "line.reason": lambda: rline.reason,
            "line.condition": lambda: rline.condition,
            "line.packaging": lambda: rline.packaging,
            "line.unit_price": lambda: oline.unit_price,
            "part.sku": lambda: oline.sku,
            "part.brand": lambda: oline.brand,
            "part.category": lambda: oline.category,
            "part.special_order": lambda: oline.special_order,
            "part.no_return": lambda: oline.no_return,
            "part.kit": lambda: oline.kit,
            "part.obsolete": lambda: oline.obsolete,
            "part.supplier": lambda: oline.supplier,
        }
        return simple[name]()

    def table(self) -> Mapping[str, Any]:
        tables = self.data.get("diff")
        table = (
            tables.get(str(self.rline.line)) if isinstance(tables, Mapping) else None
        )
        return table if isinstance(table, Mapping) else {}

    def _plugin(self, name: str) -> object:
        """The test plugin's facts (see tests/plugins/diff_facts.py)."""
        self.calls.append((name, self.rline.line))
        spec = FACTS[name]
        key = name.split(".", 1)[1]
        raw = self.table().get(key)
        if raw in (diff_facts.RAISE, diff_facts.WRONG, diff_facts.NONSENSE):
            raise Fault(name, "fact", f"resolver gave {raw}")
        if raw is None or raw == diff_facts.NONE:
            if spec.optional:
                return None
            if raw is None:  # diff.level defaults to 0
                return Fraction(0)
            raise Fault(name, "fact", "a required fact resolved to None")
        if spec.kind in ("int", "decimal", "money"):
            return _number(raw)
        return raw

    def fact(self, name: str) -> object:
        """The fact's value (None when absent); raises Fault if it failed."""
        if name in self.values:
            value = self.values[name]
            if value is self._FAILED:
                raise Fault(name, "fact", "failed earlier on this line")
            return value
        self.values[name] = self._FAILED
        value = self._plugin(name) if name.startswith("diff.") else self._core(name)
        self.values[name] = value
        return value

    # the test plugin's checks

    def check(self, node: Mapping[str, Any]) -> bool:
        name = node["check"]
        if name == "diff_gate":
            self.calls.append((f"diff_gate(min={node.get('min', 0)})", self.rline.line))
            gate = self.table().get("gate")
            if gate in (diff_facts.RAISE, diff_facts.BAD):
                raise Fault(name, "check", f"gate = {gate}")
            if gate is None:
                return False
            return bool(gate >= node.get("min", 0))
        if name == "diff_qty_over":
            self.calls.append((f"diff_qty_over(qty={node['qty']})", self.rline.line))
            return bool(self.rline.qty > node["qty"])
        raise AssertionError(f"the reference does not know check {name}")


# -- conditions ------------------------------------------------------------------------


def _literal(value: object, spec: FactSpec) -> object:
    """A literal as the author wrote it, in the reference's representation."""
    if spec.kind in ("int", "decimal", "money"):
        return _number(value)
    if spec.kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if spec.kind == "datetime" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op == "lt":
        return bool(left < right)
    if op == "le":
        return bool(left <= right)
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    if op == "in":
        return any(left == item for item in right)
    if op == "not_in":
        return all(left != item for item in right)
    raise AssertionError(f"unknown operator {op}")


def holds(node: Mapping[str, Any], line: _Line) -> bool:
    """Does condition *node* hold on *line*?  Raises Fault on an error."""
    # all() and any() over a generator stop at the first false / true item
    if "all" in node:
        return all(holds(item, line) for item in node["all"])
    if "any" in node:
        return any(holds(item, line) for item in node["any"])
    if "not" in node:
        return not holds(node["not"], line)
    if "check" in node:
        return line.check(node)
    name = node["fact"]
    (op,) = [key for key in node if key != "fact"]
    value = node[op]
    left = line.fact(name)
    if op == "present":
        return (left is not None) is value
    if left is None:
        return False
    if isinstance(value, Mapping):
        right = line.fact(value["fact"])
        if right is None:
            return False
    elif op in ("in", "not_in"):
        right = [_literal(item, FACTS[name]) for item in value]
    else:
        right = _literal(value, FACTS[name])
    return _compare(op, left, right)


# -- messages and actions --------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z0-9_.]+)\}")


def render(text: str, line: _Line) -> str:
    """A message with ``{fact}`` placeholders (core facts only in these tests)."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        value = line.fact(match.group(1))
        if value is None:
            return "—"
        if isinstance(value, Fraction):
            assert value.denominator == 1, "only whole numbers in test messages"
            return str(value.numerator)
        return str(value)

    return _PLACEHOLDER.sub(one, text)


def _params(entry: Mapping[str, Any]) -> dict[str, Any]:
    name = entry["action"]
    params = dict(_ACTION_DEFAULTS.get(name, {}))
    params.update((k, v) for k, v in entry.items() if k != "action")
    return params


def run_action(name: str, params: Mapping[str, Any], line: _Line) -> dict[str, Any]:
    """The test plugin's actions; raises Fault when one fails."""
    if name == "diff_hold":
        if line.table().get("hold") == diff_facts.RAISE:
            raise Fault(name, "action", "hold = RAISE")
        return {"bin": params["bin"], "qty": line.rline.qty}
    if name == "diff_ship":
        return {"speed": params["speed"]}
    if name == "diff_tag":
        label = params["label"]
        return {"label": label.upper() if params["upper"] else label}
    raise AssertionError(f"the reference does not know action {name}")


# -- rules -----------------------------------------------------------------------------


def _for(rule: Mapping[str, Any]) -> Sequence[str]:
    if "for" in rule:
        value = rule["for"]
        return [value] if isinstance(value, str) else list(value)
    return [rule.get("decide") or "approve"]


def outcome(
    rules: Sequence[Mapping[str, Any]],
    matched: Sequence[Mapping[str, Any]],
    default: str,
    errored: bool,
    line: _Line,
) -> RefOutcome:
    """Semantics 2-4 for a line whose matched rules are *matched*."""
    decides = {rule.get("decide") for rule in matched}
    if errored:
        decision = "review"
    elif "reject" in decides:
        decision = "reject"
    elif "review" in decides:
        decision = "review"
    elif "approve" in decides:
        decision = "approve"
    else:
        decision = default
    deciders = [rule for rule in matched if rule.get("decide") == decision]
    messages = tuple(render(r["message"], line) for r in deciders if "message" in r)

    applicable = [
        (rule, entry)
        for rule in matched
        if decision in _for(rule)
        for entry in _as_list(rule.get("then", []))
    ]
    # single kinds: the highest priority, then the earliest rule, wins
    winner: dict[str, Mapping[str, Any]] = {}
    for rule, entry in applicable:
        name = entry["action"]
        if name in SINGLE:
            best = winner.get(name)
            if best is None or rule.get("priority", 0) > best.get("priority", 0):
                winner[name] = rule
    steps: list[tuple[str, str]] = []
    planned: list[tuple[str, str, Mapping[str, Any]]] = []
    overridden: list[tuple[str, str, str]] = []
    seen: list[tuple[str, dict[str, Any]]] = []
    for rule, entry in applicable:
        name = entry["action"]
        params = _params(entry)
        if name in SINGLE:
            if winner[name] is not rule:
                overridden.append((name, rule["id"], winner[name]["id"]))
                continue
        elif (name, params) in seen:
            continue
        seen.append((name, params))
        steps.append((name, rule["id"]))
        planned.append((name, rule["id"], params))
    return RefOutcome(
        decision=decision,
        decided_by=tuple(r["id"] for r in deciders),
        steps=tuple(steps),
        overridden=tuple(overridden),
        messages=messages,
        planned=tuple(planned),
    )


def _as_list(value: object) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    assert isinstance(value, list)
    return value


def _realize(
    plan: RefOutcome, line: _Line, errors: list[RefError]
) -> tuple[RefAction, ...]:
    results: list[RefAction] = []
    for name, rule, params in plan.planned:
        try:
            fields = run_action(name, params, line)
        except Fault as fault:
            error = RefError(rule, fault.what, fault.kind)
            if error not in errors:
                errors.append(error)
            continue
        if name in MULTIPLE and any(
            r.action == name and r.fields == fields for r in results
        ):
            continue
        results.append(RefAction(name, rule, fields))
    return tuple(results)


def evaluate_line(
    doc: Mapping[str, Any],
    request: Request,
    rline: ReturnLine,
    data: Mapping[str, Any],
) -> RefLine:
    (oline,) = [ol for ol in request.order_lines if ol.line == rline.line]
    line = _Line(request, rline, oline, data)
    rules: list[Mapping[str, Any]] = list(doc.get("rule", []))
    default = doc.get("policy", {}).get("default", "review")

    matched: list[Mapping[str, Any]] = []
    condition_errors: list[RefError] = []
    for rule in rules:
        if "when" not in rule:
            matched.append(rule)
            continue
        try:
            if holds(rule["when"], line):
                matched.append(rule)
        except Fault as fault:
            condition_errors.append(RefError(rule["id"], fault.what, fault.kind))
    calls = tuple(line.calls)  # messages render core facts only: no more calls

    plan = outcome(rules, matched, default, bool(condition_errors), line)
    errors = list(condition_errors)
    final = plan
    actions = _realize(plan, line, errors)
    if errors and plan.decision != "review":
        final = outcome(rules, matched, default, True, line)
        actions = _realize(final, line, errors)
    return RefLine(
        line=rline.line,
        matched=tuple(r["id"] for r in matched),
        condition_errors=tuple(condition_errors),
        calls=calls,
        plan=plan,
        final=final,
        actions=actions,
        errors=tuple(errors),
    )


def combine(decisions: Sequence[str]) -> str:
    """Semantics 5."""
    if all(d == "approve" for d in decisions):
        return "approve"
    if all(d == "reject" for d in decisions):
        return "reject"
    if any(d == "review" for d in decisions):
        return "review"
    return "partial"


def evaluate(
    doc: Mapping[str, Any],
    raw_request: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
) -> RefRequest:
    """Evaluate the request mapping against the policy document (``tomllib``'s)."""
    request = read_request(raw_request)
    lines = tuple(
        evaluate_line(doc, request, rline, data or {}) for rline in request.lines
    )
    return RefRequest(
        id=request.id,
        plan_decision=combine([line.plan.decision for line in lines]),
        decision=combine([line.final.decision for line in lines]),
        lines=lines,
    )
