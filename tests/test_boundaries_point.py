"""One point located without numpy/shapely (merger.geo.point) answers exactly as the Locator does."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

pytest.importorskip("geopandas")
shapely = pytest.importorskip("shapely")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from merger import boundaries  # noqa: E402
from merger.geo import data, point  # noqa: E402
from merger.geo.locate import Hit  # noqa: E402
from merger.register import Register  # noqa: E402

NEW, OLD = date(2025, 7, 1), date(2025, 6, 30)
STATISTICS = Path(__file__).parent.parent / "data" / "units" / "statistics.csv"


@pytest.fixture(scope="module")
def layer():  # type: ignore[no-untyped-def]
    return boundaries.load(None, user=False)


def seats(every: int) -> list[tuple[str, float, float]]:
    """Every ``every``-th seat of the new units (sapnhap statistics: lon/lat of each seat)."""
    with STATISTICS.open(encoding="utf-8") as fh:
        rows = [(r["version"], float(r["lon"]), float(r["lat"])) for r in csv.DictReader(fh) if r["lon"] and r["lat"]]
    return rows[::every]


def fast(reg: Register, lon: float, lat: float, day: date) -> list[point.Hit]:
    hits = point.locate_point(reg, [data.bundled_path()], lon, lat, day)
    assert hits is not None, "the one-point path gave up"
    return hits


def test_real_seats_on_both_sides_of_the_reform_answer_as_the_locator(national, layer) -> None:  # type: ignore[no-untyped-def]
    """Real points: a spread of the new units' seats (every 30th of 3,355), on 30 June and on
    1 July 2025 (old province, district and commune through the lineage / new province and
    commune), plus a few off the coast; the one-point path gives the Locator's very answer."""
    reg = national
    pts = seats(30) + [("sea", 112.0, 13.0), ("sea", 107.5, 20.2), ("laos", 102.6, 17.97)]
    assert len(pts) > 110
    got: dict[date, list[list[Hit]]] = {}
    for day in (OLD, NEW):
        batch = boundaries.locator(reg, as_of=day, boundaries=layer).locate_many([p[1] for p in pts],
                                                                               [p[2] for p in pts])
        got[day] = [fast(reg, lon, lat, day) for _key, lon, lat in pts]
        for (_key, lon, lat), mine, want in zip(pts, got[day], batch, strict=True):
            assert mine == want, (lon, lat, day)
    # the seat of a new unit lies in that unit (the seats are real): most of them by geometry
    hits = got[NEW][:40]  # the one-point answers above
    assert sum(next(h.key for h in hs if h.level == "commune") == key for (key, _, _), hs in zip(pts[:40], hits, strict=True)) >= 36


def test_old_answers_before_the_reform(national) -> None:  # type: ignore[no-untyped-def]
    hits = {h.level: h for h in fast(national, 106.6683, 20.8651, OLD)}
    assert (hits["province"].name, hits["district"].name) == ("Thành phố Hải Phòng", "Quận Hồng Bàng")
    assert hits["commune"].how == "candidates" and len(hits["commune"].candidates) == 6
    assert "Phường Hoàng Văn Thụ" in hits["commune"].candidate_names
    hits = {h.level: h for h in fast(national, 105.8522, 21.0287, OLD)}
    assert hits["district"].name == "Quận Hoàn Kiếm"
    assert [h.level for h in fast(national, 106.6683, 20.8651, NEW)] == ["province", "commune"]


def test_random_points_in_the_country_answer_as_the_locator(national_sqlite, layer) -> None:  # type: ignore[no-untyped-def]
    reg = national_sqlite
    locators = {day: boundaries.locator(reg, as_of=day, boundaries=layer) for day in (OLD, NEW, date(2026, 1, 1))}

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.floats(102.1, 109.5), st.floats(8.5, 23.4), st.sampled_from(sorted(locators)))
    def same(lon: float, lat: float, day: date) -> None:
        assert fast(reg, lon, lat, day) == locators[day].locate_many([lon], [lat])[0]

    same()


@given(st.floats(-0.5, 4.5), st.floats(-0.5, 2.5))
@settings(max_examples=300, deadline=None)
def test_point_in_polygon_agrees_with_shapely_on_a_holed_multipolygon(x: float, y: float) -> None:
    shell = shapely.Polygon([(0, 0), (3, 0), (3, 2), (0, 2)], [[(1, 0.5), (2, 0.5), (2, 1.5), (1, 1.5)]])
    geom = shapely.MultiPolygon([shell, shapely.box(3.5, 0.25, 4, 1)])
    polys = point.polygons(shapely.to_wkb(geom))
    for px, py in ((x, y), (round(x * 2) / 2, round(y * 4) / 4)):  # also points on edges and vertices
        assert point.contains(polys, px, py) == shapely.intersects(geom, shapely.Point(px, py)), (px, py)


def test_real_polygons_agree_with_shapely(layer) -> None:  # type: ignore[no-untyped-def]
    """Hải Phòng and Cát Hải (islands) decoded from the GeoPackage blob: the same inside/outside
    as shapely for a grid over their boxes, vertices included."""
    import numpy as np

    for key in ("31@2025-07-01", "11914@2025-07-01"):
        geom = layer.geometry(key)
        polys = point.polygons(shapely.to_wkb(geom))
        x0, y0, x1, y1 = geom.bounds
        xs, ys = np.meshgrid(np.linspace(x0, x1, 40), np.linspace(y0, y1, 40))
        coords = list(zip(xs.ravel().tolist(), ys.ravel().tolist(), strict=True))
        coords += [tuple(c) for c in shapely.get_coordinates(geom)[::50].tolist()]
        want = shapely.intersects(geom, shapely.points(coords))
        got = [point.contains(polys, x, y) for x, y in coords]
        assert got == want.tolist()
        assert 0 < sum(got) < len(got)


def test_user_boundaries_replace_bundled_ones_in_the_one_point_path(national_copy, tmp_path: Path, layer) -> None:  # type: ignore[no-untyped-def]
    """A loaded geometry for a version key wins over the bundled one, as in the Locator."""
    reg = national_copy
    hb = "11311@2025-07-01"  # Phường Hồng Bàng, moved 1.5° east into the Gulf of Tonkin
    import shapely.affinity

    moved = shapely.affinity.translate(layer.geometry(hb), xoff=1.5)
    data.write_gpkg([data.Feature(hb, "commune", "11311", "Phường Hồng Bàng", "test", moved)], data.user_path(reg))
    for lon, lat in ((106.6683, 20.8651), (108.1683, 20.8651)):
        got = boundaries.locate(reg, lon, lat, as_of=NEW)
        want = boundaries.locator(reg, as_of=NEW).locate_many([lon], [lat])[0]
        assert got == want
        assert point.locate_point(reg, [data.bundled_path(), data.user_path(reg)], lon, lat, NEW) == want
    assert next(h for h in boundaries.locate(reg, 108.1683, 20.8651, as_of=NEW) if h.level == "commune").key == hb


def test_as_recorded_is_left_to_the_locator(national_path: str) -> None:
    reg = Register.open(national_path, as_recorded=datetime(2026, 1, 1))
    assert point.locate_point(reg, [data.bundled_path()], 106.6683, 20.8651, NEW) is None
    assert [h.name for h in boundaries.locate(reg, 106.6683, 20.8651, as_of=NEW)] == [
        "Thành phố Hải Phòng", "Phường Hồng Bàng"]


def test_one_point_imports_neither_numpy_nor_shapely(national_path: str) -> None:
    """In a fresh interpreter: merger locate of one point answers without numpy, shapely or pandas."""
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from merger.cli import app\n"
        "r = CliRunner().invoke(app, ['--db', sys.argv[1], 'locate', '106.6683', '20.8651', '--as-of', '2025-06-30',"
        " '--csv'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(r.stdout)\n"
        "print('imported:' + ','.join(m for m in ('numpy', 'shapely', 'pandas', 'geopandas') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, national_path], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "imported:"  # none of them
    assert lines[0] == "level,key,name,how,candidates,candidate_names"
    assert lines[2] == "district,303@..2025-06-30,Quận Hồng Bàng,geometry,,"


def test_old_districts_of_the_seats_agree_with_the_lineage(national_sqlite, layer) -> None:  # type: ignore[no-untyped-def]
    """The seats of the 3,321 new communes located on 30 June 2025: the old district found holds
    one of the commune's recorded predecessors for 99 % of them. The source file swaps two pairs
    of neighbours (Sìn Hồ / Phong Thổ in Lai Châu, Tân Uyên / Bắc Tân Uyên in Bình Dương); the
    importer swaps them back, so each commune named after its old district lies in it."""
    reg = national_sqlite
    snap = reg.snapshot
    pts = [(key, lon, lat) for key, lon, lat in seats(1) if snap.by_key[key].level == "commune"]
    hits = boundaries.locator(reg, as_of=OLD, boundaries=layer).locate_many([p[1] for p in pts], [p[2] for p in pts])
    found = agree = 0
    district_of = {}
    for (key, _lon, _lat), hs in zip(pts, hits, strict=True):
        d = next(h for h in hs if h.level == "district")
        if d.key is None:
            continue
        found += 1
        district_of[key] = d.name
        anc = snap.ancestors_on(snap.by_key[key], OLD).values()  # a special zone's is a whole district
        before = {a.parent_unit_id for a in anc if a.level == "commune"} | {a.unit_id for a in anc
                                                                             if a.level == "district"}
        agree += snap.by_key[d.key].unit_id in before
    assert found > 3150 and agree / found >= 0.99, (agree, found)  # 3,177 of 3,207 (98.4 % before the swap)
    # Xã Phong Thổ and Xã Sìn Hồ (Lai Châu), Xã Bắc Tân Uyên and Phường Tân Hiệp (Hồ Chí Minh)
    assert (district_of["03549@2025-07-01"], district_of["03478@2025-07-01"]) == ("Huyện Phong Thổ", "Huyện Sìn Hồ")
    assert district_of["25906@2025-07-01"] == "Huyện Bắc Tân Uyên"
    assert district_of["25920@2025-07-01"] == "Thành phố Tân Uyên"


def test_one_point_path_hands_over_or_refuses_cleanly(national_copy, layer) -> None:  # type: ignore[no-untyped-def]
    """A 3D geometry the pure-Python decoder does not read: the Locator answers instead. A
    corrupt geometry blob: one DataError naming the file, never a struct.error."""
    import sqlite3

    from merger.errors import DataError

    reg = national_copy
    hb = "11311@2025-07-01"
    flat = layer.geometry(hb)
    raised = shapely.force_3d(flat)
    own = data.user_path(reg)
    data.write_gpkg([data.Feature(hb, "commune", "11311", "Phường Hồng Bàng", "test", raised)], own)
    paths = [data.bundled_path(), own]
    assert point.locate_point(reg, paths, 106.6683, 20.8651, NEW) is None
    assert [h.name for h in boundaries.locate(reg, 106.6683, 20.8651, as_of=NEW)] == [
        "Thành phố Hải Phòng", "Phường Hồng Bàng"]
    con = sqlite3.connect(own)
    # a polygon that claims five rings and holds none
    con.execute("UPDATE boundaries SET geom = ?", (b"GP\x00\x01" + b"\x00" * 4 + b"\x01\x03\x00\x00\x00\x05\x00\x00\x00",))
    con.commit()
    con.close()
    with pytest.raises(DataError, match="not valid WKB"):
        point.locate_point(reg, paths, 106.6683, 20.8651, NEW)


def test_a_unit_made_a_city_or_a_ward_keeps_its_boundary(national, layer) -> None:  # type: ignore[no-untyped-def]
    """Regression: after 36/2026/QH16 (Thành phố Quảng Ninh, 1 Sep 2026), 39/2026/QH16 and
    388/NQ-UBTVQH16 (Bắc Ninh and 12 of its communes, 20 Sep 2026) and the Đồng Nai acts, `locate`
    answered "none" for the province: the new versions had no geometry. A reclassification hands
    the territory on unchanged, so the new version answers with the old boundary, on both paths,
    and the day before the old version still answers."""
    with STATISTICS.open(encoding="utf-8") as fh:
        seat = {r["version"]: (float(r["lon"]), float(r["lat"])) for r in csv.DictReader(fh) if r["lon"]}
    snap = national.snapshot
    later = [v for v in snap.versions.values() if v.valid_from is not None and v.valid_from.year == 2026]
    assert len(later) == 25
    carried = data.carried(snap, list(layer.features))
    assert {v.key for v in later} <= set(carried)
    day = date(2026, 12, 1)
    locator = boundaries.locator(national, as_of=day, boundaries=layer)
    checked = 0
    for v in later:
        old = carried[v.key]
        if v.level == "commune" and old in seat:
            lon, lat = seat[old]
            hits = fast(national, lon, lat, day)
            assert hits == locator.locate_many([lon], [lat])[0]
            assert {h.level: h.key for h in hits}["commune"] == v.key
            before = fast(national, lon, lat, v.valid_from.replace(day=v.valid_from.day - 1))
            assert {h.level: h.key for h in before}["commune"] == old
            checked += 1
    assert checked >= 20
    hits = {h.level: h for h in fast(national, 107.08, 20.95, day)}  # Hạ Long
    assert (hits["province"].key, hits["province"].name) == ("22@2026-09-01", "Thành phố Quảng Ninh")
    # a merger does not hand a boundary on: Hải Phòng of 2025 took in Hải Dương
    assert data.carried(snap, ["31@..2025-06-30", "30@..2025-06-30"]) == {}
