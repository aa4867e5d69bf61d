"""Generated queries and mutations for each admin subgraph, from its own schema, over real HTTP
on a seeded database, and generated requests to the gateway in front of them: every answer is
the client's refusal or an answer, never a 5xx, a traceback or ``INTERNAL_SERVER_ERROR``, and
every error has ``extensions.code`` (the property in ``fuzzing.py``).

A bounded run with a fixed seed; ``bench/fuzz/admin_graph.py --cases N`` runs the long one.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossdock.core.runtime import Runtime
from crossdock.core.tokens import Role, TokenStore
from crossdock.webhooks import operations as webhooks
from tests.integration.admin_graph.conftest import Graph
from tests.integration.admin_graph.fuzzing import (
    check,
    operations,
    raw_requests,
    send_raw,
    subgraph_schemas,
    suite_cases,
    variable_operations,
)

pytestmark = [
    pytest.mark.anyio,
    # graphql-core 3.2 leaves the coroutines of a field's siblings unawaited when a non-null
    # field fails (the answer is right; Python warns when it collects them). Nothing else that
    # is collected unraised is let through.
    pytest.mark.filterwarnings("ignore:Exception ignored in. <coroutine object "
                               ":pytest.PytestUnraisableExceptionWarning"),
]

SCHEMAS = subgraph_schemas()


@pytest.fixture(autouse=True)
def _collected() -> Iterator[None]:
    """Collects the unawaited coroutines (above) while this test's filter holds: left to a
    later collection, their warning would fail whichever test runs then."""
    yield
    gc.collect()


async def seed(runtime: Runtime) -> None:
    """A source with deliveries and attempts, a slice with runs and commits, a job, an event:
    so the generated queries find rows to read, cursors to follow and entities to join."""
    await webhooks.add_source(runtime.database, webhooks.build_source(
        "gh", "github", ["a-secret-of-more-than-16-bytes"]))
    async with runtime.database.transaction() as conn:
        for statement in (
            ("INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id,"
             " event_type, status, headers, body, body_size, received_at, repository)"
             " SELECT 'gh', 'github', 'd-' || n, 'push', (ARRAY['processed', 'failed',"
             " 'dead'])[1 + n % 3], '{\"x-github-event\": \"push\"}',"
             " convert_to('{\"n\": ' || n || '}', 'UTF8'), 8, now() - make_interval(secs => n),"
             " 'https://github.com/acme/up' FROM generate_series(1, 5) AS n"),
            ("INSERT INTO webhooks_attempts (delivery_id, generation, try, route, handler,"
             " status, duration_ms, error) SELECT id, 0, 1, 'default:bus', 'bus', 'failed', 1.5,"
             " 'boom' FROM webhooks_deliveries"),
            ("INSERT INTO gitslice_slices (name, upstream_url, upstream_branch, slice_url,"
             " slice_branch, upstream_repo, slice_repo) VALUES ('s', '/up.git', 'main',"
             " '/slice.git', 'main', 'acme/up', 'acme/s')"),
            ("INSERT INTO gitslice_runs (slice_name, kind, state, commits, finished_at)"
             " SELECT 's', 'pull', 'succeeded', n, now() FROM generate_series(1, 3) n"),
            ("INSERT INTO gitslice_commit_map (slice_name, upstream_sha, slice_sha) VALUES"
             " ('s', repeat('a', 40), repeat('b', 40))"),
        ):
            await conn.execute(statement)
    await runtime.jobs.defer("gitslice.pull", lock="slice:s", slice_name="s")


@pytest.fixture
async def seeded(graph: Graph) -> Graph:
    await seed(graph.runtime)
    return graph


@functools.cache
def _operations(subgraph: str, *, writes: bool = True) -> st.SearchStrategy[str]:
    if subgraph == "*":
        return st.one_of([_operations(name) for name in SCHEMAS])
    return operations(SCHEMAS[subgraph], writes=writes)


def _as_sent(body: str | dict[str, Any]) -> dict[str, Any]:
    return {"method": "POST", "body": {"query": body} if isinstance(body, str) else body,
            "raw": None, "content_type": "application/json"}


def _operations_test(subgraph: str) -> Any:
    @suite_cases(25)
    @given(query=_operations(subgraph))
    async def test(seeded: Graph, query: str) -> None:
        response = await seeded.client.post(
            f"{seeded.url}/{subgraph}/graphql", json={"query": query},
            headers={"authorization": f"Bearer {seeded.admin}"})
        check(response, query)

    test.__doc__ = f"Generated operations of the {subgraph} subgraph, with an admin token."
    return test


def _requests_test(subgraph: str) -> Any:
    @suite_cases(15)
    @given(request=raw_requests(_operations(subgraph, writes=False)),
           token=st.sampled_from(["admin", "read", "", "nope"]))
    async def test(seeded: Graph, request: dict[str, Any], token: str) -> None:
        value = {"admin": seeded.admin, "read": seeded.read}.get(token, token)
        check(await send_raw(seeded.client, f"{seeded.url}/{subgraph}/graphql", request,
                             value), request)

    test.__doc__ = f"Mangled requests to the {subgraph} subgraph, with any token or none."
    return test


def _variables_test(subgraph: str) -> Any:
    @suite_cases(20)
    @given(request=variable_operations(SCHEMAS[subgraph]))
    async def test(seeded: Graph, request: dict[str, Any]) -> None:
        response = await seeded.client.post(
            f"{seeded.url}/{subgraph}/graphql", json=request,
            headers={"authorization": f"Bearer {seeded.admin}"})
        check(response, request)

    test.__doc__ = f"Each root field of the {subgraph} subgraph with variables of any value."
    return test


# Hypothesis draws before the event loop runs the test (a draw inside it that runs out of data
# would stop the loop's runner), so each subgraph has test functions of its own.
for _name in SCHEMAS:
    globals()[f"test_generated_operations_never_fail_inside_the_{_name}_subgraph"] = (
        _operations_test(_name))
    globals()[f"test_mangled_requests_never_fail_inside_the_{_name}_subgraph"] = (
        _requests_test(_name))
    globals()[f"test_any_variables_never_fail_inside_the_{_name}_subgraph"] = (
        _variables_test(_name))


@pytest.fixture
async def gateway_token(gateway: tuple[str, Runtime]) -> str:
    await seed(gateway[1])
    return (await TokenStore(gateway[1].database).create(role=Role.ADMIN, name="fuzz"))[1]


@suite_cases(40)
@given(request=raw_requests(_operations("*")) | _operations("*").map(_as_sent)
       | st.one_of([variable_operations(schema) for schema in SCHEMAS.values()]).map(_as_sent))
async def test_generated_requests_never_fail_inside_the_gateway(
        gateway: tuple[str, Runtime], gateway_token: str, request: dict[str, Any]) -> None:
    async with httpx.AsyncClient(timeout=20) as client:
        check(await send_raw(client, gateway[0], request, gateway_token), request)
