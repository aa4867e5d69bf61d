"""``limits`` over HTTP: operations and documents too big are refused before any subgraph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import structlog
import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import parse_config
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import running

if TYPE_CHECKING:
    from tests.integration.gateway.federation import Federation

pytestmark = pytest.mark.anyio

#: depth 4, height 5, aliases 3, root fields 1 (as the router counts it).
DEEP = "{ products { productName: name topReviews: reviews { by: author { username } } } }"


def limits(text: str) -> Any:
    return parse_config(yaml.safe_load(text))


def received(shop: Federation) -> list[Any]:
    return [r for sub in shop.subgraphs.values() for r in sub.requests]


async def test_an_operation_past_its_limits_gets_one_error_per_limit_and_reaches_no_subgraph(
) -> None:
    config = limits("limits: {max_depth: 3, max_height: 4, max_aliases: 2, max_root_fields: 1}")
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        refused = await shop.post(DEEP)
        fine = await shop.post("{ products { name } }")
        asked = received(shop)
    assert refused.status_code == 400
    assert refused.json() == {"errors": [
        {"message": "Maximum depth limit exceeded in this operation",
         "extensions": {"code": "MAX_DEPTH_LIMIT"}},
        {"message": "Maximum height (field count) limit exceeded in this operation",
         "extensions": {"code": "MAX_HEIGHT_LIMIT"}},
        {"message": "Maximum aliases limit exceeded in this operation",
         "extensions": {"code": "MAX_ALIASES_LIMIT"}}]}
    assert fine.status_code == 200
    assert len(asked) == 1


async def test_root_fields_hidden_in_a_fragment_are_counted() -> None:
    config = limits("limits: {router: {max_root_fields: 2}}")
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        refused = await shop.post(
            "query { ...All } fragment All on Query { me { id } users { id } products { upc } }")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "MAX_ROOT_FIELDS_LIMIT"


async def test_warn_only_serves_the_operation_and_logs_what_was_exceeded() -> None:
    config = limits("limits: {max_depth: 2, warn_only: true}")
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        with structlog.testing.capture_logs() as logs:
            served = await shop.post(DEEP)
    assert served.status_code == 200
    assert "errors" not in served.json()
    (line,) = [e for e in logs if e["event"] == "operation_limits_exceeded"]
    assert (line["depth"], line["refused"]) == (4, False)


@pytest.mark.parametrize(("document", "message"), [
    ("{ products { name " + "name " * 40 + "} }", "token limit reached"),
    ("{ products { name } }" + " # " + "{" * 50, None),
    ("query($x: " + "[" * 12 + "Int" + "]" * 12 + ") { products { name } }",
     "recursion limit reached"),
], ids=["tokens", "comment", "nesting"])
async def test_parser_limits_refuse_a_document_before_it_is_parsed(
        document: str, message: str | None) -> None:
    config = limits("limits: {parser_max_tokens: 40, parser_max_recursion: 10, warn_only: true}")
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        response = await shop.post(document)
        asked = received(shop)
    if message is None:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert message in error["message"]
    assert error["extensions"]["code"] == "PARSING_ERROR"
    assert asked == []


async def test_a_body_past_http_max_request_bytes_gets_413() -> None:
    config = limits("limits: {http_max_request_bytes: 200}")
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        big = await shop.post("{ products { name } }" + " " * 300)
        small = await shop.post("{ products { name } }")
    assert big.status_code == 413
    assert big.json() == {"errors": [{"message": "Request body payload too large",
                                      "extensions": {"code": "INVALID_GRAPHQL_REQUEST"}}]}
    assert small.status_code == 200


async def test_a_batch_is_refused_with_its_own_code(shop: Federation) -> None:
    response = await shop.client.post(shop.url + "/graphql", json=[
        {"query": "{ products { name } }"}, {"query": "{ me { id } }"}])
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BATCHING_NOT_ENABLED"


@pytest.mark.parametrize(("text", "key"), [
    ("limits: {max_depth: 0}", "limits.max_depth"),
    ("limits: {router: {max_aliases: many}}", "limits.router.max_aliases"),
    ("limits: {warn_only: sometimes}", "limits.warn_only"),
    ("limits: [max_depth]", "limits"),
], ids=["zero", "word", "warn-only", "list"])
def test_a_bad_limit_names_its_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        limits(text)


def test_limits_crossdock_does_not_enforce_are_reported() -> None:
    config = limits("limits: {http1_max_request_headers: 200, max_depth: 5}\nbatching: {}")
    assert config.unsupported == ("batching", "limits.http1_max_request_headers")
