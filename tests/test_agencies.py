"""Hải Phòng's agencies as real bundled data: 25 -> 13 departments, 2 -> 1 boards, with evidence."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from clirunner import CliRunner
from merger import bundle
from merger.cli import app
from merger.importers import agencies
from merger.register import Register

BUNDLED = bundle.units_dir() / bundle.AGENCY_DIR


def test_counts_within_hai_phong(national: Register, national_path: Path) -> None:
    c = national.counts(within="Hải Phòng", kind="agency")
    dept, board = c.get("agency", agencies.DEPARTMENT), c.get("agency", agencies.BOARD)
    assert dept is not None and (dept.before, dept.after) == (25, 13)
    assert board is not None and (board.before, board.after) == (2, 1)
    res = CliRunner().invoke(app, ["--db", str(national_path), "counts", "--kind", "agency", "--within",
                                   "Hải Phòng", "--csv"])
    assert res.exit_code == 0, res.stderr
    assert "agency,sở và tương đương,25,13,-12" in res.stdout and "agency,ban quản lý,2,1,-1" in res.stdout


def test_agencies_do_not_change_the_admin_counts(national: Register) -> None:
    c = national.counts(within="Hải Phòng")
    assert (c.total("commune").before, c.total("commune").after) == (374, 114)
    assert national.counts().total("province").after == 34


def test_every_agency_record_has_evidence_and_source(national: Register) -> None:
    found = [v for v in national.snapshot.versions.values() if v.kind == "agency"]
    assert len(found) == 50
    assert all(v.evidence in ("stated", "inferred") and v.source for v in found)
    events = {lk.event.key: lk.event for v in found for lk in national.snapshot.predecessors(v)}
    assert len(events) == 18 and all(e.evidence in ("stated", "inferred") and e.source for e in events.values())
    board = next(e for e in events.values() if e.act is not None)
    assert board.act.number == "1459/QĐ-TTg" and board.evidence == "inferred"  # the date is inferred


def test_foreign_affairs_is_kept_and_the_others_merge_pairwise(national: Register) -> None:
    snap = national.snapshot
    ngoai_vu = national.resolve("Sở Ngoại vụ").version
    assert ngoai_vu.valid_from is None and ngoai_vu.valid_to is None and not snap.predecessors(ngoai_vu)
    noi_vu = national.resolve("Sở Nội vụ", as_of=date(2025, 7, 1)).version
    preds = {snap.parent_of(lk.pred).full_name for lk in snap.predecessors(noi_vu) if lk.pred}
    assert preds == {"Thành phố Hải Phòng", "Tỉnh Hải Dương"}
    assert national.resolve("Văn phòng Ủy ban nhân dân tỉnh").version.valid_to == date(2025, 6, 30)


def test_show_and_lineage_display_evidence(national_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["--db", str(national_path), "lineage", "Sở Nội vụ", "--as-of", "2025-07-01"])
    assert res.exit_code == 0, res.stderr
    assert "Tỉnh Hải Dương" in res.stdout and "inferred" in res.stdout
    res = runner.invoke(app, ["--db", str(national_path), "show", "Sở Y tế", "--as-of", "2025-07-01", "--json"])
    assert res.exit_code == 0, res.stderr
    assert '"evidence": "stated"' in res.stdout


def test_importer_reproduces_the_bundled_files(sources: Path, tmp_path: Path) -> None:
    report = agencies.run(sources, tmp_path)
    assert "12 departments merged pairwise, 1 kept: 25 -> 13" in report.lines
    assert "30@..2025-06-30: 10 departments merged into 5 on 2025-03-01 (agency_history)" in report.lines
    # The seed's subordinate figures are said, with how many named records back them (none yet).
    assert sum("backed by named records: 0" in line for line in report.lines) == 4
    for name in bundle.AGENCY_FILES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (BUNDLED / f"{name}.csv").read_bytes(), name


def test_agencies_are_recorded_with_the_same_events(national_copy: Register) -> None:
    """Staff record an agency change like any other: here a rename, on a copy of the register."""
    from merger.events import Spec

    reg = national_copy
    reg.record(Spec("establish", date(2025, 8, 1), into=["Chi cục Ví dụ"], unit_type="chi cục",
                    parent="Sở Y tế"), by="t")
    reg.record(Spec("rename", date(2025, 9, 1), units=["Chi cục Ví dụ"], to="Chi cục Ví dụ Mới"), by="t")
    assert reg.check() == []
    v = reg.resolve("Chi cục Ví dụ Mới").version
    assert v.kind == "agency" and reg.snapshot.parent_of(v).full_name == "Sở Y tế"


def test_hai_duong_departments_merged_on_1_march_2025(national: Register, national_path: Path) -> None:
    """The March 2025 step (agency_history): Hải Dương's 10 departments merged into 5, 17 -> 12."""
    c = national.counts(within="Hải Phòng", kind="agency", before=date(2025, 2, 28), after=date(2025, 3, 1))
    dept = c.get("agency", agencies.DEPARTMENT)
    assert dept is not None and (dept.before, dept.after) == (30, 25)  # old Hải Phòng's 13 unchanged
    c = national.counts(within="Hải Dương", kind="agency", before=date(2025, 2, 28), after=date(2025, 3, 1))
    assert (c.get("agency", agencies.DEPARTMENT).before, c.get("agency", agencies.DEPARTMENT).after) == (17, 12)
    snap = national.snapshot
    labour = national.resolve("Sở Lao động - Thương binh và Xã hội").version
    assert labour.valid_to == date(2025, 2, 28) and labour.evidence == "stated"
    (link,) = snap.successors(labour)
    assert link.succ.key == "30.so-noi-vu@2025-03-01" and link.event.effective == date(2025, 3, 1)
    assert "laodong" in link.event.source and "chưa thấy" in link.event.note  # the resolution number is unknown
    # ... and that Sở Nội vụ is one of the two that formed Hải Phòng's on 1 July 2025.
    (july,) = snap.successors(link.succ)
    assert july.succ.key == "31.so-noi-vu@2025-07-01"
    res = CliRunner().invoke(app, ["--db", str(national_path), "counts", "--kind", "agency", "--within",
                                   "Hải Phòng", "--before", "2025-02-28", "--after", "2025-03-01", "--csv"])
    assert res.exit_code == 0, res.stderr
    assert "agency,sở và tương đương,30,25,-5" in res.stdout
