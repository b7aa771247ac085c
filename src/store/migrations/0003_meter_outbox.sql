-- The meter-event outbox is the usage events themselves: every event is written `pending` in the
-- transaction that records it, and a sender moves it to `sent` (Stripe accepted it) or `failed`
-- (Stripe refused it for good, with the reason). `stripe_next_at` is when the event is next due:
-- a claim pushes it out by a lease (a process that dies mid-send leaves it to be sent again after
-- the lease, under the same identifier), a transient failure by its backoff.
ALTER TABLE usage_events ADD COLUMN stripe_state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE usage_events ADD COLUMN stripe_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_events ADD COLUMN stripe_next_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_events ADD COLUMN stripe_error TEXT;
ALTER TABLE usage_events ADD COLUMN stripe_sent_at BIGINT;
CREATE INDEX usage_events_outbox ON usage_events (stripe_next_at) WHERE stripe_state = 'pending';
