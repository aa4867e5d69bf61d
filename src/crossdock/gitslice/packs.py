"""A pack and its index, written straight into a repository's ``objects/pack``.

``git index-pack`` would inflate every object again, resolve every delta and hash the results,
all to learn object ids the writer computed a moment before: at 20,000 commits it cost more
CPU than the slicing it followed. The writer knows each entry's id, offset and bytes, which is
all a version 2 index holds (with a CRC-32 per entry), so the index is written here. Both files
are written under temporary names, synced, then renamed, the index last: git and libgit2 only
see a pack once its index exists, so a crash leaves nothing half-written in sight.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path

_IDX_MAGIC = b"\377tOc" + struct.pack(">I", 2)
#: Offsets past 31 bits go to the 8-byte table, flagged by the top bit.
_LARGE = 1 << 31
#: The most a stored deflate block holds.
_STORED_BLOCK = 0xFFFF


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``path`` so that it appears complete or not at all."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix="tmp_")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o444)  # noqa: PTH101 - git keeps packs read-only
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def stored_zlib(data: bytes) -> bytes:
    """``data`` as a zlib stream of stored (uncompressed) blocks.

    A pack wants every entry as a zlib stream. For the few dozen bytes of a tree delta, mostly
    a 20-byte object id, deflate saves nothing, yet ``zlib.compress`` sets up its whole state
    per call: 9 µs against 0.5 µs for this, over some 55,000 deltas in a 20,000-commit pull.
    """
    size = len(data)
    blocks = [b"\x78\x01"]  # deflate, 32 KiB window, fastest: a valid header and check
    for start in range(0, max(size, 1), _STORED_BLOCK):
        piece = data[start:start + _STORED_BLOCK]
        last = start + _STORED_BLOCK >= size
        blocks.append(struct.pack("<BHH", last, len(piece), len(piece) ^ 0xFFFF) + piece)
    blocks.append(struct.pack(">I", zlib.adler32(data)))
    return b"".join(blocks)


def pack_index(entries: list[tuple[bytes, int, int]], checksum: bytes) -> bytes:
    """A version 2 ``.idx`` for a pack with ``checksum`` and ``(id, offset, crc32)`` entries."""
    entries = sorted(entries)
    fanout = [0] * 256
    for oid, _, _ in entries:
        fanout[oid[0]] += 1
    total = 0
    for byte in range(256):
        total += fanout[byte]
        fanout[byte] = total
    small: list[int] = []
    large: list[int] = []
    for _, offset, _ in entries:
        if offset < _LARGE:
            small.append(offset)
        else:
            small.append(_LARGE | len(large))
            large.append(offset)
    count = len(entries)
    body = b"".join([
        _IDX_MAGIC,
        struct.pack(f">{256}I", *fanout),
        b"".join(oid for oid, _, _ in entries),
        struct.pack(f">{count}I", *(crc for _, _, crc in entries)),
        struct.pack(f">{count}I", *small),
        struct.pack(f">{len(large)}Q", *large),
        checksum,
    ])
    return body + hashlib.sha1(body).digest()  # noqa: S324 - the index format's checksum


def write_pack(git_dir: Path, entries: Iterable[tuple[bytes, bytes]]) -> str:
    """Store a pack of ``(object id, packed entry)`` pairs in ``git_dir``; returns its name.

    Each entry is one object as a pack holds it: the type-and-size header, then for a delta the
    base's id, then the zlib stream.
    """
    parts: list[bytes] = []
    index: list[tuple[bytes, int, int]] = []
    offset = 12
    for oid, entry in entries:
        parts.append(entry)
        index.append((oid, offset, zlib.crc32(entry)))
        offset += len(entry)
    body = b"".join([b"PACK", struct.pack(">II", 2, len(parts)), *parts])
    checksum = hashlib.sha1(body).digest()  # noqa: S324 - the pack format's checksum
    name = f"pack-{checksum.hex()}"
    folder = git_dir / "objects" / "pack"
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / f"{name}.pack", body + checksum)
    _atomic_write(folder / f"{name}.idx", pack_index(index, checksum))
    return name
