"""The services' admin data as Apollo Federation v2 subgraphs (docs/admin-graph.md).

This package holds what every admin subgraph shares (the HTTP app with its token check, the
request context and its loaders, Relay pages), the core's own subgraph, and the supergraph that
``crossdock up`` serves through the gateway, composed ahead of time from the subgraphs' SDL
(``scripts/compose-admin-graph``).
"""
