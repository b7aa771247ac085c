-- Usage rows start on each customer's own hours (from its billing anchor) and at its plan start
-- and trial end, so its windows and periods are read from the rows alone; a row keeps the time
-- of its first event, so a read can tell a row wholly inside a span from one across its edge.
-- Rows written before this start on UTC hours: their first event is at or after their start.
ALTER TABLE usage_hourly ADD COLUMN first_at BIGINT NOT NULL DEFAULT 0;
UPDATE usage_hourly SET first_at = hour;
