"""GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``.

The event type is ``X-GitHub-Event`` and the delivery id ``X-GitHub-Delivery`` (a GUID that a
redelivery keeps); the action is the payload's ``action`` field where the event has one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from crossdock.webhooks.errors import BadSignature
from crossdock.webhooks.providers.base import (
    Headers,
    Inbound,
    digest,
    matches_any,
    object_document,
    required,
    string_field,
)
from crossdock.webhooks.secrets import Secret

_PREFIX = "sha256="


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GitHubProvider:
    """Deliveries from GitHub webhooks and GitHub Apps."""

    name: str = "github"

    def verify(self, headers: Headers, body: bytes, secrets: Sequence[Secret]) -> None:
        given = headers.get("x-hub-signature-256", "")
        if not given.startswith(_PREFIX):
            raise BadSignature("the X-Hub-Signature-256 header is missing or not sha256=...")
        try:
            signature = bytes.fromhex(given[len(_PREFIX):])
        except ValueError as exc:
            raise BadSignature("the X-Hub-Signature-256 header is not hex") from exc
        expected = [digest("sha256", s.value.encode(), body) for s in secrets]
        if not matches_any(expected, signature):
            raise BadSignature("the signature matches none of the source's secrets")

    def parse(self, headers: Headers, body: bytes) -> Inbound:
        event = required(headers, "x-github-event")
        delivery = required(headers, "x-github-delivery")
        document = object_document(body)
        return Inbound(delivery_id=delivery, event_type=event,
                       action=string_field(document, "action"))

    def delivery_id(self, headers: Headers) -> str | None:
        return headers.get("x-github-delivery")

    def sign(
        self, body: bytes, secret: str, *, delivery_id: str, event_type: str
    ) -> dict[str, str]:
        return {
            "x-github-event": event_type,
            "x-github-delivery": delivery_id,
            "x-hub-signature-256": _PREFIX + digest("sha256", secret.encode(), body).hex(),
            "content-type": "application/json",
            "user-agent": "GitHub-Hookshot/crossdock",
        }
