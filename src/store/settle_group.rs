// The settlements of one batch made together, included into `sqlite.rs` and `postgres.rs` by
// `ledger.rs`. A settlement of a live hold within what it reserved decides nothing (the hold
// counted as used already), so a batch's such settlements are a few statements in all: their
// holds read at once, their events inserted at once (with their hourly and monthly rows), the
// holds marked settled at once; credits are burned per hold that reserved any, from the customer's
// grants read once. Every other settlement (more than was held, an expired, settled or released
// hold, a second settlement of one hold in the batch) runs on its own after them, as before.
// Should the group fail it is rolled back and every settlement runs on its own.

/// Settle the holds of `requests` that are live and settled within what they reserved; for each
/// request its settled hold, or `None` when it must run on its own.
async fn settle_together(conn: &mut Conn, requests: &[(SettleRequest, Reply<Settled>)], known: &Known) -> Result<Vec<Option<HoldRecord>>, StoreError> {
    let mut holds: HashMap<String, HoldRecord> = HashMap::with_capacity(requests.len());
    let ids: Vec<&str> = requests.iter().map(|(r, _)| r.hold_id.as_str()).collect();
    for chunk in ids.chunks(INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(concat!("SELECT ", hold_columns!(), " FROM holds WHERE id IN "));
        push_in(&mut qb, chunk);
        for hold in qb.build_query_as::<HoldRecord>().persistent(LISTS_CACHED).fetch_all(&mut *conn).await? {
            holds.insert(hold.id.clone(), hold);
        }
    }
    let mut chosen: Vec<Option<(&HoldRecord, &NewEvent)>> = Vec::with_capacity(requests.len());
    let mut taken: BTreeSet<&str> = BTreeSet::new();
    for (request, _) in requests {
        let c = &request.consume;
        let pick = match (holds.get(&request.hold_id), c.event.as_ref()) {
            (Some(hold), Some(event))
                if hold.customer_id == c.customer
                    && known.live(&c.customer).is_some()
                    && hold.status == "held"
                    && hold.expires_at > c.now
                    && event.quantity <= hold.quantity
                    && taken.insert(hold.id.as_str()) =>
            {
                Some((hold, event))
            }
            _ => None,
        };
        chosen.push(pick);
    }
    let events: Vec<NewEvent> = chosen.iter().flatten().map(|(_, e)| (*e).clone()).collect();
    let recorded = insert_events(conn, &events, known).await?;
    let mut ids = Vec::with_capacity(recorded.len());
    for r in recorded {
        match r {
            Recorded::Recorded { id } => ids.push(id),
            _ => return Err(StoreError::Batch("a settlement's event was stored before".into())),
        }
    }
    let mut ids = ids.into_iter();
    let mut grants: HashMap<&str, Vec<Grant>> = HashMap::new();
    let mut settled = Vec::with_capacity(requests.len());
    for ((request, _), pick) in requests.iter().zip(chosen) {
        let Some((hold, event)) = pick else {
            settled.push(None);
            continue;
        };
        let event_id = ids.next().ok_or_else(|| StoreError::Corrupt("a settlement lost its event".into()))?;
        let now = request.consume.now;
        if hold.credits > 0 {
            let live = match grants.entry(hold.customer_id.as_str()) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => v.insert(grants_of(conn, &hold.customer_id).await?),
            };
            burn_held(conn, live, hold, event.quantity, &event_id, now).await?;
        }
        settled.push(Some(HoldRecord {
            status: "settled".into(),
            ended_at: Some(now),
            settled_quantity: Some(event.quantity),
            event_id: Some(event_id),
            ..hold.clone()
        }));
    }
    // Every hold marked settled with one statement per chunk (the columns of a VALUES list are
    // `column1`, `column2`, … on both databases).
    let done: Vec<&HoldRecord> = settled.iter().flatten().collect();
    for chunk in pieces(&done, INSERT_CHUNK / 2) {
        let mut qb = QueryBuilder::<Db>::new("UPDATE holds SET status = 'settled', ended_at = s.column2, settled_quantity = s.column3, event_id = s.column4 FROM (");
        qb.push_values(chunk, |mut b, h| {
            b.push_bind(&h.id).push_bind(h.ended_at).push_bind(h.settled_quantity).push_bind(&h.event_id);
        });
        qb.push(") AS s WHERE holds.id = s.column1");
        let updated = qb.build().persistent(LISTS_CACHED).execute(&mut *conn).await?.rows_affected();
        if updated != chunk.len() as u64 {
            return Err(StoreError::Corrupt("a settled hold changed under its customer's lock".into()));
        }
    }
    Ok(settled)
}

/// Run a batch's settlements: together where they can be (see the file's text), the rest each on
/// its own, taking each from the front of `requests` as it is answered or left pending. `Err` is
/// a failure of the transaction itself (the batch fails; what is left in `requests` never ran).
async fn settle_group(conn: &mut Conn, requests: &mut VecDeque<(SettleRequest, Reply<Settled>)>, known: &mut Known, fx: &mut Effects, pending: &mut Vec<Pending>) -> Result<(), String> {
    let outcomes = if requests.len() > 1 {
        sqlx::query("SAVEPOINT settles").execute(&mut *conn).await.map_err(|e| e.to_string())?;
        let outcomes = settle_together(conn, requests.make_contiguous(), known).await;
        let end: &[&'static str] = match &outcomes {
            Ok(_) => &["RELEASE SAVEPOINT settles"],
            Err(why) => {
                tracing::debug!(reason = %why, "settlements run one by one");
                &["ROLLBACK TO SAVEPOINT settles", "RELEASE SAVEPOINT settles"]
            }
        };
        for sql in end {
            sqlx::query(*sql).execute(&mut *conn).await.map_err(|e| e.to_string())?;
        }
        outcomes.unwrap_or_else(|_| vec![None; requests.len()])
    } else {
        vec![None; requests.len()]
    };
    for outcome in outcomes {
        let Some((request, reply)) = requests.pop_front() else { break };
        match outcome {
            Some(hold) => {
                fx.added.extend(request.consume.event.as_ref().map(added));
                fx.invalidated.push(request.consume.customer);
                pending.extend(settle(reply, Ok(Settled::Done { hold: Box::new(hold), verdict: None, duplicate: false })));
            }
            None => pending.extend(run_op(conn, Op::SettleHold(request, reply), known, fx).await?),
        }
    }
    Ok(())
}
