"""The MCP Inspector CLI (@modelcontextprotocol/inspector --cli, non-interactive) against the real
binary over stdio and over streamable HTTP, in both protocol eras (legacy: initialize, 2025-11-25;
modern: 2026-07-28, stateless).

Each check is one Inspector run, asserted on its exit code (0 ok, 3 auth required, 5 tool error
or tool not found, 6 schema portability errors under --strict; 1 other error, 4 unreachable),
its JSON result on stdout and its JSON error line on stderr:
- initialize names the era's protocol version; tools/list lists the tools, and --strict finds
  no error-severity schema portability problem (warnings are counted, not failed);
- read tools answer (list_plans, quote_price's figures, a write then a read back);
- --app-info finds get_dashboard's MCP App (its ui:// resource read, its CSP) and no app on
  other tools;
- every kind of error comes back as the Inspector's tool error (exit 5) with isError and the
  server's code, never as a crash or a protocol failure: a ledger lookup (unknown_customer), bad
  arguments (invalid_params), a catalog lookup (unknown_plan), a missing integration
  (stripe_not_configured), access (forbidden, for a customer key), a key's rate (rate_limited,
  HTTP), and an unknown tool (the protocol error -32602: tool_not_found); an unknown prompt is
  a JSON-RPC error (exit 1); a missing or wrong key over HTTP is "auth required" (exit 3).

Usage: python3 tests/acceptance/inspector.py BINARY  (run by inspector.sh, which sets NODE22
and INSPECTOR_JS; see node_tools.sh)
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conformance import ROOT, start_server, stop  # noqa: E402
from report import check, finish, hidden as secrets  # noqa: E402

ERAS = {"legacy": "2025-11-25", "modern": "2026-07-28"}
leaks = []


class Run:
    def __init__(self, proc):
        self.code = proc.returncode
        self.stdout, self.stderr = proc.stdout, proc.stderr
        self.result = self.error = None
        try:
            self.result = json.loads(self.stdout).get("result") if self.stdout.strip() else None
        except ValueError:
            pass
        for line in reversed(self.stderr.strip().splitlines()):
            try:
                self.error = json.loads(line).get("error")
                break
            except ValueError:
                continue

    def body(self):
        """The tool result's text block as JSON (a tool error's {code, message, ...})."""
        try:
            return json.loads(next(b["text"] for b in self.result["content"] if b["type"] == "text"))
        except (TypeError, KeyError, StopIteration, ValueError):
            return {}

    def brief(self):
        return f"exit {self.code}; stdout {self.stdout[:300]!r}; stderr {self.stderr[-300:]!r}"


class Inspector:
    def __init__(self, node, inspector_js, home, log):
        self.base = [node, inspector_js, "--cli"]
        self.env = {**os.environ, "HOME": home}  # its catalog and client config stay in the temp dir
        self.log = log

    def __call__(self, target, *args, quiet=True):
        cmd = [*self.base, *args, "--format", "json", *(["-q"] if quiet else []), *target]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=self.env)
        if any(s in proc.stdout for s in secrets):  # a result that shows a key's secret
            leaks.append(" ".join(args))
        text = f"$ inspector {' '.join([*args, *target])}\n-> exit {proc.returncode}\n{proc.stdout[:2000]}\n{proc.stderr[-2000:]}\n"
        for s in secrets:  # the command lines carry the keys (header, environment): not in the log
            text = text.replace(s, "<secret>")
        self.log.write(text)
        return Run(proc)


def tool_error(inspect, target, label, tool, args, code):
    r = inspect(target, "--method", "tools/call", "--tool-name", tool, "--tool-args-json", json.dumps(args))
    body = r.body()
    check(f"{label}: {tool} → {code} is a tool result with isError (Inspector exit 5, tool_is_error)",
          r.code == 5 and (r.error or {}).get("code") == "tool_is_error" and r.result is not None
          and r.result.get("isError") is True and body.get("code") == code
          and len(body.get("message", "")) > 10, r.brief())
    return r, body


def suite(inspect, target, label, era, tools_min):
    """The checks every transport and era gets, as the admin."""
    r = inspect(target, "--method", "initialize")
    check(f"{label}: initialize negotiates {ERAS[era]}",
          r.code == 0 and (r.result or {}).get("protocolVersion") == ERAS[era]
          and r.result.get("serverInfo", {}).get("name") == "billing-mcp", r.brief())

    r = inspect(target, "--method", "tools/list")
    tools = {t.get("name"): t for t in (r.result or {}).get("tools", [])}
    check(f"{label}: tools/list lists {len(tools)} tools, each with an object inputSchema and an outputSchema",
          r.code == 0 and len(tools) >= tools_min and {"list_plans", "quote_price", "get_customer"} <= set(tools)
          and all(t.get("inputSchema", {}).get("type") == "object" and t.get("outputSchema") for t in tools.values()),
          r.brief())

    r = inspect(target, "--method", "tools/list", "--strict")
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error")]
    warnings = [line for line in r.stderr.splitlines() if line.startswith("Warning")]
    check(f"{label}: tools/list --strict: no schema portability error (exit 0, not 6; {len(warnings)} warnings)",
          r.code == 0 and not errors and r.result is not None, errors[:3] or r.brief())

    r = inspect(target, "--method", "tools/call", "--tool-name", "list_plans")
    plans = [p.get("plan") for p in ((r.result or {}).get("structuredContent") or {}).get("plans", [])]
    check(f"{label}: list_plans answers with the catalog's plans",
          r.code == 0 and r.result.get("isError") is False and "starter" in plans, r.brief())

    r = inspect(target, "--method", "tools/call", "--tool-name", "quote_price",
                "--tool-args-json", json.dumps({"plan": "starter", "meter": "tool_calls", "quantity": 2000}))
    q = (r.result or {}).get("structuredContent") or {}
    check(f"{label}: quote_price starter 2,000 tool_calls = 1,000 included + 1,000 at 5¢ = 50.00",
          r.code == 0 and q.get("amount") == {"amount": 5000, "currency": "usd", "display": "50.00"}
          and q.get("billable_quantity") == 1000 and q.get("covered_by_included") == 1000
          and json.loads(r.result["content"][0]["text"]) == q, r.brief())

    r = inspect(target, "--method", "tools/call", "--tool-name", "get_dashboard", "--app-info", "--advertise-apps")
    try:
        info = json.loads(r.stdout.strip().splitlines()[-1])
        info = info.get("appInfo", info)
    except (ValueError, IndexError):
        info = {}
    check(f"{label}: --app-info finds get_dashboard's MCP App (ui://billing-mcp/dashboard, its CSP read from the resource)",
          r.code == 0 and info.get("hasApp") is True and info.get("resourceUri") == "ui://billing-mcp/dashboard"
          and not info.get("resourceError") and "csp" in json.dumps(info), r.brief())
    r = inspect(target, "--method", "tools/call", "--tool-name", "list_plans", "--app-info")
    check(f"{label}: --app-info on a tool without an app: exit 2", r.code == 2, r.brief())

    tool_error(inspect, target, label, "get_customer", {"customer": "nobody"}, "unknown_customer")
    tool_error(inspect, target, label, "record_usage", {"customer": "acme", "meter": "agents", "quantity": -3},
               "invalid_params")
    tool_error(inspect, target, label, "quote_price", {"plan": "nope", "meter": "tool_calls", "quantity": 1},
               "unknown_plan")
    tool_error(inspect, target, label, "list_products", {}, "stripe_not_configured")

    r = inspect(target, "--method", "tools/call", "--tool-name", "no_such_tool")
    check(f"{label}: an unknown tool is the protocol error the Inspector calls tool_not_found (exit 5)",
          r.code == 5 and (r.error or {}).get("code") == "tool_not_found", r.brief())

    r = inspect(target, "--method", "prompts/list")
    prompts = {p.get("name") for p in (r.result or {}).get("prompts", [])}
    shipped = {p.stem for p in (Path(ROOT) / "prompts").glob("*.md")}
    check(f"{label}: prompts/list lists every prompt in prompts/ ({len(shipped)})",
          r.code == 0 and len(shipped) >= 4 and prompts == shipped, r.brief())

    r = inspect(target, "--method", "prompts/get", "--prompt-name", "no_such_prompt")
    check(f"{label}: an unknown prompt is a JSON-RPC error naming it (exit 1), not a crash",
          r.code == 1 and "no_such_prompt" in ((r.error or {}).get("message") or ""), r.brief())


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/billing-mcp")
    node, inspector_js = os.environ["NODE22"], os.environ["INSPECTOR_JS"]
    out = Path(os.environ.get("INSPECTOR_OUT", ROOT / "target" / "ci" / "inspector")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="bmcp-inspector-")
    os.makedirs(f"{tmp}/home")
    db_url = f"sqlite://{tmp}/ledger.db"
    catalog = str(ROOT / "examples" / "billing.toml")
    version = subprocess.run([node, inspector_js, "--cli", "--version"], capture_output=True, text=True).stdout.strip()
    log = open(out / "inspector-runs.log", "w")
    inspect = Inspector(node, inspector_js, f"{tmp}/home", log)
    print(f"== MCP Inspector CLI {version.splitlines()[-1] if version else '?'} against {binary}")

    def stdio(env=()):
        extra = [a for kv in env for a in ("-e", kv)]
        return [*extra, "--", binary, "serve", "--stdio", "--catalog", catalog, "--database-url", db_url]

    def keys(*args):
        made = subprocess.run([binary, "keys", "create", *args, "--database-url", db_url],
                              capture_output=True, text=True)
        secret = made.stdout.strip().splitlines()[-1] if made.stdout.strip() else ""
        if made.returncode != 0 or not secret.startswith("bmcp_"):
            sys.exit(f"inspector: keys create {' '.join(args)} failed: {made.stderr[-500:]}")
        secrets.append(secret)
        return secret

    admin = keys("--role", "admin", "--name", "inspector")

    print("== stdio (the operator: admin)")
    r = inspect(stdio(), "--method", "tools/call", "--tool-name", "create_customer",
                "--tool-args-json", json.dumps({"customer": "acme"}))
    check("stdio: create_customer acme", r.code == 0 and (r.result or {}).get("isError") is False, r.brief())
    r = inspect(stdio(), "--method", "tools/call", "--tool-name", "create_customer",
                "--tool-args-json", json.dumps({"customer": "globex"}))
    check("stdio: create_customer globex", r.code == 0 and (r.result or {}).get("isError") is False, r.brief())
    for era in ERAS:
        suite(inspect, ["--protocol-era", era, *stdio()], f"stdio {era}", era, 40)

    acme = keys("--role", "customer", "--customer", "acme", "--name", "inspector-acme")
    slow = keys("--role", "customer", "--customer", "acme", "--name", "inspector-slow",
                "--rate-per-minute", "1", "--burst", "1")

    print("== stdio as a customer key (BILLING_MCP_API_KEY)")
    as_acme = stdio([f"BILLING_MCP_API_KEY={acme}"])
    r = inspect(as_acme, "--method", "tools/list")
    names = {t.get("name") for t in (r.result or {}).get("tools", [])}
    check("stdio as acme: tools/list shows a customer's tools only",
          r.code == 0 and "get_customer" in names and "list_customers" not in names and "create_api_key" not in names,
          r.brief())
    r = inspect(as_acme, "--method", "tools/call", "--tool-name", "get_customer",
                "--tool-args-json", json.dumps({"customer": "acme"}))
    check("stdio as acme: get_customer of its own customer",
          r.code == 0 and ((r.result or {}).get("structuredContent") or {}).get("customer") == "acme", r.brief())
    tool_error(inspect, as_acme, "stdio as acme", "get_customer", {"customer": "globex"}, "forbidden")

    log_file = open(out / "server.log", "w")
    server, port = start_server(binary, db_url, log_file)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        def http(key, era="legacy"):
            auth = ["--header", f"Authorization: Bearer {key}"] if key else []
            # --header takes several values: it goes last, after --server-url
            return ["--transport", "http", "--protocol-era", era, "--stored-auth-only", "--server-url", url, *auth]

        print("== streamable HTTP (an admin key)")
        for era in ERAS:
            suite(inspect, http(admin, era), f"http {era}", era, 40)
            r = inspect(http(admin, era), "--method", "tools/call", "--tool-name", "get_customer",
                        "--tool-args-json", json.dumps({"customer": "acme"}))
            check(f"http {era}: get_customer reads back the customer stdio created",
                  r.code == 0 and ((r.result or {}).get("structuredContent") or {}).get("customer") == "acme",
                  r.brief())

        print("== streamable HTTP (customer keys, no key, a wrong key)")
        for era in ERAS:
            tool_error(inspect, http(acme, era), f"http {era} as acme", "get_customer", {"customer": "globex"},
                       "forbidden")
        r = inspect(http(slow), "--method", "tools/call", "--tool-name", "get_customer",
                    "--tool-args-json", json.dumps({"customer": "acme"}))
        check("http as a 1/min key: the first call answers", r.code == 0, r.brief())
        _, body = tool_error(inspect, http(slow), "http as a 1/min key, at once again", "get_customer",
                             {"customer": "acme"}, "rate_limited")
        check("http as a 1/min key: rate_limited says when to retry", body.get("retry_after_ms", 0) > 0, body)
        wrong = "bmcp_0000000000000000_" + "0" * 64  # well-formed, so redacted like a real one
        secrets.append(wrong)
        for label, key in [("no key", None), ("a wrong key", wrong)]:
            r = inspect(http(key), "--method", "tools/list")
            check(f"http with {label}: the Inspector's auth required (exit 3), no result",
                  r.code == 3 and (r.error or {}).get("code") == "auth_required" and r.result is None, r.brief())
    finally:
        stop(server)
        log.close()
        log_file.close()
        shutil.rmtree(tmp, ignore_errors=True)

    server_log = (out / "server.log").read_text(errors="replace")
    check("no key's secret in the HTTP server's log or in any result",
          not leaks and not any(s in server_log for s in secrets), leaks or "server.log")

    finish()


if __name__ == "__main__":
    main()
