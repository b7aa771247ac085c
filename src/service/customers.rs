//! Customers: create (idempotent by id; a deleted customer's id is not made again), read, list
//! (deleted customers only when asked for), and the billing status summary (a subscription only on
//! a paid plan; what is owed and whether a payment method is on file, as Stripe's webhooks
//! reported them). Changing and deleting a customer are in `customer_changes`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::terms::{
    DAY_MS, HOUR_MS, anchor_at, current_period, parse_interval, period_of, status_of,
};
use super::{App, BillingError, CustomerView, Money, PageInfo, PeriodView};
use crate::core::entitlement::Status;
use crate::core::money::MinorUnits;
use crate::core::period::rfc3339;
use crate::store::{Created, CustomerRecord, NewCustomer, Page, StripeLink};

impl App {
    pub fn view(&self, record: &CustomerRecord) -> CustomerView {
        let now = self.now();
        CustomerView {
            customer: record.id.clone(),
            name: record.name.clone(),
            email: record.email.clone(),
            plan: record
                .plan
                .clone()
                .or_else(|| self.catalog.default_plan.clone()),
            interval: record.billing_interval.clone(),
            status: status_of(record, now).as_str().into(),
            delinquent: record.delinquent != 0,
            current_period: current_period(record, now).map(PeriodView::from),
            trial_ends_at: record.trial_ends_at.map(rfc3339),
            stripe_customer_id: record.stripe_customer_id.clone(),
            metadata: serde_json::from_str(&record.metadata).unwrap_or_default(),
            created_at: rfc3339(record.created_at),
            deleted_at: record.deleted_at.map(rfc3339),
        }
    }

    pub async fn customer(&self, id: &str) -> Result<CustomerRecord, BillingError> {
        self.store
            .get_customer(id)
            .await?
            .ok_or_else(|| BillingError::unknown_customer(id))
    }

    /// The customer, unless it is deleted (`customer_deleted`): for every new write.
    pub async fn live_customer(&self, id: &str) -> Result<CustomerRecord, BillingError> {
        let record = self.customer(id).await?;
        match record.deleted_at {
            Some(at) => Err(BillingError::customer_deleted(id, at)),
            None => Ok(record),
        }
    }

    /// Why the ledger refused a write for `id` as an unknown customer: it is unknown, or it is
    /// deleted (the ledger refuses both alike, under the customer's lock).
    pub async fn refused_customer(&self, id: &str) -> BillingError {
        match self.store.get_customer(id).await {
            Ok(Some(CustomerRecord {
                deleted_at: Some(at),
                ..
            })) => BillingError::customer_deleted(id, at),
            _ => BillingError::unknown_customer(id),
        }
    }

    pub(crate) fn check_plan(&self, plan: &str) -> Result<(), BillingError> {
        if self.catalog.plan(plan).is_some() {
            return Ok(());
        }
        let known: Vec<&str> = self.catalog.plans.keys().map(String::as_str).collect();
        Err(BillingError::new(
            "unknown_plan",
            format!(
                "plan `{plan}` is not in the catalog; use one of: {}",
                known.join(", ")
            ),
        )
        .with("known_plans", known))
    }
}

#[derive(Debug, Clone)]
pub struct CreateCustomer {
    pub customer: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub plan: Option<String>,
    pub interval: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CreatedCustomer {
    /// False when the id was already in the ledger (nothing was changed).
    pub created: bool,
    #[serde(flatten)]
    pub customer: CustomerView,
}

pub async fn create(app: &App, input: CreateCustomer) -> Result<CreatedCustomer, BillingError> {
    if let Some(plan) = &input.plan {
        app.check_plan(plan)?;
    }
    let interval = parse_interval(input.interval.as_deref())?;
    let now = app.now();
    let trial_days = input
        .plan
        .as_deref()
        .and_then(|p| app.catalog.plan(p))
        .map_or(0, |p| p.trial_days);
    let metadata =
        serde_json::to_string(&input.metadata).map_err(|e| BillingError::invalid(e.to_string()))?;
    // As Stripe does: a trial is its own stretch, and the first paid period starts at its end.
    // The trial ends on a whole hour (never earlier than asked), so its end is an hour boundary.
    let trial_ends_at =
        (trial_days > 0).then(|| anchor_at(now + HOUR_MS - 1) + i64::from(trial_days) * DAY_MS);
    let created = app
        .store
        .create_customer(NewCustomer {
            id: input.customer,
            name: input.name,
            email: input.email,
            plan: input.plan,
            billing_interval: interval.as_str().into(),
            status: if trial_days > 0 { "trialing" } else { "active" }.into(),
            period_anchor: trial_ends_at.unwrap_or_else(|| anchor_at(now)),
            trial_ends_at,
            metadata,
            now,
        })
        .await?;
    let (created, record) = match created {
        Created::Created(r) => (true, r),
        // A deleted customer's id is not made again: its records keep it.
        Created::Existing(CustomerRecord {
            id,
            deleted_at: Some(at),
            ..
        }) => return Err(BillingError::customer_deleted(&id, at)),
        Created::Existing(r) => (false, r),
    };
    let record = link_stripe(app, record).await?;
    Ok(CreatedCustomer {
        created,
        customer: app.view(&record),
    })
}

/// With Stripe configured, a customer without a Stripe customer gets one, created from what the
/// ledger holds (so a retry sends Stripe the same request under the same idempotency key).
async fn link_stripe(app: &App, record: CustomerRecord) -> Result<CustomerRecord, BillingError> {
    let Some(payments) = app.stripe.as_ref() else {
        return Ok(record);
    };
    if record.stripe_customer_id.is_some() {
        return Ok(record);
    }
    let metadata: BTreeMap<String, String> =
        serde_json::from_str(&record.metadata).unwrap_or_default();
    let stripe = payments
        .create_customer(
            &record.id,
            record.name.as_deref(),
            record.email.as_deref(),
            &metadata,
        )
        .await
        .map_err(|e| {
            let mut e = BillingError::from(e);
            e.message = format!(
                "customer `{}` is in the ledger but has no Stripe customer yet: {} (calling create_customer again with the same id finishes the link)",
                record.id, e.message
            );
            e
        })?;
    let linked = app
        .store
        .link_stripe(StripeLink {
            customer: record.id.clone(),
            stripe_customer_id: stripe.id,
            now: app.now(),
        })
        .await?;
    Ok(linked.unwrap_or(record))
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CustomerList {
    pub customers: Vec<CustomerView>,
    #[serde(flatten)]
    pub page: PageInfo,
}

pub async fn list(
    app: &App,
    limit: u32,
    starting_after: Option<&str>,
    include_deleted: bool,
) -> Result<CustomerList, BillingError> {
    let limit = i64::from(limit.clamp(1, 100));
    let page = Page {
        limit: limit + 1,
        starting_after,
    };
    let mut rows = app.store.list_customers(page, include_deleted).await?;
    let page = PageInfo::cut(&mut rows, limit, |r| r.id.clone());
    Ok(CustomerList {
        page,
        customers: rows.iter().map(|r| app.view(r)).collect(),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BillingStatus {
    pub customer: String,
    pub plan: Option<String>,
    pub status: String,
    /// True on a paid plan (a base price above zero, or a priced meter; not one paid with
    /// credits, not a free plan) with status `active` or `trialing`.
    pub has_active_subscription: bool,
    pub is_delinquent: bool,
    /// What the customer's open Stripe invoices (past-due included) leave to pay, in the plan's
    /// currency, as `invoice.*` webhooks reported them; zero when none is open.
    pub outstanding: Money,
    /// Whether Stripe holds a payment method for the customer: a default payment method, or one
    /// set up or attached (from webhooks); false once Stripe removes the default.
    pub payment_method_configured: bool,
    pub trial_ends_at: Option<String>,
    pub current_period: Option<PeriodView>,
    /// The upcoming invoice total computed from the ledger (see preview_invoice for lines).
    pub next_invoice_amount: Option<Money>,
    pub credit_balance: u64,
    pub stripe_customer_id: Option<String>,
    /// This period's usage events as Stripe meter events.
    pub meter_events: MeterEventStatus,
    /// What the server keeps of old raw records, and what it removed of this customer's.
    pub retention: super::retention::RetentionView,
}

/// How the current period's usage events stand with Stripe.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MeterEventStatus {
    /// False when the server has no Stripe key: events stay pending until it has one.
    pub stripe_configured: bool,
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    /// Events the ledger alone bills (`max` and `unique` meters, boolean features): never sent.
    pub ledger_only: i64,
    pub oldest_pending_at: Option<String>,
    /// The newest reason an event is not delivered yet (pending) or will not be (failed).
    pub last_error: Option<String>,
}

pub async fn billing_status(app: &App, customer: &str) -> Result<BillingStatus, BillingError> {
    let record = app.customer(customer).await?;
    let view = app.view(&record);
    let status = Some(status_of(&record, app.now()));
    let preview = match app.plan_of(&record) {
        Some(_) => Some(super::invoice::preview(app, &record).await?),
        None => None,
    };
    let balance = super::credits::balance_of(app, customer).await?;
    let period = period_of(&record, app.now())?;
    let delivery = app
        .store
        .outbox_summary(customer, period.start, period.end)
        .await?;
    let standing = app.store.payment_standing(customer).await?;
    let currency = app
        .plan_of(&record)
        .map_or(app.catalog.currency, |p| p.currency);
    let owed = standing
        .open_by_currency
        .iter()
        .filter(|(code, _)| code.eq_ignore_ascii_case(currency.code()))
        .map(|(_, amount)| *amount)
        .fold(0_i64, i64::saturating_add);
    let retention = super::retention::view(app, &record).await?;
    Ok(BillingStatus {
        retention,
        customer: record.id.clone(),
        plan: view.plan,
        has_active_subscription: app.plan_of(&record).is_some_and(|p| p.is_paid())
            && matches!(status, Some(Status::Active | Status::Trialing)),
        is_delinquent: record.delinquent != 0 || status == Some(Status::PastDue),
        outstanding: Money::new(MinorUnits(owed), currency),
        payment_method_configured: standing.payment_method_configured,
        status: view.status.clone(),
        trial_ends_at: view.trial_ends_at,
        current_period: view.current_period,
        next_invoice_amount: preview.map(|p| p.total),
        credit_balance: balance,
        stripe_customer_id: record.stripe_customer_id,
        meter_events: MeterEventStatus {
            stripe_configured: app.stripe.is_some(),
            pending: delivery.pending,
            sent: delivery.sent,
            failed: delivery.failed,
            ledger_only: delivery.ledger_only,
            oldest_pending_at: delivery.oldest_pending_at.map(rfc3339),
            last_error: delivery.last_error,
        },
    })
}
