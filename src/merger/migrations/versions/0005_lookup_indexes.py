"""Lookup indexes (schema version 5): national counts, recorded events and substring search read
indexes instead of scanning the register (issue 12).

- ``ix_version_counting`` (recorded_at, level, type, valid_from, valid_to): the national count
  groups the bundled versions by level, type and period from this index alone, in its order;
- ``ix_unit_kind``: the units of the other kinds, subtracted from that count, found by a seek;
- ``ix_event_origin``: the recorded events (a non-empty origin) found by a seek;
- the trigram index of folded names (merger.textindex: SQLite FTS5 kept in step by triggers,
  PostgreSQL pg_trgm GIN indexes), where this database can have it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from merger import textindex

    op.create_index("ix_version_counting", "version", ["recorded_at", "level", "type", "valid_from", "valid_to"],
                    unique=False)
    op.create_index(op.f("ix_unit_kind"), "unit", ["kind"], unique=False)
    op.create_index(op.f("ix_event_origin"), "event", ["origin"], unique=False)
    conn = op.get_bind()
    textindex.create(conn)
    if conn.dialect.name == "sqlite" and conn.execute(sa.text(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar():
        # A register analysed before (the benchmarks' are) has statistics for every index but
        # these: the planner would then misjudge them (a scan of ix_unit_kind instead of a seek).
        for index in ("ix_version_counting", "ix_unit_kind", "ix_event_origin"):
            op.execute(f"ANALYZE {index}")
    op.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")


def downgrade() -> None:
    from merger import textindex

    textindex.drop(op.get_bind())
    op.drop_index(op.f("ix_event_origin"), table_name="event")
    op.drop_index(op.f("ix_unit_kind"), table_name="unit")
    op.drop_index("ix_version_counting", table_name="version")
    op.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
