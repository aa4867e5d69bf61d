"""JSON Web Key Sets: the keys a token may be signed with, fetched, kept fresh, looked up.

Each configured set (the gateway's ``authentication.router.jwt.jwks[]``, the admin graph's
``CROSSDOCK_ADMIN_JWT_JWKS``) comes from an ``http(s)://`` URL or a ``file://`` path.
:class:`KeyRing` fetches them all at start, again every set's ``poll_interval`` (in the
background after :meth:`KeyRing.start`, or when a token arrives after it passed, with
:meth:`KeyRing.refresh_stale`), and at once when a token names a ``kid`` no set holds (at
most once every :data:`FORCED_REFRESH_GAP` seconds, so a stream of made-up ``kid``\\s cannot
make a service hammer the identity provider). A fetch that fails is logged and the set keeps
its last good keys.

A JWK is turned into a key object once per algorithm it is used with, so verifying a token
costs one signature check, not a key parse.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import httpx
import orjson
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from crossdock.core.errors import KeySetError
from crossdock.core.logging import get_logger

if TYPE_CHECKING:
    from collections.abc import Iterator

    from structlog.typing import FilteringBoundLogger

_log = get_logger("crossdock.jwks")

#: The least time between two refreshes forced by an unknown ``kid``.
FORCED_REFRESH_GAP = 10.0
#: What fetching one set may take.
FETCH_TIMEOUT = 10.0
#: The signing algorithms of each key type (``alg: none`` is never one).
_ALGORITHMS: dict[str, frozenset[str]] = {
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "oct": frozenset({"HS256", "HS384", "HS512"}),
    "OKP": frozenset({"EdDSA"}),
}
_CURVES = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "secp256k1": "ES256K"}
#: Every algorithm a key may be configured for.
ALGORITHMS = frozenset().union(*_ALGORITHMS.values(), _CURVES.values())


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KeySource:
    """One ``jwks`` entry of the configuration."""

    url: str
    issuers: frozenset[str] = frozenset()
    audiences: frozenset[str] = frozenset()
    poll_interval: float = 60.0
    #: The algorithms its tokens may use (empty: any its keys allow).
    algorithms: frozenset[str] = frozenset()
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def path(self) -> Path | None:
        """The file of a ``file://`` URL."""
        parts = urlsplit(self.url)
        return Path(unquote(parts.path)) if parts.scheme == "file" else None


class Jwk:
    """One key of a set, with its key objects made on first use per algorithm."""

    __slots__ = ("_objects", "algorithms", "data", "kid")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        kid = data.get("kid")
        self.kid = kid if isinstance(kid, str) else None
        kty = data.get("kty")
        possible = _CURVES.get(data.get("crv", "")) if kty == "EC" else None
        algorithms = frozenset({possible}) if possible else _ALGORITHMS.get(str(kty), frozenset())
        if isinstance(data.get("alg"), str):
            algorithms &= {data["alg"]}
        self.algorithms = algorithms
        self._objects: dict[str, Any] = {}

    def key(self, algorithm: str) -> Any:
        """The key object to verify ``algorithm`` signatures with."""
        found = self._objects.get(algorithm)
        if found is None:
            found = self._objects[algorithm] = PyJWK(self.data, algorithm).key
        return found


@dataclasses.dataclass(slots=True, kw_only=True)
class KeySet:
    """A source and the keys last read from it."""

    source: KeySource
    keys: tuple[Jwk, ...] = ()
    fetched_at: float | None = None


def parse_jwks(body: bytes, where: str,
               log: FilteringBoundLogger = _log) -> tuple[Jwk, ...]:
    """The signing keys of a JWKS document; keys of kinds no algorithm takes are left out."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise KeySetError(f"{where}: not JSON: {exc}") from exc
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise KeySetError(f'{where}: not a JWKS (no "keys" list)')
    keys: list[Jwk] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        jwk = Jwk(entry)
        if not jwk.algorithms:
            continue
        try:
            jwk.key(min(jwk.algorithms))
        except (PyJWKError, ValueError, TypeError) as exc:
            log.warning("jwks_key_skipped", source=where, kid=jwk.kid, error=str(exc))
            continue
        keys.append(jwk)
    return tuple(keys)


def read_file(source: KeySource) -> tuple[Jwk, ...]:
    """The keys in a ``file://`` source's file."""
    path = source.path
    assert path is not None
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise KeySetError(f"{source.url}: cannot read: {exc.strerror}") from exc
    return parse_jwks(body, source.url)


class KeyRing:
    """Every configured key set, kept fresh (see the module's docstring)."""

    def __init__(self, sets: list[KeySet], *, log: FilteringBoundLogger = _log) -> None:
        self.sets = sets
        self.log = log
        self._stale: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._pollers: list[asyncio.Task[None]] = []
        self._forced: asyncio.Task[None] | None = None
        self._forced_at = float("-inf")
        self._started = False
        #: Grows at each fetch that succeeds: what was verified with older keys is checked
        #: again (a key taken out of a set stops a token it signed within one poll).
        self.generation = 0

    @property
    def started(self) -> bool:
        """Whether :meth:`start` ran."""
        return self._started

    async def start(self) -> None:
        """Fetches every set once and starts the background refreshes."""
        if self._started:
            return
        self._started = True
        self._client = httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=True)
        await self.refresh()
        self._pollers = [asyncio.create_task(self._poll(key_set)) for key_set in self.sets]

    async def aclose(self) -> None:
        """Stops the refreshes and closes the HTTP client."""
        tasks = [*self._pollers, *([self._forced] if self._forced else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pollers = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._started = False

    async def refresh(self) -> None:
        """Fetches every set now; a set that fails keeps its keys."""
        await asyncio.gather(*(self._fetch(key_set) for key_set in self.sets))

    async def refresh_stale(self) -> None:
        """Fetches the sets never fetched or fetched more than their ``poll_interval`` ago
        (for a ring without background refreshes); requests arriving meanwhile wait for the
        same fetches."""
        if self._stale is None or self._stale.done():
            now = time.monotonic()
            stale = [key_set for key_set in self.sets if key_set.fetched_at is None
                     or now - key_set.fetched_at >= key_set.source.poll_interval]
            if not stale:
                return
            self._stale = asyncio.create_task(self._fetch_all(stale))
        await asyncio.shield(self._stale)

    def fetched(self) -> bool:
        """Whether some set was ever read (if none was, no token can be checked)."""
        return any(key_set.fetched_at is not None for key_set in self.sets)

    async def _fetch_all(self, sets: list[KeySet]) -> None:
        await asyncio.gather(*(self._fetch(key_set) for key_set in sets))

    async def refresh_for_unknown_kid(self) -> bool:
        """Refreshes every set unless that was done less than :data:`FORCED_REFRESH_GAP`
        seconds ago (requests arriving meanwhile wait for the same refresh); True when it
        refreshed or joined a refresh."""
        if self._forced is not None and not self._forced.done():
            await asyncio.shield(self._forced)
            return True
        now = time.monotonic()
        if now - self._forced_at < FORCED_REFRESH_GAP:
            return False
        self._forced_at = now
        self._forced = asyncio.create_task(self.refresh())
        await asyncio.shield(self._forced)
        return True

    def candidates(self, kid: str | None, algorithm: str) -> Iterator[tuple[KeySource, Jwk]]:
        """The keys that may have signed a token with this header, sets in configured order."""
        for key_set in self.sets:
            allowed = key_set.source.algorithms
            if allowed and algorithm not in allowed:
                continue
            for jwk in key_set.keys:
                if (kid is None or jwk.kid == kid) and algorithm in jwk.algorithms:
                    yield key_set.source, jwk

    def knows(self, kid: str) -> bool:
        """Whether any set holds a key with this ``kid``."""
        return any(jwk.kid == kid for key_set in self.sets for jwk in key_set.keys)

    async def _poll(self, key_set: KeySet) -> None:
        while True:
            await asyncio.sleep(key_set.source.poll_interval)
            await self._fetch(key_set)

    async def _fetch(self, key_set: KeySet) -> None:
        source = key_set.source
        try:
            if source.path is not None:
                keys = await asyncio.to_thread(read_file, source)
            else:
                keys = parse_jwks(await self._download(source), source.url, self.log)
        except KeySetError as exc:
            self.log.warning("jwks_fetch_failed", url=source.url, error=str(exc),
                        kept=len(key_set.keys))
            return
        key_set.keys = keys
        key_set.fetched_at = time.monotonic()
        self.generation += 1
        self.log.info("jwks_fetched", url=source.url, keys=len(keys))

    async def _download(self, source: KeySource) -> bytes:
        try:
            if self._client is not None:
                response = await self._client.get(source.url, headers=dict(source.headers))
            else:
                # Not started: no background refreshes, and a fetch a minute at most needs no
                # client kept open (nor a shutdown to close it).
                async with httpx.AsyncClient(timeout=FETCH_TIMEOUT,
                                             follow_redirects=True) as client:
                    response = await client.get(source.url, headers=dict(source.headers))
        except httpx.HTTPError as exc:
            raise KeySetError(f"{source.url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:  # noqa: PLR2004
            raise KeySetError(f"{source.url}: answered HTTP {response.status_code}")
        return response.content
