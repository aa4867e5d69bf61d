"""Manifest files and the safelist's comparison (Apollo Router's normalization)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from crossdock.core.errors import ConfigError
from crossdock.gateway.plugins.manifests import load_manifests

if TYPE_CHECKING:
    from pathlib import Path

BODY = "fragment A on T { a }    query SomeOp { ...A ...B }    fragment,,, B on U{b c  } # yeah"


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1,
                                "operations": [
                                    {"id": "1", "name": "SomeOp", "type": "query", "body": BODY},
                                    {"id": "2", "body": "}}}"},
                                    {"id": "3", "body": "query Op1 { a b } query Op2 { b a }"}]}))
    return path


@pytest.mark.parametrize(("text", "allowed"), [
    (BODY, True),
    (("#comment\n  fragment, B on U  , { b    c }    query SomeOp {  ...A ...B }  fragment    \n"
     "A on T { a }"), True),
    ("query Op2 { b a } query Op1 { a b }", True),
    ("fragment A on T { a }    query SomeOp { ...A ...B }    fragment,,, B on U{c b  }", False),
    ("}}}}", False),
    ("}}}", True),
], ids=["exact", "reordered-definitions", "reordered-operations", "reordered-fields",
        "other-invalid", "same-invalid"])
def test_the_safelist_ignores_formatting_and_definition_order_but_not_field_order(
        manifest: Path, text: str, allowed: bool) -> None:
    assert load_manifests((manifest,), "k", normalized=True).allows(text) is allowed


def test_relays_id_map_and_apollos_manifest_merge_a_later_file_winning(
        manifest: Path, tmp_path: Path) -> None:
    relay = tmp_path / "relay.json"
    relay.write_text(json.dumps({"1": "{ replaced }", "abc": "{ relay }"}))
    loaded = load_manifests((manifest, relay), "k")
    assert loaded.bodies["1"] == "{ replaced }"
    assert loaded.bodies["abc"] == "{ relay }"
    assert loaded.normalized == frozenset()


@pytest.mark.parametrize(("content", "message"), [
    ("[]", "a JSON object"),
    ('{"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}',
     "version 1"),
    ('{"x": 1}', "maps to no query text"),
    ("{", "cannot read"),
], ids=["list", "version", "relay-value", "json"])
def test_a_manifest_in_neither_format_names_its_place(tmp_path: Path, content: str,
                                                      message: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=rf"k\[0\] \({path}\): .*{message}"):
        load_manifests((path,), "k")
