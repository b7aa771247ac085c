// Entry of the vendored ext-apps browser bundle (vendor/ext-apps-app.iife.js): the View side of
// the official MCP Apps SDK, @modelcontextprotocol/ext-apps, from its own self-contained build
// (`app-with-deps`: the App class with the MCP SDK and zod inside), exposed as one global so the
// single-document UI resource can use it from a classic inline <script>. vendor/README.md has the
// exact command that turns this file into the bundle.
import { App, PostMessageTransport, applyDocumentTheme } from "@modelcontextprotocol/ext-apps/app-with-deps";

globalThis.McpApps = { App, PostMessageTransport, applyDocumentTheme };
