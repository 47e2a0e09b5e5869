"""Boundaries in and out: export with the register's attributes, and loading a user's own file.

Export writes GeoJSON or GeoPackage (EPSG:4326) with code, name, type, level, parent, valid
period and predecessors. Loading reads GeoJSON, GeoPackage or Shapefile (anything GDAL reads),
matches each feature's code to the version of that level valid on the given date, and keeps the
matched geometries in the register's own boundaries file; codes that match nothing are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger.errors import BadInput, DataError
from merger.i18n import _

if TYPE_CHECKING:
    from merger.geo.data import Boundaries
    from merger.graph import V
    from merger.register import Register

FORMATS = {"geojson": "GeoJSON", "gpkg": "GPKG"}
CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}


def _selected(register: Register, boundaries: Boundaries, as_of: date | None, within: str | None,
              level: str | None = None) -> list[V]:
    snap = register.snapshot
    versions = [snap.by_key[k] for k in boundaries.features if k in snap.by_key]
    if level:
        versions = [v for v in versions if v.level == level]
    if as_of is not None:
        versions = [v for v in versions if v.valid_on(as_of)]
    if within:
        match = register.resolve(within, containers=True)
        versions = [v for v in versions if v.unit_id == match.unit_id
                    or any(a.unit_id == match.unit_id for a in snap.ancestors(v))]
    return sorted(versions, key=lambda v: (v.valid_from or date.min, v.level, v.code))


def export(register: Register, boundaries: Boundaries, out: Path, fmt: str, *, as_of: date | None = None,
           within: str | None = None, level: str | None = None) -> int:
    """Write the selected boundaries with the register's attributes; returns the feature count."""
    import geopandas as gpd

    if fmt not in FORMATS:
        raise BadInput(_("unknown format {fmt!r}: use one of {join}").format(fmt=fmt, join=', '.join(FORMATS)))
    snap = register.snapshot
    versions = _selected(register, boundaries, as_of, within, level)
    if not versions:
        raise BadInput(_("no boundaries match") + (_(" within {within!r}").format(within=within) if within else "")
                       + (_(" on {day}").format(day=as_of) if as_of else ""))
    rows: list[dict[str, Any]] = []
    for v in versions:
        parent = snap.parent_of(v)
        st = snap.stats.get(v.id) or {}
        preds = sorted({link.pred.key for link in snap.predecessors(v) if link.pred is not None})
        succs = sorted({link.succ.key for link in snap.successors(v) if link.succ is not None})
        rows.append(dict(key=v.key, code=v.code, name=v.full_name, type=v.type, level=v.level,
                         parent=parent.full_name if parent else None, parent_key=parent.key if parent else None,
                         valid_from=v.valid_from.isoformat() if v.valid_from else None,
                         valid_to=v.valid_to.isoformat() if v.valid_to else None,
                         predecessors=";".join(preds), successors=";".join(succs),
                         official_area_km2=st.get("area_km2"), source=boundaries.features[v.key].source))
    frame = gpd.GeoDataFrame(rows, geometry=[boundaries.features[v.key].geometry for v in versions], crs="EPSG:4326")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    if fmt == "gpkg":
        frame.to_file(out, layer="boundaries", driver="GPKG", engine="pyogrio")
    else:
        frame.to_file(out, driver="GeoJSON", engine="pyogrio")
    return len(frame)


@dataclass
class LoadReport:
    path: str
    features: int = 0
    matched: list[str] = field(default_factory=list)  # version keys
    replaced: list[str] = field(default_factory=list)  # keys that already had a geometry
    unmatched: list[str] = field(default_factory=list)  # codes matching no version
    padded: int = 0  # codes given without leading zeros
    crs: str = ""
    stored_in: str = ""


def load_file(register: Register, path: Path, *, level: str, as_of: date, code_field: str,
              source: str | None = None, dry_run: bool = False) -> LoadReport:
    """Match a user's boundary file to versions and keep the matches as the register's own."""
    import geopandas as gpd
    import shapely

    from merger.geo import data

    if level not in CODE_WIDTH:
        raise BadInput(_("--level must be one of {join}").format(join=', '.join(CODE_WIDTH)))
    if not path.exists():
        raise BadInput(_("no such file: {path}").format(path=path))
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 — GDAL's errors are many; the user needs one line
        raise DataError(_("cannot read {path} as GeoJSON, GeoPackage or Shapefile: {exc}").format(path=path, exc=exc)) from None
    if code_field not in frame.columns:
        raise BadInput(_("{path} has no field {code_field!r}; fields: {join}").format(path=path, code_field=code_field, join=', '.join(map(str, frame.columns))))
    report = LoadReport(str(path), len(frame))
    if frame.crs is None:
        report.crs = "none given: read as EPSG:4326"
        frame = frame.set_crs(4326)
    else:
        report.crs = frame.crs.to_string()
        frame = frame.to_crs(4326)
    snap = register.snapshot
    index = {v.code: v for v in snap.valid_on(as_of) if v.level == level}
    existing = data.load(register, carry_on=False)
    found: dict[str, data.Feature] = {}
    for raw, geom in zip(frame[code_field], frame.geometry, strict=True):
        code = _code(raw)
        if code.isdigit() and len(code) < CODE_WIDTH[level]:
            code = code.zfill(CODE_WIDTH[level])
            report.padded += 1
        v = index.get(code)
        if v is None or geom is None or geom.is_empty:
            report.unmatched.append(code or repr(raw))
            continue
        if geom.geom_type == "Polygon":
            geom = shapely.MultiPolygon([geom])
        if v.key in found:  # several features for one unit: their union
            geom = shapely.union(found[v.key].geometry, geom)
        found[v.key] = data.Feature(v.key, v.level, v.code, v.full_name, source or path.name, geom)
    report.matched = sorted(found)
    report.replaced = sorted(k for k in found if k in existing)
    target = data.user_path(register)
    report.stored_in = str(target)
    if found and not dry_run:
        own = {f.key: f for f in data.read_gpkg(target)} if target.exists() else {}
        own.update(found)
        data.write_gpkg(sorted(own.values(), key=lambda f: f.key), target)
    return report


def _code(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return str(raw).strip()

