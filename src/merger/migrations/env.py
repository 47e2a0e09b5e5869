"""Alembic environment: the target is the register's sqlmodel metadata.

merger passes an open connection (``config.attributes["connection"]``) so that an upgrade runs
inside merger's own transaction; the ``alembic`` command line may pass ``sqlalchemy.url`` instead.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import merger.model  # noqa: F401  (registers the tables)
from merger.migrations import include_name

target_metadata = SQLModel.metadata
config = context.config


def render_item(type_, obj, autogen_context):  # type: ignore[no-untyped-def]
    """sqlmodel's AutoString is a plain String in migrations (no sqlmodel import in them)."""
    from sqlmodel.sql.sqltypes import AutoString

    if type_ == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    return False


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_item=render_item,
                          render_as_batch=connection.dialect.name == "sqlite", include_name=include_name)
        context.run_migrations()
        return
    from merger import store

    engine = store.make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_item=render_item,
                          render_as_batch=conn.dialect.name == "sqlite", include_name=include_name)
        context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("merger's migrations run online only (against a register)")
run()
