"""JWT authentication: ``authentication.router.jwt``, Apollo Router's keys and answers.

A request's token is read from the ``Authorization`` header after its ``Bearer`` prefix (or
the configured header, prefix and ``sources``: more headers, cookies), checked against the
JWKS keys by the core (:mod:`crossdock.core.jwks`, :mod:`crossdock.core.jwt`: signature,
``exp``/``nbf`` with :data:`LEEWAY`, the set's issuers and audiences), and its claims become
the request context's ``claims`` for planning and the other plugins. A request without a
token goes on without claims (``authorization.require_authentication`` turns it away). A
request with a token that does not pass gets the router's answer: HTTP 401 (400 for a
malformed header), one error with ``extensions.code`` ``AUTH_ERROR`` and a message in the
router's words, and no subgraph is asked; with ``on_error: Continue`` it goes on without
claims instead.
"""

from __future__ import annotations

import dataclasses
import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from crossdock.core.errors import ConfigError, JwtError, KeySetError
from crossdock.core.jwks import ALGORITHMS, KeyRing, KeySet, KeySource, read_file
from crossdock.core.jwt import LEEWAY, verify
from crossdock.core.logging import get_logger
from crossdock.gateway.errors import TokenError
from crossdock.gateway.plugins.base import Plugin
from crossdock.gateway.result import Result
from crossdock.gateway.values import (
    HEADER_NAME,
    boolean,
    mapping,
    parse_duration,
    strings,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from crossdock.gateway.plugins.base import GraphQLRequest

#: Tokens whose verified claims are kept: a client sends the same token with every request,
#: and looking it up costs a dictionary read where checking it costs a signature.
_VERIFIED_SIZE = 10_000
_JWT_KEYS = frozenset({"jwks", "header_name", "header_value_prefix", "ignore_other_prefixes",
                       "sources", "on_error"})
_JWKS_KEYS = frozenset({"url", "issuer", "issuers", "audiences", "poll_interval",
                        "algorithms", "headers"})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TokenSource:
    """Where a token may be: a header after a prefix, or a cookie."""

    kind: str  # header, cookie
    name: str
    prefix: str = ""

    def read(self, headers: Mapping[str, str], *, ignore_other_prefixes: bool) -> str | None:
        """The token here, None when there is none; raises TokenError when malformed."""
        if self.kind == "cookie":
            for part in headers.get("cookie", "").split(";"):
                name, _, value = part.strip().partition("=")
                if name == self.name and value:
                    return value
            return None
        header = headers.get(self.name)
        if header is None:
            return None
        token = header.strip()
        if self.prefix:
            head, _, token = token.partition(" ")
            if head != self.prefix:
                if ignore_other_prefixes:
                    return None
                raise TokenError(f"Header Value: '{header}' is not correctly formatted. prefix "
                                 f"should be '{self.prefix}'", status=400)
            token = token.strip()
        if not token:
            raise TokenError(f"Header Value: '{header}' is not correctly formatted. Missing JWT",
                             status=400)
        return token


class JwtAuthentication(Plugin):
    """Checks each request's JWT and puts its claims in the request context."""

    name: ClassVar[str] = "authentication"

    def __init__(self, ring: KeyRing, sources: tuple[TokenSource, ...], *,
                 ignore_other_prefixes: bool = False, continue_on_error: bool = False) -> None:
        self.ring = ring
        self.sources = sources
        self.ignore_other_prefixes = ignore_other_prefixes
        self.continue_on_error = continue_on_error
        #: token -> (key ring generation, not before, not after, claims), by wall clock.
        self._verified: dict[str, tuple[int, float, float, Mapping[str, Any]]] = {}

    async def astart(self) -> None:
        await self.ring.start()

    async def aclose(self) -> None:
        await self.ring.aclose()

    async def on_request(self, request: GraphQLRequest) -> GraphQLRequest | Result:
        try:
            token = self.token(request.context.headers)
            if token is None:
                return request
            claims = self._known(token) or await self._verify_and_keep(token)
        except JwtError as exc:
            if self.continue_on_error:
                return request
            return Result(body={"errors": [{"message": str(exc),
                                            "extensions": {"code": "AUTH_ERROR"}}]},
                          status=exc.status)
        return request.with_context(dataclasses.replace(request.context, claims=claims))

    def _known(self, token: str) -> Mapping[str, Any] | None:
        """The claims of a token verified with the current keys, while still in its time."""
        found = self._verified.get(token)
        if found is None:
            return None
        generation, not_before, not_after, claims = found
        if generation == self.ring.generation and not_before <= time.time() < not_after:
            return claims
        del self._verified[token]
        return None

    async def _verify_and_keep(self, token: str) -> Mapping[str, Any]:
        claims = MappingProxyType(await self.verify(token))
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if len(self._verified) >= _VERIFIED_SIZE:
            self._verified.clear()
        self._verified[token] = (
            self.ring.generation,
            float(nbf) - LEEWAY if isinstance(nbf, int | float) else float("-inf"),
            float(exp) + LEEWAY if isinstance(exp, int | float) else float("-inf"), claims)
        return claims

    def token(self, headers: Mapping[str, str]) -> str | None:
        """The request's token from the first source that has one."""
        for source in self.sources:
            token = source.read(headers, ignore_other_prefixes=self.ignore_other_prefixes)
            if token is not None:
                return token
        return None

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of ``token``; raises JwtError saying why it does not pass."""
        if not self.ring.started:
            await self.ring.start()
        return await verify(self.ring, token)


def build(root: Mapping[str, Any], unsupported: list[str]) -> Plugin | None:
    """The JWT plugin of ``authentication.router.jwt`` (None without that key)."""
    if root.get("authentication") is None:
        return None
    section = mapping(root["authentication"], "authentication")
    unsupported.extend(f"authentication.{k}" for k in section if k != "router")
    router = mapping(section.get("router") or {}, "authentication.router")
    unsupported.extend(f"authentication.router.{k}" for k in router if k != "jwt")
    if router.get("jwt") is None:
        return None
    key = "authentication.router.jwt"
    jwt = mapping(router["jwt"], key)
    unsupported.extend(f"{key}.{k}" for k in jwt if k not in _JWT_KEYS)
    entries = jwt.get("jwks")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{key}.jwks: expected a list of key sets (each with a url)")
    sets = [KeySet(source=_source(entry, f"{key}.jwks[{i}]", unsupported))
            for i, entry in enumerate(entries)]
    for key_set in sets:
        if key_set.source.path is not None:
            try:
                key_set.keys = read_file(key_set.source)
            except KeySetError as exc:
                raise ConfigError(f"{key}.jwks: {exc}") from exc
    on_error = jwt.get("on_error", "Error")
    if on_error not in {"Error", "Continue"}:
        raise ConfigError(f"{key}.on_error: {on_error!r} is not Error or Continue")
    return JwtAuthentication(
        KeyRing(sets, log=get_logger("crossdock.gateway")), _sources(jwt, key, unsupported),
        ignore_other_prefixes=boolean(jwt.get("ignore_other_prefixes", False),
                                      f"{key}.ignore_other_prefixes"),
        continue_on_error=on_error == "Continue")


def _source(value: Any, key: str, unsupported: list[str]) -> KeySource:
    entry = mapping(value, key)
    unsupported.extend(f"{key}.{k}" for k in entry if k not in _JWKS_KEYS)
    url = entry.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in {"http", "https", "file"}:
        raise ConfigError(f"{key}.url: expected an http(s):// or file:// URL")
    algorithms = frozenset(strings(entry.get("algorithms") or [], f"{key}.algorithms"))
    if algorithms - ALGORITHMS:
        raise ConfigError(f"{key}.algorithms: not signing algorithms crossdock checks: "
                          f"{', '.join(sorted(algorithms - ALGORITHMS))}")
    headers = []
    for i, header in enumerate(entry.get("headers") or []):
        pair = mapping(header, f"{key}.headers[{i}]")
        name, value = pair.get("name"), pair.get("value")
        if not isinstance(name, str) or not HEADER_NAME.fullmatch(name) \
                or not isinstance(value, str):
            raise ConfigError(f"{key}.headers[{i}]: expected a header name and a value")
        headers.append((name, value))
    issuers = strings(entry.get("issuers") or [], f"{key}.issuers") \
        + strings(entry.get("issuer") or [], f"{key}.issuer")
    return KeySource(
        url=url, issuers=frozenset(issuers),
        audiences=frozenset(strings(entry.get("audiences") or [], f"{key}.audiences")),
        poll_interval=parse_duration(entry.get("poll_interval", "60s"),
                                     f"{key}.poll_interval"),
        algorithms=algorithms, headers=tuple(headers))


def _sources(jwt: Mapping[str, Any], key: str, unsupported: list[str],
             ) -> tuple[TokenSource, ...]:
    name = jwt.get("header_name", "Authorization")
    if not isinstance(name, str) or not HEADER_NAME.fullmatch(name):
        raise ConfigError(f"{key}.header_name: {name!r} is not a header name")
    prefix = jwt.get("header_value_prefix", "Bearer")
    if not isinstance(prefix, str) or any(c.isspace() for c in prefix):
        raise ConfigError(f"{key}.header_value_prefix: must not contain whitespace")
    found = [TokenSource(kind="header", name=name.lower(), prefix=prefix)]
    for i, value in enumerate(jwt.get("sources") or []):
        where = f"{key}.sources[{i}]"
        entry = mapping(value, where)
        kind, source_name = entry.get("type"), entry.get("name")
        if kind not in {"header", "cookie"} or not isinstance(source_name, str) \
                or not source_name:
            raise ConfigError(f"{where}: expected type header or cookie, and a name")
        unsupported.extend(f"{where}.{k}" for k in entry
                           if k not in {"type", "name", "value_prefix"})
        source_prefix = entry.get("value_prefix", "Bearer" if kind == "header" else "")
        if not isinstance(source_prefix, str):
            raise ConfigError(f"{where}.value_prefix: expected a string")
        found.append(TokenSource(kind=kind, name=source_name.lower() if kind == "header"
                                 else source_name, prefix=source_prefix))
    return tuple(found)
