"""The JSON object in an admin API request's body, read once for the inbound and outbound
routes: a body that is not one is the route's own error, so each answers it as it answers its
other invalid input. A field the route does not take is refused, never ignored: a client that
misspells one would otherwise believe it set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Collection

    from starlette.requests import Request

    from crossdock.webhooks.errors import WebhooksError


async def json_object(request: Request, invalid: type[WebhooksError], *,
                      fields: Collection[str]) -> dict[str, Any]:
    """The body's JSON object; ``invalid`` is raised when the body is not JSON, not an
    object, or has a member not in ``fields``."""
    try:
        data = await request.json()
    except ValueError as exc:
        raise invalid("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    unknown = set(data) - set(fields)
    if unknown:
        raise invalid(f"unknown fields: {', '.join(sorted(map(repr, unknown)))}")
    return data
