"""Crosswalks between any two dates: which share of each unit at FROM lies in each unit at TO.

A crosswalk composes the lineage links of every event between the two dates, forwards
(FROM earlier: carrying old units onto new ones) or backwards (FROM later: back-casting new
units onto old ones). One event step gives each link a share:

* forwards, the share of the predecessor that went to the successor. A predecessor with one
  successor gives it everything ("whole", exact). For a predecessor divided between several
  successors the shares come from the recorded weights of the links (``share``/``share_basis``;
  the NSO note "toàn bộ dân số" records that all of the population went to one successor) and,
  where nothing is recorded, from an explicit fallback: the successors' own sapnhap statistics
  (area or population, divided by the number of units each successor was formed from), or an
  equal split.
* backwards, the share of the successor that came from each predecessor: the forward shares of
  its predecessors, each predecessor counted as one unit of equal size (old units carry no
  statistics), so a unit formed from two whole communes and half of a third is 2/5, 2/5, 1/5.

Shares multiply along a chain of events and add up over parallel paths, so the shares of every
FROM unit sum to 1 (a unit dissolved without successor keeps its share on an empty TO). Every
row names the basis of its share: ``whole`` when exact, otherwise the recorded weights and
fallbacks used on the way, so nobody mistakes an estimate for a measurement.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

from merger import counts
from merger.errors import BadInput
from merger.graph import L, Snapshot, V, no_gc
from merger.i18n import _

if TYPE_CHECKING:
    from merger.register import Register

Weights = Literal["population", "area", "equal"]
WEIGHTS: tuple[str, ...] = ("population", "area", "equal")

# Bases of a share, from exact to estimated.
WHOLE = "whole"  # the unit went (or came) whole: exact
RECORDED = "recorded-{}"  # a weight recorded on the link (e.g. recorded-population)
FALLBACK_STATS = "fallback-successor-{}"  # successors' sapnhap statistics, per predecessor
FALLBACK_EQUAL = "fallback-equal"  # nothing known: equal split between successors
FALLBACK_PARTS = "fallback-equal-size-predecessors"  # backwards: predecessors counted as equal units
DISSOLVED = "dissolved"  # no successor (or, backwards, no predecessor) on the other date
NO_LINK = "no-recorded-link"  # ended without any recorded event: reported, never guessed
# Ended (or, backwards, began) where the published lists do not say where the territory went
# (or came from): a gap in the sources, not a dissolution.
SOURCE_GAP = "successor-unknown"
_GAP_RELATIONS = frozenset({"successor_unknown", "origin_unknown"})

_RECORDED_BASES = {"population": ("population",), "area": ("area", "geometry"), "equal": ()}
_STAT_FIELD = {"population": "population", "area": "area_km2"}


@dataclass(slots=True)
class Row:
    """One (unit at FROM, unit at TO) pair and the share of the FROM unit lying in the TO unit."""

    source: V
    target: V | None  # None: dissolved / formed from nothing on the other date
    share: float
    bases: frozenset[str]
    events: tuple[str, ...]

    @property
    def basis(self) -> str:
        """``whole`` when exact, otherwise the estimating bases joined by "+"."""
        rest = sorted(self.bases - {WHOLE})
        return "+".join(rest) if rest else WHOLE

    @property
    def exact(self) -> bool:
        return all(b == WHOLE or b.startswith("recorded-") for b in self.bases)


@dataclass
class Crosswalk:
    start: date
    end: date
    weights: str
    level: str | None
    within: str | None
    sources: list[V]
    rows: list[Row]
    targets: list[V] = field(default_factory=list)  # units at TO in scope (same level/territory)

    @property
    def forward(self) -> bool:
        return self.end >= self.start

    def by_source(self) -> dict[int, list[Row]]:
        out: dict[int, list[Row]] = defaultdict(list)
        for r in self.rows:
            out[r.source.id].append(r)
        return out

    def unreached(self) -> list[V]:
        """Units at TO that no FROM unit of the crosswalk reaches (e.g. a special zone formed
        from a whole district with no communes, in a commune-level crosswalk)."""
        hit = {r.target.id for r in self.rows if r.target is not None}
        return [v for v in self.targets if v.id not in hit]

    def known_share(self) -> tuple[int, int]:
        """(FROM units whose whole path to TO is known, all FROM units): a path is unknown where
        a source gap (successor or origin unknown) or a missing link lies on it."""
        unknown = {r.source.id for r in self.rows if SOURCE_GAP in r.bases or NO_LINK in r.bases}
        return len(self.sources) - len(unknown), len(self.sources)

    def split_sources(self) -> list[V]:
        """FROM units divided between several TO units."""
        return [rows[0].source for rows in self.by_source().values() if len(rows) > 1]


class Composer:
    """Step shares and composed paths for one snapshot and one weighting, memoised per version.

    Holds no global state: make one per question (cheap) and reuse it within that question.
    """

    def __init__(self, snap: Snapshot, weights: str = "population"):
        if weights not in WEIGHTS:
            raise BadInput(_("unknown weights {weights!r}; use one of {join}").format(weights=weights, join=', '.join(WEIGHTS)))
        self.snap = snap
        self.weights = weights
        self._fwd: dict[int, list[tuple[L, float, str]]] = {}
        self._bwd: dict[int, list[tuple[L, float, str]]] = {}
        self._basis_sets: dict[str, frozenset[str]] = {}

    # --- one event step ---------------------------------------------------------------------

    def forward_step(self, v: V) -> list[tuple[L, float, str]]:
        """The out-links of ``v`` with the share of ``v`` each carries and its basis."""
        found = self._fwd.get(v.id)
        if found is None:
            found = self._fwd[v.id] = self._forward_step(v)
        return found

    def _forward_step(self, v: V) -> list[tuple[L, float, str]]:
        links = self.snap.out_links.get(v.id, [])
        if not links:
            return []
        if len(links) == 1:
            return [(links[0], 1.0, WHOLE)]
        if any(x.succ is None for x in links) and any(x.succ is not None for x in links):
            # the unit (a tier) was dissolved but its territory went to the other successors:
            # the dissolution link carries none of it
            kept = [x for x in links if x.succ is not None]
            shares = {id(x): (s, b) for x, s, b in self._split(kept)}
            return [(x, *shares.get(id(x), (0.0, WHOLE))) for x in links]
        return self._split(links)

    def _split(self, links: list[L]) -> list[tuple[L, float, str]]:
        if len(links) == 1:
            return [(links[0], 1.0, WHOLE)]
        accepted = _RECORDED_BASES[self.weights]
        recorded = [x for x in links if x.share is not None and x.share_basis in accepted]
        out: dict[int, tuple[float, str]] = {}
        rest = [x for x in links if x not in recorded]
        remaining = 1.0
        if recorded:
            total = sum(x.share or 0.0 for x in recorded)
            scale = 1.0 / total if total > 1.0 else 1.0
            for x in recorded:
                out[x.id] = ((x.share or 0.0) * scale, RECORDED.format(x.share_basis))
            remaining = max(0.0, 1.0 - total * scale)
            if remaining <= 1e-12:
                for x in rest:  # everything recorded went elsewhere: these carry none of it
                    out[x.id] = (0.0, RECORDED.format(recorded[0].share_basis))
                rest = []
        if rest:
            for x, w, basis in self._fallback(rest):
                out[x.id] = (remaining * w, basis)
        return [(x, *out[x.id]) for x in links]

    def _fallback(self, links: list[L]) -> list[tuple[L, float, str]]:
        """Shares (summing to 1) for links with no recorded weight: statistics, else equal."""
        stat_field = _STAT_FIELD.get(self.weights)
        if stat_field is not None:
            weights: list[float] = []
            for x in links:
                st = self.snap.stats.get(x.succ.id) if x.succ is not None else None
                value = st.get(stat_field) if st else None
                if not value or value <= 0:
                    break
                n_in = max(1, len(self.snap.in_links.get(x.succ.id, ())))  # type: ignore[union-attr]
                weights.append(float(value) / n_in)
            else:
                total = sum(weights)
                basis = FALLBACK_STATS.format(self.weights)
                return [(x, w / total, basis) for x, w in zip(links, weights, strict=True)]
        return [(x, 1.0 / len(links), FALLBACK_EQUAL) for x in links]

    def backward_step(self, v: V) -> list[tuple[L, float, str]]:
        """The in-links of ``v`` with the share of ``v`` each predecessor gave, and its basis."""
        found = self._bwd.get(v.id)
        if found is None:
            found = self._bwd[v.id] = self._backward_step(v)
        return found

    def _backward_step(self, v: V) -> list[tuple[L, float, str]]:
        links = self.snap.in_links.get(v.id, [])
        if not links:
            return []
        if len(links) == 1:
            return [(links[0], 1.0, WHOLE)]
        parts: list[tuple[L, float, str]] = []
        for x in links:
            if x.pred is None:
                parts.append((x, 0.0, FALLBACK_EQUAL))
                continue
            share, basis = next(((s, b) for link, s, b in self.forward_step(x.pred) if link.id == x.id),
                                (1.0, FALLBACK_EQUAL))
            parts.append((x, share, basis))
        total = sum(s for _, s, _ in parts)
        if total <= 0:
            return [(x, 1.0 / len(links), FALLBACK_EQUAL) for x in links]
        out = []
        for x, s, basis in parts:
            if basis.startswith("recorded-") and s == 0.0:
                out.append((x, 0.0, basis))  # recorded to carry nothing of this weight
            elif all(b == WHOLE for _, _, b in parts):
                out.append((x, s / total, FALLBACK_PARTS))
            else:
                out.append((x, s / total, FALLBACK_PARTS if basis == WHOLE else f"{basis}+{FALLBACK_PARTS}"))
        return out

    # --- chains ---------------------------------------------------------------------------------

    def compose(self, v: V, end: date) -> list[Row]:
        """Rows from ``v`` to the versions valid on ``end``, through every event in between."""
        if v.valid_on(end):
            return [Row(v, v, 1.0, frozenset({WHOLE}), ())]
        forward = v.valid_to is not None and v.valid_to < end
        steps = self.forward_step(v) if forward else self.backward_step(v)
        fast = self._direct(v, steps, end, forward)
        if fast is not None:
            return fast
        acc: dict[int | None, list] = {}
        # depth-first over paths: (version, share so far, bases so far, events so far)
        stack: list[tuple[V, float, frozenset[str], tuple[str, ...], frozenset[int]]] = [
            (v, 1.0, frozenset(), (), frozenset({v.id}))]
        while stack:
            cur, share, bases, events, seen = stack.pop()
            steps = self.forward_step(cur) if forward else self.backward_step(cur)
            if not steps:
                self._add(acc, None, share, bases | {NO_LINK if cur is v else DISSOLVED}, events)
                continue
            for link, s, basis in steps:
                nxt = link.succ if forward else link.pred
                b2 = bases | set(basis.split("+"))
                ev = events if link.event.key in events else events + (link.event.key,)
                if nxt is None:
                    if s > 0:  # a zero-share dissolution link is the end of a tier, not of territory
                        gap = SOURCE_GAP if link.relation in _GAP_RELATIONS else DISSOLVED
                        self._add(acc, None, share * s, b2 | {gap}, ev)
                elif nxt.valid_on(end):
                    self._add(acc, nxt, share * s, b2, ev)
                elif nxt.id in seen or _beyond(nxt, end, forward):
                    self._add(acc, None, share * s, b2 | {NO_LINK}, ev)
                else:
                    stack.append((nxt, share * s, b2, ev, seen | {nxt.id}))
        rows = [Row(v, target, share, frozenset(bases), events)
                for target, share, bases, events in acc.values()]
        rows.sort(key=lambda r: (r.target is None, r.target.code if r.target else ""))
        return rows

    def _direct(self, v: V, steps: list[tuple[L, float, str]], end: date, forward: bool) -> list[Row] | None:
        """One event step to distinct units valid on ``end`` (the common case): no path search."""
        if not steps:
            return None
        rows: list[Row] = []
        seen: set[int] = set()
        for link, share, basis in steps:
            n = link.succ if forward else link.pred
            if n is None or n.id in seen or not n.valid_on(end):
                return None
            seen.add(n.id)
            bases = self._basis_sets.get(basis)
            if bases is None:
                bases = self._basis_sets[basis] = frozenset(basis.split("+"))
            rows.append(Row(v, n, share, bases, (link.event.key,)))
        if len(rows) > 1:
            rows.sort(key=lambda r: r.target.code)  # type: ignore[union-attr]
        return rows

    @staticmethod
    def _add(acc: dict, target: V | None, share: float, bases: frozenset[str], events: tuple[str, ...]) -> None:
        key = target.id if target is not None else None
        if key in acc:
            _, s, b, ev = acc[key]
            acc[key] = [target, s + share, b | bases, ev + tuple(e for e in events if e not in ev)]
        else:
            acc[key] = [target, share, bases, events]


def paused_gc() -> AbstractContextManager[None]:
    """Pause the cyclic garbage collector during a batch that creates no cycles (see graph.no_gc)."""
    return no_gc()


def _beyond(v: V, end: date, forward: bool) -> bool:
    """A version that starts after ``end`` (forwards) or ended before it (backwards): a gap."""
    if forward:
        return v.valid_from is not None and v.valid_from > end
    return v.valid_to is not None and v.valid_to < end


def units_in_scope(reg: Register, day: date, *, within: str | None, level: str | None,
                   kind: str = "admin") -> list[V]:
    """Units valid on ``day`` (of ``level``), inside ``within``'s territory as counts reads it
    (through the lineage on a day the unit did not exist: new Hải Phòng includes old Hải Dương)."""
    snap = reg.snapshot
    if within:
        unit = reg.resolve(within, containers=True)
        found = [v for v in counts.territory_on(snap, unit.version, day, kind) if v.unit_id != unit.unit_id]
    else:
        found = snap.valid_on(day, kind)
    if level:
        found = [v for v in found if v.level == level]
    return sorted(found, key=lambda v: v.code)


def crosswalk(reg: Register, start: date, end: date, *, within: str | None = None,
              level: str | None = "commune", weights: str = "population") -> Crosswalk:
    """The crosswalk from the units valid on ``start`` to those valid on ``end``."""
    if level is not None and level not in counts.LEVELS:
        raise BadInput(_("unknown level {level!r}; use one of {join}").format(level=level, join=', '.join(counts.LEVELS)))
    composer = Composer(reg.snapshot, weights)
    sources = units_in_scope(reg, start, within=within, level=level)
    targets = units_in_scope(reg, end, within=within, level=level)
    with paused_gc():
        rows = [row for v in sources for row in composer.compose(v, end)]
    label = reg.resolve(within, containers=True).version.full_name if within else None
    return Crosswalk(start, end, weights, level, label, sources, rows, targets)


def to_records(snap: Snapshot, cw: Crosswalk) -> list[dict[str, object]]:
    """Plain rows for CSV/JSON: from/to keys, codes, names (with parents), share and basis."""
    out: list[dict[str, object]] = []
    n_by_source = {vid: len(rows) for vid, rows in cw.by_source().items()}
    paths: dict[int, str] = {}

    def path(v: V) -> str:
        found = paths.get(v.id)
        if found is None:
            found = paths[v.id] = snap.path(v)
        return found

    for r in cw.rows:
        t = r.target
        out.append(dict(
            from_key=r.source.key, from_code=r.source.code, from_name=path(r.source),
            to_key=t.key if t else None, to_code=t.code if t else None,
            to_name=path(t) if t else None, share=round(r.share, 10), basis=r.basis,
            exact=r.exact, split=n_by_source[r.source.id] > 1, events=";".join(r.events),
        ))
    return out
