// The snapshot a decision is made on, included into `sqlite.rs` and `postgres.rs` by `ledger.rs`:
// the customer, one meter's usage in the hour, day and month windows containing now and in the
// billing period, its billable usage (since the current plan's billing began) in the month and the
// period per priced value, and the live credit grants. One query reads sum, count and max for all
// six spans (`span_sums.rs`, which also reads them for a group's customers at once); a level
// meter (`max`, `last`) adds one read of its hourly rows for its latest value, and a `unique`
// meter one count of distinct values. `consume` decides on the same state under the customer's
// lock, and records what it allowed.


use super::{Counted, EntitlementLedger, Snapshot};
use crate::core::entitlement::windows_for;
use crate::core::period::{Interval, Window};

/// The spans a snapshot counts, in this order: the hour, day and month windows containing now,
/// the billing period, and the month window and period from when the current plan's billing
/// began (what prices and included units read).
const SNAPSHOT_SPANS: usize = 6;

/// Distinct values of a `unique` meter in every snapshot span.
static DISTINCT_SQL: LazyLock<&'static str> = LazyLock::new(|| {
    let columns: Vec<String> = (0..SNAPSHOT_SPANS)
        .map(|i| {
            let (start, end, floor) = (3 + 3 * i, 4 + 3 * i, 5 + 3 * i);
            format!("COUNT(DISTINCT CASE WHEN hour >= ${floor} AND hour < ${end} AND last_at >= ${start} AND first_at < ${end} THEN value END) AS d{i}")
        })
        .collect();
    let (lo, hi) = (3 + 3 * SNAPSHOT_SPANS, 4 + 3 * SNAPSHOT_SPANS);
    let sql = format!(
        "SELECT {} FROM usage_distinct WHERE customer_id = $1 AND meter = $2 AND hour >= ${lo} AND hour < ${hi}",
        columns.join(", ")
    );
    Box::leak(sql.into_boxed_str())
});

#[derive(sqlx::FromRow)]
struct DistinctSums {
    d0: i64,
    d1: i64,
    d2: i64,
    d3: i64,
    d4: i64,
    d5: i64,
}

#[derive(sqlx::FromRow)]
struct LastRow {
    tool: String,
    first_at: i64,
    last_at: i64,
    last_q: i64,
}

/// A meter's tallies in each snapshot span, per value; its sums as `ahead` read them when they
/// were read for these spans.
async fn snapshot_tallies(conn: &mut Conn, customer: &str, counted: Counted<'_>, spans: &[Span; SNAPSHOT_SPANS], ahead: Option<ReadAhead>) -> Result<Vec<BTreeMap<String, Tally>>, StoreError> {
    let (lo, hi) = row_hours(spans);
    let rows = match ahead {
        Some(read) if read.spans == *spans => read.rows,
        _ => {
            let mut q = sqlx::query_as::<Db, SpanSums>(*SNAPSHOT_SQL).bind(customer).bind(counted.meter);
            for s in spans {
                q = q.bind(s.start).bind(s.end);
            }
            q.bind(lo).bind(hi).fetch_all(&mut *conn).await?
        }
    };
    let mut out: Vec<BTreeMap<String, Tally>> = vec![BTreeMap::new(); SNAPSHOT_SPANS];
    let mut across = [false; SNAPSHOT_SPANS];
    for r in rows {
        for (i, x) in r.across().into_iter().enumerate() {
            across[i] |= x > 0;
        }
        for (i, t) in r.tallies().into_iter().enumerate() {
            if t.count > 0 {
                out[i].insert(r.tool.clone(), t);
            }
        }
    }
    if counted.aggregation.is_gauge() {
        let rows = sqlx::query_as::<Db, LastRow>(
            "SELECT tool, first_at, last_at, last_q FROM usage_hourly WHERE customer_id = $1 AND meter = $2 AND hour > $3 AND hour < $4 AND events > 0",
        )
        .bind(customer)
        .bind(counted.meter)
        .bind(lo)
        .bind(hi)
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            for (i, s) in spans.iter().enumerate() {
                if r.first_at >= s.start && r.last_at < s.end {
                    let latest = Tally { last: Some((r.last_at, as_u64(r.last_q))), ..Tally::default() };
                    out[i].entry(r.tool.clone()).or_default().merge(&latest);
                }
            }
        }
    }
    // A span some row crosses (a range on an earlier grid) is read exactly, events included.
    for (i, s) in spans.iter().enumerate() {
        if across[i] && s.start < s.end {
            out[i] = exact_span(conn, customer, counted.meter, *s).await?.remove(counted.meter).unwrap_or_default();
        }
    }
    if counted.aggregation == Aggregation::Unique {
        let mut q = sqlx::query_as::<Db, DistinctSums>(*DISTINCT_SQL).bind(customer).bind(counted.meter);
        for s in spans {
            q = q.bind(s.start).bind(s.end).bind(floor_hour(s.start));
        }
        let first = spans.iter().map(|s| floor_hour(s.start)).min().unwrap_or(0);
        let last = spans.iter().map(|s| s.end).max().unwrap_or(0);
        let d = q.bind(first).bind(last).fetch_one(&mut *conn).await?;
        for (i, count) in [d.d0, d.d1, d.d2, d.d3, d.d4, d.d5].into_iter().enumerate() {
            out[i].entry(String::new()).or_default().distinct = as_u64(count);
        }
    }
    Ok(out)
}

/// The state decisions are made on: the customer, the meter's usage per window, its billable
/// usage per value in the month and the period, and the live credit grants.
async fn load_snapshot(conn: &mut Conn, customer: &str, counted: Option<Counted<'_>>, now: i64) -> Result<Option<(Snapshot, Option<Spans>)>, StoreError> {
    let Some(record) = fetch_customer(conn, customer).await? else { return Ok(None) };
    snapshot_of(conn, record, counted, now).await.map(Some)
}

/// The spans a snapshot of the customer taken at `now` counts.
fn spans_at(record: &CustomerRecord, now: i64) -> Result<Spans, StoreError> {
    let interval = Interval::stored(&record.billing_interval);
    let (spans, period) = windows_for(record.period_anchor, interval, now).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let span = |w: Window| spans.get(&w).copied().unwrap_or(period);
    let from = billable_from(record.plan_since, record.trial_ends_at, now);
    Ok(Spans {
        hour: span(Window::Hour),
        day: span(Window::Day),
        month: span(Window::Month),
        period,
        month_billable: from_on(span(Window::Month), from),
        period_billable: from_on(period, from),
    })
}

/// A customer's live grants and holds, as its snapshot counts them.
#[derive(Default, Clone)]
struct Live {
    grants: Vec<GrantRecord>,
    holds: Vec<LiveHold>,
}

/// The live grants and holds of each of `customers`, one statement of each per [`INSERT_CHUNK`]
/// customers: what a group's snapshots read at once instead of two statements per customer.
async fn live_of(conn: &mut Conn, customers: &BTreeSet<&str>, now: i64) -> Result<HashMap<String, Live>, StoreError> {
    let mut live: HashMap<String, Live> = HashMap::with_capacity(customers.len());
    let ids: Vec<&str> = customers.iter().copied().collect();
    for chunk in ids.chunks(INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(select_grants!("WHERE remaining > 0 AND customer_id IN "));
        push_in(&mut qb, chunk);
        for g in qb.build_query_as::<GrantRecord>().persistent(LISTS_CACHED).fetch_all(&mut *conn).await? {
            live.entry(g.customer_id.clone()).or_default().grants.push(g);
        }
        let mut qb = QueryBuilder::<Db>::new(concat!("SELECT ", live_hold_columns!(), " FROM holds WHERE status = 'held' AND expires_at > "));
        qb.push_bind(now).push(" AND customer_id IN ");
        push_in(&mut qb, chunk);
        for h in qb.build_query_as::<LiveHold>().persistent(LISTS_CACHED).fetch_all(&mut *conn).await? {
            live.entry(h.customer_id.clone()).or_default().holds.push(h);
        }
    }
    Ok(live)
}

/// The snapshot of a customer whose row is read.
async fn snapshot_of(conn: &mut Conn, record: CustomerRecord, counted: Option<Counted<'_>>, now: i64) -> Result<(Snapshot, Option<Spans>), StoreError> {
    let live = Live { grants: live_grants(conn, &record.id).await?, holds: live_holds(conn, &record.id, now).await? };
    snapshot_with(conn, record, counted, now, live, None).await
}

/// The spans a snapshot counts, in [`SNAPSHOT_SQL`]'s order.
fn snapshot_spans(s: &Spans) -> [Span; SNAPSHOT_SPANS] {
    [s.hour, s.day, s.month, s.period, s.month_billable, s.period_billable]
}

/// The snapshot of a customer whose row, live grants and live holds are read (holds that expired
/// by `now` count no more), and perhaps the counted meter's sums (see [`snapshot_tallies`]).
async fn snapshot_with(conn: &mut Conn, record: CustomerRecord, counted: Option<Counted<'_>>, now: i64, live: Live, ahead: Option<ReadAhead>) -> Result<(Snapshot, Option<Spans>), StoreError> {
    let customer = record.id.clone();
    let customer = customer.as_str();
    let mut in_window = BTreeMap::new();
    let mut period_total = Tally::default();
    let (mut month_by_value, mut period_by_value) = (BTreeMap::new(), BTreeMap::new());
    let mut counted_spans = None;
    if let Some(counted) = counted {
        let s = spans_at(&record, now)?;
        let mut tallies = snapshot_tallies(conn, customer, counted, &snapshot_spans(&s), ahead).await?;
        period_by_value = tallies.pop().unwrap_or_default();
        month_by_value = tallies.pop().unwrap_or_default();
        let mut tallies = tallies.into_iter().map(|by_value| crate::core::usage::merged(by_value.values()));
        for w in [Window::Hour, Window::Day, Window::Month] {
            in_window.insert(w, tallies.next().unwrap_or_default());
        }
        period_total = tallies.next().unwrap_or_default();
        counted_spans = Some(s);
    }
    let grants = live.grants.iter().map(GrantRecord::to_core).collect();
    let mut snapshot = Snapshot { loaded_at: now, customer: record, in_window, period_total, month_by_value, period_by_value, grants, value_counted: false, held: HoldsCounted::default() };
    let holds: Vec<LiveHold> = live.holds.into_iter().filter(|h| h.expires_at > now).collect();
    if !holds.is_empty() {
        fold_holds(&mut snapshot, counted_spans.as_ref(), counted.map(|c| c.meter), &holds, now);
    }
    Ok((snapshot, counted_spans))
}

/// Whether a `unique` meter's value occurred in `span` (it would add nothing to the count).
async fn value_counted(conn: &mut Conn, customer: &str, meter: &str, value: &str, span: Span) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar::<Db, String>(
        "SELECT value FROM usage_distinct WHERE customer_id = $1 AND meter = $2 AND value = $3 \
         AND hour >= $4 AND hour < $5 AND last_at >= $6 AND first_at < $5 LIMIT 1",
    )
    .bind(customer)
    .bind(meter)
    .bind(value)
    .bind(floor_hour(span.start))
    .bind(span.end)
    .bind(span.start)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

async fn event_by_key(conn: &mut Conn, customer: &str, key: &str) -> Result<Option<String>, StoreError> {
    // The key of an event retention removed stays taken.
    Ok(sqlx::query_scalar::<Db, String>(
        "SELECT id FROM usage_events WHERE customer_id = $1 AND idempotency_key = $2 \
         UNION ALL SELECT event_id FROM usage_event_keys WHERE customer_id = $1 AND idempotency_key = $2",
    )
    .bind(customer)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Check and record under the customer's lock: no two consumes see the same state. A repeated
/// idempotency key answers the first event: found by the insert that skips it when the call is
/// allowed, looked up before answering a denial.
async fn consume(conn: &mut Conn, request: ConsumeRequest, known: &Known) -> Result<Consumed, StoreError> {
    let Some(record) = known.live(&request.customer).cloned() else {
        return Ok(Consumed::UnknownCustomer);
    };
    let key = request.event.as_ref().and_then(|e| e.idempotency_key.clone());
    let counted = request.meter.as_ref().map(|(meter, aggregation)| Counted { meter, aggregation: *aggregation });
    let (mut snapshot, spans) = snapshot_of(conn, record, counted, request.now).await?;
    // Grants past their expiry (which no decision counts) are written off.
    if snapshot.grants.iter().any(|g| g.remaining > 0 && g.expires_at.is_some_and(|at| at <= request.now)) {
        expire_credits(conn, &request.customer, request.now).await?;
    }
    if let (Some(value), Some(spans)) = (request.event.as_ref().and_then(|e| e.distinct.as_deref()), spans) {
        let meter = request.event.as_ref().map_or("", |e| e.meter.as_str());
        snapshot.value_counted = value_counted(conn, &request.customer, meter, value, spans.month).await?;
    }
    let mut verdict = (request.decide)(&snapshot);
    let parts = match credit::burn(&snapshot.grants, verdict.credits, request.now) {
        Ok(parts) if verdict.decision.allowed => parts,
        burned => {
            if let Some(event_id) = match key.as_deref() {
                Some(key) => event_by_key(conn, &request.customer, key).await?,
                None => None,
            } {
                return Ok(Consumed::Duplicate { event_id });
            }
            if verdict.decision.allowed && burned.is_err() {
                verdict.decision.allowed = false;
                verdict.decision.reason = crate::core::entitlement::Reason::InsufficientCredits;
            }
            return Ok(Consumed::Decided { verdict: Box::new(verdict), event_id: None });
        }
    };
    let mut event = request.event;
    if let (Some(e), Some(level)) = (event.as_mut(), verdict.record_quantity) {
        e.quantity = i64::try_from(level).map_err(|_| StoreError::Corrupt("quantity overflows".into()))?;
    }
    let event_id = match &event {
        Some(event) => match insert_events(conn, std::slice::from_ref(event), known).await?.pop() {
            Some(Recorded::Recorded { id }) => Some(id),
            Some(Recorded::Duplicate { id }) => return Ok(Consumed::Duplicate { event_id: id }),
            _ => return Ok(Consumed::UnknownCustomer),
        },
        None => None,
    };
    for (grant_id, take) in parts {
        take_credits(conn, &request.customer, &grant_id, take, "debit", event_id.as_deref(), request.now).await?;
    }
    Ok(Consumed::Decided { verdict: Box::new(verdict), event_id })
}

#[async_trait::async_trait]
impl EntitlementLedger for Backend {
    async fn consume(&self, request: ConsumeRequest) -> Result<Consumed, StoreError> {
        writer::submit(&self.writer, |r| Op::Consume(request, r)).await
    }

    async fn snapshot(&self, customer: &str, counted: Option<Counted<'_>>, now: i64) -> Result<Option<Arc<Snapshot>>, StoreError> {
        let meter = counted.map(|c| c.meter);
        let generation = match self.cache.get(customer, meter, now) {
            Ok(cached) => return Ok(Some(cached)),
            Err(generation) => generation,
        };
        let mut conn = self.read.acquire().await?;
        let Some((snapshot, spans)) = load_snapshot(&mut conn, customer, counted, now).await? else { return Ok(None) };
        let snapshot = Arc::new(snapshot);
        self.cache.put(meter, Arc::clone(&snapshot), spans, generation, now);
        Ok(Some(snapshot))
    }

    async fn value_counted(&self, customer: &str, meter: &str, value: &str, from: i64, to: i64) -> Result<bool, StoreError> {
        let mut conn = self.read.acquire().await?;
        value_counted(&mut conn, customer, meter, value, crate::core::period::Span { start: from, end: to }).await
    }
}
