// The test host's script, bundled by mcp_app_host.mjs with esbuild at test time: it renders the
// MCP App resource as hosts do, with the official SDK's host side (AppBridge and
// PostMessageTransport from @modelcontextprotocol/ext-apps/app-bridge): a sandboxed iframe
// (allow-scripts only: an opaque origin), the CSP the resource's _meta.ui.csp asks for, the
// ui/initialize handshake, then the tool's input and result; the app's tools/call requests go to
// the driver (POST /call), which forwards them to the MCP server. window.hostState shows what
// happened.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

const state = { initialized: false, appInfo: null, appCapabilities: null, calls: [], sizes: [], logs: [], errors: [] };
window.hostState = state;

/** The policy a host derives from McpUiResourceCsp: nothing from the network unless declared. */
function cspFor(meta) {
  const csp = (meta && meta.ui && meta.ui.csp) || {};
  const list = (xs) => (xs && xs.length ? " " + xs.join(" ") : "");
  const res = list(csp.resourceDomains);
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline'${res}`,
    `style-src 'unsafe-inline'${res}`,
    `img-src data:${res}`,
    `font-src data:${res}`,
    `media-src data:${res}`,
    `connect-src${list(csp.connectDomains) || " 'none'"}`,
    `frame-src${list(csp.frameDomains) || " 'none'"}`,
    `base-uri${list(csp.baseUriDomains) || " 'none'"}`,
  ].join("; ");
}

function withCsp(html, meta) {
  const tag = `<meta http-equiv="Content-Security-Policy" content="${cspFor(meta)}">`;
  return /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (h) => h + tag) : tag + html;
}

window.startHost = async function startHost() {
  const get = (path) => fetch(path).then((r) => (r.ok ? r : Promise.reject(new Error(`${path}: ${r.status}`))));
  const [html, meta, input, result] = await Promise.all([
    get("/app.html").then((r) => r.text()),
    get("/resource-meta.json").then((r) => r.json()),
    get("/tool-input.json").then((r) => r.json()),
    get("/tool-result.json").then((r) => r.json()),
  ]);
  const status = document.getElementById("host-status");
  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.setAttribute("title", "billing-mcp dashboard");
  document.getElementById("frame").appendChild(iframe);

  const bridge = new AppBridge(
    null,
    { name: "billing-mcp acceptance host", version: "1.0.0" },
    { serverTools: {}, logging: {}, openLinks: {} },
    { hostContext: { theme: "light", displayMode: "inline", availableDisplayModes: ["inline"], platform: "web", locale: "en-US", timeZone: "UTC", containerDimensions: { maxHeight: 6000, width: 1240 } } },
  );
  bridge.oninitialized = () => {
    state.initialized = true;
    state.appInfo = bridge.getAppVersion() || null;
    state.appCapabilities = bridge.getAppCapabilities() || null;
    status.textContent = "app initialized";
    bridge.sendToolInput({ arguments: input });
    bridge.sendToolResult(result);
  };
  bridge.oncalltool = async (params) => {
    state.calls.push(params);
    status.textContent = `tools/call ${params.name}`;
    const r = await fetch("/call", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(params) });
    if (!r.ok) throw new Error(`the server's tools/call failed: ${r.status} ${await r.text()}`);
    return r.json();
  };
  bridge.onsizechange = ({ height }) => {
    state.sizes.push(height);
    if (height) iframe.style.height = `${Math.ceil(height)}px`;
  };
  bridge.onloggingmessage = (params) => state.logs.push(params);
  bridge.onopenlink = async () => ({});
  bridge.onrequestdisplaymode = async () => ({ mode: "inline" });

  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  iframe.srcdoc = withCsp(html, meta);
  status.textContent = "app loading";
  return true;
};
