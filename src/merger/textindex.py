"""The trigram index of folded names (schema version 5): a substring search without a scan.

``merger search`` looks for a text anywhere in a name ("an lu" in "xa an lu"); an ordinary
index only serves a text at the start of a value, so without this index every search reads the
folded name of every version, and its cost grows with the register. The index lives outside the
sqlmodel tables (the model cannot declare it), so the migration that makes it and the build of
a fresh register both call ``create``, and schema comparisons leave its objects out
(``outside_model``).

- SQLite: an FTS5 table with the ``trigram`` tokenizer (SQLite 3.34+) over ``version.folded``,
  external content (the text is not stored twice), kept in step by triggers on ``version`` so
  that no writer needs to know about it. A phrase query of three or more characters is an exact
  substring test; shorter texts cannot be served by trigrams and are scanned as before.
- PostgreSQL: ``pg_trgm`` GIN indexes on ``version.folded`` and ``version.code``, which
  PostgreSQL keeps in step itself and uses for ``LIKE '%text%'``. Creating the extension needs
  a role that may (``CREATE EXTENSION``; pg_trgm is a trusted extension from PostgreSQL 13); where
  it may not, the register works unchanged, only searches scan.

Where the index cannot be made, nothing fails: the read path asks ``present`` and scans.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

FTS = "version_fts"
PG_INDEXES = ("ix_version_folded_trgm", "ix_version_code_trgm")
# FTS5's own tables behind the virtual table, and the triggers that keep it in step.
_FTS_PARTS = ("_data", "_idx", "_docsize", "_config", "_content")
TRIGGERS = ("version_fts_insert", "version_fts_delete", "version_fts_update")
SHORTEST = 3  # characters: a trigram index serves texts at least this long

_SQLITE = (
    # case_sensitive 1: the text is folded already; the match is then exactly Python's ``in``.
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(folded, content='version', content_rowid='id', "
    "tokenize='trigram case_sensitive 1')",
    f"CREATE TRIGGER IF NOT EXISTS version_fts_insert AFTER INSERT ON version BEGIN "
    f"INSERT INTO {FTS}(rowid, folded) VALUES (new.id, new.folded); END",
    # External content: the index is told the old value to remove (it keeps no copy of it).
    f"CREATE TRIGGER IF NOT EXISTS version_fts_delete AFTER DELETE ON version BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, folded) VALUES ('delete', old.id, old.folded); END",
    f"CREATE TRIGGER IF NOT EXISTS version_fts_update AFTER UPDATE ON version "
    f"WHEN old.folded IS NOT new.folded OR old.id IS NOT new.id BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, folded) VALUES ('delete', old.id, old.folded); "
    f"INSERT INTO {FTS}(rowid, folded) VALUES (new.id, new.folded); END",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",  # index the rows already there
)
_PG = (
    "CREATE INDEX IF NOT EXISTS ix_version_folded_trgm ON version USING gin (folded gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_version_code_trgm ON version USING gin (code gin_trgm_ops)",
)


def outside_model(name: str | None) -> bool:
    """Whether a table, index or trigger name belongs to this index (not to the sqlmodel tables):
    schema comparisons (Alembic autogenerate, the migrations test) leave these out."""
    if not name:
        return False
    return (name == FTS or name in PG_INDEXES or name in TRIGGERS
            or any(name == FTS + part for part in _FTS_PARTS))


def sqlite_supported(conn: Connection) -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer (tried on a throwaway table)."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    try:
        conn.execute(text("CREATE VIRTUAL TABLE temp.merger_trigram_probe USING fts5(t, tokenize='trigram')"))
    except OperationalError:
        return False
    conn.execute(text("DROP TABLE temp.merger_trigram_probe"))
    return True


def create(conn: Connection) -> bool:
    """Make the index over the rows there are (inside the caller's transaction); False when this
    database cannot have it (SQLite without FTS5 trigram, or a PostgreSQL role that may not
    create pg_trgm): the register then works as before, scanning for substrings."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    if conn.dialect.name == "sqlite":
        if not sqlite_supported(conn):
            return False
        for sql in _SQLITE:
            conn.execute(text(sql))
        return True
    if conn.dialect.name != "postgresql":
        return False
    try:
        with conn.begin_nested():  # a refused CREATE EXTENSION must not abort the migration
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            for sql in _PG:
                conn.execute(text(sql))
    except DBAPIError:
        return False
    return True


def drop(conn: Connection) -> None:
    """Remove the index (the downgrade to schema version 4); the extension is left installed."""
    from sqlalchemy import text

    if conn.dialect.name == "sqlite":
        for trigger in TRIGGERS:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        conn.execute(text(f"DROP TABLE IF EXISTS {FTS}"))
    elif conn.dialect.name == "postgresql":
        for index in PG_INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {index}"))


PRESENT = f"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{FTS}'"


def phrase(folded: str) -> str:
    """An FTS5 phrase matching ``folded`` as a substring, as a SQL string literal."""
    quoted = '"' + folded.replace('"', '""') + '"'
    return "'" + quoted.replace("'", "''") + "'"


__all__ = ["FTS", "PG_INDEXES", "PRESENT", "SHORTEST", "TRIGGERS", "create", "drop", "outside_model", "phrase",
           "sqlite_supported"]
