"""Header rules and the CORS section, read from the configuration file with the router's
meaning."""

from __future__ import annotations

import pytest
import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import GatewayConfig, parse_config
from crossdock.gateway.context import Headers


def parsed(text: str) -> GatewayConfig:
    return parse_config(yaml.safe_load(text))


def client(**headers: str) -> Headers:
    return Headers(tuple((name.replace("_", "-").encode(), value.encode())
                         for name, value in headers.items()))


RULES = parsed("""
headers:
  all:
    request:
      - propagate: {matching: ^x-upstream-.*}
      - propagate: {named: Authorization}
      - propagate: {named: x-tenant, rename: x-customer, default: none}
      - remove: {named: x-upstream-legacy}
  subgraphs:
    products:
      request:
        - insert: {name: x-subgraph, value: products}
        - remove: {matching: ^authorization$}
""")


def test_rules_apply_in_order_all_first_then_the_subgraphs_own() -> None:
    sent = client(authorization="Bearer t", x_upstream_a="1", x_upstream_legacy="2",
                  x_tenant="acme", x_other="3")
    reviews = RULES.header_rules("reviews")
    products = RULES.header_rules("products")
    assert reviews is not None
    assert products is not None
    assert dict(reviews.apply(sent)) == {
        "x-upstream-a": "1", "authorization": "Bearer t", "x-customer": "acme"}
    assert dict(products.apply(sent)) == {
        "x-upstream-a": "1", "x-customer": "acme", "x-subgraph": "products"}


def test_a_named_header_the_client_did_not_send_takes_its_default_or_is_left_out() -> None:
    rules = RULES.header_rules("reviews")
    assert rules is not None
    assert dict(rules.apply(client())) == {"x-customer": "none"}


def test_hop_by_hop_content_and_trace_headers_are_never_propagated_by_a_pattern() -> None:
    rules = parsed("headers: {all: {request: [{propagate: {matching: .*}}]}}").header_rules("a")
    assert rules is not None
    sent = client(connection="keep-alive", content_type="text/plain", content_length="3",
                  host="h", accept="*/*", accept_encoding="gzip", te="trailers",
                  proxy_authorization="x", traceparent="t", upgrade="h2c", x_kept="yes")
    assert dict(rules.apply(sent)) == {"x-kept": "yes"}


def test_no_rules_means_no_rule_object() -> None:
    assert GatewayConfig().header_rules("products") is None
    assert RULES.header_rules("products") is not None


def test_unread_rule_forms_are_reported_not_guessed() -> None:
    config = parsed("""
headers:
  all:
    request:
      - insert: {name: x-from-context, from_context: user}
      - propagate: {named: a, exclude: [b]}
  connector: {}
""")
    assert config.unsupported == ("headers.all.request[0].insert",
                                  "headers.all.request[1].propagate.exclude",
                                  "headers.connector")


@pytest.mark.parametrize(("text", "named"), [
    ("headers: {all: {request: {propagate: {named: a}}}}", "headers.all.request: expected"),
    ("headers: {all: {request: [{copy: {named: a}}]}}", "headers.all.request[0]: 'copy'"),
    ("headers: {all: {request: [{propagate: {matching: '('}}]}}",
     "headers.all.request[0].propagate.matching"),
    ("headers: {all: {request: [{propagate: {named: content-type}}]}}",
     "headers.all.request[0].propagate.named: content-type"),
    ("headers: {all: {request: [{insert: {name: host, value: x}}]}}",
     "headers.all.request[0].insert.name"),
    ("headers: {subgraphs: {p: {request: [{insert: {name: 'a b', value: x}}]}}}",
     "headers.subgraphs.p.request[0].insert.name"),
    ("headers: {all: {request: [{remove: {}}]}}", "headers.all.request[0].remove"),
    ("cors: {allow_any_origin: true, allow_credentials: true}", "cors.allow_credentials"),
    ("cors: {origins: ['*']}", "cors.origins[0]"),
    ("cors: {match_origins: ['[']}", "cors.match_origins[0]"),
    ("cors: {max_age: soon}", "cors.max_age"),
    ("cors: {methods: GET}", "cors.methods"),
    ("cors: [1]", "cors: expected a mapping"),
])
def test_an_invalid_rule_or_cors_value_is_one_line_naming_its_key(text: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parsed(text)
    assert named in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cors_is_closed_by_default_and_lists_no_origin_unless_told() -> None:
    assert GatewayConfig().cors is None
    policy = parsed("cors: {}").cors
    assert policy is not None
    assert not policy.allows("https://studio.apollographql.com")
    policy = parsed("""
cors:
  origins: [https://app.example.com]
  match_origins: ['^https://[a-z0-9]+\\.preview\\.example\\.com$']
  methods: [get, post]
  max_age: 1h
""").cors
    assert policy is not None
    assert policy.allows("https://app.example.com")
    assert policy.allows("https://pr1.preview.example.com")
    assert not policy.allows("https://evil.example.com")
    assert policy.methods == ("GET", "POST")
    assert policy.max_age == 3600.0
