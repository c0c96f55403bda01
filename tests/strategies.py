"""Hypothesis strategies: random valid policies, requests and data.

``cases()`` draws a whole differential-testing case (see :class:`Case`): a
policy (as TOML text and as the mapping ``tomllib`` reads back from it) and one
to three requests, each with its data mapping for the test plugin
``tests/plugins/diff_facts.py``.  Everything drawn is *valid*: the policy loads
without errors and every request parses, so any disagreement between the
engine and ``tests/reference.py`` is about evaluation, not about input checks.

What the policies cover:

* ``when`` trees of ``all``/``any``/``not`` nested up to :data:`MAX_DEPTH`
  (empty ``all``/``any`` lists included), or no ``when`` at all;
* every operator (``eq ne lt le gt ge in not_in`` and ``present``) on every
  fact kind it applies to, with literals of the right type written the ways a
  TOML author may write them (money and decimals as integers, floats or
  strings; dates as TOML dates or strings; empty ``in`` lists);
* fact-to-fact comparisons between compatible facts (int with decimal, money
  with money, tier with tier, a fact with itself...);
* optional facts present and absent (``request.days_since_delivery``,
  ``part.supplier`` and the plugin's facts);
* the plugin's checks with and without parameters;
* ``decide``, ``for`` (including ``[]``), ``priority`` (ties, negatives, the
  64-bit extremes), ``message`` with placeholders, and ``then`` mixing the
  single actions ``diff_hold``/``diff_ship`` with repeated, identical and
  identical-once-rendered ``diff_tag`` (multiple) actions;
* policies that add codes to the ``reason`` and ``category`` vocabularies or
  relabel ``tier``, and currencies with 0, 2 and 3 minor digits.

Requests have 1–4 return lines over 1–4 order lines (return qty below, equal
to and above the returnable qty), every order status, optional
``shipped_qty``/``returned_qty``/``shipping_fee``/``supplier``/...,
``requested_at`` in various UTC offsets, and ``placed_at``/``shipped_at``/
``delivered_at`` as bare dates or date-times in other offsets (or absent).
The data gives each line the plugin's fact values, with faults (a resolver
that raises, a value of the wrong type, a check that raises or returns a
non-boolean, an action that raises) at a rate the test chooses.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import tomllib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Protocol, TypeVar

import attrs
import tomli_w
from hypothesis import strategies as st

from tests.plugins import diff_facts
from tests.reference import FACTS, FactSpec

__all__ = [
    "Case",
    "Drawn",
    "Pick",
    "Sampled",
    "Vocab",
    "cases",
    "conditions",
    "data_for",
    "make_data",
    "make_request",
    "policies",
    "requests",
]

MAX_DEPTH: Final = 4


CURRENCIES: Final = ("CNY", "CNY", "JPY", "KWD", "USD")
DECISIONS: Final = ("approve", "reject", "review")
OFFSETS: Final = tuple(
    dt.timezone(dt.timedelta(minutes=m)) for m in (480, 0, -300, 345, -660, 840)
)
BASE: Final = dt.datetime(2026, 11, 20, 10, 0, tzinfo=OFFSETS[0])

SKUS: Final = ("BOSCH-0986494", "NGK-BKR6E", "MANN-W712", "x")
BRANDS: Final = ("Bosch", "NGK", "", "Mann")
CUSTOMERS: Final = ("C-1", "C-2")
SUPPLIERS: Final = ("SUP-A", "SUP-B")
CODES: Final = ("SUP-A", "x", "")
PRICES: Final = ("0.01", "1.5", "35.50", "180.00", "999.999", "20", "0.333", "0")
MESSAGES: Final = (
    "plain",
    "qty {line.qty}",
    "{part.sku} × {line.qty} {{braces}}",
    "days={request.days_since_delivery}",
    "",
)

VOCAB_CODES: Final[Mapping[str, tuple[str, ...]]] = {
    "kind": ("cancel", "return"),
    "status": ("placed", "allocated", "shipped", "delivered"),
    "channel": ("store", "online", "phone"),
    "tier": ("retail", "workshop", "fleet", "vip"),
    "reason": (
        "wrong_part",
        "ordered_wrong",
        "defective",
        "damaged_in_transit",
        "late_delivery",
        "changed_mind",
        "duplicate_order",
        "out_of_stock",
        "other",
    ),
    "condition": ("unopened", "opened", "installed", "damaged", "incomplete"),
    "packaging": ("original", "damaged", "missing"),
    "category": (
        "engine",
        "electrical",
        "brake",
        "suspension",
        "body",
        "filter",
        "battery",
        "fluid",
        "tyre",
        "consumable",
        "accessory",
        "other",
    ),
}
#: Codes a generated policy may add with ``[vocab.NAME]``.
EXTRA_CODES: Final[Mapping[str, tuple[str, str]]] = {
    "reason": ("core_swap", "旧件回收"),
    "category": ("adapter", "转接件"),
}

# Facts that may be compared with each other (DESIGN: int with decimal, else
# the same kind, and enums of the same vocabulary).
_GROUPS: Final[tuple[tuple[str, ...], ...]] = tuple(
    tuple(
        name
        for name, spec in FACTS.items()
        if (spec.kind if spec.kind != "decimal" else "int", spec.vocab) == key
    )
    for key in sorted(
        {(s.kind if s.kind != "decimal" else "int", s.vocab) for s in FACTS.values()},
        key=str,
    )
)
_ORDERING: Final = ("lt", "le", "gt", "ge")


@attrs.frozen
class Vocab:
    """Which codes a generated policy knows: the defaults, plus its additions."""

    extra: frozenset[str] = frozenset()  # vocabulary names with an added code
    relabel_tier: bool = False

    def codes(self, vocab: str) -> tuple[str, ...]:
        codes = VOCAB_CODES[vocab]
        if vocab in self.extra:
            codes = (*codes, EXTRA_CODES[vocab][0])
        return codes

    def table(self) -> dict[str, dict[str, str]]:
        table: dict[str, dict[str, str]] = {}
        for name in sorted(self.extra):
            code, label = EXTRA_CODES[name]
            table[name] = {code: label}
        if self.relabel_tier:
            table["tier"] = {"vip": "VIP 大客户"}
        return table


@attrs.frozen
class Case:
    """A policy and the requests to evaluate against it.

    ``doc`` is what ``tomllib`` reads from ``text`` (what the engine loads);
    ``requests`` pairs each request mapping with its data mapping.
    """

    text: str
    doc: Mapping[str, Any]
    currency: str
    requests: tuple[tuple[dict[str, Any], dict[str, Any]], ...]


T = TypeVar("T")


# -- strategies built once ------------------------------------------------------------
# Hypothesis validates a strategy object the first time it is drawn from; a new
# st.integers(0, 9) at every draw made that a third of the drawing time.  These
# return one object per arguments (the draws, and so the examples, are the same).


@functools.cache
def _integers(
    low: int | None = None, high: int | None = None
) -> st.SearchStrategy[int]:
    return st.integers(low, high)


@functools.cache
def _sampled_once(options: tuple[tuple[type, Any], ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from([value for _, value in options])


def _sampled(options: Sequence[T]) -> st.SearchStrategy[T]:
    """st.sampled_from(options), once per options (keyed with their types:
    0 == False, but they are not the same option)."""
    return _sampled_once(tuple((type(o), o) for o in options))


_BOOLEANS: Final = st.booleans()


# -- two ways to choose: hypothesis, or a seeded random.Random ----------------------


class Pick(Protocol):
    """The choices the request and data generators make.

    :class:`Drawn` makes them with hypothesis (shrinking, boundary values);
    :class:`Sampled` with a seeded ``random.Random``, a hundred times faster,
    for tests that need many thousands of requests (``test_analysis.py``).
    The generators are written once, against this protocol.
    """

    def integer(self, low: int, high: int) -> int: ...

    def one(self, options: Sequence[T]) -> T: ...

    def flag(self) -> bool: ...

    def distinct(self, low: int, high: int, count: int) -> list[int]:
        """*count* different integers of [low, high]."""
        ...

    def subset(self, options: Sequence[T], low: int, high: int) -> list[T]:
        """*low* to *high* different items of *options*."""
        ...

    def decimal(self, low: int, high: int, places: int) -> Decimal:
        """A decimal of [low, high] with at most *places* decimal places."""
        ...

    def text(self, max_size: int) -> str: ...


@attrs.frozen
class Drawn:
    """Choices drawn by hypothesis (inside an ``@st.composite``)."""

    draw: st.DrawFn

    def integer(self, low: int, high: int) -> int:
        return self.draw(_integers(low, high))

    def one(self, options: Sequence[T]) -> T:
        return self.draw(_sampled(options))

    def flag(self) -> bool:
        return self.draw(_BOOLEANS)

    def distinct(self, low: int, high: int, count: int) -> list[int]:
        return self.draw(
            st.lists(_integers(low, high), min_size=count, max_size=count,
                     unique=True)
        )  # fmt: skip

    def subset(self, options: Sequence[T], low: int, high: int) -> list[T]:
        return self.draw(
            st.lists(_sampled(options), min_size=low, max_size=high,
                     unique=True)
        )  # fmt: skip

    def decimal(self, low: int, high: int, places: int) -> Decimal:
        return self.draw(
            st.decimals(low, high, places=places, allow_nan=False,
                        allow_infinity=False)
        )  # fmt: skip

    def text(self, max_size: int) -> str:
        return self.draw(st.text(max_size=max_size))


_LETTERS: Final = "aZ09 -_.x退货\u00e9\U0001f697\x00"


@attrs.frozen
class Sampled:
    """Choices made by a seeded ``random.Random``: uniform over the same
    domains as :class:`Drawn`, without hypothesis's bookkeeping."""

    rng: random.Random

    # random() and a product: three times quicker than randint and choice
    def integer(self, low: int, high: int) -> int:
        return low + int(self.rng.random() * (high - low + 1))

    def one(self, options: Sequence[T]) -> T:
        return options[int(self.rng.random() * len(options))]

    def flag(self) -> bool:
        return self.rng.random() < 0.5

    def distinct(self, low: int, high: int, count: int) -> list[int]:
        return self.rng.sample(range(low, high + 1), count)

    def subset(self, options: Sequence[T], low: int, high: int) -> list[T]:
        return self.rng.sample(options, self.rng.randint(low, min(high, len(options))))

    def decimal(self, low: int, high: int, places: int) -> Decimal:
        scale = 10**places
        return Decimal(self.rng.randint(low * scale, high * scale)).scaleb(-places)

    def text(self, max_size: int) -> str:
        size = self.rng.randint(0, max_size)
        return "".join(self.rng.choice(_LETTERS) for _ in range(size))


# -- literals --------------------------------------------------------------------------


def _decimal_text(draw: st.DrawFn, high: int = 2000) -> str:
    places = draw(_integers(0, 3))
    number = Decimal(draw(_integers(-10, high * 10**places))).scaleb(-places)
    text = str(number)
    if draw(_integers(0, 9)) == 0:
        # a plus sign, or a bare point ("5." and ".5"): still plain decimals
        forms = [f"+{text}" if number >= 0 else text]
        if "." not in text:
            forms.append(f"{text}.")
        elif text.startswith("0."):
            forms.append(text[1:])
        text = draw(_sampled(forms))
    return text


@functools.cache
@st.composite
def numbers(draw: st.DrawFn, integral: bool) -> object:
    """A number literal: an integer, or (unless *integral*) a float or a string."""
    choice = draw(_integers(0, 9 if not integral else 3))
    if choice <= 2:
        return draw(_integers(-2, 12))
    if choice == 3:
        # the extremes: an int literal may be ±10^12, a decimal one is below
        limit = 10**12 if integral else 10**12 - 1
        return draw(_integers(-limit, limit))
    if choice <= 5:
        return draw(_sampled([0.5, 1.25, 2.0, 0.001, 35.5, -1.5, 180.0]))
    if choice == 6:
        # no digit below 10^-24 (MAX_PLACES): 1e-30 is refused, not compared
        return draw(
            st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).filter(
                lambda f: int(Decimal(repr(f)).as_tuple().exponent) >= -24
            )
        )
    if choice == 7:
        return draw(_sampled(PRICES))
    return _decimal_text(draw)


FIRST_DAY: Final = dt.date(2026, 10, 1)
LAST_DAY: Final = dt.date(2026, 12, 31)


def _dates() -> st.SearchStrategy[dt.date]:
    return st.dates(FIRST_DAY, LAST_DAY)


def _datetimes() -> st.SearchStrategy[dt.datetime]:
    return st.builds(
        lambda day, minutes, tz: (
            dt.datetime.combine(day, dt.time(), tz) + dt.timedelta(minutes=minutes)
        ),
        _dates(),
        _integers(0, 24 * 60 - 1),
        _sampled(OFFSETS),
    )


@functools.cache
@st.composite
def literals(draw: st.DrawFn, name: str, vocab: Vocab) -> object:
    """A literal that type-checks against fact *name*."""
    spec = FACTS[name]
    kind = spec.kind
    if kind == "int":
        return draw(numbers(integral=True))
    if kind in ("decimal", "money"):
        return draw(numbers(integral=False))
    if kind == "bool":
        return draw(_BOOLEANS)
    if kind == "date":
        day = draw(_dates())
        return day.isoformat() if draw(_BOOLEANS) else day
    if kind == "datetime":
        moment = draw(_datetimes())
        return moment.isoformat() if draw(_BOOLEANS) else moment
    if kind == "enum":
        assert spec.vocab is not None
        return draw(_sampled(vocab.codes(spec.vocab)))
    pools = {
        "customer.id": CUSTOMERS,
        "part.sku": SKUS,
        "part.brand": BRANDS,
        "part.supplier": SUPPLIERS,
        "diff.code": CODES,
    }
    return draw(_sampled(pools[name]) | st.text(max_size=3))


def _operators(spec: FactSpec) -> tuple[str, ...]:
    if spec.kind == "bool":
        return ("eq", "ne")
    if spec.ordered:
        return ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in")
    return ("eq", "ne", "in", "not_in")


# -- conditions ------------------------------------------------------------------------


@functools.cache
@st.composite
def leaves(draw: st.DrawFn, vocab: Vocab) -> dict[str, Any]:
    """One condition leaf: a comparison, a fact-to-fact comparison, present, a check."""
    kind = draw(_integers(0, 9))
    if kind == 0:
        if draw(_BOOLEANS):
            node: dict[str, Any] = {"check": "diff_gate"}
            if draw(_BOOLEANS):
                node["min"] = draw(_integers(-1, 5))
            return node
        return {"check": "diff_qty_over", "qty": draw(_integers(-1, 8))}
    name = draw(_sampled(sorted(FACTS)))
    spec = FACTS[name]
    if kind == 1:
        return {"fact": name, "present": draw(_BOOLEANS)}
    if kind <= 3:
        (group,) = [g for g in _GROUPS if name in g]
        other = draw(_sampled(group))
        ops = ("eq", "ne", *_ORDERING) if spec.ordered else ("eq", "ne")
        return {"fact": name, draw(_sampled(ops)): {"fact": other}}
    op = draw(_sampled(_operators(spec)))
    if op in ("in", "not_in"):
        return {"fact": name, op: draw(st.lists(literals(name, vocab), max_size=4))}
    return {"fact": name, op: draw(literals(name, vocab))}


@functools.cache
@st.composite
def conditions(draw: st.DrawFn, vocab: Vocab, depth: int = MAX_DEPTH) -> Any:
    """A ``when`` tree, nested at most *depth* combinators deep."""
    if depth == 0 or draw(_integers(0, 2)) == 0:
        return draw(leaves(vocab))
    combinator = draw(_sampled(["all", "any", "not"]))
    if combinator == "not":
        return {"not": draw(conditions(vocab, depth - 1))}
    items = draw(st.lists(conditions(vocab, depth - 1), max_size=3))
    return {combinator: items}


# -- rules and policies ----------------------------------------------------------------


@functools.cache
@st.composite
def actions(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A ``then`` list: each single action at most once, diff_tag any number."""
    then: list[dict[str, Any]] = []
    if draw(_BOOLEANS):
        hold: dict[str, Any] = {"action": "diff_hold"}
        if draw(_BOOLEANS):
            hold["bin"] = draw(_sampled(["main", "b2", "qc"]))
        then.append(hold)
    if draw(_BOOLEANS):
        ship: dict[str, Any] = {"action": "diff_ship"}
        if draw(_BOOLEANS):
            ship["speed"] = draw(_sampled(["slow", "fast"]))
        then.append(ship)
    for _ in range(draw(_integers(0, 3))):
        tag: dict[str, Any] = {
            "action": "diff_tag",
            "label": draw(_sampled(["a", "A", "b"])),
        }
        if draw(_BOOLEANS):
            tag["upper"] = draw(_BOOLEANS)
        then.append(tag)
    return draw(st.permutations(then))


@functools.cache
@st.composite
def rules(
    draw: st.DrawFn, vocab: Vocab, rule_id: str, depth: int = MAX_DEPTH
) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": rule_id}
    if draw(_BOOLEANS):
        rule["title"] = draw(_sampled(["退货", "a rule", ""]))
    if draw(_integers(0, 5)) > 0:
        rule["when"] = draw(conditions(vocab, depth))
    decide = draw(_sampled([None, None, "approve", "approve", "review", "reject"]))
    if decide is not None:
        rule["decide"] = decide
    if draw(_integers(0, 3)) == 0:
        rule["message"] = draw(_sampled(MESSAGES))
    then = draw(actions())
    if then:
        rule["then"] = then
    if draw(_integers(0, 2)) == 0:
        rule["for"] = draw(st.lists(_sampled(DECISIONS), unique=True, max_size=3))
    if draw(_BOOLEANS):
        rule["priority"] = draw(
            _sampled([0, 1, 2, -1]) | _sampled([2**63 - 1, -(2**63), 10**12])
        )
    return rule


@functools.cache
@st.composite
def policies(
    draw: st.DrawFn, rule_count: tuple[int, int] = (1, 8), depth: int = MAX_DEPTH
) -> tuple[dict[str, Any], Vocab, str]:
    """A policy document (TOML-able mapping), its vocabulary and its currency.

    *rule_count* bounds the number of rules, *depth* the nesting of conditions.
    """
    vocab = Vocab(
        extra=frozenset(draw(st.sets(_sampled(sorted(EXTRA_CODES))))),
        relabel_tier=draw(_BOOLEANS),
    )
    currency = draw(_sampled(CURRENCIES))
    section: dict[str, Any] = {"currency": currency}
    if draw(_integers(0, 5)) > 0:
        section["default"] = draw(_sampled(DECISIONS))
    doc: dict[str, Any] = {"version": 1, "policy": section}
    if vocab.extra or vocab.relabel_tier:
        doc["vocab"] = vocab.table()
    count = draw(_integers(*rule_count))
    doc["rule"] = [draw(rules(vocab, f"r{i}", depth)) for i in range(count)]
    return doc, vocab, currency


# -- requests and data -----------------------------------------------------------------


def _price(pick: Pick) -> object:
    """A unit price as JSON or TOML may give it: usually a string, else a number."""
    text = pick.one(PRICES)
    style = pick.integer(0, 5)
    if style == 0:
        return float(text)
    if style == 1 and Decimal(text) == int(Decimal(text)):
        return int(Decimal(text))
    if style == 2:
        return f"+{text}"
    return text


def make_request(pick: Pick, vocab: Vocab, currency: str) -> dict[str, Any]:
    """A valid request mapping (as JSON or TOML would give it)."""
    tz = pick.one(OFFSETS)
    requested = BASE.astimezone(tz) + dt.timedelta(
        minutes=pick.integer(-3 * 24 * 60, 3 * 24 * 60)
    )
    status = pick.one(VOCAB_CODES["status"])
    shipped = status in ("shipped", "delivered")
    # placed <= shipped <= delivered <= requested: each as an instant in some
    # offset, or as its calendar date in requested_at's offset (a bare date)
    span = pick.integer(0, 40 * 24 * 60)
    placed = requested - dt.timedelta(minutes=span)
    ship_after, deliver_after = sorted((pick.integer(0, span), pick.integer(0, span)))
    order: dict[str, Any] = {"id": "SO-1", "status": status}
    order["placed_at"] = _moment(pick, placed, tz)
    if shipped and pick.flag():
        shipped_at = placed + dt.timedelta(minutes=ship_after)
        order["shipped_at"] = _moment(pick, shipped_at, tz)
    if status == "delivered" and pick.integer(0, 4) > 0:
        delivered = placed + dt.timedelta(minutes=deliver_after)
        order["delivered_at"] = _moment(pick, delivered, tz)
    if pick.integer(0, 3) == 0:
        promised = placed + dt.timedelta(minutes=pick.integer(0, 20 * 24 * 60))
        order["promised_at"] = promised.astimezone(pick.one(OFFSETS))
    if pick.flag():
        order["channel"] = pick.one(VOCAB_CODES["channel"])
    if pick.flag():
        order["shipping_fee"] = pick.one(["20.00", "0", "7.5", "3"])
    if pick.flag():
        order["currency"] = currency

    count = pick.integer(1, 4)
    numbers_ = pick.distinct(1, 99, count)
    order_lines = []
    for number in numbers_:
        qty = pick.integer(1, 6)
        oline: dict[str, Any] = {
            "line": number,
            "sku": pick.one(SKUS),
            "category": pick.one(vocab.codes("category")),
            "qty": qty,
            "unit_price": _price(pick),
        }
        shipped_qty = qty if shipped else 0
        if pick.flag():
            shipped_qty = oline["shipped_qty"] = pick.integer(0, qty)
        if pick.flag():
            top = shipped_qty if shipped else 3
            oline["returned_qty"] = pick.integer(0, top)
        for key in ("special_order", "no_return", "kit"):
            if pick.integer(0, 2) == 0:
                oline[key] = pick.flag()
        if pick.flag():
            oline["supplier"] = pick.one(SUPPLIERS)
        if pick.flag():
            oline["brand"] = pick.one(BRANDS)
        if pick.integer(0, 3) == 0:
            oline["name"] = pick.one(["前刹车片", "", "plug"])
        if pick.integer(0, 3) == 0:
            oline["core_charge"] = pick.one(["0", "15.00", "2.5"])
        order_lines.append(oline)
    order["lines"] = order_lines

    returned = pick.subset(numbers_, 1, 4)
    lines = []
    for number in returned:
        rline: dict[str, Any] = {
            "line": number,
            "qty": pick.integer(1, 8),
            "reason": pick.one(vocab.codes("reason")),
            "condition": pick.one(VOCAB_CODES["condition"]),
        }
        if pick.flag():
            rline["packaging"] = pick.one(VOCAB_CODES["packaging"])
        lines.append(rline)
    customer: dict[str, Any] = {"id": pick.one(CUSTOMERS)}
    if pick.integer(0, 3) > 0:
        customer["tier"] = pick.one(VOCAB_CODES["tier"])
    return {
        "id": "RT-1",
        "requested_at": requested.isoformat() if pick.flag() else requested,
        "customer": customer,
        "order": order,
        "lines": lines,
    }


@functools.cache
@st.composite
def requests(draw: st.DrawFn, vocab: Vocab, currency: str) -> dict[str, Any]:
    """A valid request mapping (:func:`make_request`, drawn by hypothesis)."""
    return make_request(Drawn(draw), vocab, currency)


def _moment(pick: Pick, instant: dt.datetime, tz: dt.tzinfo) -> object:
    """*instant* as a request may give it: a date-time in some offset (text or
    ``datetime``), or its calendar date in *tz* (text or ``date``)."""
    style = pick.integer(0, 3)
    if style == 0:
        day = instant.astimezone(tz).date()
        return day.isoformat() if pick.flag() else day
    moment = instant.astimezone(pick.one(OFFSETS))
    return moment.isoformat() if style == 1 else moment


_FAULTS: Final = (diff_facts.RAISE, diff_facts.WRONG, diff_facts.NONE)


def _faults(name: str) -> tuple[str, ...]:
    if name == "diff.ratio" or name in diff_facts.NONSENSE_VALUES:
        return (*_FAULTS, diff_facts.NONSENSE)
    return _FAULTS


def _day(pick: Pick) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=pick.integer(0, (LAST_DAY - FIRST_DAY).days))


def _fact_value(pick: Pick, name: str) -> object:
    kind = FACTS[name].kind
    if kind == "int":
        if pick.flag():
            return pick.integer(-2, 12)
        return pick.integer(-(10**15), 10**15)
    if kind == "decimal":
        if pick.flag():
            return pick.integer(-2, 12)
        return pick.decimal(-1000, 1000, 3)
    if kind == "money":
        return pick.decimal(0, 2000, 3)
    if kind == "bool":
        return pick.flag()
    if kind == "date":
        return _day(pick)
    if kind == "datetime":
        return dt.datetime.combine(_day(pick), dt.time(), pick.one(OFFSETS)) + (
            dt.timedelta(minutes=pick.integer(0, 24 * 60 - 1))
        )
    if kind == "enum":
        return pick.one(VOCAB_CODES["tier"])
    if pick.flag():
        return pick.one(CODES)
    return pick.text(3)


def make_data(
    pick: Pick, line_numbers: Sequence[int], fault_percent: int
) -> dict[str, Any]:
    """The data mapping: the test plugin's per-line table for some of the lines.

    Each value is a fault marker with probability *fault_percent* %.
    """

    def faulty() -> bool:
        return pick.integer(0, 99) < fault_percent

    tables: dict[str, Any] = {}
    for number in line_numbers:
        if pick.integer(0, 4) == 0:
            continue
        table: dict[str, Any] = {}
        for name, (_, key) in diff_facts.FACTS.items():
            if not pick.flag():
                continue
            if faulty():
                table[key] = pick.one(_faults(name))
            else:
                table[key] = _fact_value(pick, name)
        if pick.flag():
            if faulty():
                table["gate"] = pick.one([diff_facts.RAISE, diff_facts.BAD])
            else:
                table["gate"] = pick.integer(-1, 5)
        if faulty():
            table["hold"] = diff_facts.RAISE
        tables[str(number)] = table
    if not tables and pick.flag():
        return {}
    return {"diff": tables}


@st.composite
def data_for(
    draw: st.DrawFn, line_numbers: Sequence[int], fault_percent: int
) -> dict[str, Any]:
    """The data mapping (:func:`make_data`, drawn by hypothesis)."""
    return make_data(Drawn(draw), line_numbers, fault_percent)


@st.composite
def cases(
    draw: st.DrawFn,
    fault_percent: int = 3,
    max_requests: int = 3,
    rule_count: tuple[int, int] = (1, 8),
    depth: int = MAX_DEPTH,
) -> Case:
    """A policy and 1..*max_requests* requests with their data."""
    doc, vocab, currency = draw(policies(rule_count, depth))
    text = tomli_w.dumps(doc)
    pairs = []
    for _ in range(draw(_integers(1, max_requests))):
        request = draw(requests(vocab, currency))
        numbers_ = [line["line"] for line in request["lines"]]
        pairs.append((request, draw(data_for(numbers_, fault_percent))))
    return Case(text, tomllib.loads(text), currency, tuple(pairs))
