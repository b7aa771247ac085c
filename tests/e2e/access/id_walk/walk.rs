//! One backend's walk: every tool the customer key lists, without ids and then with each id-like
//! argument given B's real value and a stand-in, on both transports; then the tools it does not
//! list, every id-like argument at once.

use std::collections::BTreeSet;

use billing_mcp::mcp::tools;
use rmcp::model::Tool;
use serde_json::{Value, json};

use super::TWIN;
use super::answers::{answer, gist, mask_minted};
use super::fixtures::{a_and_twin, give_b_data};
use super::ids::StandIns;
use super::schema::{Kind, Pair, base_args, id_kind};
use crate::support::http::Server;
use crate::support::{A, Harness};

/// What one backend's walk found.
#[derive(Default)]
pub(super) struct Walk {
    pub(super) pairs: BTreeSet<(String, String)>,
    /// Tools the key does not list, called all the same.
    pub(super) unlisted: BTreeSet<String>,
    pub(super) calls: usize,
    pub(super) defects: Vec<String>,
}

pub(super) async fn walk(h: &Harness) -> Walk {
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
