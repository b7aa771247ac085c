//! Identity and access through real clients: customer isolation over every tool in the registry,
//! roles and the tools each lists, rate limits with `retry_after_ms`, revocation and rotation,
//! 401 on HTTP, the audit log, and secrets kept out of the binary's logs.

mod audit;
mod binary;
mod id_walk;
mod keys;
mod rate_limits;
mod scope;
