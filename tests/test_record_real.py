"""Issue 9: recording holds up in real use — each failure staff met, on the real bundled register.

Every test that records runs on a private copy of the national register (``national_copy``), on
SQLite and on PostgreSQL; the tests that only read (lineage, units, log) ask the session's
register (``national``), which no test writes.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from clirunner import CliRunner
from factories import count_rows
from merger.cli import app
from merger.errors import BadInput, ValidationFailed
from merger.recording import Spec
from merger.register import Register

MARCH = date(2025, 3, 1)
LDTBXH = "Sở Lao động - Thương binh và Xã hội"
AGENCY = "sở và tương đương"


def run(reg: Register, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--db", reg.url, *args])


def refused(reg: Register, *args: str) -> str:
    """A write that must be refused: one Error line, exit 1, nothing written."""
    before = count_rows(reg, "event"), count_rows(reg, "version"), count_rows(reg, "correction")
    res = run(reg, *args)
    assert res.exit_code == 1, res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in res.stderr, res.stderr
    assert (count_rows(reg, "event"), count_rows(reg, "version"), count_rows(reg, "correction")) == before
    return lines[0]


def establish_ldtbxh(reg: Register) -> str:
    """The department the bundled register does not hold, established as in the issue (2008-04-01)."""
    out = reg.record(Spec("establish", date(2008, 4, 1), into=[LDTBXH], unit_type=AGENCY,
                          parent="Thành phố Hải Phòng", evidence="inferred",
                          note="established before the register's record; date as staff gave it"), by="t")
    return out.events[0]


# --- 1. the March 2025 merger of a department into Sở Nội vụ --------------------------------------


def test_march_2025_merger_into_so_noi_vu_keeps_its_identity_and_the_july_reform(national_copy: Register) -> None:
    reg = national_copy
    # the bundled register holds old Hải Dương's department (merged on 1 March 2025), not Hải Phòng's
    assert {v.code for v in reg.search("Lao động")} <= {"30.so-lao-dong-thuong-binh-va-xa-hoi"}
    march = reg.counts(kind="agency", within="Hải Phòng", before=date(2025, 2, 28), after=MARCH)
    establish_ldtbxh(reg)
    old = reg.snapshot.by_key["31.so-noi-vu@..2025-06-30"]
    july = [lk.event.key for lk in reg.snapshot.successors(old)]
    res = run(reg, "record", "merge", f"{LDTBXH}, Hải Phòng", "--into", "Sở Nội vụ", "-e", "2025-03-01", "--json")
    assert res.exit_code == 0, res.stderr
    snap = reg.snapshot
    after = snap.by_key["31.so-noi-vu@..2025-06-30"]
    assert after.unit_id == old.unit_id and after.code == "31.so-noi-vu"  # identity and code kept
    assert (after.valid_from, after.valid_to) == (MARCH, date(2025, 6, 30))
    earlier = snap.by_key["31.so-noi-vu@..2025-02-28"]  # the earlier state: a version of its own
    assert earlier.unit_id == old.unit_id and earlier.valid_from is None and earlier.valid_to == date(2025, 2, 28)
    assert {lk.pred.key for lk in snap.predecessors(after) if lk.pred} == {
        "31.so-noi-vu@..2025-02-28", "31.so-lao-dong-thuong-binh-va-xa-hoi@2008-04-01"}
    assert [lk.event.key for lk in snap.successors(after)] == july  # the July 2025 merger still stands
    assert reg.check() == []
    c = reg.counts(kind="agency", within="Hải Phòng", before=date(2025, 2, 28), after=MARCH)
    assert (c.total("agency").before, c.total("agency").after) == (march.total("agency").before + 1,
                                                                   march.total("agency").after)
    c = reg.counts(kind="agency", within="Hải Phòng")
    assert (c.total("agency").before, c.total("agency").after) == (27, 14)  # 25 -> 13 and 2 -> 1 unchanged
    # revoking it gives back exactly the state before
    key = json.loads(res.stdout)["events"][0]
    reg.revoke(key, reason="test")
    snap = reg.snapshot
    assert "31.so-noi-vu@..2025-02-28" not in snap.by_key
    assert snap.by_key["31.so-noi-vu@..2025-06-30"].valid_from is None
    assert reg.check() == []


def test_dissolving_with_functions_to_an_existing_department_before_the_reform(national_copy: Register) -> None:
    reg = national_copy
    establish_ldtbxh(reg)
    res = run(reg, "record", "dissolve", LDTBXH, "--functions-to", "Sở Nội vụ, Thành phố Hải Phòng",
              "-e", "2025-03-01")
    assert res.exit_code == 0, res.stderr
    snap = reg.snapshot
    after = snap.by_key["31.so-noi-vu@..2025-06-30"]
    assert after.valid_from == MARCH
    assert "functions_to" in {lk.relation for lk in snap.predecessors(after)}
    assert reg.check() == []


def test_code_option_is_honoured(national_copy: Register) -> None:
    reg = national_copy
    establish_ldtbxh(reg)
    msg = refused(reg, "record", "establish", "Sở Thử", "--type", AGENCY, "--parent", "Thành phố Hải Phòng",
                  "-e", "2025-03-01", "--code", "31.so-noi-vu")
    assert "code 31.so-noi-vu is held by Sở Nội vụ" in msg and "--code" in msg
    res = run(reg, "record", "establish", "Sở Thử", "--type", AGENCY, "--parent", "Thành phố Hải Phòng",
              "-e", "2025-03-01", "--code", "31.so-thu-2025")
    assert res.exit_code == 0, res.stderr
    assert reg.resolve("31.so-thu-2025").version.name == "Sở Thử"


# --- 2. never a new unit by accident --------------------------------------------------------------


def test_a_qualified_target_absorbs_into_the_existing_unit_never_a_new_one(national_copy: Register) -> None:
    reg = national_copy
    establish_ldtbxh(reg)
    res = run(reg, "record", "merge", LDTBXH, "--into", "Sở Nội vụ, Thành phố Hải Phòng", "-e", "2025-03-01",
              "--dry-run")
    assert res.exit_code == 0, res.stderr
    assert "new unit" not in res.stdout and "31.so-noi-vu@..2025-02-28" in res.stdout
    assert not any("," in v.name and v.kind == "admin" for v in reg.snapshot.versions.values())
    msg = refused(reg, "record", "merge", LDTBXH, "--into", "Sở Không Có, Thành phố Hải Phòng", "-e", "2025-03-01")
    assert "cannot carry a parent qualifier" in msg
    msg = refused(reg, "record", "establish", "Thôn Mới, Xã An Hải", "--type", "thôn", "--parent",
                  "Phường Hòa Bình, Hải Phòng", "-e", "2025-09-01")
    assert "parent qualifier" in msg
    # a new unit is said to be one
    res = run(reg, "record", "merge", LDTBXH, "--into", "Sở Lao động", "-e", "2025-03-01", "--dry-run")
    assert res.exit_code == 0 and "new unit: Sở Lao động" in res.stdout, res.stderr
    # an agency's own name may hold a comma, and is found by it
    assert reg.resolve("Sở Văn hóa, Thể thao và Du lịch", as_of=date(2025, 7, 1)).version.code == \
        "31.so-van-hoa-the-thao-va-du-lich"


# --- 3. codes of units, agencies and villages as references ---------------------------------------


def test_codes_are_references_in_every_command(national_copy: Register) -> None:
    reg = national_copy
    res = run(reg, "record", "establish", "Thôn Nam Sơn", "--type", "thôn", "--parent", "10606", "-e", "2025-09-01")
    assert res.exit_code == 0, res.stderr
    for ref, name in (("31.so-noi-vu", "Sở Nội vụ"), ("10606.nam-son", "Thôn Nam Sơn"),
                      ("11533", "Phường Hòa Bình")):
        res = run(reg, "show", ref)
        assert res.exit_code == 0, res.stderr
        assert name in res.stdout
        assert run(reg, "lineage", ref).exit_code == 0
    res = run(reg, "show", "11533", "--as-of", "2025-06-30")  # the code's earlier holder, by date
    assert res.exit_code == 0 and "Phường An Lư" in res.stdout
    res = run(reg, "record", "rename", "10606.nam-son", "--to", "Thôn Nam Sơn Mới", "-e", "2025-10-01")
    assert res.exit_code == 0, res.stderr
    assert run(reg, "log", "--unit", "10606.nam-son").exit_code == 0


# --- 4. legal citations ------------------------------------------------------------------------


@pytest.mark.parametrize(("clause", "shown"), [
    ("1", "khoản 1, 12/NQ-HĐND"),
    ("khoản 2 Điều 3", "khoản 2 Điều 3, 12/NQ-HĐND"),
    ("k2 Đ3", "khoản 2 Điều 3, 12/NQ-HĐND"),
    ("điểm a khoản 2 Điều 3", "điểm a khoản 2 Điều 3, 12/NQ-HĐND"),
])
def test_citations_render_once_in_vietnamese_order(national_copy: Register, clause: str, shown: str) -> None:
    reg = national_copy
    out = reg.record(Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử",
                          act="12/NQ-HĐND", clause=clause), by="t")
    ev = next(e for e in reg.snapshot.events.values() if e.key == out.events[0])
    assert ev.basis() == shown


def test_a_bare_clause_takes_the_article_the_act_uses_and_the_short_number_works(national_copy: Register) -> None:
    reg = national_copy
    out = reg.record(Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử",
                          act="1669", clause="3"), by="t")
    ev = next(e for e in reg.snapshot.events.values() if e.key == out.events[0])
    assert ev.basis() == "khoản 3 Điều 1, 1669/NQ-UBTVQH15"
    assert "khoản khoản" not in run(reg, "log").stdout
    msg = refused(reg, "record", "rename", "Phường Thử", "--to", "Phường Thử Hai", "-e", "2026-02-01",
                  "--act", "98765")
    assert "no act numbered '98765'" in msg
    msg = refused(reg, "record", "rename", "Phường Thử", "--to", "Phường Thử Hai", "-e", "2026-02-01",
                  "--act", "12/NQ-HĐND", "--clause", "khoản khoản 2")
    assert "is not a citation" in msg


# --- 5. corrections that mean what they say --------------------------------------------------------


def test_metadata_amendments_never_cascade_and_no_ops_are_refused(national_copy: Register) -> None:
    reg = national_copy
    first = establish_ldtbxh(reg)
    res = run(reg, "record", "merge", LDTBXH, "--into", "Sở Nội vụ", "-e", "2025-03-01")
    assert res.stderr.startswith("Warning: merge recorded without its legal act"), res.stderr
    merge = reg.log()[-1].key
    # the establish event's result is used by the merge: adding its act is still a plain correction
    res = run(reg, "amend", first, "--act", "12/QĐ-UBND", "--act-date", "2008-03-20", "--reason", "act found")
    assert res.exit_code == 0, res.stderr
    log = {e.key: e for e in reg.log()}
    assert log[first].status.startswith("amended by ")
    assert log[merge].status == "in force"  # nothing cascaded
    assert reg.check() == []
    new = log[first].status.removeprefix("amended by ")
    assert log[new].act == "12/QĐ-UBND"
    msg = refused(reg, "amend", new, "--to", "Sở Khác", "--reason", "r")
    assert "--to does not apply to a establish event" in msg and "--into" in msg
    msg = refused(reg, "amend", new, "--act", "12/QĐ-UBND", "--reason", "r")
    assert "changes nothing" in msg
    # the merge gets its act too, without touching anything else
    assert run(reg, "amend", merge, "--act", "1669", "--clause", "2", "--reason", "r").exit_code == 0
    assert reg.snapshot.by_key["31.so-noi-vu@..2025-06-30"].valid_from == MARCH
    # a structural amendment is validated as a new recording: its result is used later, so refused
    with pytest.raises(ValidationFailed, match="used by later event"):
        reg.amend(new, {"effective": date(2009, 1, 1)}, reason="r")
    with pytest.raises(BadInput, match="changes nothing"):
        reg.amend(new, {"note": reg.log()[-2].note}, reason="r")


# --- 6. labels ----------------------------------------------------------------------------------


def test_labels_read_right(national_copy: Register) -> None:
    from merger.lineage import describe_link

    reg = national_copy
    establish_ldtbxh(reg)
    reg.record(Spec("dissolve", MARCH, units=[LDTBXH], to="Sở Nội vụ"), by="t")
    snap = reg.snapshot
    texts = [describe_link(lk) for lk in snap.links if lk.event.type in ("establish", "dissolve")]
    joined = " | ".join(texts)
    for wrong in ("dissolved establishment", "dissolved dissolution", "functions_to", "dissolution · dissolved"):
        assert wrong not in joined
    assert "its functions taken over" in joined
    code = "31.so-lao-dong-thuong-binh-va-xa-hoi"  # old Hải Dương's department has the same name
    res = run(reg, "lineage", code, "--backward")
    assert "new, no predecessor" in res.stdout and "dissolved" not in res.stdout
    res = run(reg, "show", code)
    assert "(no successor)" not in res.stdout.split("ended by")[0] and "(established)" in res.stdout


# --- 7. lineage of a dissolved district ------------------------------------------------------------


def test_lineage_of_a_dissolved_district_shows_where_its_communes_went(national: Register) -> None:
    reg = national  # read only: lineage and units
    res = run(reg, "lineage", "Thị xã Kinh Môn", "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)["lineage"]
    (gone,) = data["children"]
    assert gone["key"] is None
    went = {c["key"] for c in gone["children"] if c["via"].get("territory")}
    within = run(reg, "units", "--within", "Thị xã Kinh Môn", "--as-of", "2025-07-01", "--json")
    expected = {u["key"] for u in json.loads(within.stdout) if u["level"] == "commune"}
    assert len(went) == 8 and went == expected
    res = run(reg, "lineage", "Thị xã Kinh Môn")
    assert res.stdout.count("its territory →") == 8


# --- 8. log and annexes ------------------------------------------------------------------------


def test_log_finds_short_act_numbers_and_has_the_as_of_it_suggests(national: Register) -> None:
    reg = national  # read only: log
    res = run(reg, "log", "--all", "--act", "1669", "--csv")
    assert res.exit_code == 0, res.stderr
    assert len(res.stdout.strip().splitlines()) - 1 == 114  # Hải Phòng's commune events of 1669/NQ-UBTVQH15
    res = run(reg, "log", "--unit", "Phường Hòa Bình")
    assert res.exit_code == 1 and "--as-of" in res.stderr
    res = run(reg, "log", "--unit", "Phường Hòa Bình, Hải Phòng", "--as-of", "2025-07-01", "--all", "--json")
    assert res.exit_code == 0, res.stderr
    assert any(e["act"] == "1669/NQ-UBTVQH15" for e in json.loads(res.stdout))


def test_an_annex_row_with_three_mistakes_reports_all_three(national_copy: Register, tmp_path) -> None:  # type: ignore[no-untyped-def]
    reg = national_copy
    path = tmp_path / "a.csv"
    path.write_text("event,units,to,shares,basis,effective,act,clause\n"
                    "rename,\"Phường Hòa Bình, Hải Phòng\",Phường Thử,,,2026-01-01,12/NQ-HĐND,1\n"
                    "renam,Phường Hòa Bình,Phường Thử,A=0.5=0.5,,31/02/2026,12/NQ-HĐND,1\n", encoding="utf-8")
    res = run(reg, "apply", str(path))
    assert res.exit_code == 1
    lines = [x.strip() for x in res.stderr.splitlines()[1:]]
    assert [x.split(":")[0] for x in lines] == ["line 3, field event", "line 3, field effective", "line 3, field shares"]


# --- recording before the register's start: a real commune rename --------------------------------


def test_a_pre_reform_commune_rename(national_copy: Register) -> None:
    """The NSO lists of 1 Nov and 1 Dec 2019 show code 10888 as Thị trấn Cẩm Giàng, then Cẩm Giang."""
    reg = national_copy
    res = run(reg, "record", "rename", "Thị trấn Cẩm Giàng, Huyện Cẩm Giàng", "--to", "Thị trấn Cẩm Giang",
              "-e", "2019-12-01", "--act", "788/NQ-UBTVQH14", "--issuer", "Ủy ban Thường vụ Quốc hội",
              "--evidence", "inferred", "--source", "NSO lists 2019-11-01 and 2019-12-01, code 10888")
    assert res.exit_code == 0, res.stderr
    snap = reg.snapshot
    before = snap.by_key["10888@..2019-11-30"]
    after = snap.by_key["10888@..2025-06-30"]
    assert before.full_name == "Thị trấn Cẩm Giàng" and before.unit_id == after.unit_id
    assert after.valid_from == date(2019, 12, 1) and after.full_name == "Thị trấn Cẩm Giang"
    assert reg.resolve("Thị trấn Cẩm Giàng", as_of=date(2019, 6, 1)).version is before
    assert reg.resolve("10888", as_of=date(2025, 7, 1)).version.key == "10888@2025-07-01"  # July reform intact
    assert reg.check() == []
    # a change that contradicts what the register holds for later is refused
    msg = refused(reg, "record", "rename", "Xã Cẩm Hoàng", "--to", "Xã Khác", "-e", "2020-01-01")
    assert "would contradict" in msg
