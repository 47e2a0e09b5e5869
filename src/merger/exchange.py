"""Export and import a whole register as one JSON file (units, versions, events, links, acts,
statistics, corrections and the register's meta facts).

The file is deterministic (tables in a fixed order, rows by primary key, keys sorted), so
export -> import into an empty register -> export gives the same bytes: a backup that can be
checked with a checksum, and a way to move recorded work between SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger import store
from merger.errors import DataError, StoreError
from merger.i18n import _

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Engine

    from merger.register import Register

FORMAT = "merger-register"
FORMAT_VERSION = 1
# Parents before children, so an import satisfies every foreign key as it goes.
TABLES = ("meta", "legal_act", "unit", "version", "event", "link", "statistic", "correction", "derived_share")


def _tables() -> dict[str, Table]:
    from sqlmodel import SQLModel

    import merger.model  # noqa: F401  (registers the tables)

    return {name: SQLModel.metadata.tables[name] for name in TABLES}


def _out(value: Any) -> Any:
    if isinstance(value, datetime):
        from datetime import UTC

        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _dated(column: Any) -> bool:
    """A Date or DateTime column: its values need converting (the others go as they are)."""
    from sqlalchemy import Date, DateTime

    return isinstance(column.type, (Date, DateTime))


def _in(column: Any) -> Callable[[Any], Any] | None:
    """How an exported value of ``column`` is read back (None: as it is); chosen once per column."""
    from sqlalchemy import Date, DateTime

    if isinstance(column.type, DateTime):
        return datetime.fromisoformat
    if isinstance(column.type, Date):
        return date.fromisoformat
    return None


@contextmanager
def _engine_of(register: Register) -> Iterator[Engine]:
    """The register's engine, or a temporary one (disposed after use: no leaked connections)."""
    if register._engine is not None:
        yield register._engine
        return
    engine = store.make_engine(register.url)
    try:
        yield engine
    finally:
        engine.dispose()


def export_register(register: Register, path: str | Path) -> dict[str, int]:
    """Write the whole register to ``path`` as JSON; returns the row count per table."""
    from sqlalchemy import inspect, select

    tables = _tables()
    payload: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION,
                               "schema_version": store.SCHEMA_VERSION, "tables": {}}
    counts: dict[str, int] = {}
    with _engine_of(register) as engine, engine.connect() as conn:
        if not inspect(conn).has_table("meta"):
            raise StoreError(_("the register is empty: nothing to export"))
        for name, table in tables.items():
            columns = [c.name for c in table.columns]
            order = [c for c in table.primary_key.columns]
            result = conn.execute(select(*table.columns).order_by(*order))
            convert = [_out if _dated(c) else None for c in table.columns]  # per column, not per cell
            if any(convert):
                rows = [[v if f is None else f(v) for f, v in zip(convert, r, strict=True)] for r in result]
            else:
                rows = [list(r) for r in result]
            payload["tables"][name] = {"columns": columns, "rows": rows}
            counts[name] = len(rows)
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, indent=1, separators=(",", ": "))
    from merger.outputs import writing

    with writing(Path(path)) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return counts


def import_register(register: Register, path: str | Path) -> dict[str, int]:
    """Restore an export into an empty register, in one transaction; returns rows per table.

    Only an empty database or a missing file is written (store.check_target); a refused or
    failed import leaves nothing behind, not even the new file."""
    from sqlalchemy.exc import DBAPIError

    found = store.check_target(register.url, build=True)
    if found == "memory":
        raise StoreError(store.IN_MEMORY)
    new_file = store.sqlite_file(register.url) if found == "missing" else None
    if new_file is not None:
        store.make_folder(new_file)
    try:
        return _import(register, Path(path))
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise DataError(_("{path}: rows the register cannot take ({reason}); nothing was imported").format(path=Path(path), reason=reason)) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(_("{path} is not a valid merger register export ({name}: {value}); nothing was imported").format(path=Path(path), name=type(exc).__name__, value=str(exc)[:200])) from None
    finally:
        if new_file is not None and store.sqlite_state(new_file) in ("empty", "missing"):
            register.close()
            store.remove_sqlite(register.url)


def _import(register: Register, source: Path) -> dict[str, int]:
    from sqlalchemy import func, inspect, select, text
    from sqlmodel import SQLModel

    try:
        payload = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(_("cannot read {source}: {exc}").format(source=source, exc=exc)) from None
    except RecursionError:
        raise DataError(_("cannot read {source}: nested too deeply").format(source=source)) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("tables"), dict):
        raise DataError(_("{source} is not a merger register export").format(source=source))
    found = payload.get("schema_version")
    if not isinstance(found, int) or not 2 <= found <= store.SCHEMA_VERSION:
        raise DataError(_("{source} has schema version {found}; this program reads exports of versions 2 to "
                          "{schema_version}").format(source=source, found=found, schema_version=store.SCHEMA_VERSION))
    tables = _tables()
    counts: dict[str, int] = {}
    with _engine_of(register) as engine, engine.begin() as conn:
        if inspect(conn).has_table("version") and conn.execute(
                select(func.count()).select_from(tables["version"])).scalar():
            raise StoreError(_("the register already holds data; import into an empty database"))
        SQLModel.metadata.create_all(conn)
        for name, table in tables.items():
            block = payload["tables"].get(name, {"columns": [], "rows": []})
            columns = block["columns"]
            unknown = set(columns) - set(table.columns.keys())
            if unknown:
                raise DataError(_("{source}: table {name} has unknown columns {join}").format(source=source, name=name, join=', '.join(sorted(unknown))))
            convert = [_in(table.columns[c]) for c in columns]  # per column, not per cell
            rows = [{c: v if f is None or v is None else f(v) for c, f, v in zip(columns, convert, r, strict=True)}
                    for r in block["rows"]]
            if rows:
                conn.execute(table.insert(), rows)
            counts[name] = len(rows)
        from merger import textindex

        textindex.create(conn)  # the trigram index of names (outside the model), over the rows imported
        if found < store.SCHEMA_VERSION:  # an older export: its tables are a subset of today's
            conn.execute(tables["meta"].update().where(tables["meta"].c.key == "schema_version")
                         .values(value=str(store.SCHEMA_VERSION)))
        if conn.dialect.name == "postgresql":
            for name in (n for n, t in tables.items() if "id" in t.columns):  # the serial ids
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
                ))
    register.invalidate()
    path_db = register.sqlite_path
    if path_db is not None:
        Path(str(path_db) + ".snapshot").unlink(missing_ok=True)
    return counts
