"""The one-click Claude Desktop bundle (`.mcpb`), built from the binary and checked as a host runs it.

1. The bundle directory target/mcpb/billing-mcp/: the binary at server/billing-mcp (stripped of
   its debug symbols, which only make the download bigger) and a manifest.json of the newest
   manifest version the pinned @anthropic-ai/mcpb knows (MANIFEST_VERSION; a check fails when the
   pin moves to a newer one, so the spec gets read again). Its name, version and description come
   from Cargo.toml; its tools and prompts from the binary itself over stdio (tools/list, each
   tool's first sentence; prompts/list, and each prompt's text from prompts/get with every
   argument given as the manifest's `${arguments.NAME}` placeholder); the Stripe key is an
   optional, sensitive user_config entry passed as STRIPE_SECRET_KEY (default "": without one the
   host would pass the placeholder itself, which the server refuses).
2. `mcpb validate` on the manifest (and, so a pass means something, a rejection of the same
   manifest with an unknown field), then `mcpb pack` to target/mcpb/billing-mcp.mcpb.
3. The result, as a host sees it: the archive holds the manifest and the executable binary;
   `mcpb unpack` into a temp dir; the command resolved by the package's own host code
   (getMcpConfigForManifest: `${__dirname}`, user_config) and run exactly so, with HOME a temp
   dir, a bare PATH and an empty working directory. Without a key: it initializes as billing-mcp
   at the Cargo version, lists the tools and prompts the manifest names, list_plans returns plans
   (isError false), a Stripe tool answers stripe_not_configured, the ledger is
   ~/.billing-mcp/billing.db. With a (made-up, test-mode) key: it starts on the same ledger, finds
   the customer the first run created, and the key is in no log (no Stripe call is made; the
   Stripe API base points at a closed local port in case one were).

Prints ok/FAIL lines and "N passed, M failed"; exits 1 on any failure.
Usage: python3 tests/acceptance/mcpb.py BINARY  (run by mcpb.sh, which sets NODE22 and MCPB_JS;
see node_tools.sh)
"""

import hashlib
import json
import os
import queue
import re
import secrets as random_secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import zipfile
from pathlib import Path

from report import check, finish, hidden

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / "target" / "mcpb"
BUNDLE = OUT / "billing-mcp"
MCPB_FILE = OUT / "billing-mcp.mcpb"
LOGS = OUT / "logs"

# The newest version @anthropic-ai/mcpb 2.1.2 knows (its LATEST_MANIFEST_VERSION; 0.4 differs from
# 0.3 only by the "uv" server type).
MANIFEST_VERSION = "0.4"
ENTRY_POINT = "server/billing-mcp"
ARGS = ["serve", "--stdio", "--catalog", "builtin:example",
        "--database-url", "sqlite://~/.billing-mcp/billing.db"]
# The binary is built for the machine that runs this; the manifest names only its platform. A
# bundle for macOS or Windows needs a release build on (or for) each, packed the same way (on
# Windows the host appends .exe to the command).
PLATFORMS = {"linux": "linux", "darwin": "darwin", "win32": "win32"}
PROTOCOL = "2025-06-18"
TIMEOUT = 20


class Stdio:
    """An MCP client over a child's stdin/stdout, one JSON-RPC message a line."""

    def __init__(self, argv, env, cwd, log):
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, env=env, cwd=cwd, start_new_session=True)
        self.lines = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _send(self, message):
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def notify(self, method, params=None):
        self._send({"jsonrpc": "2.0", "method": method, **({"params": params} if params else {})})

    def request(self, method, params=None):
        """The response to one request (its result, or {"error": ...}); raises on timeout or EOF."""
        self.next_id += 1
        rid = self.next_id
        self._send({"jsonrpc": "2.0", "id": rid, "method": method,
                    **({"params": params} if params is not None else {})})
        deadline = time.time() + TIMEOUT
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.time()))
            except queue.Empty:
                raise TimeoutError(f"no answer to {method} in {TIMEOUT} s") from None
            if line is None:
                raise EOFError(f"the server closed stdout before answering {method}"
                               f" (exit {self.proc.poll()})")
            message = json.loads(line)
            if "method" in message:  # a notification, or a request of the server's: not ours
                if "id" in message:
                    self._send({"jsonrpc": "2.0", "id": message["id"],
                                "error": {"code": -32601, "message": "not supported"}})
                continue
            if message.get("id") == rid:
                return message.get("result", {"error": message.get("error")})

    def initialize(self):
        result = self.request("initialize", {"protocolVersion": PROTOCOL, "capabilities": {},
                                             "clientInfo": {"name": "mcpb-check", "version": "1"}})
        self.notify("notifications/initialized")
        return result

    def list_all(self, method, key):
        items, cursor = [], None
        while True:
            result = self.request(method, {"cursor": cursor} if cursor else {})
            items += result.get(key, [])
            cursor = result.get("nextCursor")
            if not cursor:
                return items

    def call(self, tool, arguments):
        return self.request("tools/call", {"name": tool, "arguments": arguments})

    def close(self):
        """Close stdin, as a host does when it stops a server; its exit code (None: killed)."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.log.close()


def body(result):
    """A tool result's structured content, or its text block parsed as JSON."""
    if isinstance(result.get("structuredContent"), dict):
        return result["structuredContent"]
    try:
        return json.loads(next(b["text"] for b in result.get("content", []) if b["type"] == "text"))
    except (StopIteration, ValueError, KeyError, TypeError):
        return {}


def first_sentence(text, limit=200):
    """A tool's short description: the first sentence of its description; when that is longer than
    `limit`, its head up to the first top-level colon, semicolon or dash (the rest details it)."""
    para = " ".join(text.strip().split("\n\n")[0].split())
    m = re.search(r"(?<!\be\.g)(?<!\bi\.e)[.!?](?=\s+[A-Z`\"]|$)", para)
    sentence = para[: m.end()] if m else para
    if sentence.endswith(":"):  # a list follows in the next paragraph
        sentence = sentence[:-1] + "."
    if len(sentence) <= limit:
        return sentence
    depth = 0
    for i, c in enumerate(sentence):
        depth += c in "([{"
        depth -= c in ")]}"
        if depth == 0 and (c in ":;" or sentence.startswith(" — ", i)):
            if i <= limit:
                return sentence[:i].rstrip() + "."
            break
    return sentence[: sentence.rfind(" ", 0, limit - 1)] + "…"


def run(argv, log_name, timeout=300, attempts=2, **kw):
    """Run a command of mcpb's; one that passes `timeout` is stopped and run again, up to
    `attempts` times (in CI `mcpb pack`, 8 s most times, has twice run past 300 s; never here
    by hand). What a stopped attempt was doing is printed and kept in its log."""
    for attempt in range(1, attempts + 1):
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 stdin=subprocess.DEVNULL, **kw)
        try:
            out, err = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            state = stalled(child.pid)
            child.kill()
            out, err = child.communicate()
            (LOGS / f"{log_name}.attempt{attempt}").write_text(f"{state}\n{out}{err}")
            print(f"     {' '.join(Path(a).name for a in argv[1:3])}: attempt {attempt} passed {timeout} s ({state}); "
                  f"last output: {(out + err).strip().splitlines()[-1:]}", flush=True)
            if attempt == attempts:
                raise
            continue
        (LOGS / log_name).write_text(out + err)
        return subprocess.CompletedProcess(argv, child.returncode, out, err)


def stalled(pid):
    """A running process's state, CPU time and kernel wait channel, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        wchan = Path(f"/proc/{pid}/wchan").read_text()
        return f"state {fields[0]}, {(int(fields[11]) + int(fields[12])) / ticks:.1f} s CPU, waiting in {wchan or '-'}"
    except (OSError, ValueError, IndexError) as e:
        return f"state unknown: {e}"


def fresh_dir(parent, name):
    d = Path(parent) / name
    d.mkdir(parents=True)
    return d


def introspect(binary, tmp):
    """Tools, prompts (with their text) and the server's name and version, from the binary."""
    home = fresh_dir(tmp, "introspect-home")
    client = Stdio([str(binary), *ARGS], {"HOME": str(home), "PATH": "/usr/bin:/bin"},
                   str(home), LOGS / "introspect.log")
    try:
        info = client.initialize()
        tools = client.list_all("tools/list", "tools")
        prompts = []
        for p in client.list_all("prompts/list", "prompts"):
            names = [a["name"] for a in p.get("arguments", [])]
            got = client.request("prompts/get", {
                "name": p["name"], "arguments": {n: "${arguments.%s}" % n for n in names}})
            texts = [m["content"]["text"] for m in got.get("messages", [])
                     if m.get("content", {}).get("type") == "text"]
            prompts.append({"name": p["name"], "description": p.get("description", ""),
                            "arguments": names, "text": "\n\n".join(texts), "got": got})
    finally:
        client.close()
    return info, tools, prompts


def build_manifest(package, tools, prompts):
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": "billing-mcp",
        "version": package["version"],
        "description": package["description"],
        "author": {"name": "billing-mcp contributors"},
        "license": "Apache-2.0",
        "keywords": ["billing", "usage", "entitlements", "credits", "quotes", "stripe"],
        # Stripe processes data when a key is set (the Stripe tools, usage sent as meter events).
        "privacy_policies": ["https://stripe.com/privacy"],
        "server": {
            "type": "binary",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": "${__dirname}/" + ENTRY_POINT,
                "args": ARGS,
                "env": {"STRIPE_SECRET_KEY": "${user_config.stripe_secret_key}"},
            },
        },
        "tools": [{"name": t["name"],
                   "description": first_sentence(t.get("description") or t.get("title") or t["name"])}
                  for t in tools],
        "tools_generated": False,
        "prompts": [{"name": p["name"], "description": p["description"],
                     "arguments": p["arguments"], "text": p["text"]} for p in prompts],
        "prompts_generated": False,
        "compatibility": {"platforms": [PLATFORMS[sys.platform]]},
        "user_config": {
            "stripe_secret_key": {
                "type": "string",
                "title": "Stripe secret key",
                "description": "Optional: a test-mode Stripe secret or restricted key (sk_test_… or "
                               "rk_test_…) for the Stripe tools; live keys are refused. Leave it empty "
                               "to use the ledger tools only.",
                "sensitive": True,
                "required": False,
                # Without a default, an empty entry leaves "${user_config.stripe_secret_key}"
                # itself in the environment, and the server refuses to start on it.
                "default": "",
            },
        },
    }


def needed_libraries(binary):
    """The ELF NEEDED entries, or None where readelf is missing (not on Linux)."""
    if not shutil.which("readelf"):
        return None
    out = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def resolve(node, package_dir, ext, home, user_config):
    proc = subprocess.run([node, str(HERE / "mcpb_host.mjs"), str(package_dir), "resolve", str(ext),
                           str(home), json.dumps(user_config)], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-600:])
    return json.loads(proc.stdout)


def main():
    binary = Path(sys.argv[1] if len(sys.argv) > 1 else "target/debug/billing-mcp").resolve()
    node, mcpb_js = os.environ["NODE22"], os.environ["MCPB_JS"]
    package_dir = Path(mcpb_js).resolve().parents[2]  # .../@anthropic-ai/mcpb
    mcpb = [node, mcpb_js]
    started = time.time()

    if not binary.is_file():
        sys.exit(f"mcpb: no binary at {binary} (cargo build --bin billing-mcp)")
    package = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]
    shutil.rmtree(OUT, ignore_errors=True)
    (BUNDLE / "server").mkdir(parents=True)
    LOGS.mkdir(parents=True)
    tmp = Path(tempfile.mkdtemp(prefix="mcpb-"))
    try:
        print("== the bundle directory", flush=True)
        entry = BUNDLE / ENTRY_POINT
        shutil.copy2(binary, entry)
        if shutil.which("strip"):
            subprocess.run(["strip", str(entry)], check=True)
        entry.chmod(0o755)
        print(f"     {binary.stat().st_size / 2**20:.1f} MiB binary -> {entry.stat().st_size / 2**20:.1f} MiB"
              f" at {entry.relative_to(ROOT)}")
        version = subprocess.run([str(entry), "--version"], capture_output=True, text=True).stdout.split()
        check("the bundled binary is the Cargo package's version", version == ["billing-mcp", package["version"]],
              version)
        libs = needed_libraries(entry)
        base = re.compile(r"^(libc|libm|libgcc_s|libpthread|libdl|librt|ld-linux[-\w]*)\.so\.\d+$")
        if libs is not None:
            check("the binary needs no shared library beyond the C runtime's",
                  all(base.match(lib) for lib in libs), libs)

        latest = json.loads(subprocess.run([node, str(HERE / "mcpb_host.mjs"), str(package_dir), "latest"],
                                           capture_output=True, text=True).stdout or "{}").get("latest")
        check(f"manifest_version {MANIFEST_VERSION} is the newest the pinned mcpb knows",
              latest == MANIFEST_VERSION, f"it knows {latest}: read its schema and move MANIFEST_VERSION")

        info, tools, prompts = introspect(entry, tmp)
        check("the binary lists its tools over stdio", len(tools) > 0, tools)
        check("the binary lists its prompts over stdio", len(prompts) > 0, prompts)
        for p in prompts:
            check(f"prompt {p['name']}: prompts/get gives its text with every argument as ${{arguments.*}}",
                  p["text"] and all("${arguments.%s}" % a in p["text"] for a in p["arguments"]), p["got"])
        manifest = build_manifest(package, tools, prompts)
        manifest_path = BUNDLE / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        print(f"     manifest {manifest_path.relative_to(ROOT)}: {manifest['name']} {manifest['version']},"
              f" manifest_version {MANIFEST_VERSION}, {len(manifest['tools'])} tools,"
              f" {len(manifest['prompts'])} prompts, platforms {manifest['compatibility']['platforms']}")
        long = [t["name"] for t in manifest["tools"] if not 0 < len(t["description"]) <= 200]
        check("each tool's description in the manifest is short (1 to 200 characters)",
              not long, long)

        print("== mcpb validate and mcpb pack", flush=True)
        proc = run([*mcpb, "validate", str(manifest_path)], "validate.log")
        check("mcpb validate passes the manifest",
              proc.returncode == 0 and "validation passes" in proc.stdout, proc.stdout + proc.stderr)
        bogus = fresh_dir(tmp, "bogus") / "manifest.json"
        bogus.write_text(json.dumps({**manifest, "serverr": {}}))
        proc = run([*mcpb, "validate", str(bogus)], "validate-bogus.log")
        check("mcpb validate refuses the manifest with an unknown field (the check is strict)",
              proc.returncode != 0 and "serverr" in proc.stdout, proc.stdout + proc.stderr)

        # Run from the bundle directory: pack lists the files relative to the working directory.
        proc = run([*mcpb, "pack", ".", str(MCPB_FILE)], "pack.log", cwd=BUNDLE)
        check("mcpb pack builds target/mcpb/billing-mcp.mcpb", proc.returncode == 0 and MCPB_FILE.is_file(),
              proc.stdout + proc.stderr)
        for line in proc.stdout.splitlines():
            if re.match(r"^(package size|unpacked size|shasum|total files):", line):
                print(f"     {line}")
        if not MCPB_FILE.is_file():
            return

        print("== the archive, unpacked and run as a host does", flush=True)
        with zipfile.ZipFile(MCPB_FILE) as z:
            names = sorted(z.namelist())
            check("the archive holds manifest.json and the binary, nothing else",
                  names == sorted(["manifest.json", ENTRY_POINT]), names)
            if ENTRY_POINT in names:
                mode = z.getinfo(ENTRY_POINT).external_attr >> 16
                check("the binary is executable in the archive (mode 0755)", stat.S_IMODE(mode) == 0o755,
                      oct(mode))
            if "manifest.json" in names:
                check("the archive's manifest is the validated one",
                      json.loads(z.read("manifest.json")) == manifest)

        ext = tmp / "Claude Extensions" / "billing-mcp"  # a space in the path, as on macOS
        proc = run([*mcpb, "unpack", str(MCPB_FILE), str(ext)], "unpack.log")
        unpacked = ext / ENTRY_POINT
        check("mcpb unpack extracts it", proc.returncode == 0 and unpacked.is_file(),
              proc.stdout + proc.stderr)
        if not unpacked.is_file():
            return
        check("the unpacked binary is executable and the one packed",
              os.access(unpacked, os.X_OK)
              and hashlib.sha256(unpacked.read_bytes()).digest()
              == hashlib.sha256(entry.read_bytes()).digest())

        home = fresh_dir(tmp, "home")
        cwd = fresh_dir(tmp, "cwd")
        config = resolve(node, package_dir, ext, home, {})
        expected = {"command": f"{ext}/{ENTRY_POINT}", "args": ARGS, "env": {"STRIPE_SECRET_KEY": ""}}
        check("without a Stripe key the host's command is the bundled binary on stdio, the key empty",
              {k: config.get(k) for k in expected} == expected if config else False, config)
        if not config:
            return
        env = {"HOME": str(home), "PATH": "/usr/bin:/bin", **config["env"]}
        client = Stdio([config["command"], *config["args"]], env, str(cwd), LOGS / "server-no-key.log")
        try:
            result = client.initialize()
            server = result.get("serverInfo", {})
            check("it initializes as billing-mcp at the Cargo version",
                  server.get("name") == "billing-mcp" and server.get("version") == package["version"]
                  and isinstance(result.get("protocolVersion"), str), result)
            names = [t["name"] for t in client.list_all("tools/list", "tools")]
            check(f"tools/list names the manifest's {len(manifest['tools'])} tools",
                  names == [t["name"] for t in manifest["tools"]], names)
            names = [p["name"] for p in client.list_all("prompts/list", "prompts")]
            check(f"prompts/list names the manifest's {len(manifest['prompts'])} prompts",
                  names == [p["name"] for p in manifest["prompts"]], names)
            result = client.call("list_plans", {})
            plans = body(result).get("plans")
            check("tools/call list_plans returns plans (isError false)",
                  result.get("isError") is False and isinstance(plans, list) and len(plans) > 0
                  and all(isinstance(p, dict) and p.get("plan") for p in plans), result)
            if plans:
                print(f"     plans: {', '.join(p.get('plan', '?') for p in plans)}")
            result = client.call("retrieve_balance", {})
            check("without a key a Stripe tool answers stripe_not_configured (the ledger tools work)",
                  result.get("isError") is True and body(result).get("code") == "stripe_not_configured",
                  result)
            result = client.call("create_customer", {"customer": "mcpb-check"})
            check("create_customer writes to the ledger", result.get("isError") is False, result)
        except (TimeoutError, EOFError, ValueError) as e:
            check("the server answers over stdio", False, e)
        code = client.close()
        check("closing stdin stops the server (exit 0)", code == 0, code)
        ledger = home / ".billing-mcp" / "billing.db"
        check("the ledger is ~/.billing-mcp/billing.db under the host's HOME", ledger.is_file(),
              sorted(str(p.relative_to(home)) for p in home.rglob("*")))
        check("nothing is written to the working directory", not any(cwd.iterdir()), list(cwd.iterdir()))

        key = "sk_test_" + random_secrets.token_hex(12)
        hidden.append(key)
        config = resolve(node, package_dir, ext, home, {"stripe_secret_key": key})
        check("with a Stripe key entered, the host passes it as STRIPE_SECRET_KEY",
              config and config.get("env") == {"STRIPE_SECRET_KEY": key}
              and config.get("args") == ARGS, config)
        if config:
            # No Stripe call is made below; should one be, it goes to a closed local port.
            env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "STRIPE_API_BASE": "http://127.0.0.1:9",
                   "STRIPE_METER_EVENTS_BASE": "http://127.0.0.1:9", **config["env"]}
            client = Stdio([config["command"], *config["args"]], env, str(cwd), LOGS / "server-key.log")
            try:
                result = client.initialize()
                check("with the key it initializes", result.get("serverInfo", {}).get("name") == "billing-mcp",
                      result)
                result = client.call("get_customer", {"customer": "mcpb-check"})
                check("the ledger outlives the restart: get_customer finds the customer",
                      result.get("isError") is False and body(result).get("customer") == "mcpb-check", result)
                result = client.call("list_plans", {})
                check("tools/call list_plans returns plans with the key set",
                      result.get("isError") is False and len(body(result).get("plans") or []) > 0, result)
            except (TimeoutError, EOFError, ValueError) as e:
                check("the server with a key answers over stdio", False, e)
            code = client.close()
            check("closing stdin stops it (exit 0)", code == 0, code)
        leaked = [p.name for p in LOGS.iterdir() if key in p.read_text(errors="replace")]
        check("the Stripe key is in no log", not leaked, leaked)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"     {time.time() - started:.1f} s; logs in {LOGS.relative_to(ROOT)}")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - a crash of the check is a failure, named
        check("the bundle check ran to its end", False, repr(e))
    finish(need_checks=True)
