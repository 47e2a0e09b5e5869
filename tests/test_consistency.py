"""Issue 11's consistency list: the same option names, formats and column names in every command."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from clirunner import CliRunner
from merger import __version__
from merger.cli import app, hoist_global_options, main


@pytest.fixture
def run(national_path):  # type: ignore[no-untyped-def]
    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["--db", str(national_path), *args])

    return invoke


def test_from_to_with_before_after_kept_as_aliases(run) -> None:  # type: ignore[no-untyped-def]
    new = run("counts", "--within", "Hải Phòng", "--from", "2025-06-30", "--to", "2025-07-01", "--csv")
    old = run("counts", "--within", "Hải Phòng", "--before", "2025-06-30", "--after", "2025-07-01", "--csv")
    assert new.exit_code == old.exit_code == 0 and new.stdout == old.stdout and "commune,,374,114" in new.stdout
    for command in ("crosswalk", "diff", "changes", "summary"):
        assert run(command, "--before", "2025-06-30", "--after", "2025-07-01", "--within", "Vĩnh Bảo").exit_code == 0


def test_kind_wherever_units_are_listed(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    agencies = list(csv.DictReader(io.StringIO(run("units", "--kind", "agency", "--within", "Hải Phòng",
                                                   "--as-of", "2025-07-01", "--csv").stdout)))
    assert len(agencies) == 14 and {r["level"] for r in agencies} == {"agency"}
    both = run("units", "--kind", "all", "--within", "Hải Phòng", "--as-of", "2025-07-01", "--csv").stdout
    assert both.count("\n") - 1 == 14 + 114
    diff = json.loads(run("diff", "--kind", "agency", "--within", "Hải Phòng", "--json").stdout)
    assert diff["total"] == 13 and set(diff["counts"]) == {"merge"}  # Sở Ngoại vụ went on unchanged
    out = tmp_path / "agencies.md"
    rep = run("report", "--kind", "agency", "--within", "Hải Phòng", "--no-chart", "--out", str(out))
    assert rep.exit_code == 0, rep.output
    assert "Sở Nội vụ" in out.read_text(encoding="utf-8")
    assert run("units", "--kind", "village").exit_code == 2


def test_type_is_insensitive_to_marks(run) -> None:  # type: ignore[no-untyped-def]
    a = run("units", "--within", "Hải Phòng", "--as-of", "2025-07-01", "--type", "dac khu", "--csv").stdout
    b = run("units", "--within", "Hải Phòng", "--as-of", "2025-07-01", "--type", "ĐẶC KHU", "--csv").stdout
    assert a == b and a.count("\n") == 3


def test_json_and_csv_on_read_commands(run) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.DictReader(io.StringIO(run("show", "Hải Phòng", "--csv").stdout)))
    assert [r["key"] for r in rows] == ["31@..2025-06-30", "31@2025-07-01"]
    assert "E20250701-P31" in rows[0]["ended_by"] and rows[1]["created_by"] == "E20250701-P31"
    assert run("show", "Hải Phòng", "--csv", "--json").exit_code == 2
    assert json.loads(run("summary", "--kind", "agency", "--json").stdout)["parts"][0]["kind"] == "agency"
    row = next(csv.DictReader(io.StringIO(run("resolve", "Đường Lê Lợi, HP", "--csv").stdout)))
    assert row["status"] == "province_only" and row["new_address"] == "Đường Lê Lợi, Thành phố Hải Phòng"
    assert run("resolve", "zzz", "--csv").exit_code == 1
    check = run("check", "--csv")
    assert check.exit_code == 0 and check.stdout == "rule,message,subjects\n"


def test_csv_booleans_are_true_or_false(run) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.DictReader(io.StringIO(run("crosswalk", "--within", "Hải Phòng", "--csv").stdout)))
    assert {r["exact"] for r in rows} == {"true", "false"} and {r["split"] for r in rows} == {"true", "false"}


def test_same_column_names_for_the_same_things(run) -> None:  # type: ignore[no-untyped-def]
    diff = next(csv.DictReader(io.StringIO(run("diff", "--within", "Hải Phòng", "--csv").stdout)))
    change = next(csv.DictReader(io.StringIO(run("changes", "--within", "Hải Phòng", "--csv").stdout)))
    log = next(csv.DictReader(io.StringIO(run("log", "--all", "--act", "1459/QĐ-TTg", "--csv").stdout)))
    for row in (diff, change, log):
        assert {"event", "event_type", "effective", "act", "clause"} <= set(row)
    assert "basis" not in diff  # "basis" is a share's basis (crosswalk, convert, resolve); acts are cited


def test_diff_help_is_its_own() -> None:
    """Issue 11: `diff --help` repeated convert's "the input units" wording."""
    text = CliRunner().invoke(app, ["diff", "--help"]).stdout
    assert "input units" not in text and "carry onto" not in text and "Changes after this date" in text


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"merger {__version__}"


@pytest.mark.parametrize(("args", "expected"), [
    (["counts", "--within", "X", "--db", "p.sqlite"], ["--db", "p.sqlite", "counts", "--within", "X"]),
    (["counts", "--db=p.sqlite", "--csv"], ["--db=p.sqlite", "counts", "--csv"]),
    (["units", "--read-only", "--csv"], ["--read-only", "units", "--csv"]),
    (["--db", "a", "counts", "--csv"], ["--db", "a", "counts", "--csv"]),
    (["search", "--", "--db"], ["search", "--", "--db"]),  # after "--" it is an argument
    (["counts", "--csv"], ["counts", "--csv"]),
])
def test_global_options_after_the_command_are_moved_before_it(args, expected) -> None:  # type: ignore[no-untyped-def]
    assert hoist_global_options(args) == expected


def test_global_db_after_the_command_through_the_entry_point(national_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "argv", ["merger", "counts", "--within", "Hải Phòng", "--db", str(national_path),
                                      "--read-only", "--csv"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 0
    assert "commune,,374,114" in capsys.readouterr().out
