"""Many staff at once, on PostgreSQL and on SQLite: 8 writer processes record 25 decisions each while 2
reader processes query the register.

Real units: the Hải Phòng part of the bundle (114 communes after the reform). Each writer renames
its own communes; all 8 also try to merge the same commune, each into a different neighbour, at
the same moment: exactly one may win, the other 7 are refused with a clear message. Readers must
never see half of an event: every snapshot they read passes ``check()``, and the commune count
is 114 or 113 (before or after the one merge), never anything else.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

import pg
from merger import store
from merger.register import Register

WRITERS = 8
PER_WRITER = 25
READERS = 2
DAY = date(2026, 1, 1)
WAIT = 1800  # generous: a loaded CI machine is slow, and a writer queues (store.WRITE_WAIT_SECONDS) before BUSY

WRITER = r"""
import sys, time
from datetime import date
from pathlib import Path
from merger.register import Register
from merger.events import Spec
from merger.errors import MergerError

db, me, start, shared, target = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5]
mine = sys.argv[7:]
reg = Register.open(db, build=False)
(start.parent / f"ready{me}").touch()
while not start.exists():
    time.sleep(0.005)
ok = 0
for k in range(int(sys.argv[6])):  # each own commune renamed on 1 January, then again on 1 February...
    unit = mine[k % len(mine)]
    reg.record(Spec("rename", date(2026, 1 + k // len(mine), 1), units=[unit], to=f"Thử Nghiệm {me} {k}",
                    act=f"W{me}/2026", clause=str(k)), by=f"staff{me}")
    ok += 1
# The conflicting decision: everyone merges the same commune, each into a different unit.
try:
    reg.record(Spec("merge", date(2026, 1, 1), units=[shared], into=[target], act=f"M{me}/2026", clause="1"),
               by=f"staff{me}")
    print(ok, "merged")
except MergerError as exc:
    print(ok, "refused", str(exc).replace("\n", " "))
reg.close()
"""

READER = r"""
import sys, time
from datetime import date
from pathlib import Path
from merger.register import Register

db, stop = sys.argv[1], Path(sys.argv[2])
reg = Register.open(db, build=False)
reads = generations = 0
seen = set()
while True:
    last = stop.exists()
    snap = reg.snapshot
    if snap.generation not in seen:
        seen.add(snap.generation)
        problems = reg.check()
        assert problems == [], (snap.generation, problems[:3])
    communes = [v for v in snap.valid_on(date(2026, 1, 1)) if v.level == "commune"]
    assert len(communes) in (114, 113), len(communes)
    assert reg.counts(within="Hải Phòng").total("commune").before == 374
    reads += 1
    if last:
        break
reg.close()
print(reads, len(seen))
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def register(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Register]:
    if request.param == "sqlite":
        reg = pg.hai_phong_register(tmp_path)
        yield reg
        reg.close()
        return
    url = pg.create_database(request.getfixturevalue("pg_url"), "conc")
    reg = pg.hai_phong_register(tmp_path, url)
    yield reg
    reg.close()
    pg.drop_database(url)


def _scalar(reg: Register, sql: str):  # type: ignore[no-untyped-def]
    with reg.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def test_eight_writers_and_readers(register: Register, tmp_path: Path) -> None:
    snap = register.snapshot
    communes = sorted((v for v in snap.valid_on(DAY) if v.level == "commune"), key=lambda v: v.code)
    assert len(communes) == 114
    shared, targets = communes[0], communes[1:1 + WRITERS]
    own = communes[1 + WRITERS:]
    base_events = _scalar(register, "SELECT COUNT(*) FROM event")
    base_generation = int(_scalar(register, "SELECT value FROM meta WHERE key = 'generation'"))
    register.close()
    db = register.url if register.sqlite_path is None else str(register.sqlite_path)
    start, stop = tmp_path / "go", tmp_path / "stop"
    writers = [subprocess.Popen(
        [sys.executable, "-c", WRITER, db, str(i), str(start), shared.key, targets[i].key,
         str(PER_WRITER), *[v.code for v in own[i::WRITERS]]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(WRITERS)]
    readers = [subprocess.Popen([sys.executable, "-c", READER, db, str(stop)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(READERS)]
    deadline = time.monotonic() + WAIT
    while not all((tmp_path / f"ready{i}").exists() for i in range(WRITERS)):  # all have opened: go together
        assert time.monotonic() < deadline and all(p.poll() is None for p in writers), "writers did not start"
        time.sleep(0.01)
    start.touch()
    written = [p.communicate(timeout=WAIT) for p in writers]
    stop.touch()
    read = [p.communicate(timeout=WAIT) for p in readers]
    assert all(p.returncode == 0 for p in writers), [err[-800:] for _, err in written]
    assert all(p.returncode == 0 for p in readers), [err[-800:] for _, err in read]
    reads = [tuple(map(int, out.split())) for out, _ in read]  # (reads, generations seen) per reader
    print("readers (reads, generations seen):", reads)
    assert max(g for _, g in reads) >= 3, reads  # a reader saw the register between writes, not only before/after
    outcomes = [out.strip().split(" ", 2) for out, _ in written]
    assert all(int(o[0]) == PER_WRITER for o in outcomes)
    merged = [o for o in outcomes if o[1] == "merged"]
    refused = [o for o in outcomes if o[1] == "refused"]
    assert len(merged) == 1 and len(refused) == WRITERS - 1
    for o in refused:  # a clear message: which unit, and why
        assert shared.full_name in o[2] and "not in force on 2026-01-01" in o[2], o[2]
    new = WRITERS * PER_WRITER + 1
    assert _scalar(register, "SELECT COUNT(*) FROM event") == base_events + new
    assert _scalar(register, "SELECT COUNT(DISTINCT key) FROM event") == base_events + new
    assert _scalar(register, "SELECT COUNT(DISTINCT idem_key) FROM event WHERE idem_key IS NOT NULL") == new
    assert _scalar(register, "SELECT COUNT(*) FROM event e WHERE NOT EXISTS "
                             "(SELECT 1 FROM link l WHERE l.event_id = e.id)") == 0
    assert int(_scalar(register, "SELECT value FROM meta WHERE key = 'generation'")) == base_generation + new
    register.invalidate()
    assert register.check() == []
    snap = register.snapshot
    assert len([v for v in snap.valid_on(DAY) if v.level == "commune"]) == 113
    renamed = {v.name for day in (DAY, date(2026, 2, 1)) for v in snap.valid_on(day)} & {
        f"Thử Nghiệm {i} {k}" for i in range(WRITERS) for k in range(PER_WRITER)}
    assert len(renamed) == WRITERS * PER_WRITER
    assert {e.recorded_by for e in register.log()} == {f"staff{i}" for i in range(WRITERS)}
    if register.sqlite_path is None:
        with register.engine.connect() as conn:
            assert store.meta(conn)["generation"] == str(base_generation + new)
