"""Which unit, at each level, contains a point on a date.

Geometry answers where it exists. Where a level has no geometry on that date (the old communes,
before 1 July 2025), lineage narrows it down: the point lies in the later commune whose geometry
contains it, so it was in one of that commune's predecessors, and in the old district found by
geometry. When exactly one old commune satisfies both, it is the answer ("lineage"); otherwise
the candidates are listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from merger.geo.data import Boundaries, carry_catalog

if TYPE_CHECKING:
    from merger.geo.catalog import Entry
    from merger.graph import Snapshot
    from merger.register import Register

LEVELS = ("province", "district", "commune")


@dataclass
class Hit:
    level: str
    key: str | None
    name: str | None
    how: str  # "geometry", "lineage" (one candidate left), "candidates", "none"
    candidates: list[str] = field(default_factory=list)  # keys, when the lineage leaves several
    candidate_names: list[str] = field(default_factory=list)  # their full names, in the same order


class Locator:
    """Point location on one date. Nothing is read until points come: then only the geometries
    whose bounding box holds a point are parsed (one province's few units for one point; the
    whole country for a national batch) and tested as prepared geometries."""

    def __init__(self, register: Register, boundaries: Boundaries, day: date):
        from merger.geo import catalog

        self.register, self.day = register, day
        # what the register says of the bounded versions: the loaded set's catalog when it still
        # answers for this register (merger.geo.catalog: no snapshot read), else the snapshot's
        cat = boundaries.catalog
        if cat is None or not cat.fits(register, boundaries.features):
            cat = catalog.from_snapshot(register, register.snapshot, list(boundaries.features))
        self.catalog = cat
        self._snap: Snapshot | None = None
        # a unit made a city keeps its boundary: its new version answers with it (a copy: the
        # caller's set is left as given)
        self.boundaries = boundaries = carry_catalog(Boundaries(dict(boundaries.features), boundaries.origin), cat)
        self.versions: dict[str, list[Entry]] = {}
        valid = [cat.entries[k] for k in boundaries.features if k in cat.entries]
        for lv in LEVELS:
            vs = sorted((v for v in valid if v.level == lv and v.valid_on(day)), key=lambda v: v.key)
            if vs:
                self.versions[lv] = vs
        # later commune geometries, for lineage inference where a level has none on this day
        self.later = sorted((v for v in valid if v.level == "commune" and v.valid_from is not None
                             and v.valid_from > day), key=lambda v: v.key)
        self._boxes: dict[str, Any] = {}
        self._memo: dict[tuple[str | None, str | None], Hit] = {}
        self._ancestors: catalog.Ancestors | None = None

    @property
    def snap(self) -> Snapshot:
        """The register's snapshot, read the first time the old communes' lineage is asked."""
        if self._snap is None:
            self._snap = self.register.snapshot
        return self._snap

    def _box_tree(self, name: str, versions: list[Entry]) -> Any:
        import numpy as np
        import shapely

        tree = self._boxes.get(name)
        if tree is None:
            b = np.array([self.boundaries.features[v.key].bbox for v in versions], dtype=float)
            tree = self._boxes[name] = shapely.STRtree(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
        return tree

    def _query(self, name: str, versions: list[Entry], points: Any) -> Any:
        """The first version index containing each point (-1 for none)."""
        import numpy as np
        import shapely

        out = np.full(len(points), -1, dtype=np.int64)
        pi, gi = self._box_tree(name, versions).query(points)  # bounding boxes only: no geometry read
        if len(pi) == 0:
            return out
        need = np.unique(gi)
        keys = [versions[int(i)].key for i in need]
        self.boundaries.ensure(keys)
        geoms = np.empty(len(versions), dtype=object)
        geoms[need] = [self.boundaries.features[k].geometry for k in keys]
        shapely.prepare(geoms[need])
        inside = shapely.intersects(geoms[gi], points[pi])
        pi, gi = pi[inside], gi[inside]
        # keep the first hit per point (shared edges: the lower index wins, deterministically):
        # written highest index first, so the lowest is written last
        order = np.argsort(gi, kind="stable")[::-1]
        out[pi[order]] = gi[order]
        return out

    def locate_many(self, lons: Any, lats: Any) -> list[list[Hit]]:
        """Hits per point, province first; vectorised over the points. Points that land in the
        same unit share one ``Hit`` object (treat hits as read-only)."""
        columns = self.locate_columns(lons, lats)
        if not columns:
            return [[] for _ in range(len(lons))]
        return [list(row) for row in zip(*[c.tolist() for _, c in columns], strict=True)]

    def locate_columns(self, lons: Any, lats: Any) -> list[tuple[str, Any]]:
        """One column per level (province first): an object array of the ``Hit`` of each point."""
        import numpy as np

        out = []
        for lv, table, index in self.locate_indices(lons, lats):
            column = np.empty(len(table), dtype=object)
            column[:] = table
            out.append((lv, column[index]))
        return out

    def locate_indices(self, lons: Any, lats: Any) -> list[tuple[str, list[Hit], Any]]:
        """Per level (province first): the distinct ``Hit``s and each point's index into them.
        The batch form's fast path (merger.geo.batch formats each distinct hit once): no
        per-point Python work; the lineage is asked once per (later commune, old district) pair
        that a point needs it for."""
        import numpy as np
        import shapely

        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        n = len(points)
        found = {lv: self._query(lv, vs, points) for lv, vs in self.versions.items()}
        later = self._query("later", self.later, points) if self.later else None
        columns: list[tuple[str, list[Hit], Any]] = []
        for lv in LEVELS:
            if lv == "commune" and later is not None:
                # no commune geometry here (or not at this point): ask the lineage, once per
                # (later commune, old district) pair
                own = found.get(lv, np.full(n, -1, dtype=np.int64))
                dist = found.get("district", np.full(n, -1, dtype=np.int64))
                dvs = self.versions.get("district", [])
                table = self._table(lv) if lv in found else [Hit(lv, None, None, "none")]
                ask = own < 0
                # one integer per pair (np.unique along an axis sorts rows as bytes: 0.5 s for 100,000)
                width = len(dvs) + 1
                pairs, inverse = np.unique(((later + 1) * width + (dist + 1))[ask], return_inverse=True)
                base = len(table)
                for code in pairs.tolist():
                    j, d = divmod(code, width)
                    table.append(self._infer(self.later[j - 1].key if j > 0 else None,
                                             dvs[d - 1].key if d > 0 else None))
                index = own + 1
                index[ask] = base + np.asarray(inverse).reshape(-1)
                columns.append((lv, table, index))
            elif lv in found:
                columns.append((lv, self._table(lv), found[lv] + 1))
        return columns

    def _table(self, lv: str) -> list[Hit]:
        """Hit objects of one level: index 0 is "none", index i+1 the i-th version."""
        return [Hit(lv, None, None, "none")] + [Hit(lv, v.key, v.full_name, "geometry") for v in self.versions[lv]]

    def _infer(self, later_key: str | None, district_key: str | None) -> Hit:
        """The old commune, from the later commune containing the point and the old district."""
        if later_key is None:  # in no later commune: nothing to ask the lineage (nor to read it for)
            return Hit("commune", None, None, "none")
        memo = self._memo.get((later_key, district_key))
        if memo is None:
            if self._snap is None and self._ancestors is None:  # the lineage of every later commune, once
                from merger.geo import catalog

                self._ancestors = catalog.ancestors(self.register, self.catalog, self.day, [v.key for v in self.later])
            if self._snap is None and self._ancestors is not None and later_key in self._ancestors:
                memo = infer_from(self._ancestors[later_key],
                                  self.catalog.entries[district_key].unit_id if district_key else None)
            else:
                memo = infer_commune(self.snap, self.day, later_key, district_key)
            self._memo[(later_key, district_key)] = memo
        return memo


def infer_from(ancestors: list[tuple[str, str, str, int | None]], district_unit: int | None) -> Hit:
    """``infer_commune`` from a later commune's ancestors (merger.geo.catalog.ancestors) and the
    old district's unit id: the same answer without the snapshot."""
    cands = [a for a in ancestors if district_unit is None or a[3] == district_unit]
    cands.sort(key=lambda a: a[2])
    if len(cands) == 1:
        return Hit("commune", cands[0][0], cands[0][1], "lineage")
    if cands:
        return Hit("commune", None, None, "candidates", [a[0] for a in cands], [a[1] for a in cands])
    return Hit("commune", None, None, "none")


def infer_commune(snap: Snapshot, day: date, later_key: str | None, district_key: str | None) -> Hit:
    """The old commune containing a point, from the later commune containing it (its predecessors
    valid on ``day``) and the old district containing it: one left is the answer, several are
    candidates."""
    if later_key is None:
        return Hit("commune", None, None, "none")
    cands = [v for v in snap.ancestors_on(snap.by_key[later_key], day).values() if v.level == "commune"]
    if district_key is not None:
        d = snap.by_key[district_key]
        cands = [v for v in cands if v.parent_unit_id == d.unit_id]
    cands.sort(key=lambda v: v.code)
    if len(cands) == 1:
        return Hit("commune", cands[0].key, cands[0].full_name, "lineage")
    if cands:
        return Hit("commune", None, None, "candidates", [v.key for v in cands], [v.full_name for v in cands])
    return Hit("commune", None, None, "none")


def locate(register: Register, boundaries: Boundaries, lon: float, lat: float, as_of: date) -> list[Hit]:
    """The unit at each level containing (lon, lat) on ``as_of``."""
    return Locator(register, boundaries, as_of).locate_many([lon], [lat])[0]

