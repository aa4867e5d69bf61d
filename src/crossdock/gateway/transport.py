"""The port the executor reaches subgraphs through: POST bytes, get a status and bytes back.

The executor needs one call, so the port is one method. Its fixed headers (:data:`HEADERS`)
go with every request; ``headers`` adds the request's own (the trace context, later the
header rules), and ``time_limit`` the subgraph's own deadline, so nothing per client request
needs another port. ``answer_headers``, a list the caller passes only when it reads them (a
plugin that propagates ``Set-Cookie``, merges ``Cache-Control`` or decodes a compressed
answer), receives the answer's headers, so a request without such a plugin does no work for
them. Two adapters: the pooled HTTP/1.1
client of :mod:`crossdock.gateway.http1` (what ``crossdock gateway serve`` uses: a fraction
of the CPU per request of httpx or aiohttp, see docs/design/gateway-speed.md) and httpx (what
tests and embedders inject, including an ASGI transport when the subgraph is ours). Adapters
turn their library's errors into :class:`SubgraphTimeout` and :class:`SubgraphUnreachable`.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from crossdock.gateway.errors import SubgraphTimeout, SubgraphUnreachable

#: Headers of every subgraph request (the body is always a JSON GraphQL request).
HEADERS = {"content-type": "application/json",
           "accept": "application/graphql-response+json, application/json"}
#: Headers one subgraph request carries besides :data:`HEADERS`, as (name, value) pairs.
SubgraphHeaders = tuple[tuple[str, str], ...]
#: Where an adapter appends an answer's headers: lower-case names, in order, repeats kept.
AnswerHeaders = list[tuple[str, str]]
#: What an adapter that decoded the body itself leaves out of the headers it reports.
_ENCODED = frozenset({"content-encoding", "content-length"})


class SubgraphClient(Protocol):
    """POSTs a GraphQL request body to a subgraph."""

    async def post(self, url: str, body: bytes, *, headers: SubgraphHeaders = (),
                   time_limit: float | None = None,
                   answer_headers: AnswerHeaders | None = None) -> tuple[int, bytes]:
        """The HTTP status and body of the answer; raises SubgraphTimeout/Unreachable.

        ``time_limit`` is the seconds this request may take (None: the client's own). When
        ``answer_headers`` is a list, the answer's headers are appended to it; an adapter that
        decodes a ``Content-Encoding`` itself leaves that header (and ``Content-Length``) out,
        so whatever encoding is still reported is the caller's to decode.
        """
        ...


class HttpxSubgraphClient:
    """The port over an injected ``httpx.AsyncClient``."""

    __slots__ = ("client",)

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, url: str, body: bytes, *, headers: SubgraphHeaders = (),
                   time_limit: float | None = None,
                   answer_headers: AnswerHeaders | None = None) -> tuple[int, bytes]:
        try:
            response = await self.client.post(
                url, content=body, headers=[*HEADERS.items(), *headers] if headers else HEADERS,
                timeout=httpx.USE_CLIENT_DEFAULT if time_limit is None else time_limit)
        except httpx.TimeoutException as exc:
            raise SubgraphTimeout from exc
        except httpx.HTTPError as exc:
            raise SubgraphUnreachable(type(exc).__name__) from exc
        if answer_headers is not None:
            # httpx decodes gzip, deflate and br bodies itself.
            for name, value in response.headers.raw:
                key = name.decode("latin-1").lower()
                if key not in _ENCODED:
                    answer_headers.append((key, value.decode("latin-1")))
        return response.status_code, response.content


def as_subgraph_client(client: SubgraphClient | httpx.AsyncClient) -> SubgraphClient:
    """``client`` behind the port (an httpx client is wrapped)."""
    if isinstance(client, httpx.AsyncClient):
        return HttpxSubgraphClient(client)
    return client
