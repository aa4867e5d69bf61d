"""The plan of a query a person typed, for ``crossdock gateway plan`` and the admin subgraph.

The query is parsed, validated against the API schema and its operation chosen as a request's
would be; each refusal is one line (:class:`~crossdock.gateway.errors.RequestError`). The plan
is the planner's, before any plugin changes the document (an authorization plugin removing
fields a caller may not see plans a smaller document).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, OperationDefinitionNode, parse, validate

from crossdock.gateway.errors import RequestError
from crossdock.gateway.planning import plan_operation

if TYPE_CHECKING:
    from collections.abc import Mapping

    from graphql import GraphQLSchema

    from crossdock.gateway.plan import Plan
    from crossdock.gateway.planner import Planner


def plan_query(planner: Planner, schema: GraphQLSchema, query: str,
               operation_name: str | None = None,
               variables: Mapping[str, Any] | None = None) -> Plan:
    """The plan of ``query``'s operation; ``variables`` only matter through @skip/@include."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        raise RequestError(f"the query is not valid GraphQL: {exc}") from exc
    problems = validate(schema, document)
    if problems:
        raise RequestError("the query is not valid against the supergraph: "
                           + "; ".join(str(p) for p in problems))
    names = [d.name.value if d.name else None for d in document.definitions
             if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None and operation_name not in names:
        raise RequestError(f"the query has no operation named {operation_name!r}")
    if operation_name is None and len(names) > 1:
        raise RequestError("the query has several operations: name the one to plan")
    return plan_operation(planner, document, operation_name, variables or {})
