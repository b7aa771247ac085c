"""Outside check of /metrics with a real Prometheus server (Debian's `prometheus` package).

Starts the built binary over HTTP with `--metrics-addr`, makes a known number of tool calls, then starts Prometheus
on a free loopback port scraping both endpoints every second: the HTTP server's `/metrics` with a service key (as
Prometheus's `authorization` setting sends it) and the keyless `--metrics-addr` listener. Queries go through
Prometheus's own HTTP API:

    python3 tests/acceptance/prometheus.py target/debug/billing-mcp

Prints one line per check and closes with "N passed, M failed".
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from ports import free_port, wait_port
from report import check, finish

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/billing-mcp")
CALLS = 7


def http(url, body=None, key=None, headers=None):
    """(status, text) of a GET, or of a JSON POST when `body` is given."""
    headers = dict(headers or {})
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers.update({"Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def call(base, key, tool, arguments):
    """One stateless (2026-07-28) tools/call; the structured result."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments,
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}}
    status, text = http(f"{base}/mcp", body, key, {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": tool})
    result = json.loads(text).get("result", {}) if status == 200 else {"error": text}
    return status, result


def query(prom, expr):
    """The value of an instant query's one sample (None when it has none)."""
    status, text = http(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    if status != 200:
        return None
    samples = json.loads(text)["data"]["result"]
    return float(samples[0]["value"][1]) if samples else None


def main():
    prometheus = shutil.which("prometheus")
    if not prometheus:
        raise SystemExit("prometheus is not installed (apt-get install prometheus)")
    work = tempfile.mkdtemp(prefix="billing-prom-")
    db = f"sqlite://{work}/billing.db"
    key = lambda role: subprocess.run([BINARY, "keys", "create", "--role", role, "--database-url", db],
                                      check=True, capture_output=True, text=True).stdout.strip()
    admin, service = key("admin"), key("service")
    port, metrics_port, prom_port = free_port(), free_port(), free_port()
    server = subprocess.Popen([BINARY, "serve", "--http", f"127.0.0.1:{port}", "--metrics-addr", f"127.0.0.1:{metrics_port}",
                               "--catalog", "builtin:example", "--database-url", db], stderr=subprocess.DEVNULL)
    prom = None
    try:
        wait_port(port, server, "billing-mcp")
        wait_port(metrics_port, server, "billing-mcp metrics")
        base = f"http://127.0.0.1:{port}"
        status, _ = http(f"{base}/metrics")
        check("/metrics on the API server without a key is 401", status == 401, status)
        status, text = http(f"http://127.0.0.1:{metrics_port}/metrics")
        check("--metrics-addr answers without a key, in the text format", status == 200 and "# TYPE" in text, status)

        call(base, admin, "create_customer", {"customer": "acme", "plan": "free"})
        allowed = 0
        for i in range(CALLS):
            _, result = call(base, admin, "check_entitlement", {"customer": "acme", "feature": "tool_calls"})
            allowed += result.get("structuredContent", {}).get("allowed") is True
        check(f"{CALLS} check_entitlement calls answered", allowed == CALLS, allowed)

        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: guarded
    authorization:
      type: Bearer
      credentials: {service}
    static_configs:
      - targets: ['127.0.0.1:{port}']
  - job_name: open
    static_configs:
      - targets: ['127.0.0.1:{metrics_port}']
""")
        prom = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={work}/tsdb",
                                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(prom_port, prom, "prometheus")
        api = f"http://127.0.0.1:{prom_port}"
        series = 'billing_mcp_operations_total{operation="check_entitlement",status="ok",job="%s"}'
        got = {}
        for _ in range(60):
            got = {job: query(api, series % job) for job in ("guarded", "open")}
            if all(v == CALLS for v in got.values()):
                break
            time.sleep(1)
        check(f"Prometheus scraping /metrics with a service key counts {CALLS} check_entitlement calls",
              got.get("guarded") == CALLS, got)
        check(f"Prometheus scraping --metrics-addr counts the same {CALLS}", got.get("open") == CALLS, got)
        decisions = query(api, 'sum(billing_entitlement_decisions_total{reason="ok",job="guarded"})')
        check("entitlement decisions by reason", decisions == CALLS, decisions)
        p99 = query(api, 'histogram_quantile(0.99, sum by (le) (billing_mcp_operation_duration_seconds_bucket{operation="check_entitlement",job="guarded"}))')
        check("a latency histogram Prometheus can take a quantile of", p99 is not None and p99 > 0, p99)
        up = query(api, 'sum(up)')
        check("both targets up", up == 2, up)
    finally:
        for p in (prom, server):
            if p is not None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
