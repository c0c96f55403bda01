"""Hypothesis strategies: random valid policies, requests and data.

``cases()`` draws a whole differential-testing case (see :class:`Case`): a
policy (as TOML text and as the mapping ``tomllib`` reads back from it) and one
to three requests, each with its data mapping for the test plugin
``tests/plugins/diff_facts.py`` and the standard plugins (``stock`` and
``supplier`` tables).  Everything drawn is *valid*: the policy loads without
errors and every request parses, so any disagreement between the engine and
``tests/reference.py`` is about evaluation, not about input checks.

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
  ``part.supplier``, the test plugin's and the standard plugins' facts);
* the test plugin's checks with and without parameters, and the standard
  checks with random valid parameters (``delivery_deadline`` with ``days``,
  ``per_tier`` and ``from``; ``late_delivery`` and ``stock_available`` with
  and without theirs; ``supplier_accepts``);
* ``decide``, ``for`` (including ``[]``), ``priority`` (ties, negatives, the
  64-bit extremes), ``message`` with placeholders (standard facts included),
  and ``then`` mixing the single actions ``diff_hold``/``diff_ship`` and
  ``refund`` (``percent``/``fee_percent`` 0..100 with the edges 0 and 100,
  ``fee_min``, ``deduct``, ``include_shipping``, ``method``), ``restock``,
  ``return_to_supplier``, ``exchange``, ``cancel_line``, ``scrap`` with
  repeated, identical and identical-once-rendered ``diff_tag`` and ``notify``
  (multiple) actions;
* policies that add codes to the ``reason`` and ``category`` vocabularies or
  relabel ``tier``, and currencies with 0, 2 and 3 minor digits.

``cases(std=True)`` makes the standard plugins' checks, facts and actions the
usual ones (policies of a return desk); otherwise they are mixed in with the
rest.

Requests have 1–4 return lines over 1–4 order lines (qty 1–6, sometimes up to
1000; return qty below, equal to and above the returnable qty), every order
status, optional ``shipped_qty``/``returned_qty``/``shipping_fee``/
``supplier``/``core_charge``/``warranty_days``/``obsolete``/
``return_shipping``/..., ``requested_at`` in various UTC offsets, and
``placed_at``/``shipped_at``/``promised_at``/``delivered_at`` as bare dates or
date-times in other offsets (or absent).  Prices, shipping fees and core
charges are a few fixed values or any realistic amount (up to 999999.999).
The data gives each line the test plugin's fact values, with faults (a
resolver that raises, a value of the wrong type, a check that raises or
returns a non-boolean, an action that raises) at a rate the test chooses; and
stock and supplier records for some SKUs and suppliers (on hand below and
above what is reserved, supplier windows, fee percents, excluded categories),
malformed at the same rate.

The requests and the data are written once, against :class:`Pick` (an
integer, one of, a flag...): :class:`Drawn` makes the choices with hypothesis
(``requests()``, ``data_for()``: shrinking, boundary values), :class:`Sampled`
with a seeded ``random.Random`` (``make_request``, ``make_data``), a hundred
times cheaper, for tests that need many thousands of requests
(``tests/test_analysis.py``).
"""

from __future__ import annotations

import datetime as dt
import random
import tomllib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Protocol, TypeVar

import attrs
import tomli_w
from hypothesis import strategies as st

from tests import reference
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
    "refund_cases",
    "requests",
]

MAX_DEPTH: Final = 4

T = TypeVar("T")
_PICKS: dict[tuple[tuple[type, str], ...], st.SearchStrategy[Any]] = {}


def pick(values: Sequence[T]) -> st.SearchStrategy[T]:
    """``st.sampled_from(values)``, built once per sequence of values.

    Building and validating a strategy costs more than drawing from it, and a
    case draws from hundreds (the key tells ``0`` from ``0.0`` and ``"0"``).
    """
    key = tuple((type(value), repr(value)) for value in values)
    strategy = _PICKS.get(key)
    if strategy is None:
        strategy = _PICKS[key] = st.sampled_from(values)
    return strategy


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
    "{stock.available} of {stock.on_hand} left",
    "{line.amount}: {supplier.accepts_returns}, {supplier.days_left} days left",
    "late {delivery.days_late}",
)

# -- the standard plugins --------------------------------------------------------------

STD_FACTS: Final = tuple(
    name for name in FACTS if name.split(".", 1)[0] in reference.STD_PLUGINS
)
STD_CHECKS: Final = tuple(sorted(reference.STD_CHECKS))
STD_SINGLE: Final = (
    "refund",
    "restock",
    "return_to_supplier",
    "exchange",
    "cancel_line",
    "scrap",
)
RECIPIENTS: Final = (
    "customer",
    "warehouse",
    "purchasing",
    "finance",
    "customer_service",
    "production",
    "logistics",
    "supplier",
)
NOTIFY_MESSAGES: Final = (
    "{part.sku} × {line.qty}",
    "收货 {part.sku}",
    "{stock.on_hand}/{stock.available}",
    "{line.amount} refunded",
    "{part.supplier}: {supplier.days_left} days, accepts {supplier.accepts_returns}",
    "late {delivery.days_late} {{days}}",
    "",
)
PERCENTS: Final = (0, 100, 100, 0.5, 12.5, 15, "33.3", "99.99", "100.0", "50")
MONEY_LITERALS: Final = (0, "0", 5, 10, "2.5", "6.50", "10.005", 0.5, "0.001")
DELIVERY_STARTS: Final = ("delivery", "shipment", "order")
METHODS: Final = ("original", "store_credit", "account_credit")

# Data records that the standard plugins must refuse (data is not checked
# before an evaluation): their facts and checks fail for the line.
BAD_STOCK: Final[tuple[object, ...]] = (
    {"on_hand": -1},
    {"on_hand": "3"},
    {"on_hand": 2, "reserved": -1},
    {"reserved": 1},
    {"on_hand": 1, "onhand": 2},
    "12",
)
BAD_SUPPLIER: Final[tuple[object, ...]] = (
    {"window_days": -1},
    {"restocking_fee_percent": 150},
    {"accepts_returns": "yes"},
    {"window": 30},
    [],
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
_FACT_NAMES: Final = tuple(sorted(FACTS))


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

    def several(self, options: Sequence[T], high: int) -> list[T]:
        """Up to *high* items of *options*, repeats allowed."""
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
        return self.draw(st.integers(low, high))

    def one(self, options: Sequence[T]) -> T:
        return self.draw(pick(options))

    def flag(self) -> bool:
        return self.draw(st.booleans())

    def distinct(self, low: int, high: int, count: int) -> list[int]:
        return self.draw(
            st.lists(st.integers(low, high), min_size=count, max_size=count,
                     unique=True)
        )  # fmt: skip

    def subset(self, options: Sequence[T], low: int, high: int) -> list[T]:
        return self.draw(
            st.lists(pick(options), min_size=low, max_size=high, unique=True)
        )

    def several(self, options: Sequence[T], high: int) -> list[T]:
        return self.draw(st.lists(pick(options), max_size=high))

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

    def several(self, options: Sequence[T], high: int) -> list[T]:
        return [self.one(options) for _ in range(self.integer(0, high))]

    def decimal(self, low: int, high: int, places: int) -> Decimal:
        scale = 10**places
        return Decimal(self.rng.randint(low * scale, high * scale)).scaleb(-places)

    def text(self, max_size: int) -> str:
        size = self.rng.randint(0, max_size)
        return "".join(self.rng.choice(_LETTERS) for _ in range(size))


# -- literals --------------------------------------------------------------------------


def _decimal_text(draw: st.DrawFn, high: int = 2000) -> str:
    places = draw(st.integers(0, 3))
    number = Decimal(draw(st.integers(-10, high * 10**places))).scaleb(-places)
    text = str(number)
    if draw(st.integers(0, 9)) == 0:
        # a plus sign, or a bare point ("5." and ".5"): still plain decimals
        forms = [f"+{text}" if number >= 0 else text]
        if "." not in text:
            forms.append(f"{text}.")
        elif text.startswith("0."):
            forms.append(text[1:])
        text = draw(pick(forms))
    return text


@st.composite
def numbers(draw: st.DrawFn, integral: bool) -> object:
    """A number literal: an integer, or (unless *integral*) a float or a string."""
    choice = draw(st.integers(0, 9 if not integral else 3))
    if choice <= 2:
        return draw(st.integers(-2, 12))
    if choice == 3:
        # the extremes: an int literal may be ±10^12, a decimal one is below
        limit = 10**12 if integral else 10**12 - 1
        return draw(st.integers(-limit, limit))
    if choice <= 5:
        return draw(pick([0.5, 1.25, 2.0, 0.001, 35.5, -1.5, 180.0]))
    if choice == 6:
        # no digit below 10^-24 (MAX_PLACES): 1e-30 is refused, not compared
        return draw(_FLOATS)
    if choice == 7:
        return draw(pick(PRICES))
    return _decimal_text(draw)


FIRST_DAY: Final = dt.date(2026, 10, 1)
LAST_DAY: Final = dt.date(2026, 12, 31)
_DATES: Final = st.dates(FIRST_DAY, LAST_DAY)
_DATETIMES: Final = st.builds(
    lambda day, minutes, tz: (
        dt.datetime.combine(day, dt.time(), tz) + dt.timedelta(minutes=minutes)
    ),
    _DATES,
    st.integers(0, 24 * 60 - 1),
    pick(OFFSETS),
)
_FLOATS: Final = st.floats(
    -1e6, 1e6, allow_nan=False, allow_infinity=False, width=64
).filter(lambda f: int(Decimal(repr(f)).as_tuple().exponent) >= -24)
_SHORT_TEXT: Final = st.text(max_size=3)
_STR_LITERALS: Final[Mapping[str, st.SearchStrategy[str]]] = {
    name: pick(pool) | _SHORT_TEXT
    for name, pool in {
        "customer.id": CUSTOMERS,
        "part.sku": SKUS,
        "part.brand": BRANDS,
        "part.supplier": SUPPLIERS,
        "diff.code": CODES,
    }.items()
}
_WINDOW_DAYS: Final = st.integers(0, 20) | pick((0, 7, 10**6))
_STOCK_QTY: Final = st.integers(1, 6) | pick((1, 10**6))
_PROMISE: Final = (0, 20 * 24 * 60)  # minutes after placed_at
_LATENESS: Final = (-2 * 24 * 60, 6 * 24 * 60)  # minutes before delivered_at
_PRIORITIES: Final = pick((0, 1, 2, -1)) | pick((2**63 - 1, -(2**63), 10**12))


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
        return draw(st.booleans())
    if kind == "date":
        day = draw(_DATES)
        return day.isoformat() if draw(st.booleans()) else day
    if kind == "datetime":
        moment = draw(_DATETIMES)
        return moment.isoformat() if draw(st.booleans()) else moment
    if kind == "enum":
        assert spec.vocab is not None
        return draw(pick(vocab.codes(spec.vocab)))
    return draw(_STR_LITERALS[name])


def _operators(spec: FactSpec) -> tuple[str, ...]:
    if spec.kind == "bool":
        return ("eq", "ne")
    if spec.ordered:
        return ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in")
    return ("eq", "ne", "in", "not_in")


# -- conditions ------------------------------------------------------------------------


@st.composite
def std_checks(draw: st.DrawFn, vocab: Vocab) -> dict[str, Any]:
    """A check of the standard plugins, with random valid parameters."""
    name = draw(pick(STD_CHECKS))
    node: dict[str, Any] = {"check": name}
    if name == "delivery_deadline":
        node["days"] = draw(_WINDOW_DAYS)
        if draw(st.booleans()):
            tiers = draw(st.lists(pick(vocab.codes("tier")), unique=True))
            node["per_tier"] = {tier: draw(st.integers(-1, 60)) for tier in tiers}
        if draw(st.booleans()):
            node["from"] = draw(pick(DELIVERY_STARTS))
    elif name == "late_delivery":
        if draw(st.booleans()):
            node["days"] = draw(st.integers(0, 3))
    elif name == "stock_available" and draw(st.booleans()):
        node["qty"] = draw(_STOCK_QTY)
    return node


@st.composite
def leaves(draw: st.DrawFn, vocab: Vocab, std: bool = False) -> dict[str, Any]:
    """One condition leaf: a comparison, a fact-to-fact comparison, present, a check.

    With *std*, checks are more frequent and mostly the standard plugins', and
    half of the facts are theirs.
    """
    kind = draw(st.integers(0, 9))
    if kind == 0 or (std and kind <= 3):
        choice = draw(st.integers(0, 5 if std else 2))
        if choice >= 2:
            return draw(std_checks(vocab))
        if choice == 0:
            node: dict[str, Any] = {"check": "diff_gate"}
            if draw(st.booleans()):
                node["min"] = draw(st.integers(-1, 5))
            return node
        return {"check": "diff_qty_over", "qty": draw(st.integers(-1, 8))}
    if std and draw(st.booleans()):
        name = draw(pick(STD_FACTS))
    else:
        name = draw(pick(_FACT_NAMES))
    spec = FACTS[name]
    if kind == 1:
        return {"fact": name, "present": draw(st.booleans())}
    if kind <= 3:
        (group,) = [g for g in _GROUPS if name in g]
        other = draw(pick(group))
        ops = ("eq", "ne", *_ORDERING) if spec.ordered else ("eq", "ne")
        return {"fact": name, draw(pick(ops)): {"fact": other}}
    op = draw(pick(_operators(spec)))
    if op in ("in", "not_in"):
        return {"fact": name, op: draw(st.lists(literals(name, vocab), max_size=4))}
    return {"fact": name, op: draw(literals(name, vocab))}


@st.composite
def conditions(
    draw: st.DrawFn, vocab: Vocab, depth: int = MAX_DEPTH, std: bool = False
) -> Any:
    """A ``when`` tree, nested at most *depth* combinators deep."""
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(leaves(vocab, std))
    combinator = draw(pick(["all", "any", "not"]))
    if combinator == "not":
        return {"not": draw(conditions(vocab, depth - 1, std))}
    items = draw(st.lists(conditions(vocab, depth - 1, std), max_size=3))
    return {combinator: items}


# -- rules and policies ----------------------------------------------------------------


def _money_literal(draw: st.DrawFn) -> object:
    """A money parameter ≥ 0, as a TOML author may write it."""
    if draw(st.booleans()):
        return draw(pick(MONEY_LITERALS))
    places = draw(st.integers(0, 3))
    number = Decimal(draw(st.integers(0, 50 * 10**places))).scaleb(-places)
    style = draw(st.integers(0, 2))
    if style == 0:
        return float(number)
    if style == 1 and number == int(number):
        return int(number)
    return str(number)


def _percent(draw: st.DrawFn) -> object:
    """A percent parameter in 0..100 (the edges often)."""
    if draw(st.booleans()):
        return draw(pick(PERCENTS))
    return draw(st.integers(0, 100))


@st.composite
def std_actions(draw: st.DrawFn, often: bool) -> list[dict[str, Any]]:
    """Standard actions for a ``then``: each single one at most once, notify
    any number of times (identical ones included)."""
    then: list[dict[str, Any]] = []
    if not often and draw(st.integers(0, 2)) > 0:
        return then
    names = draw(st.lists(pick(STD_SINGLE), unique=True, max_size=4))
    for name in names:
        action: dict[str, Any] = {"action": name}
        if name == "refund":
            for key, value in (
                ("percent", _percent),
                ("fee_percent", _percent),
                ("fee_min", _money_literal),
                ("deduct", _money_literal),
                ("include_shipping", lambda draw: draw(st.booleans())),
                ("method", lambda draw: draw(pick(METHODS))),
            ):
                if draw(st.booleans()):
                    action[key] = value(draw)
        elif name == "restock":
            if draw(st.booleans()):
                action["location"] = draw(pick(["main", "b2", "qc"]))
            if draw(st.booleans()):
                action["inspect"] = draw(st.booleans())
        then.append(action)
    for _ in range(draw(st.integers(0, 3 if often else 2))):
        notice: dict[str, Any] = {
            "action": "notify",
            "to": draw(pick(RECIPIENTS[:3] if often else RECIPIENTS)),
        }
        if draw(st.integers(0, 3)) > 0:
            notice["message"] = draw(pick(NOTIFY_MESSAGES))
        then.append(notice)
    return then


@st.composite
def actions(draw: st.DrawFn, std: bool = False) -> list[dict[str, Any]]:
    """A ``then`` list: each single action at most once, diff_tag and notify any
    number.  With *std*, the standard actions only, and more of them."""
    then: list[dict[str, Any]] = draw(std_actions(often=std))
    if std:
        return draw(st.permutations(then))
    if draw(st.booleans()):
        hold: dict[str, Any] = {"action": "diff_hold"}
        if draw(st.booleans()):
            hold["bin"] = draw(pick(["main", "b2", "qc"]))
        then.append(hold)
    if draw(st.booleans()):
        ship: dict[str, Any] = {"action": "diff_ship"}
        if draw(st.booleans()):
            ship["speed"] = draw(pick(["slow", "fast"]))
        then.append(ship)
    for _ in range(draw(st.integers(0, 3))):
        tag: dict[str, Any] = {
            "action": "diff_tag",
            "label": draw(pick(["a", "A", "b"])),
        }
        if draw(st.booleans()):
            tag["upper"] = draw(st.booleans())
        then.append(tag)
    return draw(st.permutations(then))


@st.composite
def rules(
    draw: st.DrawFn,
    vocab: Vocab,
    rule_id: str,
    depth: int = MAX_DEPTH,
    std: bool = False,
) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": rule_id}
    if draw(st.booleans()):
        rule["title"] = draw(pick(["退货", "a rule", ""]))
    if draw(st.integers(0, 5)) > 0:
        rule["when"] = draw(conditions(vocab, depth, std))
    decide = draw(pick([None, None, "approve", "approve", "review", "reject"]))
    if decide is not None:
        rule["decide"] = decide
    if draw(st.integers(0, 3)) == 0:
        rule["message"] = draw(pick(MESSAGES))
    then = draw(actions(std))
    if then:
        rule["then"] = then
    if draw(st.integers(0, 2)) == 0:
        rule["for"] = draw(st.lists(pick(DECISIONS), unique=True, max_size=3))
    if draw(st.booleans()):
        rule["priority"] = draw(_PRIORITIES)
    return rule


@st.composite
def policies(
    draw: st.DrawFn,
    rule_count: tuple[int, int] = (1, 8),
    depth: int = MAX_DEPTH,
    std: bool = False,
) -> tuple[dict[str, Any], Vocab, str]:
    """A policy document (TOML-able mapping), its vocabulary and its currency.

    *rule_count* bounds the number of rules, *depth* the nesting of conditions;
    *std* makes the standard plugins' checks, facts and actions the usual ones.
    """
    vocab = Vocab(
        extra=frozenset(draw(st.sets(pick(sorted(EXTRA_CODES))))),
        relabel_tier=draw(st.booleans()),
    )
    currency = draw(pick(CURRENCIES))
    section: dict[str, Any] = {"currency": currency}
    if draw(st.integers(0, 5)) > 0:
        section["default"] = draw(pick(DECISIONS))
    doc: dict[str, Any] = {"version": 1, "policy": section}
    if vocab.extra or vocab.relabel_tier:
        doc["vocab"] = vocab.table()
    count = draw(st.integers(*rule_count))
    doc["rule"] = [draw(rules(vocab, f"r{i}", depth, std)) for i in range(count)]
    return doc, vocab, currency


# -- requests and data -----------------------------------------------------------------


def _realistic(choose: Pick, whole_digits: int) -> str:
    """A non-negative amount of up to *whole_digits* digits before the point and
    0-3 after it."""
    places = choose.integer(0, 3)
    number = Decimal(choose.integer(0, 10 ** (whole_digits + places) - 1))
    return str(number.scaleb(-places))


def _price(choose: Pick) -> object:
    """A unit price as JSON or TOML may give it: usually a string, else a number.

    Mostly the few prices of :data:`PRICES`; sometimes any realistic one (up to
    999999.999: refunds are exact only within realistic magnitudes).
    """
    realistic = choose.integer(0, 3) == 0
    text = _realistic(choose, 6) if realistic else choose.one(PRICES)
    style = choose.integer(0, 5)
    if style == 0:
        return float(text)
    if style == 1 and Decimal(text) == int(Decimal(text)):
        return int(Decimal(text))
    if style == 2:
        return f"+{text}"
    return text


def make_request(
    choose: Pick, vocab: Vocab, currency: str, std: bool = False
) -> dict[str, Any]:
    """A valid request mapping (as JSON or TOML would give it).

    With *std*, more orders are delivered and more parts have a supplier.
    """
    tz = choose.one(OFFSETS)
    requested = BASE.astimezone(tz) + dt.timedelta(
        minutes=choose.integer(-3 * 24 * 60, 3 * 24 * 60)
    )
    status = "delivered" if std and choose.flag() else choose.one(VOCAB_CODES["status"])
    shipped = status in ("shipped", "delivered")
    # placed <= shipped <= delivered <= requested: each as an instant in some
    # offset, or as its calendar date in requested_at's offset (a bare date)
    span = choose.integer(0, 40 * 24 * 60)
    placed = requested - dt.timedelta(minutes=span)
    # the time since delivery is drawn itself, so that it spreads over the span
    # (delivery windows end inside it as often as not)
    deliver_after = span - choose.integer(0, span)
    ship_after = choose.integer(0, deliver_after)
    order: dict[str, Any] = {"id": "SO-1", "status": status}
    order["placed_at"] = _moment(choose, placed, tz)
    if shipped and choose.flag():
        shipped_at = placed + dt.timedelta(minutes=ship_after)
        order["shipped_at"] = _moment(choose, shipped_at, tz)
    delivered: dt.datetime | None = None
    if status == "delivered" and choose.integer(0, 4) > 0:
        delivered = placed + dt.timedelta(minutes=deliver_after)
        order["delivered_at"] = _moment(choose, delivered, tz)
    if choose.integer(0, 1 if std else 2) == 0:
        if delivered is not None and choose.integer(0, 3) > 0:  # around it
            lateness = choose.integer(*_LATENESS)
            promised = delivered - dt.timedelta(minutes=lateness)
        else:
            promised = placed + dt.timedelta(minutes=choose.integer(*_PROMISE))
        order["promised_at"] = _moment(choose, promised, tz)
    if choose.flag():
        order["channel"] = choose.one(VOCAB_CODES["channel"])
    if choose.flag():
        if choose.integer(0, 2) == 0:
            order["shipping_fee"] = _realistic(choose, 4)
        else:
            order["shipping_fee"] = choose.one(["20.00", "0", "7.5", "3", 15, 0.2])
    if choose.flag():
        order["currency"] = currency

    count = choose.integer(1, 4)
    numbers_ = choose.distinct(1, 99, count)
    order_lines = []
    for number in numbers_:
        large = choose.integer(0, 4) == 0
        qty = choose.integer(1, 1000) if large else choose.integer(1, 6)
        oline: dict[str, Any] = {
            "line": number,
            "sku": choose.one(SKUS),
            "category": choose.one(vocab.codes("category")),
            "qty": qty,
            "unit_price": _price(choose),
        }
        shipped_qty = qty if shipped else 0
        if choose.flag():
            shipped_qty = oline["shipped_qty"] = choose.integer(0, qty)
        if choose.flag():
            top = shipped_qty if shipped else 3
            oline["returned_qty"] = choose.integer(0, top)
        for key in ("special_order", "no_return", "kit"):
            if choose.integer(0, 2) == 0:
                oline[key] = choose.flag()
        if choose.integer(0, 3 if std else 1) > 0:
            oline["supplier"] = choose.one(SUPPLIERS)
        if choose.flag():
            oline["brand"] = choose.one(BRANDS)
        if choose.integer(0, 3) == 0:
            oline["name"] = choose.one(["前刹车片", "", "plug"])
        if choose.integer(0, 3) == 0:
            oline["core_charge"] = (
                _realistic(choose, 3)
                if choose.flag()
                else choose.one(["0", "15.00", "2.5", 40])
            )
        if choose.integer(0, 3) == 0:
            oline["warranty_days"] = choose.one([0, 7, 30, 90, 365])
        if choose.integer(0, 3) == 0:
            oline["obsolete"] = choose.flag()
        order_lines.append(oline)
    order["lines"] = order_lines

    returned = choose.subset(numbers_, 1, 4)
    ordered = {oline["line"]: oline["qty"] for oline in order_lines}
    lines = []
    for number in returned:
        top = 8 if choose.flag() else ordered[number] + 2
        rline: dict[str, Any] = {
            "line": number,
            "qty": choose.integer(1, top),
            "reason": choose.one(vocab.codes("reason")),
            "condition": choose.one(VOCAB_CODES["condition"]),
        }
        if choose.flag():
            rline["packaging"] = choose.one(VOCAB_CODES["packaging"])
        lines.append(rline)
    customer: dict[str, Any] = {"id": choose.one(CUSTOMERS)}
    if choose.integer(0, 3) > 0:
        customer["tier"] = choose.one(VOCAB_CODES["tier"])
    request: dict[str, Any] = {
        "id": "RT-1",
        "requested_at": requested.isoformat() if choose.flag() else requested,
        "customer": customer,
        "order": order,
        "lines": lines,
    }
    if choose.integer(0, 3) == 0:
        request["return_shipping"] = choose.one(["15.00", "0", 12, "7.5"])
    return request


@st.composite
def requests(
    draw: st.DrawFn, vocab: Vocab, currency: str, std: bool = False
) -> dict[str, Any]:
    """A valid request mapping (:func:`make_request`, drawn by hypothesis)."""
    return make_request(Drawn(draw), vocab, currency, std)


def _moment(choose: Pick, instant: dt.datetime, tz: dt.tzinfo) -> object:
    """*instant* as a request may give it: a date-time in some offset (text or
    ``datetime``), or its calendar date in *tz* (text or ``date``)."""
    style = choose.integer(0, 3)
    if style == 0:
        day = instant.astimezone(tz).date()
        return day.isoformat() if choose.flag() else day
    moment = instant.astimezone(choose.one(OFFSETS))
    return moment.isoformat() if style == 1 else moment


_FAULTS: Final = (diff_facts.RAISE, diff_facts.WRONG, diff_facts.NONE)


def _faults(name: str) -> tuple[str, ...]:
    if name == "diff.ratio" or name in diff_facts.NONSENSE_VALUES:
        return (*_FAULTS, diff_facts.NONSENSE)
    return _FAULTS


def _day(choose: Pick) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=choose.integer(0, (LAST_DAY - FIRST_DAY).days))


def _fact_value(choose: Pick, name: str) -> object:
    kind = FACTS[name].kind
    if kind == "int":
        if choose.flag():
            return choose.integer(-2, 12)
        return choose.integer(-(10**15), 10**15)
    if kind == "decimal":
        if choose.flag():
            return choose.integer(-2, 12)
        return choose.decimal(-1000, 1000, 3)
    if kind == "money":
        return choose.decimal(0, 2000, 3)
    if kind == "bool":
        return choose.flag()
    if kind == "date":
        return _day(choose)
    if kind == "datetime":
        return dt.datetime.combine(_day(choose), dt.time(), choose.one(OFFSETS)) + (
            dt.timedelta(minutes=choose.integer(0, 24 * 60 - 1))
        )
    if kind == "enum":
        return choose.one(VOCAB_CODES["tier"])
    return choose.one(CODES) if choose.flag() else choose.text(3)


def make_data(
    choose: Pick, line_numbers: Sequence[int], vocab: Vocab, fault_percent: int
) -> dict[str, Any]:
    """The data mapping: the test plugin's per-line table for some of the lines,
    and the standard plugins' ``stock`` and ``supplier`` tables.

    Each value of the test plugin's tables is a fault marker, and each stock or
    supplier record malformed, with probability *fault_percent* %.
    """

    def faulty() -> bool:
        return choose.integer(0, 99) < fault_percent

    data: dict[str, Any] = {}
    if choose.integer(0, 5) > 0:
        data["stock"] = {
            sku: choose.one(BAD_STOCK) if faulty() else _stock_record(choose)
            for sku in choose.subset(SKUS, 1, len(SKUS))
        }
    if choose.integer(0, 5) > 0:
        data["supplier"] = {
            supplier: (
                choose.one(BAD_SUPPLIER) if faulty()
                else _supplier_record(choose, vocab)
            )
            for supplier in choose.subset(SUPPLIERS, 1, len(SUPPLIERS))
        }  # fmt: skip

    tables: dict[str, Any] = {}
    for number in line_numbers:
        if choose.integer(0, 4) == 0:
            continue
        table: dict[str, Any] = {}
        for name, (_, key) in diff_facts.FACTS.items():
            if not choose.flag():
                continue
            if faulty():
                table[key] = choose.one(_faults(name))
            else:
                table[key] = _fact_value(choose, name)
        if choose.flag():
            if faulty():
                table["gate"] = choose.one([diff_facts.RAISE, diff_facts.BAD])
            else:
                table["gate"] = choose.integer(-1, 5)
        if faulty():
            table["hold"] = diff_facts.RAISE
        tables[str(number)] = table
    if not tables and choose.flag():
        return data
    data["diff"] = tables
    return data


@st.composite
def data_for(
    draw: st.DrawFn, line_numbers: Sequence[int], vocab: Vocab, fault_percent: int
) -> dict[str, Any]:
    """The data mapping (:func:`make_data`, drawn by hypothesis)."""
    return make_data(Drawn(draw), line_numbers, vocab, fault_percent)


def _stock_record(choose: Pick) -> dict[str, Any]:
    """A valid ``[stock.SKU]``: reserved may be left out, or exceed on_hand."""
    record = {"on_hand": choose.integer(0, 30)}
    if choose.flag():
        record["reserved"] = choose.integer(0, 10 if choose.flag() else 40)
    return record


def _supplier_record(choose: Pick, vocab: Vocab) -> dict[str, Any]:
    """A valid ``[supplier.ID]``, every term optional."""
    record: dict[str, Any] = {}
    if choose.flag():
        record["accepts_returns"] = choose.integer(0, 3) > 0
    if choose.integer(0, 3) > 0:
        record["window_days"] = choose.integer(0, 45)
    if choose.flag():
        record["restocking_fee_percent"] = (
            choose.integer(0, 100) if choose.flag()
            else choose.one(("12.5", 12.5, "0", 100, "33.333"))
        )  # fmt: skip
    if choose.flag():
        record["non_returnable_categories"] = choose.several(vocab.codes("category"), 4)
    return record


@st.composite
def cases(
    draw: st.DrawFn,
    fault_percent: int = 3,
    max_requests: int = 3,
    rule_count: tuple[int, int] = (1, 8),
    depth: int = MAX_DEPTH,
    std: bool = False,
) -> Case:
    """A policy and 1..*max_requests* requests with their data."""
    doc, vocab, currency = draw(policies(rule_count, depth, std))
    text = tomli_w.dumps(doc)
    pairs = []
    for _ in range(draw(st.integers(1, max_requests))):
        request = draw(requests(vocab, currency, std))
        numbers_ = [line["line"] for line in request["lines"]]
        pairs.append((request, draw(data_for(numbers_, vocab, fault_percent))))
    return Case(text, tomllib.loads(text), currency, tuple(pairs))


@st.composite
def refund_cases(draw: st.DrawFn) -> Case:
    """One refund, with every parameter, at the edges of realistic magnitudes.

    Prices up to 999999.999 over 1–4 order lines of up to 1000 units, shipping
    fees up to 99999.999, percents with up to four decimals, ``fee_min`` and
    ``deduct`` up to 9999.999, in currencies with 0, 2 and 3 minor digits:
    amounts far beyond a real order, still far within the 24 significant digits
    a request may carry (and the 34 of the money context).
    """
    currency = draw(pick(("CNY", "JPY", "KWD")))
    refund: dict[str, Any] = {"action": "refund"}
    for key in ("percent", "fee_percent"):
        if draw(st.integers(0, 3)) > 0:
            places = draw(st.integers(0, 4))
            top = 100 * 10**places
            refund[key] = str(Decimal(draw(st.integers(0, top))).scaleb(-places))
    for key in ("fee_min", "deduct"):
        if draw(st.booleans()):
            refund[key] = _realistic(Drawn(draw), 4)
    refund["include_shipping"] = draw(st.integers(0, 3)) > 0
    refund["method"] = draw(pick(METHODS))
    doc = {
        "version": 1,
        "policy": {"currency": currency, "default": "approve"},
        "rule": [{"id": "refund", "then": [refund]}],
    }
    count = draw(st.integers(1, 4))
    order: dict[str, Any] = {
        "id": "SO-1",
        "status": "delivered",
        "placed_at": "2026-11-01",
        "lines": [
            {
                "line": number,
                "sku": "x",
                "category": "brake",
                "qty": draw(st.integers(1, 1000)),
                "unit_price": _realistic(Drawn(draw), 6),
            }
            for number in range(1, count + 1)
        ],
    }
    if draw(st.integers(0, 3)) > 0:
        order["shipping_fee"] = _realistic(Drawn(draw), 5)
    request = {
        "id": "RT-1",
        "requested_at": "2026-11-20T10:00:00+08:00",
        "customer": {"id": "C-1"},
        "order": order,
        "lines": [
            {
                "line": number,
                "qty": draw(st.integers(1, 1000)),
                "reason": "defective",
                "condition": "opened",
            }
            for number in range(1, count + 1)
        ],
    }
    text = tomli_w.dumps(doc)
    return Case(text, tomllib.loads(text), currency, ((request, {}),))
