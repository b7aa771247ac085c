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
