"""Vocabularies: the closed sets of codes that enum facts draw from.

The core ships the defaults of the contract; plugins may register more
vocabularies, and a policy's ``[vocab.NAME]`` tables add codes or relabel them.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["DEFAULT_VOCABULARIES", "Vocabulary"]


@attrs.frozen
class Vocabulary:
    """A named set of codes, each with a human label (``defective`` → 质量问题).

    A *closed* vocabulary (``status``, ``kind``) may be relabelled by a policy but
    not extended: the engine's own logic depends on its codes.
    """

    name: str
    labels: Mapping[str, str]
    closed: bool = False
    doc: str = ""

    def __contains__(self, code: object) -> bool:
        return code in self.labels

    def label(self, code: str) -> str:
        return self.labels.get(code, code)

    def merged(self, extra: Mapping[str, str]) -> Vocabulary:
        """This vocabulary with *extra* codes added or relabelled."""
        return attrs.evolve(self, labels={**self.labels, **extra})


def _v(name: str, doc: str, pairs: str, *, closed: bool = False) -> Vocabulary:
    labels = dict(item.split("=") for item in pairs.split())
    return Vocabulary(name, labels, closed=closed, doc=doc)


DEFAULT_VOCABULARIES: tuple[Vocabulary, ...] = (
    _v(
        "reason",
        "Why the customer returns or cancels (line.reason).",
        "wrong_part=错发配件 ordered_wrong=客户订错 defective=质量问题 "
        "damaged_in_transit=运输损坏 late_delivery=延误 changed_mind=不需要了 "
        "duplicate_order=重复下单 out_of_stock=缺货 other=其他",
    ),
    _v(
        "condition",
        "The state of the returned part (line.condition).",
        "unopened=未拆封 opened=已拆封 installed=已安装 damaged=已损坏 "
        "incomplete=不完整",
    ),
    _v(
        "packaging",
        "The state of the packaging (line.packaging).",
        "original=原包装完好 damaged=包装破损 missing=无包装",
    ),
    _v(
        "category",
        "The part's catalogue category (part.category).",
        "engine=发动机 electrical=电器 brake=制动 suspension=悬挂 body=车身 "
        "filter=滤清器 battery=蓄电池 fluid=油液 tyre=轮胎 consumable=易损件 "
        "accessory=附件 other=其他",
    ),
    _v(
        "tier",
        "The customer's tier (customer.tier).",
        "retail=零售 workshop=修理厂 fleet=车队 vip=大客户",
    ),
    _v(
        "channel",
        "Where the order was placed (order.channel).",
        "store=门店 online=线上 phone=电话",
    ),
    _v(
        "status",
        "How far the order has gone (order.status).",
        "placed=已下单 allocated=已配货 shipped=已发货 delivered=已签收",
        closed=True,
    ),
    _v(
        "kind",
        "cancel before shipment, return after (request.kind).",
        "cancel=取消订单 return=退货",
        closed=True,
    ),
)
