"""Derived shares (schema version 3): shares derived after an event was recorded, with who and when.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "derived_share",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("basis", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["link.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_derived_share_link_id"), "derived_share", ["link_id"], unique=False)
    op.create_index(op.f("ix_derived_share_recorded_at"), "derived_share", ["recorded_at"], unique=False)
    # Registers older than 0003 stored geometry shares on the link rows themselves: move them here
    # (recorded by "migration 0003"), so that from now on a link row never changes.
    op.execute(
        "INSERT INTO derived_share (link_id, share, basis, recorded_at, recorded_by, note) "
        "SELECT id, share, share_basis, CURRENT_TIMESTAMP, 'migration 0003', 'moved from the link row' "
        "FROM link WHERE share_basis = 'geometry' AND share IS NOT NULL"
    )
    op.execute("UPDATE link SET share = NULL, share_basis = NULL WHERE share_basis = 'geometry'")
    op.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.execute(
        "UPDATE link SET share = (SELECT d.share FROM derived_share d WHERE d.link_id = link.id "
        "ORDER BY d.id DESC LIMIT 1), share_basis = 'geometry' "
        "WHERE share IS NULL AND id IN (SELECT link_id FROM derived_share)"
    )
    op.drop_index(op.f("ix_derived_share_recorded_at"), table_name="derived_share")
    op.drop_index(op.f("ix_derived_share_link_id"), table_name="derived_share")
    op.drop_table("derived_share")
    op.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
