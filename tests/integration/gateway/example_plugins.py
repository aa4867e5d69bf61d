"""Plugins the plugin tests load by ``module:attribute`` from a ``gateway.yaml``."""

from __future__ import annotations

import dataclasses
from typing import Any

from crossdock.core.errors import ConfigError
from crossdock.gateway.plugins import (
    GraphQLRequest,
    Operation,
    Plugin,
    SubgraphAnswer,
    SubgraphCall,
    SubgraphRequest,
)
from crossdock.gateway.result import Result, request_error

#: Every hook call of every :class:`Tenant`, in order: (hook, what it saw).
SEEN: list[tuple[str, Any]] = []


class Tenant(Plugin):
    """Reads a tenant from a header, refuses requests without one, tells each subgraph the
    tenant, and answers with the tenant in a response header."""

    name = "tenant"

    def __init__(self, options: Any) -> None:
        if not isinstance(options, dict) or not isinstance(options.get("header"), str):
            raise ConfigError("header: the header that names the tenant is required")
        self.header = options["header"]

    async def on_request(self, request: GraphQLRequest) -> GraphQLRequest | Result:
        tenant = request.context.headers.get(self.header)
        SEEN.append(("request", tenant))
        if tenant is None:
            return request_error(f"Send the {self.header} header.", status=403,
                                 code="FORBIDDEN")
        context = dataclasses.replace(request.context, extensions={
            **request.context.extensions, self.name: tenant})
        return request.with_context(context)

    async def on_operation(self, operation: Operation) -> Operation | Result:
        SEEN.append(("operation", operation.context.operation_name))
        return operation

    async def on_plan(self, operation: Operation, plan: Any) -> Result | None:
        SEEN.append(("plan", [fetch.graph for stage in plan.stages for fetch in stage]))
        return None

    async def on_subgraph(self, request: SubgraphRequest, call: SubgraphCall) -> SubgraphAnswer:
        SEEN.append(("subgraph", request.subgraph))
        tenant = request.context.extensions[self.name]
        return await call(dataclasses.replace(
            request, headers=(*request.headers, ("x-tenant", tenant))))

    async def on_response(self, request: GraphQLRequest, result: Result) -> Result:
        SEEN.append(("response", result.status))
        tenant = request.context.extensions.get(self.name, "none")
        return dataclasses.replace(result, headers=(*result.headers, ("x-served-tenant", tenant)))


class Broken(Plugin):
    """Fails on every request, as a plugin with a bug would."""

    name = "broken"

    def __init__(self, options: Any) -> None:
        del options

    async def on_operation(self, operation: Operation) -> Operation | Result:
        raise RuntimeError("a bug in a plugin")


def not_a_plugin(options: Any) -> object:
    """A factory that gives something else than a plugin."""
    return options
