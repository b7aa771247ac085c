//! Every tool has its description file, full annotations and well-formed, portable schemas (only
//! JSON Schema's own formats, no schema that says nothing); every tool's errors reach a client that
//! validates results (no structured content beside `isError`, the code in the text's JSON); every
//! description file has a tool; prompts load and render; filters follow the annotations.

use std::collections::BTreeSet;

use billing_mcp::access::{Audience, Role};
use billing_mcp::mcp::prompts::Prompts;
use billing_mcp::mcp::schema::STANDARD_FORMATS;
use billing_mcp::mcp::{ToolFilter, Toolset, tools};
use serde_json::{Map, Value, json};

use crate::support::{Backend, Harness};

const TOOLS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tools");

/// Every `required` list in a schema (nested ones too) lists each name once and only names
/// properties that exist.
fn check_schema(tool: &str, which: &str, schema: &Value) {
    if let Value::Object(map) = schema {
        if let Some(Value::Array(required)) = map.get("required") {
            let names: Vec<&str> = required.iter().filter_map(Value::as_str).collect();
            let unique: BTreeSet<&str> = names.iter().copied().collect();
            assert_eq!(
                unique.len(),
                names.len(),
                "{tool} {which}: duplicate names in required {names:?}"
            );
            let props = map
                .get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for n in names {
                assert!(
                    props.contains_key(n),
                    "{tool} {which}: required `{n}` is not a property"
                );
            }
        }
        map.values().for_each(|v| check_schema(tool, which, v));
    } else if let Value::Array(items) = schema {
        items.iter().for_each(|v| check_schema(tool, which, v));
    }
}

#[test]
fn every_tool_has_its_markdown_annotations_and_schemas() {
    let registry = tools::all();
    assert!(registry.entries().len() >= 14);
    for e in registry.entries() {
        let name = e.tool.name.to_string();
        let md = std::fs::read_to_string(format!("{TOOLS_DIR}/{name}.md"))
            .unwrap_or_else(|_| panic!("tools/{name}.md is missing"));
        assert_eq!(
            e.tool.description.as_deref(),
            Some(md.trim()),
            "{name}: the description must be tools/{name}.md"
        );
        assert!(
            md.split_whitespace().count() >= 20,
            "{name}: the description is too thin to guide a model"
        );
        let a = e
            .tool
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no annotations"));
        assert!(a.title.is_some(), "{name}: no title");
        for (hint, value) in [
            ("read_only", a.read_only_hint),
            ("destructive", a.destructive_hint),
            ("idempotent", a.idempotent_hint),
            ("open_world", a.open_world_hint),
        ] {
            assert!(value.is_some(), "{name}: {hint}_hint must be written out");
        }
        let input = Value::Object(Map::clone(&e.tool.input_schema));
        assert_eq!(
            input["type"], "object",
            "{name}: input schema must be an object"
        );
        assert_eq!(
            input["additionalProperties"], false,
            "{name}: unknown arguments must be refused"
        );
        check_schema(&name, "input", &input);
        check_portable(&format!("{name} input"), &input);
        let output = e
            .tool
            .output_schema
            .as_ref()
            .map(|o| Value::Object(Map::clone(o)))
            .unwrap_or_else(|| panic!("{name}: no output schema"));
        check_schema(&name, "output", &output);
        check_portable(&format!("{name} output"), &output);
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{name}: snake_case verb_noun"
        );
    }
}

/// Walks every sub-schema (not `enum`, `const` or `default` values): each `format` is a standard
/// one, and no sub-schema is `true`, `{}` or annotations only (a contract that says nothing).
fn check_portable(at: &str, schema: &Value) {
    let Value::Object(map) = schema else {
        assert_ne!(schema, &Value::Bool(true), "{at}: a bare `true` schema");
        return;
    };
    let annotations = ["description", "title", "default", "examples", "$comment"];
    assert!(
        !map.keys().all(|k| annotations.contains(&k.as_str())),
        "{at}: a schema that admits anything without saying so: {schema}"
    );
    if let Some(format) = map.get("format") {
        // The list is JSON Schema's (2020-12 §7.3): none of Rust's number formats is in it.
        assert!(
            ![
                "uint64", "uint32", "int64", "int32", "uint", "double", "float"
            ]
            .iter()
            .any(|f| STANDARD_FORMATS.contains(f))
        );
        let standard = format
            .as_str()
            .is_some_and(|f| STANDARD_FORMATS.contains(&f));
        assert!(standard, "{at}: non-standard format {format}");
    }
    for (key, value) in map {
        let at = format!("{at}/{key}");
        match key.as_str() {
            "items"
            | "additionalProperties"
            | "additionalItems"
            | "unevaluatedItems"
            | "unevaluatedProperties"
            | "contains"
            | "propertyNames"
            | "not"
            | "if"
            | "then"
            | "else" => check_portable(&at, value),
            "anyOf" | "allOf" | "oneOf" | "prefixItems" => {
                for (i, s) in value.as_array().into_iter().flatten().enumerate() {
                    check_portable(&format!("{at}/{i}"), s);
                }
            }
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                for (name, s) in value.as_object().into_iter().flatten() {
                    check_portable(&format!("{at}/{name}"), s);
                }
            }
            _ => {}
        }
    }
}

/// What a client that validates results needs of an error: `isError`, no structured content
/// (the output schema describes success), and `{code, message}` as JSON in the text.
fn check_error(tool: &str, r: &rmcp::model::CallToolResult) -> String {
    assert!(
        r.structured_content.is_none(),
        "{tool}: an error with structured content fails the output schema in clients: {r:?}"
    );
    let text = r
        .content
        .iter()
        .find_map(|c| c.as_text())
        .map(|t| t.text.clone());
    let body: Value = serde_json::from_str(text.as_deref().unwrap_or_default())
        .unwrap_or_else(|_| panic!("{tool}: an error's text is not JSON: {text:?}"));
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.len() > 10,
        "{tool}: an error says what to fix: {body}"
    );
    body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{tool}: no code in {body}"))
        .into()
}

/// Every tool (those added later too) is called with arguments that fail, as the operator and as
/// a customer key: each error validates, and the errors cover the guard's and the tools' own.
#[tokio::test]
async fn every_tools_errors_reach_a_validating_client() {
    let h = Harness::new(Backend::Sqlite).await;
    let owner = h.client().await;
    owner
        .ok("create_customer", json!({"customer": "acme"}))
        .await;
    let customer = h
        .client_as(&h.key(Role::Customer, Some("acme")).await)
        .await;
    let mut codes = BTreeSet::new();
    for e in tools::all().entries() {
        let name = e.tool.name.to_string();
        let wrong = owner.raw(&name, json!({"no_such_argument": 1})).await;
        assert_eq!(
            wrong.is_error,
            Some(true),
            "{name}: an unknown argument is refused"
        );
        assert_eq!(check_error(&name, &wrong), "invalid_params", "{name}");
        for (client, args) in [
            (&owner, json!({})),
            (&owner, json!({"customer": "nobody"})),
            (&customer, json!({})),
            (&customer, json!({"customer": "globex"})),
        ] {
            let r = client.raw(&name, args).await;
            if r.is_error == Some(true) {
                codes.insert(check_error(&name, &r));
            }
        }
    }
    for code in [
        "forbidden",
        "unknown_customer",
        "stripe_not_configured",
        "invalid_params",
    ] {
        assert!(codes.contains(code), "no tool answered {code}: {codes:?}");
    }
}

#[test]
fn every_tool_markdown_has_a_tool() {
    let registry = tools::all();
    for file in std::fs::read_dir(TOOLS_DIR).unwrap() {
        let name = file
            .unwrap()
            .file_name()
            .to_string_lossy()
            .trim_end_matches(".md")
            .to_string();
        if name.starts_with('_') {
            continue;
        }
        assert!(
            registry.get(&name).is_some(),
            "tools/{name}.md has no registered tool"
        );
    }
}

#[test]
fn read_only_mode_and_toolsets_follow_the_annotations() {
    let all = tools::all();
    let read_only = all.filtered(&ToolFilter {
        read_only: true,
        ..ToolFilter::default()
    });
    assert!(!read_only.entries().is_empty());
    assert!(read_only.entries().iter().all(|e| e.hints.read_only));
    assert!(read_only.get("record_usage").is_none() && read_only.get("get_usage").is_some());
    let usage_only = all.filtered(&ToolFilter {
        toolsets: BTreeSet::from([Toolset::Usage]),
        tools: BTreeSet::from(["list_plans".to_string()]),
        exclude: BTreeSet::from(["quote_price".to_string()]),
        read_only: false,
    });
    let names: BTreeSet<String> = usage_only
        .entries()
        .iter()
        .map(|e| e.tool.name.to_string())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(
            [
                "record_usage",
                "record_usage_batch",
                "settle_hold",
                "release_hold",
                "check_entitlement",
                "get_usage",
                "list_plans"
            ]
            .map(String::from)
        )
    );
}

#[test]
fn prompts_render_their_arguments_and_require_the_required_ones() {
    let prompts = Prompts::load().unwrap();
    assert!(prompts.list().len() >= 2);
    let args = json!({"customer": "acme"});
    let rendered = prompts
        .render("explain_bill", args.as_object().unwrap())
        .unwrap();
    let text = serde_json::to_string(&rendered.messages).unwrap();
    assert!(text.contains("`acme`") && !text.contains("{{customer}}"));
    assert!(
        prompts
            .render("explain_bill", &Map::new())
            .unwrap_err()
            .contains("customer")
    );
}

/// A `customer` key is held to its customer through the `customer` argument, so every tool it may
/// call either takes one or reads nothing of any customer.
#[test]
fn tools_for_customer_keys_name_their_customer_or_none_at_all() {
    for e in tools::all().entries() {
        let takes_customer = e
            .tool
            .input_schema
            .get("properties")
            .and_then(|p| p.get("customer"))
            .is_some();
        match e.audience {
            Audience::OwnCustomer => assert!(takes_customer, "{}: needs `customer`", e.tool.name),
            Audience::Anyone => assert!(!takes_customer, "{}: takes `customer`", e.tool.name),
            Audience::Admin | Audience::Service => {}
        }
    }
}

/// Each client's entry, run as written (the client's `${workspaceFolder}` and the user's home
/// are temporary directories): the server starts on a fresh machine, lists its plans, and a
/// BlackBox auto-approved tool never writes.
#[tokio::test]
async fn mcp_json_example_starts_the_server_on_stdio_for_every_client() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/mcp.json.example")).unwrap();
    let config: Value = serde_json::from_str(&text).unwrap();
    let registry = billing_mcp::mcp::tools::all();
    for client in [
        "claude_desktop",
        "claude_code",
        "vscode",
        "cursor",
        "blackbox",
    ] {
        let servers = config[client]
            .get("mcpServers")
            .or_else(|| config[client].get("servers"))
            .unwrap_or_else(|| panic!("{client}: no servers"));
        let billing = &servers["billing"];
        assert_eq!(billing["command"], "billing-mcp", "{client}");
        let home = tempfile::tempdir().unwrap();
        let workspace = tempfile::tempdir().unwrap();
        let args: Vec<String> = billing["args"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .map(|a| {
                a.replace(
                    "${workspaceFolder}",
                    &workspace.path().display().to_string(),
                )
            })
            .collect();
        assert_eq!(&args[..2], ["serve", "--stdio"], "{client}");
        let mut cmd = tokio::process::Command::new(crate::support::BINARY);
        cmd.args(&args)
            .current_dir(home.path())
            .env("HOME", home.path())
            .env_remove("DATABASE_URL")
            .env_remove("BILLING_CATALOG")
            .env_remove("STRIPE_SECRET_KEY")
            .stderr(std::process::Stdio::null());
        let (transport, _) = rmcp::transport::TokioChildProcess::builder(cmd)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let server = rmcp::ServiceExt::serve((), transport).await.unwrap();
        let plans = server
            .call_tool(rmcp::model::CallToolRequestParams::new("list_plans"))
            .await
            .unwrap();
        let plans = plans.structured_content.unwrap_or_default();
        assert!(
            plans["plans"].as_array().is_some_and(|p| !p.is_empty()),
            "{client}: the entry as written serves the example plans: {plans}"
        );
        server.cancel().await.unwrap();
        for tool in billing["autoApprove"].as_array().into_iter().flatten() {
            let name = tool.as_str().unwrap();
            let entry = registry
                .get(name)
                .unwrap_or_else(|| panic!("{client}: autoApprove names `{name}`, not a tool"));
            let read_only = entry
                .tool
                .annotations
                .as_ref()
                .and_then(|a| a.read_only_hint);
            assert_eq!(
                read_only,
                Some(true),
                "{client}: auto-approved `{name}` writes"
            );
        }
    }
}
