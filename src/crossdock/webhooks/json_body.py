"""The JSON object in an admin API request's body, read once for the inbound and outbound
routes: a body that is not one is the route's own error, so each answers it as it answers its
other invalid input. A field the route does not take is refused, never ignored: a client that
misspells one would otherwise believe it set; so is a null where the route's document does not
allow one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Collection

    from starlette.requests import Request

    from crossdock.webhooks.errors import WebhooksError


async def json_object(request: Request, invalid: type[WebhooksError], *,
                      fields: Collection[str], nullable: Collection[str] = ()) -> dict[str, Any]:
    """The body's JSON object; ``invalid`` is raised when the body is not JSON, not an
    object, has a member not in ``fields``, or a null member not in ``nullable``."""
    try:
        data = await request.json()
    except ValueError as exc:
        raise invalid("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    unknown = set(data) - set(fields)
    if unknown:
        raise invalid(f"unknown fields: {', '.join(sorted(map(repr, unknown)))}")
    # Null is not "leave it as it is" or "the default": a client gets those by leaving the
    # member out, so a null the document does not allow meant something else.
    nulls = sorted(key for key, value in data.items() if value is None and key not in nullable)
    if nulls:
        raise invalid(f"null is not a value of {', '.join(map(repr, nulls))}")
    return data
