"""CI lints and type-checks before it runs the tests."""

from __future__ import annotations

from pathlib import Path

CI = Path(__file__).resolve().parents[2] / ".ci" / "run"


def test_ci_runs_ruff_and_strict_mypy_before_the_tests() -> None:
    commands = [line.strip() for line in CI.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    ruff = next(i for i, c in enumerate(commands) if c.endswith("ruff check src tests bench"))
    mypy = next(i for i, c in enumerate(commands) if c.endswith("run --frozen mypy"))
    tests = commands.index("scripts/test")
    assert ruff < tests
    assert mypy < tests
    assert not any("set +e" in c or "|| true" in c for c in commands[ruff:mypy + 1])
