"""How the gateway service plugs into the core."""

from __future__ import annotations

from crossdock.core.services import Service
from crossdock.gateway.cli import build_cli

service = Service(
    name="gateway",
    description="Apollo Federation v2 gateway: plans and executes queries over subgraphs.",
    cli=build_cli,
    up_order=90,
)
