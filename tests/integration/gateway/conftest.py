"""Fixtures: running test federations."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import Federation, running


@pytest.fixture
async def shop() -> AsyncIterator[Federation]:
    async with running("shop", shop_subgraphs.build()) as federation:
        yield federation
