#!/usr/bin/env bash
# The MCP Inspector CLI against the real binary over stdio and streamable HTTP, both protocol eras
# (see inspector.py). Installs what it needs (node_tools.sh).
# Usage: bash tests/acceptance/inspector.sh [target/debug/billing-mcp]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/acceptance/node_tools.sh
exec python3 -u tests/acceptance/inspector.py "${1:-target/debug/billing-mcp}"
