// Composes the test federations' (and the demo's) subgraph SDL into the committed
// supergraph files.
// Run from a folder where @apollo/composition and graphql are installed (not in the repo):
//   NODE_PATH=/path/to/node_modules node tests/integration/gateway/compose.mjs
// Subgraph URLs are placeholders (http://NAME.invalid/graphql) the tests replace.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(process.env.NODE_PATH + "/");
const { composeServices } = require("@apollo/composition");
const { parse } = require("graphql");

const here = dirname(fileURLToPath(import.meta.url));
const demo = join(here, "..", "..", "..", "src", "crossdock", "gateway", "demo");
const jobs = readdirSync(join(here, "sdl")).map((scenario) => [
  scenario, join(here, "sdl", scenario), join(here, "supergraphs", `${scenario}.graphql`)]);
jobs.push(["demo", demo, join(demo, "supergraph.graphql")]);
for (const [scenario, folder, output] of jobs) {
  const services = readdirSync(folder).filter((f) => f.endsWith(".graphql") && f !== "supergraph.graphql").sort().map((f) => {
    const name = f.replace(/\.graphql$/, "");
    return { name, url: `http://${name}.invalid/graphql`,
             typeDefs: parse(readFileSync(join(folder, f), "utf8")) };
  });
  const result = composeServices(services);
  if (!result.supergraphSdl) {
    for (const error of result.errors) console.error(scenario, error.message);
    process.exit(1);
  }
  writeFileSync(output, result.supergraphSdl);
  console.log(`composed ${scenario}`);
}
