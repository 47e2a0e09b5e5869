"""The lineage graph: an in-memory snapshot of versions, events and links.

Every read command works on a ``Snapshot``: plain objects and adjacency maps, cheap to pickle,
so a CLI call loads it from a cache file next to the register instead of re-reading the
database (and without importing the ORM). ``to_networkx`` gives the same graph to networkx for
the graph algorithms (cycles, reachability), imported only when asked for.
"""

from __future__ import annotations

import gc
import os
import pickle
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger.i18n import fdate
from merger.names import fold, spelling

if TYPE_CHECKING:
    import networkx as nx
    from sqlalchemy.engine import Connection

SNAPSHOT_FORMAT = 2
LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2, "village": 3, "agency": 1}


@dataclass(slots=True)
class Act:
    id: int
    number: str
    kind: str
    issuer: str
    title: str
    date_signed: date | None
    effective_date: date | None
    source: str


@dataclass(slots=True)
class V:
    """One version of a unit: what it was called, where it sat, and when."""

    id: int
    key: str
    unit_id: int
    unit_key: str
    kind: str
    code: str
    name: str
    full_name: str
    type: str
    level: str
    parent_unit_id: int | None
    valid_from: date | None
    valid_to: date | None
    evidence: str | None
    source: str
    folded: str = ""  # fold(name), kept so lookups need not recompute it

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def period(self) -> str:
        start = fdate(self.valid_from, "…")  # ISO, or 01/7/2025 in Vietnamese output
        end = fdate(self.valid_to)
        return f"{start} – {end}".rstrip()


@dataclass(slots=True)
class E:
    id: int
    key: str
    type: str
    effective: date
    act: Act | None
    clause: str | None
    note: str
    source: str
    evidence: str | None
    recorded_at: datetime
    recorded_by: str

    def basis(self) -> str:
        """The legal basis as people cite it: "khoản 3 Điều 1, 1669/NQ-UBTVQH15"."""
        if self.act is None:
            return ""
        return f"khoản {self.clause} Điều 1, {self.act.number}" if self.clause else self.act.number


@dataclass(slots=True)
class L:
    id: int
    event: E
    pred: V | None
    succ: V | None
    portion: str
    relation: str
    share: float | None
    share_basis: str | None
    note: str


@dataclass
class Snapshot:
    generation: str
    versions: dict[int, V]
    events: dict[int, E]
    links: list[L]
    stats: dict[int, dict[str, Any]]
    by_key: dict[str, V] = field(default_factory=dict)
    by_unit: dict[int, list[V]] = field(default_factory=lambda: defaultdict(list))
    out_links: dict[int, list[L]] = field(default_factory=lambda: defaultdict(list))
    in_links: dict[int, list[L]] = field(default_factory=lambda: defaultdict(list))
    event_links: dict[int, list[L]] = field(default_factory=lambda: defaultdict(list))
    by_fold: dict[str, list[V]] = field(default_factory=lambda: defaultdict(list))
    by_code: dict[str, list[V]] = field(default_factory=lambda: defaultdict(list))
    raw: tuple = ()  # the rows it was assembled from, for the cache file
    _paths: dict[tuple[int, date | None], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_key, by_unit, by_fold, by_code = self.by_key, self.by_unit, self.by_fold, self.by_code
        for v in self.versions.values():
            by_key[v.key] = v
            by_unit[v.unit_id].append(v)
            by_fold[v.folded or fold(v.name)].append(v)
            by_code[v.code].append(v)
        for vs in by_unit.values():
            if len(vs) > 1:
                vs.sort(key=lambda v: (v.valid_from or date.min))
        out_links, in_links, event_links = self.out_links, self.in_links, self.event_links
        for link in self.links:
            if link.pred is not None:
                out_links[link.pred.id].append(link)
            if link.succ is not None:
                in_links[link.succ.id].append(link)
            event_links[link.event.id].append(link)

    # --- time ------------------------------------------------------------------------------

    def valid_on(self, day: date, kind: str | None = "admin") -> list[V]:
        return [v for v in self.versions.values() if v.valid_on(day) and (kind is None or v.kind == kind)]

    def unit_version(self, unit_id: int, day: date) -> V | None:
        for v in self.by_unit.get(unit_id, ()):
            if v.valid_on(day):
                return v
        return None

    def parent_of(self, v: V, day: date | None = None) -> V | None:
        """The parent version on ``day`` (default: the child's last day, or its first)."""
        if v.parent_unit_id is None:
            return None
        if day is None:
            day = v.valid_to or v.valid_from or date.today()
        found = self.unit_version(v.parent_unit_id, day)
        if found is None:  # e.g. a child whose parent was re-versioned mid-way: take the latest
            versions = self.by_unit.get(v.parent_unit_id) or []
            found = versions[-1] if versions else None
        return found

    def ancestors(self, v: V, day: date | None = None) -> list[V]:
        out: list[V] = []
        seen: set[int] = set()
        cur = self.parent_of(v, day)
        while cur is not None and cur.id not in seen:
            out.append(cur)
            seen.add(cur.id)
            cur = self.parent_of(cur, day)
        return out

    def path(self, v: V, day: date | None = None) -> str:
        """"Phường Hòa Bình, Thành phố Hải Phòng": a version with its parents, for people.

        Parents' own paths are memoised: a national table names the same districts and provinces
        thousands of times.
        """
        parent = self.parent_of(v, day)
        if parent is None:
            return v.full_name
        key = (parent.id, day)
        found = self._paths.get(key)
        if found is None:
            found = self._paths[key] = self.path(parent, day)
        return f"{v.full_name}, {found}"

    def label(self, v: V) -> str:
        parents = self.ancestors(v)
        parent = f" in {parents[0].full_name}" if parents else ""
        return f"{v.full_name}{parent} (code {v.code}, {v.period()})"

    # --- lineage ---------------------------------------------------------------------------

    def successors(self, v: V) -> list[L]:
        return self.out_links.get(v.id, [])

    def predecessors(self, v: V) -> list[L]:
        return self.in_links.get(v.id, [])

    def descendants_on(self, v: V, day: date) -> dict[int, V]:
        """Versions valid on ``day`` reached forward from ``v`` (``v`` itself if still valid)."""
        return self._reach(v, day, forward=True)

    def ancestors_on(self, v: V, day: date) -> dict[int, V]:
        """Versions valid on ``day`` reached backward from ``v``."""
        return self._reach(v, day, forward=False)

    def _reach(self, v: V, day: date, forward: bool) -> dict[int, V]:
        found: dict[int, V] = {}
        stack, seen = [v], {v.id}
        while stack:
            cur = stack.pop()
            if cur.valid_on(day):
                found[cur.id] = cur
                continue
            links = self.out_links.get(cur.id, []) if forward else self.in_links.get(cur.id, [])
            for link in links:
                nxt = link.succ if forward else link.pred
                if nxt is not None and nxt.id not in seen:
                    seen.add(nxt.id)
                    stack.append(nxt)
        return found

    def statistics(self, v: V) -> dict[str, Any] | None:
        return self.stats.get(v.id)

    def to_networkx(self) -> nx.MultiDiGraph:
        """Versions as nodes, links as edges (keyed by link id), for networkx algorithms."""
        import networkx as nx

        g = nx.MultiDiGraph()
        for v in self.versions.values():
            g.add_node(v.id, key=v.key, level=v.level)
        for link in self.links:
            if link.pred is not None and link.succ is not None:
                g.add_edge(link.pred.id, link.succ.id, key=link.id, event=link.event.key)
        return g

    def spelled(self, v: V) -> str:
        return spelling(v.name)


# --- loading ----------------------------------------------------------------------------------
# The cache holds plain tuples (fast to pickle and unpickle); objects are assembled on load.


def _naive_utc(value: datetime) -> datetime:
    """Recorded times compare as naive UTC (SQLite returns them without a zone)."""
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def original_key(key: str) -> str:
    """A superseded record's key is stored with a "~<correction>" suffix; this is its own key."""
    return key.split("~", 1)[0]


def _raw(conn: Connection, as_recorded: datetime | None = None) -> tuple:
    from sqlalchemy import select

    from merger.model import Correction, DerivedShare, Event, LegalAct, Link, Statistic, Unit, Version

    limit = _naive_utc(as_recorded) if as_recorded is not None else None

    def seen(when: datetime) -> bool:
        return limit is None or _naive_utc(when) <= limit

    revoked = {r.event_id for r in conn.execute(select(Correction.event_id, Correction.recorded_at))
               if seen(r.recorded_at)}
    acts = [tuple(r) for r in conn.execute(select(
        LegalAct.id, LegalAct.number, LegalAct.kind, LegalAct.issuer, LegalAct.title, LegalAct.date_signed,
        LegalAct.effective_date, LegalAct.source))]
    units = {r.id: (original_key(r.key), r.kind) for r in conn.execute(select(Unit.id, Unit.key, Unit.kind))}
    event_rows = list(conn.execute(select(Event).order_by(Event.id)))
    recorded = {r.id for r in event_rows if r.origin}
    events = [
        (r.id, r.key, r.type, r.effective, r.act_id, r.clause, r.note, r.source, r.evidence,
         r.recorded_at, r.recorded_by)
        for r in event_rows
        if r.id not in revoked and (not r.origin or seen(r.recorded_at))
    ]
    effective = {r[0]: r[3] for r in events}
    # shares derived later (from geometry) apply to links that carry none, as recorded by then
    derived = {d.link_id: (d.share, d.basis)
               for d in conn.execute(select(DerivedShare.link_id, DerivedShare.share, DerivedShare.basis,
                                            DerivedShare.recorded_at).order_by(DerivedShare.id))
               if seen(d.recorded_at)}
    link_rows = [
        (r.id, r.event_id, r.predecessor_id, r.successor_id, r.portion, r.relation,
         *((r.share, r.share_basis) if r.share is not None else derived.get(r.id, (None, r.share_basis))),
         r.note)
        for r in conn.execute(select(Link).order_by(Link.id))
    ]
    # A version ended by a recorded event ends the day before the first visible event that
    # ends it (so a revocation reopens it); bundled versions keep their stored end, which the
    # checks compare with their events.
    touched = {r[2] for r in link_rows if r[1] in recorded and r[2] is not None}
    ended: dict[int, date | None] = {}
    created: set[int] = set()
    for r in link_rows:
        day = effective.get(r[1])
        if r[2] in touched:
            last = ended.get(r[2])
            if day is not None:
                end = day - timedelta(days=1)
                ended[r[2]] = end if last is None else min(last, end)
            else:
                ended.setdefault(r[2], None)
        if day is not None and r[3] is not None:
            created.add(r[3])
    versions = [
        (r.id, original_key(r.key), r.unit_id, units[r.unit_id][0], units[r.unit_id][1], r.code, r.name,
         r.full_name, r.type, r.level, r.parent_unit_id, r.valid_from, ended.get(r.id, r.valid_to),
         r.evidence, r.source, fold(r.name))
        for r in conn.execute(select(Version).order_by(Version.id))
        if r.recorded_at is None or r.id in created
    ]
    links = [r for r in link_rows if r[1] in effective]
    kept = {r[0] for r in versions}
    stats = {
        r.version_id: dict(area_km2=r.area_km2, population=r.population, seat=r.seat, lon=r.lon,
                           lat=r.lat, source=r.source)
        for r in conn.execute(select(Statistic)) if r.version_id in kept
    }
    return acts, versions, events, links, stats


def _assemble(generation: str, raw: tuple) -> Snapshot:
    acts_raw, versions_raw, events_raw, links_raw, stats = raw
    acts = {r[0]: Act(*r) for r in acts_raw}
    versions = {r[0]: V(*r) for r in versions_raw}
    events = {}
    for r in events_raw:
        events[r[0]] = E(r[0], r[1], r[2], r[3], acts.get(r[4]) if r[4] else None, *r[5:])
    vget = versions.get
    links = [
        L(r[0], events[r[1]], vget(r[2]) if r[2] else None, vget(r[3]) if r[3] else None, *r[4:])
        for r in links_raw
    ]
    snap = Snapshot(generation, versions, events, links, stats)
    snap.raw = raw
    return snap


def load(conn: Connection, generation: str, as_recorded: datetime | None = None) -> Snapshot:
    """Read the whole register once (core queries, no ORM objects).

    Bitemporal: only events recorded by ``as_recorded`` (default: now) and not revoked or
    amended by then are read; the bundled baseline (``origin`` empty) is always there. A
    recorded version exists while an event that created it does, and a version's end is the
    day before the first visible event that ended it, so a revocation reopens it.
    """
    return _assemble(generation, _raw(conn, as_recorded))


def _interned(raw: tuple) -> tuple:
    """The same rows with repeated strings shared, so pickle writes (and reads) each once."""
    import sys

    def row(r: tuple) -> tuple:
        return tuple(sys.intern(x) if isinstance(x, str) and len(x) < 200 else x for x in r)

    acts, versions, events, links, stats = raw
    stats = {k: {f: sys.intern(x) if isinstance(x, str) else x for f, x in d.items()} for k, d in stats.items()}
    return acts, [row(r) for r in versions], [row(r) for r in events], [row(r) for r in links], stats


def save_cache(snapshot: Snapshot, path: Path) -> None:
    """Write the cache atomically; a reader never sees half a file.

    Each writer has its own temporary file: processes refreshing the cache at the same moment
    (staff recording while analysts read) must not write into one shared file."""
    import tempfile

    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((SNAPSHOT_FORMAT, snapshot.generation, _interned(snapshot.raw)), fh,
                        protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def no_gc(freeze: bool = False) -> Iterator[None]:
    """Build (or walk) tens of thousands of objects without the cyclic collector rescanning them.

    The collector would otherwise run dozens of times over the growing heap (it triples the
    snapshot's load time). ``freeze`` moves what was built out of later collections: right for
    the long-lived snapshot.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if freeze:
                gc.freeze()
            gc.enable()


def read_cache(path: Path, generation: str) -> Snapshot | None:
    with no_gc(freeze=True):
        try:
            with path.open("rb") as fh:
                fmt, gen, raw = pickle.load(fh)
        except Exception:  # noqa: BLE001  (a damaged cache is only a miss: the store has the truth)
            return None
        if fmt != SNAPSHOT_FORMAT or gen != generation:
            return None
        return _assemble(gen, raw)
