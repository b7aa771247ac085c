//! What the Stripe test server holds: its objects by id and per kind in creation order, the
//! requests it saw, the answers it keeps per idempotency key, the faults it was told to inject;
//! and how requests are read (form parameters) and lists are paged.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::Seen;

/// The `created` time of every object the server makes (2026-11-21T10:30:00Z).
pub(super) const CREATED: i64 = 1_795_257_000;

#[derive(Default)]
pub(super) struct Data {
    /// Objects by id, and ids per kind in creation order.
    pub(super) objects: HashMap<String, Value>,
    pub(super) order: HashMap<&'static str, Vec<String>>,
    pub(super) seen: Vec<Seen>,
    pub(super) idempotent: HashMap<String, (String, StatusCode, Value)>,
    /// Queued failures, each for any path (`None`) or one path.
    pub(super) failures: VecDeque<(Option<String>, (StatusCode, Value))>,
    pub(super) counter: u64,
    pub(super) refunded: HashMap<String, i64>,
    /// Meter events Stripe holds, in arrival order, and their identifiers.
    pub(super) meter_events: Vec<Value>,
    pub(super) identifiers: HashSet<String>,
    /// While on, meter-event requests fail in turn: 500, 429, and accepted-but-answered-500
    /// (the answer lost on the way back).
    pub(super) outage: Option<u64>,
    /// Meter events are answered this long after they are accepted.
    pub(super) meter_delay: Option<std::time::Duration>,
    /// While on, meter-event requests meet Stripe's edge in trouble, in turn: an HTML 502, an
    /// HTML 503, and an event accepted whose answer comes back as an HTML page.
    pub(super) edge_outage: Option<u64>,
    /// Meter events still to be dropped: answered as taken, and not kept.
    pub(super) drop_events: u32,
    /// Requests to these paths are answered this long after they are carried out.
    pub(super) path_delays: HashMap<String, std::time::Duration>,
    /// Meter event stream session tokens: live (true) or expired.
    pub(super) sessions: HashMap<String, bool>,
    pub(super) traffic: super::traffic::Traffic,
}

pub(super) fn next_id(d: &mut Data, prefix: &str) -> String {
    d.counter += 1;
    format!("{prefix}_test{:06}", d.counter)
}

pub(super) fn store(d: &mut Data, kind: &'static str, object: Value) -> Value {
    let id = object["id"].as_str().unwrap().to_string();
    if !d.objects.contains_key(&id) {
        d.order.entry(kind).or_default().push(id.clone());
    }
    d.objects.insert(id, object.clone());
    object
}

/// The value of the first pair named `name`.
pub(super) fn find<'a>(
    pairs: impl IntoIterator<Item = &'a (String, String)>,
    name: &str,
) -> Option<&'a str> {
    pairs
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Form parameters as Stripe reads them: `a[b][c]=v` pairs, nested on demand.
pub(super) struct Form(pub(super) Vec<(String, String)>);

impl Form {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        find(&self.0, name)
    }
    pub(super) fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.parse().ok())
    }
    /// `prefix[key]=value` pairs as a map (metadata).
    pub(super) fn map(&self, prefix: &str) -> Map<String, Value> {
        let start = format!("{prefix}[");
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(&start)?.strip_suffix(']')?;
                (!rest.contains('[')).then(|| (rest.to_string(), json!(v)))
            })
            .collect()
    }
    /// `prefix[i][field]=value` as a list of maps, in index order.
    pub(super) fn list(&self, prefix: &str) -> Vec<BTreeMap<String, String>> {
        let start = format!("{prefix}[");
        let mut items: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&start) else {
                continue;
            };
            let Some((index, field)) = rest.split_once("][") else {
                continue;
            };
            let Ok(index) = index.parse() else { continue };
            items
                .entry(index)
                .or_default()
                .insert(field.trim_end_matches(']').to_string(), v.clone());
        }
        items.into_values().collect()
    }
}

/// One page of a kind, newest first, as Stripe lists: `limit`, `starting_after`, `has_more`.
pub(super) fn list_page(
    d: &Data,
    kind: &'static str,
    query: &Form,
    path: &str,
    keep: impl Fn(&Value) -> bool,
) -> Value {
    let limit = query.int("limit").unwrap_or(10) as usize;
    let mut all: Vec<&Value> = d
        .order
        .get(kind)
        .map(|ids| {
            ids.iter()
                .rev()
                .map(|id| &d.objects[id])
                .filter(|o| keep(o))
                .collect()
        })
        .unwrap_or_default();
    if let Some(after) = query.get("starting_after") {
        let at = all
            .iter()
            .position(|o| o["id"] == after)
            .map_or(all.len(), |i| i + 1);
        all.drain(..at);
    }
    let has_more = all.len() > limit;
    all.truncate(limit);
    json!({"object": "list", "data": all, "has_more": has_more, "url": path})
}

/// One page of a kind narrowed, when the query names `field` (`customer`, `payment_intent`), to
/// the objects whose `field` is that value.
pub(super) fn list_matching(
    d: &Data,
    kind: &'static str,
    query: &Form,
    path: &str,
    field: &str,
) -> Value {
    let wanted = query.get(field);
    list_page(d, kind, query, path, |o| {
        wanted.is_none_or(|w| o[field] == w)
    })
}
