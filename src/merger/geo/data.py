"""The boundary set: one geometry per version key, from the bundle plus the user's own loads.

GeoPackages are read and written with the stdlib ``sqlite3`` and ``shapely`` WKB (no GDAL, no
pandas). The layer keeps each feature's bounding box in plain columns before the geometry, so
opening the national layer reads only that small index; a geometry is parsed the first time a
question needs it (``Boundaries.ensure``, or the features inside a box), which keeps
``merger locate`` of one point well under a second. The user's loaded boundaries live in a
GeoPackage next to the register (``register.sqlite.boundaries.gpkg``) and replace bundled
geometries of the same version key.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger import bundle
from merger.errors import DataError
from merger.i18n import _

if TYPE_CHECKING:
    from merger.geo.catalog import Catalog
    from merger.graph import Snapshot
    from merger.register import Register

LAYER = "boundaries"
COLUMNS = ("key", "level", "code", "name", "source")
BBOX = ("min_x", "min_y", "max_x", "max_y")
_ENVELOPE = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_CHUNK = 500  # keys per SELECT ... IN (...)


class _Reader:
    """Reads geometries of one GeoPackage by key, on demand (one connection per call)."""

    def __init__(self, path: Path, geom_column: str):
        self.path, self.geom_column = path, geom_column

    def fetch(self, keys: list[str]) -> dict[str, Any]:
        import shapely

        out: dict[str, Any] = {}
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                for i in range(0, len(keys), _CHUNK):
                    part = keys[i:i + _CHUNK]
                    rows = con.execute(f'SELECT key, "{self.geom_column}" FROM "{LAYER}" WHERE key IN '
                                       f'({",".join("?" * len(part))})', part).fetchall()
                    geoms = shapely.from_wkb([_wkb(r[1]) for r in rows]) if rows else []
                    out.update(zip([r[0] for r in rows], geoms, strict=True))
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise DataError(_("cannot read {path}: {exc}").format(path=self.path, exc=exc)) from None
        return out


class Feature:
    """One version's geometry (shapely (Multi)Polygon, EPSG:4326), read when first used."""

    __slots__ = ("key", "level", "code", "name", "source", "bbox", "_geometry", "_reader")

    def __init__(self, key: str, level: str, code: str, name: str, source: str, geometry: Any = None, *,
                 bbox: tuple[float, float, float, float] | None = None, reader: _Reader | None = None):
        self.key, self.level, self.code, self.name, self.source = key, level, code, name, source
        self._geometry, self._reader = geometry, reader
        self.bbox = bbox if bbox is not None or geometry is None else tuple(geometry.bounds)

    @property
    def loaded(self) -> bool:
        return self._geometry is not None

    @property
    def geometry(self) -> Any:
        if self._geometry is None and self._reader is not None:
            self._geometry = self._reader.fetch([self.key]).get(self.key)
        return self._geometry

    @geometry.setter
    def geometry(self, value: Any) -> None:
        self._geometry = value
        self.bbox = tuple(value.bounds)

    def __repr__(self) -> str:
        return f"Feature({self.key!r}, {self.level!r}, {self.name!r})"


@dataclass
class Boundaries:
    """Geometries by version key, with metric (equal-area) copies made on demand."""

    features: dict[str, Feature]
    origin: list[str] = field(default_factory=list)
    _metric: dict[str, Any] = field(default_factory=dict, repr=False)
    # what location needs of the register for these keys (merger.geo.catalog), when loaded with one
    catalog: Catalog | None = field(default=None, repr=False, compare=False)

    def __contains__(self, key: str) -> bool:
        return key in self.features

    def __len__(self) -> int:
        return len(self.features)

    def geometry(self, key: str) -> Any | None:
        f = self.features.get(key)
        return f.geometry if f else None

    def ensure(self, keys: list[str]) -> None:
        """Parse the geometries of ``keys`` not read yet, one query per file (not one per key)."""
        todo: dict[int, tuple[_Reader, list[str]]] = {}
        for k in keys:
            f = self.features.get(k)
            if f is not None and not f.loaded and f._reader is not None:
                todo.setdefault(id(f._reader), (f._reader, []))[1].append(k)
        for reader, ks in todo.values():
            for k, g in reader.fetch(ks).items():
                self.features[k]._geometry = g

    def in_box(self, keys: list[str], box: tuple[float, float, float, float]) -> list[str]:
        """The keys whose bounding box meets ``box`` (lon/lat), without reading any geometry."""
        x0, y0, x1, y1 = box
        out = []
        for k in keys:
            b = self.features[k].bbox
            if b is not None and b[0] <= x1 and b[2] >= x0 and b[1] <= y1 and b[3] >= y0:
                out.append(k)
        return out

    def metric(self, keys: list[str]) -> list[Any]:
        """The geometries of ``keys`` in metres (equal-area), projected once and cached."""
        todo = [k for k in keys if k not in self._metric and k in self.features]
        if todo:
            self.ensure(todo)
            for k, g in zip(todo, to_metric([self.features[k].geometry for k in todo]), strict=True):
                self._metric[k] = g
        return [self._metric.get(k) for k in keys]


def _transformer(src: Any, dst: Any) -> Any:
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


def to_metric(geoms: list[Any]) -> list[Any]:
    import numpy as np
    import shapely

    from merger.geo import METRIC_CRS

    tr = _transformer(4326, METRIC_CRS)
    return list(shapely.transform(np.array(geoms, dtype=object),
                                  lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))))


def to_lonlat(geoms: list[Any]) -> list[Any]:
    import numpy as np
    import shapely

    from merger.geo import METRIC_CRS

    tr = _transformer(METRIC_CRS, 4326)
    return list(shapely.transform(np.array(geoms, dtype=object),
                                  lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))))


def _wkb(blob: bytes) -> bytes:
    """The WKB inside a GeoPackage geometry blob (the 'GP' header and envelope removed)."""
    if blob[:2] != b"GP":
        return blob
    flags = blob[3]
    return blob[8 + _ENVELOPE[(flags >> 1) & 0x07]:]


def _open_layer(path: Path) -> tuple[sqlite3.Connection, str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    srs = con.execute("SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name=?",
                      (LAYER,)).fetchone()
    if srs is None:
        con.close()
        raise DataError(_("{path} has no layer {layer!r}").format(path=path, layer=LAYER))
    if srs[1] != 4326:
        con.close()
        raise DataError(_("{path}: layer {layer!r} is in EPSG:{value}, expected EPSG:4326").format(path=path, layer=LAYER, value=srs[1]))
    return con, srs[0]


def index_gpkg(path: Path) -> list[Feature]:
    """Features of a merger-layout GeoPackage with their boxes; geometries are read on first use.

    A file without the box columns (written by other tools) is read whole instead."""
    try:
        con, geom = _open_layer(path)
        try:
            cols = {r[1] for r in con.execute(f'PRAGMA table_info("{LAYER}")')}
            if not set(BBOX) <= cols:
                return read_gpkg(path)
            indexed = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                                  (f"{LAYER}_index",)).fetchone()
            hint = f' INDEXED BY "{LAYER}_index"' if indexed else ""
            rows = con.execute(f'SELECT key, level, code, name, source, {", ".join(BBOX)} FROM "{LAYER}"{hint}').fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise DataError(_("cannot read {path}: {exc}").format(path=path, exc=exc)) from None
    reader = _Reader(path, geom)
    return [Feature(r[0], r[1], r[2], r[3], r[4] or "", bbox=tuple(r[5:9]), reader=reader) for r in rows]


def read_gpkg(path: Path) -> list[Feature]:
    """Features of a merger-layout GeoPackage (EPSG:4326, columns key/level/code/name/source), whole."""
    import shapely

    try:
        con, geom = _open_layer(path)
        try:
            rows = con.execute(f'SELECT "{geom}", key, level, code, name, source FROM "{LAYER}"').fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise DataError(_("cannot read {path}: {exc}").format(path=path, exc=exc)) from None
    geoms = shapely.from_wkb([_wkb(r[0]) for r in rows])
    return [Feature(r[1], r[2], r[3], r[4], r[5] or "", g) for r, g in zip(rows, geoms, strict=True)]


_WGS84_WKT = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
              'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",'
              '0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],'
              'AUTHORITY["EPSG","4326"]]')


def _blob(geom: Any) -> bytes:
    """A GeoPackage geometry blob: 'GP', version 0, little-endian with an XY envelope, SRS 4326, WKB."""
    import shapely

    minx, miny, maxx, maxy = geom.bounds
    return (b"GP\x00\x03" + struct.pack("<i4d", 4326, minx, maxx, miny, maxy)
            + shapely.to_wkb(geom, byte_order=1, flavor="iso"))


def write_gpkg(features: list[Feature], path: Path, *, stamp: str = "2025-07-01T00:00:00.000Z") -> None:
    """Write features in the merger layout, atomically and byte for byte reproducibly.

    A plain GeoPackage 1.3 (GDAL, QGIS and geopandas read it) with the box columns before the
    geometry, so ``index_gpkg`` never touches the geometry pages. ``stamp`` is the contents'
    ``last_change`` (fixed, so the same input gives the same bytes).
    """
    path.parent.mkdir(parents=True, exist_ok=True)  # made here, never by a read (user_path)
    tmp = path.with_name(path.stem + ".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    boxes = [f.geometry.bounds for f in features]
    ext = (min((b[0] for b in boxes), default=0.0), min((b[1] for b in boxes), default=0.0),
           max((b[2] for b in boxes), default=0.0), max((b[3] for b in boxes), default=0.0))
    con = sqlite3.connect(tmp)
    try:
        con.executescript(f"""
PRAGMA application_id = 1196444487; PRAGMA user_version = 10300; PRAGMA page_size = 4096;
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL, min_x DOUBLE, min_y DOUBLE, max_x DOUBLE,
  max_y DOUBLE, srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE "{LAYER}" (fid INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, level TEXT, code TEXT, name TEXT,
  source TEXT, min_x REAL, min_y REAL, max_x REAL, max_y REAL, geom MULTIPOLYGON);
""")
        con.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", [
            ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
            ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
            ("WGS 84 geodetic", 4326, "EPSG", 4326, _WGS84_WKT, "longitude/latitude coordinates in decimal degrees"),
        ])
        con.execute("INSERT INTO gpkg_contents VALUES (?, 'features', ?, '', ?, ?, ?, ?, ?, 4326)",
                    (LAYER, LAYER, stamp, *ext))
        con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'MULTIPOLYGON', 4326, 0, 0)", (LAYER,))
        con.executemany(f'INSERT INTO "{LAYER}" (key, level, code, name, source, min_x, min_y, max_x, max_y, geom) '
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [(f.key, f.level, f.code, f.name, f.source, *b, _blob(f.geometry))
                         for f, b in zip(features, boxes, strict=True)])
        # a covering index of the small columns: opening the layer reads its few pages, not the
        # table's leaf pages (which hold the start of every geometry)
        con.execute(f'CREATE INDEX "{LAYER}_index" ON "{LAYER}" (key, level, code, name, source, {", ".join(BBOX)})')
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()
    tmp.replace(path)


def bundled_path() -> Path:
    return bundle.boundaries_dir() / "boundaries.gpkg"


def user_path(register: Register) -> Path:
    """Where ``merger boundaries load`` keeps a register's own boundaries."""
    path = register.sqlite_path
    if path is not None:
        return path.with_name(path.name + ".boundaries.gpkg")
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("merger", appauthor=False))  # made by write_gpkg, never by a read
    return folder / register.cache_path().name.replace(".snapshot", ".boundaries.gpkg")


# Relations of a link that hands a unit's territory on unchanged (a new name, type or parent).
SAME_TERRITORY = frozenset({"reclassified", "renamed", "unchanged", "moved"})


class _Carried:
    """The reader of a version whose geometry is its predecessor's (see ``carry``)."""

    def __init__(self, source: Feature):
        self.source = source

    def fetch(self, keys: list[str]) -> dict[str, Any]:
        return {k: self.source.geometry for k in keys}


def carried(snap: Snapshot, keys: Iterable[str]) -> dict[str, str]:
    """{later version key: key with a geometry} for the versions that hold the territory of a
    version with a geometry unchanged: each step a whole link of a rename, reclassification or
    move that is the only link out of its predecessor and into its successor. A unit made a city
    or a commune made a ward (2026) keeps its boundary; a merge or a split does not."""
    out: dict[str, str] = {}
    for key in keys:
        v = snap.by_key.get(key)
        while v is not None:
            links = snap.out_links.get(v.id, [])
            if len(links) != 1:
                break
            link = links[0]
            nxt = link.succ
            if (nxt is None or link.portion != "whole" or link.relation not in SAME_TERRITORY
                    or len(snap.in_links.get(nxt.id, [])) != 1 or nxt.key in out):
                break
            out[nxt.key] = key
            v = nxt
    return out


def carry(boundaries: Boundaries, snap: Snapshot) -> Boundaries:
    """Give the versions that hold a bounded territory unchanged (``carried``) that geometry,
    unless they have their own."""
    features = boundaries.features
    for later, key in carried(snap, list(features)).items():
        if later not in features:
            f = features[key]
            v = snap.by_key[later]
            features[later] = Feature(later, v.level, v.code, v.full_name, f.source, bbox=f.bbox,
                                      reader=_Carried(f))  # type: ignore[arg-type]
    return boundaries


def carry_catalog(boundaries: Boundaries, cat: Catalog) -> Boundaries:
    """As ``carry``, from a catalog (merger.geo.catalog) instead of the register's snapshot."""
    features = boundaries.features
    for later, key in cat.carried.items():
        if later not in features and key in features:
            f = features[key]
            e = cat.entries[later]
            features[later] = Feature(later, e.level, e.code, e.full_name, f.source, bbox=f.bbox,
                                      reader=_Carried(f))  # type: ignore[arg-type]
    boundaries.catalog = cat
    return boundaries


def load(register: Register | None = None, *, bundled: Path | None = None, user: bool = True,
         carry_on: bool = True) -> Boundaries:
    """The bundled boundaries, then the register's own loaded ones on top (same key: theirs win);
    with a register, carried on to the versions that hold a bounded territory unchanged (from
    the catalog, merger.geo.catalog: the snapshot is read only when no note is kept for it)."""
    features: dict[str, Feature] = {}
    origin = []
    path = bundled or bundled_path()
    if path.exists():
        for f in index_gpkg(path):
            features[f.key] = f
        origin.append(str(path))
    if register is not None and user:
        own = user_path(register)
        if own.exists():
            for f in index_gpkg(own):
                features[f.key] = f
            origin.append(str(own))
    found = Boundaries(features, origin)
    if register is None or not carry_on:
        return found
    from merger.geo import catalog

    return carry_catalog(found, catalog.for_register(register, list(features)))


def summary(register: Register, boundaries: Boundaries) -> list[dict[str, object]]:
    """Geometries per level and period, with their sources: what the boundary set covers."""
    from collections import Counter

    snap = register.snapshot
    groups: Counter[tuple[str, str, str, str]] = Counter()
    unknown = 0
    for key, f in boundaries.features.items():
        v = snap.by_key.get(key)
        if v is None:
            unknown += 1
            continue
        groups[(v.level, str(v.valid_from or ""), str(v.valid_to or ""), f.source)] += 1
    rows: list[dict[str, object]] = [
        dict(level=lv, valid_from=a or None, valid_to=b or None, source=src, versions=n)
        for (lv, a, b, src), n in sorted(groups.items())]
    if unknown:
        rows.append(dict(level=None, valid_from=None, valid_to=None, source="keys matching no version",
                         versions=unknown))
    return rows
