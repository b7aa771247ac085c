// The SQL of Stripe webhooks, written once and included into `sqlite.rs` and `postgres.rs` by
// `ledger.rs` (it uses the customer and credit statements of `customers.rs` and `credits.rs`):
// each event stored once, its effects and new status applied in one savepoint, events of one
// object in order (`stripe_object_versions`), and what the events say of a customer's Stripe
// account (`stripe_invoices`, `customer_payment_methods`).

use super::{
    InvoiceChange, PaymentMethodChange, PaymentMethodEvent, PaymentStanding, WebhookApply, WebhookDecision, WebhookEffect, WebhookLedger, WebhookQuery,
    WebhookRecord,
};

macro_rules! select_webhooks {
    ($rest:literal) => {
        concat!(
            "SELECT id, type, object_id, created, payload, status, outcome, attempts, received_at, processed_at FROM webhook_events ",
            $rest
        )
    };
}

async fn fetch_webhook(conn: &mut Conn, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
    Ok(sqlx::query_as::<Db, WebhookRecord>(select_webhooks!("WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await?)
}

async fn receive_webhook(conn: &mut Conn, e: &WebhookRecord) -> Result<(WebhookRecord, bool), StoreError> {
    let stored = sqlx::query(
        "INSERT INTO webhook_events (id, type, object_id, created, payload, status, received_at) VALUES ($1, $2, $3, $4, $5, 'received', $6) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&e.id)
    .bind(&e.kind)
    .bind(&e.object_id)
    .bind(e.created)
    .bind(&e.payload)
    .bind(e.received_at)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    let record = fetch_webhook(conn, &e.id).await?.ok_or_else(|| StoreError::Corrupt(format!("webhook event {} vanished", e.id)))?;
    Ok((record, stored))
}

/// Gate, effects and the event's new status, in the caller's savepoint: all or nothing.
async fn apply_webhook(conn: &mut Conn, a: &WebhookApply, known: &Known) -> Result<Option<WebhookRecord>, StoreError> {
    let Some(status) = sqlx::query_scalar::<Db, String>(LOCK_WEBHOOK).bind(&a.event_id).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    // Concurrent deliveries of one event (in this process or another) apply it once: the first
    // to lock it does; the others find it done and change nothing.
    if matches!(status.as_str(), "processed" | "ignored") {
        return fetch_webhook(conn, &a.event_id).await;
    }
    let (status, outcome) = match &a.decision {
        WebhookDecision::Fail(why) => ("failed", why.clone()),
        WebhookDecision::Ignore(why) => ("ignored", why.clone()),
        WebhookDecision::Apply { gate: Some((object, created)), .. } if !advance_object(conn, object, *created, &a.event_id).await? => {
            ("ignored", format!("older than {} already applied to {object}", applied_to(conn, object).await?))
        }
        WebhookDecision::Apply { effects, outcome, .. } => {
            let mut said = outcome.clone();
            for effect in effects {
                if let Some(note) = apply_effect(conn, effect, &a.event_id, known).await? {
                    said = format!("{said}; {note}");
                }
            }
            ("processed", said)
        }
    };
    sqlx::query("UPDATE webhook_events SET status = $2, outcome = $3, attempts = attempts + 1, processed_at = $4 WHERE id = $1")
        .bind(&a.event_id)
        .bind(status)
        .bind(&outcome)
        .bind(a.now)
        .execute(&mut *conn)
        .await?;
    fetch_webhook(conn, &a.event_id).await
}

/// Apply one effect; `Some(why)` when (part of) it did not apply.
async fn apply_effect(conn: &mut Conn, effect: &WebhookEffect, event: &str, known: &Known) -> Result<Option<String>, StoreError> {
    match effect {
        WebhookEffect::Plan(c) => {
            change_plan(conn, c).await?;
        }
        WebhookEffect::Invoice(i) => return apply_invoice(conn, i, event).await,
        WebhookEffect::PaymentMethod(p) => return apply_payment_method(conn, p, event).await,
        WebhookEffect::Grant(g) => {
            grant(conn, g, known).await?;
        }
        WebhookEffect::Link(l) => {
            link_stripe(conn, l).await?;
        }
        WebhookEffect::Billed { customer, invoice, from, to } => {
            sqlx::query(
                "UPDATE usage_events SET billed_invoice = $2 \
                 WHERE customer_id = $1 AND occurred_at >= $3 AND occurred_at < $4 AND billed_invoice IS NULL",
            )
            .bind(customer)
            .bind(invoice)
            .bind(*from)
            .bind(*to)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(None)
}

/// Record `event` as the newest applied to `object` unless a newer one is (same second: the later
/// arrival wins). False when the event is older than what was applied.
async fn advance_object(conn: &mut Conn, object: &str, created: i64, event: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO stripe_object_versions (object_id, event_created, event_id) VALUES ($1, $2, $3) \
         ON CONFLICT (object_id) DO UPDATE SET event_created = excluded.event_created, event_id = excluded.event_id \
         WHERE stripe_object_versions.event_created <= excluded.event_created",
    )
    .bind(object)
    .bind(created)
    .bind(event)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// The newest event applied to `key` ('' when none is).
async fn applied_to(conn: &mut Conn, key: &str) -> Result<String, StoreError> {
    Ok(sqlx::query_scalar::<Db, String>("SELECT event_id FROM stripe_object_versions WHERE object_id = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_default())
}

/// Advance `key` to this event, or name the newer event that holds it.
async fn newest(conn: &mut Conn, key: &str, created: i64, event: &str) -> Result<Result<(), String>, StoreError> {
    if advance_object(conn, key, created, event).await? {
        return Ok(Ok(()));
    }
    Ok(Err(applied_to(conn, key).await?))
}

/// The invoice's row, then (if it took the event) the customer's delinquency; see [`InvoiceChange`].
async fn apply_invoice(conn: &mut Conn, i: &InvoiceChange, event: &str) -> Result<Option<String>, StoreError> {
    let taken = sqlx::query(
        "INSERT INTO stripe_invoices (id, customer_id, status, amount_remaining, currency, event_id, updated_at, amount_paid, paid_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
         amount_remaining = excluded.amount_remaining, currency = excluded.currency, event_id = excluded.event_id, \
         updated_at = excluded.updated_at, amount_paid = excluded.amount_paid, paid_at = excluded.paid_at \
         WHERE stripe_invoices.status NOT IN ('paid', 'void') OR stripe_invoices.status = excluded.status",
    )
    .bind(&i.invoice)
    .bind(&i.customer)
    .bind(&i.status)
    .bind(i.amount_remaining)
    .bind(&i.currency)
    .bind(event)
    .bind(i.now)
    .bind(i.amount_paid)
    .bind(i.paid_at)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !taken {
        let kept = sqlx::query_scalar::<Db, String>("SELECT status FROM stripe_invoices WHERE id = $1")
            .bind(&i.invoice)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or_default();
        return Ok(Some(format!("invoice {} is {kept} already, a final status: nothing changed", i.invoice)));
    }
    let Some(delinquent) = i.delinquent else { return Ok(None) };
    if let Err(newer) = newest(conn, &format!("delinquency:{}", i.customer), i.created, event).await? {
        return Ok(Some(format!("delinquency unchanged: {newer}, a newer invoice event, decided it")));
    }
    sqlx::query("UPDATE customers SET delinquent = $2, updated_at = $3 WHERE id = $1")
        .bind(&i.customer)
        .bind(i64::from(delinquent))
        .bind(i.now)
        .execute(&mut *conn)
        .await?;
    Ok(None)
}

/// Whether the customer has a payment method on file; see [`PaymentMethodChange`].
async fn apply_payment_method(conn: &mut Conn, p: &PaymentMethodChange, event: &str) -> Result<Option<String>, StoreError> {
    if let Err(newer) = newest(conn, &format!("payment_method:{}", p.customer), p.created, event).await? {
        return Ok(Some(format!("payment method unchanged: {newer}, a newer payment-method event, decided it")));
    }
    let (configured, default, keep_default) = match &p.kind {
        PaymentMethodEvent::Default(pm) => (true, Some(pm.as_str()), false),
        PaymentMethodEvent::DefaultRemoved => (false, None, false),
        PaymentMethodEvent::Attached => (true, None, true),
        PaymentMethodEvent::Detached(pm) => {
            let cleared = sqlx::query(
                "UPDATE customer_payment_methods SET configured = 0, default_payment_method = NULL, event_id = $3, updated_at = $4 \
                 WHERE customer_id = $1 AND default_payment_method = $2",
            )
            .bind(&p.customer)
            .bind(pm)
            .bind(event)
            .bind(p.now)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            return Ok((cleared == 0).then(|| format!("{pm} was not the customer's default payment method: unchanged")));
        }
    };
    sqlx::query(
        "INSERT INTO customer_payment_methods (customer_id, configured, default_payment_method, event_id, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (customer_id) DO UPDATE SET configured = excluded.configured, \
         default_payment_method = CASE WHEN $6 = 1 THEN customer_payment_methods.default_payment_method \
         ELSE excluded.default_payment_method END, event_id = excluded.event_id, updated_at = excluded.updated_at",
    )
    .bind(&p.customer)
    .bind(i64::from(configured))
    .bind(default)
    .bind(event)
    .bind(p.now)
    .bind(i64::from(keep_default))
    .execute(&mut *conn)
    .await?;
    Ok(None)
}

#[derive(sqlx::FromRow)]
struct CurrencyTotal {
    currency: String,
    amount: i64,
}

#[derive(sqlx::FromRow)]
struct PaymentMethodRow {
    configured: i64,
    default_payment_method: Option<String>,
}

/// Open invoices per currency and the payment-method flag, on the read pool.
async fn payment_standing(read: &sqlx::Pool<Db>, customer: &str) -> Result<PaymentStanding, StoreError> {
    let open = sqlx::query_as::<Db, CurrencyTotal>(
        "SELECT currency, CAST(SUM(amount_remaining) AS BIGINT) AS amount FROM stripe_invoices \
         WHERE customer_id = $1 AND status = 'open' GROUP BY currency ORDER BY currency",
    )
    .bind(customer)
    .fetch_all(read)
    .await?;
    let method = sqlx::query_as::<Db, PaymentMethodRow>(
        "SELECT configured, default_payment_method FROM customer_payment_methods WHERE customer_id = $1",
    )
    .bind(customer)
    .fetch_optional(read)
    .await?;
    Ok(PaymentStanding {
        open_by_currency: open.into_iter().map(|t| (t.currency, t.amount)).collect(),
        payment_method_configured: method.as_ref().is_some_and(|m| m.configured != 0),
        default_payment_method: method.and_then(|m| m.default_payment_method),
    })
}

#[async_trait::async_trait]
impl WebhookLedger for Backend {
    async fn receive_webhook(&self, event: WebhookRecord) -> Result<(WebhookRecord, bool), StoreError> {
        writer::submit(&self.writer, |r| Op::ReceiveWebhook(event, r)).await
    }

    async fn apply_webhook(&self, apply: WebhookApply) -> Result<Option<WebhookRecord>, StoreError> {
        writer::submit(&self.writer, |r| Op::ApplyWebhook(apply, r)).await
    }

    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        let mut conn = self.read.acquire().await?;
        fetch_webhook(&mut conn, id).await
    }

    async fn list_webhooks(&self, q: WebhookQuery) -> Result<Vec<WebhookRecord>, StoreError> {
        // The type filter never changes for an event; its status may (a retry), so it is no test.
        cursor_known(
            &self.read,
            "SELECT COUNT(*) FROM webhook_events WHERE id = $1 AND ($2 = '' OR type = $2)",
            q.starting_after.as_deref(),
            &[q.kind.as_deref().unwrap_or("")],
        )
        .await?;
        Ok(sqlx::query_as::<Db, WebhookRecord>(select_webhooks!(
            "w WHERE ($1 = '' OR status = $1) AND ($2 = '' OR type = $2) \
             AND ($3 = '' OR (received_at, id) < (SELECT received_at, id FROM webhook_events WHERE id = $3)) \
             ORDER BY received_at DESC, id DESC LIMIT $4"
        ))
        .bind(q.status.as_deref().unwrap_or(""))
        .bind(q.kind.as_deref().unwrap_or(""))
        .bind(q.starting_after.as_deref().unwrap_or(""))
        .bind(q.limit)
        .fetch_all(&self.read)
        .await?)
    }

    async fn payment_standing(&self, customer: &str) -> Result<PaymentStanding, StoreError> {
        payment_standing(&self.read, customer).await
    }
}
