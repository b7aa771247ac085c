-- `invoice.paid` marks the usage of the invoice's period billed: the Stripe invoice that billed
-- each event (null until then). Only events not yet billed are marked, so a redelivered or older
-- invoice never moves an event to another invoice.
ALTER TABLE usage_events ADD COLUMN billed_invoice TEXT;
