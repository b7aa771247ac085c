-- Usage per customer, meter and tool over monthly pieces, beside the hourly rows and in the same
-- transaction: a piece is the customer's month window (from its billing anchor) holding the
-- event, cut at its plan start and trial end (`core::period::piece_of`), with the same figures as
-- an hourly row. A period, or a stretch of one, is read from a piece per meter and tool; hourly
-- rows (and events) are read only where a piece crosses the span read. Existing history is one
-- piece per hourly row (any grouping of events is exact; this one is only slower to read).
CREATE TABLE usage_monthly (
    customer_id TEXT NOT NULL,
    piece       BIGINT NOT NULL,
    meter       TEXT NOT NULL,
    tool        TEXT NOT NULL,
    first_at    BIGINT NOT NULL,
    last_at     BIGINT NOT NULL,
    quantity    BIGINT NOT NULL,
    events      BIGINT NOT NULL,
    max_q       BIGINT NOT NULL,
    last_q      BIGINT NOT NULL,
    PRIMARY KEY (customer_id, piece, meter, tool)
);
INSERT INTO usage_monthly (customer_id, piece, meter, tool, first_at, last_at, quantity, events, max_q, last_q)
    SELECT customer_id, hour, meter, tool, first_at, last_at, quantity, events, max_q, last_q FROM usage_hourly;

-- The totals over all customers per UTC day as well as per hour, in one table (`width` 3600000 or
-- 86400000 ms, so one upsert per batch writes both): the dashboard reads whole days and only the
-- hours of a range's partial first and last day, so a year is a few thousand rows.
CREATE TABLE usage_rollup_widths (
    width    BIGINT NOT NULL,
    start    BIGINT NOT NULL,
    meter    TEXT NOT NULL,
    tool     TEXT NOT NULL,
    shard    BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    events   BIGINT NOT NULL,
    PRIMARY KEY (width, start, meter, tool, shard)
);
INSERT INTO usage_rollup_widths (width, start, meter, tool, shard, quantity, events)
    SELECT 3600000, hour, meter, tool, shard, quantity, events FROM usage_rollup;
INSERT INTO usage_rollup_widths (width, start, meter, tool, shard, quantity, events)
    SELECT 86400000, hour - hour % 86400000, meter, tool, shard, CAST(SUM(quantity) AS BIGINT), CAST(SUM(events) AS BIGINT)
    FROM usage_rollup GROUP BY hour - hour % 86400000, meter, tool, shard;
DROP TABLE usage_rollup;
ALTER TABLE usage_rollup_widths RENAME TO usage_rollup;
