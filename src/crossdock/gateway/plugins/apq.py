"""``apq``: automatic persisted queries, Apollo's ``extensions.persistedQuery`` protocol.

A client sends only ``{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": H}}}``
(by POST, or by GET with ``extensions`` in the query string). When the gateway knows the
query whose SHA-256 is ``H`` it runs it; otherwise it answers ``PersistedQueryNotFound``
(code ``PERSISTED_QUERY_NOT_FOUND``, uncacheable), and the client sends the query with its
hash, which registers it once the hash is checked. A hash that is not the query's is
refused (400 ``PERSISTED_QUERY_HASH_MISMATCH``): the router runs such a query without
registering it; refusing it tells a broken client at once.

Keys (Apollo Router's): ``apq.enabled``, ``apq.router.cache.in_memory.limit`` (512),
``apq.router.cache.redis`` (``urls``, one URL; ``namespace``, ``timeout``, ``ttl``).
Unlike the router, APQ is off until the file has an ``apq`` key (see :func:`apq_enabled`):
with it off, a request that sends only a hash gets ``PersistedQueryNotSupported``
(:func:`not_supported`), on which Apollo's clients stop hashing and send queries whole.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import TYPE_CHECKING, Any

from crossdock.core.errors import ConfigError
from crossdock.gateway.plugins.base import GraphQLRequest, Plugin
from crossdock.gateway.plugins.query_cache import MemoryQueryCache, QueryCache
from crossdock.gateway.result import Result, request_error
from crossdock.gateway.values import boolean, parse_duration

if TYPE_CHECKING:
    from collections.abc import Mapping

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
#: A "not found" must not be cached by a proxy: the next request registers the query.
NO_STORE = (("cache-control", "private, no-cache, must-revalidate"),)
_NOT_FOUND = Result(body={"data": None, "errors": [{
    "message": "PersistedQueryNotFound",
    "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}, headers=NO_STORE)
_NOT_SUPPORTED = Result(body={"data": None, "errors": [{
    "message": "PersistedQueryNotSupported",
    "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"}}]})
_MISMATCH = request_error("provided sha does not match query",
                          code="PERSISTED_QUERY_HASH_MISMATCH")


def not_supported() -> Result:
    """The answer to a persisted query's hash when APQ is off (the router's)."""
    return _NOT_SUPPORTED


class AutomaticPersistedQueries(Plugin):
    """Fills a request's query from its hash, and registers queries sent with theirs."""

    name = "apq"

    def __init__(self, cache: QueryCache) -> None:
        self.cache = cache

    async def on_request(self, request: GraphQLRequest) -> GraphQLRequest | Result:
        persisted = request.extensions.get("persistedQuery")
        if persisted is None:
            return request
        sha256 = _hash(persisted)
        if isinstance(sha256, Result):
            return sha256
        if request.query is None:
            query = await self.cache.get(sha256)
            if query is None:
                return _NOT_FOUND
            return dataclasses.replace(request, query=query)
        if hashlib.sha256(request.query.encode()).hexdigest() != sha256:
            return _MISMATCH
        await self.cache.put(sha256, request.query)
        return request

    async def aclose(self) -> None:
        await self.cache.aclose()


def _hash(persisted: Any) -> str | Result:
    """The hash of a ``persistedQuery`` extension (lower case), or why it has none."""
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        return request_error("Unsupported persisted query version: send "
                             '{"version": 1, "sha256Hash": "<hex>"}.')
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        return request_error("persistedQuery.sha256Hash must be a SHA-256 hash in hex.")
    return sha256.lower()


def apq_enabled(root: Mapping[str, Any]) -> bool:
    """Whether the file turns APQ on: an ``apq`` key whose ``enabled`` is not false."""
    if "apq" not in root:
        return False
    section = root["apq"]
    if section is None:
        return True
    if not isinstance(section, dict):
        raise ConfigError("apq: expected a mapping of keys")
    return boolean(section.get("enabled", True), "apq.enabled")


def build_apq(root: Mapping[str, Any], unsupported: list[str]) -> Plugin | None:
    """The ``apq`` section's plugin (None while APQ is off)."""
    if not apq_enabled(root):
        return None
    section = root.get("apq") or {}
    unsupported.extend(f"apq.{k}" for k in section if k not in {"enabled", "router"})
    router = _mapping(section.get("router") or {}, "apq.router", unsupported, {"cache"})
    cache = _mapping(router.get("cache") or {}, "apq.router.cache", unsupported,
                     {"in_memory", "redis"})
    memory = _mapping(cache.get("in_memory") or {}, "apq.router.cache.in_memory", unsupported,
                      {"limit"})
    limit = memory.get("limit", 512)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"apq.router.cache.in_memory.limit: {limit!r} is not a whole "
                          "number above 0")
    in_memory = MemoryQueryCache(limit)
    if cache.get("redis") is None:
        return AutomaticPersistedQueries(in_memory)
    return AutomaticPersistedQueries(_redis(cache["redis"], in_memory, unsupported))


def _redis(value: Any, memory: MemoryQueryCache, unsupported: list[str]) -> QueryCache:
    key = "apq.router.cache.redis"
    redis = _mapping(value, key, unsupported, {"urls", "namespace", "timeout", "ttl"})
    urls = redis.get("urls")
    if not isinstance(urls, list) or len(urls) != 1 or not isinstance(urls[0], str) \
            or not urls[0].startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{key}.urls: give one redis://, rediss:// or unix:// URL "
                          "(a cluster of several is not supported)")
    namespace = redis.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise ConfigError(f"{key}.namespace: {namespace!r} is not a string")
    timeout = parse_duration(redis.get("timeout", "500ms"), f"{key}.timeout")
    ttl = parse_duration(redis["ttl"], f"{key}.ttl") if redis.get("ttl") is not None else None
    try:
        from crossdock.gateway.plugins.redis_cache import RedisQueryCache
    except ImportError as exc:  # the optional extra is not installed
        raise ConfigError(f"{key}: needs the redis extra "
                          "(pip install 'crossdock[gateway,redis]')") from exc
    return RedisQueryCache(urls[0], memory, namespace=namespace, timeout=timeout, ttl=ttl)


def _mapping(value: Any, key: str, unsupported: list[str],
             known: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping of keys")
    unsupported.extend(f"{key}.{k}" for k in value if k not in known)
    return value
