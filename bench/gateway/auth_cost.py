"""What authentication and authorization add to a request, in microseconds, in-process.

`uv run --frozen python bench/gateway/auth_cost.py [--requests 5000]`

Times the JWT check of a token of each algorithm family, keys already fetched: at first sight
(signature and claim checks) and as every later request with the same token pays it (the
plugin's ``on_request``: header read, the verified token looked up, its times checked, claims
put in the context); and the
authorization plugin's ``on_operation`` on an operation whose decision is cached (what every
request after the first of its kind pays), against a request without a token and an
operation without guarded fields. Prints the median and p95 of each.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

from graphql import parse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.gateway.timing import figures, timed  # noqa: E402
from tests.integration.gateway.secured import AUDIENCE, ISSUER, SigningKey  # noqa: E402

from crossdock.core.jwks import KeyRing, KeySet, KeySource, parse_jwks  # noqa: E402
from crossdock.gateway.api_schema import build_api_schema  # noqa: E402
from crossdock.gateway.context import Headers, RequestContext  # noqa: E402
from crossdock.gateway.fields import operation_of  # noqa: E402
from crossdock.gateway.plugins.authorization import (  # noqa: E402
    AuthorizationSettings,
    DirectivesAuthorization,
)
from crossdock.gateway.plugins.base import GraphQLRequest, Operation  # noqa: E402
from crossdock.gateway.plugins.jwt import JwtAuthentication, TokenSource  # noqa: E402
from crossdock.gateway.supergraph import load_supergraph  # noqa: E402

ALGORITHMS = ["RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256"]


def request(headers: dict[str, str], claims: dict[str, Any] | None = None) -> GraphQLRequest:
    raw = tuple((k.encode(), v.encode()) for k, v in headers.items())
    context = RequestContext(request_id="bench", headers=Headers(raw),
                             claims=MappingProxyType(claims or {}))
    return GraphQLRequest(query="{ me { name } }", context=context)


async def authentication(requests: int) -> None:
    keys = [SigningKey(algorithm, f"k-{algorithm}") for algorithm in ALGORITHMS]
    body = ('{"keys": [' + ",".join(__import__("json").dumps(k.jwk) for k in keys) + "]}")
    source = KeySource(url="file:///bench/jwks.json", issuers=frozenset({ISSUER}),
                       audiences=frozenset({AUDIENCE}))
    ring = KeyRing([KeySet(source=source, keys=parse_jwks(body.encode(), source.url))])
    ring._started = True  # noqa: SLF001 - keys given above; no fetch, no poller
    plugin = JwtAuthentication(ring, (TokenSource(kind="header", name="authorization",
                                                  prefix="Bearer"),))
    print("authentication.router.jwt on_request (a fresh context each request):")
    anonymous = await timed(lambda: plugin.on_request(request({})), requests)
    print(f"  no token            {figures(anonymous)}")
    for key in keys:
        token = key.token({"scope": "read:users"})

        async def once(token: str = token) -> Any:
            return await plugin.on_request(request({"authorization": f"Bearer {token}"}))

        async def check(token: str = token) -> Any:
            return await plugin.verify(token)

        found = await once()
        assert isinstance(found, GraphQLRequest), found
        assert found.context.claims, found
        print(f"  {key.algorithm:<6} first sight  {figures(await timed(check, requests))}")
        print(f"  {key.algorithm:<6} seen before  {figures(await timed(once, requests))}")


async def authorization(requests: int) -> None:
    supergraph = load_supergraph(ROOT / "tests/integration/gateway/supergraphs/secured.graphql")
    schema = build_api_schema(supergraph)
    plugin = DirectivesAuthorization(AuthorizationSettings())
    print("authorization on_operation (decision cached):")
    for label, query, claims in [
        ("nothing guarded", "{ __typename }", {"sub": "u1"}),
        ("kept (scope met)", "{ me { name } users { id } }", {"scope": "read:users"}),
        ("field removed", "{ me { name } users { id } }", {"scope": "other"}),
    ]:
        document = parse(query)
        operation = Operation(request=GraphQLRequest(query=query, context=RequestContext(
            request_id="bench", claims=MappingProxyType(claims))), document=document,
            definition=operation_of(document, None), schema=schema, supergraph=supergraph)
        samples = await timed(lambda operation=operation: plugin.on_operation(operation),
                              requests)
        print(f"  {label:<18}  {figures(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(authentication(args.requests))
    asyncio.run(authorization(args.requests))


if __name__ == "__main__":
    main()
