// Reading a span's usage back from the hourly rows, included into `sqlite.rs` and `postgres.rs` by
// `ledger.rs`. A row holds the events of at most an hour from its start ([`bucket_of`]: the
// customer's own hours, cut at its plan start and trial end), with the times of its first and
// latest event. A row wholly inside a span counts as it is; only a row across a span's edge is
// completed from the events themselves. The customer's windows, periods and billable spans start
// and end between rows, so a decision or an invoice reads rows alone, never a partial hour of
// events, whatever the customer's anchor; edges appear only where a span starts elsewhere (a
// range a person chose) or rows were written on an earlier grid (before an anchor moved).

/// Rows that can hold events of `span` start after this (a row spans less than an hour).
fn rows_after(span: Span) -> i64 {
    span.start.saturating_sub(HOUR_MS)
}

/// A row wholly inside span `$s`..`$e`, as SQL.
fn inside_sql(s: usize, e: usize) -> String {
    format!("first_at >= ${s} AND last_at < ${e}")
}

/// A row with events both inside span `$s`..`$e` and outside it, as SQL.
fn across_sql(s: usize, e: usize) -> String {
    format!("first_at < ${e} AND last_at >= ${s} AND (first_at < ${s} OR last_at >= ${e})")
}

#[derive(sqlx::FromRow)]
struct EdgeEvent {
    meter: String,
    tool: String,
    quantity: i64,
    occurred_at: i64,
}

/// The events of `span` (of one meter, or all), tallied by meter and value in the order they
/// happened.
async fn edge_tallies(conn: &mut Conn, customer: &str, meter: Option<&str>, span: Span, into: &mut UsageTotals) -> Result<(), StoreError> {
    let rows = sqlx::query_as::<Db, EdgeEvent>(
        "SELECT meter, tool, quantity, occurred_at FROM usage_events WHERE customer_id = $1 AND ($2 = '' OR meter = $2) \
         AND occurred_at >= $3 AND occurred_at < $4 ORDER BY occurred_at, recorded_at, id",
    )
    .bind(customer)
    .bind(meter.unwrap_or(""))
    .bind(span.start)
    .bind(span.end)
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        let t = Tally::event(r.occurred_at, u64::try_from(r.quantity).unwrap_or(0));
        into.entry(r.meter).or_default().entry(r.tool).or_default().merge(&t);
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RowTally {
    meter: String,
    tool: String,
    first_at: i64,
    last_at: i64,
    quantity: i64,
    events: i64,
    max_q: i64,
    last_q: i64,
}

impl RowTally {
    fn tally(&self) -> Tally {
        Tally { sum: as_u64(self.quantity), count: as_u64(self.events), max: as_u64(self.max_q), last: Some((self.last_at, as_u64(self.last_q))), distinct: 0 }
    }

    /// The times of its events, as a span.
    fn times(&self) -> Span {
        Span { start: self.first_at, end: self.last_at.saturating_add(1) }
    }
}

/// Spans merged where they touch or overlap, in order.
fn merged_spans(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| s.start);
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// A span's usage (of one meter, or all) exactly, whatever the rows: those wholly inside as they
/// are; the events themselves over the times of the rows across its edges, and of any row whose
/// times overlap those (rows of an earlier grid), so each event is counted once.
async fn exact_span(conn: &mut Conn, customer: &str, meter: Option<&str>, span: Span) -> Result<UsageTotals, StoreError> {
    let rows = sqlx::query_as::<Db, RowTally>(
        "SELECT meter, tool, first_at, last_at, quantity, events, max_q, last_q FROM usage_hourly \
         WHERE customer_id = $1 AND ($2 = '' OR meter = $2) AND hour > $3 AND hour < $4 AND first_at < $4 AND last_at >= $5 AND events > 0",
    )
    .bind(customer)
    .bind(meter.unwrap_or(""))
    .bind(rows_after(span))
    .bind(span.end)
    .bind(span.start)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_meter: BTreeMap<&str, Vec<&RowTally>> = BTreeMap::new();
    for r in &rows {
        by_meter.entry(r.meter.as_str()).or_default().push(r);
    }
    let mut totals = UsageTotals::new();
    for (meter, rows) in by_meter {
        let inside = |r: &RowTally| r.first_at >= span.start && r.last_at < span.end;
        let mut from_events: Vec<bool> = rows.iter().map(|r| !inside(r)).collect();
        let mut raw: Vec<Span> = rows.iter().filter(|r| !inside(r)).map(|r| r.times()).collect();
        // A row whose times overlap events read one by one is read one by one too.
        let mut grew = !raw.is_empty();
        while grew {
            grew = false;
            for (i, r) in rows.iter().enumerate() {
                if !from_events[i] && raw.iter().any(|u| r.first_at < u.end && r.last_at >= u.start) {
                    from_events[i] = true;
                    raw.push(r.times());
                    grew = true;
                }
            }
        }
        for (r, _) in rows.iter().zip(&from_events).filter(|(_, e)| !**e) {
            totals.entry(meter.to_string()).or_default().entry(r.tool.clone()).or_default().merge(&r.tally());
        }
        let within = raw.into_iter().map(|u| Span { start: u.start.max(span.start), end: u.end.min(span.end) }).filter(|u| u.start < u.end).collect();
        for u in merged_spans(within) {
            edge_tallies(conn, customer, Some(meter), u, &mut totals).await?;
        }
    }
    Ok(totals)
}

#[derive(sqlx::FromRow)]
struct SpanTotal {
    meter: String,
    tool: String,
    sum_q: i64,
    events: i64,
    max_q: i64,
    last_at: i64,
    last_q: i64,
    across: i64,
}

#[derive(sqlx::FromRow)]
struct DistinctTotal {
    meter: String,
    distinct_q: i64,
}

fn as_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

static SPAN_TOTALS_SQL: LazyLock<String> = LazyLock::new(|| {
    let inside = inside_sql(4, 2);
    format!(
        "SELECT meter, tool, CAST(SUM(CASE WHEN {inside} THEN quantity ELSE 0 END) AS BIGINT) AS sum_q, \
         CAST(SUM(CASE WHEN {inside} THEN events ELSE 0 END) AS BIGINT) AS events, \
         CAST(MAX(CASE WHEN {inside} THEN max_q ELSE 0 END) AS BIGINT) AS max_q, \
         CAST(MAX(CASE WHEN {inside} THEN last_at ELSE 0 END) AS BIGINT) AS last_at, \
         CAST(COALESCE((SELECT l.last_q FROM usage_hourly l WHERE l.customer_id = $1 AND l.meter = h.meter AND l.tool = h.tool \
           AND l.hour > $3 AND l.hour < $2 AND l.first_at >= $4 AND l.last_at < $2 AND l.events > 0 ORDER BY l.last_at DESC LIMIT 1), 0) AS BIGINT) AS last_q, \
         CAST(SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS BIGINT) AS across \
         FROM usage_hourly h WHERE customer_id = $1 AND hour > $3 AND hour < $2 AND first_at < $2 AND last_at >= $4 AND events > 0 GROUP BY meter, tool",
        across_sql(4, 2)
    )
});

/// A span's usage per meter and value (a `unique` meter's distinct count on its '' entry).
async fn span_totals(conn: &mut Conn, customer: &str, span: Span) -> Result<UsageTotals, StoreError> {
    if span.end <= span.start {
        return Ok(UsageTotals::new());
    }
    let rows = sqlx::query_as::<Db, SpanTotal>(SPAN_TOTALS_SQL.as_str())
        .bind(customer)
        .bind(span.end)
        .bind(rows_after(span))
        .bind(span.start)
        .fetch_all(&mut *conn)
        .await?;
    let mut totals = if rows.iter().any(|r| r.across > 0) {
        exact_span(conn, customer, None, span).await?
    } else {
        let mut totals = UsageTotals::new();
        for r in rows.into_iter().filter(|r| r.events > 0) {
            let t = Tally { sum: as_u64(r.sum_q), count: as_u64(r.events), max: as_u64(r.max_q), last: Some((r.last_at, as_u64(r.last_q))), distinct: 0 };
            totals.entry(r.meter).or_default().entry(r.tool).or_default().merge(&t);
        }
        totals
    };
    let distinct = sqlx::query_as::<Db, DistinctTotal>(
        "SELECT meter, COUNT(DISTINCT value) AS distinct_q FROM usage_distinct WHERE customer_id = $1 \
         AND hour >= $2 AND hour < $3 AND last_at >= $4 AND first_at < $3 GROUP BY meter",
    )
    .bind(customer)
    .bind(floor_hour(span.start))
    .bind(span.end)
    .bind(span.start)
    .fetch_all(&mut *conn)
    .await?;
    for d in distinct {
        totals.entry(d.meter).or_default().entry(String::new()).or_default().distinct = as_u64(d.distinct_q);
    }
    Ok(totals)
}
