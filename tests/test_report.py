"""Diff and reports: Hải Phòng's figures in the grouped events and in the rendered files."""

from __future__ import annotations

import base64
import json
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from merger import report as rp
from merger.cli import app
from merger.errors import BadInput
from merger.register import Register

BEFORE, AFTER = date(2025, 6, 30), date(2025, 7, 1)


@pytest.fixture(scope="module")
def hai_phong(national: Register) -> rp.Report:
    return rp.build(national, within="Hải Phòng")


def test_diff_hai_phong(hai_phong: rp.Report) -> None:
    d = hai_phong.diff
    assert d.counts() == {"merge": 114, "reclassify": 1, "dissolve": 26}
    assert d.by_level("merge") == {"province": 1, "commune": 113}
    assert len(d.divided) == 71
    assert any(v.full_name == "Phường An Lư" for v, _ in d.divided)
    city = d.groups["merge"][0]
    assert city.level == "province" and {v.full_name for v in city.predecessors} == {
        "Tỉnh Hải Dương", "Thành phố Hải Phòng"}


def test_diff_national_and_backwards(national: Register) -> None:
    d = rp.diff(national, BEFORE, AFTER)
    assert d.by_level("dissolve") == {"district": 691}
    assert sum(d.by_level("merge").values()) + len(d.groups["move"]) + len(d.groups["split"]) > 3_300
    assert rp.diff(national, AFTER, BEFORE).counts() == d.counts()
    assert rp.diff(national, AFTER, date(2025, 12, 31)).total == 0


def test_report_html_is_self_contained_with_figures(hai_phong: rp.Report, national: Register, tmp_path: Path) -> None:
    out = rp.write(hai_phong, national.snapshot, tmp_path / "hp.html")
    text = out.read_text(encoding="utf-8")
    assert "374 → 114" in text and "27 → 0" in text and "2 → 1" in text
    assert "Merges" in text and "Dissolutions" in text and ">114<" in text and ">26<" in text
    assert not re.search(r"(src|href)=\"https?:", text)  # nothing fetched from the network
    png = base64.b64decode(re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text).group(1))  # type: ignore[union-attr]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert len(hai_phong.new_units) == 115
    for nu in hai_phong.new_units:
        assert f"<td>{nu.version.code}</td>" in text
    an_lu = next(nu for nu in hai_phong.new_units if nu.version.key == "11533@2025-07-01")
    assert {r.target.full_name for r, _ in an_lu.predecessors if r.target} >= {"Phường An Lư"}
    assert any(div for _, div in an_lu.predecessors)


def test_report_markdown_and_bad_suffix(hai_phong: rp.Report, national: Register, tmp_path: Path) -> None:
    text = rp.write(hai_phong, national.snapshot, tmp_path / "hp.md", chart=False).read_text(encoding="utf-8")
    assert "| **Communes** | 374 | 114 | -260 |" in text and "### Merges (114)" in text
    with pytest.raises(BadInput):
        rp.write(hai_phong, national.snapshot, tmp_path / "hp.pdf")
    with pytest.raises(BadInput):
        rp.build(national, start=AFTER, end=BEFORE)


def test_cli_diff_and_report(national_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["--db", str(national_path), "diff", "--within", "Hải Phòng", "--json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["counts"] == {"merge": 114, "reclassify": 1, "dissolve": 26} and len(data["divided"]) == 71
    out = tmp_path / "hp.html"
    res = runner.invoke(app, ["--db", str(national_path), "report", "--within", "Hải Phòng", "--out", str(out)])
    assert res.exit_code == 0, res.stderr
    assert out.stat().st_size > 50_000 and "115 new units" in res.stdout
    res = runner.invoke(app, ["--db", str(national_path), "report", "--out", str(tmp_path / "x.txt")])
    assert res.exit_code == 1 and res.stderr.startswith("Error:")
