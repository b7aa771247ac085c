"""Usage reaches Stripe exactly once, at scale: an outside check with the official MCP Python client (PyPI `mcp`
2.3.0) and a Stripe double of its own (v2 meter event sessions and stream, v1 meter events), written apart from the
project's Rust code:

    python3 tests/acceptance/delivery.py target/debug/billing-mcp [--quick] [--only=postgres]

On SQLite, and on PostgreSQL too when BILLING_TEST_POSTGRES_URL is set (a fresh database per scenario):
  v1        --meter-events-api v1: one request at a time per customer and meter, each event once; reconcile_usage
            then finds a customer's usage in agreement with the double's event summaries.
  fallback  a stream batch Stripe refuses for good goes event by event through v1: the good ones are sent once,
            the refused ones end `failed` with Stripe's words (SQLite only).
  outage    Stripe's edge answers HTML 502/503 pages for 60 s (and sometimes takes the events but answers with an
            HTML page) while 5,000 events of 10 customers are recorded: afterwards all are `sent`, once each.
  load      one customer records 1,000 events/s for 60 s against a double answering in 200 ms, with
            --meter-events-per-second 20, through one and through two server processes on one ledger: the backlog
            drains within 10 s of the load's end, no calendar second sees more than 20 requests, each identifier
            arrives exactly once. Halfway through, the double ends the session (401 session expired).
  kill -9   20,000 pending events drained by two processes (--meter-events-lease 2, meter events on a base URL of
            their own); the process seen sending is killed with SIGKILL and replaced, twice: every event ends
            `sent` and is counted once (a re-sent identifier is Stripe's dedupe; their number is reported).
--quick divides durations and volumes by about 6. Prints one line per check, with the figures in its name, and
closes with "N passed, M failed" (exit code 1 on any failure). Server logs stay in the printed temporary folder.
"""

import asyncio
import collections
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.parse
import urllib.request
import uuid

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from ports import free_port
from report import check, finish, results
from stripe_double import SECRET, StripeDouble

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else "target/debug/billing-mcp")
QUICK = "--quick" in sys.argv[1:]
ONLY = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--only=")), "")  # scenarios whose label has it
S = 6 if QUICK else 1
EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "billing.toml")
with open(EXAMPLE, "rb") as f:
    EVENT_NAME = tomllib.load(f)["meters"]["tool_calls"]["event_name"]
PLAN = "metered"  # examples/billing.toml: tool_calls priced, no limit (checked with list_plans)
# The servers get only what this script sets: no Stripe or meter-event setting from the caller's environment.
BASE_ENV = {k: v for k, v in os.environ.items()
            if not k.startswith(("STRIPE_", "METER_EVENTS_")) and k not in ("DATABASE_URL", "BILLING_CATALOG", "BILLING_MCP_API_KEY")}
TMP = tempfile.mkdtemp(prefix="delivery-")


async def call(client, tool, args):
    """(is_error, body): the structured result, or an error's {code, message, ...} read from its text block."""
    r = await client.call_tool(tool, args)
    if not r.is_error:
        return False, (r.structured_content or {})
    text = next((c.text for c in r.content if getattr(c, "type", "") == "text"), "")
    try:
        return True, json.loads(text)
    except ValueError:
        return True, {"code": "text_not_json", "message": text}




# ── Ledgers and servers ────────────────────────────────────────────────────────────────────────────────────────

class Ledger:
    """A fresh SQLite file or PostgreSQL database, read and linked directly with SQL (sqlite3, psql)."""

    def __init__(self, backend):
        self.backend, name = backend, f"bmd_{int(time.time())}_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            self.path = os.path.join(TMP, name + ".db")
            self.url = f"sqlite://{self.path}"
        else:
            self.base = os.environ["BILLING_TEST_POSTGRES_URL"]
            self.name = name
            subprocess.run(["psql", self.base, "-X", "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
            self.url = self.base.rsplit("/", 1)[0] + "/" + name

    def sql(self, query):
        if self.backend == "sqlite":
            con = sqlite3.connect(self.path, timeout=60)
            try:
                rows = con.execute(query).fetchall()
                con.commit()
            finally:
                con.close()
            return [tuple("" if v is None else str(v) for v in r) for r in rows]
        out = subprocess.run(["psql", self.url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-F", "\x1f", "-R", "\x1e", "-c", query],
                             check=True, capture_output=True, text=True).stdout
        return [tuple(r.split("\x1f")) for r in out.rstrip("\n").split("\x1e") if r]

    def states(self):
        return {s: int(n) for s, n in self.sql("SELECT stripe_state, COUNT(*) FROM usage_events GROUP BY stripe_state")}

    async def astates(self):
        return await asyncio.to_thread(self.states)

    def drop(self):
        if self.backend == "postgres":
            subprocess.run(["psql", self.base, "-X", "-q", "-c", f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"], capture_output=True)


class Server:
    """`billing-mcp serve --http` with a Stripe key, pointed at the double; its log goes to a file."""
    made = 0

    def __init__(self, ledger, double, *extra):
        self.ledger, self.double, self.extra, self.proc = ledger, double, extra, None

    def start(self):
        Server.made += 1
        self.log, self.port = os.path.join(TMP, f"server{Server.made}.log"), free_port()
        env = dict(BASE_ENV, STRIPE_SECRET_KEY=SECRET, STRIPE_API_BASE=self.double.api_base)
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([BINARY, "serve", "--http", f"127.0.0.1:{self.port}", "--catalog", EXAMPLE,
                                          "--database-url", self.ledger.url, *self.extra],
                                         env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        for _ in range(300):
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.excerpt(all_lines=True)}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server not up in 30 s: {self.excerpt(all_lines=True)}")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def client(self, key):
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
        return Client(streamable_http_client(f"http://127.0.0.1:{self.port}/mcp", http_client=http), mode="auto")

    def excerpt(self, all_lines=False, n=4):
        try:
            with open(self.log, errors="replace") as f:
                lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in f]
        except OSError:
            return ""
        picked = lines if all_lines else [line for line in lines if re.search(r"\b(WARN|ERROR)\b", line)]
        return f"{self.log}: " + (" | ".join(line[:240] for line in picked[-n:]) or "no warning or error logged")


def excerpts(servers):
    return " || ".join(e for e in (s.excerpt() for s in servers) if e)


def admin_key(ledger):
    return subprocess.run([BINARY, "keys", "create", "--role", "admin", "--database-url", ledger.url], env=BASE_ENV,
                          check=True, capture_output=True, text=True).stdout.strip()


# ── Recording ──────────────────────────────────────────────────────────────────────────────────────────────────

def new_stats():
    return {"recorded": 0, "refused": 0, "retries": 0, "error": None, "seconds": 0.0}


async def record(client, events, stats, singles=0):
    """record_usage for the first `singles` events, record_usage_batch for the rest; a call that fails in transport
    is made again with the same idempotency keys."""
    async def once(tool, args, n):
        body, err = None, True
        for _ in range(5):
            try:
                err, body = await call(client, tool, args)
                break
            except Exception as e:  # noqa: BLE001 - a transport failure: retry with the same keys
                stats["retries"] += 1
                body = repr(e)
                await asyncio.sleep(0.2)
        if tool == "record_usage":
            ok = not err and body.get("status") in ("recorded", "duplicate")
        else:
            ok = not err and body.get("rejected") == 0 and body.get("recorded", 0) + body.get("duplicates", 0) == n
        stats["recorded" if ok else "refused"] += n
        if not ok and stats["error"] is None:
            stats["error"] = body
    calls = [once("record_usage", e, 1) for e in events[:singles]]
    if events[singles:]:
        calls.append(once("record_usage_batch", {"events": events[singles:]}, len(events) - singles))
    await asyncio.gather(*calls)


async def drive(client, make, total, rate, tick, stats, offset=0.0, singles=0):
    """Records `total` events at `rate` per second: every `tick` seconds the events due by then, so a slow call is
    made up by a bigger next one."""
    loop = asyncio.get_running_loop()
    start, sent, k = loop.time() + offset, 0, 0
    while sent < total:
        k += 1
        await asyncio.sleep(max(0.0, start + k * tick - loop.time()))
        due = min(total, int(rate * (loop.time() - start)))
        while sent < due:
            n = min(due - sent, 1000)
            await record(client, [make(i) for i in range(sent, sent + n)], stats, singles)
            sent += n
    stats["seconds"] = loop.time() - start


def maker(expected, prefix, customers, dims=True):
    """Event i: a customer in turn, quantity 1-3, both declared dimensions; what was sent is kept by key."""
    def make(i):
        customer = customers[i % len(customers)]
        event = {"customer": customer, "meter": "tool_calls", "quantity": 1 + i % 3, "idempotency_key": f"{prefix}-{i}"}
        if dims:
            event["dimensions"] = {"tool": f"tool-{i % 4}", "server_id": f"srv-{i % 2}"}
        expected[event["idempotency_key"]] = (customer, event["quantity"], event.get("dimensions", {}))
        return event
    return make


plan_checked = []


async def setup(ledger, customers, events=()):
    """A ledger-only server (stdio, no Stripe key): the customers on PLAN, linked to Stripe customers by SQL as
    create_customer would with a key, then `events` recorded before any sender runs."""
    params = StdioServerParameters(command=BINARY, env=BASE_ENV,
                                   args=["serve", "--stdio", "--catalog", EXAMPLE, "--database-url", ledger.url])
    stats = new_stats()
    with open(os.path.join(TMP, f"setup-{os.path.basename(ledger.url)}.log"), "w") as log:
        async with Client(stdio_client(params, errlog=log)) as c:
            await _setup(c, ledger, customers, events, stats)
    if stats["refused"]:
        raise RuntimeError(f"recording refused: {stats['error']}")


async def _setup(c, ledger, customers, events, stats):
    """setup's calls: the plan checked once, the customers made and linked, the events recorded."""
    if not plan_checked:
        _, plans = await call(c, "list_plans", {})
        plan = next((p for p in plans.get("plans", []) if p["plan"] == PLAN), {})
        meters = [m for m in plan.get("meters", []) if m["meter"] == "tool_calls"]
        check(f"the plan `{PLAN}` of examples/billing.toml meters tool_calls ({EVENT_NAME}) with no limit and no credits",
              meters and not meters[0]["limits"] and not plan.get("pay_with_credits"), plan)
        plan_checked.append(True)
    for customer in customers:
        err, body = await call(c, "create_customer", {"customer": customer, "plan": PLAN})
        if err:
            raise RuntimeError(f"create_customer {customer}: {body}")
    await asyncio.to_thread(ledger.sql, "UPDATE customers SET stripe_customer_id = 'cus_' || id")
    for i in range(0, len(events), 1000):
        await record(c, events[i:i + 1000], stats)


async def wait_until(ledger, done, timeout, interval=0.25):
    """Polls the ledger's state counts until done(states); (seconds waited or None, last states)."""
    start = time.monotonic()
    while True:
        states = await ledger.astates()
        if done(states):
            return time.monotonic() - start, states
        if time.monotonic() - start > timeout:
            return None, states
        await asyncio.sleep(interval)


def verify(label, ledger, double, expected, once=False, refused_customers=()):
    """Every recorded event is in the ledger as sent (failed for a refused customer), reached the double under its
    identifier with what was recorded, and the double holds no identifier the ledger lacks."""
    rows = ledger.sql("SELECT id, customer_id, quantity, COALESCE(idempotency_key, ''), stripe_state, occurred_at FROM usage_events")
    with double.lock:
        events, receipts = dict(double.events), collections.Counter(double.receipts)
    good = [r for r in rows if r[1] not in refused_customers]
    states = collections.Counter(r[4] for r in good)
    check(f"{label}: all {len(expected) - sum(1 for c, _, _ in expected.values() if c in refused_customers):,} events recorded end sent, none failed",
          len(rows) == len(expected) and states == {"sent": len(good)}, f"ledger rows {len(rows)} of {len(expected)}, states {dict(states)}")
    ids = {r[0] for r in good}
    missing, extra = ids - set(events), set(events) - ids
    resends = sum(receipts.values()) - len(receipts)
    more = sum(1 for i in ids if receipts[i] > 1)
    name = f"{label}: every identifier reached Stripe and counts once ({resends} re-sends of {more} identifiers)"
    if once:
        name = f"{label}: every identifier reached Stripe exactly once ({resends} re-sends)"
    check(name, not missing and not extra and (not once or resends == 0),
          f"{len(missing)} never arrived (e.g. {sorted(missing)[:3]}), {len(extra)} unknown (e.g. {sorted(extra)[:3]}), {resends} re-sends")
    wrong = []
    for ident, customer, quantity, key, _, occurred in good:
        want = expected.get(key)
        got = events.get(ident)
        if not want or not got:
            continue
        cust, name, value, ms, dims = got
        if (want[0], str(want[1])) != (customer, quantity) or cust != f"cus_{customer}" or name != EVENT_NAME or value != quantity \
                or dims != want[2] or ms is None or abs(ms - int(occurred)) >= 1000:
            wrong.append((ident, want, got, occurred))
    check(f"{label}: each meter event carries the recorded customer, value, event name, dimensions and time", not wrong,
          f"{len(wrong)} differ, e.g. {wrong[:2]}")
    return resends


class Run:
    """A scenario's double, servers and ledger, torn down at the end (the database dropped if nothing failed)."""

    def __init__(self, backend, **double):
        self.ledger, self.double, self.servers, self.failed = Ledger(backend), StripeDouble(**double), [], results["failed"]

    def server(self, *extra):
        self.servers.append(Server(self.ledger, self.double, *extra).start())
        return self.servers[-1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for s in self.servers:
            s.kill()
        self.double.stop()
        if results["failed"] == self.failed and not exc[0]:
            self.ledger.drop()


# ── Scenarios ──────────────────────────────────────────────────────────────────────────────────────────────────

async def v1_scenario(label, backend):
    expected, customers = {}, [f"v{i}" for i in range(10)]
    make = maker(expected, "v1", customers)
    with Run(backend, latency=0.05) as run:
        await setup(run.ledger, customers, [make(i) for i in range(600 // S)])
        run.server("--meter-events-api", "v1")
        took, states = await wait_until(run.ledger, lambda s: not s.get("pending"), 120)
        check(f"{label}: {len(expected)} pending events of 10 customers leave through v1 in {took or 0:.1f} s", took is not None,
              f"{states} after 120 s; {excerpts(run.servers)}")
        verify(label, run.ledger, run.double, expected, once=True)
        async with run.servers[0].client(admin_key(run.ledger)) as c:
            err, r = await call(c, "reconcile_usage", {"customer": customers[0]})
        row = next((m for m in r.get("meters", []) if m.get("meter") == "tool_calls"), {})
        check(f"{label}: reconcile_usage finds {customers[0]}'s usage in agreement with the double's event summaries "
              f"({(row.get('stripe') or {}).get('aggregated_value')} = {row.get('ledger', {}).get('quantity')})",
              not err and r.get("status") == "in_agreement" and row.get("difference", {}).get("reason") == "in_agreement", r)
        d = run.double
        check(f"{label}: at most {d.max_inflight_v1} request in flight per customer and meter, {d.max_inflight} overall (limit 8)",
              d.max_inflight_v1 == 1 and d.max_inflight <= 8, (d.max_inflight_v1, d.max_inflight))
        check(f"{label}: every request is a v1 request with an Idempotency-Key", d.counts["stream"] == 0 and d.counts["v1"] > 0
              and d.counts["v1_without_idempotency_key"] == 0, dict(d.counts))


async def fallback_scenario(label, backend):
    expected, customers = {}, ["g0", "g1", "g2", "poison", "g3", "g4", "g5", "g6", "g7", "g8"]
    make = maker(expected, "fb", customers)
    with Run(backend, latency=0.02, refuse="cus_poison") as run:
        await setup(run.ledger, customers, [make(i) for i in range(300)])
        run.server()
        took, states = await wait_until(run.ledger, lambda s: not s.get("pending"), 120)
        d = run.double
        check(f"{label}: {d.counts['stream_refused']} stream batches refused with 400 go out event by event through v1 "
              f"({d.counts['v1']} v1 requests) in {took or 0:.1f} s", took is not None and d.counts["stream_refused"] > 0 and d.counts["v1"] > 0,
              f"{states}; {dict(d.counts)}; {excerpts(run.servers)}")
        verify(label, run.ledger, run.double, expected, refused_customers=("poison",))
        errors = run.ledger.sql("SELECT stripe_state, COALESCE(stripe_error, '') FROM usage_events WHERE customer_id = 'poison'")
        check(f"{label}: the {len(errors)} events Stripe refuses end failed with Stripe's words",
              errors and all(s == "failed" and "No such customer" in e for s, e in errors), errors[:3])
        check(f"{label}: at most one v1 request in flight per customer and meter", d.max_inflight_v1 <= 1, d.max_inflight_v1)


async def outage_scenario(label, backend):
    seconds, total, expected = 60 // S, 5000 // S, {}
    customers = [f"c{i}" for i in range(10)]
    make = maker(expected, "out", customers)
    with Run(backend, latency=0.02) as run:
        await setup(run.ledger, customers)
        key, server = admin_key(run.ledger), run.server("--meter-events-max-backoff", "2")
        stats, failed_seen = new_stats(), [0]
        async with server.client(key) as c:
            run.double.outage(seconds)
            end = time.time() + seconds

            async def watch():
                while time.time() < end:
                    failed_seen[0] = max(failed_seen[0], (await run.ledger.astates()).get("failed", 0))
                    await asyncio.sleep(2)
            watcher = asyncio.create_task(watch())
            await drive(c, make, total, total / seconds, 0.5, stats, singles=2)
            await watcher
        check(f"{label}: {total:,} events of 10 customers recorded over the {seconds} s outage ({stats['seconds']:.0f} s), none refused",
              stats["recorded"] == total and not stats["refused"], stats)
        await asyncio.sleep(max(0.0, end - time.time()))
        took, states = await wait_until(run.ledger, lambda s: s.get("sent", 0) >= total or s.get("failed"), 120)
        d = run.double
        check(f"{label}: the edge answered {d.counts['html'] + d.counts['html_taken']} HTML 502/503/200 pages "
              f"({d.counts['html_taken']} after taking the events); all sent {took or 0:.1f} s after the outage, none failed on the way",
              took is not None and states == {"sent": total} and failed_seen[0] == 0 and d.counts["html_taken"] > 0,
              f"states {states}, failed seen during the outage {failed_seen[0]}; {excerpts(run.servers)}")
        verify(label, run.ledger, d, expected)
        again = sum(1 for i in d.html_taken if d.receipts[i] > 1)
        check(f"{label}: every event Stripe took under an HTML page was sent again with its identifier ({again} of {len(d.html_taken)})",
              again == len(d.html_taken), f"{len(d.html_taken) - again} were not")


async def load_scenario(label, backend, processes):
    seconds, rate, expected = 60 // S, 1000, {}
    make = maker(expected, "load", ["heavy"])
    with Run(backend, latency=0.2) as run:
        await setup(run.ledger, ["heavy"])
        key = admin_key(run.ledger)
        servers = [run.server("--meter-events-per-second", "20") for _ in range(processes)]
        if processes > 1:
            run.double.track_pids()
        stats, backlog = new_stats(), [0]
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(s.client(key)) for s in servers]
            done = asyncio.Event()

            async def watch():
                while not done.is_set():
                    backlog[0] = max(backlog[0], (await run.ledger.astates()).get("pending", 0))
                    await asyncio.sleep(2)
            watcher = asyncio.create_task(watch())

            async def end_sessions():
                await asyncio.sleep(seconds / 2)
                run.double.end_sessions()
            ender = asyncio.create_task(end_sessions())
            share = seconds * rate // processes
            per = [new_stats() for _ in clients]
            await asyncio.gather(*[drive(c, lambda i, k=k: make(k * share + i), share, rate / processes, 0.1 * processes, per[k], offset=0.1 * k)
                                   for k, c in enumerate(clients)])
            done.set()
            await watcher
            await ender
        for p in per:
            for k in ("recorded", "refused", "retries"):
                stats[k] += p[k]
            stats["error"] = stats["error"] or p["error"]
            stats["seconds"] = max(stats["seconds"], p["seconds"])
        total = share * processes
        check(f"{label}: {total:,} events recorded at {total / stats['seconds']:,.0f}/s for {stats['seconds']:.1f} s, none refused",
              stats["recorded"] == total and not stats["refused"], stats)
        took, states = await wait_until(run.ledger, lambda s: not s.get("pending"), 60, 0.2)
        d = run.double
        requests = len(d.arrivals)
        check(f"{label}: the backlog (peak {backlog[0]:,}) drained {took if took is not None else float('inf'):.1f} s after the load stopped "
              f"(limit 10 s)", took is not None and took <= 10 and not states.get("failed"), f"{states}; {excerpts(run.servers)}")
        verify(label, run.ledger, d, expected, once=True)
        per_pid = "/".join(str(n) for _, n in sorted(d.by_pid().items(), key=str)) if processes > 1 else ""
        check(f"{label}: at most {d.max_per_second()} meter-event requests in a calendar second (limit 20), {d.max_inflight} in flight "
              f"(limit 8); {requests} requests of {total / max(requests, 1):.0f} events{' (by process: ' + per_pid + ')' if per_pid else ''}",
              d.max_per_second() <= 20 and d.max_inflight <= 8, f"seconds over 20 (second, [(pid, ms)]): {d.seconds_over(20)}")
        check(f"{label}: all through the stream, no batch refused; Stripe ended the session mid-load: {d.counts['expired']} "
              f"expired-token answers, {d.counts['sessions']} sessions made", d.counts["v1"] == 0 and d.counts["invalid"] == 0
              and d.counts["bad_token"] == 0 and d.counts["not_found"] == 0 and d.counts["sessions"] >= 2, f"{dict(d.counts)}; {d.invalid}")


async def kill_scenario(label, backend):
    total, per_second = 20000 // S, 8 if not QUICK else 3
    kills_at, expected = ((6, 14) if not QUICK else (3, 7)), {}
    customers = [f"k{i}" for i in range(10)]
    make = maker(expected, "kill", customers)
    with Run(backend, latency=0.2, split=True) as run:
        await setup(run.ledger, customers, [make(i) for i in range(total)])
        d, args = run.double, ("--meter-events-lease", "2", "--meter-events-per-second", str(per_second),
                               "--stripe-meter-events-base", run.double.events_base)
        d.track_pids()
        for _ in range(2):
            run.server(*args)
        start = time.monotonic()
        while not d.arrivals and time.monotonic() - start < 30:
            await asyncio.sleep(0.05)
        first, killed, kills = time.monotonic(), [], []
        for at in kills_at:
            await asyncio.sleep(max(0.0, first + at - time.monotonic()))
            pid = d.sender_pid()
            alive = [s for s in run.servers if s.proc.poll() is None]
            victim = next((s for s in alive if s.proc.pid == pid), alive[0])
            victim.kill()
            killed.append(victim.proc.pid == pid)
            kills.append((time.time(), victim.proc.pid))
            run.server(*args)
        took, states = await wait_until(run.ledger, lambda s: not s.get("pending"), 240, 0.25)
        check(f"{label}: {total:,} pending events, two processes, the sender killed with SIGKILL {len(killed)} times and replaced "
              f"({sum(killed)} seen sending when killed): all sent {time.monotonic() - first:.1f} s after the first request "
              f"({took or 0:.1f} s after the last kill)", took is not None and states == {"sent": total},
              f"{states}; {excerpts(run.servers)}")
        resends = verify(label, run.ledger, d, expected)
        at_kills = d.resends_after(kills, 2.0)
        check(f"{label}: at most {d.max_per_second()} meter-event requests in a calendar second across the processes (limit {per_second}); "
              f"{len(d.arrivals)} requests, longest pause {d.longest_pause():.1f} s (lease 2 s); re-sends: {at_kills} of events a killed "
              f"process had sent in its last 2 s, {resends - at_kills} others", d.max_per_second() <= per_second,
              f"seconds over {per_second} (second from the first request, [(pid, ms)]): {d.seconds_over(per_second)}; kills at "
              f"{[(round(t - d.arrivals[0][0], 1), pid) for t, pid in kills]}")
        check(f"{label}: sessions on the API base, the stream on --stripe-meter-events-base; no batch refused",
              d.counts["not_found"] == 0 and d.counts["invalid"] == 0 and d.counts["v1"] == 0 and d.counts["stream"] > 0,
              f"{dict(d.counts)}; {d.invalid}")


async def run(label, scenario, *args):
    if ONLY not in label:
        return
    print(f"== {label}", flush=True)
    start = time.monotonic()
    try:
        await scenario(label, *args)
    except Exception as e:  # noqa: BLE001 - a scenario that cannot finish is a failure, the others still run
        check(f"{label}: runs to its end", False, f"{type(e).__name__}: {e}")
    print(f"   {label}: {time.monotonic() - start:.0f} s", flush=True)


async def main():
    start = time.monotonic()
    print(f"== delivery checks against {BINARY}{' (quick: durations and volumes / 6)' if QUICK else ''}; logs in {TMP}", flush=True)
    backends = ["sqlite"] + (["postgres"] if os.environ.get("BILLING_TEST_POSTGRES_URL") else [])
    await run("v1 · sqlite", v1_scenario, "sqlite")
    await run("fallback to v1 · sqlite", fallback_scenario, "sqlite")
    for b in backends:
        await run(f"outage · {b}", outage_scenario, b)
    for b in backends:
        for n in (1, 2):
            await run(f"load · {b} · {n} process{'es' if n > 1 else ''}", load_scenario, b, n)
    for b in backends:
        await run(f"kill -9 · {b}", kill_scenario, b)
    print(f"   total {time.monotonic() - start:.0f} s", flush=True)
    finish()


if __name__ == "__main__":
    asyncio.run(main())
