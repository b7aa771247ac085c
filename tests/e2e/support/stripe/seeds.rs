//! Objects put in place at the Stripe test server as if made elsewhere (a payment, a
//! subscription, a dispute), for tests of the tools that read or change them.

use serde_json::json;

use super::StripeServer;
use super::routes::subscribe::{confirm_setup, save_card};
use super::routes::subscriptions::subscription_item;
use super::state::{CREATED, next_id, store};

impl StripeServer {
    /// A succeeded payment intent of `amount` usd cents, returning its id.
    pub fn seed_payment_intent(&self, amount: i64, customer: Option<&str>) -> String {
        let mut d = self.data.lock().unwrap();
        let id = next_id(&mut d, "pi");
        let pi = json!({
            "id": id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
            "amount_received": amount, "capture_method": "automatic", "confirmation_method": "automatic",
            "created": CREATED, "currency": "usd", "customer": customer, "description": null,
            "latest_charge": format!("ch_{}", &id[3..]), "livemode": false, "metadata": {},
            "payment_method_types": ["card"], "status": "succeeded"
        });
        store(&mut d, "payment_intent", pi);
        id
    }

    /// An active subscription of `customer` to `price` (a price this server created).
    pub fn seed_subscription(&self, customer: &str, price: &str) -> String {
        let mut d = self.data.lock().unwrap();
        let id = next_id(&mut d, "sub");
        let price = d.objects.get(price).cloned().unwrap();
        let item = subscription_item(&mut d, &id, price, Some(1));
        let sub = json!({
            "id": id, "object": "subscription",
            "automatic_tax": {"enabled": false}, "billing_cycle_anchor": CREATED,
            "billing_mode": {"type": "flexible"}, "billing_schedules": [],
            "cancel_at": null, "cancel_at_period_end": false, "canceled_at": null,
            "collection_method": "charge_automatically", "created": CREATED, "currency": "usd",
            "customer": customer, "discounts": [],
            "invoice_settings": {"issuer": {"type": "self"}},
            "items": {"object": "list", "data": [item], "has_more": false, "url": format!("/v1/subscription_items?subscription={id}")},
            "latest_invoice": null, "livemode": false, "metadata": {}, "start_date": CREATED,
            "status": "active", "trial_end": null
        });
        store(&mut d, "subscription", sub);
        id
    }

    /// A promotion code `code` on `coupon`, expiring at `expires_at` (epoch seconds; it may be
    /// past, which the API would not accept at creation), returning its id.
    pub fn seed_promotion_code(&self, code: &str, coupon: &str, expires_at: i64) -> String {
        let mut d = self.data.lock().unwrap();
        let id = next_id(&mut d, "promo");
        let promo = json!({
            "id": id, "object": "promotion_code", "active": true, "code": code, "created": CREATED,
            "customer": null, "expires_at": expires_at, "livemode": false, "max_redemptions": null,
            "metadata": {}, "promotion": {"type": "coupon", "coupon": coupon},
            "restrictions": {"first_time_transaction": false}, "times_redeemed": 0
        });
        store(&mut d, "promotion_code", promo);
        id
    }

    /// A card saved for Stripe customer `customer` (its default when `default`), returning its id.
    pub fn seed_card(&self, customer: &str, last4: &str, default: bool) -> String {
        save_card(&mut self.data.lock().unwrap(), customer, last4, default)
    }

    /// The customer completes setup intent `id` with Stripe.js: a card saved (not the customer's
    /// default), the intent succeeded. Returns the card's id.
    pub fn confirm_setup_intent(&self, id: &str) -> String {
        confirm_setup(&mut self.data.lock().unwrap(), id)
    }

    /// A dispute needing a response, on a payment intent.
    pub fn seed_dispute(&self, payment_intent: &str, amount: i64) -> String {
        let mut d = self.data.lock().unwrap();
        let id = next_id(&mut d, "dp");
        let dispute = json!({
            "id": id, "object": "dispute", "amount": amount, "balance_transactions": [],
            "charge": format!("ch_{}", &payment_intent[3..]), "created": CREATED, "currency": "usd",
            "enhanced_eligibility_types": [], "evidence": {"enhanced_evidence": {}},
            "evidence_details": {"due_by": CREATED + 86_400 * 7, "enhanced_eligibility": {}, "has_evidence": false, "past_due": false, "submission_count": 0},
            "is_charge_refundable": false, "livemode": false, "metadata": {},
            "payment_intent": payment_intent, "reason": "fraudulent", "status": "needs_response"
        });
        store(&mut d, "dispute", dispute);
        id
    }
}
