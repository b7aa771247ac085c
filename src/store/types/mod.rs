//! Records the ledger stores and the requests it accepts, one file per aggregate (the parts of the
//! [`Ledger`](super::Ledger) they go with).

mod access;
mod credits;
mod customers;
mod entitlement;
mod holds;
mod insights;
mod onboarding;
mod outbox;
mod retention;
mod stripe_writes;
mod usage;
mod webhooks;

pub use access::*;
pub use credits::*;
pub use customers::*;
pub use entitlement::*;
pub use holds::*;
pub use insights::*;
pub use onboarding::*;
pub use outbox::*;
pub use retention::*;
pub use stripe_writes::*;
pub use usage::*;
pub use webhooks::*;
