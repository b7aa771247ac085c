//! The ledger contract, on SQLite always and on PostgreSQL when configured.

use billing_mcp::store::{
    self, Created, EventQuery, NewCustomer, NewEvent, NewGrant, Page, Recorded,
};

use crate::support::{Backend, NOW, backends, test_db};

pub(crate) fn customer(id: &str) -> NewCustomer {
    NewCustomer {
        id: id.into(),
        name: None,
        email: None,
        plan: Some("free".into()),
        billing_interval: "month".into(),
        status: "active".into(),
        period_anchor: NOW - NOW % 3_600_000,
        trial_ends_at: None,
        metadata: "{}".into(),
        now: NOW,
    }
}

pub(crate) fn event(customer: &str, quantity: i64, key: Option<&str>) -> NewEvent {
    NewEvent {
        id: billing_mcp::ids::new_id("evt"),
        customer: customer.into(),
        meter: "tool_calls".into(),
        quantity,
        occurred_at: NOW,
        tool: String::new(),
        dimensions: "{}".into(),
        idempotency_key: key.map(String::from),
        recorded_at: NOW,
        distinct: None,
        to_stripe: true,
    }
}

/// Acme's usage in the hours around `NOW`, every meter and value: (sum, events).
pub(crate) async fn acme_around_now(store: &store::Store) -> (u64, u64) {
    let totals = store
        .usage_totals("acme", NOW - 3_600_000, NOW + 3_600_000)
        .await
        .unwrap();
    totals
        .values()
        .flat_map(|m| m.values())
        .fold((0, 0), |(s, c), t| (s + t.sum, c + t.count))
}

async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        test(backend).await;
    }
}

#[tokio::test]
async fn creating_a_customer_twice_keeps_the_first() {
    on_each_backend(|backend| async move {
        let db = test_db(backend).await;
        let store = store::open(&db.url).await.unwrap();
        assert!(matches!(
            store.create_customer(customer("acme")).await.unwrap(),
            Created::Created(_)
        ));
        let mut again = customer("acme");
        again.name = Some("Other".into());
        match store.create_customer(again).await.unwrap() {
            Created::Existing(r) => assert_eq!(
                r.name, None,
                "{backend:?}: an existing customer must not change"
            ),
            other => panic!("{backend:?}: expected Existing, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_repeated_idempotency_key_is_counted_once_even_within_one_batch() {
    on_each_backend(|backend| async move {
        let db = test_db(backend).await;
        let store = store::open(&db.url).await.unwrap();
        store.create_customer(customer("acme")).await.unwrap();
        let first = store
            .record_usage(vec![event("acme", 2, Some("k1"))])
            .await
            .unwrap();
        let Recorded::Recorded { id: first_id } = &first[0] else {
            panic!("{backend:?}: {first:?}")
        };
        let again = store
            .record_usage(vec![
                event("acme", 2, Some("k1")),
                event("acme", 3, Some("k2")),
                event("acme", 3, Some("k2")),
                event("ghost", 1, None),
                event("acme", 2, Some("k1")),
            ])
            .await
            .unwrap();
        assert_eq!(
            again[0],
            Recorded::Duplicate {
                id: first_id.clone()
            },
            "{backend:?}"
        );
        let Recorded::Recorded { id: k2 } = &again[1] else {
            panic!("{backend:?}: {again:?}")
        };
        assert_eq!(
            again[2],
            Recorded::Duplicate { id: k2.clone() },
            "{backend:?}"
        );
        assert_eq!(again[3], Recorded::UnknownCustomer, "{backend:?}");
        assert_eq!(
            again[4],
            Recorded::Duplicate {
                id: first_id.clone()
            },
            "{backend:?}: stored earlier and repeated in the batch"
        );
        assert_eq!(
            acme_around_now(&store).await.0,
            5,
            "{backend:?}: 2 + 3, duplicates not counted"
        );
    })
    .await;
}

/// A large batch (PostgreSQL inserts it without `ON CONFLICT` first) with keys stored before,
/// by an earlier call and by another process: those answer with their first events, the rest are
/// stored, and the totals count each event once.
#[tokio::test]
async fn a_large_batch_with_keys_stored_before_stores_only_the_new_events() {
    on_each_backend(|backend| async move {
        let db = test_db(backend).await;
        let store = store::open(&db.url).await.unwrap();
        let other = store::open(&db.url).await.unwrap();
        store.create_customer(customer("acme")).await.unwrap();
        let earlier = store
            .record_usage(vec![event("acme", 1, Some("k10"))])
            .await
            .unwrap();
        let elsewhere = other
            .record_usage(vec![event("acme", 1, Some("k150"))])
            .await
            .unwrap();
        let batch: Vec<NewEvent> = (0..200)
            .map(|i| event("acme", 2, Some(&format!("k{i}"))))
            .collect();
        let ids: Vec<String> = batch.iter().map(|e| e.id.clone()).collect();
        let answers = store.record_usage(batch).await.unwrap();
        let stored_before = |r: &Recorded| match r {
            Recorded::Recorded { id } => Recorded::Duplicate { id: id.clone() },
            other => panic!("{backend:?}: {other:?}"),
        };
        for (i, answer) in answers.iter().enumerate() {
            let want = match i {
                10 => stored_before(&earlier[0]),
                150 => stored_before(&elsewhere[0]),
                _ => Recorded::Recorded { id: ids[i].clone() },
            };
            assert_eq!(answer, &want, "{backend:?}: event {i}");
        }
        assert_eq!(
            acme_around_now(&store).await,
            (2 + 198 * 2, 200),
            "{backend:?}: the two earlier events and the 198 new ones, once each"
        );
        // The same batch again: every event a duplicate, nothing added.
        let again: Vec<NewEvent> = (0..200)
            .map(|i| event("acme", 2, Some(&format!("k{i}"))))
            .collect();
        let answers = store.record_usage(again).await.unwrap();
        assert!(
            answers
                .iter()
                .all(|a| matches!(a, Recorded::Duplicate { .. })),
            "{backend:?}: {answers:?}"
        );
        assert_eq!(acme_around_now(&store).await.1, 200, "{backend:?}");
    })
    .await;
}

/// Every field of a large batch's events reads back as given (PostgreSQL inserts such a batch
/// without `ON CONFLICT` first): text a bulk format would have to escape (tab, newline,
/// backslash, quotes, `\N`, non-ASCII), an empty tool, no key beside keys, both outbox states,
/// large numbers.
#[tokio::test]
async fn a_large_batch_reads_back_exactly_as_given() {
    on_each_backend(|backend| async move {
        let db = test_db(backend).await;
        let store = store::open(&db.url).await.unwrap();
        store.create_customer(customer("acme")).await.unwrap();
        let odd = [
            "tab\there",
            "line\nbreak\r",
            "back\\slash \\N",
            "\"quoted\", 'single'",
            "naïve ☃ 東京",
            "",
        ];
        let batch: Vec<NewEvent> = (0..100_i64)
            .map(|i| {
                let text = odd[(i % 6) as usize];
                NewEvent {
                    quantity: 1_000_000_000_000 - i,
                    occurred_at: NOW + i,
                    tool: text.to_string(),
                    dimensions: serde_json::json!({ "tool": text, "n": i }).to_string(),
                    idempotency_key: (i % 3 != 0).then(|| format!("{text}-{i}")),
                    to_stripe: i % 2 == 0,
                    ..event("acme", 0, None)
                }
            })
            .collect();
        store.record_usage(batch.clone()).await.unwrap();
        let read = store
            .list_events(EventQuery {
                customer: "acme".into(),
                meter: None,
                from: NOW,
                to: NOW + 100,
                limit: 1000,
                starting_after: None,
            })
            .await
            .unwrap();
        assert_eq!(read.len(), 100, "{backend:?}");
        for e in &batch {
            let r = read
                .iter()
                .find(|r| r.id == e.id)
                .unwrap_or_else(|| panic!("{backend:?}: {} missing", e.id));
            let got = (
                &r.customer_id,
                &r.meter,
                r.quantity,
                r.occurred_at,
                &r.tool,
                &r.dimensions,
                &r.idempotency_key,
                r.recorded_at,
                r.stripe_state.as_str(),
            );
            let want = (
                &e.customer,
                &e.meter,
                e.quantity,
                e.occurred_at,
                &e.tool,
                &e.dimensions,
                &e.idempotency_key,
                e.recorded_at,
                if e.to_stripe { "pending" } else { "ledger" },
            );
            assert_eq!(got, want, "{backend:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn acknowledged_usage_and_credits_survive_a_restart() {
    on_each_backend(|backend| async move {
        let db = test_db(backend).await;
        {
            let store = store::open(&db.url).await.unwrap();
            store.create_customer(customer("acme")).await.unwrap();
            store
                .record_usage(
                    (0..250)
                        .map(|i| event("acme", 1, Some(&format!("r{i}"))))
                        .collect(),
                )
                .await
                .unwrap();
            store
                .grant_credits(NewGrant {
                    id: billing_mcp::ids::new_id("cgr"),
                    customer: "acme".into(),
                    credits: 40,
                    priority: 50,
                    expires_at: None,
                    source: "grant".into(),
                    description: None,
                    idempotency_key: Some("g1".into()),
                    purchase: None,
                    now: NOW,
                })
                .await
                .unwrap();
        }
        let reopened = store::open(&db.url).await.unwrap();
        assert_eq!(acme_around_now(&reopened).await.0, 250, "{backend:?}");
        let grants = reopened.credit_grants("acme").await.unwrap();
        assert_eq!(
            grants.iter().map(|g| g.remaining).sum::<i64>(),
            40,
            "{backend:?}"
        );
        assert_eq!(
            reopened.credit_entries("acme", 10).await.unwrap().len(),
            1,
            "{backend:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn customers_list_in_pages_by_id() {
    on_each_backend(|backend| async move {
        let db = test_db(backend).await;
        let store = store::open(&db.url).await.unwrap();
        for id in ["c", "a", "e", "b", "d"] {
            store.create_customer(customer(id)).await.unwrap();
        }
        let first = store
            .list_customers(
                Page {
                    limit: 2,
                    starting_after: None,
                },
                false,
            )
            .await
            .unwrap();
        let next = store
            .list_customers(
                Page {
                    limit: 10,
                    starting_after: Some("b"),
                },
                false,
            )
            .await
            .unwrap();
        assert_eq!(
            first.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"],
            "{backend:?}"
        );
        assert_eq!(
            next.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["c", "d", "e"],
            "{backend:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn two_servers_starting_at_once_on_a_new_sqlite_file_both_come_up() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
        let (a, b) = tokio::join!(store::open(&url), store::open(&url));
        assert!(a.is_ok() && b.is_ok(), "{:?} {:?}", a.err(), b.err());
        let a = a.unwrap();
        assert!(a.get_customer("nobody").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn two_servers_starting_at_once_on_a_new_postgres_database_both_come_up() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    for _ in 0..3 {
        let db = test_db(Backend::Postgres).await;
        let (a, b) = tokio::join!(store::open(&db.url), store::open(&db.url));
        assert!(a.is_ok() && b.is_ok(), "{:?} {:?}", a.err(), b.err());
        assert!(b.unwrap().get_customer("nobody").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn one_process_holds_the_meter_event_sender_role_until_it_lapses_or_is_given_up() {
    use billing_mcp::store::OutboxClaim;
    on_each_backend(|backend| async move {
        let db = test_db(backend).await;
        let (a, b) = (
            store::open(&db.url).await.unwrap(),
            store::open(&db.url).await.unwrap(),
        );
        a.create_customer(customer("acme")).await.unwrap();
        let events: Vec<NewEvent> = (0..4).map(|_| event("acme", 1, None)).collect();
        a.record_usage(events).await.unwrap();
        let claim = |sender: &str, now: i64, limit: i64| OutboxClaim {
            sender: sender.into(),
            now,
            lease_until: now + 60_000,
            limit,
        };
        assert_eq!(a.claim_outbox(claim("a", NOW, 2)).await.unwrap().len(), 2);
        // B's process sees events due but A holds the role: B claims none, A renews it.
        assert!(
            b.claim_outbox(claim("b", NOW + 1, 10))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            a.claim_outbox(claim("a", NOW + 2, 10)).await.unwrap().len(),
            2
        );
        // A's lease lapses (a crashed sender): B takes over with A's claimed events.
        let later = NOW + 60_003;
        assert_eq!(
            b.claim_outbox(claim("b", later, 10)).await.unwrap().len(),
            4,
            "{backend:?}"
        );
        assert!(
            a.claim_outbox(claim("a", later + 1, 10))
                .await
                .unwrap()
                .is_empty()
        );
        // B stops and gives the role up (its round settled): A takes over at once, with what is
        // due; B's claimed events stay B's until their lease ends.
        b.release_sender("b").await.unwrap();
        a.record_usage(vec![event("acme", 1, None)]).await.unwrap();
        let after = a.claim_outbox(claim("a", later + 2, 10)).await.unwrap();
        assert_eq!(after.len(), 1, "{backend:?}");
    })
    .await;
}
