"""The admin API's outbound routes (``/api/apps``, ``/api/endpoints``, ``/api/event-types``,
``/api/messages``), described in ``openapi.json`` with the ``outbound`` tag.

Each endpoint is a module-level function; the :class:`Outbound` it works on is the app's
``state.outbound``. Errors leave as webhooks errors, which the admin app answers: 404 for an
unknown application, endpoint, event type or message, 409 for a name taken, 400 for the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crossdock.webhooks.errors import InvalidOutbound, MessageNotFound, UnknownEndpoint
from crossdock.webhooks.json_body import json_object
from crossdock.webhooks.methods import route
from crossdock.webhooks.outbound.models import (
    ROTATION_OVERLAP,
    Endpoint,
    EndpointSettings,
    SigningScheme,
)
from crossdock.webhooks.outbound.service import ENDPOINT_FIELDS, MAX_OVERLAP, Outbound

#: What ``PATCH /api/endpoints/{id}`` takes besides the settings.
_STATE_FIELDS = frozenset({"enabled", "disabled_reason"})
#: The members each other request body may have (the document's ``additionalProperties``).
_APP_FIELDS = ("name", "description")
_NEW_ENDPOINT_FIELDS = ENDPOINT_FIELDS | {"signing"}
_ROTATE_FIELDS = ("overlap_hours", "signing")
_EVENT_TYPE_FIELDS = ("name", "description", "schema")
_MESSAGE_FIELDS = ("event_type", "payload", "key", "ordering_key", "channels")
#: The members that may be null (the document's ``["...", "null"]`` types, and any payload).
_NULLABLE_SETTINGS = ("event_types", "channels", "rate_limit", "max_concurrency")
_NULLABLE_MESSAGE = ("payload", "key", "ordering_key")


def _outbound(request: Request) -> Outbound:
    outbound: Outbound = request.app.state.outbound
    return outbound


async def _body(request: Request, fields: Collection[str],
                nullable: Collection[str] = ()) -> dict[str, Any]:
    return await json_object(request, InvalidOutbound, fields=fields, nullable=nullable)


def _id(request: Request, error: type[UnknownEndpoint | MessageNotFound]) -> int:
    try:
        return int(request.path_params["id"])
    except ValueError as exc:
        raise error(f"no such id {request.path_params['id']!r}: ids are integers") from exc


def _tuple(value: Any) -> tuple[Any, ...] | None:
    return tuple(value) if isinstance(value, list) else value


def _settings_changes(data: dict[str, Any]) -> dict[str, Any]:
    changes = {key: value for key, value in data.items() if key in ENDPOINT_FIELDS}
    for key in ("event_types", "channels"):
        if key in changes:
            changes[key] = _tuple(changes[key])
    return changes


def _with_secret(endpoint: Endpoint) -> dict[str, Any]:
    return {**endpoint.public(), **endpoint.receiver_key()}


def _signing(data: dict[str, Any]) -> SigningScheme | None:
    """The ``signing`` field, taken out of ``data`` (None when absent; null is refused)."""
    return SigningScheme.parse(data.pop("signing")) if "signing" in data else None


async def list_apps(request: Request) -> Response:
    """GET /api/apps."""
    apps = await _outbound(request).list_applications()
    return JSONResponse({"apps": [app.public() for app in apps]})


async def add_app(request: Request) -> Response:
    """POST /api/apps."""
    data = await _body(request, _APP_FIELDS)
    added = await _outbound(request).add_application(data.get("name", ""),
                                                     data.get("description", ""))
    return JSONResponse(added.public(), status_code=201)


async def remove_app(request: Request) -> Response:
    """DELETE /api/apps/{name}."""
    name = request.path_params["name"]
    await _outbound(request).remove_application(name)
    return JSONResponse({"removed": name})


async def list_endpoints(request: Request) -> Response:
    """GET /api/apps/{name}/endpoints."""
    found = await _outbound(request).list_endpoints(request.path_params["name"])
    return JSONResponse({"endpoints": [endpoint.public() for endpoint in found]})


async def add_endpoint(request: Request) -> Response:
    """POST /api/apps/{name}/endpoints: the answer holds the signing secret (or the ed25519
    public key), this once."""
    data = await _body(request, _NEW_ENDPOINT_FIELDS, _NULLABLE_SETTINGS)
    signing = _signing(data) or SigningScheme.HMAC
    changes = _settings_changes(data)
    if "url" not in changes:
        raise InvalidOutbound("url is required")
    added = await _outbound(request).add_endpoint(request.path_params["name"],
                                                  EndpointSettings(**changes), signing=signing)
    return JSONResponse(_with_secret(added), status_code=201)


async def update_endpoint(request: Request) -> Response:
    """PATCH /api/endpoints/{id}: settings, and ``enabled`` (with ``disabled_reason``)."""
    endpoint_id = _id(request, UnknownEndpoint)
    data = await _body(request, ENDPOINT_FIELDS | _STATE_FIELDS, _NULLABLE_SETTINGS)
    outbound = _outbound(request)
    changes = _settings_changes(data)
    endpoint = await outbound.update_endpoint(endpoint_id, changes) if changes \
        else await outbound.store.get_endpoint(endpoint_id)
    enabled = data.get("enabled")
    if enabled is True:
        endpoint = await outbound.enable_endpoint(endpoint_id)
    elif enabled is False:
        endpoint = await outbound.disable_endpoint(endpoint_id,
                                                   data.get("disabled_reason") or "")
    elif enabled is not None:
        raise InvalidOutbound("enabled must be true or false")
    return JSONResponse(endpoint.public())


async def remove_endpoint(request: Request) -> Response:
    """DELETE /api/endpoints/{id}."""
    endpoint_id = _id(request, UnknownEndpoint)
    await _outbound(request).remove_endpoint(endpoint_id)
    return JSONResponse({"removed": endpoint_id})


async def rotate_secret(request: Request) -> Response:
    """POST /api/endpoints/{id}/rotate-secret: the answer holds the new secret, this once."""
    endpoint_id = _id(request, UnknownEndpoint)
    data = await _body(request, _ROTATE_FIELDS)
    signing = _signing(data)
    hours = data.get("overlap_hours", ROTATION_OVERLAP.total_seconds() / 3600)
    most = MAX_OVERLAP.total_seconds() / 3600
    # Checked before it becomes a timedelta, which overflows (a 500) past about 2.7e12 days.
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 <= hours <= most:
        raise InvalidOutbound(f"overlap_hours must be a number from 0 to {most:g}")
    rotated = await _outbound(request).rotate_secret(
        endpoint_id, overlap=dt.timedelta(hours=hours), signing=signing)
    return JSONResponse(_with_secret(rotated))


async def recover(request: Request) -> Response:
    """POST /api/endpoints/{id}/recover."""
    endpoint_id = _id(request, UnknownEndpoint)
    since = (await _body(request, ("since",))).get("since")
    try:
        start = dt.datetime.fromisoformat(str(since))
    except ValueError as exc:
        raise InvalidOutbound("since must be an ISO 8601 time") from exc
    start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
    recovered = await _outbound(request).recover(endpoint_id, start)
    return JSONResponse({"recovered": recovered, "since": start.isoformat()})


async def list_event_types(request: Request) -> Response:
    """GET /api/event-types."""
    found = await _outbound(request).list_event_types()
    return JSONResponse({"event_types": [event_type.public() for event_type in found]})


async def add_event_type(request: Request) -> Response:
    """POST /api/event-types."""
    data = await _body(request, _EVENT_TYPE_FIELDS, ("schema",))
    added = await _outbound(request).add_event_type(
        data.get("name", ""), description=data.get("description", ""), schema=data.get("schema"))
    return JSONResponse(added.public(), status_code=201)


async def remove_event_type(request: Request) -> Response:
    """DELETE /api/event-types/{name}: 409 while endpoints or undelivered messages use it."""
    name = request.path_params["name"]
    await _outbound(request).remove_event_type(name)
    return JSONResponse({"removed": name})


async def send(request: Request) -> Response:
    """POST /api/apps/{name}/messages: 201 when new, 200 for an idempotency key's repeat."""
    data = await _body(request, _MESSAGE_FIELDS, _NULLABLE_MESSAGE)
    if "event_type" not in data or "payload" not in data:
        raise InvalidOutbound("event_type and payload are required")
    channels = data.get("channels", [])
    if not isinstance(channels, list):
        raise InvalidOutbound("channels must be a list of strings")
    published = await _outbound(request).send(
        request.path_params["name"], data["event_type"], data["payload"],
        key=data.get("key"), ordering_key=data.get("ordering_key"), channels=channels)
    return JSONResponse({**published.message.public(), "created": published.created,
                         "destinations": published.destinations},
                        status_code=201 if published.created else 200)


async def show_message(request: Request) -> Response:
    """GET /api/messages/{id}: the message, where it stands at each endpoint, its attempts."""
    message_id = _id(request, MessageNotFound)
    outbound = _outbound(request)
    message = await outbound.get_message(message_id)
    return JSONResponse({"message": message.public(),
                         "destinations": await outbound.destinations(message_id),
                         "attempts": [a.public() for a in await outbound.attempts(message_id)]})


async def resend(request: Request) -> Response:
    """POST /api/messages/{id}/resend: to ``endpoint_id``, or wherever the message failed."""
    message_id = _id(request, MessageNotFound)
    endpoint_id = (await _body(request, ("endpoint_id",))).get("endpoint_id")
    if endpoint_id is not None and (isinstance(endpoint_id, bool)
                                    or not isinstance(endpoint_id, int)):
        raise InvalidOutbound("endpoint_id must be an integer")
    resent = await _outbound(request).resend(message_id, endpoint_id)
    return JSONResponse({"resent": resent})


ROUTES = [
    route("/api/apps", GET=list_apps, POST=add_app),
    route("/api/apps/{name}", DELETE=remove_app),
    route("/api/apps/{name}/endpoints", GET=list_endpoints, POST=add_endpoint),
    route("/api/apps/{name}/messages", POST=send),
    route("/api/endpoints/{id}", PATCH=update_endpoint, DELETE=remove_endpoint),
    route("/api/endpoints/{id}/rotate-secret", POST=rotate_secret),
    route("/api/endpoints/{id}/recover", POST=recover),
    route("/api/event-types", GET=list_event_types, POST=add_event_type),
    route("/api/event-types/{name}", DELETE=remove_event_type),
    route("/api/messages/{id}", GET=show_message),
    route("/api/messages/{id}/resend", POST=resend),
]
