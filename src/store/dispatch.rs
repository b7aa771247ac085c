// The writer's dispatch, included into `sqlite.rs` and `postgres.rs` by `ledger.rs`: one queued
// operation run in its batch's transaction (under its own savepoint), and what it changed, for the
// snapshot cache once the batch has committed.

use super::cache::Added;

/// What a batch changed, applied to the cache once the batch has committed.
#[derive(Default)]
struct Effects {
    added: Vec<Added>,
    invalidated: Vec<String>,
}

fn added(event: &NewEvent) -> Added {
    Added {
        customer: event.customer.clone(),
        meter: event.meter.clone(),
        tool: event.tool.clone(),
        first_at: event.occurred_at,
        occurred_at: event.occurred_at,
        tally: crate::core::usage::Tally::event(event.occurred_at, u64::try_from(event.quantity).unwrap_or(0)),
        distinct: event.distinct.is_some(),
    }
}

/// New events tallied per customer, meter, tool and hour (in batch order, so the latest stays
/// latest): what the cache needs, in a few entries. Spans that start inside an hour (a plan
/// change) are checked against each entry's first and last time by the cache.
fn aggregate<'a>(events: impl Iterator<Item = &'a NewEvent>) -> Vec<Added> {
    let mut sums: HashMap<(&str, &str, &str, i64), Added> = HashMap::new();
    for e in events {
        let hour = floor_hour(e.occurred_at);
        let one = added(e);
        sums.entry((&e.customer, &e.meter, &e.tool, hour))
            .and_modify(|a| {
                a.tally.merge(&one.tally);
                a.first_at = a.first_at.min(one.first_at);
                a.occurred_at = a.occurred_at.max(one.occurred_at);
                a.distinct |= one.distinct;
            })
            .or_insert(one);
    }
    sums.into_values().collect()
}

/// `result` of a write to the customer's row, once the batch's copy of the row is read again.
async fn refreshed<T>(conn: &mut Conn, known: &mut Known, customer: &str, result: Result<T, StoreError>) -> Result<T, StoreError> {
    let value = result?;
    known.refresh(conn, customer).await?;
    Ok(value)
}

/// Run one operation of a batch; `None` when it failed (its caller is answered already, and its
/// savepoint is rolled back).
async fn dispatch(conn: &mut Conn, op: Op, known: &mut Known, fx: &mut Effects) -> Option<Pending> {
    match op {
        Op::CreateCustomer(c, reply) => {
            let r = create_customer(conn, &c, known).await;
            fx.invalidated.extend(r.is_ok().then(|| c.id.clone()));
            settle(reply, r)
        }
        Op::ChangePlan(c, reply) => {
            let r = change_plan(conn, &c).await;
            let r = refreshed(conn, known, &c.customer, r).await;
            fx.invalidated.extend(r.is_ok().then(|| c.customer.clone()));
            settle(reply, r)
        }
        Op::SetReserved(w, reply) => {
            let r = set_reserved(conn, &w).await;
            let r = refreshed(conn, known, &w.customer, r).await;
            fx.invalidated.extend(r.is_ok().then(|| w.customer.clone()));
            settle(reply, r)
        }
        Op::LinkStripe(l, reply) => {
            let r = link_stripe(conn, &l).await;
            let r = refreshed(conn, known, &l.customer, r).await;
            fx.invalidated.extend(r.is_ok().then(|| l.customer.clone()));
            settle(reply, r)
        }
        Op::ChangeCustomer(c, reply) => {
            let r = change_customer(conn, &c).await;
            let r = refreshed(conn, known, &c.customer, r).await;
            fx.invalidated.extend(r.is_ok().then(|| c.customer.clone()));
            settle(reply, r)
        }
        Op::EraseCustomer(e, reply) => {
            let r = erase_customer(conn, &e).await;
            let r = refreshed(conn, known, &e.customer, r).await;
            fx.invalidated.extend(r.is_ok().then(|| e.customer.clone()));
            settle(reply, r)
        }
        Op::Usage(events, reply) => {
            let r = insert_events(conn, &events, known).await;
            if let Ok(results) = &r {
                let new = events.iter().zip(results).filter(|(_, r)| matches!(r, Recorded::Recorded { .. }));
                fx.added.extend(aggregate(new.map(|(e, _)| e)));
            }
            settle(reply, r)
        }
        Op::Consume(request, reply) => {
            let (event, customer) = (request.event.as_ref().map(added), request.customer.clone());
            let r = consume(conn, request, known).await;
            if let Ok(Consumed::Decided { verdict, event_id: Some(_) }) = &r {
                // A gauge recorded its new level, not the asked quantity.
                fx.added.extend(event.map(|mut a| {
                    if let Some(level) = verdict.record_quantity {
                        a.tally = crate::core::usage::Tally::event(a.occurred_at, level);
                    }
                    a
                }));
                fx.invalidated.extend((verdict.credits > 0).then_some(customer));
            }
            settle(reply, r)
        }
        Op::PlaceHold(h, reply) => {
            let customer = h.consume.customer.clone();
            let r = place_hold(conn, h, known).await;
            fx.invalidated.extend(r.is_ok().then_some(customer));
            settle(reply, r)
        }
        Op::SettleHold(s, reply) => {
            let (event, customer) = (s.consume.event.as_ref().map(added), s.consume.customer.clone());
            let r = settle_hold(conn, s, known).await;
            if let Ok(Settled::Done { hold, duplicate: false, .. }) = &r {
                fx.added.extend(event.filter(|_| hold.event_id.is_some()));
            }
            fx.invalidated.extend(r.is_ok().then_some(customer));
            settle(reply, r)
        }
        Op::ReleaseHold(rel, reply) => {
            let r = release_hold(conn, &rel).await;
            fx.invalidated.extend(r.is_ok().then(|| rel.customer.clone()));
            settle(reply, r)
        }
        Op::Grant(g, reply) => {
            let r = grant(conn, &g, known).await;
            fx.invalidated.extend(r.is_ok().then(|| g.customer.clone()));
            settle(reply, r)
        }
        Op::Adjust(a, reply) => {
            let r = adjust_credits(conn, &a, known).await;
            fx.invalidated.extend(r.is_ok().then(|| a.customer.clone()));
            settle(reply, r)
        }
        Op::Expire { customer, now, reply } => {
            let r = if known.contains(&customer) { expire_credits(conn, &customer, now).await } else { Ok(0) };
            fx.invalidated.extend(r.is_ok().then(|| customer.clone()));
            settle(reply, r)
        }
        Op::LeaseOutbox { sender, ids, now, lease_until, reply } => settle(reply, lease_outbox(conn, &sender, &ids, now, lease_until).await),
        Op::SettleOutbox(outcomes, reply) => settle(reply, settle_outbox(conn, &outcomes).await),
        Op::ReleaseSender(sender, reply) => settle(reply, release_sender(conn, &sender).await),
        Op::Requeue(r, reply) => settle(reply, requeue(conn, &r).await),
        Op::ReceiveWebhook(e, reply) => settle(reply, receive_webhook(conn, &e).await),
        Op::ApplyWebhook(a, reply) => {
            let mut r = apply_webhook(conn, &a, known).await;
            if r.is_ok() {
                for customer in a.customers() {
                    if let Err(e) = known.refresh(conn, customer).await {
                        r = Err(e);
                    }
                }
            }
            if r.is_ok() {
                fx.invalidated.extend(a.customers().into_iter().map(String::from));
            }
            settle(reply, r)
        }
        Op::Key(w, reply) => settle(reply, write_key(conn, w, known).await),
        Op::StripeWrite(w, reply) => settle(reply, insert_stripe_write(conn, w).await),
        Op::Onboarding(o, reply) => settle(reply, save_onboarding(conn, o).await),
        Op::Audit(e, Some(reply)) => {
            let r = insert_audit(conn, &e).await;
            settle(reply, r)
        }
        Op::Audit(e, None) => match insert_audit(conn, &e).await {
            // Nobody waits for the entry, so a failed commit is said in the log.
            Ok(()) => Some(Box::new(move |r: Result<(), &str>| {
                if let Err(error) = r {
                    tracing::error!(tool = e.tool, error, "an audit entry was not stored");
                }
            }) as Pending),
            Err(err) => {
                Op::Audit(e, None).fail(&err.to_string());
                None
            }
        },
        Op::Barrier(reply) => settle(reply, Ok(())),
        Op::RemoveEvents(r, reply) => {
            // The customer's row counts what went: the batch's later operations read it again.
            let removed = remove_events(conn, &r).await;
            let removed = refreshed(conn, known, &r.customer, removed).await;
            settle(reply, removed)
        }
        Op::ClearPayloads(c, reply) => settle(reply, clear_payloads(conn, c).await),
        Op::RemoveAudit(c, reply) => settle(reply, remove_audit(conn, c).await),
        Op::RecordRun(run, reply) => settle(reply, record_run(conn, &run).await),
    }
}
