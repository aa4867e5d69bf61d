// @apollo/gateway with the production profile's features, as close to crossdock's as it
// allows: JWT (RS256 from a remote JWKS via jose, issuer and audience checked, a token
// required), APQ (Apollo Server's default in-memory cache), a depth limit (a validation rule)
// and a token limit (parseOptions.maxTokens), the authorization and x-tenant headers sent to
// every subgraph with the trace context, and OpenTelemetry traces (the gateway's own spans)
// to a local OTLP/HTTP collector, batched.
// Usage: node apollo-production.mjs SUPERGRAPH_FILE HOST PORT PROCESSES (BENCH_COLLECTOR set)
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { GraphQLError, Kind } from "graphql";
import { createRemoteJWKSet, jwtVerify } from "jose";

const [file, host, port, processes] = process.argv.slice(2);
const workers = Number(processes ?? 1);
const collector = process.env.BENCH_COLLECTOR;
const MAX_DEPTH = 15;

function depthLimit(context_) {
  const fragments = Object.fromEntries(context_.getDocument().definitions
    .filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const depth = (selectionSet, seen) => Math.max(0, ...selectionSet.selections.map((s) => {
    if (s.kind === Kind.FIELD) return s.selectionSet ? 1 + depth(s.selectionSet, seen) : 1;
    if (s.kind === Kind.INLINE_FRAGMENT) return depth(s.selectionSet, seen);
    const fragment = fragments[s.name.value];
    if (!fragment || seen.has(s.name.value)) return 0;
    return depth(fragment.selectionSet, new Set([...seen, s.name.value]));
  }));
  return {
    OperationDefinition(node) {
      if (depth(node.selectionSet, new Set()) > MAX_DEPTH) {
        context_.reportError(new GraphQLError(`Query is too deep (more than ${MAX_DEPTH}).`));
      }
    },
  };
}

class Forwarding extends RemoteGraphQLDataSource {
  willSendRequest({ request, context: requestContext }) {
    if (requestContext.authorization) {
      request.http.headers.set("authorization", requestContext.authorization);
    }
    if (requestContext.tenant) request.http.headers.set("x-tenant", requestContext.tenant);
    const carrier = {};
    propagation.inject(context.active(), carrier);
    for (const [name, value] of Object.entries(carrier)) request.http.headers.set(name, value);
  }
}

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`apollo worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
} else {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${collector}/v1/traces` }))],
  }));
  const jwks = createRemoteJWKSet(new URL(`${collector}/jwks.json`));
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(file, "utf8"),
    buildService: ({ url }) => new Forwarding({ url }),
  });
  const server = new ApolloServer({
    gateway, introspection: false, validationRules: [depthLimit],
    parseOptions: { maxTokens: 2000 },
  });
  const { url } = await startStandaloneServer(server, {
    listen: { host, port: Number(port) },
    context: async ({ req }) => {
      const header = req.headers.authorization ?? "";
      if (!header.startsWith("Bearer ")) {
        throw new GraphQLError("A token is required.", {
          extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } });
      }
      try {
        const { payload } = await jwtVerify(header.slice(7), jwks, {
          issuer: "bench", audience: "gateway", algorithms: ["RS256"] });
        return { claims: payload, authorization: header, tenant: req.headers["x-tenant"] };
      } catch {
        throw new GraphQLError("The token is not valid.", {
          extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } });
      }
    },
  });
  console.error(`apollo gateway (production profile) ready at ${url} (pid ${process.pid})`);
}
