"""The geo commands through CliRunner, the lazy import of geopandas, and life without the extra."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from clirunner import CliRunner
from merger.cli import app

HAS_GEO = all(importlib.util.find_spec(m) for m in ("geopandas", "shapely", "pyproj", "matplotlib"))
geo = pytest.mark.skipif(not HAS_GEO, reason="the merger[geo] extra is not installed")


@pytest.fixture
def run(national_path):  # type: ignore[no-untyped-def]
    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["--db", str(national_path), *args])

    return invoke


def test_register_commands_never_import_geopandas(national_path: Path) -> None:
    """In a fresh interpreter (other tests have imported it here): lineage, counts, show."""
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from merger.cli import app\n"
        "for args in (['lineage', 'An Lư'], ['counts', '--within', 'Hải Phòng'], ['show', 'Hải Phòng']):\n"
        "    r = CliRunner().invoke(app, ['--db', sys.argv[1], *args])\n"
        "    assert r.exit_code == 0, (args, r.output)\n"
        "print(','.join(m for m in ('geopandas', 'shapely', 'pyogrio', 'matplotlib') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(national_path)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_geo_commands_without_the_extra_name_it(run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in ("shapely", "geopandas", "pyproj", "pyogrio", "matplotlib"):
        monkeypatch.setitem(sys.modules, name, None)  # import now fails, as if not installed
    for args in (["boundaries", "check", "--within", "Hải Phòng"], ["locate", "106.67", "20.86"],
                 ["map", "Cát Hải", "--out", str(tmp_path / "m.png")], ["overlap", "Cát Hải"],
                 ["export", "--format", "geojson", "--out", str(tmp_path / "x.geojson")]):
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith("Error:") and "pip install 'merger[geo]'" in result.stderr
        assert "Traceback" not in result.output
    assert run("counts", "--within", "Hải Phòng").exit_code == 0  # everything else still works


@geo
def test_check_reports_real_findings_and_exits_1(run) -> None:  # type: ignore[no-untyped-def]
    result = run("boundaries", "check", "--within", "Hải Phòng", "--as-of", "2025-07-01", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["checked"] == {"province": 1, "commune": 114}
    assert [o["a_name"] for o in report["overlaps"]] == ["Phường Lưu Kiếm"]
    rules = {p["rule"] for p in report["problems"]}
    assert rules == {"area", "gap-uncovered", "gap-outside"}
    table = run("boundaries", "check", "--within", "Hải Phòng", "--as-of", "2025-07-01")
    assert table.exit_code == 1 and "Đặc khu Cát Hải" in table.stdout and "beyond the tolerances" in table.stdout
    loose = run("boundaries", "check", "--within", "Hải Phòng", "--as-of", "2025-07-01", "--area-rel", "0.35",
                "--gap-share", "0.02")
    assert loose.exit_code == 0, loose.stdout
    old = run("boundaries", "check", "--within", "Hải Phòng", "--as-of", "2025-06-30")
    assert old.exit_code == 0 and "commune (167 units)" in old.stdout


@geo
def test_check_and_locate_write_safe_csv(run) -> None:  # type: ignore[no-untyped-def]
    """--csv: one row per finding (within the tolerances or not), the exit code as for the table;
    locate --csv: one row per level, candidates joined by |."""
    res = run("boundaries", "check", "--within", "Hải Phòng", "--as-of", "2025-07-01", "--csv")
    assert res.exit_code == 1, res.stderr  # findings beyond the tolerances, as the table says
    rows = list(csv.DictReader(res.stdout.splitlines()))
    assert list(rows[0]) == ["kind", "level", "key", "name", "other_key", "other_name", "value", "unit",
                             "official_km2", "share", "lon", "lat", "note", "exceeds"]
    overlap = next(r for r in rows if r["kind"] == "overlap")
    assert (overlap["name"], overlap["other_name"], overlap["exceeds"]) == ("Phường Lưu Kiếm", "Phường Thủy Nguyên",
                                                                           "false")
    cat_hai = next(r for r in rows if r["kind"] == "area" and r["name"] == "Đặc khu Cát Hải")
    assert cat_hai["exceeds"] == "true" and -0.32 < float(cat_hai["share"]) < -0.29
    assert len([r for r in rows if r["kind"] == "area"]) == 115  # the province and its 114 communes
    assert {r["kind"] for r in rows} == {"overlap", "gap-uncovered", "gap-outside", "area"}
    both = run("boundaries", "check", "--within", "Hải Phòng", "--csv", "--json")
    assert both.exit_code == 2 and "--json" in both.stderr
    one = run("locate", "106.6683", "20.8651", "--as-of", "2025-06-30", "--csv")
    assert one.exit_code == 0, one.stderr
    located = list(csv.DictReader(one.stdout.splitlines()))
    assert [(r["level"], r["name"], r["how"]) for r in located] == [
        ("province", "Thành phố Hải Phòng", "geometry"), ("district", "Quận Hồng Bàng", "geometry"),
        ("commune", "", "candidates")]
    assert located[2]["candidate_names"].split("|")[0] == "Phường Hùng Vương"
    assert len(located[2]["candidates"].split("|")) == 6
    batch_json = run("locate", "--file", "points.csv", "--json")
    assert batch_json.exit_code == 2 and "--json" in batch_json.stderr


@geo
def test_locate_file_neutralises_formulas_in_the_users_columns(run, national_path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The batch writes with the plain csv writer for speed: the user's cells that a spreadsheet
    would run still get the apostrophe (numbers, also negative ones, stay numbers); --raw-csv keeps them."""
    points = tmp_path / "points.csv"
    points.write_text('id,lon,lat,note\n1,106.6683,20.8651,"=HYPERLINK(""http://x"")"\n-2,112.0,13.0,@SUM(A1)\n'
                      "3,107.0514,20.7272,plain\n", encoding="utf-8")
    res = run("locate", "--file", str(points), "--as-of", "2025-07-01")
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(res.stdout.splitlines()))
    assert [r["note"] for r in rows] == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "plain"]
    assert [r["id"] for r in rows] == ["1", "-2", "3"]
    assert [r["commune_name"] for r in rows] == ["Phường Hồng Bàng", "", "Đặc khu Cát Hải"]
    out = tmp_path / "o.csv"
    assert run("locate", "--file", str(points), "--as-of", "2025-07-01", "--out", str(out)).exit_code == 0
    assert list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))[1]["note"] == "'@SUM(A1)"
    raw = CliRunner().invoke(app, ["--db", str(national_path), "--raw-csv", "locate", "--file", str(points),
                                   "--as-of", "2025-07-01"])
    assert [r["note"] for r in csv.DictReader(raw.stdout.splitlines())][1] == "@SUM(A1)"


@geo
def test_locate_file_that_is_not_utf8_is_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    points = tmp_path / "points.csv"
    points.write_bytes("x,y,tên\n106.68,20.86,Hải Phòng\n".encode("utf-16"))
    res = run("locate", "--file", str(points), "--lon-column", "x", "--lat-column", "y")
    assert res.exit_code == 1 and res.stderr.startswith(f"Error: {points} is not UTF-8 text"), res.stderr
    assert "Traceback" not in res.output


@geo
def test_locate_one_point_and_a_batch(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    one = run("locate", "106.6683", "20.8651", "--as-of", "2025-07-01", "--json")
    assert one.exit_code == 0, one.stderr
    units = {u["level"]: u["name"] for u in json.loads(one.stdout)["units"]}
    assert units == {"province": "Thành phố Hải Phòng", "commune": "Phường Hồng Bàng"}
    old = run("locate", "106.6683", "20.8651", "--as-of", "30/6/2025")
    assert old.exit_code == 0 and "Quận Hồng Bàng" in old.stdout
    swapped = run("locate", "20.8651", "106.6683")
    assert swapped.exit_code == 2 and "longitude" in swapped.stderr
    nowhere = run("locate", "112.0", "13.0", "--as-of", "2025-07-01")  # the open sea
    assert nowhere.exit_code == 1 and nowhere.stderr.startswith("Error:")
    saigon = run("locate", "106.7009", "10.7769", "--as-of", "2025-07-01", "--json")
    assert [u["name"] for u in json.loads(saigon.stdout)["units"]] == ["Thành phố Hồ Chí Minh", "Phường Sài Gòn"]

    points = tmp_path / "points.csv"
    # 5: a longitude but no number for the latitude; 6: a short row
    points.write_text("id,x,y\n1,106.6683,20.8651\n2,112.0,13.0\n3,,\n4,107.0514,20.7272\n"
                      "5,106.6683,north\n6,106.6683\n", encoding="utf-8")
    out = tmp_path / "located.csv"
    batch = run("locate", "--file", str(points), "--lon-column", "x", "--lat-column", "y", "--out", str(out),
                "--as-of", "2025-07-01")
    assert batch.exit_code == 0, batch.stderr
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [r["commune_name"] for r in rows] == ["Phường Hồng Bàng", "", "", "Đặc khu Cát Hải", "", ""]
    assert "6 points" in batch.stderr and "3 without numeric" in batch.stderr
    missing = run("locate", "--file", str(points), "--lon-column", "lon")
    assert missing.exit_code == 1 and "no column 'lon'" in missing.stderr


@geo
def test_map_writes_a_png_and_refuses_other_formats(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "hong_bang.png"
    result = run("map", "Phường Hồng Bàng", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 30_000
    bad = run("map", "Phường Hồng Bàng", "--out", str(tmp_path / "x.jpg"))
    assert bad.exit_code == 1 and ".png or .svg" in bad.stderr
    nogeom = run("map", "11533@..2025-06-30", "--out", str(tmp_path / "y.png"))  # old communes have none
    assert nogeom.exit_code == 1 and "has no geometry" in nogeom.stderr


@geo
def test_map_of_many_units(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "hai_phong.png"
    result = run("map", "--level", "commune", "--within", "Hải Phòng", "--as-of", "2025-07-01", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "Map of 114 units at commune level" in result.stdout and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "1 in an inset" in result.stdout and "0 names left out" in result.stdout  # Bạch Long Vĩ
    both = run("map", "Phường Hồng Bàng", "--within", "Hải Phòng", "--out", str(out))
    assert both.exit_code == 2 and "without UNIT" in both.stderr
    bad = run("map", "--level", "village", "--out", str(out))
    assert bad.exit_code == 2 and "--level" in bad.stderr
    old = run("map", "--level", "commune", "--within", "Hải Phòng", "--as-of", "2025-06-30", "--out", str(out))
    assert old.exit_code == 1 and old.stderr.startswith("Error: no commune with a boundary")


@geo
def test_overlap_command(run) -> None:  # type: ignore[no-untyped-def]
    result = run("overlap", "Đặc khu Cát Hải", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    assert rows[0]["name"] == "Huyện Cát Hải" and rows[0]["in_lineage"] is True
    assert sum(r["share_of_unit"] for r in rows) == pytest.approx(1.0, abs=0.01)


@geo
def test_district_shares_command(run) -> None:  # type: ignore[no-untyped-def]
    result = run("boundaries", "shares", "--within", "Hải Phòng", "--csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert rows[0].keys() >= {"district", "commune", "share_of_district", "in_lineage"}
    hong_bang = [r for r in rows if r["district_name"] == "Quận Hồng Bàng" and r["commune_name"] == "Phường Hồng Bàng"]
    assert len(hong_bang) == 1 and hong_bang[0]["in_lineage"] == "true"
    as_json = json.loads(run("boundaries", "shares", "--within", "Hải Phòng", "--json").stdout)
    assert as_json["basis"] == "geometry" and len(as_json["rows"]) == len(rows)
    unknown = run("boundaries", "shares", "--within", "Atlantis")
    assert unknown.exit_code == 1 and unknown.stderr.startswith("Error:")


@geo
def test_export_geojson_and_json_format(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "hp.geojson"
    result = run("export", "--format", "geojson", "--as-of", "2025-07-01", "--within", "Hải Phòng", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert len(features) == 115
    props = next(f["properties"] for f in features if f["properties"]["name"] == "Phường Hòa Bình")
    assert props["key"] == "11533@2025-07-01" and props["parent"] == "Thành phố Hải Phòng"
    assert "11533@..2025-06-30" in props["predecessors"].split(";")
    bad = run("export", "--format", "shp", "--out", str(tmp_path / "x.shp"))
    assert bad.exit_code == 2
    as_json = run("export", "--format", "json", "--out", str(tmp_path / "r.json"))
    if importlib.util.find_spec("merger.exchange") is None:
        assert as_json.exit_code == 1 and "not available in this build" in as_json.stderr
    else:
        assert as_json.exit_code == 0 and (tmp_path / "r.json").exists()


@geo
def test_boundaries_load_reports_unmatched_codes(build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import geopandas as gpd
    import shapely

    from factories import tiny_reform
    from merger.geo import data

    reg = build(tiny_reform())
    db, stored = reg.url, data.user_path(reg)  # beside the SQLite file, or in the data folder for PostgreSQL
    path = tmp_path / "mine.geojson"
    box = shapely.box(106.6, 20.8, 106.61, 20.81)
    gpd.GeoDataFrame({"ma": ["00001", "77777"]}, geometry=[box, box], crs=4326).to_file(path)
    result = CliRunner().invoke(app, ["--db", db, "boundaries", "load", str(path), "--level", "commune",
                                      "--as-of", "2025-07-01", "--code-field", "ma"])
    assert result.exit_code == 0, result.stderr
    assert "77777" in result.stdout and stored.exists()
    located = CliRunner().invoke(app, ["--db", db, "locate", "106.605", "20.805", "--as-of", "2025-07-01", "--json"])
    assert {u["key"] for u in json.loads(located.stdout)["units"]} >= {"00001@2025-07-01"}
    none = CliRunner().invoke(app, ["--db", db, "boundaries", "load", str(path), "--level", "district",
                                    "--as-of", "2025-06-30", "--code-field", "ma"])
    assert none.exit_code == 1 and "no feature" in none.stderr
    listed = json.loads(CliRunner().invoke(app, ["--db", db, "boundaries", "list", "--json"]).stdout)
    assert {"level": "commune", "valid_from": "2025-07-01", "valid_to": None, "source": "mine.geojson",
            "versions": 1} in listed["groups"]
    assert listed["files"][-1] == str(stored)
    svg = tmp_path / "an_binh.svg"
    drawn = CliRunner().invoke(app, ["--db", db, "map", "00001@2025-07-01", "--out", str(svg)])
    assert drawn.exit_code == 0, drawn.stderr
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml") and "<svg" in svg.read_text(encoding="utf-8")
    assert CliRunner().invoke(app, ["--db", db, "boundaries", "forget"]).exit_code == 0
    assert not stored.exists()


@geo
def test_check_lineage_option(run) -> None:  # type: ignore[no-untyped-def]
    result = run("boundaries", "check", "--within", "Hải Phòng", "--as-of", "2025-07-01", "--lineage", "--json",
                 "--area-rel", "0.35", "--gap-share", "0.02")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert {p["rule"] for p in report["problems"]} == {"lineage-geometry"}
    loose = run("boundaries", "check", "--within", "Hải Phòng", "--as-of", "2025-07-01", "--lineage",
                "--area-rel", "0.35", "--gap-share", "0.02", "--lineage-share", "0.6")
    assert loose.exit_code == 0 and "Overlay against the recorded lineage" in loose.stdout
