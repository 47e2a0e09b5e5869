"""``merger locate --file``'s column-wise path (merger.geo.batch) and the Locator's catalog note
(merger.geo.catalog) answer exactly as the row-by-row batch and the snapshot-built Locator did:
the same CSV bytes for thousands of real points (seats, points on shared edges, the sea and the
neighbouring countries, rows without numbers, formula-looking cells), on both sides of the reform."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("geopandas")
shapely = pytest.importorskip("shapely")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from clirunner import CliRunner  # noqa: E402
from merger import boundaries  # noqa: E402
from merger.cli import app  # noqa: E402
from merger.events import Spec  # noqa: E402
from merger.geo import batch, catalog, data  # noqa: E402
from merger.geo.data import Boundaries  # noqa: E402
from merger.outputs import safe_cell  # noqa: E402
from merger.register import Register  # noqa: E402

NEW, OLD, LATER = date(2025, 7, 1), date(2025, 6, 30), date(2026, 12, 1)
STATISTICS = Path(__file__).parent.parent / "data" / "units" / "statistics.csv"
FORMULAS = ["=1+2", "@SUM(A1)", "-5", "+84 912 000", "-abc", "\tx", "=HYPERLINK(x)", "-12.5", "plain", ""]


def _target(reg: Register) -> str:
    return str(reg.sqlite_path) if reg.sqlite_path is not None else reg.url


def snapshot_locator(reg: Register, day: date, b: Boundaries | None = None):  # type: ignore[no-untyped-def]
    """The reference: a Locator whose register facts come from the whole snapshot (no catalog)."""
    from merger.geo.locate import Locator

    b = b if b is not None else data.load(reg)
    return Locator(reg, Boundaries(dict(b.features), b.origin), day)


def reference(loc, text: str, lon_column: str = "lon", lat_column: str = "lat", raw: bool = False) -> str:  # type: ignore[no-untyped-def]
    """What the batch wrote before it went column-wise: csv module in, one row at a time, every
    cell through safe_cell, Locator.locate_many, csv module out."""
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    fields = [h.strip().lstrip("\ufeff") for h in rows[0]]
    k = len(fields)
    body = [r[:k] + [""] * (k - len(r)) for r in rows[1:]]
    i_lon, i_lat = fields.index(lon_column), fields.index(lat_column)
    lons, lats = [], []
    for r in body:
        try:
            lon, lat = float(r[i_lon]), float(r[i_lat])
        except ValueError:
            lon = lat = math.nan
        lons.append(lon)
        lats.append(lat)
    levels = [lv for lv, _ in loc.locate_columns(lons[:1] or [0.0], lats[:1] or [0.0])]
    hits = loc.locate_many(lons, lats) if body else []
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([safe_cell(h, raw) for h in fields + [f"{lv}{s}" for lv in levels for s in ("_key", "_name", "_how")]])
    for r, hs in zip(body, hits, strict=True):
        w.writerow([safe_cell(c, raw) for c in r] + [safe_cell(x, raw) for h in hs for x in
                                                     (h.key or "|".join(h.candidates), h.name or "", h.how)])
    return out.getvalue()


def real_points() -> list[tuple[str, str]]:
    """Every seat of the new units, vertices of Hải Phòng's communes (points on shared edges),
    random points over the mainland's box and beyond (sea, Laos, China, Cambodia), as text."""
    with STATISTICS.open(encoding="utf-8") as fh:
        pts = [(r["lon"], r["lat"]) for r in csv.DictReader(fh) if r["lon"] and r["lat"]]
    layer = data.load(None, user=False)
    hp = [k for k, f in layer.features.items() if f.level == "commune" and f.code.startswith(("11", "10"))][:40]
    layer.ensure(hp)
    for k in hp:
        coords = shapely.get_coordinates(layer.geometry(k))[::97]
        pts += [(repr(float(x)), repr(float(y))) for x, y in coords]
    rnd = random.Random(14)
    pts += [(f"{rnd.uniform(100.0, 112.0):.6f}", f"{rnd.uniform(7.0, 24.5):.6f}") for _ in range(3000)]
    return pts


def points_csv(pts: list[tuple[str, str]], *, end: str = "\n", bom: bool = False, quoted: bool = False) -> str:
    """A table of the points with an id, a note (formula-looking cells) and rows without numbers."""
    lines = ["id,lon,lat,note"]
    for i, (lon, lat) in enumerate(pts):
        note = FORMULAS[i % len(FORMULAS)]
        lines.append(f"{i},{lon},{lat},{note}")
        if i % 500 == 0:
            lines += [f"{i}b,nan,{lat},x", f"{i}c,,,", f"{i}d,{lon},north,", f"{i}e,{lon}", "",
                      f"{i}f,{lon},{lat},a,b,c"]
    if quoted:
        lines[1] = '"0"' + lines[1].removeprefix("0")  # one quoted cell: the csv module's path
    return ("\ufeff" if bom else "") + end.join(lines) + end


@pytest.fixture(scope="module")
def pts() -> list[tuple[str, str]]:
    return real_points()


def test_batch_writes_what_the_row_by_row_batch_wrote(national, pts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Thousands of real points on three days, the file plain (LF), with CR LF and a BOM, and with
    a quoted cell (the csv module's path): the same bytes as the reference, from the catalog note."""
    catalog.for_register(national, list(data.load(national, carry_on=False).features))  # the note exists
    reg = Register.open(_target(national))
    plain = points_csv(pts)
    variants = {"plain": plain, "crlf": points_csv(pts, end="\r\n", bom=True), "quoted": points_csv(pts, quoted=True)}
    assert '"' in variants["quoted"] and variants["quoted"].count("\n") == plain.count("\n")
    for day in (NEW, OLD, LATER):
        fast = boundaries.locator(reg, as_of=day)
        ref = snapshot_locator(national, day)
        want = reference(ref, plain)
        for name, text in variants.items():
            path = tmp_path / f"{name}.csv"
            path.write_bytes(text.encode("utf-8"))
            got = batch.locate_file(fast, path, "lon", "lat")
            assert got.text == want, (day, name)
            assert got.rows == len(list(csv.reader(io.StringIO(plain)))) - 1
        if day == NEW:
            assert got.bad == 4 * ((len(pts) - 1) // 500 + 1)  # nan counts as a number; "", "north" and a short row do not
            assert 0 < got.inside < got.rows
            assert fast._snap is None  # nothing on 1 July 2025 needed the old communes' lineage
            new_ref, new_want = ref, want  # the reference of 1 July 2025, for the raw cells below
    raw = batch.locate_file(boundaries.locator(reg, as_of=NEW), tmp_path / "plain.csv", "lon", "lat", raw=True)
    assert raw.text == reference(new_ref, plain, raw=True)
    assert ",+84 912 000," in raw.text and "'+84 912 000" not in raw.text and "'+84 912 000" in new_want


def test_the_old_communes_lineage_is_read_from_its_note(national, pts, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """On 30 June 2025 the old commune comes from the lineage: the second batch reads it from the
    note kept for that day (no snapshot), a damaged note is only a miss; the same bytes each time."""
    path = tmp_path / "p.csv"
    path.write_text(points_csv(pts[:4000]), encoding="utf-8")
    want = reference(snapshot_locator(national, OLD), path.read_text(encoding="utf-8"))
    assert ",lineage" in want and ",candidates" in want
    first = batch.locate_file(boundaries.locator(Register.open(_target(national)), as_of=OLD), path, "lon", "lat")
    assert first.text == want
    note = catalog._note_path(national)
    assert note is not None
    lineage = note.with_name(note.name.removesuffix(catalog.NOTE_SUFFIX) + catalog.LINEAGE_SUFFIX)
    assert lineage.exists()

    def no_snapshot(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the snapshot was read")

    with monkeypatch.context() as m:
        m.setattr(Register, "snapshot", property(no_snapshot))
        loc = boundaries.locator(Register.open(_target(national)), as_of=OLD)
        assert batch.locate_file(loc, path, "lon", "lat").text == want
    kept = lineage.read_bytes()
    value = json.loads(kept)
    some = next(iter(value["value"]["ancestors"]))
    value["value"]["ancestors"][some] = [["x"]]
    for bad in (b"[]", json.dumps(value).encode()):
        lineage.write_bytes(bad)
        loc = boundaries.locator(Register.open(_target(national)), as_of=OLD)
        assert batch.locate_file(loc, path, "lon", "lat").text == want
    assert lineage.read_bytes() == kept


def test_wide_files_many_combinations_and_nothing_located(national_sqlite, pts, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch's other branches give the same bytes: coordinates cut out line by line (a wide
    file), combinations numbered as rows of indexes (too many to number as one integer), and a
    day or layer with nothing to locate (no columns added: the csv module's path)."""
    path = tmp_path / "p.csv"
    text = points_csv(pts[:1500], end="\r\n")
    path.write_text(text, encoding="utf-8", newline="")
    loc = _new_locator(national_sqlite)
    want = reference(snapshot_locator(national_sqlite, NEW), text)
    assert batch.locate_file(loc, path, "lon", "lat").text == want
    monkeypatch.setattr(batch, "_WIDE", 0)
    assert batch.locate_file(loc, path, "lon", "lat").text == want
    monkeypatch.setattr(batch, "_ONE_INTEGER", 1)
    assert batch.locate_file(loc, path, "lon", "lat").text == want
    from merger.geo.locate import Locator

    empty = Locator(national_sqlite, Boundaries({}), NEW)
    got = batch.locate_file(empty, path, "lon", "lat")
    assert got.text == reference(empty, text) and got.text.startswith("id,lon,lat,note\n") and got.inside == 0


# cells of a plain file: anything but quotes, commas, line ends and NUL (tabs, spaces, other
# Unicode line separators, formula starts, numbers)
CELL = st.one_of(st.sampled_from(FORMULAS + [" 1.5 ", "1e3", "nan", "inf", "\u2028", "\x85x", "a;b", "'x"]),
                 st.text(st.characters(exclude_characters=',"\r\n\x00', exclude_categories=("Cs",)), max_size=6))
SEATS = [("106.6683", "20.8651"), ("112.0", "13.0"), ("105.838", "21.0386"), ("x", "y"), ("", "")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(SEATS), st.lists(CELL, max_size=4)), max_size=8),
       extra=st.lists(st.text("abc ", min_size=1, max_size=3), max_size=2), crlf=st.booleans(), raw=st.booleans())
def test_plain_lines_are_written_as_the_csv_module_writes_them(national_sqlite, tmp_path: Path, rows, extra,  # type: ignore[no-untyped-def]
                                                               crlf: bool, raw: bool) -> None:
    loc = _new_locator(national_sqlite)
    header = ["lon", "lat", *extra]
    lines = [",".join(header)] + [",".join([lon, lat, *cells]) for (lon, lat), cells in rows]
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    path = tmp_path / "p.csv"
    path.write_bytes(text.encode("utf-8"))
    assert batch.locate_file(loc, path, "lon", "lat", raw=raw).text == reference(loc, text, raw=raw)


_LOCATORS: dict[str, object] = {}


def _new_locator(reg: Register):  # type: ignore[no-untyped-def]
    if reg.url not in _LOCATORS:
        _LOCATORS[reg.url] = boundaries.locator(reg, as_of=NEW)
    return _LOCATORS[reg.url]


def test_the_note_spares_the_snapshot_and_a_bad_note_is_only_a_miss(national, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    keys = list(data.load(national, carry_on=False).features)
    want = catalog.from_snapshot(national, national.snapshot, keys)
    assert catalog.for_register(national, keys) == want  # noted
    path = catalog._note_path(national)
    assert path is not None and path.exists()

    def no_snapshot(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the snapshot was read")

    with monkeypatch.context() as m:
        m.setattr(Register, "snapshot", property(no_snapshot))
        reg = Register.open(_target(national))
        assert catalog.for_register(reg, keys) == want
        loc = boundaries.locator(reg, as_of=NEW)
        hits = loc.locate_many([106.6683, 112.0], [20.8651, 13.0])
    assert [h.name for h in hits[0]] == ["Thành phố Hải Phòng", "Phường Hồng Bàng"]
    assert [h.key for h in hits[1]] == [None, None]
    note = json.loads(path.read_text(encoding="utf-8"))
    for bad in (b"{not json", json.dumps({**note, "value": {**note["value"], "keys": "0" * 64}}).encode(),
                json.dumps({**note, "value": {**note["value"], "entries": [[1, 2]]}}).encode()):
        path.write_bytes(bad)
        assert catalog.for_register(Register.open(_target(national)), keys) == want
    assert json.loads(path.read_text(encoding="utf-8")) == note  # written again


def test_a_write_or_loaded_boundaries_make_a_new_catalog(national_copy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """After a rename recorded on 1 Jan 2026 the noted catalog is stale: the batch answers with the
    new name (the rename hands the boundary on); boundaries the user loads count at once."""
    reg = national_copy
    seat = ("106.694", "20.9383")  # Phường Hòa Bình (11533@2025-07-01)
    day = date(2026, 2, 1)
    path = tmp_path / "p.csv"
    path.write_text(f"lon,lat\n{seat[0]},{seat[1]}\n", encoding="utf-8")
    before = batch.locate_file(boundaries.locator(reg, as_of=day), path, "lon", "lat").text
    assert "Phường Hòa Bình" in before
    reg.record(Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm",
                    act="TEST/2026"), by="test")
    fresh = Register.open(_target(reg))
    after = batch.locate_file(boundaries.locator(fresh, as_of=day), path, "lon", "lat").text
    assert "Phường Thử Nghiệm" in after and after == reference(snapshot_locator(fresh, day), path.read_text())
    # a boundary loaded for Phường Hồng Bàng, moved 1.5° east into the gulf
    layer = data.load(None, user=False)
    hb = "11311@2025-07-01"
    import shapely.affinity

    moved = shapely.affinity.translate(layer.geometry(hb), xoff=1.5)
    data.write_gpkg([data.Feature(hb, "commune", "11311", "Phường Hồng Bàng", "test", moved)], data.user_path(fresh))
    path.write_text("lon,lat\n106.6683,20.8651\n108.1683,20.8651\n", encoding="utf-8")
    again = Register.open(_target(reg))
    got = batch.locate_file(boundaries.locator(again, as_of=NEW), path, "lon", "lat").text
    assert got == reference(snapshot_locator(again, NEW), path.read_text())
    assert got.splitlines()[2].endswith("11311@2025-07-01,Phường Hồng Bàng,geometry")


def test_cli_batch_output_and_summary(national_path: str, tmp_path: Path) -> None:
    """Through the CLI: CR LF and a BOM read, blank/short/long rows kept, rows without numbers counted."""
    points = tmp_path / "points.csv"
    points.write_bytes("\ufeffid,x,y\r\n1,106.6683,20.8651\r\n2,112.0,13.0\r\n\r\n3,106.6683\r\n4,107.0514,20.7272,extra\r\n"
                       "5,nan,nan\r\n6,=1+2,20\r\n".encode("utf-8"))
    out = tmp_path / "located.csv"
    res = CliRunner().invoke(app, ["--db", national_path, "locate", "--file", str(points), "--lon-column", "x",
                                   "--lat-column", "y", "--as-of", "2025-07-01", "--out", str(out)])
    assert res.exit_code == 0, res.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,x,y,province_key,province_name,province_how,commune_key,commune_name,commune_how"
    assert lines[1] == ("1,106.6683,20.8651,31@2025-07-01,Thành phố Hải Phòng,geometry,11311@2025-07-01,"
                        "Phường Hồng Bàng,geometry")
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "", "3", "4", "5", "6"]
    assert lines[3] == ",,,,,none,,,none" and lines[5].startswith("4,107.0514,20.7272,") and lines[7].startswith("6,'=1+2,20,")
    assert "7 points" in res.stderr and "2 inside" in res.stderr and "3 without numeric coordinates" in res.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["--db", national_path, "locate", "--file", str(empty)])
    assert res.exit_code == 1 and res.stderr.startswith("Error:") and "is empty" in res.stderr
    only = tmp_path / "only.csv"
    only.write_text("lon,lat\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["--db", national_path, "locate", "--file", str(only)])
    assert res.exit_code == 0 and res.stdout.startswith("lon,lat,province_key") and res.stdout.count("\n") == 1


def test_batch_imports_no_geopandas_pyproj_or_matplotlib(national_path: str, tmp_path: Path) -> None:
    """In a fresh interpreter: the batch needs numpy and shapely only."""
    points = tmp_path / "points.csv"
    points.write_text("lon,lat\n106.6683,20.8651\n", encoding="utf-8")
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from merger.cli import app\n"
        "r = CliRunner().invoke(app, ['--db', sys.argv[1], 'locate', '--file', sys.argv[2], '--as-of', '2025-07-01'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'Phường Hồng Bàng' in r.stdout, r.stdout\n"
        "print(','.join(m for m in ('geopandas', 'pyproj', 'pyogrio', 'matplotlib', 'pandas') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, national_path, str(points)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
