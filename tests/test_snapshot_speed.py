"""The whole-register snapshot and check, made faster (issue 12), give the same answers as the plain
implementations they replaced, kept here as the reference: deriving the snapshot's rows (row by
row, bitemporal rules and all) and every integrity rule (child by child, cycle search always).
Compared on the real register (both stores, after a record, a revocation and an amendment, as
recorded at several moments) and on drawn damage."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from merger import cache, checks, graph
from merger.errors import Violation
from merger.events import Spec
from merger.graph import LEVEL_ORDER, E, L, Snapshot, V
from merger.i18n import _
from merger.register import Register

ONE_DAY = timedelta(days=1)
TOLERANCE = 1e-9

# --- the reference: deriving the rows as the row-wise code did (cache.py before issue 12's third round)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _original_key(key: str) -> str:
    return key.split("~", 1)[0]


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _time(value: str) -> datetime:
    return _utc(datetime.fromisoformat(value))


def reference_derive(tables: dict, as_recorded: datetime | None = None) -> tuple:
    """The snapshot's rows (acts, versions, events, links, stats), as recorded at ``as_recorded``.

    Bitemporal: only events recorded by then and not revoked or amended by then are seen; the
    bundled baseline (``origin`` empty) always is. A recorded version exists while an event that
    created it does, and a version a recorded event ended ends the day before the first visible
    event that ends it (so a revocation reopens it); bundled versions keep their stored end.
    """
    limit = _utc(as_recorded) if as_recorded is not None else None

    def seen(when: str) -> bool:
        return limit is None or _time(when) <= limit

    revoked = {r[1] for r in tables["correction"].values() if seen(r[2])}
    acts = [(r[0], r[1], r[2], r[3], r[4], _day(r[5]), _day(r[6]), r[7])
            for r in sorted(tables["legal_act"].values())]
    units = {r[0]: (_original_key(r[1]), r[2]) for r in tables["unit"].values()}
    event_rows = [tables["event"][i] for i in sorted(tables["event"])]
    recorded = {r[0] for r in event_rows if r[11]}
    events = [
        (r[0], r[1], r[2], _day(r[3]), r[4], r[5], r[6], r[7], r[8], _time(r[9]), r[10])
        for r in event_rows
        if r[0] not in revoked and (not r[11] or seen(r[9]))
    ]
    effective = {r[0]: r[3] for r in events}
    # shares derived later (from geometry) apply to links that carry none, as recorded by then
    derived = {d[1]: (d[2], d[3]) for d in (tables["derived_share"][i] for i in sorted(tables["derived_share"]))
               if seen(d[4])}
    link_rows = [
        (r[0], r[1], r[2], r[3], r[4], r[5],
         *((r[6], r[7]) if r[6] is not None else derived.get(r[0], (None, r[7]))), r[8])
        for r in (tables["link"][i] for i in sorted(tables["link"]))
    ]
    # A recorded event dated inside a version whose start is unknown ("…") gives it a start (the
    # earlier state is a recorded version, its predecessor): while that event is visible.
    touched = {r[2] for r in link_rows if r[1] in recorded and r[2] is not None}
    ended: dict[int, date | None] = {}
    created: set[int] = set()
    started: dict[int, date] = {}
    for r in link_rows:
        day = effective.get(r[1])
        if r[2] in touched:
            last = ended.get(r[2])
            if day is not None:
                end = day - timedelta(days=1)
                ended[r[2]] = end if last is None else min(last, end)
            else:
                ended.setdefault(r[2], None)
        if day is not None:
            if r[3] is not None:
                created.add(r[3])
                if r[1] in recorded:
                    started[r[3]] = min(day, started.get(r[3], day))
            if r[2] is not None:
                created.add(r[2])
    versions = []
    for i in sorted(tables["version"]):
        r = tables["version"][i]
        if r[13] is None or r[0] in created:
            unit_key, kind = units[r[2]]
            start = _day(r[9]) if r[9] is not None else started.get(r[0])
            versions.append((r[0], _original_key(r[1]), r[2], unit_key, kind, r[3], r[4], r[5], r[6], r[7], r[8],
                             start, ended[r[0]] if r[0] in ended else _day(r[10]), r[11], r[12], r[14]))
    kept = {r[0] for r in versions}
    links = [r for r in link_rows if r[1] in effective
             and (r[2] is None or r[2] in tables["version"]) and (r[3] is None or r[3] in tables["version"])]
    stats = {r[0]: dict(area_km2=r[1], population=r[2], seat=r[3], lon=r[4], lat=r[5], source=r[6])
             for r in tables["statistic"].values() if r[0] in kept}
    return acts, versions, events, links, stats



# --- the reference: the integrity rules as they were (checks.py before issue 12's third round)


def _overlaps(versions: list[V]) -> list[tuple[V, V]]:
    ordered = sorted(versions, key=lambda v: v.valid_from or date.min)
    out = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.valid_to is None or (b.valid_from or date.min) <= a.valid_to:
            out.append((a, b))
    return out


def reference_check(snap: Snapshot) -> list[Violation]:
    out: list[Violation] = []
    add = out.append
    for versions in snap.by_unit.values():
        for a, b in _overlaps(versions):
            add(Violation("overlapping-identity", _("{key} and {key2} of one unit overlap").format(key=a.key, key2=b.key), [a.key, b.key]))
    by_code: dict[tuple[str, str], list[V]] = defaultdict(list)
    for v in snap.versions.values():
        by_code[(v.kind, v.code)].append(v)
    for versions in by_code.values():
        for a, b in _overlaps(versions):
            if a.unit_id != b.unit_id:
                add(Violation("overlapping-code", _("code {code} held by {key} and {key2} at once").format(code=a.code, key=a.key, key2=b.key),
                              [a.key, b.key]))
    for link in snap.links:
        ev, p, s = link.event, link.pred, link.succ
        if p is not None and s is not None:
            if p.id == s.id:
                add(Violation("own-successor", _("{key} is its own successor ({key2})").format(key=p.key, key2=ev.key), [p.key]))
            if p.valid_to is None or s.valid_from != p.valid_to + ONE_DAY:
                add(Violation("successor-gap",
                              _("{key} does not start the day {key2} ends ({key3})").format(key=s.key, key2=p.key, key3=ev.key), [p.key, s.key]))
        if p is not None and p.valid_to is not None and p.valid_to + ONE_DAY != ev.effective:
            add(Violation("event-date", _("{key} ends {valid_to}, but {key2} takes effect {effective}").format(key=p.key, valid_to=p.valid_to, key2=ev.key, effective=ev.effective),
                          [p.key, ev.key]))
        if s is not None and s.valid_from != ev.effective:
            add(Violation("event-date", _("{key} starts {valid_from}, but {key2} takes effect {effective}").format(key=s.key, valid_from=s.valid_from, key2=ev.key, effective=ev.effective),
                          [s.key, ev.key]))
    for v in snap.versions.values():
        if v.valid_to is not None and not snap.out_links.get(v.id):
            add(Violation("no-fate", _("{key} ({full_name}) ends {valid_to} with no recorded fate").format(key=v.key, full_name=v.full_name, valid_to=v.valid_to), [v.key]))
        if v.valid_from is not None and not snap.in_links.get(v.id):
            add(Violation("no-origin", _("{key} ({full_name}) starts {valid_from} with no predecessor or establishment").format(key=v.key, full_name=v.full_name, valid_from=v.valid_from), [v.key]))
        out.extend(_parent_violations(snap, v))
    shares: dict[tuple[int, str], list[float | None]] = defaultdict(list)
    for link in snap.links:
        if link.pred is not None and link.share_basis:
            shares[(link.pred.id, link.share_basis)].append(link.share)
    for (vid, basis), values in shares.items():
        total = sum(x for x in values if x is not None)
        v = snap.versions[vid]
        if any(x is not None and not 0 < x <= 1 for x in values) or total > 1 + TOLERANCE:
            add(Violation("shares", _("{basis} shares of {key} sum to {total:g} (must not exceed 1)").format(basis=basis, key=v.key, total=total), [v.key]))
        all_given = len(values) == len(snap.out_links.get(vid, [])) and None not in values
        if all_given and abs(total - 1) > TOLERANCE:
            add(Violation("shares", _("{basis} shares of {key} sum to {total:g}, not 1").format(basis=basis, key=v.key, total=total), [v.key]))
    cycle = checks.find_cycle(snap)  # unchanged, and compared with networkx in test_checks.py
    if cycle:
        keys = [v.key for v in cycle]
        add(Violation("cycle", "lineage cycle: " + " -> ".join(keys), keys))
    return out


def _parent_violations(snap: Snapshot, v: V) -> list[Violation]:
    if v.parent_unit_id is None:
        return []
    parents = snap.by_unit.get(v.parent_unit_id, [])
    out = []
    if not parents:
        return [Violation("parent", _("{key} has a parent that does not exist").format(key=v.key), [v.key])]
    for p in parents:
        if v.kind == p.kind != "agency" and LEVEL_ORDER.get(p.level, 9) >= LEVEL_ORDER.get(v.level, 9):
            out.append(Violation("parent-level", _("{key} ({level}) has parent {key2} ({level2})").format(key=v.key, level=v.level, key2=p.key, level2=p.level),
                                 [v.key, p.key]))
            break
    cursor = v.valid_from
    for p in sorted(parents, key=lambda p: p.valid_from or date.min):
        if p.valid_to is not None and cursor is not None and p.valid_to < cursor:
            continue
        if (p.valid_from is not None) and (cursor is None or p.valid_from > cursor):
            break
        if p.valid_to is None:
            return out
        cursor = p.valid_to + ONE_DAY
        if v.valid_to is not None and cursor > v.valid_to:
            return out
    out.append(Violation("parent-validity", _("the parent of {key} is not valid throughout {period}").format(key=v.key, period=v.period()),
                         [v.key]))
    return out


def reference_gaps(snap: Snapshot) -> list[Violation]:
    out: list[Violation] = []
    for link in snap.links:
        label = checks.GAP_RELATIONS.get(link.relation)
        if label is None:
            continue
        v = link.pred if link.pred is not None else link.succ
        if v is None:
            continue
        when = (_("ends {day}").format(day=v.valid_to) if link.pred is not None
                else _("starts {day}").format(day=v.valid_from))
        out.append(Violation("source-gap", f"{v.key} ({v.full_name}) {when}: {_(label)}", [v.key, link.event.key]))
    return out


def _said(found: list[Violation]) -> list[tuple]:
    return [(v.rule, v.message, v.subjects) for v in found]


# --- the comparisons ---------------------------------------------------------------------------


def test_check_agrees_with_the_reference_on_the_real_register(national: Register) -> None:
    snap = national.snapshot
    found = _said(checks.check(snap))
    assert found == _said(reference_check(snap)) == []  # the bundled register is sound
    gaps = _said(checks.source_gaps(snap))
    assert gaps == _said(reference_gaps(snap)) and len(gaps) > 1000  # the sources' gaps, listed alike


def _tables(reg: Register) -> cache.Tables:
    with reg._reading() as query:
        return cache.read_all(query)


def test_derived_rows_agree_with_the_reference_after_writes(national_copy: Register) -> None:
    """Recorded, revoked and amended events, seen as recorded before, between and after them."""
    reg = national_copy
    rename = Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm",
                  act="TEST/2026")
    first = reg.record(rename, by="t", at=datetime(2026, 1, 2, 8, tzinfo=UTC))
    reg.revoke(first.events[0], reason="test", by="t", at=datetime(2026, 1, 3, tzinfo=UTC))
    again = reg.record(rename, by="t", at=datetime(2026, 1, 4, tzinfo=UTC))
    reg.amend(again.events[0], {"note": "sửa"}, reason="test", by="t", at=datetime(2026, 1, 5, tzinfo=UTC))
    merge = Spec("merge", date(2026, 2, 1), units=["Phường Lê Thanh Nghị"], into=["Phường Hải Dương"],
                 act="TEST/2026-2")
    reg.record(merge, by="t", at=datetime(2026, 1, 6, tzinfo=UTC))
    tables = _tables(reg)
    for when in (None, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, 9, tzinfo=UTC),
                 datetime(2026, 1, 3, 12, tzinfo=UTC), datetime(2026, 1, 4, 12, tzinfo=UTC),
                 datetime(2026, 1, 5, 12, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)):
        assert cache.derive(tables, when).rows() == reference_derive(tables, when), when
    # and the check of what was written still agrees
    snap = Register.open(str(reg.sqlite_path) if reg.sqlite_path else reg.url).snapshot
    assert _said(checks.check(snap)) == _said(reference_check(snap))


DAYS = st.none() | st.integers(0, 6).map(lambda n: date(2025, 6, 28) + timedelta(days=n))


@st.composite
def damaged(draw: st.DrawFn) -> Snapshot:
    """A small snapshot with whatever is wrong: overlaps, shared codes, gaps, missing or wrong
    parents, shares, cycles, own successors."""
    n = draw(st.integers(1, 9))
    versions = {}
    for i in range(1, n + 1):
        start, end = draw(DAYS), draw(DAYS)
        versions[i] = V(i, f"k{i}", draw(st.integers(1, 4)), "u", draw(st.sampled_from(["admin", "agency"])),
                        draw(st.sampled_from(["01", "02", "03"])), f"X{i}", f"Xã X{i}", "xã",
                        draw(st.sampled_from(["province", "district", "commune", "village", "agency"])),
                        draw(st.none() | st.integers(1, 5)), start, end, None, "")
    ev = {j: E(j, f"E{j}", "merge", draw(DAYS) or date(2025, 7, 1), None, None, "", "", None,
               datetime(2025, 7, 1), "t") for j in (1, 2)}
    ids = st.none() | st.integers(1, n)
    links = []
    for m in range(draw(st.integers(0, 12))):
        p, s = draw(ids), draw(ids)
        share = draw(st.none() | st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5]))
        links.append(L(m, ev[draw(st.sampled_from([1, 2]))], versions.get(p) if p else None,
                       versions.get(s) if s else None, "part", "", share,
                       draw(st.sampled_from([None, "area", "population"])), ""))
    return Snapshot("g", versions, ev, links, {})


@given(damaged())
@settings(max_examples=300, deadline=None)
def test_check_agrees_with_the_reference_on_drawn_damage(snap: Snapshot) -> None:
    assert _said(checks.check(snap)) == _said(reference_check(snap))


@given(st.lists(st.one_of(st.none(), st.integers(-2**62, 2**62), st.floats(allow_nan=False),
                          st.text(max_size=8)), max_size=80),
       st.lists(st.sampled_from(["xã", "phường", None, "2025-07-01", "a\x00b", ""]), min_size=64, max_size=200),
       st.lists(st.integers(0, 10**6), max_size=100, unique=True))
@settings(max_examples=100, deadline=None)
def test_the_cache_file_gives_back_every_value_as_written(tmp_path_factory, mixed: list, few: list,  # type: ignore[no-untyped-def]
                                                          ids: list) -> None:
    """Whatever a column holds (text of few values, mixed types, nothing, NUL characters, large
    numbers), the cache gives it back equal and of the same type."""
    path: Path = tmp_path_factory.mktemp("cache") / "x.snapshot"
    columns = {name: [[] for _ in range(cache._width(name))] for name in cache.COLUMNS}
    columns["legal_act"] = [list(range(len(mixed))), mixed, *([None] * len(mixed) for _ in range(6))]
    columns["unit"] = [list(range(len(few))), few, list(few)]
    columns["derived_share"] = [sorted(ids), *([x * 0.5 for x in ids] for _ in range(4))]
    cache.write_columns(path, "gen", columns)
    found = cache.read_columns(path)
    assert found is not None
    gen, back = found
    assert gen == "gen"
    assert back == columns
    assert [[type(x) for x in c] for cols in back.values() for c in cols] == \
        [[type(x) for x in c] for cols in columns.values() for c in cols]


def test_the_snapshot_from_the_cache_is_the_snapshot_from_the_store(national: Register) -> None:
    _ = national.snapshot  # the cache is written
    found = cache.read_columns(national.cache_path())
    assert found is not None
    from_cache = graph.from_columns(found[0], found[1])
    direct = graph.from_tables(found[0], _tables(national))
    assert cache.derive_columns(found[1]).rows() == reference_derive(_tables(national))
    assert list(from_cache.versions) == list(direct.versions)
    assert [(lk.id, lk.event.key, lk.pred and lk.pred.key, lk.succ and lk.succ.key) for lk in from_cache.links] == \
        [(lk.id, lk.event.key, lk.pred and lk.pred.key, lk.succ and lk.succ.key) for lk in direct.links]
