"""Issue 18's must-holds on races, crashes and customers' keys, from outside: `billing-mcp gateway`
(one process, then two on one ledger; then killed; then over HTTP) in front of an upstream written
with the official MCP Python SDK (fixtures/counting_upstream.py: `render` takes 50 ms and counts
every call it runs), driven by the official Python client (PyPI `mcp` 2.3.0) over stdio and HTTP,
on SQLite and, when BILLING_TEST_POSTGRES_URL is set, on PostgreSQL (a fresh database each). The
catalog is the gateway tests' own (tests/fixtures/gateway.toml: 5 credits a `render` on
`credits`, 100 calls a month on `team`).

- 1,000 credits at 5 a call, 64 concurrent callers making 300 calls: exactly 200 answered, 100
  refused with insufficient_credits, the upstream ran exactly 200, the balance is 0 and get_usage
  totals 200 calls;
- a quota of 100 calls a month, all 300 calls in flight at once: exactly 100 reach the upstream
  (its own count), 200 are refused with quota_exceeded and limit 100;
- kill -9 of the gateway with 50 calls held and in flight (holds of 5 s, an upstream taking 5 s):
  while held they reserve 250 credits; after the TTL nothing is charged (balance 1,000, no usage)
  and the holds count for nothing (300 calls again: exactly 200 answered);
- a call past --upstream-timeout and a call its client cancels (the upstream taking 3 s): each is
  cancelled upstream (never finishes there), charges nothing and leaves nothing held;
- with `charge_failed = true`: the upstream's refusal of a call as invalid params (a protocol error
  the Python SDK's server sends) reaches the caller unchanged and is never charged; its error
  result is charged (outcome error), as is its answer;
- two customers' keys on one HTTP gateway with --billing-tools: acme's key pays for its own call
  and is refused (forbidden) globex's usage, balance and a consume, with the same answer as for a
  customer that does not exist; globex is untouched.

    python3 tests/acceptance/gateway_race.py BINARY

Prints ok/FAIL lines and "N passed, M failed"; exits 1 on any failure.
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
from contextlib import AsyncExitStack, asynccontextmanager

from mcp import ClientSession, MCPError, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from ports import free_port, wait_port
from report import check, finish

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/billing-mcp")
CATALOG = os.path.join(HERE, "..", "fixtures", "gateway.toml")
UPSTREAM = os.path.join(HERE, "fixtures", "counting_upstream.py")
CREDITS, COST, CALLS, CALLERS, QUOTA = 1000, 5, 300, 64, 100
TTL, IN_FLIGHT = 5, 50  # the crash's hold TTL (seconds) and calls in flight when the gateway is killed
SLOW = 3  # seconds the upstream takes in the timeout and cancellation cases


class Ledger:
    """A fresh SQLite file in `tmp`, or a fresh PostgreSQL database (dropped afterwards)."""

    def __init__(self, backend, tmp, catalog=CATALOG):
        name = f"bgr_{int(time.time())}_{uuid.uuid4().hex[:10]}"
        self.backend, self.base = backend, os.environ.get("BILLING_TEST_POSTGRES_URL", "")
        if backend == "sqlite":
            self.url = f"sqlite://{tmp}/{name}.db"
        else:
            self.name = name
            subprocess.run(["psql", self.base, "-X", "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
            self.url = self.base.rsplit("/", 1)[0] + "/" + name
        self.flags = ["--catalog", catalog, "--database-url", self.url]

    def drop(self):
        if self.backend == "postgres":
            subprocess.run(["psql", self.base, "-X", "-q", "-c", f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"],
                           capture_output=True)


@asynccontextmanager
async def connect(args, log):
    params = StdioServerParameters(command=BINARY, args=args, env={"PATH": os.environ.get("PATH", "")})
    async with stdio_client(params, errlog=log) as (read, write):
        async with ClientSession(read, write) as s:
            await s.initialize()
            yield s


async def owner(ledger, log, tool, args):
    """A tool of the ledger's own server (`serve --stdio`, the operator), its structured answer."""
    async with connect(["serve", "--stdio", *ledger.flags], log) as s:
        r = await s.call_tool(tool, args)
        if r.is_error:
            raise RuntimeError(f"{tool} {args}: {r.content[0].text}")
        return r.structured_content


def refusal(result):
    """A tool error's JSON body ({} for a success)."""
    return json.loads(result.content[0].text) if result.is_error else {}


def gateway_args(ledger, count_file, serve, seconds=0.05, timeout=30):
    """`billing-mcp gateway` serving as `serve` says (`--stdio --customer C`, or `--http ADDR …`), in
    front of the counting upstream (`render` taking `seconds`)."""
    upstream = f"render={sys.executable} {UPSTREAM} {count_file} {seconds}"
    return ["gateway", *serve, *ledger.flags, "--upstream", upstream, "--upstream-timeout", str(timeout)]


async def race(ledger, log, customer, gateways, callers, count_file, timeout=30):
    """CALLS calls of `render` for `customer`, spread over `gateways` processes and `callers`
    concurrent callers; returns (answered, refusals by code, refusals' limits)."""
    args = gateway_args(ledger, count_file, ["--stdio", "--customer", customer], timeout=timeout)
    answered, refused, limits, queue = [0], {}, set(), list(range(CALLS))

    async def caller(s):
        while queue:
            page = queue.pop()
            r = await s.call_tool("render", {"page": f"p{page}"})
            if not r.is_error:
                answered[0] += r.content[0].text == f"rendered p{page}"
                continue
            body = refusal(r)
            refused[body.get("code")] = refused.get(body.get("code"), 0) + 1
            limits.add(body.get("limit"))

    async with AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(connect(args, log)) for _ in range(gateways)]
        await asyncio.gather(*(caller(sessions[i % gateways]) for i in range(callers)))
    return answered[0], refused, limits


def counted(count_file):
    return os.path.getsize(count_file) if os.path.exists(count_file) else 0


async def scenario(backend, gateways, tmp, log):
    ledger = Ledger(backend, tmp)
    where = f"{backend}, {gateways} gateway process{'es' if gateways > 1 else ''}"
    try:
        await owner(ledger, log, "create_customer", {"customer": "acme", "plan": "credits"})
        await owner(ledger, log, "grant_credits", {"customer": "acme", "credits": CREDITS})
        count_file = os.path.join(tmp, f"{uuid.uuid4().hex}.count")
        ok, refused, _ = await race(ledger, log, "acme", gateways, CALLERS, count_file)
        balance = await owner(ledger, log, "get_credit_balance", {"customer": "acme"})
        usage = await owner(ledger, log, "get_usage", {"customer": "acme", "limit": 1})
        want = CREDITS // COST
        check(f"{where}: {CREDITS} credits at {COST} a call, {CALLERS} callers, {CALLS} calls: exactly {want} answered, "
              f"{CALLS - want} refused with insufficient_credits", (ok, refused) == (want, {"insufficient_credits": CALLS - want}),
              (ok, refused))
        check(f"{where}: the upstream ran exactly {want} (its own count)", counted(count_file) == want, counted(count_file))
        totals = [(t["meter"], t["tool"], t["quantity"], t["events"]) for t in usage.get("totals", [])]
        check(f"{where}: the balance is 0; get_usage totals {want} render calls in {want} events",
              balance.get("balance") == 0 and totals == [("tool_calls", "render", want, want)], (balance.get("balance"), totals))

        await owner(ledger, log, "create_customer", {"customer": "teamco", "plan": "team"})
        count_file = os.path.join(tmp, f"{uuid.uuid4().hex}.count")
        ok, refused, limits = await race(ledger, log, "teamco", gateways, CALLS, count_file)
        check(f"{where}: a quota of {QUOTA} a month, {CALLS} calls in flight at once: exactly {QUOTA} answered, "
              f"{CALLS - QUOTA} refused with quota_exceeded (limit {QUOTA})",
              (ok, refused, limits) == (QUOTA, {"quota_exceeded": CALLS - QUOTA}, {QUOTA}), (ok, refused, limits))
        check(f"{where}: exactly {QUOTA} calls reached the upstream (its own count)", counted(count_file) == QUOTA,
              counted(count_file))
    finally:
        ledger.drop()


def gateway_pids(customer):
    """The `billing-mcp gateway` processes serving `customer`."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if args[:2] == [BINARY.encode(), b"gateway"] and customer.encode() in args:
            pids.append(int(entry))
    return pids


async def crash(backend, tmp, log):
    """kill -9 of the gateway with 50 calls held and in flight: after the hold TTL nothing is
    charged, and the holds count for nothing (exactly 200 of 300 calls again)."""
    catalog = os.path.join(tmp, "short_holds.toml")
    with open(CATALOG) as f:
        text = f.read()
    assert "hold_ttl_seconds = 60" in text, "the gateway tests' catalog no longer sets hold_ttl_seconds = 60"
    with open(catalog, "w") as f:
        f.write(text.replace("hold_ttl_seconds = 60", f"hold_ttl_seconds = {TTL}"))
    ledger = Ledger(backend, tmp, catalog)
    where = f"{backend}, kill -9"
    try:
        await owner(ledger, log, "create_customer", {"customer": "crashco", "plan": "credits"})
        await owner(ledger, log, "grant_credits", {"customer": "crashco", "credits": CREDITS})
        args = gateway_args(ledger, os.path.join(tmp, "slow.count"), ["--stdio", "--customer", "crashco"], seconds=TTL,
                            timeout=TTL - 1)
        answers = []
        try:
            async with connect(args, log) as s:
                calls = [asyncio.create_task(s.call_tool("render", {"page": f"p{i}"})) for i in range(IN_FLIGHT)]
                await asyncio.sleep(1.5)
                fits = [await owner(ledger, log, "check_entitlement", {"customer": "crashco", "feature": "tool_calls",
                                                                        "tool": "render", "quantity": q}) for q in (150, 151)]
                killed = gateway_pids("crashco")
                for pid in killed:
                    os.kill(pid, signal.SIGKILL)
                answers = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 30)
        except Exception:  # the client's session ends with its server: expected here
            pass
        killed_at = time.monotonic()
        check(f"{where}: {IN_FLIGHT} calls held at once reserve {IN_FLIGHT * COST} credits (150 calls still fit, 151 do not)",
              [f.get("allowed") for f in fits] == [True, False], fits)
        answered = [a for a in answers if not isinstance(a, BaseException) and not a.is_error]
        check(f"{where}: the gateway process was killed with {IN_FLIGHT} calls in flight, none answered",
              len(killed) == 1 and not answered, (killed, answers[:3]))
        await asyncio.sleep(max(0.0, TTL + 1 - (time.monotonic() - killed_at)))
        balance = await owner(ledger, log, "get_credit_balance", {"customer": "crashco"})
        usage = await owner(ledger, log, "get_usage", {"customer": "crashco"})
        check(f"{where}: after the hold TTL ({TTL} s) nothing is charged: balance {CREDITS}, no usage",
              balance.get("balance") == CREDITS and usage.get("totals") == [], (balance.get("balance"), usage.get("totals")))
        ok, refused, _ = await race(ledger, log, "crashco", 1, CALLERS, os.path.join(tmp, "after.count"), TTL - 1)
        want = CREDITS // COST
        check(f"{where}: the expired holds count for nothing: {CALLS} calls, exactly {want} answered",
              (ok, refused) == (want, {"insufficient_credits": CALLS - want}), (ok, refused))
    finally:
        ledger.drop()


async def failures(backend, tmp, log):
    """A call the gateway times out, and a call its client cancels: each is cancelled upstream
    (the upstream never finishes it), charges nothing and holds nothing afterwards."""
    ledger, where = Ledger(backend, tmp), f"{backend}, failed calls"
    try:
        await owner(ledger, log, "create_customer", {"customer": "failco", "plan": "credits"})
        await owner(ledger, log, "grant_credits", {"customer": "failco", "credits": CREDITS})
        outcomes = {}
        for case, timeout in (("timed out", 1), ("cancelled", 30)):
            count_file = os.path.join(tmp, f"{uuid.uuid4().hex}.count")
            args = gateway_args(ledger, count_file, ["--stdio", "--customer", "failco"], seconds=SLOW, timeout=timeout)
            async with connect(args, log) as s:
                call = asyncio.create_task(s.call_tool("render", {"page": case}))
                if case == "cancelled":
                    await asyncio.sleep(1)
                    call.cancel()
                answer = (await asyncio.gather(call, return_exceptions=True))[0]
                # Past the time the upstream would have taken: a call it ran to the end is counted.
                await asyncio.sleep(SLOW + 0.5)
            fits = await owner(ledger, log, "check_entitlement", {"customer": "failco", "feature": "tool_calls",
                                                                   "tool": "render", "quantity": CREDITS // COST})
            outcomes[case] = (type(answer).__name__, counted(count_file), fits.get("allowed"))
        balance = await owner(ledger, log, "get_credit_balance", {"customer": "failco"})
        usage = await owner(ledger, log, "get_usage", {"customer": "failco"})
        check(f"{where}: a call past --upstream-timeout is answered with an error and never finishes upstream; "
              f"all {CREDITS // COST} calls still fit afterwards (nothing held)",
              outcomes["timed out"] == ("MCPError", 0, True), outcomes)
        check(f"{where}: a call its client cancels never finishes upstream; all {CREDITS // COST} calls still fit "
              "afterwards (nothing held)", outcomes["cancelled"] == ("CancelledError", 0, True), outcomes)
        check(f"{where}: neither is charged: balance {CREDITS}, no usage",
              balance.get("balance") == CREDITS and usage.get("totals") == [], (balance.get("balance"), usage.get("totals")))
    finally:
        ledger.drop()


async def charge_failed(backend, tmp, log):
    """With charge_failed = true: a call the upstream ran and failed (an error result) is charged;
    a request it refused as a protocol error (invalid params) never is."""
    catalog = os.path.join(tmp, "charge_failed.toml")
    with open(CATALOG) as f:
        text = f.read()
    assert "[gateway]\n" in text, "the gateway tests' catalog no longer has a [gateway] table"
    with open(catalog, "w") as f:
        f.write(text.replace("[gateway]\n", "[gateway]\ncharge_failed = true\n"))
    ledger, where = Ledger(backend, tmp, catalog), f"{backend}, charge_failed"
    try:
        await owner(ledger, log, "create_customer", {"customer": "strictco", "plan": "team"})
        count_file = os.path.join(tmp, f"{uuid.uuid4().hex}.count")
        async with connect(gateway_args(ledger, count_file, ["--stdio", "--customer", "strictco"]), log) as s:
            try:
                refused = await s.call_tool("refuse", {})
            except MCPError as e:
                refused = (e.error.code, e.error.message)
            failed = await s.call_tool("fail", {})
            rendered = await s.call_tool("render", {"page": "ok"})
        usage = await owner(ledger, log, "get_usage", {"customer": "strictco", "limit": 100})
        charged = sorted((e["dimensions"].get("tool"), e["dimensions"].get("outcome")) for e in usage.get("events", []))
        check(f"{where}: the upstream's refusal reaches the caller as it sent it (-32602, its message)",
              refused == (types.INVALID_PARAMS, "refuse takes no call"), refused)
        check(f"{where}: its failure is an error result, its answer a result",
              failed.is_error and not rendered.is_error, (failed, rendered))
        check(f"{where}: charged are the failure (outcome error) and the answer (ok), never the refusal",
              charged == [("fail", "error"), ("render", "ok")], charged)
    finally:
        ledger.drop()


@asynccontextmanager
async def over_http(url, key):
    """A session with the gateway at `url` over streamable HTTP, paying with customer key `key`."""
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http:
        async with streamable_http_client(url, http_client=http) as (read, write, *_):
            async with ClientSession(read, write) as s:
                await s.initialize()
                yield s


async def isolation(backend, tmp, log):
    """Two customers' keys on one HTTP gateway (with --billing-tools): each pays for its own calls
    only, and never reads or spends the other's."""
    ledger, where = Ledger(backend, tmp), f"{backend}, HTTP gateway"
    try:
        keys = {}
        for c in ("acme", "globex"):
            await owner(ledger, log, "create_customer", {"customer": c, "plan": "credits"})
            await owner(ledger, log, "grant_credits", {"customer": c, "credits": 100})
            keys[c] = (await owner(ledger, log, "create_api_key", {"role": "customer", "customer": c}))["secret"]
        port = free_port()
        args = gateway_args(ledger, os.path.join(tmp, "http.count"), ["--http", f"127.0.0.1:{port}", "--billing-tools"])
        gateway = subprocess.Popen([BINARY, *args], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   env={"PATH": os.environ.get("PATH", "")})
        try:
            wait_port(port, gateway, "billing-mcp gateway --http")
            async with over_http(f"http://127.0.0.1:{port}/mcp", keys["acme"]) as acme:
                rendered = await acme.call_tool("render", {"page": "mine"})
                others = {tool: refusal(await acme.call_tool(tool, args)) for tool, args in (
                    ("get_usage", {"customer": "globex"}),
                    ("get_credit_balance", {"customer": "globex"}),
                    ("check_entitlement", {"customer": "globex", "feature": "tool_calls", "consume": True}),
                )}
                nobody = refusal(await acme.call_tool("get_usage", {"customer": "nobody"}))
                own = await acme.call_tool("get_credit_balance", {})
        finally:
            gateway.kill()
            gateway.wait()
        check(f"{where}: acme's key calls render and acme pays 5 credits",
              not rendered.is_error and (own.structured_content or {}).get("balance") == 95, (rendered, own))
        check(f"{where}: acme's key cannot read or spend globex's (get_usage, get_credit_balance, check_entitlement "
              "with consume: forbidden)", all(b.get("code") == "forbidden" for b in others.values()), others)
        check(f"{where}: asking after a customer that exists answers as for one that does not (no hint of its id)",
              nobody == others["get_usage"], (nobody, others["get_usage"]))
        balance = await owner(ledger, log, "get_credit_balance", {"customer": "globex"})
        usage = await owner(ledger, log, "get_usage", {"customer": "globex"})
        check(f"{where}: globex is untouched: balance 100, no usage",
              balance.get("balance") == 100 and usage.get("totals") == [], (balance.get("balance"), usage.get("totals")))
    finally:
        ledger.drop()


async def main():
    tmp = tempfile.mkdtemp(prefix="billing-gateway-race-")
    log = open(os.path.join(tmp, "servers.log"), "w")  # every server's stderr
    backends = ["sqlite"] + (["postgres"] if os.environ.get("BILLING_TEST_POSTGRES_URL") else [])
    print(f"== the gateway's races from outside; servers' log in {tmp} (kept on failure)", flush=True)
    for backend in backends:
        for gateways in (1, 2):
            await scenario(backend, gateways, tmp, log)
        await crash(backend, tmp, log)
        await failures(backend, tmp, log)
        await charge_failed(backend, tmp, log)
        await isolation(backend, tmp, log)
    finish(tmp, log)


asyncio.run(main())
