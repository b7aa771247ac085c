//! Another customer's ids are as unknown to a customer key as ids that never were: every tool the
//! key lists and every id-like argument of its input schema (found in the schema, not in a hand
//! list), tried once with B's real value and once with a well-formed value that exists nowhere,
//! answer alike (the tried value aside), and no answer to A's key shows any of B's ids.
//!
//! A call that changes its customer (`check_entitlement` with `consume`) is compared with the
//! same call by A's twin, a customer with the same history, so both start from the same state;
//! the ids such a call mints for itself (its event) are masked, as is the caller's own id.
//! Tools the key does not list are called too, every id-like argument at once.
//!
//! Service keys are not walked: the README's tool table says a `service` key acts "for any
//! customer", and the ledger refuses to tie one to a customer (checked below), so there is no
//! other customer for it to be kept from.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use billing_mcp::access::Role;
use billing_mcp::mcp::tools;
use billing_mcp::service::keys::{self, NewKey};
use rmcp::model::{CallToolRequestParams, Tool};
use serde_json::{Value, json};

use crate::support::http::Server;
use crate::support::{A, B, Client, Harness, backends};

/// A with the same history: a call that changes A is compared with the same call on the twin,
/// so both answers start from the same state.
const TWIN: &str = "cust_twin";

/// What an id-like argument names, and so which of B's values it is tried with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Customer,
    /// `starting_after`, `ending_before`, `…cursor`: tried with every value of B's.
    Cursor,
    /// An API key's id (`bmcp_<16 hex>`).
    KeyId,
    /// Any other id the ledger mints: events, grants, adjustments, ledger entries, audit entries.
    Id,
    /// A Stripe object's id (invoice, subscription, payment intent, …): this harness has no
    /// Stripe, so B has none, and a listed tool taking one stops the walk until B is given one.
    Stripe,
    /// A retry key: tried with the keys B used.
    Idempotency,
}

/// The schema type a property refers to (`CustomerId`, `KeyId`, …), when it names one.
fn type_name(schema: &Value) -> Option<String> {
    match schema {
        Value::Object(o) => o
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .map(String::from)
            .or_else(|| o.values().find_map(type_name)),
        Value::Array(a) => a.iter().find_map(type_name),
        _ => None,
    }
}

/// The id a property holds, judged by its name and its schema type; `None` for a plain value.
fn id_kind(name: &str, schema: &Value) -> Option<Kind> {
    let ty = type_name(schema).unwrap_or_default();
    let stripe_objects = [
        "invoice",
        "subscription",
        "payment_intent",
        "charge",
        "price",
        "product",
        "coupon",
        "dispute",
        "session",
        "promotion_code",
        "payment_link",
    ];
    Some(match (name, ty.as_str()) {
        (_, "CustomerId") | ("customer" | "customer_id" | "customers", _) => Kind::Customer,
        (_, "KeyId") | ("key_id" | "key_ids", _) => Kind::KeyId,
        (_, "IdempotencyKey") | ("idempotency_key", _) => Kind::Idempotency,
        ("starting_after" | "ending_before" | "page", _) => Kind::Cursor,
        (n, _) if n.contains("cursor") => Kind::Cursor,
        (_, "StripeId") => Kind::Stripe,
        (n, _) if stripe_objects.contains(&n) => Kind::Stripe,
        (n, _) if n == "id" || n.ends_with("_id") || n.ends_with("_ids") => Kind::Id,
        ("grant" | "event" | "key" | "entry", _) => Kind::Id,
        _ => return None,
    })
}

/// The value a plain (not id-like) argument is given; a property neither id-like nor here stops
/// the test, so a new argument is classified before it is walked past.
fn plain_value(name: &str) -> Option<Value> {
    Some(match name {
        "feature" | "meter" => json!("tool_calls"),
        "quantity" => json!(1),
        "consume" => json!(true),
        "tool" => json!("search"),
        "dimensions" => json!({"server_id": "srv-1"}),
        "plan" => json!("professional"),
        "from" => json!("2026-11-01T00:00:00Z"),
        "to" => json!("2026-12-01T00:00:00Z"),
        "limit" => json!(2),
        _ => return None,
    })
}

/// `prefix_<32 hex>` (a minted id: `evt_…`, `cgr_…`, `aud_…`) or `bmcp_<16 hex>` (a key id).
fn is_minted(s: &str) -> bool {
    let hex = |h: &str, n: usize| {
        h.len() == n
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match s.split_once('_') {
        Some(("bmcp", h)) => hex(h, 16),
        Some((p, h)) => {
            !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_lowercase()) && hex(h, 32)
        }
        None => false,
    }
}

/// A well-formed value shaped like `v` that exists nowhere: a minted id gets fresh hex after
/// its prefix; anything else keeps its first word and has the rest rotated (letters by 13,
/// digits by 5), so it keeps its characters' classes and its length.
fn unknown_like(v: &str, taken: &BTreeSet<String>) -> String {
    let fresh = uuid::Uuid::now_v7().simple().to_string();
    let u = match v.split_once('_') {
        Some(("bmcp", _)) if is_minted(v) => format!("bmcp_{}", &fresh[16..]),
        Some((prefix, _)) if is_minted(v) => format!("{prefix}_{fresh}"),
        _ => {
            let cut = v.find(['_', '-']).map_or(0, |i| i + 1);
            let rotated: String = v[cut..]
                .chars()
                .map(|c| match c {
                    'a'..='z' => char::from(b'a' + (c as u8 - b'a' + 13) % 26),
                    'A'..='Z' => char::from(b'A' + (c as u8 - b'A' + 13) % 26),
                    '0'..='9' => char::from(b'0' + (c as u8 - b'0' + 5) % 10),
                    c => c,
                })
                .collect();
            format!("{}{rotated}", &v[..cut])
        }
    };
    assert!(
        u != v && !taken.contains(&u),
        "`{u}` (made for `{v}`) exists"
    );
    u
}

/// One stand-in per value of B's, the same in every call that value is tried in.
struct StandIns {
    taken: BTreeSet<String>,
    made: BTreeMap<String, String>,
}

impl StandIns {
    fn new(taken: BTreeSet<String>) -> StandIns {
        StandIns {
            taken,
            made: BTreeMap::new(),
        }
    }

    fn of(&mut self, real: &str) -> String {
        if let Some(u) = self.made.get(real) {
            return u.clone();
        }
        let u = unknown_like(real, &self.taken);
        self.taken.insert(u.clone());
        self.made.insert(real.to_string(), u.clone());
        u
    }
}

/// Every minted id in `v`, and every `next_cursor`.
fn harvest(v: &Value, into: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if is_minted(s) => {
            into.insert(s.clone());
        }
        Value::Object(o) => {
            if let Some(Value::String(c)) = o.get("next_cursor") {
                into.insert(c.clone());
            }
            o.values().for_each(|v| harvest(v, into));
        }
        Value::Array(a) => a.iter().for_each(|v| harvest(v, into)),
        _ => {}
    }
}

/// Minted ids in `text` other than `keep` become `<minted>`: ids a changing call made for itself
/// (its event), which differ between A and the twin whatever was tried.
fn mask_minted(text: &str, keep: &BTreeSet<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if is_minted(word) && !keep.contains(word.as_str()) {
            out.push_str("<minted>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// A call's whole answer as a client sees it: `isError`, structured content and every text
/// block (or the JSON-RPC error), as one JSON text.
async fn answer(client: &Client, tool: &str, args: &Value) -> String {
    let Value::Object(args) = args.clone() else {
        panic!("arguments must be an object")
    };
    let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
    match client.inner.call_tool(params).await {
        Ok(r) => {
            let texts: Vec<&str> = r
                .content
                .iter()
                .filter_map(|c| c.as_text())
                .map(|t| t.text.as_str())
                .collect();
            json!({
                "isError": r.is_error.unwrap_or(false),
                "structuredContent": r.structured_content,
                "text": texts,
            })
            .to_string()
        }
        Err(e) => json!({"jsonrpc_error": e.to_string()}).to_string(),
    }
}

/// `code: message` of an answer, for a report.
fn gist(shown: &str) -> String {
    let v: Value = serde_json::from_str(shown).unwrap_or_default();
    let body = v["text"][0]
        .as_str()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .unwrap_or_default();
    match (v["isError"].as_bool(), body["code"].as_str()) {
        (Some(true), Some(code)) => format!("error {code}: {}", body["message"]),
        _ => shown.to_string(),
    }
}

/// B's values by what they name.
struct Foreign {
    customer: Vec<String>,
    idempotency: Vec<String>,
    key_ids: Vec<String>,
    /// Every id and cursor the tools gave about B (key ids included).
    ids: Vec<String>,
}

impl Foreign {
    fn all(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self.ids.iter().cloned().collect();
        all.extend(self.customer.iter().cloned());
        all.extend(self.idempotency.iter().cloned());
        all
    }

    fn of(&self, kind: Kind) -> Vec<String> {
        match kind {
            Kind::Customer => self.customer.clone(),
            Kind::Idempotency => self.idempotency.clone(),
            Kind::KeyId => self.key_ids.clone(),
            Kind::Id => self.ids.clone(),
            Kind::Cursor => self.all().into_iter().collect(),
            Kind::Stripe => Vec::new(),
        }
    }
}

/// B with real data of every kind the tools make, through the tools; returns B's values.
async fn give_b_data(h: &Harness, owner: &Client) -> Foreign {
    let idempotency: Vec<String> = [
        "b-usage-1",
        "b-usage-2",
        "b-batch-1",
        "b-batch-2",
        "b-grant-1",
        "b-adjust-1",
        "b-apikey-1",
        "b-consume-1",
    ]
    .map(String::from)
    .to_vec();
    let mut seen = Vec::new();
    seen.push(
        owner
            .ok("create_customer", json!({"customer": B, "plan": "starter"}))
            .await,
    );
    for (i, key) in ["b-usage-1", "b-usage-2"].into_iter().enumerate() {
        seen.push(owner.ok("record_usage", json!({"customer": B, "meter": "tool_calls", "quantity": i + 2, "dimensions": {"tool": "search"}, "idempotency_key": key})).await);
    }
    seen.push(
        owner
            .ok(
                "record_usage",
                json!({"customer": B, "meter": "llm_tokens", "quantity": 900, "dimensions": {"model": "m1"}}),
            )
            .await,
    );
    seen.push(owner.ok("record_usage_batch", json!({"events": [
        {"customer": B, "meter": "tool_calls", "quantity": 1, "idempotency_key": "b-batch-1"},
        {"customer": B, "meter": "tools_used", "quantity": 1, "dimensions": {"tool": "fetch"}, "idempotency_key": "b-batch-2"},
    ]})).await);
    let grant = owner
        .ok(
            "grant_credits",
            json!({"customer": B, "credits": 500, "description": "pack", "idempotency_key": "b-grant-1"}),
        )
        .await;
    seen.push(grant);
    seen.push(
        owner
            .ok(
                "grant_credits",
                json!({"customer": B, "credits": 70, "priority": 1}),
            )
            .await,
    );
    seen.push(
        owner
            .ok(
                "adjust_credits",
                json!({"customer": B, "credits": -10, "reason": "refund", "idempotency_key": "b-adjust-1"}),
            )
            .await,
    );
    let b_key = owner
        .ok(
            "create_api_key",
            json!({"role": "customer", "customer": B, "idempotency_key": "b-apikey-1"}),
        )
        .await;
    seen.push(b_key.clone());
    seen.push(
        owner
            .ok("create_api_key", json!({"role": "customer", "customer": B}))
            .await,
    );
    seen.push(
        owner
            .ok(
                "set_customer_plan",
                json!({"customer": B, "plan": "professional"}),
            )
            .await,
    );
    // B's own key at work: a consumed entitlement and reads, each audited or paged.
    let as_b = h.client_as(b_key["secret"].as_str().unwrap()).await;
    seen.push(
        as_b.ok(
            "check_entitlement",
            json!({"feature": "tool_calls", "consume": true, "idempotency_key": "b-consume-1"}),
        )
        .await,
    );
    seen.push(as_b.ok("get_usage", json!({"limit": 1})).await);
    // Everything the operator can read of B, and a cursor from each of B's paged lists.
    seen.push(
        owner
            .ok("get_usage", json!({"customer": B, "limit": 100}))
            .await,
    );
    seen.push(
        owner
            .ok("get_usage", json!({"customer": B, "limit": 2}))
            .await,
    );
    seen.push(
        owner
            .ok(
                "get_usage",
                json!({"customer": B, "meter": "tool_calls", "limit": 1}),
            )
            .await,
    );
    seen.push(owner.ok("get_credit_balance", json!({"customer": B})).await);
    seen.push(owner.ok("get_customer", json!({"customer": B})).await);
    seen.push(owner.ok("get_billing_status", json!({"customer": B})).await);
    seen.push(
        owner
            .ok(
                "list_api_keys",
                json!({"customer": B, "include_inactive": true, "limit": 1}),
            )
            .await,
    );
    seen.push(
        owner
            .ok(
                "list_api_keys",
                json!({"customer": B, "include_inactive": true, "limit": 100}),
            )
            .await,
    );
    // Audit entries commit with the writer's next transaction: wait until B's are all there.
    let mut audit = Value::Null;
    for _ in 0..100 {
        audit = owner
            .ok("get_audit_log", json!({"customer": B, "limit": 100}))
            .await;
        if audit["entries"].as_array().is_some_and(|e| e.len() >= 8) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    seen.push(audit);
    seen.push(
        owner
            .ok("get_audit_log", json!({"customer": B, "limit": 1}))
            .await,
    );
    let mut ids = BTreeSet::new();
    seen.iter().for_each(|v| harvest(v, &mut ids));
    let key_ids: Vec<String> = ids
        .iter()
        .filter(|i| i.starts_with("bmcp_"))
        .cloned()
        .collect();
    for prefix in ["evt_", "cgr_", "aud_", "bmcp_"] {
        assert!(
            ids.iter().any(|i| i.starts_with(prefix)),
            "B has no {prefix}… id: {ids:?}"
        );
    }
    Foreign {
        customer: vec![B.to_string()],
        idempotency,
        key_ids,
        ids: ids.into_iter().collect(),
    }
}

/// A and its twin with the same history (their own events, credits and keys), and a key for
/// each that no rate limit stops during the walk (their secrets).
async fn a_and_twin(h: &Harness, owner: &Client) -> (String, String) {
    let mut secrets = Vec::new();
    for c in [A, TWIN] {
        owner
            .ok("create_customer", json!({"customer": c, "plan": "starter"}))
            .await;
        for i in 0..3 {
            owner.ok("record_usage", json!({"customer": c, "meter": "tool_calls", "quantity": 1, "dimensions": {"tool": "search"}, "idempotency_key": format!("own-{i}")})).await;
        }
        owner
            .ok("grant_credits", json!({"customer": c, "credits": 200}))
            .await;
        let secret = keys::create(
            &h.app,
            NewKey {
                rate_per_minute: Some(100_000),
                burst: Some(10_000),
                ..NewKey::new(Role::Customer, Some(c.into()))
            },
        )
        .await
        .unwrap()
        .secret
        .unwrap();
        secrets.push(secret);
    }
    let twin = secrets.pop().unwrap();
    (secrets.pop().unwrap(), twin)
}

/// One id-like argument of one tool.
struct Pair {
    tool: Tool,
    arg: String,
    kind: Kind,
}

impl Pair {
    fn read_only(&self) -> bool {
        self.tool
            .annotations
            .as_ref()
            .and_then(|a| a.read_only_hint)
            .unwrap_or(false)
    }
}

/// The tool's arguments without ids: its required plain values (`full`: every plain value).
fn base_args(tool: &Tool, full: bool) -> Value {
    let schema = Value::Object((*tool.input_schema).clone());
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut args = serde_json::Map::new();
    for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
        if id_kind(name, prop).is_some() {
            continue;
        }
        let value = plain_value(name).unwrap_or_else(|| {
            panic!(
                "`{}.{name}` is neither an id the walk fills nor a plain value it knows: classify it in id_kind() or plain_value()",
                tool.name
            )
        });
        if full || required.contains(name.as_str()) {
            args.insert(name.clone(), value);
        }
    }
    Value::Object(args)
}

/// What one backend's walk found.
#[derive(Default)]
struct Walk {
    pairs: BTreeSet<(String, String)>,
    /// Tools the key does not list, called all the same.
    unlisted: BTreeSet<String>,
    calls: usize,
    defects: Vec<String>,
}

async fn walk(h: &Harness) -> Walk {
    let owner = h.client().await;
    let foreign = give_b_data(h, &owner).await;
    let (a_key, twin_key) = a_and_twin(h, &owner).await;
    // Both transports, as the isolation walk: stdio acting as the key, and HTTP with it as bearer.
    let server = Server::start(h).await;
    let ends = [
        (
            "stdio",
            h.client_as(&a_key).await,
            h.client_as(&twin_key).await,
        ),
        (
            "http",
            server.client(&a_key).await,
            server.client(&twin_key).await,
        ),
    ];
    let b_values = foreign.all();
    let mut taken = b_values.clone();
    taken.extend([A, TWIN].map(String::from));
    let mut stand_ins = StandIns::new(taken);
    let mut found = Walk::default();

    let listed = ends[0].1.inner.list_all_tools().await.unwrap();
    assert!(!listed.is_empty());
    let names =
        |tools: &[Tool]| -> Vec<String> { tools.iter().map(|t| t.name.to_string()).collect() };
    assert_eq!(
        names(&ends[1].1.inner.list_all_tools().await.unwrap()),
        names(&listed),
        "the key lists the same tools on both transports"
    );
    let mut pairs = Vec::new();
    for tool in &listed {
        let schema = Value::Object((*tool.input_schema).clone());
        for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
            if let Some(kind) = id_kind(name, prop) {
                pairs.push(Pair {
                    tool: tool.clone(),
                    arg: name.clone(),
                    kind,
                });
            }
        }
    }
    // Reads first; then calls that change A, retry keys last (A keeps B's key as its own from
    // then on, so no later answer may quote it).
    pairs.sort_by_key(|p| {
        (
            !p.read_only(),
            p.kind == Kind::Idempotency,
            p.tool.name.to_string(),
            p.arg.clone(),
        )
    });

    // Every tool without ids first (on the twin too, which keeps them alike): nothing of B's
    // in any plain answer.
    for tool in &listed {
        for full in [false, true] {
            let args = base_args(tool, full);
            for (via, as_a, as_twin) in &ends {
                for client in [as_a, as_twin] {
                    let shown = answer(client, &tool.name, &args).await;
                    found.calls += 1;
                    for b in b_values.iter().filter(|b| shown.contains(b.as_str())) {
                        found.defects.push(format!(
                            "{via} {}({args}) shows B's `{b}`: {shown}",
                            tool.name
                        ));
                    }
                }
            }
        }
    }

    for pair in &pairs {
        let name = pair.tool.name.as_ref();
        let values = foreign.of(pair.kind);
        assert!(
            !values.is_empty(),
            "B has no value for `{name}.{}` ({:?}): give B one in give_b_data()",
            pair.arg,
            pair.kind
        );
        found.pairs.insert((name.to_string(), pair.arg.clone()));
        let bases = [base_args(&pair.tool, false), base_args(&pair.tool, true)];
        let bases = if bases[0] == bases[1] {
            &bases[..1]
        } else {
            &bases[..]
        };
        for base in bases {
            for real in &values {
                let unknown = stand_ins.of(real);
                let mut with_real = base.clone();
                with_real[&pair.arg] = json!(real);
                let mut with_unknown = base.clone();
                with_unknown[&pair.arg] = json!(unknown);
                for (via, as_a, as_twin) in &ends {
                    // A call that changes A is made on the twin with the unknown value, so both
                    // start from the same state.
                    let (other, other_self) = if pair.read_only() {
                        (as_a, A)
                    } else {
                        (as_twin, TWIN)
                    };
                    let got_real = answer(as_a, name, &with_real).await;
                    let got_unknown = answer(other, name, &with_unknown).await;
                    found.calls += 2;
                    let normal = |shown: &str, tried: &str, own: &str| {
                        let shown = shown.replace(tried, "<tried>").replace(own, "<self>");
                        if pair.read_only() {
                            shown
                        } else {
                            mask_minted(&shown, &b_values)
                        }
                    };
                    let real_normal = normal(&got_real, real, A);
                    let unknown_normal = normal(&got_unknown, &unknown, other_self);
                    if real_normal != unknown_normal {
                        found.defects.push(format!(
                            "{via} {name}.{} answers B's value apart from an unknown one\n  \
                             with B's:   {with_real}\n    -> {}\n  \
                             with none:  {with_unknown}\n    -> {}",
                            pair.arg,
                            gist(&got_real),
                            gist(&got_unknown),
                        ));
                    }
                    for (shown, args) in
                        [(&real_normal, &with_real), (&unknown_normal, &with_unknown)]
                    {
                        for b in &b_values {
                            if shown.contains(b.as_str()) {
                                found.defects.push(format!(
                                    "{via} {name}({args}) shows B's `{b}`: {}",
                                    gist(shown)
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    // Tools the key does not list: each id-like argument at once, B's values against stand-ins.
    let listed_names: BTreeSet<String> = listed.iter().map(|t| t.name.to_string()).collect();
    for entry in tools::all().entries() {
        let name = entry.tool.name.as_ref();
        if listed_names.contains(name) {
            continue;
        }
        let schema = Value::Object((*entry.tool.input_schema).clone());
        let (mut with_real, mut with_unknown) = (json!({}), json!({}));
        let mut tried = Vec::new();
        for (arg, prop) in schema["properties"].as_object().into_iter().flatten() {
            let Some(real) = id_kind(arg, prop).and_then(|k| foreign.of(k).into_iter().next())
            else {
                continue;
            };
            let unknown = stand_ins.of(&real);
            with_real[arg] = json!(real);
            with_unknown[arg] = json!(unknown);
            tried.push((real, unknown));
        }
        found.unlisted.insert(name.to_string());
        for (via, as_a, _) in &ends {
            let (mut got_real, mut got_unknown) = (
                answer(as_a, name, &with_real).await,
                answer(as_a, name, &with_unknown).await,
            );
            found.calls += 2;
            for (real, unknown) in &tried {
                got_real = got_real.replace(real.as_str(), "<tried>");
                got_unknown = got_unknown.replace(unknown.as_str(), "<tried>");
            }
            if got_real != got_unknown {
                found.defects.push(format!(
                    "{via} {name} (not listed) answers B's values apart from unknown ones\n  \
                     with B's:   {with_real}\n    -> {}\n  \
                     with none:  {with_unknown}\n    -> {}",
                    gist(&got_real),
                    gist(&got_unknown),
                ));
            }
            for b in &b_values {
                if got_real.contains(b.as_str()) || got_unknown.contains(b.as_str()) {
                    found
                        .defects
                        .push(format!("{via} {name}({with_real}) shows B's `{b}`"));
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn no_tool_tells_another_customers_ids_from_ids_that_never_were() {
    let mut defects = Vec::new();
    for backend in backends() {
        let started = Instant::now();
        let h = Harness::new(backend).await;
        let found = walk(&h).await;
        // A service key acts for every customer: there is no scoped service key to walk.
        assert!(
            keys::create(&h.app, NewKey::new(Role::Service, Some(B.into())))
                .await
                .is_err(),
            "{backend:?}: a service key was tied to a customer; walk it like a customer key"
        );
        let pairs: Vec<String> = found
            .pairs
            .iter()
            .map(|(t, a)| format!("{t}.{a}"))
            .collect();
        println!(
            "{backend:?}: {} (tool, argument) pairs and {} unlisted tools, {} calls in {:.1?}: {}",
            pairs.len(),
            found.unlisted.len(),
            found.calls,
            started.elapsed(),
            pairs.join(", ")
        );
        assert!(
            pairs.len() >= 2,
            "{backend:?}: too few id-like arguments found: {pairs:?}"
        );
        defects.extend(
            found
                .defects
                .into_iter()
                .map(|d| format!("{backend:?}: {d}")),
        );
    }
    assert!(
        defects.is_empty(),
        "{} answers tell B's ids apart or show them:\n{}",
        defects.len(),
        defects.join("\n")
    );
}
