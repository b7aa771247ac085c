"""The official MCP conformance suite (@modelcontextprotocol/conformance) against the real server.

Runs every server scenario the suite lists for each spec revision (`conformance list --server
--spec-version REV`), one at a time at that revision's wire version, against `billing-mcp serve
--http` with an admin key. The suite's server mode cannot send a header of its own, so it talks to
auth_proxy.mjs, which adds `Authorization: Bearer <key>` and passes everything else through.

A check that fails is a failure unless conformance-expected-failures.txt lists it (only checks
that call the suite's own fixture tools, prompts or resources, which a billing server does not
have); a listed check that no longer fails is a failure too, so the list stays true. One line per
scenario (ok / expected-fail / FAIL), then a summary; each scenario's full output and checks.json
are kept under the output directory.

Usage: python3 tests/acceptance/conformance.py BINARY  (run by conformance.sh, which sets
NODE22 and CONFORMANCE_JS; see node_tools.sh)
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from ports import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REVISIONS = ["2025-11-25", "2026-07-28"]


def healthy(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return r.status == 200 and b'"status":"ok"' in r.read()
    except OSError:
        return False


def start_server(binary, db_url, log):
    """Serve on a free port; another process may take it first, so try again then."""
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [binary, "serve", "--http", f"127.0.0.1:{port}", "--database-url", db_url,
             "--catalog", str(ROOT / "examples" / "billing.toml")],
            stdout=log, stderr=log, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            if healthy(port):
                return proc, port
            time.sleep(0.1)
        stop(proc)
    sys.exit("conformance: the server did not start (see its log)")


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_proxy(node, key, upstream, log):
    proc = subprocess.Popen([node, str(HERE / "auth_proxy.mjs"), "0", upstream],
                            env={**os.environ, "BILLING_PROXY_KEY": key},
                            stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    line = proc.stdout.readline()
    m = re.fullmatch(r"listening (\d+)\n", line)
    if not m:
        stop(proc)
        sys.exit(f"conformance: the proxy did not start: {line!r}")
    return proc, int(m.group(1))


def parse_expected(path):
    """`SCENARIO[@REVISION]/CHECK-ID  reason` per line; # starts a comment."""
    entries = {}
    for n, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = "" if raw.lstrip().startswith("#") else raw.strip()
        if not line:
            continue
        m = re.fullmatch(r"([a-z0-9-]+)(?:@(\d{4}-\d\d-\d\d))?/([A-Za-z0-9_.-]+)\s+(\S.*)", line)
        if not m:
            sys.exit(f"conformance: {path}:{n}: expected `SCENARIO[@REVISION]/CHECK-ID  reason`, got {raw!r}")
        scenario, revision, check, reason = m.groups()
        entries[(scenario, revision, check)] = reason
    return entries


def expected_for(entries, scenario, revision):
    return {check: reason for (s, r, check), reason in entries.items()
            if s == scenario and r in (None, revision)}


def list_scenarios(suite, revision):
    out = subprocess.run([*suite, "list", "--server", "--spec-version", revision],
                         capture_output=True, text=True, timeout=60)
    names = re.findall(r"^  - ([a-z0-9-]+)", out.stdout, re.M)
    if out.returncode != 0 or not names:
        sys.exit(f"conformance: the suite lists no server scenario for {revision}:\n{out.stdout}{out.stderr}")
    return names


def run_scenario(suite, url, scenario, revision, out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "output.log", "w") as log:
        try:
            proc = subprocess.run(
                [*suite, "server", "--url", url, "--scenario", scenario, "--spec-version", revision,
                 "--timeout", "30000", "-o", str(out_dir)],
                stdout=log, stderr=subprocess.STDOUT, timeout=120)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    found = sorted(out_dir.glob("*/checks.json"))
    if not found:
        tail = (out_dir / "output.log").read_text()[-600:]
        return None, f"the suite wrote no checks.json (exit {code}): {tail}"
    return json.loads(found[-1].read_text()), None


def one_line(text, limit=400):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/billing-mcp")
    node, suite_js = os.environ["NODE22"], os.environ["CONFORMANCE_JS"]
    expected_path = Path(os.environ.get("CONFORMANCE_EXPECTED", HERE / "conformance-expected-failures.txt"))
    out_root = Path(os.environ.get("CONFORMANCE_OUT", ROOT / "target" / "ci" / "conformance")).resolve()
    suite = [node, suite_js]
    entries = parse_expected(expected_path)
    version = subprocess.run([*suite, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"== conformance suite {version} against {binary} over HTTP (admin key through auth_proxy.mjs)")

    if out_root.exists():
        subprocess.run(["rm", "-rf", str(out_root)], check=True)
    out_root.mkdir(parents=True)
    tmp = tempfile.mkdtemp(prefix="bmcp-conformance-")
    db_url = f"sqlite://{tmp}/ledger.db"
    made = subprocess.run([binary, "keys", "create", "--role", "admin", "--name", "conformance",
                           "--database-url", db_url], capture_output=True, text=True, check=True)
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("bmcp_"), "keys create printed no secret on its last line"

    server = proxy = None
    results = {}  # revision -> {"ok": n, "expected-fail": n, "FAIL": n}
    failures = []
    used = set()
    try:
        server_log = open(out_root / "server.log", "w")
        server, port = start_server(binary, db_url, server_log)
        proxy, proxy_port = start_proxy(node, key, f"http://127.0.0.1:{port}", server_log)
        url = f"http://127.0.0.1:{proxy_port}/mcp"
        for revision in REVISIONS:
            scenarios = list_scenarios(suite, revision)
            print(f"== spec revision {revision}: {len(scenarios)} server scenarios")
            counts = results.setdefault(revision, {"ok": 0, "expected-fail": 0, "FAIL": 0})
            for scenario in scenarios:
                listed = expected_for(entries, scenario, revision)
                used.update((scenario, r, c) for (s, r, c) in entries if s == scenario and r in (None, revision))
                checks, error = run_scenario(suite, url, scenario, revision, out_root / revision / scenario)
                problems = []
                if error:
                    problems.append(error)
                    checks = []
                failed = {c["id"]: c for c in checks if c.get("status") == "FAILURE"}
                warned = [c["id"] for c in checks if c.get("status") == "WARNING"]
                scored = [c for c in checks if c.get("status") in ("SUCCESS", "FAILURE")]
                for cid, c in failed.items():
                    if cid not in listed:
                        problems.append(f"{cid}: {one_line(c.get('errorMessage') or c.get('description'))}")
                for cid in listed:
                    if not error and cid not in failed:
                        state = next((c["status"] for c in checks if c["id"] == cid), "absent")
                        problems.append(f"{cid} is listed as an expected failure but is {state} now: "
                                        f"take it out of {expected_path.name}")
                note = f"{len(scored) - len(failed)}/{len(scored)} checks"
                if warned:
                    note += f"; warnings: {', '.join(warned)}"
                if problems:
                    counts["FAIL"] += 1
                    failures.append(f"{revision} {scenario}")
                    print(f"FAIL           {revision} {scenario} ({note})")
                    for p in problems:
                        print(f"    - {p}")
                elif failed:
                    counts["expected-fail"] += 1
                    reasons = "; ".join(sorted(set(listed[c] for c in failed)))
                    print(f"expected-fail  {revision} {scenario} ({note}): {reasons}")
                else:
                    counts["ok"] += 1
                    print(f"ok             {revision} {scenario} ({note})")
                sys.stdout.flush()
    finally:
        stop(proxy)
        stop(server)
        shutil.rmtree(tmp, ignore_errors=True)

    stale = [e for e in entries if e not in used]
    for scenario, revision, check in stale:
        failures.append(f"{scenario}/{check}")
        print(f"FAIL           {expected_path.name} lists {scenario}{'@' + revision if revision else ''}/{check}, "
              f"but no run of that scenario: take it out")

    leaked = [str(p) for p in out_root.rglob("*") if p.is_file() and key in p.read_text(errors="replace")]
    if leaked:
        failures.append("secret")
        print(f"FAIL           the admin key's secret is in {', '.join(leaked)}")

    print("== summary")
    for revision, c in results.items():
        print(f"{revision}: {c['ok']} ok, {c['expected-fail']} expected-fail (fixture), {c['FAIL']} FAIL")
    ok = sum(c["ok"] for c in results.values())
    print(f"conformance: {ok} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
