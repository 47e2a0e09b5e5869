"""Importer: raw boundary files of the whole country -> ``data/boundaries/boundaries.gpkg``.

Reads the 34 new provinces and their 3,321 commune-level units (thanglequoc
``json/geojson/``: one folder per province, one GeoJSON file per unit) and the 63 old provinces
with their districts (dvhcvn ``data/gis/NN.json``), matches every feature to a version of the
curated register (``data/units/versions.csv``) and writes one GeoPackage layer keyed by the
version key (never by bare code: codes are reused). Each tier is simplified as one national
coverage in metres (``shapely.coverage_simplify``), so neighbours keep identical shared edges,
also across province borders. Every mismatch is reported; nothing is dropped silently. The
output is the same bytes for the same sources. Needs the ``merger[geo]`` extra.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from merger import bundle
from merger.errors import DataError
from merger.i18n import _
from merger.names import fold

NEW_DAY = "2025-07-01"
OLD_END = "2025-06-30"
# Simplification tolerance per tier, metres (equal-area projection). Chosen so the whole country
# fits the 25 MB budget (40 m for the communes gave 26.2 MB); the measured
# area change per unit is in the README.
TOLERANCES = {"new-commune": 50.0, "new-province": 50.0, "old-district": 50.0, "old-province": 50.0}
DECIMALS = 6  # ~0.1 m in longitude/latitude
BUDGET = 25_000_000  # bytes: the bundled layer ships in the wheel
LAYER = "boundaries"

NEW_REPO, NEW_COMMIT = "thanglequoc/vietnamese-provinces-database", "cd58063299585146ded3981f2272946ef19ced54"
OLD_REPO, OLD_TAG, OLD_COMMIT = "daohoangson/dvhcvn", "v20250301", "eaddcea82fc336d59e908989f04178c336a9db10"
S_NEW = "thanglequoc-geojson-2025"
S_OLD = "dvhcvn-gis-v20250301"
STAMP = "2026-08-02T00:00:00.000Z"  # the newer source commit's day: the layer's last_change, fixed
# (old province, district code in the file) -> the code whose shape it really is. In dvhcvn's
# v20250301 files two pairs of neighbouring districts carry each other's code and name: the shape
# named Huyện Sìn Hồ (108) is the northern one on the Chinese border, where Phong Thổ lies, and
# the shape named Huyện Bắc Tân Uyên ("north Tân Uyên", 726) is the southern one. Evidence: the
# seats of the new communes formed from each district's communes lie in the other's shape (15 in
# Lai Châu, 4 in Bình Dương), and the new communes' own geometries (thanglequoc) overlay them the
# same way round. Swapped back, and listed in the import report.
SWAPPED = {("12", "108"): "109", ("12", "109"): "108", ("74", "723"): "726", ("74", "726"): "723"}


@dataclass
class GeoImportReport:
    """What the importer matched, fixed and could not place, for the README and the CLI."""

    lines: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    tiers: list[dict[str, Any]] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.lines.append(text)

    def items(self, label: str, items: list[str], show: int = 40) -> None:
        more = f" … and {len(items) - show} more" if len(items) > show else ""
        self.note(f"{label}: {len(items)}" + (" — " + "; ".join(items[:show]) + more if items else ""))


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


def _shape(obj: dict[str, Any]) -> Any:
    import shapely

    g = shapely.geometry.shape({"type": obj["type"], "coordinates": obj["coordinates"]})
    return shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g


def _read_new(root: Path, versions: dict[str, dict[str, str]], report: GeoImportReport) -> list[_Feature]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and (p / "wards").is_dir()) if root.is_dir() else []
    if not folders:
        raise DataError(_("no province folders (NN_name/wards/) in {root}: give thanglequoc's json/geojson folder").format(root=root))
    out: list[_Feature] = []
    unit_code = {v["unit"]: v["code"] for v in versions.values() if v["level"] == "province"}
    by_name: dict[tuple[str, str], list[dict[str, str]]] = {}
    for v in versions.values():
        if v["level"] == "commune" and v["valid_from"] == NEW_DAY:
            by_name.setdefault((unit_code.get(v["parent_unit"], ""), fold(v["full_name"])), []).append(v)
    by_name_matched: list[str] = []
    unmatched, renamed, moved, files = [], [], [], 0
    seen: set[str] = set()
    for folder in folders:
        pfile = folder / f"{folder.name}.geojson"
        if not pfile.exists():
            raise DataError(_("no province file {pfile}").format(pfile=pfile))
        for feat in json.loads(pfile.read_text(encoding="utf-8"))["features"]:
            key = f"{feat['properties']['code']}@{NEW_DAY}"
            v = versions.get(key)
            if v is None or v["level"] != "province":
                unmatched.append(f"{pfile.name}: province code {feat['properties']['code']}")
                continue
            out.append(_Feature(key, "province", v["code"], v["full_name"], S_NEW, _shape(feat["geometry"]),
                                "new-province"))
        for path in sorted((folder / "wards").glob("*.geojson")):
            files += 1
            for feat in json.loads(path.read_text(encoding="utf-8"))["features"]:
                props = feat["properties"]
                key = f"{props['code']}@{NEW_DAY}"
                v = versions.get(key)
                if v is None:  # a draft code (NSO changed some before the final list): the name in the province
                    same = [w for w in by_name.get((folder.name[:2], fold(props.get("fullName") or "")), [])
                            if w["key"] not in seen]
                    v = same[0] if len(same) == 1 else None
                    if v is not None:
                        by_name_matched.append(f"{folder.name}/{path.name}: code {props['code']} "
                                               f"{props.get('fullName')} -> {v['key']}")
                        key = v["key"]
                if v is None or v["level"] != "commune" or key in seen:
                    unmatched.append(f"{folder.name}/{path.name}: code {props['code']} {props.get('fullName')}"
                                     + (" (a second file; first kept)" if key in seen else ""))
                    continue
                seen.add(key)
                if fold(v["full_name"]) != fold(props.get("fullName") or ""):
                    renamed.append(f"{key}: file {props.get('fullName')!r}, register {v['full_name']!r}")
                if unit_code.get(v["parent_unit"]) != folder.name[:2]:
                    moved.append(f"{key} in folder {folder.name}, register parent {v['parent_unit']}")
                out.append(_Feature(key, "commune", v["code"], v["full_name"], S_NEW, _shape(feat["geometry"]),
                                    "new-commune"))
    keys = {f.key for f in out}
    n_c = sum(1 for f in out if f.level == "commune")
    n_p = sum(1 for f in out if f.level == "province")
    exp_c = sorted(k for k, v in versions.items() if v["level"] == "commune" and v["valid_from"] == NEW_DAY)
    exp_p = sorted(k for k, v in versions.items() if v["level"] == "province" and v["valid_from"] == NEW_DAY)
    report.figures.update(new_files=files, new_communes=n_c, new_communes_expected=len(exp_c), new_provinces=n_p)
    report.note(f"new units: {len(folders)} province folders, {n_p} province outlines and {n_c} of {len(exp_c)} "
                f"commune-level units ({files} files) matched by NSO code to versions code@{NEW_DAY}")
    report.items("file codes matching no version, matched by full name within the province (register code "
                 "kept)", by_name_matched)
    report.items("file codes matching no version", unmatched)
    report.items("name spelled differently from the register (register kept)", renamed)
    report.items("unit in another province's folder than its register parent", moved)
    report.items("new units with no boundary file", sorted(set(exp_c + exp_p) - keys))
    return out


def _read_old(root: Path, versions: dict[str, dict[str, str]], report: GeoImportReport) -> list[_Feature]:
    files = sorted(root.glob("[0-9][0-9].json")) if root.is_dir() else []
    if not files:
        raise DataError(_("no province files (NN.json) in {root}: give dvhcvn's data/gis folder").format(root=root))
    out: list[_Feature] = []
    districts = {(v["parent_unit"].split("@")[0], v["code"]): v for v in versions.values()
                 if v["level"] == "district" and v["valid_to"] == OLD_END}
    provinces = sorted(k for k, v in versions.items() if v["level"] == "province" and v["valid_to"] == OLD_END)
    matched_by_name, differ, unmatched, swapped = [], [], [], []
    seen: set[str] = set()
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        prov = str(data["level1_id"])
        pkey = f"{prov}@..{OLD_END}"
        if pkey not in versions:
            unmatched.append(f"{path.name}: province {prov} {data.get('name')} is not in the register")
            continue
        seen.add(pkey)
        out.append(_Feature(pkey, "province", prov, versions[pkey]["full_name"], S_OLD, _shape(data),
                            "old-province"))
        def code(item: dict, prov: str = prov) -> str:
            return SWAPPED.get((prov, item["level2_id"]), item["level2_id"])

        by_code = {districts[(prov, code(i))]["key"] for i in data["level2s"] if (prov, code(i)) in districts}
        for item in data["level2s"]:
            v = districts.get((prov, code(item)))
            if v is None:  # fall back to the name within the same old province (codes first)
                same = [d for (p, _), d in districts.items() if p == prov and d["key"] not in by_code
                        and fold(item["name"]).endswith(" " + fold(d["name"]))]
                v = same[0] if len(same) == 1 else None
                if v is not None:
                    matched_by_name.append(f"{item['level2_id']} {item['name']} -> {v['key']}")
            if v is None:
                unmatched.append(f"{path.name}: {item['level2_id']} {item['name']}")
                continue
            if v["key"] in seen:
                unmatched.append(f"{path.name}: {item['level2_id']} {item['name']} (again {v['key']}; first kept)")
                continue
            if code(item) != item["level2_id"]:
                swapped.append(f"{path.name}: the shape named {item['level2_id']} {item['name']} is "
                               f"{v['key']} {v['full_name']}")
            elif fold(v["full_name"]) != fold(item["name"]):
                differ.append(f"{v['key']}: file {item['name']!r}, register {v['full_name']!r}")
            seen.add(v["key"])
            out.append(_Feature(v["key"], "district", v["code"], v["full_name"], S_OLD, _shape(item),
                                "old-district"))
    n_d = sum(1 for f in out if f.level == "district")
    n_p = sum(1 for f in out if f.level == "province")
    report.figures.update(old_districts=n_d, old_districts_expected=len(districts), old_provinces=n_p)
    report.note(f"old units: {len(files)} province files, {n_p} of {len(provinces)} old provinces and {n_d} of "
                f"{len(districts)} districts matched by code to versions code@..{OLD_END}")
    report.items("matched by name (code did not match)", matched_by_name)
    report.items("shapes the file names wrongly, swapped back (neighbours carrying each other's code and name; "
                 "the seats of the new communes formed from each lie in the other's shape)", swapped)
    report.items("same code, name or type word differs (the file predates the change; register kept, the "
                 "geometry may predate boundary changes of 2019-2025)", differ)
    report.items("file units not matched", unmatched)
    missing = sorted(set(provinces) - seen) + sorted(v["key"] for v in districts.values() if v["key"] not in seen)
    report.items("old provinces and districts with no boundary", [f"{k} {versions[k]['full_name']}" for k in missing])
    return out


def _polygons(g: Any) -> list[Any]:
    """The polygons of a geometry, however nested (make_valid may return a collection of them)."""
    import shapely

    if g.geom_type == "Polygon":
        return [g]
    if g.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [p for part in shapely.get_parts(g) for p in _polygons(part)]
    return []  # a ring collapsed to a line or a point by rounding: no area


def _simplify(features: list[_Feature], report: GeoImportReport) -> None:
    """Coverage-simplify each tier in metres, then back to lon/lat rounded to ~0.1 m; measure
    the area change of every unit (p50/p95/max) for the README."""
    import numpy as np
    import shapely
    from pyproj import Transformer

    from merger.geo import METRIC_CRS

    fwd = Transformer.from_crs(4326, METRIC_CRS, always_xy=True)
    back = Transformer.from_crs(METRIC_CRS, 4326, always_xy=True)

    def project(tr: Transformer):  # type: ignore[no-untyped-def]
        return lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))

    for tier in sorted({f.tier for f in features}):
        group = [f for f in features if f.tier == tier]
        tol = TOLERANCES[tier]
        geoms = shapely.transform(np.array([f.geometry for f in group]), project(fwd))
        before = int(shapely.get_num_coordinates(geoms).sum())
        simple = shapely.coverage_simplify(geoms, tol)
        back_geoms = shapely.transform(simple, lambda c: np.round(project(back)(c), DECIMALS))
        fixed = 0
        for f, g in zip(group, back_geoms, strict=True):
            if not g.is_valid:
                g = shapely.make_valid(g)
                fixed += 1
            f.geometry = shapely.MultiPolygon(_polygons(g))
        a0 = shapely.area(geoms)
        a1 = shapely.area(shapely.transform(np.array([f.geometry for f in group]), project(fwd)))
        rel = np.abs(a1 - a0) / np.where(a0 > 0, a0, 1.0)
        after = int(shapely.get_num_coordinates(np.array([f.geometry for f in group])).sum())
        worst = int(np.argmax(rel))
        row = dict(tier=tier, features=len(group), tolerance_m=tol, vertices_before=before, vertices_after=after,
                   p50=float(np.percentile(rel, 50)), p95=float(np.percentile(rel, 95)), max=float(rel.max()),
                   max_unit=f"{group[worst].name} ({group[worst].key})",
                   max_km2=float(np.abs(a1 - a0).max() / 1e6), repaired=fixed)
        report.tiers.append(row)
        report.note(f"{tier}: {len(group)} features, {before:,} -> {after:,} vertices at {tol:g} m; area change "
                    f"per unit p50 {row['p50']:.4%}, p95 {row['p95']:.4%}, max {row['max']:.4%} "
                    f"({row['max_unit']}); largest absolute change {row['max_km2']:.3f} km²; "
                    f"repaired after rounding: {fixed}")


def run(new: Path, old: Path, out: Path, units: Path | None = None) -> GeoImportReport:
    """Build ``out/boundaries.gpkg`` and ``out/README.md`` from the two source folders."""
    from merger.geo import data, overlap

    units = units or bundle.units_dir()
    versions = _versions(units)
    report = GeoImportReport()
    features = _read_new(new, versions, report) + _read_old(old, versions, report)
    _simplify(features, report)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "boundaries.gpkg"
    features.sort(key=lambda f: (f.level != "province", f.level, f.key))
    data.write_gpkg([data.Feature(f.key, f.level, f.code, f.name, f.source, f.geometry) for f in features],
                    target, stamp=STAMP)
    size = target.stat().st_size
    shares = _shares(features)
    overlap.write_shares(shares, out / overlap.SHARES_FILE)
    report.note(f"district shares: {len(shares):,} (old district, new commune) pairs overlapping by at least "
                f"{overlap.MIN_SHARE:.2%} of either, in {overlap.SHARES_FILE}")
    report.figures.update(features=len(features), gpkg_bytes=size, district_share_rows=len(shares))
    if size > BUDGET:
        raise DataError(_("{target} is {size:,} bytes, over the {budget:,}-byte budget: raise TOLERANCES").format(target=target, size=size, budget=BUDGET))
    (out / "README.md").write_text(readme(report), encoding="utf-8")
    return report


def _shares(features: list[_Feature]) -> list[tuple]:
    """The national overlay old district x new commune, from the bundled (simplified) geometries."""
    from merger.geo import data, overlap

    d = [f for f in features if f.tier == "old-district"]
    c = [f for f in features if f.tier == "new-commune"]
    dm, cm = data.to_metric([f.geometry for f in d]), data.to_metric([f.geometry for f in c])
    return overlap.overlay_shares([(f.key, g) for f, g in zip(d, dm, strict=True)],
                                  [(f.key, g) for f, g in zip(c, cm, strict=True)])


def _tier_table(report: GeoImportReport) -> str:
    rows = ["| tier | units | tolerance | vertices (source -> bundled) | area change per unit: p50 | p95 | max |",
            "|---|---|---|---|---|---|---|"]
    for t in report.tiers:
        rows.append(f"| {t['tier']} | {t['features']:,} | {t['tolerance_m']:g} m | {t['vertices_before']:,} -> "
                    f"{t['vertices_after']:,} | {t['p50']:.3%} | {t['p95']:.3%} | {t['max']:.3%} "
                    f"({t['max_unit']}) |")
    return "\n".join(rows)


def readme(report: GeoImportReport) -> str:
    lines = "\n".join(f"- {line}" for line in report.lines)
    figures = ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in sorted(report.figures.items()))
    return f"""# Boundaries (data/boundaries/)

`boundaries.gpkg`, layer `{LAYER}`: one MultiPolygon per register version, EPSG:4326, columns
`key` (the register's version key: `11533@2025-07-01`, `311@..2025-06-30`), `level`, `code`,
`name` (the register's full name), `source`, and the bounding box (`min_x`, `min_y`, `max_x`,
`max_y`, so a question reads only the geometries it needs). Written by `merger
import-boundaries NEW OLD --out data/boundaries`; do not edit by hand. The same sources give the
same bytes. A unit's geometry belongs to a version: it changes only with an event that creates a
new version.

## Sources, commits and licences

| source tag | what | from (commit) | licence |
|---|---|---|---|
| `{S_NEW}` | the 34 provinces and 3,321 commune-level units from 2025-07-01 | GitHub {NEW_REPO}, `json/geojson/` at commit `{NEW_COMMIT}` (main, 2026-08-02; the folder last changed in `a108d4d`, 2026-07-25). Derived from the official merger map sapnhap.bando.com.vn | MIT |
| `{S_OLD}` | the 63 old provinces and their districts until 2025-06-30 | GitHub {OLD_REPO}, `data/gis/` at tag `{OLD_TAG}` = commit `{OLD_COMMIT}` (source gis.chinhphu.vn; the geometries were last changed in 2020-2021 and the codes and names in February 2023, so districts merged, split or renamed since are missing or stale — listed below) | GPL-3.0 |

The snapshot of dvhcvn available to the project lacks one file: `data/gis/22.json` (old Quảng
Ninh, blob `25937f49`, absent from the snapshot at every tag), so old Quảng Ninh and its 13
districts have no geometry. No open commune-level boundaries of the old (pre-2025-07-01)
communes exist: old communes have no geometry. The project is GPL-3.0-or-later, compatible
with both licences. The raw files (~630 MB) stay outside the repository; see docs/boundaries.md
for how to fetch them and rerun the importer.

## Processing

- Each tier (new communes, new provinces, old districts, old provinces) is simplified as one
  national coverage with `shapely.coverage_simplify` in an Albers equal-area projection for
  Vietnam (metres), so neighbours keep identical shared edges (also across province borders),
  then written in longitude/latitude rounded to {DECIMALS} decimals (~0.1 m).
- Shape error, measured by the importer (area of each unit after simplification against the
  source, in the equal-area projection):

{_tier_table(report)}

- Areas are not stored: `merger boundaries check` computes them in the equal-area projection
  and compares them with the official sapnhap figures in the register.
- `district_shares.csv`: the overlay of every old district with the new communes (columns
  `district`, `commune` — version keys — `area_km2`, `share_of_district`, `share_of_commune`;
  pairs under 0.05 % of both left out as edge slivers between the two datasets). Derived from
  these geometries (basis "geometry"); read by `merger boundaries shares`.

## Known limits (measured with `merger boundaries check` and `merger overlap`)

- The sources' new province outlines are much coarser than their communes (93,000 against 7.1
  million vertices), so each outline and the union of its communes differ along the whole edge,
  most on coasts and islands (Hải Phòng: 1.7 % of the outline in no unit, 1.5 % of the units
  outside it). `boundaries check` lists these per province.
- The sources overlap in places (Hải Phòng: Phường Lưu Kiếm / Phường Thủy Nguyên, ~1,100 m²); kept
  as they are and reported by `boundaries check`.
- Official (sapnhap) areas of coastal units include water the polygons leave out (Hải Phòng:
  Đặc khu Cát Hải -30 %).
- The old district geometries predate changes of 2019-2025 in places (Hải Phòng: Hồng Bàng
  lacks An Hồng, An Hưng and Đại Bản, moved from An Dương on 1 January 2025). The lineage (from
  the official NSO table) is the authority; the old geometries are context.
- Two pairs of neighbouring old districts carry each other's code and name in the dvhcvn file
  (Lai Châu: Huyện Sìn Hồ / Huyện Phong Thổ; Bình Dương: Thành phố Tân Uyên / Huyện Bắc Tân Uyên):
  the seats of the new communes formed from each lie in the other's shape. The importer swaps
  them back (listed below). Measured with the seats of the 3,321 new communes (sapnhap statistics)
  located on 30 June 2025: the old district found contains one of the commune's recorded
  predecessors for 99 % of them; the rest lie near a district edge or where a district changed
  after the geometries were drawn (Huế 2025, Nghĩa Lộ, Cao Lộc ...).

## Import report

{lines}

Figures: {figures}
"""
