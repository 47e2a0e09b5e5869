"""The suite's PostgreSQL copies put back in place (tests/pg.py ``Restorer``, used by the
``national_copy`` fixture): a copy put back must be the national register again, row for row and
sequence for sequence, or be refused and made anew; never a register a little different from the
one the next test believes it has."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

import pg
from clirunner import CliRunner
from merger.cli import app
from merger.register import Register


def _everything(url: str) -> dict[str, list[str]]:
    """Every row of every table, and every sequence's position, as text."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found: dict[str, list[str]] = {}
            for name, kind in conn.execute(text(
                    "SELECT c.oid::regclass::text, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'S') AND n.nspname = 'public'")).all():
                what = "last_value, is_called" if kind == "S" else "t::text"
                found[name] = sorted(str(r) for r in conn.execute(text(f"SELECT {what} FROM {name} t")).all())
    finally:
        engine.dispose()
    return found


@pytest.fixture
def two_copies(national_pg: Register) -> Iterator[tuple[str, str]]:
    national_pg.close()
    made = [pg.copy_database(national_pg.url), pg.copy_database(national_pg.url)]
    yield made[0], made[1]
    for url in made:
        pg.drop_database(url)


def _write(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_a_copy_written_to_and_put_back_is_a_new_copy(two_copies: tuple[str, str]) -> None:
    used, fresh = two_copies
    restorer = pg.Restorer(used)
    clean = _everything(fresh)
    assert restorer.restore(used) and _everything(used) == clean  # nothing written: nothing to do
    # a recorded event, as the register writes one (new rows, a superseded version, the
    # generation moved), a removed link, and sequences moved by an insert that was rolled back
    res = CliRunner().invoke(app, ["--db", used, "record", "rename", "Phường Hồng Bàng", "--to", "Phường Hồng Bàng Mới",
                                   "-e", "2026-01-01", "--act", "15/2026/NQ-HĐND", "--clause", "k1 Đ1"])
    assert res.exit_code == 0, res.stderr
    _write(used, "DELETE FROM link WHERE id = (SELECT max(id) FROM link WHERE id < 100)",
           "SELECT nextval('legal_act_id_seq')")
    assert _everything(used) != clean
    assert restorer.restore(used), restorer.refused
    assert _everything(used) == clean
    # written again after a restore (rows the restore wrote are the template's again)
    _write(used, "UPDATE version SET name = name || 'x' WHERE id = (SELECT min(id) FROM version)")
    assert restorer.restore(used), restorer.refused
    assert _everything(used) == clean


def test_a_changed_schema_is_refused_and_left_alone(two_copies: tuple[str, str]) -> None:
    used, _fresh = two_copies
    restorer = pg.Restorer(used)
    _write(used, "ALTER TABLE legal_act ADD COLUMN extra integer")
    assert not restorer.restore(used)
    assert "schema" in restorer.refused
    engine = create_engine(used)
    with engine.connect() as conn:
        assert "extra" in conn.execute(text("SELECT string_agg(attname, ',') FROM pg_attribute "
                                            "WHERE attrelid = 'legal_act'::regclass")).scalar()
    engine.dispose()
