"""Trees stored as deltas against the tree they were edited from read back byte for byte."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pygit2

from crossdock.gitslice.deltas import make_delta
from crossdock.gitslice.objects import BLOB, TREE, PendingObjects, parse_tree


def _edited(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(0, 3)):
        at = rng.randint(0, len(out))
        out[at:at + rng.randint(0, 300)] = rng.randbytes(rng.randint(0, 400))
    return bytes(out)


def test_deltas_of_edited_objects_inflate_to_the_edited_bytes_in_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "--quiet", "--bare", str(tmp_path)], check=True)
    repo = pygit2.Repository(str(tmp_path))
    objects = PendingObjects(repo)
    rng = random.Random(7)
    written = []
    for _ in range(120):
        # Sizes past 64 KiB need several copy instructions; 0 bytes is a corner of its own.
        source = rng.randbytes(rng.choice([0, 5, 300, 70_000, 140_000]))
        target = _edited(rng, source)
        base = objects.write(BLOB, source)
        fresh = len(objects.pending)
        written.append((objects.write(BLOB, target), target))
        objects._delta_base(written[-1][0], base, fresh)
    objects.flush()
    for oid, data in written:
        assert bytes(repo.odb.read(pygit2.Oid(raw=oid))[1]) == data
    assert subprocess.run(["git", "--git-dir", str(tmp_path), "fsck", "--strict"],
                          capture_output=True, check=False).returncode == 0


def test_a_tree_edited_in_one_entry_becomes_a_delta_of_a_few_bytes(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "--quiet", "--bare", str(tmp_path)], check=True)
    objects = PendingObjects(pygit2.Repository(str(tmp_path)))
    entries = {f"f{i:03d}".encode(): (0o100644, bytes([i]) * 20) for i in range(200)}
    base = objects.write_tree(entries)
    edited = {**entries, b"f100": (0o100644, b"\xff" * 20)}
    oid = objects.write_tree(edited, base=base)
    source, target = objects.read(base)[1], objects.read(oid)[1]
    assert parse_tree(target) == edited
    assert objects.read(oid)[0] == TREE
    assert len(make_delta(source, target)) < 40 < len(target) // 100
