"""The CLI through CliRunner: exit codes, one-line errors, machine output."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from clirunner import CliRunner
from merger.cli import app


@pytest.fixture
def run(national_path):  # type: ignore[no-untyped-def]
    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["--db", str(national_path), *args])

    return invoke


def test_lineage_tree(run) -> None:  # type: ignore[no-untyped-def]
    result = run("lineage", "An Lư")
    assert result.exit_code == 0
    out = result.stdout
    assert "Phường An Lư" in out and "Phường Hòa Bình" in out and "Phường Thủy Nguyên" in out
    assert "khoản 3 Điều 1, 1669/NQ-UBTVQH15" in out and "2025-07-01" in out and "part" in out


def test_lineage_diagram_is_written_beside_the_tree(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    out = tmp_path / "an_lu.svg"
    result = run("lineage", "An Lư", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["direction"] == "forward"  # machine output unchanged
    assert result.stderr.strip() == f"Diagram written to {out}"
    svg = out.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "Phường Hòa Bình" in svg and "Phường Thủy Nguyên" in svg  # text, not outlines
    bad = run("lineage", "An Lư", "--out", str(tmp_path / "x.jpg"))
    assert bad.exit_code == 1 and bad.stderr.strip() == "Error: cannot draw x.jpg: use a .png or .svg file name"


def test_lineage_json_follows_direction_and_depth(run) -> None:  # type: ignore[no-untyped-def]
    result = run("lineage", "Phường Hòa Bình, Hải Phòng", "--as-of", "1/7/2025", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["direction"] == "backward"
    kids = {c["name"]: c["via"] for c in data["lineage"]["children"]}
    assert kids["Phường An Lư"]["portion"] == "part"
    assert kids["Phường An Lư"]["clause"] == "3"
    assert kids["Phường An Lư"]["act"] == "1669/NQ-UBTVQH15"


def test_lineage_forward_from_a_current_unit_says_so(run) -> None:  # type: ignore[no-untyped-def]
    result = run("lineage", "11533@2025-07-01", "--forward")
    assert result.exit_code == 0
    assert "no recorded events" in result.stdout


def test_ambiguous_name_exits_1_with_candidates(run) -> None:  # type: ignore[no-untyped-def]
    result = run("lineage", "Hòa Bình, Hải Phòng")
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("Error:") and "\n" not in line
    assert "ambiguous (4 units)" in line and "Huyện Vĩnh Bảo" in line and "11533" in line
    assert "Traceback" not in result.output


def test_unknown_name_exits_1_with_suggestions(run) -> None:  # type: ignore[no-untyped-def]
    result = run("show", "Thuy Nguyenn")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no unit matches 'Thuy Nguyenn'; did you mean:")
    assert "Thủy Nguyên" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["units", "--as-of", "2025-07-01", "--level", "planet"],
     "Error: unknown level 'planet'; one of: province, district, commune, village, agency"),
    (["units", "--as-of", "2025-07-01", "--type", "làng"], "Error: unknown type 'làng'; the register's types are: "),
    (["counts", "--kind", "alien"], "Error: unknown kind 'alien'; one of: admin, agency"),
    (["counts", "--within", ""], "Error: empty unit name"),
])
def test_filters_that_can_match_nothing_are_refused(run, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    """A misspelt filter is an error naming the valid values, not an empty table."""
    result = run(*args)
    assert result.exit_code == 1 and result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_type_filter_ignores_case_and_marks(run) -> None:  # type: ignore[no-untyped-def]
    result = run("units", "--as-of", "2025-07-01", "--type", "DAC KHU", "--csv")
    assert result.exit_code == 0 and len(result.stdout.strip().splitlines()) == 1 + 13


def test_a_date_before_the_recorded_history_is_answered_with_a_note(run) -> None:  # type: ignore[no-untyped-def]
    """The register's history starts with the published list of 2004-08-31 (the list of
    2003-01-15 holds provinces only): an earlier date is answered with the oldest known state and
    a Note on stderr; a date inside the history is answered exactly, without a note."""
    early = run("counts", "--before", "2003-06-01", "--within", "Hải Phòng", "--csv")
    oldest = run("counts", "--before", "2004-08-30", "--within", "Hải Phòng", "--csv")
    assert early.exit_code == 0 and early.stdout == oldest.stdout
    assert early.stderr.startswith("Note: the register records changes from 2004-08-31 on; for 2003-06-01 it "
                                   "shows the units in force on 2004-08-30")
    known = run("counts", "--before", "2020-01-01", "--within", "Hải Phòng", "--csv")
    assert known.exit_code == 0 and known.stdout != run("counts", "--within", "Hải Phòng", "--csv").stdout
    assert known.stderr == ""
    assert run("units", "--as-of", "2025-06-30", "--level", "province", "--csv").stderr == ""
    assert "for 2003-06-01" in run("crosswalk", "--from", "2003-06-01", "--to", "2025-07-01", "--csv").stderr


def _complete(words: str) -> str:
    env = {"_MERGER_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": words}
    result = CliRunner().invoke(app, [], prog_name="merger", env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_shell_completion_of_unit_names_and_codes(national_path) -> None:  # type: ignore[no-untyped-def]
    db = shlex.quote(str(national_path))
    special = _complete(f'merger --db {db} lineage "Đặc khu C')
    assert '"Đặc khu Cát Hải":"Đặc khu Cát Hải, Thành phố Hải Phòng [11914, 2025-07-01 –]"' in special
    assert "Đặc khu Côn Đảo" in special and "Phú Quốc" not in special
    shared = _complete(f'merger --db {db} counts --within "Phường An Lạc')  # several: with their parents
    assert '"Phường An Lạc, Thành phố Chí Linh"' in shared and '"Phường An Lạc":' not in shared
    assert '"11533":"Phường An Lư, Thành phố Thuỷ Nguyên' in _complete(f"merger --db {db} show 1153")
    assert _complete("merger --db /nonexistent/register.sqlite lineage 'Đặc khu C").strip() == "_files"


def test_bad_date_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    result = run("units", "--as-of", "30/13/2025")
    assert result.exit_code == 2
    assert "is not a date" in result.output


def test_unit_not_valid_on_the_date(run) -> None:  # type: ignore[no-untyped-def]
    result = run("lineage", "Phường An Lư", "--as-of", "2025-07-01")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 'Phường An Lư' names no unit in force on 2025-07-01; it names:")
    assert "2025-06-30" in result.stderr


def test_show_prints_every_version(run) -> None:  # type: ignore[no-untyped-def]
    result = run("show", "Hải Phòng", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [v["key"] for v in data["versions"]] == ["31@..2025-06-30", "31@2025-07-01"]
    created = {c["predecessor"] for c in data["versions"][1]["created_by"]}
    assert created == {"30@..2025-06-30", "31@..2025-06-30"}
    assert data["versions"][1]["statistics"]["population"] > 4_000_000


def test_units_as_of_within_and_type(run) -> None:  # type: ignore[no-untyped-def]
    result = run("units", "--as-of", "2025-07-01", "--within", "Hải Phòng", "--type", "đặc khu", "--csv")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("code,name,type")
    assert sorted(line.split(",")[1] for line in lines[1:]) == ["Đặc khu Bạch Long Vĩ", "Đặc khu Cát Hải"]
    old = run("units", "--as-of", "2025-06-30", "--within", "Hải Phòng", "--level", "district", "--json")
    assert len(json.loads(old.stdout)) == 27


def test_search(run) -> None:  # type: ignore[no-untyped-def]
    result = run("search", "bạch long vĩ", "--json")
    assert result.exit_code == 0
    keys = {r["key"] for r in json.loads(result.stdout)}
    assert keys == {"318@..2025-06-30", "11948@2025-07-01"}
    assert run("search", "zzzz").exit_code == 1


def test_check_clean(run) -> None:  # type: ignore[no-untyped-def]
    result = run("check")
    assert result.exit_code == 0
    assert "no violations" in result.stdout


def test_json_and_csv_together_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    assert run("counts", "--json", "--csv").exit_code == 2


def test_unreadable_database_is_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_text("this is not sqlite")
    result = CliRunner().invoke(app, ["--db", str(bad), "counts"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error:")
    assert bad.read_text() == "this is not sqlite"  # nothing lost


def test_password_never_printed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["--db", "nosuchdriver://user:s3cret@localhost/x", "counts"])
    assert result.exit_code == 1
    assert "s3cret" not in result.output


@pytest.mark.parametrize("args", [["--help"], ["lineage", "An Lư"], ["counts"], ["show", "Hải Phòng"]])
def test_start_up_imports_stay_light(national_path, args) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys; from merger.cli import main\n"
        f"sys.argv = ['merger', '--db', {str(national_path)!r}, *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('sqlmodel', 'geopandas', 'networkx', 'pydantic') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stderr, out.stderr


@pytest.mark.parametrize("args", [
    ["lineage", "An Lư"], ["show", "An Lư"], ["search", "An Lư"], ["counts", "--within", "Hải Phòng"],
    ["units", "--within", "Hải Phòng"], ["counts"], ["lineage", "An Lư", "--json"], ["show", "An Lư", "--csv"],
    ["units", "--within", "Hải Phòng", "--csv"], ["search", "An Lư", "--json"],
])
def test_piped_reads_import_no_rich(national_path, args) -> None:  # type: ignore[no-untyped-def]
    """Piped (or --json/--csv), a read draws its table or tree without rich (merger.cli.draw),
    and the register is read without what the question does not use."""
    code = (
        "import sys; from merger.cli import main\n"
        f"sys.argv = ['merger', '--db', {str(national_path)!r}, *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'sqlmodel', 'pydantic', 'networkx'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert "HEAVY []" in out.stderr, out.stderr
    assert out.stdout.strip()


def test_lineage_overlap_by_overlay(run) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("geopandas")
    result = run("lineage", "Phường Hồng Bàng", "--overlap", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)["overlap"]}
    assert rows["Quận Hồng Bàng"]["in_lineage"] and rows["Quận Hồng Bàng"]["share_of_unit"] > 0.9
    assert abs(sum(r["share_of_unit"] for r in rows.values()) - 1) < 0.02
