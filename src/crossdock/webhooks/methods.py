"""One route per path of the admin API, whatever methods it has: a 405's ``Allow`` header then
lists every method the path takes (with one route per method, Starlette answered 405 with
only the first route's methods)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request
    from starlette.responses import Response

    Endpoint = Callable[[Request], Awaitable[Response]]


def route(path: str, **endpoints: Endpoint) -> Route:
    """A route answering each method named (``GET=list_apps, POST=add_app``) by its endpoint."""

    async def dispatch(request: Request) -> Response:
        # Starlette adds HEAD wherever GET is; GET's endpoint answers it.
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method](request)

    return Route(path, dispatch, methods=list(endpoints))
