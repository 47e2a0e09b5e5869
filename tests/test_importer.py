"""The importer: reproduces the committed data byte for byte, and reports every fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from merger import bundle
from merger.importers import nso

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):  # type: ignore[no-untyped-def]
    src = ROOT.parent / "shared" / "data" / "sources"
    if not (src / "MANIFEST.md").exists():
        pytest.skip(f"raw sources not present at {src}")
    out = tmp_path_factory.mktemp("units")
    report = nso.run(src, out)
    return out, report


def test_reimport_is_byte_identical(rebuilt) -> None:  # type: ignore[no-untyped-def]
    out, _ = rebuilt
    for name in [*bundle.BUNDLE_FILES, "IMPORT_REPORT"]:
        suffix = ".txt" if name == "IMPORT_REPORT" else ".csv"
        assert (out / f"{name}{suffix}").read_bytes() == (ROOT / "data/units" / f"{name}{suffix}").read_bytes(), name


def test_known_source_defects_are_fixed_loudly(rebuilt) -> None:  # type: ignore[no-untyped-def]
    _, report = rebuilt
    fixes = {rule: items for rule, items in report.fixes.items()}
    typos = next(items for rule, items in fixes.items() if rule.startswith("old-code typo"))
    assert sorted(t.split(": ")[1].split(" ")[0:3] for t in typos) == [
        ["00553", "->", "00556"], ["01615", "->", "01651"], ["02485", "->", "02482"]]
    assert any("Nhâp" in rule for rule in fixes)
    casing = next(items for rule, items in fixes.items() if rule.startswith("type-word casing"))
    assert any("Kinh Môn" in item for item in casing) or any("Thị Xã" in item for item in casing)
    specials = next(items for rule, items in fixes.items() if "special zone" in rule)
    assert len(specials) == 5 and any("Bạch Long Vĩ" in s for s in specials)
    assert report.figures == {
        "old_provinces": 63, "old_districts": 696, "old_communes": 10_035, "new_provinces": 34,
        "new_communes": 3_321, "pairs": 10_571, "clauses": 3_321, "statistics": 3_355,
        # the 2003-2025 history (tests/test_history.py checks it against every published list)
        "history_lists": 213, "history_versions": 14_430, "history_events": 4_085, "history_acts": 436,
        "history_acts_certain": 373, "history_acts_uncertain": 3_150, "history_acts_none": 562,
        "history_successor_unknown": 951, "history_origin_unknown": 716, "history_inferred_links": 278,
        "reported_after_2025": 25,  # 3 provinces + 22 communes, all dated by the NSO list and recorded
        # every link against its clause (legal/1654..1687)
        "clause_pairs_checked": 10_419, "clause_pairs_agree": 10_386, "clause_pairs_not_named": 24,
        "clause_portion_differs": 9, "clause_names_omitted": 14, "clause_omissions_recorded": 2,
    }


def test_classify_note_variants() -> None:
    assert nso.classify_note("Nhập một  phần") == ("part", "part")
    assert nso.classify_note("Nhập một phần diện tích, toàn bộ dân số") == ("part", "part_area_all_population")
    assert nso.classify_note("Giữ nguyên ") == ("whole", "unchanged")
    with pytest.raises(Exception, match="unknown NSO note"):
        nso.classify_note("Chia đôi")


def test_failed_import_changes_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "units"
    out.mkdir()
    (out / "versions.csv").write_text("keep me")
    with pytest.raises(Exception, match="not the raw sources folder"):
        nso.run(tmp_path / "nowhere", out)
    assert (out / "versions.csv").read_text() == "keep me"


def test_links_are_checked_against_their_clauses(rebuilt) -> None:  # type: ignore[no-untyped-def]
    """The issue's §3: differences between the conversion table and the clauses are listed one by
    one, and what the clause states unambiguously (a firing range, part of a commune) is recorded."""
    out, report = rebuilt
    omitted = report.listings["unit a clause names that the table omits for that new unit (evidence: the clause)"]
    assert "07537 Xã Biên Sơn (1658/NQ-UBTVQH15 khoản 34): toàn bộ diện tích tự nhiên của Trường bắn TB1" in omitted
    links = (out / "links.csv").read_text(encoding="utf-8")
    assert ("E20250701-C07537,219@..2025-06-30,07537@2025-07-01,part,district_area,,,toàn bộ diện tích tự nhiên "
            "của Trường bắn TB1 (1658/NQ-UBTVQH15 khoản 34)") in links
    differs = report.listings["table pair whose portion differs from its clause (the table's is kept)"]
    assert any("Xã Hòa Thắng table 'Nhập toàn bộ' vs clause 'phần còn lại'" in d for d in differs)
    sums = report.listings["provinces whose communes' populations do not sum to the province's figure within 1% "
                           "(sapnhap)"]
    assert len(sums) == 28 and len(report.listings["communes with no population figure (sapnhap)"]) == 66


def test_clause_predecessors_read_through_conversion_glitches() -> None:
    from merger.importers.legal import clause_predecessors

    text = ("Sắp xếp toàn bộ diện tích tự nhiên, quy mô dân số củathị trấn Mèo Vạc vàcác xã Tả Lủng (huyệnMèo Vạc), "
            "Giàng Chu Phìn, Pả Vi thành xã mới có tên gọi là **xã Mèo Vạc**.")
    assert [n for n, *_ in clause_predecessors(text)] == ["Mèo Vạc", "Tả Lủng", "Giàng Chu Phìn", "Pả Vi"]
    text = ("Sắp xếp toàn bộ diện tích tự nhiên, quy mô dân số của các phường Ngọc Hà, Minh Khai,phần còn lại của "
            "phường Quang Trung sau khi sắp xếp theo quy định tại khoản 110 Điều nàyvà xã Phong Quangthành phường "
            "mới có tên gọi là **phường Hà Giang 2**.")
    found = clause_predecessors(text)
    assert [n for n, *_ in found] == ["Ngọc Hà", "Minh Khai", "Quang Trung", "Phong Quang"]
    assert found[2][1:] == ("part", "phần còn lại")  # the remainder of Quang Trung
