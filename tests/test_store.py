"""Opening and building registers: first use, failures that change nothing, newer schemas."""

from __future__ import annotations

from datetime import date

import pytest

from merger import store
from merger.errors import DataError, StoreError
from merger.register import Register


def test_first_use_builds_from_the_bundled_data(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sub" / "reg.sqlite"
    monkeypatch.setenv("MERGER_DB", str(path))
    reg = Register.open()
    assert path.exists()
    # 14,149 of July 2025 + 3,636 from the 2003-2025 history + 25 reported after July 2025
    assert sum(v.kind == "admin" for v in reg.snapshot.versions.values()) == 17_810
    assert reg.cache_path().exists()  # the snapshot is cached next to the register


def test_snapshot_cache_follows_the_generation(national: Register) -> None:
    reg = Register(national.url)
    gen = reg.generation()
    assert reg.snapshot.generation == gen
    # The cache holds the generation it is of; a stale one is brought up to date, not trusted as is.
    from merger import cache

    assert cache.read(reg.cache_path())[0] == gen  # type: ignore[index]


def test_failed_build_leaves_nothing(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "nobundle"
    empty.mkdir()
    monkeypatch.setattr("merger.bundle.units_dir", lambda: empty)
    path = tmp_path / "reg.sqlite"
    with pytest.raises(DataError):
        Register.open(str(path))
    assert not path.exists()


def test_broken_bundle_row_rolls_back(new_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import inspect

    from factories import tiny_reform

    folder = tiny_reform().write(tmp_path / "bundle")
    links = (folder / "links.csv").read_text().replace("00001@..2025-06-30", "99999@nowhere", 1)
    (folder / "links.csv").write_text(links)
    engine = store.make_engine(new_db("broken"))
    try:
        with pytest.raises(KeyError):
            store.load_bundle(engine, folder)
        assert inspect(engine).get_table_names() == []  # not even the schema is left behind
    finally:
        engine.dispose()


def test_newer_schema_is_refused(build) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from factories import tiny_reform

    reg = build(tiny_reform())
    with reg.engine.begin() as conn:
        conn.execute(text("UPDATE meta SET value = :v WHERE key = 'schema_version'"),
                     {"v": str(store.SCHEMA_VERSION + 1)})
    reg.close()
    with pytest.raises(StoreError, match="newer than this program"):
        Register.open(reg.url)


def test_redact_hides_passwords() -> None:
    assert "s3cret" not in store.redact("postgresql+psycopg://merger:s3cret@127.0.0.1/merger")


@pytest.mark.parametrize("damage", [b"", b"\x80\x05garbage", b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7f"])
def test_a_damaged_snapshot_cache_is_only_a_miss(national: Register, damage: bytes) -> None:
    """A cache file cut short or overwritten (a crash, a full disk) is rebuilt from the store."""
    from merger import cache

    reg = Register(national.url)
    path = reg.cache_path()
    good = path.read_bytes()
    try:
        path.write_bytes(damage)
        assert cache.read(path) is None
        assert reg.resolve("11533", as_of=date(2025, 7, 1)).version.full_name == "Phường Hòa Bình"
        assert cache.read(path)[0] == reg.generation()  # type: ignore[index]  # written again, whole
        assert not list(path.parent.glob(path.name + ".*.tmp"))  # no temporary file left behind
    finally:
        path.write_bytes(good)
    reg.close()


def test_a_factory_register_copied_by_build_holds_what_a_load_writes(build, new_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The ``build`` fixture copies a bundle's first load (tests/conftest.py ``Loaded``): each copy
    holds what Builder.build, loading the files into a new database, writes (every row and the
    schema; on PostgreSQL each sequence's position too), the build time in meta aside; and a write
    to one copy is not seen by the next."""
    from factories import register_fingerprint, tiny_reform

    def content(reg: Register) -> dict[str, list[str]]:
        found = register_fingerprint(reg)
        found["meta"] = [row for row in found["meta"] if "built_at" not in row]
        if reg.sqlite_path is None:
            with reg.engine.connect() as conn:
                names = conn.exec_driver_sql("SELECT oid::regclass::text FROM pg_class WHERE relkind = 'S'").scalars()
                found["(sequences)"] = sorted(
                    f"{name} {conn.exec_driver_sql(f'SELECT last_value, is_called FROM {name}').one()}"
                    for name in names.all())
        return found

    loaded = tiny_reform().build(tmp_path / "loaded", url=new_db("loaded"))
    try:
        expected = content(loaded)
    finally:
        loaded.close()
    copies = [build(tiny_reform(), f"copy-{n}") for n in range(3)]  # a load, then copies on either store
    assert content(copies[0]) == expected
    from merger.recording import Spec

    assert copies[1].record(Spec("rename", date(2026, 1, 1), units=["Xã An Bình"], to="Xã An Bình Mới"), by="t").written
    assert content(copies[1]) != expected
    assert content(copies[2]) == expected


def test_a_kept_snapshot_is_the_one_the_cache_file_gives(national_copy: Register, assembled) -> None:  # type: ignore[no-untyped-def]
    """tests/conftest.py ``Assembled``: a second Register reading the same current cache file is
    handed the snapshot kept from the first read, equal to the one decoded and assembled from the
    file again; a cache file changed in place (same generation, other bytes), a stale one after a
    write, and another ``as_recorded`` are read as Register.snapshot reads them, not kept ones."""
    from datetime import UTC, datetime

    from merger import cache, graph
    from merger.recording import Spec

    def fresh(reg: Register) -> graph.Snapshot:
        gen, columns = cache.read_columns(reg.cache_path())  # type: ignore[misc]
        assert gen == reg.generation()
        return graph.from_columns(gen, columns, reg.as_recorded)

    def same(a: graph.Snapshot, b: graph.Snapshot) -> bool:
        return (a.generation, a.versions, a.events, a.links, a.stats) == (b.generation, b.versions, b.events, b.links, b.stats)

    first = Register(national_copy.url).snapshot
    hits = assembled.hits
    second = Register(national_copy.url).snapshot
    assert second is first and assembled.hits == hits + 1
    assert same(second, fresh(national_copy))
    recorded = Register(national_copy.url, as_recorded=datetime(2025, 7, 1, tzinfo=UTC)).snapshot
    assert recorded is not first and assembled.hits == hits + 1

    path = national_copy.cache_path()
    data = path.read_bytes()
    at = data.index("Hải Phòng".encode())
    path.write_bytes(data[:at] + "Hải Phong".encode() + data[at + len("Hải Phòng".encode()):])  # same length
    changed = Register(national_copy.url).snapshot
    assert changed is not first and assembled.hits == hits + 1
    assert any(v.name == "Hải Phong" for v in changed.versions.values())  # read from the file as it is now

    national_copy.record(Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm",
                              act="TEST/2026"), by="t")
    after = Register(national_copy.url).snapshot
    assert after is not changed and assembled.hits == hits + 1
    assert any(v.name == "Thử Nghiệm" for v in after.versions.values())
