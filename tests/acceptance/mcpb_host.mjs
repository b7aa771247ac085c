// The host's side of an MCP Bundle, with the code that @anthropic-ai/mcpb ships for hosts (the code
// Claude for macOS and Windows loads bundles with): which manifest version the pinned package knows
// as its newest, and the server command a host derives from an unpacked bundle's manifest
// (getMcpConfigForManifest: `${__dirname}`, `${HOME}`… and `${user_config.*}` substituted, the
// user_config defaults merged under what the user entered). Run by mcpb.py.
//
// Usage: node mcpb_host.mjs MCPB_PACKAGE_DIR latest
//        node mcpb_host.mjs MCPB_PACKAGE_DIR resolve EXTENSION_DIR HOME USER_CONFIG_JSON
// Prints JSON on stdout: {"latest": "0.4"}, or the resolved {"command", "args", "env"}
// (null when the host would not start the server: a required user_config entry is missing).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [pkg, what, ...rest] = process.argv.slice(2);
const mcpb = await import(pathToFileURL(join(pkg, "dist", "node.js")).href);

if (what === "latest") {
  console.log(JSON.stringify({ latest: mcpb.LATEST_MANIFEST_VERSION }));
} else if (what === "resolve") {
  const [extensionPath, home, userConfigJson] = rest;
  const raw = JSON.parse(readFileSync(join(extensionPath, "manifest.json"), "utf8"));
  // A host reads the manifest through the schema of the version it names, as `mcpb pack` does.
  const version = raw.manifest_version ?? raw.dxt_version;
  const schema = mcpb.MANIFEST_SCHEMAS[version];
  if (!schema) throw new Error(`the package knows no manifest version ${version}`);
  const manifest = schema.parse(raw);
  const config = await mcpb.getMcpConfigForManifest({
    manifest,
    extensionPath,
    systemDirs: {
      HOME: home,
      DESKTOP: join(home, "Desktop"),
      DOCUMENTS: join(home, "Documents"),
      DOWNLOADS: join(home, "Downloads"),
    },
    userConfig: JSON.parse(userConfigJson),
    pathSeparator: "/",
    logger: { log: () => {}, warn: (m) => console.error(m), error: (m) => console.error(m) },
  });
  console.log(JSON.stringify(config ?? null));
} else {
  console.error("usage: mcpb_host.mjs MCPB_PACKAGE_DIR latest | resolve EXTENSION_DIR HOME USER_CONFIG_JSON");
  process.exit(2);
}
