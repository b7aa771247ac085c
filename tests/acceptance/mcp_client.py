"""Outside check with the official MCP Python client (PyPI `mcp` 2.3.0).

Runs the foundation's must-holds (and customer-key isolation), the seeds' invoice numbers worked by hand, and usage
delivery through a Stripe double of its own whose edge answers an outage with HTML pages, against the built binary over
stdio and streamable HTTP, on SQLite and (when BILLING_TEST_POSTGRES_URL is set) PostgreSQL:

    python3 tests/acceptance/mcp_client.py target/debug/billing-mcp

Prints one line per check and closes with "N passed, M failed".
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from mcp import Client, StdioServerParameters, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from ports import free_port, wait_port
from report import check, finish

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/billing-mcp")
CATALOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "limits.toml")


async def call(client, tool, args):
    """(is_error, body): the structured result, or an error's {code, message, ...} read from the JSON of its
    text block (an error carries no structured content, which would have to match the output schema)."""
    r = await client.call_tool(tool, args)
    if not r.is_error:
        return False, (r.structured_content or {})
    if r.structured_content is not None:
        return True, {"code": "structured_content_on_error", "message": str(r.structured_content)}
    text = next((c.text for c in r.content if getattr(c, "type", "") == "text"), "")
    try:
        return True, json.loads(text)
    except ValueError:
        return True, {"code": "text_not_json", "message": text}


async def scenario(label, connect, restart=None):
    print(f"== {label}", flush=True)
    async with connect() as c:
        await call(c, "create_customer", {"customer": "acme"})

        # 500 record_usage calls, every fifth repeats the key of the call before it.
        key = lambda i: f"k{i - 1}" if i % 5 == 4 else f"k{i}"
        answers = await asyncio.gather(*[
            call(c, "record_usage", {"customer": "acme", "meter": "tool_calls", "quantity": 1, "idempotency_key": key(i)})
            for i in range(500)
        ])
        first, ok = {}, True
        for i, (err, body) in enumerate(answers):
            if err:
                ok = False
                continue
            if body["status"] == "recorded":
                ok &= key(i) not in first
                first[key(i)] = body["event_id"]
        for i, (err, body) in enumerate(answers):
            ok &= not err and body["event_id"] == first.get(key(i))
        _, usage = await call(c, "get_usage", {"customer": "acme"})
        check(f"{label}: 500 calls with repeated keys count 400 keys once each", ok and len(first) == 400 and usage["totals"][0]["quantity"] == 400, usage.get("totals"))

        # 300 concurrent consumes against a 100-a-month plan.
        await call(c, "create_customer", {"customer": "team", "plan": "team"})
        decisions = await asyncio.gather(*[
            call(c, "check_entitlement", {"customer": "team", "feature": "tool_calls", "consume": True, "idempotency_key": f"c{i}"})
            for i in range(300)
        ])
        allowed = sum(1 for _, d in decisions if d.get("allowed"))
        denied_ok = all(d["reason"] == "quota_exceeded" and d["remaining"] == 0 and d["resets_at"] for _, d in decisions if not d.get("allowed"))
        check(f"{label}: 300 concurrent consumes allow exactly 100", allowed == 100 and denied_ok, allowed)

        # Credits: 1,000 granted, 64 concurrent workers, 300 attempts at 5 credits.
        await call(c, "create_customer", {"customer": "cred", "plan": "credits"})
        await call(c, "grant_credits", {"customer": "cred", "credits": 1000, "idempotency_key": "g"})
        attempts = iter(range(300))
        granted = []

        async def worker():
            for i in attempts:
                _, d = await call(c, "check_entitlement", {"customer": "cred", "feature": "tool_calls", "tool": "render", "consume": True, "idempotency_key": f"r{i}"})
                granted.append(bool(d.get("allowed")))
        await asyncio.gather(*[worker() for _ in range(64)])
        _, bal = await call(c, "get_credit_balance", {"customer": "cred"})
        check(f"{label}: credits allow exactly 200 and end at 0", sum(granted) == 200 and bal["balance"] == 0 and all(g["remaining"] >= 0 for g in bal["grants"]), (sum(granted), bal.get("balance")))

        # Quotes and invoices to the minor unit.
        await call(c, "create_customer", {"customer": "grad", "plan": "graduated"})
        await call(c, "record_usage", {"customer": "grad", "meter": "tool_calls", "quantity": 1001})
        _, inv = await call(c, "preview_invoice", {"customer": "grad"})
        # 1000 × 0.5 + 1 × 0.125 = 500.125 → 500
        _, q = await call(c, "quote_price", {"customer": "grad", "meter": "tool_calls", "quantity": 3})
        # after 1004: 500 + 0.5 = 500.5 → 501; before 500.125 → 500
        _, v = await call(c, "quote_price", {"plan": "volume", "meter": "tool_calls", "quantity": 150})
        check(f"{label}: graduated invoice, sub-cent quote and volume quote match hand computation",
              inv["total"]["amount"] == 500 and q["amount"]["amount"] == 1 and v["amount"]["amount"] == 6000, (inv.get("total"), q.get("amount"), v.get("amount")))

        # Bad input: a tool error with a stable code, and the server keeps serving.
        bad = [
            ({"customer": "acme", "meter": "tool_calls", "quantity": -3}, "invalid_params"),
            ({"customer": "ghost", "meter": "tool_calls", "quantity": 1}, "unknown_customer"),
            ({"customer": "acme", "meter": "nope", "quantity": 1}, "unknown_meter"),
            ({"customer": "x" * (10 * 1024 * 1024), "meter": "tool_calls", "quantity": 1}, "invalid_params"),
            ({"customer": "acme", "meter": "tool_calls", "quantity": "five"}, "invalid_params"),
            ({"customer": "acme", "meter": "tool_calls", "quantity": 1, "surprise": 1}, "invalid_params"),
        ]
        ok = True
        for args, code in bad:
            err, body = await call(c, "record_usage", args)
            ok &= err and body.get("code") == code and len(body.get("message", "")) > 10
        err, _ = await call(c, "record_usage", {"customer": "acme", "meter": "tool_calls", "quantity": 1})
        check(f"{label}: bad input gets coded tool errors and the server keeps serving", ok and not err)

    if restart:
        async with restart() as c:
            _, usage = await call(c, "get_usage", {"customer": "acme"})
            _, bal = await call(c, "get_credit_balance", {"customer": "cred"})
            check(f"{label}: after a kill and restart every acknowledged event and credit entry is there",
                  usage["totals"][0]["quantity"] == 401 and len(bal["recent_entries"]) == 20 and bal["balance"] == 0, usage.get("totals"))


class HttpServer:
    def __init__(self, db_url, catalog, mode):
        self.db_url, self.catalog, self.mode, self.proc = db_url, catalog, mode, None

    def __call__(self):
        return self

    async def __aenter__(self):
        # Every /mcp request needs a key; the first admin key comes from the CLI.
        key = subprocess.run([BINARY, "keys", "create", "--role", "admin", "--database-url", self.db_url],
                             check=True, capture_output=True, text=True).stdout.strip()
        port = free_port()
        self.proc = subprocess.Popen([BINARY, "serve", "--http", f"127.0.0.1:{port}", "--catalog", self.catalog, "--database-url", self.db_url],
                                     stderr=sys.stderr)
        wait_port(port, self.proc, "billing-mcp serve --http")
        self.url = f"http://127.0.0.1:{port}/mcp"
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
        self.client = Client(streamable_http_client(self.url, http_client=http), mode=self.mode)
        return await self.client.__aenter__()

    async def __aexit__(self, *exc):
        try:
            await self.client.__aexit__(*exc)
        finally:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def stdio(db_url, catalog):
    return lambda: Client(StdioServerParameters(command=BINARY, args=["serve", "--stdio", "--catalog", catalog, "--database-url", db_url]))


async def access_scenario(label, db_url, catalog):
    """A customer key through the official client: its own tools only, never another customer."""
    print(f"== {label}", flush=True)
    server = HttpServer(db_url, catalog, "auto")
    async with server as admin:
        for c in ("acme", "globex"):
            await call(admin, "create_customer", {"customer": c, "plan": "team"})
        _, made = await call(admin, "create_api_key", {"role": "customer", "customer": "acme"})
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {made['secret']}"})
        async with Client(streamable_http_client(server.url, http_client=http), mode="auto") as acme:
            names = sorted(t.name for t in (await acme.list_tools()).tools)
            check(f"{label}: a customer key lists only its own tools",
                  "get_usage" in names and "record_usage" not in names and "create_api_key" not in names, names)
            err, body = await call(acme, "get_usage", {"customer": "globex"})
            check(f"{label}: another customer's usage is forbidden", err and body.get("code") == "forbidden", body)
            err, body = await call(acme, "get_usage", {})
            check(f"{label}: without `customer` the key reads its own", not err and body.get("customer") == "acme", body)
        async with create_mcp_http_client() as bare:
            r = await bare.post(server.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                headers={"accept": "application/json, text/event-stream"})
            check(f"{label}: no key gets 401 with WWW-Authenticate",
                  r.status_code == 401 and r.headers.get("www-authenticate", "").startswith("Bearer"), r.status_code)


async def confirmation_scenario(label, db_url, catalog):
    """A destructive tool asks the user through elicitation: a refusal stops it, a yes lets it run."""
    print(f"== {label}", flush=True)
    asked = []

    def answer(action):
        async def callback(context, params):
            asked.append(params.message)
            return types.ElicitResult(action=action, content={"confirm": True} if action == "accept" else None)
        return callback

    server = StdioServerParameters(command=BINARY, args=["serve", "--stdio", "--catalog", catalog, "--database-url", db_url])
    refund = {"payment_intent": "pi_123", "amount": 500, "idempotency_key": "refund-1"}
    # Elicitation is a server-to-client request: the session era has it (2026-07-28 does not).
    async with Client(server, elicitation_callback=answer("decline"), mode="legacy") as c:
        err, body = await call(c, "create_refund", refund)
        check(f"{label}: declining the confirmation stops the refund",
              err and body.get("code") == "not_confirmed" and asked and "Refund a payment" in asked[0], (body, asked))
    async with Client(server, elicitation_callback=answer("accept"), mode="legacy") as c:
        err, body = await call(c, "create_refund", refund)
        # Confirmed, the tool runs; without STRIPE_SECRET_KEY it says Stripe is not configured.
        check(f"{label}: a confirmed refund runs", err and body.get("code") == "stripe_not_configured" and len(asked) == 2, (body, asked))


EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "billing.toml")
RESERVED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "reserved.json")


def ms(text):
    from datetime import datetime
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def stripe_proration(price, period, at):
    """Stripe's create_prorations: price × (end − at) / (end − start), to the nearest cent (halves up)."""
    from decimal import Decimal, ROUND_HALF_UP
    start, end = ms(period["start"]), ms(period["end"])
    return int((Decimal(price) * Decimal(end - at) / Decimal(end - start)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def ledger_scenario(label, connect):
    """The seeds' worked numbers through the official client, checked by hand here."""
    print(f"== {label}", flush=True)
    async with connect() as c:
        # Seed 003: base $100, 2 cases, 1,234 events, 2,500 API calls, agents 3 then 5 (max).
        await call(c, "create_customer", {"customer": "jeturing"})
        await call(c, "set_customer_plan", {"customer": "jeturing", "plan": "forensics", "status": "active", "reset_period": True})
        for meter, q in [("agents", 3), ("agents", 5), ("cases", 1), ("cases", 1), ("events_ingested", 1234), ("api_calls", 2500)]:
            await call(c, "record_usage", {"customer": "jeturing", "meter": meter, "quantity": q})
        _, inv = await call(c, "preview_invoice", {"customer": "jeturing"})
        agents = [l for l in inv.get("lines", []) if l.get("meter") == "agents"]
        by_hand = 10000 + 2 * 1000 + 1234 * 1 + 3 * 10 + 5 * 5000
        check(f"{label}: seed 003's forensics invoice is $382.64 with 5 agents at the peak",
              inv.get("total", {}).get("amount") == by_hand == 38264 and agents and agents[0]["amount"]["amount"] == 25000, inv.get("total"))

        # Seed 001: acme at 17,000 VEx and 80,000 FU with examples/reserved.json.
        await call(c, "create_customer", {"customer": "acme"})
        with open(RESERVED) as f:
            err, stored = await call(c, "set_reserved_tiers", {"reserved_json": f.read(), "dry_run": False})
        await call(c, "record_usage", {"customer": "acme", "meter": "vex", "quantity": 17000})
        await call(c, "record_usage", {"customer": "acme", "meter": "fu", "quantity": 80000})
        _, inv = await call(c, "preview_invoice", {"customer": "acme"})
        overage = {l["meter"]: l["amount"]["amount"] for l in inv.get("lines", []) if l.get("kind") == "usage"}
        check(f"{label}: seed 001's reserved overage is 2,000 × $0.01 and 5,000 × $0.001",
              not err and overage.get("vex") == 2000 and overage.get("fu") == 500, (stored, overage))

        # A trial bills no usage; a plan change's dry run prorates as Stripe does.
        await call(c, "create_customer", {"customer": "trial", "plan": "starter"})
        await call(c, "record_usage", {"customer": "trial", "meter": "tool_calls", "quantity": 1250})
        _, inv = await call(c, "preview_invoice", {"customer": "trial"})
        check(f"{label}: 1,250 calls in a trial are $0.00", inv.get("in_trial") is True and inv.get("total", {}).get("amount") == 0, inv.get("total"))
        await call(c, "create_customer", {"customer": "mover"})
        await call(c, "set_customer_plan", {"customer": "mover", "plan": "starter", "status": "active", "reset_period": True})
        await call(c, "record_usage", {"customer": "mover", "meter": "tool_calls", "quantity": 1250})
        err, dry = await call(c, "set_customer_plan", {"customer": "mover", "plan": "professional", "dry_run": True})
        lines = dry.get("invoice", {}).get("lines", [])
        prorations = [l for l in lines if l["kind"] == "proration"]
        period = dry.get("invoice", {}).get("period", {})
        ok = len(prorations) == 2 and not err
        if ok:
            at = ms(prorations[0]["from"])
            ok = prorations[0]["amount"]["amount"] == -stripe_proration(2900, period, at) and prorations[1]["amount"]["amount"] == stripe_proration(9900, period, at)
        owed = [l for l in lines if l["kind"] == "usage" and l["plan"] == "starter"]
        _, still = await call(c, "get_customer", {"customer": "mover"})
        check(f"{label}: a plan change's dry run keeps the 250 calls owed and prorates both fees as Stripe does",
              ok and owed and owed[0]["amount"]["amount"] == 1250 and still.get("plan") == "starter", prorations)


def stripe_edge():
    """A v1 Stripe double written apart from the project's own: its edge answers the first 40 meter events with HTML 502 and
    503 pages, or takes the event and answers with an HTML page, then with Stripe's JSON (`resource_already_exists` if held)."""
    import threading
    import urllib.parse
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    state = {"held": {}, "requests": 0, "lock": threading.Lock()}

    class Edge(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, status, text, kind):
            data = text.encode()
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers.get("content-length", 0))).decode()))
            if self.path != "/v1/billing/meter_events":
                return self.answer(404, json.dumps({"error": {"type": "invalid_request_error", "message": "no such route"}}), "application/json")
            with state["lock"]:
                state["requests"] += 1
                n, ident = state["requests"], form.get("identifier")
                if n <= 40 and n % 3 == 1:
                    return self.answer(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
                if n <= 40 and n % 3 == 2:
                    return self.answer(503, "<html><body><h1>503 Service Unavailable</h1></body></html>", "text/html")
                if ident in state["held"]:
                    return self.answer(400, json.dumps({"error": {"type": "invalid_request_error", "code": "resource_already_exists",
                                                                   "message": f"An event with identifier {ident} already exists."}}), "application/json")
                state["held"][ident] = form
                if n <= 40:
                    return self.answer(200, "<html><body>OK</body></html>", "text/html")
            event = {"object": "billing.meter_event", "created": int(time.time()), "event_name": form.get("event_name"),
                     "identifier": ident, "livemode": False, "timestamp": int(form.get("timestamp", 0)),
                     "payload": {"value": form.get("payload[value]"), "stripe_customer_id": form.get("payload[stripe_customer_id]")}}
            self.answer(200, json.dumps(event), "application/json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Edge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state


async def edge_scenario(label, db_path):
    """Usage reaches Stripe exactly once through an outage answered with HTML pages."""
    print(f"== {label}", flush=True)
    import sqlite3
    url = f"sqlite://{db_path}"
    async with stdio(url, EXAMPLE)() as c:
        for customer in ("acme", "globex"):
            await call(c, "create_customer", {"customer": customer})
        events = [{"customer": ("acme", "globex")[i % 2], "meter": "tool_calls", "quantity": 1} for i in range(30)]
        await call(c, "record_usage_batch", {"events": events})
    # Linked to Stripe customers as create_customer would have with a key.
    with sqlite3.connect(db_path) as con:  # commits on leaving
        con.execute("UPDATE customers SET stripe_customer_id = 'cus_' || id")
    con.close()
    server, state = stripe_edge()
    env = dict(os.environ, STRIPE_SECRET_KEY="sk_test_" + "0" * 24, STRIPE_API_BASE=f"http://127.0.0.1:{server.server_address[1]}")
    params = StdioServerParameters(command=BINARY, env=env, args=["serve", "--stdio", "--catalog", EXAMPLE, "--database-url", url,
                                                                  "--meter-events-max-backoff", "2", "--meter-events-api", "v1"])
    states = {}
    async with Client(params) as c:
        for _ in range(60):
            await asyncio.sleep(1)
            states = {}
            for customer in ("acme", "globex"):
                _, usage = await call(c, "get_usage", {"customer": customer, "limit": 100})
                for e in usage.get("events", []):
                    states[e["stripe"]["state"]] = states.get(e["stripe"]["state"], 0) + 1
            if states == {"sent": 30}:
                break
    server.shutdown()
    check(f"{label}: 30 events through HTML 502/503 pages and lost answers are all sent, each held once",
          states == {"sent": 30} and len(state["held"]) == 30 and state["requests"] > 30, (states, len(state["held"]), state["requests"]))


def postgres_db():
    base = os.environ.get("BILLING_TEST_POSTGRES_URL")
    if not base:
        return None
    name = f"bmt_{int(time.time())}_{uuid.uuid4().hex}"
    subprocess.run(["psql", base, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return base.rsplit("/", 1)[0] + "/" + name


async def main():
    tmp = tempfile.mkdtemp()
    catalog = CATALOG
    sqlite = lambda n: f"sqlite://{os.path.join(tmp, n)}"
    await scenario("stdio · sqlite", stdio(sqlite("a.db"), catalog), restart=stdio(sqlite("a.db"), catalog))
    await scenario("http · sqlite", HttpServer(sqlite("b.db"), catalog, "auto"), restart=HttpServer(sqlite("b.db"), catalog, "auto"))
    await access_scenario("access · http · sqlite", sqlite("c.db"), catalog)
    await confirmation_scenario("confirmation · stdio · sqlite", sqlite("d.db"), catalog)
    await ledger_scenario("ledger · stdio · sqlite", stdio(sqlite("e.db"), EXAMPLE))
    await edge_scenario("stripe edge outage · stdio · sqlite", os.path.join(tmp, "f.db"))
    pg = postgres_db()
    if pg:
        await scenario("http legacy · postgres", HttpServer(pg, catalog, "legacy"), restart=HttpServer(pg, catalog, "legacy"))
        await ledger_scenario("ledger · http · postgres", HttpServer(postgres_db(), EXAMPLE, "auto"))
    finish()


asyncio.run(main())
