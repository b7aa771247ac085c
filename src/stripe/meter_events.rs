//! Usage as Stripe meter events (v1 `billing/meter_events`): one ledger event is one meter event
//! whose `identifier` is the ledger event id, sent with the `Idempotency-Key`
//! `meter_event:<event id>`, so a resend (after a crash, a timeout or a 5xx that had in fact
//! landed) is recognised by Stripe twice over and never counted again.

use std::collections::{BTreeMap, HashMap};

use stripe_billing::billing_meter_event::CreateBillingMeterEvent;

use super::{Error, Payments};

/// One meter event as Stripe takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterEvent {
    /// The ledger event id.
    pub identifier: String,
    pub event_name: String,
    pub stripe_customer_id: String,
    pub value: i64,
    /// Epoch milliseconds (sent as seconds, as Stripe wants).
    pub occurred_at: i64,
    /// The meter's declared dimensions the event carries.
    pub dimensions: BTreeMap<String, String>,
}

impl MeterEvent {
    /// Stripe's payload: `stripe_customer_id` and `value` (a meter's default payload keys) plus
    /// the dimensions.
    fn payload(&self) -> HashMap<String, String> {
        let mut payload: HashMap<String, String> = self.dimensions.clone().into_iter().collect();
        payload.insert("stripe_customer_id".into(), self.stripe_customer_id.clone());
        payload.insert("value".into(), self.value.to_string());
        payload
    }
}

/// The `Idempotency-Key` of a meter event: the same for every attempt, in every process.
pub fn idempotency_key(identifier: &str) -> String {
    format!("meter_event:{identifier}")
}

impl Payments {
    /// Send one meter event, once. `Ok` when Stripe holds it (now or from an earlier attempt).
    pub async fn send_meter_event(&self, event: &MeterEvent) -> Result<(), Error> {
        let request = CreateBillingMeterEvent::new(event.event_name.clone(), event.payload())
            .identifier(event.identifier.clone())
            .timestamp(event.occurred_at.div_euclid(1000));
        match self
            .write_once(request, &idempotency_key(&event.identifier))
            .await
        {
            Ok(_) => Ok(()),
            Err(r) if r.already_exists => Ok(()),
            Err(r) => Err(r),
        }
    }
}
