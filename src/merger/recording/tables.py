"""The columns a write inserts, table by table: the one list the INSERT statements are made from.

Why not merger.model (or SQLAlchemy Core): importing SQLAlchemy costs a recording command about
as much as everything else it does (issue 12), and an INSERT needs only the column names and how
each value is stored. Dates and UTC times are bound here exactly as SQLAlchemy binds them for
the model's types: on SQLite as text (``2026-01-01``, ``2026-01-01 08:00:00.000000``), on
PostgreSQL as the date and ``timestamptz`` values themselves. tests/test_write_path.py checks
these lists against the model, column by column and type by type.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

# Every column of each table a write inserts into, in order; "id" first.
COLUMNS: dict[str, tuple[str, ...]] = {
    "legal_act": ("id", "number", "kind", "issuer", "title", "date_signed", "effective_date", "source"),
    "unit": ("id", "key", "kind"),
    "version": ("id", "key", "unit_id", "code", "name", "folded", "full_name", "type", "level", "parent_unit_id",
                "valid_from", "valid_to", "evidence", "source", "recorded_at"),
    "event": ("id", "key", "type", "effective", "act_id", "clause", "note", "source", "evidence", "recorded_at",
              "recorded_by", "origin", "idem_key", "spec"),
    "link": ("id", "event_id", "predecessor_id", "successor_id", "portion", "relation", "share", "share_basis",
             "note"),
    "correction": ("id", "event_id", "action", "replacement_id", "reason", "recorded_at", "recorded_by"),
}
# The model's Date and DateTime(timezone=True) columns: stored as text on SQLite.
DATES = frozenset({"date_signed", "effective_date", "valid_from", "valid_to", "effective"})
TIMES = frozenset({"recorded_at"})


def insert_sql(table: str) -> str:
    """``INSERT INTO table (columns) VALUES (?, ...)`` with every column (qmark placeholders)."""
    cols = COLUMNS[table]
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def stored_time(value: datetime) -> str:
    """A UTC time as SQLAlchemy stores a ``DateTime`` on SQLite (microseconds always written)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond:06d}"


def row(table: str, values: dict[str, Any], dialect: str) -> tuple:
    """The parameters of ``insert_sql(table)`` for one row (a missing column is NULL), with dates
    and times as ``dialect`` stores them."""
    unknown = set(values) - set(COLUMNS[table])
    if unknown:
        raise KeyError(f"{table} has no column {', '.join(sorted(unknown))}")
    return tuple(bind(values.get(c), dialect) for c in COLUMNS[table])


def bind(value: Any, dialect: str) -> Any:
    """One parameter as ``dialect`` stores it: SQLite keeps dates and times as text."""
    if dialect == "sqlite":
        if isinstance(value, datetime):
            return stored_time(value)
        if isinstance(value, date):
            return value.isoformat()
    return value
