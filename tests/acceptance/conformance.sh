#!/usr/bin/env bash
# The official MCP conformance suite against the real binary over HTTP, every server scenario of
# spec revisions 2025-11-25 and 2026-07-28 (see conformance.py). Installs what it needs (node_tools.sh).
# Usage: bash tests/acceptance/conformance.sh [target/debug/billing-mcp]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/acceptance/node_tools.sh
exec python3 -u tests/acceptance/conformance.py "${1:-target/debug/billing-mcp}"
