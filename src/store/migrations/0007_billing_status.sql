-- What get_billing_status says about a customer's Stripe account, as invoice, setup-intent,
-- payment-method and customer webhooks report it.

-- One row per Stripe invoice: its status and what is left to pay, as the newest applied
-- `invoice.*` event showed it (events of one invoice apply in order; a paid or void invoice keeps
-- that final status). The customer's outstanding amount is the sum over its `open` invoices.
CREATE TABLE stripe_invoices (
    id               TEXT PRIMARY KEY,
    customer_id      TEXT NOT NULL REFERENCES customers(id),
    status           TEXT NOT NULL,
    amount_remaining BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX stripe_invoices_by_customer ON stripe_invoices (customer_id, status);

-- Whether Stripe holds a payment method for the customer, and its default when Stripe named one.
CREATE TABLE customer_payment_methods (
    customer_id            TEXT PRIMARY KEY REFERENCES customers(id),
    configured             BIGINT NOT NULL,
    default_payment_method TEXT,
    event_id               TEXT NOT NULL,
    updated_at             BIGINT NOT NULL
);
