// The production profile's credentials: an RS256 key pair, its JWKS and a token signed with it.
// Usage: node jwt.mjs OUTDIR   (writes OUTDIR/jwks.json and OUTDIR/token)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT, exportJWK, generateKeyPair } from "jose";

const [dir] = process.argv.slice(2);
const { publicKey, privateKey } = await generateKeyPair("RS256");
const jwk = { ...(await exportJWK(publicKey)), kid: "bench-1", alg: "RS256", use: "sig" };
writeFileSync(join(dir, "jwks.json"), JSON.stringify({ keys: [jwk] }));
const token = await new SignJWT({ scope: "read:reviews read:products" })
  .setProtectedHeader({ alg: "RS256", kid: "bench-1" })
  .setIssuer("bench")
  .setAudience("gateway")
  .setSubject("user-1")
  .setIssuedAt()
  .setExpirationTime("4h")
  .sign(privateKey);
writeFileSync(join(dir, "token"), token);
