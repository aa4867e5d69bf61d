// Hive Gateway with in-flight deduplication of identical subgraph requests switched off,
// as its documentation shows, so it does the same work per request as the other gateways.
import { defineConfig } from "@graphql-hive/gateway";

export const gatewayConfig = defineConfig({
  logging: "warn",
  transportEntries: { "*.http": { options: { deduplicateInflightRequests: false } } },
});
