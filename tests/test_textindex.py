"""The trigram index of folded names (merger.textindex, schema 5): on the real register it finds
exactly the versions whose folded name holds a text, follows every write, is made the same way
by a fresh build, an upgrade and an import, and a register without it answers the same."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pg
from merger import exchange, migrations, partial, textindex
from merger.events import Spec
from merger.register import Register

FIXTURE = Path(__file__).parent / "fixtures" / "register-schema-1-hai-phong.sqlite"
TEXTS = ["an lu", "hoa binh", "ung", "nguyen", "thuy nguyen", "xa an", "dong", "u", "an", "hai phong 1",
         "zzz", "", '"', "an\"lu", "a'b", "an or lu", "an*", "near(a b)"]


def _fts(con: sqlite3.Connection, text: str) -> set[int]:
    sql = f"SELECT rowid FROM {textindex.FTS} WHERE {textindex.FTS} MATCH {textindex.phrase(text)}"
    return {r[0] for r in con.execute(sql)}


def _scan(con: sqlite3.Connection, text: str) -> set[int]:
    return {r[0] for r in con.execute("SELECT id FROM version WHERE instr(folded, ?) > 0", (text,))}


def _integrity(con: sqlite3.Connection) -> None:
    """FTS5 compares its index with the content table (version) row by row; raises if they differ."""
    con.execute(f"INSERT INTO {textindex.FTS}({textindex.FTS}, rank) VALUES ('integrity-check', 1)")


def _schema(path: Path) -> set[tuple]:
    """Every table, index and trigger of a SQLite register, with the SQL of the trigram index's own."""
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        return {(t, n, tbl, sql if textindex.outside_model(n) else None) for t, n, tbl, sql in rows}
    finally:
        con.close()


@pytest.fixture(scope="module")
def folded_names(national_sqlite_path: Path) -> list[str]:
    con = sqlite3.connect(national_sqlite_path)
    try:
        return sorted({r[0] for r in con.execute("SELECT folded FROM version WHERE folded IS NOT NULL")})
    finally:
        con.close()


def test_the_national_register_has_the_index_and_it_is_whole(national_sqlite_path: Path) -> None:
    con = sqlite3.connect(national_sqlite_path)
    try:
        assert con.execute(textindex.PRESENT).fetchone() == (1,)
        _integrity(con)
        assert con.execute(f"SELECT COUNT(*) FROM {textindex.FTS}_docsize").fetchone() == \
            con.execute("SELECT COUNT(*) FROM version").fetchone()
        for text in TEXTS:
            if len(text) >= textindex.SHORTEST:
                assert _fts(con, text) == _scan(con, text), text
    finally:
        con.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_trigram_match_is_exactly_a_substring(folded_names: list[str], national_sqlite_path: Path,
                                                data: st.DataObject) -> None:
    """Any piece of a real name (its start, middle or end, across words), or any text at all,
    matches through the index exactly the versions whose folded name holds it."""
    name = data.draw(st.sampled_from(folded_names))
    start = data.draw(st.integers(0, max(0, len(name) - textindex.SHORTEST)))
    end = data.draw(st.integers(min(len(name), start + textindex.SHORTEST), len(name)))
    piece = data.draw(st.one_of(st.just(name[start:end]), st.text(min_size=3, max_size=8)))
    con = sqlite3.connect(national_sqlite_path)
    try:
        if len(piece) >= textindex.SHORTEST and "\x00" not in piece:
            assert _fts(con, piece) == _scan(con, piece), piece
    finally:
        con.close()


def test_the_index_follows_every_write(national_sqlite: Register, tmp_path: Path) -> None:
    path = tmp_path / "copy.sqlite"
    shutil.copy(national_sqlite.sqlite_path, path)  # type: ignore[arg-type]
    reg = Register.open(str(path))
    out = reg.record(Spec("rename", date(2026, 1, 1), units=["Phường Lê Thanh Nghị, Hải Phòng"],
                          to="Phường Thử Nghiệm Chỉ Mục", act="TEST/2026"), by="t")
    reg.record(Spec("merge", date(2026, 1, 1), units=["Phường Thành Đông, Hải Phòng"],
                    into=["Phường Hải Dương, Hải Phòng"], act="TEST/2026"), by="t")
    con = sqlite3.connect(path)
    try:
        _integrity(con)
        assert len(_fts(con, "thu nghiem chi muc")) == 1
    finally:
        con.close()
    assert [v.full_name for v in Register.open(str(path)).search("Thử Nghiệm Chỉ")] == ["Phường Thử Nghiệm Chỉ Mục"]
    reg.revoke(out.events[0], reason="test of the index", by="t")
    con = sqlite3.connect(path)
    try:
        _integrity(con)
        con.execute("DELETE FROM statistic")  # and plain SQL, as a maintainer might run it
        con.execute("UPDATE version SET folded = 'doi ten thu' WHERE id = (SELECT MAX(id) FROM version)")
        con.execute("DELETE FROM link WHERE successor_id = (SELECT MAX(id) FROM version)")
        con.execute("DELETE FROM version WHERE id = (SELECT MIN(id) FROM version WHERE recorded_at IS NULL)")
        _integrity(con)
        assert _fts(con, "doi ten thu") == _scan(con, "doi ten thu") != set()
        con.rollback()
    finally:
        con.close()
    reg.close()


def test_an_export_imported_gets_the_index(national_sqlite: Register, tmp_path: Path) -> None:
    """import-register (exchange.import_register) makes the index over the rows it restores."""
    from merger import store

    exchange.export_register(national_sqlite, tmp_path / "export.json")
    target = tmp_path / "imported.sqlite"
    reg = Register(store.resolve_url(str(target)))
    exchange.import_register(reg, tmp_path / "export.json")
    reg.close()
    con = sqlite3.connect(target)
    try:
        _integrity(con)
        assert _fts(con, "an lu") == _scan(con, "an lu") != set()
    finally:
        con.close()
    assert [v.key for v in Register.open(str(target)).search("An Lư")] == [v.key for v in national_sqlite.search("An Lư")]


def test_without_the_index_a_search_answers_the_same(national_sqlite: Register, tmp_path: Path) -> None:
    """A register whose SQLite could not make the index (no FTS5 trigram) scans instead."""
    path = tmp_path / "without.sqlite"
    shutil.copy(national_sqlite.sqlite_path, path)  # type: ignore[arg-type]
    reg = Register.open(str(path))
    with reg.engine.begin() as conn:
        textindex.drop(conn)
    con = sqlite3.connect(path)
    assert con.execute(textindex.PRESENT).fetchone() == (0,)
    con.close()
    for text in ("An Lư", "ủy Ng", "nguyên", "Lư", "11533", "ờng Hò"):
        without = Register.open(str(path))
        assert [v.key for v in without.search(text, limit=500)] == \
            [v.key for v in national_sqlite.search(text, limit=500)], text
        assert without._snapshot is None  # still read through the indexes there are
    reg.close()


def test_fresh_build_and_upgrade_make_the_same_schema(national_sqlite_path: Path, tmp_path: Path) -> None:
    """The bundled build (store.load_bundle) and the migrations from the first schema make the
    same tables, indexes and triggers; the trigram index's own SQL is identical."""
    from clirunner import CliRunner
    from merger.cli import app

    old = tmp_path / "old.sqlite"
    shutil.copy(FIXTURE, old)
    res = CliRunner().invoke(app, ["--db", str(old), "db", "upgrade"])
    assert res.exit_code == 0, res.stderr
    upgraded, fresh = _schema(old), _schema(national_sqlite_path)
    assert upgraded == fresh
    assert any(n == textindex.FTS for _, n, _, _ in fresh) and {*textindex.TRIGGERS} <= {n for _, n, _, _ in fresh}
    assert {"ix_version_counting", "ix_unit_kind", "ix_event_origin"} <= {n for _, n, _, _ in fresh}
    con = sqlite3.connect(old)
    try:
        _integrity(con)
        assert _fts(con, "hoa binh") == _scan(con, "hoa binh") != set()
    finally:
        con.close()


def test_downgrade_removes_the_index_and_upgrade_restores_it(tmp_path: Path) -> None:
    from alembic import command

    from merger import store

    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURE, path)
    engine = store.make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    with engine.begin() as conn:
        cfg = migrations.config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    names = {n for _, n, _, _ in _schema(path)}
    assert not any(textindex.outside_model(n) for n in names) and "ix_version_counting" not in names
    migrations.upgrade(engine)
    engine.dispose()
    assert {textindex.FTS, *textindex.TRIGGERS} <= {n for _, n, _, _ in _schema(path)}


def test_postgresql_has_the_trigram_indexes(national_pg: Register, pg_url: str) -> None:
    """PostgreSQL: pg_trgm GIN indexes on the folded name and the code, from the fresh build and
    from the migration alike."""
    from sqlalchemy import text

    def indexes(url: str) -> set[str]:
        from merger import store

        engine = store.make_engine(url)
        try:
            with engine.connect() as conn:
                return {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'version' "
                                                        "AND indexdef LIKE '%gin_trgm_ops%'"))}
        finally:
            engine.dispose()

    assert indexes(national_pg.url) == set(textindex.PG_INDEXES)
    url = pg.create_database(pg_url, "trgm")
    try:
        from alembic import command

        from merger import store

        engine = store.make_engine(url)
        with engine.begin() as conn:
            cfg = migrations.config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        engine.dispose()
        assert indexes(url) == set(textindex.PG_INDEXES)
    finally:
        pg.drop_database(url)


def test_counts_choose_either_way_the_same(national: Register) -> None:
    """National counts subtract the few units of other kinds, or count the kind's own where the
    others are many: both give the same tallies (each branch forced here)."""
    days = (date(2025, 6, 30), date(2025, 7, 1), date(2008, 1, 1))
    with national.reading() as q:
        touched = partial.touched(q)
        for kind in ("admin", "agency"):
            subtracted = partial.count_stored(q, days, kind, touched, few_others=10**9)
            counted = partial.count_stored(q, days, kind, touched, few_others=0)
            assert subtracted == counted and any(subtracted), kind


def test_a_postgresql_role_that_may_not_create_pg_trgm_still_upgrades(pg_url: str) -> None:
    """Where CREATE EXTENSION is refused (no CREATE on the database), the index is skipped, the
    transaction goes on (a savepoint), and searches answer by scanning."""
    import uuid

    from sqlalchemy import text

    from merger import store

    url = pg.create_database(pg_url, "noext")
    role = f"noext_{uuid.uuid4().hex[:8]}"
    engine = store.make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP EXTENSION IF EXISTS pg_trgm"))
            conn.execute(text("CREATE TABLE version (id integer PRIMARY KEY, folded varchar, code varchar)"))
            conn.execute(text(f"CREATE ROLE {role}"))
            conn.execute(text(f"GRANT {role} TO CURRENT_USER"))  # to give it the table (not superuser)
            conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}"))  # but not CREATE on the database
            conn.execute(text(f"ALTER TABLE version OWNER TO {role}"))
            conn.execute(text(f"SET LOCAL ROLE {role}"))
            assert textindex.create(conn) is False
            conn.execute(text("INSERT INTO version VALUES (1, 'an lu', '11533')"))  # not aborted
            assert conn.execute(text("SELECT id FROM version WHERE folded LIKE '%an lu%'")).scalar() == 1
            assert conn.execute(text("SELECT COUNT(*) FROM pg_indexes WHERE indexname LIKE '%trgm%'")).scalar() == 0
    finally:
        engine.dispose()
        pg.drop_database(url)
        admin = store.make_engine(pg_url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()
