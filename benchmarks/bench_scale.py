"""How the cost of each command grows with the register's size (issue 12); prints figures only.

Run: .venv/bin/python benchmarks/bench_scale.py [--factors 1,10,100] [--runs 5] [--pg URL] [--peers]

For each size (benchmarks/scale.py builds it once), every task runs as a user runs it: a fresh
process, whole, in paired rounds (each round runs every task once, in the same order, so a
slow moment of this shared machine hits all of them), median of the rounds. Each is printed
beside the floor: a stdlib ``sqlite3`` query giving the same answer as ``lineage "An Lư"`` on
the same file (interpreter start included). ``record`` renames one real ward again and again
(dates a day apart) on the benchmark copy; "first read after write" is the next command after a
record. Peak memory (max RSS) of ``lineage`` comes from /usr/bin/time when present.

--peers (at 1x) resolves the 10,035 old-commune addresses of the NSO list with ``merger resolve
--file`` and, in the same rounds, with the peers vietnamadminunits 1.0.4 and
vietnam-address-converter 1.0.5 (PyPI; ``pip install -e '.[bench]'``), each a whole process.
Ours four ways: with the notes current (the same command run once before, not timed: the
rounds may record events); the same addresses without marks in lower case, the note of answers
by spelling removed before each run (a first run of a spelling not seen before: the names
noted for the generation answer); and with both notes
removed before each run (as the first run after a write, which notes the names again); and
after a rename recorded before each run (not timed), the first run after a real write (the
names note of the generation before carried across it, merger.resolve_carry).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCES = ROOT.parent / "shared" / "data" / "sources"
sys.path.insert(0, str(HERE))

import scale  # noqa: E402

PY = sys.executable
FLOOR = ("import sqlite3, sys\n"
         "con = sqlite3.connect(sys.argv[1])\n"
         "print(con.execute(\"SELECT s.full_name, s.key FROM version p JOIN link l ON l.predecessor_id = p.id \"\n"
         "                  \"JOIN version s ON s.id = l.successor_id WHERE p.name = 'An Lư'\").fetchall())\n")
PEER_VAU = ("import sys\nfrom vietnamadminunits import convert_address\n"
            "for line in open(sys.argv[1], encoding='utf-8').read().splitlines()[1:]:\n"
            "    try:\n        convert_address(line.strip('\"'))\n    except Exception:\n        pass\n")
PEER_VAC = ("import sys\nfrom vietnam_address_converter import convert_address_text\n"
            "for line in open(sys.argv[1], encoding='utf-8').read().splitlines()[1:]:\n"
            "    try:\n        convert_address_text(line.strip('\"'))\n    except Exception:\n        pass\n")


CPU: dict[str, list[float]] = {}  # label -> CPU seconds (user + sys) of each run, beside the wall clock


def run(cmd: list[str], env: dict[str, str], label: str | None = None) -> float:
    """Wall-clock seconds of one whole process; its CPU time is kept under ``label`` (on a shared,
    loaded machine the CPU time is what the command itself costs)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if label is not None:
        CPU.setdefault(label, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def peak_mb(cmd: list[str], env: dict[str, str]) -> float | None:
    if not shutil.which("time") and not Path("/usr/bin/time").exists():
        return None
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], check=True, capture_output=True, text=True, env=env)
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def import_times(db: str, env: dict[str, str], args: tuple[str, ...] = ("lineage", "An Lư")) -> list[tuple[int, str]]:
    """(cumulative µs, module) of the top-level imports of `merger lineage` (or ``args``), largest first."""
    out = subprocess.run([PY, "-X", "importtime", "-m", "merger", "--db", db, *args],
                         capture_output=True, text=True, env=env, check=False)
    found = []
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)  # top level: no indent
        if m:
            found.append((int(m.group(1)), m.group(2)))
    return sorted(found, reverse=True)


AFTER_WRITE = "resolve --file, first run after a write"


def notes_current(resolve: list[str], env: dict[str, str]) -> object:
    """Before each run, not timed: the same command once (where the rounds record events, the
    notes of the register's generation are then current, as the label says); then the command."""
    def cmd() -> list[str]:
        subprocess.run(resolve, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        return resolve
    return cmd


def chain_end(target: str, prefix: str, start: date, first: str) -> tuple[list[date], list[str]]:
    """Where a chain of bench renames stands on ``target``: the day of its last rename and the
    name to rename next (a register kept from an earlier run, ``--keep``, has renamed ``first``
    already; renaming it again on the same days would be refused)."""
    from merger.register import Register

    reg = Register.open(target)
    try:
        last = max((v for v in reg.snapshot.versions.values() if v.name.startswith(prefix.split(" ", 1)[1])
                    and v.full_name.startswith(prefix) and v.valid_to is None and v.valid_from is not None),
                   key=lambda v: v.valid_from, default=None)  # type: ignore[arg-type, return-value]
    finally:
        reg.close()
    if last is None:
        return [start], [first]
    return [max(start, last.valid_from)], [f"{last.full_name}, Hải Phòng"]  # type: ignore[type-var]


def resolve_on(target: str, texts: Path, out: Path) -> list[str]:
    return [PY, "-m", "merger", "--db", target, "resolve", "--column", "dia_chi", "--out", str(out), "--file", str(texts)]


def after_write(target: str, resolve: list[str], env: dict[str, str]) -> object:
    """Before each run, not timed: a rename recorded on ``target`` (a ward of its own, a day later
    each time, before today, so the answers on today change); then the command: the first
    ``resolve --file`` after a write (the names note of the generation before carried across it,
    where the code does so). The first call resolves once before, so a note exists to carry."""
    day, names = chain_end(target, "Phường Đo Ghi ", date(2025, 8, 1), "Phường Thủy Nguyên, Hải Phòng")

    def cmd() -> list[str]:
        quiet = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        if len(names) == 1:
            subprocess.run(resolve, **quiet)  # type: ignore[call-overload]
        day[0] += timedelta(days=1)
        new = f"Phường Đo Ghi {day[0]:%Y%m%d}"
        subprocess.run([PY, "-m", "merger", "--db", target, "record", "rename", names[-1], "--to", new, "-e",
                        day[0].isoformat(), "--act", f"BENCH-R/{day[0]:%Y%m%d}", "--by", "bench"], **quiet)  # type: ignore[call-overload]
        names.append(new)
        return resolve
    return cmd


def measure(db: str, runs: int, env: dict[str, str], *, sqlite: bool, peers: bool, only: list[str] | None = None,
            before: str | None = None, before_db: str | None = None, steady: str = "An Lư") -> None:
    """``only``: run just the tasks whose label holds one of these words (the floor always);
    ``before``: also run each merger task with the code of that source tree (its ``src`` first on
    PYTHONPATH), in the same rounds, labelled "before:", on ``before_db`` if given (the same
    register at the schema that code reads); ``steady``: a search text whose answer does not grow
    with the register's size (the scaled copies are named "<name> k")."""
    def merger_tasks(target: str) -> dict[str, object]:
        """The merger tasks on ``target``; each set renames its own chain of wards."""
        merger = [PY, "-m", "merger", "--db", target]
        day, names = chain_end(target, "Phường Thử Đo ", date(2026, 1, 1), "Phường Hòa Bình, Hải Phòng")

        def record() -> list[str]:
            day[0] += timedelta(days=1)
            new = f"Phường Thử Đo {day[0]:%Y%m%d}"
            cmd = [*merger, "record", "rename", names[-1], "--to", new, "-e", day[0].isoformat(),
                   "--act", f"BENCH/{day[0]:%Y%m%d}", "--by", "bench"]
            names.append(new)
            return cmd

        return {
            'lineage "An Lư"': [*merger, "lineage", "An Lư"],
            'show "An Lư"': [*merger, "show", "An Lư"],
            'search "An Lư"': [*merger, "search", "An Lư"],
            # the same answer at every size: the names holding "an lu", in the last copy (N-1) at Nx
            f'search "{steady}" (answer flat with size)': [*merger, "search", steady],
            'counts --within "Hải Phòng"': [*merger, "counts", "--within", "Hải Phòng"],
            'units --within "Hải Phòng"': [*merger, "units", "--within", "Hải Phòng"],
            "counts (national)": [*merger, "counts"],
            "check": [*merger, "check"],
            "crosswalk --csv (national)": [*merger, "crosswalk", "--csv"],
            "record one event (rename)": record,
            "first read after write: lineage of it": lambda: [*merger, "lineage", names[-1]],
            "then counts --within (its territory read)": [*merger, "counts", "--within", "Hải Phòng"],
        }

    merger = [PY, "-m", "merger", "--db", db]
    tasks: dict[str, object] = {}
    if sqlite:
        tasks["floor: sqlite3 query (An Lư's successors)"] = [PY, "-c", FLOOR, db]
    tasks |= merger_tasks(db)
    if only:
        chosen = [k for i, k in enumerate(tasks) if (sqlite and i == 0) or any(w in k for w in only)]
        if any(k.startswith("first read after write") for k in chosen):  # it reads what the record wrote
            chosen.append("record one event (rename)")
        tasks = {k: v for k, v in tasks.items() if k in chosen}
    envs = {k: env for k in tasks}
    texts = None
    again: dict[str, Callable[[str], object]] = {}  # label -> the task made for a register (--db)
    if peers and (SOURCES / "units_old" / "gso_ward_2025-07-18.csv").exists():
        with (SOURCES / "units_old" / "gso_ward_2025-07-18.csv").open(encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
        texts = Path(tempfile.mkdtemp()) / "addresses.csv"
        with texts.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["dia_chi"])
            for r in rows:
                w.writerow([f"{r['Tên']}, {r['Quận Huyện']}, {r['Tỉnh / Thành Phố']}"])
        out = texts.with_name("out.csv")
        # The same addresses without marks, in lower case ("xa hoa binh, huyen vinh bao, ..."): a
        # spelling whose answers are not noted.
        from merger.names import fold

        plain = texts.with_name("addresses-plain.csv")
        with plain.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["dia_chi"])
            for r in rows:
                w.writerow([", ".join(fold(r[k]) for k in ("Tên", "Quận Huyện", "Tỉnh / Thành Phố"))])
        cached = Path(db + ".snapshot") if sqlite else None

        def first_run(path: Path, *suffixes: str) -> Callable[[str], object]:
            """The command on a register, after removing its notes named (a first run: nothing
            noted for it); made for each register (the "before:" runs have their own)."""
            def on(target: str) -> object:
                def cmd() -> list[str]:
                    for suffix in suffixes:
                        Path(target + ".snapshot" + suffix).unlink(missing_ok=True)
                    return resolve_on(target, path, out)
                return cmd
            return on

        tasks[f"resolve --file ({len(rows):,} old-commune addresses), notes current"] = \
            notes_current(resolve_on(db, texts, out), env)
        if cached is not None:
            again["resolve --file, first run of a new spelling (no marks)"] = first_run(plain, ".resolve")
            again["resolve --file, no notes (the first run after a write)"] = first_run(texts, ".resolve", ".resolve-names")
            again[AFTER_WRITE] = lambda target, e=env: after_write(target, resolve_on(target, texts, out), e)
            tasks |= {label: make(db) for label, make in again.items()}
        tasks["peer vietnamadminunits 1.0.4, same addresses"] = [PY, "-c", PEER_VAU, str(texts)]
        tasks["peer vietnam-address-converter 1.0.5, same addresses"] = [PY, "-c", PEER_VAC, str(texts)]
    if before:
        old_env = {**env, "PYTHONPATH": str(Path(before) / "src")}
        # A register of an older schema where the new code migrated this one (an older program
        # refuses a newer schema), and whose snapshot cache is of the older format (else every
        # run of each would rewrite the other's); else the same register.
        old_db = before_db or db
        old_tasks = merger_tasks(old_db)
        for label, cmd in list(tasks.items()):
            if label.startswith(("floor", "peer")):
                continue
            if label == AFTER_WRITE:  # its own chain of renames, on the earlier code's register
                cmd = after_write(old_db, resolve_on(old_db, texts, out), old_env)  # type: ignore[arg-type]
            elif label.endswith(", notes current"):
                cmd = notes_current(resolve_on(old_db, texts, out), old_env)  # type: ignore[arg-type]
            elif label in again:  # its notes removed beside the earlier code's register, not this one's
                cmd = again[label](old_db)
            elif label in old_tasks:
                cmd = old_tasks[label]
            elif not callable(cmd):
                cmd = [old_db if x == db else x for x in cmd]  # type: ignore[union-attr]
            tasks["before: " + label] = cmd
            envs["before: " + label] = old_env
    for label, cmd in tasks.items():  # warm-up round (the cache file, the OS page cache); not counted
        if not callable(cmd):
            run(cmd, envs.get(label, env))  # type: ignore[arg-type]
    times: dict[str, list[float]] = {k: [] for k in tasks}
    for i in range(runs):
        for label, cmd in tasks.items():
            if label.startswith("peer vietnam-address-converter") and i >= 1:
                continue  # ~40 s a run: one paired round
            times[label].append(run(cmd() if callable(cmd) else cmd, envs.get(label, env), label))  # type: ignore[operator,arg-type]
    floor = statistics.median(next(iter(times.values()))) if sqlite else None
    floor_cpu = statistics.median(CPU[next(iter(times))]) if sqlite else None
    for label, values in times.items():
        med = statistics.median(values)
        ratio = f"{med / floor:5.1f}x floor" if floor else ""
        cpu = statistics.median(CPU[label])
        cpu_ratio = f" = {cpu / floor_cpu:5.1f}x the floor's" if floor_cpu else ""
        print(f"  {label:<58} {med:8.3f} s median (min {min(values):.3f}, n={len(values)})  {ratio}; "
              f"CPU {cpu:.3f} s{cpu_ratio}")
    CPU.clear()
    if texts is not None:
        for label in (k for k in times if k.startswith("resolve --file")):
            ours = statistics.median(times[label])
            for k in times:
                if k.startswith("peer"):
                    print(f"  {label.split(' (')[0].split(', ', 1)[-1]}: {statistics.median(times[k]) / ours:.1f}x "
                          f"faster than {k.split(',')[0][5:]} (whole process, peer's data load included)")
    mb = peak_mb([*merger, "lineage", "An Lư"], env)
    if mb is not None:
        print(f"  peak memory of lineage (max RSS): {mb:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--factors", default="1,10", help="sizes, times the national register (default 1,10)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pg", help="a PostgreSQL server URL whose role may create databases (figures on PostgreSQL)")
    ap.add_argument("--peers", action="store_true", help="at 1x, resolve the addresses with both peers too")
    ap.add_argument("--pg-only", action="store_true", help="with --pg: skip the SQLite figures")
    ap.add_argument("--keep", help="folder to build the registers in (kept; default: a temporary one)")
    ap.add_argument("--only", help="comma-separated words: run only the tasks whose label holds one (e.g. record,after)")
    ap.add_argument("--before", help="a source tree of an earlier merger (e.g. from git archive): paired 'before:' runs "
                    "(on SQLite, on x<N>.before.sqlite built by that tree's scale.py; x<N>.sqlite is then that "
                    "register upgraded by this code, when not there already)")
    args = ap.parse_args()
    only = [w.strip() for w in args.only.split(",") if w.strip()] if args.only else None
    folder = Path(args.keep or tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "COLUMNS": "100", "XDG_CACHE_HOME": str(folder / "cache"),
           "XDG_DATA_HOME": str(folder / "data")}
    # As installed for users: compiled modules are cached. Without this (PYTHONDONTWRITEBYTECODE
    # set in some shells and CI), every process compiles merger's ~30 modules again: 0.1-0.3 s.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "src")], check=False, stdout=subprocess.DEVNULL, env=env)
    for factor in (int(x) for x in args.factors.split(",")):
        db = folder / f"x{factor}.sqlite"
        old_db = folder / f"x{factor}.before.sqlite" if args.before and not args.pg_only else None
        if old_db is not None and not old_db.exists():  # built by the earlier code, at its schema
            subprocess.run([PY, str(Path(args.before) / "benchmarks" / "scale.py"), "--factor", str(factor),
                            "--out", str(old_db)], check=True, env={**env, "PYTHONPATH": str(Path(args.before) / "src")})
        if old_db is not None and not db.exists():  # the same register, migrated by this code
            shutil.copy(old_db, db)
            t = time.perf_counter()
            subprocess.run([PY, "-m", "merger", "--db", str(db), "db", "upgrade"], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            print(f"{factor}x SQLite: the earlier code's register upgraded in {time.perf_counter() - t:.1f} s")
        if args.pg_only:
            pass
        elif not db.exists():
            t = time.perf_counter()
            counts = scale.build(str(db), factor)
            print(f"{factor}x SQLite: built in {time.perf_counter() - t:.1f} s, {counts['version']:,} versions, "
                  f"{counts['link']:,} links, {db.stat().st_size / 1e6:.0f} MB")
        else:
            print(f"{factor}x SQLite: {db} (built before)")
        if not args.pg_only:
            measure(str(db), args.runs, env, sqlite=True, peers=args.peers and factor == 1, only=only,
                    before=args.before, before_db=str(old_db) if old_db is not None else None,
                    steady="An Lư" if factor == 1 else f"An Lư {factor - 1}")
        if factor == 1 and not args.pg_only and not only:
            top = import_times(str(db), env)
            print("  python -X importtime, merger lineage: " + ", ".join(f"{m} {us / 1000:.0f} ms" for us, m in top[:8]))
        if factor == 1 and not args.pg_only and (not only or "check" in only):
            top = import_times(str(db), env, ("check",))  # exits 1 on a register with violations
            print("  python -X importtime, merger check: " + ", ".join(f"{m} {us / 1000:.0f} ms" for us, m in top[:8]))
        if args.pg:
            sys.path.insert(0, str(ROOT / "tests"))
            import pg

            url = pg.create_database(args.pg, f"scale{factor}")
            old_url = None
            try:
                t = time.perf_counter()
                counts = scale.build(url, factor)
                print(f"{factor}x PostgreSQL: built in {time.perf_counter() - t:.1f} s")
                if args.before:  # the earlier code's rounds write (record) too: a copy of their own
                    old_url = pg.copy_database(url, f"before{factor}")
                measure(url, args.runs, env, sqlite=False, peers=False, only=only, before=args.before,
                        before_db=old_url, steady="An Lư" if factor == 1 else f"An Lư {factor - 1}")
            finally:
                pg.drop_database(url)
                if old_url is not None:
                    pg.drop_database(old_url)


if __name__ == "__main__":
    main()
