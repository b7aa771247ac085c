//! What Stripe's rate limiter would see of meter-event requests (v1 and the v2 stream): when each
//! arrived, how many were in flight at once, and, for v1, how many at once for one customer and
//! meter (Stripe allows one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::StripeServer;
use super::state::Data;

#[derive(Default)]
pub(super) struct Traffic {
    in_flight: usize,
    max_in_flight: usize,
    per_group: HashMap<String, usize>,
    max_per_group: usize,
    /// Arrival times, epoch milliseconds.
    arrivals: Vec<u128>,
}

/// A meter-event request in flight until dropped.
pub(super) struct InFlight {
    data: Arc<Mutex<Data>>,
    group: Option<String>,
}

/// Count a request to `path` (a meter-event path) from arrival until the guard drops. `group` is
/// a v1 event's customer and event name.
pub(super) fn enter(data: &Arc<Mutex<Data>>, group: Option<String>) -> InFlight {
    let mut d = data.lock().unwrap();
    let t = &mut d.traffic;
    t.arrivals.push(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    );
    t.in_flight += 1;
    t.max_in_flight = t.max_in_flight.max(t.in_flight);
    if let Some(g) = &group {
        let n = t.per_group.entry(g.clone()).or_default();
        *n += 1;
        t.max_per_group = t.max_per_group.max(*n);
    }
    InFlight {
        data: data.clone(),
        group,
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut d = self.data.lock().unwrap();
        let t = &mut d.traffic;
        t.in_flight -= 1;
        if let Some(g) = &self.group
            && let Some(n) = t.per_group.get_mut(g)
        {
            *n -= 1;
        }
    }
}

impl StripeServer {
    /// Most meter-event requests in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.data.lock().unwrap().traffic.max_in_flight
    }

    /// Most v1 meter-event requests in flight at once for one customer and meter.
    pub fn max_in_flight_per_customer_meter(&self) -> usize {
        self.data.lock().unwrap().traffic.max_per_group
    }

    /// The shortest time between two meter-event requests' arrivals, in milliseconds.
    pub fn min_gap_ms(&self) -> u128 {
        let d = self.data.lock().unwrap();
        let mut at = d.traffic.arrivals.clone();
        at.sort_unstable();
        at.windows(2)
            .map(|w| w[1] - w[0])
            .min()
            .unwrap_or(u128::MAX)
    }

    /// Most meter-event requests that arrived within one calendar second.
    pub fn max_per_second(&self) -> usize {
        let d = self.data.lock().unwrap();
        let mut per: HashMap<u128, usize> = HashMap::new();
        for at in &d.traffic.arrivals {
            *per.entry(at / 1000).or_default() += 1;
        }
        per.into_values().max().unwrap_or(0)
    }
}
