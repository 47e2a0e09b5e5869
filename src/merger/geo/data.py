"""The boundary set: one geometry per version key, from the bundle plus the user's own loads.

GeoPackages are read with the stdlib ``sqlite3`` and ``shapely.from_wkb`` (no GDAL, no pandas),
which keeps ``merger locate`` well under a second. The user's loaded boundaries live in a
GeoPackage next to the register (``register.sqlite.boundaries.gpkg``) and replace bundled
geometries of the same version key.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger import bundle
from merger.errors import DataError

if TYPE_CHECKING:
    from merger.register import Register

LAYER = "boundaries"
COLUMNS = ("key", "level", "code", "name", "source")
_ENVELOPE = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


@dataclass
class Feature:
    key: str
    level: str
    code: str
    name: str
    source: str
    geometry: Any  # shapely (Multi)Polygon in EPSG:4326


@dataclass
class Boundaries:
    """Geometries by version key, with metric (UTM 48N) copies made on demand."""

    features: dict[str, Feature]
    origin: list[str] = field(default_factory=list)
    _metric: dict[str, Any] = field(default_factory=dict, repr=False)

    def __contains__(self, key: str) -> bool:
        return key in self.features

    def __len__(self) -> int:
        return len(self.features)

    def geometry(self, key: str) -> Any | None:
        f = self.features.get(key)
        return f.geometry if f else None

    def metric(self, keys: list[str]) -> list[Any]:
        """The geometries of ``keys`` in metres (EPSG:32648), projected once and cached."""
        todo = [k for k in keys if k not in self._metric and k in self.features]
        if todo:
            for k, g in zip(todo, to_metric([self.features[k].geometry for k in todo]), strict=True):
                self._metric[k] = g
        return [self._metric.get(k) for k in keys]


def to_metric(geoms: list[Any]) -> list[Any]:
    import numpy as np
    import shapely
    from pyproj import Transformer

    tr = Transformer.from_crs(4326, 32648, always_xy=True)
    return list(shapely.transform(np.array(geoms, dtype=object),
                                  lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))))


def to_lonlat(geoms: list[Any]) -> list[Any]:
    import numpy as np
    import shapely
    from pyproj import Transformer

    tr = Transformer.from_crs(32648, 4326, always_xy=True)
    return list(shapely.transform(np.array(geoms, dtype=object),
                                  lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))))


def _wkb(blob: bytes) -> bytes:
    """The WKB inside a GeoPackage geometry blob (the 'GP' header and envelope removed)."""
    if blob[:2] != b"GP":
        return blob
    flags = blob[3]
    return blob[8 + _ENVELOPE[(flags >> 1) & 0x07]:]


def read_gpkg(path: Path) -> list[Feature]:
    """Features of a merger-layout GeoPackage (EPSG:4326, columns key/level/code/name/source)."""
    import shapely

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            srs = con.execute("SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name=?",
                              (LAYER,)).fetchone()
            if srs is None:
                raise DataError(f"{path} has no layer {LAYER!r}")
            if srs[1] != 4326:
                raise DataError(f"{path}: layer {LAYER!r} is in EPSG:{srs[1]}, expected EPSG:4326")
            rows = con.execute(f'SELECT "{srs[0]}", key, level, code, name, source FROM "{LAYER}"').fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    geoms = shapely.from_wkb([_wkb(r[0]) for r in rows])
    return [Feature(r[1], r[2], r[3], r[4], r[5] or "", g) for r, g in zip(rows, geoms, strict=True)]


def write_gpkg(features: list[Feature], path: Path) -> None:
    """Write features in the merger layout, atomically (the old file stays until the new is whole)."""
    import geopandas as gpd

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    frame = gpd.GeoDataFrame({c: [getattr(f, c) for f in features] for c in COLUMNS},
                             geometry=[f.geometry for f in features], crs="EPSG:4326")
    frame.to_file(tmp, layer=LAYER, driver="GPKG", engine="pyogrio", SPATIAL_INDEX="NO")
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


def load(register: Register | None = None, *, bundled: Path | None = None, user: bool = True) -> Boundaries:
    """The bundled boundaries, then the register's own loaded ones on top (same key: theirs win)."""
    features: dict[str, Feature] = {}
    origin = []
    path = bundled or bundled_path()
    if path.exists():
        for f in read_gpkg(path):
            features[f.key] = f
        origin.append(str(path))
    if register is not None and user:
        own = user_path(register)
        if own.exists():
            for f in read_gpkg(own):
                features[f.key] = f
            origin.append(str(own))
    return Boundaries(features, origin)


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
