//! A span's usage as the ledger reads it back equals the events' own tallies, whatever the span:
//! on the customer's hours and months, across them, and across rows written before its anchor
//! moved and before its plan changed (backdated events included); and the usage series over all
//! customers counts each hour of its range once. Both backends.

use std::collections::BTreeMap;

use billing_mcp::core::usage::Tally;
use billing_mcp::store::{self, NewCustomer, NewEvent, PlanChange, Store};

use crate::support::{DAY, HOUR, NOW, backends, test_db};

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

/// Customer `acme` on the free plan, its billing anchor at `anchor`.
async fn open_account(store: &Store, anchor: i64) {
    store
        .create_customer(NewCustomer {
            id: "acme".into(),
            name: None,
            email: None,
            plan: Some("free".into()),
            billing_interval: "month".into(),
            status: "active".into(),
            period_anchor: anchor,
            trial_ends_at: None,
            metadata: "{}".into(),
            now: anchor,
        })
        .await
        .unwrap();
}

/// Each phase in turn: its plan change (if any), then `n` events between its two times.
async fn play(
    store: &Store,
    rng: &mut Lcg,
    seen: &mut Vec<Recorded>,
    phases: impl IntoIterator<Item = (Option<PlanChange>, usize, i64, i64)>,
) {
    for (plan, n, from, to) in phases {
        if let Some(plan) = plan {
            store.change_plan(plan).await.unwrap();
        }
        record(store, rng, seen, n, from, to).await;
    }
}

/// Every span of `acme` reads what its events add up to.
async fn assert_spans(store: &Store, seen: &[Recorded], spans: Vec<(i64, i64)>, what: &str) {
    for (from, to) in spans {
        let read = store.usage_totals("acme", from, to).await.unwrap();
        assert_eq!(read, by_hand(seen, from, to), "{from}..{to} ({what})");
    }
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
        open_account(&store, first).await;
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
        play(&store, &mut rng, &mut seen, phases).await;
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
        let what = format!(
            "{backend:?}, first anchor {first}, second {second}, plan change {plan_change}"
        );
        assert_spans(&store, &seen, spans, &what).await;
    }
}

/// Months of usage: periods and billing months are read from whole monthly pieces, and any other
/// span (across month windows, plan changes and a moved anchor) from the pieces inside it, the
/// hours inside the rest and the events at its very edges — always what the events add up to.
#[tokio::test]
async fn spans_over_months_read_what_their_events_add_up_to() {
    use billing_mcp::core::period::{Window, window_span};
    for backend in backends() {
        let db = test_db(backend).await;
        let store = store::open(&db.url).await.unwrap();
        let first = NOW - 80 * DAY + 1_234_567;
        open_account(&store, first).await;
        let (mut rng, mut seen) = (Lcg(11), Vec::new());
        // A plan change inside the second month, then a new period on another grid in the third
        // (events before each recorded after it, as late events are).
        let plan_change = first + 45 * DAY + 333;
        let second = first + 60 * DAY + 777_777;
        let phases = [
            (None, 400, first - 2 * DAY, first + 40 * DAY),
            (
                Some(change(first, "starter", false, plan_change)),
                300,
                first + 30 * DAY,
                first + 75 * DAY,
            ),
            (
                Some(change(second, "professional", true, second)),
                200,
                first + 50 * DAY,
                first + 80 * DAY,
            ),
        ];
        play(&store, &mut rng, &mut seen, phases).await;
        let mut spans = vec![(plan_change, second), (second, second + 31 * DAY)];
        for k in 0..3 {
            let m = window_span(first, Window::Month, first + k * 31 * DAY).unwrap();
            spans.push((m.start, m.end));
            spans.push((m.start, plan_change));
        }
        for _ in 0..150 {
            let s = first - 3 * DAY + rng.below(85 * DAY);
            spans.push((s, s + 1 + rng.below(40 * DAY)));
        }
        let what =
            format!("{backend:?}, anchor {first}, plan change {plan_change}, new period {second}");
        assert_spans(&store, &seen, spans, &what).await;
    }
}

/// The usage series over all customers (`usage_by_hour`): whole UTC days from the daily totals,
/// the hours of a partial first and last day from the hourly ones, each day once and exactly the
/// hours of the range.
#[tokio::test]
async fn the_usage_series_counts_each_hour_of_its_range_once() {
    for backend in backends() {
        let db = test_db(backend).await;
        let store = store::open(&db.url).await.unwrap();
        // On whole UTC hours, so the customer's hours are the clock's.
        let first = NOW - NOW % DAY - 10 * DAY;
        open_account(&store, first).await;
        let (mut rng, mut seen) = (Lcg(5), Vec::new());
        record(&store, &mut rng, &mut seen, 400, first, first + 8 * DAY).await;
        for (from, to) in [
            (first + DAY + 10 * HOUR, first + 5 * DAY + 15 * HOUR),
            (first + 2 * DAY, first + 6 * DAY),
            (first + 3 * DAY + 2 * HOUR, first + 3 * DAY + 9 * HOUR),
            (first + 4 * DAY, first + 4 * DAY + 13 * HOUR),
            (first + 4 * DAY + 13 * HOUR, first + 7 * DAY),
        ] {
            let mut read: BTreeMap<(String, String, i64), (i64, i64)> = BTreeMap::new();
            for r in store.usage_by_hour(from, to).await.unwrap() {
                assert!(
                    r.hour >= from && r.hour < to,
                    "{backend:?}: a row at {} outside {from}..{to}",
                    r.hour
                );
                let day = read
                    .entry((r.meter, r.tool, r.hour.div_euclid(DAY)))
                    .or_default();
                *day = (day.0 + r.quantity, day.1 + r.events);
            }
            let mut by_hand: BTreeMap<(String, String, i64), (i64, i64)> = BTreeMap::new();
            for e in seen
                .iter()
                .filter(|e| e.at - e.at % HOUR >= from && e.at < to)
            {
                let day = by_hand
                    .entry((e.meter.into(), e.tool.into(), e.at.div_euclid(DAY)))
                    .or_default();
                *day = (day.0 + e.quantity, day.1 + 1);
            }
            assert_eq!(read, by_hand, "{backend:?}: {from}..{to}");
        }
    }
}
