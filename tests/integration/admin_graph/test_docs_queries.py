"""Every GraphQL example of docs/admin-graph.md runs through the gateway without an error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crossdock.core.runtime import Runtime
from crossdock.core.tokens import Role, TokenStore
from crossdock.webhooks import operations
from crossdock.webhooks.outbound.models import EndpointSettings
from crossdock.webhooks.outbound.service import Outbound
from tests.integration.admin_graph.conftest import post_gateway

pytestmark = pytest.mark.anyio

DOC = Path(__file__).resolve().parents[3] / "docs" / "admin-graph.md"
EXAMPLES = re.findall(r"^```graphql\n(.*?)^```", DOC.read_text(encoding="utf-8"),
                      flags=re.MULTILINE | re.DOTALL)


async def _seed(runtime: Runtime) -> None:
    """What the examples name: source ``demo`` with delivery 1, slice ``demo``, application
    ``demo`` with endpoint 1 and message 1."""
    outbound = Outbound(runtime.database)
    await outbound.add_application("demo")
    await outbound.add_event_type("invoice.paid")
    await outbound.add_endpoint("demo", EndpointSettings(url="https://demo.example/hook"))
    await outbound.send("demo", "invoice.paid", {"invoice": 7})
    await operations.add_source(runtime.database, operations.build_source(
        "demo", "github", ["a-secret-of-more-than-16-bytes"]))
    async with runtime.database.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO webhooks_deliveries (source, provider, event_type, status, body,"
            " last_error) VALUES ('demo', 'github', 'push', 'failed', '{}', 'boom')"
            " RETURNING id")
        assert await cursor.fetchone() == {"id": 1}
        await conn.execute(
            "INSERT INTO gitslice_slices (name, upstream_url, upstream_branch, slice_url,"
            " slice_branch) VALUES ('demo', '/up.git', 'main', '/slice.git', 'main')")


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 5
    assert any(example.lstrip().startswith("mutation") for example in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{n}" for n in
                                                   range(1, len(EXAMPLES) + 1)])
async def test_a_documented_example_runs(gateway: tuple[str, Runtime], example: str) -> None:
    url, runtime = gateway
    await _seed(runtime)
    _, token = await TokenStore(runtime.database).create(role=Role.ADMIN, name="docs")
    body = await post_gateway(url, example, token)
    assert body.get("errors") is None, body
    assert body["data"]
