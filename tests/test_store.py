"""Opening and building registers: first use, failures that change nothing, newer schemas."""

from __future__ import annotations

import sqlite3

import pytest

from merger import store
from merger.errors import DataError, StoreError
from merger.register import Register


def test_first_use_builds_from_the_bundled_data(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sub" / "reg.sqlite"
    monkeypatch.setenv("MERGER_DB", str(path))
    reg = Register.open()
    assert path.exists()
    assert sum(v.kind == "admin" for v in reg.snapshot.versions.values()) == 14_149
    assert reg.cache_path().exists()  # the snapshot is cached next to the register


def test_snapshot_cache_follows_the_generation(national_path) -> None:  # type: ignore[no-untyped-def]
    reg = Register(f"sqlite:///{national_path}")
    gen = reg.generation()
    assert reg.snapshot.generation == gen
    # A stale cache (other generation) is not used.
    from merger import graph

    assert graph.read_cache(reg.cache_path(), gen + "x") is None


def test_failed_build_leaves_nothing(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "nobundle"
    empty.mkdir()
    monkeypatch.setattr("merger.bundle.units_dir", lambda: empty)
    path = tmp_path / "reg.sqlite"
    with pytest.raises(DataError):
        Register.open(str(path))
    assert not path.exists()


def test_broken_bundle_row_rolls_back(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from factories import tiny_reform

    folder = tiny_reform().write(tmp_path / "bundle")
    links = (folder / "links.csv").read_text().replace("00001@..2025-06-30", "99999@nowhere", 1)
    (folder / "links.csv").write_text(links)
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    engine = store.make_engine(url)
    with pytest.raises(KeyError):
        store.load_bundle(engine, folder)
    con = sqlite3.connect(tmp_path / "r.sqlite")
    assert con.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall() == []


def test_newer_schema_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from factories import tiny_reform

    reg = tiny_reform().build(tmp_path)
    con = sqlite3.connect(reg.sqlite_path)
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(store.SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer than this program"):
        Register.open(str(reg.sqlite_path))


def test_redact_hides_passwords() -> None:
    assert "s3cret" not in store.redact("postgresql+psycopg://merger:s3cret@127.0.0.1/merger")
