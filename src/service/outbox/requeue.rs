//! `retry_meter_events`: failed meter events back in the outbox, due at once, under the same
//! identifiers (so Stripe still counts each once).

use crate::service::{App, BillingError};

/// Failed meter events put back in the outbox.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Requeued {
    pub customer: String,
    pub meter: Option<String>,
    /// The range whose failed events were put back (the current billing period by default).
    pub range: crate::service::PeriodView,
    /// Events due again now (0 when none had failed: a repeat changes nothing).
    pub requeued: u64,
}

/// Put a customer's failed meter events (of one meter, or all) back in the outbox, due at once;
/// they keep their identifiers, so Stripe still counts each once.
pub async fn requeue(
    app: &App,
    customer: &str,
    meter: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Requeued, BillingError> {
    if let Some(m) = meter {
        app.check_meter(m)?;
    }
    let record = app.customer(customer).await?;
    let range = crate::service::usage_report::range_of(app, &record, from, to)?;
    let requeued = app
        .store
        .requeue(crate::store::Requeue {
            customer: record.id.clone(),
            meter: meter.map(String::from),
            from: range.start,
            to: range.end,
        })
        .await?;
    Ok(Requeued {
        customer: record.id,
        meter: meter.map(String::from),
        range: range.into(),
        requeued,
    })
}
