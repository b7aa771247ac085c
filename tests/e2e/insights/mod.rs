//! The business as `get_dashboard` and `get_usage_stats` show it, checked by hand and against
//! `preview_invoice`, on both backends, and the Prometheus metrics the HTTP server exposes.

mod dashboard;
mod metrics;
mod previews;
