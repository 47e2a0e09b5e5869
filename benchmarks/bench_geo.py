"""Speed of the boundary commands on the real national layer: prints figures (no pass/fail).

Run: .venv/bin/python benchmarks/bench_geo.py [--runs N] [--points N]
Measures end to end in fresh processes (median of N runs, after one warm-up that builds the
register and its snapshot cache), wall-clock and CPU (user + system of the child, which a busy
shared machine inflates less than wall-clock): `merger boundaries check` for Hải Phòng and for
the whole country, `merger locate` (one point), `merger map` (a unit, the 34 provinces, a
province's communes), and batch location through `merger locate --file` and the library, with
points spread over the whole mainland's box (about a quarter fall on land).
Targets (issues 4 and 14): national check <= 60 s, locate <= 0.5 s, batch >= 50,000 points/s,
map <= 5 s.

`--batch-only` measures only `locate --file`; `--compare SRC` runs it alternately with the code
in SRC (e.g. `git archive <commit> | tar -x -C /tmp/before`, then `--compare /tmp/before/src`)
in the same rounds, for a paired before/after figure on a busy machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

MERGER = [sys.executable, "-m", "merger"]


def cli(db: Path, *args: str, ok: tuple[int, ...] = (0,), src: str | None = None) -> None:
    env = {**os.environ, "COLUMNS": "100", **({"PYTHONPATH": src} if src else {})}
    done = subprocess.run([*MERGER, "--db", str(db), *args], capture_output=True, env=env)
    if done.returncode not in ok:
        raise SystemExit(f"merger {' '.join(args)} failed: {done.stderr.decode()[:300]}")


CPU: list[float] = []  # CPU seconds of the child processes of the last timed() call


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    CPU.clear()
    for _ in range(runs):
        t, c = time.perf_counter(), _child_cpu()
        fn()
        out.append(time.perf_counter() - t)
        CPU.append(_child_cpu() - c)
    return out


def line(label: str, values: list[float], target: str) -> None:
    print(f"{label:<58} median {statistics.median(values):6.2f} s  (min {min(values):.2f}, "
          f"max {max(values):.2f}; CPU {statistics.median(CPU):.2f} s; target {target})")


MAINLAND = (102.2, 8.5, 109.5, 23.4)  # lon/lat box of mainland Vietnam


def points(n: int, path: Path) -> None:
    """n pseudo-random points over the box of mainland Vietnam (reproducible)."""
    import random

    rnd = random.Random(4)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "lon", "lat"])
        for i in range(n):
            w.writerow([i, round(rnd.uniform(MAINLAND[0], MAINLAND[2]), 6),
                        round(rnd.uniform(MAINLAND[1], MAINLAND[3]), 6)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--batch-only", action="store_true", help="only merger locate --file")
    parser.add_argument("--compare", metavar="SRC", help="also run the batch with the code in SRC (paired)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "register.sqlite"
        t = time.perf_counter()
        cli(db, "init")
        cli(db, "counts")  # writes the snapshot cache
        print(f"(register built in {time.perf_counter() - t:.1f} s; {os.cpu_count()} CPUs; load average "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())})")
        if not args.batch_only:
            line('merger boundaries check --within "Hải Phòng"',
                 timed(lambda: cli(db, "boundaries", "check", "--within", "Hải Phòng", "--as-of", "2025-07-01",
                                   ok=(0, 1)), args.runs), "<= 5 s")
            line("merger boundaries check (the whole country)",
                 timed(lambda: cli(db, "boundaries", "check", "--as-of", "2025-07-01", ok=(0, 1)), max(1, args.runs // 3)),
                 "<= 60 s")
            line("merger locate 106.6683 20.8651",
                 timed(lambda: cli(db, "locate", "106.6683", "20.8651", "--as-of", "2025-07-01"), args.runs), "<= 0.5 s")
            line("merger locate 106.7009 10.7769 (Sài Gòn)",
                 timed(lambda: cli(db, "locate", "106.7009", "10.7769", "--as-of", "2025-07-01"), args.runs), "<= 0.5 s")
            line("merger locate 106.6683 20.8651 --as-of 2025-06-30 (old units)",
                 timed(lambda: cli(db, "locate", "106.6683", "20.8651", "--as-of", "2025-06-30"), args.runs), "<= 0.5 s")
            line('merger map "Phường Hồng Bàng" --out x.png',
                 timed(lambda: cli(db, "map", "Phường Hồng Bàng", "--out", str(Path(tmp) / "m.png")), args.runs),
                 "<= 5 s")
            line('merger map "Đặc khu Cát Hải" --out x.png (96 islands)',
                 timed(lambda: cli(db, "map", "Đặc khu Cát Hải", "--out", str(Path(tmp) / "c.png")), args.runs),
                 "<= 5 s")
            line('merger map --within "Việt Nam" (34 provinces)',
                 timed(lambda: cli(db, "map", "--within", "Việt Nam", "--as-of", "2025-07-01", "--out",
                                   str(Path(tmp) / "vn.png")), args.runs), "<= 5 s")
            line('merger map --level commune --within "Hải Phòng"',
                 timed(lambda: cli(db, "map", "--level", "commune", "--within", "Hải Phòng", "--as-of", "2025-07-01",
                                   "--out", str(Path(tmp) / "hp.png")), args.runs), "<= 5 s")
        pts = Path(tmp) / "points.csv"
        points(args.points, pts)
        for day in ("2025-07-01", "2025-06-30"):
            runs = max(1, args.runs // 2) if not args.batch_only else args.runs
            codes = [("", None)] + ([(f" [code in {args.compare}]", args.compare)] if args.compare else [])
            for _label, src in codes:  # one warm-up each: the caches and notes each code keeps
                cli(db, "locate", "--file", str(pts), "--out", str(Path(tmp) / "o.csv"), "--as-of", day, src=src)
            pairs: dict[str, tuple[list[float], list[float]]] = {}
            for _ in range(runs):  # alternately, in the same rounds
                for label, src in codes:
                    wall = timed(lambda day=day, src=src: cli(db, "locate", "--file", str(pts), "--out",
                                                              str(Path(tmp) / "o.csv"), "--as-of", day, src=src), 1)
                    got = pairs.setdefault(label, ([], []))
                    got[0].extend(wall)
                    got[1].extend(CPU)
            for label, (walls, cpus) in pairs.items():
                med, cpu = statistics.median(walls), statistics.median(cpus)
                print(f"merger locate --file ({args.points:,} points, {day}){label}, end to end: {med:6.2f} s = "
                      f"{args.points / med:,.0f} points/s; CPU {cpu:.2f} s = {args.points / cpu:,.0f} points per "
                      f"CPU-second (target >= 50,000)")
        if args.batch_only:
            print(f"(load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
            return

        # the library alone: index built once, then points only
        from merger import boundaries
        from merger.register import Register

        reg = Register.open(str(db))
        b = boundaries.load(reg)
        import random

        rnd = random.Random(5)
        lons = [rnd.uniform(MAINLAND[0], MAINLAND[2]) for _ in range(args.points)]
        lats = [rnd.uniform(MAINLAND[1], MAINLAND[3]) for _ in range(args.points)]
        for day in (date(2025, 7, 1), date(2025, 6, 30)):
            loc = boundaries.locator(reg, as_of=day, boundaries=b)
            values = timed(lambda loc=loc: loc.locate_many(lons, lats), max(1, args.runs // 2))
            med = statistics.median(values)
            print(f"library Locator.locate_many ({args.points:,} points, {day}): {med:6.3f} s = "
                  f"{args.points / med:,.0f} points/s")
        values = timed(lambda: boundaries.check(reg, as_of=date(2025, 7, 1), within="Hải Phòng"), args.runs)
        print(f"library boundaries.check (Hải Phòng, fresh boundary set each time): "
              f"{statistics.median(values):.2f} s")
        t = time.perf_counter()
        boundaries.check(reg, as_of=date(2025, 7, 1), boundaries=b)
        print(f"library boundaries.check (the whole country, 2025-07-01): {time.perf_counter() - t:.1f} s")
        print(f"(load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    main()
