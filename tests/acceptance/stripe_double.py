"""The Stripe double of the delivery check (tests/acceptance/delivery.py), written apart from the project's Rust code:
v2 meter event sessions and the stream, v1 meter events; each identifier counted once and how often it arrived;
arrival times, requests in flight (overall, and per customer and meter for v1), a latency, an outage of HTML pages
from Stripe's edge (sometimes taking the events), sessions ended at will, a refused customer; which server process
sent each request (client port to pid, with `ss`); and the reads of reconcile_usage (meters, event summaries)."""

import collections
import json
import re
import subprocess
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "sk_test_" + "0" * 24
HTML = {200: "<html><body><h1>OK</h1></body></html>",
        502: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
        503: "<html><head><title>503 Service Unavailable</title></head><body><h1>503 Service Unavailable</h1></body></html>"}
# During an outage, meter-event requests get these in turn: (status of the HTML page, whether Stripe took the events).
EDGE = [(502, False), (503, False), (200, True), (502, False), (503, True), (503, False), (502, True)]

def rfc3339(t):
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stripe_error(kind, code, message, param=None):
    err = {"type": kind, "message": message}
    if code:
        err["code"] = code
    if param:
        err["param"] = param
    return {"error": err}


class StripeDouble:
    """Stripe's meter-event endpoints: v2 sessions (API base) and stream (meter-events base; the same server unless
    `split`), v1 meter events. Counts every identifier once, records every meter-event request's arrival, the
    requests in flight (overall, and per customer and meter for v1); answers after `latency` seconds; during an
    outage its edge answers HTML pages, sometimes after taking the events."""

    def __init__(self, latency=0.0, session_ttl=900.0, split=False, refuse=None):
        self.latency, self.session_ttl, self.refuse = latency, session_ttl, refuse
        self.lock = threading.Lock()
        self.receipts = collections.Counter()  # identifier -> times it reached Stripe (taken, replayed, duplicate)
        self.events = {}  # identifier -> first (stripe customer, event name, value, timestamp ms, dimensions)
        self.arrivals = []  # (wall time, "stream" | "v1", client port) of every meter-event request
        self.timeline = []  # (wall time, client port, identifiers) of every request that reached Stripe with events
        self.inflight, self.max_inflight = 0, 0
        self.inflight_v1, self.max_inflight_v1 = collections.Counter(), 0
        self.tokens, self.counts, self.invalid, self.session_log = {}, collections.Counter(), [], []
        self.outage_until, self.edge_n, self.session_n = 0.0, 0, 0
        self.html_taken = set()  # identifiers taken under an HTML answer
        self.replays = {}  # v1 Idempotency-Key -> answer
        self.pids, self.sampling = {}, False  # client port -> pid, from `ss`
        self.servers = []
        for role in (("api", "events") if split else ("both",)):
            server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
            server.role = role
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)
        self.api_base = f"http://127.0.0.1:{self.servers[0].server_address[1]}"
        self.events_base = f"http://127.0.0.1:{self.servers[-1].server_address[1]}"

    def stop(self):
        self.sampling = False
        for s in self.servers:
            s.shutdown()
            s.server_close()

    def outage(self, seconds):
        self.outage_until = time.time() + seconds

    def _handler(double):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def body(self):
                if "chunked" in self.headers.get("transfer-encoding", "").lower():
                    data = b""
                    while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                        data += self.rfile.read(size)
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def do_POST(self):
                try:
                    status, body, kind = double.handle(self.server.role, self.path.split("?")[0], self.headers, self.body(),
                                                       self.client_address[1])
                except Exception as e:  # noqa: BLE001 - a fault of the double itself: shown among its refusals
                    double.refused(f"double: {type(e).__name__}: {e}")
                    status, body, kind = 500, stripe_error("api_error", None, "double failed"), "application/json"
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", kind)
                    self.send_header("content-length", str(len(data)))
                    self.send_header("request-id", "req_" + uuid.uuid4().hex[:14])
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client was killed mid-request
                    self.close_connection = True

            def do_GET(self):
                self.body()
                status, body = double.read(self.path, self.headers)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", "req_" + uuid.uuid4().hex[:14])
                self.end_headers()
                self.wfile.write(data)
        return Handler

    def handle(self, role, path, headers, body, port):
        if path == "/v2/billing/meter_event_session" and role != "events":
            return self.session(headers)
        if path in ("/v2/billing/meter_event_stream", "/v1/billing/meter_events") and role != ("api" if "v2" in path else "events"):
            return self.metered("stream" if "v2" in path else "v1", headers, body, port)
        with self.lock:
            self.counts["not_found"] += 1
        return 404, stripe_error("invalid_request_error", None, f"Unrecognized request URL (POST: {path})."), "application/json"

    def read(self, target, headers):
        """The reads of reconcile_usage: an active sum meter per event name the double holds, a customer's summary on
        one over whole minutes (`start_time` inclusive, `end_time` exclusive), and no invoices or subscriptions."""
        if headers.get("authorization") != f"Bearer {SECRET}":
            return 401, stripe_error("invalid_request_error", None, "Invalid API Key provided.")
        url = urllib.parse.urlsplit(target)
        query, parts = dict(urllib.parse.parse_qsl(url.query)), url.path.strip("/").split("/")
        with self.lock:
            held = list(self.events.values())  # (customer, event name, value, ms, dimensions)
        def listed(data):
            return 200, {"object": "list", "data": data, "has_more": False, "url": url.path}
        if parts in (["v1", "invoices"], ["v1", "subscriptions"]):
            return listed([])
        if parts == ["v1", "billing", "meters"]:
            return listed([{"id": f"mtr_double_{name}", "object": "billing.meter", "created": 0,
                            "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
                            "default_aggregation": {"formula": "sum"}, "display_name": name, "event_name": name,
                            "event_time_window": None, "livemode": False, "status": "active",
                            "status_transitions": {"deactivated_at": None}, "updated": 0,
                            "value_settings": {"event_payload_key": "value"}} for name in sorted({e[1] for e in held})])
        if len(parts) == 5 and parts[:3] == ["v1", "billing", "meters"] and parts[4] == "event_summaries":
            name, (start, end) = parts[3].removeprefix("mtr_double_"), (int(query.get("start_time", 1)), int(query.get("end_time", 1)))
            if start % 60 or end % 60 or end <= start:
                return 400, stripe_error("invalid_request_error", None, "start_time and end_time must be whole minutes, end after start.")
            value = sum(int(v) for c, n, v, ms, _ in held
                        if c == query.get("customer") and n == name and start * 1000 <= ms < end * 1000)
            return listed([{"id": f"mtrusg_{start}", "object": "billing.meter_event_summary", "aggregated_value": value,
                            "end_time": end, "livemode": False, "meter": parts[3], "start_time": start}])
        return 404, stripe_error("invalid_request_error", None, f"Unrecognized request URL (GET: {url.path}).")

    def edge(self):
        with self.lock:
            if time.time() >= self.outage_until:
                return None
            self.edge_n += 1
            status, take = EDGE[self.edge_n % len(EDGE)]
            self.counts["html_taken" if take else "html"] += 1
            return status, take

    def session(self, headers):
        arrived = time.time()
        time.sleep(self.latency)
        with self.lock:
            self.session_log.append(arrived)
            self.session_n += 1
            if time.time() < self.outage_until and self.session_n % 2:  # every other session during an outage
                self.counts["html"] += 1
                return 503, HTML[503], "text/html"
        if headers.get("authorization") != f"Bearer {SECRET}":
            return 401, stripe_error("invalid_request_error", None, "Invalid API Key provided."), "application/json"
        now, token = time.time(), "ek_test_" + uuid.uuid4().hex
        with self.lock:
            self.tokens[token] = now + self.session_ttl
            self.counts["sessions"] += 1
        return 200, {"id": "mes_" + uuid.uuid4().hex[:24], "object": "v2.billing.meter_event_session", "authentication_token": token,
                     "created": rfc3339(now), "expires_at": rfc3339(now + self.session_ttl), "livemode": False}, "application/json"

    def metered(self, api, headers, body, port):
        form = dict(urllib.parse.parse_qsl(body.decode(errors="replace"))) if api == "v1" else None
        pair = (form.get("payload[stripe_customer_id]"), form.get("event_name")) if form is not None else None
        with self.lock:
            self.arrivals.append((time.time(), api, port))
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            if pair:
                self.inflight_v1[pair] += 1
                self.max_inflight_v1 = max(self.max_inflight_v1, self.inflight_v1[pair])
        try:
            answer = self.stream(headers, body, port) if api == "stream" else self.v1(headers, form, port)
            time.sleep(self.latency)
            return answer
        finally:
            with self.lock:
                self.inflight -= 1
                if pair:
                    self.inflight_v1[pair] -= 1

    def take(self, events, port, html=False):
        with self.lock:
            self.timeline.append((time.time(), port, [e[0] for e in events]))
            for ident, *event in events:
                self.receipts[ident] += 1
                self.events.setdefault(ident, tuple(event))
                if html:
                    self.html_taken.add(ident)

    def refused(self, message):
        with self.lock:
            self.counts["invalid"] += 1
            if len(self.invalid) < 5:
                self.invalid.append(message)
        return 400, stripe_error("invalid_request_error", "parameter_invalid", message), "application/json"

    def stream(self, headers, body, port):
        edge = self.edge()
        if edge:
            if edge[1]:
                events, _ = parse_stream(body)
                self.take(events or [], port, html=True)
            return edge[0], HTML[edge[0]], "text/html"
        token = headers.get("authorization", "").removeprefix("Bearer ")
        with self.lock:
            expires = self.tokens.get(token)
            self.counts["stream"] += 1
        if expires is None:
            with self.lock:
                self.counts["bad_token"] += 1
            return 401, stripe_error("invalid_request_error", None, "Invalid authentication token."), "application/json"
        if time.time() >= expires:
            with self.lock:
                self.counts["expired"] += 1
            return 401, stripe_error("invalid_request_error", "billing_meter_event_session_expired",
                                     "The meter event session has expired; create a new one."), "application/json"
        events, problem = parse_stream(body)
        if problem:
            return self.refused(problem)
        if self.refuse and any(e[1] == self.refuse for e in events):
            with self.lock:
                self.counts["stream_refused"] += 1
            return 400, stripe_error("invalid_request_error", "resource_missing", f"No such customer: '{self.refuse}'"), "application/json"
        self.take(events, port)
        return 200, {}, "application/json"

    def v1(self, headers, form, port):
        event, problem = parse_v1(form)
        edge = self.edge()
        if edge:
            if edge[1] and event:
                self.take([event], port, html=True)
            return edge[0], HTML[edge[0]], "text/html"
        if headers.get("authorization") != f"Bearer {SECRET}":
            return 401, stripe_error("invalid_request_error", None, "Invalid API Key provided."), "application/json"
        key = headers.get("idempotency-key")
        with self.lock:
            self.counts["v1"] += 1
            self.counts["v1_without_idempotency_key"] += not key
            if key and key in self.replays:
                self.receipts[form.get("identifier")] += 1
                self.timeline.append((time.time(), port, [form.get("identifier")]))
                return self.replays[key]
        if problem:
            return self.refused(problem)
        if self.refuse and event[1] == self.refuse:
            return 400, stripe_error("invalid_request_error", "resource_missing", f"No such customer: '{self.refuse}'",
                                     "payload[stripe_customer_id]"), "application/json"
        with self.lock:
            if event[0] in self.events:
                self.receipts[event[0]] += 1
                self.timeline.append((time.time(), port, [event[0]]))
                return 400, stripe_error("invalid_request_error", "resource_already_exists",
                                         f"An event with identifier {event[0]} already exists."), "application/json"
        self.take([event], port)
        answer = (200, {"object": "billing.meter_event", "created": int(time.time()), "event_name": event[2], "identifier": event[0],
                        "livemode": False, "timestamp": int(form["timestamp"]), "payload": {"stripe_customer_id": event[1], "value": event[3]}},
                  "application/json")
        if key:
            with self.lock:
                self.replays[key] = answer
        return answer

    # Which process sends: the pid behind each client port, sampled with `ss` (root sees every process).
    def sample_pids(self):
        ports = {s.server_address[1] for s in self.servers}
        try:
            out = subprocess.run(["ss", "-Htnp", "state", "established"], capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.SubprocessError):
            return self.pids
        for m in re.finditer(r"127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:(\d+)\s+users:\(\(\"[^\"]*\",pid=(\d+)", out):
            if int(m.group(2)) in ports:
                self.pids[int(m.group(1))] = int(m.group(3))
        return self.pids

    def track_pids(self):
        self.sampling = True

        def loop():
            while self.sampling:
                self.sample_pids()
                time.sleep(0.3)
        threading.Thread(target=loop, daemon=True).start()

    def sender_pid(self):
        with self.lock:
            port = self.arrivals[-1][2] if self.arrivals else None
        return self.sample_pids().get(port)

    def by_pid(self):
        with self.lock:
            return collections.Counter(self.pids.get(port, "?") for _, _, port in self.arrivals)

    def max_per_second(self):
        with self.lock:
            return max(collections.Counter(int(t) for t, _, _ in self.arrivals).values(), default=0)

    def seconds_over(self, limit):
        """The calendar seconds with more than `limit` requests: (second from the first request, arrival offsets in ms within
        it by pid), five at most."""
        with self.lock:
            arrivals = sorted(self.arrivals)
        if not arrivals:
            return []
        start, per = int(arrivals[0][0]), collections.defaultdict(list)
        for t, _, port in arrivals:
            per[int(t)].append((self.pids.get(port, "?"), int((t - int(t)) * 1000)))
        over = [(sec - start, sorted(reqs)) for sec, reqs in sorted(per.items()) if len(reqs) > limit]
        return over[:5]

    def end_sessions(self):
        """Stripe ends every session now: their tokens get 401 billing_meter_event_session_expired."""
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = min(self.tokens[token], time.time())

    def resends_after(self, kills, window):
        """Re-sends whose previous copy reached Stripe from a process within `window` seconds before it was killed."""
        last, explained = {}, 0
        with self.lock:
            timeline = sorted(self.timeline)
        for t, port, idents in timeline:
            pid = self.pids.get(port)
            for ident in idents:
                if ident in last:
                    pt, ppid = last[ident]
                    explained += any(kpid == ppid and kt - window <= pt <= kt for kt, kpid in kills)
                last[ident] = (t, pid)
        return explained

    def longest_pause(self):
        with self.lock:
            times = sorted(t for t, _, _ in self.arrivals)
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def parse_stream(body):
    """The events of a v2 stream request as (identifier, customer, event name, value, ms, dimensions), or Stripe's
    reason to refuse the whole request."""
    try:
        doc = json.loads(body or b"null")
    except ValueError:
        return None, "The request body is not valid JSON."
    events = doc.get("events") if isinstance(doc, dict) else None
    if not isinstance(events, list) or not 1 <= len(events) <= 100:
        return None, "`events` must hold 1 to 100 events."
    out, now = [], time.time()
    for i, e in enumerate(events):
        e = e if isinstance(e, dict) else {}
        ident, name, payload, ts = e.get("identifier"), e.get("event_name"), e.get("payload"), e.get("timestamp")
        if not isinstance(ident, str) or not 1 <= len(ident) <= 100 or not isinstance(name, str) or not name:
            return None, f"events[{i}]: identifier and event_name are required strings."
        if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()) \
                or not payload.get("stripe_customer_id") or not payload.get("value"):
            return None, f"events[{i}].payload: stripe_customer_id and value are required, every value a string."
        ms = None
        if ts is not None:
            try:
                at = datetime.fromisoformat(ts)
                ms = int(at.timestamp() * 1000) if at.tzinfo else None
            except (TypeError, ValueError):
                pass
            if ms is None or not now - 35 * 86400 < ms / 1000 < now + 300:
                return None, f"events[{i}].timestamp: an RFC 3339 time within the past 35 days and the next 5 minutes."
        dims = {k: v for k, v in payload.items() if k not in ("stripe_customer_id", "value")}
        out.append((ident, payload["stripe_customer_id"], name, payload["value"], ms, dims))
    return out, None


def parse_v1(form):
    ident, name, customer, value = (form.get(k) for k in ("identifier", "event_name", "payload[stripe_customer_id]", "payload[value]"))
    if not ident or not name or not customer or not value or not form.get("timestamp", "").isdigit():
        return None, "identifier, event_name, timestamp, payload[stripe_customer_id] and payload[value] are required."
    dims = {k[8:-1]: v for k, v in form.items() if k.startswith("payload[") and k not in ("payload[stripe_customer_id]", "payload[value]")}
    return (ident, customer, name, value, int(form["timestamp"]) * 1000, dims), None
