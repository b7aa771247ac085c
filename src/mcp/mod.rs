//! The MCP face of the server: a registry of tools (one file each under `tools/`, each with its
//! description in the repository's `tools/<name>.md`), prompts from `prompts/*.md`, and the rmcp
//! `ServerHandler` that serves them over any transport, with the dashboard's browser side
//! (`ui`: the MCP App, and the files the web page shares with it).

pub mod gateway;
pub mod guard;
pub mod logging;
pub mod prompts;
pub mod registry;
pub mod resources;
pub mod schema;
pub mod server;
pub mod tools;
pub mod ui;

pub use guard::Identity;
pub use registry::{Hints, Registry, ToolFilter, Toolset};
pub use server::BillingServer;
