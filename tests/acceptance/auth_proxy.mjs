// A loopback reverse proxy that adds `Authorization: Bearer <key>` to every request and passes
// everything else through untouched: method, path, the other headers (Host and Origin included,
// so the server's DNS-rebinding checks see what the client sent), the body, and the answer
// streamed back as it arrives (SSE events are written the moment the server sends them, and a
// client that hangs up closes the upstream request too). For test clients that cannot send a
// header of their own (the MCP conformance suite's server mode).
// Usage: node tests/acceptance/auth_proxy.mjs LISTEN_PORT UPSTREAM_URL   (key in BILLING_PROXY_KEY)
// Prints "listening PORT" once it accepts connections; LISTEN_PORT 0 picks a free port.
import http from "node:http";

const [listenPort = "0", upstreamArg] = process.argv.slice(2);
const key = process.env.BILLING_PROXY_KEY;
if (!upstreamArg || !key) {
  console.error("usage: BILLING_PROXY_KEY=... node auth_proxy.mjs LISTEN_PORT UPSTREAM_URL");
  process.exit(2);
}
const upstream = new URL(upstreamArg);
if (!["127.0.0.1", "localhost", "[::1]"].includes(upstream.hostname)) {
  console.error("the upstream must be on loopback");
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true });

const server = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: `Bearer ${key}` };
  const out = http.request(
    {
      host: upstream.hostname.replace(/^\[|\]$/g, ""),
      port: upstream.port || 80,
      method: req.method,
      path: req.url,
      headers,
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
      res.flushHeaders();
      answer.on("data", (chunk) => res.write(chunk));
      answer.on("end", () => res.end());
      answer.on("error", () => res.destroy());
    },
  );
  out.on("error", (e) => {
    if (!res.headersSent) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`proxy: ${e.message}`);
    } else {
      res.destroy();
    }
  });
  // The client went away (e.g. it closed an SSE stream): end the upstream request as well.
  res.on("close", () => {
    if (!res.writableFinished) out.destroy();
  });
  req.pipe(out);
});
server.keepAliveTimeout = 5000;
server.listen(Number(listenPort), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
