"""crossdock: a federation gateway, webhooks infrastructure and GitSlice over one core."""

from __future__ import annotations

__version__ = "0.1.0"
