//! The integration suite (one binary): the store contract on both backends, every tool through a
//! real MCP client, the catalog's validation, the tool inventory, and both transports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod access;
mod architecture;
mod browser;
mod cache;
mod catalog;
mod concurrency;
mod customers;
mod failed_batch;
mod fuzz;
mod gateway;
mod holds;
mod hostile;
mod insights;
mod inventory;
mod ledger_truth;
mod logging;
mod malformed;
mod meter_events;
mod quickstart;
mod readme;
mod resources;
mod retention;
mod store_contract;
mod stripe;
mod sync;
mod tools;
mod transports;
mod usage_spans;
mod webhooks;
