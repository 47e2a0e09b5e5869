"""Schema migrations: the migrated schema is the model's, and an old register upgrades with no loss.

tests/fixtures/register-schema-1-hai-phong.sqlite was built by merger at commit 3c425be (the first
released schema, version 1) from the real bundle's Hải Phòng and Hải Dương units (518 versions);
tests/fixtures/make_schema_1_register.py is how.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest

import pg
from clirunner import CliRunner
from merger import migrations, store
from merger.cli import app
from merger.errors import StoreError
from merger.register import Register

FIXTURE = Path(__file__).parent / "fixtures" / "register-schema-1-hai-phong.sqlite"
OLD_TABLES = ("meta", "legal_act", "unit", "version", "event", "link", "statistic")


def _diff(engine) -> list:  # type: ignore[no-untyped-def]
    """What Alembic autogenerate would still add or change to make the database match the model
    (the trigram index of names is outside the model: merger.textindex, compared on its own)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import merger.model  # noqa: F401

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": migrations.include_name}),
                                SQLModel.metadata)
    return diff


def _migrate_empty(url: str, to: str = "head") -> None:
    from alembic import command

    engine = store.make_engine(url)
    with engine.begin() as conn:
        cfg = migrations.config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, to)
    engine.dispose()


def test_revision_list_matches_the_scripts() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrations.config())
    chain = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert tuple(chain) == migrations.REVISIONS
    assert script.get_current_head() == migrations.HEAD
    assert migrations.SCHEMA_REVISION[store.SCHEMA_VERSION] == migrations.HEAD


def test_migrations_from_nothing_give_exactly_the_model(tmp_path: Path) -> None:
    """A model change without a migration fails here."""
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    _migrate_empty(url)
    engine = store.make_engine(url)
    assert _diff(engine) == []
    engine.dispose()


def test_migrations_give_exactly_the_model_on_postgresql(pg_url: str) -> None:
    url = pg.create_database(pg_url, "mig")
    try:
        _migrate_empty(url)
        engine = store.make_engine(url)
        assert _diff(engine) == []
        engine.dispose()
    finally:
        pg.drop_database(url)


def test_a_fresh_register_is_stamped_at_head(tmp_path: Path) -> None:
    from factories import tiny_reform

    reg = tiny_reform().build(tmp_path)
    with reg.engine.connect() as conn:
        assert migrations.is_stamped(conn)
        assert migrations.stored_revision(conn) == migrations.HEAD
    assert _diff(reg.engine) == []
    res = CliRunner().invoke(app, ["--db", str(reg.sqlite_path), "db", "current", "--json"])
    assert res.exit_code == 0 and '"state": "current"' in res.stdout


def _rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of the first schema's tables, in its first-schema columns."""
    con = sqlite3.connect(path)
    try:
        out = {}
        for table in OLD_TABLES:
            cols = [r[1] for r in sqlite3.connect(FIXTURE).execute(f"PRAGMA table_info({table})")]
            rows = con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY 1").fetchall()
            out[table] = [r for r in rows if not (table == "meta" and r[0] == "schema_version")]
        return out
    finally:
        con.close()


def test_schema_1_register_upgrades_with_no_loss(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURE, path)
    before = _rows(path)
    assert len(before["version"]) == 518
    with pytest.raises(StoreError, match="older than this program.*merger db upgrade"):
        Register.open(str(path))
    runner = CliRunner()
    res = runner.invoke(app, ["--db", str(path), "counts"])
    assert res.exit_code == 1 and res.stderr.startswith("Error:") and "merger db upgrade" in res.stderr
    res = runner.invoke(app, ["--db", str(path), "db", "current"])
    assert res.exit_code == 1 and "revision 0001" in res.stdout
    res = runner.invoke(app, ["--db", str(path), "db", "upgrade", "--json"])
    assert res.exit_code == 0, res.stderr
    assert '"from": "0001"' in res.stdout and f'"to": "{migrations.HEAD}"' in res.stdout
    assert _rows(path) == before  # no row, and no value, lost or changed
    con = sqlite3.connect(path)
    assert con.execute("SELECT DISTINCT origin FROM event").fetchall() == [("",)]
    assert con.execute("SELECT COUNT(*) FROM version WHERE recorded_at IS NOT NULL").fetchone() == (0,)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(store.SCHEMA_VERSION),)
    con.close()
    engine = store.make_engine(f"sqlite:///{path}")
    assert _diff(engine) == []
    engine.dispose()
    res = runner.invoke(app, ["--db", str(path), "db", "upgrade"])
    assert res.exit_code == 0 and "nothing to do" in res.stdout
    reg = Register.open(str(path))
    assert reg.check() == []
    found = reg.counts(within="Hải Phòng")
    assert (found.total("commune").before, found.total("commune").after) == (374, 114)
    # the upgraded register takes new records
    from merger.events import Spec

    reg.record(Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm",
                    act="99/TEST", clause="1"), by="tester")
    reg.invalidate()
    assert reg.check() == []
    assert reg.resolve("Phường Thử Nghiệm").version.valid_from == date(2026, 1, 1)
    reg.close()


def test_schema_1_register_upgrades_on_postgresql(pg_url: str) -> None:
    """The same old register, as it would sit in PostgreSQL (first-schema tables), upgraded in place."""
    from sqlalchemy import MetaData, insert, text

    url = pg.create_database(pg_url, "old")
    try:
        _migrate_empty(url, "0001")
        engine = store.make_engine(url)
        old = sqlite3.connect(FIXTURE)
        meta = MetaData()
        meta.reflect(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))  # a register made before Alembic
            for table in OLD_TABLES:
                cur = old.execute(f"SELECT * FROM {table}")
                cols = [d[0] for d in cur.description]
                rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
                if rows:
                    conn.execute(insert(meta.tables[table]), rows)
        old.close()
        engine.dispose()
        res = CliRunner().invoke(app, ["--db", url, "db", "upgrade"])
        assert res.exit_code == 0, res.stderr
        assert pg.password_of(url) not in res.output
        engine = store.make_engine(url)
        assert _diff(engine) == []
        engine.dispose()
        reg = Register.open(url)
        assert reg.check() == []
        assert reg.counts(within="Hải Phòng").total("commune").after == 114
        assert len(reg.snapshot.versions) == 518
        reg.close()
    finally:
        pg.drop_database(url)


def test_newer_revision_is_refused(tmp_path: Path) -> None:
    from factories import tiny_reform

    reg = tiny_reform().build(tmp_path)
    reg.close()
    con = sqlite3.connect(reg.sqlite_path)
    con.execute("UPDATE alembic_version SET version_num = '0999'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer than this program"):
        Register.open(str(reg.sqlite_path))
    engine = store.make_engine(f"sqlite:///{reg.sqlite_path}")
    with pytest.raises(StoreError, match="newer than this program"):
        store.check_schema(engine)
    engine.dispose()
    runner = CliRunner()
    for args in (["counts"], ["db", "upgrade"]):
        res = runner.invoke(app, ["--db", str(reg.sqlite_path), *args])
        assert res.exit_code == 1 and res.stderr.startswith("Error:") and "newer than this program" in res.stderr
    res = runner.invoke(app, ["--db", str(reg.sqlite_path), "db", "current"])
    assert res.exit_code == 1 and "upgrade merger" in res.stdout


def test_upgrade_of_an_empty_database_says_so(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["--db", str(tmp_path / "nothing.sqlite"), "db", "upgrade"])
    assert res.exit_code == 1 and "merger init" in res.stderr


def test_db_revision_writes_the_next_migration_from_the_model(tmp_path: Path) -> None:
    """Maintainers' path for the next schema change: autogenerate against a register at head."""
    from factories import tiny_reform

    reg = tiny_reform().build(tmp_path)
    reg.close()
    runner = CliRunner()
    folder = tmp_path / "migrations"
    res = runner.invoke(app, ["--db", str(reg.sqlite_path), "db", "revision", "-m", "nothing changed",
                              "--folder", str(folder)])
    assert res.exit_code == 0, res.stderr
    nxt = f"{int(migrations.HEAD) + 1:04d}"
    created = folder / "versions" / f"{nxt}_nothing_changed.py"
    text = created.read_text(encoding="utf-8")
    assert f"down_revision = '{migrations.HEAD}'" in text and "op." not in text.split("def upgrade")[1].split("def downgrade")[0]
    # a difference is written out, in plain SQLAlchemy types (no sqlmodel import needed)
    con = sqlite3.connect(reg.sqlite_path)
    con.execute("DROP TABLE correction")
    con.commit()
    con.close()
    res = runner.invoke(app, ["--db", str(reg.sqlite_path), "db", "revision", "-m", "corrections",
                              "--folder", str(tmp_path / "m2")])
    assert res.exit_code == 0, res.stderr
    text = (tmp_path / "m2" / "versions" / f"{nxt}_corrections.py").read_text(encoding="utf-8")
    assert "op.create_table('correction'" in text and "sa.String()" in text and "sqlmodel" not in text
    assert not (migrations.FOLDER / "versions" / f"{nxt}_nothing_changed.py").exists()


def test_db_revision_needs_a_register_at_head(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURE, path)
    res = CliRunner().invoke(app, ["--db", str(path), "db", "revision", "-m", "x", "--folder", str(tmp_path / "m")])
    assert res.exit_code == 1 and "merger db upgrade" in res.stderr
