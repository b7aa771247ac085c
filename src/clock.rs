//! The server's notion of "now", in Unix milliseconds. The core takes "now" as a parameter;
//! the layers above it read it from one [`Clock`], which tests replace with a clock they move.

use std::sync::Arc;

/// Unix milliseconds, as the ledger stores them.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system's wall clock.
pub fn system_clock() -> Clock {
    Arc::new(|| chrono::Utc::now().timestamp_millis())
}
