"""Long-running processes of the acceptance tests: a ``crossdock`` server or worker whose JSON
log lines are collected as they come, and the in-package forge run from its CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.conftest import CROSSDOCK

FORGE = [sys.executable, "-m", "crossdock.gitslice.forge.fake"]


class Process:
    """A ``crossdock`` subprocess whose JSON log lines are collected as they come."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CROSSDOCK_", "DATABASE_URL"))}
        full_env.update({"CROSSDOCK_LOG_FORMAT": "json", **env})
        self.popen = subprocess.Popen([*CROSSDOCK, *args], cwd=cwd, env=full_env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True)
        self.lines: list[dict[str, Any]] = []
        self.text: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.text.append(line)
            try:
                self.lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue

    def wait_for(self, found: Callable[[dict[str, Any]], bool],
                 timeout: float = 60) -> dict[str, Any]:
        """The first log line ``found`` accepts, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found(line):
                    return line
            if self.popen.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        pytest.fail("no such log line; stderr:\n" + "".join(self.text))

    def stop(self) -> int:
        """SIGTERM, then the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            raise
        self.close()
        return code

    def close(self) -> None:
        """Kill the process if it still runs; close its pipe."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        self._reader.join(timeout=5)
        assert self.popen.stderr is not None
        self.popen.stderr.close()


def forge_env(**extra: str) -> dict[str, str]:
    """The environment of a forge command: no crossdock settings, git never prompts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")}
    return {**env, "COLUMNS": "200", "GIT_TERMINAL_PROMPT": "0", **extra}


@dataclass
class Forge:
    """A forge serving in a subprocess: its address, admin token, and its CLI aimed at it."""

    process: subprocess.Popen[str]
    url: str
    admin: str

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*FORGE, *args], env=forge_env(CROSSDOCK_FORGE_URL=self.url),
                              capture_output=True, text=True, timeout=60, check=False)

    def ok(self, *args: str) -> dict[str, Any]:
        """Run a command that must succeed; the JSON line it printed last."""
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        parsed: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
        return parsed

    def lines(self, *args: str) -> list[dict[str, Any]]:
        """Run a command that must succeed; the JSON lines it printed."""
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()
        if self.process.stderr is not None:
            self.process.stderr.close()


def start_forge(data: Path, *users: str) -> Forge:
    """``serve --port 0`` with these ``LOGIN:TOKEN`` users, once it has printed where it is."""
    user_args = [arg for user in users for arg in ("--user", user)]
    process = subprocess.Popen([*FORGE, "serve", "--port", "0", "--data", str(data), *user_args],
                               env=forge_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    printed: dict[str, str] = {}
    for _ in range(4 + len(users)):  # four addresses and tokens, then one line per user
        line = process.stdout.readline()
        if not line:
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"the forge stopped before it printed its address:\n{err}")
        key, _, value = line.partition(":")
        printed[key.strip()] = value.strip()
    return Forge(process, printed["forge"], printed["admin token"])
