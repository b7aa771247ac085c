"""`billing-mcp gateway` in front of a third-party MCP server, the official reference server
@modelcontextprotocol/server-everything (npm, pinned in node_tools.sh) on Node 24, driven by the
official MCP Python client (PyPI `mcp` 2.3.0) over stdio and compared with that server spoken to
directly: tools/list is the upstream's, field for field, for a client of the capabilities the
gateway declares upstream (sampling, form elicitation); every tool answers through the gateway as
it does directly (the same calls in the same order, apart from a resource's time of day), paid by
customer acme on a per-call price (one tool priced apart); the upstream's failures come back
unchanged and uncharged; get_usage holds one event per successful call (tool = the upstream
tool, server_id = everything) and preview_invoice the price worked by hand; with charge_failed the
upstream's error results are charged and protocol errors would not be (server-everything sends its
refusals as error results: the known gap refusal_as_result); on a plan of 5 calls
a month the 6th is refused (quota_exceeded, limit 5) and not recorded. Known gaps (GAPS) print
as `gap` while they hold and fail once they do not, so the list stays true.

    python3 tests/acceptance/gateway.py BINARY NODE EVERYTHING_JS

(NODE and EVERYTHING_JS default to $NODE22 and $EVERYTHING_JS, which `source node_tools.sh` sets.)
Prints ok/FAIL/gap lines and "N passed, M failed"; exits 1 on any failure.
"""

import asyncio
import base64
import json
import os
import re
import signal
import sys
import tempfile
import time
from contextlib import asynccontextmanager

from mcp import ClientSession, MCPError, StdioServerParameters, types
from mcp.client.stdio import get_default_environment, stdio_client

import report
from report import check

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/billing-mcp")
NODE = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("NODE22", "")
EVERYTHING = sys.argv[3] if len(sys.argv) > 3 else os.environ.get("EVERYTHING_JS", "")
UNIT, TINY_IMAGE_PRICE, FREE_LIMIT = 2, 7, 5  # cents a call; get-tiny-image's own price; calls a month
CATALOG = f"""currency = "usd"
default_plan = "free"
[meters.tool_calls]
event_name = "tool_call_executed"
dimensions = ["tool", "server_id"]
[features.tool_calls]
meter = "tool_calls"
[plans.free]
features = ["tool_calls"]
[plans.free.meters.tool_calls]
limits = {{ month = {FREE_LIMIT} }}
[plans.metered]
features = ["tool_calls"]
at_limit = "charge_overage"
[plans.metered.meters.tool_calls]
price = {{ unit_amount = {UNIT} }}
tool_prices = {{ "get-tiny-image" = {{ unit_amount = {TINY_IMAGE_PRICE} }} }}
[gateway]
feature = "tool_calls"
"""
HELLO = "data:text/plain;base64," + base64.b64encode(b"hello, gateway\n" * 20).decode()
# Every tool the upstream serves the gateway, with valid arguments, in the order they are called
# (the toggles twice: on, then off again). Called the same way directly and through the gateway.
CALLS = [
    ("echo", {"message": "hello through the gateway"}),
    ("get-annotated-message", {"messageType": "success", "includeImage": True}),
    ("get-env", {}),
    ("get-resource-links", {"count": 4}),
    ("get-resource-reference", {"resourceType": "Blob", "resourceId": 2}),
    ("get-resource-reference", {"resourceType": "Text", "resourceId": 3}),
    ("get-structured-content", {"location": "Chicago"}),
    ("get-sum", {"a": 19, "b": 23.5}),
    ("get-tiny-image", {}),
    ("gzip-file-as-resource", {"name": "hello.txt.gz", "data": HELLO, "outputType": "resource"}),
    ("gzip-file-as-resource", {"name": "link.txt.gz", "data": HELLO, "outputType": "resourceLink"}),
    *[("toggle-simulated-logging", {})] * 2,
    *[("toggle-subscriber-updates", {})] * 2,
    ("trigger-long-running-operation", {"duration": 1, "steps": 2}),
    ("trigger-elicitation-request", {}),
    ("trigger-sampling-request", {"prompt": "Say hello", "maxTokens": 20}),
]
# Calls the upstream fails: error results (a URL scheme it refuses; a task-only tool called
# without a task) and invalid arguments.
FAILING = [
    ("gzip-file-as-resource", {"name": "x.gz", "data": "ftp://example.com/x"}),
    ("simulate-research-query", {"topic": "billing"}),
    ("get-sum", {"a": "nineteen", "b": 23}),
]
NOT_CALLED_OK = {
    "simulate-research-query": "execution.taskSupport is required: it runs only as a task (tasks/get, tasks/result), "
    "which the gateway does not serve; called without one, the upstream refuses (see the failing calls)",
}
GAPS = {
    "execution": "tools/list drops each tool's `execution` (taskSupport): rmcp 3.9's Tool has no such field",
    "refusal_as_result": "server-everything (the TypeScript SDK's McpServer) answers a task-only tool called "
    "without a task with an error result (`MCP error -32601: … requires task augmentation`), not a protocol error: "
    "the gateway cannot tell it from a failure that ran, so charge_failed charges it",
    "temperature": "a relayed sampling request's temperature 0.7 arrives as 0.699999988079071: rmcp 3.9 holds it "
    "as f32 (CreateMessageRequestParams)",
}
# Every server here gets the client's default environment (no secret of the CI's; get-env prints
# it) and a marker, which the upstream under the gateway sees too.
ENV = {**get_default_environment(), "GATEWAY_CHECK": "passed through"}
TIME = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\s?[AP]M\b")  # new Date().toLocaleTimeString() in resources
relayed = {"direct": [], "gateway": []}  # sampling and elicitation requests received, by side
side = ["direct"]


def gap(key, holds, detail=""):
    """A known gap: reported while it holds, a failure once it does not (remove it from GAPS)."""
    if holds:
        report.gap(key, GAPS[key])
    else:
        check(f"known gap `{key}` no longer holds: remove it from GAPS", False, detail)


class FormElicitationOnly(ClientSession):
    """Declares what the gateway declares upstream: sampling and form (not URL) elicitation.
    (server-everything registers some tools by the client's capabilities.)"""

    def _build_capabilities(self, version):
        caps = super()._build_capabilities(version)
        caps.elicitation = types.ElicitationCapability(form=types.FormElicitationCapability())
        return caps


def received(params):
    """A relayed request as it arrived, less the progress token each sender adds to its requests."""
    request = params.model_dump(mode="json", by_alias=True, exclude_none=True)
    request.get("_meta", {}).pop("progressToken", None)
    if not request.get("_meta", True):
        del request["_meta"]
    relayed[side[0]].append(request)


async def sampling(context, params):
    received(params)
    return types.CreateMessageResult(role="assistant", model="echo-model", stop_reason="endTurn",
                                     content=types.TextContent(type="text", text="sampled: hello"))


async def elicitation(context, params):
    received(params)
    # Keys sorted: the gateway sorts a JSON object's keys (harmless), the upstream prints them back.
    return types.ElicitResult(action="accept", content={"check": True, "integer": 7, "name": "Ada Lovelace"})


@asynccontextmanager
async def connect(command, args, errlog, session=FormElicitationOnly, env=ENV):
    params = StdioServerParameters(command=command, args=args, env=env)
    async with stdio_client(params, errlog=errlog) as (read, write):
        async with session(read, write, sampling_callback=sampling, elicitation_callback=elicitation) as s:
            await s.initialize()
            yield s


def stable(x, key=None):
    """The answer with the time of day some resources carry (text, or a text blob) masked."""
    if isinstance(x, dict):
        return {k: stable(v, k) for k, v in x.items()}
    if isinstance(x, list):
        return [stable(v) for v in x]
    if key == "text" and isinstance(x, str) and x.startswith("{"):
        try:  # a JSON object (get-env's environment): its keys in any order
            return json.dumps(json.loads(x), sort_keys=True)
        except ValueError:
            pass
    try:
        return "text blob: " + TIME.sub("<time>", base64.b64decode(x).decode()) if key == "blob" else TIME.sub("<time>", x)
    except (ValueError, TypeError):  # a binary blob; not a string
        return x


async def call(s, tool, args, progress=None, meta=None):
    """A comparable answer: the result's JSON, or the protocol error's code and message."""
    try:
        r = await s.call_tool(tool, args, progress_callback=progress, meta=meta)
        return stable(r.model_dump(mode="json", by_alias=True, exclude_none=True))
    except MCPError as e:
        return {"protocol_error": e.error.code, "message": e.error.message}


async def ledger(work, tool, args):
    async with connect(BINARY, ["serve", "--stdio", *work["flags"]], work["log"], ClientSession) as s:
        r = await s.call_tool(tool, args)
        return r.structured_content if not r.is_error else {"error": r.content[0].text}


def upstream_pids():
    """The server-everything processes a gateway process started."""
    def cmdline(pid):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = f.read().rsplit(")", 1)[1].split()[1]
            # a child of `billing-mcp gateway …` running server-everything
            if EVERYTHING.encode() in cmdline(entry) and cmdline(parent).split(b"\0")[1:2] == [b"gateway"]:
                pids.append(int(entry))
        except (OSError, ValueError, IndexError):
            pass
    return sorted(pids)


def gateway_args(work, customer):
    return ["gateway", "--stdio", *work["flags"], "--customer", customer,
            "--upstream", f"everything={NODE} {EVERYTHING} stdio", "--upstream-env", "everything=GATEWAY_CHECK"]


async def main():
    if not (os.path.isfile(NODE) and os.path.isfile(EVERYTHING)):
        raise SystemExit("need Node 24 and server-everything: source tests/acceptance/node_tools.sh, "
                         "then pass \"$NODE22\" \"$EVERYTHING_JS\"")
    tmp = tempfile.mkdtemp(prefix="billing-gateway-")
    with open(os.path.join(tmp, "billing.toml"), "w") as f:
        f.write(CATALOG)
    log = open(os.path.join(tmp, "servers.log"), "w")  # the servers' stderr
    work = {"log": log, "flags": ["--catalog", os.path.join(tmp, "billing.toml"),
                                  "--database-url", f"sqlite://{tmp}/billing.db"]}
    print(f"== server-everything at {EVERYTHING}; ledger and servers' logs in {tmp} (kept on failure)", flush=True)
    for customer, plan in (("acme", "metered"), ("retry", "metered"), ("restart", "metered"), ("freebie", "free")):
        created = await ledger(work, "create_customer", {"customer": customer, "plan": plan})
        check(f"customer {customer} created on plan {plan}", created.get("plan") == plan, created)

    print("== tools/list and every tool, through the gateway and directly", flush=True)
    answers, progress = {"direct": [], "gateway": []}, {"direct": [], "gateway": []}
    for side[0], command, args in (("direct", NODE, [EVERYTHING, "stdio"]), ("gateway", BINARY, gateway_args(work, "acme"))):
        async def note(p, total, message, at=side[0]):
            progress[at].append((p, total, message))
        async with connect(command, args, log) as s:
            answers[side[0]].append([t.model_dump(mode="json", by_alias=True, exclude_none=True)
                                     for t in (await s.list_tools()).tools])
            for tool, arguments in CALLS + FAILING:
                answers[side[0]].append(await call(s, tool, arguments, note))
    upstream, served = answers["direct"].pop(0), answers["gateway"].pop(0)
    by_name = {t["name"]: t for t in upstream}
    for t in served:
        want = dict(by_name.get(t["name"], {}))
        want.pop("execution", None)  # GAPS["execution"]
        fields = [k for k in sorted(set(t) | set(want)) if t.get(k) != want.get(k)]
        check(f"tools/list: {t['name']} as the upstream lists it (name, title, description, inputSchema, "
              "outputSchema, annotations)", not fields, f"differs in {fields}: {t} vs {want}")
    check(f"tools/list: the same {len(upstream)} tools in the same order",
          [t["name"] for t in served] == [t["name"] for t in upstream],
          ([t["name"] for t in served], [t["name"] for t in upstream]))
    gap("execution", all("execution" not in t for t in served) and any("execution" in t for t in upstream), served)
    async with connect(NODE, [EVERYTHING, "stdio"], log, ClientSession) as s:
        url_only = sorted({t.name for t in (await s.list_tools()).tools} - set(by_name))
    print(f"note: a client also offering URL elicitation sees {url_only or 'no other tool'} directly; the gateway "
          "connects upstream once, declaring sampling and form elicitation only", flush=True)
    tried = {tool for tool, _ in CALLS + FAILING}
    check("every tool served is called", set(by_name) == tried, sorted(set(by_name) ^ tried))
    for tool, why in NOT_CALLED_OK.items():
        print(f"skip {tool} (no successful call): {why}", flush=True)

    for (tool, arguments), want, got in zip(CALLS + FAILING, answers["direct"], answers["gateway"]):
        label = f"{tool} {json.dumps(arguments)[:60]}"
        if (tool, arguments) in FAILING:
            check(f"{label}: the upstream's failure, unchanged", got == want and (
                got.get("isError") or "protocol_error" in got), (got, want))
        else:
            check(f"{label}: the upstream's answer", got == want and not got.get("isError"), (got, want))
    temperatures = [r.pop("temperature", None) for r in relayed["direct"] + relayed["gateway"]]
    env_answer = answers["gateway"][CALLS.index(("get-env", {}))]
    check("get-env: the upstream has the variable --upstream-env passes on", "GATEWAY_CHECK" in json.dumps(env_answer), env_answer)
    check("sampling and elicitation requests reach the caller as the upstream sent them (temperature apart)",
          relayed["gateway"] == relayed["direct"] and len(relayed["direct"]) == 2, relayed)
    gap("temperature", temperatures == [None, 0.7, None, 0.699999988079071], temperatures)
    check("trigger-long-running-operation: the upstream sent progress", len(progress["direct"]) == 2, progress)
    check("trigger-long-running-operation: the upstream's progress reaches the caller through the gateway",
          len(progress["gateway"]) == len(progress["direct"]), progress)

    print("== usage and the invoice of the metered customer", flush=True)
    usage = await ledger(work, "get_usage", {"customer": "acme", "limit": 100})
    events, ok_calls = usage.get("events", []), [tool for tool, _ in CALLS]
    check(f"get_usage: one tool_calls event of quantity 1 per successful call ({len(ok_calls)}), none for "
          f"the {len(FAILING)} failed", len(events) == len(ok_calls) and all(
              e["meter"] == "tool_calls" and e["quantity"] == 1 for e in events), usage)
    check("get_usage: each event's tool is the upstream tool called, its server_id everything",
          sorted(e["dimensions"].get("tool") for e in events) == sorted(ok_calls)
          and all(e["dimensions"].get("server_id") == "everything" for e in events),
          [e["dimensions"] for e in events])
    invoice = await ledger(work, "preview_invoice", {"customer": "acme"})
    tiny = ok_calls.count("get-tiny-image")
    expected = (len(ok_calls) - tiny) * UNIT + tiny * TINY_IMAGE_PRICE
    print(f"     by hand: {len(ok_calls) - tiny} calls x {UNIT}c + {tiny} get-tiny-image x {TINY_IMAGE_PRICE}c"
          f" = {expected}c", flush=True)
    lines = [(ln.get("dimension_value"), ln["quantity"], ln["amount"]["amount"]) for ln in invoice.get("lines", [])]
    check(f"preview_invoice: total {expected} cents", invoice.get("total", {}).get("amount") == expected, invoice)
    check(f"preview_invoice: get-tiny-image on a line of its own, {tiny} x {TINY_IMAGE_PRICE}c",
          ("get-tiny-image", tiny, tiny * TINY_IMAGE_PRICE) in lines, lines)

    print("== charge_failed = true: a failure the upstream ran is charged, a request it refused is not", flush=True)
    with open(os.path.join(tmp, "charge_failed.toml"), "w") as f:
        f.write(CATALOG + "charge_failed = true\n")  # [gateway] is the catalog's last table
    strict = {**work, "flags": ["--catalog", os.path.join(tmp, "charge_failed.toml"), *work["flags"][2:]]}
    created = await ledger(work, "create_customer", {"customer": "strict", "plan": "metered"})
    check("customer strict created on plan metered", created.get("plan") == "metered", created)
    direct_failing = answers["direct"][len(CALLS):]
    ran = [tool for (tool, _), want in zip(FAILING, direct_failing) if want.get("isError")]
    unrun = [tool for (tool, _), want in zip(FAILING, direct_failing) if "protocol_error" in want]
    print(f"     directly: error results from {ran}, protocol errors from {unrun}", flush=True)
    async with connect(BINARY, gateway_args(strict, "strict"), log) as s:
        through = [await call(s, tool, arguments) for tool, arguments in FAILING + [("echo", {"message": "ok"})]]
    check("charge_failed: each failure reaches the caller as the upstream sent it",
          through[:-1] == direct_failing, (through, direct_failing))
    usage = await ledger(work, "get_usage", {"customer": "strict", "limit": 100})
    charged = sorted(e["dimensions"].get("tool") for e in usage.get("events", []))
    check(f"charge_failed: charged are the error results {ran} and the answered echo, not the protocol "
          f"errors {unrun}", charged == sorted(ran + ["echo"]), usage)
    wrapped = [tool for (tool, _), want in zip(FAILING, direct_failing) if want.get("isError")
               and want["content"][0].get("text", "").startswith("MCP error -32601:")]
    gap("refusal_as_result", "simulate-research-query" in wrapped and "simulate-research-query" in charged,
        direct_failing)

    print("== a retried call; the gateway's environment as the upstream sees it", flush=True)
    secret = "sk_" + "test_" + "gatewaycheck00"  # made up; Stripe is a closed local port
    env = {**ENV, "STRIPE_SECRET_KEY": secret, "STRIPE_API_BASE": "http://127.0.0.1:9"}
    async with connect(BINARY, gateway_args(work, "retry"), log, env=env) as s:
        key = {"billing-mcp/idempotency_key": "retry-1"}
        retried = [await call(s, "echo", {"message": "again"}, meta=key) for _ in range(2)]
        seen = json.dumps(await call(s, "get-env", {}))
    usage = await ledger(work, "get_usage", {"customer": "retry"})
    echoes = [e for e in usage.get("events", []) if e["dimensions"].get("tool") == "echo"]
    refused = json.loads(retried[1]["content"][0]["text"]) if retried[1].get("isError") else {}
    check("a call retried with its idempotency key after it answered: refused as already_answered",
          not retried[0].get("isError") and refused.get("code") == "already_answered", retried)
    check("a call retried with the same _meta billing-mcp/idempotency_key is charged once", len(echoes) == 1,
          f"{len(echoes)} echo events")
    check("a stdio upstream gets none of the gateway's own settings (its STRIPE_SECRET_KEY)", secret not in seen
          and "GATEWAY_CHECK" in seen, seen[:300])

    print("== the upstream process killed: started again, failed calls not charged", flush=True)
    async with connect(BINARY, gateway_args(work, "restart"), log) as s:
        first = await call(s, "echo", {"message": "before"})
        killed = upstream_pids()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        answered, failed, deadline = 1, 0, time.monotonic() + 20
        while time.monotonic() < deadline:
            got = await call(s, "echo", {"message": "after"})
            if got.get("isError") or "protocol_error" in got:
                failed += 1
                await asyncio.sleep(0.05)
                continue
            answered += 1
            break
        again = upstream_pids()
    usage = await ledger(work, "get_usage", {"customer": "restart"})
    check("a killed child upstream is started again and answers the next calls",
          not first.get("isError") and len(killed) == 1 and len(again) == 1 and again != killed
          and answered == 2, (first, killed, again, answered, failed))
    check(f"only the answered calls are charged ({failed} failed while it restarted)",
          len(usage.get("events", [])) == answered, usage)

    print(f"== a freemium plan of {FREE_LIMIT} calls a month", flush=True)
    async with connect(BINARY, gateway_args(work, "freebie"), log) as s:
        answers = [await call(s, "echo", {"message": f"call {i}"}) for i in range(1, FREE_LIMIT + 2)]
    passed = [a["content"][0]["text"] for a in answers[:FREE_LIMIT] if not a.get("isError")]
    check(f"the first {FREE_LIMIT} calls pass and answer as the upstream does",
          passed == [f"Echo: call {i}" for i in range(1, FREE_LIMIT + 1)], answers)
    try:  # a refusal's text is JSON {"code", "message", "limit", "resets_at", ...}
        refused = json.loads(answers[-1]["content"][0]["text"]) if answers[-1].get("isError") else {}
    except (KeyError, ValueError):
        refused = {}
    check(f"call {FREE_LIMIT + 1} is refused: is_error, code quota_exceeded, limit {FREE_LIMIT}, a reset time",
          refused.get("code") == "quota_exceeded" and refused.get("limit") == FREE_LIMIT
          and bool(refused.get("resets_at")), answers[-1])
    usage = await ledger(work, "get_usage", {"customer": "freebie", "limit": 100})
    check(f"get_usage: {FREE_LIMIT} events, the refused call not among them", len(usage.get("events", [])) == FREE_LIMIT, usage)

    report.finish(tmp, log)


asyncio.run(main())
