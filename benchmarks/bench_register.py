"""Speed of the register on the national data: prints figures (no pass/fail).

Run: .venv/bin/python benchmarks/bench_register.py [--runs N]
Measures, on this machine: building the SQLite register from data/units/, `merger lineage`,
`merger counts` and `merger --help` end to end (fresh processes, median of N), and the full
crosswalk of all 10,035 old communes to all their successors through the library.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

MERGER = [sys.executable, "-m", "merger"]


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def cli(db: Path, *args: str) -> None:
    subprocess.run([*MERGER, "--db", str(db), *args], check=True, capture_output=True,
                   env={**os.environ, "COLUMNS": "100"})


def line(label: str, values: list[float], target: str) -> None:
    med = statistics.median(values)
    print(f"{label:<58} median {med:7.3f} s  (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
          f"  target {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    from merger import store
    from merger.register import Register

    tmp = Path(tempfile.mkdtemp())
    try:
        builds = []
        for i in range(3):
            path = tmp / f"b{i}.sqlite"
            t = time.perf_counter()
            Register.open(str(path)).close()
            builds.append(time.perf_counter() - t)
        line("build national register from data/units/ (library)", builds, "<= 5 s")
        db = tmp / "b0.sqlite"
        cli(db, "counts")  # warm the snapshot cache, as any first command does
        line("merger lineage \"An Lư\" (end to end)", timed(lambda: cli(db, "lineage", "An Lư"), args.runs), "<= 0.5 s")
        line("merger lineage \"Gia Viên, Ngô Quyền\" --json", timed(
            lambda: cli(db, "lineage", "Gia Viên, Ngô Quyền", "--json"), args.runs), "<= 0.5 s")
        line("merger counts (end to end)", timed(lambda: cli(db, "counts"), args.runs), "<= 1 s")
        line("merger counts --within \"Hải Phòng\" (end to end)",
             timed(lambda: cli(db, "counts", "--within", "Hải Phòng"), args.runs), "<= 1 s")
        help_run = [*MERGER, "--help"]  # exactly as typed: answered from the launcher's copy
        line("merger --help (end to end)", timed(lambda: subprocess.run(
            help_run, check=True, capture_output=True, env={**os.environ, "COLUMNS": "100"}), args.runs), "<= 0.15 s")
        line("merger --db X --help (rendered by typer)", timed(lambda: cli(db, "--help"), args.runs), "-")
        line("python -c 'import typer' (floor for any typer CLI)", timed(
            lambda: subprocess.run([sys.executable, "-c", "import typer"], check=True), args.runs), "-")

        reg = Register.open(str(db))
        snap = reg.snapshot
        old = [v for v in snap.valid_on(date(2025, 6, 30)) if v.level == "commune"]
        after = date(2025, 7, 1)

        def crosswalk() -> int:
            return sum(len(snap.descendants_on(v, after)) for v in old)

        pairs = crosswalk()
        line(f"crosswalk {len(old):,} old communes -> all successors ({pairs:,} pairs, library)",
             timed(crosswalk, args.runs), "<= 0.25 s")
        t = time.perf_counter()
        Register.open(str(db)).snapshot  # noqa: B018 — load the cached snapshot in a fresh Register
        print(f"{'snapshot load from cache (library)':<58} {time.perf_counter() - t:7.3f} s")
        print(f"\nmachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
              f"SQLite register {db.stat().st_size / 1e6:.1f} MB, store {store.SCHEMA_VERSION=}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
