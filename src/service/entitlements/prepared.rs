//! A request resolved against the catalog once, for a check, a consumption, a hold or a settle
//! alike: the feature, its priced value and tool, the dimensions its usage is recorded with, the
//! decision on a snapshot, and the atomic consumption the store runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::decide;
use crate::core::plan::Feature;
use crate::service::usage_event::UsageInput;
use crate::service::{App, BillingError};
use crate::store::{ConsumeRequest, Snapshot};

/// A request resolved against the catalog: the feature, its meter, the priced value and tool, and
/// the dimensions its usage is recorded with.
pub(crate) struct Prepared {
    pub feature: Feature,
    pub priced: Option<String>,
    pub tool: Option<String>,
    pub dimensions: BTreeMap<String, String>,
}

impl Prepared {
    pub fn new(
        app: &App,
        feature: &str,
        mut dimensions: BTreeMap<String, String>,
        tool: Option<String>,
    ) -> Result<Prepared, BillingError> {
        let feature = app.catalog.feature(feature).ok_or_else(|| {
            let known: Vec<&str> = app.catalog.features.keys().map(String::as_str).collect();
            BillingError::new(
                "unknown_feature",
                format!(
                    "feature `{feature}` is not in the catalog; use one of: {}",
                    known.join(", ")
                ),
            )
            .with("known_features", known)
        })?;
        if let Some(tool) = &tool {
            dimensions.insert("tool".into(), tool.clone());
        }
        let tool = tool.or_else(|| dimensions.get("tool").cloned());
        let priced = feature
            .meter
            .as_deref()
            .and_then(|m| app.catalog.meters.get(m))
            .and_then(|m| m.priced_value(&dimensions))
            .map(String::from);
        Ok(Prepared {
            feature: feature.clone(),
            priced,
            tool,
            dimensions,
        })
    }

    /// The meter (or a boolean feature's own counter) its usage is recorded under.
    pub fn recorded_meter(&self) -> String {
        self.feature
            .meter
            .clone()
            .unwrap_or_else(|| format!("feature:{}", self.feature.id))
    }

    /// The decision on a snapshot, for `quantity` units at `now`.
    pub fn decider(&self, app: &App, quantity: u64, now: i64) -> crate::store::Decide {
        let catalog = Arc::clone(&app.catalog);
        let (f, p, t) = (self.feature.clone(), self.priced.clone(), self.tool.clone());
        Box::new(move |s: &Snapshot| {
            decide(&catalog, &f, p.as_deref(), t.as_deref(), quantity, now, s)
        })
    }

    /// Decide and record `quantity` units atomically, with the event keyed by `key`.
    pub fn consume_request(
        &self,
        app: &App,
        customer: &str,
        quantity: u64,
        key: Option<String>,
        now: i64,
    ) -> Result<ConsumeRequest, BillingError> {
        let event = app.new_event(
            UsageInput {
                customer: customer.to_string(),
                // A boolean feature is counted under its own name, so its consumptions are idempotent too.
                meter: self.recorded_meter(),
                quantity,
                timestamp: None,
                dimensions: self.dimensions.clone(),
                idempotency_key: key,
            },
            now,
        )?;
        Ok(ConsumeRequest {
            customer: customer.to_string(),
            event: Some(event),
            meter: app
                .counted(self.feature.meter.as_deref())
                .map(|c| (c.meter.to_string(), c.aggregation)),
            now,
            decide: self.decider(app, quantity, now),
        })
    }
}
