"""Jobs and event handlers: pulls and pushes as core jobs, one at a time per slice."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossdock.core.runtime import Runtime
    from crossdock.core.services import Listener


def register(runtime: Runtime) -> None:
    """Register gitslice's tasks and subscribers."""
    return


@contextlib.asynccontextmanager
async def up(runtime: Runtime) -> AsyncIterator[list[Listener]]:
    """Nothing served yet."""
    yield []
