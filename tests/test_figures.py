"""The official figures, checked on the bundled national register (not on a toy)."""

from __future__ import annotations

import json

import pytest

from clirunner import CliRunner
from merger.cli import app

NATIONAL = {
    ("province", None): (63, 34),
    ("district", None): (696, 0),
    ("district", "huyện"): (508, 0),
    ("district", "thành phố"): (87, 0),
    ("district", "thị xã"): (52, 0),
    ("district", "quận"): (49, 0),
    ("commune", None): (10_035, 3_321),
    ("commune", "xã"): (7_695, 2_621),
    ("commune", "phường"): (1_724, 687),
    ("commune", "thị trấn"): (616, 0),
    ("commune", "đặc khu"): (0, 13),
}

HAI_PHONG = {
    ("province", None): (2, 1),
    ("district", None): (27, 0),
    ("commune", None): (374, 114),
    ("commune", "xã"): (232, 67),
    ("commune", "phường"): (125, 45),
    ("commune", "thị trấn"): (17, 0),
    ("commune", "đặc khu"): (0, 2),
}


def _table(rows) -> dict:  # type: ignore[no-untyped-def]
    return {(r["level"], r["type"]): (r["before"], r["after"]) for r in rows}


@pytest.mark.parametrize(("within", "expected"), [(None, NATIONAL), ("Hải Phòng", HAI_PHONG)])
def test_counts_reproduce_official_figures(national, within, expected) -> None:  # type: ignore[no-untyped-def]
    result = national.counts(within=within)
    got = {(r.level, r.type): (r.before, r.after) for r in result.rows}
    for key, value in expected.items():
        assert got[key] == value, key


def test_hai_phong_district_types_sum_to_27(national) -> None:  # type: ignore[no-untyped-def]
    result = national.counts(within="Hải Phòng")
    types = {r.type: r.before for r in result.rows if r.level == "district" and r.type}
    assert set(types) <= {"quận", "huyện", "thị xã", "thành phố"}
    assert sum(types.values()) == 27


def test_hai_phong_district_split_by_old_province(national) -> None:  # type: ignore[no-untyped-def]
    """MANIFEST: Hải Dương 12, Hải Phòng 15 district-level units (Bạch Long Vĩ had no communes)."""
    before = national.units(as_of=__import__("datetime").date(2025, 6, 30), within="Tỉnh Hải Dương", level="district")
    assert len(before) == 12
    old_hp = national.units(as_of=__import__("datetime").date(2025, 6, 30), within="31@..2025-06-30",
                            level="district")
    assert len(old_hp) == 15


@pytest.mark.parametrize("fmt", ["--json", "--csv"])
def test_counts_cli_machine_output(national_path, fmt) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["--db", str(national_path), "counts", "--within", "hai phong", fmt])
    assert result.exit_code == 0, result.output
    if fmt == "--json":
        got = _table(json.loads(result.stdout)["rows"])
        assert got[("commune", None)] == (374, 114)
        assert got[("commune", "đặc khu")] == (0, 2)
    else:
        lines = result.stdout.strip().splitlines()
        assert lines[0] == "level,type,before,after,change"
        assert "commune,,374,114,-260" in lines


def test_counts_table_shows_the_figures(national_path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["--db", str(national_path), "counts"])
    assert result.exit_code == 0
    for figure in ("10,035", "3,321", "7,695", "2,621", "1,724", "687", "616", "696", "63", "34"):
        assert figure in result.stdout


def test_counts_between_any_two_dates(national) -> None:  # type: ignore[no-untyped-def]
    """Two dates on the same side of the reform: nothing changes."""
    from datetime import date

    result = national.counts(before=date(2025, 7, 2), after=date(2026, 1, 1))
    assert all(r.before == r.after for r in result.rows)
    assert result.total("commune").after == 3_321
