//! The Stripe toolset through a real MCP client against the Stripe-compatible test server: what
//! an agent gets back, and exactly what Stripe is sent (method, path, form, Idempotency-Key);
//! and `reconcile_usage`, the ledger checked against what that server holds.

mod billing;
mod binary;
mod catalog;
mod failures;
mod onboarding;
mod plan_moves;
mod reconcile;
mod signup;
