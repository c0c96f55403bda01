"""Evaluate one request against a tiny inline policy (until the CLI exists)."""

import json

import returnrules

POLICY = """
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
id = "wrong-part"
when = { fact = "line.reason", eq = "wrong_part" }
decide = "approve"
"""

REQUEST = {
    "id": "RT-2026-0001",
    "requested_at": "2026-11-20T10:00:00+08:00",
    "customer": {"id": "C-1001", "tier": "workshop"},
    "order": {
        "id": "SO-88812",
        "status": "delivered",
        "placed_at": "2026-11-01T09:30:00+08:00",
        "delivered_at": "2026-11-04T11:00:00+08:00",
        "lines": [
            {"line": 1, "sku": "BOSCH-0986494", "category": "brake", "qty": 4,
             "unit_price": "180.00"},
        ],
    },
    "lines": [{"line": 1, "qty": 2, "reason": "wrong_part", "condition": "unopened"}],
}

policy = returnrules.loads_policy(POLICY)
decision = policy.evaluate(returnrules.parse_request(REQUEST))
print(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
