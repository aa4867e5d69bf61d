// What the production profile's gateways talk to besides subgraphs: the JWKS they fetch keys
// from (GET /jwks.json) and an OTLP/HTTP trace collector (POST /v1/traces) that counts the
// export requests and bytes each service sends (GET /stats), and drops them.
// Usage: node collector.mjs JWKS_FILE PORT_FILE
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";

const [jwksFile, portFile] = process.argv.slice(2);
const jwks = readFileSync(jwksFile);
const stats = { exports: 0, bytes: 0, jwks: 0 };

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/jwks.json") {
    stats.jwks += 1;
    res.writeHead(200, { "content-type": "application/json" }).end(jwks);
    return;
  }
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
    return;
  }
  if (req.method === "POST" && req.url.startsWith("/v1/traces")) {
    req.on("data", (chunk) => { stats.bytes += chunk.length; });
    req.on("end", () => {
      stats.exports += 1;
      res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/json" })
        .end(req.headers["content-type"]?.includes("json") ? "{}" : "");
    });
    return;
  }
  res.writeHead(404).end();
});
server.listen(0, "127.0.0.1", () => {
  writeFileSync(portFile, String(server.address().port));
});
