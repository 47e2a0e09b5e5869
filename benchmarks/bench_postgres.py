"""PostgreSQL against SQLite on the national register: prints figures (no pass/fail).

Run: .venv/bin/python benchmarks/bench_postgres.py [--runs N] [--scale 10]

Uses $MERGER_TEST_PG (a URL whose role may CREATE DATABASE) or starts the project's test server
(scripts/postgres-test-server). Measures: loading the bundle into PostgreSQL and into SQLite
(library, and `merger init` end to end); `merger lineage` and `merger counts` end to end on both
(fresh processes, warm snapshot cache, median of N); a snapshot rebuilt from the database (what
every reader pays once after each write); one recorded event (validation + write); sizes.
``--scale 10`` also loads a synthetic register ten times the national one (the bundle replicated
with distinct keys: ~140,000 versions, the size of a register with all villages) and times the same.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MERGER = [sys.executable, "-m", "merger"]
sys.path.insert(0, str(ROOT / "tests"))
import pg as testpg  # noqa: E402  (the test suite's server and database helpers)


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def cli(db: str, *args: str) -> None:
    subprocess.run([*MERGER, "--db", db, *args], check=True, capture_output=True, env={**os.environ, "COLUMNS": "100"})


def line(label: str, values: list[float], target: str = "-") -> None:
    med = statistics.median(values)
    print(f"{label:<62} median {med:7.3f} s  (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
          f"  {target}", flush=True)


def load(url: str, folder: Path | None = None) -> float:
    from merger import store

    engine = store.make_engine(url)
    t = time.perf_counter()
    store.load_bundle(engine, folder)
    took = time.perf_counter() - t
    engine.dispose()
    return took


def snapshot_from_db(url: str) -> float:
    from merger import graph, store

    engine = store.make_engine(url)
    t = time.perf_counter()
    with store.reading(engine) as conn:
        graph.load(conn, "bench")
    took = time.perf_counter() - t
    engine.dispose()
    return took


def record_one(url: str, n: int) -> list[float]:
    from merger.events import Spec
    from merger.register import Register

    reg = Register.open(url, build=False)
    snap = reg.snapshot
    communes = sorted((v for v in snap.valid_on(date(2026, 1, 1)) if v.level == "commune"), key=lambda v: v.code)
    out = []
    for i, v in enumerate(communes[:n]):
        t = time.perf_counter()
        reg.record(Spec("rename", date(2026, 1, 1), units=[v.key], to=f"Thử Nghiệm {i}", act="BENCH/1",
                        clause=str(i)), by="bench")
        out.append(time.perf_counter() - t)
    reg.close()
    return out


def size_pg(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    return f"{total / 1e6:.1f} MB"


def replicated(folder: Path, times: int) -> Path:
    """The bundle repeated ``times`` times with distinct keys, codes and act numbers (synthetic)."""
    from merger import bundle

    src = bundle.units_dir()
    rows = {name: bundle.read(src, name) for name in bundle.BUNDLE_FILES}
    key_fields = {"versions": ("key", "unit", "parent_unit"), "events": ("key",),
                  "links": ("event", "predecessor", "successor"), "statistics": ("version",)}
    folder.mkdir(parents=True, exist_ok=True)
    for name, found in rows.items():
        out = list(found)  # the acts once; every other table once per copy
        for copy in range(1, times if name != "acts" else 1):
            for row in found:
                row = dict(row)
                for field in key_fields.get(name, ()):
                    if row.get(field):
                        row[field] = f"x{copy}-{row[field]}"
                if name == "versions":
                    row["code"] = f"{row['code']}x{copy}"
                out.append(row)
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(found[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(out)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scale", type=int, default=0, help="also time a synthetic register this many times larger")
    args = parser.parse_args()
    from merger import store

    servers = ExitStack()
    try:
        base = servers.enter_context(testpg.server())
    except testpg.Unavailable as exc:
        sys.exit(f"no PostgreSQL: {exc}")
    tmp = Path(tempfile.mkdtemp())
    made: list[str] = []
    try:
        pg_loads, sq_loads = [], []
        for i in range(3):
            url = testpg.create_database(base, "bench")
            made.append(url)
            pg_loads.append(load(url))
            sq_loads.append(load(f"sqlite:///{tmp / f'b{i}.sqlite'}"))
        line("load national bundle into PostgreSQL (library)", pg_loads, "target <= 15 s")
        line("load national bundle into SQLite (library)", sq_loads)
        fresh = testpg.create_database(base, "bench")
        made.append(fresh)
        line("merger --db postgresql+psycopg://... init (end to end)", timed(lambda: cli(fresh, "init"), 1),
             "target <= 15 s")
        pg, sq = made[0], str(tmp / "b0.sqlite")
        for db in (pg, sq):
            cli(db, "counts")  # warm the snapshot cache, as any first command does
        for label, db in (("PostgreSQL", pg), ("SQLite", sq)):
            line(f"merger lineage \"An Lư\" ({label}, end to end)", timed(lambda db=db: cli(db, "lineage", "An Lư"),
                                                                            args.runs))
            line(f"merger counts ({label}, end to end)", timed(lambda db=db: cli(db, "counts"), args.runs))
            line(f"merger counts --within \"Hải Phòng\" ({label}, end to end)",
                 timed(lambda db=db: cli(db, "counts", "--within", "Hải Phòng"), args.runs))
        line("snapshot rebuilt from PostgreSQL (after a write; library)",
             timed(lambda: snapshot_from_db(pg), 3))
        line("snapshot rebuilt from SQLite (after a write; library)",
             timed(lambda: snapshot_from_db(f"sqlite:///{sq}"), 3))
        line("record one event on PostgreSQL (validate + write; library)", record_one(pg, args.runs))
        line("record one event on SQLite (validate + write; library)", record_one(f"sqlite:///{sq}", args.runs))
        print(f"sizes: PostgreSQL database {size_pg(pg)}, SQLite file {Path(sq).stat().st_size / 1e6:.1f} MB")
        if args.scale:
            folder = replicated(tmp / "scaled", args.scale)
            versions = sum(1 for _ in (folder / "versions.csv").open(encoding="utf-8")) - 1
            url = testpg.create_database(base, "scaled")
            made.append(url)
            line(f"load {versions:,} versions (x{args.scale}, synthetic) into PostgreSQL", [load(url, folder)])
            line(f"load {versions:,} versions (x{args.scale}, synthetic) into SQLite",
                 [load(f"sqlite:///{tmp / 'scaled.sqlite'}", folder)])
            line(f"snapshot rebuilt from PostgreSQL (x{args.scale})", timed(lambda: snapshot_from_db(url), 1))
            line(f"snapshot rebuilt from SQLite (x{args.scale})",
                 timed(lambda: snapshot_from_db(f"sqlite:///{tmp / 'scaled.sqlite'}"), 1))
            cli(url, "counts")
            line(f"merger counts (x{args.scale}, PostgreSQL, warm cache)", timed(lambda: cli(url, "counts"), 3))
            line(f"merger lineage \"An Lư\" (x{args.scale}, PostgreSQL, warm cache)",
                 timed(lambda: cli(url, "lineage", "11533@..2025-06-30"), 3))
            print(f"sizes x{args.scale}: PostgreSQL database {size_pg(url)}, "
                  f"SQLite file {(tmp / 'scaled.sqlite').stat().st_size / 1e6:.1f} MB")
        print(f"\nmachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, store schema {store.SCHEMA_VERSION}")
    finally:
        for url in made:
            testpg.drop_database(url)
        shutil.rmtree(tmp, ignore_errors=True)
        servers.close()


if __name__ == "__main__":
    main()
