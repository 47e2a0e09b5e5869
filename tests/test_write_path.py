"""The write path (issue 10 item 17, issue 12): events are planned outside the write lock against
the register at generation G; under the lock the generation is read again and, if another writer
committed meanwhile, the events are planned again, so what was validated is what is committed.

A second writer commits *while* the first is planning (from the first one's progress callback,
which runs after its read and before its checks): that is only possible because planning holds no
lock, and the first writer must then see the second's event (no race, no lost update).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from factories import count_rows
from merger import store
from merger.errors import ValidationFailed
from merger.events import Spec
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


def test_a_conflicting_write_committed_while_planning_is_seen_and_refused(national_copy: Register,
                                                                          other: Register) -> None:
    events, gen = count_rows(national_copy, "event"), _generation(national_copy)
    progress, done = _meanwhile(lambda: other.record(
        Spec("rename", DAY, units=[HOA_BINH], to="Phường Hòa Bình Hai", act="2/NQ-THU", clause="1"), by="staff2"))
    with pytest.raises(ValidationFailed) as exc:
        national_copy.apply([Spec("rename", DAY, units=[HOA_BINH], to="Phường Hòa Bình Một", act="1/NQ-THU",
                                  clause="1")], by="staff1", progress=progress)
    assert done == [True]
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
