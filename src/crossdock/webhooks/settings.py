"""The webhooks service's settings (prefix ``CROSSDOCK_WEBHOOKS_``, table ``[webhooks]``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from crossdock.core.settings import load

#: GitHub's own cap on a webhook payload; a source may set its own.
DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WebhooksSettings:
    """Where the receiver listens and how it waits on the database."""

    host: str = "127.0.0.1"
    port: int = 8080
    #: Serve the admin API (``/api/...``) on this port instead, and not on ``port``: the
    #: receiver's port faces senders, the admin port can stay on an internal network.
    admin_port: int | None = None
    #: The admin port's address (default: ``host``).
    admin_host: str | None = None
    #: Seconds the receiver waits for a database connection before answering 503.
    database_timeout: float = 2.0
    #: Seconds the receiver waits for a delivery's commit before answering 503, well inside
    #: GitHub's 10-second deadline. A delivery being written then may still be stored: the
    #: sender's retry gets 200, as a duplicate.
    store_timeout: float = 5.0
    #: Days a finished delivery (processed, dead, rejected), and a sent message whose every
    #: endpoint is done with it, is kept; 0 keeps them all. The worker prunes hourly;
    #: ``crossdock webhooks prune`` does it now.
    retention_days: float = 30.0
    #: Seconds a source's configuration (secrets included) is cached by the receiver.
    source_cache_seconds: float = 5.0
    #: The Fernet keys outbound endpoints' signing secrets are encrypted with in the database,
    #: comma-separated, newest first (unset: a key file made in the data folder).
    secret_key: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhooksSettings:
        """Read ``CROSSDOCK_WEBHOOKS_*`` and ``[webhooks]``."""
        return load(cls, "CROSSDOCK_WEBHOOKS_", environ=environ, section="webhooks")
