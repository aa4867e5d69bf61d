"""HTTP content codings the gateway speaks: ``gzip``, ``br`` and ``deflate``, both ways.

Subgraph requests are compressed with the coding ``traffic_shaping`` names and their answers
decoded (:mod:`.plugins.compression`); clients' responses are compressed with the coding they
prefer (:mod:`.response_compression`). gzip and deflate come from ``zlib``, brotli from the
``brotli`` binding. Decoding stops at :data:`MAX_DECODED` bytes, so a small answer cannot
expand into gigabytes in the gateway's memory.
"""

from __future__ import annotations

import zlib

import brotli

from crossdock.gateway.errors import DecodingError

CODINGS = ("gzip", "br", "deflate")
#: The ``Accept-Encoding`` the gateway sends a subgraph whose traffic it compresses.
ACCEPT = "gzip, br, deflate"
#: What a body may grow to once decoded.
MAX_DECODED = 64 * 1024 * 1024
#: zlib's window bits for a gzip stream, a zlib stream and a raw deflate stream.
_GZIP, _ZLIB, _RAW = 16 + zlib.MAX_WBITS, zlib.MAX_WBITS, -zlib.MAX_WBITS
#: Quick levels: a gateway compresses every response, so a few percent of size is not worth
#: several times the CPU (brotli's default, 11, is meant for static files).
_GZIP_LEVEL = 5
_BROTLI_QUALITY = 4


def compress(coding: str, data: bytes) -> bytes:
    """``data`` in ``coding`` (one of :data:`CODINGS`)."""
    if coding == "br":
        return brotli.compress(data, quality=_BROTLI_QUALITY)  # type: ignore[no-any-return]
    wbits = _GZIP if coding == "gzip" else _ZLIB
    encoder = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, wbits)
    return encoder.compress(data) + encoder.flush()


def decode(content_encoding: str, data: bytes) -> bytes:
    """``data`` decoded from the codings of a ``Content-Encoding`` value (applied in the
    order listed, so undone last first); raises DecodingError."""
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",")]):
        if coding in {"", "identity"}:
            continue
        if coding == "br":
            data = _brotli(data)
        elif coding in {"gzip", "x-gzip"}:
            data = _zlib(data, _GZIP)
        elif coding == "deflate":
            try:
                data = _zlib(data, _ZLIB)
            except DecodingError:
                data = _zlib(data, _RAW)  # some servers send deflate without its zlib header
        else:
            raise DecodingError(f"unknown content coding {coding!r}")
    return data


def negotiate(accept_encoding: str) -> str | None:
    """The coding to answer in for a client's ``Accept-Encoding`` (None: send it as it is).

    brotli first, then gzip, among those the client accepts with a weight above 0.
    """
    weights: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.partition(";")
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
        weights[coding.strip()] = weight
    for coding in ("br", "gzip"):
        if weights.get(coding, weights.get("*", 0.0)) > 0:
            return coding
    return None


def _zlib(data: bytes, wbits: int) -> bytes:
    decoder = zlib.decompressobj(wbits)
    try:
        out = decoder.decompress(data, MAX_DECODED)
    except zlib.error as exc:
        raise DecodingError(f"not a valid compressed body: {exc}") from exc
    if decoder.unconsumed_tail:
        raise DecodingError(f"larger than {MAX_DECODED} bytes once decoded")
    if not decoder.eof:
        raise DecodingError("the compressed body is cut short")
    return out


def _brotli(data: bytes) -> bytes:
    decoder = brotli.Decompressor()
    try:
        out: bytes = decoder.process(data, output_buffer_limit=MAX_DECODED)
    except brotli.error as exc:
        raise DecodingError(f"not a valid brotli body: {exc}") from exc
    finished = decoder.is_finished()
    # The limit stops the output buffer growing, in steps: it may pass the limit a little.
    if len(out) > MAX_DECODED or (not finished and len(out) == MAX_DECODED):
        raise DecodingError(f"larger than {MAX_DECODED} bytes once decoded")
    if not finished:
        raise DecodingError("the compressed body is cut short")
    return out
