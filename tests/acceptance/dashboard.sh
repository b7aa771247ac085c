#!/usr/bin/env bash
# The dashboard in a real browser (headless Chromium, Debian's package): the /dashboard web page
# and get_dashboard's MCP App, each compared figure by figure with get_dashboard's result
# (dashboard_page.mjs, mcp_app_host.mjs).
#
#   bash tests/acceptance/dashboard.sh target/debug/billing-mcp   # a fresh server, seeded
#   bash tests/acceptance/dashboard.sh --fixture                  # no server: fixtures/dashboard.json
#
# With a binary: a new SQLite ledger, an admin key from the CLI, `serve --http` on a free loopback
# port with the example catalog, a little data (dashboard_seed.mjs), then both checks. Screenshots
# go to target/dashboard/ (page.png, page-login.png, app.png). Prints each check and a total
# "N passed, M failed"; exits 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -ne 1 ]; then
  echo "usage: dashboard.sh BINARY | --fixture" >&2
  exit 2
fi

if ! command -v chromium >/dev/null; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
source tests/acceptance/node_tools.sh
out=target/dashboard
mkdir -p "$out"
passed=0
failed=0
run() { # run NAME COMMAND...: its lines, and its "N passed, M failed" added to the total
  local log="$out/$1.log" status=0
  shift
  "$@" >"$log" 2>&1 || status=$?
  grep -E '^(ok  |FAIL|     )' "$log" || true
  local tally
  tally="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1 || true)"
  if [ -z "$tally" ]; then
    tail -n 30 "$log"
    failed=$((failed + 1))
  else
    passed=$((passed + ${tally%% passed*}))
    failed=$((failed + $(echo "$tally" | sed -E 's/.* ([0-9]+) failed$/\1/')))
  fi
  [ "$status" -eq 0 ] || [ -n "$tally" ] || failed=$((failed + 1))
}

if [ "$1" = "--fixture" ]; then
  echo "== the web page, on the fixture"
  run page "$NODE22" tests/acceptance/dashboard_page.mjs --fixture "$out/page.png"
  echo "== the MCP App in a host on the official SDK, on the fixture"
  run app "$NODE22" tests/acceptance/mcp_app_host.mjs --fixture "$out/app.png"
else
  binary="$(realpath "$1")"
  work="$(mktemp -d)"
  db="sqlite://$work/billing.db"
  key="$("$binary" keys create --role admin --database-url "$db")"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$binary" serve --http "127.0.0.1:$port" --catalog builtin:example --database-url "$db" >"$work/server.log" 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
  echo "== a fresh server ($base), seeded"
  run seed "$NODE22" tests/acceptance/dashboard_seed.mjs "$base" "$key"
  echo "== the web page against the server"
  run page "$NODE22" tests/acceptance/dashboard_page.mjs "$base" "$key" "$out/page.png"
  echo "== the MCP App in a host on the official SDK, against the server"
  run app "$NODE22" tests/acceptance/mcp_app_host.mjs "$base" "$key" "$out/app.png"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
