"""A register N times the national size, for measuring how costs grow (issue 12).

Run: .venv/bin/python benchmarks/scale.py --factor 10 --out /tmp/x10.sqlite
     .venv/bin/python benchmarks/scale.py --factor 10 --out postgresql+psycopg://.../db

The bundled national register (every unit, version, event, link, agency and statistic) is built
once, then copied N-1 times inside the database under distinct identities: copy k has ids
offset by k times each table's size, codes ``<code>-k``, keys ``<code>-k@<date>``, and names
``<name> k`` (so that the original's names still name one unit each, and a lineage question
about "An Lư" is the same question at every size). The legal acts are shared. These copies are
a benchmark fixture only: they stand for no real unit and must never be published as data.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

# (table, id column, columns with the SQL that makes copy k's value; {o[t]} is table t's offset)
COPIES = {
    "unit": ("id", {"id": "id + {k} * {o[unit]}", "key": "key || '-{k}'", "kind": "kind"}),
    "version": ("id", {
        "id": "id + {k} * {o[version]}",
        "key": "substr(key, 1, {at}(key, '@') - 1) || '-{k}' || substr(key, {at}(key, '@'))",
        "unit_id": "unit_id + {k} * {o[unit]}", "code": "code || '-{k}'", "name": "name || ' {k}'",
        "folded": "folded || ' {k}'", "full_name": "full_name || ' {k}'", "type": "type", "level": "level",
        "parent_unit_id": "parent_unit_id + {k} * {o[unit]}", "valid_from": "valid_from",
        "valid_to": "valid_to", "evidence": "evidence", "source": "source", "recorded_at": "recorded_at"}),
    "event": ("id", {
        "id": "id + {k} * {o[event]}", "key": "key || '-{k}'", "type": "type", "effective": "effective",
        "act_id": "act_id", "clause": "clause", "note": "note", "source": "source", "evidence": "evidence",
        "recorded_at": "recorded_at", "recorded_by": "recorded_by", "origin": "origin",
        "idem_key": "idem_key", "spec": "spec"}),
    "link": ("id", {
        "id": "id + {k} * {o[link]}", "event_id": "event_id + {k} * {o[event]}",
        "predecessor_id": "predecessor_id + {k} * {o[version]}",
        "successor_id": "successor_id + {k} * {o[version]}", "portion": "portion", "relation": "relation",
        "share": "share", "share_basis": "share_basis", "note": "note"}),
    "statistic": ("version_id", {
        "version_id": "version_id + {k} * {o[version]}", "area_km2": "area_km2", "population": "population",
        "seat": "seat", "lon": "lon", "lat": "lat", "source": "source"}),
}


def replicate(execute, factor: int, at: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Add copies 1..factor-1 of what the database holds (one transaction is the caller's)."""
    offsets = {t: int(execute(f"SELECT COALESCE(MAX(id), 0) FROM {t}")[0][0]) + 1
               for t in ("unit", "version", "event", "link")}
    for k in range(1, factor):
        for table, (_, columns) in COPIES.items():
            exprs = ", ".join(e.format(k=k, o=offsets, at=at) for e in columns.values())
            execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {exprs} FROM {table} "
                    f"WHERE {COPIES[table][0]} < {offsets['version' if table == 'statistic' else table]}")
    return {t: int(execute(f"SELECT COUNT(*) FROM {t}")[0][0]) for t in COPIES}


def build(target: str, factor: int) -> dict[str, int]:
    """Build the national register at ``target`` (a SQLite path or PostgreSQL URL), then scale it."""
    from merger.register import Register

    Register.open(target).close()
    if "://" not in target:
        import sqlite3

        con = sqlite3.connect(target, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        counts = replicate(lambda sql: con.execute(sql).fetchall(), factor, "instr")
        con.execute("COMMIT")
        con.execute("ANALYZE")
        con.close()
        return counts
    import psycopg

    conninfo = "postgresql://" + target.split("://", 1)[1]
    with psycopg.connect(conninfo) as con:
        counts = replicate(lambda sql: con.execute(sql).fetchall() if sql.startswith("SELECT") else
                           con.execute(sql), factor, "strpos")
        for table in ("unit", "version", "event", "link"):
            con.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute("ANALYZE")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factor", type=int, required=True, help="how many times the national register")
    parser.add_argument("--out", required=True, help="a new SQLite file, or an empty PostgreSQL database URL")
    args = parser.parse_args()
    if args.factor < 1:
        parser.error("--factor must be at least 1")
    if "://" not in args.out and Path(args.out).exists():
        parser.error(f"{args.out} exists; give a new file")
    t = time.perf_counter()
    counts = build(args.out, args.factor)
    print(f"built {args.out} at {args.factor}x in {time.perf_counter() - t:.1f} s: "
          + ", ".join(f"{n:,} {t}" for t, n in counts.items()))


if __name__ == "__main__":
    main()
