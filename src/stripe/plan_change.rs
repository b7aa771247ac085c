//! Moving a subscription to another catalog plan: the items that leave (deleted) and the synced
//! prices that come (added), previewed first with Stripe's own `invoices/create_preview`
//! (`subscription_details`, nothing is changed) and then made with one subscription update that
//! also retags the plan.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stripe_billing::invoice::{
    CreatePreviewInvoice, CreatePreviewInvoiceSubscriptionDetails,
    CreatePreviewInvoiceSubscriptionDetailsItems,
    CreatePreviewInvoiceSubscriptionDetailsProrationBehavior,
};
use stripe_billing::subscription::{
    ListSubscription, UpdateSubscription, UpdateSubscriptionItems,
    UpdateSubscriptionProrationBehavior,
};

use super::billing::Proration;
use super::checkout::{LineItem, PLAN_KEY};
use super::views::{SubscriptionView, money, time};
use super::{Error, Payments, parse, wire};
use crate::values::Money;

/// One plan change at Stripe, as the service worked it out.
#[derive(Debug, Clone, Serialize)]
pub struct PlanMove {
    pub stripe_customer: String,
    pub subscription: String,
    /// Subscription items that leave (their prices are not the new plan's).
    pub remove: Vec<String>,
    /// The new plan's synced prices the subscription does not carry yet.
    pub add: Vec<(String, bool)>,
    pub proration: Proration,
    /// The catalog plan the subscription moves to (its `billing_mcp_plan` metadata).
    pub plan: String,
    /// Prorate as of this instant (epoch seconds): the preview and the change agree.
    pub at: i64,
}

impl PlanMove {
    /// The change from `current` to the prices of `items`.
    pub fn between(
        stripe_customer: String,
        current: &SubscriptionView,
        items: &[LineItem],
        proration: Proration,
        plan: String,
        at: i64,
    ) -> PlanMove {
        let wanted = |price: &str| items.iter().any(|i| i.price.0 == price);
        PlanMove {
            stripe_customer,
            subscription: current.id.clone(),
            remove: current
                .items
                .iter()
                .filter(|i| !wanted(&i.price))
                .map(|i| i.id.clone())
                .collect(),
            add: items
                .iter()
                .filter(|i| !current.items.iter().any(|c| c.price == i.price.0))
                .map(|i| (i.price.0.clone(), i.metered))
                .collect(),
            proration,
            plan,
            at,
        }
    }
}

/// Stripe's preview of the invoice a plan change leads to.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StripePreview {
    pub total: Money,
    pub amount_due: Money,
    pub period_start: String,
    pub period_end: String,
    pub lines: Vec<PreviewLine>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PreviewLine {
    pub description: Option<String>,
    pub amount: Money,
    /// A credit or charge for part of a period (the plan change).
    pub proration: bool,
    pub period_start: String,
    pub period_end: String,
}

impl From<&stripe_shared::Invoice> for StripePreview {
    fn from(i: &stripe_shared::Invoice) -> Self {
        StripePreview {
            total: money(i.total, &i.currency),
            amount_due: money(i.amount_due, &i.currency),
            period_start: time(i.period_start),
            period_end: time(i.period_end),
            lines: i
                .lines
                .data
                .iter()
                .map(|l| PreviewLine {
                    description: l.description.clone(),
                    amount: money(l.amount, &l.currency),
                    proration: l.parent.as_ref().is_some_and(|p| {
                        p.subscription_item_details
                            .as_ref()
                            .is_some_and(|d| d.proration)
                            || p.invoice_item_details.as_ref().is_some_and(|d| d.proration)
                    }),
                    period_start: time(l.period.start),
                    period_end: time(l.period.end),
                })
                .collect(),
        }
    }
}

impl Payments {
    /// The customer's subscription a plan change moves: the one tagged with a catalog plan,
    /// else its only live one.
    pub async fn live_subscription(
        &self,
        stripe_customer: &str,
    ) -> Result<Option<SubscriptionView>, Error> {
        let list = self
            .read(ListSubscription::new().customer(stripe_customer).limit(10))
            .await?;
        let live: Vec<SubscriptionView> = list
            .data
            .iter()
            .map(SubscriptionView::from)
            .filter(|s| matches!(s.status.as_str(), "active" | "trialing" | "past_due"))
            .collect();
        let tagged = live.iter().position(|s| s.metadata.contains_key(PLAN_KEY));
        Ok(match (tagged, live.len()) {
            (Some(i), _) => live.into_iter().nth(i),
            (None, 1) => live.into_iter().next(),
            _ => None,
        })
    }

    pub async fn preview_plan_change(&self, m: &PlanMove) -> Result<StripePreview, Error> {
        let mut items: Vec<CreatePreviewInvoiceSubscriptionDetailsItems> = m
            .remove
            .iter()
            .map(|id| {
                let mut item = CreatePreviewInvoiceSubscriptionDetailsItems::new();
                item.id = Some(id.clone());
                item.deleted = Some(true);
                item
            })
            .collect();
        for (price, metered) in &m.add {
            let mut item = CreatePreviewInvoiceSubscriptionDetailsItems::new();
            item.price = Some(price.clone());
            item.quantity = (!metered).then_some(1);
            items.push(item);
        }
        let mut details = CreatePreviewInvoiceSubscriptionDetails::new();
        details.items = Some(items);
        details.proration_behavior = Some(parse::<
            CreatePreviewInvoiceSubscriptionDetailsProrationBehavior,
        >(&wire(m.proration)));
        details.proration_date = Some(m.at);
        let request = CreatePreviewInvoice::new()
            .customer(m.stripe_customer.as_str())
            .subscription(m.subscription.as_str())
            .subscription_details(details);
        // A preview creates nothing: a POST that is safe to send again without a key.
        let invoice = self.read(request).await?;
        Ok(StripePreview::from(&invoice))
    }

    pub async fn apply_plan_change(
        &self,
        m: &PlanMove,
        key: &str,
    ) -> Result<SubscriptionView, Error> {
        let mut items: Vec<UpdateSubscriptionItems> = m
            .remove
            .iter()
            .map(|id| {
                let mut item = UpdateSubscriptionItems::new();
                item.id = Some(id.clone());
                item.deleted = Some(true);
                item
            })
            .collect();
        for (price, metered) in &m.add {
            let mut item = UpdateSubscriptionItems::new();
            item.price = Some(price.clone());
            item.quantity = (!metered).then_some(1);
            items.push(item);
        }
        let request = UpdateSubscription::new(m.subscription.as_str())
            .items(items)
            .proration_behavior(parse::<UpdateSubscriptionProrationBehavior>(&wire(
                m.proration,
            )))
            .proration_date(m.at)
            .metadata(
                [(PLAN_KEY.to_string(), m.plan.clone())]
                    .into_iter()
                    .collect::<std::collections::HashMap<_, _>>(),
            );
        let sub = self.write(request, key).await?;
        Ok(SubscriptionView::from(&sub))
    }
}
