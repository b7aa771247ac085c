// The sums a snapshot counts, included into `sqlite.rs` and `postgres.rs` by `ledger.rs`: one
// query for sum, count and max of a meter in all six snapshot spans, for one customer, or for all
// the customers of a group at once (a `VALUES` row each), so a group of many customers reads its
// usage with one statement instead of one per customer.

/// Sum, count and max of a meter in every snapshot span, per value, over the rows wholly inside
/// each span, and how many rows cross each span's edge (read exactly instead), as SQL columns;
/// `bound(n)` is the SQL value of the spans' `n`th bound (3 and 4 the first span's start and end).
fn sums_columns(bound: impl Fn(usize) -> String) -> String {
    let mut columns = Vec::new();
    for i in 0..SNAPSHOT_SPANS {
        let (lo, hi) = (bound(3 + 2 * i), bound(4 + 2 * i));
        let within = inside_sql(&lo, &hi);
        columns.push(format!(
            "CAST(SUM(CASE WHEN {within} THEN quantity ELSE 0 END) AS BIGINT) AS s{i}, \
             CAST(SUM(CASE WHEN {within} THEN events ELSE 0 END) AS BIGINT) AS c{i}, \
             CAST(MAX(CASE WHEN {within} THEN max_q ELSE 0 END) AS BIGINT) AS m{i}, \
             CAST(SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS BIGINT) AS x{i}",
            across_sql(&lo, &hi)
        ));
    }
    columns.join(", ")
}

/// The hours after and before which the rows of the spans' sums lie (`$15` and `$16`).
fn row_hours(spans: &[Span; SNAPSHOT_SPANS]) -> (i64, i64) {
    let lo = spans.iter().map(|s| rows_after(*s)).min().unwrap_or(0);
    let hi = spans.iter().map(|s| s.end).max().unwrap_or(0);
    (lo, hi)
}

/// One customer's [`sums_columns`]: the customer `$1`, the meter `$2`, the spans `$3`…`$14`, and
/// the hours `$15`..`$16` their rows lie in.
static SNAPSHOT_SQL: LazyLock<&'static str> = LazyLock::new(|| {
    let sql = format!(
        "SELECT tool, {} FROM usage_hourly WHERE customer_id = $1 AND meter = $2 AND hour > $15 AND hour < $16 AND events > 0 GROUP BY tool",
        sums_columns(|n| format!("${n}"))
    );
    Box::leak(sql.into_boxed_str())
});

/// The same for many customers at once: a `VALUES` row each (its columns in the order of
/// [`SNAPSHOT_SQL`]'s parameters), the rows of `usage_hourly` joined to it (`CROSS JOIN` keeps
/// SQLite reading the list first, each customer's rows by the primary key).
static GROUP_SUMS_SQL: LazyLock<(String, String)> = LazyLock::new(|| {
    let head = format!("SELECT q.column1 AS customer_id, q.column2 AS meter, tool, {} FROM (", sums_columns(|n| format!("q.column{n}")));
    let tail = ") AS q CROSS JOIN usage_hourly WHERE usage_hourly.customer_id = q.column1 AND usage_hourly.meter = q.column2 \
                AND hour > q.column15 AND hour < q.column16 AND events > 0 GROUP BY q.column1, q.column2, tool";
    (head, tail.to_string())
});

#[derive(sqlx::FromRow)]
struct SpanSums {
    tool: String,
    s0: i64, c0: i64, m0: i64, x0: i64,
    s1: i64, c1: i64, m1: i64, x1: i64,
    s2: i64, c2: i64, m2: i64, x2: i64,
    s3: i64, c3: i64, m3: i64, x3: i64,
    s4: i64, c4: i64, m4: i64, x4: i64,
    s5: i64, c5: i64, m5: i64, x5: i64,
}

impl SpanSums {
    fn tallies(&self) -> [Tally; SNAPSHOT_SPANS] {
        let t = |s: i64, c: i64, m: i64| Tally { sum: as_u64(s), count: as_u64(c), max: as_u64(m), last: None, distinct: 0 };
        [
            t(self.s0, self.c0, self.m0),
            t(self.s1, self.c1, self.m1),
            t(self.s2, self.c2, self.m2),
            t(self.s3, self.c3, self.m3),
            t(self.s4, self.c4, self.m4),
            t(self.s5, self.c5, self.m5),
        ]
    }

    /// Rows across each span's edge.
    fn across(&self) -> [i64; SNAPSHOT_SPANS] {
        [self.x0, self.x1, self.x2, self.x3, self.x4, self.x5]
    }
}

#[derive(sqlx::FromRow)]
struct GroupSums {
    customer_id: String,
    meter: String,
    #[sqlx(flatten)]
    sums: SpanSums,
}

/// A meter's span sums read ahead for a customer (by [`sums_of`]), and the spans they are of.
struct ReadAhead {
    spans: [Span; SNAPSHOT_SPANS],
    rows: Vec<SpanSums>,
}

/// The span sums of each `(customer, meter, spans)` at once, one statement per chunk: what a
/// group's snapshots read instead of one statement per customer.
async fn sums_of(conn: &mut Conn, wanted: Vec<(&str, &str, [Span; SNAPSHOT_SPANS])>) -> Result<HashMap<(String, String), ReadAhead>, StoreError> {
    let mut out: HashMap<(String, String), ReadAhead> = HashMap::with_capacity(wanted.len());
    for chunk in pieces(&wanted, INSERT_CHUNK / 16) {
        let (head, tail) = &*GROUP_SUMS_SQL;
        let mut qb = QueryBuilder::<Db>::new(head.as_str());
        qb.push_values(chunk, |mut b, (customer, meter, spans)| {
            b.push_bind(*customer).push_bind(*meter);
            for s in spans {
                b.push_bind(s.start).push_bind(s.end);
            }
            let (lo, hi) = row_hours(spans);
            b.push_bind(lo).push_bind(hi);
        });
        qb.push(tail.as_str());
        let rows = qb.build_query_as::<GroupSums>().persistent(LISTS_CACHED).fetch_all(&mut *conn).await?;
        for (customer, meter, spans) in chunk {
            out.insert((customer.to_string(), meter.to_string()), ReadAhead { spans: *spans, rows: Vec::new() });
        }
        for r in rows {
            if let Some(read) = out.get_mut(&(r.customer_id, r.meter)) {
                read.rows.push(r.sums);
            }
        }
    }
    Ok(out)
}
