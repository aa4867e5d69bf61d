from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from crossdock.core.database import Database
from crossdock.core.runtime import Runtime
from crossdock.core.settings import CoreSettings
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.service import service
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


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    """A runtime with the GitSlice service, its cache under ``tmp_path / "data"``."""
    monkeypatch.setenv("CROSSDOCK_GITSLICE_DATA_DIR", str(tmp_path / "data"))
    runtime = Runtime.create(CoreSettings(data_dir=tmp_path), database_url, services=[service])
    await runtime.open()
    yield runtime
    await runtime.close()


async def jobs(runtime: Runtime) -> list[dict[str, Any]]:
    """Every job of the queue, oldest first."""
    async with runtime.database.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, task_name, status, lock, args, scheduled_at, attempts"
            " FROM procrastinate_jobs ORDER BY id")
        return await cursor.fetchall()


async def drain(runtime: Runtime, *, concurrency: int = 2) -> list[dict[str, Any]]:
    """Run the worker until no job waits or runs; every job, oldest first."""
    rows: list[dict[str, Any]] = []
    for _ in range(30):
        await asyncio.wait_for(runtime.jobs.run_worker(wait=False, concurrency=concurrency),
                               timeout=60)
        rows = await jobs(runtime)
        if not {row["status"] for row in rows} & {"todo", "doing"}:
            return rows
    raise AssertionError(f"jobs still waiting: {rows}")
