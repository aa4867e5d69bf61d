"""The gateway's errors.

GatewayError
├── SupergraphError        the supergraph file is not a usable supergraph
├── PlanningError          an operation cannot be planned against the supergraph
├── RequestError           a client request is malformed (bad JSON, bad variables, ...)
│   └── OperationCostError     an operation's cost cannot be estimated (@listSize arguments)
├── TokenError             a request's JWT is not valid (401 or 400 with AUTH_ERROR; also the
│                              core's JwtError, which core/jwt.py raises)
└── SubgraphError          a subgraph fetch failed (the response carries it as an error)
    ├── SubgraphTimeout        the subgraph did not answer in time
    └── SubgraphUnreachable    the subgraph could not be reached (refused, reset, DNS, ...)
        └── DecodingError          its compressed answer could not be decoded

A JWKS that cannot be read is the core's ``KeySetError`` (core/jwks.py).

Two private signals derive from these too: ``response._Bubble`` (a null on its way to a
nullable parent, a GatewayError) and ``http1._Closed`` (a SubgraphUnreachable).
"""

from __future__ import annotations

from crossdock.core.errors import CrossdockError, JwtError


class GatewayError(CrossdockError):
    """The federation gateway failed."""


class SupergraphError(GatewayError):
    """The supergraph is not a valid Apollo Federation supergraph."""


class PlanningError(GatewayError):
    """The operation cannot be planned against the supergraph."""


class RequestError(GatewayError):
    """The GraphQL request is malformed."""


class TokenError(GatewayError, JwtError):
    """The request's JSON Web Token is not valid."""


class OperationCostError(RequestError):
    """The operation's cost cannot be estimated."""


class SubgraphError(GatewayError):
    """A subgraph fetch failed."""


class SubgraphTimeout(SubgraphError):
    """The subgraph did not answer in time."""


class SubgraphUnreachable(SubgraphError):
    """The subgraph could not be reached (refused, reset, DNS, protocol error)."""


class DecodingError(SubgraphUnreachable):
    """A compressed body could not be decoded."""
