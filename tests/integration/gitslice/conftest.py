from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from crossdock.core.database import Database
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.store import SliceStore
from crossdock.gitslice.syncer import Syncer

from .gitrepos import WorkRepo, bare


@dataclasses.dataclass
class World:
    tmp: Path
    upstream: Path
    slice: Path
    work: WorkRepo
    dev: WorkRepo

    def config(self, **changes: object) -> SliceConfig:
        values: dict[str, object] = {
            "name": "demo", "upstream_url": str(self.upstream), "upstream_branch": "main",
            "slice_url": str(self.slice), "slice_branch": "main",
        }
        values.update(changes)
        return SliceConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def world(tmp_path: Path) -> World:
    upstream = bare(tmp_path / "upstream.git")
    slice_repo = bare(tmp_path / "slice.git")
    return World(
        tmp=tmp_path, upstream=upstream, slice=slice_repo,
        work=WorkRepo(tmp_path / "work", upstream),
        dev=WorkRepo(tmp_path / "dev", slice_repo),
    )


@pytest.fixture
def syncer(database: Database, tmp_path: Path) -> Syncer:
    return Syncer(SliceStore(database), data_dir=tmp_path / "data")
