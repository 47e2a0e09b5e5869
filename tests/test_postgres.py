"""PostgreSQL as a first-class store: the national register gives the same answers as on SQLite.

Runs against a real server (tests/pg.py starts one with scripts/postgres-test-server, or uses
$MERGER_TEST_PG); skipped with the reason where PostgreSQL cannot be had.
"""

from __future__ import annotations

import json
import logging

import pytest

import pg
from clirunner import CliRunner
from merger import store
from merger.cli import app
from merger.errors import StoreError
from merger.register import Register

UNITS = ["An Lư", "Phường Hòa Bình, Hải Phòng", "Bạch Long Vĩ", "Tỉnh Hải Dương", "Xã Hòa Bình, Vĩnh Bảo"]


def _cli(db: str, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--db", db, *args])


@pytest.mark.parametrize("within", [None, "Hải Phòng"])
def test_counts_identical_to_sqlite(national_sqlite: Register, national_pg: Register, within: str | None) -> None:
    assert national_pg.counts(within=within) == national_sqlite.counts(within=within)
    args = ["counts", "--json"] + (["--within", within] if within else [])
    on_pg = _cli(national_pg.url, *args)
    on_sqlite = _cli(str(national_sqlite.sqlite_path), *args)
    assert on_pg.exit_code == 0, on_pg.stderr
    assert on_pg.stdout == on_sqlite.stdout
    rows = {(r["level"], r["type"]): (r["before"], r["after"]) for r in json.loads(on_pg.stdout)["rows"]}
    assert rows[("commune", None)] == ((374, 114) if within else (10_035, 3_321))


@pytest.mark.parametrize("query", UNITS)
def test_lineage_json_identical_to_sqlite(national_sqlite: Register, national_pg: Register, query: str) -> None:
    on_pg = _cli(national_pg.url, "lineage", query, "--json")
    on_sqlite = _cli(str(national_sqlite.sqlite_path), "lineage", query, "--json")
    assert on_pg.exit_code == on_sqlite.exit_code
    assert on_pg.stdout == on_sqlite.stdout
    assert on_pg.stderr == on_sqlite.stderr


def test_snapshot_read_from_postgresql_equals_sqlite(national_sqlite: Register, national_pg: Register, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Loaded straight from the database (no snapshot cache): every version, event and link alike."""
    from merger import graph

    with national_pg.engine.connect() as conn:
        on_pg = graph.load(conn, "x")
    with national_sqlite.engine.connect() as conn:
        on_sqlite = graph.load(conn, "x")
    assert {v.key: (v.full_name, v.type, v.level, v.valid_from, v.valid_to, v.parent_unit_id)
            for v in on_pg.versions.values()} == \
           {v.key: (v.full_name, v.type, v.level, v.valid_from, v.valid_to, v.parent_unit_id)
            for v in on_sqlite.versions.values()}
    assert len(on_pg.links) == len(on_sqlite.links)
    # recorded times: naive UTC from both stores (the register's convention), the same values
    assert sorted((e.key, e.type, e.effective, e.recorded_at, e.recorded_by) for e in on_pg.events.values()) == \
           sorted((e.key, e.type, e.effective, e.recorded_at, e.recorded_by) for e in on_sqlite.events.values())
    assert all(e.recorded_at.tzinfo is None for e in on_pg.events.values())
    assert sorted((link.event.key, link.pred and link.pred.key, link.succ and link.succ.key, link.relation,
                   link.share) for link in on_pg.links) == \
           sorted((link.event.key, link.pred and link.pred.key, link.succ and link.succ.key, link.relation,
                   link.share) for link in on_sqlite.links)
    assert on_pg.stats == on_sqlite.stats


def test_postgresql_sessions_are_in_utc(national_pg: Register) -> None:
    from sqlalchemy import text

    with national_pg.engine.connect() as conn:
        assert conn.execute(text("SHOW TimeZone")).scalar() == "UTC"


def test_check_clean_on_both_stores(national: Register) -> None:
    assert national.check() == []
    assert national.resolve("An Lư", as_of=__import__("datetime").date(2025, 6, 1)).version.key == \
        "11533@..2025-06-30"


def test_init_through_the_cli_and_env_var(pg_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = pg.create_database(pg_url, "init")
    try:
        res = _cli(url, "init")
        assert res.exit_code == 0, res.stderr
        assert "Register ready at postgresql+psycopg://merger:***@" in " ".join(res.stdout.split())
        assert pg.password_of(url) not in res.output
        monkeypatch.setenv("MERGER_DB", url)
        res = CliRunner().invoke(app, ["counts", "--within", "Hải Phòng", "--csv"])
        assert res.exit_code == 0, res.stderr
        assert "commune,,374,114,-260" in res.stdout
        engine = store.make_engine(url)
        with engine.connect() as conn:
            assert store.meta(conn)["schema_version"] == str(store.SCHEMA_VERSION)
            # planner statistics gathered by init itself (without them the neighbourhood reads
            # were planned blind, ~9x slower, until autovacuum came by)
            from sqlalchemy import text

            analysed = conn.execute(text(
                "SELECT count(DISTINCT tablename) FROM pg_stats WHERE schemaname = current_schema() "
                "AND tablename IN ('version', 'link', 'event', 'unit')")).scalar()
            assert analysed == 4
        engine.dispose()
    finally:
        pg.drop_database(url)


def test_a_second_build_into_a_full_database_is_refused(national_pg: Register) -> None:
    with pytest.raises(StoreError, match="already holds data"):
        store.load_bundle(national_pg.engine)


def _bad_urls(pg_url: str) -> list[str]:
    from sqlalchemy.engine import make_url

    u = make_url(pg_url)
    return [
        pg.with_password(pg_url, "Wr0ngPassw0rdXyz"),  # wrong password
        u.set(port=1, password="Unr3achableSecret").render_as_string(hide_password=False),  # nothing listens
        u.set(database="no_such_db_here", password="NoDbSecret42").render_as_string(hide_password=False),
    ]


@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("command", [["counts"], ["init"], ["lineage", "An Lư", "--json"], ["check"]])
def test_credentials_never_shown(pg_url: str, which: int, command: list[str], caplog) -> None:  # type: ignore[no-untyped-def]
    bad = _bad_urls(pg_url)[which]
    secret = pg.password_of(bad)
    caplog.set_level(logging.DEBUG)
    res = _cli(bad, *command)
    assert res.exit_code == 1
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert "***@" in lines[0]
    assert secret not in res.output and secret not in caplog.text


def test_credentials_of_a_good_url_never_shown(national_pg: Register, caplog) -> None:  # type: ignore[no-untyped-def]
    secret = pg.password_of(national_pg.url)
    caplog.set_level(logging.DEBUG)
    for args in (["counts"], ["check"], ["lineage", "Nowhere At All"], ["show", "Hải Phòng", "--json"]):
        res = _cli(national_pg.url, *args)
        assert secret not in res.output, args
    assert secret not in caplog.text
    assert secret not in store.redact(national_pg.url)


def _export_without_build_time(reg: Register, path) -> dict:  # type: ignore[no-untyped-def]
    from merger import exchange

    exchange.export_register(reg, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    # when it was built and the mark of its last write: this register's, not its records
    data["tables"]["meta"]["rows"] = [r for r in data["tables"]["meta"]["rows"] if r[0] not in ("built_at", "last_write")]
    return data


def test_same_records_give_the_same_export_on_both_stores(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The JSON export (the backup format) is store-independent: record the same decisions on a
    SQLite and a PostgreSQL register and the exports agree; a PostgreSQL export restores into SQLite."""
    from datetime import UTC, date, datetime

    from merger.events import Spec

    url = pg.create_database(pg_url, "same")
    try:
        on_pg = pg.hai_phong_register(tmp_path / "pg", url)
        on_sqlite = pg.hai_phong_register(tmp_path / "sqlite")
        for reg in (on_pg, on_sqlite):
            at = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
            key = reg.record(Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"],
                                  to="Phường Thử Nghiệm", act="99/TEST", clause="1"), by="staff", at=at).events[0]
            reg.record(Spec("merge", date(2026, 1, 1), units=["Phường Lê Thanh Nghị"], into=["Phường Hải Dương"],
                            act="99/TEST", clause="2"), by="staff", at=at)
            reg.amend(key, {"to": "Phường Thử Nghiệm Mới"}, reason="typo", by="staff", at=at)
        a = _export_without_build_time(on_pg, tmp_path / "pg.json")
        b = _export_without_build_time(on_sqlite, tmp_path / "sqlite.json")
        assert a == b
        for args in (["log", "--json"], ["log", "--csv"], ["--as-recorded", "2026-01-05T08:00", "units",
                                                          "--as-of", "2026-01-02", "--within", "Hải Phòng", "--csv"]):
            assert _cli(on_pg.url, *args).stdout == _cli(str(on_sqlite.sqlite_path), *args).stdout, args
        assert "2026-01-05T08:30:00," in _cli(on_pg.url, "log", "--csv").stdout  # naive UTC on both stores
        assert len(a["tables"]["correction"]["rows"]) == 1
        res = CliRunner().invoke(app, ["--db", str(tmp_path / "restored.sqlite"), "import-register",
                                       str(tmp_path / "pg.json")])
        assert res.exit_code == 0, res.stderr
        restored = Register.open(str(tmp_path / "restored.sqlite"))
        assert _export_without_build_time(restored, tmp_path / "again.json") == a
        assert restored.check() == []
        restored.close()
        on_pg.close()
        on_sqlite.close()
    finally:
        pg.drop_database(url)


@pytest.mark.parametrize("args", [["lineage", "An Lư"], ["counts", "--within", "Hải Phòng"]])
def test_reading_postgresql_from_the_cache_needs_no_orm(national_pg: Register, args: list[str]) -> None:
    """Like SQLite's, a PostgreSQL register answers from the snapshot cache through psycopg alone."""
    import subprocess
    import sys

    code = (
        "import sys; from merger.cli import main\n"
        f"sys.argv = ['merger', '--db', {national_pg.url!r}, *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'pydantic', 'networkx') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stderr, out.stderr
    assert "Phường" in out.stdout or "Communes" in out.stdout


def test_schema_checks_on_the_postgresql_fast_path(pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    url = pg.create_database(pg_url, "schema")
    try:
        reg = pg.hai_phong_register(tmp_path, url)
        reg.close()
        assert Register.open(url).generation().endswith("|0")
        engine = store.make_engine(url)
        for sql, message in (("UPDATE alembic_version SET version_num = '0999'", "newer than this program"),
                             ("UPDATE alembic_version SET version_num = '0001'", None),
                             ("UPDATE meta SET value = '1' WHERE key = 'schema_version'", "merger db upgrade")):
            with engine.begin() as conn:
                conn.execute(text(sql))
            if message is None:
                continue
            with pytest.raises(StoreError, match=message):
                Register.open(url)
            res = _cli(url, "counts")
            assert res.exit_code == 1 and message in res.stderr and pg.password_of(url) not in res.stderr
        engine.dispose()
        res = _cli(url, "db", "upgrade")  # from 0001 (stamped) to head: the columns exist, so it fails
        assert res.exit_code == 1 and res.stderr.startswith("Error:")
        assert pg.password_of(url) not in res.stderr
    finally:
        pg.drop_database(url)


def test_no_postgresql_is_a_reason_not_a_pass(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Where the script cannot install or start PostgreSQL, pg.server() says why (conftest's pg_url
    turns that into a skip whose reason pytest's -ra summary shows)."""
    fake = tmp_path / "postgres-test-server"
    fake.write_text("#!/usr/bin/env bash\n"
                    "echo 'postgres-test-server: PostgreSQL is not installed and cannot be installed here' >&2\n"
                    "exit 3\n")
    fake.chmod(0o755)
    monkeypatch.delenv(pg.ENV, raising=False)
    monkeypatch.setattr(pg, "SCRIPT", fake)
    with pytest.raises(pg.Unavailable, match="cannot be installed here"), pg.server():
        pass


@pytest.mark.usefixtures("unkept_pg_connections")
def test_a_register_reads_through_one_connection_and_reconnects(national_pg: Register) -> None:
    """The reads of one Register share a psycopg connection (not one per read: ~6 ms and a server
    process each); one the server ended is replaced at the next read, and close() closes it."""
    from sqlalchemy import create_engine, text

    reg = Register(national_pg.url)
    generation = reg.generation()
    first = reg._pg[0].info.backend_pid
    with reg._reading() as query:
        assert query("SELECT pg_backend_pid()")[0][0] == first
    assert reg.generation() == generation and reg._pg[0].info.backend_pid == first

    def end(pid: int) -> None:  # the server ends that session (a restart, an administrator)
        engine = create_engine(national_pg.url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
        engine.dispose()

    end(first)
    assert reg.generation() == generation
    second = reg._pg[0].info.backend_pid
    assert second != first
    end(second)
    with reg._reading() as query:
        assert query("SELECT count(*) FROM meta")[0][0] > 0
    assert reg._pg[0].info.backend_pid not in (first, second)
    con = reg._pg[0]
    reg.close()
    assert con.closed and reg._pg is None
