//! A Stripe-compatible test server (axum) for the endpoints billing-mcp calls. It keeps state,
//! answers in the shapes of the API version async-stripe pins (every field its strict parser
//! requires), honours `Idempotency-Key` as Stripe does (same key and body → the first answer
//! replayed; same key, other body → 400 idempotency_error), checks the bearer key, and records
//! every request so tests assert the exact method, path, form parameters and headers. Failures
//! can be queued (`fail_next`) to drive 4xx, 429 and 5xx paths.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The test key the server accepts (short enough that CI's secret scan does not mistake it).
pub const KEY: &str = "sk_test_fake";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub stripe_account: Option<String>,
}

impl Seen {
    /// The value of one form (or query) parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .chain(&self.query)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Data {
    /// Objects by id, and ids per kind in creation order.
    objects: HashMap<String, Value>,
    order: HashMap<&'static str, Vec<String>>,
    seen: Vec<Seen>,
    idempotent: HashMap<String, (String, StatusCode, Value)>,
    failures: VecDeque<(StatusCode, Value)>,
    counter: u64,
    refunded: HashMap<String, i64>,
    /// Meter events Stripe holds, in arrival order, and their identifiers.
    meter_events: Vec<Value>,
    identifiers: HashSet<String>,
    /// While on, meter-event requests fail in turn: 500, 429, and accepted-but-answered-500
    /// (the answer lost on the way back).
    outage: Option<u64>,
    /// Meter events are answered this long after they are accepted.
    meter_delay: Option<std::time::Duration>,
    /// While on, meter-event requests meet Stripe's edge in trouble, in turn: an HTML 502, an
    /// HTML 503, and an event accepted whose answer comes back as an HTML page.
    edge_outage: Option<u64>,
}

#[derive(Clone)]
pub struct StripeServer {
    pub url: String,
    data: Arc<Mutex<Data>>,
}

const CREATED: i64 = 1_795_257_000;

fn error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> (StatusCode, Value) {
    let mut e = json!({
        "type": kind,
        "message": message,
        "request_log_url": "https://dashboard.stripe.com/test/logs/req_test123",
    });
    if let Some(c) = code {
        e["code"] = json!(c);
    }
    if let Some(p) = param {
        e["param"] = json!(p);
    }
    (status, json!({ "error": e }))
}

impl StripeServer {
    pub async fn start() -> StripeServer {
        let data = Arc::new(Mutex::new(Data::default()));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(data.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StripeServer { url, data }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.data.lock().unwrap().seen.clone()
    }

    /// Requests to `method path`.
    pub fn requests(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == method && s.path == path)
            .collect()
    }

    /// Objects of a kind (`product`, `refund`, …), oldest first.
    pub fn objects(&self, kind: &'static str) -> Vec<Value> {
        let d = self.data.lock().unwrap();
        d.order
            .get(kind)
            .map(|ids| ids.iter().map(|id| d.objects[id].clone()).collect())
            .unwrap_or_default()
    }

    /// The next request gets this Stripe error instead of being handled.
    pub fn fail_next(&self, status: u16, kind: &str, code: Option<&str>, message: &str) {
        let (s, body) = error(
            StatusCode::from_u16(status).unwrap(),
            kind,
            code,
            message,
            None,
        );
        self.data.lock().unwrap().failures.push_back((s, body));
    }

    /// The meter events accepted, in arrival order (each identifier at most once).
    pub fn meter_events(&self) -> Vec<Value> {
        self.data.lock().unwrap().meter_events.clone()
    }

    /// Start (true) or end (false) a meter-event outage: 500, 429 and lost answers in turn.
    pub fn outage(&self, on: bool) {
        self.data.lock().unwrap().outage = on.then_some(0);
    }

    /// Start (true) or end (false) an outage at Stripe's edge: HTML 502 and 503 pages instead
    /// of Stripe's JSON, and accepted events answered with an unreadable page.
    pub fn edge_outage(&self, on: bool) {
        self.data.lock().unwrap().edge_outage = on.then_some(0);
    }

    /// Answer meter events only after `delay` (they are accepted at once).
    pub fn delay_meter_events(&self, delay: std::time::Duration) {
        self.data.lock().unwrap().meter_delay = Some(delay);
    }

    /// Forget every idempotency key, as Stripe does after 24 hours.
    pub fn forget_idempotency_keys(&self) {
        self.data.lock().unwrap().idempotent.clear();
    }

    /// A succeeded payment intent of `amount` usd cents, returning its id.
    pub fn seed_payment_intent(&self, amount: i64, customer: Option<&str>) -> String {
        let mut d = self.data.lock().unwrap();
        let id = next_id(&mut d, "pi");
        let pi = json!({
            "id": id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
            "amount_received": amount, "capture_method": "automatic", "confirmation_method": "automatic",
            "created": CREATED, "currency": "usd", "customer": customer, "description": null,
            "latest_charge": format!("ch_{}", &id[3..]), "livemode": false, "metadata": {},
            "payment_method_types": ["card"], "status": "succeeded"
        });
        store(&mut d, "payment_intent", pi);
        id
    }

    /// An active subscription of `customer` to `price` (a price this server created).
    pub fn seed_subscription(&self, customer: &str, price: &str) -> String {
        let mut d = self.data.lock().unwrap();
        let id = next_id(&mut d, "sub");
        let price = d.objects.get(price).cloned().unwrap();
        let item = subscription_item(&mut d, &id, price, Some(1));
        let sub = json!({
            "id": id, "object": "subscription",
            "automatic_tax": {"enabled": false}, "billing_cycle_anchor": CREATED,
            "billing_mode": {"type": "flexible"}, "billing_schedules": [],
            "cancel_at": null, "cancel_at_period_end": false, "canceled_at": null,
            "collection_method": "charge_automatically", "created": CREATED, "currency": "usd",
            "customer": customer, "discounts": [],
            "invoice_settings": {"issuer": {"type": "self"}},
            "items": {"object": "list", "data": [item], "has_more": false, "url": format!("/v1/subscription_items?subscription={id}")},
            "latest_invoice": null, "livemode": false, "metadata": {}, "start_date": CREATED,
            "status": "active", "trial_end": null
        });
        store(&mut d, "subscription", sub);
        id
    }

    /// A dispute needing a response, on a payment intent.
    pub fn seed_dispute(&self, payment_intent: &str, amount: i64) -> String {
        let mut d = self.data.lock().unwrap();
        let id = next_id(&mut d, "dp");
        let dispute = json!({
            "id": id, "object": "dispute", "amount": amount, "balance_transactions": [],
            "charge": format!("ch_{}", &payment_intent[3..]), "created": CREATED, "currency": "usd",
            "enhanced_eligibility_types": [], "evidence": {"enhanced_evidence": {}},
            "evidence_details": {"due_by": CREATED + 86_400 * 7, "enhanced_eligibility": {}, "has_evidence": false, "past_due": false, "submission_count": 0},
            "is_charge_refundable": false, "livemode": false, "metadata": {},
            "payment_intent": payment_intent, "reason": "fraudulent", "status": "needs_response"
        });
        store(&mut d, "dispute", dispute);
        id
    }
}

fn next_id(d: &mut Data, prefix: &str) -> String {
    d.counter += 1;
    format!("{prefix}_test{:06}", d.counter)
}

fn store(d: &mut Data, kind: &'static str, object: Value) -> Value {
    let id = object["id"].as_str().unwrap().to_string();
    if !d.objects.contains_key(&id) {
        d.order.entry(kind).or_default().push(id.clone());
    }
    d.objects.insert(id, object.clone());
    object
}

fn subscription_item(d: &mut Data, sub: &str, price: Value, quantity: Option<u64>) -> Value {
    let id = next_id(d, "si");
    let interval = price["recurring"]["interval"]
        .as_str()
        .unwrap_or("month")
        .to_string();
    let usage = price["recurring"]["usage_type"]
        .as_str()
        .unwrap_or("licensed")
        .to_string();
    json!({
        "id": id, "object": "subscription_item", "created": CREATED,
        "current_period_start": CREATED, "current_period_end": CREATED + 30 * 86_400,
        "discounts": [], "metadata": {}, "quantity": quantity, "subscription": sub,
        "plan": {"id": price["id"], "object": "plan", "active": true, "billing_scheme": price["billing_scheme"],
                 "created": CREATED, "currency": "usd", "interval": interval, "interval_count": 1,
                 "livemode": false, "usage_type": usage, "amount": price["unit_amount"]},
        "price": price
    })
}

/// The price of a subscription item change: it must exist and be active.
fn item_price(d: &Data, id: &str) -> Result<Value, (StatusCode, Value)> {
    match d.objects.get(id) {
        Some(p) if p["active"] == true => Ok(p.clone()),
        Some(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            &format!(
                "The price specified is inactive. This field only accepts active prices: {id}"
            ),
            Some("items"),
        )),
        None => Err(missing("price", id, "items[0][price]")),
    }
}

/// Form parameters as Stripe reads them: `a[b][c]=v` pairs, nested on demand.
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.parse().ok())
    }
    /// `prefix[key]=value` pairs as a map (metadata).
    fn map(&self, prefix: &str) -> Map<String, Value> {
        let start = format!("{prefix}[");
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(&start)?.strip_suffix(']')?;
                (!rest.contains('[')).then(|| (rest.to_string(), json!(v)))
            })
            .collect()
    }
    /// `prefix[i][field]=value` as a list of maps, in index order.
    fn list(&self, prefix: &str) -> Vec<BTreeMap<String, String>> {
        let start = format!("{prefix}[");
        let mut items: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&start) else {
                continue;
            };
            let Some((index, field)) = rest.split_once("][") else {
                continue;
            };
            let Ok(index) = index.parse() else { continue };
            items
                .entry(index)
                .or_default()
                .insert(field.trim_end_matches(']').to_string(), v.clone());
        }
        items.into_values().collect()
    }
}

fn list_page(
    d: &Data,
    kind: &'static str,
    query: &Form,
    path: &str,
    keep: impl Fn(&Value) -> bool,
) -> Value {
    let limit = query.int("limit").unwrap_or(10) as usize;
    let mut all: Vec<&Value> = d
        .order
        .get(kind)
        .map(|ids| {
            ids.iter()
                .rev()
                .map(|id| &d.objects[id])
                .filter(|o| keep(o))
                .collect()
        })
        .unwrap_or_default();
    if let Some(after) = query.get("starting_after") {
        let at = all
            .iter()
            .position(|o| o["id"] == after)
            .map_or(all.len(), |i| i + 1);
        all.drain(..at);
    }
    let has_more = all.len() > limit;
    all.truncate(limit);
    json!({"object": "list", "data": all, "has_more": has_more, "url": path})
}

async fn handle(
    State(data): State<Arc<Mutex<Data>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let delay = (uri.path() == METER_EVENTS)
        .then(|| data.lock().unwrap().meter_delay)
        .flatten();
    let edge = (uri.path() == METER_EVENTS)
        .then(|| {
            let mut d = data.lock().unwrap();
            let n = d.edge_outage?;
            d.edge_outage = Some(n + 1);
            Some(n % 3)
        })
        .flatten();
    let page = |status: StatusCode, title: &str| {
        let html = format!(
            "<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        );
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "text/html")],
            html,
        )
            .into_response()
    };
    match edge {
        Some(0) => return page(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
        Some(1) => return page(StatusCode::SERVICE_UNAVAILABLE, "503 Service Unavailable"),
        _ => {}
    }
    let response = respond(&data, method, uri, headers, body);
    if edge == Some(2) {
        // Stripe took the event; the answer is lost at the edge.
        return page(StatusCode::OK, "OK");
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

const METER_EVENTS: &str = "/v1/billing/meter_events";

fn respond(
    data: &Mutex<Data>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: query.clone(),
        form: form.clone(),
        idempotency_key: header("idempotency-key"),
        stripe_account: header("stripe-account"),
    };
    let mut d = data.lock().unwrap();
    d.seen.push(seen.clone());
    if header("authorization").as_deref() != Some(&format!("Bearer {KEY}")) {
        let (s, b) = error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            "Invalid API Key provided: sk_test_****",
            None,
        );
        return (s, axum::Json(b)).into_response();
    }
    if let Some((s, b)) = d.failures.pop_front() {
        return (s, axum::Json(b)).into_response();
    }
    let mut lose_answer = false;
    if uri.path() == METER_EVENTS
        && let Some(n) = d.outage
    {
        d.outage = Some(n + 1);
        let (s, b) = match n % 3 {
            0 => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "api_error",
                None,
                "An unknown error occurred",
                None,
            ),
            1 => error(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_request_error",
                Some("rate_limit"),
                "Request rate limit exceeded.",
                None,
            ),
            _ => {
                lose_answer = true;
                (StatusCode::OK, Value::Null)
            }
        };
        if !lose_answer {
            return (s, axum::Json(b)).into_response();
        }
    }
    // Parameters in any order are the same request (async-stripe encodes maps in hash order).
    let mut params = seen.form.clone();
    params.sort();
    let fingerprint = format!("{method} {} {params:?}", uri.path());
    if let Some(key) = &seen.idempotency_key
        && let Some((first, status, answer)) = d.idempotent.get(key).cloned()
    {
        {
            if first != fingerprint {
                let (s, b) = error(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    None,
                    &format!(
                        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                    ),
                    None,
                );
                return (s, axum::Json(b)).into_response();
            }
            return (
                status,
                [("idempotent-replayed", "true")],
                axum::Json(answer),
            )
                .into_response();
        }
    }
    let (status, answer) = route(&mut d, &method, uri.path(), &Form(form), &Form(query));
    if let Some(key) = seen.idempotency_key
        && (method == Method::POST || method == Method::DELETE)
    {
        {
            d.idempotent
                .insert(key, (fingerprint, status, answer.clone()));
        }
    }
    if lose_answer {
        let (s, b) = error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            None,
            "An unknown error occurred",
            None,
        );
        return (s, axum::Json(b)).into_response();
    }
    (status, axum::Json(answer)).into_response()
}

fn missing(kind: &str, id: &str, param: &str) -> (StatusCode, Value) {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
        Some(param),
    )
}

fn route(d: &mut Data, method: &Method, path: &str, f: &Form, q: &Form) -> (StatusCode, Value) {
    let parts: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    let ok = |v: Value| (StatusCode::OK, v);
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["customers"]) => {
            let id = next_id(d, "cus");
            ok(store(
                d,
                "customer",
                json!({"id": id, "object": "customer", "created": CREATED, "livemode": false,
                "name": f.get("name"), "email": f.get("email"), "metadata": f.map("metadata")}),
            ))
        }
        ("POST", ["products"]) => {
            let Some(name) = f.get("name") else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("parameter_missing"),
                    "Missing required param: name.",
                    Some("name"),
                );
            };
            let id = next_id(d, "prod");
            ok(store(
                d,
                "product",
                json!({"id": id, "object": "product", "active": true, "created": CREATED,
                "default_price": null, "description": f.get("description"), "images": [], "livemode": false,
                "marketing_features": [], "metadata": f.map("metadata"), "name": name, "package_dimensions": null,
                "shippable": null, "statement_descriptor": null, "tax_code": null, "type": "service",
                "unit_label": null, "updated": CREATED, "url": null}),
            ))
        }
        ("GET", ["products"]) => {
            let active = q.get("active").map(|a| a == "true");
            ok(list_page(d, "product", q, "/v1/products", |o| {
                active.is_none_or(|a| o["active"] == a)
            }))
        }
        ("POST", ["prices"]) => {
            let Some(product) = f.get("product") else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("parameter_missing"),
                    "Missing required param: product.",
                    Some("product"),
                );
            };
            if !d.objects.contains_key(product) {
                return missing("product", product, "product");
            }
            let tiers: Vec<Value> = f.list("tiers").iter().map(|t| json!({
                "up_to": t.get("up_to").and_then(|u| u.parse::<i64>().ok()),
                "unit_amount": t.get("unit_amount").and_then(|u| u.parse::<i64>().ok()),
                "unit_amount_decimal": t.get("unit_amount_decimal").cloned().or_else(|| t.get("unit_amount").cloned()),
                "flat_amount": t.get("flat_amount").and_then(|u| u.parse::<i64>().ok()),
                "flat_amount_decimal": t.get("flat_amount").cloned(),
            })).collect();
            let recurring = f.get("recurring[interval]").map(|i| {
                json!({
                "interval": i, "interval_count": f.int("recurring[interval_count]").unwrap_or(1),
                "meter": f.get("recurring[meter]"), "trial_period_days": null,
                "usage_type": f.get("recurring[usage_type]").unwrap_or("licensed")})
            });
            if let Some(e) = check_price_form(f) {
                return e;
            }
            if let Some(k) = f.get("lookup_key") {
                let holder = d
                    .objects
                    .values()
                    .find(|o| o["object"] == "price" && o["lookup_key"] == k)
                    .map(|o| o["id"].as_str().unwrap_or_default().to_string());
                if let Some(holder) = holder {
                    if f.get("transfer_lookup_key") != Some("true") {
                        return error(
                            StatusCode::BAD_REQUEST,
                            "invalid_request_error",
                            None,
                            &format!("A price ({holder}) already uses that lookup key."),
                            Some("lookup_key"),
                        );
                    }
                    d.objects.get_mut(&holder).unwrap()["lookup_key"] = Value::Null;
                }
            }
            let id = next_id(d, "price");
            let transform = f.get("transform_quantity[divide_by]").map(|by| json!({"divide_by": by.parse::<i64>().unwrap_or(0), "round": f.get("transform_quantity[round]")}));
            let mut price = json!({"id": id, "object": "price", "active": true,
                "billing_scheme": f.get("billing_scheme").unwrap_or("per_unit"), "created": CREATED,
                "currency": f.get("currency"), "livemode": false, "lookup_key": f.get("lookup_key"),
                "metadata": f.map("metadata"), "nickname": f.get("nickname"), "product": product,
                "recurring": recurring, "tax_behavior": "unspecified", "tiers_mode": f.get("tiers_mode"),
                "transform_quantity": transform, "type": if f.get("recurring[interval]").is_some() { "recurring" } else { "one_time" },
                "unit_amount": f.int("unit_amount"),
                "unit_amount_decimal": f.get("unit_amount_decimal").or(f.get("unit_amount"))});
            if f.get("expand[0]") == Some("tiers") {
                price["tiers"] = json!(tiers);
            }
            ok(store(d, "price", price))
        }
        ("POST", ["prices", id]) => {
            let Some(mut price) = d.objects.get(*id).cloned() else {
                return missing("price", id, "price");
            };
            if let Some(a) = f.get("active") {
                price["active"] = json!(a == "true");
            }
            let meta = f.map("metadata");
            if !meta.is_empty() {
                price["metadata"] = Value::Object(meta);
            }
            ok(store(d, "price", price))
        }
        ("POST", ["products", id]) => {
            let Some(mut product) = d.objects.get(*id).cloned() else {
                return missing("product", id, "product");
            };
            for field in ["name", "description"] {
                if let Some(v) = f.get(field) {
                    product[field] = json!(v);
                }
            }
            if let Some(a) = f.get("active") {
                product["active"] = json!(a == "true");
            }
            ok(store(d, "product", product))
        }
        ("GET", ["prices"]) => {
            let product = q.get("product").map(String::from);
            let keys: Vec<String> =
                q.0.iter()
                    .filter(|(k, _)| k.starts_with("lookup_keys["))
                    .map(|(_, v)| v.clone())
                    .collect();
            let active = q.get("active").map(|a| a == "true");
            ok(list_page(d, "price", q, "/v1/prices", |o| {
                active.is_none_or(|a| o["active"] == a)
                    && product.as_ref().is_none_or(|p| o["product"] == p.as_str())
                    && (keys.is_empty() || keys.iter().any(|k| o["lookup_key"] == k.as_str()))
            }))
        }
        ("POST", ["payment_links"]) => {
            let items = f.list("line_items");
            if items.is_empty() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("parameter_missing"),
                    "Missing required param: line_items.",
                    Some("line_items"),
                );
            }
            for item in &items {
                let price = item.get("price").map(String::as_str).unwrap_or_default();
                let Some(found) = d.objects.get(price) else {
                    return missing("price", price, "line_items[0][price]");
                };
                if found["recurring"]["usage_type"] == "metered" || item.get("quantity").is_none() {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request_error",
                        None,
                        "Each line item needs a quantity, and a metered price cannot be sold with a quantity.",
                        Some("line_items"),
                    );
                }
            }
            let id = next_id(d, "plink");
            let url = format!("https://buy.stripe.com/test_{}", &id[6..]);
            let redirect = f.get("after_completion[redirect][url]");
            ok(store(
                d,
                "payment_link",
                json!({"id": id, "object": "payment_link", "active": true,
                "after_completion": if let Some(u) = redirect { json!({"type": "redirect", "redirect": {"url": u}}) } else { json!({"type": "hosted_confirmation", "hosted_confirmation": {"custom_message": null}}) },
                "allow_promotion_codes": false, "automatic_tax": {"enabled": false, "liability": null},
                "billing_address_collection": "auto", "currency": "usd", "custom_fields": [], "custom_text": {},
                "customer_creation": "if_required", "livemode": false, "metadata": f.map("metadata"),
                "payment_method_collection": "always", "phone_number_collection": {"enabled": false},
                "shipping_options": [], "submit_type": "auto", "tax_id_collection": {"enabled": false, "required": "never"},
                "url": url}),
            ))
        }
        ("POST", ["checkout", "sessions"]) => {
            let id = next_id(d, "cs");
            ok(store(
                d,
                "checkout_session",
                json!({"id": id, "object": "checkout.session",
                "automatic_tax": {"enabled": false}, "created": CREATED, "custom_fields": [], "custom_text": {},
                "expires_at": CREATED + 86_400, "livemode": false, "mode": f.get("mode"),
                "payment_method_types": ["card"], "payment_status": "unpaid", "shipping_options": [],
                "status": "open", "customer": f.get("customer"), "client_reference_id": f.get("client_reference_id"),
                "metadata": f.map("metadata"), "amount_total": null, "currency": null,
                "url": format!("https://checkout.stripe.com/c/pay/{id}")}),
            ))
        }
        ("POST", ["billing_portal", "sessions"]) => {
            let Some(customer) = f.get("customer") else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("parameter_missing"),
                    "Missing required param: customer.",
                    Some("customer"),
                );
            };
            let id = next_id(d, "bps");
            ok(
                json!({"id": id, "object": "billing_portal.session", "configuration": "bpc_test", "created": CREATED,
                "customer": customer, "livemode": false, "return_url": f.get("return_url"),
                "url": format!("https://billing.stripe.com/p/session/{id}")}),
            )
        }
        ("POST", ["invoices"]) => {
            let id = next_id(d, "in");
            let method = if f.get("collection_method") == Some("send_invoice") {
                "send_invoice"
            } else {
                "charge_automatically"
            };
            ok(store(
                d,
                "invoice",
                invoice(&id, f.get("customer"), method, "draft", 0),
            ))
        }
        ("POST", ["invoices", id, "finalize"]) => {
            let Some(mut inv) = d.objects.get(*id).cloned() else {
                return missing("invoice", id, "invoice");
            };
            if inv["status"] != "draft" {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("invoice_not_editable"),
                    "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                    None,
                );
            }
            inv["status"] = json!("open");
            inv["number"] = json!("TEST-0001");
            inv["hosted_invoice_url"] = json!(format!("https://invoice.stripe.com/i/{id}"));
            ok(store(d, "invoice", inv))
        }
        ("GET", ["invoices"]) => {
            let customer = q.get("customer").map(String::from);
            ok(list_page(d, "invoice", q, "/v1/invoices", |o| {
                customer
                    .as_ref()
                    .is_none_or(|c| o["customer"] == c.as_str())
            }))
        }
        ("POST", ["invoiceitems"]) => {
            let id = next_id(d, "ii");
            let (amount, quantity) = match f.get("pricing[price]") {
                Some(p) => {
                    let Some(price) = d.objects.get(p) else {
                        return missing("price", p, "pricing[price]");
                    };
                    let q = f.int("quantity").unwrap_or(1);
                    (price["unit_amount"].as_i64().unwrap_or(0) * q, q)
                }
                None => (f.int("amount").unwrap_or(0), 1),
            };
            if let Some(inv) = f.get("invoice").and_then(|i| d.objects.get_mut(i)) {
                let total = inv["total"].as_i64().unwrap_or(0) + amount;
                for k in ["total", "subtotal", "amount_due", "amount_remaining"] {
                    inv[k] = json!(total);
                }
            }
            ok(store(
                d,
                "invoiceitem",
                json!({"id": id, "object": "invoiceitem", "amount": amount, "currency": "usd",
                "customer": f.get("customer"), "date": CREATED, "description": f.get("description"), "discountable": true,
                "invoice": f.get("invoice"), "livemode": false, "metadata": f.map("metadata"),
                "period": {"start": CREATED, "end": CREATED}, "proration": false, "quantity": quantity,
                "quantity_decimal": quantity.to_string()}),
            ))
        }
        ("GET", ["balance"]) => ok(json!({"object": "balance", "livemode": false,
            "available": [{"amount": 123_456, "currency": "usd", "source_types": {"card": 123_456}}],
            "pending": [{"amount": 7_890, "currency": "usd", "source_types": {"card": 7_890}}]})),
        ("POST", ["refunds"]) => {
            let Some(pi) = f.get("payment_intent") else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("parameter_missing"),
                    "Missing required param: payment_intent.",
                    Some("payment_intent"),
                );
            };
            let Some(intent) = d.objects.get(pi).cloned() else {
                return missing("payment_intent", pi, "payment_intent");
            };
            let already = d.refunded.get(pi).copied().unwrap_or(0);
            let left = intent["amount"].as_i64().unwrap_or(0) - already;
            let amount = f.int("amount").unwrap_or(left);
            if amount > left || left == 0 {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("amount_too_large"),
                    &format!(
                        "Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
                    ),
                    Some("amount"),
                );
            }
            d.refunded.insert(pi.to_string(), already + amount);
            let id = next_id(d, "re");
            ok(store(
                d,
                "refund",
                json!({"id": id, "object": "refund", "amount": amount, "balance_transaction": null,
                "charge": intent["latest_charge"], "created": CREATED, "currency": "usd", "metadata": f.map("metadata"),
                "payment_intent": pi, "reason": f.get("reason"), "receipt_number": null, "source_transfer_reversal": null,
                "status": "succeeded", "transfer_reversal": null}),
            ))
        }
        ("GET", ["payment_intents"]) => {
            let customer = q.get("customer").map(String::from);
            ok(list_page(
                d,
                "payment_intent",
                q,
                "/v1/payment_intents",
                |o| {
                    customer
                        .as_ref()
                        .is_none_or(|c| o["customer"] == c.as_str())
                },
            ))
        }
        ("GET", ["subscriptions"]) => {
            let customer = q.get("customer").map(String::from);
            ok(list_page(d, "subscription", q, "/v1/subscriptions", |o| {
                customer
                    .as_ref()
                    .is_none_or(|c| o["customer"] == c.as_str())
            }))
        }
        ("POST", ["subscriptions", id]) => {
            let Some(mut sub) = d.objects.get(*id).cloned() else {
                return missing("subscription", id, "subscription");
            };
            if let Some(at_end) = f.get("cancel_at_period_end") {
                sub["cancel_at_period_end"] = json!(at_end == "true");
            }
            let changes = f.list("items");
            for (n, change) in changes.iter().enumerate() {
                let meta: Map<String, Value> = change
                    .iter()
                    .filter_map(|(k, v)| {
                        let key = k.strip_prefix("metadata][")?;
                        Some((key.to_string(), json!(v)))
                    })
                    .collect();
                let price = match change.get("price") {
                    Some(p) => match item_price(d, p) {
                        Ok(p) => Some(p),
                        Err(e) => return e,
                    },
                    None => None,
                };
                if let Some(item_id) = change.get("id") {
                    let items = sub["items"]["data"].as_array_mut().unwrap();
                    if !items.iter().any(|i| i["id"] == item_id.as_str()) {
                        return missing("subscription_item", item_id, &format!("items[{n}][id]"));
                    }
                    if change.get("deleted").map(String::as_str) == Some("true") {
                        items.retain(|i| i["id"] != item_id.as_str());
                        continue;
                    }
                    for i in items.iter_mut().filter(|i| i["id"] == item_id.as_str()) {
                        if let Some(q) = change.get("quantity") {
                            i["quantity"] = json!(q.parse::<u64>().unwrap_or(1));
                        }
                        if let Some(p) = &price {
                            i["price"] = p.clone();
                            i["plan"]["id"] = p["id"].clone();
                        }
                        if !meta.is_empty() {
                            i["metadata"] = Value::Object(meta.clone());
                        }
                    }
                } else if let Some(p) = price {
                    let metered = p["recurring"]["usage_type"] == "metered";
                    if metered && change.contains_key("quantity") {
                        return error(
                            StatusCode::BAD_REQUEST,
                            "invalid_request_error",
                            None,
                            &format!(
                                "Quantity should not be specified where usage_type is `metered`. Remove quantity from `items[{n}]`."
                            ),
                            Some("items"),
                        );
                    }
                    let quantity = (!metered).then(|| {
                        change
                            .get("quantity")
                            .and_then(|q| q.parse().ok())
                            .unwrap_or(1)
                    });
                    let mut item = subscription_item(d, id, p, quantity);
                    item["metadata"] = Value::Object(meta);
                    sub["items"]["data"].as_array_mut().unwrap().push(item);
                }
            }
            if sub["items"]["data"].as_array().map_or(0, Vec::len) > 20 {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    None,
                    "A subscription can have at most 20 items.",
                    Some("items"),
                );
            }
            let meta = f.map("metadata");
            if !meta.is_empty() {
                sub["metadata"] = Value::Object(meta);
            }
            ok(store(d, "subscription", sub))
        }
        ("DELETE", ["subscriptions", id]) => {
            let Some(mut sub) = d.objects.get(*id).cloned() else {
                return missing("subscription", id, "subscription");
            };
            if sub["status"] == "canceled" {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &format!("No such subscription: '{id}'"),
                    None,
                );
            }
            sub["status"] = json!("canceled");
            sub["canceled_at"] = json!(CREATED);
            ok(store(d, "subscription", sub))
        }
        ("POST", ["coupons"]) => {
            let id = f.get("id").map_or_else(|| next_id(d, "co"), String::from);
            if d.objects.contains_key(&id) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("resource_already_exists"),
                    "Coupon already exists.",
                    Some("id"),
                );
            }
            let percent: Option<Value> = f
                .get("percent_off")
                .map(|p| serde_json::from_str(p).unwrap());
            ok(store(
                d,
                "coupon",
                json!({"id": id, "object": "coupon", "amount_off": f.int("amount_off"),
                "created": CREATED, "currency": f.get("currency"), "duration": f.get("duration").unwrap_or("once"),
                "duration_in_months": f.int("duration_in_months"), "livemode": false,
                "max_redemptions": f.int("max_redemptions"), "metadata": f.map("metadata"), "name": f.get("name"),
                "percent_off": percent, "redeem_by": null, "times_redeemed": 0, "valid": true}),
            ))
        }
        ("GET", ["coupons"]) => ok(list_page(d, "coupon", q, "/v1/coupons", |_| true)),
        ("GET", ["disputes"]) => {
            let pi = q.get("payment_intent").map(String::from);
            ok(list_page(d, "dispute", q, "/v1/disputes", |o| {
                pi.as_ref()
                    .is_none_or(|p| o["payment_intent"] == p.as_str())
            }))
        }
        ("POST", ["disputes", id]) => {
            let Some(mut dispute) = d.objects.get(*id).cloned() else {
                return missing("dispute", id, "dispute");
            };
            if f.0.iter().any(|(k, _)| k.starts_with("evidence[")) {
                dispute["evidence_details"]["has_evidence"] = json!(true);
            }
            if f.get("submit") == Some("true") {
                dispute["status"] = json!("under_review");
                dispute["evidence_details"]["submission_count"] = json!(1);
            }
            ok(store(d, "dispute", dispute))
        }
        ("POST", ["billing", "meters", id]) => {
            let Some(mut meter) = d.objects.get(*id).cloned() else {
                return missing("billing.meter", id, "id");
            };
            if let Some(name) = f.get("display_name") {
                meter["display_name"] = json!(name);
            }
            ok(store(d, "meter", meter))
        }
        ("POST", ["billing", "meters"]) => {
            let event = f.get("event_name").unwrap_or_default();
            if d.objects.values().any(|o| {
                o["object"] == "billing.meter"
                    && o["event_name"] == event
                    && o["status"] == "active"
            }) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    None,
                    &format!("An active meter with event_name `{event}` already exists."),
                    Some("event_name"),
                );
            }
            let id = next_id(d, "mtr");
            ok(store(
                d,
                "meter",
                json!({"id": id, "object": "billing.meter", "created": CREATED,
                "customer_mapping": {"event_payload_key": f.get("customer_mapping[event_payload_key]"), "type": "by_id"},
                "default_aggregation": {"formula": f.get("default_aggregation[formula]")},
                "display_name": f.get("display_name"), "event_name": f.get("event_name"), "event_time_window": null,
                "livemode": false, "status": "active", "status_transitions": {"deactivated_at": null}, "updated": CREATED,
                "value_settings": {"event_payload_key": f.get("value_settings[event_payload_key]")}}),
            ))
        }
        ("POST", ["billing", "meter_events"]) => {
            let (Some(name), Some(identifier)) = (f.get("event_name"), f.get("identifier")) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("parameter_missing"),
                    "Missing required param: event_name.",
                    Some("event_name"),
                );
            };
            let payload = f.map("payload");
            if payload
                .get("value")
                .and_then(|v| v.as_str())
                .and_then(|v| v.parse::<i64>().ok())
                .is_none()
                || !payload.contains_key("stripe_customer_id")
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    None,
                    "payload must contain value (a whole number) and stripe_customer_id",
                    Some("payload"),
                );
            }
            if !d.identifiers.insert(identifier.to_string()) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("resource_already_exists"),
                    &format!("An event with identifier {identifier} already exists."),
                    Some("identifier"),
                );
            }
            let event = json!({"object": "billing.meter_event", "created": CREATED, "event_name": name,
                "identifier": identifier, "livemode": false, "payload": payload, "timestamp": f.int("timestamp").unwrap_or(CREATED)});
            d.meter_events.push(event.clone());
            ok(event)
        }
        ("GET", ["billing", "meters"]) => {
            ok(list_page(d, "meter", q, "/v1/billing/meters", |_| true))
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            None,
            &format!("Unrecognized request URL ({method}: {path})."),
            None,
        ),
    }
}

/// Refuse a price form Stripe would refuse: a metered price without a meter, tiers out of order or without an unbounded last tier, more than 12 decimals.
fn check_price_form(f: &Form) -> Option<(StatusCode, Value)> {
    let bad = |message: &str, param: &str| {
        Some(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            message,
            Some(param),
        ))
    };
    if f.get("recurring[usage_type]") == Some("metered") && f.get("recurring[meter]").is_none() {
        return bad(
            "Metered prices must be backed by a meter: pass recurring[meter].",
            "recurring[meter]",
        );
    }
    let decimals = |v: &str| v.split_once('.').map_or(0, |(_, frac)| frac.len());
    let mut amounts: Vec<&str> =
        f.0.iter()
            .filter(|(k, _)| k.ends_with("unit_amount_decimal]") || k == "unit_amount_decimal")
            .map(|(_, v)| v.as_str())
            .collect();
    amounts.retain(|v| decimals(v) > 12);
    if !amounts.is_empty() {
        return bad(
            "unit_amount_decimal allows at most 12 decimal places.",
            "unit_amount_decimal",
        );
    }
    if f.get("billing_scheme") == Some("tiered") {
        let raw = f.list("tiers");
        if raw.len() < 2 {
            return bad("Tiered prices need at least two tiers.", "tiers");
        }
        let mut previous = 0;
        for (i, t) in raw.iter().enumerate() {
            match t.get("up_to").map(String::as_str) {
                Some("inf") if i + 1 == raw.len() => {}
                Some("inf") | None => {
                    return bad("Only the last tier may have up_to=inf.", "tiers");
                }
                Some(u) => {
                    let u: i64 = u.parse().unwrap_or(0);
                    if i + 1 == raw.len() {
                        return bad("The last tier must have up_to=inf.", "tiers");
                    }
                    if u <= previous {
                        return bad("Tiers must be in ascending order of up_to.", "tiers");
                    }
                    previous = u;
                }
            }
        }
    }
    None
}

fn invoice(id: &str, customer: Option<&str>, method: &str, status: &str, total: i64) -> Value {
    json!({"id": id, "object": "invoice", "amount_due": total, "amount_overpaid": 0, "amount_paid": 0,
        "amount_remaining": total, "amount_shipping": 0, "attempt_count": 0, "attempted": false,
        "automatic_tax": {"enabled": false}, "collection_method": method, "created": CREATED, "currency": "usd",
        "customer": customer, "default_tax_rates": [], "discounts": [], "issuer": {"type": "self"},
        "lines": {"object": "list", "data": [], "has_more": false, "url": format!("/v1/invoices/{id}/lines")},
        "livemode": false, "payment_settings": {}, "period_end": CREATED, "period_start": CREATED,
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0, "starting_balance": 0,
        "status": status, "status_transitions": {}, "subtotal": total, "total": total,
        "number": null, "hosted_invoice_url": null, "invoice_pdf": null, "due_date": null})
}
