"""Before/after counts of units by level and type, nationally or within a unit's territory."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from merger.graph import Snapshot, V

TYPE_ORDER = {
    "province": ("tỉnh", "thành phố trực thuộc trung ương"),
    "district": ("quận", "huyện", "thị xã", "thành phố"),
    "commune": ("xã", "phường", "thị trấn", "đặc khu"),
    "village": ("thôn", "tổ dân phố"),
    "agency": ("sở và tương đương", "ban quản lý"),
}
LEVELS = ("province", "district", "commune", "village", "agency")


@dataclass
class CountRow:
    level: str
    type: str | None  # None: the level's total
    before: int
    after: int

    @property
    def change(self) -> int:
        return self.after - self.before


@dataclass
class Counts:
    before: date
    after: date
    within: str | None
    rows: list[CountRow]

    def total(self, level: str) -> CountRow:
        return next(r for r in self.rows if r.level == level and r.type is None)

    def get(self, level: str, type_: str) -> CountRow | None:
        return next((r for r in self.rows if r.level == level and r.type == type_), None)


def inside(snap: Snapshot, unit_id: int, day: date, kind: str | None) -> list[V]:
    """Versions valid on ``day`` that are the unit itself or lie under it by parent chain.

    Whether ``unit_id`` is among a version's ancestors on ``day`` depends only on its parent unit
    (``Snapshot.ancestors`` walks parent units, each read on ``day``), so it is worked out once
    per parent unit: a national table has ~10,000 communes under ~700 districts and 63 provinces.
    """
    under: dict[int | None, bool] = {None: False}
    out = []
    for v in snap.valid_on(day, kind=None):
        if v.unit_id == unit_id:
            out.append(v)
            continue
        if kind is not None and v.kind != kind:
            continue
        found = under.get(v.parent_unit_id)
        if found is None:
            found = _is_under(snap, v.parent_unit_id, unit_id, day, under)
        if found:
            out.append(v)
    return out


def _is_under(snap: Snapshot, parent_unit_id: int | None, unit_id: int, day: date,
              under: dict[int | None, bool]) -> bool:
    """Whether ``unit_id`` is ``parent_unit_id`` or one of its ancestors on ``day`` (as
    ``Snapshot.ancestors`` reads them), remembered in ``under`` for each unit of the chain walked.
    A chain that loops (refused by ``check``; possible in a damaged register) is answered as
    ``ancestors`` answers it and not remembered."""
    chain: list[int] = []
    seen: set[int] = set()
    pid = parent_unit_id
    result: bool | None = None
    while True:
        known = under.get(pid)
        if known is not None:
            result = known
            break
        assert pid is not None
        if pid in seen:  # a loop: every unit on it has been collected
            return any(u == unit_id for u in chain)
        cur = snap.unit_version(pid, day)
        if cur is None:  # Snapshot.parent_of: a parent re-versioned mid-way is its latest version
            versions = snap.by_unit.get(pid) or []
            cur = versions[-1] if versions else None
        if cur is None:
            result = False
            break
        seen.add(pid)
        chain.append(pid)
        pid = cur.parent_unit_id
    for u in reversed(chain):
        result = result or u == unit_id
        under[u] = result
    return bool(result)


def territory_on(snap: Snapshot, unit: V, day: date, kind: str | None) -> list[V]:
    """The versions valid on ``day`` that make up ``unit``'s territory.

    On a day the unit version is valid, that is the unit and what lies under it by parent chain.
    On any other day it is read through the lineage: the versions linked to those, plus the
    parents (on that day) of the ones that are linked.
    """
    anchor = day if unit.valid_on(day) else (unit.valid_from or unit.valid_to)
    assert anchor is not None
    here = inside(snap, unit.unit_id, anchor, kind)
    if anchor == day:
        return here
    forward = day > anchor
    there: dict[int, V] = {}
    for v in here:
        reached = snap.descendants_on(v, day) if forward else snap.ancestors_on(v, day)
        for r in reached.values():
            there[r.id] = r
            for a in snap.ancestors(r, day):
                there[a.id] = a
    # A province or district whose whole lineage leads into the unit lies wholly in it, with all
    # that is under it that day: this reaches units whose own fate the sources do not give.
    back = snap.ancestors_on if forward else snap.descendants_on
    here_ids = {v.id for v in here}
    whole = set()
    for a in there.values():
        if a.level in ("province", "district"):
            reach = back(a, anchor)
            if reach and reach.keys() <= here_ids:
                whole.add(a.id)
    if whole:
        for v in snap.valid_on(day, kind=None):
            if v.id not in there and any(a.id in whole for a in snap.ancestors(v, day)):
                there[v.id] = v
    return [v for v in there.values() if kind is None or v.kind == kind]


def count(snap: Snapshot, before: date, after: date, within: V | None = None, kind: str = "admin") -> Counts:
    if within is None:
        b, a = snap.valid_on(before, kind), snap.valid_on(after, kind)
        label = None
    else:
        b, a = territory_on(snap, within, before, kind), territory_on(snap, within, after, kind)
        label = within.full_name
    cb = Counter((v.level, v.type) for v in b if v.kind == kind)
    ca = Counter((v.level, v.type) for v in a if v.kind == kind)
    return tally(before, after, label, cb, ca)


def tally(before: date, after: date, label: str | None, cb: Counter, ca: Counter) -> Counts:
    """The rows of a count from (level, type) -> number on each date (counted in Python or SQL)."""
    rows: list[CountRow] = []
    for level in LEVELS:
        types = [t for t in TYPE_ORDER.get(level, ()) if cb[(level, t)] or ca[(level, t)]]
        types += sorted({t for (lv, t), n in (cb + ca).items() if lv == level and n and t not in types})
        if not types:
            continue
        rows.append(CountRow(level, None, sum(cb[(level, t)] for t in types), sum(ca[(level, t)] for t in types)))
        rows.extend(CountRow(level, t, cb[(level, t)], ca[(level, t)]) for t in types)
    return Counts(before, after, label, rows)
