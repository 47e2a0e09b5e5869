"""Hostile and careless use (issue 10): one representative case of every item, on the real
bundled register, and a Hypothesis fuzz of names, dates, shares, paths and annex contents
through the CLI. The promise under test: one `Error:` line and exit 1 (click usage errors: 2),
never a traceback or "internal error", the register unchanged after any refused write, nothing
written where it must not be, no formula, escape sequence or password let through."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from clirunner import CliRunner
from merger import store
from merger.cli import app
from merger.register import Register

AN_LU = "11533@..2025-06-30"  # Phường An Lư (Thuỷ Nguyên, Hải Phòng), merged on 1 July 2025
HONG_BANG = "Phường Hồng Bàng"  # a ward of Hải Phòng since 1 July 2025


def run(db: str, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--db", db, *args])


def one_error(res, code: int = 1) -> str:  # type: ignore[no-untyped-def]
    """The result is a clean refusal: exit ``code``, no traceback, one Error line; returns it."""
    assert res.exit_code == code, (res.exit_code, res.stdout[-500:], res.stderr[-500:])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output and "internal error" not in res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, res.stderr
    if code == 1:
        assert res.stderr.strip() == errors[0], res.stderr
    return errors[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def generation(reg: Register) -> str:
    with reg.engine.connect() as conn:
        return str(store.meta(conn)["generation"]) + "/" + str(
            conn.execute(text("SELECT COUNT(*) FROM event")).scalar())


def restyle(reg: Register, key: str, **values: str) -> None:
    """Store hostile text in a version directly (as another tool or an older merger could have),
    so that what is tested is how merger *shows* it, whatever recording refuses today."""
    with reg.engine.begin() as conn:
        sets = ", ".join(f"{k} = :{k}" for k in values)
        conn.execute(text(f"UPDATE version SET {sets} WHERE key = :key"), {**values, "key": key})
        store.bump_generation(conn)
    reg.invalidate()


# --- item 4: never write into another application's SQLite file ------------------------------


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    path = tmp_path / "other-app.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO customers (name) VALUES ('Nguyễn Văn A')")
    con.commit()
    con.close()
    return path


@pytest.mark.parametrize("args", [["counts"], ["db", "current"], ["db", "current", "--json"], ["db", "upgrade"],
                                  ["init"], ["log"], ["record", "rename", "An Lư", "--to", "X", "-e", "2026-01-01"]])
def test_a_foreign_sqlite_file_is_refused_and_untouched(foreign: Path, args: list[str]) -> None:
    before = digest(foreign)
    line = one_error(run(str(foreign), *args))
    assert f"{foreign} is not a merger register" in line
    assert digest(foreign) == before
    assert not Path(str(foreign) + ".snapshot").exists() and not Path(str(foreign) + "-wal").exists()


def test_a_foreign_database_is_not_built_into(new_db) -> None:  # type: ignore[no-untyped-def]
    """Both stores: a database holding another application's tables (and no register) is refused."""
    url = new_db("foreign")
    engine = store.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)"))
    try:
        assert "is not a merger register" in one_error(run(url, "counts"))
        with engine.connect() as conn:
            tables = conn.execute(text("SELECT COUNT(*) FROM customers")).scalar()
            assert tables == 0
        from sqlalchemy import inspect

        assert inspect(engine).get_table_names() == ["customers"]
    finally:
        engine.dispose()


def test_import_register_refuses_a_foreign_file(foreign: Path, national: Register, tmp_path: Path) -> None:
    from merger import exchange

    exchange.export_register(national, tmp_path / "backup.json")
    before = digest(foreign)
    assert "is not a merger register" in one_error(run(str(foreign), "import-register", str(tmp_path / "backup.json")))
    assert digest(foreign) == before


def test_a_text_file_is_not_a_register(tmp_path: Path) -> None:
    notes = tmp_path / "notes.sqlite"
    notes.write_text("ghi chú\n", encoding="utf-8")
    assert "is not a merger register" in one_error(run(str(notes), "counts"))
    assert notes.read_text(encoding="utf-8") == "ghi chú\n"


@pytest.mark.parametrize("args", [["db", "current"], ["db", "current", "--json"], ["db", "upgrade"]])
def test_db_commands_never_write_an_empty_or_missing_file(tmp_path: Path, args: list[str]) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    res = run(str(empty), *args)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert empty.stat().st_size == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite"]
    missing = tmp_path / "nowhere" / "r.sqlite"
    res = run(str(missing), *args)
    assert res.exit_code == 1 and not missing.parent.exists()


def test_memory_database_refuses_writes_and_leaves_no_snapshot(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    for args in (["init"], ["record", "rename", "An Lư", "--to", "X", "-e", "2026-01-01"], ["db", "upgrade"],
                 ["import-register", "x.json"]):
        assert "--db :memory: keeps nothing" in one_error(run(":memory:", *args))
    assert list(tmp_path.iterdir()) == []


# --- item 5: an empty filter is refused, never "everything" --------------------------------------


@pytest.mark.parametrize("args", [
    ["crosswalk", "--within", ""], ["diff", "--within", " "], ["report", "--within", "", "--out", "r.html"],
    ["export", "--within", "", "--out", "x.geojson"], ["export", "--level", "", "--out", "x.geojson"],
    ["log", "--unit", ""], ["log", "--by", ""], ["log", "--act", ""], ["units", "--type", ""],
    ["units", "--within", ""], ["crosswalk", "--level", ""],
])
def test_empty_filters_are_refused(national_path: str, args: list[str], tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    line = one_error(run(national_path, *args))
    assert "is empty" in line
    assert list(tmp_path.iterdir()) == []


# --- item 7: read-only covers boundaries and never creates folders --------------------------------


def test_read_only_boundaries_load_and_forget_are_refused(national_copy: Register, tmp_path: Path) -> None:
    pytest.importorskip("geopandas")
    from merger.geo import data

    own = data.user_path(national_copy)
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_bytes(b"placeholder: must survive --read-only forget")
    src = tmp_path / "wards.geojson"
    src.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    db = national_copy.url
    assert "read-only" in one_error(CliRunner().invoke(app, ["--read-only", "--db", db, "boundaries", "forget"]))
    assert own.read_bytes() == b"placeholder: must survive --read-only forget"
    own.unlink()
    res = CliRunner().invoke(app, ["--read-only", "--db", db, "boundaries", "load", str(src), "--level", "commune",
                                   "--as-of", "2025-07-01"])
    assert "read-only" in one_error(res)
    assert not own.exists()


def test_read_only_never_creates_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "register.sqlite"
    one_error(CliRunner().invoke(app, ["--read-only", "--db", str(target), "counts"]))
    assert not (tmp_path / "a").exists()


def _unshare() -> list[str]:
    exe = shutil.which("unshare")
    if exe is None or subprocess.run([exe, "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("no unprivileged mount namespace (unshare -rm) to make a read-only file system")
    return [exe, "-rm", "sh", "-c"]


def test_a_register_on_a_read_only_file_system_reads_with_read_only(national_sqlite_path: Path, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    shutil.copy(national_sqlite_path, ro / "register.sqlite")
    merger = [sys.executable, "-c", "from merger.cli import main; main()"]
    cmd = " ".join(f"'{a}'" for a in merger)
    script = (f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro} && "
              f"{cmd} --read-only --db {ro}/register.sqlite show 'An Lư, Thủy Nguyên' && "
              f"{cmd} --read-only --db {ro}/register.sqlite db current && "
              f"{cmd} --db {ro}/register.sqlite record rename 'An Lư, Thủy Nguyên' --to X -e 2026-01-01; "
              f"{cmd} --read-only --db {ro}/register.sqlite lineage 'An Lư, Thủy Nguyên' --out {ro}/x.svg")
    res = subprocess.run([*_unshare(), script], capture_output=True, text=True, timeout=300)
    assert "Phường An Lư" in res.stdout and "Up to date" in res.stdout, res.stderr
    errors = res.stderr.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("Error: ") for e in errors), res.stderr
    assert "read-only" in errors[0] and "read-only" in errors[1]
    assert "Traceback" not in res.stderr
    assert sorted(p.name for p in ro.iterdir()) == ["register.sqlite"]


# --- item 8: CSV formula injection ---------------------------------------------------------------


def test_csv_cells_that_are_formulas_are_neutralised(national_copy: Register) -> None:
    evil = '=HYPERLINK("http://evil.example","An Lư")'
    restyle(national_copy, AN_LU, name=evil, full_name=evil)
    db = national_copy.url
    res = run(db, "search", "11533", "--csv")
    assert res.exit_code == 0, res.stderr
    assert "'=HYPERLINK" in res.stdout
    assert not any(line.startswith(("=", "@")) or ",=" in line or ",@" in line for line in res.stdout.splitlines())
    raw = CliRunner().invoke(app, ["--raw-csv", "--db", db, "search", "11533", "--csv"])
    assert raw.exit_code == 0 and '"=HYPERLINK(""http://evil.example"",""An Lư"")"' in raw.stdout
    counts = run(db, "counts", "--csv").stdout  # numbers stay numbers: -616 is not "'-616"
    assert ",-616" in counts and "'-" not in counts


def test_log_csv_neutralises_who_act_and_note(national_copy: Register) -> None:
    db = national_copy.url
    # A formula is no citation: the clause is refused outright (structured legal basis, issue 9).
    res = run(db, "record", "rename", HONG_BANG, "--to", "Phường Hồng Bàng Mới", "-e", "2026-01-01",
              "--act", "15/2026/NQ-HĐND", "--clause", "+SUM(A1)")
    assert res.exit_code == 1 and "is not a citation" in res.stderr
    res = run(db, "record", "rename", HONG_BANG, "--to", "Phường Hồng Bàng Mới", "-e", "2026-01-01",
              "--act", "15/2026/NQ-HĐND", "--clause", "k1 Đ1", "--note", "+SUM(A1) -2+3",
              "--by", "=cmd|'/C calc'!A0")
    assert res.exit_code == 0, res.stderr
    out = run(db, "log", "--csv").stdout
    assert "'=cmd|'/C calc'!A0" in out and "'+SUM(A1) -2+3" in out


def test_copied_input_cells_are_neutralised_in_written_files(national_path: str, tmp_path: Path) -> None:
    src = tmp_path / "customers.csv"
    src.write_text('dia_chi,ghi_chu\n"xã Hòa Bình, huyện Vĩnh Bảo, Hải Phòng","=WEBSERVICE(""http://x"")"\n'
                   '"P. An Lư, TX. Thủy Nguyên, TP. Hải Phòng",-5\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    res = run(national_path, "resolve", "--file", str(src), "--column", "dia_chi", "--out", str(out))
    assert res.exit_code == 0, res.stderr
    written = out.read_text(encoding="utf-8")
    assert "'=WEBSERVICE" in written and ",-5," in written


def test_safe_cell_keeps_numbers() -> None:
    from merger.outputs import safe_cell

    assert [safe_cell(v) for v in (-616, 0.5, "-12.5", "+84", "=1+2", "-x", "\tA", "An Lư")] == \
        [-616, 0.5, "-12.5", "+84", "'=1+2", "'-x", "'\tA", "An Lư"]


# --- item 9 and 14: control characters shown, long inputs cut -------------------------------------


def test_escape_sequences_in_stored_names_are_shown_not_obeyed(national_copy: Register) -> None:
    restyle(national_copy, AN_LU, name="Phường An\x1b[2J Lư\x07", full_name="Phường An\x1b[2J Lư\x07")
    for args in (["show", AN_LU], ["search", "11533"], ["lineage", AN_LU]):
        res = run(national_copy.url, *args)
        assert res.exit_code == 0, res.stderr
        assert "\x1b" not in res.stdout and "\x07" not in res.stdout
        assert "␛[2J" in res.stdout


def test_machine_output_on_a_terminal_shows_control_characters(national_copy: Register, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV and JSON on stdout keep the data as given into a pipe or a file; on a terminal an ESC,
    a BEL or a C1 control (which JSON does not escape) in a stored name or in a cell of the user's
    file is drawn, never obeyed (resolve --file echoed the file's cells raw to the terminal)."""
    from merger.cli import common

    restyle(national_copy, AN_LU, name="Phường An\x1b[2J Lư\x9b", full_name="Phường An\x1b[2J Lư\x9b")
    table = tmp_path / "in.csv"
    table.write_text("dia_chi\nSố 1\x1b]0;x\x07, Phường Hòa Bình, Thành phố Hải Phòng\n", encoding="utf-8")
    runs = [("search", "11533", "--csv"), ("show", AN_LU, "--json"), ("lineage", AN_LU, "--json"),
            ("resolve", "--file", str(table), "--column", "dia_chi")]
    piped = {args: run(national_copy.url, *args) for args in runs}
    monkeypatch.setattr(common, "is_terminal", lambda stream: True)
    for args in runs:
        shown = run(national_copy.url, *args)
        assert shown.exit_code == 0 == piped[args].exit_code, shown.stderr
        assert not any(c in shown.stdout for c in "\x1b\x07\x9b"), (args, shown.stdout[:300])
        assert ("<U+009B>" if "--json" in args else "␛") in shown.stdout, args  # (JSON spells ESC \u001b itself)
        assert ("\x9b" if "--json" in args else "\x1b") in piped[args].stdout, args  # as given into a pipe


def test_messages_cut_long_inputs_and_show_control_characters(national_path: str) -> None:
    long_name = "Xã " + "Ầ" * 10_000
    line = one_error(run(national_path, "show", long_name))
    assert len(line) < 1_100 and "Ầ" * 201 not in line
    line = one_error(run(national_path, "show", "An\x1b[2J\x07Lư"))
    assert "\x1b" not in line and "\x07" not in line


# --- item 10 (diagrams): TeX math in names is plain text -----------------------------------------


@pytest.mark.parametrize("name", [r"$\badcmd{x}$", r"$\frac{1}{0}$"])
def test_tex_math_in_names_is_drawn_as_text(national_copy: Register, tmp_path: Path, name: str) -> None:
    pytest.importorskip("matplotlib")
    restyle(national_copy, AN_LU, name=name, full_name=name)
    out = tmp_path / "d.svg"
    res = run(national_copy.url, "lineage", AN_LU, "--out", str(out))
    assert res.exit_code == 0, res.stderr
    assert name.replace("$", "") in out.read_text(encoding="utf-8").replace("$", "")


# --- item 11: credentials never shown -------------------------------------------------------------

SECRET = "S3cretPw"
URLS = [
    f"postgresql+psycopg://merger:{SECRET}@127.0.0.1:1/merger",
    f"postgresql+psycopg://merger@127.0.0.1:1/merger?password={SECRET}",
    f"postgresql://127.0.0.1:1/merger?sslmode=disable&password={SECRET}&application_name=x",
    f"postgresql+psycopg://merger:{SECRET}%40x@127.0.0.1:1/merger",
    f"host=127.0.0.1 port=1 password={SECRET} dbname=merger",
    f"host=127.0.0.1 password = '{SECRET} x' dbname=merger",
    f"postgresql://merger:{SECRET}@[::1",
    f"postgresql://merger:{SECRET}@127.0.0.1:port/merger",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("args", [
    ["counts"], ["db", "current"], ["db", "current", "--json"], ["init"], ["db", "upgrade"], ["log", "--json"],
    ["show", "An Lư"], ["lineage", "An Lư"], ["units"], ["search", "An Lư"], ["check"], ["crosswalk", "--csv"],
    ["diff"], ["resolve", "xã Hòa Bình, huyện Vĩnh Bảo, Hải Phòng"], ["export", "--format", "json", "--out", "OUT"],
    ["record", "rename", "An Lư", "--to", "X", "-e", "2026-01-01"], ["apply", "ANNEX"],
    ["revoke", "E1", "--reason", "x"], ["amend", "E1", "--to", "Y", "--reason", "x"],
    ["import-register", "ANNEX"], ["boundaries", "list"],
])
def test_passwords_are_never_printed(url: str, args: list[str], monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
    annex = tmp_path / "a.csv"
    annex.write_text("event,units,to,effective,act\nrename,An Lư,X,2026-01-01,1/2026/NQ\n", encoding="utf-8")
    args = [{"OUT": str(tmp_path / "x.json"), "ANNEX": str(annex)}.get(a, a) for a in args]
    res = run(url, *args)
    one_error(res)
    assert SECRET not in res.output


def test_scrub_masks_every_form() -> None:
    for url in URLS:
        assert SECRET not in store.redact(url) and SECRET not in store.scrub(f"error at {url}: refused")


def test_a_drivers_words_are_scrubbed_on_every_path() -> None:
    """Whichever path a driver's error comes by (SQLAlchemy's, the write path's, a read's psycopg
    connection), ``store.driver_failure`` gives its one line with any credential in its words
    masked, as the write path alone did before."""
    for url in URLS:
        for state in (None, "42501", "3D000"):
            exc = RuntimeError(f"connection to {url} failed\nDETAIL: more")
            exc.sqlstate = state  # type: ignore[attr-defined]
            said = str(store.driver_failure(url, exc))
            assert SECRET not in said and "DETAIL" not in said, said


# --- item 13: every input error is one line ------------------------------------------------------

BAD_OUT = {
    "missing folder": lambda d: str(d / "no" / "such" / "x.EXT"),
    "a folder": lambda d: str(d),
    "empty": lambda d: "",
    "too long": lambda d: str(d / ("a" * 300 + ".EXT")),
}
OUT_COMMANDS = {
    "export json": (["export", "--format", "json", "--out"], "json"),
    "lineage": (["lineage", "An Lư, Thủy Nguyên", "--out"], "svg"),
    "report": (["report", "--within", "Hải Phòng", "--out"], "html"),
    "resolve": (["resolve", "--file", "IN", "--column", "dia_chi", "--out"], "csv"),
    "convert": (["convert", "IN2", "--key", "ma", "--sum", "dan_so", "--out"], "csv"),
}


@pytest.mark.parametrize("bad", sorted(BAD_OUT))
@pytest.mark.parametrize("command", sorted(OUT_COMMANDS))
def test_bad_out_paths_are_one_error_and_leave_nothing(national_path: str, tmp_path: Path, bad: str,
                                                      command: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "in.csv").write_text("dia_chi\nxã Hòa Bình, huyện Vĩnh Bảo, Hải Phòng\n", encoding="utf-8")
    (tmp_path / "in2.csv").write_text("ma,dan_so\n11533,1000\n", encoding="utf-8")
    args, ext = OUT_COMMANDS[command]
    args = [{"IN": str(tmp_path / "in.csv"), "IN2": str(tmp_path / "in2.csv")}.get(a, a) for a in args]
    line = one_error(run(national_path, *args, BAD_OUT[bad](work).replace("EXT", ext)))
    assert "--out" in line
    assert list(work.iterdir()) == []


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    from merger.errors import BadInput
    from merger.outputs import writing

    out = tmp_path / "x.json"
    out.write_text("old", encoding="utf-8")
    with pytest.raises(BadInput, match="cannot write"), writing(out) as tmp:
        tmp.write_text("half", encoding="utf-8")
        out.unlink()
        out.mkdir()  # the final rename fails
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


@pytest.fixture(scope="module")
def refusing(national: Register, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Register]:
    """A private copy of the national register, one per store for the module, shared by the tests
    below whose every write must be refused (as the fuzz test shares one copy among its examples):
    each compares the generation and the number of events before and after, so a write let through
    fails the test that let it through. A copy each (national_copy) made 8 copies per store."""
    from copies import private_copy

    with private_copy(national, tmp_path_factory.mktemp("refusing")) as reg:
        yield reg


@pytest.mark.parametrize(("args", "expect"), [
    (["--effective", "0001-01-01"], "implausible"),
    (["--effective", "9999-12-31"], "implausible"),
    (["--effective", "2026-01-01", "--act-date", "0001-01-01"], "implausible"),
    (["--effective", "2026-01-01", "--act-date", "9999-12-31"], "implausible"),
])
def test_dates_at_the_edges_follow_one_rule(refusing: Register, args: list[str], expect: str) -> None:
    before = generation(refusing)
    line = one_error(run(refusing.url, "record", "rename", HONG_BANG, "--to", "X", "--act", "1/2026/NQ", *args))
    assert expect in line and "1900-01-01" in line
    assert generation(refusing) == before


@pytest.mark.parametrize(("name", "content"), [
    ("feb30.yaml", "events:\n  - event: rename\n    effective: 2025-02-30\n    units: Phường Hồng Bàng\n"
                   "    to: X\n    act: 1/2026/NQ\n"),
    ("deep.yaml", "events: " + "[" * 3000 + "]" * 3000 + "\n"),
    ("year1.csv", "event,units,to,effective,act\nrename,Phường Hồng Bàng,X,0001-01-01,1/2026/NQ\n"),
    ("big.csv", "event,units,to,effective,act\nrename," + "A" * 200_000 + ",X,2026-01-01,1/2026/NQ\n"),
])
def test_bad_annexes_are_refused_whole(refusing: Register, tmp_path: Path, name: str, content: str) -> None:
    annex = tmp_path / name
    annex.write_text(content, encoding="utf-8")
    before = generation(refusing)
    res = run(refusing.url, "apply", str(annex))
    assert res.exit_code == 1 and res.stderr.startswith("Error:") and "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert generation(refusing) == before


def test_csv_cell_over_the_field_limit(national_path: str, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_text("ma,dan_so\n" + "1" * 200_000 + ",1\n", encoding="utf-8")
    line = one_error(run(national_path, "convert", str(big), "--key", "ma", "--sum", "dan_so", "--out",
                         str(tmp_path / "o.csv")))
    assert "a cell is longer than the limit of 131,072 characters" in line and not (tmp_path / "o.csv").exists()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``exported(reg)``: the text of ``reg``'s JSON export, made once per register for the module
    (the national register's takes seconds; each test damages its own parsed copy)."""
    from merger import exchange

    made: dict[str, str] = {}

    def text(reg: Register) -> str:
        if reg.url not in made:
            path = tmp_path_factory.mktemp("export") / "good.json"
            exchange.export_register(reg, path)
            made[reg.url] = path.read_text(encoding="utf-8")
        return made[reg.url]

    return text


@pytest.mark.parametrize("damage", ["not json types", "short row", "tables a list", "duplicate id", "deep"])
def test_import_register_with_wrong_content(national: Register, exported, tmp_path: Path, damage: str) -> None:  # type: ignore[no-untyped-def]
    import json

    data = json.loads(exported(national)) if damage != "deep" else None
    if damage == "not json types":
        data["tables"]["version"]["rows"][0][0] = "not-an-id"
    elif damage == "short row":
        data["tables"]["event"]["rows"][0] = data["tables"]["event"]["rows"][0][:-1]
    elif damage == "tables a list":
        data["tables"] = [1, 2]
    elif damage == "duplicate id":
        data["tables"]["unit"]["rows"].append(data["tables"]["unit"]["rows"][0])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data) if damage != "deep" else '{"format": "merger-register", "x": '
                   + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    target = tmp_path / "restored.sqlite"
    one_error(run(str(target), "import-register", str(bad)))
    assert list(tmp_path.glob("restored.sqlite*")) == []


@pytest.mark.parametrize("args", [["log"], ["export", "--format", "json", "--out", "OUT"], ["db", "current"],
                                  ["record", "rename", HONG_BANG, "--to", "X", "-e", "2026-01-01"], ["counts"]])
def test_a_damaged_register_is_one_error(national_sqlite_path: Path, tmp_path: Path, args: list[str]) -> None:
    damaged = tmp_path / "damaged.sqlite"
    shutil.copy(national_sqlite_path, damaged)
    with damaged.open("r+b") as fh:  # overwrite pages in the middle of the file (the tables' data)
        fh.seek(damaged.stat().st_size // 3)
        fh.write(b"\xde\xad\xbe\xef" * 50_000)
    with damaged.open("r+b") as fh:  # and the schema page: nothing can be read any more
        fh.seek(100)
        fh.write(b"\x00" * 3000)
    args = [str(tmp_path / "out.json") if a == "OUT" else a for a in args]
    line = one_error(run(str(damaged), *args))
    assert "damaged" in line or "not a merger register" in line
    assert not (tmp_path / "out.json").exists()


def test_invalid_utf8_arguments(national_sqlite_path: Path) -> None:
    for args in ([b"show", b"\xff\xfeAn"], [b"search", b"An\xc3"], [b"--db", b"r\xff.sqlite", b"counts"]):
        if args[0] != b"--db":
            args = [b"--db", str(national_sqlite_path).encode(), *args]
        res = subprocess.run([sys.executable, "-c", "from merger.cli import main; main()", *args],
                             capture_output=True, timeout=120, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
        err = res.stderr.decode("utf-8")
        assert res.returncode == 1 and err.startswith("Error: the argument") and "not valid UTF-8" in err, err
        assert err.count("\n") == 1


def test_usage_errors_show_control_characters(national_sqlite_path: Path) -> None:
    for args in (["\x1b[2J"], ["units", "--as-of", "\x1b[2J"], ["lineage", "An Lư", "--depth", "\x1b]0;x\x07"]):
        res = subprocess.run([sys.executable, "-c", "from merger.cli import main; main()", "--db",
                              str(national_sqlite_path), *args], capture_output=True, text=True, timeout=120)
        assert res.returncode == 2 and "\x1b" not in res.stderr and "\x07" not in res.stderr, res.stderr
        assert len([line for line in res.stderr.splitlines() if line.startswith("Error:")]) == 1


def test_malformed_postgresql_url() -> None:
    line = one_error(run("postgresql://[::1", "counts"))
    assert "cannot read the database URL" in line


# --- item 17: a writer that truly cannot get the lock says so ------------------------------------


def test_busy_register_says_nothing_was_recorded(national_sqlite_path: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "busy.sqlite"
    shutil.copy(national_sqlite_path, path)
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(store, "WRITE_WAIT_SECONDS", 0.3)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock throughout
    try:
        line = one_error(run(str(path), "record", "rename", HONG_BANG, "--to", "Phường Hồng Bàng Mới", "-e", "2026-01-01",
                             "--act", "1/2026/NQ"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert line == f"Error: {store.BUSY}"
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0] == "0"
    con.close()


# --- the fuzz: names, dates, shares, paths and annex contents through the CLI -----------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
ARG = TEXT.map(lambda t: t.replace("\x00", ""))  # a command line cannot carry NUL (argv is C strings)
NAMES = st.one_of(ARG, st.sampled_from(["", "   ", "Thôn Hạ - Thượng", "=1+1", "$\\frac{1}{0}$",
                                         "A\x1b[2J", "Xã " + "Ầ" * 300, "An Lư", HONG_BANG]))
DATES = st.one_of(ARG, st.dates().map(str), st.sampled_from(["0001-01-01", "9999-12-31", "2025-02-30",
                                                             "31/12/2025", "2026-01-01"]))
SHARES = st.one_of(ARG, st.sampled_from(["A1=0.5=0.5", "=0.5", "A1=1;B1=1", "A1=0.5,B1=0.5", "x=nan",
                                          "x=-1", "x=1e309"]))
ANNEX_ROWS = st.lists(st.tuples(st.sampled_from(["rename", "merge", "split", "establish", "bogus", ""]),
                                NAMES, NAMES, DATES), min_size=1, max_size=3)


def _csv(rows: list[tuple[str, str, str, str]]) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["event", "units", "into", "to", "effective", "act"])
    for kind, unit, to, day in rows:
        w.writerow([kind, unit, to, to, day, "1/2026/NQ"])
    return buf.getvalue()


@st.composite
def hostile_calls(draw: st.DrawFn) -> tuple[list[str], str | None]:
    kind = draw(st.sampled_from(["rename", "establish", "split", "out", "annex-csv", "annex-yaml", "show"]))
    if kind == "rename":
        return ["record", "rename", draw(NAMES), "--to", draw(NAMES), "-e", draw(DATES), "--act", "1/2026/NQ"], None
    if kind == "establish":
        return ["record", "establish", draw(NAMES), "--type", draw(NAMES), "--parent", "Hải Phòng",
                "-e", draw(DATES), "--act", "1/2026/NQ"], None
    if kind == "split":
        return ["record", "split", draw(NAMES), "--into", draw(NAMES), "--into", draw(NAMES),
                "--share", draw(SHARES), "-e", draw(DATES), "--act", "1/2026/NQ"], None
    if kind == "out":
        return ["export", "--format", "json", "--out", draw(ARG)], None
    if kind == "show":
        return ["show", draw(NAMES)], None
    rows = draw(ANNEX_ROWS)
    if kind == "annex-csv":
        return ["apply", "ANNEX.csv"], _csv(rows)
    return ["apply", "ANNEX.yaml"], draw(st.one_of(TEXT, st.just(
        "events:\n" + "".join(f"  - event: {k!r}\n    units: {u!r}\n    to: {t!r}\n    effective: {d}\n"
                              for k, u, t, d in rows))))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(call=hostile_calls())
def test_fuzz_hostile_input_through_the_cli(national_copy: Register, tmp_path_factory, call) -> None:  # type: ignore[no-untyped-def]
    args, annex = call
    work = tmp_path_factory.mktemp("fuzz")
    if annex is not None:
        name = args[-1].replace("ANNEX", "annex")
        (work / name).write_text(annex, encoding="utf-8")
        args = [*args[:-1], str(work / name)]
    if args[0] == "export":
        args = [*args[:-1], str(work / args[-1]) if args[-1] else ""]
    before = generation(national_copy)
    cwd = os.getcwd()
    os.chdir(work)
    try:
        res = run(national_copy.url, *args)
    finally:
        os.chdir(cwd)
    assert res.exception is None or isinstance(res.exception, SystemExit), (args, repr(res.exception))
    assert "Traceback" not in res.output and "internal error" not in res.output, (args, res.output[-400:])
    assert res.exit_code in (0, 1, 2), (args, res.exit_code)
    if res.exit_code:
        errors = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, (args, res.stderr[-600:])
        if res.exit_code == 1 and args[0] != "apply":  # apply lists each annex problem under its Error line
            assert res.stderr.strip() == errors[0], (args, res.stderr[-600:])
        assert "\x1b" not in res.stderr
        assert generation(national_copy) == before, args
    assert not list(work.glob("*.tmp")) and not list(work.glob(".*.tmp"))


def test_a_file_of_a_header_alone_is_resolved_to_no_addresses(national_path: str, tmp_path: Path) -> None:
    """A file with its header and no rows: the header written back, and a summary that says so in
    either language (it read "0 addresses → out.csv: " with nothing after the colon)."""
    table = tmp_path / "in.csv"
    table.write_text("dia_chi\n", encoding="utf-8")
    for env, said in (({}, "no addresses → "), ({"MERGER_LANG": "vi"}, "không có địa chỉ nào → ")):
        out = tmp_path / "out.csv"
        res = CliRunner().invoke(app, ["--db", national_path, "resolve", "--file", str(table), "--out", str(out)], env=env)
        assert res.exit_code == 0, res.stderr
        assert res.stdout.strip() == said + str(out)
        assert out.read_text(encoding="utf-8").splitlines()[0].startswith("dia_chi,")


def test_one_address_is_said_in_the_singular(national_path: str, tmp_path: Path) -> None:
    """"1 address", not "1 addresses" (ngettext; Vietnamese has one form)."""
    table = tmp_path / "in.csv"
    table.write_text('dia_chi\n"Phường Hòa Bình, Thành phố Hải Phòng"\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    for env, said in (({}, "1 address → "), ({"MERGER_LANG": "vi"}, "1 địa chỉ → ")):
        res = CliRunner().invoke(app, ["--db", national_path, "resolve", "--file", str(table), "--out", str(out)], env=env)
        assert res.exit_code == 0 and res.stdout.startswith(said + str(out) + ": "), res.stdout
