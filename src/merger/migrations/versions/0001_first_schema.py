"""The first released schema (schema version 1): units, versions, events, links, acts, statistics.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_act",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("issuer", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("date_signed", sa.Date(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_legal_act_number"), "legal_act", ["number"], unique=True)
    op.create_table(
        "meta",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_unit_key"), "unit", ["key"], unique=True)
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("act_id", sa.Integer(), nullable=True),
        sa.Column("clause", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("evidence", sa.String(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["act_id"], ["legal_act.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_event_act_id"), "event", ["act_id"], unique=False)
    op.create_index(op.f("ix_event_effective"), "event", ["effective"], unique=False)
    op.create_index(op.f("ix_event_key"), "event", ["key"], unique=True)
    op.create_index(op.f("ix_event_recorded_at"), "event", ["recorded_at"], unique=False)
    op.create_index(op.f("ix_event_type"), "event", ["type"], unique=False)
    op.create_table(
        "version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("full_name", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("parent_unit_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("evidence", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["parent_unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_version_code"), "version", ["code"], unique=False)
    op.create_index(op.f("ix_version_key"), "version", ["key"], unique=True)
    op.create_index(op.f("ix_version_parent_unit_id"), "version", ["parent_unit_id"], unique=False)
    op.create_index(op.f("ix_version_unit_id"), "version", ["unit_id"], unique=False)
    op.create_index(op.f("ix_version_valid_from"), "version", ["valid_from"], unique=False)
    op.create_index(op.f("ix_version_valid_to"), "version", ["valid_to"], unique=False)
    op.create_table(
        "link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("predecessor_id", sa.Integer(), nullable=True),
        sa.Column("successor_id", sa.Integer(), nullable=True),
        sa.Column("portion", sa.String(), nullable=False),
        sa.Column("relation", sa.String(), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("share_basis", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.ForeignKeyConstraint(["predecessor_id"], ["version.id"]),
        sa.ForeignKeyConstraint(["successor_id"], ["version.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_link_event_id"), "link", ["event_id"], unique=False)
    op.create_index(op.f("ix_link_predecessor_id"), "link", ["predecessor_id"], unique=False)
    op.create_index(op.f("ix_link_successor_id"), "link", ["successor_id"], unique=False)
    op.create_table(
        "statistic",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("area_km2", sa.Float(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("seat", sa.String(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["version.id"]),
        sa.PrimaryKeyConstraint("version_id"),
    )


def downgrade() -> None:
    for table in ("statistic", "link", "version", "event", "unit", "meta", "legal_act"):
        op.drop_table(table)
