"""What every provider does: verify a request's signature on its raw bytes, then parse it.

A provider is built per source from the source's options. ``verify`` raises
:class:`BadSignature`; ``parse`` raises :class:`Malformed`; both messages are safe to log and
to answer with (they never contain a secret). ``sign`` gives the headers a genuine sender would
add, for tests, the demo and the benchmarks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson
import simdjson

from crossdock.core.repos import hosted_url, normalize_url
from crossdock.webhooks.errors import Malformed
from crossdock.webhooks.secrets import Secret

Headers = Mapping[str, str]

#: Longest repository URL recorded: an index entry must fit in a page, and no forge's URL
#: comes near it.
MAX_REPOSITORY_URL = 1000


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """A verified, parsed delivery: what the receiver stores beside the raw body."""

    delivery_id: str
    event_type: str
    action: str | None


class Provider(Protocol):
    """Verifies and parses one provider's deliveries."""

    @property
    def name(self) -> str:
        """The provider's name (``github``...), the prefix of its bus event types."""

    def verify(self, headers: Headers, body: bytes, secrets: Sequence[Secret]) -> None:
        """Raise :class:`BadSignature` unless a secret signed ``body``."""

    def parse(self, headers: Headers, body: bytes) -> Inbound:
        """The delivery's id, event type and action; :class:`Malformed` if not."""

    def delivery_id(self, headers: Headers) -> str | None:
        """The provider's delivery id as the headers give it (kept on rejected rows)."""

    def sign(
        self, body: bytes, secret: str, *, delivery_id: str, event_type: str
    ) -> dict[str, str]:
        """The headers a sender holding ``secret`` adds to ``body``."""


def digest(algorithm: str, key: bytes, body: bytes) -> bytes:
    """HMAC of ``body`` under ``key``."""
    return hmac.new(key, body, getattr(hashlib, algorithm)).digest()


def matches_any(expected: Sequence[bytes], given: bytes) -> bool:
    """Constant-time comparison of ``given`` against every candidate (no early exit)."""
    found = False
    for candidate in expected:
        found |= hmac.compare_digest(candidate, given)
    return found


def json_payload(body: bytes) -> Any:
    """The JSON body; form-encoded ``payload=`` bodies (GitHub's other content type) too."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        form = urllib.parse.parse_qs(body.decode("utf-8"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed("the body is not JSON") from exc
    values = form.get("payload")
    if not values:
        raise Malformed("the body is not JSON")
    try:
        return orjson.loads(values[0])
    except orjson.JSONDecodeError as exc:
        raise Malformed("the form field 'payload' is not JSON") from exc


_BOM = b"\xef\xbb\xbf"


def json_document(body: bytes) -> Any:
    """The body checked as :func:`json_payload` checks it, without building it.

    The receiver reads a field or two of a body it stores as bytes; building the whole
    payload as Python objects cost more than the rest of its parsing. simdjson validates the
    document in full and reads fields lazily. It refuses some JSON that orjson (which the
    workers parse with) accepts, integers over 64 bits, and accepts a byte order mark that
    orjson refuses: those bodies, and form-encoded ones, take :func:`json_payload`, so the
    receiver accepts exactly the bodies the workers can parse.
    """
    if not body.startswith(_BOM):
        try:
            return simdjson.Parser().parse(body)
        except (ValueError, RuntimeError):
            pass
    return json_payload(body)


def is_object(value: Any) -> bool:
    """Whether a value of :func:`json_document` is a JSON object."""
    return isinstance(value, dict | simdjson.Object)


def object_document(body: bytes) -> Any:
    """:func:`json_document` of a body that must be a JSON object."""
    document = json_document(body)
    if not is_object(document):
        raise Malformed("the body is not a JSON object")
    return document


def required(headers: Headers, name: str) -> str:
    """A header that must be present and non-empty."""
    value = headers.get(name, "").strip()
    if not value:
        raise Malformed(f"the header {name} is missing")
    return value


def body_digest_id(body: bytes) -> str:
    """A delivery id for senders without one: the same body is the same delivery."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def member(document: Any, key: str) -> Any:
    """The value of ``key`` in a :func:`json_document` object; None if absent or no object.

    JSON lets a key repeat; orjson, which the workers parse with, keeps the last value, and
    so does this (simdjson's own lookup finds the first).
    """
    if isinstance(document, dict):
        return document.get(key)
    if not isinstance(document, simdjson.Object):
        return None
    if list(document.keys()).count(key) < 2:  # noqa: PLR2004 - a repeated key
        return document.get(key)
    found = None
    for name, value in document.items():
        if name == key:
            found = value
    return found


def string_field(document: Any, *path: str) -> str | None:
    """A string at ``path`` in a :func:`json_document`, if there is one."""
    value: Any = document
    for key in path:
        value = member(value, key)
    return value if isinstance(value, str) else None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RepositoryFields:
    """Where a provider's payloads name their repository."""

    #: The top-level member holding the repository (``repository``, ``project``).
    holder: str
    #: Paths inside it to a URL, the first found wins.
    urls: tuple[tuple[str, ...], ...]
    #: The path to ``owner/name``, read when no URL is there, on ``host``.
    full_name: tuple[str, ...] | None = None
    host: str = ""


def repository_url(document: Any, fields: RepositoryFields) -> str | None:
    """The normalized URL of the repository a :func:`json_document` names, if any."""
    holder = member(document, fields.holder)
    if holder is None:
        return None
    found: str | None = None
    for path in fields.urls:
        url = string_field(holder, *path)
        if url and url.strip():
            found = normalize_url(url)
            break
    if found is None and fields.full_name is not None:
        name = string_field(holder, *fields.full_name)
        if name and name.strip():
            found = hosted_url(fields.host, name)
    # An absurd URL (too long, or with a control character, which PostgreSQL's text refuses
    # when it is NUL) is not a repository anyone can look up: not recorded, not refused.
    if found and len(found) <= MAX_REPOSITORY_URL and found.isprintable():
        return found
    return None
