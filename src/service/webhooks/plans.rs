//! Webhooks that decide a customer's plan: `customer.subscription.*` (plan, status, interval,
//! period and trial, in order per subscription) and `checkout.session.completed` (a credit pack's
//! credits, granted once per session, or the plan bought).

use super::event::Event;
use super::{Change, Skip, ledger_customer, link_if_new};
use crate::core::entitlement::Status;
use crate::ids::new_id;
use crate::service::App;
use crate::service::terms::{anchor_at, trial_over};
use crate::store::{NewGrant, PlanChange, Purchase, WebhookEffect};
use crate::stripe::checkout::{PACK_KEY, PLAN_KEY};

fn known_plan(app: &App, plan: &str) -> Result<(), Skip> {
    app.check_plan(plan).map_err(|e| Skip::Fail(e.message))
}

pub(super) async fn subscription(
    app: &App,
    event: &Event,
    change: &mut Change,
) -> Result<(), Skip> {
    let sub = &event.data.object;
    let customer = ledger_customer(app, sub).await?;
    let item = sub.first_item();
    let price = item.and_then(|i| i.price.as_ref());
    let named_plan = sub
        .metadata
        .get(PLAN_KEY)
        .or_else(|| price.and_then(|p| p.metadata.get(PLAN_KEY)))
        .cloned();
    let deleted = event.kind.ends_with(".deleted");
    let (plan, status) = match (deleted, &app.catalog.default_plan) {
        (true, Some(fallback)) => (Some(fallback.clone()), "active".to_string()),
        (true, None) => (named_plan.or(customer.plan.clone()), "canceled".into()),
        (false, _) => (
            named_plan.or(customer.plan.clone()),
            sub.status.clone().unwrap_or_else(|| "active".into()),
        ),
    };
    if let Some(p) = &plan {
        known_plan(app, p)?;
    }
    if Status::parse(&status).is_none() {
        return Err(Skip::Fail(format!(
            "subscription status `{status}` is not known"
        )));
    }
    let interval = match price
        .and_then(|p| p.recurring.as_ref())
        .and_then(|r| r.interval.as_deref())
    {
        Some("year") => "year".to_string(),
        Some(_) => "month".to_string(),
        None => customer.billing_interval.clone(),
    };
    let period_start = item
        .and_then(|i| i.current_period_start)
        .or(sub.current_period_start);
    // Stripe keeps a subscription's `trial_end` after the trial.
    let trial_end = sub.trial_end.map(|t| t.saturating_mul(1000));
    let anchor = match (deleted, period_start, trial_end.map(anchor_at)) {
        (true, _, _) => anchor_at(change.now),
        // In a trial Stripe's current period is the trial itself; the billing cycle starts at its
        // end, and so does the ledger's first paid period (the trial is a period of its own, as
        // for a customer created on a plan with a trial). On the hour, as every ledger period.
        (false, _, Some(end)) if status == "trialing" => end,
        (false, Some(start), _) => anchor_at(start.saturating_mul(1000)),
        (false, None, _) => customer.period_anchor,
    };
    change.gate = sub
        .id
        .clone()
        .map(|id| (id, event.created.saturating_mul(1000)));
    change
        .effects
        .extend(link_if_new(&customer, sub, change.now));
    change.outcome = format!(
        "customer {}: plan {}, status {status}, billed per {interval}",
        customer.id,
        plan.as_deref().unwrap_or("none")
    );
    change.effects.push(WebhookEffect::Plan(PlanChange {
        customer: customer.id.clone(),
        plan,
        billing_interval: interval,
        trial_ends_at: if status == "trialing" {
            // The trial ends where the first paid period starts: on the hour.
            trial_end.map(anchor_at)
        } else {
            trial_over(trial_end.or(customer.trial_ends_at), change.now)
        },
        status,
        period_anchor: anchor,
        new_period: false,
        at: change.happened,
        now: change.now,
    }));
    Ok(())
}

pub(super) async fn checkout(app: &App, event: &Event, change: &mut Change) -> Result<(), Skip> {
    let session = &event.data.object;
    let session_id = session.id.clone().unwrap_or_default();
    if !matches!(
        session.payment_status.as_deref(),
        Some("paid" | "no_payment_required") | None
    ) {
        return Err(Skip::Ignore(format!(
            "checkout session {session_id} is not paid yet ({})",
            session.payment_status.as_deref().unwrap_or("-")
        )));
    }
    let pack = session.metadata.get(PACK_KEY);
    let plan = session.metadata.get(PLAN_KEY);
    if pack.is_none() && plan.is_none() {
        return Err(Skip::Ignore(format!(
            "checkout session {session_id} carries neither `{PACK_KEY}` nor `{PLAN_KEY}` metadata"
        )));
    }
    let customer = ledger_customer(app, session).await?;
    change
        .effects
        .extend(link_if_new(&customer, session, change.now));
    if let Some(pack_id) = pack {
        let Some(pack) = app.catalog.credits.packs.get(pack_id) else {
            return Err(Skip::Fail(format!(
                "credit pack `{pack_id}` is not in the catalog"
            )));
        };
        let credits = pack.credits.saturating_add(pack.bonus);
        change.outcome = format!(
            "customer {}: {credits} credits granted for pack {pack_id}",
            customer.id
        );
        change.effects.push(WebhookEffect::Grant(NewGrant {
            id: new_id("cgr"),
            customer: customer.id.clone(),
            credits: i64::try_from(credits).unwrap_or(i64::MAX),
            priority: 50,
            expires_at: None,
            source: "purchase".into(),
            description: Some(format!("credit pack {pack_id} (Checkout {session_id})")),
            // One grant per session, however many events or retries name it.
            idempotency_key: Some(format!("checkout:{session_id}")),
            purchase: Some(Purchase {
                pack: pack_id.clone(),
                // What the session collected (after discounts), else the pack's catalog price.
                amount: session.amount_total.unwrap_or(pack.price.0),
                currency: session
                    .currency
                    .clone()
                    .unwrap_or_else(|| app.catalog.currency.code().to_string())
                    .to_ascii_lowercase(),
            }),
            now: change.now,
        }));
    } else if let Some(plan) = plan {
        known_plan(app, plan)?;
        change.outcome = format!(
            "customer {}: plan {plan} bought through Checkout",
            customer.id
        );
        // Ordered with the subscription's own events: a newer one applied already wins.
        change.gate = session
            .subscription
            .as_ref()
            .map(|s| (s.id().to_string(), event.created.saturating_mul(1000)));
        // The plan's subscription may be in its trial already (its event came first): it stays.
        let trialing = customer.plan.as_deref() == Some(plan.as_str())
            && customer.status == "trialing"
            && customer.trial_ends_at.is_some_and(|t| t > change.now);
        change.effects.push(WebhookEffect::Plan(PlanChange {
            customer: customer.id.clone(),
            plan: Some(plan.clone()),
            billing_interval: customer.billing_interval.clone(),
            status: if trialing { "trialing" } else { "active" }.into(),
            // The period comes from the subscription's own events (its current_period_start),
            // never from when this event arrived.
            period_anchor: customer.period_anchor,
            trial_ends_at: if trialing {
                customer.trial_ends_at
            } else {
                trial_over(customer.trial_ends_at, change.now)
            },
            new_period: false,
            at: change.happened,
            now: change.now,
        }));
    }
    Ok(())
}
