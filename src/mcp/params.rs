//! Parameter types shared by tools. Identifiers and keys are validated while arguments are
//! parsed, so oversized or malformed values are refused with a clear message before any work.

use std::collections::BTreeMap;

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

fn check(
    value: String,
    what: &str,
    max: usize,
    allowed: fn(char) -> bool,
) -> Result<String, String> {
    if value.is_empty() || value.len() > max {
        return Err(format!(
            "{what} must be 1 to {max} characters long (got {})",
            value.len()
        ));
    }
    if let Some(c) = value.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "{what} may not contain {c:?}; use letters, digits and _ - . : @"
        ));
    }
    Ok(value)
}

fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-.:@".contains(c)
}

/// A customer id: the operator's own id for who is billed (e.g. `acme`), 1–128 characters of
/// letters, digits and `_ - . : @`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct CustomerId(pub String);

impl TryFrom<String> for CustomerId {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        check(v, "customer", 128, id_char).map(CustomerId)
    }
}

/// A catalog id (meter, feature, plan, tool): 1–64 characters of letters, digits and `_ - . : @`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Name(pub String);

impl TryFrom<String> for Name {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        check(v, "name", 64, id_char).map(Name)
    }
}

/// An idempotency key: a repeat with the same key returns the first result and changes nothing.
/// 1–255 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct IdempotencyKey(pub String);

impl TryFrom<String> for IdempotencyKey {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        check(v, "idempotency_key", 255, |c| c.is_ascii_graphic()).map(IdempotencyKey)
    }
}

/// An API key's id: `bmcp_` and 16 hex digits (the start of its secret, never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct KeyId(pub String);

impl TryFrom<String> for KeyId {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        if crate::access::keys::is_key_id(&v) {
            Ok(KeyId(v))
        } else {
            Err("key_id must be `bmcp_` and 16 hex digits, as list_api_keys shows it (not the secret)".into())
        }
    }
}

/// Free text such as a name or description: up to 500 characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Text(pub String);

impl TryFrom<String> for Text {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        if v.chars().count() > 500 {
            return Err(format!(
                "text must be at most 500 characters (got {})",
                v.chars().count()
            ));
        }
        Ok(Text(v))
    }
}

/// String-to-string map (dimensions, metadata): at most 16 entries, keys up to 64 characters,
/// values up to 256.
pub type StringMap = BTreeMap<String, String>;

/// For flags that are on unless turned off (`dry_run`).
pub fn default_true() -> bool {
    true
}

pub fn default_quantity() -> u64 {
    1
}

pub fn default_limit() -> u32 {
    20
}

/// The JSON schema of a validated string: the same bounds the parser enforces.
macro_rules! string_schema {
    ($ty:ty, $name:literal, $schema:tt) => {
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

string_schema!(CustomerId, "CustomerId", {
    "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[A-Za-z0-9_.:@-]+$",
    "description": "The operator's own id for who is billed, e.g. `acme`."
});
string_schema!(Name, "Name", {
    "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_.:@-]+$"
});
string_schema!(IdempotencyKey, "IdempotencyKey", {
    "type": "string", "minLength": 1, "maxLength": 255,
    "description": "A repeat with the same key returns the first result and changes nothing."
});
string_schema!(Text, "Text", { "type": "string", "maxLength": 500 });
string_schema!(KeyId, "KeyId", {
    "type": "string", "pattern": "^bmcp_[0-9a-f]{16}$",
    "description": "An API key's id as list_api_keys shows it, e.g. `bmcp_3f9a1c0d5e7b2a64`."
});

/// A Stripe object id such as `prod_…`, `price_…`, `pi_…` or a coupon's own id: 1–255 letters,
/// digits and `_ -`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct StripeId(pub String);

impl TryFrom<String> for StripeId {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        check(v, "Stripe id", 255, |c| {
            c.is_ascii_alphanumeric() || "_-".contains(c)
        })
        .map(StripeId)
    }
}

/// An ISO 4217 currency code in lower case, e.g. `usd`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct CurrencyCode(pub String);

impl TryFrom<String> for CurrencyCode {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        let lower = v.to_ascii_lowercase();
        if lower.len() == 3 && lower.chars().all(|c| c.is_ascii_lowercase()) {
            Ok(CurrencyCode(lower))
        } else {
            Err(format!(
                "currency `{v}` must be a three-letter ISO code such as usd or eur"
            ))
        }
    }
}

/// An exact decimal written as a string (`"0.5"`, `"12.3456"`): never a JSON number, so no
/// binary floating point ever touches it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct DecimalString(pub rust_decimal::Decimal);

impl TryFrom<String> for DecimalString {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        v.trim()
            .parse::<rust_decimal::Decimal>()
            .ok()
            .filter(|d| {
                d.is_sign_positive() && v.trim().chars().all(|c| c.is_ascii_digit() || c == '.')
            })
            .map(DecimalString)
            .ok_or_else(|| {
                format!("`{v}` is not a non-negative decimal such as \"0.5\" or \"12.3456\"")
            })
    }
}

/// An http(s) URL, up to 2,048 characters (redirects and return pages).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Url(pub String);

impl TryFrom<String> for Url {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        let ok = (v.starts_with("https://") || v.starts_with("http://"))
            && v.len() <= 2048
            && !v.chars().any(char::is_whitespace);
        if ok {
            Ok(Url(v))
        } else {
            Err(format!("`{v}` is not an http(s) URL"))
        }
    }
}

string_schema!(StripeId, "StripeId", {
    "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[A-Za-z0-9_-]+$"
});
string_schema!(CurrencyCode, "CurrencyCode", {
    "type": "string", "pattern": "^[A-Za-z]{3}$", "description": "Three-letter ISO currency code, e.g. usd."
});
string_schema!(DecimalString, "DecimalString", {
    "type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$",
    "description": "An exact decimal as a string, e.g. \"0.5\"."
});
string_schema!(Url, "Url", {
    "type": "string", "format": "uri", "maxLength": 2048, "pattern": "^https?://"
});
