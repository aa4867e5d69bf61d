// Hive Gateway as shipped (in-flight request deduplication on), with quieter logs.
import { defineConfig } from "@graphql-hive/gateway";

export const gatewayConfig = defineConfig({ logging: "warn" });
