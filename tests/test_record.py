"""Recording single events from the CLI and the library: every event type, and every rule's refusal."""

from __future__ import annotations

import json
from datetime import date

import pytest

from clirunner import CliRunner
from factories import count_rows
from merger.cli import app
from merger.errors import ValidationFailed
from merger.events import Spec
from merger.register import Register
from village_factory import village_register

D = "2025-09-01"
DAY = date(2025, 9, 1)


@pytest.fixture
def reg(build) -> Register:  # type: ignore[no-untyped-def]
    """The village register (tests/village_factory.py), on each store."""
    return village_register(build)


def run(reg: Register, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--db", reg.url, *args])


def event_count(reg: Register) -> int:
    return count_rows(reg, "event")


def refused(reg: Register, *args: str) -> str:
    """Run a record command that must be refused; return its one error line."""
    before = event_count(reg)
    res = run(reg, *args)
    assert res.exit_code == 1, res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert "Traceback" not in res.stderr
    assert event_count(reg) == before  # nothing half-written
    return lines[0]


# --- each event type -------------------------------------------------------------------------


def test_merge_into_new_unit_ends_predecessors_and_keeps_who_and_when(reg: Register) -> None:
    res = run(reg, "record", "merge", "Thôn Đông, Xã An", "Thôn Tây", "--into", "Thôn Đông Tây", "-e", D,
              "--act", "12/NQ-HĐND", "--clause", "1", "--by", "nguyen.van.a")
    assert res.exit_code == 0, res.stderr
    snap = reg.snapshot
    new = snap.by_key["00001.dong-tay@2025-09-01"]
    assert new.full_name == "Thôn Đông Tây" and new.level == "village" and new.valid_from == DAY
    assert {lk.pred.key for lk in snap.predecessors(new) if lk.pred} == {"00001.dong@..", "00001.tay@.."}
    assert snap.by_key["00001.dong@.."].valid_to == date(2025, 8, 31)
    ev = snap.predecessors(new)[0].event
    assert ev.recorded_by == "nguyen.van.a" and ev.act is not None and ev.act.number == "12/NQ-HĐND"
    assert ev.basis() == "khoản 1, 12/NQ-HĐND"  # no article nobody gave
    assert reg.check() == []


def test_merge_into_existing_unit_is_absorption(reg: Register) -> None:
    reg.record(Spec("merge", DAY, units=["Thôn Nam"], into=["Thôn Đông, Xã An"]), by="t")
    snap = reg.snapshot
    dong = [v for v in snap.valid_on(DAY) if v.full_name == "Thôn Đông" and v.code == "00001.dong"]
    assert len(dong) == 1 and dong[0].key == "00001.dong@2025-09-01"
    assert dong[0].unit_id == snap.by_key["00001.dong@.."].unit_id  # same unit, new version
    assert reg.check() == []


def test_split_with_shares_and_transfer(reg: Register) -> None:
    reg.record(Spec("split", DAY, units=["Thôn Nam"], into=["Thôn Nam 1", "Thôn Nam 2"],
                    shares={"Thôn Nam 1": 0.6, "Thôn Nam 2": 0.4}, basis="area"), by="t")
    reg.record(Spec("transfer", date(2025, 10, 1), units=["Thôn Nam 1"], to="Thôn Tây", shares={"": 0.25},
                    basis="population"), by="t")
    snap = reg.snapshot
    nam = snap.by_key["00001.nam@.."]
    assert sorted(lk.share for lk in snap.successors(nam)) == [0.4, 0.6]
    n1 = snap.by_key["00001.nam-1@2025-09-01"]
    out = {lk.relation: lk.share for lk in snap.successors(n1)}
    assert out == {"remainder": 0.75, "part": 0.25}
    assert snap.by_key["00001.tay@2025-10-01"].valid_from == date(2025, 10, 1)
    assert reg.check() == []


def test_rename_reclassify_dissolve_establish_move(reg: Register) -> None:
    reg.record(Spec("rename", DAY, units=["Thôn Nam"], to="Thôn Bình Minh"), by="t")
    reg.record(Spec("reclassify", DAY, units=["Thôn Tây"], to="tổ dân phố"), by="t")
    reg.record(Spec("establish", DAY, into=["Thôn Mới"], unit_type="thôn", parent="Phường Bình"), by="t")
    reg.record(Spec("move", date(2025, 10, 1), units=["Thôn Bình Minh"], parent="Phường Bình"), by="t")
    reg.record(Spec("dissolve", date(2025, 11, 1), units=["Thôn Mới"], to="Tổ dân phố 1"), by="t")
    snap = reg.snapshot
    names = {v.full_name: v for v in snap.valid_on(date(2025, 12, 1), kind="admin") if v.level == "village"}
    assert "Tổ dân phố Tây" in names and "Thôn Mới" not in names
    assert snap.parent_of(names["Thôn Bình Minh"], date(2025, 12, 1)).full_name == "Phường Bình"
    assert reg.check() == []


def test_dry_run_shows_before_after_and_writes_nothing(reg: Register) -> None:
    before = event_count(reg)
    res = run(reg, "record", "rename", "Thôn Nam", "--to", "Thôn Bình Minh", "-e", D, "--dry-run")
    assert res.exit_code == 0, res.stderr
    assert "Dry run" in res.stdout and "Thôn Bình Minh" in res.stdout and "ends 2025-08-31" in res.stdout
    assert event_count(reg) == before


def test_json_output_of_a_record(reg: Register) -> None:
    import json

    res = run(reg, "record", "establish", "Thôn Mới", "--type", "thôn", "--parent", "Xã An", "-e", D, "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["written"] is True and data["events"][0].startswith("E20250901-R")


def test_default_recorder_is_the_os_user(reg: Register) -> None:
    import getpass

    reg.record(Spec("rename", DAY, units=["Thôn Nam"], to="Thôn Bình Minh"))
    assert reg.log()[-1].recorded_by == getpass.getuser()


def test_an_event_without_its_act_or_with_a_later_act_is_recorded_with_a_warning(reg: Register) -> None:
    res = run(reg, "record", "rename", "Thôn Nam", "--to", "Thôn Bình Minh", "-e", D)
    assert res.exit_code == 0 and res.stderr.startswith("Warning: rename recorded without its legal act"), res.stderr
    res = run(reg, "record", "rename", "Thôn Tây", "--to", "Thôn Hòa Bình", "-e", D, "--act", "9/NQ-HĐND",
              "--act-date", "2025-10-01", "--json")
    assert res.exit_code == 0 and "dated 2025-10-01, after the day it takes effect (2025-09-01)" in res.stderr
    assert json.loads(res.stdout)["warnings"] == [res.stderr.strip().removeprefix("Warning: ")]
    res = run(reg, "record", "rename", "Thôn Đông, Xã An", "--to", "Thôn An Đông", "-e", D, "--act", "10/NQ-HĐND",
              "--act-date", "2025-08-20")
    assert res.exit_code == 0 and res.stderr == ""
    assert event_count(reg) == 3  # warnings never stop a record


# --- every rule, with its message --------------------------------------------------------------


def test_refuses_a_predecessor_not_in_force(reg: Register) -> None:
    reg.record(Spec("rename", DAY, units=["Thôn Nam"], to="Thôn Bình Minh"), by="t")
    msg = refused(reg, "record", "rename", "00001.nam@..", "--to", "Thôn Khác", "-e", "2025-10-01")
    assert "is not in force on 2025-10-01 (it ended on 2025-08-31)" in msg


def test_refuses_an_effective_date_before_the_predecessors_start(reg: Register) -> None:
    reg.record(Spec("establish", DAY, into=["Thôn Mới"], unit_type="thôn", parent="Xã An"), by="t")
    msg = refused(reg, "record", "rename", "Thôn Mới", "--to", "Thôn Cũ", "-e", "2025-08-01")
    assert "the effective date 2025-08-01 is before the start of Thôn Mới" in msg
    msg = refused(reg, "record", "rename", "Thôn Mới", "--to", "Thôn Cũ", "-e", D)
    assert "is not after the start of Thôn Mới" in msg


def test_refuses_a_duplicate_sibling_name(reg: Register) -> None:
    msg = refused(reg, "record", "rename", "Thôn Nam", "--to", "Thôn Đông", "-e", D)
    assert "the name 'Thôn Đông' duplicates Thôn Đông [00001.dong@..] under Xã An on 2025-09-01" in msg
    # a thôn and a tổ dân phố may not share a name either (the report's "trùng tên" rule)
    msg = refused(reg, "record", "rename", "Thôn Đông, Phường Bình", "--to", "Thôn 1", "-e", D)
    assert "duplicates Tổ dân phố 1" in msg
    # the same name under another commune is fine
    assert run(reg, "record", "rename", "Thôn Nam", "--to", "Thôn Đông Nam", "-e", D).exit_code == 0


def test_refuses_shares_outside_the_unit_interval(reg: Register) -> None:
    msg = refused(reg, "record", "split", "Thôn Nam", "--into", "Thôn Nam 1", "--into", "Thôn Nam 2",
                  "--share", "Thôn Nam 1=1.5", "--share", "Thôn Nam 2=0.5", "--basis", "area", "-e", D)
    assert "share 1.5 of Thôn Nam 1 is outside (0, 1]" in msg
    msg = refused(reg, "record", "split", "Thôn Nam", "--into", "Thôn Nam 1", "--into", "Thôn Nam 2",
                  "--share", "Thôn Nam 1=0", "--share", "Thôn Nam 2=1", "--basis", "area", "-e", D)
    assert "outside (0, 1]" in msg


def test_refuses_shares_summing_over_one_or_not_one_when_the_unit_ends(reg: Register) -> None:
    msg = refused(reg, "record", "split", "Thôn Nam", "--into", "Thôn Nam 1", "--into", "Thôn Nam 2",
                  "--share", "Thôn Nam 1=0.7", "--share", "Thôn Nam 2=0.6", "--basis", "area", "-e", D)
    assert "the shares of Thôn Nam sum to 1.3, more than 1" in msg
    msg = refused(reg, "record", "split", "Thôn Nam", "--into", "Thôn Nam 1", "--into", "Thôn Nam 2",
                  "--share", "Thôn Nam 1=0.5", "--share", "Thôn Nam 2=0.3", "--basis", "area", "-e", D)
    assert "Thôn Nam ends, so its shares must sum to exactly 1 (they sum to 0.8)" in msg


def test_refuses_shares_without_a_basis(reg: Register) -> None:
    msg = refused(reg, "record", "transfer", "--part-of", "Thôn Nam", "--to", "Thôn Tây", "--share", "0.3", "-e", D)
    assert "give --basis" in msg


def test_refuses_cycles(reg: Register) -> None:
    msg = refused(reg, "record", "merge", "Thôn Nam", "Thôn Tây", "--into", "Thôn Nam", "-e", D)
    assert "cannot be merged into itself (a lineage cycle)" in msg
    msg = refused(reg, "record", "transfer", "--part-of", "Thôn Nam", "--to", "Thôn Nam", "-e", D)
    assert "cannot be transferred to itself (a cycle)" in msg
    msg = refused(reg, "record", "move", "Xã An", "--to-parent", "Xã An", "-e", D)
    assert "(a cycle)" in msg


def test_refuses_a_parent_of_the_wrong_level(reg: Register) -> None:
    msg = refused(reg, "record", "move", "Thôn Nam", "--to-parent", "Tỉnh Thử", "-e", D)
    assert "a village cannot be placed under Tỉnh Thử (province): its parent must be a commune" in msg
    msg = refused(reg, "record", "establish", "Thôn Mới", "--type", "thôn", "--parent", "Thôn Đông, Xã An", "-e", D)
    assert "its parent must be a commune" in msg


def test_refuses_a_unit_that_leaves_orphans(reg: Register) -> None:
    msg = refused(reg, "record", "dissolve", "Xã An", "-e", D)
    assert "Xã An [00001@..] still has 3 unit(s) under it" in msg


def test_refuses_unknown_units_and_types_with_one_line(reg: Register) -> None:
    assert "no unit matches" in refused(reg, "record", "rename", "Thôn Không Có", "--to", "X", "-e", D)
    assert "is not a village type" in refused(reg, "record", "reclassify", "Thôn Nam", "--to", "phường", "-e", D)


def test_usage_error_exits_2(reg: Register) -> None:
    res = run(reg, "record", "rename", "Thôn Nam", "-e", D)  # --to missing
    assert res.exit_code == 2


def test_same_act_clause_and_event_is_not_recorded_twice(reg: Register) -> None:
    args = ["record", "rename", "Thôn Nam", "--to", "Thôn Bình Minh", "-e", D, "--act", "12/NQ-HĐND",
            "--clause", "3"]
    assert run(reg, *args).exit_code == 0
    msg = refused(reg, *args)
    assert "is already recorded as E20250901-R" in msg


def test_library_refusal_lists_violations(reg: Register) -> None:
    with pytest.raises(ValidationFailed) as exc:
        reg.record(Spec("rename", DAY, units=["Thôn Nam"], to="Thôn Tây"), by="t")
    assert exc.value.violations[0].rule == "duplicate-name"


def test_recording_on_the_national_register_keeps_it_clean(national_copy: Register) -> None:
    """A real change on a copy of the national register: checks stay clean, counts follow."""
    reg = national_copy
    reg.record(Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm",
                    act="TEST/2026"), by="t")
    assert reg.check() == []
    assert reg.resolve("Phường Thử Nghiệm").version.key == "11533@2026-01-01"
    c = reg.counts(before=date(2025, 12, 31), after=date(2026, 1, 2), within="Hải Phòng")
    assert c.total("commune").before == c.total("commune").after == 114
