//! What a link or session selling a catalog plan sells: its synced prices, and its trial — one
//! trial per customer (none for a customer whose trial has ended, the days left for one in a
//! trial).

use crate::core::period::rfc3339;
use crate::service::App;
use crate::store::CustomerRecord;
use crate::stripe::checkout::PlanSale;

const DAY_MS: i64 = 24 * 3_600_000;

/// How a link or session that sells a plan's synced prices starts its subscription (`note` says
/// why the trial is shorter than the plan's or not given); nothing for the caller's line items.
#[derive(Debug, Default)]
pub struct Sale {
    pub plan: Option<PlanSale>,
    pub note: Option<String>,
}

impl App {
    /// The sale of `plan`'s synced prices (none when the caller gave its own line items) to
    /// `customer`, with the trial its subscription starts with.
    pub fn sale(&self, plan: Option<&str>, customer: Option<&CustomerRecord>) -> Sale {
        let Some(plan) = plan else {
            return Sale::default();
        };
        let (trial_days, note) = self.trial_for(plan, customer);
        Sale {
            plan: Some(PlanSale { trial_days }),
            note,
        }
    }

    /// The plan's trial days, unless the customer had a trial: none once it has ended, the days
    /// left (rounded up) while it runs.
    fn trial_for(
        &self,
        plan: &str,
        customer: Option<&CustomerRecord>,
    ) -> (Option<u32>, Option<String>) {
        let days = self.catalog.plan(plan).map_or(0, |p| p.trial_days);
        if days == 0 {
            return (None, None);
        }
        let now = self.now();
        match customer.and_then(|c| c.trial_ends_at.map(|t| (c, t))) {
            Some((c, ends)) if ends <= now => (
                None,
                Some(format!(
                    "no trial: customer `{}` had one already (it ended {}); plan `{plan}`'s {days}-day trial is for new customers",
                    c.id,
                    rfc3339(ends)
                )),
            ),
            Some((c, ends)) => {
                let left = (ends - now).div_euclid(DAY_MS) + i64::from((ends - now) % DAY_MS != 0);
                let left = u32::try_from(left).unwrap_or(days).clamp(1, days);
                let note = (left < days).then(|| {
                    format!(
                        "a {left}-day trial: customer `{}` is in a trial until {}, and a customer gets one trial",
                        c.id,
                        rfc3339(ends)
                    )
                });
                (Some(left), note)
            }
            None => (Some(days), None),
        }
    }
}

/// Two notes as one.
pub fn join_notes(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}
