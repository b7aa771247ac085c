//! API key secrets and their verification. A secret is `bmcp_<16 hex>_<64 hex>`: the first part
//! is the key's id (readable, shown in lists and the audit log), the rest 256 random bits. Only a
//! SHA-256 of the whole secret is stored: a fast hash is right for random secrets (nothing to
//! guess), and digests are compared in constant time. [`Keyring`] keeps verified keys for a
//! second; revoking or rotating through this process drops them at once.

use std::collections::HashMap;
use std::sync::RwLock;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Principal, Rate, Role};
use crate::store::{ApiKeyRecord, Store, StoreError};

pub use crate::values::{KEY_PREFIX as PREFIX, is_hex, is_key_id};
/// How long a verified key is trusted without reading the ledger again. Revocation by another
/// server process on the same database takes effect within this time; in this process, at once.
pub const TTL_MS: i64 = 1_000;

/// A newly minted key: its id, the secret (shown once) and the digest to store.
pub struct Minted {
    pub id: String,
    pub secret: SecretString,
    pub hash: String,
}

/// Mint a key from the operating system's random source.
pub fn mint() -> Result<Minted, getrandom::Error> {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut id)?;
    getrandom::fill(&mut secret)?;
    let id = format!("{PREFIX}{}", hex::encode(id));
    let secret = SecretString::from(format!("{id}_{}", hex::encode(secret)));
    let hash = digest(secret.expose_secret());
    Ok(Minted { id, secret, hash })
}

/// Hex SHA-256 of a secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The key id a well-formed secret names, or `None`.
pub fn key_id(secret: &str) -> Option<&str> {
    let rest = secret.strip_prefix(PREFIX)?;
    let (id, random) = rest.split_once('_')?;
    (is_hex(id, 16) && is_hex(random, 64)).then(|| &secret[..PREFIX.len() + 16])
}

/// Whether `secret` hashes to `stored` (hex), compared in constant time.
pub fn matches(secret: &str, stored: &str) -> bool {
    let Ok(stored) = hex::decode(stored) else {
        return false;
    };
    let digest = Sha256::digest(secret.as_bytes());
    digest[..].ct_eq(&stored[..]).into()
}

/// Why a secret was refused. The messages never repeat the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Unknown,
    Revoked,
    Expired,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Missing => {
                "an API key is required: send `Authorization: Bearer <key>` (create one with `billing-mcp keys create`)"
            }
            Refusal::Unknown => "the API key is not valid; check it was copied whole",
            Refusal::Revoked => "the API key was revoked; ask an admin for a new one",
            Refusal::Expired => {
                "the API key has expired (a rotated key's grace period is over); use its replacement"
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{}", .0.message())]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verified keys, each trusted for [`TTL_MS`].
#[derive(Default)]
pub struct Keyring {
    cache: RwLock<HashMap<String, (ApiKeyRecord, i64)>>,
}

impl Keyring {
    /// The principal a secret stands for at `now`.
    pub async fn verify(
        &self,
        store: &Store,
        secret: &str,
        now: i64,
    ) -> Result<Principal, VerifyError> {
        let id = key_id(secret).ok_or(VerifyError::Refused(Refusal::Unknown))?;
        let record = match self.cached(id, now) {
            Some(r) => r,
            None => {
                let r = store
                    .get_key(id)
                    .await?
                    .ok_or(VerifyError::Refused(Refusal::Unknown))?;
                if let Ok(mut cache) = self.cache.write() {
                    cache.insert(id.to_string(), (r.clone(), now));
                }
                r
            }
        };
        principal(&record, secret, now).map_err(VerifyError::Refused)
    }

    fn cached(&self, id: &str, now: i64) -> Option<ApiKeyRecord> {
        let cache = self.cache.read().ok()?;
        let (record, loaded_at) = cache.get(id)?;
        (now.saturating_sub(*loaded_at) < TTL_MS && now >= *loaded_at).then(|| record.clone())
    }

    /// Drop a key whose record changed (revoked, rotated).
    pub fn forget(&self, id: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(id);
        }
    }
}

fn principal(record: &ApiKeyRecord, secret: &str, now: i64) -> Result<Principal, Refusal> {
    if !matches(secret, &record.secret_hash) {
        return Err(Refusal::Unknown);
    }
    if record.revoked_at.is_some() {
        return Err(Refusal::Revoked);
    }
    if record.expires_at.is_some_and(|t| t <= now) {
        return Err(Refusal::Expired);
    }
    let role = Role::parse(&record.role).ok_or(Refusal::Unknown)?;
    Ok(Principal {
        key_id: Some(record.id.clone()),
        role,
        customer: record.customer_id.clone(),
        rate: Rate::from_stored(record.rate_per_minute, record.burst),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_secrets_name_their_id_and_match_only_their_digest() {
        let a = mint().unwrap();
        let b = mint().unwrap();
        let secret = a.secret.expose_secret();
        assert_eq!(secret.len(), PREFIX.len() + 16 + 1 + 64);
        assert_eq!(key_id(secret), Some(a.id.as_str()));
        assert!(matches(secret, &a.hash));
        assert!(!matches(secret, &b.hash));
        assert!(!matches(b.secret.expose_secret(), &a.hash));
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn malformed_secrets_name_no_key() {
        let good = mint().unwrap();
        let s = good.secret.expose_secret();
        for bad in [
            "",
            "bmcp_",
            "sk_test_123",
            &s[..s.len() - 1],
            &format!("{s}0"),
            &s.replace("bmcp_", "bmcq_"),
            &format!("{}_{}", &s[..21], "zz".repeat(32)),
        ] {
            assert_eq!(key_id(bad), None, "{bad}");
        }
    }

    fn record(hash: &str) -> ApiKeyRecord {
        ApiKeyRecord {
            id: "bmcp_0011223344556677".into(),
            secret_hash: hash.into(),
            name: "k".into(),
            role: "customer".into(),
            customer_id: Some("acme".into()),
            rate_per_minute: Some(60),
            burst: Some(5),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
            rotated_from: None,
            idempotency_key: None,
        }
    }

    #[test]
    fn revoked_and_expired_keys_are_refused() {
        let k = mint().unwrap();
        let s = k.secret.expose_secret();
        let live = record(&k.hash);
        let p = principal(&live, s, 10).unwrap();
        assert_eq!(p.role, Role::Customer);
        assert_eq!(p.customer.as_deref(), Some("acme"));
        assert_eq!(p.rate, Some(Rate::new(60, 5)));
        let revoked = ApiKeyRecord {
            revoked_at: Some(5),
            ..live.clone()
        };
        assert_eq!(principal(&revoked, s, 10), Err(Refusal::Revoked));
        let expiring = ApiKeyRecord {
            expires_at: Some(10),
            ..live
        };
        assert!(principal(&expiring, s, 9).is_ok());
        assert_eq!(principal(&expiring, s, 10), Err(Refusal::Expired));
    }
}
