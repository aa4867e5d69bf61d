"""Packs written without git index-pack: the index is the one git would write, byte for byte,
and trees spliced in place read back as the trees a full re-format gives."""

from __future__ import annotations

import random
import subprocess
import zlib
from pathlib import Path

import pygit2

from crossdock.gitslice.objects import BLOB, TREE, PendingObjects, format_tree, parse_tree
from crossdock.gitslice.packs import stored_zlib, write_pack


def _bare(path: Path) -> pygit2.Repository:
    subprocess.run(["git", "init", "--quiet", "--bare", str(path)], check=True)
    return pygit2.Repository(str(path))


def test_the_written_index_equals_git_index_pack_output(tmp_path: Path) -> None:
    repo = _bare(tmp_path / "repo.git")
    objects = PendingObjects(repo)
    rng = random.Random(3)
    for _ in range(300):  # enough for every fanout byte to matter, past the loose limit
        objects.write(BLOB, rng.randbytes(rng.randint(0, 2000)))
    entries = {f"e{i}".encode(): (0o100644, oid) for i, oid in enumerate(objects.pending)}
    base = objects.write_tree(entries)
    objects.write_tree({**entries, b"e7": (0o100755, entries[b"e7"][1])}, base=base)
    written = dict(objects.pending)
    objects.flush()
    packs = sorted((tmp_path / "repo.git" / "objects" / "pack").glob("pack-*.pack"))
    assert len(packs) == 1
    ours = packs[0].with_suffix(".idx").read_bytes()
    subprocess.run(["git", "index-pack", "-o", str(tmp_path / "git.idx"), str(packs[0])],
                   check=True, capture_output=True)
    assert ours == (tmp_path / "git.idx").read_bytes()
    for oid, (kind, data) in written.items():
        assert repo.odb.read(pygit2.Oid(raw=oid)) == (kind, data)
    assert subprocess.run(["git", "--git-dir", str(tmp_path / "repo.git"), "fsck", "--strict"],
                          capture_output=True, check=False).returncode == 0


def test_pack_names_follow_the_pack_checksum_and_rewrites_are_harmless(tmp_path: Path) -> None:
    git_dir = tmp_path / "repo.git"
    repo = _bare(git_dir)
    entry = (pygit2.hash(b"x").raw, b"\x31" + zlib.compress(b"x"))
    first = write_pack(git_dir, [entry])
    assert write_pack(git_dir, [entry]) == first
    assert bytes(repo.odb.read(pygit2.hash(b"x"))[1]) == b"x"


def test_spliced_trees_equal_re_formatted_ones(tmp_path: Path) -> None:
    objects = PendingObjects(_bare(tmp_path / "repo.git"))
    rng = random.Random(5)
    entries = {f"n{i:03d}".encode(): (rng.choice([0o100644, 0o040000]), rng.randbytes(20))
               for i in range(50)}
    tree = objects.write_tree(entries)
    for step in range(200):
        name = rng.choice(sorted(entries))
        change = rng.choice([
            None,  # removed
            (entries[name][0], rng.randbytes(20)),  # new id: spliced
            (0o100755 if entries[name][0] == 0o100644 else 0o100644, rng.randbytes(20)),
            (0o040000, rng.randbytes(20)),  # may move in git's order: re-formatted
        ])
        edited = objects.edit_tree(tree, {name: change, b"absent": None})
        if change is None:
            entries.pop(name)
        else:
            entries[name] = change
        expected = format_tree(entries)
        assert edited is not None
        assert objects.read(edited) == (TREE, expected)
        assert parse_tree(objects.read(edited)[1]) == parse_tree(expected)
        tree = edited
        if len(entries) < 10:  # added: re-formatted
            added = b"fresh%03d" % step
            entries[added] = (0o100644, rng.randbytes(20))
            refilled = objects.edit_tree(tree, {added: entries[added]})
            assert refilled is not None
            assert objects.read(refilled) == (TREE, format_tree(entries))
            tree = refilled
    objects.flush()
    assert objects.edit_tree(tree, dict.fromkeys(entries)) is None


def test_stored_zlib_streams_inflate_to_their_data_at_every_block_boundary() -> None:
    for size in (0, 1, 40, 0xFFFF - 1, 0xFFFF, 0xFFFF + 1, 3 * 0xFFFF + 7):
        data = random.Random(size).randbytes(size)
        assert zlib.decompress(stored_zlib(data)) == data
