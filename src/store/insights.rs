// Reads across all customers for the dashboard (`InsightsLedger`): every customer, the plan and
// status changes since a moment, usage per hour over all customers (`usage_rollup`, which the
// writer keeps), events of a few customers, receipts (paid invoices, credit packs bought), credit
// flows, delivery health, and what the upcoming invoices of every customer read (each one's
// usage pieces and burned credits over its own period, every live grant). Read-only; never
// through the writer.

/// 1 for an event whose `outcome` dimension says it failed, else 0. Dimensions are stored as
/// compact JSON (`"outcome":"error"`), so a failed outcome is found by its text and rows stay one
/// per day, meter, tool and outcome kind whatever other dimensions the events carry.
macro_rules! failed_outcome {
    () => {
        "CASE WHEN LOWER(dimensions) LIKE '%\"outcome\":\"error\"%' OR LOWER(dimensions) LIKE '%\"outcome\":\"failed\"%' \
         OR LOWER(dimensions) LIKE '%\"outcome\":\"failure\"%' OR LOWER(dimensions) LIKE '%\"outcome\":\"denied\"%' \
         THEN 1 ELSE 0 END"
    };
}

#[derive(sqlx::FromRow)]
struct KindSum {
    kind: String,
    credits: i64,
}

/// A usage piece as [`JSON_ROWS`] gives it: customer, meter, value, first and latest event, sum,
/// events, largest and latest quantity.
type PieceRow = (String, String, String, i64, i64, i64, i64, i64, i64);

/// Customers per statement of a read of many customers' spans (three values each, far below
/// either database's limit).
const SPANS_PER_READ: usize = 500;

/// `WITH s(c, a, b) AS (VALUES …)`: each customer with its own span `[a, b)`, to join on, so one
/// statement finds every customer's rows by its key as one customer's read would (bound, and cast
/// so both databases know the types; joined with `CROSS JOIN`, which SQLite keeps in this order).
fn spans_cte(qb: &mut QueryBuilder<Db>, spans: &[(String, Span)]) {
    qb.push("WITH s(c, a, b) AS (VALUES ");
    let mut list = qb.separated(", ");
    for (customer, span) in spans {
        list.push("(CAST(")
            .push_bind_unseparated(customer)
            .push_unseparated(" AS TEXT), CAST(")
            .push_bind_unseparated(span.start)
            .push_unseparated(" AS BIGINT), CAST(")
            .push_bind_unseparated(span.end)
            .push_unseparated(" AS BIGINT))");
    }
    qb.push(") ");
}

/// Usage over all customers per meter, value and UTC day from the hourly totals in `[from, to)`
/// (each day's first hour in it); nothing for an empty range.
async fn rollup_hours(read: &sqlx::Pool<Db>, from: i64, to: i64) -> Result<Vec<super::HourUsage>, StoreError> {
    if from >= to {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as::<Db, super::HourUsage>(
        "SELECT meter, tool, MIN(start) AS hour, CAST(SUM(quantity) AS BIGINT) AS quantity, CAST(SUM(events) AS BIGINT) AS events \
         FROM usage_rollup WHERE width = 3600000 AND start >= $1 AND start < $2 GROUP BY meter, tool, start / 86400000",
    )
    .bind(from)
    .bind(to)
    .fetch_all(read)
    .await?)
}

#[async_trait::async_trait]
impl super::InsightsLedger for Backend {
    async fn usage_pieces(&self, spans: &[(String, Span)]) -> Result<Vec<super::UsagePiece>, StoreError> {
        let mut out = Vec::new();
        for chunk in spans.chunks(SPANS_PER_READ) {
            let mut qb = QueryBuilder::<Db>::new("");
            spans_cte(&mut qb, chunk);
            // One JSON array for all the rows: the SQLite driver hands rows over between threads one
            // at a time (about 10 µs each), a text of any length at once.
            qb.push("SELECT ").push(JSON_ROWS.0);
            qb.push("h.customer_id, h.meter, h.tool, h.first_at, h.last_at, h.quantity, h.events, h.max_q, h.last_q");
            qb.push(JSON_ROWS.1).push(" FROM s CROSS JOIN usage_monthly h WHERE h.customer_id = s.c AND h.piece > s.a - ");
            qb.push(PIECE_MAX_MS.to_string()).push(" AND h.piece < s.b AND h.first_at < s.b AND h.last_at >= s.a AND h.events > 0");
            let rows: Option<String> = qb.build_query_scalar().persistent(false).fetch_one(&self.read).await?;
            let rows: Vec<PieceRow> = serde_json::from_str(rows.as_deref().unwrap_or("[]")).map_err(|e| StoreError::Corrupt(format!("usage pieces: {e}")))?;
            out.extend(rows.into_iter().map(|(customer_id, meter, tool, first_at, last_at, quantity, events, max_q, last_q)| super::UsagePiece {
                customer_id,
                meter,
                tool,
                first_at,
                last_at,
                quantity,
                events,
                max_q,
                last_q,
            }));
        }
        Ok(out)
    }

    async fn credits_burned_in(&self, spans: &[(String, Span)]) -> Result<Vec<super::Burned>, StoreError> {
        let mut out = Vec::new();
        for chunk in spans.chunks(SPANS_PER_READ) {
            let mut qb = QueryBuilder::<Db>::new("");
            spans_cte(&mut qb, chunk);
            // As `credits_burned` counts them, each customer over its own span.
            qb.push(
                "SELECT c.customer_id, COALESCE(e.meter, c.event_meter) AS meter, CAST(-SUM(c.credits) AS BIGINT) AS credits \
                 FROM s CROSS JOIN credit_entries c LEFT JOIN usage_events e ON e.id = c.event_id \
                 WHERE c.customer_id = s.c AND c.kind = 'debit' AND COALESCE(e.occurred_at, c.event_at) >= s.a AND COALESCE(e.occurred_at, c.event_at) < s.b \
                 GROUP BY c.customer_id, COALESCE(e.meter, c.event_meter)",
            );
            out.extend(qb.build_query_as::<super::Burned>().persistent(false).fetch_all(&self.read).await?);
        }
        Ok(out)
    }

    async fn distinct_customers(&self, spans: &[(String, Span)]) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for chunk in spans.chunks(SPANS_PER_READ) {
            let mut qb = QueryBuilder::<Db>::new("");
            spans_cte(&mut qb, chunk);
            // The rows `span_totals` counts distinct values from, for any span inside `[a, b)`.
            qb.push(
                "SELECT DISTINCT d.customer_id FROM s CROSS JOIN usage_distinct d WHERE d.customer_id = s.c \
                 AND d.hour >= s.a - 3600000 AND d.hour < s.b AND d.last_at >= s.a AND d.first_at < s.b",
            );
            out.extend(qb.build_query_scalar::<String>().persistent(false).fetch_all(&self.read).await?);
        }
        Ok(out)
    }

    async fn live_grants_all(&self) -> Result<Vec<GrantRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, GrantRecord>(select_grants!("WHERE remaining > 0 ORDER BY customer_id, created_at, id")).fetch_all(&self.read).await?)
    }

    async fn all_customers(&self) -> Result<Vec<CustomerRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, CustomerRecord>(*ALL_CUSTOMERS).fetch_all(&self.read).await?)
    }

    async fn plan_changes_since(&self, from: i64) -> Result<Vec<PlanChangeRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, PlanChangeRecord>(select_plan_changes!("WHERE at >= $1 ORDER BY customer_id, at, id"))
            .bind(from)
            .fetch_all(&self.read)
            .await?)
    }

    async fn status_changes_since(&self, from: i64) -> Result<Vec<super::StatusChangeRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, super::StatusChangeRecord>(
            "SELECT customer_id, at, previous_status, status FROM status_changes WHERE at >= $1 ORDER BY customer_id, at, id",
        )
        .bind(from)
        .fetch_all(&self.read)
        .await?)
    }

    async fn usage_by_hour(&self, from: i64, to: i64) -> Result<Vec<super::HourUsage>, StoreError> {
        // One row per UTC day (its first hour in the range): whole days from the daily totals, the
        // hours of a partial first and last day from the hourly ones.
        let days_from = from.saturating_add(DAY_MS - 1).div_euclid(DAY_MS).saturating_mul(DAY_MS);
        let days_to = to.div_euclid(DAY_MS).saturating_mul(DAY_MS);
        if days_from >= days_to {
            return rollup_hours(&self.read, from, to).await;
        }
        let mut rows = rollup_hours(&self.read, from, days_from).await?;
        rows.extend(
            sqlx::query_as::<Db, super::HourUsage>(
                "SELECT meter, tool, start AS hour, CAST(SUM(quantity) AS BIGINT) AS quantity, CAST(SUM(events) AS BIGINT) AS events \
                 FROM usage_rollup WHERE width = 86400000 AND start >= $1 AND start < $2 GROUP BY meter, tool, start",
            )
            .bind(days_from)
            .bind(days_to)
            .fetch_all(&self.read)
            .await?,
        );
        rows.extend(rollup_hours(&self.read, days_to, to).await?);
        Ok(rows)
    }

    async fn events_of(&self, customers: &[String], from: i64, to: i64) -> Result<Vec<super::CustomerEvents>, StoreError> {
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new("SELECT customer_id, CAST(SUM(events) AS BIGINT) AS events FROM usage_hourly WHERE hour >= ");
        qb.push_bind(from).push(" AND hour < ").push_bind(to).push(" AND customer_id IN ");
        push_in(&mut qb, customers);
        qb.push(" GROUP BY customer_id");
        Ok(qb.build_query_as::<super::CustomerEvents>().persistent(LISTS_CACHED).fetch_all(&self.read).await?)
    }

    async fn receipts(&self, from: i64, to: i64) -> Result<(Vec<super::Receipt>, Vec<super::Receipt>), StoreError> {
        let invoices = sqlx::query_as::<Db, super::Receipt>(
            "SELECT currency, paid_at AS at, amount_paid AS amount FROM stripe_invoices \
             WHERE status = 'paid' AND paid_at >= $1 AND paid_at < $2 ORDER BY paid_at",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        let packs = sqlx::query_as::<Db, super::Receipt>(
            "SELECT paid_currency AS currency, created_at AS at, paid_amount AS amount FROM credit_grants \
             WHERE pack IS NOT NULL AND paid_amount IS NOT NULL AND paid_currency IS NOT NULL \
             AND created_at >= $1 AND created_at < $2 ORDER BY created_at",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        Ok((invoices, packs))
    }

    async fn credit_flows(&self, from: i64, to: i64, now: i64) -> Result<super::CreditFlows, StoreError> {
        let kinds = sqlx::query_as::<Db, KindSum>(
            "SELECT kind, CAST(SUM(credits) AS BIGINT) AS credits FROM credit_entries \
             WHERE created_at >= $1 AND created_at < $2 GROUP BY kind",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        // Live grants, as the balance counts them (`core::credit::Grant::is_live`).
        let outstanding = sqlx::query_scalar::<Db, i64>(
            "SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) FROM credit_grants \
             WHERE remaining > 0 AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(now)
        .fetch_one(&self.read)
        .await?;
        Ok(super::CreditFlows {
            by_kind: kinds.into_iter().map(|k| (k.kind, k.credits)).collect(),
            outstanding,
        })
    }

    async fn delivery_health(&self) -> Result<super::DeliveryHealth, StoreError> {
        // Each count reads a partial index: the outbox's (pending events) and the failed events'.
        let (meter_events_pending, meter_events_failed) = sqlx::query_as::<Db, (i64, i64)>(
            "SELECT (SELECT COUNT(*) FROM usage_events WHERE stripe_state = 'pending'), \
             (SELECT COUNT(*) FROM usage_events WHERE stripe_state = 'failed')",
        )
        .fetch_one(&self.read)
        .await?;
        let webhooks_failed = sqlx::query_scalar::<Db, i64>("SELECT COUNT(*) FROM webhook_events WHERE status = 'failed'")
            .fetch_one(&self.read)
            .await?;
        Ok(super::DeliveryHealth { webhooks_failed, meter_events_pending, meter_events_failed })
    }

    async fn usage_by_day(&self, customer: &str, from: i64, to: i64) -> Result<Vec<super::DayUsage>, StoreError> {
        let mut rows = sqlx::query_as::<Db, super::DayUsage>(concat!(
            "SELECT occurred_at / 86400000 AS day, meter, tool, CAST(",
            failed_outcome!(),
            " AS BIGINT) AS failed, COUNT(*) AS events, CAST(SUM(quantity) AS BIGINT) AS quantity FROM usage_events \
             WHERE customer_id = $1 AND occurred_at >= $2 AND occurred_at < $3 GROUP BY 1, 2, 3, 4"
        ))
        .bind(customer)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        // Events retention removed, by the hour they happened in (an hour counts when it starts
        // in the range); the service adds rows of the same day together.
        rows.extend(
            sqlx::query_as::<Db, super::DayUsage>(
                "SELECT hour / 86400000 AS day, meter, tool, failed, CAST(SUM(events) AS BIGINT) AS events, \
                 CAST(SUM(quantity) AS BIGINT) AS quantity FROM usage_removed \
                 WHERE customer_id = $1 AND hour >= $2 AND hour < $3 GROUP BY 1, 2, 3, 4",
            )
            .bind(customer)
            .bind(from)
            .bind(to)
            .fetch_all(&self.read)
            .await?,
        );
        Ok(rows)
    }
}
