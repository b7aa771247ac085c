#!/usr/bin/env bash
# The one-click Claude Desktop bundle: assembles target/mcpb/billing-mcp/ (manifest.json and the
# binary), validates and packs it with the pinned @anthropic-ai/mcpb into target/mcpb/billing-mcp.mcpb,
# then unpacks it and runs it as a host does (see mcpb.py). Installs what it needs (node_tools.sh).
# The bundle is for the platform that runs this (linux in CI); macOS and Windows need a release
# build per platform, packed the same way.
# Usage: bash tests/acceptance/mcpb.sh [target/debug/billing-mcp]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/acceptance/node_tools.sh
exec python3 -u tests/acceptance/mcpb.py "${1:-target/debug/billing-mcp}"
