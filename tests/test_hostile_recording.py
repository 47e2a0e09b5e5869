"""Issue 10, the recording items: names kept as given, malformed shares and names refused, the log
as recorded, YAML bombs and oversized annexes refused (items 1, 2, 3, 6, 15; item 16's speed is
measured in benchmarks/bench_apply.py, never asserted here)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clirunner import CliRunner
from factories import count_rows
from merger import annex
from merger.cli import app
from merger.errors import BadInput, ValidationFailed
from merger.names import MAX_NAME, clean_name
from merger.recording import Spec, parse_share
from merger.register import Register
from village_factory import village_register

D = "2025-09-01"


def run(reg: Register, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--db", reg.url, *args])


def tables(reg: Register) -> tuple[int, ...]:
    return tuple(count_rows(reg, t) for t in ("event", "version", "unit", "link", "legal_act", "correction"))


def refused(reg: Register, *args: str) -> str:
    before = tables(reg)
    res = run(reg, *args)
    assert res.exit_code == 1, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr
    assert tables(reg) == before
    return lines[0]


@pytest.fixture
def reg(build) -> Register:  # type: ignore[no-untyped-def]
    return village_register(build)


# --- 1. names stored exactly as given ---------------------------------------------------------------


def test_names_are_stored_exactly_as_given_on_the_real_register(national_copy: Register) -> None:
    reg = national_copy
    for typed, name in (("Thôn Hạ - Thượng", "Hạ - Thượng"), ("Thôn Đông-Tây", "Đông-Tây"),
                        ("  Thôn   Cầu  Đá ", "Cầu Đá"),
                        (unicodedata.normalize("NFD", "Thôn Hòa Bình"), "Hòa Bình")):
        res = run(reg, "record", "establish", typed, "--type", "thôn", "--parent", "10606", "-e", D, "--json")
        assert res.exit_code == 0, res.stderr
        parent = reg.resolve("10606", as_of=date(2025, 9, 1)).unit_id
        (v,) = [v for v in reg.snapshot.versions.values() if v.parent_unit_id == parent and v.level == "village"
                and v.name == name]
        assert v.name == name and v.full_name == f"Thôn {name}"
        assert unicodedata.is_normalized("NFC", v.full_name)
    assert reg.check() == []


# --- 2. every malformed share refused -----------------------------------------------------------------


@pytest.mark.parametrize("share", ["Thôn Nam 1=0.5=0.5", "=0.5", "Thôn Nam 1=1;Thôn Nam 2=1",
                                   "Thôn Nam 1=0.5,Thôn Nam 2=0.5", "Thôn Nam 1=", "Thôn Nam 1=abc", "nửa"])
def test_every_malformed_share_is_refused_with_the_expected_form(reg: Register, share: str) -> None:
    msg = refused(reg, "record", "split", "Thôn Nam", "--into", "Thôn Nam 1", "--into", "Thôn Nam 2",
                  "--share", share, "--basis", "area", "-e", D)
    assert "NAME=NUMBER" in msg


def test_a_share_that_names_no_successor_is_refused(reg: Register) -> None:
    msg = refused(reg, "record", "split", "Thôn Nam", "--into", "Thôn Nam 1", "--into", "Thôn Nam 2",
                  "--share", "Thôn Nam 3=0.5", "--share", "Thôn Nam 2=0.5", "--basis", "area", "-e", D)
    assert "names no successor" in msg


@given(st.text(max_size=40))
def test_parse_share_either_refuses_or_gives_one_name_and_one_number(text: str) -> None:
    try:
        name, value = parse_share(text)
    except BadInput as exc:
        assert "NAME=NUMBER" in str(exc)
        return
    assert "=" not in name and ";" not in name and value >= 0


# --- 3. empty, blank, invisible and overlong names ----------------------------------------------------


@pytest.mark.parametrize(("args", "reason"), [
    (("record", "establish", "", "--type", "thôn", "--parent", "Xã An"), "empty"),
    (("record", "establish", "   ", "--type", "thôn", "--parent", "Xã An"), "empty"),
    (("record", "establish", "Thôn \x1b[2JMới", "--type", "thôn", "--parent", "Xã An"), "control character"),
    (("record", "establish", "Thôn Mới\x07", "--type", "thôn", "--parent", "Xã An"), "control character"),
    (("record", "establish", "Thôn " + "A" * 10_000, "--type", "thôn", "--parent", "Xã An"), f"at most {MAX_NAME}"),
    (("record", "establish", "Thôn", "--type", "thôn", "--parent", "Xã An"), "empty"),
    (("record", "rename", "Thôn Nam", "--to", "   "), "empty"),
    (("record", "rename", "Thôn Nam", "--to", "Thôn \u200b"), "invisible"),
    (("record", "merge", "Thôn Nam", "Thôn Tây", "--into", "---"), "no letter"),
])
def test_bad_names_are_refused_with_the_reason(reg: Register, args: tuple[str, ...], reason: str) -> None:
    msg = refused(reg, *args, "-e", D)
    assert reason in msg


@pytest.mark.parametrize(("new", "reason"), [
    ("Hồng\x07Bàng", "tên chứa một ký tự ẩn hoặc ký tự điều khiển (ở vị trí 5); hãy gõ lại"),
    ("Á" * 300, f"tên dài 300 ký tự; tối đa {MAX_NAME} ký tự"),
    ("!!!", "tên '!!!' không có chữ cái hay chữ số nào"),
])
def test_a_refused_name_is_said_in_vietnamese_on_the_real_register(national: Register, national_path: str, new: str,
                                                                 reason: str) -> None:
    """The name rules' reasons were English inside a Vietnamese error line (found by trying
    `record rename` under LANG=vi_VN.UTF-8); nothing is written."""
    before = national.snapshot.generation
    res = CliRunner().invoke(app, ["--lang", "vi", "--db", national_path, "record", "rename", "Phường Hồng Bàng",
                                   "--to", new, "-e", "2026-11-01"])
    assert res.exit_code == 1
    assert res.stderr.strip() == "Lỗi: " + reason
    national.invalidate()
    assert national.snapshot.generation == before


def test_an_annex_with_control_characters_reports_each_cell(reg: Register, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("event,into,type,parent,effective\n"
                    "establish,Thôn \x1b[2JA,thôn,Xã An,2025-09-01\n"
                    "establish,Thôn B\x00,thôn,Xã An\x07,2025-09-01\n", encoding="utf-8")
    before = tables(reg)
    with pytest.raises(ValidationFailed) as exc:
        annex.apply(reg, path, by="t")
    messages = [v.message for v in exc.value.violations]
    assert messages == ["line 2, field into: contains an invisible or control character",
                        "line 3, field into: contains an invisible or control character",
                        "line 3, field parent: contains an invisible or control character"]
    assert tables(reg) == before


@given(st.text(max_size=300))
def test_clean_name_keeps_the_text_or_says_why_not(text: str) -> None:
    try:
        name = clean_name(text)
    except ValueError as exc:
        assert str(exc).startswith("the name")
        return
    assert name == name.strip() and "  " not in name and 0 < len(name) <= MAX_NAME
    assert unicodedata.is_normalized("NFC", name)
    assert not any(unicodedata.category(c) == "Cc" for c in name)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_any_name_through_the_cli_is_recorded_or_refused_cleanly(reg: Register, name: str) -> None:
    if "\x00" in name:  # a NUL cannot be an argument of a real process; the annex test covers it
        return
    before = tables(reg)
    res = run(reg, "record", "establish", name, "--type", "thôn", "--parent", "Xã An", "-e", D)
    assert res.exit_code in (0, 1, 2), res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr
    if res.exit_code == 2:  # click's usage error: a name that starts with '-' reads as an option
        assert name.lstrip().startswith("-") and tables(reg) == before
    elif res.exit_code == 1:
        assert res.stderr.startswith("Error: ") and tables(reg) == before
    else:
        reg.revoke(reg.log()[-1].key, reason="fuzz")


# --- 6. the log as recorded ----------------------------------------------------------------------


def test_log_answers_as_recorded(reg: Register) -> None:
    t1, t2, t3 = (datetime(2025, 9, d, 9, 0, tzinfo=UTC) for d in (2, 10, 20))
    first = reg.record(Spec("rename", date(2025, 9, 1), units=["Thôn Nam"], to="Thôn Bình Minh"), by="a", at=t1)
    reg.revoke(first.events[0], reason="withdrawn", by="b", at=t2)
    reg.record(Spec("rename", date(2025, 9, 1), units=["Thôn Tây"], to="Thôn Hòa Bình"), by="c", at=t3)
    then = Register.open(reg.url, as_recorded=date(2025, 9, 5))
    assert [(e.key, e.status) for e in then.log()] == [(first.events[0], "in force")]
    res = run(reg, "--as-recorded", "2025-09-15", "log", "--csv")
    assert res.exit_code == 0, res.stderr
    rows = res.stdout.strip().splitlines()[1:]
    assert len(rows) == 1 and ",revoked,withdrawn," in rows[0]
    assert len(reg.log()) == 2
    assert "empty" in refused(reg, "log", "--unit", "")


# --- 15. YAML bombs and oversized annexes ------------------------------------------------------------


BOMB = """a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
events: [*g]
"""


def test_yaml_alias_bombs_are_refused(reg: Register, tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    before = tables(reg)
    res = run(reg, "apply", str(path))
    assert res.exit_code == 1 and "anchors and aliases" in res.stderr and "line 1" in res.stderr
    assert tables(reg) == before


def test_an_oversized_annex_is_refused_with_the_limit(reg: Register, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(annex, "MAX_BYTES", 2048)
    path = tmp_path / "big.csv"
    path.write_text("event,units,to,effective\n" + "rename,Thôn Nam,Thôn X,2025-09-01\n" * 200, encoding="utf-8")
    msg = refused(reg, "apply", str(path))
    assert "an annex may be at most 0 MB" in msg or "at most" in msg


def test_apply_reports_progress(reg: Register, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("event,units,to,effective\nrename,Thôn Nam,Thôn Bình Minh,2025-09-01\n", encoding="utf-8")
    seen: list[tuple[str, int, int]] = []
    annex.apply(reg, path, by="t", progress=lambda what, done, total: seen.append((what, done, total)))
    assert ("checking", 1, 1) in seen and ("writing", 0, 1) in seen
