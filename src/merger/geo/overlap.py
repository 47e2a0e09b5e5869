"""Overlay of a unit's geometry with the units of the other side of the reform.

``overlap(register, version)`` answers "how much of this new commune came from each old
district" (or, for an old unit, where its territory went) in km² and shares, computed in an
equal-area projection. ``geometry_weights`` derives area shares for partial-transfer links whose predecessor and
successor both have geometries; ``store_weights`` records them on the links with basis
"geometry".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from merger.errors import BadInput
from merger.graph import V
from merger.i18n import _

if TYPE_CHECKING:
    from merger.geo.data import Boundaries
    from merger.graph import L, Snapshot
    from merger.register import Register

MIN_SHARE = 0.0005  # pieces below 0.05 % of the unit are edge slivers between two datasets


@dataclass
class OverlapRow:
    key: str | None  # None: the part of the unit no geometry of the other side covers
    name: str
    level: str
    area_km2: float
    share_of_unit: float  # of the unit's own area
    share_of_other: float | None  # of the other unit's area
    in_lineage: bool  # the register's lineage also links the two (through their communes)


def _resolve(register: Register, version: V | str) -> V:
    if isinstance(version, V):
        return version
    return register.resolve(version).version


def _lineage_units(snap: Snapshot, v: V, backward: bool) -> set[int]:
    """Unit ids on the other side of the reform that lineage links to ``v`` or to a unit under it,
    with their parents (so an old district counts when one of its communes is a predecessor)."""
    from merger.counts import inside

    here = v.valid_from if backward else v.valid_to
    day = here - timedelta(days=1) if backward else here + timedelta(days=1)  # type: ignore[operator]
    out: set[int] = set()
    # a commune's lineage is its own; a district's or province's runs through the units under it
    starts = [v] if v.level in ("commune", "village") else inside(snap, v.unit_id, here, "admin")  # type: ignore[arg-type]
    for start in starts:
        found = snap.ancestors_on(start, day) if backward else snap.descendants_on(start, day)
        for w in found.values():
            out.add(w.unit_id)
            out.update(a.unit_id for a in snap.ancestors(w, day))
    return out


def overlap(register: Register, version: V | str, boundaries: Boundaries | None = None,
            level: str | None = None, *, snap: Snapshot | None = None,
            sides: dict[date, list[V]] | None = None) -> list[OverlapRow]:
    """For a new unit, the area it took from each old unit with a geometry (default: the old
    districts); for an old unit, the area each new unit took from it. Largest first.

    Callers in a loop pass ``snap`` and an empty dict as ``sides`` (kept for that snapshot and
    boundary set): the other side's units of a day are then listed once, not once per unit (a
    scan of the whole snapshot: ~10 ms a unit, most of ``boundaries check --lineage``)."""
    import shapely

    from merger.geo import data

    v = _resolve(register, version)
    b = boundaries if boundaries is not None else data.load(register)
    if v.key not in b:
        raise BadInput(_("{full_name} ({key}) has no geometry; see 'merger boundaries check'").format(full_name=v.full_name, key=v.key))
    snap = snap or register.snapshot  # each access checks the store: callers in a loop pass it
    if v.valid_from is not None:
        day, backward = v.valid_from - timedelta(days=1), True
    elif v.valid_to is not None:
        day, backward = v.valid_to + timedelta(days=1), False
    else:
        raise BadInput(_("{full_name} has neither a start nor an end in the register: nothing to overlay").format(full_name=v.full_name))
    listed = sides.get(day) if sides is not None else None
    if listed is None:
        listed = [w for w in snap.valid_on(day) if w.key in b and w.kind == "admin"]
        if sides is not None:
            sides[day] = listed
    others = listed
    if level is None:
        levels = {w.level for w in others}
        level = "district" if "district" in levels else ("commune" if "commune" in levels else None)
    others = [w for w in others if w.level == level]
    if not others:
        return []
    # only the other side's units whose bounding box meets this unit's are read and projected
    box = b.features[v.key].bbox
    near = set(b.in_box([w.key for w in others], box)) if box is not None else {w.key for w in others}
    others = [w for w in others if w.key in near]
    geom = b.metric([v.key])[0]
    other_geoms = b.metric([w.key for w in others])
    tree = shapely.STRtree(other_geoms)
    linked = _lineage_units(snap, v, backward)
    rows = []
    covered = 0.0
    for i in tree.query(geom, predicate="intersects"):
        w, g = others[int(i)], other_geoms[int(i)]
        area = shapely.intersection(geom, g).area
        if area / geom.area < MIN_SHARE:
            continue
        covered += area
        rows.append(OverlapRow(w.key, w.full_name, w.level, round(area / 1e6, 3), round(area / geom.area, 4),
                               round(area / g.area, 4), w.unit_id in linked))
    rows.sort(key=lambda r: -r.area_km2)
    rest = geom.area - covered
    if rest / geom.area >= MIN_SHARE:
        rows.append(OverlapRow(None, "(no geometry on the other side)", level, round(rest / 1e6, 3),
                               round(rest / geom.area, 4), None, False))
    return rows


@dataclass
class Weight:
    link: L
    share: float  # of the predecessor's area that went to the successor


def geometry_weights(register: Register, boundaries: Boundaries) -> list[Weight]:
    """Area shares for every partial link whose predecessor and successor both have geometries."""
    import shapely

    out = []
    for link in register.snapshot.links:
        if link.portion != "part" or link.pred is None or link.succ is None:
            continue
        if link.pred.key not in boundaries or link.succ.key not in boundaries:
            continue
        pg, sg = boundaries.metric([link.pred.key, link.succ.key])
        if pg.area > 0:
            out.append(Weight(link, round(shapely.intersection(pg, sg).area / pg.area, 4)))
    return out


def store_weights(register: Register, weights: list[Weight], *, by: str | None = None,
                  at: datetime | None = None) -> int:
    """Record derived shares for links that have none (basis "geometry"), under the write lock.

    A share a source or a person already gave is never overwritten by a derived one, and the
    link row itself never changes: the share is kept beside it with who derived it and when, so
    ``--as-recorded`` before that moment answers as the register did then.
    """
    if not weights:
        return 0
    from sqlalchemy import insert, select

    from merger import store
    from merger.events import default_user
    from merger.model import DerivedShare, Link

    ids = [w.link.id for w in weights]
    now, by = at or datetime.now(UTC), by or default_user()
    stored = 0
    with register.engine.connect() as conn:
        store.begin_write(conn)  # opens the transaction, holding the write lock
        try:
            given = {r.id for r in conn.execute(select(Link.id).where(Link.id.in_(ids), Link.share.is_not(None)))}
            given |= {r.link_id for r in conn.execute(select(DerivedShare.link_id)
                                                      .where(DerivedShare.link_id.in_(ids)))}
            rows = [dict(link_id=w.link.id, share=w.share, basis="geometry", recorded_at=now, recorded_by=by,
                         note="area share from the overlay of the two versions' boundaries")
                    for w in weights if w.link.id not in given]
            if rows:
                conn.execute(insert(DerivedShare), rows)
                store.bump_generation(conn)
            conn.commit()
            stored = len(rows)
        except BaseException:
            conn.rollback()
            raise
    register.invalidate()
    return stored


SHARES_FILE = "district_shares.csv"
SHARE_COLUMNS = ("district", "commune", "area_km2", "share_of_district", "share_of_commune")


@dataclass
class AreaShare:
    """The part of an old district's area lying in a new commune (overlay of the two layers)."""

    district: str  # old district version key
    district_name: str
    commune: str  # new commune version key
    commune_name: str
    area_km2: float
    share_of_district: float  # of the district's area
    share_of_commune: float  # of the commune's area
    in_lineage: bool  # the recorded lineage links the commune to a commune of that district


def overlay_shares(districts: list[tuple[str, object]], communes: list[tuple[str, object]]) -> list[tuple]:
    """(district, commune, km², share of district, share of commune) for every pair whose overlap
    is at least ``MIN_SHARE`` of one of the two: geometries in metres (equal-area). The importer
    bundles the result for the whole country (a minute of overlay, done once)."""
    import numpy as np
    import shapely

    dg = np.array([g for _, g in districts], dtype=object)
    cg = np.array([g for _, g in communes], dtype=object)
    di, ci = shapely.STRtree(cg).query(dg, predicate="intersects")
    areas = shapely.area(shapely.intersection(dg[di], cg[ci]))
    da, ca = shapely.area(dg)[di], shapely.area(cg)[ci]
    out = []
    for d, c, a, a_d, a_c in zip(di.tolist(), ci.tolist(), areas.tolist(), da.tolist(), ca.tolist(), strict=True):
        if a / a_d >= MIN_SHARE or a / a_c >= MIN_SHARE:
            out.append((districts[d][0], communes[c][0], round(a / 1e6, 4), round(a / a_d, 5), round(a / a_c, 5)))
    return sorted(out)


def read_shares(path: Path) -> list[tuple]:
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        return [(r["district"], r["commune"], float(r["area_km2"]), float(r["share_of_district"]),
                 float(r["share_of_commune"])) for r in csv.DictReader(fh)]


def write_shares(rows: list[tuple], path: Path) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(SHARE_COLUMNS)
        w.writerows(rows)


def district_shares(register: Register, *, within: str | None = None, path: Path | None = None) -> list[AreaShare]:
    """Area shares old district -> new commune for the whole country (or ``within`` an old or new
    province): the bundled overlay (``data/boundaries/district_shares.csv``), each row marked with
    whether the recorded lineage also links the two. A district-level figure spread by area is
    ``figure * share_of_district`` per commune; the shares are derived from geometry (basis
    "geometry"), never recorded on the lineage links."""
    from merger import bundle, counts

    snap = register.snapshot
    rows = read_shares(path or bundle.boundaries_dir() / SHARES_FILE)
    if within:
        match = register.resolve(within, containers=True)
        day = match.version.valid_from or match.version.valid_to
        keep = {v.key for v in counts.inside(snap, match.unit_id, day, "admin")}  # type: ignore[arg-type]
        rows = [r for r in rows if r[0] in keep or r[1] in keep]
    out, linked_cache = [], {}
    for d, c, a, sd, sc in rows:
        dv, cv = snap.by_key.get(d), snap.by_key.get(c)
        if dv is None or cv is None:
            continue
        if c not in linked_cache:
            linked_cache[c] = _lineage_units(snap, cv, True)
        out.append(AreaShare(d, dv.full_name, c, cv.full_name, a, sd, sc, dv.unit_id in linked_cache[c]))
    return out
