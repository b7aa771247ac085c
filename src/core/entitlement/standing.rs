//! Where a customer stands against one meter's limits and included units: the figures a decision
//! reports, and whether the asked units exceed a limit.

use std::collections::BTreeMap;

use super::UsageSoFar;
use crate::core::period::{Span, Window};
use crate::core::plan::{Per, PlanMeter};

/// Where a customer stands against one meter's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub window: Window,
    pub limit: u64,
    pub used: u64,
    pub resets_at: i64,
}

/// The figures to report for a meter and whether `quantity` more units would exceed a limit:
/// the exceeded window that frees up last decides; otherwise the tightest window; without
/// windows, the allowance span's included units (counted on usage the meter's price covers).
pub fn standing(
    terms: &PlanMeter,
    usage: &UsageSoFar,
    spans: &BTreeMap<Window, Span>,
    period: Span,
    quantity: u64,
) -> (Option<Standing>, bool) {
    let mut exceeded: Option<Standing> = None;
    let mut tightest: Option<Standing> = None;
    let month_end = spans.get(&Window::Month).map_or(period.end, |s| s.end);
    for (window, limit) in &terms.limits {
        let used = usage
            .level
            .unwrap_or_else(|| usage.in_window.get(window).copied().unwrap_or(0));
        // With `per = "period"` the month limit covers the whole period.
        let resets_at = match (window, terms.per) {
            (Window::Month, Per::Period) => period.end,
            _ => spans.get(window).map_or(period.end, |s| s.end),
        };
        let entry = Standing {
            window: *window,
            limit: *limit,
            used,
            resets_at,
        };
        if used.saturating_add(quantity) > *limit {
            if exceeded.is_none_or(|e| resets_at > e.resets_at) {
                exceeded = Some(entry);
            }
        } else if tightest.is_none_or(|t| limit - used < t.limit - t.used) {
            tightest = Some(entry);
        }
    }
    let over_limit = exceeded.is_some();
    let report = exceeded.or(tightest).or_else(|| {
        (terms.included > 0).then_some(Standing {
            window: Window::Month,
            limit: terms.included,
            used: usage.allowance_generic,
            resets_at: match terms.per {
                Per::Month => month_end,
                Per::Period => period.end,
            },
        })
    });
    (report, over_limit)
}
