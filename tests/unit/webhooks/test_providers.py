"""Providers verify signatures on raw bytes, accept any current secret, and parse headers."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from crossdock.webhooks.errors import SourceError
from crossdock.webhooks.providers import BadSignature, Malformed, make_provider, repository_of
from crossdock.webhooks.providers.base import json_document, json_payload, string_field
from crossdock.webhooks.providers.standard import StandardProvider, new_key_pair
from crossdock.webhooks.secrets import Secret

BODY = b'{"action":"opened","number":1}'


def _secrets(*values: str) -> list[Secret]:
    return [Secret(value) for value in values]


def test_github_signature_is_hmac_sha256_hex_of_the_raw_body() -> None:
    expected = "sha256=" + hmac.new(b"key", BODY, hashlib.sha256).hexdigest()
    headers = make_provider("github").sign(BODY, "key", delivery_id="d", event_type="push")
    assert headers["x-hub-signature-256"] == expected


def test_github_accepts_any_of_several_secrets_and_refuses_others() -> None:
    github = make_provider("github")
    headers = github.sign(BODY, "new", delivery_id="d", event_type="issues")
    github.verify(headers, BODY, _secrets("old", "new"))
    with pytest.raises(BadSignature):
        github.verify(headers, BODY, _secrets("old"))


@pytest.mark.parametrize("value", ["", "sha1=abc", "sha256=zz", "sha256="])
def test_github_refuses_missing_or_garbled_signatures(value: str) -> None:
    with pytest.raises(BadSignature):
        make_provider("github").verify({"x-hub-signature-256": value}, BODY, _secrets("k"))


def test_github_parse_takes_event_delivery_and_action() -> None:
    inbound = make_provider("github").parse(
        {"x-github-event": "issues", "x-github-delivery": "abc"}, BODY)
    assert (inbound.event_type, inbound.delivery_id, inbound.action) == ("issues", "abc",
                                                                         "opened")


def test_gitlab_compares_the_token_and_prefers_idempotency_key() -> None:
    gitlab = make_provider("gitlab")
    headers = {"x-gitlab-token": "tok", "x-gitlab-event": "Push Hook",
               "idempotency-key": "idem", "x-gitlab-event-uuid": "uuid"}
    gitlab.verify(headers, BODY, _secrets("other", "tok"))
    with pytest.raises(BadSignature):
        gitlab.verify({**headers, "x-gitlab-token": "tok2"}, BODY, _secrets("tok"))
    inbound = gitlab.parse(headers, b'{"ref": "main"}')
    assert (inbound.delivery_id, inbound.event_type) == ("idem", "push")
    without = {"x-gitlab-event": "Push Hook", "x-gitlab-event-uuid": "uuid"}
    assert gitlab.parse(without, b"{}").delivery_id == "uuid"


def test_bitbucket_verifies_x_hub_signature_and_splits_the_event_key() -> None:
    bitbucket = make_provider("bitbucket")
    headers = bitbucket.sign(BODY, "bb", delivery_id="r-1", event_type="pullrequest:created")
    bitbucket.verify(headers, BODY, _secrets("bb"))
    with pytest.raises(BadSignature):
        bitbucket.verify(headers, BODY + b"x", _secrets("bb"))
    inbound = bitbucket.parse(headers, BODY)
    assert (inbound.event_type, inbound.action, inbound.delivery_id) == (
        "pullrequest:created", "created", "r-1")


def test_standard_webhooks_hmac_signs_id_timestamp_and_body_with_the_decoded_secret() -> None:
    key = b"a" * 32
    secret = "whsec_" + base64.b64encode(key).decode()
    provider = StandardProvider(clock=lambda: 1_700_000_000.0)
    headers = provider.sign(BODY, secret, delivery_id="msg_1", event_type="x")
    content = b"msg_1.1700000000." + BODY
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    provider.verify(headers, BODY, _secrets(secret))


def test_standard_webhooks_accept_one_valid_signature_among_several() -> None:
    secret = "whsec_" + base64.b64encode(b"b" * 32).decode()
    provider = StandardProvider(clock=lambda: 1_700_000_000.0)
    headers = provider.sign(BODY, secret, delivery_id="msg_1", event_type="x")
    garbage = "v1," + base64.b64encode(b"z" * 32).decode()
    headers["webhook-signature"] = f"{garbage} v2,abc {headers['webhook-signature']}"
    provider.verify(headers, BODY, _secrets(secret))


@pytest.mark.parametrize("skew", [-301, 301])
def test_standard_webhooks_refuse_timestamps_outside_five_minutes(skew: int) -> None:
    secret = "whsec_" + base64.b64encode(b"c" * 32).decode()
    sender = StandardProvider(clock=lambda: 1_700_000_000.0)
    receiver = StandardProvider(clock=lambda: 1_700_000_000.0 + skew)
    headers = sender.sign(BODY, secret, delivery_id="m", event_type="x")
    with pytest.raises(BadSignature, match="5 minutes"):
        receiver.verify(headers, BODY, _secrets(secret))
    StandardProvider(clock=lambda: 1_700_000_000.0 + skew * 299 / 301).verify(
        headers, BODY, _secrets(secret))


def test_standard_webhooks_ed25519_verify_with_the_public_key_only() -> None:
    private, public = new_key_pair()
    provider = StandardProvider()
    headers = provider.sign(BODY, private, delivery_id="m", event_type="x")
    assert headers["webhook-signature"].startswith("v1a,")
    provider.verify(headers, BODY, _secrets("whsec_" + base64.b64encode(b"d" * 32).decode(),
                                            public))
    with pytest.raises(BadSignature):
        provider.verify(headers, BODY + b" ", _secrets(public))


def test_standard_webhooks_never_verify_with_a_key_that_is_not_whsec_or_whpk() -> None:
    """An ``env:`` value is only seen when verifying: unprefixed, it verifies nothing."""
    provider = StandardProvider()
    plain = "a-plain-secret-of-many-bytes"
    headers = provider.sign(BODY, plain, delivery_id="m", event_type="x")
    with pytest.raises(BadSignature, match="no signature matches"):
        provider.verify(headers, BODY, _secrets(plain))


def test_standard_webhooks_event_type_is_the_payload_type() -> None:
    inbound = StandardProvider().parse({"webhook-id": "m"}, b'{"type":"invoice.paid"}')
    assert (inbound.delivery_id, inbound.event_type) == ("m", "invoice.paid")


def test_the_generic_hmac_provider_follows_its_options() -> None:
    provider = make_provider("hmac", {"header": "X-Sig", "algorithm": "sha1",
                                      "encoding": "base64", "prefix": "sha1="})
    expected = "sha1=" + base64.b64encode(hmac.new(b"k", BODY, hashlib.sha1).digest()).decode()
    assert provider.sign(BODY, "k", delivery_id="d", event_type="e")["x-sig"] == expected
    provider.verify({"x-sig": expected}, BODY, _secrets("k"))
    with pytest.raises(BadSignature):
        provider.verify({"x-sig": expected[5:]}, BODY, _secrets("k"))


def test_the_generic_hmac_provider_uses_the_body_digest_as_id_without_a_header() -> None:
    provider = make_provider("hmac")
    first = provider.parse({}, BODY)
    assert first.delivery_id == provider.parse({}, BODY).delivery_id
    assert first.delivery_id != provider.parse({}, BODY + b" ").delivery_id


@pytest.mark.parametrize(("name", "options"), [
    ("hmac", {"algorithm": "md5"}), ("hmac", {"encoding": "base32"}), ("hmac", {"nope": 1}),
    ("github", {"header": "x"}), ("sendgrid", {}),
])
def test_invalid_providers_and_options_are_refused(name: str, options: dict) -> None:
    with pytest.raises(SourceError):
        make_provider(name, options)


@pytest.mark.parametrize("body", [b"", b"nul", b"[1]", b"payload=%7Bnot"])
def test_bodies_that_are_not_json_objects_are_malformed(body: bytes) -> None:
    with pytest.raises(Malformed):
        make_provider("github").parse({"x-github-event": "push", "x-github-delivery": "d"},
                                      body)


# Bodies at the edges of JSON where parsers differ: the receiver (simdjson) must accept exactly
# what the workers (orjson) parse, or a delivery is acknowledged that can never be processed.
EDGE_BODIES = [
    b'{"action":"x\ny"}', b'{"a":"\x01"}', b'{"a":"\\ud800"}', b'{"a":"\\udc00\\ud800"}',
    b'{"a":1e400}', b'{"a":-0}', b'{"a":01}', b'{"a":.5}', b'{"a":1.}', b'{"a":1,}',
    b"[" * 2000 + b"]" * 2000, b"[" * 600 + b"]" * 600, b'{"a":"\xed\xa0\x80"}',
    b'{"a":"\xf4\x90\x80\x80"}', b'{"a":true}\x00', b'{"a":1} x', b'"x"', b"1", b"null",
    b'{"a":"\\u00"}', b'{"a":"\\x"}', b'{"a":123456789012345678901234567890,"action":"big"}',
    b'{"a":-9223372036854775809}', b'\xef\xbb\xbf{"action":"bom"}', b' {"action":"ws"} ',
    b'{"action":"dup","action":"last"}', b'{"a\\u0000":1,"action":"nul"}', b"",
    b"payload=%7B%22action%22%3A%22form%22%7D", b"payload=%7Bnot", b"payload=[1]",
]


def _accepted(parse: object, body: bytes) -> bool:
    try:
        parse(body)  # type: ignore[operator]
    except Malformed:
        return False
    return True


@pytest.mark.parametrize("body", EDGE_BODIES)
def test_the_receiver_accepts_exactly_the_bodies_the_workers_parse(body: bytes) -> None:
    assert _accepted(json_document, body) == _accepted(json_payload, body)


@pytest.mark.parametrize("body", [b for b in EDGE_BODIES if _accepted(json_payload, b)])
def test_the_receiver_reads_the_action_the_workers_see(body: bytes) -> None:
    payload = json_payload(body)
    expected = payload.get("action") if isinstance(payload, dict) else None
    assert string_field(json_document(body), "action") == expected


@pytest.mark.parametrize(("provider", "payload", "expected"), [
    ("github", {"repository": {"html_url": "https://GitHub.com/Acme/App/",
                               "clone_url": "https://github.com/other/x.git"}},
     "github.com/acme/app"),
    ("github", {"repository": {"html_url": "", "clone_url": "git@github.com:acme/app.git"}},
     "github.com/acme/app"),
    ("github", {"repository": {"full_name": "Acme/App"}}, "github.com/acme/app"),
    ("github", {"repository": {"html_url": 7, "full_name": " "}}, None),
    ("github", {"repository": "acme/app"}, None),
    ("github", {"zen": "no repository"}, None),
    ("github", [1, 2], None),
    ("gitlab", {"project": {"web_url": "https://gitlab.example.com/g/sub/p"}},
     "gitlab.example.com/g/sub/p"),
    ("gitlab", {"repository": {"homepage": "https://gitlab.com/g/p"}}, None),
    ("bitbucket", {"repository": {"links": {"html": {"href": "https://bitbucket.org/t/r"}}}},
     "bitbucket.org/t/r"),
    ("bitbucket", {"repository": {"links": {"html": []}, "full_name": "t/named"}},
     "bitbucket.org/t/named"),
    ("standard", {"repository": {"html_url": "https://github.com/acme/app"}}, None),
    ("hmac", {"repository": {"html_url": "https://github.com/acme/app"}}, None),
    # Not a URL anyone looks up: not recorded (a NUL would not even fit PostgreSQL's text).
    ("github", {"repository": {"html_url": "https://github.com/a/b\u0000c"}}, None),
    ("github", {"repository": {"html_url": "https://github.com/" + "a" * 1000}}, None),
])
def test_a_forge_s_payload_names_its_repository_as_gitslice_spells_it(
        provider: str, payload: object, expected: str | None) -> None:
    assert repository_of(provider, payload) == expected

