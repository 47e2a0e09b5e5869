"""Boundary checks in metres (equal-area projection): overlaps, gaps inside the parent, missing and invalid
geometries, and computed areas against the official (sapnhap) figures.

The tolerances are documented in docs/boundaries.md; anything beyond them is a problem
(``merger boundaries check`` exits 1), everything else is still reported as it is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from merger import counts
from merger.errors import Violation
from merger.geo import unions
from merger.graph import LEVEL_ORDER, V
from merger.i18n import _

if TYPE_CHECKING:
    from merger.geo.data import Boundaries
    from merger.register import Register

NOISE_M2 = 1.0  # differences below a square metre are rounding, not data


@dataclass
class Tolerances:
    overlap_m2: float = 10_000.0  # 1 ha between two units of one level
    gap_share: float = 0.005  # 0.5 % of the parent's area uncovered by, or outside, its children
    area_rel: float = 0.05  # 5 % between computed and official area
    lineage_share: float = 0.05  # 5 % of a unit inside an other-side unit the lineage does not link


@dataclass
class Overlap:
    level: str
    a: str
    a_name: str
    b: str
    b_name: str
    area_m2: float
    lon: float
    lat: float
    exceeds: bool


@dataclass
class Piece:
    area_km2: float
    lon: float
    lat: float
    near: str  # the nearest child unit's name
    on_outline: bool  # touches the parent's outer boundary (coast, border) rather than interior


@dataclass
class Gap:
    parent: str
    parent_name: str
    kind: str  # "uncovered" (in the parent, in no child) or "outside" (in a child, not in the parent)
    area_km2: float
    share: float
    pieces: int
    by_unit: dict[str, float]  # km² per nearest child
    largest: list[Piece]
    exceeds: bool


@dataclass
class AreaRow:
    key: str
    name: str
    level: str
    computed_km2: float
    official_km2: float
    rel_diff: float
    exceeds: bool


@dataclass
class Disagreement:
    """Overlay puts part of a unit inside a unit of the other side that the lineage does not link."""

    key: str
    name: str
    other: str
    other_name: str
    area_km2: float
    share_of_unit: float
    exceeds: bool


@dataclass
class ProvinceRow:
    """The check's findings counted for one province (the unit at the top of each unit's chain)."""

    key: str
    name: str
    units: int = 0  # units in scope at the checked levels
    with_geometry: int = 0
    missing: int = 0
    invalid: int = 0
    overlaps: int = 0
    overlaps_over: int = 0
    uncovered_km2: float = 0.0
    outside_km2: float = 0.0
    gaps_over: int = 0
    areas_over: int = 0
    problems: int = 0


@dataclass
class BoundaryReport:
    as_of: date
    within: str | None
    tolerances: Tolerances
    checked: dict[str, int] = field(default_factory=dict)  # level -> units in scope
    uncovered_levels: dict[str, int] = field(default_factory=dict)  # levels with no geometry at all
    overlaps: list[Overlap] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    missing: list[tuple[str, str, str]] = field(default_factory=list)  # key, name, level
    invalid: list[tuple[str, str, str]] = field(default_factory=list)  # key, name, reason
    areas: list[AreaRow] = field(default_factory=list)
    lineage: list[Disagreement] | None = None  # only when asked for (check(..., lineage=True))
    provinces: list[ProvinceRow] = field(default_factory=list)  # counts per province

    def problems(self) -> list[Violation]:
        out = [Violation("overlap", _("{a_name} and {b_name} overlap by {area_m2:,.0f} m²").format(a_name=o.a_name, b_name=o.b_name, area_m2=o.area_m2), [o.a, o.b])
               for o in self.overlaps if o.exceeds]
        out += [Violation(f"gap-{g.kind}", f"{g.parent_name}: {g.area_km2:,.2f} km² ({g.share:.1%}) {g.kind}",
                          [g.parent]) for g in self.gaps if g.exceeds]
        out += [Violation("no-geometry", _("{name} has no geometry").format(name=name), [key]) for key, name, _kind in self.missing]
        out += [Violation("invalid", f"{name}: {reason}", [key]) for key, name, reason in self.invalid]
        out += [Violation("area", _("{name}: {computed_km2:,.2f} km² computed vs {official_km2:,.2f} official ({rel_diff:+.1%})").format(name=a.name, computed_km2=a.computed_km2, official_km2=a.official_km2, rel_diff=a.rel_diff), [a.key]) for a in self.areas if a.exceeds]
        out += [Violation("lineage-geometry", _("{share_of_unit:.0%} of {name} ({area_km2:,.2f} km²) lies in {other_name}, which its "
                                                "lineage does not link").format(share_of_unit=d.share_of_unit, name=d.name, area_km2=d.area_km2, other_name=d.other_name), [d.key, d.other])
                for d in self.lineage or [] if d.exceeds]
        return out

    CSV_HEADER = ("kind", "level", "key", "name", "other_key", "other_name", "value", "unit", "official_km2",
                  "share", "lon", "lat", "note", "exceeds")

    def rows(self) -> list[list[Any]]:
        """Every measured finding as one flat row (``CSV_HEADER``), within the tolerances or not, so
        a spreadsheet can sort and filter them; ``exceeds`` marks those beyond."""
        out: list[list[Any]] = []
        for o in self.overlaps:
            out.append(["overlap", o.level, o.a, o.a_name, o.b, o.b_name, o.area_m2, "m2", None, None, o.lon, o.lat,
                        None, o.exceeds])
        for g in self.gaps:
            big = g.largest[0] if g.largest else None
            out.append([f"gap-{g.kind}", None, g.parent, g.parent_name, None, big.near if big else None, g.area_km2,
                        "km2", None, g.share, big.lon if big else None, big.lat if big else None,
                        f"{g.pieces} pieces", g.exceeds])
        out += [["no-geometry", lv, k, n, None, None, None, None, None, None, None, None, None, True]
                for k, n, lv in self.missing]
        out += [["invalid", None, k, n, None, None, None, None, None, None, None, None, r, True]
                for k, n, r in self.invalid]
        out += [["area", a.level, a.key, a.name, None, None, a.computed_km2, "km2", a.official_km2, a.rel_diff,
                 None, None, None, a.exceeds] for a in self.areas]
        out += [["lineage-geometry", None, d.key, d.name, d.other, d.other_name, d.area_km2, "km2", None,
                 d.share_of_unit, None, None, None, d.exceeds] for d in self.lineage or []]
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        d["missing"] = [dict(key=k, name=n, level=lv) for k, n, lv in self.missing]
        d["invalid"] = [dict(key=k, name=n, reason=r) for k, n, r in self.invalid]
        d["problems"] = [asdict(v) for v in self.problems()]
        return d


def scope(register: Register, boundaries: Boundaries, day: date, within: str | None) -> list[V]:
    """The versions to check: ``within`` and everything under it on ``day``; without it, every
    administrative unit of the country valid on that day."""
    snap = register.snapshot
    if within:
        found = counts.inside(snap, register.resolve(within, containers=True).unit_id, day, "admin")
    else:
        found = [v for v in snap.valid_on(day) if v.kind == "admin"]
    return sorted(found, key=lambda v: (LEVEL_ORDER.get(v.level, 9), v.code))


def _province_of(register: Register, units: list[V], day: date) -> dict[str, V]:
    """Each unit's province on ``day`` (a province is its own)."""
    snap = register.snapshot
    out = {}
    for v in units:
        chain = snap.ancestors(v, day)
        out[v.key] = chain[-1] if chain else v
    return out


def check(register: Register, boundaries: Boundaries, *, as_of: date, within: str | None = None,
          tolerances: Tolerances | None = None, lineage: bool = False) -> BoundaryReport:
    import numpy as np
    import shapely

    tol = tolerances or Tolerances()
    snap = register.snapshot
    units = scope(register, boundaries, as_of, within)
    report = BoundaryReport(as_of, within, tol)
    levels: dict[str, list[V]] = defaultdict(list)
    for v in units:
        levels[v.level].append(v)
    checked = [lv for lv, vs in levels.items() if any(v.key in boundaries for v in vs)]
    for lv, vs in levels.items():
        (report.checked if lv in checked else report.uncovered_levels)[lv] = len(vs)
    with_geom = [v for v in units if v.level in checked and v.key in boundaries]
    report.missing = [(v.key, v.full_name, v.level) for v in units if v.level in checked and v.key not in boundaries]
    metric = dict(zip([v.key for v in with_geom], boundaries.metric([v.key for v in with_geom]), strict=True))
    valid = shapely.is_valid(np.array([metric[v.key] for v in with_geom], dtype=object))
    for v, ok in zip(with_geom, valid, strict=True):
        if not ok:
            g = metric[v.key]
            report.invalid.append((v.key, v.full_name, shapely.is_valid_reason(g)))
            metric[v.key] = shapely.make_valid(g)
    by_id = {v.key: v for v in with_geom}
    # overlaps, per level: neighbours that share an edge only are dropped by a prepared relate
    # before any intersection is computed (nationally ~10,000 neighbour pairs, a few dozen overlaps)
    for lv in checked:
        keys = [v.key for v in with_geom if v.level == lv]
        geoms = np.array([metric[k] for k in keys], dtype=object)
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        if not len(left):
            continue
        inner = shapely.relate_pattern(geoms[left], geoms[right], "2********")  # interiors meet in an area
        left, right = left[inner], right[inner]
        inters = shapely.intersection(geoms[left], geoms[right])
        for i, j, inter in zip(left.tolist(), right.tolist(), inters, strict=True):
            if inter.area <= NOISE_M2:
                continue
            pt = inter.representative_point()  # metres here; longitude/latitude at the end
            a, b = by_id[keys[i]], by_id[keys[j]]
            report.overlaps.append(Overlap(lv, a.key, a.full_name, b.key, b.full_name, round(inter.area, 1),
                                           pt.x, pt.y, inter.area > tol.overlap_m2))
    # gaps: each parent with a geometry against the union of its children at the next checked level
    # (each union read from the note of a check before where its children are the same)
    kept = unions.beside(register)
    order = sorted(checked, key=lambda lv: LEVEL_ORDER.get(lv, 9))
    for upper, lower in zip(order, order[1:], strict=False):
        parents = {v.unit_id: v for v in with_geom if v.level == upper}
        kids: dict[int, list[V]] = defaultdict(list)
        for v in with_geom:
            if v.level == lower:
                for a in snap.ancestors(v, as_of):
                    if a.unit_id in parents:
                        kids[a.unit_id].append(v)
                        break
        for uid, parent in parents.items():
            if kids.get(uid):
                report.gaps.extend(_gaps(parent, kids[uid], metric, tol, kept))
    kept.save()
    # areas against the official figures
    for v in with_geom:
        st = snap.stats.get(v.id) or {}
        official = st.get("area_km2")
        if official:
            comp = metric[v.key].area / 1e6
            rel = (comp - official) / official
            report.areas.append(AreaRow(v.key, v.full_name, v.level, round(comp, 3), official, round(rel, 4),
                                        abs(rel) > tol.area_rel))
    if lineage:
        report.lineage = _disagreements(register, boundaries, with_geom, tol)
    report.overlaps.sort(key=lambda o: -o.area_m2)
    report.areas.sort(key=lambda a: -abs(a.rel_diff))
    report.provinces = _per_province(register, report, [v for v in units if v.level in checked])
    _to_lonlat([*report.overlaps, *(p for g in report.gaps for p in g.largest)])
    return report


def _per_province(register: Register, report: BoundaryReport, units: list[V]) -> list[ProvinceRow]:
    """The findings counted per province, so a national run shows where to look first."""
    prov = _province_of(register, units, report.as_of)
    rows: dict[str, ProvinceRow] = {}

    def row(key: str) -> ProvinceRow:
        p = prov[key]
        if p.key not in rows:
            rows[p.key] = ProvinceRow(p.key, p.full_name)
        return rows[p.key]

    missing = {k for k, _, _ in report.missing}
    for v in units:
        r = row(v.key)
        r.units += 1
        r.with_geometry += v.key not in missing
        r.missing += v.key in missing
    for k, _reason, _where in report.invalid:
        row(k).invalid += 1
    for o in report.overlaps:
        r = row(o.a)
        r.overlaps += 1
        r.overlaps_over += o.exceeds
    for g in report.gaps:
        if g.parent not in prov:
            continue
        r = row(g.parent)
        if g.kind == "uncovered":
            r.uncovered_km2 = round(r.uncovered_km2 + g.area_km2, 3)
        else:
            r.outside_km2 = round(r.outside_km2 + g.area_km2, 3)
        r.gaps_over += g.exceeds
    for a in report.areas:
        row(a.key).areas_over += a.exceeds
    for p in report.problems():
        if p.subjects and p.subjects[0] in prov:
            row(p.subjects[0]).problems += 1
    return sorted(rows.values(), key=lambda r: r.key)


def _disagreements(register: Register, boundaries: Boundaries, units: list[V], tol: Tolerances) -> list[Disagreement]:
    """Overlay against the recorded lineage: other-side units a unit overlaps but is not linked to."""
    from merger.geo.overlap import overlap

    out = []
    snap = register.snapshot
    sides: dict[date, list[V]] = {}  # the other side's units of a day, listed once for all units
    for v in units:
        if v.valid_from is None and v.valid_to is None:
            continue
        for r in overlap(register, v, boundaries, snap=snap, sides=sides):
            if r.key is not None and not r.in_lineage and r.share_of_unit >= 0.01:
                out.append(Disagreement(v.key, v.full_name, r.key, r.name, r.area_km2, r.share_of_unit,
                                        r.share_of_unit > tol.lineage_share))
    return sorted(out, key=lambda d: -d.share_of_unit)


def _to_lonlat(items: list[Any]) -> None:
    """Turn the metric ``lon``/``lat`` of overlaps and pieces into longitude/latitude, in one call
    (a transformer per point would cost more than the whole check)."""
    if not items:
        return
    import shapely

    from merger.geo.data import to_lonlat

    pts = to_lonlat([shapely.multipoints([[it.lon, it.lat] for it in items])])[0]
    for it, p in zip(items, shapely.get_coordinates(pts), strict=True):
        it.lon, it.lat = round(float(p[0]), 5), round(float(p[1]), 5)


def _gaps(parent: V, kids: list[V], metric: dict[str, Any], tol: Tolerances, kept: unions.Unions) -> list[Gap]:
    import numpy as np
    import shapely

    outline = metric[parent.key]
    kid_geoms = np.array([metric[k.key] for k in kids], dtype=object)
    union = kept.union(kid_geoms)
    tree = shapely.STRtree(kid_geoms)
    boundary = outline.boundary
    out = []
    for kind, diff in (("uncovered", outline.difference(union)), ("outside", union.difference(outline))):
        parts = [p for p in shapely.get_parts(diff) if p.area > NOISE_M2]
        total = sum(p.area for p in parts)
        by_unit: dict[str, float] = defaultdict(float)
        pieces = []
        # nearest to an inner point: a piece's hairline tails may touch other units
        inner = shapely.point_on_surface(parts) if parts else []
        nearest = _nearest(tree, kid_geoms, inner) if parts else []
        for p, k in zip(parts, nearest, strict=True):
            near = kids[int(k)].full_name
            by_unit[near] += p.area / 1e6
            pieces.append((p, near))
        pieces.sort(key=lambda x: -x[0].area)
        largest = []
        for p, near in pieces[:10]:
            q = p.representative_point()  # metres here; longitude/latitude at the end of check()
            largest.append(Piece(round(p.area / 1e6, 6), q.x, q.y, near, bool(p.distance(boundary) < 1.0)))
        share = total / outline.area if outline.area else 0.0
        out.append(Gap(parent.key, parent.full_name, kind, round(total / 1e6, 6), round(share, 5), len(parts),
                       {k: round(a, 6) for k, a in sorted(by_unit.items(), key=lambda x: -x[1])}, largest,
                       share > tol.gap_share))
    return out


_NEAR_M = 1000.0  # the radius within which _nearest looks for a piece's child before asking the tree


def _nearest(tree: Any, geoms: Any, points: Any) -> Any:
    """The index of the child nearest each point, as ``tree.nearest(points)`` answers, for less.

    ``STRtree.nearest`` measures the distance to every child whose box is near, and a child is a
    detailed polygon: nationally that was 0.7 s for ~16,000 pieces. A point that intersects
    exactly one child is at distance 0 from it and farther from every other, so that child is the
    answer (every "outside" piece: its inner point is inside a child). Otherwise the children
    within ``_NEAR_M`` are measured (the same ``distance`` the tree uses) and a single closest one
    well inside that radius is the answer (most "uncovered" slivers). Only points left with no
    candidate or a tie go to ``tree.nearest``, so which of equidistant children wins stays its
    choice. tests/test_boundaries.py compares the result with ``tree.nearest``'s."""
    import numpy as np
    import shapely

    points = np.asarray(points, dtype=object)
    out = np.full(len(points), -1, dtype=np.intp)
    pi, gi = tree.query(points, predicate="intersects")
    hits = np.bincount(pi, minlength=len(points))
    one = hits[pi] == 1
    out[pi[one]] = gi[one]
    rest = np.flatnonzero(hits == 0)
    if len(rest):
        pi, gi = tree.query(points[rest], predicate="dwithin", distance=_NEAR_M)
        dist = shapely.distance(points[rest][pi], geoms[gi])
        order = np.lexsort((dist, pi))  # by point, closest first
        pi, gi, dist = pi[order], gi[order], dist[order]
        first = np.ones(len(pi), dtype=bool)
        first[1:] = pi[1:] != pi[:-1]
        tied = np.zeros(len(pi), dtype=bool)
        tied[:-1] = ~first[1:] & (dist[1:] == dist[:-1])  # the runner-up is as close
        ok = first & ~tied & (dist < _NEAR_M / 2)
        out[rest[pi[ok]]] = gi[ok]
    left = np.flatnonzero(out < 0)
    if len(left):
        out[left] = tree.nearest(points[left])
    return out
