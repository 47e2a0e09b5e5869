"""Importer: raw boundary files -> the project's own ``data/boundaries/boundaries.gpkg``.

Reads the new Hải Phòng province and its 114 commune-level units (``geo_new/``, GeoJSON, one file
per unit) and the districts and outlines of old Hải Phòng and old Hải Dương (``geo_old/``, the
dvhcvn nested JSON), matches every feature to a version of the curated register
(``data/units/versions.csv``) and writes one GeoPackage layer keyed by the version key (never by
bare code: codes are reused). Each tier is simplified as a coverage in UTM 48N
(``shapely.coverage_simplify``), so neighbours keep identical shared edges. Every mismatch is
reported; nothing is dropped silently. Needs the ``merger[geo]`` extra.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from merger import bundle
from merger.errors import DataError
from merger.names import fold

NEW_DAY = "2025-07-01"
OLD_END = "2025-06-30"
# Simplification tolerance in metres (UTM 48N). 10 m keeps every unit's area within 0.05 km² of
# the source and the file under the 3 MB budget; the source's own vertex spacing is a few metres.
TOLERANCE_M = 10.0
DECIMALS = 6  # ~0.1 m in longitude/latitude at 20°N
LAYER = "boundaries"
COLUMNS = ("key", "level", "code", "name", "source")

S_NEW = "thanglequoc-geojson-2025"  # geo_new/thanglequoc_geojson_31_hai_phong
S_OLD = "dvhcvn-gis-v20250301"  # geo_old/dvhcvn_v20250301_gis_*_districts.json
OLD_FILES = {"30": "dvhcvn_v20250301_gis_30_HaiDuong_districts.json",
             "31": "dvhcvn_v20250301_gis_31_HaiPhong_districts.json"}


@dataclass
class GeoImportReport:
    """What the importer matched, fixed and could not place, for the README and the CLI."""

    lines: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        self.lines.append(text)


@dataclass
class _Feature:
    key: str
    level: str
    code: str
    name: str
    source: str
    geometry: Any
    tier: str  # features of one tier are simplified together as one coverage


def _versions(units: Path) -> dict[str, dict[str, str]]:
    return {r["key"]: r for r in bundle.read(units, "versions")}


def _read_new(folder: Path, versions: dict[str, dict[str, str]], report: GeoImportReport) -> list[_Feature]:
    import shapely

    root = folder / "thanglequoc_geojson_31_hai_phong"
    if not root.is_dir():
        raise DataError(f"no new Hải Phòng boundaries at {root}")
    out: list[_Feature] = []
    province = json.loads((root / "31_hai_phong.geojson").read_text(encoding="utf-8"))
    for feat in province["features"]:
        key = f"{feat['properties']['code']}@{NEW_DAY}"
        if key not in versions:
            raise DataError(f"the province file's code {feat['properties']['code']} matches no version {key}")
        out.append(_Feature(key, "province", versions[key]["code"], versions[key]["full_name"], S_NEW,
                            shapely.geometry.shape(feat["geometry"]), "new-province"))
    files = sorted((root / "wards").glob("*.geojson"))
    unmatched, renamed = [], []
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        for feat in data["features"]:
            props = feat["properties"]
            key = f"{props['code']}@{NEW_DAY}"
            v = versions.get(key)
            if v is None or v["level"] != "commune":
                unmatched.append(f"{path.name}: code {props['code']} {props.get('fullName')}")
                continue
            if fold(v["full_name"]) != fold(props.get("fullName") or ""):
                renamed.append(f"{key}: file {props.get('fullName')!r}, register {v['full_name']!r}")
            out.append(_Feature(key, "commune", v["code"], v["full_name"], S_NEW,
                                shapely.geometry.shape(feat["geometry"]), "new-commune"))
    expected = [k for k, v in versions.items() if v["level"] == "commune" and v["valid_from"] == NEW_DAY
                and v["parent_unit"] == "31@..2025-06-30"]
    have = {f.key for f in out}
    missing = sorted(set(expected) - have)
    report.figures.update(new_files=len(files), new_communes=len(have) - 1, new_communes_expected=len(expected))
    report.note(f"geo_new: {len(files)} commune files, {len(have) - 1} matched to {len(expected)} commune "
                f"versions of new Hải Phòng by NSO code (key code@{NEW_DAY}); province outline -> 31@{NEW_DAY}")
    for label, items in (("file codes matching no commune version", unmatched),
                         ("name spelled differently from the register (register kept)", renamed),
                         ("new communes with no boundary file", missing)):
        report.note(f"{label}: {len(items)}" + (" — " + "; ".join(items) if items else ""))
    return out


def _polygons(coords: list) -> Any:
    import shapely

    return shapely.MultiPolygon([shapely.Polygon(ring[0], ring[1:]) for ring in coords])


def _read_old(folder: Path, versions: dict[str, dict[str, str]], report: GeoImportReport) -> list[_Feature]:
    out: list[_Feature] = []
    districts = {(v["parent_unit"].split("@")[0], v["code"]): v for v in versions.values()
                 if v["level"] == "district" and v["valid_to"] == OLD_END}
    matched_by_name, differ, unmatched = [], [], []
    for prov, name in OLD_FILES.items():
        path = folder / name
        if not path.exists():
            raise DataError(f"no old district boundaries at {path}")
        data = json.loads(path.read_text(encoding="utf-8"))
        pkey = f"{prov}@..{OLD_END}"
        if pkey not in versions:
            raise DataError(f"old province {pkey} is not in the register")
        out.append(_Feature(pkey, "province", prov, versions[pkey]["full_name"], S_OLD,
                            _polygons(data["coordinates"]), "old-province"))
        seen = set()
        for item in data["level2s"]:
            v = districts.get((prov, item["level2_id"]))
            if v is None:  # fall back to the name within the same old province
                same = [d for (p, _), d in districts.items()
                        if p == prov and fold(item["name"]).endswith(" " + fold(d["name"]))]
                v = same[0] if len(same) == 1 else None
                if v is not None:
                    matched_by_name.append(f"{item['level2_id']} {item['name']} -> {v['key']}")
            if v is None:
                unmatched.append(f"{prov}/{item['level2_id']} {item['name']}")
                continue
            if fold(v["full_name"]) != fold(item["name"]):
                differ.append(f"{v['key']}: file {item['name']!r}, register {v['full_name']!r}")
            seen.add(v["key"])
            out.append(_Feature(v["key"], "district", v["code"], v["full_name"], S_OLD,
                                _polygons(item["coordinates"]), "old-district"))
        for (p, _), v in sorted(districts.items()):
            if p == prov and v["key"] not in seen:
                unmatched.append(f"register {v['key']} {v['full_name']}: no boundary in {name}")
    n = sum(1 for f in out if f.level == "district")
    report.figures.update(old_districts=n)
    report.note(f"geo_old: {n} districts of old Hải Dương (30) and old Hải Phòng (31) matched by code to "
                f"versions code@..{OLD_END} (province outlines -> 30@..{OLD_END}, 31@..{OLD_END})")
    for label, items in (("matched by name (code did not match)", matched_by_name),
                         ("same code, name or type word differs (the file predates the change; register "
                          "kept, the geometry may predate boundary changes of 1 January 2025)", differ),
                         ("not matched", unmatched)):
        report.note(f"{label}: {len(items)}" + (" — " + "; ".join(items) if items else ""))
    return out


def _simplify(features: list[_Feature], report: GeoImportReport) -> None:
    """Coverage-simplify each tier in metres, then back to lon/lat rounded to ~0.1 m."""
    import numpy as np
    import shapely
    from pyproj import Transformer

    fwd = Transformer.from_crs(4326, 32648, always_xy=True)
    back = Transformer.from_crs(32648, 4326, always_xy=True)

    def project(tr: Transformer):  # type: ignore[no-untyped-def]
        return lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))

    for tier in sorted({f.tier for f in features}):
        group = [f for f in features if f.tier == tier]
        geoms = shapely.transform(np.array([f.geometry for f in group]), project(fwd))
        before = int(shapely.get_num_coordinates(geoms).sum())
        valid_cov = bool(shapely.coverage_is_valid(geoms))
        simple = shapely.coverage_simplify(geoms, TOLERANCE_M)
        after_m = shapely.area(simple)
        drift = float(np.abs(after_m - shapely.area(geoms)).max()) / 1e6
        back_geoms = shapely.transform(simple, lambda c: np.round(project(back)(c), DECIMALS))
        fixed = 0
        for f, g in zip(group, back_geoms, strict=True):
            if not g.is_valid:
                g = shapely.make_valid(g)
                fixed += 1
            g = shapely.MultiPolygon(shapely.get_parts(g)) if g.geom_type == "Polygon" else g
            f.geometry = g
        after = int(shapely.get_num_coordinates(back_geoms).sum())
        report.note(f"{tier}: {len(group)} features, {before:,} -> {after:,} vertices at {TOLERANCE_M:g} m; "
                    f"source coverage valid: {'yes' if valid_cov else 'no (overlaps/unmatched edges kept as they are)'}; "
                    f"largest area change {drift:.3f} km²; repaired after rounding: {fixed}")


def run(sources: Path, out: Path, units: Path | None = None) -> GeoImportReport:
    """Build ``out/boundaries.gpkg`` and ``out/README.md`` from the raw sources."""
    import geopandas as gpd

    units = units or bundle.units_dir()
    versions = _versions(units)
    report = GeoImportReport()
    features = _read_new(sources / "geo_new", versions, report) + _read_old(sources / "geo_old", versions, report)
    _simplify(features, report)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "boundaries.gpkg"
    tmp = out / "boundaries.tmp.gpkg"
    tmp.unlink(missing_ok=True)
    features.sort(key=lambda f: (f.level != "province", f.level, f.key))
    frame = gpd.GeoDataFrame({c: [getattr(f, c) for f in features] for c in COLUMNS},
                             geometry=[f.geometry for f in features], crs="EPSG:4326")
    frame.to_file(tmp, layer=LAYER, driver="GPKG", engine="pyogrio", SPATIAL_INDEX="NO")
    tmp.replace(target)
    size = target.stat().st_size
    report.figures.update(features=len(features), gpkg_bytes=size)
    if size > 3_000_000:
        raise DataError(f"{target} is {size:,} bytes, over the 3 MB budget: raise TOLERANCE_M")
    (out / "README.md").write_text(readme(report), encoding="utf-8")
    return report


def readme(report: GeoImportReport) -> str:
    lines = "\n".join(f"- {line}" for line in report.lines)
    return f"""# Boundaries (data/boundaries/)

`boundaries.gpkg`, layer `{LAYER}`: one MultiPolygon per register version, EPSG:4326, columns
`key` (the register's version key: `11533@2025-07-01`, `311@..2025-06-30`), `level`, `code`,
`name` (the register's full name), `source`. Written by `merger import-boundaries SOURCES --out
data/boundaries` ({date.today().isoformat()}); do not edit by hand. A unit's geometry belongs to a
version: it changes only with an event that creates a new version.

## Provenance and licences

| source tag | what | from | licence |
|---|---|---|---|
| `{S_NEW}` | new Hải Phòng (from 2025-07-01): the province outline and its 114 commune-level units | GitHub thanglequoc/vietnamese-provinces-database, json/geojson/ (derived from the official merger map sapnhap.bando.com.vn) | MIT |
| `{S_OLD}` | old Hải Dương (30) and old Hải Phòng (31) until 2025-06-30: province outlines and 27 district-level units | GitHub daohoangson/dvhcvn tag v20250301 data/gis/ (source gis.chinhphu.vn; state of early 2025 or slightly older) | GPL-3.0 |

No open commune-level boundaries of the old (pre-2025-07-01) communes were found: old communes
have no geometry. The project is GPL-3.0-or-later, compatible with both licences.

## Processing

- Each tier (new communes, new province, old districts, old provinces) is simplified as one
  coverage with `shapely.coverage_simplify` at **{TOLERANCE_M:g} m** in UTM 48N (EPSG:32648), so
  neighbours keep identical shared edges, then written in longitude/latitude rounded to
  {DECIMALS} decimals (~0.1 m).
- Areas are not stored: `merger boundaries check` computes them in EPSG:32648 and compares
  them with the official sapnhap figures in the register.

## Known limits (measured with `merger boundaries check` and `merger overlap`)

- The new province outline and the union of the 114 units differ: about 53 km² of the outline is
  in no unit and about 46 km² of the units is outside the outline (1.7 % and 1.5 % of the
  province), in hundreds of pieces along the coast, the islands (Cát Hải alone ~27 km² and ~16
  km²) and the land borders (largest land piece ~5 km² at the western edge of Chí Linh). The
  province outline is much coarser (about 2,000 vertices) than the units (about 88,000).
- One overlap in the source: Phường Lưu Kiếm / Phường Thủy Nguyên, about 1,100 m². Kept as it is.
- Computed areas of six coastal units differ from the official (sapnhap) areas by more than 5 %
  (Cát Hải -30 %, Đông Hải -24 %, Đồ Sơn -14 %, Hải An -11 %, Hùng Thắng -8 %, Bạch Long Vĩ -7 %);
  the median unit agrees within 0.4 %.
- The old district geometries predate changes of 2019-2025 in places: Hồng Bàng's geometry
  (14.4 km²) lacks Phường An Hồng, An Hưng and Đại Bản, which the register places in Quận Hồng
  Bàng on 2025-06-30 (moved from An Dương on 1 January 2025); the file still calls Thủy Nguyên and
  An Dương "Huyện". Overlay with the new units disagrees with the recorded lineage for Phường
  Tân Hưng (36 % inside the old Tứ Kỳ geometry), Phường Nam Đồng (54 % inside old Thanh Hà),
  Phường Thủy Nguyên (15 % inside old Hải An) and Xã Quyết Thắng (7 % inside old Tứ Kỳ).
  The lineage (from the official NSO table) is the authority; the old geometries are context.

## Import report

{lines}

Figures: {", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in sorted(report.figures.items()))}
"""
