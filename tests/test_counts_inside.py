"""``counts.inside`` (what lies under a unit on a day) remembers its answer per parent unit; it must
answer as walking each version's ancestors does, on the real register and on drawn trees with loops."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from merger.counts import inside
from merger.graph import Snapshot, V
from merger.register import Register


def _walked(snap: Snapshot, unit_id: int, day: date, kind: str | None) -> list[V]:
    """The plain rule: the unit's own versions, and every version with the unit among its ancestors."""
    return [v for v in snap.valid_on(day, kind=None)
            if v.unit_id == unit_id or ((kind is None or v.kind == kind)
                                        and any(a.unit_id == unit_id for a in snap.ancestors(v, day)))]


def test_inside_equals_the_ancestor_walk_on_the_real_register(national_sqlite: Register) -> None:
    snap = national_sqlite.snapshot
    for day in (date(2004, 1, 1), date(2019, 12, 31), date(2025, 6, 30), date(2025, 7, 1)):
        valid = snap.valid_on(day, kind=None)
        above = {v.id: {a.unit_id for a in snap.ancestors(v, day)} for v in valid}  # each walk once
        containers = sorted({u for units in above.values() for u in units})
        sample = containers[::8] + [v.unit_id for v in valid if v.level == "commune"][:3]
        assert len(sample) > 5
        for unit_id in sample:
            for kind in ("admin", None):
                walked = [v for v in valid if v.unit_id == unit_id
                          or ((kind is None or v.kind == kind) and unit_id in above[v.id])]
                assert inside(snap, unit_id, day, kind) == walked, (unit_id, day, kind)
    hai_phong = national_sqlite.resolve("Hải Phòng").unit_id
    assert len(inside(snap, hai_phong, date(2025, 7, 1), "admin")) == 115  # the city and its 114 communes


def _version(i: int, unit: int, parent: int | None, start: int | None, end: int | None) -> V:
    day = lambda n: None if n is None else date(2025, 1, 1 + n)  # noqa: E731
    return V(id=i, key=f"{unit}@{i}", unit_id=unit, unit_key=str(unit), kind="admin", code=str(unit), name=f"u{unit}",
             full_name=f"u{unit}", type="xã", level="commune", parent_unit_id=parent, valid_from=day(start),
             valid_to=day(end), evidence=None, source="test")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.one_of(st.none(), st.integers(0, 8)),
                          st.one_of(st.none(), st.integers(0, 5)), st.one_of(st.none(), st.integers(0, 5))),
                min_size=1, max_size=14),
       st.integers(0, 8), st.integers(0, 5))
def test_inside_equals_the_ancestor_walk_on_drawn_trees(rows, unit_id, day_n) -> None:  # type: ignore[no-untyped-def]
    """Drawn parent links: missing parents, parents valid on other days only, chains that loop."""
    versions = {i: _version(i, unit, parent, start, end) for i, (unit, parent, start, end) in enumerate(rows)}
    snap = Snapshot(generation="t", versions=versions, events={}, links=[], stats={})
    day = date(2025, 1, 1 + day_n)
    assert inside(snap, unit_id, day, "admin") == _walked(snap, unit_id, day, "admin")
