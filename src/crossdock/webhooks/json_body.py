"""The JSON object in an admin API request's body, read once for the inbound and outbound
routes: a body that is not one is the route's own error, so each answers it as it answers its
other invalid input."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request

    from crossdock.webhooks.errors import WebhooksError


async def json_object(request: Request, invalid: type[WebhooksError]) -> dict[str, Any]:
    """The body's JSON object; ``invalid`` is raised when the body is not JSON or not an
    object."""
    try:
        data = await request.json()
    except ValueError as exc:
        raise invalid("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    return data
