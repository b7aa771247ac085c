//! `/dashboard`: `get_dashboard` as a web page, read-only, for admin keys. The key is typed once
//! into `/dashboard/login` and exchanged for an opaque session id in an `HttpOnly`,
//! `SameSite=Strict` cookie (8 hours; the key is checked again on every request, so revoking it
//! ends the session). Every file the page loads is in the binary (its renderer, stylesheet and
//! charts shared with the MCP App, see [`crate::mcp::ui`]) and the pages carry a strict CSP: no
//! inline script or style, nothing from another origin. `data.json` is exactly `get_dashboard`'s
//! result for the period asked.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::access::Role;
use crate::mcp::ui;
use crate::service::App;
use crate::service::insights::{self, DashboardQuery};

const COOKIE_NAME: &str = "billing_dashboard";
const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Sessions kept at once; past it the oldest gives way.
const MAX_SESSIONS: usize = 1000;
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

const INDEX_HTML: &str = include_str!("dashboard/index.html");
const LOGIN_HTML: &str = include_str!("dashboard/login.html");
const PAGE_JS: &str = include_str!("dashboard/page.js");

/// Signed-in browsers: session id → the admin key it was opened with, and until when.
#[derive(Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, (String, Instant)>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        // A map of ids holds no invariant a panicking holder could break half-way.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self, key_id: String) -> Option<String> {
        let mut id = [0u8; 32];
        getrandom::fill(&mut id).ok()?;
        let id = hex::encode(id);
        let now = Instant::now();
        let mut open = self.lock();
        open.retain(|_, (_, until)| *until > now);
        if open.len() >= MAX_SESSIONS
            && let Some(oldest) = open
                .iter()
                .min_by_key(|(_, (_, u))| *u)
                .map(|(k, _)| k.clone())
        {
            open.remove(&oldest);
        }
        open.insert(id.clone(), (key_id, now + SESSION_TTL));
        Some(id)
    }

    fn key_of(&self, session: &str) -> Option<String> {
        let open = self.lock();
        let (key, until) = open.get(session)?;
        (*until > Instant::now()).then(|| key.clone())
    }
}

/// What the routes share: the service and the signed-in browsers.
#[derive(Clone)]
struct Dash {
    app: Arc<App>,
    sessions: Arc<Sessions>,
}

/// The routes, each process with its own sessions.
pub fn routes(app: Arc<App>) -> Router {
    let dash = Dash {
        app,
        sessions: Arc::default(),
    };
    Router::new()
        .route("/dashboard", get(index))
        .route("/dashboard/login", get(login_page).post(login))
        .route("/dashboard/data.json", get(data))
        .route("/dashboard/page.js", get(|| async { file(JS, PAGE_JS) }))
        .route(
            "/dashboard/render.js",
            get(|| async { file(JS, ui::RENDER_JS.text) }),
        )
        .route(
            "/dashboard/dashboard.css",
            get(|| async { file(CSS, ui::DASHBOARD_CSS.text) }),
        )
        .route(
            "/dashboard/vendor/uPlot.iife.min.js",
            get(|| async { file(JS, ui::UPLOT_JS.text) }),
        )
        .route(
            "/dashboard/vendor/uPlot.min.css",
            get(|| async { file(CSS, ui::UPLOT_CSS.text) }),
        )
        .with_state(dash)
}

fn headers(kind: &'static str) -> [(axum::http::HeaderName, &'static str); 4] {
    [
        (CONTENT_TYPE, kind),
        (CONTENT_SECURITY_POLICY, CSP),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (CACHE_CONTROL, "no-store"),
    ]
}

fn file(kind: &'static str, body: &'static str) -> Response {
    (StatusCode::OK, headers(kind), body).into_response()
}

fn see_other(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response()
}

/// The admin whose session the request's cookie names, if it is still signed in with a live
/// admin key.
async fn signed_in(dash: &Dash, request: &HeaderMap) -> bool {
    let Some(session) = request
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE_NAME)?.strip_prefix('='))
    else {
        return false;
    };
    let Some(key_id) = dash.sessions.key_of(session) else {
        return false;
    };
    let app = &dash.app;
    match app.store.get_key(&key_id).await {
        Ok(Some(k)) => {
            k.role == Role::Admin.as_str()
                && k.revoked_at.is_none()
                && k.expires_at.is_none_or(|t| t > app.now())
        }
        Ok(None) => false,
        Err(e) => {
            tracing::error!(error = %e, "API keys could not be read for a dashboard session");
            false
        }
    }
}

async fn index(State(dash): State<Dash>, request: HeaderMap) -> Response {
    if signed_in(&dash, &request).await {
        file(HTML, INDEX_HTML)
    } else {
        see_other("/dashboard/login")
    }
}

async fn login_page() -> Response {
    file(HTML, LOGIN_HTML)
}

#[derive(Deserialize)]
struct LoginForm {
    key: String,
}

/// An admin key becomes a session cookie; anything else goes back to the form.
async fn login(State(dash): State<Dash>, Form(form): Form<LoginForm>) -> Response {
    let bearer = HeaderValue::from_str(&format!("Bearer {}", form.key.trim())).ok();
    let who = super::auth::verify(&dash.app, bearer.as_ref()).await;
    let Ok(who) = who.map_err(|_| ()) else {
        return see_other("/dashboard/login#invalid");
    };
    let session = match (who.role, who.key_id) {
        (Role::Admin, Some(key_id)) => dash.sessions.open(key_id),
        _ => None,
    };
    let Some(session) = session else {
        return see_other("/dashboard/login#invalid");
    };
    let cookie = format!(
        "{COOKIE_NAME}={session}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    let mut response = see_other("/dashboard");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct Period {
    from: Option<String>,
    to: Option<String>,
    granularity: Option<String>,
}

/// `get_dashboard`'s result for the period, as JSON (401 without a session; an invalid period
/// is 400 with the tool's error).
async fn data(
    State(dash): State<Dash>,
    request: HeaderMap,
    Query(period): Query<Period>,
) -> Response {
    if !signed_in(&dash, &request).await {
        let body =
            serde_json::json!({"error": "unauthorized", "message": "sign in at /dashboard/login"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let query = DashboardQuery {
        from: period.from,
        to: period.to,
        granularity: period.granularity,
        accounts_limit: None,
    };
    let (status, body) = match insights::dashboard(&dash.app, query).await {
        Ok(view) => (StatusCode::OK, serde_json::to_value(view)),
        Err(e) => (
            if e.code == "invalid_params" {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            },
            Ok(serde_json::json!({"error": e.code, "message": e.message})),
        ),
    };
    match body {
        Ok(body) => (status, [(CACHE_CONTROL, "no-store")], axum::Json(body)).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
