"""Outside check with the official MCP Python client (PyPI `mcp` 2.3.0).

Runs the foundation's must-holds (and customer-key isolation) against the built binary over stdio and streamable HTTP, on
SQLite and (when BILLING_TEST_POSTGRES_URL is set) PostgreSQL:

    python3 tests/acceptance/mcp_client.py target/debug/billing-mcp

Prints one line per check and closes with "N passed, M failed".
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

from mcp import Client, StdioServerParameters, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/billing-mcp")
CATALOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "limits.toml")

results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}", flush=True)


async def call(client, tool, args):
    r = await client.call_tool(tool, args)
    return bool(r.is_error), (r.structured_content or {})


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
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
    pg = postgres_db()
    if pg:
        await scenario("http legacy · postgres", HttpServer(pg, catalog, "legacy"), restart=HttpServer(pg, catalog, "legacy"))
    print(f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


asyncio.run(main())
