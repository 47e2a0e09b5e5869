"""Output that pipes cleanly: no wrapping or cutting when piped, keys whole at any width, flat change lists."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from clirunner import CliRunner
from merger.changes import COLUMNS
from merger.cli import app
from merger.cli.common import key_column, print_table


@pytest.fixture
def run(national_path):  # type: ignore[no-untyped-def]
    def invoke(*args: str, **kw):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["--db", str(national_path), *args], **kw)

    return invoke


# --- piped output: no wrapping, no truncation ---------------------------------------------------


def test_piped_agency_codes_are_not_cut(run) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: "31.so-con…" — agency codes cut at 80 columns when piped."""
    result = run("units", "--level", "agency", "--within", "Hải Phòng", "--as-of", "2025-06-30")
    assert result.exit_code == 0
    assert "…" not in result.stdout.replace("│ …", "")  # "…" only as an open start date
    for code in ("31.so-cong-thuong", "30.ban-quan-ly-cac-khu-cong-nghiep-tinh-hai-duong"):
        assert any(code in line for line in result.stdout.splitlines())
    assert any("Ban Quản lý các Khu công nghiệp tỉnh Hải Dương" in line for line in result.stdout.splitlines())


def test_piped_event_ids_are_whole(run) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: "E20080401-…" — event ids, which revoke/amend need, cut in `log`."""
    result = run("log", "--all", "--act", "1459/QĐ-TTg")
    assert result.exit_code == 0
    line = next(x for x in result.stdout.splitlines() if "E20250701-" in x)
    assert "E20250701-A31.ban-quan-ly-khu-kinh-te-hai-phong" in line and "1459/QĐ-TTg" in line


def test_piped_lineage_keeps_each_citation_on_one_line(run) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: citations split across lines when the tree was piped to a file."""
    out = run("lineage", "An Lư").stdout
    cited = [x for x in out.splitlines() if "1669/NQ-UBTVQH15" in x]
    assert len(cited) == 2
    assert all("khoản" in x and "2025-07-01" in x and "partial transfer · part" in x for x in cited)
    lines = run("lineage", "Văn phòng Ủy ban nhân dân tỉnh").stdout.splitlines()  # lines of 100+ characters
    assert any("Thành phố Hải Phòng 31.van-phong-uy-ban-nhan-dan-thanh-pho@2025-07-01" in x for x in lines)
    assert any("merge · whole unit · 2025-07-01 (inferred: agencies/" in x and "SOURCES.txt)" in x for x in lines)


@settings(max_examples=25, deadline=None)
@given(width=st.integers(min_value=20, max_value=220))
def test_keys_are_never_cut_at_any_terminal_width(width: int) -> None:
    keys = ["E20080401-A31.ban-quan-ly-khu-kinh-te-hai-phong", "31.so-cong-thuong", "11533@..2025-06-30"]
    table = Table(title="t")
    key_column(table, "Key")
    table.add_column("Name")
    table.add_column("Note")
    for k in keys:
        table.add_row(k, "Ban Quản lý các Khu công nghiệp tỉnh Hải Dương", "a long note " * 8)
    buf = io.StringIO()
    print_table(table, Console(file=buf, width=width, color_system=None))
    lines = buf.getvalue().splitlines()
    for k in keys:
        assert any(k in line for line in lines), (width, k)
    # the other columns wrapped instead: every name word is still there
    assert "Dương" in buf.getvalue()


@settings(max_examples=15, deadline=None)
@given(width=st.integers(min_value=20, max_value=120))
def test_lineage_tree_keys_are_never_split_at_any_terminal_width(width: int) -> None:
    from rich.tree import Tree

    key = "31.van-phong-uy-ban-nhan-dan-thanh-pho@2025-07-01"
    tree = Tree("Văn phòng Ủy ban nhân dân tỉnh, Tỉnh Hải Dương 30.van-phong-uy-ban-nhan-dan-tinh@..2025-06-30")
    tree.add(f"→ Văn phòng Ủy ban nhân dân thành phố, Thành phố Hải Phòng {key}\n  merge · whole unit · 2025-07-01")
    buf = io.StringIO()
    print_table(tree, Console(file=buf, width=width, color_system=None))
    lines = buf.getvalue().splitlines()
    assert any(key in line for line in lines) and any("30.van-phong-uy-ban-nhan-dan-tinh@..2025-06-30" in x
                                                      for x in lines)


# --- the flat change list ---------------------------------------------------------------------


def test_changes_csv_one_row_per_link(run, national) -> None:  # type: ignore[no-untyped-def]
    result = run("changes", "--from", "2025-06-30", "--to", "2025-07-01", "--within", "Hải Phòng", "--csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == COLUMNS
    an_lu = [r for r in rows if r["old_name"] == "Phường An Lư"]
    assert {r["new_name"] for r in an_lu} == {"Phường Hòa Bình", "Phường Thủy Nguyên"}
    assert {(r["portion"], r["act"], r["clause"]) for r in an_lu} == {("part", "1669/NQ-UBTVQH15", "3"),
                                                                      ("part", "1669/NQ-UBTVQH15", "1")}
    assert all(r["old_parent"] == "Thành phố Thuỷ Nguyên, Thành phố Hải Phòng" for r in an_lu)
    # every new commune of Hải Phòng has its links, and every old commune of the territory too
    counts = national.counts(within="Hải Phòng")
    new_communes = {r["new_code"] for r in rows if r["new_level"] == "commune"}
    old_communes = {r["old_code"] for r in rows if r["old_level"] == "commune"}
    assert len(new_communes) == counts.total("commune").after
    assert len(old_communes) == counts.total("commune").before


def test_changes_json_and_kind(run) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(run("changes", "--kind", "agency", "--json").stdout)
    assert rows and all(r["new_level"] == "agency" or r["old_level"] == "agency" for r in rows)
    assert len({r["old_key"] for r in rows}) == 27 - 1  # every old agency but the unchanged Sở Ngoại vụ
    assert run("changes", "--kind", "village").exit_code == 2  # a usage error


def test_changes_table_and_aliases(run) -> None:  # type: ignore[no-untyped-def]
    a = run("changes", "--before", "2025-06-30", "--after", "2025-07-01", "--within", "Vĩnh Bảo", "--csv").stdout
    b = run("changes", "--from", "2025-06-30", "--to", "2025-07-01", "--within", "Vĩnh Bảo", "--csv").stdout
    assert a == b and a.count("\n") > 10
    table = run("changes", "--within", "Vĩnh Bảo").stdout
    assert "E20250701-C" in table and "1669/NQ-UBTVQH15" in table


def test_lineage_csv_has_the_change_columns(run) -> None:  # type: ignore[no-untyped-def]
    result = run("lineage", "An Lư", "--csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["depth", "direction", *COLUMNS]
    assert {r["new_name"] for r in rows} == {"Phường Hòa Bình", "Phường Thủy Nguyên"}
    assert {r["depth"] for r in rows} == {"1"} and {r["direction"] for r in rows} == {"forward"}
    assert run("lineage", "An Lư", "--csv", "--json").exit_code == 2


# --- pictures and geometry findings -----------------------------------------------------------


def test_diagram_footer_is_wrapped_inside_the_picture(national) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: the footer (the acts cited) ran off the picture's right edge."""
    from merger import diagram

    plt = diagram.pyplot("test")
    acts = sorted({e.act.number for e in national.snapshot.events.values() if e.act is not None})
    text = "Solid arrow: whole unit; dashed: part of it. " + "; ".join(f"2025-07-01: {a}" for a in acts[:8])
    fig = plt.figure(figsize=(4.0, 3.0), dpi=110)
    try:
        band = diagram.footer(fig, text)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        box = fig.texts[-1].get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= fig.bbox.x1 and box.y0 >= 0  # inside the picture
        assert box.y1 <= band * fig.bbox.height + 1  # and inside the band the layout leaves free
        assert fig.texts[-1].get_text().count("\n") >= 2  # wrapped, not cut
    finally:
        plt.close(fig)


@settings(max_examples=60, deadline=None)
@given(share=st.floats(min_value=0, max_value=1))
def test_map_legend_never_says_zero_percent(share: float) -> None:
    pytest.importorskip("geopandas")
    from merger.geo.maps import share_text

    text = share_text(share)
    assert text not in ("0%", "0.0%") and text.endswith("%")


def test_over_only_for_units_above_their_official_area(run) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("geopandas")
    out = run("boundaries", "check", "--within", "Hải Phòng", "--as-of", "2025-07-01").stdout
    rows = [line for line in out.splitlines() if line.count("│") == 6 and "%" in line]
    assert rows
    for line in rows:
        diff, status = (c.strip() for c in line.split("│")[4:6])
        if status in ("over", "under"):
            assert (status == "over") == diff.startswith("+"), line
    assert any("Đặc khu Cát Hải" in x and "under" in x for x in rows)


_CELL = st.one_of(st.text(max_size=8), st.sampled_from(["=1+1", "+x", "-12.5", "@a", "\tb", "\rc", "a\x00=b", "", "\x00"]),
                  st.integers(), st.none(), st.floats(allow_nan=False))


@settings(max_examples=400, deadline=None)
@given(st.lists(_CELL, max_size=14), st.booleans())
def test_safe_cells_is_safe_cell_on_every_cell(row: list, raw: bool) -> None:
    """resolve --file's row-at-a-time test for formula cells gives what safe_cell gives per cell."""
    from merger.outputs import safe_cell, safe_cells

    assert safe_cells(row, raw) == [safe_cell(c, raw) for c in row]
