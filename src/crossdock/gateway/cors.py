"""CORS: which web pages on other origins may call the gateway from a browser (``cors``).

Read from the configuration file's ``cors`` key, with Apollo Router's keys: ``origins`` (exact
origins), ``match_origins`` (regular expressions searched in the origin: anchor them with
``^`` and ``$``), ``allow_any_origin``, ``allow_credentials``, ``allow_headers`` (empty: the
headers a preflight asks for are allowed), ``expose_headers``, ``methods`` (GET, POST and
OPTIONS by default) and ``max_age``.

Closed by default: without a ``cors`` key no response carries a CORS header, so browsers keep
other origins' pages out. Unlike the router, a ``cors`` key that lists no origin allows none
(the router would allow Apollo's own Studio site): crossdock trusts no outside site unless
the file names it.

:class:`CorsGuard` answers a preflight (``OPTIONS`` with ``Access-Control-Request-Method``)
itself: 200 with the allowing headers for an allowed origin and method, 403 without them
otherwise. Any other request goes to the app; one from an allowed origin gets
``Access-Control-Allow-Origin`` (and the other headers) on its response.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from crossdock.core.asgi import send_bytes
from crossdock.core.errors import ConfigError
from crossdock.gateway.values import HEADER_NAME, boolean

if TYPE_CHECKING:
    from collections.abc import Callable

    from crossdock.core.asgi import ASGIApp, Message, Receive, Scope, Send

_KEYS = frozenset({"origins", "match_origins", "allow_any_origin", "allow_credentials",
                   "allow_headers", "expose_headers", "methods", "max_age"})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CorsPolicy:
    """The ``cors`` section: the origins allowed and what they may send and read."""

    origins: frozenset[str] = frozenset()
    match_origins: tuple[re.Pattern[str], ...] = ()
    allow_any_origin: bool = False
    allow_credentials: bool = False
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    methods: tuple[str, ...] = ("GET", "POST", "OPTIONS")
    max_age: float | None = None

    def allows(self, origin: str) -> bool:
        """Whether a page on ``origin`` may call the gateway."""
        return self.allow_any_origin or origin in self.origins or any(
            pattern.search(origin) for pattern in self.match_origins)


def parse_cors(value: Any, unsupported: list[str],
               duration: Callable[[Any, str], float]) -> CorsPolicy:
    """The ``cors`` section (``duration`` reads ``max_age``, as the file's other durations)."""
    if not isinstance(value, dict):
        raise ConfigError(f"cors: expected a mapping of keys, got {type(value).__name__}")
    unsupported.extend(f"cors.{key}" for key in value if key not in _KEYS)
    any_origin = boolean(value.get("allow_any_origin", False), "cors.allow_any_origin")
    credentials = boolean(value.get("allow_credentials", False), "cors.allow_credentials")
    if any_origin and credentials:
        # A page on any site could then act with the visitor's cookies: browsers refuse the
        # pair, and the router refuses to start with it.
        raise ConfigError("cors.allow_credentials: cannot be true with allow_any_origin; "
                          "list the origins instead")
    origins = _strings(value.get("origins"), "cors.origins")
    for index, origin in enumerate(origins):
        if origin == "*":
            raise ConfigError(f"cors.origins[{index}]: '*' is not an origin; "
                              "use allow_any_origin")
    patterns = []
    for index, text in enumerate(_strings(value.get("match_origins"), "cors.match_origins")):
        try:
            patterns.append(re.compile(text))
        except re.error as exc:
            raise ConfigError(f"cors.match_origins[{index}]: {text!r} is not a regular "
                              f"expression: {exc}") from exc
    methods = _tokens(value.get("methods"), "cors.methods")
    max_age = value.get("max_age")
    return CorsPolicy(
        origins=frozenset(origins), match_origins=tuple(patterns),
        allow_any_origin=any_origin, allow_credentials=credentials,
        allow_headers=_tokens(value.get("allow_headers"), "cors.allow_headers"),
        expose_headers=_tokens(value.get("expose_headers"), "cors.expose_headers"),
        methods=tuple(m.upper() for m in methods) if methods else CorsPolicy().methods,
        max_age=None if max_age is None else duration(max_age, "cors.max_age"))



def _strings(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{key}: expected a list of strings")
    return tuple(value)


def _tokens(value: Any, key: str) -> tuple[str, ...]:
    items = _strings(value, key)
    for index, item in enumerate(items):
        if not HEADER_NAME.fullmatch(item):
            raise ConfigError(f"{key}[{index}]: {item!r} is not a header name or method")
    return items


class CorsGuard:
    """Answer preflights and mark responses for the origins ``policy`` allows."""

    __slots__ = ("app", "exposed", "policy", "preflight")

    def __init__(self, app: ASGIApp, policy: CorsPolicy) -> None:
        self.app = app
        self.policy = policy
        # The headers that do not depend on the request, built once.
        shared: list[tuple[bytes, bytes]] = []
        if policy.allow_credentials:
            shared.append((b"access-control-allow-credentials", b"true"))
        self.exposed = list(shared)
        if policy.expose_headers:
            self.exposed.append((b"access-control-expose-headers",
                                 ", ".join(policy.expose_headers).encode()))
        self.preflight = [*shared, (b"access-control-allow-methods",
                                    ", ".join(policy.methods).encode())]
        if policy.max_age is not None:
            self.preflight.append((b"access-control-max-age",
                                   str(int(policy.max_age)).encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = method = asked = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                method = value
            elif name == b"access-control-request-headers":
                asked = value
        if scope["method"] == "OPTIONS" and origin is not None and method is not None:
            await self._preflight(send, origin, method, asked)
            return
        if origin is None or not self.policy.allows(origin.decode("latin-1")):
            await self.app(scope, receive, send)
            return
        added = [*self._origin(origin), *self.exposed]

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        await self.app(scope, receive, marked)

    def _origin(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        if self.policy.allow_any_origin:
            return [(b"access-control-allow-origin", b"*")]
        return [(b"access-control-allow-origin", origin), (b"vary", b"origin")]

    async def _preflight(self, send: Send, origin: bytes, method: bytes,
                         asked: bytes | None) -> None:
        policy = self.policy
        if not policy.allows(origin.decode("latin-1")) \
                or method.decode("latin-1").upper() not in policy.methods:
            await send_bytes(send, 403, b"", content_type=b"text/plain")
            return
        headers = [*self._origin(origin), *self.preflight]
        allowed = ", ".join(policy.allow_headers).encode() if policy.allow_headers else asked
        if allowed:
            headers.append((b"access-control-allow-headers", allowed))
        await send_bytes(send, 200, b"", content_type=b"text/plain", headers=headers)
