"""Converting statistics tables: totals conserved, back-cast and forward again, bad keys refused."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clirunner import CliRunner
from factories import tiny_reform
from merger import convert as cv
from merger.cli import app
from merger.errors import BadInput, ValidationFailed
from merger.register import Register

BEFORE, AFTER = date(2025, 6, 30), date(2025, 7, 1)


def test_population_backcast_and_forward_again(national: Register) -> None:
    """New units' sapnhap population -> old units -> new units: unsplit units exact, provinces conserved."""
    snap = national.snapshot
    new = [v for v in snap.valid_on(AFTER) if v.level == "commune"]
    pop = {v.code: snap.stats[v.id]["population"] for v in new
           if snap.stats.get(v.id) and snap.stats[v.id].get("population")}
    assert len(pop) > 3_200
    back = cv.convert_rows(national, ["code", "pop"], [[c, str(p)] for c, p in pop.items()], key="code",
                           start=AFTER, end=BEFORE, sums=["pop"])
    assert back.totals_out["pop"] == pytest.approx(back.totals_in["pop"], abs=1e-3)
    assert {row[back.header.index("type")] for row in back.rows} >= {"xã", "phường", "thị trấn", "huyện"}
    h = back.header
    fwd = cv.convert_rows(national, ["code", "pop"], [[r[h.index("code")], str(r[h.index("pop")])] for r in back.rows],
                          key="code", start=BEFORE, end=AFTER, sums=["pop"], level=None)
    assert not fwd.problems and fwd.lost["pop"] == pytest.approx(0)
    out = {r[fwd.header.index("code")]: r[fwd.header.index("pop")] for r in fwd.rows}
    unsplit = [v for v in new if v.code in pop and all(
        len(snap.successors(link.pred)) == 1 for link in snap.predecessors(v) if link.pred is not None)]
    assert len(unsplit) > 2_500
    for v in unsplit:
        assert out[v.code] == pytest.approx(pop[v.code], rel=1e-12), v.full_name
    by_province_in: dict[str, float] = defaultdict(float)
    by_province_out: dict[str, float] = defaultdict(float)
    for v in new:
        prov = snap.parent_of(v, AFTER).code  # type: ignore[union-attr]
        by_province_in[prov] += pop.get(v.code, 0)
        by_province_out[prov] += out.get(v.code, 0.0)
    assert len(by_province_in) == 34
    for prov, total in by_province_in.items():
        assert by_province_out[prov] == pytest.approx(total, abs=0.5), prov


def test_sums_split_and_means_weighted(build) -> None:  # type: ignore[no-untyped-def]
    reg = build(tiny_reform())
    rows = [["00001", "100", "0.5", "2024"], ["00002", "300", "0.1", "2024"], ["00003", "200", "0.9", "2024"],
            ["4", "50", "0.3", "2024"], ["00001", "10", "1.0", "2023"]]
    conv = cv.convert_rows(reg, ["ma", "dan_so", "ty_le", "nam"], rows, key="ma", start=BEFORE, end=AFTER,
                           sums=["dan_so"], means=["ty_le"], weight="dan_so", group=["nam"], weights="equal")
    got = {(r[0], r[1]): r for r in conv.rows}
    h = conv.header
    an_binh = got[("2024", "00001")]
    # Hòa Bình (200) is divided equally between An Bình and Đông
    assert an_binh[h.index("dan_so")] == pytest.approx(100 + 300 + 100)
    assert an_binh[h.index("ty_le")] == pytest.approx((100 * 0.5 + 300 * 0.1 + 100 * 0.9) / 500)
    assert an_binh[h.index("basis")] == "fallback-equal"
    assert got[("2024", "00004")][h.index("dan_so")] == pytest.approx(150)  # "4" is Thị trấn Đông's code
    assert got[("2023", "00001")][h.index("dan_so")] == pytest.approx(10)
    assert conv.totals_in["dan_so"] == conv.totals_out["dan_so"] == 660


def test_unmatched_and_ambiguous_keys_refused_with_line_numbers(tmp_path: Path, national: Register) -> None:
    rows = [["Xã Không Tồn Tại", "1"], ["Hòa Bình", "2"], ["Phường An Lư, Thủy Nguyên, Hải Phòng", "3"], ["Nowhere", "4"]]
    with pytest.raises(ValidationFailed) as err:
        cv.convert_rows(national, ["xa", "n"], rows, key="xa", key_kind="name", start=BEFORE, end=AFTER, sums=["n"])
    found = {(v.subjects[0], v.rule) for v in err.value.violations}
    assert ("3", "convert-ambiguous") in found and ("5", "convert-no-match") in found
    assert all(line != "4" for line, _ in found)
    conv = cv.convert_rows(national, ["xa", "n"], rows, key="xa", key_kind="name", start=BEFORE, end=AFTER,
                           sums=["n"], skip_unmatched=True)
    assert conv.rows_matched == 1 and conv.totals_matched["n"] == 3 and conv.totals_in["n"] == 10
    assert conv.totals_out["n"] == pytest.approx(3)
    assert sorted(p.line for p in conv.problems) == [2, 3, 5]
    with pytest.raises(ValidationFailed):  # not a number is never skipped
        cv.convert_rows(national, ["xa", "n"], [["11533", "many"]], key="xa", start=BEFORE, end=AFTER,
                        sums=["n"], skip_unmatched=True)
    with pytest.raises(BadInput):
        cv.convert_rows(national, ["xa", "n"], [], key="ma", start=BEFORE, end=AFTER, sums=["n"])


def test_cli_convert_refuses_then_skips(tmp_path: Path, national_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("ma_xa,dan_so\n11533,1000\n99999,5\n11890,300\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    runner = CliRunner()
    args = ["--db", str(national_path), "convert", str(src), "--key", "ma_xa", "--sum", "dan_so", "--out", str(out),
            "--weights", "equal"]
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and res.stderr.startswith("Error:") and "line 3" in res.stderr
    # one Error line, then one problem per line (issue 11)
    assert [x.split(":")[0] for x in res.stderr.strip().splitlines()] == ["Error", "line 3"] and not out.exists()
    res = runner.invoke(app, [*args, "--skip-unmatched"])
    assert res.exit_code == 0, res.stderr
    assert "line 3" in res.stderr and "1305" in res.stdout and "1300" in res.stdout  # plain numbers
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["name"]: float(r["dan_so"]) for r in rows} == {
        "Phường Hòa Bình": 500.0, "Phường Thủy Nguyên": 500.0, "Xã Nguyễn Bỉnh Khiêm": 300.0}


def test_cli_convert_pipes_stdin_to_stdout_with_totals_per_group(national_path: Path) -> None:
    """Issue 11: `-` reads stdin, no --out writes stdout, summary on stderr, plain totals per group."""
    table = "ma_xa,nam,dan_so\n11533,2024,1000\n11533,2023,900\n11890,2024,300000\n00625,2024,7\n"
    args = ["--db", str(national_path), "convert", "-", "--key", "ma_xa", "--sum", "dan_so", "--group", "nam",
            "--weights", "equal"]
    res = CliRunner().invoke(app, args, input=table)
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(res.stdout.splitlines()))  # stdout is the table and nothing else
    assert {(r["nam"], r["name"]): float(r["dan_so"]) for r in rows}[("2023", "Phường Hòa Bình")] == 450.0
    assert "rows written to standard output" in res.stderr
    assert "301007" in res.stderr and "3.01e+05" not in res.stderr and "301,007" not in res.stderr
    assert any(line.split()[:3] == ["│", "2023", "│"] for line in res.stderr.splitlines())  # a row per group
    # --within keeps Hải Phòng's units; what goes elsewhere is totalled as outside
    res = CliRunner().invoke(app, [*args, "--within", "Hải Phòng", "--round", "1", "--json"], input=table)
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(res.stdout.splitlines()))
    assert rows and all(r["parent"] == "Thành phố Hải Phòng" for r in rows)
    assert all(len(r["dan_so"].split(".")[1]) == 1 for r in rows)
    summary = json.loads(res.stderr[res.stderr.index("{"):])
    assert summary["totals"]["dan_so"]["outside"] == 7 and summary["within"] == "Thành phố Hải Phòng"
    by_year = {g["group"]["nam"]: g["totals"]["dan_so"] for g in summary["groups"]}
    assert by_year["2024"]["input"] == 301007 and by_year["2024"]["output"] == pytest.approx(301000)


@settings(max_examples=40, deadline=None)
@given(x=st.floats(min_value=-1e15, max_value=1e15, allow_nan=False), digits=st.none() | st.integers(0, 6))
def test_plain_numbers_read_back(x: float, digits: int | None) -> None:
    text = cv.plain(x, digits)
    assert "e" not in text and "," not in text
    assert float(text) == pytest.approx(x if digits is None else round(x, digits), rel=1e-9, abs=10 ** -(digits or 9))
