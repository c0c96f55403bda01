"""Generate a large, realistic policy for measuring load + check + compile time.

``make_big_policy(1000)`` returns the TOML text of a policy with 1,000 varied
rules written against the same facts, checks and actions as bench/policy.toml:
part recalls by SKU, brand and category rules, customer-specific terms, return
windows per category and tier, amount thresholds, supplier and stock facts, late
deliveries, cancellations, packaging deductions, nested ``any``/``all``/``not``,
messages with placeholders, ``for`` lists and priorities.  The SKUs, brands,
customers and suppliers come from the workload's catalogue, so the rules also
match real requests.  The same seed gives the same text.

    python bench/bigpolicy.py 1000 > /tmp/big.toml
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.workload import CATEGORIES, SUPPLIERS, TIERS, catalogue

__all__ = ["DEFAULT_RULES", "big_policy_rules", "make_big_policy"]

DEFAULT_RULES: Final = 1000
_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")

Rule = dict[str, Any]

REASONS: Final = (
    "wrong_part",
    "ordered_wrong",
    "defective",
    "damaged_in_transit",
    "late_delivery",
    "changed_mind",
    "duplicate_order",
)
CONDITIONS: Final = ("unopened", "opened", "installed", "damaged", "incomplete")
RECIPIENTS: Final = (
    "customer",
    "warehouse",
    "purchasing",
    "finance",
    "customer_service",
    "logistics",
)


class _Maker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        parts = catalogue()
        self.skus = [p.sku for p in parts]
        self.categories = sorted(CATEGORIES)
        self.suppliers = sorted(SUPPLIERS)
        self.tiers = list(TIERS[0])

    def some(self, pool: list[str] | tuple[str, ...], most: int) -> list[str]:
        return sorted(self.rng.sample(list(pool), self.rng.randint(1, most)))

    def money(self, low: int, high: int) -> str:
        return f"{self.rng.randint(low, high)}.00"

    def notify(self, to: str | None = None) -> dict[str, Any]:
        message = self.rng.choice(
            (
                "{part.sku} × {line.qty}（{line.reason}）",
                "客户 {customer.id} 退货 {part.sku}，金额 {line.amount}",
                "{part.brand} {part.category} 退货：{line.condition}",
                "订单状态 {order.status}，签收后 {request.days_since_delivery} 天",
            )
        )
        return {
            "action": "notify",
            "to": to or self.rng.choice(RECIPIENTS),
            "message": message,
        }

    def refund(self) -> dict[str, Any]:
        action: dict[str, Any] = {"action": "refund"}
        roll = self.rng.random()
        if roll < 0.3:
            action["fee_percent"] = self.rng.choice((5, 10, 15, 20))
            action["fee_min"] = self.money(5, 30)
        elif roll < 0.45:
            action["percent"] = self.rng.choice((50, 80, 90))
        elif roll < 0.6:
            action["include_shipping"] = True
        if self.rng.random() < 0.2:
            action["deduct"] = self.money(5, 25)
        if self.rng.random() < 0.3:
            action["method"] = self.rng.choice(("store_credit", "account_credit"))
        return action

    # -- rule kinds --------------------------------------------------------------------

    def recall(self) -> Rule:
        return {
            "title": "召回批次：质量问题直接退款并退回供应商",
            "when": {
                "all": [
                    {"fact": "part.sku", "in": self.some(self.skus, 4)},
                    {"fact": "line.reason", "eq": "defective"},
                ]
            },
            "decide": "approve",
            "then": [
                {"action": "refund", "include_shipping": True},
                {"action": "return_to_supplier"},
                self.notify("purchasing"),
            ],
        }

    def brand_category(self) -> Rule:
        category = self.rng.choice(self.categories)
        return {
            "title": "品牌与类别的拆封规定",
            "when": {
                "all": [
                    {"fact": "part.brand", "in": self.some(CATEGORIES[category][3], 2)},
                    {"fact": "part.category", "eq": category},
                    {"fact": "line.condition", "in": self.some(CONDITIONS[1:], 2)},
                    {"fact": "line.reason", "ne": "defective"},
                ]
            },
            "decide": "reject",
            "message": "{part.brand} {part.category} 已{line.condition}，不予退货",
            "for": ["reject"],
            "then": [self.notify("customer")],
        }

    def customer_terms(self) -> Rule:
        prefix = self.rng.choice("CWFV")
        ids = sorted(
            f"{prefix}-{self.rng.randint(1000, 99999)}"
            for _ in range(self.rng.randint(1, 6))
        )
        decide = self.rng.choice(("approve", "review"))
        rule: Rule = {
            "title": "客户专属退货条款",
            "when": {"fact": "customer.id", "in": ids},
            "decide": decide,
            "priority": self.rng.randint(0, 5),
        }
        if decide == "approve":
            rule["then"] = [
                {"action": "refund", "method": "account_credit"},
                {"action": "restock", "location": "main", "inspect": True},
            ]
        else:
            rule["message"] = "客户 {customer.id} 的退货需客服确认"
            rule["then"] = [self.notify("customer_service")]
        return rule

    def window(self) -> Rule:
        days = self.rng.choice((7, 14, 15, 30, 45, 60, 90))
        check: dict[str, Any] = {"check": "delivery_deadline", "days": days}
        if self.rng.random() < 0.5:
            tiers = self.some(self.tiers, 2)
            check["per_tier"] = {t: days * 2 for t in tiers}
        if self.rng.random() < 0.3:
            check["from"] = self.rng.choice(("shipment", "order"))
        return {
            "title": "类别退货期限",
            "when": {
                "all": [
                    {"fact": "part.category", "in": self.some(self.categories, 3)},
                    {"not": check},
                    {"fact": "line.reason", "not_in": ["defective", "wrong_part"]},
                ]
            },
            "decide": "reject",
            "message": "已超过退货期限（签收后 {request.days_since_delivery} 天）",
        }

    def amount(self) -> Rule:
        return {
            "title": "金额审核",
            "when": {
                "all": [
                    {"fact": "line.amount", "gt": self.money(1000, 20000)},
                    {"fact": "customer.tier", "in": self.some(self.tiers, 3)},
                ]
            },
            "decide": "review",
            "message": "退货金额 {line.amount} 需审核",
            "for": ["review", "reject"],
            "then": [self.notify("finance")],
        }

    def supplier(self) -> Rule:
        condition = self.rng.choice(
            (
                {"fact": "supplier.days_left", "lt": self.rng.randint(0, 30)},
                {"fact": "supplier.accepts_returns", "eq": False},
                {"fact": "supplier.restocking_fee_percent", "ge": 10},
                {"fact": "part.supplier", "in": self.some(self.suppliers, 3)},
                {"not": {"check": "supplier_accepts"}},
            )
        )
        return {
            "title": "供应商条款",
            "when": {"all": [condition, {"fact": "line.reason", "eq": "defective"}]},
            "then": [self.refund(), self.notify("purchasing")],
            "priority": self.rng.randint(0, 3),
        }

    def stock(self) -> Rule:
        test = self.rng.choice(
            (
                {"fact": "stock.available", "ge": {"fact": "line.qty"}},
                {"check": "stock_available", "qty": self.rng.randint(1, 5)},
                {"fact": "stock.on_hand", "gt": self.rng.randint(0, 20)},
            )
        )
        return {
            "title": "有货换货",
            "when": {
                "all": [
                    {"fact": "line.reason", "in": ["wrong_part", "defective"]},
                    test,
                    {"fact": "part.category", "in": self.some(self.categories, 4)},
                ]
            },
            "then": [{"action": "exchange"}, self.notify("warehouse")],
        }

    def late(self) -> Rule:
        return {
            "title": "延误补偿",
            "when": {
                "any": [
                    {"check": "late_delivery", "days": self.rng.randint(1, 7)},
                    {"fact": "delivery.days_late", "ge": self.rng.randint(2, 9)},
                ]
            },
            "then": [
                {"action": "refund", "include_shipping": True},
                self.notify("logistics"),
            ],
            "priority": self.rng.randint(5, 10),
        }

    def cancel(self) -> Rule:
        return {
            "title": "未发货取消",
            "when": {
                "all": [
                    {"fact": "request.kind", "eq": "cancel"},
                    {"fact": "order.status", "in": ["placed", "allocated"]},
                    {
                        "fact": "order.channel",
                        "in": self.some(("store", "online", "phone"), 2),
                    },
                ]
            },
            "decide": "approve",
            "then": [
                {"action": "cancel_line"},
                {"action": "refund"},
                self.notify("warehouse"),
            ],
        }

    def packaging(self) -> Rule:
        return {
            "title": "包装缺失扣款",
            "when": {
                "all": [
                    {"fact": "line.packaging", "in": ["damaged", "missing"]},
                    {"fact": "line.condition", "eq": "unopened"},
                    {
                        "not": {
                            "fact": "line.reason",
                            "in": self.some(REASONS, 3),
                        }
                    },
                ]
            },
            "then": [
                {"action": "refund", "deduct": self.money(10, 50)},
                {"action": "restock", "location": "returns", "inspect": True},
            ],
            "priority": self.rng.randint(0, 4),
        }

    def catalogue_flags(self) -> Rule:
        flag = self.rng.choice(("part.no_return", "part.kit", "part.special_order"))
        return {
            "title": "目录标记",
            "when": {
                "all": [
                    {"fact": flag, "eq": True},
                    {"fact": "line.reason", "not_in": ["wrong_part", "defective"]},
                    {"fact": "request.days_since_order", "gt": self.rng.randint(0, 30)},
                ]
            },
            "decide": self.rng.choice(("reject", "review")),
            "message": "{part.sku} 为特殊商品",
        }

    def core_charge(self) -> Rule:
        return {
            "title": "旧件押金",
            "when": {
                "all": [
                    {"fact": "part.core_charge", "gt": "0"},
                    {"fact": "line.condition", "ne": "unopened"},
                    {"fact": "delivery.days_late", "present": False},
                ]
            },
            "then": [self.notify("finance"), {"action": "scrap"}],
        }

    def nested(self) -> Rule:
        return {
            "title": "组合条件",
            "when": {
                "any": [
                    {
                        "all": [
                            {"fact": "order.channel", "eq": "online"},
                            {"fact": "line.qty", "ge": self.rng.randint(2, 10)},
                            {"fact": "line.returnable_qty", "le": {"fact": "line.qty"}},
                        ]
                    },
                    {
                        "all": [
                            {
                                "fact": "customer.tier",
                                "eq": self.rng.choice(self.tiers),
                            },
                            {
                                "not": {
                                    "fact": "line.unit_price",
                                    "lt": self.money(50, 500),
                                }
                            },
                            {"fact": "request.days_since_delivery", "present": True},
                        ]
                    },
                ]
            },
            "decide": self.rng.choice(("review", "approve")),
            "message": "{customer.tier} 客户，数量 {line.qty}",
            "then": [self.notify()],
        }


_KINDS: Final[tuple[tuple[Callable[[_Maker], Rule], int], ...]] = (
    (_Maker.recall, 12),
    (_Maker.brand_category, 14),
    (_Maker.customer_terms, 12),
    (_Maker.window, 10),
    (_Maker.amount, 6),
    (_Maker.supplier, 10),
    (_Maker.stock, 8),
    (_Maker.late, 4),
    (_Maker.cancel, 3),
    (_Maker.packaging, 6),
    (_Maker.catalogue_flags, 6),
    (_Maker.core_charge, 3),
    (_Maker.nested, 6),
)


def big_policy_rules(n_rules: int = DEFAULT_RULES, seed: int = 1000) -> list[Rule]:
    """*n_rules* varied rules, as the mappings ``tomllib`` makes of them."""
    rng = random.Random(seed)
    maker = _Maker(rng)
    kinds = [k for k, _ in _KINDS]
    weights = [w for _, w in _KINDS]
    rules: list[Rule] = []
    for index in range(n_rules):
        kind = rng.choices(kinds, weights)[0]
        rule = {"id": f"{kind.__name__.replace('_', '-')}-{index:05d}", **kind(maker)}
        rules.append(rule)
    return rules


def make_big_policy(n_rules: int = DEFAULT_RULES, seed: int = 1000) -> str:
    """The TOML text of a policy with *n_rules* varied rules.

    Written the way a rule author writes bench/policy.toml (``when.all = [``
    one condition per line ``]``, inline tables), not as a serializer would.
    """
    out = [
        "version = 1",
        "",
        "[policy]",
        'currency = "CNY"',
        'default = "review"',
    ]
    for rule in big_policy_rules(n_rules, seed):
        out += ["", "[[rule]]"]
        for key, value in rule.items():
            if (
                key == "when"
                and len(value) == 1
                and next(iter(value)) in ("all", "any")
            ):
                ((combinator, items),) = value.items()
                out.append(f"when.{combinator} = [")
                out += [f"  {_inline(item)}," for item in items]
                out.append("]")
            elif key == "then":
                out.append("then = [")
                out += [f"  {_inline(item)}," for item in value]
                out.append("]")
            else:
                out.append(f"{_key(key)} = {_inline(value)}")
    return "\n".join(out) + "\n"


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _inline(key)


def _inline(value: object) -> str:
    """A TOML inline value (JSON's string escapes are TOML's too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items())
        return "{ " + pairs + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def main(argv: list[str]) -> int:
    n_rules = int(argv[0]) if argv else DEFAULT_RULES
    sys.stdout.write(make_big_policy(n_rules))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
