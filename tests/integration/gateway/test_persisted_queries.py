"""``persisted_queries`` over HTTP: operations by id from manifest files, the safelist, the
log of unknown operations, and manifests replaced while the gateway serves."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import orjson
import pytest
import structlog
import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import GatewayConfig, parse_config
from crossdock.gateway.plugins.persisted_queries import PersistedQueries
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import running

if TYPE_CHECKING:
    from pathlib import Path

    from tests.integration.gateway.federation import Federation

pytestmark = pytest.mark.anyio

NAMES = "query Names { products { name } }"
ME = "query Me { me { id } }"
DATA = {"products": [{"name": "Table"}, {"name": "Couch"}, {"name": "Chair"}]}


def apollo_manifest(path: Path, operations: dict[str, str]) -> Path:
    path.write_bytes(orjson.dumps({
        "format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{"id": i, "name": "Op", "type": "query", "body": b}
                       for i, b in operations.items()]}))
    return path


def configured(text: str, manifest: Path) -> GatewayConfig:
    return parse_config(yaml.safe_load(text.replace("MANIFEST", str(manifest))))


async def post(shop: Federation, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await shop.client.post(shop.url + "/graphql", json=body)
    return response.status_code, response.json()


def by_id(identifier: str) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": identifier}}}


def asked(shop: Federation) -> int:
    return sum(len(sub.requests) for sub in shop.subgraphs.values())


async def test_a_registered_id_runs_its_body_and_an_unknown_id_is_not_in_the_list(
        tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", {"names-1": NAMES})
    config = configured("persisted_queries: {enabled: true, local_manifests: [MANIFEST]}",
                        manifest)
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        known = await post(shop, by_id("names-1"))
        unknown = await shop.client.post(shop.url + "/graphql", json=by_id("nope"))
        freeform = await post(shop, {"query": ME})
        both = await post(shop, {"query": NAMES, **by_id("names-1")})
    assert known == (200, {"data": DATA})
    assert unknown.status_code == 404
    assert unknown.headers["cache-control"] == "private, no-cache, must-revalidate"
    assert unknown.json() == {"errors": [{
        "message": "Persisted query 'nope' not found in the persisted query list",
        "extensions": {"code": "PERSISTED_QUERY_NOT_IN_LIST"}}]}
    assert freeform[0] == 200
    assert both[0] == 400
    assert both[1]["errors"][0]["extensions"]["code"] == "CANNOT_SEND_PQ_ID_AND_BODY"


async def test_relays_id_map_serves_doc_id_by_post_and_by_get(tmp_path: Path) -> None:
    manifest = tmp_path / "persisted.json"
    manifest.write_text(json.dumps({"a1b2": NAMES}))
    config = configured("persisted_queries: {enabled: true, local_manifests: [MANIFEST]}",
                        manifest)
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        posted = await post(shop, {"doc_id": "a1b2", "variables": {}})
        got = await shop.client.get(shop.url + "/graphql", params={"doc_id": "a1b2"},
                                    headers={"apollo-require-preflight": "1"})
    assert posted == (200, {"data": DATA})
    assert (got.status_code, got.json()) == (200, {"data": DATA})


async def test_the_safelist_serves_registered_bodies_however_formatted_and_refuses_others(
        tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", {"n": NAMES})
    config = configured("""
supergraph: {introspection: true}
persisted_queries: {enabled: true, local_manifests: [MANIFEST], safelist: {enabled: true}}
""", manifest)
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        reformatted = await post(shop, {"query": "# the same\nquery Names {\n  products {\n"
                                                 "    name\n  }\n}\n"})
        refused = await shop.client.post(shop.url + "/graphql", json={"query": ME})
        introspection = await post(shop, {"query": "{ __schema { queryType { name } } }"})
        calls = asked(shop)
    assert reformatted == (200, {"data": DATA})
    assert refused.status_code == 403
    assert refused.json() == {"errors": [{
        "message": "The operation body was not found in the persisted query safelist",
        "extensions": {"code": "QUERY_NOT_IN_SAFELIST"}}]}
    assert introspection[0] == 200
    assert calls == 1


async def test_require_id_refuses_every_freeform_query_and_logs_it(tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", {"n": NAMES})
    config = configured("""
persisted_queries:
  enabled: true
  local_manifests: [MANIFEST]
  log_unknown: true
  safelist: {enabled: true, require_id: true}
apq: {enabled: false}
""", manifest)
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        with structlog.testing.capture_logs() as logs:
            refused = await post(shop, {"query": NAMES})
        served = await post(shop, by_id("n"))
    assert refused[0] == 400
    assert refused[1]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_ID_REQUIRED"
    assert served == (200, {"data": DATA})
    assert [e["body"] for e in logs if e["event"] == "persisted_query_unknown"] == [NAMES]


async def test_log_unknown_serves_an_unregistered_operation_and_logs_it_once_per_request(
        tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", {"n": NAMES})
    config = configured("""
persisted_queries: {enabled: true, local_manifests: [MANIFEST], log_unknown: true}
""", manifest)
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        with structlog.testing.capture_logs() as logs:
            unknown = [await post(shop, {"query": ME}) for _ in range(2)]
            known = await post(shop, {"query": NAMES})
    assert [status for status, _ in unknown] == [200, 200]
    assert known == (200, {"data": DATA})
    lines = [e for e in logs if e["event"] == "persisted_query_unknown"]
    assert [(e["operation"], e["body"]) for e in lines] == [("Me", ME), ("Me", ME)]


async def test_a_changed_manifest_is_served_without_a_restart_and_a_broken_one_is_ignored(
        tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", {"n": NAMES})
    config = configured("persisted_queries: {enabled: true, local_manifests: [MANIFEST]}",
                        manifest)
    (plugin,) = [p for p in config.plugins if isinstance(p, PersistedQueries)]
    plugin.poll_interval = 0.05
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        before = await post(shop, by_id("me"))
        apollo_manifest(manifest, {"n": NAMES, "me": ME})
        after = before
        for _ in range(100):
            await asyncio.sleep(0.06)
            after = await post(shop, by_id("me"))
            if after[0] == 200:
                break
        manifest.write_text("{ not json")
        await asyncio.sleep(0.06)
        with structlog.testing.capture_logs() as logs:
            kept = await post(shop, by_id("me"))
    assert before[0] == 404
    assert after == (200, {"data": {"me": {"id": "u1"}}})
    assert kept == after
    assert [e["event"] for e in logs] == ["persisted_queries_reload_failed"]


async def test_with_apq_on_an_id_not_in_the_manifest_is_left_to_apq(tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", {"n": NAMES})
    config = configured("""
persisted_queries: {enabled: true, local_manifests: [MANIFEST]}
apq: {}
""", manifest)
    sha = "a" * 64
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        from_list = await post(shop, by_id("n"))
        from_apq = await post(shop, by_id(sha))
    assert from_list == (200, {"data": DATA})
    assert from_apq[1]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(("text", "message"), [
    (("persisted_queries: {enabled: true, local_manifests: [MANIFEST], "
     "safelist: {enabled: true}}\napq: {}"), "set apq.enabled: false"),
    (("persisted_queries: {enabled: true, local_manifests: [MANIFEST], "
     "safelist: {require_id: true}}"), "persisted_queries.safelist.require_id"),
    ("persisted_queries: {enabled: true}", "persisted_queries.local_manifests"),
    ("persisted_queries: {enabled: true, local_manifests: [MISSING]}",
     r"persisted_queries.local_manifests\[0\]"),
    ("persisted_queries: {enabled: true, local_manifests: [BROKEN]}",
     "operations\\[0\\] needs a string id and body"),
], ids=["safelist-with-apq", "require-id-alone", "no-files", "missing-file", "bad-operation"])
def test_a_persisted_queries_mistake_names_its_key(tmp_path: Path, text: str,
                                                   message: str) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", {"n": NAMES})
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1,
                                  "operations": [{"id": 1}]}))
    text = text.replace("MISSING", str(tmp_path / "missing.json")).replace(
        "BROKEN", str(broken))
    with pytest.raises(ConfigError, match=message):
        configured(text, manifest)


def test_persisted_queries_off_reads_nothing_and_router_only_keys_are_reported(
        tmp_path: Path) -> None:
    manifest = apollo_manifest(tmp_path / "manifest.json", {"n": NAMES})
    off = configured("persisted_queries: {enabled: false, local_manifests: [nowhere]}",
                     manifest)
    on = configured("""
persisted_queries:
  enabled: true
  local_manifests: [MANIFEST]
  experimental_prewarm_query_plan_cache: {on_startup: true}
""", manifest)
    assert [plugin.name for plugin in off.plugins] == ["authorization"]  # on by default
    assert on.unsupported == ("persisted_queries.experimental_prewarm_query_plan_cache",)
