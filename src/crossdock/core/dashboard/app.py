"""The dashboard's ASGI app: its page, its assets, and ``POST /graphql`` to the gateway.

The page and its assets come from the wheel (``static/``) under a Content-Security-Policy that
allows only the dashboard's own origin: no inline script or style, nothing from a CDN. The
browser sends its GraphQL requests to the dashboard's own ``/graphql``, which forwards the body
and the ``Authorization`` header to the gateway and answers with what the gateway said, so the
gateway needs no CORS and the page's ``connect-src`` stays ``'self'``. The dashboard knows no
service: it only talks GraphQL.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING

import httpx
import orjson

from crossdock.core.asgi import read_body, send_bytes
from crossdock.core.logging import get_logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from crossdock.core.asgi import Receive, Scope, Send

log = get_logger("crossdock.dashboard")

#: Where the assets are served; the page names them relative to ``/``.
PREFIX = "/static/"

#: Only the dashboard's own origin, for everything.
CSP = (b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       b"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

#: A GraphQL request larger than this is refused before it is forwarded.
MAX_BODY = 1 << 20

_TYPES = {".js": b"text/javascript; charset=utf-8", ".css": b"text/css; charset=utf-8",
          ".html": b"text/html; charset=utf-8", ".svg": b"image/svg+xml"}
_SECURITY = [(b"content-security-policy", CSP), (b"x-content-type-options", b"nosniff"),
             (b"referrer-policy", b"no-referrer")]


@functools.cache
def asset(name: str) -> tuple[bytes, bytes] | None:
    """The content and media type of the asset ``name``, or None if there is no such asset."""
    suffix = name[name.rfind("."):] if "." in name else ""
    if suffix not in _TYPES or "/" in name or "\\" in name or name.startswith("."):
        return None
    found = resources.files("crossdock.core.dashboard").joinpath("static", name)
    if not found.is_file():
        return None
    return found.read_bytes(), _TYPES[suffix]


def _error(message: str, code: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


class DashboardApp:
    """The dashboard, forwarding GraphQL to the URL ``graphql_url`` gives.

    A function, not a URL: ``crossdock up`` binds the dashboard before the gateway, whose URL
    it knows only then; None means no gateway (yet), and the page says so.
    """

    def __init__(self, graphql_url: Callable[[], str | None]) -> None:
        self.graphql_url = graphql_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope.get("path", ""), scope["method"]
        if path == "/graphql" and method == "POST":
            await self._forward(scope, receive, send)
        elif method not in ("GET", "HEAD"):
            await send_bytes(send, 405, b'{"error":"method not allowed"}')
        elif path in ("/", "/index.html"):
            await self._send_asset(send, "index.html", cache=False)
        elif path.startswith(PREFIX):
            await self._send_asset(send, path[len(PREFIX):], cache=True)
        else:
            await send_bytes(send, 404, b'{"error":"not found"}')

    async def _send_asset(self, send: Send, name: str, *, cache: bool) -> None:
        found = asset(name)
        if found is None:
            await send_bytes(send, 404, b'{"error":"not found"}')
            return
        content, media = found
        control = b"public, max-age=3600" if cache else b"no-cache"
        await send_bytes(send, 200, content, media, [(b"cache-control", control), *_SECURITY])

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive, limit=MAX_BODY)
        if body is None:
            await send_bytes(send, 413, _error(f"the request passes {MAX_BODY} bytes",
                                                      "BAD_REQUEST"))
            return
        url = self.graphql_url()
        if url is None:
            await send_bytes(send, 503, _error("the dashboard knows no gateway yet",
                                                      "SERVICE_UNAVAILABLE"))
            return
        headers = {"content-type": "application/json", "accept": "application/json"}
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                headers["authorization"] = value.decode("latin-1")
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                answer = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("dashboard_gateway_unreachable", url=url, error=str(exc))
            await send_bytes(send, 502, _error("the gateway did not answer; is it running?",
                                                      "BAD_GATEWAY"))
            return
        media = answer.headers.get("content-type", "application/json").encode("latin-1")
        await send_bytes(send, answer.status_code, answer.content, media,
                         [(b"cache-control", b"no-store")])
