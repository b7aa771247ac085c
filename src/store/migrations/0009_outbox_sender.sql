-- One sender of meter events at a time across every server process on the ledger: the process
-- that holds this lease claims and sends, so the configured rate, the requests in flight and
-- Stripe's one-request-at-a-time per customer and meter hold however many processes run. The
-- holder renews it each round; another process takes over once it has lapsed (a crashed sender)
-- or been given up (a sender that stopped).
CREATE TABLE outbox_sender (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until BIGINT NOT NULL
);
