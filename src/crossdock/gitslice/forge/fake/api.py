"""The REST endpoints, under ``/api/v3`` as on GitHub Enterprise Server.

Each endpoint is a module-level function; the forge itself is ``request.app.state.forge``.
Requests and responses follow GitHub's published description (the tests check both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette

from crossdock.gitslice.forge.fake import issues, pulls, repos
from crossdock.gitslice.forge.fake.errors import ForgeFault
from crossdock.gitslice.forge.fake.rest import on_fault

if TYPE_CHECKING:
    from crossdock.gitslice.forge.fake.forge import FakeForge


ROUTES = [*repos.ROUTES, *pulls.ROUTES, *issues.ROUTES]


def build_api(forge: FakeForge) -> Starlette:
    """The REST API of ``forge``, to be mounted at ``/api/v3``."""
    app = Starlette(routes=ROUTES, exception_handlers={ForgeFault: on_fault})
    app.state.forge = forge
    return app
