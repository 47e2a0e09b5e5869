"""Schema migrations (Alembic): from the first released schema on, one revision per schema version.

A register records its revision in Alembic's ``alembic_version`` table (a fresh build is stamped
at the head). Registers made before Alembic was adopted carry only ``meta.schema_version``; their
revision is read from that (``SCHEMA_REVISION``), and ``merger db upgrade`` stamps them first.

The revision list is kept here as plain data so that opening a register can tell "older" from
"newer than this program" without importing Alembic; a test checks it against versions/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from merger.errors import StoreError
from merger.i18n import _

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine

# Oldest first. Each revision is one value of store.SCHEMA_VERSION.
REVISIONS = ("0001", "0002", "0003", "0004", "0005")
HEAD = REVISIONS[-1]
SCHEMA_REVISION = {1: "0001", 2: "0002", 3: "0003", 4: "0004", 5: "0005"}
FOLDER = Path(__file__).resolve().parent


def config(url: str | None = None) -> Config:
    """An Alembic configuration for this package's scripts (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(FOLDER))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """For schema comparisons (autogenerate, tests): leave out what the model cannot declare, the
    trigram index of names (merger.textindex), and Alembic's own table."""
    from merger import textindex

    return not textindex.outside_model(name) and name != "alembic_version"


def stored_revision(conn: Connection) -> str | None:
    """The revision a register is at: alembic_version, else read off meta.schema_version; None if empty."""
    from sqlalchemy import inspect, text

    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if found:
            return str(found)
    if "meta" in tables:
        value = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
        if value is not None:
            number = int(value)
            if number in SCHEMA_REVISION:
                return SCHEMA_REVISION[number]
            return f"schema-{number}"  # not one this program knows: newer
    return None


def is_stamped(conn: Connection) -> bool:
    from sqlalchemy import inspect, text

    return inspect(conn).has_table("alembic_version") and conn.execute(
        text("SELECT COUNT(*) FROM alembic_version")).scalar() > 0


def stamp_head(conn: Connection) -> None:
    """Mark a freshly built register as at the head revision (in the builder's transaction)."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    MigrationContext.configure(conn).stamp(ScriptDirectory.from_config(config()), "head")


def upgrade(engine: Engine, progress: Callable[[str], None] | None = None) -> tuple[str | None, str]:
    """Bring a register to the head revision, in one transaction; returns (from, to).

    A register made before Alembic (meta.schema_version only) is stamped at its revision first.
    """
    from alembic import command

    with engine.begin() as conn:
        found = stored_revision(conn)
        if found is None:
            raise StoreError(_("this database holds no register; run 'merger init' to build one"))
        if found not in REVISIONS:
            raise StoreError(_("this register's schema (revision {revision}) is newer than this program's ({head}); "
                               "upgrade merger").format(revision=found, head=HEAD))
        if found == HEAD and is_stamped(conn):
            return found, HEAD
        cfg = config()
        cfg.attributes["connection"] = conn
        cfg.attributes["progress"] = progress
        if not is_stamped(conn):
            command.stamp(cfg, found)
        command.upgrade(cfg, "head")
    return found, HEAD


def status(engine: Engine) -> dict[str, object]:
    """Where a register stands: its revision, this program's head, and what to do."""
    from merger import store

    with store.db_errors(str(engine.url)), engine.connect() as conn:
        found = stored_revision(conn)
        stamped = is_stamped(conn) if found is not None else False
        schema = store.meta(conn).get("schema_version") if found is not None else None
    if found is None:
        state = "empty"
    elif found not in REVISIONS:
        state = "newer"
    elif found != HEAD:
        state = "older"
    else:
        state = "current"
    return {"url": store.redact(str(engine.url.render_as_string(hide_password=False))),
            "revision": found, "stamped": stamped, "schema_version": schema, "head": HEAD, "state": state}


def revision(url: str, message: str, folder: Path | None = None) -> Path:
    """For maintainers: write a new migration, autogenerated from the model's difference with the
    register at ``url`` (which must be at the head revision); returns the new file. Review it, add
    the meta.schema_version bump, bump store.SCHEMA_VERSION and add the revision to REVISIONS."""
    import argparse
    import shutil

    from alembic import command

    from merger import store

    engine = store.make_engine(url)
    try:
        with store.db_errors(url), engine.connect() as conn:
            found = stored_revision(conn)
    finally:
        engine.dispose()
    if found != HEAD:
        raise StoreError(_("the register is at revision {found}, not {head}: run 'merger db upgrade' first").format(
            found=found, head=HEAD))
    cfg = config(url)
    cfg.cmd_opts = argparse.Namespace(quiet=True)  # the CLI says what it wrote, in the user's language
    target = folder or FOLDER
    if folder is not None and not (folder / "env.py").exists():
        shutil.copytree(FOLDER, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    cfg.set_main_option("script_location", str(target))
    before = set((target / "versions").glob("*.py"))
    number = f"{len(REVISIONS) + 1:04d}"
    command.revision(cfg, message=message, autogenerate=True, rev_id=number)
    created = sorted(set((target / "versions").glob("*.py")) - before)
    return created[0]


__all__ = ["HEAD", "REVISIONS", "SCHEMA_REVISION", "config", "include_name", "revision", "stamp_head", "status", "stored_revision",
           "upgrade"]
