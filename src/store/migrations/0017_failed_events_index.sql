-- A pending event sat in two partial indexes: the outbox's (by due time) and one of every event
-- not yet delivered, pending or failed, that the dashboard counted. Pending events are counted
-- from the outbox's index now, so the second holds failed events alone (by customer and time,
-- as requeueing a customer's failed events reads them): an event recorded while Stripe is
-- configured goes into one partial index instead of two, and leaves one when it is sent.
DROP INDEX usage_events_undelivered;
CREATE INDEX usage_events_failed ON usage_events (customer_id, occurred_at) WHERE stripe_state = 'failed';
