// @apollo/gateway served by @apollo/server's standalone HTTP server, default settings
// (document and query-plan caches on, as shipped). Apollo has no fork option, so N > 1
// processes run as node:cluster workers sharing one listening port.
// Usage: node apollo.mjs SUPERGRAPH_FILE HOST PORT PROCESSES
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const [file, host, port, processes] = process.argv.slice(2);
const workers = Number(processes ?? 1);

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`apollo worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
} else {
  const gateway = new ApolloGateway({ supergraphSdl: readFileSync(file, "utf8") });
  const server = new ApolloServer({ gateway, introspection: false });
  const { url } = await startStandaloneServer(server, { listen: { host, port: Number(port) } });
  console.error(`apollo gateway ready at ${url} (pid ${process.pid})`);
}
