//! `get_usage_stats`: one customer's calls over a window (its current billing period unless
//! given): how many, how many failed (an `outcome` dimension of `error`, `failed`, `failure` or
//! `denied`), the quantity, the top tools and a row per UTC day, with the credits the window
//! burned and what the current period's usage adds to the upcoming invoice.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::core::money::MinorUnits;
use crate::core::period::{DAY_MS, rfc3339};
use crate::service::invoice;
use crate::service::usage_report::range_of;
use crate::service::{App, BillingError, Money};

#[derive(Debug, Clone, Default)]
pub struct StatsQuery {
    pub customer: String,
    pub meter: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct CallCounts {
    /// Events recorded (each call that recorded usage is one event per meter).
    pub calls: u64,
    pub successful: u64,
    pub failed: u64,
    /// The sum of the quantities recorded.
    pub quantity: u64,
}

impl CallCounts {
    fn add(&mut self, events: u64, quantity: u64, failed: bool) {
        self.calls = self.calls.saturating_add(events);
        if failed {
            self.failed = self.failed.saturating_add(events);
        } else {
            self.successful = self.successful.saturating_add(events);
        }
        self.quantity = self.quantity.saturating_add(quantity);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ToolCalls {
    pub tool: String,
    #[serde(flatten)]
    pub counts: CallCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DayCalls {
    /// The day's start (UTC).
    pub day: String,
    #[serde(flatten)]
    pub counts: CallCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UsageStatsView {
    pub customer: String,
    /// The window, `[from, to)`.
    pub from: String,
    pub to: String,
    /// The meter counted, or null for all of them.
    pub meter: Option<String>,
    #[serde(flatten)]
    pub totals: CallCounts,
    /// Credits usage burned in the window.
    pub credits_burned: u64,
    /// The usage lines of the upcoming invoice (its current period so far), as
    /// `preview_invoice` prices them; null without a plan.
    pub period_usage_amount: Option<Money>,
    /// The ten `tool` values with the most calls.
    pub top_tools: Vec<ToolCalls>,
    pub per_day: Vec<DayCalls>,
}

pub async fn stats(app: &App, q: StatsQuery) -> Result<UsageStatsView, BillingError> {
    if let Some(m) = &q.meter {
        app.check_meter(m)?;
    }
    let record = app.customer(&q.customer).await?;
    let window = range_of(app, &record, q.from.as_deref(), q.to.as_deref())?;
    let rows = app
        .store
        .usage_by_day(&record.id, window.start, window.end)
        .await?;
    let mut totals = CallCounts::default();
    let mut tools: BTreeMap<String, CallCounts> = BTreeMap::new();
    let mut days: BTreeMap<i64, CallCounts> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| q.meter.as_ref().is_none_or(|m| *m == r.meter))
    {
        let events = u64::try_from(r.events).unwrap_or(0);
        let quantity = u64::try_from(r.quantity).unwrap_or(0);
        let failed = r.failed != 0;
        totals.add(events, quantity, failed);
        days.entry(r.day).or_default().add(events, quantity, failed);
        if !r.tool.is_empty() {
            tools
                .entry(r.tool.clone())
                .or_default()
                .add(events, quantity, failed);
        }
    }
    let mut top_tools: Vec<ToolCalls> = tools
        .into_iter()
        .map(|(tool, counts)| ToolCalls { tool, counts })
        .collect();
    top_tools.sort_by_key(|t| std::cmp::Reverse(t.counts.calls));
    top_tools.truncate(10);
    let credits_burned = app
        .store
        .credits_burned(&record.id, window.start, window.end)
        .await?
        .iter()
        .filter(|(meter, _)| q.meter.as_ref().is_none_or(|m| m == *meter))
        .fold(0_u64, |sum, (_, c)| sum.saturating_add(*c));
    let period_usage_amount = match app.plan_of(&record) {
        None => None,
        Some(plan) => {
            let currency = plan.currency;
            let preview = invoice::preview(app, &record).await?;
            let amount = preview
                .lines
                .iter()
                .filter(|l| l.kind == "usage" || l.kind == "credits")
                .filter(|l| q.meter.is_none() || l.meter == q.meter)
                .fold(0_i64, |sum, l| sum.saturating_add(l.amount.amount));
            Some(Money::new(MinorUnits(amount), currency))
        }
    };
    Ok(UsageStatsView {
        customer: record.id,
        from: rfc3339(window.start),
        to: rfc3339(window.end),
        meter: q.meter,
        totals,
        credits_burned,
        period_usage_amount,
        top_tools,
        per_day: days
            .into_iter()
            .map(|(day, counts)| DayCalls {
                day: rfc3339(day.saturating_mul(DAY_MS)),
                counts,
            })
            .collect(),
    })
}
