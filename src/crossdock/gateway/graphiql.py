"""The GraphiQL page, and the assets it loads from the wheel (never from a CDN).

The page has no inline script or style, so it runs under a Content-Security-Policy that
allows only the gateway's own origin: it works offline and where an inline script would be
refused. The assets (``static/graphiql/``, with their licenses) are read on first use and kept.
"""

from __future__ import annotations

import functools
from importlib import resources

from crossdock.core.asgi import Send, send_bytes

#: Where the assets are served; the page refers to them by this absolute path.
PREFIX = "/static/graphiql/"

PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crossdock gateway</title>
<link rel="stylesheet" href="{PREFIX}graphiql.min.css">
<link rel="stylesheet" href="{PREFIX}page.css">
</head><body><div id="graphiql">Loading GraphiQL...</div>
<script src="{PREFIX}react.production.min.js"></script>
<script src="{PREFIX}react-dom.production.min.js"></script>
<script src="{PREFIX}graphiql.min.js"></script>
<script src="{PREFIX}start.js"></script>
</body></html>""".encode()

#: Only the gateway's own origin; GraphiQL's fonts and icons are data: URLs in its CSS.
CSP = (b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       b"img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'; "
       b"frame-ancestors 'none'")

_TYPES = {".js": b"text/javascript; charset=utf-8", ".css": b"text/css; charset=utf-8"}


@functools.cache
def asset(name: str) -> tuple[bytes, bytes] | None:
    """The content and media type of the asset ``name``, or None if there is no such asset."""
    suffix = name[name.rfind("."):] if "." in name else ""
    if suffix not in _TYPES or "/" in name or name.startswith("."):
        return None
    found = resources.files("crossdock.gateway").joinpath("static", "graphiql", name)
    if not found.is_file():
        return None
    return found.read_bytes(), _TYPES[suffix]


async def send_page(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    """Answer with the GraphiQL page, under its Content-Security-Policy."""
    await send_bytes(send, 200, PAGE, b"text/html; charset=utf-8",
                     [(b"content-security-policy", CSP), *headers])


async def send_asset(send: Send, path: str, headers: list[tuple[bytes, bytes]]) -> None:
    """Answer ``GET /static/graphiql/NAME`` with the asset, or 404."""
    found = asset(path[len(PREFIX):])
    if found is None:
        await send_bytes(send, 404, b'{"error":"not found"}', headers=headers)
        return
    content, media = found
    await send_bytes(send, 200, content, media, [
        (b"cache-control", b"public, max-age=86400"),
        (b"x-content-type-options", b"nosniff"), *headers])
