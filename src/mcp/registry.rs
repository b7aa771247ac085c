//! The tool registry. A tool is a type implementing [`BillingTool`]; registering it builds the
//! MCP `Tool` (name, title, description from `tools/<name>.md`, input and output schemas,
//! written-out annotations) and a handler that parses arguments strictly and turns every
//! [`BillingError`] into an `is_error` result whose text is `{code, message, ...details}` as JSON
//! (no structured content, which must match the output schema). Schemas are made portable once,
//! here (see [`schema`](super::schema)). Toolsets and read-only mode filter the registry by each
//! tool's declared toolset and `read_only_hint`.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::handler::server::common::{schema_for_input, schema_for_output};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use tracing::Instrument;

use super::schema;
use crate::access::Audience;
use crate::core::text;
use crate::service::{App, BillingError};

/// Groups of tools selectable with `--toolsets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Toolset {
    Usage,
    Credits,
    Customers,
    Catalog,
    Stripe,
    Insights,
    Admin,
}

impl Toolset {
    pub const ALL: [Toolset; 7] = [
        Toolset::Usage,
        Toolset::Credits,
        Toolset::Customers,
        Toolset::Catalog,
        Toolset::Stripe,
        Toolset::Insights,
        Toolset::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Toolset::Usage => "usage",
            Toolset::Credits => "credits",
            Toolset::Customers => "customers",
            Toolset::Catalog => "catalog",
            Toolset::Stripe => "stripe",
            Toolset::Insights => "insights",
            Toolset::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Toolset> {
        Toolset::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Behaviour hints every tool writes out in full (MCP tool annotations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

impl Hints {
    /// Reads the ledger only.
    pub const READ: Hints = Hints {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
    /// Writes the ledger; a repeat (same idempotency key or natural key) changes nothing.
    pub const WRITE: Hints = Hints {
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
    /// Reads Stripe.
    pub const STRIPE_READ: Hints = Hints {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };
    /// Creates in Stripe: a repeat creates again unless it carries the same idempotency_key.
    pub const STRIPE_CREATE: Hints = Hints {
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    };
    /// Sets a Stripe object to the state given: a repeat changes nothing more.
    pub const STRIPE_UPDATE: Hints = Hints {
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world: true,
    };
    /// Moves money back or ends something for good: confirmed by the user or `confirm: true`.
    pub const STRIPE_DESTRUCTIVE: Hints = Hints {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: true,
    };
}

/// One tool: its identity, schemas and handler.
pub trait BillingTool: Send + Sync + 'static {
    const NAME: &'static str;
    const TITLE: &'static str;
    /// The description the model reads: `include_str!` of `tools/<NAME>.md`.
    const DESCRIPTION: &'static str;
    const TOOLSET: Toolset;
    const HINTS: Hints;
    /// Which keys may call it (see [`Audience`]).
    const AUDIENCE: Audience;
    type Params: DeserializeOwned + JsonSchema + Send + 'static;
    type Output: Serialize + JsonSchema + Send + 'static;

    fn run(
        app: &App,
        params: Self::Params,
    ) -> impl Future<Output = Result<Self::Output, BillingError>> + Send;

    /// Whether a call with these arguments changes anything (and so goes to the audit log).
    fn mutates(_args: &JsonObject) -> bool {
        !Self::HINTS.read_only
    }

    /// Whether the answer also carries its JSON as a text block, for clients that read only text:
    /// every answer does, unless the caller asked for a compact one.
    fn with_text(_args: &JsonObject) -> bool {
        true
    }

    /// The tool's `_meta` in `tools/list` (an MCP App's UI resource), if any.
    fn meta() -> Option<rmcp::model::MetaObject> {
        None
    }
}

type Handler =
    Arc<dyn Fn(Arc<App>, JsonObject) -> BoxFuture<'static, CallToolResult> + Send + Sync>;

#[derive(Clone)]
pub struct Entry {
    pub tool: Tool,
    pub toolset: Toolset,
    pub hints: Hints,
    pub audience: Audience,
    /// Whether a call with these arguments changes anything.
    pub mutates: fn(&JsonObject) -> bool,
    handler: Handler,
}

impl Entry {
    pub fn call(&self, app: Arc<App>, args: JsonObject) -> BoxFuture<'static, CallToolResult> {
        (self.handler)(app, args)
    }
}

/// Which tools a server exposes.
#[derive(Debug, Clone, Default)]
pub struct ToolFilter {
    /// Only these toolsets (all when empty).
    pub toolsets: BTreeSet<Toolset>,
    /// Also these tools, whatever their toolset.
    pub tools: BTreeSet<String>,
    pub exclude: BTreeSet<String>,
    /// Only tools whose read_only_hint is true.
    pub read_only: bool,
}

impl ToolFilter {
    pub fn admits(&self, e: &Entry) -> bool {
        let name = e.tool.name.as_ref();
        let selected = if self.toolsets.is_empty() && self.tools.is_empty() {
            true
        } else {
            self.toolsets.contains(&e.toolset) || self.tools.contains(name)
        };
        selected && !self.exclude.contains(name) && (!self.read_only || e.hints.read_only)
    }
}

#[derive(Clone, Default)]
pub struct Registry {
    entries: Vec<Entry>,
}

impl Registry {
    /// Register a tool (one line per tool in `tools/mod.rs`).
    pub fn add<T: BillingTool>(&mut self) {
        let input = schema_for_input::<T::Params>().unwrap_or_else(|e| {
            tracing::error!(tool = T::NAME, error = %e, "invalid input schema");
            Arc::new(JsonObject::new())
        });
        let input = Arc::new(schema::portable(JsonObject::clone(&input)));
        let output = Arc::new(schema::portable(JsonObject::clone(&schema_for_output::<
            T::Output,
        >())));
        let annotations = ToolAnnotations::with_title(T::TITLE)
            .read_only(T::HINTS.read_only)
            .destructive(T::HINTS.destructive)
            .idempotent(T::HINTS.idempotent)
            .open_world(T::HINTS.open_world);
        let mut tool =
            Tool::new_with_raw(T::NAME, Some(Cow::Borrowed(T::DESCRIPTION.trim())), input)
                .with_title(T::TITLE)
                .with_raw_output_schema(output)
                .with_annotations(annotations);
        tool.meta = T::meta();
        let handler: Handler = Arc::new(|app: Arc<App>, args: JsonObject| {
            Box::pin(
                async move { invoke::<T>(&app, args).await }
                    .instrument(tracing::info_span!("tool", name = T::NAME)),
            )
        });
        self.entries.push(Entry {
            tool,
            toolset: T::TOOLSET,
            hints: T::HINTS,
            audience: T::AUDIENCE,
            mutates: T::mutates,
            handler,
        });
    }

    pub fn filtered(&self, filter: &ToolFilter) -> Registry {
        Registry {
            entries: self
                .entries
                .iter()
                .filter(|e| filter.admits(e))
                .cloned()
                .collect(),
        }
    }

    /// Only the named tools.
    pub fn only(&self, names: &[String]) -> Registry {
        Registry {
            entries: self
                .entries
                .iter()
                .filter(|e| names.iter().any(|n| e.tool.name == n.as_str()))
                .cloned()
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tool.name == name)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn tools(&self) -> Vec<Tool> {
        self.entries.iter().map(|e| e.tool.clone()).collect()
    }
}

async fn invoke<T: BillingTool>(app: &App, args: JsonObject) -> CallToolResult {
    let text = T::with_text(&args);
    let mut args = Value::Object(args);
    whole_numbers(&mut args);
    let params: T::Params = match serde_path_to_error::deserialize(args) {
        Ok(p) => p,
        Err(e) => return error_result(&invalid_arguments(&e)),
    };
    match T::run(app, params).await {
        Ok(out) => match structured(&out, text) {
            Ok(result) => result,
            Err(e) => error_result(&BillingError::new(
                "internal_error",
                format!("the result could not be encoded: {e}"),
            )),
        },
        Err(e) => {
            tracing::info!(tool = T::NAME, code = e.code, "tool returned an error");
            error_result(&e)
        }
    }
}

/// JSON Schema counts `1.0` as an integer, so the server does too: a number with no fractional
/// part, written with one, becomes that integer wherever it stands (no tool takes a float).
fn whole_numbers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(whole) = n.as_f64().and_then(whole) {
                *value = whole;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// The integer `f` is, when it is one that i64 or u64 holds exactly.
fn whole(f: f64) -> Option<Value> {
    const MINUS_TWO_POW_63: f64 = -9_223_372_036_854_775_808.0;
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
    if f.fract() != 0.0 || !f.is_finite() {
        return None;
    }
    if (0.0..TWO_POW_64).contains(&f) {
        Some(Value::from(f as u64))
    } else if (MINUS_TWO_POW_63..0.0).contains(&f) {
        Some(Value::from(f as i64))
    } else {
        None
    }
}

fn invalid_arguments(e: &serde_path_to_error::Error<serde_json::Error>) -> BillingError {
    // serde echoes the offending value (and a map key is part of the path): a huge one must
    // not come back in full.
    let path = text::quote(&e.path().to_string());
    let inner = text::cut(&e.inner().to_string(), 120);
    let at = if path == "." {
        String::new()
    } else {
        format!("`{path}`: ")
    };
    BillingError::invalid(format!(
        "{at}{inner}; fix the arguments to match the tool's inputSchema"
    ))
}

/// A tool's answer: its structured content, and (with `text`) the same JSON as text for clients
/// that read only text. The text is written from the typed answer directly (its fields in
/// declaration order), which costs a fraction of writing it from the structured value's map.
fn structured<T: Serialize>(out: &T, text: bool) -> Result<CallToolResult, serde_json::Error> {
    let content = if text {
        vec![ContentBlock::text(serde_json::to_string(out)?)]
    } else {
        Vec::new()
    };
    let mut result = CallToolResult::success(content);
    result.structured_content = Some(serde_json::to_value(out)?);
    Ok(result)
}

/// A tool error as MCP content: `is_error` and one text block holding `{code, message,
/// ...details}` as JSON, which a model reads as it is and a program parses. No structured content:
/// that must validate against the tool's output schema, which describes success.
pub fn error_result(e: &BillingError) -> CallToolResult {
    let mut body = serde_json::Map::new();
    body.insert("code".into(), Value::String(e.code.into()));
    body.insert("message".into(), Value::String(e.message.clone()));
    body.extend(e.details.clone());
    CallToolResult::error(vec![ContentBlock::text(Value::Object(body).to_string())])
}

/// The `{code, message, ...details}` of an error result (None for a success).
pub fn error_body(result: &CallToolResult) -> Option<JsonObject> {
    if result.is_error != Some(true) {
        return None;
    }
    result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .find_map(|t| serde_json::from_str::<JsonObject>(&t.text).ok())
}
