"""In-process cost of validating one event: on its neighbourhood vs on the whole register; prints figures.

Run: .venv/bin/python benchmarks/bench_write.py --keep /tmp/bench [--factors 1,10] [--runs 3]

Uses the registers benchmarks/scale.py builds (x1.sqlite, x10.sqlite in --keep, built if absent).
For one real event (a rename of Phường Hòa Bình, Hải Phòng) it times, inside one read
transaction, ``plan_all`` with scope "neighbourhood" (what a write does now) and "whole" (what it
did before issue 12), and prints the versions each read; then ``Register.record`` whole
(plan outside the lock, lock, check the generation, insert) on a copy. Nothing is written to the
registers themselves.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scale  # noqa: E402


def main() -> None:
    from merger import store
    from merger.events import Spec
    from merger.recording import db as write_db
    from merger.recording.writer import plan_all
    from merger.register import Register

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--factors", default="1,10")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", default=tempfile.mkdtemp())
    args = ap.parse_args()
    folder = Path(args.keep)
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime(2026, 2, 1, tzinfo=UTC)
    for factor in (int(x) for x in args.factors.split(",")):
        db = folder / f"x{factor}.sqlite"
        if not db.exists():
            scale.build(str(db), factor)
        copy = folder / f"write-x{factor}.sqlite"
        shutil.copy(db, copy)
        reg = Register.open(str(copy))
        spec = Spec("rename", date(2027, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Hòa Bình Đo",
                    act="BENCH/1")
        for scope in ("neighbourhood", "whole"):
            times, report = [], {}
            for _ in range(args.runs):
                with write_db.connect(reg) as conn:  # the write path's own connection (stdlib sqlite3)
                    conn.begin_read()
                    t = time.perf_counter()
                    plan_all(conn, [spec], now, "bench", scope=scope, report=report)
                    times.append(time.perf_counter() - t)
                    conn.rollback()
            print(f"{factor}x validate one rename on the {scope:<13}: {statistics.median(times):7.3f} s median "
                  f"(min {min(times):.3f}, n={len(times)}), versions read: {report.get('versions', 'all')}")
        times = []
        for i in range(args.runs):
            one = Spec("rename", date(2027, 1, 1 + i), units=["Phường Hòa Bình, Hải Phòng" if i == 0 else f"Phường Đo {i - 1}"],
                       to=f"Phường Đo {i}", act=f"BENCH/{i}")
            t = time.perf_counter()
            reg.record(one, by="bench")
            times.append(time.perf_counter() - t)
        print(f"{factor}x Register.record one rename (library, whole write): {statistics.median(times):7.3f} s median "
              f"(min {min(times):.3f}, n={len(times)})")
        reg.close()
        store.remove_sqlite(f"sqlite:///{copy}")


if __name__ == "__main__":
    main()
