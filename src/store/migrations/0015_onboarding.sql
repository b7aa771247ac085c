-- Sign-up flows (start_onboarding): one row per flow, advanced step by step. A flow's id is
-- derived from the email and how many flows that email had before, so two starts at once make
-- one flow; what a step made at Stripe (a setup intent, a subscription) is kept once set.
CREATE TABLE onboarding (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL,
    name                TEXT,
    company             TEXT,
    customer_id         TEXT NOT NULL,
    plan                TEXT,
    billing_interval    TEXT,
    promotion_code      TEXT,
    setup_intent_id     TEXT,
    setup_client_secret TEXT,
    subscription_id     TEXT,
    payment_secret      TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    completed_at        BIGINT
);
CREATE INDEX onboarding_by_email ON onboarding (email, created_at);
