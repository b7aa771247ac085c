//! Browser checks that run before any authentication: a request whose `Origin` is not on the
//! allow-list gets 403 whatever credentials it carries (so a page on another site learns nothing,
//! not even whether its key would work), and on `/mcp` a `Host` not on the allow-list gets 403
//! too (DNS rebinding). A request without `Origin` (curl, SDK clients, Stripe's webhooks) passes
//! the Origin check. The matching is rmcp's: `host` or `host:port`; `scheme://host:*` (any port),
//! `scheme://host:port` (the scheme's default port when the Origin omits one) or `scheme://host`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::uri::Authority;
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The hosts and origins a server accepts.
#[derive(Debug, Clone)]
pub struct Allowed {
    hosts: Vec<(String, Option<u16>)>,
    origins: Vec<AllowedOrigin>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AllowedOrigin {
    Null,
    /// Scheme, host, and the port: `None` for `:*` or no port (any).
    Tuple(String, String, Option<u16>),
}

impl Allowed {
    pub fn new(hosts: &[String], origins: &[String]) -> Arc<Allowed> {
        let hosts = hosts
            .iter()
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
            .map(|h| match Authority::try_from(h) {
                Ok(a) => (normalize(a.host()), a.port_u16()),
                Err(_) => (normalize(h), None),
            })
            .collect();
        let origins = origins.iter().filter_map(|o| parse_allowed(o)).collect();
        Arc::new(Allowed { hosts, origins })
    }

    fn host_allowed(&self, uri: &Uri, headers: &axum::http::HeaderMap) -> Result<(), Refused> {
        let authority = match headers.get(HOST) {
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|s| Authority::try_from(s).ok())
                .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "the Host header is malformed"))?,
            None => uri
                .authority()
                .cloned()
                .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "the Host header is missing"))?,
        };
        let (host, port) = (normalize(authority.host()), authority.port_u16());
        let ok = self.hosts.is_empty()
            || self
                .hosts
                .iter()
                .any(|(h, p)| *h == host && p.is_none_or(|p| Some(p) == port));
        if ok {
            Ok(())
        } else {
            tracing::warn!(host = %host, "request refused: Host not allowed (DNS rebinding?)");
            Err(refuse(
                StatusCode::FORBIDDEN,
                "this Host is not allowed; the operator can add it with --allowed-hosts",
            ))
        }
    }

    fn origin_allowed(&self, headers: &axum::http::HeaderMap) -> Result<(), Refused> {
        let Some(value) = headers.get(ORIGIN) else {
            return Ok(());
        };
        let origin = value.to_str().ok().and_then(parse_origin);
        let ok = origin.is_some_and(|o| self.origins.iter().any(|a| matches(a, &o)));
        if ok {
            Ok(())
        } else {
            tracing::warn!("request refused: Origin not allowed (cross-site request?)");
            Err(refuse(
                StatusCode::FORBIDDEN,
                "this Origin is not allowed; the operator can add it with --allowed-origins",
            ))
        }
    }
}

/// Middleware for `/mcp`: Origin, then Host, before the API key is looked at.
pub async fn origin_and_host(
    State(allowed): State<Arc<Allowed>>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(refused) = allowed
        .origin_allowed(request.headers())
        .and_then(|()| allowed.host_allowed(request.uri(), request.headers()))
    {
        return refused.into_response();
    }
    next.run(request).await
}

/// Middleware for the other routes (`/healthz`, and `/webhooks/stripe`, which Stripe reaches
/// under the operator's public name and without an Origin): Origin only.
pub async fn origin_only(
    State(allowed): State<Arc<Allowed>>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(refused) = allowed.origin_allowed(request.headers()) {
        return refused.into_response();
    }
    next.run(request).await
}

/// Why a request was refused: its status and the sentence the caller reads.
#[derive(Debug)]
struct Refused(StatusCode, &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let error = if self.0 == StatusCode::FORBIDDEN {
            "forbidden"
        } else {
            "bad_request"
        };
        let body = serde_json::json!({ "error": error, "message": self.1 });
        (self.0, Json(body)).into_response()
    }
}

fn refuse(status: StatusCode, message: &'static str) -> Refused {
    Refused(status, message)
}

fn normalize(host: &str) -> String {
    host.trim_matches(['[', ']']).to_ascii_lowercase()
}

/// An Origin header: `null`, or scheme, host and port as sent.
fn parse_origin(value: &str) -> Option<(String, String, Option<u16>)> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("null") {
        return Some(("null".into(), String::new(), None));
    }
    let uri = Uri::try_from(value).ok()?;
    let authority = uri.authority()?;
    Some((
        uri.scheme_str()?.to_ascii_lowercase(),
        normalize(authority.host()),
        authority.port_u16(),
    ))
}

fn parse_allowed(value: &str) -> Option<AllowedOrigin> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("null") {
        return Some(AllowedOrigin::Null);
    }
    let (base, any_port) = match value.strip_suffix(":*") {
        Some(base) => (base, true),
        None => (value, false),
    };
    let (scheme, host, port) = parse_origin(base)?;
    if scheme == "null" || (any_port && port.is_some()) {
        return None;
    }
    Some(AllowedOrigin::Tuple(scheme, host, port))
}

fn matches(allowed: &AllowedOrigin, origin: &(String, String, Option<u16>)) -> bool {
    let (scheme, host, port) = origin;
    match allowed {
        AllowedOrigin::Null => scheme == "null",
        AllowedOrigin::Tuple(s, h, p) => {
            let default = match scheme.as_str() {
                "http" => Some(80),
                "https" => Some(443),
                _ => None,
            };
            s == scheme && h == host && p.is_none_or(|p| Some(p) == port.or(default))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Arc<Allowed> {
        Allowed::new(
            &["localhost".into(), "api.example:8443".into(), "::1".into()],
            &["http://localhost:*".into(), "https://app.example".into()],
        )
    }

    fn origin(value: &str) -> bool {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(ORIGIN, value.parse().unwrap());
        allowed().origin_allowed(&headers).is_ok()
    }

    fn host(value: &str) -> bool {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(HOST, value.parse().unwrap());
        allowed().host_allowed(&Uri::default(), &headers).is_ok()
    }

    #[test]
    fn origins_and_hosts_match_as_rmcp_matches_them() {
        assert!(origin("http://localhost:5173") && origin("https://app.example"));
        assert!(!origin("http://evil.example") && !origin("https://localhost:5173"));
        assert!(!origin("null") && !origin("not a url"));
        assert!(host("localhost:8080") && host("api.example:8443") && host("[::1]:9"));
        assert!(!host("evil.example") && !host("api.example:80"));
    }
}
