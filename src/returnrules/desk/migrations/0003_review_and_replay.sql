-- Version 3: what the monthly review (`returnrules report`) and a replay
-- (`returnrules replay`) group and compare by, as plain columns and tables,
-- so that SQL does the grouping.

-- Per line: the rules that matched it and decided it, and its refund as the
-- policy decided it and as it was paid (minor units; 0 when none).
ALTER TABLE lines ADD COLUMN matched TEXT NOT NULL DEFAULT '[]';
ALTER TABLE lines ADD COLUMN refund_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lines ADD COLUMN refund_fee_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lines ADD COLUMN refunded_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lines ADD COLUMN refunded_fee_minor BIGINT NOT NULL DEFAULT 0;
CREATE INDEX lines_by_received ON lines (received_at);
CREATE INDEX lines_by_category ON lines (category, received_at);
CREATE INDEX lines_by_customer ON lines (customer_id, received_at);

-- Each rule that decided a line (a line may be decided by several): the
-- report's "by rule".
CREATE TABLE line_rules (
    request_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    rule TEXT NOT NULL,
    PRIMARY KEY (request_id, line, rule)
);
CREATE INDEX line_rules_by_rule ON line_rules (rule);

-- The order lines the ledger has seen (in the orders its requests refer
-- to): what was sold, for a supplier's defect rate.
CREATE TABLE order_lines (
    order_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    sku TEXT NOT NULL,
    brand TEXT NOT NULL,
    category TEXT NOT NULL,
    supplier TEXT,
    qty INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (order_id, line)
);
CREATE INDEX order_lines_by_supplier ON order_lines (supplier);
