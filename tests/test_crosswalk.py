"""Crosswalks: official pairs, share sums, recorded weights and fallbacks, chains, back-casting."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from clirunner import CliRunner
from factories import Builder, old_order, reclassify_later
from merger import crosswalk as cx
from merger.cli import app
from merger.errors import BadInput
from merger.register import Register

ROOT = Path(__file__).resolve().parent.parent
BEFORE, AFTER, LATER = date(2025, 6, 30), date(2025, 7, 1), date(2026, 7, 1)


def chain_reform() -> Builder:
    """2025: A, B whole and part of C form Xã An Bình; the rest of C and Thị trấn Đông form Xã Đông
    (C's whole population went to An Bình: "toàn bộ dân số"). 2026: Xã An Bình becomes a phường."""
    b = Builder()
    b.act("1/TEST")
    b.act("2/TEST", signed="2026-05-01")
    k = old_order(b)
    n1 = b.version("00001", "Xã An Bình", "xã", "commune", parent=k["p2"], valid_from="2025-07-01")
    n2 = b.version("00004", "Xã Đông", "xã", "commune", parent=k["p2"], valid_from="2025-07-01")
    b.event("E-1", "merge", "2025-07-01", [(k["a"], n1, "whole", "whole"), (k["b"], n1, "whole", "whole"),
                                            (k["c"], n1, "part", "part_area_all_population", 1, "population")],
            act="1/TEST", clause="1")
    b.event("E-2", "merge", "2025-07-01", [(k["d"], n2, "whole", "whole"), (k["c"], n2, "part", "part_area")],
            act="1/TEST", clause="2")
    n1b = reclassify_later(b, n1, "Phường An Bình", "phường", "2026-07-01", "2/TEST")
    for key, area, pop in ((n1, "10", "1000"), (n2, "30", "3000"), (n1b, "10", "1000")):
        b.rows["statistics"].append(dict(version=key, area_km2=area, population=pop, seat="", lon="", lat="",
                                         source="factory"))
    return b


@pytest.fixture
def chain(build) -> Register:  # type: ignore[no-untyped-def]
    return build(chain_reform())


def shares(cw: cx.Crosswalk) -> dict[tuple[str, str | None], cx.Row]:
    return {(r.source.key, r.target.key if r.target else None): r for r in cw.rows}


def sums(cw: cx.Crosswalk) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for r in cw.rows:
        out[r.source.key] += r.share
    return out


# --- a factory register: chains, weights, back-casting ------------------------------------------


def test_chain_across_two_events(chain: Register) -> None:
    cw = cx.crosswalk(chain, BEFORE, LATER)
    got = shares(cw)
    assert len(cw.sources) == 4 and {v.key for v in cw.targets} == {"00001@2026-07-01", "00004@2025-07-01"}
    row = got[("00001@..2025-06-30", "00001@2026-07-01")]
    assert row.share == 1.0 and row.basis == "whole" and row.events == ("E-1", "E-R-00001")
    # all of C's population went to An Bình (recorded), none to Đông: a zero row, still listed
    assert got[("00003@..2025-06-30", "00001@2026-07-01")].share == 1.0
    assert got[("00003@..2025-06-30", "00001@2026-07-01")].basis == "recorded-population"
    assert got[("00003@..2025-06-30", "00004@2025-07-01")].share == 0.0
    assert all(abs(s - 1) < 1e-12 for s in sums(cw).values())


def test_no_dissolution_rows_for_communes(chain: Register) -> None:
    cw = cx.crosswalk(chain, BEFORE, AFTER)
    assert all(r.target is not None for r in cw.rows)
    recorded = cx.crosswalk(chain, BEFORE, AFTER, level="district", overlay=False)
    assert [(r.target, r.basis, r.share) for r in recorded.rows] == [(None, "dissolved", 1.0)] * 2


def test_district_without_geometry_goes_through_its_communes(chain: Register) -> None:
    """A factory register is not the bundled one: the bundled overlay (whose keys it reuses) is not
    applied, and each district is carried through its communes, each commune one unit."""
    cw = cx.crosswalk(chain, BEFORE, AFTER, level="district")
    got = shares(cw)
    assert {v.key for v in cw.targets} == {"00001@2025-07-01", "00004@2025-07-01"}
    # Huyện Một: Xã An and Xã Bình, both whole into Xã An Bình
    assert got[("001@..2025-06-30", "00001@2025-07-01")].share == 1.0
    # Huyện Hai: Thị trấn Đông whole into Đông, Xã Hòa Bình's population wholly into An Bình
    assert got[("002@..2025-06-30", "00001@2025-07-01")].share == pytest.approx(0.5)
    assert got[("002@..2025-06-30", "00004@2025-07-01")].share == pytest.approx(0.5)
    row = got[("002@..2025-06-30", "00004@2025-07-01")]
    assert "fallback-equal-size-communes" in row.basis and row.reason == "district-without-geometry:002@..2025-06-30"
    assert all(abs(s - 1) < 1e-12 for s in sums(cw).values())
    assert cw.fallbacks() == {"district-without-geometry": 3}


@pytest.mark.parametrize(("weights", "to_an_binh", "basis"), [
    ("area", (10 / 3) / (10 / 3 + 30 / 2), "fallback-successor-area"),
    ("equal", 0.5, "fallback-equal"),
])
def test_fallbacks_when_no_weight_is_recorded(chain: Register, weights: str, to_an_binh: float,
                                               basis: str) -> None:
    cw = cx.crosswalk(chain, BEFORE, AFTER, weights=weights)
    got = shares(cw)
    row = got[("00003@..2025-06-30", "00001@2025-07-01")]
    assert row.share == pytest.approx(to_an_binh) and row.basis == basis and not row.exact
    assert got[("00003@..2025-06-30", "00004@2025-07-01")].share == pytest.approx(1 - to_an_binh)
    assert got[("00001@..2025-06-30", "00001@2025-07-01")].basis == "whole"


def test_backcasting_chain(chain: Register) -> None:
    cw = cx.crosswalk(chain, LATER, BEFORE)
    got = shares(cw)
    assert not cw.forward and {v.key for v in cw.sources} == {"00001@2026-07-01", "00004@2025-07-01"}
    for old in ("00001", "00002", "00003"):  # three predecessors carried equally
        assert got[("00001@2026-07-01", f"{old}@..2025-06-30")].share == pytest.approx(1 / 3)
    # Đông got none of C's population (recorded), so all of it comes from Thị trấn Đông
    assert got[("00004@2025-07-01", "00004@..2025-06-30")].share == 1.0
    assert got[("00004@2025-07-01", "00003@..2025-06-30")].share == 0.0
    assert got[("00004@2025-07-01", "00003@..2025-06-30")].basis == "recorded-population"
    assert all(abs(s - 1) < 1e-12 for s in sums(cw).values())


def test_same_date_is_identity_and_bad_options_refused(chain: Register) -> None:
    cw = cx.crosswalk(chain, AFTER, AFTER)
    assert all(r.target is r.source and r.share == 1.0 for r in cw.rows)
    with pytest.raises(BadInput):
        cx.crosswalk(chain, BEFORE, AFTER, weights="households")
    with pytest.raises(BadInput):
        cx.crosswalk(chain, BEFORE, AFTER, level="hamlet")


# --- the national register -----------------------------------------------------------------------


def official_links() -> list[dict[str, str]]:
    with (ROOT / "data" / "units" / "links.csv").open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["event"].startswith("E20250701-C")]


@pytest.fixture(scope="module")
def national_cw(national: Register) -> cx.Crosswalk:
    return cx.crosswalk(national, BEFORE, AFTER)


def test_national_crosswalk_contains_every_official_pair(national: Register, national_cw: cx.Crosswalk) -> None:
    snap = national.snapshot
    assert len(national_cw.sources) == 10_035 and len(national_cw.targets) == 3_321
    pairs = {(r.source.key, r.target.key) for r in national_cw.rows if r.target is not None}
    links = official_links()
    # the table's 10,571 pairs and 2 links the clauses state and the table omits (Trường bắn TB1 ->
    # Xã Biên Sơn, part of Hòa Thắng -> Xã Hồng Thái; see IMPORT_REPORT.txt)
    assert len(links) == 10_573
    commune_pairs = [(x["predecessor"], x["successor"]) for x in links
                     if snap.by_key[x["predecessor"]].level == "commune"]
    assert len(commune_pairs) == 10_566
    assert set(commune_pairs) <= pairs and len(pairs) == 10_566
    # the other six rows come from districts: five whole districts became special zones, and a
    # district-managed area went to Xã Kim Đông; those zones are reached by no commune
    others = [x for x in links if snap.by_key[x["predecessor"]].level == "district"]
    assert len(others) == 7  # + Trường bắn TB1, a firing range outside any commune (1658 khoản 34)
    assert {v.key for v in national_cw.unreached()} == {
        x["successor"] for x in others if x["relation"] == "district_to_special_zone"}


def test_national_crosswalk_against_raw_nso_table(national_cw: cx.Crosswalk, sources: Path) -> None:
    # the three old-code typos the importer corrects: the code names another commune, the name is right
    typos = {("00553", "Xã Đặng Xá"): "00556", ("01615", "Xã Mỹ Hưng"): "01651",
             ("02485", "Xã Phú Thịnh"): "02482"}
    with (sources / "lineage" / "nso_BangChuyendoiDVHCmoi_cu_khong_merge.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))[2:]
    pairs = [(typos.get((r[4].strip(), r[3].strip()), r[4].strip()), r[2].strip())
             for r in rows if len(r) > 4 and r[1].strip()]
    assert len(pairs) == 10_571
    with_commune = [p for p in pairs if p[0]]
    assert len(pairs) - len(with_commune) == 6  # five special zones and one district-managed area
    ours = {(r.source.code, r.target.code) for r in national_cw.rows if r.target is not None}
    assert set(with_commune) <= ours and len(set(with_commune)) == len(with_commune) == 10_565


def test_national_shares_sum_to_one_both_ways(national: Register, national_cw: cx.Crosswalk) -> None:
    assert all(abs(s - 1) < 1e-9 for s in sums(national_cw).values())
    split = national_cw.split_sources()
    assert len(split) == 441  # 440 in the table + Hòa Thắng (part of it to Xã Hồng Thái, 1671 khoản 46)
    bases = {r.basis for r in national_cw.rows}
    assert {"whole", "recorded-population", "fallback-successor-population"} <= bases
    back = cx.crosswalk(national, AFTER, BEFORE)
    assert len(back.sources) == 3_321 and all(abs(s - 1) < 1e-9 for s in sums(back).values())
    # a special zone back-casts onto its whole district
    got = shares(back)
    assert got[("11948@2025-07-01", "318@..2025-06-30")].share == 1.0


def test_within_hai_phong_reads_the_new_city(national: Register) -> None:
    cw = cx.crosswalk(national, BEFORE, AFTER, within="Hải Phòng")
    assert (len(cw.sources), len(cw.targets), len(cw.rows)) == (374, 114, 450)
    assert [v.full_name for v in cw.unreached()] == ["Đặc khu Bạch Long Vĩ"]
    an_lu = [r for r in cw.rows if r.source.key == "11533@..2025-06-30"]
    assert {r.target.full_name for r in an_lu if r.target} == {"Phường Hòa Bình", "Phường Thủy Nguyên"}


def test_cli_crosswalk_csv_and_json(national_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["--db", str(national_path), "crosswalk", "--within", "Hải Phòng", "--csv"])
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(res.stdout.splitlines()))
    assert len(rows) == 450 and {"share", "basis", "from_key", "to_key"} <= set(rows[0])
    res = runner.invoke(app, ["--db", str(national_path), "crosswalk", "--within", "Hải Phòng", "--json",
                              "--from", "1/7/2025", "--to", "30/6/2025", "--weights", "equal"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["sources"] == 114 and data["weights"] == "equal"
    res = runner.invoke(app, ["--db", str(national_path), "crosswalk", "--weights", "votes"])
    assert res.exit_code == 1 and res.stderr.startswith("Error:")
