"""Values a client may type that PostgreSQL cannot take are the client's error, never the
database being down: a NUL in a text argument is ``BAD_USER_INPUT`` in every subgraph."""

from __future__ import annotations

import pytest

from tests.integration.admin_graph.conftest import Graph

pytestmark = pytest.mark.anyio

NUL = "a\x00b"


@pytest.mark.parametrize(("subgraph", "query", "token"), [
    ("webhooks", "query($v: String!) { deliveries(search: $v) { nodes { id } } }", "read"),
    ("webhooks", "query($v: String!) { deliveries(source: $v) { nodes { id } } }", "read"),
    ("gitslice", "query($v: String!) { slice(name: $v) { name } }", "read"),
    ("gitslice", "mutation($v: String!) { pullSlice(name: $v) { id } }", "admin"),
    ("core", "query($v: String!) { jobs(queue: $v) { nodes { id } } }", "read"),
    ("core", "query($v: String!) { events(type: $v) { nodes { id } } }", "read"),
])
async def test_a_nul_in_a_text_argument_is_bad_user_input(graph: Graph, subgraph: str,
                                                          query: str, token: str) -> None:
    response = await graph.post(subgraph, query, {"v": NUL}, token=token)
    body = response.json()
    assert response.status_code == 200, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "NUL" in error["message"] or "cannot take" in error["message"], error


ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"""


@pytest.mark.parametrize(("subgraph", "representation"), [
    ("core", {"__typename": "-1", "id": "1"}),          # a typename no entity has: KeyError
    ("core", {"__typename": "Query", "id": "1"}),       # a type that is no entity
    ("core", {"__typename": "Job"}),                    # no key: TypeError
    ("core", {"__typename": "Job", "id": [1]}),         # a key of the wrong JSON type
    ("core", {"__typename": "Job", "id": "1" * 3000}),  # a key no id is that long
    ("gitslice", {"__typename": "Repository", "url": {"a": 1}}),
    ("webhooks", {"__typename": "Delivery", "id": None}),
    ("webhooks", "Delivery"),                           # not an object at all
])
async def test_a_representation_no_entity_takes_is_its_items_bad_user_input(
        graph: Graph, subgraph: str, representation: object) -> None:
    """Found by the generated queries of ``test_fuzz.py``: each was INTERNAL_SERVER_ERROR.
    A good representation beside the bad one still resolves."""
    good = {"__typename": "Job", "id": 7} if subgraph != "webhooks" else {
        "__typename": "Repository", "url": "https://github.com/acme/up"}
    response = await graph.post(subgraph, ENTITIES, {"r": [good, representation]},
                                token="read")
    body = response.json()
    assert response.status_code == 200, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["path"] == ["_entities", 1], error
    assert body["data"]["_entities"][1] is None, body


@pytest.mark.parametrize(("query", "operation", "message"), [
    ("{ services { name } }", "B", "Unknown operation named 'B'."),
    ("query A { services { name } }", "", None),             # empty: no name, A runs
    ("fragment F on Query { services { name } }", None, "The document has no operation to run."),
    ("query A { services { name } } query B { services { name } }", None,
     "Must provide operation name if query contains multiple operations."),
])
async def test_an_operation_name_no_operation_has_is_400_not_a_500(
        graph: Graph, query: str, operation: str | None, message: str | None) -> None:
    """Found by generated requests (``test_fuzz.py``): strawberry failed with a RuntimeError,
    a 500 with a traceback, on an operation name the document does not have."""
    response = await graph.client.post(
        f"{graph.url}/core/graphql", json={"query": query, "operationName": operation},
        headers={"authorization": f"Bearer {graph.read}"})
    body = response.json()
    if message is None:
        assert response.status_code == 200, body
        assert body["data"]["services"], body
        return
    assert response.status_code == 400, body
    (error,) = body["errors"]
    assert error == {"message": message,
                     "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"}}, error


@pytest.mark.parametrize(("subgraph", "query"), [
    ("core", "{ jobs(first: 1" + "0" * 5000 + ") { nodes { id } } }"),
    ("webhooks", "{ deliveries(first: -" + "9" * 4400 + ") { nodes { id } } }"),
])
async def test_an_integer_literal_of_thousands_of_digits_is_bad_user_input(
        graph: Graph, subgraph: str, query: str) -> None:
    """Found by probing beside the generated requests: Python refuses to read an integer of
    more than 4,300 digits, a ValueError inside the Int scalar, which was
    INTERNAL_SERVER_ERROR."""
    response = await graph.post(subgraph, query)
    body = response.json()
    assert response.status_code == 400, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "100 digits" in error["message"], error
