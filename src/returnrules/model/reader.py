"""Turn a TOML/JSON mapping into a checked :class:`~returnrules.Request`.

A request is defined once, by the attrs classes of
:mod:`returnrules.model.request` and their annotated types, and read from them
two ways: a quick reader generated from them (below) builds a well-formed
request, and the strict cattrs converter (:func:`returnrules.model.convert.converter`,
for the policy's currency and vocabularies) reads anything the quick one
declines, reporting every problem at once as :class:`~returnrules.RequestError`,
each with its key path.  The checks across keys (lines that refer to each
other, quantities, the order of the dates) are one function run on what
either built.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs
from cattrs.errors import ClassValidationError, IterableValidationError

from returnrules.model.convert import (
    CODE_TYPES,
    MAX_INT,
    MAX_STRING,
    Context,
    converter,
    issues_from_cattrs,
    show,
)
from returnrules.model.errors import (
    PathKey,
    RequestError,
    RequestProblem,
    quote,
)
from returnrules.model.money import MAX_DIGITS, Money, is_currency_code
from returnrules.model.request import (
    Amount,
    Count,
    Customer,
    Moment,
    Order,
    OrderLine,
    Qty,
    Request,
    ReturnLine,
    Text,
    local_date,
    shipped_qty,
)
from returnrules.model.vocab import DEFAULT_VOCABULARIES, Vocabulary

DEFAULT_VOCABULARY_TABLE: Final[Mapping[str, Vocabulary]] = {
    v.name: v for v in DEFAULT_VOCABULARIES
}
"""The core's vocabularies by name: what a request is read against by default."""

__all__ = ["DEFAULT_CURRENCY", "RequestReader", "parse_request"]

DEFAULT_CURRENCY: Final = "CNY"
"""The currency of a request parsed without a policy and without ``order.currency``."""

MAX_LINES: Final = 10_000


@attrs.frozen
class _RawRequest:
    id: Text
    requested_at: dt.datetime
    customer: Customer
    order: Order
    lines: tuple[ReturnLine, ...]
    return_shipping: Amount | None = None


# -- cross-field checks -----------------------------------------------------------


def _references(
    order_id: object, order_lines: list[object], return_lines: list[object]
) -> Iterator[RequestProblem]:
    """Duplicate order lines, and return lines that refer to no order line.

    Works on the line numbers alone, so it also runs when other keys of the
    request failed to parse (a number that is not an int is skipped: its own
    problem is reported elsewhere).
    """
    numbers: set[int] = set()
    for i, number in enumerate(order_lines):
        if not isinstance(number, int) or isinstance(number, bool):
            continue  # not a line number: its own problem is reported elsewhere
        if number in numbers:
            yield RequestProblem(
                ("order", "lines", i, "line"),
                f"duplicate order line {number}",
                "duplicate-line",
            )
        numbers.add(number)
    seen: set[int] = set()
    for i, number in enumerate(return_lines):
        if not isinstance(number, int) or isinstance(number, bool):
            continue
        if number not in numbers:
            known = ", ".join(str(n) for n in sorted(numbers)) or "none"
            yield RequestProblem(
                ("lines", i, "line"),
                f"order {quote(order_id)} has no line {number} (its lines: {known})",
                "unknown-line",
            )
        elif number in seen:
            yield RequestProblem(
                ("lines", i, "line"),
                f"order line {number} is listed twice; give one entry per line",
                "duplicate-line",
            )
        seen.add(number)


def _raw_references(mapping: Mapping[str, Any]) -> Iterator[RequestProblem]:
    """:func:`_references` on a request that did not structure."""
    order = mapping.get("order")
    order_lines = order.get("lines") if isinstance(order, Mapping) else None
    return_lines = mapping.get("lines")
    if not isinstance(order_lines, list) or not isinstance(return_lines, list):
        return
    yield from _references(
        order.get("id") if isinstance(order, Mapping) else None,
        [ol.get("line") if isinstance(ol, Mapping) else None for ol in order_lines],
        [rl.get("line") if isinstance(rl, Mapping) else None for rl in return_lines],
    )


def _check(
    order: Order, rlines: tuple[ReturnLine, ...], requested_at: dt.datetime
) -> list[RequestProblem]:
    """What no single key says: the lines refer to each other, quantities add
    up, the dates are in order.  Returns the problems (none, usually)."""
    problems: list[RequestProblem] = []
    if len(order.lines) == 1 and len(rlines) == 1:  # the usual request
        if rlines[0].line != order.lines[0].line:
            problems += _references(order.id, [order.lines[0].line], [rlines[0].line])
    else:
        numbers = [ol.line for ol in order.lines]
        returned = [rl.line for rl in rlines]
        if (
            len(set(numbers)) < len(numbers)
            or not set(returned) <= set(numbers)
            or (len(set(returned)) < len(returned))
        ):
            problems += _references(order.id, list(numbers), list(returned))
    shipped_status = order.shipped
    for i, oline in enumerate(order.lines):
        if oline.shipped_qty is not None and oline.shipped_qty > oline.qty:
            problems.append(
                RequestProblem(
                    ("order", "lines", i, "shipped_qty"),
                    f"shipped_qty {oline.shipped_qty} exceeds the ordered qty "
                    f"{oline.qty}",
                    "bad-value",
                )
            )
        if shipped_status and oline.returned_qty:
            shipped = shipped_qty(order, oline)
            if oline.returned_qty > shipped:
                problems.append(
                    RequestProblem(
                        ("order", "lines", i, "returned_qty"),
                        f"returned_qty {oline.returned_qty} exceeds the shipped qty "
                        f"{shipped}",
                        "bad-value",
                    )
                )
    if not order.lines:
        problems.append(
            RequestProblem(
                ("order", "lines"), "an order has at least one line", "empty"
            )
        )
    if not rlines:
        problems.append(
            RequestProblem(("lines",), "nothing to return: no lines", "empty")
        )
    if len(rlines) > MAX_LINES or len(order.lines) > MAX_LINES:
        problems.append(
            RequestProblem(("lines",), f"more than {MAX_LINES} lines", "too-large")
        )
    problems += _check_dates(order, requested_at)
    return problems


_NOTHING_TAKEN: Final[Mapping[int, int]] = types.MappingProxyType({})
_REQUEST_SLOTS: Final = tuple(
    vars(Request)[f.name].__set__
    for f in attrs.fields(Request)  # id, ..., pairs, taken, return_shipping, _amount
)


def _request(
    id: str,
    requested_at: dt.datetime,
    customer: Customer,
    order: Order,
    rlines: tuple[ReturnLine, ...],
    return_shipping: Money | None,
    currency: str,
) -> Request:
    """The Request of a checked raw request: each return line with its order line.

    Built through its slots' setters, as the quick reader builds the model
    (attrs' frozen ``__init__`` sets each field through ``object.__setattr__``
    and makes an empty ``taken`` table for every request); nothing is
    taken back before a request the reader reads.
    """
    olines = order.lines
    if len(olines) == 1 and len(rlines) == 1:  # checked: the same line
        pairs: tuple[tuple[ReturnLine, OrderLine], ...] = ((rlines[0], olines[0]),)
    else:
        by_number = {oline.line: oline for oline in olines}
        pairs = tuple((rline, by_number[rline.line]) for rline in rlines)
    request: Request = object.__new__(Request)
    (set_id, set_requested_at, set_customer, set_order, set_lines, set_currency,
     set_pairs, set_taken, set_shipping, set_amount) = _REQUEST_SLOTS  # fmt: skip
    set_id(request, id)
    set_requested_at(request, requested_at)
    set_customer(request, customer)
    set_order(request, order)
    set_lines(request, rlines)
    set_currency(request, currency)
    set_pairs(request, pairs)
    set_taken(request, _NOTHING_TAKEN)
    set_shipping(request, return_shipping)
    set_amount(request, None)
    return request


def _check_dates(order: Order, requested_at: dt.datetime) -> list[RequestProblem]:
    """Every moment on the calendar, and placed ≤ shipped ≤ delivered ≤ requested.

    A moment must have a date in requested_at's UTC offset (and in UTC):
    ``0001-01-01T00:00:00+14:00`` has none, and is refused here rather than
    overflow in a day count later.  A bare date is compared with the calendar
    date of the other moment (in requested_at's UTC offset): delivered
    2026-11-01 is not before an order placed at 2026-11-01T09:30.  Returns the
    problems (none for a request in order).
    """
    tz = requested_at.tzinfo
    assert tz is not None
    placed, shipped, delivered = order.placed_at, order.shipped_at, order.delivered_at
    promised = order.promised_at
    if (  # the usual request: instants far from year 1 and 9999, in order
        placed.__class__ is dt.datetime
        and (shipped is None or shipped.__class__ is dt.datetime)
        and (delivered is None or delivered.__class__ is dt.datetime)
        and (promised is None or 1 < promised.year < 9999)
        and 1 < requested_at.year < 9999
    ):
        last = placed
        in_order = 1 < placed.year < 9999
        for when in (shipped, delivered, requested_at):
            if when is not None and in_order:
                # Instants are ordered transitively: neighbours are enough.
                # A later calendar day in the same fixed UTC offset is later:
                # comparing the two date-times themselves asks both tzinfo
                # objects for their utcoffset() (fromisoformat makes one per
                # "+08:00"), three times slower.
                zone, last_zone = when.tzinfo, last.tzinfo
                in_order = 1 < when.year < 9999 and (
                    (
                        zone.__class__ is last_zone.__class__ is dt.timezone
                        and zone == last_zone
                        and when.date() > last.date()
                    )
                    or not when < last
                )
                last = when
        if in_order:
            return []
    steps: list[tuple[PathKey, Moment | None]] = [
        (("order", "placed_at"), order.placed_at),
        (("order", "promised_at"), order.promised_at),
        (("order", "shipped_at"), order.shipped_at),
        (("order", "delivered_at"), order.delivered_at),
        (("requested_at",), requested_at),
    ]
    problems = [
        RequestProblem(
            where,
            f"{moment.isoformat()} is out of range: it must fall in the years "
            "1-9999 both in UTC and in requested_at's UTC offset",
            "bad-value",
        )
        for where, moment in steps
        if isinstance(moment, dt.datetime) and _off_the_calendar(moment, tz)
    ]
    if problems:
        return problems
    known = [
        (str(where[-1]), moment)
        for where, moment in steps[:4]
        if moment is not None and where[-1] != "promised_at"
    ]
    for (a, ta), (b, tb) in itertools.pairwise(known):
        if _before(tb, ta, tz):
            problems.append(
                RequestProblem(("order", b), f"{b} is before {a}", "dates-out-of-order")
            )
    for name, moment in known:
        if _before(requested_at, moment, tz):
            problems.append(
                RequestProblem(
                    ("requested_at",),
                    f"requested_at is before the order's {name}",
                    "dates-out-of-order",
                )
            )
            break
    return problems


def _off_the_calendar(moment: dt.datetime, tz: dt.tzinfo) -> bool:
    """Does *moment* fall outside the years 1-9999 in UTC or in *tz*?"""
    if 1 < moment.year < 9999:  # nowhere near either end: the usual case
        return False
    try:
        moment.astimezone(dt.UTC)
        moment.astimezone(tz)
    except OverflowError:
        return True
    return False


def _before(a: Moment, b: Moment, tz: dt.tzinfo) -> bool:
    """Is *a* strictly before *b*?  By calendar date when either is a bare date."""
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a < b
    return local_date(a, tz) < local_date(b, tz)


# -- the quick reader ---------------------------------------------------------------
#
# Most requests are well formed, and for them cattrs' generic machinery (a
# hook call and several isinstance checks per key) costs more than the
# evaluation that follows.  So the same attrs classes are also read by a
# quick reader, *generated* here from their fields and annotated types: a
# straight-line function per class, each value checked by the quick form of
# its type's check (an exact type test, a range, a code in its vocabulary)
# and the class built positionally.  It has no messages: at the first doubt
# it declines and the converter reads the request instead, reporting every
# problem.  A field added to the model is read by both without a word more
# here, and tests keep the two in agreement (tests/test_request_fast_path.py).


class _Decline(Exception):
    """The quick reader is not sure: let the converter decide."""


_ABSENT: Final = object()
"""What the quick reader's ``m.get`` gives for a key the table does not have."""


_datetime, _date, _timezone = dt.datetime, dt.date, dt.timezone
_instant_from_text, _date_from_text = dt.datetime.fromisoformat, dt.date.fromisoformat


def _instant_of(value: object) -> dt.datetime:
    if type(value) is str:
        try:
            value = _instant_from_text(value)
        except ValueError:
            raise _Decline from None
    if type(value) is not _datetime or _naive(value):
        raise _Decline
    return value


def _naive(value: dt.datetime) -> bool:
    """No UTC offset.  A ``datetime.timezone`` (what ISO 8601 text and TOML
    give) always has one: only another tzinfo is asked, as ``utcoffset()``
    costs as much as reading the text."""
    tz = value.tzinfo
    return tz is None or (tz.__class__ is not _timezone and value.utcoffset() is None)


def _moment_of(value: object) -> Moment:
    """An instant or a bare date: :func:`_instant_of` written out again (one
    call fewer for each of a request's several moments)."""
    if type(value) is str:
        try:
            if len(value) == 10:
                return _date_from_text(value)
            value = _instant_from_text(value)
        except ValueError:
            raise _Decline from None
    elif type(value) is _date:
        return value
    if type(value) is not _datetime or _naive(value):
        raise _Decline
    return value


def _amount(value: object, currency: str) -> Money:
    if type(value) is str:
        # Unsigned ASCII digits with at most one point ("180", "2.50", ".5"), at
        # most MAX_DIGITS characters: a strict subset of what PLAIN_DECIMAL and
        # the converter accept, checked without a regex.  isascii() comes
        # first: str.isdigit() alone also takes "１２" and "٣".
        if (
            len(value) > MAX_DIGITS
            or not value.isascii()
            or not value.replace(".", "", 1).isdigit()
        ):
            raise _Decline
        amount = Decimal(value)
    elif type(value) is int:
        if value < 0:
            raise _Decline
        amount = Decimal(value)
    else:
        raise _Decline
    if amount >= MAX_INT:
        raise _Decline
    return Money._trusted(amount, currency)


_CHECKS: Final[Mapping[object, str]] = {
    # isprintable() refuses control characters (and some rarer ones, which the
    # converter then looks at): one C call instead of a regex.
    Text: "if {v}.__class__ is not str or len({v}) > MAX_STRING "
    "or not {v}.isprintable(): raise DECLINE",
    Qty: "if {v}.__class__ is not int or not 1 <= {v} <= MAX_INT: raise DECLINE",
    Count: "if {v}.__class__ is not int or not 0 <= {v} <= MAX_INT: raise DECLINE",
    bool: "if {v}.__class__ is not bool: raise DECLINE",
    Moment: "{v} = MOMENT({v})",
    dt.datetime: "{v} = INSTANT({v})",
    Amount: "{v} = AMOUNT({v}, currency)",
}
"""The quick check of each type of the model, as a statement about ``{v}``."""


class _Source:
    """The generated source of the quick reader, and what it binds."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, object] = {
            "DECLINE": _Decline,
            "ABSENT": _ABSENT,
            "MAX_STRING": MAX_STRING,
            "MAX_INT": MAX_INT,
            "MAX_LINES": MAX_LINES,
            "MOMENT": _moment_of,
            "INSTANT": _instant_of,
            "AMOUNT": _amount,
        }
        self.vocabularies: list[str] = []
        self.done: set[type] = set()

    def bind(self, prefix: str, value: object) -> str:
        name = f"{prefix}{len(self.names)}"
        self.names[name] = value
        return name

    def params(self) -> str:
        return ", ".join(f"codes_{v}" for v in self.vocabularies) + ", currency"

    def check(self, hint: Any, v: str, indent: str) -> list[str]:
        """Statements that check (and convert) the value in variable *v*."""
        args = typing.get_args(hint)
        if (
            typing.get_origin(hint) in (types.UnionType, typing.Union)
            and type(None) in args
        ):
            rest = [a for a in args if a is not type(None)]
            inner = functools.reduce(operator.or_, rest)  # Moment | None: Moment
            body = self.check(inner, v, indent + "    ")
            return [f"{indent}if {v} is not None:", *body]
        if hint in _CHECKS:
            return [indent + _CHECKS[hint].format(v=v)]
        if hint in CODE_TYPES:
            vocab = CODE_TYPES[hint]
            if vocab not in self.vocabularies:
                self.vocabularies.append(vocab)
            return [
                f"{indent}if {v}.__class__ is not str or {v} not in codes_{vocab}: "
                "raise DECLINE"
            ]
        if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
            item = self.function(args[0])
            return [
                f"{indent}if {v}.__class__ is not list or len({v}) > MAX_LINES: "
                "raise DECLINE",
                f"{indent}{v} = tuple([{item}(x, PARAMS) for x in {v}])",
            ]
        if attrs.has(hint):
            return [f"{indent}{v} = {self.function(hint)}({v}, PARAMS)"]
        raise TypeError(f"the quick reader has no check for {hint!r}")

    def function(self, cls: type, *, fields_only: bool = False) -> str:
        """The name of the generated reader of *cls* (generated once).

        With *fields_only* it returns the values of the fields in their
        order instead of an instance: the root's, which the caller checks
        and turns into a :class:`Request` itself.
        """
        name = f"read_{cls.__name__}"
        if cls in self.done:
            return name
        self.done.add(cls)
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = [f for f in attrs.fields(cls) if f.init]  # not the caches
        # A missing required key is a KeyError (the caller declines); an
        # unknown key is told by counting the keys read: cheaper than two
        # set comparisons of the keys, per table.
        required = sum(1 for f in fields if f.default is attrs.NOTHING)
        body = [
            "    if m.__class__ is not dict:",
            "        raise DECLINE",
            f"    n = {required}",
        ]
        for n, field in enumerate(fields):
            v = f"v{n}"
            if field.default is attrs.NOTHING:
                body.append(f"    {v} = m[{self.bind('F', field.name)}]")
                body += self.check(hints[field.name], v, "    ")
            else:
                body.append(f"    {v} = m.get({self.bind('F', field.name)}, ABSENT)")
                body.append(f"    if {v} is ABSENT:")
                body.append(f"        {v} = {self.bind('D', field.default)}")
                body.append("    else:")
                body.append("        n += 1")
                body += self.check(hints[field.name], v, "        ")
        body += ["    if len(m) != n:", "        raise DECLINE"]
        if fields_only:
            values = "".join(f"v{n}, " for n in range(len(fields)))
            body.append(f"    return ({values})")
        else:
            body += self.build(cls, len(fields))
        self.lines += [f"def {name}(m, PARAMS):", *body, ""]
        return name

    def build(self, cls: type, count: int) -> list[str]:
        """The statements that build *cls* from ``v0`` ... and return it.

        A class whose ``__init__`` only stores its fields is built through its
        slots' own setters, as ``Money._trusted`` is: attrs' frozen
        ``__init__`` stores each field through ``object.__setattr__``, and a
        request builds several 16-field order lines.  Any other class is
        called.
        """
        fields = attrs.fields(cls)
        plain = (
            "__slots__" in vars(cls)
            and "__attrs_post_init__" not in vars(cls)
            and all(
                f.converter is None
                and f.validator is None
                and not isinstance(f.default, attrs.Factory)  # type: ignore[arg-type]
                and (f.init or f.default is not attrs.NOTHING)
                for f in fields
            )
        )
        if not plain:
            built = ", ".join(f"v{n}" for n in range(count))
            return [f"    return {self.bind('C', cls)}({built})"]
        lines = [f"    o = NEW({self.bind('C', cls)})"]
        n = 0
        for field in fields:
            setter = self.bind("S", vars(cls)[field.name].__set__)
            if field.init:
                lines.append(f"    {setter}(o, v{n})")
                n += 1
            else:  # a cache: its default
                lines.append(f"    {setter}(o, {self.bind('D', field.default)})")
        return [*lines, "    return o"]


def _generate(root: type) -> tuple[Callable[..., Any], tuple[str, ...], str]:
    """The quick reader of *root*, the vocabularies it takes, and its source.

    Every name in the source is made here and every value is bound as a
    constant: nothing from a request is ever part of it.
    """
    source = _Source()
    entry = source.function(root, fields_only=True)
    text = "\n".join(source.lines).replace("PARAMS", source.params())
    allowed = (bool, dict, int, len, list, str, tuple)
    namespace: dict[str, Any] = {"__builtins__": {b.__name__: b for b in allowed}}
    namespace.update(source.names)
    namespace["NEW"] = object.__new__
    exec(compile(text, "<returnrules quick request reader>", "exec"), namespace)
    return namespace[entry], tuple(source.vocabularies), text


_QUICK, _QUICK_VOCABULARIES, QUICK_SOURCE = _generate(_RawRequest)


def _quick(
    m: Mapping[str, Any],
    policy_currency: str | None,
    codes: tuple[Mapping[str, str], ...],
) -> Request:
    """Read a well-formed request, or raise _Decline (see above)."""
    if type(m) is not dict:
        raise _Decline
    order = m.get("order")
    given = order.get("currency") if type(order) is dict else None
    if given is None:
        currency = policy_currency or DEFAULT_CURRENCY
    elif type(given) is str and (
        given == policy_currency
        or (policy_currency is None and is_currency_code(given))
    ):
        currency = given  # what _currency_of accepts
    else:
        raise _Decline
    try:  # the root's reader gives its fields, in _RawRequest's order
        id_, requested_at, customer, order, rlines, return_shipping = _QUICK(
            m, *codes, currency
        )
    except KeyError:  # a required key is missing
        raise _Decline from None
    if _check(order, rlines, requested_at):
        raise _Decline  # the converter reports it, with everything else
    return _request(
        id_, requested_at, customer, order, rlines, return_shipping, currency
    )


def _codes(vocabularies: Mapping[str, Vocabulary]) -> tuple[Mapping[str, str], ...]:
    """The codes of each vocabulary the quick reader takes, in its order."""
    return tuple(vocabularies[name].labels for name in _QUICK_VOCABULARIES)


# -- entry point --------------------------------------------------------------------


def _currency_of(
    mapping: Mapping[str, Any], policy_currency: str | None
) -> tuple[str, list[RequestProblem]]:
    order = mapping.get("order")
    given = order.get("currency") if isinstance(order, Mapping) else None
    fallback = policy_currency or DEFAULT_CURRENCY
    if given is None:
        return fallback, []
    where: PathKey = ("order", "currency")
    if not isinstance(given, str) or not is_currency_code(given):
        return fallback, [
            RequestProblem(
                where, f"not an ISO 4217 currency code: {show(given)}", "bad-value"
            )
        ]
    if policy_currency is not None and given != policy_currency:
        return fallback, [
            RequestProblem(
                where,
                f'"{given}" does not match the policy\'s currency "{policy_currency}"',
                "currency-mismatch",
            )
        ]
    return given, []


def parse_request(
    mapping: Mapping[str, Any],
    *,
    currency: str | None = None,
    vocabularies: Mapping[str, Vocabulary] | None = None,
) -> Request:
    """Check *mapping* (as TOML or JSON gives it) and build a :class:`Request`.

    *currency* and *vocabularies* are the policy's (``Policy.parse_request``
    passes them); without them the core defaults apply.  Raises
    :class:`RequestError` listing every problem with its key path.
    """
    return RequestReader(currency, vocabularies)(mapping)


class RequestReader:
    """:func:`parse_request` for one currency and set of vocabularies (a
    policy's), with what the quick reader takes looked up once, not for
    every request.  The vocabularies are read as they are when it is made:
    a policy's never change."""

    __slots__ = ("_codes", "currency", "vocabularies")

    def __init__(
        self,
        currency: str | None = None,
        vocabularies: Mapping[str, Vocabulary] | None = None,
    ) -> None:
        self.currency = currency
        self.vocabularies = (
            DEFAULT_VOCABULARY_TABLE if vocabularies is None else vocabularies
        )
        self._codes = _codes(self.vocabularies)

    def __call__(self, mapping: Mapping[str, Any]) -> Request:
        try:
            return _quick(mapping, self.currency, self._codes)
        except _Decline:
            return _strict(mapping, self.currency, self.vocabularies)


def _strict(
    mapping: Mapping[str, Any],
    currency: str | None,
    vocabularies: Mapping[str, Vocabulary],
) -> Request:
    """Read *mapping* with the converter: every problem, at its key path."""
    if not isinstance(mapping, Mapping):
        raise RequestError(
            [RequestProblem((), f"expected a table, got {show(mapping)}", "bad-value")]
        )
    the_currency, problems = _currency_of(mapping, currency)
    conv = converter(Context(the_currency, vocabularies))
    try:
        raw = conv.structure(mapping, _RawRequest)
    except (ClassValidationError, IterableValidationError, ValueError) as exc:
        problems.extend(
            RequestProblem(issue.path, issue.message, issue.code)
            for issue in issues_from_cattrs(exc, ())
        )
        problems.extend(_raw_references(mapping))
        raise RequestError(problems) from None
    problems.extend(_check(raw.order, raw.lines, raw.requested_at))
    if problems:
        raise RequestError(problems)
    return _request(
        raw.id, raw.requested_at, raw.customer, raw.order, raw.lines,
        raw.return_shipping, the_currency,
    )  # fmt: skip
