"""The admin HTTP API (JSON, described by ``openapi.json`` beside this module).

Starlette routes it: this is not the hot path. Every error is ``{"error": message}`` with 400
(bad input), 401 (no valid admin token), 403 (a read token asked to write), 404 (unknown
source, route, delivery, application, endpoint, event type or message) or 409 (a name taken).
The outbound routes (applications, endpoints, event types, messages) are in
``outbound/admin.py``. Every request but the description's
needs ``Authorization: Bearer <token>`` (``crossdock admin token create``): a read token for
GET, an admin token for the rest.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crossdock.core.adminauth import AdminAuth, TokenGuard
from crossdock.core.asgi import ASGIApp
from crossdock.core.backoff import Backoff
from crossdock.core.database import Database
from crossdock.webhooks import operations
from crossdock.webhooks.errors import (
    ApplicationExists,
    DeliveryNotFound,
    EventTypeExists,
    EventTypeInUse,
    MessageNotFound,
    RouteNotFound,
    SourceExists,
    StoreError,
    StoreUnavailable,
    UnknownApplication,
    UnknownEndpoint,
    UnknownEventType,
    UnknownSource,
    WebhooksError,
)
from crossdock.webhooks.json_body import json_object
from crossdock.webhooks.methods import route
from crossdock.webhooks.models import DeliveryStatus
from crossdock.webhooks.outbound import admin as outbound_admin
from crossdock.webhooks.outbound.service import Outbound

#: Errors that name something missing (404), or taken or in use (409); others of ours: 400.
_NOT_FOUND = (UnknownSource, DeliveryNotFound, RouteNotFound, UnknownApplication,
              UnknownEndpoint, UnknownEventType, MessageNotFound)
_TAKEN = (SourceExists, ApplicationExists, EventTypeExists,
          EventTypeInUse)


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI description."""
    text = resources.files("crossdock.webhooks").joinpath("openapi.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _status(value: str | None) -> DeliveryStatus | None:
    if value is None:
        return None
    try:
        return DeliveryStatus(value)
    except ValueError as exc:
        raise WebhooksError(f"unknown status {value!r}") from exc


def _time(value: Any, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise WebhooksError(f"{name} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


#: The members each request body may have (the document's ``additionalProperties: false``).
_SOURCE_FIELDS = ("name", "provider", "secrets", "options", "max_body_bytes", "retry")
_SOURCE_CHANGE_FIELDS = ("add_secrets", "remove_secrets", "max_body_bytes", "retry")
_ROUTE_FIELDS = ("handler", "event_type", "action", "filters", "config", "position")
_REPLAY_FIELDS = ("ids", "source", "since", "until", "status")


async def _json_object(request: Request, fields: tuple[str, ...],
                       nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    return await json_object(request, WebhooksError, fields=fields, nullable=nullable)


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _source_changes(data: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`operations.update_source`, checked."""
    changes = {key: data.get(key, []) for key in ("add_secrets", "remove_secrets")}
    if not all(_is_strings(v) for v in changes.values()):
        raise WebhooksError("add_secrets and remove_secrets are lists of strings")
    changes["max_body_bytes"] = data.get("max_body_bytes")
    if changes["max_body_bytes"] is not None and not isinstance(changes["max_body_bytes"], int):
        raise WebhooksError("max_body_bytes must be an integer")
    changes["retry"] = data.get("retry")
    if changes["retry"] is not None and not isinstance(changes["retry"], dict):
        raise WebhooksError("retry must be an object")
    return changes


OPENAPI_PATH = "/api/openapi.json"
#: The most deliveries one GET /api/deliveries lists.
MAX_LIMIT = 10_000


def build_api(database: Database, auth: AdminAuth) -> ASGIApp:
    """The admin API over ``database``, behind the admin graph's token (and JWT) check.

    The description stays public: a client reads from it how to authenticate.
    """
    return TokenGuard(_routes(database), auth, public={OPENAPI_PATH})


def _routes(database: Database) -> Starlette:  # noqa: C901, PLR0915 - one closure per route

    async def get_openapi(request: Request) -> Response:  # noqa: ARG001 (endpoint)
        return JSONResponse(openapi_document())

    async def list_sources(request: Request) -> Response:  # noqa: ARG001 (endpoint)
        sources = await operations.list_sources(database)
        return JSONResponse({"sources": [source.public() for source in sources]})

    async def add_source(request: Request) -> Response:
        data = await _json_object(request, _SOURCE_FIELDS)
        if not (isinstance(data.get("name"), str) and isinstance(data.get("provider"), str)
                and _is_strings(data.get("secrets"))):
            raise WebhooksError("name and provider (strings) and secrets (a list of strings) "
                                "are required")
        retry = data.get("retry") or {}
        try:
            source = operations.build_source(
                data["name"], data["provider"], data["secrets"],
                options=data.get("options"), max_body_bytes=data.get("max_body_bytes"),
                retry=Backoff(**retry),
            )
        except TypeError as exc:
            raise WebhooksError("retry takes max_tries, base_seconds and max_seconds") from exc
        created = await operations.add_source(database, source)
        return JSONResponse(created.public(), status_code=201)

    async def update_source(request: Request) -> Response:
        changes = _source_changes(await _json_object(request, _SOURCE_CHANGE_FIELDS))
        changed = await operations.update_source(
            database, request.path_params["name"], **changes)
        return JSONResponse(changed.public())

    async def remove_source(request: Request) -> Response:
        name = request.path_params["name"]
        deliveries = await operations.remove_source(database, name)
        return JSONResponse({"removed": name, "deliveries": deliveries})

    async def remove_route(request: Request) -> Response:
        try:
            route_id = int(request.path_params["id"])
        except ValueError as exc:
            raise RouteNotFound("route ids are integers") from exc
        await operations.remove_route(database, route_id)
        return JSONResponse({"removed": route_id})

    async def list_routes(request: Request) -> Response:
        routes = await operations.list_routes(database, request.path_params["name"])
        return JSONResponse({"routes": [route.public() for route in routes]})

    async def add_route(request: Request) -> Response:
        data = await _json_object(request, _ROUTE_FIELDS, nullable=("event_type", "action"))
        if not isinstance(data.get("handler"), str):
            raise WebhooksError("handler is required")
        if not all(isinstance(data.get(key), str | None) for key in ("event_type", "action")):
            raise WebhooksError("event_type and action are strings or null")
        if not _is_strings(data.get("filters", [])):
            raise WebhooksError("filters must be a list of strings")
        route = await operations.add_route(
            database, source=request.path_params["name"], handler=data["handler"],
            event_type=data.get("event_type"), action=data.get("action"),
            filters=data.get("filters", []), config=data.get("config"),
            position=data.get("position", 0),
        )
        return JSONResponse(route.public(), status_code=201)

    async def list_deliveries(request: Request) -> Response:
        params = request.query_params
        try:
            limit = int(params.get("limit", "100"))
        except ValueError:
            limit = 0
        # Out of range is refused, not clamped: a client asking for more would believe it had all.
        if not 1 <= limit <= MAX_LIMIT:
            raise WebhooksError(f"limit must be an integer from 1 to {MAX_LIMIT}")
        deliveries = await operations.list_deliveries(
            database, status=_status(params.get("status")), source=params.get("source"),
            limit=limit)
        return JSONResponse({"deliveries": deliveries})

    async def show_delivery(request: Request) -> Response:
        try:
            delivery_id = int(request.path_params["id"])
        except ValueError as exc:
            raise DeliveryNotFound("delivery ids are integers") from exc
        return JSONResponse(await operations.show_delivery(database, delivery_id))

    async def replay(request: Request) -> Response:
        data = await _json_object(request, _REPLAY_FIELDS)
        ids = data.get("ids") or []
        # bool is an int to Python; true is not a delivery id to a client or to the database.
        if not isinstance(ids, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise WebhooksError("ids must be a list of integers")
        if not isinstance(data.get("source"), str | None):
            raise WebhooksError("source must be a string")
        replayed = await operations.replay(
            database, ids=ids, source=data.get("source"),
            since=_time(data.get("since"), "since"), until=_time(data.get("until"), "until"),
            status=_status(data.get("status")),
        )
        return JSONResponse({"replayed": replayed})

    async def on_error(request: Request, exc: Exception) -> Response:  # noqa: ARG001
        if isinstance(exc, _TAKEN):
            return _error(409, str(exc))
        if isinstance(exc, _NOT_FOUND):
            return _error(404, str(exc))
        if isinstance(exc, StoreError):  # the database's trouble, not the request's
            return _error(503 if isinstance(exc, StoreUnavailable) else 500, str(exc))
        return _error(400, str(exc))

    app = Starlette(
        routes=[
            route(OPENAPI_PATH, GET=get_openapi),
            route("/api/sources", GET=list_sources, POST=add_source),
            route("/api/sources/{name}", PATCH=update_source, DELETE=remove_source),
            route("/api/sources/{name}/routes", GET=list_routes, POST=add_route),
            route("/api/routes/{id}", DELETE=remove_route),
            route("/api/deliveries", GET=list_deliveries),
            route("/api/deliveries/{id}", GET=show_delivery),
            route("/api/replay", POST=replay),
            *outbound_admin.ROUTES,
        ],
        exception_handlers={WebhooksError: on_error},
    )
    app.state.outbound = Outbound(database)
    return app
