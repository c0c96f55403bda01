-- Version 2: for each recorded line, how much of its order line earlier
-- recorded requests had already taken back when it was decided.  With it a
-- replay sees the same line.returnable_qty as the desk did, and a trace left
-- out at submit can be worked out again exactly.  NULL for lines recorded
-- by version 1.

ALTER TABLE lines ADD COLUMN taken_before BIGINT;
