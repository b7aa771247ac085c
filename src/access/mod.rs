//! Who is calling and what they may do. A [`Principal`] (from an API key, or the operator on
//! stdio) has a [`Role`]; every tool declares its [`Audience`]; a `customer` key acts only on its
//! own customer. Keys are verified by [`keys::Keyring`], calls are metered by
//! [`limits::RateLimits`], and mutating calls are written to the audit log with arguments
//! redacted by [`redact`].

pub mod keys;
pub mod limits;
mod redact;

use std::fmt;

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use limits::Rate;
pub use redact::{redact, secret_field, secret_value};

/// A call this key may not make: the message says why and what to use instead. The service
/// turns it into the `forbidden` tool error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    pub message: String,
    /// The caller's role, when the role is what forbids the call.
    pub role: Option<Role>,
}

impl Forbidden {
    /// The stable code of the tool error.
    pub fn code(&self) -> &'static str {
        "forbidden"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including keys, the audit log and Stripe administration.
    Admin,
    /// Usage, credits, entitlements and customers, for any customer (other MCP servers).
    Service,
    /// Its own customer only: entitlements, usage, balance, billing status.
    Customer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Service, Role::Customer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Service => "service",
            Role::Customer => "customer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn may_call(self, audience: Audience) -> bool {
        match self {
            Role::Admin => true,
            Role::Service => audience != Audience::Admin,
            Role::Customer => matches!(audience, Audience::OwnCustomer | Audience::Anyone),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may call a tool; each tool declares one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Admin keys (and the operator on stdio) only.
    Admin,
    /// Admin and service keys.
    Service,
    /// Every key; a `customer` key is held to its own customer through the `customer` argument.
    OwnCustomer,
    /// Every key; the tool reads nothing of any customer (e.g. the plan catalog).
    Anyone,
}

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `None` for the operator on stdio (no key).
    pub key_id: Option<String>,
    pub role: Role,
    /// The customer a `customer` key belongs to.
    pub customer: Option<String>,
    /// The key's own rate limit, when it has one (else the role's).
    pub rate: Option<Rate>,
}

impl Principal {
    /// The process owner on stdio: an admin without a key or a rate limit.
    pub fn owner() -> Principal {
        Principal {
            key_id: None,
            role: Role::Admin,
            customer: None,
            rate: None,
        }
    }

    /// Check that this caller may call a tool for `audience` with `args`, and hold a `customer`
    /// key to its own customer: a missing `customer` argument is filled in with it, another
    /// customer is refused. Returns the customer the call acts on, if any.
    pub fn admit(
        &self,
        tool: &str,
        audience: Audience,
        args: &mut JsonObject,
    ) -> Result<Option<String>, Forbidden> {
        if !self.role.may_call(audience) {
            return Err(Forbidden {
                message: format!(
                    "a `{}` key cannot call `{tool}`; call tools/list for the tools this key may use, or use a key with a wider role",
                    self.role
                ),
                role: Some(self.role),
            });
        }
        let named = match args.get("customer") {
            None | Some(Value::Null) => None,
            Some(Value::String(c)) => Some(c.clone()),
            // Not a string: argument validation will refuse it.
            Some(_) => return Ok(None),
        };
        match (self.role, &self.customer, audience) {
            (Role::Customer, Some(own), Audience::OwnCustomer) => match named {
                Some(c) if &c != own => Err(Forbidden {
                    message: "a customer key acts only on its own customer; omit `customer` or pass the key's own customer id".into(),
                    role: None,
                }),
                _ => {
                    args.insert("customer".into(), Value::String(own.clone()));
                    Ok(Some(own.clone()))
                }
            },
            _ => Ok(named),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn customer_key(own: &str) -> Principal {
        Principal {
            key_id: Some("bmcp_k".into()),
            role: Role::Customer,
            customer: Some(own.into()),
            rate: None,
        }
    }

    fn args(v: Value) -> JsonObject {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn roles_reach_exactly_their_audiences() {
        use Audience::*;
        let table = [
            (Role::Admin, [true, true, true, true]),
            (Role::Service, [false, true, true, true]),
            (Role::Customer, [false, false, true, true]),
        ];
        for (role, expected) in table {
            let got = [Admin, Service, OwnCustomer, Anyone].map(|a| role.may_call(a));
            assert_eq!(got, expected, "{role}");
        }
    }

    #[test]
    fn a_customer_key_is_held_to_its_own_customer() {
        let key = customer_key("acme");
        let mut other = args(json!({"customer": "globex"}));
        let e = key
            .admit("get_usage", Audience::OwnCustomer, &mut other)
            .unwrap_err();
        assert_eq!(e.code(), "forbidden");
        assert!(!e.message.contains("globex"), "{}", e.message);

        let mut none = args(json!({}));
        let acted = key
            .admit("get_usage", Audience::OwnCustomer, &mut none)
            .unwrap();
        assert_eq!(acted.as_deref(), Some("acme"));
        assert_eq!(none["customer"], "acme");

        let mut refused = args(json!({"customer": "acme"}));
        let e = key
            .admit("grant_credits", Audience::Service, &mut refused)
            .unwrap_err();
        assert_eq!(e.code(), "forbidden");
    }

    #[test]
    fn service_keys_act_for_any_customer_but_not_as_admin() {
        let key = Principal {
            role: Role::Service,
            ..customer_key("x")
        };
        let mut a = args(json!({"customer": "globex"}));
        assert_eq!(
            key.admit("grant_credits", Audience::Service, &mut a)
                .unwrap()
                .as_deref(),
            Some("globex")
        );
        let mut b = args(json!({}));
        assert_eq!(
            key.admit("create_api_key", Audience::Admin, &mut b)
                .unwrap_err()
                .code(),
            "forbidden"
        );
    }
}
