// The consumptions of one batch decided together, included into `sqlite.rs` and `postgres.rs` by
// `ledger.rs`. Every customer is locked already; the live grants and holds of all of them are read
// at once, then each customer's usage once, and each snapshot is kept current in memory as each
// consumption is decided in turn (its usage added, its credits taken), so the tenth consumption of
// a customer sees the nine before it exactly as the database would. Then the allowed events go in
// with one insert and the debits follow. A batch's work is then one statement per customer and a
// few for the batch, not several per call.
//
// The group runs under a savepoint. Anything it cannot decide this way — an idempotency key stored
// before (the insert skips it), a consumption whose windows differ from the first one's (an hour
// turned between them), any failed statement — rolls the group back, and each consumption runs on
// its own as before (`consume`), under its own savepoint. A `unique` meter's consumptions always
// run on their own (a distinct count cannot be kept current by adding).

/// A consumption's answer and what it changed, for the snapshot cache.
struct Outcome {
    consumed: Consumed,
    added: Option<Added>,
    burned: bool,
}

/// A customer's snapshot for one meter, kept current through the group, and its spans.
type Held = (Snapshot, Option<Spans>);

/// Whether the consumption may be decided in a group.
fn groupable(request: &ConsumeRequest) -> bool {
    request.event.as_ref().is_none_or(|e| e.distinct.is_none())
}

/// A group's figures: the live grants and holds of all its customers (read at once), each
/// customer's snapshot per meter (read on first use), and each customer's grants as the group's
/// decisions so far have left them.
struct Figures<'r> {
    live: HashMap<String, Live>,
    /// Each customer's counted meter's sums, read at once for its first request's spans.
    ahead: HashMap<(String, String), ReadAhead>,
    states: HashMap<(&'r str, Option<&'r str>), Held>,
    grants: HashMap<&'r str, Vec<Grant>>,
}

impl<'r> Figures<'r> {
    async fn read(conn: &mut Conn, requests: impl Iterator<Item = &'r ConsumeRequest>, known: &Known) -> Result<Figures<'r>, StoreError> {
        let requests: Vec<&ConsumeRequest> = requests.collect();
        let customers: BTreeSet<&str> = requests.iter().map(|r| r.customer.as_str()).filter(|c| known.live(c).is_some()).collect();
        let first_now = requests.iter().map(|r| r.now).min().unwrap_or(0);
        let live = live_of(conn, &customers, first_now).await?;
        // Read ahead only when the group has more than one customer: one customer's sums are one
        // statement either way.
        let mut wanted = Vec::new();
        if customers.len() > 1 {
            let mut seen = BTreeSet::new();
            for r in &requests {
                if let (Some(record), Some((meter, _))) = (known.live(&r.customer), r.meter.as_ref())
                    && seen.insert((r.customer.as_str(), meter.as_str()))
                {
                    wanted.push((r.customer.as_str(), meter.as_str(), snapshot_spans(&spans_at(record, r.now)?)));
                }
            }
        }
        let ahead = if wanted.is_empty() { HashMap::new() } else { sums_of(conn, wanted).await? };
        Ok(Figures { live, ahead, states: HashMap::new(), grants: HashMap::new() })
    }

    /// `request`'s snapshot as the group's decisions so far have left it, and its customer's
    /// grants (credits that expired are written off on first use); `Err` when the windows moved
    /// within the batch.
    async fn current(&mut self, conn: &mut Conn, record: &CustomerRecord, request: &'r ConsumeRequest) -> Result<(&mut Held, &mut Vec<Grant>), StoreError> {
        let customer = request.customer.as_str();
        let meter = request.meter.as_ref().map(|(m, _)| m.as_str());
        let state = match self.states.entry((customer, meter)) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let counted = request.meter.as_ref().map(|(meter, aggregation)| Counted { meter, aggregation: *aggregation });
                let live = self.live.get(customer).cloned().unwrap_or_default();
                let ahead = meter.and_then(|m| self.ahead.remove(&(customer.to_string(), m.to_string())));
                v.insert(snapshot_with(conn, record.clone(), counted, request.now, live, ahead).await?)
            }
        };
        if let Some(spans) = state.1
            && spans_at(record, request.now)? != spans
        {
            return Err(StoreError::Batch("the windows moved within the batch".into()));
        }
        if !self.grants.contains_key(customer) {
            if state.0.grants.iter().any(|g| g.remaining > 0 && g.expires_at.is_some_and(|at| at <= request.now)) {
                expire_credits(conn, customer, request.now).await?;
            }
            self.grants.insert(customer, state.0.grants.clone());
        }
        let live = self.grants.entry(customer).or_default();
        state.0.grants.clone_from(live);
        Ok((state, live))
    }
}

/// Decide the group; `Err` when any of it must run on its own instead (see the file's text).
async fn decide_group(conn: &mut Conn, requests: &[(ConsumeRequest, Reply<Consumed>)], known: &Known) -> Result<Vec<Outcome>, StoreError> {
    let mut keys: HashMap<(&str, &str), String> = HashMap::new();
    let mut events: Vec<NewEvent> = Vec::new();
    let mut debits: Vec<(&str, String, u64, Option<String>, i64)> = Vec::new();
    let mut outcomes = Vec::with_capacity(requests.len());
    let mut figures = Figures::read(conn, requests.iter().map(|(r, _)| r), known).await?;
    for (request, _) in requests {
        let customer = request.customer.as_str();
        let Some(record) = known.live(customer) else {
            outcomes.push(Outcome { consumed: Consumed::UnknownCustomer, added: None, burned: false });
            continue;
        };
        let key = request.event.as_ref().and_then(|e| e.idempotency_key.as_deref());
        if let Some(event_id) = key.and_then(|k| keys.get(&(customer, k))) {
            outcomes.push(Outcome { consumed: Consumed::Duplicate { event_id: event_id.clone() }, added: None, burned: false });
            continue;
        }
        let (state, live) = figures.current(conn, record, request).await?;
        let mut verdict = (request.decide)(&state.0);
        let parts = match credit::burn(live, verdict.credits, request.now) {
            Ok(parts) if verdict.decision.allowed => parts,
            burned => {
                // A denial of a retried call answers the first call's event.
                if let Some(event_id) = match key {
                    Some(key) => event_by_key(conn, customer, key).await?,
                    None => None,
                } {
                    outcomes.push(Outcome { consumed: Consumed::Duplicate { event_id }, added: None, burned: false });
                    continue;
                }
                if verdict.decision.allowed && burned.is_err() {
                    verdict.decision.allowed = false;
                    verdict.decision.reason = crate::core::entitlement::Reason::InsufficientCredits;
                }
                outcomes.push(Outcome { consumed: Consumed::Decided { verdict: Box::new(verdict), event_id: None }, added: None, burned: false });
                continue;
            }
        };
        let mut added_usage = None;
        let event_id = match request.event.clone() {
            Some(mut event) => {
                if let Some(level) = verdict.record_quantity {
                    event.quantity = i64::try_from(level).map_err(|_| StoreError::Corrupt("quantity overflows".into()))?;
                }
                let a = added(&event);
                if let Some(spans) = &state.1 {
                    add_to(&mut state.0, spans, &a.tool, a.occurred_at, &a.tally);
                }
                if let Some(k) = key {
                    keys.insert((customer, k), event.id.clone());
                }
                added_usage = Some(a);
                let id = event.id.clone();
                events.push(event);
                Some(id)
            }
            None => None,
        };
        for (grant, take) in &parts {
            if let Some(g) = live.iter_mut().find(|g| &g.id == grant) {
                g.remaining = g.remaining.saturating_sub(*take);
            }
            debits.push((customer, grant.clone(), *take, event_id.clone(), request.now));
        }
        outcomes.push(Outcome {
            consumed: Consumed::Decided { verdict: Box::new(verdict), event_id },
            added: added_usage,
            burned: !parts.is_empty(),
        });
    }
    let recorded = insert_events(conn, &events, known).await?;
    if recorded.iter().any(|r| !matches!(r, Recorded::Recorded { .. })) {
        return Err(StoreError::Batch("an idempotency key was stored before".into()));
    }
    for (customer, grant, take, event, at) in debits {
        take_credits(conn, customer, &grant, take, "debit", event.as_deref(), at).await?;
    }
    Ok(outcomes)
}

/// Run a batch's groupable consumptions: decided together, or each on its own when the group
/// cannot be, taking each from the front of `requests` as it is answered or left pending. `Err`
/// is a failure of the transaction itself (the batch fails; what is left in `requests` never ran).
async fn consume_group(conn: &mut Conn, requests: &mut VecDeque<(ConsumeRequest, Reply<Consumed>)>, known: &mut Known, fx: &mut Effects, pending: &mut Vec<Pending>) -> Result<(), String> {
    if requests.is_empty() {
        return Ok(());
    }
    sqlx::query("SAVEPOINT grp").execute(&mut *conn).await.map_err(|e| e.to_string())?;
    match decide_group(conn, requests.make_contiguous(), known).await {
        Ok(outcomes) => {
            sqlx::query("RELEASE SAVEPOINT grp").execute(&mut *conn).await.map_err(|e| e.to_string())?;
            for ((request, reply), o) in requests.drain(..).zip(outcomes) {
                fx.added.extend(o.added);
                fx.invalidated.extend(o.burned.then_some(request.customer));
                pending.extend(settle(reply, Ok(o.consumed)));
            }
        }
        Err(why) => {
            tracing::debug!(reason = %why, "consumptions run one by one");
            sqlx::query("ROLLBACK TO SAVEPOINT grp").execute(&mut *conn).await.map_err(|e| e.to_string())?;
            sqlx::query("RELEASE SAVEPOINT grp").execute(&mut *conn).await.map_err(|e| e.to_string())?;
            while let Some((request, reply)) = requests.pop_front() {
                pending.extend(run_op(conn, Op::Consume(request, reply), known, fx).await?);
            }
        }
    }
    Ok(())
}
