"""Speed of `merger apply` on big annexes, on a copy of the national register: prints figures.

Run: .venv/bin/python benchmarks/bench_apply.py [--sizes 1000,3000,10000]
Each annex establishes N clearly fictional villages ("Thôn Thử N") under real communes and
renames every second one, in one transaction (the write lock is held for all of it). Target
(issue 10, item 16): 10,000 events <= 10 s on SQLite, time growing linearly with N. The copy is
thrown away; nothing fictional reaches a real register.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path


def annex_file(folder: Path, communes: list[str], n: int) -> Path:
    path = folder / f"bench-{n}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["event", "units", "into", "to", "type", "parent", "effective"])
        made = 0
        i = 0
        while made < n:
            parent = communes[i % len(communes)]
            out.writerow(["establish", "", f"Thôn Thử {i}", "", "thôn", parent, "2025-09-01"])
            made += 1
            if made < n and i % 2 == 0:
                out.writerow(["rename", f"{parent}.thu-{i}", "", f"Thôn Thử Mới {i}", "", "", "2025-10-01"])
                made += 1
            i += 1
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,3000,10000")
    args = parser.parse_args()
    from merger import annex
    from merger.register import Register

    tmp = Path(tempfile.mkdtemp())
    try:
        base = tmp / "national.sqlite"
        Register.open(str(base)).close()
        reg = Register.open(str(base))
        communes = sorted(v.code for v in reg.snapshot.valid_on(date(2025, 9, 1)) if v.level == "commune")
        reg.close()
        for n in (int(x) for x in args.sizes.split(",")):
            path = tmp / f"copy-{n}.sqlite"
            shutil.copy(base, path)
            reg = Register.open(str(path))
            _ = reg.snapshot
            file = annex_file(tmp, communes, n)
            t = time.perf_counter()
            out = annex.apply(reg, file, by="bench")
            took = time.perf_counter() - t
            assert out.written and len(out.events) == n
            print(f"apply {n:>6,} events on SQLite (one transaction)   {took:7.2f} s   "
                  f"{took / n * 1000:6.2f} ms/event   target: 10,000 <= 10 s")
            reg.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
