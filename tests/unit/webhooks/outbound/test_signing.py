"""Outbound signatures, checked by the Standard Webhooks reference receiver library."""

from __future__ import annotations

import base64
import os
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from crossdock.webhooks.errors import BadSignature
from crossdock.webhooks.outbound.signing import signature_headers
from crossdock.webhooks.providers.standard import StandardProvider
from crossdock.webhooks.secrets import Secret
from crossdock.webhooks.signatures import new_key_pair

BODY = b'{"type":"slice.pulled","data":{"slice":"docs","n":1}}'


def _secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def _headers(*secrets: str, message_id: str = "msg_2b7567d") -> dict[str, str]:
    return signature_headers(message_id=message_id, body=BODY, secrets=secrets,
                             timestamp=int(time.time()))


def test_the_reference_receiver_verifies_an_hmac_signature() -> None:
    secret = _secret()
    assert Webhook(secret).verify(BODY, _headers(secret)) == {
        "type": "slice.pulled", "data": {"slice": "docs", "n": 1}}


def test_the_reference_receiver_refuses_another_secret_or_a_changed_body() -> None:
    headers = _headers(_secret())
    with pytest.raises(WebhookVerificationError):
        Webhook(_secret()).verify(BODY, headers)
    secret = _secret()
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", _headers(secret))


def test_during_a_rotation_a_receiver_with_only_the_old_or_only_the_new_secret_verifies() -> None:
    old, new = _secret(), _secret()
    headers = _headers(new, old)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(_secret()).verify(BODY, headers)


def test_the_webhook_id_is_the_message_id_and_the_timestamp_is_unix_seconds() -> None:
    before = int(time.time())
    headers = _headers(_secret(), message_id="msg_fixed")
    assert headers["webhook-id"] == "msg_fixed"
    assert before <= int(headers["webhook-timestamp"]) <= int(time.time())


def test_an_ed25519_key_signs_v1a_and_its_public_key_verifies() -> None:
    private, public = new_key_pair()
    headers = _headers(private)
    assert headers["webhook-signature"].startswith("v1a,")
    StandardProvider().verify(headers, BODY, [Secret(public)])
    _, other_public = new_key_pair()
    with pytest.raises(BadSignature):
        StandardProvider().verify(headers, BODY, [Secret(other_public)])


def test_hmac_and_ed25519_secrets_sign_side_by_side_and_each_receiver_verifies() -> None:
    private, public = new_key_pair()
    hmac_secret = _secret()
    headers = _headers(hmac_secret, private)
    assert [entry.split(",")[0] for entry in headers["webhook-signature"].split()] == [
        "v1", "v1a"]
    Webhook(hmac_secret).verify(BODY, headers)
    StandardProvider().verify(headers, BODY, [Secret(public)])
