//! What webhooks tell `get_billing_status`, on both backends: only a paid plan that is active or
//! trialing is a subscription; `outstanding` follows each invoice's events in order; the
//! payment-method flag follows setup intents, attached and detached payment methods and the
//! customer's default; a trial that ended stays on record.

use serde_json::{Value, json};

use super::{NEW, event, setup};
use crate::support::{Client, NOW, backends};

async fn status(c: &Client) -> Value {
    c.ok("get_billing_status", json!({"customer": "acme"}))
        .await
}

#[tokio::test]
async fn only_a_paid_plan_active_or_trialing_is_an_active_subscription() {
    for backend in backends() {
        let (_h, _hook, c) = setup(backend).await;
        let free = status(&c).await;
        assert_eq!(free["plan"], "free");
        assert_eq!(free["status"], "active");
        assert_eq!(free["has_active_subscription"], false, "{free}");
        assert_eq!(
            free["outstanding"],
            json!({"amount": 0, "currency": "usd", "display": "0.00"})
        );
        assert_eq!(free["payment_method_configured"], false);

        for (plan, state, want) in [
            ("starter", "active", true),
            ("starter", "trialing", true),
            ("metered", "active", true),
            ("starter", "past_due", false),
            ("starter", "canceled", false),
            ("credits", "active", false),
        ] {
            c.ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": plan, "status": state}),
            )
            .await;
            assert_eq!(
                status(&c).await["has_active_subscription"],
                want,
                "{backend:?} {plan} {state}"
            );
        }
    }
}

fn invoice(id: &str, status: &str, remaining: i64) -> Value {
    json!({"id": id, "object": "invoice", "customer": "cus_w1", "status": status,
        "amount_due": 2900, "amount_remaining": remaining, "currency": "usd",
        "metadata": {"billing_mcp_customer": "acme"}})
}

#[tokio::test]
async fn outstanding_follows_each_invoice_in_order() {
    for backend in backends() {
        let (_h, hook, c) = setup(backend).await;
        let deliver = |e: Value| hook.accept(e);
        let owed = |c: Client| async move { status(&c).await["outstanding"].clone() };

        deliver(event(
            "evt_i1",
            "invoice.finalized",
            10,
            invoice("in_1", "open", 2900),
        ))
        .await;
        assert_eq!(
            owed(c.clone()).await,
            json!({"amount": 2900, "currency": "usd", "display": "29.00"}),
            "{backend:?}"
        );
        // A failed payment leaves it open (past due): still owed, and the customer delinquent.
        deliver(event(
            "evt_i2",
            "invoice.payment_failed",
            20,
            invoice("in_1", "open", 2900),
        ))
        .await;
        let s = status(&c).await;
        assert_eq!(s["outstanding"]["amount"], 2900);
        assert_eq!(s["is_delinquent"], true);
        let paid = deliver(event(
            "evt_i3",
            "invoice.paid",
            30,
            invoice("in_1", "paid", 0),
        ))
        .await;
        assert_eq!(paid["status"], "processed", "{paid}");
        let s = status(&c).await;
        assert_eq!(s["outstanding"]["amount"], 0, "{backend:?} {s}");
        assert_eq!(s["is_delinquent"], false);

        // The older `updated` of the same invoice arrives late: ignored, the invoice stays paid.
        let late = deliver(event(
            "evt_i0",
            "invoice.updated",
            15,
            invoice("in_1", "open", 2900),
        ))
        .await;
        assert_eq!(late["status"], "ignored", "{late}");
        assert!(
            late["outcome"].as_str().unwrap().contains("evt_i3"),
            "{late}"
        );
        assert_eq!(owed(c.clone()).await["amount"], 0);
        // One of the same second as the payment cannot reopen it either: paid is final.
        let same = deliver(event(
            "evt_i4",
            "invoice.updated",
            30,
            invoice("in_1", "open", 2900),
        ))
        .await;
        assert!(
            same["outcome"].as_str().unwrap().contains("final"),
            "{same}"
        );
        assert_eq!(owed(c.clone()).await["amount"], 0);

        // Order is per invoice: another invoice's older event still counts, and so does a second
        // open one; a voided invoice is owed no more.
        deliver(event(
            "evt_j1",
            "invoice.finalized",
            5,
            invoice("in_2", "open", 1200),
        ))
        .await;
        deliver(event(
            "evt_k1",
            "invoice.finalized",
            40,
            invoice("in_3", "open", 300),
        ))
        .await;
        assert_eq!(owed(c.clone()).await["amount"], 1500, "{backend:?}");
        deliver(event(
            "evt_k2",
            "invoice.voided",
            50,
            invoice("in_3", "void", 300),
        ))
        .await;
        assert_eq!(owed(c.clone()).await["amount"], 1200, "{backend:?}");
        let s = status(&c).await;
        assert_eq!(s["is_delinquent"], false, "finalizing is no failed payment");
    }
}

#[tokio::test]
async fn the_payment_method_flag_follows_stripe() {
    for backend in backends() {
        let (_h, hook, c) = setup(backend).await;
        let deliver = |e: Value| hook.accept(e);
        let configured =
            |c: Client| async move { status(&c).await["payment_method_configured"].clone() };
        let customer = |default: Option<&str>| {
            json!({"id": "cus_w1", "object": "customer", "metadata": {"billing_mcp_customer": "acme"},
                   "invoice_settings": {"default_payment_method": default}})
        };
        let updated = |id: &str, at: i64, default: Option<&str>, before: Option<&str>| {
            let mut e = event(id, "customer.updated", at, customer(default));
            e["data"]["previous_attributes"] =
                json!({"invoice_settings": {"default_payment_method": before}});
            e
        };
        let pm = |customer: Option<&str>| json!({"id": "pm_1", "object": "payment_method", "type": "card", "customer": customer, "metadata": null});

        // Linked, no payment method yet.
        let linked = deliver(event("evt_c0", "customer.created", 0, customer(None))).await;
        assert_eq!(linked["status"], "processed", "{linked}");
        assert_eq!(configured(c.clone()).await, false);

        let set_up = event(
            "evt_s1",
            "setup_intent.succeeded",
            10,
            json!({"id": "seti_1", "object": "setup_intent", "customer": "cus_w1", "payment_method": "pm_1",
                   "status": "succeeded", "metadata": {}}),
        );
        deliver(set_up).await;
        assert_eq!(configured(c.clone()).await, true, "{backend:?} set up");

        deliver(updated("evt_c1", 20, Some("pm_1"), None)).await;
        assert_eq!(configured(c.clone()).await, true, "the default");
        // Another payment method detached: the default stays.
        let mut other = event(
            "evt_d0",
            "payment_method.detached",
            30,
            json!({"id": "pm_2", "object": "payment_method", "customer": null}),
        );
        other["data"]["previous_attributes"] = json!({"customer": "cus_w1"});
        deliver(other).await;
        assert_eq!(
            configured(c.clone()).await,
            true,
            "pm_2 was not the default"
        );
        // The default detached.
        let mut gone = event("evt_d1", "payment_method.detached", 40, pm(None));
        gone["data"]["previous_attributes"] = json!({"customer": "cus_w1"});
        deliver(gone).await;
        assert_eq!(
            configured(c.clone()).await,
            false,
            "{backend:?} default detached"
        );
        // The older attach arrives late: ignored for the flag.
        let late = deliver(event(
            "evt_a0",
            "payment_method.attached",
            35,
            pm(Some("cus_w1")),
        ))
        .await;
        assert!(
            late["outcome"].as_str().unwrap().contains("evt_d1"),
            "{late}"
        );
        assert_eq!(configured(c.clone()).await, false);

        deliver(event(
            "evt_a1",
            "payment_method.attached",
            50,
            pm(Some("cus_w1")),
        ))
        .await;
        assert_eq!(configured(c.clone()).await, true, "attached");
        // Stripe says the customer's default is gone.
        deliver(updated("evt_c2", 60, None, Some("pm_1"))).await;
        assert_eq!(
            configured(c.clone()).await,
            false,
            "{backend:?} default removed"
        );
        // A customer update that changes no payment method changes nothing.
        let name = deliver(updated("evt_c3", 70, None, None)).await;
        assert_eq!(name["status"], "ignored", "{name}");
        assert_eq!(configured(c.clone()).await, false);
    }
}

#[tokio::test]
async fn a_trial_that_ended_stays_on_record_and_checkout_keeps_a_running_one() {
    for backend in backends() {
        let (_h, hook, c) = setup(backend).await;
        let sub = |id: &str, at: i64, state: &str, trial_end: i64| {
            let mut s = super::subscription("sub_1", "acme", "starter", state);
            s["trial_end"] = json!(trial_end);
            event(id, "customer.subscription.updated", at, s)
        };
        let trial_end = NOW / 1000 + 14 * 86_400;
        hook.deliver(&sub("evt_t1", 10, "trialing", trial_end), NEW)
            .await;
        // Checkout completes after the subscription started its trial: the trial stays.
        let done = event(
            "evt_cs",
            "checkout.session.completed",
            20,
            json!({"id": "cs_1", "object": "checkout.session", "mode": "subscription", "payment_status": "no_payment_required",
                   "customer": "cus_w1", "metadata": {"billing_mcp_customer": "acme", "billing_mcp_plan": "starter"}}),
        );
        hook.deliver(&done, NEW).await;
        let acme = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(acme["status"], "trialing", "{backend:?} {acme}");
        // Stripe's trial end on the hour, where the first paid period starts: the trial is a
        // period of its own, as Stripe's current period is while it runs.
        assert_eq!(acme["trial_ends_at"], "2026-12-05T10:00:00.000Z");
        assert_eq!(acme["current_period"]["start"], "2026-11-21T10:00:00.000Z");
        assert_eq!(acme["current_period"]["end"], "2026-12-05T10:00:00.000Z");
        // Active now, with the trial ended early: Stripe keeps trial_end, and so does the ledger.
        hook.deliver(&sub("evt_t2", 30, "active", NOW / 1000), NEW)
            .await;
        let acme = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(acme["status"], "active");
        assert_eq!(
            acme["trial_ends_at"], "2026-11-21T10:30:00.000Z",
            "{backend:?} {acme}"
        );
    }
}
