//! Another customer's ids are as unknown to a customer key as ids that never were: every tool the
//! key lists and every id-like argument of its input schema (found in the schema, not in a hand
//! list), tried once with B's real value and once with a well-formed value that exists nowhere,
//! answer alike (the tried value aside), and no answer to A's key shows any of B's ids.
//!
//! A call that changes its customer (`check_entitlement` with `consume`) is compared with the
//! same call by A's twin, a customer with the same history, so both start from the same state;
//! the ids such a call mints for itself (its event) are masked, as is the caller's own id.
//! Tools the key does not list are called too, every id-like argument at once.
//!
//! Service keys are not walked: the README's tool table says a `service` key acts "for any
//! customer", and the ledger refuses to tie one to a customer (checked below), so there is no
//! other customer for it to be kept from.
//!
//! `schema` finds the id-like arguments in each tool's input schema, `ids` recognises minted ids
//! and makes stand-ins, `answers` reads and masks what a call answers, `fixtures` gives B, A and
//! A's twin their data, and `walk` walks one backend; the test below runs it on each.

mod answers;
mod fixtures;
mod ids;
mod schema;
mod walk;

use std::time::Instant;

use billing_mcp::access::Role;
use billing_mcp::service::keys::{self, NewKey};
use walk::walk;

use crate::support::{B, Harness, backends};

/// A with the same history: a call that changes A is compared with the same call on the twin,
/// so both answers start from the same state.
const TWIN: &str = "cust_twin";

#[tokio::test]
async fn no_tool_tells_another_customers_ids_from_ids_that_never_were() {
    let mut defects = Vec::new();
    for backend in backends() {
        let started = Instant::now();
        let h = Harness::new(backend).await;
        let found = walk(&h).await;
        // A service key acts for every customer: there is no scoped service key to walk.
        assert!(
            keys::create(&h.app, NewKey::new(Role::Service, Some(B.into())))
                .await
                .is_err(),
            "{backend:?}: a service key was tied to a customer; walk it like a customer key"
        );
        let pairs: Vec<String> = found
            .pairs
            .iter()
            .map(|(t, a)| format!("{t}.{a}"))
            .collect();
        println!(
            "{backend:?}: {} (tool, argument) pairs and {} unlisted tools, {} calls in {:.1?}: {}",
            pairs.len(),
            found.unlisted.len(),
            found.calls,
            started.elapsed(),
            pairs.join(", ")
        );
        assert!(
            pairs.len() >= 2,
            "{backend:?}: too few id-like arguments found: {pairs:?}"
        );
        defects.extend(
            found
                .defects
                .into_iter()
                .map(|d| format!("{backend:?}: {d}")),
        );
    }
    assert!(
        defects.is_empty(),
        "{} answers tell B's ids apart or show them:\n{}",
        defects.len(),
        defects.join("\n")
    );
}
