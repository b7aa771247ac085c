//! API key use cases: create, list, rotate (the old secret keeps working for a grace period) and
//! revoke (at once). A secret is returned exactly once, when the key is made.

use schemars::JsonSchema;
use secrecy::ExposeSecret;
use serde::Serialize;

use super::{App, BillingError, PageInfo};
use crate::access::keys::{self, Minted};
use crate::access::{Rate, Role};
use crate::core::period::rfc3339;
use crate::store::{ApiKeyRecord, KeyOutcome, KeyQuery, KeyWrite, NewApiKey};

/// Longest grace period a rotation may give the old secret: 30 days.
pub const MAX_GRACE_SECONDS: u64 = 30 * 86_400;
pub const DEFAULT_GRACE_SECONDS: u64 = 86_400;
const MAX_RATE: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    Active,
    /// Rotated: still valid until `expires_at`.
    Expiring,
    Expired,
    Revoked,
}

/// A key as lists show it: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct KeyView {
    /// The key's id: the start of its secret (`bmcp_…`), safe to show.
    pub key_id: String,
    pub name: String,
    pub role: Role,
    /// The customer a `customer` key belongs to.
    pub customer: Option<String>,
    pub status: KeyStatus,
    /// The limit its calls are held to: its own, else its role's default (a customer key without
    /// its own follows its customer's plan's `rate_limit`, when the plan has one); none is
    /// unlimited.
    pub rate_limit: Option<Rate>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// The key this one replaced, when it was made by a rotation.
    pub rotated_from: Option<String>,
}

/// A key just made (or the one an earlier request with the same idempotency key made).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct IssuedKey {
    /// `created`, or `duplicate` when the idempotency key was used before.
    pub status: &'static str,
    pub key: KeyView,
    /// The secret, shown this once: send it as `Authorization: Bearer <secret>` (or set
    /// `BILLING_MCP_API_KEY` for stdio). Absent on a duplicate.
    pub secret: Option<String>,
    /// After a rotation: the old key, valid until its `expires_at`.
    pub previous: Option<KeyView>,
    pub note: String,
}

pub struct NewKey {
    pub role: Role,
    pub customer: Option<String>,
    pub name: Option<String>,
    pub rate_per_minute: Option<u32>,
    pub burst: Option<u32>,
    pub idempotency_key: Option<String>,
}

impl NewKey {
    /// A key of `role` (for `customer`, if a customer key) with the defaults for everything else.
    pub fn new(role: Role, customer: Option<String>) -> NewKey {
        NewKey {
            role,
            customer,
            name: None,
            rate_per_minute: None,
            burst: None,
            idempotency_key: None,
        }
    }
}

pub fn view(app: &App, r: &ApiKeyRecord, now: i64) -> KeyView {
    let role = Role::parse(&r.role).unwrap_or(Role::Customer);
    let status = if r.revoked_at.is_some() {
        KeyStatus::Revoked
    } else {
        match r.expires_at {
            Some(t) if t <= now => KeyStatus::Expired,
            Some(_) => KeyStatus::Expiring,
            None => KeyStatus::Active,
        }
    };
    KeyView {
        key_id: r.id.clone(),
        name: r.name.clone(),
        role,
        customer: r.customer_id.clone(),
        status,
        rate_limit: Rate::from_stored(r.rate_per_minute, r.burst).or(app.limits.roles().of(role)),
        created_at: rfc3339(r.created_at),
        expires_at: r.expires_at.map(rfc3339),
        revoked_at: r.revoked_at.map(rfc3339),
        rotated_from: r.rotated_from.clone(),
    }
}

fn mint() -> Result<Minted, BillingError> {
    keys::mint().map_err(|e| {
        tracing::error!(error = %e, "no randomness for a new key");
        BillingError::new(
            "internal_error",
            "the operating system gave no randomness for a new key; nothing was created, retry",
        )
    })
}

fn check_rate(n: Option<u32>, what: &str) -> Result<Option<i64>, BillingError> {
    match n {
        Some(v) if v == 0 || v > MAX_RATE => Err(BillingError::invalid(format!(
            "{what} must be 1 to {MAX_RATE}; omit it to use the role's default"
        ))),
        other => Ok(other.map(i64::from)),
    }
}

fn unknown_key(id: &str) -> BillingError {
    BillingError::new(
        "unknown_key",
        format!("no API key `{id}`; call list_api_keys for the keys that exist"),
    )
    .with("key_id", id)
}

fn duplicate(app: &App, first: &ApiKeyRecord, now: i64) -> IssuedKey {
    IssuedKey {
        status: "duplicate",
        key: view(app, first, now),
        secret: None,
        previous: None,
        note: format!(
            "this idempotency_key already made key {}; its secret was shown only once. If it was lost, rotate or revoke that key and make another",
            first.id
        ),
    }
}

pub async fn create(app: &App, input: NewKey) -> Result<IssuedKey, BillingError> {
    let now = app.now();
    let customer = match (input.role, input.customer) {
        (Role::Customer, Some(c)) => Some(c),
        (Role::Customer, None) => {
            return Err(BillingError::invalid(
                "a `customer` key belongs to one customer: pass `customer`",
            ));
        }
        (role, Some(_)) => {
            return Err(BillingError::invalid(format!(
                "a `{role}` key acts for every customer: omit `customer`, or make a `customer` key"
            )));
        }
        (_, None) => None,
    };
    let rate_per_minute = check_rate(input.rate_per_minute, "rate_per_minute")?;
    let burst = check_rate(input.burst, "burst")?;
    if burst.is_some() && rate_per_minute.is_none() {
        return Err(BillingError::invalid("`burst` needs `rate_per_minute` too"));
    }
    let name = input.name.unwrap_or_else(|| match &customer {
        Some(c) => format!("customer {c}"),
        None => format!("{} key", input.role),
    });
    let minted = mint()?;
    let outcome = app
        .store
        .write_key(KeyWrite::Create(NewApiKey {
            id: minted.id.clone(),
            secret_hash: minted.hash.clone(),
            name,
            role: input.role.as_str().into(),
            customer_id: customer.clone(),
            rate_per_minute,
            burst,
            created_at: now,
            expires_at: None,
            revoked_at: None,
            rotated_from: None,
            idempotency_key: input.idempotency_key,
        }))
        .await?;
    match outcome {
        KeyOutcome::Written(r) => Ok(IssuedKey {
            status: "created",
            key: view(app, &r, now),
            secret: Some(minted.secret.expose_secret().to_string()),
            previous: None,
            note: "store the secret now: it is shown only once and kept only as a hash".into(),
        }),
        KeyOutcome::Duplicate(first) => Ok(duplicate(app, &first, now)),
        KeyOutcome::UnknownCustomer => Err(app
            .refused_customer(customer.as_deref().unwrap_or_default())
            .await),
        KeyOutcome::NotFound | KeyOutcome::Inactive(_) => Err(BillingError::new(
            "internal_error",
            "the ledger answered a key creation unexpectedly; retry with the same idempotency_key",
        )),
    }
}

pub async fn rotate(
    app: &App,
    key_id: &str,
    grace_seconds: Option<u64>,
    idempotency_key: Option<String>,
) -> Result<IssuedKey, BillingError> {
    let now = app.now();
    let grace = grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
    if grace > MAX_GRACE_SECONDS {
        return Err(BillingError::invalid(format!(
            "grace_period_seconds must be at most {MAX_GRACE_SECONDS} (30 days); use 0 to end the old secret now"
        )));
    }
    let minted = mint()?;
    let outcome = app
        .store
        .write_key(KeyWrite::Rotate {
            from: key_id.to_string(),
            id: minted.id.clone(),
            secret_hash: minted.hash.clone(),
            at: now,
            // `grace` ≤ 30 days, so this cannot overflow.
            old_expires_at: now + i64::try_from(grace * 1000).unwrap_or(0),
            idempotency_key,
        })
        .await?;
    app.keys.forget(key_id);
    match outcome {
        KeyOutcome::Written(r) => {
            let previous = app.store.get_key(key_id).await?;
            Ok(IssuedKey {
                status: "created",
                key: view(app, &r, now),
                secret: Some(minted.secret.expose_secret().to_string()),
                previous: previous.map(|p| view(app, &p, now)),
                note: format!(
                    "store the new secret now (shown only once); the old one works for {grace} more seconds"
                ),
            })
        }
        KeyOutcome::Duplicate(first) => Ok(duplicate(app, &first, now)),
        KeyOutcome::NotFound | KeyOutcome::UnknownCustomer => Err(unknown_key(key_id)),
        KeyOutcome::Inactive(old) => Err(BillingError::new(
            "key_inactive",
            format!(
                "key {} is {}; only a live key can be rotated, so make a new one with create_api_key",
                old.id,
                if old.revoked_at.is_some() { "revoked" } else { "expired" }
            ),
        )
        .with("key_id", old.id)),
    }
}

pub async fn revoke(app: &App, key_id: &str) -> Result<KeyView, BillingError> {
    let now = app.now();
    let outcome = app
        .store
        .write_key(KeyWrite::Revoke {
            id: key_id.to_string(),
            at: now,
        })
        .await?;
    app.keys.forget(key_id);
    match outcome {
        KeyOutcome::Written(r) => Ok(view(app, &r, now)),
        _ => Err(unknown_key(key_id)),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
    #[serde(flatten)]
    pub page: PageInfo,
}

pub struct KeyFilter {
    pub role: Option<Role>,
    pub customer: Option<String>,
    pub include_inactive: bool,
    pub limit: u32,
    pub starting_after: Option<String>,
}

pub async fn list(app: &App, f: KeyFilter) -> Result<KeyList, BillingError> {
    let now = app.now();
    let limit = i64::from(f.limit.clamp(1, 100));
    let mut rows = app
        .store
        .list_keys(KeyQuery {
            role: f.role.map(|r| r.as_str().to_string()),
            customer: f.customer,
            active_at: (!f.include_inactive).then_some(now),
            starting_after: f.starting_after,
            limit: limit + 1,
        })
        .await?;
    let page = PageInfo::cut(&mut rows, limit, |r| r.id.clone());
    Ok(KeyList {
        keys: rows.iter().map(|r| view(app, r, now)).collect(),
        page,
    })
}
