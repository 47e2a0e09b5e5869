"""Small registers for tests, written in the bundle format and loaded like the real one."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from merger import bundle, store
from merger.names import bare_name
from merger.register import Register


class Builder:
    """Build a tiny register: versions, events and links, keyed like the real data."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, str]]] = {name: [] for name in bundle.BUNDLE_FILES}
        self._units: dict[str, str] = {}

    def act(self, number: str, signed: str = "2025-06-16", effective: str = "") -> str:
        self.rows["acts"].append(dict(number=number, kind="resolution", issuer="test", title=number,
                                      date_signed=signed, effective_date=effective, source="factory"))
        return number

    def version(self, code: str, full_name: str, type_: str, level: str, *, parent: str | None = None,
                unit: str | None = None, valid_from: str = "", valid_to: str = "") -> str:
        key = f"{code}@{valid_from}" if valid_from else f"{code}@..{valid_to}"
        self._units[key] = self._units[unit] if unit else key
        self.rows["versions"].append(dict(
            key=key, unit=self._units[key], level=level, code=code, type=type_,
            name=bare_name(full_name, type_), full_name=full_name,
            parent_unit=self._units[parent] if parent else "", valid_from=valid_from, valid_to=valid_to,
            source="factory"))
        return key

    def event(self, key: str, type_: str, effective: str, links: list[tuple], act: str = "",
              clause: str = "") -> str:
        """``links``: (predecessor key or "", successor key or "", portion, relation[, share, basis])."""
        self.rows["events"].append(dict(key=key, type=type_, effective=effective, act=act, clause=clause,
                                        note="", source="factory", evidence="",
                                        recorded_at="2025-07-18T00:00:00", recorded_by="factory"))
        for link in links:
            pred, succ, portion, relation, *rest = link
            share, basis = (str(rest[0]), rest[1]) if rest else ("", "")
            self.rows["links"].append(dict(event=key, predecessor=pred, successor=succ, portion=portion,
                                           relation=relation, share=share, share_basis=basis, note=""))
        return key

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name in bundle.BUNDLE_FILES:
            with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(bundle.FIELDS[name]), lineterminator="\n")
                w.writeheader()
                w.writerows(self.rows[name])
        return folder

    def build(self, folder: Path, url: str | None = None) -> Register:
        """Load into the empty database at ``url`` (default: a SQLite file in ``folder``).

        Tests take the ``build`` fixture instead, which runs them on both stores."""
        bundle_dir = self.write(folder / "bundle")
        url = url or f"sqlite:///{folder / 'factory.sqlite'}"
        engine = store.make_engine(url)
        store.load_bundle(engine, bundle_dir)
        return Register(url, engine)


def count_rows(reg: Register, table: str) -> int:
    """Rows in one table of the register, on either store."""
    from sqlalchemy import text

    with reg.engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def old_order(b: Builder) -> dict[str, str]:
    """One province (continuing on 2025-07-01), two districts (dissolved) and four communes."""
    k = {}
    k["p"] = b.version("01", "Tỉnh Thử", "tỉnh", "province", valid_to="2025-06-30")
    k["p2"] = b.version("01", "Tỉnh Thử", "tỉnh", "province", unit=k["p"], valid_from="2025-07-01")
    k["d1"] = b.version("001", "Huyện Một", "huyện", "district", parent=k["p"], valid_to="2025-06-30")
    k["d2"] = b.version("002", "Huyện Hai", "huyện", "district", parent=k["p"], valid_to="2025-06-30")
    k["a"] = b.version("00001", "Xã An", "xã", "commune", parent=k["d1"], valid_to="2025-06-30")
    k["b"] = b.version("00002", "Xã Bình", "xã", "commune", parent=k["d1"], valid_to="2025-06-30")
    k["c"] = b.version("00003", "Xã Hòa Bình", "xã", "commune", parent=k["d2"], valid_to="2025-06-30")
    k["d"] = b.version("00004", "Thị trấn Đông", "thị trấn", "commune", parent=k["d2"], valid_to="2025-06-30")
    b.event("E-P", "continue", "2025-07-01", [(k["p"], k["p2"], "whole", "unchanged")], act="1/TEST")
    b.event("E-D1", "dissolve", "2025-07-01", [(k["d1"], "", "whole", "dissolved")], act="1/TEST")
    b.event("E-D2", "dissolve", "2025-07-01", [(k["d2"], "", "whole", "dissolved")], act="1/TEST")
    return k


def reclassify_later(b: Builder, key: str, full_name: str, type_: str, day: str, act: str) -> str:
    """A later change (e.g. a 2026 xã -> phường): ends ``key`` the day before, starts a new version."""
    from datetime import date, timedelta

    row = next(r for r in b.rows["versions"] if r["key"] == key)
    row["valid_to"] = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    new = b.version(row["code"], full_name, type_, row["level"], parent=_parent_key(b, row["parent_unit"]),
                    unit=key, valid_from=day)
    b.event(f"E-R-{row['code']}", "reclassify", day, [(key, new, "whole", "reclassified")], act=act)
    return new


def _parent_key(b: Builder, unit_key: str) -> str | None:
    return next((k for k, u in b._units.items() if u == unit_key), None) if unit_key else None


def tiny_reform() -> Builder:
    """On 2025-07-01 two communes merge with part of a third; the rest joins a town that is moved."""
    b = Builder()
    b.act("1/TEST")
    k = old_order(b)
    n1 = b.version("00001", "Xã An Bình", "xã", "commune", parent=k["p2"], valid_from="2025-07-01")
    n2 = b.version("00004", "Thị trấn Đông", "thị trấn", "commune", parent=k["p2"], unit=k["d"],
                   valid_from="2025-07-01")
    b.event("E-1", "merge", "2025-07-01", [(k["a"], n1, "whole", "whole"), (k["b"], n1, "whole", "whole"),
                                            (k["c"], n1, "part", "part")], act="1/TEST", clause="1")
    b.event("E-2", "move", "2025-07-01", [(k["d"], n2, "whole", "unchanged"), (k["c"], n2, "part", "part")],
            act="1/TEST", clause="2")
    return b


def fingerprint(query: Callable[[str], list], dialect: str) -> dict[str, list[str]]:
    """Everything stored: the schema and every row of every table, each table's rows as sorted
    reprs (so row order on disk does not count, every cell does). Equal fingerprints mean equal
    content; it replaces a JSON export for "a refused write changed nothing" (~40x cheaper).

    ``query(sql) -> rows`` is one read transaction (Register.reading(), or a test's connection);
    ``dialect`` is "sqlite" or "postgresql"."""
    if dialect == "sqlite":
        schema = query("SELECT type, name, tbl_name, sql FROM sqlite_master")
        tables = [r[0] for r in query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    else:
        # the catalogs, not information_schema's views: several times faster
        here = "relnamespace = current_schema()::regnamespace"
        schema = query("SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
                       "pg_get_expr(d.adbin, d.adrelid) FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid "
                       "AND a.attnum > 0 AND NOT a.attisdropped LEFT JOIN pg_attrdef d ON d.adrelid = c.oid "
                       f"AND d.adnum = a.attnum WHERE c.{here}")
        schema += query("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE connamespace = current_schema()::regnamespace")
        schema += query(f"SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
                        f"JOIN pg_class c ON c.oid = i.indrelid WHERE c.{here}")
        tables = [r[0] for r in query(f"SELECT relname FROM pg_class WHERE {here} AND relkind IN ('r', 'p')")]
    found: dict[str, list[str]] = {"(schema)": sorted(map(repr, schema))}
    if dialect == "sqlite":
        for table in tables:
            found[table] = sorted(map(repr, query(f'SELECT * FROM "{table}"')))
        return found
    # one round trip: each row as its composite's text (every column, quoted where needed)
    rows: dict[str, list[str]] = {table: [] for table in tables}
    for table, row in query(" UNION ALL ".join(f"SELECT '{t}', r::text FROM \"{t}\" r" for t in tables)):
        rows[table].append(row)
    return found | {table: sorted(got) for table, got in rows.items()}


def register_fingerprint(reg: Register) -> dict[str, list[str]]:
    """The fingerprint of everything ``reg`` stores, read in one transaction: SQLite through the
    stdlib driver, PostgreSQL through a pooled connection of the register's engine (no new login
    per call). Both ~3x cheaper than the other way round."""
    if reg.sqlite_path is not None:
        with reg.reading() as query:
            return fingerprint(query, "sqlite")
    with reg.engine.connect() as conn, conn.begin():
        return fingerprint(lambda sql: list(conn.exec_driver_sql(sql).fetchall()), "postgresql")
