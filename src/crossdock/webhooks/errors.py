"""The webhooks service's errors.

WebhooksError
├── SourceError            a source is unknown, exists already or is misconfigured
│   ├── UnknownSource          no source by that name
│   ├── SourceExists           a source by that name exists already
│   └── SecretUnavailable      an ``env:NAME`` secret names an unset variable
├── RouteError             a routing rule is invalid
│   └── RouteNotFound          no routing rule with that id
├── DeliveryNotFound       no delivery with that id
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


class SecretUnavailable(SourceError):
    """A secret names an environment variable that is not set."""


class RouteError(WebhooksError):
    """A routing rule is invalid."""


class RouteNotFound(RouteError):
    """No routing rule has this id."""


class DeliveryNotFound(WebhooksError):
    """No delivery with that id."""


class HandlerError(WebhooksError):
    """A handler failed on a delivery."""


class ForwardingUnavailable(HandlerError):
    """Forwarding to outside endpoints is not installed (it comes with outbound webhooks)."""
