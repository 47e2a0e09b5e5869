"""Boundaries: every rule on tiny polygons (factories), and the real Hải Phòng data as it is."""

from __future__ import annotations

import os
import struct
from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("geopandas")
shapely = pytest.importorskip("shapely")
np = pytest.importorskip("numpy")

from factories import tiny_reform  # noqa: E402
from merger import boundaries  # noqa: E402
from merger.errors import BadInput  # noqa: E402
from merger.geo import checks, data  # noqa: E402
from merger.geo.checks import Tolerances  # noqa: E402
from merger.importers import geo as geo_importer  # noqa: E402

NEW, OLD = date(2025, 7, 1), date(2025, 6, 30)
E0, N0, S = 52_000.0, 533_000.0, 1_000.0  # 1 km cells near Hải Phòng, drawn in equal-area metres (METRIC_CRS)


def cell(i: float, j: float, w: float = 1, h: float = 1):  # type: ignore[no-untyped-def]
    """A box of cells, square in metres (so areas are exact), stored in longitude/latitude."""
    return data.to_lonlat([shapely.box(E0 + i * S, N0 + j * S, E0 + (i + w) * S, N0 + (j + h) * S)])[0]


def lonlat(i: float, j: float) -> tuple[float, float]:
    p = data.to_lonlat([shapely.Point(E0 + i * S, N0 + j * S)])[0]
    return p.x, p.y


def feature(key: str, level: str, geom) -> data.Feature:  # type: ignore[no-untyped-def]
    return data.Feature(key, level, key.split("@")[0], key, "factory", shapely.MultiPolygon(shapely.get_parts(geom)))


def _tiny_reform():  # type: ignore[no-untyped-def]
    """tiny_reform with official areas for An Bình and Đông."""
    b = tiny_reform()
    b.rows["statistics"].append(dict(version="00001@2025-07-01", area_km2="7.0", population="", seat="",
                                     lon="", lat="", source="factory"))
    b.rows["statistics"].append(dict(version="00004@2025-07-01", area_km2="2.3", population="", seat="",
                                     lon="", lat="", source="factory"))
    return b


def _tiny_layer(path: Path) -> Path:
    """The tiny geometries (see ``tiny``), written to ``path``."""
    feats = [
        feature("01@..2025-06-30", "province", cell(0, 0, 4, 2)),
        feature("01@2025-07-01", "province", cell(0, 0, 4.5, 2)),  # half a column wider: a gap
        feature("001@..2025-06-30", "district", cell(0, 0, 2, 2)),
        feature("002@..2025-06-30", "district", cell(2, 0, 2, 2)),
        feature("00003@..2025-06-30", "commune", cell(2, 0, 2, 2)),
        feature("00001@2025-07-01", "commune", cell(0, 0, 3, 2)),
        feature("00004@2025-07-01", "commune", cell(2.75, 0, 1.25, 2)),  # overlaps An Bình by 0.25 x 2 cells
    ]
    data.write_gpkg(feats, path)
    return path


@pytest.fixture
def tiny(build, tmp_path: Path):  # type: ignore[no-untyped-def]
    """tiny_reform with geometries: old districts 001 (x 0-2) and 002 (x 2-4) in a 4x2 province;
    new An Bình = x 0-3, Đông = x 3-4 (overlapping An Bình by a quarter cell); old commune Hòa Bình
    (00003, in 002) = x 2-4 as well, so its partial link to An Bình has both geometries. A register
    of the test's own, for the tests that write (shares, loads, migrations) or change the layer."""
    reg = build(_tiny_reform())
    return reg, data.load(reg, bundled=_tiny_layer(tmp_path / "tiny.gpkg"))


@pytest.fixture(scope="module")
def tiny_register(store_kind: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The register and layer file of ``tiny``, made once per store for the tests that only read
    them (a PostgreSQL database took ~0.5 s per test to make and load)."""
    import pg

    folder = tmp_path_factory.mktemp("tiny")
    url = pg.create_database(request.getfixturevalue("pg_url"), "tiny") if store_kind == "postgresql" else None
    reg = _tiny_reform().build(folder / "factory", url=url)
    yield reg, _tiny_layer(folder / "tiny.gpkg")
    reg.close()
    if url is not None:
        pg.drop_database(url)


@pytest.fixture
def tiny_read(tiny_register):  # type: ignore[no-untyped-def]
    """``tiny`` for a test that only reads: the module's register, and a layer of the test's own."""
    reg, path = tiny_register
    return reg, data.load(reg, bundled=path)


def test_gpkg_round_trip_keeps_keys_and_geometries(tmp_path: Path) -> None:
    feats = [feature("00001@2025-07-01", "commune", cell(0, 0)), feature("002@..2025-06-30", "district",
                                                                       cell(1, 0, 2, 1))]
    data.write_gpkg(feats, tmp_path / "x.gpkg")
    back = {f.key: f for f in data.read_gpkg(tmp_path / "x.gpkg")}
    assert set(back) == {"00001@2025-07-01", "002@..2025-06-30"}
    assert back["002@..2025-06-30"].geometry.equals(feats[1].geometry)


def test_overlap_between_units_of_one_level_is_reported_with_its_area(tiny_read) -> None:  # type: ignore[no-untyped-def]
    reg, b = tiny_read
    report = boundaries.check(reg, as_of=NEW, boundaries=b)
    assert [(o.a, o.b) for o in report.overlaps] == [("00001@2025-07-01", "00004@2025-07-01")]
    assert report.overlaps[0].area_m2 == pytest.approx(500_000, rel=1e-4)
    assert report.overlaps[0].exceeds  # ~0.5 km² is far beyond 1 ha
    assert any(v.rule == "overlap" for v in report.problems())
    loose = boundaries.check(reg, as_of=NEW, boundaries=b, tolerances=Tolerances(overlap_m2=1e7, gap_share=1,
                                                                                  area_rel=1))
    assert not loose.problems()


def test_gap_inside_the_parent_is_reported_and_located(tiny_read) -> None:  # type: ignore[no-untyped-def]
    reg, b = tiny_read
    report = boundaries.check(reg, as_of=NEW, boundaries=b)
    uncovered = next(g for g in report.gaps if g.kind == "uncovered")
    assert uncovered.share == pytest.approx(0.5 / 4.5, rel=1e-4)
    assert uncovered.area_km2 == pytest.approx(1.0, rel=1e-4) and uncovered.pieces == 1
    assert uncovered.largest[0].near == "Thị trấn Đông" and uncovered.largest[0].on_outline
    assert uncovered.exceeds
    outside = next(g for g in report.gaps if g.kind == "outside")
    assert outside.area_km2 == 0 and not outside.exceeds


def test_missing_and_invalid_geometries_are_reported(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg, b = tiny
    old = boundaries.check(reg, as_of=OLD, boundaries=b)
    # communes on 2025-06-30: only Hòa Bình has a geometry, so the other three are missing
    assert sorted(k for k, _, _ in old.missing) == ["00001@..2025-06-30", "00002@..2025-06-30", "00004@..2025-06-30"]
    assert old.checked == {"province": 1, "district": 2, "commune": 4}
    bowtie = shapely.Polygon([lonlat(0, 0), lonlat(1, 1), lonlat(1, 0), lonlat(0, 1)])
    b.features["00004@2025-07-01"] = data.Feature("00004@2025-07-01", "commune", "00004", "x", "t",
                                                  shapely.MultiPolygon([bowtie]))
    report = boundaries.check(reg, as_of=NEW, boundaries=b)
    assert [k for k, _, _ in report.invalid] == ["00004@2025-07-01"]
    assert "Self-intersection" in report.invalid[0][2]


def test_areas_are_compared_with_the_official_figures(tiny_read) -> None:  # type: ignore[no-untyped-def]
    reg, b = tiny_read
    report = boundaries.check(reg, as_of=NEW, boundaries=b)
    rows = {a.key: a for a in report.areas}
    assert rows["00001@2025-07-01"].computed_km2 == pytest.approx(6.0, rel=1e-4)
    assert rows["00001@2025-07-01"].rel_diff == pytest.approx(-1 / 7, abs=1e-3) and rows["00001@2025-07-01"].exceeds
    assert rows["00004@2025-07-01"].rel_diff == pytest.approx(0.2 / 2.3, abs=1e-3)
    assert set(rows) == {"00001@2025-07-01", "00004@2025-07-01"}  # only versions with official figures


def test_locate_by_geometry_and_old_commune_by_lineage(tiny_read) -> None:  # type: ignore[no-untyped-def]
    reg, b = tiny_read
    hits = {h.level: h for h in boundaries.locate(reg, *lonlat(0.5, 0.5), as_of=NEW, boundaries=b)}
    assert hits["commune"].key == "00001@2025-07-01" and hits["province"].key == "01@2025-07-01"
    # before the reform: district by geometry; commune from An Bình's predecessors inside that district
    west = {h.level: h for h in boundaries.locate(reg, *lonlat(0.5, 0.5), as_of=OLD, boundaries=b)}
    assert west["district"].key == "001@..2025-06-30"
    assert west["commune"].how == "candidates"
    assert west["commune"].candidates == ["00001@..2025-06-30", "00002@..2025-06-30"]
    east = {h.level: h for h in boundaries.locate(reg, *lonlat(2.5, 0.5), as_of=OLD, boundaries=b)}
    assert east["district"].key == "002@..2025-06-30"
    assert east["commune"].key == "00003@..2025-06-30"  # Hòa Bình has its own geometry
    outside = boundaries.locate(reg, 105.0, 21.0, as_of=NEW, boundaries=b)
    assert all(h.key is None for h in outside)


def test_batch_locate_matches_single_points(tiny_read) -> None:  # type: ignore[no-untyped-def]
    reg, b = tiny_read
    loc = boundaries.locator(reg, as_of=NEW, boundaries=b)
    (x1, y1), (x2, y2) = lonlat(0.5, 0.5), lonlat(3.9, 0.5)
    lons, lats = [x1, x2, 105.0], [y1, y2, y1]
    got = [[h.key for h in hs] for hs in loc.locate_many(lons, lats)]
    assert got == [["01@2025-07-01", "00001@2025-07-01"], ["01@2025-07-01", "00004@2025-07-01"], [None, None]]


def test_overlap_gives_area_and_shares_per_old_district(tiny_read) -> None:  # type: ignore[no-untyped-def]
    reg, b = tiny_read
    rows = {r.key: r for r in boundaries.overlap(reg, "00001@2025-07-01", b)}
    assert set(rows) == {"001@..2025-06-30", "002@..2025-06-30"}
    assert rows["001@..2025-06-30"].share_of_unit == pytest.approx(2 / 3, abs=0.002)
    assert rows["002@..2025-06-30"].share_of_unit == pytest.approx(1 / 3, abs=0.002)
    assert rows["002@..2025-06-30"].share_of_other == pytest.approx(0.5, abs=0.002)
    assert rows["001@..2025-06-30"].in_lineage and rows["002@..2025-06-30"].in_lineage
    # forward: an old district's territory by new unit
    fwd = {r.key: r for r in boundaries.overlap(reg, "002@..2025-06-30", b)}
    assert fwd["00001@2025-07-01"].share_of_unit == pytest.approx(0.5, abs=0.002)


def test_geometry_weights_are_derived_and_stored(tiny) -> None:  # type: ignore[no-untyped-def]
    reg, b = tiny
    weights = boundaries.geometry_weights(reg, b)
    got = {(w.link.pred.key, w.link.succ.key): w.share for w in weights}  # type: ignore[union-attr]
    # Hòa Bình (x 2-4) gave half of its area to An Bình (x 0-3), and 5/8 to Đông (x 2.75-4)
    assert got == {("00003@..2025-06-30", "00001@2025-07-01"): pytest.approx(0.5, abs=0.002),
                   ("00003@..2025-06-30", "00004@2025-07-01"): pytest.approx(0.625, abs=0.002)}
    assert boundaries.store_weights(reg, weights) == 2
    links = [link for link in reg.snapshot.links if link.pred is not None and link.pred.key == "00003@..2025-06-30"]
    assert {(link.share_basis, round(link.share or 0, 3)) for link in links} == {("geometry", 0.5), ("geometry", 0.625)}
    assert boundaries.store_weights(reg, weights) == 0  # a share already given is never overwritten


def test_derived_shares_keep_who_and_when_and_the_past_answer(tiny) -> None:  # type: ignore[no-untyped-def]
    """The link rows never change: "what did the register say before the overlay?" stays answerable."""
    from datetime import UTC, datetime

    from factories import count_rows
    from merger.register import Register

    reg, b = tiny
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert boundaries.store_weights(reg, boundaries.geometry_weights(reg, b), by="surveyor", at=at) == 2

    def shares(r: Register) -> set:  # type: ignore[type-arg]
        return {(link.share_basis, link.share and round(link.share, 3)) for link in r.snapshot.links
                if link.pred is not None and link.pred.key == "00003@..2025-06-30"}

    assert shares(reg) == {("geometry", 0.5), ("geometry", 0.625)}
    before = Register.open(reg.url, as_recorded=date(2026, 3, 1))
    assert shares(before) == {(None, None)}
    assert shares(Register.open(reg.url, as_recorded=date(2026, 3, 2))) == shares(reg)
    before.close()
    from sqlalchemy import text

    with reg.engine.connect() as conn:
        rows = conn.execute(text("SELECT recorded_by, basis FROM derived_share")).all()
        assert conn.execute(text("SELECT COUNT(*) FROM link WHERE share_basis = 'geometry'")).scalar() == 0
    assert sorted(rows) == [("surveyor", "geometry")] * 2 and count_rows(reg, "derived_share") == 2


def test_migration_0003_moves_geometry_shares_off_the_link_rows(tiny) -> None:  # type: ignore[no-untyped-def]
    """A register of schema 2 kept geometry shares on its links; upgrading moves them, same answers."""
    from alembic import command
    from sqlalchemy import text

    from merger import migrations

    reg, b = tiny
    boundaries.store_weights(reg, boundaries.geometry_weights(reg, b))
    today = sorted((link.id, link.share, link.share_basis) for link in reg.snapshot.links)
    with reg.engine.begin() as conn:  # back to schema 2: the shares go back onto the link rows
        cfg = migrations.config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
        assert conn.execute(text("SELECT COUNT(*) FROM link WHERE share_basis = 'geometry'")).scalar() == 2
    assert migrations.upgrade(reg.engine) == ("0002", migrations.HEAD)
    reg.invalidate()
    assert sorted((link.id, link.share, link.share_basis) for link in reg.snapshot.links) == today
    with reg.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM link WHERE share_basis = 'geometry'")).scalar() == 0
        assert conn.execute(text("SELECT DISTINCT recorded_by FROM derived_share")).scalar() == "migration 0003"


def test_map_is_a_png_of_sensible_size(tiny_read, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg, b = tiny_read
    v = reg.snapshot.by_key["00001@2025-07-01"]
    info = boundaries.render_map(reg, v, tmp_path / "m.png", boundaries=b)
    raw = (tmp_path / "m.png").read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", raw[16:24])
    assert 800 <= width <= 3000 and 600 <= height <= 4000
    assert info.predecessors == ["001@..2025-06-30", "002@..2025-06-30"]
    assert info.neighbours == ["00004@2025-07-01"]
    with pytest.raises(BadInput):
        boundaries.render_map(reg, v, tmp_path / "m.jpg", boundaries=b)


def test_export_then_load_keeps_codes_and_geometries(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg, b = tiny
    out = tmp_path / "new.gpkg"
    assert boundaries.export(reg, out, "gpkg", as_of=NEW, level="commune", boundaries=b) == 2
    report = boundaries.load_file(reg, out, level="commune", as_of=NEW, code_field="code")
    assert report.matched == ["00001@2025-07-01", "00004@2025-07-01"] and not report.unmatched
    mine = {f.key: f.geometry for f in data.read_gpkg(data.user_path(reg))}
    for key in report.matched:
        assert mine[key].equals_exact(b.geometry(key), 1e-9)
    # the register's own geometries now win over the bundle's
    assert data.load(reg).geometry("00001@2025-07-01") is not None


def test_load_reports_codes_that_match_nothing(tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import geopandas as gpd

    reg, _ = tiny
    path = tmp_path / "user.geojson"
    gpd.GeoDataFrame({"ma": [4, 99999]}, geometry=[cell(0, 0), cell(1, 0)], crs=4326).to_file(path)
    report = boundaries.load_file(reg, path, level="commune", as_of=NEW, code_field="ma", dry_run=True)
    assert report.matched == ["00004@2025-07-01"] and report.unmatched == ["99999"] and report.padded == 1
    assert not data.user_path(reg).exists()
    with pytest.raises(BadInput, match="no field"):
        boundaries.load_file(reg, path, level="commune", as_of=NEW, code_field="code")


# --- the real national layer -------------------------------------------------------------------

COASTAL_BEYOND_5PCT = {"Đặc khu Cát Hải", "Phường Đông Hải", "Phường Đồ Sơn", "Phường Hải An", "Xã Hùng Thắng",
                       "Đặc khu Bạch Long Vĩ"}
# the sources of the old units (dvhcvn data/gis at v20250301): old Quảng Ninh's file is absent from the
# snapshot, and districts formed or renamed after the files were last updated have none
OLD_WITHOUT_GEOMETRY = 16


@pytest.fixture(scope="module")
def layer():  # type: ignore[no-untyped-def]
    """The bundled national layer, loaded once for the module (its metric copies are cached in it)."""
    return boundaries.load(None, user=False)


@pytest.fixture(scope="module")
def hp(national, layer):  # type: ignore[no-untyped-def]
    return national, layer


@pytest.fixture(scope="module")
def national_check(national_sqlite, layer):  # type: ignore[no-untyped-def]
    """One national check for the module. The geometry work does not depend on the store (the
    per-store behaviour is covered by the Hải Phòng checks, which run on both)."""
    return boundaries.check(national_sqlite, as_of=NEW, boundaries=layer)


def test_a_check_again_reads_the_unions_it_computed(national_sqlite_path, layer, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A check keeps each union of children in a note (merger.geo.unions); a check of the same
    children reads it back instead of computing it, and finds exactly the same. A damaged note,
    one others may write and one of another GEOS version are not read: the unions are computed
    again, with the same findings, and the note written anew."""
    import shutil

    from merger.register import Register

    path = tmp_path / "register.sqlite"
    shutil.copy(national_sqlite_path, path)
    reg = Register.open(str(path))
    first = boundaries.check(reg, as_of=NEW, within="Hải Phòng", boundaries=layer).to_dict()
    note = path.with_name(path.name + ".snapshot.unions")
    assert note.exists() and first["gaps"]
    computed: list[int] = []
    union_all = shapely.union_all
    monkeypatch.setattr(shapely, "union_all", lambda *a, **k: computed.append(1) or union_all(*a, **k))

    def again() -> list[int]:
        computed.clear()
        assert boundaries.check(reg, as_of=NEW, within="Hải Phòng", boundaries=layer).to_dict() == first
        return list(computed)

    assert again() == []  # read back
    note.write_bytes(note.read_bytes()[:-100])  # cut short
    assert again() and again() == []  # computed, written anew, then read
    note.chmod(0o666)  # others may write it
    assert again()
    held = note.read_bytes()
    note.write_bytes(held.replace(shapely.geos_version_string.encode(), b"0.0.0-other", 1))
    assert again()


def test_the_unions_note_keeps_at_most_keep_unions(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A check with more unions than KEEP keeps KEEP of them, its own first, and the note reads
    back as those. (The bundled layer asks at most 63 in one check, the provinces of 2024 over
    their districts; a layer of one's own with finer levels may ask more.)"""
    from merger.geo import unions

    monkeypatch.setattr(unions, "KEEP", 3)
    note = tmp_path / "r.snapshot.unions"
    squares = [shapely.box(i, 0, i + 1, 1) for i in range(10)]
    old = unions.Unions(note)
    old.union(np.array(squares[8:], dtype=object))
    old.save()
    kept = unions.Unions(note)
    for i in range(0, 8, 2):  # four unions in one check
        kept.union(np.array(squares[i:i + 2], dtype=object))
    kept.save()
    again = unions.Unions(note)
    assert len(again.found) == 3 and set(again.found) <= set(kept.used)


def test_bundle_covers_the_whole_country(hp) -> None:  # type: ignore[no-untyped-def]
    reg, b = hp
    snap = reg.snapshot
    new = [v for v in snap.valid_on(NEW) if v.kind == "admin"]
    assert sum(v.level == "province" for v in new) == 34 and sum(v.level == "commune" for v in new) == 3321
    assert all(v.key in b for v in new)
    old = [v for v in snap.valid_on(OLD) if v.kind == "admin" and v.level in ("province", "district")]
    assert len(old) == 63 + 696 and sum(v.key not in b for v in old) == OLD_WITHOUT_GEOMETRY
    assert "22@..2025-06-30" not in b  # old Quảng Ninh: its source file is missing (README)
    assert all(k in snap.by_key for k in b.features)  # every key names a register version
    assert data.bundled_path().stat().st_size <= 25_000_000


def test_bundle_is_a_geopackage_other_tools_read() -> None:
    import pyogrio

    info = pyogrio.read_info(data.bundled_path(), layer="boundaries")
    assert info["features"] == len(data.index_gpkg(data.bundled_path())) and info["crs"] == "EPSG:4326"
    assert info["geometry_type"] == "MultiPolygon"


def test_real_check_reports_what_is_there(hp) -> None:  # type: ignore[no-untyped-def]
    reg, b = hp
    report = boundaries.check(reg, as_of=NEW, within="Hải Phòng", boundaries=b)
    assert report.checked == {"province": 1, "commune": 114}
    assert not report.missing and not report.invalid
    # one small overlap in the source, kept as it is
    assert [(o.a_name, o.b_name) for o in report.overlaps] == [("Phường Lưu Kiếm", "Phường Thủy Nguyên")]
    assert 500 < report.overlaps[0].area_m2 < 2_000 and not report.overlaps[0].exceeds
    # the province outline and the union of the 114 units differ by tens of km², mostly at Cát Hải
    gaps = {g.kind: g for g in report.gaps}
    assert 30 < gaps["uncovered"].area_km2 < 80 and 30 < gaps["outside"].area_km2 < 80
    assert next(iter(gaps["uncovered"].by_unit)) == "Đặc khu Cát Hải"
    assert all(p.on_outline for p in gaps["uncovered"].largest)
    # areas: the coastal units differ from the official figures; the rest are within 5 %
    communes = [a for a in report.areas if a.level == "commune"]
    assert len(communes) == 114
    assert {a.name for a in communes if a.exceeds} == COASTAL_BEYOND_5PCT
    assert sorted(abs(a.rel_diff) for a in communes)[57] < 0.01  # the median unit agrees within 1 %
    assert [(r.key, r.units, r.overlaps) for r in report.provinces] == [("31@2025-07-01", 115, 1)]


def test_real_old_districts_tile_their_provinces(hp) -> None:  # type: ignore[no-untyped-def]
    reg, b = hp
    for name, districts, communes in (("Hải Phòng", 15, 167), ("Hải Dương", 12, 207)):
        report = boundaries.check(reg, as_of=OLD, within=name, boundaries=b)
        assert report.checked == {"province": 1, "district": districts}
        assert report.uncovered_levels == {"commune": communes}
        assert not report.overlaps and all(g.share < 0.0005 for g in report.gaps)  # tiers simplified apart
        assert not report.problems()


def test_national_check_counts_findings_per_province(national_check) -> None:  # type: ignore[no-untyped-def]
    report = national_check
    assert report.checked == {"province": 34, "commune": 3321}
    assert not report.missing and not report.invalid
    assert len(report.provinces) == 34 and sum(r.units for r in report.provinces) == 34 + 3321
    rows = {r.name: r for r in report.provinces}
    assert rows["Thành phố Hải Phòng"].units == 115 and rows["Thành phố Hải Phòng"].overlaps >= 1
    # every finding is counted once, under its province
    assert sum(r.problems for r in report.provinces) == len(report.problems())
    assert sum(r.overlaps for r in report.provinces) == len(report.overlaps)
    assert sum(r.areas_over for r in report.provinces) == sum(a.exceeds for a in report.areas)
    # each province outline is compared with the union of its communes
    assert {g.parent for g in report.gaps} == {r.key for r in report.provinces}
    assert all(g.share < 0.10 for g in report.gaps)  # outlines and communes agree to within 10 %
    assert len([a for a in report.areas if a.level == "commune"]) > 3000  # sapnhap areas for nearly all
    # positions are longitude/latitude inside Vietnam's box
    assert all(102 < o.lon < 118 and 7 < o.lat < 24 for o in report.overlaps)


def test_gap_pieces_name_the_child_the_tree_named(national_sqlite, layer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """checks._nearest replaced STRtree.nearest for naming each gap piece's child (issue 12): the
    reports of the provinces with the most pieces are the same as the old way's, kept here."""
    asked: list[int] = []

    def old_way(tree, geoms, points):  # type: ignore[no-untyped-def]
        asked.append(len(points))
        return tree.nearest(points)

    for name in ("Quảng Ninh", "Khánh Hòa"):
        new = boundaries.check(national_sqlite, as_of=NEW, within=name, boundaries=layer).to_dict()
        with monkeypatch.context() as m:
            m.setattr(checks, "_nearest", old_way)
            old = boundaries.check(national_sqlite, as_of=NEW, within=name, boundaries=layer).to_dict()
        assert new == old, name
    assert sum(asked) > 3000  # thousands of pieces (Quảng Ninh alone has ~2,400)


def test_nearest_child_agrees_with_the_tree_on_ties_and_far_points() -> None:
    """Every path of checks._nearest: inside one child, inside two (overlap, shared edge), near one,
    equidistant to several, beyond its search radius; each answer is the tree's own."""
    import numpy as np

    geoms = np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10), shapely.box(0, 0, 10, 10),
                      shapely.box(0, 30, 10, 40)], dtype=object)
    tree = shapely.STRtree(geoms)
    points = shapely.points([(5, 5), (15, 5), (10, 5), (25, 5), (10, 15), (5, 20), (5000, 5), (700, 5), (5, 35),
                             (-3, 35), (15, 20)])
    assert checks._nearest(tree, geoms, points).tolist() == tree.nearest(points).tolist()
    assert checks._nearest(tree, geoms, points[:0]).tolist() == []


def test_real_locate_anywhere_in_the_country(hp) -> None:  # type: ignore[no-untyped-def]
    reg, b = hp
    places = {(105.8522, 21.0287): ("Thành phố Hà Nội", "Phường Hoàn Kiếm", "Quận Hoàn Kiếm"),
              (106.7009, 10.7769): ("Thành phố Hồ Chí Minh", "Phường Sài Gòn", "Quận 1"),
              (108.2208, 16.0678): ("Thành phố Đà Nẵng", "Phường Hải Châu", "Quận Hải Châu"),
              (106.6683, 20.8651): ("Thành phố Hải Phòng", "Phường Hồng Bàng", "Quận Hồng Bàng")}
    for (lon, lat), (province, commune, district) in places.items():
        hits = {h.level: h.name for h in boundaries.locate(reg, lon, lat, as_of=NEW, boundaries=b)}
        assert hits == {"province": province, "commune": commune}
        old = {h.level: h for h in boundaries.locate(reg, lon, lat, as_of=OLD, boundaries=b)}
        assert old["district"].name == district and old["province"].how == "geometry"
        assert old["commune"].how in ("lineage", "candidates")  # no old commune boundaries exist


def test_real_locate_reads_few_geometries(hp) -> None:  # type: ignore[no-untyped-def]
    reg, _ = hp
    fresh = boundaries.load(None, user=False)
    hits = boundaries.locate(reg, 106.7009, 10.7769, as_of=NEW, boundaries=fresh)
    assert [h.name for h in hits] == ["Thành phố Hồ Chí Minh", "Phường Sài Gòn"]
    loaded = [k for k, f in fresh.features.items() if f.loaded]
    assert 2 <= len(loaded) <= 60, len(loaded)  # only units whose bounding box holds the point


def test_real_overlap_and_map_elsewhere(hp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg, b = hp
    rows = boundaries.overlap(reg, "Phường Sài Gòn", b)
    assert rows[0].name == "Quận 1" and rows[0].in_lineage and rows[0].share_of_unit > 0.95
    info = boundaries.render_map(reg, reg.resolve("Phường Sài Gòn").version, tmp_path / "sg.png", boundaries=b)
    assert "760@..2025-06-30" in info.predecessors and len(info.neighbours) >= 5


def test_real_overview_maps_label_without_collisions(hp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg, b = hp
    country = boundaries.render_overview(reg, tmp_path / "vn.png", within="Việt Nam", as_of=NEW, boundaries=b)
    assert country.level == "province" and len(country.units) == 34
    assert len(country.labelled) + len(country.unlabelled) == 34 and len(country.labelled) >= 32
    # the small, crowded capitals are named too: outside their outline, with a line, if need be
    assert {"01@2025-07-01", "79@2025-07-01"} <= set(country.labelled) and country.callouts
    assert not country.insets  # Hoàng Sa and Trường Sa are parts of Đà Nẵng and Khánh Hòa, drawn in place
    hp_map = boundaries.render_overview(reg, tmp_path / "hp.svg", level="commune", within="Hải Phòng", as_of=NEW,
                                        boundaries=b)
    assert len(hp_map.units) == 114
    # Bạch Long Vĩ, ~70 km out in the gulf, in an inset (so the rest is not shrunk); nearly all named
    assert [reg.snapshot.by_key[k].name for k in hp_map.insets] == ["Bạch Long Vĩ"]
    assert len(hp_map.labelled) + len(hp_map.unlabelled) + len(hp_map.insets) == 114 and len(hp_map.labelled) >= 105
    for info in (country, hp_map):
        boxes = info.boxes
        assert len(boxes) == len(info.labelled)
        for i, (a0, b0, a1, b1) in enumerate(boxes):  # no two placed labels overlap
            for c0, d0, c1, d1 in boxes[i + 1:]:
                assert a1 <= c0 or c1 <= a0 or b1 <= d0 or d1 <= b0
    assert (tmp_path / "vn.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(BadInput, match="no commune"):
        boundaries.render_overview(reg, tmp_path / "x.png", level="commune", within="Hải Phòng", as_of=OLD,
                                   boundaries=b)


def test_real_district_shares_cover_the_country(hp) -> None:  # type: ignore[no-untyped-def]
    """Old district -> new commune area shares, bundled for the whole country (basis geometry)."""
    from collections import defaultdict

    reg, _ = hp
    rows = boundaries.district_shares(reg)
    per_district: dict[str, float] = defaultdict(float)
    for r in rows:
        per_district[r.district] += r.share_of_district
    assert len(per_district) == 681  # every old district with a geometry
    sums = sorted(per_district.values())
    assert 0.99 < sums[len(sums) // 2] <= 1.001  # the median district is covered by new communes
    # never more than the whole district, but where the source's communes overlap each other (one
    # district: Thành phố Lào Cai, where Phường Lào Cai, Xã Bát Xát and Xã Cốc San share ~3.5 km²)
    over = {k for k, v in per_district.items() if v > 1.001}
    assert over == {"080@..2025-06-30"} and per_district["080@..2025-06-30"] < 1.03
    cat_hai = [r for r in boundaries.district_shares(reg, within="Hải Phòng") if r.district_name == "Huyện Cát Hải"]
    top = max(cat_hai, key=lambda r: r.share_of_district)
    assert top.commune_name == "Đặc khu Cát Hải" and top.in_lineage and top.share_of_district > 0.9
    # the linked pairs carry nearly all of the area: unlinked ones are edge slivers or stale districts
    linked = sum(r.area_km2 for r in rows if r.in_lineage) / sum(r.area_km2 for r in rows)
    assert linked > 0.95


def test_real_lineage_cross_check_names_the_known_disagreements(hp) -> None:  # type: ignore[no-untyped-def]
    reg, b = hp
    report = boundaries.check(reg, as_of=NEW, within="Hải Phòng", boundaries=b, lineage=True)
    over = {(d.name, d.other_name) for d in report.lineage if d.exceeds}
    assert over == {("Phường Nam Đồng", "Huyện Thanh Hà"), ("Phường Tân Hưng", "Huyện Tứ Kỳ"),
                    ("Phường Thủy Nguyên", "Quận Hải An"), ("Xã Quyết Thắng", "Huyện Tứ Kỳ")}
    # the check lists the other side's units once per day (``sides``): the same rows as one unit alone
    from merger.geo import overlap as ov

    snap, sides = reg.snapshot, {}
    units = [reg.resolve(n, as_of=NEW).version for n in ("Phường Nam Đồng", "Đặc khu Cát Hải", "Phường Thủy Nguyên")]
    units += [v for v in snap.valid_on(OLD) if v.level == "district" and v.key in b][:2]  # the other direction
    for v in units:
        assert ov.overlap(reg, v, b, snap=snap, sides=sides) == ov.overlap(reg, v, b), v.key
    assert len(sides) == 2


def test_real_batch_location_agrees_with_brute_force(hp) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    reg, b = hp
    rnd = np.random.default_rng(7)
    lons, lats = rnd.uniform(102.2, 109.5, 4_000), rnd.uniform(8.5, 23.4, 4_000)  # the whole mainland's box
    hits = boundaries.locator(reg, as_of=NEW, boundaries=b).locate_many(lons, lats)
    communes = [k for k, f in b.features.items() if f.level == "commune" and k.endswith("@2025-07-01")]
    b.ensure(communes)
    geoms = np.array([b.geometry(k) for k in communes], dtype=object)
    tree = shapely.STRtree(geoms)
    inside = 0
    for lon, lat, hs in zip(lons, lats, hits, strict=True):
        point = shapely.Point(lon, lat)
        truth = {communes[i] for i in tree.query(point, predicate="intersects")}
        got = next(h.key for h in hs if h.level == "commune")
        assert (got in truth) if truth else got is None
        inside += bool(truth)
    assert inside > 800  # the sample really exercised the polygons (about a quarter is on land)


def test_one_point_answers_as_the_batch_does(national_sqlite, layer) -> None:  # type: ignore[no-untyped-def]
    """Anywhere in the country's box: one point (which reads only the units around it, from a
    fresh layer) gets the same units as the same point inside a batch of the whole box."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    reg = national_sqlite
    batch_points = [(106.6683, 20.8651), (106.7009, 10.7769)]
    batches = {NEW: boundaries.locator(reg, as_of=NEW, boundaries=layer)}  # a batch locator per day, made once

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.floats(102.1, 109.5), st.floats(8.5, 23.4), st.sampled_from([NEW, OLD]))
    def same(lon: float, lat: float, day: date) -> None:
        fresh = boundaries.load(None, user=False)
        one = [(h.level, h.key, h.how) for h in boundaries.locate(reg, lon, lat, as_of=day, boundaries=fresh)]
        if day not in batches:
            batches[day] = boundaries.locator(reg, as_of=day, boundaries=layer)
        loc = batches[day]
        many = loc.locate_many([lon, *[p[0] for p in batch_points]], [lat, *[p[1] for p in batch_points]])
        assert one == [(h.level, h.key, h.how) for h in many[0]]
        assert sum(f.loaded for f in fresh.features.values()) <= 120  # never the whole country

    same()


def test_importer_refuses_folders_without_the_sources(tmp_path: Path) -> None:
    from merger.errors import DataError

    with pytest.raises(DataError, match="no province folders"):
        geo_importer.run(tmp_path, tmp_path, tmp_path / "out")
    (tmp_path / "new" / "01_ha_noi" / "wards").mkdir(parents=True)
    with pytest.raises(DataError, match="no province file"):
        geo_importer.run(tmp_path / "new", tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # a refused import writes nothing


# --- the importer on the raw sources (where they are present) ------------------------------------

def test_importer_reproduces_the_bundle_byte_for_byte(tmp_path: Path) -> None:
    """Runs where the raw sources are: MERGER_GEO_SOURCES names the folder laid out as
    docs/boundaries.md says (~630 MB, about 3 minutes of CPU); skipped elsewhere, e.g. in CI,
    which has no network to fetch them."""
    root = os.environ.get("MERGER_GEO_SOURCES")
    if not root:
        pytest.skip("MERGER_GEO_SOURCES is not set: the raw boundary sources (~630 MB, fetched from GitHub "
                    "as docs/boundaries.md says) are not in the repository")
    new = Path(root) / "thanglequoc-geojson" / "json" / "geojson"
    old = Path(root) / "dvhcvn-gis" / "data" / "gis"
    if not (new.is_dir() and old.is_dir()):
        pytest.skip(f"raw boundary sources not present under {root} (expected {new} and {old})")
    report = geo_importer.run(new, old, tmp_path)
    assert report.figures["new_communes"] == 3321 and report.figures["new_provinces"] == 34
    assert report.figures["gpkg_bytes"] <= 25_000_000
    bundled = data.bundled_path().parent
    for name in ("boundaries.gpkg", "README.md", "district_shares.csv"):
        assert (tmp_path / name).read_bytes() == (bundled / name).read_bytes(), name


def test_lineage_cross_check_on_tiny_data(tiny_read) -> None:  # type: ignore[no-untyped-def]
    reg, b = tiny_read
    # Đông (x 2.75-4) lies wholly in old district 002, and its lineage (Đông, Hòa Bình) is in 002: agreed
    report = boundaries.check(reg, as_of=NEW, boundaries=b, lineage=True)
    assert report.lineage == []
    # move Đông's geometry into district 001's territory: overlay now contradicts the lineage
    b.features["00004@2025-07-01"].geometry = shapely.MultiPolygon([cell(0, 0, 1, 1)])
    b._metric.clear()
    moved = boundaries.check(reg, as_of=NEW, boundaries=b, lineage=True)
    assert [(d.key, d.other, d.exceeds) for d in moved.lineage] == [("00004@2025-07-01", "001@..2025-06-30", True)]
    assert any(v.rule == "lineage-geometry" for v in moved.problems())
