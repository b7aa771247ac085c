//! One backend's run: a fresh server, the setup (two customers, a grant, an event, a key to
//! rotate and revoke, a customer key), the campaign's calls (generated on the first backend,
//! replayed as they are on the others), the checks, and a one-line summary of the answers.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

use billing_mcp::access::Role;
use billing_mcp::service::keys;
use serde_json::{Value, json};

use super::calls::{Call, Who, campaign};
use super::checks::{AuditFigures, check_audit, check_outcome};
use super::normalise::answer_text;
use super::outcome::{Outcome, Record, perform, substitute};
use super::panics::PANICS;
use super::report::Problems;
use super::{EVENT_ID, GRANT_ID, KEY_ID, OTHER, OWN};
use crate::support::{Backend, Client, Harness};

/// The error codes the README documents ("Tools"; `quota_exceeded` under "Access"). Any other
/// snake_case code is accepted and named in the summary as undocumented.
const DOCUMENTED_CODES: [&str; 33] = [
    "invalid_params",
    "unknown_customer",
    "unknown_meter",
    "unknown_feature",
    "unknown_plan",
    "no_plan",
    "forbidden",
    "rate_limited",
    "unauthorized",
    "unknown_key",
    "key_inactive",
    "stripe_not_configured",
    "stripe_error",
    "stripe_unreachable",
    "stripe_unexpected_response",
    "customer_not_linked",
    "confirmation_required",
    "not_confirmed",
    "unknown_webhook_event",
    "already_processed",
    "catalog_not_synced",
    "meter_not_synced",
    "no_subscription",
    "ambiguous_subscription",
    "idempotency_key_reused",
    "customer_deleted",
    "promotion_code_not_found",
    "promotion_code_not_redeemable",
    "unknown_credit_pack",
    "onboarding_not_found",
    "onboarding_expired",
    "internal_error",
    "quota_exceeded",
];

/// What one backend answered, and what went wrong there.
pub(super) struct Run {
    pub(super) backend: Backend,
    /// The tools and input schemas the operator listed.
    pub(super) schemas: Vec<(String, Value)>,
    pub(super) records: Vec<Record>,
    pub(super) problems: Problems,
    pub(super) summary: String,
}

/// The tools and their input schemas, as the operator lists them.
async fn schemas_of(client: &Client) -> Vec<(String, Value)> {
    client
        .inner
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name.to_string(), Value::Object((*t.input_schema).clone())))
        .collect()
}

/// The campaign on a fresh server on `backend`: the calls of `plan`, or (without one) the calls
/// made from the tools this server lists, returned so the next backend replays them.
pub(super) async fn run_backend(backend: Backend, plan: Option<&[Call]>) -> (Run, Vec<Call>) {
    let h = Harness::new(backend).await;
    let mut operator = h.client().await;
    let mut records: Vec<Record> = Vec::new();
    let mut problems = Problems::default();
    let panics_before = PANICS.load(Ordering::SeqCst);

    // Setup: two customers, a grant, an event, a key to rotate and revoke; through the same
    // client, so they count (and are audited) like every other call.
    let setup = [
        (
            "create_customer",
            json!({"customer": OWN, "plan": "starter", "name": "Fuzz A"}),
        ),
        (
            "create_customer",
            json!({"customer": OTHER, "plan": "free"}),
        ),
        (
            "grant_credits",
            json!({"customer": OWN, "credits": 100, "idempotency_key": "fz-setup-grant"}),
        ),
        (
            "record_usage",
            json!({"customer": OWN, "meter": "tool_calls", "quantity": 1, "idempotency_key": "fz-setup-usage"}),
        ),
        (
            "create_api_key",
            json!({"role": "service", "name": "fuzz: rotated and revoked"}),
        ),
    ];
    let mut captured: Vec<Value> = Vec::new();
    for (tool, args) in setup {
        let call = Call {
            who: Who::Operator,
            tool: tool.into(),
            label: "setup".into(),
            args: args.clone(),
        };
        let outcome = perform(&operator, tool, &args).await;
        let Outcome::Ok(v) = &outcome else {
            panic!("{backend:?}: setup {tool}({args}) failed: {outcome:?}");
        };
        captured.push(v.clone());
        records.push(Record {
            answer: answer_text(tool, &outcome),
            code: outcome.code(),
            call,
        });
    }
    let text = |v: &Value| v.as_str().map(String::from).unwrap_or_default();
    let values = [
        (GRANT_ID, text(&captured[2]["grant_id"])),
        (EVENT_ID, text(&captured[3]["event_id"])),
        (KEY_ID, text(&captured[4]["key"]["key_id"])),
    ];
    for (name, value) in &values {
        assert!(
            !value.is_empty(),
            "{backend:?}: setup gave no {name}: {captured:?}"
        );
    }
    // The customer key has a rate of its own, so the campaign is never rate limited on the
    // fixed clock (refusals are `forbidden` and `invalid_params`, not `rate_limited`).
    let secret = keys::create(
        &h.app,
        keys::NewKey {
            rate_per_minute: Some(1_000_000),
            burst: Some(1_000_000),
            ..keys::NewKey::new(Role::Customer, Some(OWN.into()))
        },
    )
    .await
    .unwrap()
    .secret
    .unwrap();
    let mut customer = h.client_as(&secret).await;

    let schemas = schemas_of(&operator).await;
    let customer_tools: Vec<String> = schemas_of(&customer)
        .await
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let calls = match plan {
        Some(calls) => calls.to_vec(),
        None => campaign(&schemas, &customer_tools),
    };

    let started = Instant::now();
    for call in &calls {
        let args = substitute(&call.args, &values);
        let client = match call.who {
            Who::Operator => &operator,
            Who::Customer => &customer,
        };
        let outcome = perform(client, &call.tool, &args).await;
        check_outcome(call, &outcome, &mut problems);
        if matches!(outcome, Outcome::Protocol(_) | Outcome::Timeout) {
            // The connection may be gone: go on with new ones.
            operator = h.client().await;
            customer = h.client_as(&secret).await;
        }
        records.push(Record {
            answer: answer_text(&call.tool, &outcome),
            code: outcome.code(),
            call: Call {
                args,
                ..call.clone()
            },
        });
    }
    let elapsed = started.elapsed();
    let panics = PANICS.load(Ordering::SeqCst) - panics_before;
    if panics > 0 {
        problems.add(
            "panics on the server's thread",
            format!("{panics} panics on the server's thread"),
        );
    }

    let AuditFigures {
        entries,
        expected,
        largest,
        mean,
    } = check_audit(&h, &operator, &records, &mut problems).await;

    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &records {
        *by_code.entry(r.code.as_str()).or_default() += 1;
    }
    let operator_calls = records
        .iter()
        .filter(|r| r.call.who == Who::Operator)
        .count();
    let codes: Vec<String> = by_code.iter().map(|(c, n)| format!("{c}={n}")).collect();
    let undocumented: Vec<&str> = by_code
        .keys()
        .copied()
        .filter(|c| *c != "ok" && !DOCUMENTED_CODES.contains(c))
        .collect();
    let summary = format!(
        "fuzz {backend:?}: {} calls ({operator_calls} operator, {} customer key) in {:.1}s; {} (undocumented: {}); audit: {} entries (expected at least {}), largest {largest} B, mean {mean} B; {} problems",
        records.len(),
        records.len() - operator_calls,
        elapsed.as_secs_f64(),
        codes.join(" "),
        if undocumented.is_empty() {
            "none".to_string()
        } else {
            undocumented.join(", ")
        },
        entries,
        expected,
        problems.count()
    );
    let run = Run {
        backend,
        schemas,
        records,
        problems,
        summary,
    };
    (run, calls)
}
