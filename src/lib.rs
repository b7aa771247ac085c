//! billing-mcp: an MCP server that exposes billing as tools.
//!
//! # Layout
//! - [`core`]: the pure billing rules (money, tiers, plans, windows, credits, entitlements,
//!   reserved tiers, quotes). No I/O, no clock.
//! - [`access`]: roles, API keys, rate limits and the audit log's redaction.
//! - [`catalog`]: `billing.toml` → validated core types.
//! - [`store`]: the ledger behind one trait, on SQLite or PostgreSQL.
//! - [`service`]: the use cases, talking only to the core, the catalog and the store.
//! - [`mcp`]: the rmcp server: tool registry, tools (one file each), prompts, errors.
//! - [`stripe`]: the Stripe client (async-stripe): requests, retries, errors, projections.
//! - [`transport`]: stdio and streamable HTTP (axum: `/mcp`, `/healthz`).
//! - [`config`]: command-line and environment configuration.

pub mod access;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod core;
pub mod ids;
pub mod mcp;
pub mod service;
pub mod store;
pub mod stripe;
pub mod transport;
pub mod values;
