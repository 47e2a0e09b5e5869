"""The columns a write reads and inserts, as SQLAlchemy Core tables.

Why not merger.model: importing the sqlmodel classes (and with them pydantic) costs a recording
command about as much as everything else it does (issue 12); these lightweight tables give the
same statements and the same stored values (each column carries the model's type, so dates and
UTC times are bound exactly as the ORM binds them). tests/test_write_path.py checks they match
the model, column by column.
"""

from __future__ import annotations

from typing import Any


def tables() -> dict[str, Any]:
    """The tables by name (built per write: no module-level state)."""
    from sqlalchemy import Date, DateTime, Float, Integer, String, column, table

    def t(name: str, *cols: Any) -> Any:
        return table(name, column("id", Integer), *cols)

    s = String
    return {
        "legal_act": t("legal_act", column("number", s), column("kind", s), column("issuer", s), column("title", s),
                       column("date_signed", Date), column("effective_date", Date), column("source", s)),
        "unit": t("unit", column("key", s), column("kind", s)),
        "version": t("version", column("key", s), column("unit_id", Integer), column("code", s), column("name", s),
                     column("folded", s), column("full_name", s), column("type", s), column("level", s),
                     column("parent_unit_id", Integer), column("valid_from", Date), column("valid_to", Date),
                     column("evidence", s), column("source", s), column("recorded_at", DateTime(timezone=True))),
        "event": t("event", column("key", s), column("type", s), column("effective", Date), column("act_id", Integer),
                   column("clause", s), column("note", s), column("source", s), column("evidence", s),
                   column("recorded_at", DateTime(timezone=True)), column("recorded_by", s), column("origin", s),
                   column("idem_key", s), column("spec", s)),
        "link": t("link", column("event_id", Integer), column("predecessor_id", Integer),
                  column("successor_id", Integer), column("portion", s), column("relation", s), column("share", Float),
                  column("share_basis", s), column("note", s)),
        "correction": t("correction", column("event_id", Integer)),
    }
