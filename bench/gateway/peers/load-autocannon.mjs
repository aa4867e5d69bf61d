// Fallback load generator when wrk is not installed: autocannon, cycling the JSON bodies of
// a file (one per line), printing the same one-line JSON result as load.lua.
// Usage: node load-autocannon.mjs URL BODIES_FILE CONNECTIONS DURATION_SECONDS
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

const [url, file, connections, duration] = process.argv.slice(2);
const bodies = readFileSync(file, "utf8").split("\n").filter(Boolean);
const headers = { "content-type": "application/json", accept: "application/graphql-response+json, application/json" };
let bad = 0;
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(duration),
  requests: bodies.map((body) => ({ method: "POST", headers, body })),
  setupClient: (client) =>
    client.on("body", (buf) => {
      if (buf.includes('"errors"')) bad += 1;
    }),
});
const ms = (v) => Math.round(v * 1000);
console.log(
  "WRK_JSON " +
    JSON.stringify({
      requests: result.requests.total,
      duration_us: Math.round(result.duration * 1e6),
      bytes: result.throughput.total,
      bad: bad + result.non2xx,
      socket_errors: result.errors + result.timeouts,
      p50_us: ms(result.latency.p50),
      p95_us: ms(result.latency.p97_5 ?? result.latency.p95 ?? result.latency.p99),
      p99_us: ms(result.latency.p99),
      mean_us: ms(result.latency.mean),
      max_us: ms(result.latency.max),
    }),
);
