// Reads across all customers for the dashboard (`InsightsLedger`): every customer, the plan and
// status changes since a moment, usage per hour over all customers (`usage_rollup`, which the
// writer keeps), events of a few customers, receipts (paid invoices, credit packs bought), credit
// flows and delivery health. Read-only; never through the writer.

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

#[derive(sqlx::FromRow)]
struct UndeliveredCount {
    stripe_state: String,
    events: i64,
}

#[async_trait::async_trait]
impl super::InsightsLedger for Backend {
    async fn all_customers(&self) -> Result<Vec<CustomerRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, CustomerRecord>(*ALL_CUSTOMERS).fetch_all(&self.read).await?)
    }

    async fn changes_since(&self, from: i64) -> Result<(Vec<PlanChangeRecord>, Vec<super::StatusChangeRecord>), StoreError> {
        let plans = sqlx::query_as::<Db, PlanChangeRecord>(select_plan_changes!("WHERE at >= $1 ORDER BY customer_id, at, id"))
            .bind(from)
            .fetch_all(&self.read)
            .await?;
        let statuses = sqlx::query_as::<Db, super::StatusChangeRecord>(
            "SELECT customer_id, at, previous_status, status FROM status_changes WHERE at >= $1 ORDER BY customer_id, at, id",
        )
        .bind(from)
        .fetch_all(&self.read)
        .await?;
        Ok((plans, statuses))
    }

    async fn usage_by_hour(&self, from: i64, to: i64) -> Result<Vec<super::HourUsage>, StoreError> {
        Ok(sqlx::query_as::<Db, super::HourUsage>(
            // One row per UTC day (its first hour in the range), so a year is a few thousand rows.
            "SELECT meter, tool, MIN(hour) AS hour, CAST(SUM(quantity) AS BIGINT) AS quantity, CAST(SUM(events) AS BIGINT) AS events \
             FROM usage_rollup WHERE hour >= $1 AND hour < $2 GROUP BY meter, tool, hour / 86400000",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?)
    }

    async fn events_of(&self, customers: &[String], from: i64, to: i64) -> Result<Vec<super::CustomerEvents>, StoreError> {
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new("SELECT customer_id, CAST(SUM(events) AS BIGINT) AS events FROM usage_hourly WHERE hour >= ");
        qb.push_bind(from).push(" AND hour < ").push_bind(to).push(" AND customer_id IN (");
        let mut list = qb.separated(", ");
        for c in customers {
            list.push_bind(c);
        }
        qb.push(") GROUP BY customer_id");
        Ok(qb.build_query_as::<super::CustomerEvents>().persistent(false).fetch_all(&self.read).await?)
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
        // Only undelivered events are read (a partial index holds them).
        let states = sqlx::query_as::<Db, UndeliveredCount>(
            "SELECT stripe_state, COUNT(*) AS events FROM usage_events \
             WHERE stripe_state <> 'sent' AND stripe_state <> 'ledger' GROUP BY stripe_state",
        )
        .fetch_all(&self.read)
        .await?;
        let webhooks_failed = sqlx::query_scalar::<Db, i64>("SELECT COUNT(*) FROM webhook_events WHERE status = 'failed'")
            .fetch_one(&self.read)
            .await?;
        let mut health = super::DeliveryHealth { webhooks_failed, ..Default::default() };
        for s in states {
            if s.stripe_state == "pending" {
                health.meter_events_pending += s.events;
            } else {
                health.meter_events_failed += s.events;
            }
        }
        Ok(health)
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
