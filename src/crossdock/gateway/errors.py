"""The gateway's errors.

GatewayError
├── SupergraphError        the supergraph file is not a usable supergraph
├── PlanningError          an operation cannot be planned against the supergraph
├── RequestError           a client request is malformed (bad JSON, bad variables, ...)
└── SubgraphError          a subgraph fetch failed (the response carries it as an error)
    ├── SubgraphTimeout        the subgraph did not answer in time
    └── SubgraphUnreachable    the subgraph could not be reached (refused, reset, DNS, ...)

Two private signals derive from these too: ``response._Bubble`` (a null on its way to a
nullable parent, a GatewayError) and ``http1._Closed`` (a SubgraphUnreachable).
"""

from __future__ import annotations

from crossdock.core.errors import CrossdockError


class GatewayError(CrossdockError):
    """The federation gateway failed."""


class SupergraphError(GatewayError):
    """The supergraph is not a valid Apollo Federation supergraph."""


class PlanningError(GatewayError):
    """The operation cannot be planned against the supergraph."""


class RequestError(GatewayError):
    """The GraphQL request is malformed."""


class SubgraphError(GatewayError):
    """A subgraph fetch failed."""


class SubgraphTimeout(SubgraphError):
    """The subgraph did not answer in time."""


class SubgraphUnreachable(SubgraphError):
    """The subgraph could not be reached (refused, reset, DNS, protocol error)."""
