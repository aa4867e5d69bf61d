"""How the gateway service plugs into the core."""

from __future__ import annotations

from crossdock.core.services import Service

service = Service(name="gateway", description="(not built yet)")
