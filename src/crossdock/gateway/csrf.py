"""CSRF prevention: refuse the requests a browser sends cross-origin without a preflight.

A browser sends a "simple" request to another origin without asking it first (no ``OPTIONS``
preflight), cookies included: a GET, or a POST whose content type is ``text/plain``,
``application/x-www-form-urlencoded`` or ``multipart/form-data``. A page on any site could
make a logged-in user's browser run an operation that way. As Apollo Router does (its
``csrf`` plugin, on by default), a request is served only when it could not have been simple:
its ``Content-Type`` is a valid media type other than those three, or it carries one of the
headers a page can only add after a preflight (``x-apollo-operation-name`` or
``apollo-require-preflight``, Apollo's defaults). A request with neither is answered 400 with
a GraphQL error whose code is ``CSRF_ERROR``.

Other headers that no browser adds by itself would force a preflight too, but proxies add
headers of their own (``x-forwarded-for``, ``via``) to simple requests: only the named
headers are trusted.

Only the GraphQL paths are checked, and not the GraphiQL page there (a GET that accepts HTML
and carries no query): it runs no operation.

Configured by the file's ``csrf`` key, with the router's keys: ``required_headers`` replaces
the two header names (the content type check stays), ``unsafe_disabled: true`` turns the
check off (for a graph of public data without mutations, or one no browser reaches).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from typing import Any

import orjson

from crossdock.core.asgi import ASGIApp, Receive, Scope, Send, send_bytes
from crossdock.core.errors import ConfigError
from crossdock.gateway.values import HEADER_NAME, boolean

#: The content types a form or ``fetch`` in ``no-cors`` mode may send without a preflight.
SIMPLE_CONTENT_TYPES = frozenset({
    "application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
#: The headers Apollo Router requires by default when the content type does not force a
#: preflight.
REQUIRED_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight")

_NAME = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # an HTTP token: a media type's type or subtype
_MEDIA_TYPE = re.compile(rf"\s*({_NAME})/({_NAME})\s*(?:;.*)?", re.DOTALL)

MESSAGE = (
    "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). "
    "Send a Content-Type header with a media type other than "
    "application/x-www-form-urlencoded, multipart/form-data and text/plain (such as "
    "application/json){headers}.")
_KEYS = frozenset({"unsafe_disabled", "required_headers"})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CsrfPolicy:
    """The ``csrf`` section: on by default, with the router's two header names."""

    unsafe_disabled: bool = False
    required_headers: tuple[str, ...] = REQUIRED_HEADERS


def parse_csrf(value: Any, unsupported: list[str]) -> CsrfPolicy:
    """The ``csrf`` section of the configuration file."""
    if not isinstance(value, dict):
        raise ConfigError(f"csrf: expected a mapping of keys, got {type(value).__name__}")
    unsupported.extend(f"csrf.{key}" for key in value if key not in _KEYS)
    disabled = boolean(value.get("unsafe_disabled", False), "csrf.unsafe_disabled")
    names = value.get("required_headers", list(REQUIRED_HEADERS))
    if not isinstance(names, list):
        raise ConfigError("csrf.required_headers: expected a list of header names")
    for index, name in enumerate(names):
        if not isinstance(name, str) or not HEADER_NAME.fullmatch(name):
            raise ConfigError(f"csrf.required_headers[{index}]: {name!r} is not a header name")
    return CsrfPolicy(unsafe_disabled=disabled,
                      required_headers=tuple(name.lower() for name in names))


def content_type_forces_preflight(values: list[bytes]) -> bool:
    """Whether the request's ``Content-Type`` values could only come after a preflight.

    Several values are joined as the Fetch standard combines headers; a value that is not a
    media type proves nothing (a browser may have sent it), so it does not count.
    """
    if not values:
        return False
    joined = ", ".join(value.decode("latin-1").strip().replace("\t", " ") for value in values)
    match = _MEDIA_TYPE.fullmatch(joined)
    if match is None:
        return False
    return f"{match[1]}/{match[2]}".lower() not in SIMPLE_CONTENT_TYPES


class CsrfGuard:
    """Serve ``app`` only requests that a browser would have preflighted."""

    def __init__(self, app: ASGIApp, *, paths: Collection[str],
                 required_headers: Collection[str] = REQUIRED_HEADERS) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.required = frozenset(name.lower().encode() for name in required_headers)
        self.refusal = orjson.dumps({"errors": [{
            "message": MESSAGE.format(headers=", or one of these headers: " + ", ".join(
                sorted(required_headers)) if required_headers else ""),
            "extensions": {"code": "CSRF_ERROR"}}]})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        await send_bytes(send, 400, self.refusal)

    def _allowed(self, scope: Scope) -> bool:
        content_types: list[bytes] = []
        accept = b""
        for name, value in scope["headers"]:
            if name in self.required:
                return True
            if name == b"content-type":
                content_types.append(value)
            elif name == b"accept":
                accept = value
        if content_type_forces_preflight(content_types):
            return True
        return (scope["method"] == "GET" and b"text/html" in accept
                and b"query=" not in scope.get("query_string", b""))
