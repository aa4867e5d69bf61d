"""The webhooks service's errors.

WebhooksError
├── SourceError            a source is unknown, exists already or is misconfigured
│   ├── UnknownSource          no source by that name
│   ├── SourceExists           a source by that name exists already
│   ├── InvalidSource          a source breaks a rule of the sources table (name, secrets)
│   └── SecretUnavailable      an ``env:NAME`` secret names an unset variable
├── RouteError             a routing rule is invalid
│   └── RouteNotFound          no routing rule with that id
├── DeliveryNotFound       no delivery with that id
├── Rejected               the receiver refuses a request (``reason`` is the metrics label)
│   ├── BadSignature           the signature is missing or matches no secret
│   └── Malformed              the body or a required header cannot be understood
├── StoreError             the webhooks tables could not be read or written
│   └── StoreUnavailable       no database connection in time, or it was lost
│       └── CommitTimeout          a delivery was not committed within the commit timeout
└── HandlerError           a handler failed (recorded on the attempt, then retried)
    └── ForwardingUnavailable  the ``forward`` handler has no outbound sender installed
"""

from __future__ import annotations

from crossdock.core.errors import CrossdockError


class WebhooksError(CrossdockError):
    """Something went wrong in the webhooks service."""


class SourceError(WebhooksError):
    """A webhook source is invalid."""


class UnknownSource(SourceError):
    """No webhook source by that name."""


class SourceExists(SourceError):
    """A webhook source by that name exists already."""


class InvalidSource(SourceError):
    """A webhook source breaks a rule of the sources table."""


class SecretUnavailable(SourceError):
    """A secret names an environment variable that is not set."""


class RouteError(WebhooksError):
    """A routing rule is invalid."""


class RouteNotFound(RouteError):
    """No routing rule has this id."""


class DeliveryNotFound(WebhooksError):
    """No delivery with that id."""


class Rejected(WebhooksError):
    """A request the receiver refuses; ``reason`` is the metrics label."""

    reason = "rejected"


class BadSignature(Rejected):
    """The signature is missing or matches none of the source's secrets."""

    reason = "bad_signature"


class Malformed(Rejected):
    """The body or a required header cannot be understood."""

    reason = "malformed"


class StoreError(WebhooksError):
    """The webhooks tables could not be read or written."""


class StoreUnavailable(StoreError):
    """The database is unavailable: no connection came in time, or it was lost."""


class CommitTimeout(StoreUnavailable):
    """A delivery was not committed within the writer's commit timeout."""


class HandlerError(WebhooksError):
    """A handler failed on a delivery."""


class ForwardingUnavailable(HandlerError):
    """Forwarding to outside endpoints is not installed (it comes with outbound webhooks)."""
