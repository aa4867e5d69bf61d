"""The gateway's settings refuse values it could not serve with, when the process starts."""

from __future__ import annotations

import pytest

from crossdock.core.errors import ConfigError
from crossdock.core.settings import ConfigFile, load
from crossdock.gateway.settings import GatewaySettings


def _load(**environ: str) -> GatewaySettings:
    return load(GatewaySettings, "CROSSDOCK_GATEWAY_", environ=environ,
                config=ConfigFile.empty(), section="gateway")


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("CROSSDOCK_GATEWAY_PORT", "70000", "a number from 0 to 65535"),
    ("CROSSDOCK_GATEWAY_DEMO_PRODUCTS_PORT", "-1", "a number from 0 to 65535"),
    ("CROSSDOCK_GATEWAY_WORKERS", "0", "at least 1"),
    ("CROSSDOCK_GATEWAY_MAX_CONNECTIONS", "0", "at least 1"),
    ("CROSSDOCK_GATEWAY_SUBGRAPH_TIMEOUT", "-5", "at least 0.1"),
])
def test_a_value_out_of_range_names_the_variable(variable: str, value: str,
                                                 expected: str) -> None:
    with pytest.raises(ConfigError, match=f"^{variable}: invalid value .*: expected {expected}"):
        _load(**{variable: value})


def test_the_defaults_are_within_range() -> None:
    assert _load() == GatewaySettings()
