"""How the gitslice service plugs into the core."""

from __future__ import annotations

from crossdock.core.services import Service

service = Service(name="gitslice", description="(not built yet)")
