"""Fuzzing the recording rules: Hypothesis draws sequences of record / apply / revoke / amend.

On the small village register (tests/village_factory.py; fictional names, as recorded test data
should be): after every accepted step every ``merger check`` invariant holds, and every refused
step leaves the register unchanged: every row of every table and the schema, compared before and
after (factories.fingerprint; it replaced a JSON export, which took ~40% of this file's time).

Back-dated recording (a decision effective before one already recorded) found two bugs.
Establishing "Thôn Mới" on 2025-09-01 and then again on 2025-08-01 was accepted and left one code
held by two units at once; the recording rules now refuse it (regression test below). Renaming a
unit on 2025-09-01 and then renaming the same unit again on 2025-08-01 was accepted and left the
two new versions overlapping; recording now refuses to give a second fate to a version whose fate
is already recorded (regression test below). The machine now draws decisions in any date order;
``MERGER_FUZZ_BACK_DATING=0`` keeps them in date order (``_in_order``).

CI runs 200 examples on SQLite (four test cases of 50, each from its own fixed seed, so that the
xdist workers share them) and 26 on PostgreSQL (two of 13), derandomised; ``MERGER_FUZZ_EXAMPLES=2000``
explores more, at random.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

import pg
from factories import fingerprint, register_fingerprint
from merger.errors import MergerError
from merger.events import Spec
from merger.register import Register
from village_factory import village_builder, village_register

# Units as staff would name them (some ambiguous or gone by then), names for new units, dates.
UNITS = ["Thôn Đông, Xã An", "Thôn Đông, Phường Bình", "Thôn Tây", "Thôn Nam", "Tổ dân phố 1", "Thôn Mới",
         "Thôn Bắc", "Thôn Đông", "Xã An", "Phường Bình"]
NEW = ["Thôn Mới", "Thôn Bắc", "Thôn Hòa", "Thôn Tây"]
COMMUNES = ["Xã An", "Phường Bình"]
DATES = [date(2025, 8, 1), date(2025, 9, 1), date(2025, 10, 1)]
TYPES = ["thôn", "tổ dân phố", "xã"]

unit = st.sampled_from(UNITS)
day = st.sampled_from(DATES)
act = st.sampled_from([None, "1/NQ-HĐND", "2/NQ-HĐND"])
clause = st.sampled_from([None, "1", "2"])


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    kind = draw(st.sampled_from(["rename", "reclassify", "establish", "dissolve", "merge", "split", "move",
                                 "transfer"]))
    base = dict(effective=draw(day), act=draw(act), clause=draw(clause))
    if kind == "rename":
        return Spec("rename", units=[draw(unit)], to=draw(st.sampled_from(NEW)), **base)
    if kind == "reclassify":
        return Spec("reclassify", units=[draw(unit)], to=draw(st.sampled_from(TYPES)), **base)
    if kind == "establish":
        return Spec("establish", into=[draw(st.sampled_from(NEW))], unit_type=draw(st.sampled_from(TYPES)),
                    parent=draw(st.sampled_from(COMMUNES)), **base)
    if kind == "dissolve":
        return Spec("dissolve", units=[draw(unit)], to=draw(st.sampled_from([None, *UNITS])), **base)
    if kind == "merge":
        units = draw(st.lists(unit, min_size=1, max_size=3))
        return Spec("merge", units=units, into=[draw(st.sampled_from(NEW + UNITS))], **base)
    if kind == "split":
        into = draw(st.lists(st.sampled_from(NEW), min_size=1, max_size=3))
        return Spec("split", units=[draw(unit)], into=into, **base)
    if kind == "move":
        return Spec("move", units=[draw(unit)], parent=draw(st.sampled_from(COMMUNES)), **base)
    share = draw(st.sampled_from([0.25, 0.5, 1.0, 1.5]))
    return Spec("transfer", units=[draw(unit)], to=draw(unit), shares={"": share}, **base)


@functools.cache
def _template() -> Path:
    """The village register, built once per test process; each example works on a copy."""
    import atexit

    folder = Path(tempfile.mkdtemp(prefix="merger-fuzz-"))
    atexit.register(shutil.rmtree, folder, True)  # gone with the process, not left in /tmp
    reg = village_register(folder)
    reg.close()
    return folder / "factory.sqlite"


class _Pristine:
    """A PostgreSQL database put back, before each example, to the rows it holds when this is made
    (instead of a CREATE DATABASE ... TEMPLATE copy per example: ~0.6 s of server CPU each), by
    tests/pg.py ``Restorer`` (as the national copies are between tests): what the last example
    added goes, what it changed or removed comes back, sequences return, every table touched is
    compared whole with the original, and a refusal fails the example. The snapshot cache files
    of the database (the previous example's register's) are removed, as a new copy had none. The
    machine then compares everything stored (factories.fingerprint: schema and every row) with the
    pristine database's, so a bad restore fails loudly."""

    def __init__(self, url: str) -> None:
        import pg

        self.url = url
        reg = Register(url)
        self.cache = reg.cache_path()
        self.restorer = pg.Restorer(url)
        self.fingerprint = register_fingerprint(reg)
        reg.close()

    def restore(self) -> None:
        assert self.restorer.restore(self.url), self.restorer.refused
        for path in self.cache.parent.glob(self.cache.name + "*"):  # the snapshot and its notes
            path.unlink()


class RecordingMachine(RuleBasedStateMachine):
    """On SQLite by default; ``postgres`` (a database put back before each example) runs it there."""

    postgres: _Pristine | None = None

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="merger-fuzz-"))
        if self.postgres:
            self.postgres.restore()
            self.url = self.postgres.url
            self.reg = Register.open(self.url, build=False)
        else:
            path = self.folder / "r.sqlite"
            shutil.copy(_template(), path)
            self.reg = Register.open(str(path), build=False)
        self.recorded: list[str] = []  # event keys written, in force or not
        self.accepted = self.refused = 0
        self.day = DATES[0]  # decisions are drawn in date order (see the module docstring)
        self.current = self._stored()  # everything the register stores, as it stands
        if self.postgres:
            assert self.current == self.postgres.fingerprint  # put back as it was: every row, the schema

    def teardown(self) -> None:
        self.reg.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _stored(self) -> dict[str, list[str]]:
        return register_fingerprint(self.reg)

    def _in_order(self, batch: list[Spec]) -> None:
        """Each decision takes effect no earlier than the last one drawn (unless back-dating is fuzzed)."""
        if BACK_DATING:
            return
        for spec in sorted(batch, key=lambda s: s.effective):
            spec.effective = max(spec.effective, self.day)
            self.day = spec.effective

    def _attempt(self, write) -> None:  # type: ignore[no-untyped-def]
        """Run one write: accepted, the register must be clean; refused, it must be untouched."""
        before = self.current
        try:
            outcome = write()
        except MergerError:
            self.refused += 1
            assert self._stored() == before
            return
        self.accepted += 1
        self.recorded.extend(outcome.events)
        self.reg.invalidate()
        self.current = self._stored()
        assert self.current != before  # an accepted write changed something
        problems = self.reg.check()
        assert problems == [], [p.message for p in problems]
        assert set(self.recorded) <= {e.key for e in self.reg.log()}  # nothing recorded is ever lost

    @rule(spec=specs())
    def record(self, spec: Spec) -> None:
        self._in_order([spec])
        self._attempt(lambda: self.reg.record(spec, by="fuzz"))

    @rule(batch=st.lists(specs(), min_size=1, max_size=3))
    def apply(self, batch: list[Spec]) -> None:
        self._in_order(batch)
        self._attempt(lambda: self.reg.apply(batch, by="fuzz", origin="annex:fuzz"))

    @precondition(lambda self: bool(self.recorded))
    @rule(pick=st.integers(min_value=0, max_value=50), reason=st.sampled_from(["wrong act", " "]))
    def revoke(self, pick: int, reason: str) -> None:
        key = self.recorded[pick % len(self.recorded)]
        self._attempt(lambda: self.reg.revoke(key, reason=reason, by="fuzz"))

    @rule(key=st.sampled_from(["E20250701-NOPE", "E20250801-R99"]))
    def revoke_unknown(self, key: str) -> None:
        self._attempt(lambda: self.reg.revoke(key, reason="no such event", by="fuzz"))

    @precondition(lambda self: bool(self.recorded))
    @rule(pick=st.integers(min_value=0, max_value=50),
          changes=st.one_of(st.builds(lambda d: {"effective": d}, day),
                            st.builds(lambda n: {"to": n}, st.sampled_from(NEW)),
                            st.builds(lambda a: {"act": a}, act),
                            st.just({"type": "merge"})))
    def amend(self, pick: int, changes: dict) -> None:
        key = self.recorded[pick % len(self.recorded)]
        self._attempt(lambda: self.reg.amend(key, changes, reason="correction", by="fuzz"))

EXAMPLES = int(os.environ.get("MERGER_FUZZ_EXAMPLES", "0"))
BACK_DATING = os.environ.get("MERGER_FUZZ_BACK_DATING", "1") == "1"
# The SQLite examples run as PARTS test cases of 50, each from its own fixed seed: the xdist
# workers share them, instead of one worker running all 200 while the other has finished.
PARTS = 4


def _part(number: int) -> type:
    machine = type(f"RecordingMachine{number}", (RecordingMachine,), {})
    if not EXAMPLES:
        machine = seed(number)(machine)  # derandomised: the same examples on every run
    case = machine.TestCase
    case.settings = settings(
        max_examples=(EXAMPLES or 200) // PARTS, stateful_step_count=6, deadline=None, derandomize=not EXAMPLES,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    return case


TestRecording = _part(0)
TestRecordingPart2 = _part(1)
TestRecordingPart3 = _part(2)
TestRecordingPart4 = _part(3)


@pytest.mark.parametrize("part", [0, 1])
def test_recording_machine_on_postgresql(pg_url: str, tmp_path: Path, part: int) -> None:
    """The same machine on PostgreSQL (fewer examples: each starts from the village register,
    put back in one database, _Pristine): 26 in two parts of 13 from fixed seeds, which the two
    xdist workers share."""
    from hypothesis.stateful import run_state_machine_as_test

    database = pg.create_database(pg_url, "fuzzt")
    village_builder().build(tmp_path, database).close()
    pristine = _Pristine(database)

    class OnPostgres(RecordingMachine):
        postgres = pristine

    machine = OnPostgres if EXAMPLES else seed(100 + part)(OnPostgres)
    try:
        run_state_machine_as_test(machine, settings=settings(
            max_examples=EXAMPLES // 10 or 13, stateful_step_count=6, deadline=None, derandomize=not EXAMPLES,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    finally:
        pg.drop_database(database)


def test_back_dated_establishment_duplicating_a_later_one_is_refused(build) -> None:  # type: ignore[no-untyped-def]
    reg = village_register(build)
    new = Spec("establish", date(2025, 9, 1), into=["Thôn Mới"], unit_type="thôn", parent="Xã An")
    reg.record(new, by="fuzz")
    reg.invalidate()
    try:
        reg.record(Spec("establish", date(2025, 8, 1), into=["Thôn Mới"], unit_type="thôn", parent="Xã An"),
                   by="fuzz")
    except MergerError:
        return  # refused: what the rules promise
    reg.invalidate()
    assert reg.check() == []


def test_back_dated_rename_of_a_unit_renamed_later_is_refused(build) -> None:  # type: ignore[no-untyped-def]
    reg = village_register(build)
    reg.record(Spec("rename", date(2025, 9, 1), units=["Thôn Đông, Xã An"], to="Thôn Mới"), by="fuzz")
    reg.invalidate()
    try:
        reg.record(Spec("rename", date(2025, 8, 1), units=["Thôn Đông, Xã An"], to="Thôn Mới"), by="fuzz")
    except MergerError:
        return  # refused: what the rules promise
    reg.invalidate()
    assert reg.check() == []


def _another(value: object, column) -> object:  # type: ignore[no-untyped-def]
    """A value of the same type as ``value`` (or of ``column``'s type when it is NULL) that differs
    from it and from every other value a test register holds (so no unique index refuses it)."""
    from datetime import UTC, datetime, timedelta

    if value is None:
        kind = column.type.python_type
        kind = str if kind is object else kind  # sqlmodel's AutoString declares none
        return {str: "x", int: 7, float: 0.25, date: date(2025, 7, 1), bool: False,
                datetime: datetime(2025, 7, 1, tzinfo=UTC)}[kind]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1_000_003
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, date):
        return value + timedelta(days=1)
    if isinstance(value, bytes):  # the trigram index's own tables (FTS5 blocks and terms)
        return value + b"~"
    return value + "~"


def test_the_fingerprint_sees_a_change_to_any_cell_of_any_table(build) -> None:  # type: ignore[no-untyped-def]
    """What the state machine's "a refused step changed nothing" rests on: changing any one cell of
    any table, adding a row to a table, or adding an index changes factories.fingerprint; undoing
    the change gives the same fingerprint back."""
    from sqlalchemy import Integer, MetaData, Table, insert, select, text, update
    from sqlmodel import SQLModel

    import merger.model  # noqa: F401  (registers the tables)

    reg = village_register(build)
    dialect = "sqlite" if reg.sqlite_path is not None else "postgresql"
    checked: dict[str, int] = {}
    with reg.engine.connect() as conn:
        everything = conn.begin()

        def query(sql: str) -> list:  # type: ignore[type-arg]
            return list(conn.exec_driver_sql(sql).fetchall())

        if dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # checked at COMMIT: never reached
        else:  # the table owner may drop them; the ROLLBACK at the end restores them
            for table, name in conn.execute(text(
                    "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' "
                    "AND connamespace = current_schema()::regnamespace")):
                conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        start = fingerprint(query, dialect)
        tables = [t for t in start if t != "(schema)"]
        assert {"meta", "unit", "version", "event", "link", "legal_act", "statistic", "correction",
                "derived_share", "alembic_version"} <= set(tables)
        for name in tables:
            outer = conn.begin_nested()
            table = SQLModel.metadata.tables.get(name)
            if table is None:  # alembic_version, sqlite_sequence: not the model's
                table = Table(name, MetaData(), autoload_with=conn)
            rows = conn.execute(select(*table.columns)).fetchall()
            if not rows:  # an empty table: a row added must show, then each of its cells
                values = {}
                for column in table.columns:
                    if column.primary_key and isinstance(column.type, Integer) and not column.foreign_keys:
                        continue
                    target = next(iter(column.foreign_keys), None)
                    found = conn.execute(select(target.column).limit(1)).scalar() if target is not None else None
                    values[column.name] = found if found is not None else _another(None, column)
                conn.execute(insert(table).values(**values))
                added = fingerprint(query, dialect)
                assert added != start, f"a row added to {name} went unseen"
                base = added
                rows = conn.execute(select(*table.columns)).fetchall()
            else:
                base = start
            key = [c for c in table.primary_key.columns] or list(table.columns)
            for column in table.columns:
                row = next((r for r in rows if r._mapping[column] is not None), rows[0])
                where = [k == row._mapping[k] for k in key]
                point = conn.begin_nested()
                conn.execute(update(table).where(*where).values(
                    {column.name: _another(row._mapping[column], column)}))
                assert fingerprint(query, dialect) != base, f"a change to {name}.{column.name} went unseen"
                point.rollback()
                checked[name] = checked.get(name, 0) + 1
            assert fingerprint(query, dialect) == base  # undone: the same fingerprint again
            outer.rollback()
        assert fingerprint(query, dialect) == start
        conn.exec_driver_sql("CREATE INDEX fingerprint_probe ON event (note)")
        assert fingerprint(query, dialect)["(schema)"] != start["(schema)"]
        everything.rollback()
    assert checked["version"] == len(SQLModel.metadata.tables["version"].columns)
