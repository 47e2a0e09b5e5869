"""Corrections and history: revoke, amend, the log, and bitemporal reads (--as-recorded)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from clirunner import CliRunner
from factories import tiny_reform
from merger.cli import app
from merger.errors import NotFound, ValidationFailed
from merger.events import Spec
from merger.register import Register
from village_factory import village_register

JUL1 = date(2025, 7, 1)
T1 = datetime(2025, 7, 10, 9, 0, tzinfo=UTC)  # recorded (wrongly)
T2 = datetime(2025, 7, 20, 9, 0, tzinfo=UTC)  # corrected


@pytest.fixture
def reg(build) -> Register:  # type: ignore[no-untyped-def]
    """The village register (tests/village_factory.py), on each store."""
    return village_register(build)


def names_on(reg: Register, day: date) -> set[str]:
    return {v.full_name for v in reg.snapshot.valid_on(day) if v.level == "village"}


def test_a_correction_changes_todays_answer_but_the_earlier_one_stays_reproducible(reg: Register) -> None:
    """"What did the register say on 15 July about 1 July?" — before and after an amendment."""
    out = reg.record(Spec("merge", JUL1, units=["Thôn Đông, Xã An", "Thôn Tây"], into=["Thôn Đông Tây"],
                          act="7/NQ-HĐND", clause="1"), by="clerk", at=T1)
    reg.amend(out.events[0], {"into": ["Thôn Đông Hòa"]}, reason="typo in the name", by="head", at=T2)
    today = names_on(reg, JUL1)
    assert "Thôn Đông Hòa" in today and "Thôn Đông Tây" not in today
    path = reg.url
    then = Register.open(path, as_recorded=date(2025, 7, 15))
    assert "Thôn Đông Tây" in names_on(then, JUL1) and "Thôn Đông Hòa" not in names_on(then, JUL1)
    assert then.resolve("Thôn Đông Tây").version.key == "00001.dong-tay@2025-07-01"
    before = Register.open(path, as_recorded=date(2025, 7, 9))
    assert {"Thôn Đông", "Thôn Tây"} <= names_on(before, JUL1)  # nothing recorded yet
    assert before.check() == [] and then.check() == [] and reg.check() == []
    # the same through the CLI's global option
    res = CliRunner().invoke(app, ["--db", path, "--as-recorded", "2025-07-15", "units", "--as-of", "2025-07-01",
                                   "--level", "village", "--csv"])
    assert res.exit_code == 0, res.stderr
    assert "Thôn Đông Tây" in res.stdout and "Thôn Đông Hòa" not in res.stdout
    res = CliRunner().invoke(app, ["--db", path, "units", "--as-of", "2025-07-01", "--level", "village", "--csv"])
    assert "Thôn Đông Hòa" in res.stdout and "Thôn Đông Tây" not in res.stdout


def test_revoke_keeps_the_record_and_reopens_what_it_ended(reg: Register) -> None:
    out = reg.record(Spec("dissolve", JUL1, units=["Thôn Nam"]), by="clerk", at=T1)
    assert "Thôn Nam" not in names_on(reg, JUL1)
    reg.revoke(out.events[0], reason="mistaken: the decision was withdrawn", by="head", at=T2)
    assert "Thôn Nam" in names_on(reg, JUL1)
    assert reg.snapshot.by_key["00001.nam@.."].valid_to is None
    entry = reg.log()[-1]
    assert entry.key == out.events[0] and entry.status == "revoked"
    assert entry.reason == "mistaken: the decision was withdrawn" and entry.corrected_by == "head"
    assert entry.recorded_by == "clerk"
    assert "Thôn Nam" not in names_on(Register.open(reg.url, as_recorded=date(2025, 7, 15)), JUL1)
    with pytest.raises(ValidationFailed, match="already revoked"):
        reg.revoke(out.events[0], reason="again")
    assert reg.check() == []


def test_amend_a_wrong_date(reg: Register) -> None:
    out = reg.record(Spec("rename", JUL1, units=["Thôn Nam"], to="Thôn Bình Minh"), by="clerk", at=T1)
    new = reg.amend(out.events[0], {"effective": date(2025, 8, 1)}, reason="takes effect 1/8", at=T2)
    snap = reg.snapshot
    assert snap.by_key["00001.nam@.."].valid_to == date(2025, 7, 31)
    assert "00001.binh-minh@2025-08-01" in snap.by_key and "00001.binh-minh@2025-07-01" not in snap.by_key
    statuses = {e.key: e.status for e in reg.log()}
    assert statuses[out.events[0]] == f"amended by {new.events[0]}"
    assert reg.check() == []


def test_cannot_revoke_what_later_events_build_on_nor_bundled_data(reg: Register) -> None:
    first = reg.record(Spec("rename", JUL1, units=["Thôn Nam"], to="Thôn Bình Minh"), by="t")
    reg.record(Spec("rename", date(2025, 8, 1), units=["Thôn Bình Minh"], to="Thôn Rạng Đông"), by="t")
    with pytest.raises(ValidationFailed, match="used by later event"):
        reg.revoke(first.events[0], reason="x")
    with pytest.raises(NotFound):
        reg.revoke("E-NOPE", reason="x")


def test_bundled_events_are_not_revoked_or_amended(build) -> None:  # type: ignore[no-untyped-def]
    reg = build(tiny_reform())
    with pytest.raises(ValidationFailed, match="bundled official data"):
        reg.revoke("E-1", reason="x")
    with pytest.raises(ValidationFailed, match="no recorded request to amend"):
        reg.amend("E-1", {"note": "x"}, reason="x")


def test_log_filters_and_cli(reg: Register) -> None:
    reg.record(Spec("rename", JUL1, units=["Thôn Nam"], to="Thôn Bình Minh", act="7/NQ-HĐND", clause="2"),
               by="an", at=T1)
    reg.record(Spec("rename", JUL1, units=["Thôn Tây"], to="Thôn Hòa Bình", act="8/NQ-HĐND"), by="binh", at=T2)
    assert [e.recorded_by for e in reg.log()] == ["an", "binh"]
    assert [e.recorded_by for e in reg.log(by="binh")] == ["binh"]
    assert [e.act for e in reg.log(act="7/nq-hđnd")] == ["7/NQ-HĐND"]
    assert len(reg.log(since=date(2025, 7, 15))) == 1
    assert [e.summary for e in reg.log(unit="Thôn Bình Minh")] == ["Thôn Nam → Thôn Bình Minh"]
    res = CliRunner().invoke(app, ["--db", reg.url, "log", "--by", "an", "--csv"])
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("event,event_type,effective") and len(lines) == 2 and ",an," in lines[1]
    res = CliRunner().invoke(app, ["--db", reg.url, "revoke", reg.log()[0].key, "--reason", "wrong"])
    assert res.exit_code == 0, res.stderr
    res = CliRunner().invoke(app, ["--db", reg.url, "amend", reg.log()[1].key, "--to",
                                   "Thôn Hòa Bình Mới", "--reason", "typo"])
    assert res.exit_code == 0, res.stderr
    assert [e.status for e in reg.log()][:2] == ["revoked", f"amended by {reg.log()[2].key}"]
