//! Parameter types shared by tools. Identifiers and keys are validated while arguments are
//! parsed, so oversized or malformed values are refused with a clear message before any work.
//! Every string a tool takes is one of these types, and each follows the one text rule of
//! [`crate::core::text`]: no control characters (free [`Text`] may hold line feeds and tabs), a
//! length cap, and a JSON schema whose `maxLength` and `pattern` say exactly what is accepted.

use std::collections::BTreeMap;

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use crate::core::text::{self, quote};

/// Characters an identifier may hold, as its message says.
const ID_CHARS: &str = "letters, digits and _ - . : @";

fn check(
    value: String,
    what: &str,
    max: usize,
    allowed: fn(char) -> bool,
    hint: &str,
) -> Result<String, String> {
    let count = value.chars().count();
    if count == 0 || count > max {
        return Err(format!(
            "{what} must be 1 to {max} characters long (got {count})"
        ));
    }
    if let Some(c) = value.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "{what} may not contain {}; use {hint}",
            c.escape_debug()
        ));
    }
    Ok(value)
}

fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-.:@".contains(c)
}

/// A customer id: the operator's own id for who is billed (e.g. `acme`), 1–128 characters of
/// letters, digits and `_ - . : @`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "String")]
pub struct CustomerId(pub String);

impl TryFrom<String> for CustomerId {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        check(v, "customer", 128, id_char, ID_CHARS).map(CustomerId)
    }
}

/// A catalog id (meter, feature, plan, tool): 1–64 characters of letters, digits and `_ - . : @`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "String")]
pub struct Name(pub String);

impl TryFrom<String> for Name {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        check(v, "name", 64, id_char, ID_CHARS).map(Name)
    }
}

/// An idempotency key: a repeat with the same key returns the first result and changes nothing.
/// 1–255 printable ASCII characters (no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "String")]
pub struct IdempotencyKey(pub String);

impl TryFrom<String> for IdempotencyKey {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        check(
            v,
            "idempotency_key",
            255,
            |c| c.is_ascii_graphic(),
            "printable ASCII without spaces",
        )
        .map(IdempotencyKey)
    }
}

/// What every API key id and secret starts with.
pub const KEY_PREFIX: &str = "bmcp_";

/// Whether `s` is `len` lowercase hex digits.
pub fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `id` is a key id (`bmcp_` and 16 hex digits).
pub fn is_key_id(id: &str) -> bool {
    id.strip_prefix(KEY_PREFIX)
        .is_some_and(|digits| is_hex(digits, 16))
}

/// An API key's id: `bmcp_` and 16 hex digits (the start of its secret, never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "String")]
pub struct KeyId(pub String);

impl TryFrom<String> for KeyId {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        if is_key_id(&v) {
            Ok(KeyId(v))
        } else {
            Err("key_id must be `bmcp_` and 16 hex digits, as list_api_keys shows it (not the secret)".into())
        }
    }
}

/// Free text such as a name, an email or a description: up to 500 characters, no control
/// characters but line feeds and tabs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "String")]
pub struct Text(pub String);

impl TryFrom<String> for Text {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        text::check(&v, "the text", 500, true).map(|()| Text(v))
    }
}

/// A short single-line value the ledger parses or compares: a time (RFC 3339), an interval or
/// status word, a grant id, a list cursor. 1–128 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "String")]
pub struct Token(pub String);

impl TryFrom<String> for Token {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        if v.is_empty() {
            return Err("the value must not be empty; leave the field out instead".into());
        }
        text::check(&v, "the value", 128, false).map(|()| Token(v))
    }
}

/// A JSON document passed as text (reserved.json): up to 1,000,000 characters, no control
/// characters but the whitespace JSON allows between tokens (line feed, carriage return, tab).
/// The names and strings inside are checked where the document is read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "String")]
pub struct JsonText(pub String);

impl TryFrom<String> for JsonText {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        let count = v.chars().count();
        if count > 1_000_000 {
            return Err(format!(
                "the JSON text must be at most 1000000 characters (got {count}); split it"
            ));
        }
        match v
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            Some(c) => Err(format!(
                "the JSON text may not contain the control character {}; write it as a JSON escape inside a string, or remove it",
                c.escape_unicode()
            )),
            None => Ok(JsonText(v)),
        }
    }
}

/// A string-to-string map of at most `ENTRIES` entries, keys of 1–64 characters and values of up
/// to `VALUE`, no control characters in either.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "BTreeMap<String, String>")]
pub struct BoundedMap<const ENTRIES: usize, const VALUE: usize>(pub BTreeMap<String, String>);

/// Metadata: up to 50 entries, values up to 500 characters (Stripe's limits).
pub type StringMap = BoundedMap<50, 500>;
/// Usage dimensions: up to 16 entries, values up to 256 characters.
pub type Dimensions = BoundedMap<16, 256>;

impl<const E: usize, const V: usize> TryFrom<BTreeMap<String, String>> for BoundedMap<E, V> {
    type Error = String;
    fn try_from(m: BTreeMap<String, String>) -> Result<Self, String> {
        if m.len() > E {
            return Err(format!("at most {E} entries (got {})", m.len()));
        }
        for (k, v) in &m {
            if k.is_empty() {
                return Err("a key must not be empty".into());
            }
            text::check(k, &format!("key `{}`", quote(k)), 64, false)?;
            text::check(v, &format!("the value of `{}`", quote(k)), V, false)?;
        }
        Ok(BoundedMap(m))
    }
}

impl<const E: usize, const V: usize> std::ops::Deref for BoundedMap<E, V> {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<const E: usize, const V: usize> JsonSchema for BoundedMap<E, V> {
    fn schema_name() -> Cow<'static, str> {
        Cow::Owned(format!("StringMap{E}x{V}"))
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object", "maxProperties": E,
            "propertyNames": { "minLength": 1, "maxLength": 64, "pattern": SINGLE_LINE },
            "additionalProperties": { "type": "string", "maxLength": V, "pattern": SINGLE_LINE_OR_EMPTY }
        })
    }
}

/// The schema of single-line text: no control characters (see [`text::allowed`]).
const SINGLE_LINE: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$";
const SINGLE_LINE_OR_EMPTY: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

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
    "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$",
    "description": "A repeat with the same key returns the first result and changes nothing."
});
string_schema!(Text, "Text", {
    "type": "string", "maxLength": 500, "pattern": "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]*$"
});
string_schema!(Token, "Token", {
    "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"
});
string_schema!(JsonText, "JsonText", {
    "type": "string", "maxLength": 1_000_000,
    "pattern": "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
});
string_schema!(KeyId, "KeyId", {
    "type": "string", "pattern": "^bmcp_[0-9a-f]{16}$",
    "description": "An API key's id as list_api_keys shows it, e.g. `bmcp_3f9a1c0d5e7b2a64`."
});

/// A Stripe object id such as `prod_…`, `price_…`, `pi_…` or a coupon's own id: 1–255 letters,
/// digits and `_ -`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "String")]
pub struct StripeId(pub String);

impl TryFrom<String> for StripeId {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        check(
            v,
            "Stripe id",
            255,
            |c| c.is_ascii_alphanumeric() || "_-".contains(c),
            "letters, digits and _ -",
        )
        .map(StripeId)
    }
}

/// An ISO 4217 currency code in lower case, e.g. `usd`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
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
                "currency `{}` must be a three-letter ISO code such as usd or eur",
                quote(&v)
            ))
        }
    }
}

/// An exact decimal written as a string (`"0.5"`, `"12.3456"`): never a JSON number, so no
/// binary floating point ever touches it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
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
                format!(
                    "`{}` is not a non-negative decimal such as \"0.5\" or \"12.3456\"",
                    quote(&v)
                )
            })
    }
}

/// An http(s) URL, up to 2,048 characters (redirects and return pages).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
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
            Err(format!(
                "`{}` is not an http(s) URL of up to 2,048 characters",
                quote(&v)
            ))
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
