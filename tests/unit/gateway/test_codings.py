"""Content codings: round trips, refusals, and which coding a client's Accept-Encoding gets."""

from __future__ import annotations

import zlib

import pytest

from crossdock.gateway import codings
from crossdock.gateway.errors import DecodingError

BODY = b'{"data":{"products":[' + b'{"name":"Table"},' * 200 + b"{}]}}"


@pytest.mark.parametrize("coding", codings.CODINGS)
def test_a_compressed_body_decodes_to_itself_and_is_smaller(coding: str) -> None:
    packed = codings.compress(coding, BODY)
    assert len(packed) < len(BODY) / 4
    assert codings.decode(coding, packed) == BODY


def test_raw_deflate_and_stacked_codings_decode() -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    assert codings.decode("deflate", raw.compress(BODY) + raw.flush()) == BODY
    stacked = codings.compress("br", codings.compress("gzip", BODY))
    assert codings.decode("gzip, br", stacked) == BODY


@pytest.mark.parametrize(("coding", "data", "reason"), [
    ("gzip", b"not gzip", "not a valid compressed body"),
    ("br", b"not brotli", "not a valid brotli body"),
    ("gzip", codings.compress("gzip", BODY)[:40], "cut short"),
    ("zstd", b"", "unknown content coding"),
], ids=["gzip", "br", "truncated", "unknown"])
def test_a_body_that_does_not_decode_is_refused(coding: str, data: bytes, reason: str) -> None:
    with pytest.raises(DecodingError, match=reason):
        codings.decode(coding, data)


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_a_body_that_would_decode_past_the_limit_is_refused(
        coding: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codings, "MAX_DECODED", 1000)
    with pytest.raises(DecodingError, match="larger than 1000 bytes"):
        codings.decode(coding, codings.compress(coding, BODY))


@pytest.mark.parametrize(("accept", "expected"), [
    ("gzip, deflate, br", "br"),
    ("gzip", "gzip"),
    ("br;q=0, gzip;q=0.5", "gzip"),
    ("*", "br"),
    ("identity", None),
    ("deflate", None),
    ("gzip;q=0", None),
    ("", None),
])
def test_the_client_gets_brotli_then_gzip_among_what_it_accepts(accept: str,
                                                                expected: str | None) -> None:
    assert codings.negotiate(accept) == expected
