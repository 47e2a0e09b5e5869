"""Building a register inserts its rows in bulk (store._insert: COPY on PostgreSQL, the driver's
executemany on SQLite), not through SQLAlchemy's executemany of each row. What is stored must be
what that executemany stored, value for value as the driver hands it back, on both stores; and a
row the database refuses is refused as before, leaving nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import inspect

from merger import store
from merger.register import Register


def _stored(url: str) -> dict[str, list[tuple]]:
    """Every model table's rows in primary-key order, as the driver returns them (SQLite's stored
    text for dates and times, not SQLAlchemy's reading of it); meta's built_at (the time of the
    build) left out."""
    from sqlmodel import SQLModel

    import merger.model  # noqa: F401 (the tables)

    engine = store.make_engine(url)
    try:
        with engine.connect() as conn:
            quote = conn.dialect.identifier_preparer.quote
            out = {}
            for table in SQLModel.metadata.sorted_tables:
                order = ", ".join(quote(c.name) for c in table.primary_key.columns)
                rows = conn.exec_driver_sql(f"SELECT * FROM {quote(table.name)} ORDER BY {order}").all()
                out[table.name] = [tuple(r) for r in rows if not (table.name == "meta" and r[0] == "built_at")]
    finally:
        engine.dispose()
    return out


def _plain_insert(conn, statement, rows) -> None:  # type: ignore[no-untyped-def]
    """What store._insert did before the bulk path: SQLAlchemy's executemany of the rows."""
    if rows:
        conn.execute(statement, rows)


def test_the_bulk_load_stores_what_executemany_stored(national: Register, new_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The bundled register as built for this run (bulk) against the same bundle loaded row by
    row through SQLAlchemy: every table equal, dates, times (timestamptz on PostgreSQL), floats,
    empty strings and NULLs included, and the Python-side default of event.origin."""
    url = new_db("plain")
    monkeypatch.setattr(store, "_insert", _plain_insert)
    engine = store.make_engine(url)
    try:
        store.load_bundle(engine)
    finally:
        engine.dispose()
    monkeypatch.undo()
    plain, bulk = _stored(url), _stored(national.url)
    assert {name: len(rows) for name, rows in bulk.items()} == {name: len(rows) for name, rows in plain.items()}
    assert len(bulk["version"]) > 17_000 and len(bulk["link"]) > 15_000
    for name in plain:
        assert bulk[name] == plain[name], name
    from merger.model import Event

    origin = [c.name for c in Event.__table__.columns].index("origin")  # type: ignore[attr-defined]
    assert {r[origin] for r in bulk["event"]} == {""}  # the column's default, which the bundle leaves out


def test_a_refused_row_is_refused_as_before_and_leaves_nothing(new_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A version key twice in a bundle: the database's unique index refuses it (SQLAlchemy's
    IntegrityError on both stores, as the executemany raised it), and the build leaves no table."""
    from factories import tiny_reform

    folder = tiny_reform().write(tmp_path / "bundle")
    versions = (folder / "versions.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "versions.csv").write_text("".join([*versions, versions[1]]), encoding="utf-8")
    engine = store.make_engine(new_db("twice"))
    try:
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            store.load_bundle(engine, folder)
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
