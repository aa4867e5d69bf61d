// Hive Gateway with the production profile's features, as close to crossdock's as it allows:
// JWT (RS256 from a remote JWKS, issuer and audience checked, a token required), APQ
// (@graphql-yoga/plugin-apq, in memory), depth and token limits, the authorization and
// x-tenant headers sent to every subgraph, and OpenTelemetry traces to a local OTLP/HTTP
// collector (batched). In-flight deduplication stays on, as shipped.
import {
  createRemoteJwksSigningKeyProvider,
  defineConfig,
  extractFromHeader,
} from "@graphql-hive/gateway";
import { openTelemetrySetup } from "@graphql-hive/gateway/opentelemetry/setup";
import { useAPQ } from "@graphql-yoga/plugin-apq";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";

openTelemetrySetup({
  contextManager: new AsyncLocalStorageContextManager(),
  resource: { serviceName: "hive" },
  traces: { exporter: new OTLPTraceExporter({ url: `${process.env.BENCH_COLLECTOR}/v1/traces` }) },
});

export const gatewayConfig = defineConfig({
  logging: "warn",
  jwt: {
    signingKeyProviders: [
      createRemoteJwksSigningKeyProvider({ jwksUri: `${process.env.BENCH_COLLECTOR}/jwks.json` }),
    ],
    tokenLookupLocations: [extractFromHeader({ name: "authorization", prefix: "Bearer" })],
    tokenVerification: { issuer: "bench", audience: "gateway", algorithms: ["RS256"] },
    reject: { missingToken: true, invalidToken: true },
  },
  maxDepth: 15,
  maxTokens: 2000,
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({
      authorization: request.headers.get("authorization") ?? undefined,
      "x-tenant": request.headers.get("x-tenant") ?? undefined,
    }),
  },
  openTelemetry: { traces: true },
  plugins: () => [useAPQ()],
});
