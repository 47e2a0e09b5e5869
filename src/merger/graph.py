"""The lineage graph: an in-memory snapshot of versions, events and links.

Every read command works on a ``Snapshot``: plain objects and adjacency maps, built from the
register's rows (merger.cache: read with plain SQL, cached by column next to the register and
brought up to date by the rows a write adds, without importing the ORM). ``to_networkx`` gives the same graph to networkx for
the graph algorithms (cycles, reachability), imported only when asked for.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from merger import cache
from merger.collector import no_gc
from merger.i18n import fdate
from merger.names import fold, spelling

if TYPE_CHECKING:
    import networkx as nx
    from sqlalchemy.engine import Connection

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
        from merger.citation import render

        return render(self.clause, self.act.number if self.act else None)


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
    """The register's versions, events and links, with the indexes questions walk.

    ``by_unit`` and the link adjacency are built with the snapshot (every whole-register command
    walks them); the name, code and key indexes and ``event_links`` on first use, from the
    versions and links the snapshot was made with (a write's planner adds to them afterwards,
    index by index, as it adds versions and links): ``check`` and ``crosswalk`` never build them.
    """

    generation: str
    versions: dict[int, V]
    events: dict[int, E]
    links: list[L]
    stats: dict[int, dict[str, Any]]
    by_unit: dict[int, list[V]] = field(default_factory=lambda: defaultdict(list))
    out_links: dict[int, list[L]] = field(default_factory=lambda: defaultdict(list))
    in_links: dict[int, list[L]] = field(default_factory=lambda: defaultdict(list))
    _paths: dict[tuple[int, date | None], str] = field(default_factory=dict)
    # version id -> (the version, fold(full_name), fold(name)): names folded once per snapshot for
    # merger.search.search (checked against the version object: a planner may replace one)
    _folds: dict[int, tuple[V, str, str]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._made_of = (list(self.versions.values()), list(self.links))
        by_unit = self.by_unit
        for v in self._made_of[0]:
            by_unit[v.unit_id].append(v)
        for vs in by_unit.values():
            if len(vs) > 1:
                vs.sort(key=_start)
        out_links, in_links = self.out_links, self.in_links
        for link in self.links:
            if link.pred is not None:
                out_links[link.pred.id].append(link)
            if link.succ is not None:
                in_links[link.succ.id].append(link)

    @cached_property
    def by_key(self) -> dict[str, V]:
        return {v.key: v for v in self._made_of[0]}

    @cached_property
    def by_fold(self) -> dict[str, list[V]]:
        found: dict[str, list[V]] = defaultdict(list)
        for v in self._made_of[0]:
            found[v.folded or fold(v.name)].append(v)
        return found

    @cached_property
    def by_code(self) -> dict[str, list[V]]:
        found: dict[str, list[V]] = defaultdict(list)
        for v in self._made_of[0]:
            found[v.code].append(v)
        return found

    @cached_property
    def event_links(self) -> dict[int, list[L]]:
        found: dict[int, list[L]] = defaultdict(list)
        for link in self._made_of[1]:
            found[link.event.id].append(link)
        return found

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


# --- loading ---------------------------------------------------------------------------------
# The rows come from merger.cache (plain SQL, any driver; cached by column, as data); objects are built here.


def _start(v: V) -> date:
    return v.valid_from or date.min


def _naive_utc(value: datetime) -> datetime:
    """Recorded times compare as naive UTC (SQLite returns them without a zone)."""
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def original_key(key: str) -> str:
    """A superseded record's key is stored with a "~<correction>" suffix; this is its own key."""
    return key.split("~", 1)[0]


def sqlalchemy_query(conn: Connection) -> cache.Query:
    """Plain SQL through a SQLAlchemy connection (the writer's, inside its transaction)."""
    return lambda sql: conn.exec_driver_sql(sql).fetchall()


def _assemble(generation: str, raw: cache.Derived) -> Snapshot:
    """The snapshot's objects, one ``map`` per table over the derived columns."""
    a, v, e, k, stats = raw
    acts = dict(zip(a[0], map(Act, *a), strict=True))
    versions = dict(zip(v[0], map(V, *v), strict=True))
    event_acts = [acts.get(i) if i else None for i in e[4]]
    events = dict(zip(e[0], map(E, e[0], e[1], e[2], e[3], event_acts, *e[5:]), strict=True))
    vget = versions.get
    links = list(map(L, k[0], map(events.__getitem__, k[1]), map(vget, k[2]), map(vget, k[3]), *k[4:]))
    return Snapshot(generation, versions, events, links, stats)


def load(conn: Connection, generation: str, as_recorded: datetime | None = None) -> Snapshot:
    """Read the whole register once (plain SQL, no ORM objects); see cache.derive for the
    bitemporal rules applied with ``as_recorded``."""
    return from_tables(generation, cache.read_all(sqlalchemy_query(conn)), as_recorded)


def from_tables(generation: str, tables: cache.Tables, as_recorded: datetime | None = None) -> Snapshot:
    """The snapshot of the register's rows, as recorded at ``as_recorded`` (default: now)."""
    return from_columns(generation, cache.columns_of(tables), as_recorded)


def from_columns(generation: str, columns: cache.Columns, as_recorded: datetime | None = None) -> Snapshot:
    """The snapshot of the register's columns (the cache file's form), as recorded at ``as_recorded``."""
    with no_gc(freeze=True):
        return _assemble(generation, cache.derive_columns(columns, as_recorded))


