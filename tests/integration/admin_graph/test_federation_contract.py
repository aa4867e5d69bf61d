"""Each admin subgraph answers the federation subgraph spec's queries as a gateway sends them.

These are the subgraph-side checks of Apollo's compatibility suite that apply to our schemas
(its runner needs Apollo Router and rover binaries, downloaded at run time, and a subgraph of
its own products schema; docs/admin-graph.md): ``_service { sdl }`` with the federation v2
``@link`` and the keys, ``_entities`` in the order of the representations with null for an
unknown key, and introspection of the ``_Entity`` union; the last test checks every subgraph
and every keyed type it finds, so that a new one is covered without a line here.
"""

from __future__ import annotations

import pytest

from tests.integration.admin_graph.conftest import Graph

pytestmark = pytest.mark.anyio

ENTITIES = """query($representations: [_Any!]!) { _entities(representations: $representations)
  { __typename ... on %s } }"""


@pytest.mark.parametrize(("subgraph", "key"), [
    ("core", 'type Job @key(fields: "id")'),
    ("webhooks", 'type Delivery @key(fields: "id")'),
    ("gitslice", 'type Job @key(fields: "id")'),
    ("gitslice", 'type Delivery @key(fields: "id")'),
    ("gitslice", 'type Repository @key(fields: "url")'),
])
async def test_service_sdl_links_federation_v2_and_declares_the_keys(
        graph: Graph, subgraph: str, key: str) -> None:
    sdl = (await graph.data(subgraph, "{ _service { sdl } }", token="read"))["_service"]["sdl"]
    assert 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3"' in sdl \
        or 'schema @link(url: "https://specs.apollo.dev/federation/v2.3"' in sdl
    assert key in sdl
    assert "type Query" in sdl


async def test_core_resolves_job_representations_in_order_with_null_for_unknown(
        graph: Graph) -> None:
    first = await graph.runtime.jobs.defer("gitslice.pull", slice_name="a")
    second = await graph.runtime.jobs.defer("gitslice.pull", slice_name="b")
    data = await graph.data("core", ENTITIES % "Job { id task }", {"representations": [
        {"__typename": "Job", "id": str(second)}, {"__typename": "Job", "id": "999999"},
        {"__typename": "Job", "id": str(first)}]}, token="read")
    assert data["_entities"] == [
        {"__typename": "Job", "id": str(second), "task": "gitslice.pull"}, None,
        {"__typename": "Job", "id": str(first), "task": "gitslice.pull"}]


async def test_webhooks_resolves_delivery_representations(graph: Graph) -> None:
    await graph.sql("INSERT INTO webhooks_sources (name, provider, secrets) VALUES"
                    " ('gh', 'github', '{env:X}')")
    (row,) = await graph.sql("INSERT INTO webhooks_deliveries (source, provider, event_type,"
                             " status) VALUES ('gh', 'github', 'push', 'received') RETURNING id")
    representations = [{"__typename": "Delivery", "id": str(row["id"])}]
    data = await graph.data("webhooks", ENTITIES % "Delivery { id eventType }",
                            {"representations": representations}, token="read")
    assert data["_entities"] == [{"__typename": "Delivery", "id": str(row["id"]),
                                  "eventType": "push"}]


async def test_gitslice_resolves_job_delivery_and_repository_representations(
        graph: Graph) -> None:
    """Each with the sync runs or slices GitSlice knows of it; a repository by any spelling."""
    await graph.sql(
        "INSERT INTO gitslice_slices (name, upstream_url, upstream_branch, slice_url,"
        " slice_branch) VALUES ('web', 'https://github.com/Acme/Up.git', 'main',"
        " 'git@github.com:acme/web.git', 'main')")
    (run,) = await graph.sql("INSERT INTO gitslice_runs (slice_name, kind, job_id, delivery_id)"
                             " VALUES ('web', 'pull', 41, 42) RETURNING id")
    await graph.sql("INSERT INTO gitslice_run_deliveries (run_id, delivery_id) VALUES"
                    f" ({run['id']}, 42)")
    data = await graph.data("gitslice", ENTITIES % (
        "Job { id syncRuns { id } } ... on Delivery { id syncRuns { kind } }"
        " ... on Repository { url slices { name } }"), {"representations": [
            {"__typename": "Repository", "url": "github.com/acme/up"},
            {"__typename": "Job", "id": "41"}, {"__typename": "Delivery", "id": "42"},
            {"__typename": "Job", "id": "7"},
            {"__typename": "Repository", "url": "github.com/acme/other"}]}, token="read")
    assert data["_entities"] == [
        {"__typename": "Repository", "url": "github.com/acme/up", "slices": [{"name": "web"}]},
        {"__typename": "Job", "id": "41", "syncRuns": [{"id": str(run["id"])}]},
        {"__typename": "Delivery", "id": "42", "syncRuns": [{"kind": "pull"}]},
        {"__typename": "Job", "id": "7", "syncRuns": []},
        {"__typename": "Repository", "url": "github.com/acme/other", "slices": []}]


@pytest.mark.parametrize(("subgraph", "members"), [
    ("core", ["Job"]),
    ("webhooks", ["Delivery", "OutboundEndpoint", "OutboundMessage", "Repository"]),
    ("gitslice", ["Delivery", "Job", "Repository"])])
async def test_the_entity_union_holds_the_keyed_types(graph: Graph, subgraph: str,
                                                      members: list[str]) -> None:
    data = await graph.data(subgraph, '{ __type(name: "_Entity") { possibleTypes { name } } }',
                            token="read")
    assert [t["name"] for t in data["__type"]["possibleTypes"]] == members


def _subgraphs() -> list[str]:
    from crossdock.core.admin_graph.mount import schemas
    from crossdock.core.services import discover

    return sorted(schemas(discover()))


def _keyed(sdl: str) -> dict[str, tuple[list[str], bool]]:
    """Each type of ``sdl`` with a ``@key``: its first key's fields and whether this subgraph
    resolves it (``resolvable: false`` only names it)."""
    from graphql import ObjectTypeDefinitionNode, ObjectTypeExtensionNode, parse, print_ast

    found: dict[str, tuple[list[str], bool]] = {}
    for definition in parse(sdl).definitions:
        if not isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
            continue
        for directive in definition.directives or ():
            if directive.name.value != "key" or definition.name.value in found:
                continue
            arguments = {arg.name.value: print_ast(arg.value) for arg in directive.arguments}
            fields = arguments["fields"].strip('"').split()
            found[definition.name.value] = (fields, arguments.get("resolvable") != "false")
    return found


@pytest.mark.parametrize("subgraph", _subgraphs())
async def test_every_subgraph_serves_its_sdl_and_every_keyed_type_through_entities(
        graph: Graph, subgraph: str) -> None:
    """For every admin subgraph, whatever its types: the SDL links federation v2, the
    ``_Entity`` union holds exactly the types it resolves by key, and each of them answers a
    representation of an unknown key in place (null or the bare entity), never with an error.
    A subgraph added later is checked without a line here."""
    sdl = (await graph.data(subgraph, "{ _service { sdl } }", token="read"))["_service"]["sdl"]
    assert '@link(url: "https://specs.apollo.dev/federation/v2.' in sdl
    keyed = _keyed(sdl)
    resolvable = sorted(name for name, (_, resolves) in keyed.items() if resolves)
    answer = await graph.data(
        subgraph, '{ __type(name: "_Entity") { possibleTypes { name } } }', token="read")
    union = answer["__type"]  # none when no type has a key
    assert (sorted(t["name"] for t in union["possibleTypes"]) if union else []) == resolvable
    for name in resolvable:
        fields, _ = keyed[name]
        unknown = {"__typename": name, **dict.fromkeys(fields, "0")}
        response = await graph.post(
            subgraph, ENTITIES % f"{name} {{ __typename }}", {"representations": [unknown]},
            token="read")
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, (name, body)
        assert body["data"]["_entities"] in ([None], [{"__typename": name}]), (name, body)
