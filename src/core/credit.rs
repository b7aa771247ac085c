//! Prepaid credits: grants burn in order priority (lower first, as Stripe credit grants) → earlier
//! expiry (no expiry last) → earlier creation. The balance is derived from unexpired grants and
//! can never go below zero: a debit that does not fit is refused whole.

use serde::Serialize;

/// A grant's current state as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub id: String,
    pub remaining: u64,
    pub priority: u32,
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

impl Grant {
    pub fn is_live(&self, now: i64) -> bool {
        self.remaining > 0 && self.expires_at.is_none_or(|e| now < e)
    }
}

/// A credit pack for sale: `credits + bonus` credits for `price`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditPack {
    pub id: String,
    pub name: String,
    pub credits: u64,
    pub bonus: u64,
    pub price: super::MinorUnits,
}

impl CreditPack {
    pub fn total_credits(&self) -> u64 {
        self.credits.saturating_add(self.bonus)
    }
}

/// Credits available now.
pub fn balance(grants: &[Grant], now: i64) -> u64 {
    grants
        .iter()
        .filter(|g| g.is_live(now))
        .fold(0_u64, |acc, g| acc.saturating_add(g.remaining))
}

/// The debit of `amount` split across grants in burn order, or the balance when it does not fit.
pub fn burn(grants: &[Grant], amount: u64, now: i64) -> Result<Vec<(String, u64)>, u64> {
    let available = balance(grants, now);
    if amount > available {
        return Err(available);
    }
    let mut live: Vec<&Grant> = grants.iter().filter(|g| g.is_live(now)).collect();
    live.sort_by_key(|g| {
        (
            g.priority,
            g.expires_at.is_none(),
            g.expires_at,
            g.created_at,
            g.id.clone(),
        )
    });
    let mut left = amount;
    let mut parts = Vec::new();
    for grant in live {
        if left == 0 {
            break;
        }
        let take = left.min(grant.remaining);
        parts.push((grant.id.clone(), take));
        left -= take;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn grant(
        id: &str,
        remaining: u64,
        priority: u32,
        expires_at: Option<i64>,
        created_at: i64,
    ) -> Grant {
        Grant {
            id: id.into(),
            remaining,
            priority,
            expires_at,
            created_at,
        }
    }

    #[test]
    fn burns_priority_then_expiry_then_age() {
        let grants = vec![
            grant("late_no_expiry", 100, 50, None, 1),
            grant("expires_soon", 30, 50, Some(1_000), 5),
            grant("promo", 10, 10, Some(5_000), 9),
        ];
        let parts = burn(&grants, 50, 0).unwrap();
        assert_eq!(
            parts,
            vec![
                ("promo".into(), 10),
                ("expires_soon".into(), 30),
                ("late_no_expiry".into(), 10)
            ]
        );
    }

    #[test]
    fn expired_grants_do_not_count() {
        let grants = vec![
            grant("old", 100, 0, Some(10), 0),
            grant("new", 5, 0, None, 0),
        ];
        assert_eq!(balance(&grants, 10), 5);
        assert_eq!(burn(&grants, 6, 10), Err(5));
    }

    proptest! {
        #[test]
        fn burned_never_exceeds_granted(raw in prop::collection::vec((0_u64..1000, 0_u32..3, prop::option::of(0_i64..100)), 0..6), amount in 0_u64..3000, now in 0_i64..100) {
            let grants: Vec<Grant> = raw.iter().enumerate().map(|(i, (r, p, e))| grant(&i.to_string(), *r, *p, *e, i as i64)).collect();
            match burn(&grants, amount, now) {
                Ok(parts) => {
                    prop_assert_eq!(parts.iter().map(|(_, n)| n).sum::<u64>(), amount);
                    for (id, n) in parts {
                        let g = grants.iter().find(|g| g.id == id).unwrap();
                        prop_assert!(n <= g.remaining && g.is_live(now));
                    }
                }
                Err(available) => prop_assert!(available < amount),
            }
        }
    }
}
