"""How the webhooks service plugs into the core."""

from __future__ import annotations

from crossdock.core.services import Service

service = Service(name="webhooks", description="(not built yet)")
