// Reading a span's usage back, included into `sqlite.rs` and `postgres.rs` by `ledger.rs`, from
// three levels that each hold every event once: monthly pieces (`usage_monthly`, a customer's
// month windows cut at its plan start and trial end), hourly rows (`usage_hourly`, its own hours,
// cut the same way) and the events. A row holds the times of its first and latest event, so a row
// wholly inside a span counts as it is; only where a row crosses the span's edge is that time read
// from the level below. A customer's periods, and the stretches its invoices price, start and end
// between pieces, so an invoice reads a piece per meter and tool; its windows start and end
// between hours; edges appear only where a span starts elsewhere (a range a person chose) or rows
// were written on an earlier grid (before an anchor moved).

/// Hourly rows that can hold events of `span` start after this (a row spans less than an hour).
fn rows_after(span: Span) -> i64 {
    span.start.saturating_sub(HOUR_MS)
}

/// A row wholly inside span `s`..`e` (SQL values: parameters or columns), as SQL.
fn inside_sql(s: &str, e: &str) -> String {
    format!("first_at >= {s} AND last_at < {e}")
}

/// A row with events both inside span `s`..`e` and outside it, as SQL.
fn across_sql(s: &str, e: &str) -> String {
    format!("first_at < {e} AND last_at >= {s} AND (first_at < {s} OR last_at >= {e})")
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

/// A row of either level: its meter and value, the times of its first and latest event, and
/// its figures.
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
        Tally::of_row(self.quantity, self.events, self.max_q, self.last_at, self.last_q)
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

/// One meter's rows (of one level) that touch `span`, split: the rows counted as they are (wholly
/// inside it), and the times within it read from the level below — those of the rows across its
/// edge and of every row whose times overlap them (rows of an earlier grid), so each event is
/// counted once.
fn split<'r>(rows: &[&'r RowTally], span: Span) -> (Vec<&'r RowTally>, Vec<Span>) {
    let inside = |r: &RowTally| r.first_at >= span.start && r.last_at < span.end;
    let mut below: Vec<bool> = rows.iter().map(|r| !inside(r)).collect();
    let mut raw: Vec<Span> = rows.iter().filter(|r| !inside(r)).map(|r| r.times()).collect();
    let mut grew = !raw.is_empty();
    while grew {
        grew = false;
        for (i, r) in rows.iter().enumerate() {
            if !below[i] && raw.iter().any(|u| r.first_at < u.end && r.last_at >= u.start) {
                below[i] = true;
                raw.push(r.times());
                grew = true;
            }
        }
    }
    let counted = rows.iter().zip(&below).filter(|(_, b)| !**b).map(|(r, _)| *r).collect();
    let within = raw.into_iter().map(|u| Span { start: u.start.max(span.start), end: u.end.min(span.end) }).filter(|u| u.start < u.end).collect();
    (counted, merged_spans(within))
}

/// Rows grouped by meter.
fn by_meter(rows: &[RowTally]) -> BTreeMap<&str, Vec<&RowTally>> {
    let mut out: BTreeMap<&str, Vec<&RowTally>> = BTreeMap::new();
    for r in rows {
        out.entry(r.meter.as_str()).or_default().push(r);
    }
    out
}

fn count_rows(into: &mut UsageTotals, meter: &str, rows: &[&RowTally]) {
    for r in rows {
        into.entry(meter.to_string()).or_default().entry(r.tool.clone()).or_default().merge(&r.tally());
    }
}

/// A span's usage of `meter` exactly from the hourly rows: those wholly inside as they are, the
/// events themselves over the times of the rows across its edges.
async fn exact_span(conn: &mut Conn, customer: &str, meter: &str, span: Span) -> Result<UsageTotals, StoreError> {
    let rows = sqlx::query_as::<Db, RowTally>(
        "SELECT meter, tool, first_at, last_at, quantity, events, max_q, last_q FROM usage_hourly \
         WHERE customer_id = $1 AND meter = $2 AND hour > $3 AND hour < $4 AND first_at < $4 AND last_at >= $5 AND events > 0",
    )
    .bind(customer)
    .bind(meter)
    .bind(rows_after(span))
    .bind(span.end)
    .bind(span.start)
    .fetch_all(&mut *conn)
    .await?;
    let refs: Vec<&RowTally> = rows.iter().collect();
    let (counted, below) = split(&refs, span);
    let mut totals = UsageTotals::new();
    count_rows(&mut totals, meter, &counted);
    for u in below {
        edge_tallies(conn, customer, Some(meter), u, &mut totals).await?;
    }
    Ok(totals)
}

#[derive(sqlx::FromRow)]
struct DistinctTotal {
    meter: String,
    distinct_q: i64,
}

fn as_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The monthly pieces of a customer that can hold events of a span (`$2` its start less the
/// longest piece, `$3` its end, `$4` its start): one customer's period is a row per meter and
/// value.
const PIECES_SQL: &str = "SELECT meter, tool, first_at, last_at, quantity, events, max_q, last_q FROM usage_monthly \
     WHERE customer_id = $1 AND piece > $2 AND piece < $3 AND first_at < $3 AND last_at >= $4 AND events > 0";

/// A span's usage per meter and value (a `unique` meter's distinct count on its '' entry).
async fn span_totals(conn: &mut Conn, customer: &str, span: Span) -> Result<UsageTotals, StoreError> {
    if span.end <= span.start {
        return Ok(UsageTotals::new());
    }
    let pieces = sqlx::query_as::<Db, RowTally>(PIECES_SQL)
        .bind(customer)
        .bind(span.start.saturating_sub(PIECE_MAX_MS))
        .bind(span.end)
        .bind(span.start)
        .fetch_all(&mut *conn)
        .await?;
    let mut totals = UsageTotals::new();
    for (meter, rows) in by_meter(&pieces) {
        let (counted, below) = split(&rows, span);
        count_rows(&mut totals, meter, &counted);
        for u in below {
            for (value, tally) in exact_span(conn, customer, meter, u).await?.remove(meter).unwrap_or_default() {
                totals.entry(meter.to_string()).or_default().entry(value).or_default().merge(&tally);
            }
        }
    }
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
