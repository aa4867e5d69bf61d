"""Gateway plugins: the typed hooks a feature works on, and the plugins that use them.

:mod:`.base` is the API (:class:`Plugin` and the values its hooks see), :mod:`.pipeline`
calls them, :mod:`.loader` makes them from ``gateway.yaml``. Built-in features live here,
one module each, on the same API as a team's own plugins.
"""

from crossdock.gateway.plugins.base import (
    GraphQLRequest,
    Operation,
    Plugin,
    SubgraphAnswer,
    SubgraphCall,
    SubgraphRequest,
)

__all__ = ["GraphQLRequest", "Operation", "Plugin", "SubgraphAnswer", "SubgraphCall",
           "SubgraphRequest"]
