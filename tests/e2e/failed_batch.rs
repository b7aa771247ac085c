//! A writer's transaction that fails part way (its PostgreSQL connection ended by the server):
//! every caller waiting in that batch is told the database's reason, none is left with "the ledger
//! writer has stopped", nothing of the batch is stored, and the writer serves the next call.

use std::time::Duration;

use billing_mcp::store::{self, StoreError};
use sqlx::Connection;

use crate::store_contract::{acme_around_now, customer, event};
use crate::support::{Backend, backends, test_db};

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

#[tokio::test]
async fn a_batch_whose_transaction_fails_tells_every_caller_in_it_why() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let db = test_db(Backend::Postgres).await;
    let store = store::open(&db.url).await.unwrap();
    store.create_customer(customer("acme")).await.unwrap();
    // The events table locked, so the writer's next insert waits; the writer is watched from
    // another connection (one in a transaction sees the activity of its first look only).
    let mut locker = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE usage_events IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let record = |key: String| {
        let store = store.clone();
        tokio::spawn(async move { store.record_usage(vec![event("acme", 1, Some(&key))]).await })
    };
    // A first call takes the writer and waits; twenty more queue behind it, for one batch.
    let first = record("first".into());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let queued: Vec<_> = (0..20).map(|i| record(format!("queued{i}"))).collect();
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
