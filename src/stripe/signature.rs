//! Stripe's webhook signature (`Stripe-Signature: t=<unix seconds>,v1=<hex>,v1=<hex>,…`): an
//! HMAC-SHA256 of `<t>.<raw body>` under the endpoint's signing secret (`whsec_…`). The event is
//! genuine when any `v1` matches under any configured secret (two while a secret is rolled) and
//! `t` is within the tolerance of now (no replays of old deliveries). Digests are compared in
//! constant time. The typed event parser of async-stripe-webhook is not used: events are read
//! into the few fields processing needs, whatever the API version that produced them.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Why a delivery was refused (said in the 400 answer; never the secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the signature's timestamp is {0} s away from now, beyond the tolerance")]
    Stale(i64),
    #[error("no v1 signature matches the configured signing secret(s)")]
    Mismatch,
}

/// The `v1` signature of `payload` at `timestamp` under `secret`, hex.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    mac(secret, timestamp, payload)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// HMAC takes keys of any length, so this is always `Some`.
fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    Some(mac)
}

/// Check `header` for `payload` against every secret, at `now` (unix seconds).
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secrets: &[SecretString],
    tolerance_secs: i64,
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.extend(hex::decode(s).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let matched = secrets.iter().any(|secret| {
        signatures.iter().any(|s| {
            mac(secret.expose_secret(), timestamp, payload)
                .is_some_and(|m| m.verify_slice(s).is_ok())
        })
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let age = now - timestamp;
    if age.abs() > tolerance_secs {
        return Err(SignatureError::Stale(age));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1"}"#;

    fn secrets(s: &[&str]) -> Vec<SecretString> {
        s.iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect()
    }

    #[test]
    fn any_v1_under_any_secret_within_the_tolerance_passes() {
        let t = 1_795_257_000;
        let good = sign("whsec_new", t, BODY);
        let header = format!("t={t},v1={},v1={good},v0=zz", sign("whsec_other", t, BODY));
        let both = secrets(&["whsec_old", "whsec_new"]);
        assert_eq!(verify(BODY, Some(&header), &both, 300, t + 299), Ok(()));
        assert_eq!(
            verify(BODY, Some(&header), &secrets(&["whsec_old"]), 300, t),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(BODY, Some(&header), &both, 300, t + 301),
            Err(SignatureError::Stale(301))
        );
        assert_eq!(
            verify(b"{}", Some(&header), &both, 300, t),
            Err(SignatureError::Mismatch),
            "another body"
        );
        assert_eq!(
            verify(BODY, Some("v1=abcd"), &both, 300, t),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(BODY, None, &both, 300, t),
            Err(SignatureError::Missing)
        );
    }
}
