// Holds, included into `sqlite.rs` and `postgres.rs` by `ledger.rs`: a live hold counts in every
// snapshot as if consumed (its units in the meter's figures at the time read, its credits taken
// from the grants in burn order), so concurrent holds and consumptions never pass a limit or
// overdraw. Placing one is decided like a consumption under the customer's lock; settling one
// marks it settled and consumes the actual quantity in the same step (decided without the hold,
// so never more than is allowed); releasing one, or its expiry, gives everything back.

use super::{HoldRecord, HoldRequest, HoldsCounted, Placed, ReleaseRequest, SettleRequest, Settled};

macro_rules! hold_columns {
    () => {
        "id, customer_id, feature, meter, tool, dimensions, quantity, credits, status, idempotency_key, created_at, expires_at, ended_at, settled_quantity, event_id"
    };
}

macro_rules! live_hold_columns {
    () => {
        "customer_id, meter, tool, quantity, credits, expires_at"
    };
}

#[derive(Clone, sqlx::FromRow)]
struct LiveHold {
    customer_id: String,
    meter: String,
    tool: String,
    quantity: i64,
    credits: i64,
    expires_at: i64,
}

async fn live_holds(conn: &mut Conn, customer: &str, now: i64) -> Result<Vec<LiveHold>, StoreError> {
    Ok(sqlx::query_as::<Db, LiveHold>(concat!("SELECT ", live_hold_columns!(), " FROM holds WHERE customer_id = $1 AND status = 'held' AND expires_at > $2"))
        .bind(customer)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?)
}

/// Count live holds in a snapshot, besides those it counts already: the meter's held units as
/// usage now, every hold's credits as taken from the grants (in burn order; what no live grant
/// covers any more is gone).
fn fold_holds(snapshot: &mut Snapshot, spans: Option<&Spans>, meter: Option<&str>, holds: &[LiveHold], now: i64) {
    let mut held = snapshot.held;
    let mut credits = 0_u64;
    for h in holds {
        let units = as_u64(h.quantity);
        if let (Some(spans), true) = (spans, meter == Some(h.meter.as_str())) {
            add_to(snapshot, spans, &h.tool, now, &crate::core::usage::Tally::event(now, units));
            held.units = held.units.saturating_add(units);
        }
        credits = credits.saturating_add(as_u64(h.credits));
        held.until = Some(held.until.map_or(h.expires_at, |u| u.min(h.expires_at)));
    }
    held.credits = held.credits.saturating_add(credits);
    let covered = credits.min(credit::balance(&snapshot.grants, now));
    if let Ok(parts) = credit::burn(&snapshot.grants, covered, now) {
        for (id, take) in parts {
            if let Some(g) = snapshot.grants.iter_mut().find(|g| g.id == id) {
                g.remaining = g.remaining.saturating_sub(take);
            }
        }
    }
    snapshot.held = held;
}

/// Which column names the hold: its id, or the idempotency key that placed it.
#[derive(Clone, Copy)]
enum HoldBy {
    Id,
    Key,
}

async fn hold_where(conn: &mut Conn, by: HoldBy, customer: &str, value: &str) -> Result<Option<HoldRecord>, StoreError> {
    let sql = match by {
        HoldBy::Id => concat!("SELECT ", hold_columns!(), " FROM holds WHERE customer_id = $1 AND id = $2"),
        HoldBy::Key => concat!("SELECT ", hold_columns!(), " FROM holds WHERE customer_id = $1 AND idempotency_key = $2"),
    };
    Ok(sqlx::query_as::<Db, HoldRecord>(sql)
        .bind(customer)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Decide a hold under the customer's lock and store it when allowed.
async fn place_hold(conn: &mut Conn, request: HoldRequest, known: &Known) -> Result<Placed, StoreError> {
    let HoldRequest { consume: request, id, feature, expires_at } = request;
    let Some(record) = known.live(&request.customer).cloned() else { return Ok(Placed::UnknownCustomer) };
    let Some(event) = request.event.as_ref() else { return Err(StoreError::Corrupt("a hold needs its event".into())) };
    if let Some(key) = &event.idempotency_key
        && let Some(hold) = hold_where(conn, HoldBy::Key, &request.customer, key).await?
    {
        // A key whose hold ended unsettled (released, or expired) moves to the new hold.
        if hold.status == "settled" || (hold.status == "held" && hold.expires_at > request.now) {
            return Ok(Placed::Duplicate(Box::new(hold)));
        }
        sqlx::query("UPDATE holds SET idempotency_key = NULL, status = 'released', ended_at = COALESCE(ended_at, expires_at) WHERE id = $1")
            .bind(&hold.id)
            .execute(&mut *conn)
            .await?;
    }
    let counted = request.meter.as_ref().map(|(meter, aggregation)| Counted { meter, aggregation: *aggregation });
    let (snapshot, _) = snapshot_of(conn, record, counted, request.now).await?;
    if snapshot.grants.iter().any(|g| g.remaining > 0 && g.expires_at.is_some_and(|at| at <= request.now)) {
        expire_credits(conn, &request.customer, request.now).await?;
    }
    let mut verdict = (request.decide)(&snapshot);
    if verdict.decision.allowed && credit::burn(&snapshot.grants, verdict.credits, request.now).is_err() {
        verdict.decision.allowed = false;
        verdict.decision.reason = crate::core::entitlement::Reason::InsufficientCredits;
    }
    if !verdict.decision.allowed {
        return Ok(Placed::Decided { verdict: Box::new(verdict), hold: None });
    }
    let credits = i64::try_from(verdict.credits).map_err(|_| StoreError::Corrupt("credits overflow".into()))?;
    let hold = sqlx::query_as::<Db, HoldRecord>(concat!(
        "INSERT INTO holds (id, customer_id, feature, meter, tool, dimensions, quantity, credits, status, idempotency_key, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'held', $9, $10, $11) RETURNING ",
        hold_columns!()
    ))
    .bind(&id)
    .bind(&request.customer)
    .bind(&feature)
    .bind(&event.meter)
    .bind(&event.tool)
    .bind(&event.dimensions)
    .bind(event.quantity)
    .bind(credits)
    .bind(&event.idempotency_key)
    .bind(request.now)
    .bind(expires_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Placed::Decided { verdict: Box::new(verdict), hold: Some(Box::new(hold)) })
}

async fn set_hold_state(conn: &mut Conn, id: &str, status: &str, ended_at: Option<i64>, settled: Option<(i64, Option<&str>)>) -> Result<HoldRecord, StoreError> {
    Ok(sqlx::query_as::<Db, HoldRecord>(concat!(
        "UPDATE holds SET status = $2, ended_at = $3, settled_quantity = $4, event_id = $5 WHERE id = $1 RETURNING ",
        hold_columns!()
    ))
    .bind(id)
    .bind(status)
    .bind(ended_at)
    .bind(settled.map(|s| s.0))
    .bind(settled.and_then(|s| s.1))
    .fetch_one(&mut *conn)
    .await?)
}

/// Burn the credits a hold reserved for `quantity` of its units (in proportion) from `grants`
/// (the customer's live grants, kept current), in burn order, for the settling event.
async fn burn_held(conn: &mut Conn, grants: &mut [Grant], hold: &HoldRecord, quantity: i64, event_id: &str, now: i64) -> Result<(), StoreError> {
    let credits = match hold.quantity {
        0 => hold.credits,
        held => i64::try_from(i128::from(hold.credits) * i128::from(quantity) / i128::from(held)).unwrap_or(hold.credits),
    };
    if credits <= 0 {
        return Ok(());
    }
    let available = credit::balance(grants, now);
    let take = as_u64(credits).min(available);
    if take < as_u64(credits) {
        tracing::warn!(hold = %hold.id, credits, available, "a hold's credits expired before it was settled; the rest is not charged");
    }
    if let Ok(parts) = credit::burn(grants, take, now) {
        for (grant_id, n) in parts {
            take_credits(conn, &hold.customer_id, &grant_id, n, "debit", Some(event_id), now).await?;
            if let Some(g) = grants.iter_mut().find(|g| g.id == grant_id) {
                g.remaining = g.remaining.saturating_sub(n);
            }
        }
    }
    Ok(())
}

async fn grants_of(conn: &mut Conn, customer: &str) -> Result<Vec<Grant>, StoreError> {
    Ok(live_grants(conn, customer).await?.iter().map(GrantRecord::to_core).collect())
}

/// Record what a live hold reserved, without deciding again: its event at the actual quantity
/// (at most the held one) and its credits in proportion, from the live grants in burn order.
async fn settle_reserved(conn: &mut Conn, hold: &HoldRecord, request: SettleRequest, known: &Known) -> Result<Settled, StoreError> {
    let now = request.consume.now;
    let Some(event) = request.consume.event else { return Err(StoreError::Corrupt("a settle needs its event".into())) };
    let event_id = match insert_events(conn, std::slice::from_ref(&event), known).await?.pop() {
        Some(Recorded::Recorded { id } | Recorded::Duplicate { id }) => id,
        _ => return Err(StoreError::Batch("the customer is gone".into())),
    };
    if hold.credits > 0 {
        let mut grants = grants_of(conn, &hold.customer_id).await?;
        burn_held(conn, &mut grants, hold, event.quantity, &event_id, now).await?;
    }
    let hold = set_hold_state(conn, &hold.id, "settled", Some(now), Some((event.quantity, Some(&event_id)))).await?;
    Ok(Settled::Done { hold: Box::new(hold), verdict: None, duplicate: false })
}

/// Settle a hold: end it and record the actual quantity in the same step. Up to what a live hold
/// reserved is recorded as reserved; more, or after the hold expired, is decided like a new
/// consumption (never more than is allowed).
async fn settle_hold(conn: &mut Conn, request: SettleRequest, known: &Known) -> Result<Settled, StoreError> {
    let (customer, now) = (request.consume.customer.clone(), request.consume.now);
    if !known.contains(&customer) {
        return Ok(Settled::NotFound);
    }
    let Some(hold) = hold_where(conn, HoldBy::Id, &customer, &request.hold_id).await? else { return Ok(Settled::NotFound) };
    match hold.status.as_str() {
        "settled" => return Ok(Settled::Done { hold: Box::new(hold), verdict: None, duplicate: true }),
        "released" => return Ok(Settled::Released(Box::new(hold))),
        _ => {}
    }
    let quantity = request.consume.event.as_ref().map_or(0, |e| e.quantity);
    if hold.expires_at > now && quantity <= hold.quantity {
        return settle_reserved(conn, &hold, request, known).await;
    }
    set_hold_state(conn, &hold.id, "settled", Some(now), Some((quantity, None))).await?;
    match consume(conn, request.consume, known).await? {
        Consumed::Decided { verdict, event_id } if verdict.decision.allowed => {
            let hold = set_hold_state(conn, &hold.id, "settled", Some(now), Some((quantity, event_id.as_deref()))).await?;
            Ok(Settled::Done { hold: Box::new(hold), verdict: Some(verdict), duplicate: false })
        }
        Consumed::Decided { verdict, .. } => {
            let hold = set_hold_state(conn, &hold.id, "held", None, None).await?;
            Ok(Settled::Denied { hold: Box::new(hold), verdict })
        }
        Consumed::Duplicate { event_id } => {
            let hold = set_hold_state(conn, &hold.id, "settled", Some(now), Some((quantity, Some(&event_id)))).await?;
            Ok(Settled::Done { hold: Box::new(hold), verdict: None, duplicate: true })
        }
        Consumed::UnknownCustomer => Err(StoreError::Batch("the customer is gone".into())),
    }
}

/// Release a held (or expired) hold, and whether this call released it; a settled or released
/// one answers as it stands.
async fn release_hold(conn: &mut Conn, request: &ReleaseRequest) -> Result<Option<(HoldRecord, bool)>, StoreError> {
    let Some(hold) = hold_where(conn, HoldBy::Id, &request.customer, &request.hold_id).await? else { return Ok(None) };
    if hold.status != "held" {
        return Ok(Some((hold, false)));
    }
    let ended = hold.expires_at.min(request.now);
    Ok(Some((set_hold_state(conn, &hold.id, "released", Some(ended), None).await?, true)))
}

#[async_trait::async_trait]
impl HoldLedger for Backend {
    async fn place_hold(&self, request: HoldRequest) -> Result<Placed, StoreError> {
        writer::submit(&self.writer, |r| Op::PlaceHold(request, r)).await
    }

    async fn settle_hold(&self, request: SettleRequest) -> Result<Settled, StoreError> {
        writer::submit(&self.writer, |r| Op::SettleHold(request, r)).await
    }

    async fn release_hold(&self, request: ReleaseRequest) -> Result<Option<(HoldRecord, bool)>, StoreError> {
        writer::submit(&self.writer, |r| Op::ReleaseHold(request, r)).await
    }

    async fn get_hold(&self, customer: &str, id: &str) -> Result<Option<HoldRecord>, StoreError> {
        let mut conn = self.read.acquire().await?;
        hold_where(&mut conn, HoldBy::Id, customer, id).await
    }
}
