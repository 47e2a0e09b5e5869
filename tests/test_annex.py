"""Decision annexes: CSV and YAML, all-or-nothing, every problem by line, refused on re-apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from clirunner import CliRunner
from factories import count_rows
from merger import annex
from merger.cli import app
from merger.errors import ValidationFailed
from merger.register import Register
from village_factory import village_register

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
HEADER = "event,units,into,to,type,parent,code,shares,basis,effective,act,act_date,issuer,clause,note\n"


@pytest.fixture
def reg(build) -> Register:  # type: ignore[no-untyped-def]
    """The village register (tests/village_factory.py), on each store."""
    return village_register(build)


def events(reg: Register) -> int:
    return count_rows(reg, "event")


def run(reg: Register, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--db", reg.url, *args])


def test_village_annex_applies_and_is_refused_the_second_time(reg: Register) -> None:
    res = run(reg, "apply", str(EXAMPLES / "annex-villages.csv"), "--by", "clerk")
    assert res.exit_code == 0, res.stderr
    names = {v.full_name for v in reg.snapshot.valid_on(__import__("datetime").date(2025, 9, 1))}
    assert {"Tổ dân phố Đông", "Thôn Bình Đông"} <= names
    assert reg.check() == []
    log = reg.log()
    assert len(log) == 3 and {e.origin for e in log} == {"annex:annex-villages.csv"}
    n = events(reg)
    res = run(reg, "apply", str(EXAMPLES / "annex-villages.csv"))
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert lines[0] == f"Error: {EXAMPLES / 'annex-villages.csv'}: 3 problems; nothing was recorded"
    assert all("is already recorded as" in line for line in lines[1:]) and len(lines) == 4
    assert lines[1].strip().startswith("line 2:") and lines[3].strip().startswith("line 4:")
    assert events(reg) == n


def test_every_problem_is_reported_with_its_line_and_nothing_is_written(reg: Register, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER
                    + "rename,Thôn Nam,,Thôn Bình Minh,,,,,,2025-09-01,A/1,,,1,\n"   # line 2: fine
                    + "rename,Thôn Tây,,Thôn Đông,,,,,,2025-09-01,A/1,,,2,\n"        # 3: duplicate name
                    + "frobnicate,Thôn Tây,,,,,,,,2025-09-01,A/1,,,3,\n"             # 4: unknown event
                    + "rename,Thôn Tây,,X,,,,,,31/02/2025,A/1,,,4,\n"                # 5: bad date
                    + "\n"
                    + "split,Thôn Tây,Thôn Tây 1; Thôn Tây 2,,,,,Thôn Tây 1=0.9; Thôn Tây 2=0.9,area,"
                      "2025-09-01,A/1,,,5,\n"                                          # 7: shares > 1
                    + "rename,Thôn Bình Minh,,Thôn Rạng Đông,,,,,,2025-10-01,A/1,,,6,\n",  # 8: uses line 2
                    encoding="utf-8")
    n = events(reg)
    with pytest.raises(ValidationFailed) as exc:
        annex.apply(reg, path, by="t")
    messages = [v.message for v in exc.value.violations]
    assert [m.split(":")[0].split(",")[0] for m in messages] == ["line 3", "line 4", "line 5", "line 7"]
    assert messages[1].startswith("line 4, field event: ") and messages[2].startswith("line 5, field effective: ")
    assert "duplicates Thôn Đông" in messages[0] and "unknown event 'frobnicate'" in messages[1]
    assert "is not a date" in messages[2] and "sum to 1.8, more than 1" in messages[3]
    assert events(reg) == n
    res = run(reg, "apply", str(path))
    assert res.exit_code == 1 and res.stderr.count("\n  line ") == 4


def test_yaml_annex_with_defaults_and_line_numbers(reg: Register, tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("act: {number: B/2, date: 2025-08-20, issuer: HĐND}\n"
                    "effective: 2025-09-01\n"
                    "events:\n"
                    "  - {event: rename, units: Thôn Nam, to: Thôn Bình Minh, clause: '1'}\n"
                    "  - event: merge\n"
                    "    units: [Thôn Tây, Thôn Không Có]\n"
                    "    into: Thôn Mới\n"
                    "    clause: '2'\n"
                    "  - {event: rename, units: Tổ dân phố 1, to: Tổ dân phố Mới, clause: '3', colour: red}\n",
                    encoding="utf-8")
    with pytest.raises(ValidationFailed) as exc:
        annex.apply(reg, path, by="t")
    messages = [v.message for v in exc.value.violations]
    assert messages[0].startswith("line 5, field units: no unit matches 'Thôn Không Có on 2025-09-01'")
    assert messages[1] == "line 9: unknown field(s) colour"
    path.write_text(path.read_text(encoding="utf-8").replace("Thôn Không Có", "'Thôn Đông, Xã An'")
                    .replace(", colour: red", ""), encoding="utf-8")
    out = annex.apply(reg, path, by="t")
    assert out.written and len(out.events) == 3
    assert all(e.act == "B/2" for e in reg.log())
    assert reg.check() == []


def test_an_annex_that_is_not_utf8_is_one_line(reg: Register, tmp_path: Path) -> None:
    """A spreadsheet saved as CSV in a legacy code page (here UTF-16) is named, nothing recorded."""
    path = tmp_path / "annex.csv"
    path.write_bytes((HEADER + "rename,Thôn Nam,,Thôn Bắc\n").encode("utf-16"))
    before = events(reg)
    res = run(reg, "apply", str(path), "--effective", "2025-09-01")
    assert res.exit_code == 1 and res.stderr.startswith(f"Error: {path} is not UTF-8 text"), res.stderr
    assert "Traceback" not in res.output and events(reg) == before


def test_dry_run_and_unknown_columns(reg: Register, tmp_path: Path) -> None:
    n = events(reg)
    res = run(reg, "apply", str(EXAMPLES / "annex-villages.csv"), "--dry-run")
    assert res.exit_code == 0 and "Dry run" in res.stdout and events(reg) == n
    path = tmp_path / "cols.csv"
    path.write_text("event,units,colour\nrename,Thôn Nam,red\n", encoding="utf-8")
    res = run(reg, "apply", str(path), "--effective", "2025-09-01")
    assert res.exit_code == 1 and "line 1: unknown column(s) colour" in res.stderr


def test_the_tutorial_annexes_on_an_example_register(national_copy: Register) -> None:
    """docs/recording.md's tutorial, run as written on a separate example register."""
    reg = national_copy
    for name in ("tutorial-1-before.yaml", "tutorial-2-decision.csv", "tutorial-3-rename.yaml"):
        res = run(reg, "apply", str(EXAMPLES / name), "--by", "tutorial")
        assert res.exit_code == 0, (name, res.stderr)
    assert reg.check() == []
    c = reg.counts(within="Hải Phòng", kind="agency")
    assert (c.get("agency", "chi cục").before, c.get("agency", "chi cục").after) == (2, 1)
    assert reg.resolve("Trung tâm Ví dụ Ba Hải Phòng").version.valid_from.isoformat() == "2025-07-15"


@pytest.mark.parametrize("extra", [0, 1, 2_997])
def test_yaml_nesting_is_refused_beyond_the_limit_only(tmp_path: Path, extra: int) -> None:
    """A YAML annex may nest MAX_YAML_DEPTH levels; one more is refused as too deep, before PyYAML's
    scanner spends seconds on it (3,000 levels took ~10 s); at the limit the reading goes on to the
    annex's own rules."""
    lists = annex.MAX_YAML_DEPTH - 3 + extra  # the document, the event list and the event are three
    path = tmp_path / "deep.yaml"
    path.write_text("events:\n  - event: rename\n    units: " + "[" * lists + "Phường Hồng Bàng" + "]" * lists
                    + "\n    to: X\n    effective: 2026-01-01\n    act: 1/2026/NQ\n", encoding="utf-8")
    try:
        annex.read(path)
        said = ""
    except ValidationFailed as exc:
        said = str(exc)
    assert ("nested too deeply" in said) == (extra > 0), said


def test_a_yaml_error_names_its_line_in_the_language_of_the_run(tmp_path: Path) -> None:
    """The parser's complaint keeps its own words; the line it points at is said as the other
    annex problems say it (Vietnamese: "dòng 2:")."""
    from merger import i18n

    path = tmp_path / "broken.yaml"
    path.write_text("events: [\n", encoding="utf-8")
    for lang, said in (("vi", "dòng 2: YAML không hợp lệ"), ("en", "line 2: not valid YAML")):
        with i18n.use(lang), pytest.raises(ValidationFailed) as exc:
            annex.read(path)
        assert said in str(exc.value), str(exc.value)
