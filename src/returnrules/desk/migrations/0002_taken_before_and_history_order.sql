-- Version 2: for each recorded line, how much of its order line earlier
-- recorded requests had already taken back when it was decided.  With it a
-- replay sees the same line.returnable_qty as the desk did, and a trace left
-- out at submit can be worked out again exactly.  NULL for lines recorded
-- by version 1.

ALTER TABLE lines ADD COLUMN taken_before BIGINT;

-- history lists newest first, ties broken by request id: with the id in the
-- index too, the index alone gives that order (no sort of the matches; with
-- no filter at all, no sort of the whole table).
DROP INDEX requests_by_order;
DROP INDEX requests_by_customer;
DROP INDEX requests_by_status;
DROP INDEX requests_by_received;
CREATE INDEX requests_by_order ON requests (order_id, received_at, request_id);
CREATE INDEX requests_by_customer ON requests (customer_id, received_at, request_id);
CREATE INDEX requests_by_status ON requests (status, received_at, request_id);
CREATE INDEX requests_by_received ON requests (received_at, request_id);
