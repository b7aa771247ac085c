"""An upstream's elicitation reaches the caller whose call it is, with several callers at once:
`billing-mcp gateway --http` in front of the official @modelcontextprotocol/server-everything
(npm, pinned in node_tools.sh) served over streamable HTTP, four clients of the official MCP
Python client (PyPI `mcp`) on one customer key calling `trigger-elicitation-request` together.
Each client answers the elicitation with its own name after a moment (so all four calls are in
flight at once); each must be asked exactly once and get back its own name, never another's.

    python3 tests/acceptance/gateway_relay.py BINARY NODE EVERYTHING_JS

(NODE and EVERYTHING_JS default to $NODE22 and $EVERYTHING_JS, which `source node_tools.sh` sets.)
Prints ok/FAIL lines and "N passed, M failed"; exits 1 on any failure.
"""

import asyncio
import os
import subprocess
import sys
import tempfile
from contextlib import asynccontextmanager

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from ports import free_port, wait_port
from report import check, finish

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/billing-mcp")
NODE = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("NODE22", "")
EVERYTHING = sys.argv[3] if len(sys.argv) > 3 else os.environ.get("EVERYTHING_JS", "")
CATALOG = os.path.join(HERE, "..", "fixtures", "gateway.toml")
NAMES = ["Ada", "Bob", "Cyd", "Dee"]
ENV = {"PATH": os.environ.get("PATH", "")}


async def owner(flags, log, tool, args):
    """A tool of the ledger's own server (`serve --stdio`, the operator), its structured answer."""
    params = StdioServerParameters(command=BINARY, args=["serve", "--stdio", *flags], env=ENV)
    async with stdio_client(params, errlog=log) as (read, write):
        async with ClientSession(read, write) as s:
            await s.initialize()
            r = await s.call_tool(tool, args)
            if r.is_error:
                raise RuntimeError(f"{tool} {args}: {r.content[0].text}")
            return r.structured_content


@asynccontextmanager
async def caller(url, key, name, asked):
    """A session with the gateway paying with `key`, answering each elicitation with `name`."""

    async def elicitation(context, params):
        asked[name] += 1
        await asyncio.sleep(0.3)
        return types.ElicitResult(action="accept", content={"name": name})

    async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http:
        async with streamable_http_client(url, http_client=http) as (read, write, *_):
            async with ClientSession(read, write, elicitation_callback=elicitation) as s:
                await s.initialize()
                yield s


def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "text", None))


async def main():
    tmp = tempfile.mkdtemp(prefix="billing-gateway-relay-")
    log = open(os.path.join(tmp, "servers.log"), "w")  # every server's stderr
    print(f"== elicitation relayed to its own caller, four callers at once; servers' log in {tmp}", flush=True)
    flags = ["--catalog", CATALOG, "--database-url", f"sqlite://{tmp}/relay.db"]
    await owner(flags, log, "create_customer", {"customer": "acme", "plan": "team"})
    key = (await owner(flags, log, "create_api_key", {"role": "customer", "customer": "acme"}))["secret"]
    up_port, port = free_port(), free_port()
    upstream = subprocess.Popen([NODE, EVERYTHING, "streamableHttp"], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, env={**ENV, "PORT": str(up_port)})
    gateway = None
    try:
        wait_port(up_port, upstream, "server-everything streamableHttp")
        gateway = subprocess.Popen(
            [BINARY, "gateway", "--http", f"127.0.0.1:{port}", *flags,
             "--upstream", f"everything=http://127.0.0.1:{up_port}/mcp", "--upstream-timeout", "30"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=ENV)
        wait_port(port, gateway, "billing-mcp gateway --http")
        asked = {n: 0 for n in NAMES}
        url = f"http://127.0.0.1:{port}/mcp"
        async with caller(url, key, NAMES[0], asked) as a, caller(url, key, NAMES[1], asked) as b, \
                caller(url, key, NAMES[2], asked) as c, caller(url, key, NAMES[3], asked) as d:
            answers = await asyncio.gather(
                *(s.call_tool("trigger-elicitation-request", {}) for s in (a, b, c, d)))
        for name, answer in zip(NAMES, answers):
            said = text(answer)
            others = [n for n in NAMES if n != name and f"Name: {n}" in said]
            check(f"{name}'s call: answered with {name}'s own answer, no other caller's",
                  not answer.is_error and f"- Name: {name}" in said and not others, said)
        check("each caller was asked exactly once", all(v == 1 for v in asked.values()), asked)
        usage = await owner(flags, log, "get_usage", {"customer": "acme"})
        calls = sum(t.get("quantity", 0) for t in usage.get("totals", []))
        check("acme paid for the four calls", calls == 4, usage.get("totals"))
    finally:
        for p in (gateway, upstream):
            if p:
                p.kill()
                p.wait()
    finish(tmp, log)


asyncio.run(main())
