//! Creating a subscription for a customer: a catalog plan's synced prices (or the caller's), the
//! plan's trial once per customer unless the caller sets one, a coupon or promotion code, and
//! the first payment's secret. The ledger follows at once: the created subscription goes through
//! the same handler as Stripe's `customer.subscription.created` webhook, stored once under a
//! local event id, so the webhook itself changes nothing more when it comes.

use serde_json::json;

use crate::core::period::parse_rfc3339;
use crate::service::webhooks;
use crate::service::{App, BillingError};
use crate::stripe::subscriptions::{CreatedSubscription, NewSubscription, SubscriptionTerms};
use crate::stripe::views::SubscriptionView;

impl App {
    pub async fn create_subscription(
        &self,
        p: NewSubscription,
    ) -> Result<CreatedSubscription, BillingError> {
        self.stripe()?;
        if let Some(plan) = &p.plan {
            self.check_plan(&plan.0)?;
        }
        if p.trial_days.is_some() && p.trial_end.is_some() {
            return Err(BillingError::invalid(
                "give trial_days or trial_end, not both",
            ));
        }
        let trial_end = match &p.trial_end {
            Some(t) => Some(future_instant(self, &t.0, "trial_end")?),
            None => None,
        };
        let (stripe_customer, in_ledger) = self.resolve_customer(&p.customer.0).await?;
        let record = match in_ledger {
            true => Some(self.customer(&p.customer.0).await?),
            false => None,
        };
        // The caller's arguments stay as given: they are what the idempotency key names.
        let mut items = Vec::with_capacity(p.items.len());
        for i in &p.items {
            items.push(crate::stripe::checkout::LineItem {
                price: i.price.clone(),
                quantity: i.quantity,
                metered: false,
            });
        }
        let sale = self
            .sell(&mut items, p.plan.as_ref(), p.interval, record.as_ref())
            .await?;
        let plan_trial = sale.plan.as_ref().and_then(|s| s.trial_days);
        let promotion = match &p.promotion_code {
            Some(code) => Some(self.promotion_code_by(&code.0).await?),
            None => None,
        };
        let terms = SubscriptionTerms {
            stripe_customer,
            ledger_customer: in_ledger.then(|| p.customer.0.clone()),
            plan: p.plan.as_ref().map(|n| n.0.clone()),
            trial_days: p.trial_days.or(plan_trial),
            trial_end,
            promotion_code: promotion.as_ref().map(|c| c.id.clone()),
        };
        let note = match (p.trial_days, sale.note) {
            (None, note) => note,
            (Some(_), _) => None,
        };
        let key = p.idempotency_key.clone();
        let code = promotion.map(|c| c.code);
        let mut created = self
            .remembered(
                "create_subscription",
                key.as_ref(),
                p,
                move |s, p| async move { s.create_subscription(&p, &items, &terms).await },
            )
            .await?;
        created.promotion_code = created.promotion_code.take().or(code);
        if in_ledger {
            let followed = follow(self, &created.subscription).await;
            created.note = super::sale::join_notes(note, Some(followed));
        } else {
            created.note = note;
        }
        Ok(created)
    }
}

/// RFC 3339 `text` as epoch seconds, refused unless it is in the future.
pub(super) fn future_instant(app: &App, text: &str, field: &str) -> Result<i64, BillingError> {
    let at = parse_rfc3339(text).ok_or_else(|| {
        BillingError::invalid(format!(
            "{field} `{text}` is not an RFC 3339 time (e.g. 2027-01-31T00:00:00Z)"
        ))
    })?;
    if at <= app.now() {
        return Err(BillingError::invalid(format!(
            "{field} `{text}` is in the past; give a time in the future"
        )));
    }
    Ok(at.div_euclid(1000))
}

/// Apply the created subscription to the ledger as its `customer.subscription.created` event
/// would; what the ledger did, as a note.
async fn follow(app: &App, sub: &SubscriptionView) -> String {
    let secs = |t: &str| parse_rfc3339(t).map(|ms| ms.div_euclid(1000));
    let items: Vec<serde_json::Value> = sub
        .items
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "current_period_start": secs(&i.current_period_start),
                "price": {"id": i.price, "metadata": i.metadata,
                          "recurring": i.interval.as_ref().map(|every| json!({"interval": every}))},
            })
        })
        .collect();
    let object = json!({
        "id": sub.id,
        "object": "subscription",
        "customer": sub.customer,
        "status": sub.status,
        "metadata": sub.metadata,
        "trial_end": sub.trial_end.as_deref().and_then(secs),
        "items": {"data": items},
    });
    let created = secs(&sub.start_date).unwrap_or_else(|| app.now().div_euclid(1000));
    let event = match webhooks::follow(app, "customer.subscription.created", object, created).await
    {
        Ok(event) => event,
        Err(e) => {
            return format!(
                "the ledger did not follow yet ({}: {}); it will when Stripe's webhook arrives",
                e.code, e.message
            );
        }
    };
    match event.status.as_str() {
        "processed" => format!("the ledger follows: {}", event.outcome.unwrap_or_default()),
        other => format!(
            "the ledger did not follow ({other}: {}); it will when Stripe's webhook arrives, or run retry_webhook_event {}",
            event.outcome.unwrap_or_default(),
            event.event_id
        ),
    }
}
