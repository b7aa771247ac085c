// The holds of one batch placed together, included into `sqlite.rs` and `postgres.rs` by
// `ledger.rs`, as `group.rs` decides consumptions: the live grants and holds of all the group's
// customers are read at once, then each customer's usage once, and each snapshot is kept current
// in memory as each hold is decided in turn (its units counted as used, its credits taken from the
// grants in burn order, as a stored hold counts), so the tenth hold of a customer sees the nine
// before it exactly as the database would. Then the placed holds go in with one insert. A hold
// with an idempotency key runs on its own (its key may name a hold placed before); so does the
// whole group, rolled back, when the windows moved within the batch (an hour turned) or a
// statement failed.

/// Whether a hold may be placed in a group.
fn hold_groupable(request: &HoldRequest) -> bool {
    request.consume.event.as_ref().is_some_and(|e| e.idempotency_key.is_none() && e.distinct.is_none())
}

/// Decide the group and store its holds; `Err` when it must run one by one instead.
async fn place_together(conn: &mut Conn, requests: &[(HoldRequest, Reply<Placed>)], known: &Known) -> Result<Vec<Placed>, StoreError> {
    let mut rows: Vec<HoldRecord> = Vec::new();
    let mut placed = Vec::with_capacity(requests.len());
    let mut figures = Figures::read(conn, requests.iter().map(|(h, _)| &h.consume), known).await?;
    for (hold, _) in requests {
        let request = &hold.consume;
        let customer = request.customer.as_str();
        let Some(record) = known.live(customer) else {
            placed.push(Placed::UnknownCustomer);
            continue;
        };
        let Some(event) = request.event.as_ref() else { return Err(StoreError::Corrupt("a hold needs its event".into())) };
        let meter = request.meter.as_ref().map(|(m, _)| m.as_str());
        let (state, live) = figures.current(conn, record, request).await?;
        let mut verdict = (request.decide)(&state.0);
        let fits = credit::burn(live, verdict.credits, request.now).is_ok();
        if !verdict.decision.allowed || !fits {
            if verdict.decision.allowed {
                verdict.decision.allowed = false;
                verdict.decision.reason = crate::core::entitlement::Reason::InsufficientCredits;
            }
            placed.push(Placed::Decided { verdict: Box::new(verdict), hold: None });
            continue;
        }
        let credits = i64::try_from(verdict.credits).map_err(|_| StoreError::Corrupt("credits overflow".into()))?;
        // Counted from now on exactly as a stored hold is.
        let counted = LiveHold { customer_id: request.customer.clone(), meter: event.meter.clone(), tool: event.tool.clone(), quantity: event.quantity, credits, expires_at: hold.expires_at };
        let (snapshot, spans) = (&mut state.0, state.1.as_ref());
        fold_holds(snapshot, spans, meter, std::slice::from_ref(&counted), request.now);
        live.clone_from(&snapshot.grants);
        let row = HoldRecord {
            id: hold.id.clone(),
            customer_id: request.customer.clone(),
            feature: hold.feature.clone(),
            meter: event.meter.clone(),
            tool: event.tool.clone(),
            dimensions: event.dimensions.clone(),
            quantity: event.quantity,
            credits,
            status: "held".into(),
            idempotency_key: None,
            created_at: request.now,
            expires_at: hold.expires_at,
            ended_at: None,
            settled_quantity: None,
            event_id: None,
        };
        rows.push(row.clone());
        placed.push(Placed::Decided { verdict: Box::new(verdict), hold: Some(Box::new(row)) });
    }
    for chunk in pieces(&rows, INSERT_CHUNK / 2) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO holds (id, customer_id, feature, meter, tool, dimensions, quantity, credits, status, created_at, expires_at) ");
        qb.push_values(chunk, |mut b, h| {
            b.push_bind(&h.id).push_bind(&h.customer_id).push_bind(&h.feature).push_bind(&h.meter).push_bind(&h.tool).push_bind(&h.dimensions);
            b.push_bind(h.quantity).push_bind(h.credits).push_bind("held").push_bind(h.created_at).push_bind(h.expires_at);
        });
        qb.build().persistent(LISTS_CACHED).execute(&mut *conn).await?;
    }
    Ok(placed)
}

/// Run a batch's holds: together when possible, else each on its own, taking each from the front
/// of `requests` as it is answered or left pending. `Err` is a failure of the transaction itself
/// (the batch fails; what is left in `requests` never ran).
async fn place_group(conn: &mut Conn, requests: &mut VecDeque<(HoldRequest, Reply<Placed>)>, known: &mut Known, fx: &mut Effects, pending: &mut Vec<Pending>) -> Result<(), String> {
    if requests.len() > 1 {
        sqlx::query("SAVEPOINT holds").execute(&mut *conn).await.map_err(|e| e.to_string())?;
        match place_together(conn, requests.make_contiguous(), known).await {
            Ok(placed) => {
                sqlx::query("RELEASE SAVEPOINT holds").execute(&mut *conn).await.map_err(|e| e.to_string())?;
                for ((request, reply), p) in requests.drain(..).zip(placed) {
                    fx.invalidated.push(request.consume.customer);
                    pending.extend(settle(reply, Ok(p)));
                }
                return Ok(());
            }
            Err(why) => {
                tracing::debug!(reason = %why, "holds placed one by one");
                for sql in ["ROLLBACK TO SAVEPOINT holds", "RELEASE SAVEPOINT holds"] {
                    sqlx::query(sql).execute(&mut *conn).await.map_err(|e| e.to_string())?;
                }
            }
        }
    }
    while let Some((request, reply)) = requests.pop_front() {
        pending.extend(run_op(conn, Op::PlaceHold(request, reply), known, fx).await?);
    }
    Ok(())
}
