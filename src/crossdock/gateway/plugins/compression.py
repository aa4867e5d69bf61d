"""Compressed subgraph traffic: ``traffic_shaping.all|subgraphs.<name>.compression``.

Apollo Router's key and values (``gzip``, ``br``, ``deflate``; ``identity`` turns ``all``'s
off for one subgraph): the request body to that subgraph is sent in that coding, with
``Content-Encoding``, and ``Accept-Encoding: gzip, br, deflate``, so the subgraph may compress
its answer too, which is decoded here (:mod:`crossdock.gateway.codings`). An answer that
cannot be decoded fails its fetch with ``SUBREQUEST_HTTP_ERROR``, as in the router, where
decoding is part of the HTTP client (and as httpx, which decodes itself, fails it).
Subgraphs without the key are sent plain (the HTTP/1.1 client asks them for plain answers).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from crossdock.core.errors import ConfigError
from crossdock.gateway import codings
from crossdock.gateway.plugins.base import Plugin, SubgraphAnswer
from crossdock.gateway.values import per_subgraph

if TYPE_CHECKING:
    from collections.abc import Mapping

    from crossdock.gateway.plugins.base import SubgraphCall, SubgraphRequest

class Compression(Plugin):
    """Compresses requests to the subgraphs that have a coding, and decodes their answers."""

    name: ClassVar[str] = "compression"
    reads_answer_headers: ClassVar[bool] = True

    def __init__(self, *, default: str | None, own: Mapping[str, str | None]) -> None:
        #: ``all``'s coding, and the subgraphs' own (None: sent plain).
        self.default = default
        self.own = dict(own)

    async def on_subgraph(self, request: SubgraphRequest, call: SubgraphCall) -> SubgraphAnswer:
        coding = self.own.get(request.subgraph, self.default)
        if coding is None:
            return await call(request)
        payload = request.payload if request.payload is not None \
            else orjson.dumps(request.body)
        answer = await call(dataclasses.replace(
            request, payload=codings.compress(coding, payload),
            headers=(*request.headers, ("content-encoding", coding),
                     ("accept-encoding", codings.ACCEPT))))
        encoding = next((v for n, v in answer.headers if n == "content-encoding"), None)
        if encoding is None:
            return answer
        body = codings.decode(encoding, answer.body)
        return dataclasses.replace(answer, body=body, headers=tuple(
            (n, v) for n, v in answer.headers if n not in {"content-encoding",
                                                           "content-length"}))


def build(root: Mapping[str, Any], unsupported: list[str]) -> Plugin | None:
    """The plugin of the ``compression`` keys; None when no subgraph is compressed."""
    del unsupported  # every value is read or refused
    default: str | None = None
    own: dict[str, str | None] = {}
    for key, subgraph, value in per_subgraph(root, "compression"):
        if value not in {*codings.CODINGS, "identity"}:
            raise ConfigError(f"{key}: {value!r} is not one of gzip, br, deflate, identity")
        coding = None if value == "identity" else str(value)
        if subgraph is None:
            default = coding
        else:
            own[subgraph] = coding
    if default is None and not any(own.values()):
        return None
    return Compression(default=default, own=own)
