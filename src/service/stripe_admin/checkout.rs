//! Payment links, Checkout Sessions and billing portal sessions. A link or session sells the
//! caller's line items, or a catalog plan's synced prices with the plan's trial (one trial per
//! customer); a session for a ledger customer carries its id so the webhook links the two.

use super::sale::{Sale, join_notes};
use crate::service::sync::sale::line_items_or_plan;
use crate::service::{App, BillingError};
use crate::store::CustomerRecord;
use crate::stripe::checkout::{
    LineItem, Mode, NewCheckoutSession, NewPaymentLink, NewPortalSession, PlanInterval,
};
use crate::stripe::credit_sale::{NewCreditCheckout, PackSale};
use crate::stripe::views::{CheckoutSessionView, PaymentLinkView, PortalSessionView};
use crate::values::Name;

impl App {
    /// The line items (the caller's, or `plan`'s synced prices when it gives none) and how the
    /// subscription starts: a plan's trial goes with its synced prices, never with the caller's
    /// own line items.
    pub(super) async fn sell(
        &self,
        items: &mut Vec<LineItem>,
        plan: Option<&Name>,
        interval: Option<PlanInterval>,
        customer: Option<&CustomerRecord>,
    ) -> Result<Sale, BillingError> {
        let sells_plan = items.is_empty();
        line_items_or_plan(self, items, plan, interval).await?;
        let plan = plan.map(|n| n.0.as_str()).filter(|_| sells_plan);
        Ok(self.sale(plan, customer))
    }

    pub async fn create_payment_link(
        &self,
        mut p: NewPaymentLink,
    ) -> Result<PaymentLinkView, BillingError> {
        self.stripe()?;
        let customer = match &p.customer {
            Some(c) => Some(self.customer(&c.0).await?),
            None => None,
        };
        if let Some(plan) = &p.plan {
            self.check_plan(&plan.0)?;
        }
        let sale = self
            .sell(
                &mut p.line_items,
                p.plan.as_ref(),
                p.interval,
                customer.as_ref(),
            )
            .await?;
        p.sale = sale.plan;
        let key = p.idempotency_key.clone();
        let mut link = self
            .remembered("create_payment_link", key.as_ref(), p, |s, p| {
                s.create_payment_link(p)
            })
            .await?;
        link.note = join_notes(link.note, sale.note);
        Ok(link)
    }

    pub async fn create_checkout_session(
        &self,
        mut p: NewCheckoutSession,
    ) -> Result<CheckoutSessionView, BillingError> {
        self.stripe()?;
        if let Some(plan) = &p.plan {
            self.check_plan(&plan.0)?;
        }
        let (stripe_customer, ledger_customer) = match &p.customer {
            Some(c) => {
                let (id, in_ledger) = self.resolve_customer(&c.0).await?;
                (Some(id), in_ledger.then(|| c.0.clone()))
            }
            None => (None, None),
        };
        let record = match &ledger_customer {
            Some(c) => Some(self.customer(c).await?),
            None => None,
        };
        let sale = self
            .sell(
                &mut p.line_items,
                p.plan.as_ref(),
                p.interval,
                record.as_ref(),
            )
            .await?;
        p.sale = sale.plan;
        if let Some(code) = &p.promotion_code {
            p.promotion_code_id = Some(self.promotion_code_by(&code.0).await?.id);
        }
        let subscription = matches!(p.mode, Mode::Subscription);
        let mut session = self
            .on_stripe(|s| s.create_checkout_session(p, stripe_customer, ledger_customer))
            .await?;
        // A one-time payment starts no subscription, so no trial either.
        session.note = sale.note.filter(|_| subscription);
        Ok(session)
    }

    pub async fn create_billing_portal_session(
        &self,
        p: NewPortalSession,
    ) -> Result<PortalSessionView, BillingError> {
        self.stripe()?;
        let customer = self.stripe_customer(&p.customer.0).await?;
        self.on_stripe(|s| {
            s.create_billing_portal_session(customer, p.return_url.as_ref(), &p.idempotency_key)
        })
        .await
    }
}

impl App {
    /// A Checkout session selling catalog credit pack `pack` to a ledger customer: its credits
    /// are granted once, when Stripe's `checkout.session.completed` webhook says it is paid.
    pub async fn create_credit_checkout(
        &self,
        p: NewCreditCheckout,
    ) -> Result<CheckoutSessionView, BillingError> {
        self.stripe()?;
        let Some(pack) = self.catalog.credits.packs.get(&p.pack.0) else {
            let known: Vec<&str> = self
                .catalog
                .credits
                .packs
                .keys()
                .map(String::as_str)
                .collect();
            return Err(BillingError::new(
                "unknown_credit_pack",
                format!(
                    "credit pack `{}` is not in the catalog; its packs are: {}",
                    p.pack.0,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            )
            .with("pack", p.pack.0.clone()));
        };
        let (stripe_customer, in_ledger) = self.resolve_customer(&p.customer.0).await?;
        if !in_ledger {
            return Err(BillingError::invalid(
                "credits belong to a ledger customer: give its id (create_customer makes one), not a Stripe customer id",
            ));
        }
        let promotion_code = match &p.promotion_code {
            Some(code) => Some(self.promotion_code_by(&code.0).await?.id),
            None => None,
        };
        let credits = pack.total_credits();
        let sale = PackSale {
            stripe_customer,
            ledger_customer: p.customer.0.clone(),
            pack: pack.id.clone(),
            label: format!("{} ({credits} credits)", pack.name),
            unit_amount: pack.price.0,
            currency: self.catalog.currency.code().to_ascii_lowercase(),
            promotion_code,
        };
        let key = p.idempotency_key.clone();
        self.remembered(
            "create_credit_checkout",
            key.as_ref(),
            p,
            move |s, p| async move { s.create_credit_checkout(&p, &sale).await },
        )
        .await
    }
}
