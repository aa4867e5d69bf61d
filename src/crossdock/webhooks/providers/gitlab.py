"""GitLab: ``X-Gitlab-Token`` carries the secret token itself, compared in constant time.

The event type is the payload's ``object_kind`` (``push``, ``merge_request``, ``note``...), else
``X-Gitlab-Event`` (``Push Hook``) in snake case; the action is ``object_attributes.action``.
The delivery id is ``Idempotency-Key`` (kept across GitLab's retries), else
``X-Gitlab-Event-UUID``, else a digest of the body.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Sequence

from crossdock.webhooks.errors import BadSignature
from crossdock.webhooks.providers.base import (
    Headers,
    Inbound,
    body_digest_id,
    object_document,
    required,
    string_field,
)
from crossdock.webhooks.secrets import Secret

_ID_HEADERS = ("idempotency-key", "x-gitlab-event-uuid", "x-gitlab-webhook-uuid")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GitLabProvider:
    """Deliveries from GitLab project, group and system hooks."""

    name: str = "gitlab"

    def verify(  # the token is not a signature: the body plays no part
        self, headers: Headers, body: bytes, secrets: Sequence[Secret],  # noqa: ARG002
    ) -> None:
        given = headers.get("x-gitlab-token", "").encode()
        if not given:
            raise BadSignature("the X-Gitlab-Token header is missing")
        found = False
        for secret in secrets:
            found |= hmac.compare_digest(secret.value.encode(), given)
        if not found:
            raise BadSignature("the token matches none of the source's secrets")

    def parse(self, headers: Headers, body: bytes) -> Inbound:
        header_event = required(headers, "x-gitlab-event")
        document = object_document(body)
        event = string_field(document, "object_kind") or _snake(header_event)
        delivery = self.delivery_id(headers) or body_digest_id(body)
        return Inbound(delivery_id=delivery, event_type=event,
                       action=string_field(document, "object_attributes", "action"))

    def delivery_id(self, headers: Headers) -> str | None:
        for name in _ID_HEADERS:
            if headers.get(name):
                return headers[name]
        return None

    def sign(
        self, body: bytes, secret: str, *, delivery_id: str, event_type: str,  # noqa: ARG002
    ) -> dict[str, str]:
        return {
            "x-gitlab-token": secret,
            "x-gitlab-event": event_type,
            "idempotency-key": delivery_id,
            "x-gitlab-event-uuid": delivery_id,
            "content-type": "application/json",
        }


def _snake(header_event: str) -> str:
    words = header_event.lower().split()
    if words and words[-1] == "hook":
        words = words[:-1]
    return "_".join(words) or "unknown"
