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


# --- PostgreSQL (issue 6): a real server for the PostgreSQL half of the suite -------------------

from collections.abc import Iterator  # noqa: E402


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server URL (role may create databases): $MERGER_TEST_PG, or one the project starts.

    Skips, with the reason shown, when PostgreSQL cannot be installed or started here. The
    snapshot caches of the session's PostgreSQL registers go to a session folder, not ~/.cache.
    """
    import os

    import pg

    cache, before = tmp_path_factory.mktemp("pg-cache"), os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    try:
        with pg.server() as url:
            yield url
    except pg.Unavailable as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    finally:
        if before is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="session")
def national_pg(pg_url: str) -> Iterator[Register]:
    """The national register loaded into its own PostgreSQL database (as `merger --db URL init` does)."""
    import pg

    url = pg.create_database(pg_url, "national")
    reg = Register.open(url)
    _ = reg.snapshot
    yield reg
    reg.close()
    pg.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_register(request: pytest.FixtureRequest) -> Register:
    """The national register on each store: tests taking this run once on SQLite, once on PostgreSQL."""
    return request.getfixturevalue("national" if request.param == "sqlite" else "national_pg")
