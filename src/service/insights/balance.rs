//! Stripe's balance for the dashboard, asked at most once every five minutes whatever the
//! number of dashboard requests; a failed refresh keeps the last figures and says why.

use tokio::sync::Mutex;

use super::view::BalanceFigures;
use crate::core::period::rfc3339;
use crate::service::App;

/// How long Stripe's answer is shown before it is asked again.
pub const BALANCE_TTL_MS: i64 = 5 * 60 * 1000;

/// The last answer (or failure) and when it was asked.
#[derive(Default)]
pub struct BalanceCache {
    last: Mutex<Option<(i64, BalanceFigures)>>,
}

impl BalanceCache {
    /// The balance, refreshed when older than [`BALANCE_TTL_MS`]; `None` without Stripe.
    pub async fn get(&self, app: &App) -> Option<BalanceFigures> {
        let stripe = app.stripe.as_ref()?;
        let now = app.now();
        // Held across the call: concurrent requests wait for one answer.
        let mut last = self.last.lock().await;
        if let Some((asked, figures)) = last.as_ref()
            && now.saturating_sub(*asked) < BALANCE_TTL_MS
        {
            return Some(figures.clone());
        }
        let figures = match stripe.retrieve_balance().await {
            Ok(b) => BalanceFigures {
                available: b.available,
                pending: b.pending,
                as_of: Some(rfc3339(now)),
                error: None,
            },
            Err(e) => {
                let kept = last.take().map(|(_, f)| f);
                BalanceFigures {
                    error: Some(format!("Stripe's balance could not be read: {e}")),
                    ..kept.unwrap_or(BalanceFigures {
                        available: Vec::new(),
                        pending: Vec::new(),
                        as_of: None,
                        error: None,
                    })
                }
            }
        };
        *last = Some((now, figures.clone()));
        Some(figures)
    }
}
