//! billing-mcp: an MCP server that exposes billing as tools.
//!
//! # Layout
//! Layers point down: a module names only modules of a lower layer (an architecture test in the
//! integration suite enforces it).
//! - [`core`], [`ids`], [`clock`]: the pure billing rules (money, tiers, plans, windows,
//!   credits, entitlements, reserved tiers, quotes, invoices; no I/O, "now" is a parameter), the
//!   ids the server mints, and the one clock the layers above read.
//! - [`values`]: validated input types (ids, names, keys, text, maps, currency, decimals, URLs)
//!   and the values answers share (money, a page of a list).
//! - [`catalog`]: `billing.toml` → validated core types.
//! - [`store`]: the ledger behind one trait, on SQLite or PostgreSQL.
//! - [`access`]: roles, API keys, rate limits and the audit log's redaction.
//! - [`stripe`]: the Stripe client (async-stripe): requests, retries, its own errors and views.
//! - [`service`]: the use cases, every Stripe tool's included; Stripe's and access's errors
//!   become tool errors here.
//! - [`mcp`]: the rmcp server: tool registry, tools (one file each), prompts, the call guard.
//! - [`config`]: command-line and environment configuration.
//! - [`transport`]: stdio and streamable HTTP (axum: `/mcp`, `/healthz`, `/webhooks/stripe`).

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
