"""Turn a TOML/JSON mapping into a checked :class:`~returnrules.Request`.

One cattrs converter, configured once, does the structuring; its strict hooks
reject what a lenient ``int()``/``str()`` would silently accept (``True`` as a
quantity, ``2.5`` truncated to 2).  The policy-dependent parts (currency,
vocabularies) reach the hooks through a context variable set for the duration
of one :func:`parse_request` call.  Every problem is collected and raised at
once as :class:`~returnrules.RequestError`, each with its key path.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs
from cattrs.errors import ClassValidationError, IterableValidationError

from returnrules.model.convert import (
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
    SHIPPED_STATUSES,
    Amount,
    CategoryCode,
    ChannelCode,
    ConditionCode,
    Count,
    Customer,
    Moment,
    Order,
    OrderLine,
    PackagingCode,
    Qty,
    ReasonCode,
    Request,
    ReturnLine,
    StatusCode,
    Text,
    TierCode,
    local_date,
    shipped_qty,
)
from returnrules.model.vocab import DEFAULT_VOCABULARIES, Vocabulary

DEFAULT_VOCABULARY_TABLE: Final[Mapping[str, Vocabulary]] = {
    v.name: v for v in DEFAULT_VOCABULARIES
}
"""The core's vocabularies by name: what a request is read against by default."""

__all__ = ["DEFAULT_CURRENCY", "parse_request"]

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


def _check(raw: _RawRequest) -> Iterator[RequestProblem]:
    order = raw.order
    yield from _references(
        order.id, [ol.line for ol in order.lines], [rl.line for rl in raw.lines]
    )
    for i, oline in enumerate(order.lines):
        where: PathKey = ("order", "lines", i)
        if oline.shipped_qty is not None and oline.shipped_qty > oline.qty:
            yield RequestProblem(
                (*where, "shipped_qty"),
                f"shipped_qty {oline.shipped_qty} exceeds the ordered qty {oline.qty}",
                "bad-value",
            )
        shipped = shipped_qty(order, oline)
        if oline.returned_qty > shipped and order.shipped:
            yield RequestProblem(
                (*where, "returned_qty"),
                f"returned_qty {oline.returned_qty} exceeds the shipped qty {shipped}",
                "bad-value",
            )
    if not order.lines:
        yield RequestProblem(
            ("order", "lines"), "an order has at least one line", "empty"
        )
    if not raw.lines:
        yield RequestProblem(("lines",), "nothing to return: no lines", "empty")
    if len(raw.lines) > MAX_LINES or len(order.lines) > MAX_LINES:
        yield RequestProblem(("lines",), f"more than {MAX_LINES} lines", "too-large")
    yield from _check_dates(raw.order, raw.requested_at)


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


# -- the fast path ------------------------------------------------------------------
#
# Most requests are well formed.  For them, cattrs' generic machinery (a hook
# call and several isinstance checks per key) costs more than the evaluation
# that follows, so a straight-line reader builds the request first.  It
# accepts strictly less than the converter: anything it is unsure of, it
# declines (returns None) and the converter runs instead, which both builds
# the request and, for a bad one, reports every problem.  A test keeps the two
# readers in agreement.


class _Decline(Exception):
    """The fast reader is not sure: let the converter decide."""


def _fields(cls: type) -> tuple[frozenset[str], frozenset[str]]:
    names = [f.name for f in attrs.fields(cls)]
    required = [f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING]
    return frozenset(names), frozenset(required)


_REQUEST_KEYS, _REQUEST_REQUIRED = _fields(_RawRequest)
_CUSTOMER_KEYS, _CUSTOMER_REQUIRED = _fields(Customer)
_ORDER_KEYS, _ORDER_REQUIRED = _fields(Order)
_OLINE_KEYS, _OLINE_REQUIRED = _fields(OrderLine)
_RLINE_KEYS, _RLINE_REQUIRED = _fields(ReturnLine)


def _table_of(value: object, keys: frozenset[str], required: frozenset[str]) -> Any:
    if type(value) is not dict:
        raise _Decline
    present = value.keys()
    if not (required <= present <= keys):
        raise _Decline
    return value


def _text(value: object) -> Text:
    # isprintable() refuses control characters (and some rarer ones, which
    # the converter then looks at): one C call instead of a regex.
    if type(value) is not str or len(value) > MAX_STRING or not value.isprintable():
        raise _Decline
    return Text(value)


def _number(value: object, least: int) -> int:
    if type(value) is not int or not least <= value <= MAX_INT:
        raise _Decline
    return value


def _flag(value: object) -> bool:
    if type(value) is not bool:
        raise _Decline
    return value


def _code(value: object, codes: Mapping[str, str]) -> str:
    if type(value) is not str or value not in codes:
        raise _Decline
    return value


def _instant_of(value: object) -> dt.datetime:
    if type(value) is str:
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _Decline from None
    if type(value) is not dt.datetime or value.utcoffset() is None:
        raise _Decline
    return value


def _moment_of(value: object) -> Moment:
    if type(value) is str and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _Decline from None
    if type(value) is dt.date:
        return value
    return _instant_of(value)


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


_CODES: dict[int, tuple[object, Mapping[str, Mapping[str, str]]]] = {}


def _codes_of(
    vocabularies: Mapping[str, Vocabulary],
) -> Mapping[str, Mapping[str, str]]:
    """Each vocabulary's codes (and labels), worked out once per vocabularies."""
    hit = _CODES.get(id(vocabularies))
    if hit is not None and hit[0] is vocabularies:
        return hit[1]
    codes = {name: vocab.labels for name, vocab in vocabularies.items()}
    if len(_CODES) >= 64:  # policies loaded again and again: forget old ones
        _CODES.clear()
    _CODES[id(vocabularies)] = (vocabularies, codes)  # held: its id stays its own
    return codes


def _fast(
    m: Mapping[str, Any],
    policy_currency: str | None,
    vocabularies: Mapping[str, Vocabulary],
) -> Request:
    """Read a well-formed request, or raise _Decline.

    Anything :func:`_check` would report is declined too, so that the
    converter path reports it: what this returns needs no further check.
    """
    if type(m) is not dict:
        raise _Decline
    keys = m.keys()
    if keys != _REQUEST_REQUIRED and not (_REQUEST_REQUIRED <= keys <= _REQUEST_KEYS):
        raise _Decline
    codes = _codes_of(vocabularies)
    c = _table_of(m["customer"], _CUSTOMER_KEYS, _CUSTOMER_REQUIRED)
    customer = Customer(
        _text(c["id"]), TierCode(_code(c.get("tier", "retail"), codes["tier"]))
    )
    o = _table_of(m["order"], _ORDER_KEYS, _ORDER_REQUIRED)
    given_currency = o.get("currency")
    if given_currency is None:
        currency = policy_currency or DEFAULT_CURRENCY
    elif type(given_currency) is str and (
        given_currency == policy_currency
        or (policy_currency is None and is_currency_code(given_currency))
    ):
        currency = given_currency  # what _currency_of accepts
    else:
        raise _Decline
    status = StatusCode(_code(o["status"], codes["status"]))
    shipped_status = status in SHIPPED_STATUSES
    raw_lines = o["lines"]
    if type(raw_lines) is not list or not raw_lines or len(raw_lines) > MAX_LINES:
        raise _Decline
    by_number: dict[int, OrderLine] = {}
    categories = codes["category"]
    for ol in raw_lines:
        ol = _table_of(ol, _OLINE_KEYS, _OLINE_REQUIRED)
        number = _number(ol["line"], 1)
        qty = _number(ol["qty"], 1)
        shipped = ol.get("shipped_qty")
        if shipped is not None:
            shipped = _number(shipped, 0)
            if shipped > qty:
                raise _Decline
        returned = _number(ol.get("returned_qty", 0), 0)
        if shipped_status and returned > (qty if shipped is None else shipped):
            raise _Decline
        if number in by_number:
            raise _Decline
        core = ol.get("core_charge")
        supplier = ol.get("supplier")
        warranty = ol.get("warranty_days")
        # Positional, in the fields' order: attrs' __init__ is quicker so.
        by_number[number] = OrderLine(
            Qty(number),  # line
            _text(ol["sku"]),  # sku
            Qty(qty),  # qty
            _amount(ol["unit_price"], currency),  # unit_price
            CategoryCode(_code(ol["category"], categories)),  # category
            _text(ol.get("name", "")),  # name
            _text(ol.get("brand", "")),  # brand
            None if shipped is None else Count(shipped),  # shipped_qty
            Count(returned),  # returned_qty
            _flag(ol.get("special_order", False)),  # special_order
            _flag(ol.get("no_return", False)),  # no_return
            _flag(ol.get("kit", False)),  # kit
            None if core is None else _amount(core, currency),  # core_charge
            None if supplier is None else _text(supplier),  # supplier
            None if warranty is None else Count(_number(warranty, 0)),  # warranty_days
            _flag(ol.get("obsolete", False)),  # obsolete
        )
    promised, shipped_at, delivered = (
        o.get("promised_at"),
        o.get("shipped_at"),
        o.get("delivered_at"),
    )
    fee = o.get("shipping_fee")
    order = Order(
        _text(o["id"]),  # id
        status,  # status
        _moment_of(o["placed_at"]),  # placed_at
        tuple(by_number.values()),  # lines
        ChannelCode(_code(o.get("channel", "store"), codes["channel"])),  # channel
        None if promised is None else _moment_of(promised),  # promised_at
        None if shipped_at is None else _moment_of(shipped_at),  # shipped_at
        None if delivered is None else _moment_of(delivered),  # delivered_at
        None if fee is None else _amount(fee, currency),  # shipping_fee
        None if given_currency is None else _text(given_currency),  # currency
    )
    requested_at = _instant_of(m["requested_at"])
    if _check_dates(order, requested_at):
        raise _Decline
    raw_returns = m["lines"]
    if type(raw_returns) is not list or not raw_returns or len(raw_returns) > MAX_LINES:
        raise _Decline
    returns = []
    pairs = []
    reasons, conditions = codes["reason"], codes["condition"]
    for rl in raw_returns:
        rl = _table_of(rl, _RLINE_KEYS, _RLINE_REQUIRED)
        number = _number(rl["line"], 1)
        oline = by_number.get(number)
        if oline is None:
            raise _Decline
        rline = ReturnLine(
            Qty(number),  # line
            Qty(_number(rl["qty"], 1)),  # qty
            ReasonCode(_code(rl["reason"], reasons)),  # reason
            ConditionCode(_code(rl["condition"], conditions)),  # condition
            PackagingCode(  # packaging
                _code(rl.get("packaging", "original"), codes["packaging"])
            ),
        )
        returns.append(rline)
        pairs.append((rline, oline))
    if len(returns) > 1 and len({rline.line for rline in returns}) < len(returns):
        raise _Decline  # an order line listed twice
    return_shipping = m.get("return_shipping")
    return Request(
        _text(m["id"]),  # id
        requested_at,  # requested_at
        customer,  # customer
        order,  # order
        tuple(returns),  # lines
        currency,  # currency
        tuple(pairs),  # pairs
        return_shipping=(
            None if return_shipping is None else _amount(return_shipping, currency)
        ),
    )


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
    if vocabularies is None:
        vocabularies = DEFAULT_VOCABULARY_TABLE
    try:
        return _fast(mapping, currency, vocabularies)
    except _Decline:
        pass
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
    problems.extend(_check(raw))
    if problems:
        raise RequestError(problems)
    by_number = {oline.line: oline for oline in raw.order.lines}
    return Request(
        id=raw.id,
        requested_at=raw.requested_at,
        customer=raw.customer,
        order=raw.order,
        lines=raw.lines,
        currency=the_currency,
        pairs=tuple((rline, by_number[rline.line]) for rline in raw.lines),
        return_shipping=raw.return_shipping,
    )
