//! Identifiers the server mints: a readable prefix and a time-ordered UUID v7
//! (`evt_0193…`), so ids sort by creation and say what they name.

/// A new id such as `evt_01936f2e8c3a7d4e9b1f2a3c4d5e6f70`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
