//! A span's usage as the ledger reads it back equals the events' own tallies, whatever the span:
//! on the customer's hours, across them, and across rows written before its anchor moved and
//! before its plan changed (backdated events included). Both backends.

use std::collections::BTreeMap;

use billing_mcp::core::usage::Tally;
use billing_mcp::store::{self, NewCustomer, NewEvent, PlanChange, Store};

use crate::support::{HOUR, NOW, backends, test_db};

const METERS: [&str; 2] = ["tool_calls", "tokens"];
const TOOLS: [&str; 3] = ["", "search", "fetch"];

/// A small deterministic generator (the same events on every run and backend).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: i64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as i64
    }
}

struct Recorded {
    meter: &'static str,
    tool: &'static str,
    quantity: i64,
    at: i64,
}

/// `n` events between `from` and `to`, at times no other event has.
async fn record(
    store: &Store,
    rng: &mut Lcg,
    seen: &mut Vec<Recorded>,
    n: usize,
    from: i64,
    to: i64,
) {
    let mut batch = Vec::new();
    for _ in 0..n {
        let at = loop {
            let t = from + rng.below(to - from);
            if seen.iter().all(|e| e.at != t) {
                break t;
            }
        };
        let e = Recorded {
            meter: METERS[rng.below(2) as usize],
            tool: TOOLS[rng.below(3) as usize],
            quantity: 1 + rng.below(9),
            at,
        };
        batch.push(NewEvent {
            id: billing_mcp::ids::new_id("evt"),
            customer: "acme".into(),
            meter: e.meter.into(),
            quantity: e.quantity,
            occurred_at: e.at,
            tool: e.tool.into(),
            dimensions: "{}".into(),
            idempotency_key: None,
            recorded_at: NOW,
            distinct: None,
            to_stripe: false,
        });
        seen.push(e);
    }
    store.record_usage(batch).await.unwrap();
}

/// The tallies of the events in `from..to`, counted one by one.
fn by_hand(events: &[Recorded], from: i64, to: i64) -> BTreeMap<String, BTreeMap<String, Tally>> {
    let mut out: BTreeMap<String, BTreeMap<String, Tally>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.at >= from && e.at < to) {
        out.entry(e.meter.into())
            .or_default()
            .entry(e.tool.into())
            .or_default()
            .merge(&Tally::event(e.at, e.quantity as u64));
    }
    out
}

fn change(anchor: i64, plan: &str, new_period: bool, at: i64) -> PlanChange {
    PlanChange {
        customer: "acme".into(),
        plan: Some(plan.into()),
        billing_interval: "month".into(),
        status: "active".into(),
        period_anchor: anchor,
        trial_ends_at: None,
        new_period,
        at,
        now: at,
    }
}

#[tokio::test]
async fn every_span_reads_what_its_events_add_up_to() {
    for backend in backends() {
        let db = test_db(backend).await;
        let store = store::open(&db.url).await.unwrap();
        // An anchor at an odd millisecond: the customer's hours are not the clock's.
        let first = NOW - 6 * HOUR + 1_234_567;
        store
            .create_customer(NewCustomer {
                id: "acme".into(),
                name: None,
                email: None,
                plan: Some("free".into()),
                billing_interval: "month".into(),
                status: "active".into(),
                period_anchor: first,
                trial_ends_at: None,
                metadata: "{}".into(),
                now: first,
            })
            .await
            .unwrap();
        let (mut rng, mut seen) = (Lcg(7), Vec::new());
        // Events, then a new period on another grid, more events (some before it), then a plan
        // change inside an hour of the new grid, and more events again.
        let second = first + 3 * HOUR + 777_777;
        let plan_change = second + HOUR + 4_321;
        let phases = [
            (None, 300, first - 2 * HOUR, first + 4 * HOUR),
            (
                Some(change(second, "starter", true, second)),
                300,
                first - 2 * HOUR,
                second + 4 * HOUR,
            ),
            (
                Some(change(second, "professional", false, plan_change)),
                200,
                first - HOUR,
                second + 5 * HOUR,
            ),
        ];
        for (plan, n, from, to) in phases {
            if let Some(plan) = plan {
                store.change_plan(plan).await.unwrap();
            }
            record(&store, &mut rng, &mut seen, n, from, to).await;
        }
        let mut spans = vec![
            (first, first + HOUR),
            (first, first + 24 * HOUR),
            (second, second + HOUR),
            (second + HOUR, second + 2 * HOUR),
            (second, second + 31 * 24 * HOUR),
            (plan_change, second + 31 * 24 * HOUR),
            (first - 3 * HOUR, second + 6 * HOUR),
            (NOW - NOW % HOUR, NOW - NOW % HOUR + HOUR),
        ];
        for _ in 0..120 {
            let s = first - 3 * HOUR + rng.below(12 * HOUR);
            spans.push((s, s + 1 + rng.below(4 * HOUR)));
        }
        for (from, to) in spans {
            let read = store.usage_totals("acme", from, to).await.unwrap();
            assert_eq!(
                read,
                by_hand(&seen, from, to),
                "{backend:?}: {from}..{to} (first anchor {first}, second {second}, plan change {plan_change})"
            );
        }
    }
}
