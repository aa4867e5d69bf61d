"""The plugins of one gateway, called in order at each step of a request.

Per hook, only the plugins that override it are kept, so an unused hook costs a falsy check
of an empty tuple in the engine and nothing in the executor; the ``on_subgraph`` wrappers are
nested once, when the executor is built, into one call.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from crossdock.core.logging import get_logger
from crossdock.gateway.plugins.base import GraphQLRequest, Operation, Plugin
from crossdock.gateway.result import Result

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crossdock.gateway.plan import Plan
    from crossdock.gateway.plugins.base import SubgraphCall

log = get_logger("crossdock.gateway")


def _overriding(plugins: Sequence[Plugin], hook: str) -> tuple[Plugin, ...]:
    """The plugins whose class overrides ``hook`` (the base's does nothing)."""
    default = getattr(Plugin, hook)
    return tuple(p for p in plugins if getattr(type(p), hook) is not default)


class Pipeline:
    """The gateway's plugins by hook, first configured first."""

    __slots__ = ("answer_headers", "max_request_bytes", "operations", "plans", "plugins",
                 "requests", "responses", "subgraphs")

    def __init__(self, plugins: Sequence[Plugin] = ()) -> None:
        self.plugins = tuple(plugins)
        self.requests = _overriding(self.plugins, "on_request")
        self.operations = _overriding(self.plugins, "on_operation")
        self.plans = _overriding(self.plugins, "on_plan")
        self.subgraphs = _overriding(self.plugins, "on_subgraph")
        self.responses = _overriding(self.plugins, "on_response")
        #: Whether the subgraph client must report answers' headers (some plugin reads them).
        self.answer_headers = any(p.reads_answer_headers for p in self.subgraphs)
        #: The smallest request body bound a plugin sets (None: the server's own).
        self.max_request_bytes = min((p.max_request_bytes for p in self.plugins
                                      if p.max_request_bytes is not None), default=None)

    async def request(self, request: GraphQLRequest) -> tuple[GraphQLRequest, Result | None]:
        """The request after every ``on_request``, and the Result one ended it with (None
        when none did): the request as the hooks before that one left it, so that every
        ``on_response`` sees what the earlier hooks put in its context."""
        for plugin in self.requests:
            found = await plugin.on_request(request)
            if isinstance(found, Result):
                return request, found
            request = found
        return request, None

    async def operation(self, operation: Operation) -> Operation | Result:
        """The operation after every ``on_operation``, or the Result one ended it with."""
        for plugin in self.operations:
            found = await plugin.on_operation(operation)
            if isinstance(found, Result):
                return found
            operation = found
        return operation

    async def plan(self, operation: Operation, plan: Plan) -> Result | None:
        """The Result an ``on_plan`` ended the request with, if one did."""
        for plugin in self.plans:
            found = await plugin.on_plan(operation, plan)
            if found is not None:
                return found
        return None

    def subgraph_call(self, send: SubgraphCall) -> SubgraphCall | None:
        """``send`` inside every ``on_subgraph``, the first plugin outermost (None when no
        plugin has the hook: the executor then calls its client directly)."""
        if not self.subgraphs:
            return None
        call = send
        for plugin in reversed(self.subgraphs):
            call = functools.partial(plugin.on_subgraph, call=call)
        return call

    async def response(self, request: GraphQLRequest, result: Result) -> Result:
        """The result after every ``on_response``."""
        for plugin in self.responses:
            result = await plugin.on_response(request, result)
        return result

    async def astart(self) -> None:
        """Starts every plugin, first configured first."""
        for plugin in self.plugins:
            await plugin.astart()

    async def aclose(self) -> None:
        """Closes every plugin; one that fails to close is logged, the others still are."""
        for plugin in self.plugins:
            try:
                await plugin.aclose()
            except Exception:  # one plugin failing must not keep others open
                log.exception("plugin_close_failed", plugin=plugin.name)
