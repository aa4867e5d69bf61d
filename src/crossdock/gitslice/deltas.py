"""Git's delta format, for trees that differ from their base in a few adjacent entries.

A tree edited by a pull is its base with one entry replaced (or a few inserted or removed
together), so copying the common head and tail and inserting the middle gives a delta of a
few dozen bytes, with no search. Packs written this way are an order of magnitude smaller,
and ``git push`` sends the deltas as they are instead of searching for its own.
"""

from __future__ import annotations


def pack_header(kind: int, size: int) -> bytes:
    """A pack entry's header: its type and inflated size."""
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    header = bytearray()
    while size:
        header.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    header.append(byte)
    return bytes(header)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:  # noqa: PLR2004 - seven bits a byte
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _common_head(a: bytes, b: bytes, size: int) -> int:
    """How many of the first ``size`` bytes ``a`` and ``b`` share."""
    low, high = 0, size
    while low < high:  # binary search: each slice comparison is one memcmp in C
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _common_tail(a: bytes, b: bytes, size: int) -> int:
    """How many of the last ``size`` bytes ``a`` and ``b`` share."""
    low, high = 0, size
    while low < high:
        mid = (low + high + 1) // 2
        if a[len(a) - mid:] == b[len(b) - mid:]:
            low = mid
        else:
            high = mid - 1
    return low


def _copy(offset: int, size: int) -> bytes:
    out = bytearray()
    while size:
        chunk = min(size, 0xFFFF)
        op, args = 0x80, bytearray()
        for i in range(4):
            if (offset >> (8 * i)) & 0xFF:
                op |= 1 << i
                args.append((offset >> (8 * i)) & 0xFF)
        for i in range(2):
            if (chunk >> (8 * i)) & 0xFF:
                op |= 0x10 << i
                args.append((chunk >> (8 * i)) & 0xFF)
        out.append(op)
        out += args
        offset += chunk
        size -= chunk
    return bytes(out)


def _insert(data: bytes) -> bytes:
    out = bytearray()
    for start in range(0, len(data), 0x7F):
        piece = data[start:start + 0x7F]
        out.append(len(piece))
        out += piece
    return bytes(out)


def make_delta(source: bytes, target: bytes) -> bytes:
    """A git delta turning ``source`` into ``target``: copy their common head and tail, insert
    the middle (an edited tree differs from its base in a few adjacent entries)."""
    head = _common_head(source, target, min(len(source), len(target)))
    tail = _common_tail(source, target, min(len(source), len(target)) - head)
    return b"".join([
        _varint(len(source)), _varint(len(target)), _copy(0, head),
        _insert(target[head:len(target) - tail]), _copy(len(source) - tail, tail),
    ])


def splice_delta(source_size: int, target_size: int,
                 replaced: list[tuple[int, int, bytes]]) -> bytes:
    """The delta of a splice: the source with each ``(start, end)`` range, in order and apart,
    replaced by its bytes. No search: the caller knows what it changed."""
    out = [_varint(source_size), _varint(target_size)]
    at = 0
    for start, end, data in replaced:
        out += [_copy(at, start - at), _insert(data)]
        at = end
    out.append(_copy(at, source_size - at))
    return b"".join(out)
