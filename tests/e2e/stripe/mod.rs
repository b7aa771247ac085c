//! The Stripe toolset through a real MCP client against the Stripe-compatible test server: what
//! an agent gets back, and exactly what Stripe is sent (method, path, form, Idempotency-Key).

mod billing;
mod binary;
mod catalog;
mod failures;
