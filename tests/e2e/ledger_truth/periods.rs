//! Billing periods: a plan change halfway with Stripe's prorations, a monthly allowance on a
//! yearly plan, a trial set by hand, and a change to yearly that starts a new period.

use serde_json::json;

use super::{amount, lines, on_plan, record};
use crate::support::{DAY, Harness, NOW, backends};

#[tokio::test]
async fn a_plan_change_halfway_keeps_what_the_old_plan_owes_and_prorates_both_base_fees() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        on_plan(&c, "acme", "starter", "month").await;
        let period = c.ok("get_customer", json!({"customer": "acme"})).await;
        // 2026-11-21T10:00Z to 2026-12-21T10:00Z: 30 days
        assert_eq!(
            period["current_period"]["start"],
            "2026-11-21T10:00:00.000Z"
        );
        assert_eq!(period["current_period"]["end"], "2026-12-21T10:00:00.000Z");
        record(&c, "acme", "tool_calls", 1250).await;
        h.set_now(NOW - 30 * 60_000 + 15 * DAY); // exactly half of the period
        let dry = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "professional", "dry_run": true}),
            )
            .await;
        assert_eq!(dry["dry_run"], true);
        let still = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(still["plan"], "starter", "a dry run changes nothing");
        let applied = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "professional"}),
            )
            .await;
        let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        assert_eq!(
            dry["invoice"]["lines"], inv["lines"],
            "the dry run showed the invoice it made"
        );
        assert_eq!(applied["invoice"]["total"], inv["total"]);
        let base = lines(&inv, "base");
        assert_eq!(
            (base.len(), amount(base[0])),
            (1, 2900),
            "{backend:?}: {inv}"
        );
        let prorations: Vec<i64> = lines(&inv, "proration").into_iter().map(amount).collect();
        // Stripe: price × (period end − change) / (period end − period start), to the cent
        assert_eq!(prorations, vec![-1450, 4950], "{backend:?}: {inv}");
        let usage = lines(&inv, "usage");
        let starter = usage.iter().find(|l| l["plan"] == "starter").unwrap();
        assert_eq!(
            (
                starter["quantity"].as_u64(),
                starter["billable"].as_u64(),
                amount(starter)
            ),
            (Some(1250), Some(250), 250 * 5),
            "{backend:?}: the 250 calls owed under Starter stay"
        );
        assert_eq!(inv["total"]["amount"], 2900 - 1450 + 4950 + 1250);
        let check = c
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls", "quantity": 1}),
            )
            .await;
        assert_eq!(
            (check["used"].as_u64(), check["limit"].as_u64()),
            (Some(0), Some(5000)),
            "{backend:?}: Professional's allowance starts at the change: {check}"
        );
        // Back again at the same moment: nothing extra.
        c.ok(
            "set_customer_plan",
            json!({"customer": "acme", "plan": "starter"}),
        )
        .await;
        let back = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        assert_eq!(back["total"]["amount"], 2900 + 1250, "{backend:?}: {back}");
    }
}

#[tokio::test]
async fn a_yearly_starter_customer_gets_1000_included_calls_each_month() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        on_plan(&c, "acme", "starter", "year").await;
        record(&c, "acme", "tool_calls", 1200).await;
        h.set_now(NOW + 31 * DAY);
        let fresh = c
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls", "quantity": 1}),
            )
            .await;
        assert_eq!(
            (
                fresh["used"].as_u64(),
                fresh["limit"].as_u64(),
                amount(&fresh["cost"])
            ),
            (Some(0), Some(1000), 0),
            "{backend:?}: a new month, a new allowance: {fresh}"
        );
        assert_eq!(
            fresh["resets_at"], "2027-01-21T10:00:00.000Z",
            "{backend:?}: the allowance resets with the month, not the year"
        );
        record(&c, "acme", "tool_calls", 1300).await;
        let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        let months: Vec<(u64, i64)> = lines(&inv, "usage")
            .into_iter()
            .map(|l| (l["quantity"].as_u64().unwrap(), amount(l)))
            .collect();
        assert_eq!(
            months[..2],
            [(1200, 1000), (1300, 1500)],
            "{backend:?}: {inv}"
        );
        assert_eq!(inv["total"]["amount"], 29_000 + 1000 + 1500);
    }
}

#[tokio::test]
async fn a_trial_set_by_hand_ends_and_a_dry_run_during_a_trial_bills_what_applying_does() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        c.ok("create_customer", json!({"customer": "acme"})).await;
        let (code, message) = c
            .err(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "free", "status": "trialing"}),
            )
            .await;
        assert_eq!(code, "invalid_params", "{message}");
        let trial = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "starter", "status": "trialing"}),
            )
            .await;
        assert_eq!(
            trial["trial_ends_at"], "2026-12-05T10:30:00.000Z",
            "{backend:?}: the plan's 14 days"
        );
        h.set_now(NOW + 5 * DAY);
        let dry = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "professional", "dry_run": true}),
            )
            .await;
        let applied = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "professional"}),
            )
            .await;
        assert_eq!(
            dry["invoice"]["total"], applied["invoice"]["total"],
            "{backend:?}: {dry}"
        );
        assert!(
            applied["invoice"]["total"]["amount"].as_i64() > Some(0),
            "{backend:?}: the trial ended with the change"
        );
    }
}

#[tokio::test]
async fn a_change_to_yearly_halfway_starts_a_new_period_and_keeps_what_the_month_owed() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        on_plan(&c, "acme", "starter", "month").await;
        record(&c, "acme", "tool_calls", 1250).await;
        h.set_now(NOW - 30 * 60_000 + 15 * DAY); // half of the 30-day month
        let dry = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "starter", "interval": "year", "dry_run": true}),
            )
            .await;
        c.ok(
            "set_customer_plan",
            json!({"customer": "acme", "plan": "starter", "interval": "year"}),
        )
        .await;
        let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        assert_eq!(
            inv["period"]["start"], "2026-12-06T10:00:00.000Z",
            "{backend:?}: a new period: {inv}"
        );
        let by_kind: Vec<(&str, i64)> = inv["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| amount(l) != 0)
            .map(|l| (l["kind"].as_str().unwrap(), amount(l)))
            .collect();
        // the month's 250 calls above 1,000 and the unused half of $29, then the year's $290
        assert_eq!(
            by_kind,
            vec![("usage", 1250), ("proration", -1450), ("base", 29_000)],
            "{backend:?}: {inv}"
        );
        assert_eq!(inv["total"]["amount"], 29_000 + 1250 - 1450);
        assert_eq!(
            dry["invoice"]["total"], inv["total"],
            "{backend:?}: the dry run showed it"
        );
    }
}

#[tokio::test]
async fn ending_a_sign_up_trial_with_a_new_period_credits_nothing_and_charges_the_whole_base() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        c.ok(
            "create_customer",
            json!({"customer": "acme", "plan": "professional"}),
        )
        .await;
        record(&c, "acme", "tool_calls", 40).await;
        // Two days and 35 minutes into the 14-day trial, the customer starts paying now.
        h.set_now(NOW + 2 * DAY + 35 * 60_000);
        let change = json!({"customer": "acme", "plan": "professional", "status": "active", "reset_period": true});
        let mut dry = change.clone();
        dry["dry_run"] = json!(true);
        let dry = c.ok("set_customer_plan", dry).await;
        c.ok("set_customer_plan", change).await;
        let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        assert_eq!(dry["invoice"]["lines"], inv["lines"], "{backend:?}");
        assert!(
            lines(&inv, "proration").is_empty(),
            "{backend:?}: the trial was never charged, so none of it is credited: {inv}"
        );
        let base = lines(&inv, "base");
        assert_eq!(
            (base.len(), amount(base[0])),
            (1, 9900),
            "{backend:?}: the new period is paid whole: {inv}"
        );
        let trial_usage = lines(&inv, "usage");
        assert!(
            trial_usage.iter().all(|l| amount(l) == 0),
            "{backend:?}: the 40 trial calls are not charged: {inv}"
        );
        assert_eq!(inv["total"]["amount"], 9900, "{backend:?}: {inv}");
    }
}
