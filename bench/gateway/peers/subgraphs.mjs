// The four subgraphs of the benchmark (accounts, inventory, products, reviews), shaped like
// the public gateways benchmark: User and Product entities cross every subgraph, with
// @requires (inventory) and @provides (reviews), so the deep query needs sequential and
// parallel fetches. Data is generated deterministically; lists take `first`/`offset` so the
// load can vary its variables without changing the response size.
import { parse } from "graphql";
import { buildSubgraphSchema } from "@apollo/subgraph";

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@provides", "@shareable"])';

const COUNT = 48;
const REVIEWS_PER_PRODUCT = 2;

const users = Array.from({ length: COUNT }, (_, i) => ({
  id: `u${i + 1}`,
  name: `User ${i + 1}`,
  username: `user${i + 1}`,
  birthday: 1_000_000 + i * 86_400,
}));
const products = Array.from({ length: COUNT }, (_, i) => ({
  upc: `p${i + 1}`,
  name: `Product ${i + 1}`,
  price: 100 + ((i * 337) % 1500),
  weight: 1 + ((i * 7) % 20),
}));
const reviews = [];
for (const [p, product] of products.entries()) {
  for (let k = 0; k < REVIEWS_PER_PRODUCT; k++) {
    const n = reviews.length + 1;
    reviews.push({
      id: `r${n}`,
      body: `Review ${n} of ${product.name}`,
      authorId: users[(p * 5 + k * 7) % COUNT].id,
      upc: product.upc,
    });
  }
}
const byId = (rows, key) => new Map(rows.map((row) => [row[key], row]));
const userById = byId(users, "id");
const productByUpc = byId(products, "upc");
const reviewById = byId(reviews, "id");

// Wraps around so every offset gives `first` rows.
const window = (rows, first, offset) =>
  Array.from({ length: Math.min(first, rows.length) }, (_, i) => rows[(offset + i) % rows.length]);

export const definitions = {
  accounts: {
    typeDefs: `${LINK}
      type Query {
        me: User
        user(id: ID!): User
        users(first: Int = 5, offset: Int = 0): [User]
      }
      type User @key(fields: "id") {
        id: ID!
        name: String
        username: String @shareable
        birthday: Int
      }`,
    resolvers: {
      Query: {
        me: () => users[0],
        user: (_, { id }) => userById.get(id) ?? null,
        users: (_, { first, offset }) => window(users, first, offset),
      },
      User: { __resolveReference: (ref) => userById.get(ref.id) ?? null },
    },
  },
  inventory: {
    typeDefs: `${LINK}
      type Product @key(fields: "upc") {
        upc: String!
        weight: Int @external
        price: Int @external
        inStock: Boolean
        shippingEstimate: Int @requires(fields: "price weight")
      }`,
    resolvers: {
      Product: {
        __resolveReference: (ref) => ({ ...ref, inStock: Number(ref.upc.slice(1)) % 3 !== 0 }),
        // Free shipping above 1000; otherwise a function of both @requires fields.
        shippingEstimate: (p) => (p.price > 1000 ? 0 : Math.round(p.weight * 0.5 + p.price / 100)),
      },
    },
  },
  products: {
    typeDefs: `${LINK}
      type Query {
        topProducts(first: Int = 5, offset: Int = 0): [Product]
        product(upc: String!): Product
      }
      type Product @key(fields: "upc") {
        upc: String!
        name: String
        price: Int
        weight: Int
      }`,
    resolvers: {
      Query: {
        topProducts: (_, { first, offset }) => window(products, first, offset),
        product: (_, { upc }) => productByUpc.get(upc) ?? null,
      },
      Product: { __resolveReference: (ref) => productByUpc.get(ref.upc) ?? null },
    },
  },
  reviews: {
    typeDefs: `${LINK}
      type Review @key(fields: "id") {
        id: ID!
        body: String
        author: User @provides(fields: "username")
        product: Product
      }
      type User @key(fields: "id") {
        id: ID!
        username: String @external
        reviews: [Review]
      }
      type Product @key(fields: "upc") {
        upc: String!
        reviews: [Review]
      }`,
    resolvers: {
      Review: {
        __resolveReference: (ref) => reviewById.get(ref.id) ?? null,
        author: (r) => ({ __typename: "User", id: r.authorId, username: userById.get(r.authorId).username }),
        product: (r) => ({ __typename: "Product", upc: r.upc }),
      },
      User: {
        __resolveReference: (ref) => ({ ...ref, username: userById.get(ref.id)?.username }),
        reviews: (u) => reviews.filter((r) => r.authorId === u.id),
      },
      Product: {
        __resolveReference: (ref) => ({ upc: ref.upc }),
        reviews: (p) => reviews.filter((r) => r.upc === p.upc),
      },
    },
  },
};

export const NAMES = Object.keys(definitions);

export function schemaOf(name) {
  const { typeDefs, resolvers } = definitions[name];
  return buildSubgraphSchema([{ typeDefs: parse(typeDefs), resolvers }]);
}
