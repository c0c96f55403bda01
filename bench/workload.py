"""A seeded, realistic workload of one-line return requests, and their data.

``generate(n, seed)`` returns *n* request mappings exactly as a host system or
a ``.json`` request file gives them (ISO date-times with ``+08:00`` offsets,
money as strings); ``iter_requests(n, seed)`` yields the same mappings lazily,
for streaming.  ``make_data()`` is the data mapping of the standard plugins
(``{"stock": {SKU: ...}, "supplier": {ID: ...}}``) for the parts the requests
refer to.  The same seed always gives the same requests.

The distributions aim at what a busy auto-parts return desk sees:

* ~75 % of requests inside the return window (30 days from delivery, 60 for
  vip customers), a few percent not yet delivered (inside by definition);
* ~8 % over-returns (more than shipped − already returned), ~8 % special
  orders, ~4.5 % lines worth more than 5,000 CNY (1.5 % forced, the rest
  expensive parts bought in quantity);
* reasons, conditions (correlated with the reason) and packaging as a desk
  records them; categories with their own price ranges; retail, workshop,
  fleet and vip customers ordering different quantities;
* parts from suppliers that accept returns or not, with windows and excluded
  categories, a few parts with no supplier or one with no terms on record;
  stock records for most parts, some with nothing available.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import attrs

from returnrules import Request, calendar_days, returnable_qty

__all__ = [
    "CATALOGUE_SEED",
    "DEFAULT_N",
    "DEFAULT_SEED",
    "Part",
    "catalogue",
    "generate",
    "iter_requests",
    "make_data",
    "summarize",
]

DEFAULT_N: Final = 100_000
DEFAULT_SEED: Final = 20261120
CATALOGUE_SEED: Final = 88812
"""The catalogue (parts, suppliers, stock) is fixed; every seed's requests use it."""

CST: Final = dt.timezone(dt.timedelta(hours=8))
FIRST_DAY: Final = dt.date(2026, 1, 5)
OVER_RETURN_SHARE: Final = 0.08
SPECIAL_ORDER_SHARE: Final = 0.08
HIGH_VALUE_SHARE: Final = 0.015
INSIDE_WINDOW_SHARE: Final = 0.74  # of delivered orders; not-yet-delivered add ~1 %
NOT_DELIVERED_SHARE: Final = 0.04


def _table(text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """``"a=3 b=1"`` → (("a", "b"), (3, 1)): choices and their weights."""
    pairs = [item.split("=") for item in text.split()]
    return tuple(p[0] for p in pairs), tuple(int(p[1]) for p in pairs)


TIERS: Final = _table("retail=50 workshop=30 fleet=12 vip=8")
CHANNELS: Final = _table("store=45 online=40 phone=15")
REASONS: Final = _table(
    "wrong_part=16 ordered_wrong=14 defective=22 damaged_in_transit=7 "
    "late_delivery=6 changed_mind=26 duplicate_order=9"
)
CONDITIONS_BY_REASON: Final = {
    "damaged_in_transit": _table("damaged=70 unopened=15 opened=15"),
    "defective": _table("opened=45 installed=35 unopened=15 damaged=5"),
    "wrong_part": _table("unopened=70 opened=25 installed=5"),
}
CONDITIONS_OTHERWISE: Final = _table("unopened=60 opened=25 installed=8 damaged=7")
PACKAGING: Final = _table("original=80 damaged=12 missing=8")
QTY_BY_TIER: Final = {
    "retail": _table("1=50 2=25 4=20 6=3 8=2"),
    "workshop": _table("1=30 2=20 4=25 6=8 8=8 10=5 12=4"),
    "fleet": _table("1=25 2=20 4=25 6=10 8=10 10=5 20=5"),
    "vip": _table("1=30 2=25 4=25 6=10 8=5 10=5"),
}
ORDER_LINES: Final = _table("1=60 2=25 3=15")

# category: (weight, lowest and highest unit price in CNY, brands, part names)
CATEGORIES: Final[dict[str, tuple[int, float, float, tuple[str, ...], str]]] = {
    "brake": (
        16,
        60,
        700,
        ("Bosch", "TRW", "Brembo", "Ferodo"),
        "刹车片 刹车盘 制动钳",
    ),
    "filter": (14, 15, 220, ("Mann", "Mahle", "Bosch"), "机油滤清器 空气滤清器"),
    "electrical": (14, 25, 1500, ("Bosch", "Denso", "NGK", "Valeo"), "火花塞 发电机"),
    "battery": (6, 350, 1300, ("Varta", "Camel", "Bosch"), "蓄电池"),
    "engine": (9, 120, 2500, ("Bosch", "Denso", "Gates", "INA"), "正时皮带 水泵"),
    "consumable": (10, 5, 120, ("3M", "Mobil", "Shell"), "雨刮片 灯泡 保险丝"),
    "suspension": (10, 150, 1500, ("KYB", "Sachs", "Monroe"), "减震器 摆臂"),
    "body": (5, 100, 1800, ("Valeo", "Hella"), "大灯 后视镜 保险杠"),
    "fluid": (6, 30, 400, ("Mobil", "Shell", "Castrol"), "机油 刹车油 防冻液"),
    "tyre": (4, 300, 1200, ("Michelin", "Bridgestone"), "轮胎"),
    "accessory": (6, 20, 500, ("3M", "Hella"), "脚垫 车衣"),
}

# supplier id: its terms in the data mapping (None: the supplier has no record)
SUPPLIERS: Final[dict[str, dict[str, Any] | None]] = {
    "SUP-BOSCH": {
        "accepts_returns": True,
        "window_days": 90,
        "restocking_fee_percent": 10,
        "non_returnable_categories": ["electrical"],
    },
    "SUP-DENSO": {"accepts_returns": True, "window_days": 180},
    "SUP-NGK": {"accepts_returns": True, "window_days": 30},
    "SUP-VALEO": {
        "accepts_returns": True,
        "window_days": 60,
        "non_returnable_categories": ["electrical", "body"],
    },
    "SUP-TRW": {"accepts_returns": True, "window_days": 120},
    "SUP-BREMBO": {"accepts_returns": False},
    "SUP-FERODO": {"accepts_returns": True},
    "SUP-MANN": {"accepts_returns": True, "window_days": 60},
    "SUP-MAHLE": {
        "accepts_returns": True,
        "window_days": 90,
        "non_returnable_categories": ["filter"],
    },
    "SUP-VARTA": {"accepts_returns": True, "window_days": 45},
    "SUP-CAMEL": {"accepts_returns": False},
    "SUP-GATES": {"accepts_returns": True, "window_days": 365},
    "SUP-INA": {"accepts_returns": True, "window_days": 90},
    "SUP-3M": {"accepts_returns": True, "window_days": 30},
    "SUP-MOBIL": {"accepts_returns": False},
    "SUP-SHELL": {"accepts_returns": True, "window_days": 60},
    "SUP-CASTROL": {"accepts_returns": True, "window_days": 60},
    "SUP-KYB": {"accepts_returns": True, "window_days": 180},
    "SUP-SACHS": {"accepts_returns": True, "window_days": 90},
    "SUP-MONROE": {"accepts_returns": False},
    "SUP-HELLA": {
        "accepts_returns": True,
        "window_days": 90,
        "non_returnable_categories": ["accessory"],
    },
    "SUP-MICHELIN": {"accepts_returns": True, "window_days": 30},
    "SUP-BRIDGESTONE": {"accepts_returns": True, "window_days": 30},
    "SUP-LOCAL-TRADER": None,  # parts bought from a trader without agreed terms
}


@attrs.frozen
class Part:
    """One catalogue entry."""

    sku: str
    name: str
    brand: str
    category: str
    price_cents: int
    supplier: str | None
    kit: bool
    core_charge_cents: int


def _log_uniform_cents(rng: random.Random, low: float, high: float) -> int:
    value = math.exp(rng.uniform(math.log(low), math.log(high)))
    return max(1, round(value * 100))


def _build_catalogue(size: int = 3000) -> tuple[Part, ...]:
    rng = random.Random(CATALOGUE_SEED)
    names = list(CATEGORIES)
    weights = [CATEGORIES[c][0] for c in names]
    parts: list[Part] = []
    seen: set[str] = set()
    while len(parts) < size:
        category = rng.choices(names, weights)[0]
        _, low, high, brands, part_names = CATEGORIES[category]
        brand = rng.choice(brands)
        sku = f"{brand.upper()[:6]}-{rng.randrange(10**6, 10**7)}"
        if sku in seen:
            continue
        seen.add(sku)
        roll = rng.random()
        supplier: str | None = f"SUP-{brand.upper()}"
        if roll < 0.04:
            supplier = None  # bought at the counter of a wholesaler: no supplier
        elif roll < 0.08:
            supplier = "SUP-LOCAL-TRADER"
        core = 0
        if category in ("battery", "engine") and rng.random() < 0.5:
            core = rng.choice((5000, 10000, 20000))
        parts.append(
            Part(
                sku=sku,
                name=rng.choice(part_names.split()),
                brand=brand,
                category=category,
                price_cents=_log_uniform_cents(rng, low, high),
                supplier=supplier,
                kit=rng.random() < 0.03,
                core_charge_cents=core,
            )
        )
    return tuple(parts)


_CATALOGUE: tuple[Part, ...] | None = None


def catalogue() -> tuple[Part, ...]:
    """The fixed parts catalogue every workload draws from."""
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE = _build_catalogue()
    return _CATALOGUE


def make_data() -> dict[str, Any]:
    """The data mapping for the standard plugins: stock and supplier terms.

    ~82 % of the parts have a stock record; of those ~15 % have nothing on hand
    and many have part of it reserved.  Every supplier but one has terms.
    """
    rng = random.Random(CATALOGUE_SEED + 1)
    stock: dict[str, dict[str, int]] = {}
    for part in catalogue():
        if rng.random() < 0.18:
            continue
        on_hand = 0 if rng.random() < 0.15 else rng.randint(1, 40)
        reserved = rng.randint(0, on_hand) if rng.random() < 0.5 else 0
        stock[part.sku] = {"on_hand": on_hand, "reserved": reserved}
    suppliers = {
        name: dict(terms) for name, terms in SUPPLIERS.items() if terms is not None
    }
    return {"stock": stock, "supplier": suppliers}


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _at(day: dt.date, minute: int) -> dt.datetime:
    return dt.datetime(
        day.year, day.month, day.day, minute // 60, minute % 60, 0, 0, CST
    )


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _pick(rng: random.Random, table: tuple[tuple[str, ...], tuple[int, ...]]) -> str:
    return rng.choices(table[0], table[1])[0]


def _request(rng: random.Random, seed: int, index: int) -> dict[str, Any]:
    parts = catalogue()
    tier = _pick(rng, TIERS)
    window = 60 if tier == "vip" else 30

    day = FIRST_DAY + dt.timedelta(days=rng.randrange(365))
    request_minute = rng.randrange(9 * 60, 21 * 60)
    requested = _at(day, request_minute)

    delivered_at: dt.datetime | None = None
    promised_at: dt.datetime | None = None
    if rng.random() < NOT_DELIVERED_SHARE:
        status = "shipped"
        shipped_at = _at(day - dt.timedelta(days=rng.randint(1, 6)), 16 * 60)
        if rng.random() < 0.8:
            promised_at = _at(day + dt.timedelta(days=rng.randint(0, 3)), 18 * 60)
    else:
        status = "delivered"
        if rng.random() < INSIDE_WINDOW_SHARE:
            since = rng.randint(0, window)
        else:
            since = window + 1 + min(int(rng.expovariate(1 / 45)), 400)
        delivered_day = day - dt.timedelta(days=since)
        # same day: delivered before the request; otherwise any working hour
        last = request_minute if since == 0 else 20 * 60
        delivered_at = _at(delivered_day, rng.randrange(8 * 60, last))
        shipped_at = _at(delivered_day - dt.timedelta(days=rng.randint(1, 4)), 16 * 60)
        if rng.random() < 0.9:
            late = rng.randint(1, 10) if rng.random() < 0.2 else -rng.randint(0, 2)
            promised_at = _at(delivered_day - dt.timedelta(days=late), 18 * 60)
    placed_at = shipped_at - dt.timedelta(
        days=rng.randint(0, 3), minutes=rng.randrange(60, 600)
    )

    special = rng.random() < SPECIAL_ORDER_SHARE
    count = int(_pick(rng, ORDER_LINES))
    chosen = rng.sample(parts, count)
    returned_index = rng.randrange(count)
    order_lines: list[dict[str, Any]] = []
    return_line: dict[str, Any] = {}
    for number, part in enumerate(chosen, start=1):
        qty = int(_pick(rng, QTY_BY_TIER[tier]))
        oline: dict[str, Any] = {
            "line": number,
            "sku": part.sku,
            "name": part.name,
            "brand": part.brand,
            "category": part.category,
            "qty": qty,
            "unit_price": _money(part.price_cents),
        }
        if part.supplier is not None:
            oline["supplier"] = part.supplier
        if part.kit:
            oline["kit"] = True
        if part.core_charge_cents:
            oline["core_charge"] = _money(part.core_charge_cents)
        if number - 1 == returned_index:
            if special:
                oline["special_order"] = True
            return_line = _return_line(rng, oline, number)
        order_lines.append(oline)

    order: dict[str, Any] = {
        "id": f"SO-{seed % 1000:03d}{index:08d}",
        "status": status,
        "channel": _pick(rng, CHANNELS),
        "placed_at": _iso(placed_at),
        "shipped_at": _iso(shipped_at),
    }
    if promised_at is not None:
        order["promised_at"] = _iso(promised_at)
    if delivered_at is not None:
        order["delivered_at"] = _iso(delivered_at)
    if order["channel"] != "store" and rng.random() < 0.7:
        order["shipping_fee"] = rng.choice(("10.00", "15.00", "20.00", "35.50"))
    order["lines"] = order_lines
    prefix = {"retail": "C", "workshop": "W", "fleet": "F", "vip": "V"}[tier]
    return {
        "id": f"RT-{seed % 1000:03d}-{index:08d}",
        "requested_at": _iso(requested),
        "customer": {"id": f"{prefix}-{rng.randint(1000, 99999)}", "tier": tier},
        "order": order,
        "lines": [return_line],
    }


def _return_line(
    rng: random.Random, oline: dict[str, Any], number: int
) -> dict[str, Any]:
    """The line to return; may set the order line's shipped/returned qty and price."""
    qty: int = oline["qty"]
    shipped = qty
    if qty > 1 and rng.random() < 0.05:  # a partial shipment
        shipped = rng.randint(1, qty - 1)
        oline["shipped_qty"] = shipped
    elif rng.random() < 0.3:
        oline["shipped_qty"] = qty  # some systems always send it
    returned = 0
    if shipped > 1 and rng.random() < 0.12:
        returned = rng.randint(1, shipped - 1)
        oline["returned_qty"] = returned
    returnable = shipped - returned
    if rng.random() < OVER_RETURN_SHARE:
        wanted = returnable + rng.randint(1, 2)
    elif rng.random() < 0.55:
        wanted = returnable
    else:
        wanted = rng.randint(1, returnable)
    if rng.random() < HIGH_VALUE_SHARE:
        least = 500_000 // wanted + 1  # cents: the line is worth more than 5,000
        oline["unit_price"] = _money(rng.randint(least, least * 3))
    reason = _pick(rng, REASONS)
    condition = _pick(rng, CONDITIONS_BY_REASON.get(reason, CONDITIONS_OTHERWISE))
    packaging = "damaged" if condition == "damaged" else _pick(rng, PACKAGING)
    line: dict[str, Any] = {
        "line": number,
        "qty": wanted,
        "reason": reason,
        "condition": condition,
    }
    if packaging != "original" or rng.random() < 0.5:
        line["packaging"] = packaging
    return line


def iter_requests(
    n: int = DEFAULT_N, seed: int = DEFAULT_SEED
) -> Iterator[dict[str, Any]]:
    """Yield *n* request mappings, lazily; the same *seed* gives the same ones."""
    rng = random.Random(seed)
    for index in range(n):
        yield _request(rng, seed, index)


def generate(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """*n* request mappings (see :func:`iter_requests`)."""
    return list(iter_requests(n, seed))


def summarize(
    requests: Sequence[Request], data: Mapping[str, Any] | None = None
) -> dict[str, float]:
    """The shares the workload aims at, measured on parsed requests (0..1)."""
    total = len(requests)
    if not total:
        return {}
    counts: dict[str, int] = dict.fromkeys(
        (
            "inside_window",
            "over_return",
            "special_order",
            "amount_over_5000",
            "not_delivered",
            "no_supplier_terms",
            "stock_for_exchange",
        ),
        0,
    )
    suppliers = (data or {}).get("supplier", {})
    stock = (data or {}).get("stock", {})
    for request in requests:
        order = request.order
        rline, oline = request.pairs[0]
        window = 60 if request.customer.tier == "vip" else 30
        if order.delivered_at is None:
            counts["not_delivered"] += 1
            counts["inside_window"] += 1
        elif calendar_days(order.delivered_at, request.requested_at) <= window:
            counts["inside_window"] += 1
        counts["over_return"] += rline.qty > returnable_qty(order, oline)
        counts["special_order"] += oline.special_order
        counts["amount_over_5000"] += oline.unit_price.amount * rline.qty > 5000
        counts["no_supplier_terms"] += oline.supplier not in suppliers
        record = stock.get(oline.sku)
        counts["stock_for_exchange"] += record is not None and (
            record["on_hand"] - record.get("reserved", 0) >= rline.qty
        )
    return {name: count / total for name, count in counts.items()}
