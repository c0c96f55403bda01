-- The desk's ledger, version 1.  Plain tables a person can query with sqlite3
-- or psql: one row per request, per return line, per planned action and per
-- event; JSON (in TEXT) only for what is truly nested.  Times are ISO 8601 in
-- UTC; money is an integer count of the currency's minor unit.

CREATE TABLE policies (
    sha256 TEXT PRIMARY KEY,          -- of the policy's source text
    source TEXT NOT NULL,             -- the file it was loaded from
    text TEXT NOT NULL,               -- the source text itself, stored once
    plugins TEXT NOT NULL,            -- JSON: [{name, origin, source, version}]
    first_used TEXT NOT NULL
);

CREATE TABLE data_snapshots (
    sha256 TEXT PRIMARY KEY,          -- of the canonical JSON below
    body TEXT NOT NULL                -- the --data mapping a batch was decided with
);

CREATE TABLE requests (
    request_id TEXT PRIMARY KEY,
    content_sha256 TEXT NOT NULL,     -- of body: the same id with other content is a conflict
    body TEXT NOT NULL,               -- the request as given, canonical JSON
    order_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    kind TEXT NOT NULL,               -- return | cancel
    requested_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    policy_sha256 TEXT NOT NULL REFERENCES policies (sha256),
    data_sha256 TEXT REFERENCES data_snapshots (sha256),
    decision TEXT NOT NULL,           -- the policy's: approve | reject | review | partial
    status TEXT NOT NULL,             -- received | approved | rejected | partial | review | completed | failed
    result TEXT NOT NULL,             -- JSON: the eval --json object, with its trace
    provided TEXT NOT NULL,           -- JSON: what the data providers answered, per line
    submitted_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX requests_by_order ON requests (order_id, received_at);
CREATE INDEX requests_by_customer ON requests (customer_id, received_at);
CREATE INDEX requests_by_status ON requests (status, received_at);
CREATE INDEX requests_by_received ON requests (received_at);

CREATE TABLE lines (
    request_id TEXT NOT NULL REFERENCES requests (request_id),
    line INTEGER NOT NULL,            -- the order line number
    order_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    brand TEXT NOT NULL,
    category TEXT NOT NULL,
    supplier TEXT,
    qty INTEGER NOT NULL,
    reason TEXT NOT NULL,
    condition TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,     -- qty × unit price
    currency TEXT NOT NULL,
    decision TEXT NOT NULL,           -- the line's decision now (a person's after review)
    policy_decision TEXT NOT NULL,    -- what the policy decided
    decided_by TEXT NOT NULL,         -- JSON: the deciding rules
    resolved_by TEXT,                 -- who decided a line sent to review
    resolved_at TEXT,
    resolution_note TEXT,
    received_at TEXT NOT NULL,
    PRIMARY KEY (request_id, line)
);
CREATE INDEX lines_by_order_line ON lines (order_id, line);
CREATE INDEX lines_by_reason ON lines (reason, received_at);
CREATE INDEX lines_by_supplier ON lines (supplier, received_at);
CREATE INDEX lines_by_decision ON lines (decision);

CREATE TABLE taken (                  -- quantities of order lines taken back by recorded requests
    order_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    qty BIGINT NOT NULL,
    PRIMARY KEY (order_id, line)
);

CREATE TABLE journal (                -- every planned action: the outbox
    key TEXT PRIMARY KEY,             -- request:line:action:rule:position, the idempotency key
    request_id TEXT NOT NULL REFERENCES requests (request_id),
    line INTEGER NOT NULL,
    action TEXT NOT NULL,
    rule TEXT NOT NULL,
    fields TEXT NOT NULL,             -- JSON: what the decision reported
    amount_minor BIGINT,              -- a reported `amount` of money (refunds)
    fee_minor BIGINT,                 -- a reported `fee` of money
    currency TEXT,
    state TEXT NOT NULL,              -- pending | done | failed
    attempts INTEGER NOT NULL,
    executor TEXT,                    -- the plugin whose executor ran it
    result TEXT,                      -- JSON: what the executor returned
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX journal_by_request ON journal (request_id);
CREATE INDEX journal_by_state ON journal (state);

CREATE TABLE events (                 -- append-only, chained by hash
    seq BIGINT PRIMARY KEY,
    request_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,               -- received | decided | reviewed | completed | failed | retried
    status TEXT,
    line INTEGER,
    note TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX events_by_request ON events (request_id, seq);

CREATE TABLE chain (                  -- the head of the event chain: one row
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO chain (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE ledger_tables (          -- the tables plugins keep their executors' effects in
    name TEXT PRIMARY KEY,
    plugin TEXT NOT NULL,
    columns TEXT NOT NULL             -- JSON: {column: type}
);
