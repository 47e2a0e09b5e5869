"""The write path (issue 10 item 17, issue 12): events are planned outside the write lock against
the register at generation G; under the lock the generation is read again and, if another writer
committed meanwhile, the events are planned again, so what was validated is what is committed.

A second writer commits *while* the first is planning (from the first one's progress callback,
which runs after its read and before its checks): that is only possible because planning holds no
lock, and the first writer must then see the second's event (no race, no lost update).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import count_rows
from merger import store
from merger.errors import MergerError, ValidationFailed
from merger.events import Spec
from merger.recording import corrections, db
from merger.recording.writer import plan_all
from merger.register import Register

DAY = date(2026, 1, 1)
HOA_BINH = "11533@2025-07-01"  # Phường Hòa Bình, Thành phố Hải Phòng (1669/NQ-UBTVQH15)
THUY_NGUYEN = "11560@2025-07-01"  # Phường Thủy Nguyên, Thành phố Hải Phòng


@pytest.fixture
def other(national_copy: Register) -> Iterator[Register]:
    """A second writer on the same register (another member of staff)."""
    reg = Register.open(national_copy.url if national_copy.sqlite_path is None else str(national_copy.sqlite_path))
    yield reg
    reg.close()


def _generation(reg: Register) -> int:
    with reg.engine.connect() as conn:
        return int(store.generation(conn))


def _meanwhile(action):  # type: ignore[no-untyped-def]
    """A progress callback that runs ``action`` once, at the first check (planning has read)."""
    done: list[bool] = []

    def progress(what: str, _i: int, _n: int) -> None:
        if what == "checking" and not done:
            done.append(True)
            action()
    return progress, done


def _contents(reg: Register) -> dict[str, list]:  # type: ignore[type-arg]
    """Every row of every table the write path touches, as committed now."""
    from merger.recording.tables import COLUMNS

    with db.connect(reg) as conn:
        conn.begin_read()
        found = {name: sorted(conn.query(f"SELECT * FROM {name} ORDER BY 1"), key=repr) for name in (*COLUMNS, "meta")}
        conn.rollback()
    return found


def test_a_conflicting_write_committed_while_planning_is_seen_and_refused(national_copy: Register,
                                                                          other: Register) -> None:
    """The first writer finds at its generation re-check (under the lock) that another writer
    committed, plans again, is refused — and changes nothing: every row is as the other left it."""
    events, gen = count_rows(national_copy, "event"), _generation(national_copy)
    seen: list[dict] = []  # type: ignore[type-arg]

    def meanwhile() -> None:
        other.record(Spec("rename", DAY, units=[HOA_BINH], to="Phường Hòa Bình Hai", act="2/NQ-THU", clause="1"),
                     by="staff2")
        seen.append(_contents(national_copy))

    progress, done = _meanwhile(meanwhile)
    with pytest.raises(ValidationFailed) as exc:
        national_copy.apply([Spec("rename", DAY, units=[HOA_BINH], to="Phường Hòa Bình Một", act="1/NQ-THU",
                                  clause="1")], by="staff1", progress=progress)
    assert done == [True]
    assert _contents(national_copy) == seen[0]  # the refused write left no row, no end date, no generation
    message = str(exc.value)
    assert "not in force on 2026-01-01 (it ended on 2025-12-31)" in message and "Phường Hòa Bình" in message, message
    assert count_rows(national_copy, "event") == events + 1  # the other writer's only
    assert _generation(national_copy) == gen + 1
    national_copy.invalidate()
    names = {v.name for v in national_copy.snapshot.by_unit[national_copy.snapshot.by_key[HOA_BINH].unit_id]}
    assert "Hòa Bình Hai" in names and "Hòa Bình Một" not in names


def test_an_unrelated_write_committed_while_planning_lets_both_through(national_copy: Register,
                                                                       other: Register) -> None:
    events, gen = count_rows(national_copy, "event"), _generation(national_copy)
    progress, done = _meanwhile(lambda: other.record(
        Spec("rename", DAY, units=[THUY_NGUYEN], to="Phường Thủy Nguyên Hai", act="2/NQ-THU", clause="1"),
        by="staff2"))
    out = national_copy.apply([Spec("rename", DAY, units=[HOA_BINH], to="Phường Hòa Bình Một", act="1/NQ-THU",
                                    clause="1")], by="staff1", progress=progress)
    assert done == [True] and out.written
    assert count_rows(national_copy, "event") == events + 2
    assert _generation(national_copy) == gen + 2
    national_copy.invalidate()
    snap = national_copy.snapshot
    assert {v.name for v in snap.valid_on(DAY)} >= {"Hòa Bình Một", "Thủy Nguyên Hai"}
    keys = [e.key for e in national_copy.log()]
    assert len(keys) == len(set(keys)) == 2  # the re-planned event got a key of its own


def test_a_dry_run_takes_no_lock_and_writes_nothing(national_copy: Register) -> None:
    events, gen = count_rows(national_copy, "event"), _generation(national_copy)
    out = national_copy.record(Spec("rename", DAY, units=[HOA_BINH], to="Phường Hòa Bình Một", act="1/NQ-THU",
                                    clause="1"), dry_run=True)
    assert not out.written and out.events
    assert count_rows(national_copy, "event") == events and _generation(national_copy) == gen


# --- a write validated on its neighbourhood is the write validated on the whole register ----------

NOW = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
LDTBXH = "Sở Lao động - Thương binh và Xã hội"
AGENCY = "sở và tương đương"


def _rows(drafts: list) -> list:  # type: ignore[type-arg]
    """What insert_drafts would write for ``drafts``, as comparable values."""
    def v(x):  # type: ignore[no-untyped-def]
        return None if x is None else (x.id, x.key, x.unit_id, x.code, x.name, x.full_name, x.type, x.level,
                                       x.parent_unit_id, x.valid_from, x.valid_to, x.evidence, x.source)
    out = []
    for d in drafts:
        ev = d.event
        out.append(((ev.key, ev.type, ev.effective, ev.act.number if ev.act else None, ev.clause, ev.note,
                     ev.source, ev.evidence, ev.recorded_by, d.spec.idem_key()),
                    sorted(d.new_units.items()), [v(x) for x in d.new_versions], [(x.key, x.valid_to) for x in d.ended],
                    [(v(lk.pred), v(lk.succ), lk.portion, lk.relation, lk.share, lk.share_basis) for lk in d.links],
                    [(c.event, c.unit, c.before, c.after) for c in d.changes]))
    return out


# The whole register as the reference reads it (cache.read_all: every row through SQL, ~0.7 s),
# kept per register and generation: a refused request, a dry run or a rolled-back plan leaves the
# register at its generation, so the next request's reference is the same rows. The planner works
# on a snapshot built from them (graph.from_tables transposes them into columns of its own), never
# on these rows. Two registers at most, one generation each (a test's copy, the session's register).
_WHOLE: dict[tuple[str, str], Any] = {}


@contextmanager
def _whole_read_once(conn) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """While planning on the whole register in ``conn``: cache.read_all answered from _WHOLE when
    this register was read whole at this generation (read in ``conn``'s own transaction) before."""
    from merger import cache

    read_all = cache.read_all
    key = (conn.url, str(conn.value("SELECT value FROM meta WHERE key = 'generation'") or "0"))

    def once(query):  # type: ignore[no-untyped-def]
        if key not in _WHOLE:
            for old in [k for k in _WHOLE if k[0] == key[0]] + list(_WHOLE)[:-1]:  # this register's
                _WHOLE.pop(old, None)  # earlier generation, and all but the last other register
            _WHOLE[key] = read_all(query)
        return _WHOLE[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "read_all", once)
        yield


def _outcome(conn, specs: list[Spec], scope: str, report: dict | None = None,  # type: ignore[no-untyped-def,type-arg]
             *, changed: bool = False):
    """The verdict and rows of planning ``specs`` in ``conn``; ``changed``: the transaction wrote
    before planning (its rows are not the generation's), so the whole register is read afresh."""
    try:
        if scope == "whole" and not changed:
            with _whole_read_once(conn):
                return "accepted", _rows(plan_all(conn, specs, NOW, "staff", scope=scope, report=report))
        return "accepted", _rows(plan_all(conn, specs, NOW, "staff", scope=scope, report=report))
    except ValidationFailed as exc:
        return "refused", str(exc)


def _same_both_ways(reg: Register, specs: list[Spec], *, before: Callable[[Any], Any] | None = None) -> tuple:
    """Plan ``specs`` on the neighbourhood and on the whole register, in one transaction each
    (``before``: a correction made first, in that transaction, then rolled back); both the same."""
    results, report = [], {}
    for scope in ("neighbourhood", "whole"):
        with db.connect(reg) as conn:
            conn.begin_write()
            try:
                if before is not None:
                    before(conn)
                results.append(_outcome(conn, specs, scope, report if scope == "neighbourhood" else None,
                                        changed=before is not None))
            finally:
                conn.rollback()
    near, whole = results
    assert near == whole
    return near[0], near[1], report


# Real units of Hải Phòng after 1 July 2025 (1669/NQ-UBTVQH15) and its departments; each step is
# planned both ways, compared, then written for real so that the next step sees it.
R = dict(act="77/NQ-HĐND", effective=date(2026, 1, 1))
R2 = dict(act="77/NQ-HĐND", effective=date(2026, 2, 1))
STEPS: list[tuple[str, list[Spec]]] = [
    ("rename", [Spec("rename", units=["Phường Hòa Bình, Hải Phòng"], to="Phường Hòa Bình Mới", clause="1", **R)]),
    ("merge (absorbed)", [Spec("merge", units=["Phường Hải Dương, Hải Phòng", "Phường Tân Hưng, Hải Phòng"], into=["Phường Thành Đông"],
                               clause="2", **R)]),
    ("merge (new unit)", [Spec("merge", units=["Phường Lê Thanh Nghị", "Phường Việt Hòa"],
                               into=["Phường Lê Thanh Nghị Việt Hòa"], clause="3", **R)]),
    ("split", [Spec("split", units=["Phường Chí Linh"], into=["Phường Chí Linh Bắc", "Phường Chí Linh Nam"],
                    codes={"Chí Linh Nam": "99903"}, shares={"Chí Linh Bắc": 0.6, "Chí Linh Nam": 0.4},
                    basis="area", clause="4", **R)]),
    ("transfer", [Spec("transfer", units=["Phường Chu Văn An"], to="Phường Nguyễn Trãi", shares={"": 0.25},
                       basis="population", clause="5", **R)]),
    ("reclassify", [Spec("reclassify", units=["Xã Nam Sách"], to="phường", clause="6", **R)]),
    ("establish", [Spec("establish", date(2008, 4, 1), into=[LDTBXH], unit_type=AGENCY, parent="Thành phố Hải Phòng",
                        evidence="inferred", note="established before the register's record")]),
    ("dissolve", [Spec("dissolve", date(2025, 3, 1), units=[LDTBXH], to="Sở Nội vụ")]),
    ("move", [Spec("move", units=["Xã Hợp Tiến, Hải Phòng"], parent="Thành phố Hà Nội", clause="7", **R)]),
    ("annex: later events see earlier ones", [
        Spec("rename", units=["Xã Trần Phú, Hải Phòng"], to="Xã Trần Phú Mới", clause="8", line=2, **R),
        Spec("reclassify", units=["Xã Trần Phú Mới"], to="phường", clause="9", line=3,
             act="77/NQ-HĐND", effective=date(2026, 2, 1)),
        Spec("merge", units=["Phường Trần Phú Mới", "Phường Trần Hưng Đạo, Hải Phòng"], into=["Phường Trần Nhân Tông"],
             clause="10", line=4, act="77/NQ-HĐND", effective=date(2026, 3, 1))]),
    # refused: each rule a single event can break
    ("not in force", [Spec("merge", units=["Phường Hải Dương, Hải Phòng"], into=["Phường Thành Đông"], clause="11",
                           **R2)]),
    ("already recorded", [Spec("rename", units=["Phường Hòa Bình, Hải Phòng"], to="Phường Hòa Bình Mới", clause="1",
                               **R)]),
    ("duplicate name", [Spec("rename", units=["Phường Thành Đông"], to="Phường Nguyễn Trãi", clause="12", **R2)]),
    ("duplicate code", [Spec("split", units=["Phường Lê Đại Hành"], into=["Phường Lê Đại Hành Bắc", "Phường Lê Đại Hành Nam"],
                             codes={"Lê Đại Hành Nam": "10546"}, clause="13", **R2)]),
    ("cycle", [Spec("merge", units=["Phường Nguyễn Trãi", "Phường Thành Đông"], into=["Phường Thành Đông"],
                    clause="14", **R2)]),
    ("orphans", [Spec("dissolve", units=["Thành phố Hải Phòng"], clause="15", **R2)]),
    ("before start", [Spec("rename", date(2025, 7, 1), units=["Phường Thành Đông"], to="Phường Đông", clause="16",
                           act="77/NQ-HĐND")]),
    ("shares", [Spec("transfer", units=["Phường Nguyễn Trãi"], to="Phường Thành Đông", shares={"": 1.0},
                     basis="area", clause="17", **R2)]),
    ("ambiguous", [Spec("rename", units=["Tân Hưng"], to="Tân Hưng Mới", clause="18", **R)]),
    ("not found (suggestions from every name)", [Spec("rename", units=["Phường Hòa Bìhn"], to="Phường X", clause="19",
                                                      **R)]),
    ("annex with a refused line", [
        Spec("rename", units=["Phường Nguyễn Trãi"], to="Phường Nguyễn Trãi Mới", clause="20", line=2, **R2),
        Spec("rename", units=["Phường Nguyễn Trãi"], to="Phường Nguyễn Trãi Khác", clause="21", line=3, **R2)]),
]


def test_every_event_type_plans_the_same_on_the_neighbourhood_as_on_the_whole_register(national_copy: Register) -> None:
    reg = national_copy
    total = count_rows(reg, "version")
    verdicts: dict[str, tuple[str, str]] = {}
    for name, specs in STEPS:
        verdict, detail, report = _same_both_ways(reg, specs)
        verdicts[name] = (verdict, report["scope"])
        events = count_rows(reg, "event")
        if verdict == "accepted":
            assert report["versions"] < total / 5, (name, report)  # a neighbourhood, not the register
            reg.apply(specs, by="staff", at=NOW)
        else:
            with pytest.raises(ValidationFailed) as exc:
                reg.apply(specs, by="staff", at=NOW)
            assert str(exc.value) == detail
            assert count_rows(reg, "event") == events
    accepted = [n for n, (v, _) in verdicts.items() if v == "accepted"]
    assert len(accepted) == 10, verdicts
    # a name that names nothing in force is answered with close names from the whole register
    wide = {"not found (suggestions from every name)", "annex with a refused line"}
    assert all(scope == "neighbourhood" for n, (_, scope) in verdicts.items() if n not in wide), verdicts
    assert verdicts["not found (suggestions from every name)"] == ("refused", "whole")
    assert reg.check() == []
    # corrections: a structural amendment re-plans (neighbourhood vs whole, after the same revoke)
    log = {e.key: e for e in reg.log()}
    first = next(e for e in reg.log() if e.type == "rename")
    amended = Spec.from_json(_spec_json(reg, first.key))
    amended.to = "Phường Hòa Bình Hai"
    verdict, _, report = _same_both_ways(
        reg, [amended], before=lambda conn: corrections._revoke(conn, first.key, "amend", "typo", "staff", NOW))
    assert verdict == "accepted" and report["scope"] == "neighbourhood", log
    reg.amend(first.key, {"to": "Phường Hòa Bình Hai"}, reason="typo", by="staff", at=NOW)
    reclassified = next(e for e in reg.log() if e.type == "reclassify")
    reg.revoke(reclassified.key, reason="wrong act", by="staff", at=NOW)
    again = [Spec("reclassify", units=["Xã Nam Sách"], to="phường", clause="22", **R)]  # possible again
    assert _same_both_ways(reg, again)[0] == "accepted"
    assert reg.check() == []


def _spec_json(reg: Register, key: str) -> str:
    from sqlalchemy import text

    with reg.engine.connect() as conn:
        return conn.execute(text("SELECT spec FROM event WHERE key = :k"), {"k": key}).scalar_one()


def test_the_writers_column_lists_match_the_model() -> None:
    """The plain column lists a write inserts through (merger.recording.tables) are the model's
    columns, and its dates and times are the model's Date and DateTime(timezone=True) columns."""
    from sqlalchemy import Date, DateTime
    from sqlmodel import SQLModel

    import merger.model  # noqa: F401  (registers the tables)
    from merger.recording.tables import COLUMNS, DATES, TIMES

    for name, columns in COLUMNS.items():
        model = SQLModel.metadata.tables[name]
        assert list(columns) == list(model.c.keys()), name  # every column, in the model's order
        for col in model.c:
            want = col.type
            assert (col.name in TIMES) == isinstance(want, DateTime), (name, col.name)
            assert (col.name in DATES) == (isinstance(want, Date) and not isinstance(want, DateTime)), (name, col.name)
            if col.name in TIMES:
                assert want.timezone, (name, col.name)


def test_a_write_stores_values_as_sqlalchemy_binds_them(national_copy: Register) -> None:
    """Dates, UTC times and floats written without SQLAlchemy are stored exactly as the model's
    types store them (read back through SQLAlchemy Core, typed by the model, on both stores)."""
    from sqlalchemy import select

    from merger.model import Event, Link, Version

    at = datetime(2026, 2, 1, 8, 30, 5, 123456, tzinfo=UTC)
    out = national_copy.record(Spec("split", date(2026, 1, 1), units=["Phường Chí Linh"],
                                    into=["Phường Chí Linh Bắc", "Phường Chí Linh Nam"], codes={"Chí Linh Nam": "99903"},
                                    shares={"Chí Linh Bắc": 0.6, "Chí Linh Nam": 0.4}, basis="area",
                                    act="77/NQ-HĐND", clause="4"), by="staff", at=at)
    with national_copy.engine.connect() as conn:
        event = conn.execute(select(Event).where(Event.key == out.events[0])).one()
        assert event.effective == date(2026, 1, 1)
        assert event.recorded_at.replace(tzinfo=UTC) == at  # naive UTC on both stores
        links = conn.execute(select(Link).where(Link.event_id == event.id).order_by(Link.id)).all()
        assert sorted(lk.share for lk in links) == [0.4, 0.6] and {lk.share_basis for lk in links} == {"area"}
        new = conn.execute(select(Version).where(Version.id.in_([lk.successor_id for lk in links]))).all()
        assert {v.valid_from for v in new} == {date(2026, 1, 1)} and {v.folded for v in new} == {"chi linh bac", "chi linh nam"}
        ended = conn.execute(select(Version).where(Version.id == links[0].predecessor_id)).one()
        assert ended.valid_to == date(2025, 12, 31)
        if national_copy.sqlite_path is not None:  # the text SQLAlchemy writes for these types
            from sqlalchemy import text

            stored = conn.execute(text("SELECT effective, recorded_at FROM event WHERE id = :i"), {"i": event.id}).one()
            assert tuple(stored) == ("2026-01-01", "2026-02-01 08:30:05.123456")


def test_recording_imports_no_sqlalchemy(national_copy: Register) -> None:
    """Recording one event, revoking and amending one need neither SQLAlchemy (more than half of
    a recording command's time went to importing it, issue 12) nor the sqlmodel classes and
    pydantic, nor Alembic (the register is at the current schema); on both stores (asyncio: on
    SQLite; psycopg itself imports it)."""
    import subprocess
    import sys

    db_ = national_copy.url if national_copy.sqlite_path is None else str(national_copy.sqlite_path)
    heavy = ("sqlalchemy", "merger.model", "sqlmodel", "pydantic", "alembic")
    heavy += ("asyncio",) if national_copy.sqlite_path is not None else ()
    national_copy.close()
    code = ("import sys\nfrom datetime import date\nfrom merger.register import Register\nfrom merger.events import Spec\n"
            f"reg = Register.open({db_!r})\n"
            "out = reg.record(Spec('rename', date(2026, 1, 1), units=['11533@2025-07-01'], to='Phường Hòa Bình Một',"
            " act='1/NQ-THU'), by='t')\n"
            "reg.amend(out.events[0], {'note': 'sửa'}, reason='ghi chú', by='t')\n"
            "again = reg.record(Spec('rename', date(2026, 2, 1), units=['Phường Thủy Nguyên'], to='Phường Thủy Nguyên Một',"
            " act='2/NQ-THU'), by='t')\n"
            "reg.revoke(again.events[0], reason='nhầm', by='t')\n"
            f"print(out.written, sorted(m for m in {heavy!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "[]"], out.stdout + out.stderr


def test_the_recording_commands_import_no_sqlalchemy(national_copy: Register, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``merger record``, ``apply``, ``amend`` and ``revoke`` (the CLI, as staff run it) write
    without importing SQLAlchemy, the ORM models or Alembic, on both stores (issue 12)."""
    import subprocess
    import sys

    db_ = national_copy.url if national_copy.sqlite_path is None else str(national_copy.sqlite_path)
    national_copy.close()
    annex = tmp_path / "annex.csv"
    annex.write_text("event,units,to,effective,act,clause\n"
                     "rename,Phường Thủy Nguyên,Phường Thủy Nguyên Hai,2026-03-01,3/NQ-THU,1\n", encoding="utf-8")
    code = f"""
import io, json, sys
from contextlib import redirect_stdout
from merger.cli import main

def run(*args):
    sys.argv = ['merger', '--db', {db_!r}, *args]
    out = io.StringIO()
    with redirect_stdout(out):
        try:
            main()
        except SystemExit as exc:
            assert exc.code in (0, None), (args, exc.code)
    return out.getvalue()

first = json.loads(run('record', 'rename', '11533@2025-07-01', '--to', 'Phường Hòa Bình Một', '-e', '2026-01-01',
                       '--act', '1/NQ-THU', '--json'))['events'][0]
second = json.loads(run('amend', first, '--note', 'sửa ghi chú', '--reason', 'ghi chú', '--json'))['events'][0]
run('apply', {str(annex)!r}, '--by', 'staff')
run('revoke', second, '--reason', 'nhầm')
print(sorted(m for m in ('sqlalchemy', 'merger.model', 'sqlmodel', 'pydantic', 'alembic') if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.split() == ["[]"], out.stdout + out.stderr
    reg = Register.open(db_)
    try:
        log = reg.log()
        assert [(e.type, e.origin, e.status.split()[0]) for e in log] == [
            ("rename", "cli", "amended"), ("rename", "amend", "revoked"), ("rename", "annex:annex.csv", "in")], log
    finally:
        reg.close()


def test_a_write_reads_through_indexes_on_an_analyzed_register(national_sqlite_path, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """After ANALYZE (benchmark registers and migrated ones have statistics), SQLite would scan the
    event table for the already-recorded check (the bundled events have no idem_key) and build a
    Bloom filter over a whole index in every recursive join: costs that grow with the register.
    Every statement of a record, an amendment and a revocation must search, not scan (the small
    legal_act table aside)."""
    import shutil
    import sqlite3

    path = tmp_path / "analyzed.sqlite"  # SQLite's planner (PostgreSQL plans with its own statistics)
    shutil.copy(national_sqlite_path, path)
    national_copy = Register.open(str(path))
    con = sqlite3.connect(path)
    con.execute("ANALYZE")
    con.commit()
    statements: list[tuple[str, Any]] = []
    query = db.Connection.query

    def logged(self, sql, params=None):  # type: ignore[no-untyped-def]
        statements.append((sql, params))
        return query(self, sql, params)

    monkeypatch.setattr(db.Connection, "query", logged)
    out = national_copy.record(Spec("rename", DAY, units=["Phường Hòa Bình, Hải Phòng"], to="Phường Hòa Bình Một",
                                    act="1/NQ-THU", clause="1"), by="staff")
    amended = national_copy.amend(out.events[0], {"note": "sửa"}, reason="ghi chú", by="staff")
    national_copy.revoke(amended.events[0], reason="nhầm", by="staff")
    assert len(statements) > 20
    bad = []
    for sql, params in statements:
        plan = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, params or ())]
        if any("BLOOM FILTER" in p or (p.startswith("SCAN ") and p.split()[1] in ("version", "link", "event", "unit", "v", "l"))
               for p in plan):
            bad.append((sql[:120], plan))
    con.close()
    national_copy.close()
    assert not bad, bad


# Names staff type: real Hải Phòng units (qualified and not), a key, a code, a department, a name
# shared across provinces, a province, and new names.
NAMES = ["Phường Hòa Bình, Hải Phòng", "Phường Thành Đông", "Phường Hải Dương, Hải Phòng", "Tân Hưng",
         "Phường Chí Linh", "Xã Nam Sách", "11560@2025-07-01", "10507", "Sở Nội vụ", "Sở Công Thương",
         "Xã Hợp Tiến", "Thành phố Hải Phòng", "Hải Phòng", "Phường Nguyễn Trãi", "Xã Trần Phú, Hải Phòng"]
NEW = ["Phường Mới", "Xã Đông Hòa Mới", "Phường Chí Linh Bắc"]


@st.composite
def requests(draw):  # type: ignore[no-untyped-def]
    from merger.recording.spec import EVENT_TYPES

    kind = draw(st.sampled_from(EVENT_TYPES))
    day = draw(st.sampled_from([date(2025, 3, 1), date(2025, 7, 1), date(2026, 1, 1)]))
    units = draw(st.lists(st.sampled_from(NAMES), min_size=0 if kind == "establish" else 1, max_size=2, unique=True))
    into = draw(st.lists(st.sampled_from(NEW + NAMES), min_size=1, max_size=2, unique=True))
    extra: dict[str, Any] = {}
    if kind in ("rename", "transfer", "dissolve"):
        extra["to"] = draw(st.sampled_from(NEW + NAMES))
    elif kind == "reclassify":
        extra["to"] = draw(st.sampled_from(["phường", "xã", "đặc khu"]))
    elif kind == "move":
        extra["parent"] = draw(st.sampled_from(["Thành phố Hà Nội", "Thành phố Hải Phòng", "Phường Thành Đông"]))
    elif kind == "establish":
        extra.update(unit_type=draw(st.sampled_from(["phường", "xã", AGENCY])), parent="Thành phố Hải Phòng")
    if kind in ("merge", "split", "establish"):
        extra["into"] = into
    if kind == "establish":
        units = []
    return Spec(kind, day, units=units, act="88/NQ-HĐND", clause="1", **extra)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=requests())
def test_any_request_is_judged_the_same_on_the_neighbourhood(national: Register, spec: Spec) -> None:
    """Hypothesis: whatever staff ask (accepted or not), the neighbourhood and the whole register
    give the same verdict, message and rows (planned in a read transaction: nothing is written)."""
    results = []
    for scope in ("neighbourhood", "whole"):
        with db.connect(national) as conn:
            conn.begin_read()
            try:
                results.append(_outcome(conn, [spec], scope))
            except MergerError as exc:  # an input refused before planning: the same both ways too
                results.append(("error", str(exc)))
            finally:
                conn.rollback()
    assert results[0] == results[1]
