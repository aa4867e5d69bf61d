"""How a worker sends outbound webhooks (prefix ``CROSSDOCK_WEBHOOKS_OUTBOUND_``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from crossdock.core.backoff import Backoff
from crossdock.core.errors import ConfigError
from crossdock.core.settings import ConfigFile, bounded, load

#: Svix's schedule: a try at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h.
SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DeliverySettings:
    """The retry schedule, the SSRF allow-list and a sending worker's limits."""

    #: Seconds between tries, after the first one (comma-separated in the environment).
    schedule: tuple[float, ...] = SCHEDULE
    #: Each wait is drawn within this fraction of itself either way.
    jitter: float = bounded(0.2, low=0.0, high=1.0)
    #: Networks (CIDR), addresses or host names deliveries may reach although not public.
    allow: tuple[str, ...] = ()
    #: An endpoint whose every attempt failed for this many days is disabled.
    disable_after_days: float = bounded(5.0, low=0.0)
    #: Attempts one worker process has in flight at once, all endpoints together.
    concurrency: int = bounded(256, low=1)
    #: Attempts one worker process has in flight at one endpoint without a cap of its own.
    endpoint_concurrency: int = bounded(16, low=1)
    #: Follow redirects (each target checked by the SSRF guard); off: a 3xx is a failure.
    follow_redirects: bool = False
    #: Seconds a claimed destination stays a worker's before another may take it.
    lease_seconds: float = bounded(60.0, low=1.0)
    #: Seconds between looks for due retries when no new message wakes the worker.
    poll_seconds: float = bounded(1.0, low=0.01)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DeliverySettings:
        """Read ``CROSSDOCK_WEBHOOKS_OUTBOUND_*`` (the environment only)."""
        settings = load(cls, "CROSSDOCK_WEBHOOKS_OUTBOUND_", environ=environ,
                        config=ConfigFile.empty())
        if not settings.schedule or min(settings.schedule) < 0:
            raise ConfigError("CROSSDOCK_WEBHOOKS_OUTBOUND_SCHEDULE: expected seconds between "
                              "tries, comma-separated, none negative")
        return settings

    @property
    def backoff(self) -> Backoff:
        """The schedule as the retry backoff."""
        return Backoff.from_schedule(self.schedule, jitter=self.jitter)

    @property
    def disable_after(self) -> dt.timedelta:
        """How long an endpoint may fail before it is disabled."""
        return dt.timedelta(days=self.disable_after_days)
