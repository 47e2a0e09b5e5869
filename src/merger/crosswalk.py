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
fallbacks used on the way, so nobody mistakes an estimate for a measurement; a row that fell
back also says why (``reason``: no share recorded, a successor without a figure, a province
whose figures do not add up, ...).

Area and population are separate portions: the weights name the measure, and a link that by
its wording moves none of that measure ("một phần diện tích": area, no population) carries 0
of it (basis ``stated-…``). At district level, a district whose tier ended on 1 July 2025 goes
to the new communes by the bundled boundary overlay (``overlay-area``/``overlay-population``,
merger.overlay), within the communes its own communes went to.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

from merger import counts, portions
from merger.errors import BadInput
from merger.graph import L, Snapshot, V, no_gc
from merger.i18n import _

if TYPE_CHECKING:
    from merger.overlay import DistrictShares
    from merger.register import Register
    from merger.sanity import Sanity

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
# The source's wording states the portion of this measure the link carries: none of it (a part of
# the area without population, "một phần diện tích"), or, the other links carrying none, all of it.
STATED = "stated-{}"
# Old district -> new commune, derived from the overlay of the two boundary layers (area share, or
# the area share weighted by the new commune's population): kept beside the links, never recorded.
OVERLAY = "overlay-{}"
# A district without geometry (or --weights equal): its communes' shares, each commune one unit.
FALLBACK_COMMUNES = "fallback-equal-size-communes"

# Why a share fell back (the ``reason`` column): a code, with ":" and the unit or province concerned.
WHY_NO_SHARE = "no-recorded-share"  # divided, no weight recorded: estimated from statistics
WHY_NO_FIGURE = "no-{}-figure"  # a successor has no figure of the measure: equal split
WHY_SUM_OFF = "province-sum-off"  # the successor's province's communes do not sum to its figure (1 %)
WHY_EQUAL = "equal-weights-asked"  # --weights equal
WHY_OLD_UNITS = "old-units-without-statistics"  # back-casting: the old units carry no figures
WHY_NO_GEOMETRY = "district-without-geometry"  # no overlay shares for this district
WHY_OVERLAY_DISAGREES = "overlay-disagrees-with-lineage"  # most of its overlay lies where its communes did not go
REASONS = (WHY_NO_SHARE, "no-population-figure", "no-area-figure", WHY_SUM_OFF, WHY_EQUAL, WHY_OLD_UNITS,
           WHY_NO_GEOMETRY, WHY_OVERLAY_DISAGREES)
# The overlay is used for a district when at least this share of it lies in communes its own
# communes went to (the recorded lineage is the authority; the old geometries are context).
OVERLAY_AGREEMENT = 0.5
_NO_WHY: frozenset[str] = frozenset()

_RECORDED_BASES = {"population": ("population",), "area": ("area", "geometry"), "equal": ()}
_STAT_FIELD = {"population": "population", "area": "area_km2"}
_MEASURE = {"population": "population", "area": "area"}

Step = tuple[L, float, str, frozenset[str]]  # a link, the share it carries, its basis, why it fell back


@dataclass(slots=True)
class Row:
    """One (unit at FROM, unit at TO) pair and the share of the FROM unit lying in the TO unit."""

    source: V
    target: V | None  # None: dissolved / formed from nothing on the other date
    share: float
    bases: frozenset[str]
    events: tuple[str, ...]
    reasons: frozenset[str] = _NO_WHY  # why a share fell back (WHY_* codes with their unit)

    @property
    def basis(self) -> str:
        """``whole`` when exact, otherwise the estimating bases joined by "+"."""
        rest = sorted(self.bases - {WHOLE})
        return "+".join(rest) if rest else WHOLE

    @property
    def reason(self) -> str:
        """Why the share fell back, "; "-joined ("" when it did not)."""
        return "; ".join(sorted(self.reasons))

    @property
    def exact(self) -> bool:
        return all(b == WHOLE or b.startswith(("recorded-", "stated-")) for b in self.bases)


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

    def fallbacks(self) -> dict[str, int]:
        """Rows whose share fell back, by reason code (a row may have several reasons)."""
        return fallback_counts(self.rows)


def fallback_counts(rows: list[Row]) -> dict[str, int]:
    """How many rows fell back for each reason code (in REASONS order)."""
    found: dict[str, int] = defaultdict(int)
    for r in rows:
        for code in {why.split(":", 1)[0] for why in r.reasons}:
            found[code] += 1
    return {code: found[code] for code in (*REASONS, *sorted(set(found) - set(REASONS))) if found.get(code)}


class Composer:
    """Step shares and composed paths for one snapshot and one weighting, memoised per version.

    Holds no global state: make one per question (cheap) and reuse it within that question.
    ``overlay`` (district shares, read only when a district is carried across the reform) gives
    old districts area-derived shares onto the new communes; without it they are dissolved.
    """

    def __init__(self, snap: Snapshot, weights: str = "population", *, overlay: DistrictShares | None = None):
        if weights not in WEIGHTS:
            raise BadInput(_("unknown weights {weights!r}; use one of {join}").format(weights=weights, join=', '.join(WEIGHTS)))
        self.snap = snap
        self.weights = weights
        self.measure = _MEASURE.get(weights)
        self.overlay = overlay
        self._fwd: dict[int, list[Step]] = {}
        self._lin: dict[int, list[Step]] = {}
        self._bwd: dict[int, list[Step]] = {}
        self._basis_sets: dict[str, frozenset[str]] = {}
        self._sanity: Sanity | None = None
        self._communes: dict[int, list[V]] | None = None
        self._virtual = 0

    # --- one event step ---------------------------------------------------------------------

    def forward_step(self, v: V) -> list[Step]:
        """The out-links of ``v`` with the share of ``v`` each carries, its basis and why it fell
        back; a district dissolved in the reform goes by the overlay when one is given."""
        found = self._fwd.get(v.id)
        if found is None:
            found = None
            if self.overlay is not None and v.level == "district":
                found = self._district_step(v)
            if found is None:
                found = self.lineage_step(v)
            self._fwd[v.id] = found
        return found

    def lineage_step(self, v: V) -> list[Step]:
        """The forward step along the recorded links alone."""
        found = self._lin.get(v.id)
        if found is None:
            found = self._lin[v.id] = self._forward_step(v)
        return found

    def _forward_step(self, v: V) -> list[Step]:
        links = self.snap.out_links.get(v.id, [])
        if not links:
            return []
        if len(links) == 1:
            return [(links[0], 1.0, WHOLE, _NO_WHY)]
        if any(x.succ is None for x in links) and any(x.succ is not None for x in links):
            # the unit (a tier) was dissolved but its territory went to the other successors:
            # the dissolution link carries none of it
            kept = [x for x in links if x.succ is not None]
            shares = {id(x): (s, b, w) for x, s, b, w in self._split(kept)}
            return [(x, *shares.get(id(x), (0.0, WHOLE, _NO_WHY))) for x in links]
        return self._split(links)

    def _split(self, links: list[L]) -> list[Step]:
        if len(links) == 1:
            return [(links[0], 1.0, WHOLE, _NO_WHY)]
        accepted = _RECORDED_BASES[self.weights]
        recorded = [x for x in links if x.share is not None and x.share_basis in accepted]
        out: dict[int, tuple[float, str, frozenset[str]]] = {}
        rest = [x for x in links if x not in recorded]
        remaining = 1.0
        if recorded:
            total = sum(x.share or 0.0 for x in recorded)
            scale = 1.0 / total if total > 1.0 else 1.0
            for x in recorded:
                out[x.id] = ((x.share or 0.0) * scale, RECORDED.format(x.share_basis), _NO_WHY)
            remaining = max(0.0, 1.0 - total * scale)
            if remaining <= 1e-12:
                for x in rest:  # everything recorded went elsewhere: these carry none of it
                    out[x.id] = (0.0, RECORDED.format(recorded[0].share_basis), _NO_WHY)
                rest = []
        if rest and self.measure is not None:
            rest = self._stated(rest, remaining, out)
        if rest:
            for x, w, basis, why in self._fallback(rest):
                out[x.id] = (remaining * w, basis, why)
        return [(x, *out[x.id]) for x in links]

    def _stated(self, links: list[L], remaining: float, out: dict[int, tuple[float, str, frozenset[str]]]) -> list[L]:
        """Links that carry none of the measure by their wording get 0; if one link is left it
        gets the rest. Returns the links still to be estimated."""
        m = self.measure or ""
        none = [x for x in links if portions.measure_portion(x.relation, x.portion, x.note, m) == portions.NONE]
        if not none or len(none) == len(links):
            return links
        basis = STATED.format(m)
        for x in none:
            out[x.id] = (0.0, basis, _NO_WHY)
        left = [x for x in links if x not in none]
        if len(left) == 1:
            out[left[0].id] = (remaining, basis, _NO_WHY)
            return []
        return left

    def _fallback(self, links: list[L]) -> list[Step]:
        """Shares (summing to 1) for links with no recorded weight: statistics, else equal."""
        stat_field = _STAT_FIELD.get(self.weights)
        if stat_field is None:
            return [(x, 1.0 / len(links), FALLBACK_EQUAL, frozenset({WHY_EQUAL})) for x in links]
        weights: list[float] = []
        lacking: list[str] = []
        derived = False
        for x in links:
            st = self.snap.stats.get(x.succ.id) if x.succ is not None else None
            value = st.get(stat_field) if st else None
            if (not value or value <= 0) and x.succ is not None and x.succ.level == "district":
                value = self._district_figure(x.succ)  # a district of 2025 divided earlier: its overlay
                derived = derived or bool(value)
            if not value or value <= 0:
                lacking.append(f"{WHY_NO_FIGURE.format(self.measure)}:{x.succ.key if x.succ else '-'}")
                continue
            n_in = max(1, len(self.snap.in_links.get(x.succ.id, ())))  # type: ignore[union-attr]
            weights.append(float(value) / n_in)
        if lacking:
            why = frozenset(lacking)
            return [(x, 1.0 / len(links), FALLBACK_EQUAL, why) for x in links]
        total = sum(weights)
        basis = FALLBACK_STATS.format(self.weights) + (f"+{OVERLAY.format(self.weights)}" if derived else "")
        why = {WHY_NO_SHARE}
        if self.measure == "population":
            for x in links:
                off = self.sanity().province_of(self.snap, x.succ) if x.succ is not None else None
                if off is not None:
                    why.add(f"{WHY_SUM_OFF}:{off.label()}")
        frozen = frozenset(why)
        return [(x, w / total, basis, frozen) for x, w in zip(links, weights, strict=True)]

    def sanity(self) -> Sanity:
        """The statistics sanity of the register (computed once, on first need)."""
        if self._sanity is None:
            from merger.sanity import population_sums

            self._sanity = population_sums(self.snap)
        return self._sanity

    # --- districts across the reform ------------------------------------------------------------

    def _district_step(self, v: V) -> list[Step] | None:
        """A district whose tier ended: its area (or population) onto the new communes by the
        overlay shares; without geometry, through its communes. None: not such a district."""
        links = self.snap.out_links.get(v.id, [])
        ended = next((x for x in links if x.relation == "dissolved"), None)
        if ended is None or self.overlay is None:
            return None
        kids = self._communes_of(v)
        why_not = _NO_WHY
        if self.measure is not None:
            found = self.overlay.pieces(v.key) if self.overlay.fits(self.snap.generation) else []
            pieces = [(p, c) for p in found if (c := self.snap.by_key.get(p.commune)) is not None]
            if pieces and kids:
                # the lineage says which communes the district went to, the overlay how much of it:
                # pieces elsewhere (edge slivers, geometries older than the district's last change)
                # are left out, and an overlay mostly elsewhere is not used at all
                reached = {link.succ.id for kid in kids for link, *_ in self.lineage_step(kid) if link.succ}
                reached |= {x.succ.id for x in links if x.succ is not None}
                kept = [(p, c) for p, c in pieces if c.id in reached]
                total = sum(p.share_of_district for p, _ in pieces)
                agree = sum(p.share_of_district for p, _ in kept) / total if total > 0 else 0.0
                if agree < OVERLAY_AGREEMENT:
                    why_not = frozenset({f"{WHY_OVERLAY_DISAGREES}:{100 * (1 - agree):.0f}%"})
                    pieces = []
                else:
                    pieces = kept
            weights = [p.share_of_district for p, _ in pieces]
            basis = OVERLAY.format("area")
            whys: list[frozenset[str]] = []
            if pieces and self.measure == "population":
                # people evenly spread over each new commune: its population x the share of it
                pops = [(self.snap.stats.get(c.id) or {}).get("population") for _, c in pieces]
                known = [(p, float(pop)) for (p, _), pop in zip(pieces, pops, strict=True) if pop]
                area_known = sum(p.area_km2 for p, _ in known)
                whys = [_NO_WHY if pop else frozenset({f"{WHY_NO_FIGURE.format('population')}:{c.key}"})
                        for (_, c), pop in zip(pieces, pops, strict=True)]
                if area_known > 0:
                    # a commune without a figure: its piece at the mean density of the district's other pieces
                    density = sum(p.share_of_commune * pop for p, pop in known) / area_known
                    weights = [p.share_of_commune * float(pop) if pop else p.area_km2 * density
                               for (p, _), pop in zip(pieces, pops, strict=True)]
                    basis = OVERLAY.format("population")
            total = sum(weights)
            if total > 0:
                return [(self._link(ended, v, c), w / total, basis, whys[i] if whys else _NO_WHY)
                        for i, ((_, c), w) in enumerate(zip(pieces, weights, strict=True))]
        if not kids:
            return None
        why = why_not or frozenset({WHY_EQUAL if self.measure is None else f"{WHY_NO_GEOMETRY}:{v.key}"})
        out: list[Step] = []
        for kid in kids:
            for link, s, basis, w in self.lineage_step(kid):
                both = FALLBACK_COMMUNES if basis == WHOLE else f"{basis}+{FALLBACK_COMMUNES}"
                out.append((link, s / len(kids), both, w | why))
        return out

    def _district_figure(self, v: V) -> float | None:
        """A district's area (km²) or population from the overlay (its pieces; population: each
        piece's share of its commune times the commune's figure), when an overlay is given."""
        if self.overlay is None or not self.overlay.fits(self.snap.generation):
            return None
        total = 0.0
        for p in self.overlay.pieces(v.key):
            if self.measure == "area":
                total += p.area_km2
                continue
            c = self.snap.by_key.get(p.commune)
            pop = (self.snap.stats.get(c.id) or {}).get("population") if c is not None else None
            if not pop:
                return None
            total += p.share_of_commune * float(pop)
        return total or None

    def _link(self, ended: L, district: V, commune: V) -> L:
        """A derived (not recorded) link district -> commune, under the district's dissolution."""
        self._virtual -= 1
        return L(self._virtual, ended.event, district, commune, "part", "overlay", None, None, "")

    def _communes_of(self, v: V) -> list[V]:
        """The communes under district ``v`` on its last day."""
        if self._communes is None:
            self._communes = defaultdict(list)
            for c in self.snap.versions.values():
                if c.level == "commune" and c.parent_unit_id is not None:
                    self._communes[c.parent_unit_id].append(c)
        day = v.valid_to or v.valid_from
        return [c for c in self._communes.get(v.unit_id, ()) if day is not None and c.valid_on(day)]

    # --- backwards ------------------------------------------------------------------------------

    def backward_step(self, v: V) -> list[Step]:
        """The in-links of ``v`` with the share of ``v`` each predecessor gave, and its basis."""
        found = self._bwd.get(v.id)
        if found is None:
            found = self._bwd[v.id] = self._backward_step(v)
        return found

    def _backward_step(self, v: V) -> list[Step]:
        links = self.snap.in_links.get(v.id, [])
        if not links:
            return []
        if len(links) == 1:
            return [(links[0], 1.0, WHOLE, _NO_WHY)]
        parts: list[Step] = []
        for x in links:
            if x.pred is None:
                parts.append((x, 0.0, FALLBACK_EQUAL, _NO_WHY))
                continue
            share, basis, why = next(((s, b, w) for link, s, b, w in self.lineage_step(x.pred) if link.id == x.id),
                                     (1.0, FALLBACK_EQUAL, _NO_WHY))
            parts.append((x, share, basis, why))
        total = sum(s for _, s, _, _ in parts)
        if total <= 0:
            return [(x, 1.0 / len(links), FALLBACK_EQUAL, frozenset({WHY_OLD_UNITS})) for x in links]
        out: list[Step] = []
        for x, s, basis, why in parts:
            if basis.startswith(("recorded-", "stated-")) and s == 0.0:
                out.append((x, 0.0, basis, why))  # recorded (or stated) to carry nothing of this measure
            elif all(b == WHOLE for _, _, b, _ in parts):
                out.append((x, s / total, FALLBACK_PARTS, why | {WHY_OLD_UNITS}))
            else:
                out.append((x, s / total, FALLBACK_PARTS if basis == WHOLE else f"{basis}+{FALLBACK_PARTS}",
                            why | {WHY_OLD_UNITS}))
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
        # depth-first over paths: (version, share so far, bases so far, events so far, reasons so far)
        stack: list[tuple[V, float, frozenset[str], tuple[str, ...], frozenset[int], frozenset[str]]] = [
            (v, 1.0, frozenset(), (), frozenset({v.id}), _NO_WHY)]
        while stack:
            cur, share, bases, events, seen, whys = stack.pop()
            steps = self.forward_step(cur) if forward else self.backward_step(cur)
            if not steps:
                self._add(acc, None, share, bases | {NO_LINK if cur is v else DISSOLVED}, events, whys)
                continue
            for link, s, basis, why in steps:
                nxt = link.succ if forward else link.pred
                b2 = bases | set(basis.split("+"))
                w2 = whys | why
                ev = events if link.event.key in events else events + (link.event.key,)
                if nxt is None:
                    if s > 0:  # a zero-share dissolution link is the end of a tier, not of territory
                        gap = SOURCE_GAP if link.relation in _GAP_RELATIONS else DISSOLVED
                        self._add(acc, None, share * s, b2 | {gap}, ev, w2)
                elif nxt.valid_on(end):
                    self._add(acc, nxt, share * s, b2, ev, w2)
                elif nxt.id in seen or _beyond(nxt, end, forward):
                    self._add(acc, None, share * s, b2 | {NO_LINK}, ev, w2)
                else:
                    stack.append((nxt, share * s, b2, ev, seen | {nxt.id}, w2))
        rows = [Row(v, target, share, frozenset(bases), events, frozenset(whys))
                for target, share, bases, events, whys in acc.values()]
        rows.sort(key=lambda r: (r.target is None, r.target.code if r.target else ""))
        return rows

    def _direct(self, v: V, steps: list[Step], end: date, forward: bool) -> list[Row] | None:
        """One event step to distinct units valid on ``end`` (the common case): no path search."""
        if not steps:
            return None
        rows: list[Row] = []
        seen: set[int] = set()
        for link, share, basis, why in steps:
            n = link.succ if forward else link.pred
            if n is None or n.id in seen or not n.valid_on(end):
                return None
            seen.add(n.id)
            bases = self._basis_sets.get(basis)
            if bases is None:
                bases = self._basis_sets[basis] = frozenset(basis.split("+"))
            rows.append(Row(v, n, share, bases, (link.event.key,), why))
        if len(rows) > 1:
            rows.sort(key=lambda r: r.target.code)  # type: ignore[union-attr]
        return rows

    @staticmethod
    def _add(acc: dict, target: V | None, share: float, bases: frozenset[str], events: tuple[str, ...],
             whys: frozenset[str]) -> None:
        key = target.id if target is not None else None
        if key in acc:
            _, s, b, ev, w = acc[key]
            acc[key] = [target, s + share, b | bases, ev + tuple(e for e in events if e not in ev), w | whys]
        else:
            acc[key] = [target, share, bases, events, whys]


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
              level: str | None = "commune", weights: str = "population", overlay: bool = True) -> Crosswalk:
    """The crosswalk from the units valid on ``start`` to those valid on ``end``.

    At district level, a district whose tier ended (1 July 2025) goes to the new communes by the
    bundled overlay shares (``overlay``; False: it is dissolved, as recorded)."""
    if level is not None and level not in counts.LEVELS:
        raise BadInput(_("unknown level {level!r}; use one of {join}").format(level=level, join=', '.join(counts.LEVELS)))
    composer = Composer(reg.snapshot, weights, overlay=district_overlay(level) if overlay else None)
    sources = units_in_scope(reg, start, within=within, level=level)
    if not sources and level is not None:  # e.g. districts after 1 July 2025: the tier ended
        from merger.i18n import fdate

        where = _(" within {unit}").format(unit=within) if within else ""
        raise BadInput(_("no {level} unit is valid on {day}{where}; choose another --level or --from").format(
            level=level, day=fdate(start), where=where))
    targets = units_in_scope(reg, end, within=within, level=level)
    if level == "district" and sources and not targets and end > start and composer.overlay is not None:
        targets = units_in_scope(reg, end, within=within, level="commune")  # the tier ended: its communes
    with paused_gc():
        rows = [row for v in sources for row in composer.compose(v, end)]
    label = reg.resolve(within, containers=True).version.full_name if within else None
    return Crosswalk(start, end, weights, level, label, sources, rows, targets)


def district_overlay(level: str | None) -> DistrictShares | None:
    """The overlay shares for a district-level question (whole districts, as yearbooks keep them);
    None otherwise: a commune crosswalk never reads the file, and in an all-levels table a district
    row stands beside its communes for what lies outside them (the district-managed areas)."""
    if level != "district":
        return None
    from merger.overlay import DistrictShares

    return DistrictShares()


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

    # A national table has ~10,000 rows but a few dozen sets of bases and reasons: each read once.
    bases: dict[frozenset[str], tuple[str, bool]] = {}
    reasons: dict[frozenset[str], str] = {}
    for r in cw.rows:
        t = r.target
        said = bases.get(r.bases)
        if said is None:
            said = bases[r.bases] = (r.basis, r.exact)
        why = reasons.get(r.reasons)
        if why is None:
            why = reasons[r.reasons] = r.reason
        out.append(dict(
            from_key=r.source.key, from_code=r.source.code, from_name=path(r.source),
            to_key=t.key if t else None, to_code=t.code if t else None,
            to_name=path(t) if t else None, share=round(r.share, 10), basis=said[0],
            exact=said[1], split=n_by_source[r.source.id] > 1, events=";".join(r.events),
            reason=why,
        ))
    return out
