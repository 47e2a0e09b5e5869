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
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger import store
from merger.errors import DataError, StoreError
from merger.i18n import _
from merger.parse_errors import json_problem

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


_SCALARS = frozenset({str, int, float, bool, type(None)})
_ROWS = frozenset({list, tuple})


def dumps(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1, separators=(",", ": "))``,
    byte for byte, in a fraction of the time.

    With ``indent`` set, CPython's json runs its pure-Python encoder over every value (~0.4 s for
    the national register). Here only the nesting is laid out in Python: a list or dict whose
    items are all plain scalars (every row of a table) goes to the C encoder in one call, with
    the newline and indentation of its depth as the item separator (a JSON string never holds
    a raw newline, so the layout is the indented one exactly)."""
    parts: list[str] = []
    _lay_out(value, 0, parts, {}, set())
    return "".join(parts)


def _flat(depth: int, encoders: dict[int, json.JSONEncoder]) -> json.JSONEncoder:
    """The C-accelerated encoder whose item separator is the newline and indent of ``depth``."""
    encoder = encoders.get(depth)
    if encoder is None:
        encoder = encoders[depth] = json.JSONEncoder(ensure_ascii=False, sort_keys=True,
                                                     separators=(",\n" + " " * depth, ": "))
    return encoder


def _key(key: Any) -> str:
    """A dict key as json writes it (str as is; float, bool, None and int converted)."""
    if isinstance(key, str):
        text = key
    elif isinstance(key, float):
        text = "NaN" if key != key else "Infinity" if key == float("inf") else "-Infinity" \
            if key == -float("inf") else float.__repr__(key)
    elif key is True:
        text = "true"
    elif key is False:
        text = "false"
    elif key is None:
        text = "null"
    elif isinstance(key, int):
        text = int.__repr__(key)
    else:
        raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")
    return json.encoder.encode_basestring(text)  # type: ignore[attr-defined]


def _lay_out(value: Any, depth: int, parts: list[str], encoders: dict[int, json.JSONEncoder],
             open_ids: set[int]) -> None:
    """Append ``value`` at nesting ``depth`` to ``parts`` (json.dumps' recursion, as loops)."""
    is_dict = isinstance(value, dict)
    if not (is_dict or isinstance(value, (list, tuple))):
        parts.append(_flat(0, encoders).encode(value))
        return
    if not value:
        parts.append("{}" if is_dict else "[]")
        return
    inner = "\n" + " " * (depth + 1)
    close = "\n" + " " * depth + ("}" if is_dict else "]")
    if _SCALARS.issuperset(map(type, value.values() if is_dict else value)):
        flat = _flat(depth + 1, encoders).encode(value)  # "[a,<inner>b]": open up both ends
        parts.append(flat[0] + inner + flat[1:-1] + close)
        return
    if not is_dict and _ROWS.issuperset(map(type, value)) and all(value) \
            and _SCALARS.issuperset(map(type, chain.from_iterable(value))):
        # A table's rows (non-empty lists of scalars): one C call for all of them, laid out at
        # the rows' depth; then each boundary "],<row indent>[" -- which no scalar can contain
        # or end with -- is opened up to the indented form.
        row = "\n" + " " * (depth + 2)
        flat = _flat(depth + 2, encoders).encode(value)
        parts.append("[" + inner + "[" + row + flat[2:-2].replace("]," + row + "[", inner + "]," + inner + "[" + row)
                     + inner + "]" + close)
        return
    if id(value) in open_ids:
        raise ValueError("Circular reference detected")
    open_ids.add(id(value))
    parts.append("{" if is_dict else "[")
    first = True
    for item in sorted(value.items()) if is_dict else value:
        parts.append(inner if first else "," + inner)
        first = False
        if is_dict:
            parts.append(_key(item[0]) + ": ")
            item = item[1]
        _lay_out(item, depth + 1, parts, encoders, open_ids)
    parts.append(close)
    open_ids.discard(id(value))


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
    text = dumps(payload)
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
    try:
        payload = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(_("cannot read {source}: {exc}").format(source=source, exc=exc)) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise DataError(_("cannot read {source}: {exc}").format(source=source, exc=json_problem(exc))) from None
    except RecursionError:
        raise DataError(_("cannot read {source}: nested too deeply").format(source=source)) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("tables"), dict):
        raise DataError(_("{source} is not a merger register export").format(source=source))
    found = payload.get("schema_version")
    if not isinstance(found, int) or not 2 <= found <= store.SCHEMA_VERSION:
        raise DataError(_("{source} has schema version {found}; this program reads exports of versions 2 to "
                          "{schema_version}").format(source=source, found=found, schema_version=store.SCHEMA_VERSION))
    tables = _tables()
    with _engine_of(register) as engine:
        counts = _import_rows(engine, payload, tables, source, found)
        if engine.dialect.name == "postgresql":
            store._analyse(engine)  # the planner's statistics, as `merger init` leaves them
    register.invalidate()
    path_db = register.sqlite_path
    if path_db is not None:
        Path(str(path_db) + ".snapshot").unlink(missing_ok=True)
    return counts


def _import_rows(engine: Engine, payload: dict[str, Any], tables: dict[str, Any], source: Path,
                 found: int) -> dict[str, int]:
    """The export's rows into the empty database, in one transaction (store._insert: in bulk)."""
    from sqlalchemy import func, inspect, select, text
    from sqlmodel import SQLModel

    counts: dict[str, int] = {}
    with engine.begin() as conn:
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
            store._insert(conn, table.insert(), rows)
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
    return counts
