"""The gateway's errors.

GatewayError
├── SupergraphError        the supergraph file is not a usable supergraph
├── PlanningError          an operation cannot be planned against the supergraph
└── RequestError           a client request is malformed (bad JSON, bad variables, ...)
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
