"""Folded names (schema version 4): each version's name folded (any case, no marks, đ = d), indexed,
so that a question about one unit finds it without reading the whole register.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from merger.names import fold

    op.add_column("version", sa.Column("folded", sa.String(), nullable=True))
    op.create_index(op.f("ix_version_folded"), "version", ["folded"], unique=False)
    conn = op.get_bind()
    rows = [{"i": r[0], "f": fold(r[1])} for r in conn.execute(sa.text("SELECT id, name FROM version"))]
    if rows:
        conn.execute(sa.text("UPDATE version SET folded = :f WHERE id = :i"), rows)
    op.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_index(op.f("ix_version_folded"), table_name="version")
    # plain DROP COLUMN (SQLite >= 3.35): a batch copy of the table would trip the links' foreign keys
    op.execute("ALTER TABLE version DROP COLUMN folded")
    op.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
