"""Diff and reports: Hải Phòng's figures in the grouped events and in the rendered files."""

from __future__ import annotations

import base64
import json
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clirunner import CliRunner
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


def _hostile_rename(reg: Register) -> rp.Report:
    """A real unit renamed, by a recorded decision, to a name full of markup; the report covers it."""
    from merger.events import Spec

    reg.record(Spec("rename", date(2025, 9, 1), units=["Phường Hòa Bình, Hải Phòng"],
                    # no slash: a name with one reads as carrying a parent qualifier and is refused
                    to="Phường <b>Hòa <script>alert(1) | *x* [y](z)",
                    act="9/NQ-<i>HĐND</i>", clause="1"), by="t")
    return rp.build(reg, within="Hải Phòng", start=AFTER, end=date(2025, 9, 1))


def test_report_markdown_escapes_every_value(national_copy: Register, tmp_path: Path) -> None:
    """Issue 10 item 10: `report --out x.md` must not pass <script> or <b> (nor table-breaking |) through."""
    r = _hostile_rename(national_copy)
    assert r.diff.counts() == {"rename": 1}
    md = rp.write(r, national_copy.snapshot, tmp_path / "x.md", chart=False).read_text(encoding="utf-8")
    assert "<script>" not in md and "<b>" not in md and "<i>" not in md
    assert "&lt;script&gt;alert(1)" in md and "\\| \\*x\\* \\[y\\](z)" in md
    table = [line for line in md.splitlines() if line.startswith("| ") and "script" in line]
    assert table and all(line.count(" | ") == 6 for line in table)  # the new-unit row keeps its 7 cells
    html = rp.write(r, national_copy.snapshot, tmp_path / "x.html", chart=False).read_text(encoding="utf-8")
    assert "<script>" not in html and "<b>Hòa" not in html and "&lt;script&gt;" in html


def test_report_in_vietnamese(hai_phong: rp.Report, national: Register, tmp_path: Path) -> None:
    """The page declares its language; labels, dates and numbers are Vietnamese."""
    from merger import i18n

    assert '<html lang="en">' in rp.to_html(hai_phong, national.snapshot, None)
    with i18n.use("vi"):
        r = rp.build(national, within="Hải Phòng")
        html = rp.to_html(r, national.snapshot, None)
        md = rp.to_markdown(r, national.snapshot, None)
    assert '<html lang="vi">' in html
    assert r.title == "Đơn vị hành chính 30/6/2025 → 01/7/2025 — Thành phố Hải Phòng"
    assert "374 → 114" in html and "Sáp nhập" in html and "Giải thể" in html and "Căn cứ pháp lý" in html
    assert "| **Cấp xã** | 374 | 114 | -260 |" in md and "### Sáp nhập (114)" in md
    for english in ("Merges", "Level / type", "Generated", "New unit", "whole", "(part)"):
        assert english not in html + md


def test_cli_report_vietnamese(national_path: str, tmp_path: Path) -> None:
    out = tmp_path / "hp.html"
    res = CliRunner().invoke(app, ["--db", national_path, "--lang", "vi", "report", "--within", "Hải Phòng",
                                   "--out", str(out), "--no-chart"])
    assert res.exit_code == 0, res.stderr
    assert "115 đơn vị mới" in res.stdout and '<html lang="vi">' in out.read_text(encoding="utf-8")


@given(st.text(max_size=60))
def test_md_escape_leaves_no_markup(text: str) -> None:
    """Whatever a value holds, in Markdown it is one line with no raw HTML tag, entity or cell break."""
    out = rp.md_escape(text)
    assert "\n" not in out and "\r" not in out and "<" not in out and ">" not in out
    assert not re.search(r"(?<!\\)[|*_`\[\]]", out.replace("\\\\", ""))  # every special character escaped
    assert re.sub(r"\\(.)", r"\1", out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")) == (
        text.replace("\n", " ").replace("\r", " "))
