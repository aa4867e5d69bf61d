"""The gateway's settings (``CROSSDOCK_GATEWAY_*`` or ``[gateway]`` in crossdock.toml)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from crossdock.core.settings import bounded, load


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GatewaySettings:
    """How the gateway serves and reaches its subgraphs."""

    supergraph: Path | None = None
    #: The YAML configuration file (Apollo Router's ``router.yaml`` keys, docs/reference).
    config: Path | None = None
    host: str = "127.0.0.1"
    port: int = 4000
    #: Processes serving the port (``--workers``); each uses at most one CPU.
    workers: int = bounded(1, low=1)
    #: Seconds a subgraph request may take before it becomes an error in the response.
    subgraph_timeout: float = bounded(30.0, low=0.1)
    #: Keep-alive connections kept open per subgraph host.
    max_connections: int = bounded(100, low=1)
    #: Seconds between checks of the supergraph and configuration files for a change (0: no
    #: hot reload).
    reload_interval: float = bounded(2.0, low=0)
    #: Whether a browser asking ``/graphql`` for HTML gets GraphiQL.
    graphiql: bool = True
    #: Whether ``gateway serve`` serves its admin subgraph at ``/gateway/graphql`` (needs
    #: ``DATABASE_URL`` for the admin tokens; docs/admin-graph.md).
    admin_graph: bool = False
    #: Ports of the demo subgraphs ``crossdock up --demo`` serves behind the gateway.
    demo_products_port: int = 4001
    demo_reviews_port: int = 4002

    @classmethod
    def from_env(cls, **overrides: object) -> GatewaySettings:
        """Settings from the environment and the config file, overridden by CLI flags."""
        return load(cls, "CROSSDOCK_GATEWAY_", section="gateway", overrides=overrides)
