"""The "secured" test federation (one accounts subgraph whose fields carry @authenticated,
@requiresScopes and @policy), an identity provider's JWKS endpoint, and tokens to sign."""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING, Any

import jwt
import orjson
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from crossdock.core.asgi import Receive, Scope, Send, send_bytes
from crossdock.gateway.config import parse_config
from tests.integration.gateway.subgraph import TestSubgraph

if TYPE_CHECKING:
    from pathlib import Path

    from crossdock.gateway.config import GatewayConfig
    from crossdock.gateway.context import RequestContext

#: The accounts subgraph as it serves (the access directives matter to the gateway only).
ACCOUNTS_SDL = """
type Query {
  me: User
  users: [User!]!
  audit: [String!]!
}

type User @key(fields: "id") {
  id: ID!
  name: String!
  email: String!
}
"""
USERS = [{"id": "u1", "name": "Ada", "email": "ada@example.com"},
         {"id": "u2", "name": "Alan", "email": "alan@example.com"}]
ISSUER = "https://idp.example.com/"
AUDIENCE = "crossdock"


def build() -> dict[str, TestSubgraph]:
    """A fresh accounts subgraph."""
    return {"accounts": TestSubgraph("accounts", ACCOUNTS_SDL, resolvers={"Query": {
        "me": lambda *_: USERS[0],
        "users": lambda *_: USERS,
        "audit": lambda *_: ["u1 signed in"],
    }}, references={"User": lambda rep: next(u for u in USERS if u["id"] == rep["id"])})}


class SigningKey:
    """A private key of one algorithm family, its public JWK, and tokens it signs."""

    def __init__(self, algorithm: str, kid: str) -> None:
        self.algorithm = algorithm
        self.kid = kid
        if algorithm.startswith(("RS", "PS")):
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif algorithm == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
        elif algorithm == "ES384":
            self.private = ec.generate_private_key(ec.SECP384R1())
        elif algorithm == "EdDSA":
            self.private = ed25519.Ed25519PrivateKey.generate()
        else:
            self.private = f"{kid}-shared-secret-of-at-least-64-bytes-for-hs512-".encode() * 2

    @property
    def jwk(self) -> dict[str, Any]:
        """The key's public JWK (the secret itself for an HMAC key)."""
        if isinstance(self.private, bytes):
            secret = base64.urlsafe_b64encode(self.private).rstrip(b"=").decode()
            found: dict[str, Any] = {"kty": "oct", "k": secret}
        else:
            algorithm = jwt.get_algorithm_by_name(self.algorithm)
            found = orjson.loads(algorithm.to_jwk(self.private.public_key()))
        return {**found, "kid": self.kid, "use": "sig"}

    def token(self, claims: dict[str, Any] | None = None, *, expires_in: float = 300,
              headers: dict[str, Any] | None = None, **extra: Any) -> str:
        """A token with a fresh ``exp``, this key's ``kid`` and the given claims (a claim
        given as None is left out)."""
        now = int(time.time())
        body = {"sub": "u1", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
                "exp": now + int(expires_in), **(claims or {}), **extra}
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(body, self.private, algorithm=self.algorithm,
                          headers={"kid": self.kid, **(headers or {})})


class JwksServer:
    """An identity provider's ``/jwks.json``: serves the keys it holds now, counts fetches,
    and fails on purpose when told."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.failing = False
        #: The headers of the last fetch, lower-case names.
        self.headers: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.fetches += 1
        self.headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if self.failing:
            await send_bytes(send, 500, b"down", content_type=b"text/plain")
            return
        body = orjson.dumps({"keys": [key.jwk for key in self.keys]})
        await send_bytes(send, 200, body, content_type=b"application/json")


#: The policy decisions the hooks below were asked for, in order.
ASKED: list[frozenset[str]] = []


def decide(policies: frozenset[str], context: RequestContext) -> set[str]:
    """A policy hook: ``admin`` to callers whose token says ``role: admin``."""
    ASKED.append(policies)
    return {"admin"} if context.claims.get("role") == "admin" else set()


async def decide_later(policies: frozenset[str], context: RequestContext) -> set[str]:
    """The same decision, as a coroutine (a hook may ask a service)."""
    return decide(policies, context)


def file_jwks_config(folder: Path, key: SigningKey, *, jwt_keys: str = "",
                     more: str = "") -> GatewayConfig:
    """A configuration checking tokens against ``key``, published as a JWKS file in
    ``folder``; ``jwt_keys`` are more lines under ``jwt:``, ``more`` more sections."""
    path = folder / "jwks.json"
    path.write_bytes(orjson.dumps({"keys": [key.jwk]}))
    return parse_config(yaml.safe_load(
        f'authentication:\n  router:\n    jwt:\n      jwks: [{{url: "file://{path}"}}]\n'
        + "".join(f"      {line}\n" for line in jwt_keys.splitlines()) + more))
