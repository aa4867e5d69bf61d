"""The ``csrf`` key: the headers that prove a preflight, or no check at all, over real HTTP."""

from __future__ import annotations

import pytest
import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import parse_config
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import running

pytestmark = pytest.mark.anyio

PARAMS = {"query": "{ me { id } }"}
SERVED = {"data": {"me": {"id": "u1"}}}


async def test_required_headers_replace_the_routers_two() -> None:
    config = parse_config(yaml.safe_load("csrf:\n  required_headers: [Some-Special-Header]\n"))
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        url = shop.url + "/graphql"
        named = await shop.client.get(url, params=PARAMS, headers={"some-special-header": "1"})
        default = await shop.client.get(url, params=PARAMS,
                                        headers={"apollo-require-preflight": "1"})
        json_post = await shop.client.post(url, json=PARAMS)
    assert named.json() == SERVED
    assert default.status_code == 400
    (error,) = default.json()["errors"]
    assert error["extensions"]["code"] == "CSRF_ERROR"
    assert error["message"].endswith("or one of these headers: some-special-header.")
    assert json_post.json() == SERVED  # the content type check stays


async def test_no_required_header_leaves_only_the_content_type_check() -> None:
    config = parse_config(yaml.safe_load("csrf:\n  required_headers: []\n"))
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        refused = await shop.client.get(shop.url + "/graphql", params=PARAMS,
                                        headers={"apollo-require-preflight": "1"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"].endswith("(such as application/json).")


async def test_unsafe_disabled_serves_simple_requests() -> None:
    config = parse_config(yaml.safe_load("csrf:\n  unsafe_disabled: true\n"))
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        url = shop.url + "/graphql"
        get = await shop.client.get(url, params=PARAMS)
        form = await shop.client.post(url, content=b'{"query": "{ me { id } }"}',
                                      headers={"content-type": "text/plain"})
    assert get.json() == SERVED
    assert form.json() == SERVED


def test_csrf_keys_are_checked_and_others_listed() -> None:
    config = parse_config(yaml.safe_load("csrf:\n  unsafe_disabled: false\n  other: 1\n"))
    assert config.unsupported == ("csrf.other",)
    assert not config.csrf.unsafe_disabled
    with pytest.raises(ConfigError, match=r"csrf.unsafe_disabled: 'yes' is not true or false"):
        parse_config({"csrf": {"unsafe_disabled": "yes"}})
    with pytest.raises(ConfigError, match=r"csrf.required_headers\[1\]: 'bad header' is not"):
        parse_config({"csrf": {"required_headers": ["x-ok", "bad header"]}})
    with pytest.raises(ConfigError, match=r"csrf\.required_headers: expected a list"):
        parse_config({"csrf": {"required_headers": "x-one"}})
