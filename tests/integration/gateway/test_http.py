"""GraphQL over HTTP: methods, media types, request errors, GraphiQL and health."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.gateway.federation import Federation

pytestmark = pytest.mark.anyio


async def test_graphql_response_json_is_used_when_accepted(shop: Federation) -> None:
    response = await shop.post("{ me { id } }",
                               accept="application/graphql-response+json, application/json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/graphql-response+json"
    assert response.json() == {"data": {"me": {"id": "u1"}}}


async def test_application_json_is_used_when_asked(shop: Federation) -> None:
    response = await shop.post("{ me { id } }", accept="application/json")
    assert response.headers["content-type"] == "application/json"


async def test_get_runs_a_query(shop: Federation) -> None:
    response = await shop.client.get(
        shop.url + "/graphql",
        params={"query": "query Q($u: String!) { product(upc: $u) { name } }",
                "variables": '{"u": "2"}', "operationName": "Q"},
        headers={"accept": "application/json", "apollo-require-preflight": "true"})
    assert response.status_code == 200
    assert response.json() == {"data": {"product": {"name": "Couch"}}}


async def test_get_refuses_a_mutation(shop: Federation) -> None:
    response = await shop.client.get(
        shop.url + "/graphql", params={"query": 'mutation { rename(id: "u1", name: "x") { id } }'},
        headers={"accept": "application/json", "x-apollo-operation-name": "rename"})
    assert response.status_code == 405
    assert shop.subgraphs["accounts"].requests == []


async def test_graphiql_is_served_to_browsers(shop: Federation) -> None:
    response = await shop.client.get(shop.url + "/graphql",
                                     headers={"accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_malformed_query_is_a_400_with_its_location(shop: Federation) -> None:
    response = await shop.post("{ me { id }")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["locations"] == [{"line": 1, "column": 12}]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_unknown_field_is_a_validation_error(shop: Federation) -> None:
    response = await shop.post("{ me { nope } }",
                               accept="application/graphql-response+json")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert "nope" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 8}]
    assert "data" not in response.json()


async def test_unknown_operation_name_is_refused(shop: Federation) -> None:
    response = await shop.post("query A { me { id } }", operation_name="B")
    assert response.status_code == 400
    assert 'Unknown operation named "B"' in response.json()["errors"][0]["message"]


async def test_several_operations_need_a_name(shop: Federation) -> None:
    response = await shop.post("query A { me { id } } query B { me { id } }")
    assert response.status_code == 400
    assert "operation name" in response.json()["errors"][0]["message"]


async def test_variables_of_the_wrong_type_are_refused(shop: Federation) -> None:
    response = await shop.post("query($u: String!) { product(upc: $u) { name } }", {"u": 3})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert "$u" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert shop.subgraphs["products"].requests == []


async def test_missing_required_variable_is_refused(shop: Federation) -> None:
    response = await shop.post("query($u: String!) { product(upc: $u) { name } }")
    assert response.status_code == 400


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"query": 3}', b'{"query": ""}'])
async def test_malformed_request_bodies_are_400(shop: Federation, body: bytes) -> None:
    response = await shop.client.post(shop.url + "/graphql", content=body,
                                      headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize("path", ["/health", "/healthz", "/readyz"])
async def test_health_endpoints_answer(shop: Federation, path: str) -> None:
    response = await shop.client.get(shop.url + path)
    assert response.status_code == 200


async def test_unknown_path_is_404(shop: Federation) -> None:
    response = await shop.client.get(shop.url + "/nope")
    assert response.status_code == 404


@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "TEXT/PLAIN", "not a media type", None])
async def test_a_request_a_browser_sends_without_preflight_is_refused(
    shop: Federation, content_type: str | None,
) -> None:
    """A cross-site form or no-cors fetch could run this operation with the user's cookies."""
    headers = {"content-type": content_type} if content_type else {}
    response = await shop.client.post(shop.url + "/graphql", headers=headers,
                                      content=b'{"query": "{ me { id } }"}')
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "CSRF_ERROR"
    assert "apollo-require-preflight" in error["message"]
    assert shop.subgraphs["accounts"].requests == []


async def test_a_get_query_needs_a_preflight_header(shop: Federation) -> None:
    params = {"query": "{ me { id } }"}
    refused = await shop.client.get(shop.url + "/graphql", params=params)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "CSRF_ERROR"
    for header in ("apollo-require-preflight", "x-apollo-operation-name"):
        allowed = await shop.client.get(shop.url + "/graphql", params=params,
                                        headers={header: ""})
        assert allowed.json() == {"data": {"me": {"id": "u1"}}}


@pytest.mark.parametrize("content_type", [
    "application/json", "application/graphql-response+json", "application/graphql"])
async def test_a_content_type_that_forces_a_preflight_is_served(
    shop: Federation, content_type: str,
) -> None:
    body = b"{ me { id } }" if content_type == "application/graphql" else \
        b'{"query": "{ me { id } }"}'
    response = await shop.client.post(shop.url + "/graphql", content=body,
                                      headers={"content-type": content_type})
    assert response.json() == {"data": {"me": {"id": "u1"}}}


async def test_a_text_plain_post_with_a_preflight_header_is_served(shop: Federation) -> None:
    response = await shop.client.post(
        shop.url + "/graphql", content=b'{"query": "{ me { id } }"}',
        headers={"content-type": "text/plain", "apollo-require-preflight": "true"})
    assert response.json() == {"data": {"me": {"id": "u1"}}}
