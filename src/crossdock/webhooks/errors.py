"""The webhooks service's errors.

WebhooksError
├── InvalidInput           a value given to a command or the admin API is invalid
├── SourceError            a source is unknown, exists already or is misconfigured
│   ├── UnknownSource          no source by that name
│   ├── SourceExists           a source by that name exists already
│   ├── InvalidSource          a source's name, body limit or retry schedule is invalid
│   └── SecretUnavailable      an ``env:NAME`` secret names an unset variable
├── RouteError             a routing rule is invalid
│   ├── InvalidRoute           its handler is unknown, or one of its values is invalid
│   └── RouteNotFound          no routing rule with that id
├── DeliveryNotFound       no delivery with that id
├── NotReplayable          a delivery that cannot be replayed (a rejected one kept no body)
├── Rejected               the receiver refuses a request (``reason`` is the metrics label)
│   ├── BadSignature           the signature is missing or matches no secret
│   └── Malformed              the body or a required header cannot be understood
├── StoreError             the webhooks tables could not be read or written
│   └── StoreUnavailable       no database connection in time, or it was lost (also the
│       │                          core's DatabaseError: the admin graph answers
│       │                          SERVICE_UNAVAILABLE, the admin API 503)
│       └── CommitTimeout          a delivery was not committed within the commit timeout
├── HandlerError           a handler failed (recorded on the attempt, then retried)
│   └── ForwardingUnavailable  the ``forward`` handler has no outbound sender installed
├── AddressRefused         the SSRF guard refuses an endpoint's address (not public, not allowed)
└── OutboundError          sending webhooks: applications, endpoints, event types, messages
    ├── SigningKeyUnavailable  an endpoint's stored signing secret cannot be decrypted (also a
    │                              ConfigError: the key setting is wrong or missing)
    └── InvalidOutbound        what was given is wrong (also InvalidInput: the CLI exits 2)
        ├── UnknownApplication     no application by that name
        ├── UnknownEndpoint        no endpoint with that id
        ├── UnknownEventType       no event type by that name: publishing it is refused
        ├── MessageNotFound        no message with that id
        ├── ApplicationExists      an application by that name exists already
        ├── EventTypeExists        an event type by that name exists already
        ├── EventTypeInUse         endpoints or undelivered messages still use an event type
        └── InvalidPayload         a payload does not match its event type's JSON Schema

``InvalidInput`` and its subclasses are also configuration errors: the ``crossdock``
command exits 2 on them (what the person gave is wrong), and the admin API answers 400
(404 for the outbound ``Unknown*`` and ``*NotFound``, 409 for the ``*Exists`` and
``EventTypeInUse``).
"""

from __future__ import annotations

from crossdock.core.errors import ConfigError, CrossdockError, DatabaseError


class WebhooksError(CrossdockError):
    """Something went wrong in the webhooks service."""


class InvalidInput(WebhooksError, ConfigError):
    """A value given is invalid."""


class SourceError(WebhooksError):
    """A webhook source is invalid."""


class UnknownSource(SourceError):
    """No webhook source by that name."""


class SourceExists(SourceError):
    """A webhook source by that name exists already."""


class InvalidSource(SourceError, InvalidInput):
    """A webhook source's settings are invalid."""


class SecretUnavailable(SourceError):
    """A secret names an environment variable that is not set."""


class RouteError(WebhooksError):
    """A routing rule is invalid."""


class InvalidRoute(RouteError, InvalidInput):
    """A routing rule's handler is unknown or one of its values is invalid."""


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


class StoreUnavailable(StoreError, DatabaseError):
    """The database is unavailable: no connection came in time, or it was lost."""


class CommitTimeout(StoreUnavailable):
    """A delivery was not committed within the writer's commit timeout."""


class NotReplayable(WebhooksError):
    """The delivery cannot be replayed."""


class HandlerError(WebhooksError):
    """A handler failed on a delivery."""


class ForwardingUnavailable(HandlerError):
    """Forwarding to outside endpoints is not installed (it comes with outbound webhooks)."""


class AddressRefused(WebhooksError):
    """The endpoint's address is not public and not on the allow-list."""


class OutboundError(WebhooksError):
    """Sending webhooks failed."""


class SigningKeyUnavailable(OutboundError, ConfigError):
    """An endpoint's signing secret cannot be decrypted with the service's keys."""


class InvalidOutbound(OutboundError, InvalidInput):
    """A value given for outbound webhooks is invalid."""


class UnknownApplication(InvalidOutbound):
    """No application by that name."""


class UnknownEndpoint(InvalidOutbound):
    """No endpoint with that id."""


class UnknownEventType(InvalidOutbound):
    """No event type by that name."""


class InvalidPayload(InvalidOutbound):
    """The payload does not match its event type's JSON Schema."""


class ApplicationExists(InvalidOutbound):
    """An application by that name exists already."""


class EventTypeExists(InvalidOutbound):
    """An event type by that name exists already."""


class EventTypeInUse(InvalidOutbound):
    """Endpoints or undelivered messages still use the event type: it cannot be removed."""


class MessageNotFound(InvalidOutbound):
    """No message with that id."""
