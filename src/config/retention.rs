//! How long raw records are kept: `--retention-days` for all of them, and an override per kind
//! (`--usage-retention-days`, `--webhook-retention-days`, `--audit-retention-days`), each a
//! number of days or `forever`. Nothing set keeps everything.

use clap::Args;

use crate::service::retention::RetentionSettings;

/// A window: days, or `forever`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Days(u32),
    Forever,
}

/// Longest window a flag takes (a hundred years).
const MAX_DAYS: u32 = 36_500;

fn keep(text: &str) -> Result<Keep, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("forever") {
        return Ok(Keep::Forever);
    }
    match text.parse::<u32>() {
        Ok(days) if (1..=MAX_DAYS).contains(&days) => Ok(Keep::Days(days)),
        _ => Err(format!(
            "`{text}` is not a retention: give whole days from 1 to {MAX_DAYS}, or `forever`"
        )),
    }
}

#[derive(Debug, Clone, Default, Args)]
pub struct RetentionArgs {
    /// Days raw records are kept, then removed by a background task (hourly, and at start):
    /// usage events once billed and delivered to Stripe (their usage stays in the hourly
    /// totals), the payloads of processed webhook events, audit entries. Default: forever.
    #[arg(long, env = "BILLING_RETENTION_DAYS", value_name = "DAYS", value_parser = keep)]
    pub retention_days: Option<Keep>,
    /// Days raw usage events are kept (overrides --retention-days; `forever` keeps them).
    #[arg(long, env = "BILLING_USAGE_RETENTION_DAYS", value_name = "DAYS", value_parser = keep)]
    pub usage_retention_days: Option<Keep>,
    /// Days the payloads of processed and ignored webhook events are kept (overrides
    /// --retention-days).
    #[arg(long, env = "BILLING_WEBHOOK_RETENTION_DAYS", value_name = "DAYS", value_parser = keep)]
    pub webhook_retention_days: Option<Keep>,
    /// Days audit entries are kept (overrides --retention-days).
    #[arg(long, env = "BILLING_AUDIT_RETENTION_DAYS", value_name = "DAYS", value_parser = keep)]
    pub audit_retention_days: Option<Keep>,
}

impl RetentionArgs {
    pub fn settings(&self) -> RetentionSettings {
        let days = |own: Option<Keep>| match own.or(self.retention_days) {
            Some(Keep::Days(d)) => Some(d),
            Some(Keep::Forever) | None => None,
        };
        RetentionSettings {
            usage_events: days(self.usage_retention_days),
            webhook_payloads: days(self.webhook_retention_days),
            audit_log: days(self.audit_retention_days),
            ..RetentionSettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_wins_and_forever_keeps_one_kind() {
        let args = RetentionArgs {
            retention_days: Some(Keep::Days(90)),
            usage_retention_days: Some(Keep::Days(400)),
            audit_retention_days: Some(Keep::Forever),
            ..RetentionArgs::default()
        };
        let s = args.settings();
        assert_eq!(
            (s.usage_events, s.webhook_payloads, s.audit_log),
            (Some(400), Some(90), None)
        );
        assert!(!RetentionArgs::default().settings().removes_anything());
    }

    #[test]
    fn a_retention_is_whole_days_or_forever() {
        assert_eq!(keep("30"), Ok(Keep::Days(30)));
        assert_eq!(keep("Forever"), Ok(Keep::Forever));
        for bad in ["0", "-1", "1.5", "36501", "never", ""] {
            assert!(keep(bad).is_err(), "{bad}");
        }
    }
}
