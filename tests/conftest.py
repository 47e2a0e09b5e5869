"""Shared fixtures: the national register (built once per test session) and small factories."""

from __future__ import annotations

from pathlib import Path

import pytest

from merger.register import Register

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT.parent / "shared" / "data" / "sources"


@pytest.fixture(scope="session")
def national_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite register built from the bundled data/units/, as a user's first run builds it."""
    path = tmp_path_factory.mktemp("national") / "register.sqlite"
    Register.open(str(path)).close()
    return path


@pytest.fixture(scope="session")
def national(national_path: Path) -> Register:
    reg = Register.open(str(national_path))
    _ = reg.snapshot
    return reg


@pytest.fixture
def sources() -> Path:
    if not (SOURCES / "MANIFEST.md").exists():
        pytest.skip(f"raw sources not present at {SOURCES}")
    return SOURCES
