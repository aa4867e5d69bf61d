"""Fixtures: running test federations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import Federation, running

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture
async def shop() -> AsyncIterator[Federation]:
    async with running("shop", shop_subgraphs.build()) as federation:
        yield federation
