"""Recorded events (schema version 2): event origin/idem_key/spec, corrections, version.recorded_at.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("replacement_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.ForeignKeyConstraint(["replacement_id"], ["event.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_correction_event_id"), "correction", ["event_id"], unique=False)
    op.create_index(op.f("ix_correction_recorded_at"), "correction", ["recorded_at"], unique=False)
    # Existing events are the bundled baseline: origin "" (a server default fills the rows in place).
    op.add_column("event", sa.Column("origin", sa.String(), nullable=False, server_default=""))
    op.add_column("event", sa.Column("idem_key", sa.String(), nullable=True))
    op.add_column("event", sa.Column("spec", sa.String(), nullable=True))
    op.create_index(op.f("ix_event_idem_key"), "event", ["idem_key"], unique=False)
    op.add_column("version", sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")


def downgrade() -> None:
    with op.batch_alter_table("version") as batch:
        batch.drop_column("recorded_at")
    op.drop_index(op.f("ix_event_idem_key"), table_name="event")
    with op.batch_alter_table("event") as batch:
        batch.drop_column("spec")
        batch.drop_column("idem_key")
        batch.drop_column("origin")
    op.drop_index(op.f("ix_correction_recorded_at"), table_name="correction")
    op.drop_index(op.f("ix_correction_event_id"), table_name="correction")
    op.drop_table("correction")
    op.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
