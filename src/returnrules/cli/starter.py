"""``returnrules init``: a small starter policy and its case file.

The starter uses only the core's facts and the standard pack's ``refund``,
``restock`` and ``notify`` actions, and its cases pass against them, so
``returnrules init x && returnrules check x/rules.toml && cd x && returnrules
test`` works out of the box.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

__all__ = [
    "CASES",
    "CASES_PATH",
    "RULES",
    "RULES_PATH",
    "SAMPLE_REQUEST",
    "StarterExists",
    "sample_request",
    "starter_files",
    "write_starter",
]

RULES_PATH: Final = Path("rules.toml")
CASES_PATH: Final = Path("tests/policy/starter.toml")

_CST = dt.timezone(dt.timedelta(hours=8))

SAMPLE_REQUEST: Final[Mapping[str, Any]] = {
    "id": "RT-2026-0001",
    "requested_at": dt.datetime(2026, 11, 20, 10, 0, tzinfo=_CST),
    "customer": {"id": "C-1001", "tier": "workshop"},
    "order": {
        "id": "SO-88812",
        "status": "delivered",
        "channel": "online",
        "placed_at": dt.datetime(2026, 11, 1, 9, 30, tzinfo=_CST),
        "shipped_at": dt.datetime(2026, 11, 2, 15, 0, tzinfo=_CST),
        "delivered_at": dt.datetime(2026, 11, 4, 11, 0, tzinfo=_CST),
        "shipping_fee": "20.00",
        "lines": [
            {
                "line": 1,
                "sku": "BOSCH-0986494",
                "name": "前刹车片",
                "brand": "Bosch",
                "category": "brake",
                "qty": 4,
                "unit_price": "180.00",
                "supplier": "SUP-BOSCH",
            }
        ],
    },
    "lines": [{"line": 1, "qty": 2, "reason": "wrong_part", "condition": "unopened"}],
}
"""The request of DESIGN.md: 2 of 4 brake pads at 180.00, shipping 20.00."""


def sample_request() -> dict[str, Any]:
    """A fresh copy of :data:`SAMPLE_REQUEST` that a caller may change."""
    return copy.deepcopy(dict(SAMPLE_REQUEST))


RULES: Final = """\
# A starter policy for returnrules, written by `returnrules init`.
#
# Each [[rule]] matches a return line `when` its condition holds (no `when`:
# always), may `decide` approve / reject / review (reject beats review beats
# approve; no deciding rule: the [policy] default), and plans actions in `then`
# for the decisions in `for` (default: its own decide, else approve).
# `when.all = [ ... ]` is TOML for `when = { all = [ ... ] }`.
#
#   returnrules check rules.toml             every mistake, with line and column
#   returnrules eval REQUEST --explain       dry run: the decision, and why
#   returnrules test                         run the cases in tests/policy/
#   returnrules facts, returnrules plugins   what a rule can use
#   returnrules schema > rules.schema.json   completion in TOML editors: then put
#                                            #:schema ./rules.schema.json first

version = 1

[policy]
currency = "CNY"
default = "review"

[[rule]]
id = "over-return"
title = "退货数量超过可退数量"
when = { fact = "line.qty", gt = { fact = "line.returnable_qty" } }
decide = "reject"
message = "可退数量只有 {line.returnable_qty} 件"

[[rule]]
id = "not-returnable"
title = "目录标注不可退或特殊订货的配件"
when.any = [
  { fact = "part.no_return", eq = true },
  { fact = "part.special_order", eq = true },
]
decide = "reject"
message = "该配件不可退货"

[[rule]]
id = "our-mistake"
title = "错发、质量问题、运输损坏：全额退款（含运费），检验后入库"
when.any = [
  { fact = "line.reason", eq = "wrong_part" },
  { fact = "line.reason", eq = "defective" },
  { fact = "line.reason", eq = "damaged_in_transit" },
]
decide = "approve"
then = [
  { action = "refund", include_shipping = true },
  { action = "restock", location = "inspection", inspect = true },
]

[[rule]]
id = "changed-mind"
title = "不需要了：签收30天内未拆封，收15%手续费"
when.all = [
  { fact = "line.reason", eq = "changed_mind" },
  { fact = "line.condition", eq = "unopened" },
  { fact = "request.days_since_delivery", le = 30 },
]
decide = "approve"
then = [
  { action = "refund", fee_percent = 15 },
  { action = "restock", location = "main" },
]

[[rule]]
id = "tell-customer"
title = "拒绝时通知客户"
for = ["reject"]
then = [
  { action = "notify", to = "customer", message = "退货申请未通过（{line.reason}）" },
]
"""
"""The starter policy, written as the README and the shipped ``rules.toml``
write a policy: ``when = {...}`` for one condition, ``when.all = [...]``
with one condition a line for several, actions as inline tables (never
``[rule.when]`` sub-tables)."""

CASES: Final = """\
# Test cases for rules.toml, written by `returnrules init`; run: returnrules test
#
# [request] is every case's request; each case's `with` replaces what differs
# (here: the return lines).  `expect` gives the decisions, the deciding rules
# and the actions; listed action fields are compared, others not.

rules = "../../rules.toml"

[request]
id = "RT-2026-0001"
requested_at = 2026-11-20T10:00:00+08:00
customer = { id = "C-1001", tier = "workshop" }
lines = [{ line = 1, qty = 2, reason = "wrong_part", condition = "unopened" }]

[request.order]
id = "SO-88812"
status = "delivered"
channel = "online"
placed_at = 2026-11-01T09:30:00+08:00
shipped_at = 2026-11-02T15:00:00+08:00
delivered_at = 2026-11-04T11:00:00+08:00
shipping_fee = "20.00"

[[request.order.lines]]
line = 1
sku = "BOSCH-0986494"
name = "前刹车片"
brand = "Bosch"
category = "brake"
qty = 4
unit_price = "180.00"
supplier = "SUP-BOSCH"

[[case]]
name = "a wrong part is refunded in full, with its share of shipping"
with.lines = [{ line = 1, qty = 2, reason = "wrong_part", condition = "unopened" }]
[case.expect]
decision = "approve"
lines = [
  { line = 1, decision = "approve", decided_by = ["our-mistake"], actions = [
    { action = "refund", amount = "370.00", fee = "0.00" },
    { action = "restock", qty = 2, inspect = true },
  ] },
]

[[case]]
name = "changed mind, unopened, within 30 days: a 15% fee"
with.lines = [{ line = 1, qty = 2, reason = "changed_mind", condition = "unopened" }]
[case.expect]
decision = "approve"
lines = [
  { line = 1, decided_by = ["changed-mind"], actions = [
    { action = "refund", amount = "306.00", fee = "54.00" },
    { action = "restock", location = "main" },
  ] },
]

[[case]]
name = "more than was delivered is rejected, and the customer is told"
with.lines = [{ line = 1, qty = 5, reason = "wrong_part", condition = "unopened" }]
[case.expect]
decision = "reject"
lines = [
  { line = 1, decided_by = ["over-return"], actions = [
    { action = "notify", to = "customer" },
  ], messages = ["可退数量只有 4 件"] },
]

[[case]]
name = "an opened part the customer no longer wants goes to review"
with.lines = [{ line = 1, qty = 1, reason = "changed_mind", condition = "opened" }]
[case.expect]
decision = "review"
lines = [{ line = 1, decision = "review", decided_by = [], actions = [] }]
"""
"""The starter's cases, in the style of ``tests/policy/examples.toml``; its
``[request]`` is :data:`SAMPLE_REQUEST` (a test keeps the two equal)."""


def starter_files() -> dict[Path, str]:
    """The starter's files (relative paths) and their text."""
    return {RULES_PATH: RULES, CASES_PATH: CASES}


class StarterExists(Exception):
    """``returnrules init`` found files it would overwrite."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        super().__init__(", ".join(map(str, paths)))


def write_starter(directory: Path) -> list[Path]:
    """Write the starter into *directory*; never overwrite anything.

    Raises :class:`StarterExists` (nothing written) if any file exists, and
    ``OSError`` if the files cannot be written.
    """
    files = {directory / path: text for path, text in starter_files().items()}
    existing = [path for path in files if path.exists() or path.is_symlink()]
    if existing:
        raise StarterExists(existing)
    written = []
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        written.append(path)
    return written
