// Serves the four subgraphs, one port each, from one Node process. The first request with a
// given body is executed for real (graphql-js over the subgraph schema); its serialized
// response is then kept, keyed by the exact request body, so after the warm-up every answer
// is a Map lookup and a write: the gateway under test stays the bottleneck.
// Usage: node subgraph-server.mjs <ports-file>   (writes {"accounts": port, ...} when ready)
import http from "node:http";
import { writeFileSync } from "node:fs";
import { graphql } from "graphql";
import { NAMES, schemaOf } from "./subgraphs.mjs";

const HEADERS = { "content-type": "application/json; charset=utf-8" };

function serve(name) {
  const schema = schemaOf(name);
  const answers = new Map();
  let executed = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/stats") {
      res.writeHead(200, HEADERS).end(JSON.stringify({ requests, executed, cached: answers.size }));
      return;
    }
    requests += 1;
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let answer = answers.get(body);
      if (answer === undefined) {
        let request;
        try {
          request = JSON.parse(body);
        } catch {
          res.writeHead(400, HEADERS).end('{"errors":[{"message":"body is not JSON"}]}');
          return;
        }
        const result = await graphql({
          schema,
          source: request.query,
          variableValues: request.variables,
          operationName: request.operationName,
        });
        answer = Buffer.from(JSON.stringify(result));
        executed += 1;
        if (!result.errors) answers.set(body, answer);
      }
      res.writeHead(200, { ...HEADERS, "content-length": answer.length }).end(answer);
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve([name, server.address().port])));
}

const ports = Object.fromEntries(await Promise.all(NAMES.map(serve)));
writeFileSync(process.argv[2], JSON.stringify(ports));
