// Composes subgraph SDL files into a supergraph with Apollo's composition (development only:
// crossdock never runs Node). Usage: node compose.cjs OUT.graphql NAME=FILE...
// Each subgraph's URL is the placeholder http://NAME.invalid/graphql, filled in at start.
const fs = require("fs");
const { parse } = require("graphql");
const { composeServices } = require("@apollo/composition");

const [out, ...pairs] = process.argv.slice(2);
const services = pairs.map((pair) => {
  const [name, file] = pair.split("=");
  return { name, url: `http://${name}.invalid/graphql`,
           typeDefs: parse(fs.readFileSync(file, "utf8")) };
});
const result = composeServices(services);
if (result.errors && result.errors.length) {
  for (const error of result.errors) console.error(error.message);
  process.exit(1);
}
fs.writeFileSync(out, result.supergraphSdl);
