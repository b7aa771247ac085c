//! A writer's transaction that fails part way (its PostgreSQL connection ended by the server):
//! every caller waiting in that batch is told the database's reason, none is left with "the ledger
//! writer has stopped", nothing of the batch is stored, and the writer serves the next call. Each
//! kind of batch is failed: plain writes, a group of consumptions and a group of holds, each of
//! several customers.

use std::future::Future;
use std::time::Duration;

use billing_mcp::core::entitlement::{Decision, Reason};
use billing_mcp::core::usage::Aggregation;
use billing_mcp::store::{self, ConsumeRequest, Counted, HoldRequest, Store, StoreError, Verdict};
use sqlx::Connection;
use tokio::task::JoinHandle;

use crate::store_contract::{acme_around_now, customer, event};
use crate::support::{Backend, NOW, backends, test_db};

const LOCK_EVENTS: &str = "LOCK TABLE usage_events IN ACCESS EXCLUSIVE MODE";
const CUSTOMERS: [&str; 3] = ["acme", "globex", "initech"];

/// The writer's connection, once it waits for a lock: ended by the server.
async fn end_the_waiting_writer(admin: &mut sqlx::PgConnection, which: &str) {
    for _ in 0..500 {
        let ended: Option<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
        )
        .fetch_optional(&mut *admin)
        .await
        .unwrap();
        if ended == Some(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the writer never waited for the lock ({which} batch)");
}

/// A consumption of one `tool_calls` for `who`, always allowed.
fn consumption(who: &str, key: &str) -> ConsumeRequest {
    ConsumeRequest {
        customer: who.into(),
        event: Some(event(who, 1, Some(key))),
        meter: Some(("tool_calls".into(), Aggregation::Sum)),
        now: NOW,
        decide: Box::new(|_| {
            Verdict::of(Decision {
                allowed: true,
                ..Decision::denied(Reason::Ok)
            })
        }),
    }
}

/// On PostgreSQL: `call(store, customer, key)` once to take the writer while the table it writes
/// is locked (`lock`), then twenty more queued behind it for one batch (customers in turn); the server ends
/// the writer's connection under each batch. Every caller is told the database's reason, and the
/// writer then stores the next call.
async fn fail_two_batches<F, Fut, T>(lock: &'static str, call: F) -> Option<Store>
where
    F: Fn(Store, &'static str, String) -> Fut,
    Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    T: std::fmt::Debug + Send + 'static,
{
    if !backends().contains(&Backend::Postgres) {
        return None;
    }
    let db = test_db(Backend::Postgres).await;
    let store = store::open(&db.url).await.unwrap();
    for who in CUSTOMERS {
        store.create_customer(customer(who)).await.unwrap();
    }
    // The table locked, so the writer's next insert waits; the writer is watched from
    // another connection (one in a transaction sees the activity of its first look only).
    let mut locker = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query(lock).execute(&mut locker).await.unwrap();
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let spawn = |who: &'static str, key: String| -> JoinHandle<Result<T, StoreError>> {
        tokio::spawn(call(store.clone(), who, key))
    };
    let first = spawn("acme", "first".into());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let queued: Vec<_> = (0..20)
        .map(|i| spawn(CUSTOMERS[i % CUSTOMERS.len()], format!("queued{i}")))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The first batch's connection ended; the twenty then wait in a batch of their own, whose
    // connection is ended in turn.
    end_the_waiting_writer(&mut admin, "first").await;
    let answer = first.await.unwrap();
    assert!(
        answer.is_err(),
        "the first call cannot be stored: {answer:?}"
    );
    end_the_waiting_writer(&mut admin, "second").await;
    for (i, call) in queued.into_iter().enumerate() {
        match call.await.unwrap() {
            Err(StoreError::WriterGone) => {
                panic!("queued{i}: told the writer stopped, not why its transaction failed")
            }
            // The statement that found the connection gone, or the transaction's end that did.
            Err(e) => assert!(
                e.to_string().contains("database"),
                "queued{i}: the database's reason: {e}"
            ),
            Ok(r) => panic!("queued{i}: answered {r:?} by a transaction that never committed"),
        }
    }
    sqlx::query("COMMIT").execute(&mut locker).await.unwrap();
    Some(store)
}

#[tokio::test]
async fn a_batch_whose_transaction_fails_tells_every_caller_in_it_why() {
    let record = |store: Store, who: &'static str, key: String| async move {
        store.record_usage(vec![event(who, 1, Some(&key))]).await
    };
    let Some(store) = fail_two_batches(LOCK_EVENTS, record).await else {
        return;
    };
    store
        .record_usage(vec![event("acme", 1, Some("after"))])
        .await
        .unwrap();
    assert_eq!(
        acme_around_now(&store).await,
        (1, 1),
        "only the call after the failures is stored"
    );
}

#[tokio::test]
async fn a_group_of_consumptions_whose_transaction_fails_tells_every_caller_why() {
    let consume = |store: Store, who: &'static str, key: String| async move {
        store.consume(consumption(who, &key)).await
    };
    let Some(store) = fail_two_batches(LOCK_EVENTS, consume).await else {
        return;
    };
    store.consume(consumption("acme", "after")).await.unwrap();
    assert_eq!(
        acme_around_now(&store).await,
        (1, 1),
        "only the consumption after the failures is stored"
    );
}

#[tokio::test]
async fn a_group_of_holds_whose_transaction_fails_tells_every_caller_why() {
    let hold = |who: &str, key: &str| HoldRequest {
        consume: consumption(who, key),
        id: billing_mcp::ids::new_id("hold"),
        feature: "tool_calls".into(),
        expires_at: NOW + 600_000,
    };
    let place = move |store: Store, who: &'static str, key: String| async move {
        store.place_hold(hold(who, &key)).await
    };
    let Some(store) = fail_two_batches("LOCK TABLE holds IN ACCESS EXCLUSIVE MODE", place).await
    else {
        return;
    };
    store.place_hold(hold("acme", "after")).await.unwrap();
    let counted = Counted {
        meter: "tool_calls",
        aggregation: Aggregation::Sum,
    };
    for who in CUSTOMERS {
        let held = store
            .snapshot(who, Some(counted), NOW)
            .await
            .unwrap()
            .unwrap()
            .held;
        let want = u64::from(who == "acme");
        assert_eq!(
            held.units, want,
            "{who}: only the hold placed after the failures is live"
        );
    }
}
