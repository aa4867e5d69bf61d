// Composes the supergraph with @apollo/composition, once per run, for the subgraph URLs
// given. Usage: node compose.mjs '{"accounts": "http://...", ...}' > supergraph.graphql
import { parse } from "graphql";
import { composeServices } from "@apollo/composition";
import { definitions } from "./subgraphs.mjs";

const urls = JSON.parse(process.argv[2]);
const result = composeServices(
  Object.entries(definitions).map(([name, { typeDefs }]) => ({ name, url: urls[name], typeDefs: parse(typeDefs) })),
);
if (result.errors) {
  for (const error of result.errors) console.error(error.message);
  process.exit(1);
}
process.stdout.write(result.supergraphSdl);
