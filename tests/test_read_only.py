"""Read-only mode: --read-only (or Register.open(read_only=True)) refuses every write in one line,
and a PostgreSQL role granted SELECT only can query but not write. Nothing changes on refusal."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

import pg
from clirunner import CliRunner
from merger import exchange, store
from merger.cli import app
from merger.errors import StoreError
from merger.events import Spec
from merger.register import Register
from village_factory import village_builder, village_register

DAY = "2025-09-01"

WRITES = [
    ["record", "establish", "Thôn Mới", "--type", "thôn", "--parent", "Xã An", "-e", DAY],
    ["record", "rename", "Thôn Nam", "--to", "Thôn Bình Minh", "-e", DAY],
    ["apply", "ANNEX"],
    ["revoke", "EVENT", "--reason", "wrong"],
    ["amend", "EVENT", "--to", "Thôn Khác", "--reason", "typo"],
    ["init"],
    ["import-register", "EXPORT"],
    ["db", "upgrade"],
]


def _export(reg: Register, path: Path) -> str:
    exchange.export_register(reg, path)
    return path.read_text(encoding="utf-8")


def _args(args: list[str], tmp_path: Path, event: str) -> list[str]:
    annex = tmp_path / "annex.csv"
    annex.write_text("event,units,into,type,parent,effective,act,clause\n"
                     f"establish,,Thôn Số 1,thôn,Xã An,{DAY},K/1,1\n", encoding="utf-8")
    table = {"ANNEX": str(annex), "EVENT": event, "EXPORT": str(tmp_path / "before.json")}
    return [table.get(a, a) for a in args]


def _refused_everywhere(db: str, reg: Register, tmp_path: Path, event: str, *, flag: list[str]) -> None:
    before = _export(reg, tmp_path / "before.json")
    for args in WRITES:
        res = CliRunner().invoke(app, [*flag, "--db", db, *_args(args, tmp_path, event)])
        assert res.exit_code == 1, (args, res.output)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "read-only" in lines[0], (args, res.stderr)
        assert "Traceback" not in res.output
    reg.invalidate()
    assert _export(reg, tmp_path / "after.json") == before


@pytest.fixture
def reg(build) -> Register:  # type: ignore[no-untyped-def]
    """The village register, on each store."""
    return village_register(build)


def test_read_only_flag_refuses_every_write(reg: Register, tmp_path: Path) -> None:
    event = reg.record(Spec("rename", date(2025, 8, 1), units=["Thôn Tây"], to="Thôn Tây Mới"), by="t").events[0]
    _refused_everywhere(reg.url, reg, tmp_path, event, flag=["--read-only"])
    # reads still work, and say the same as without the flag
    res = CliRunner().invoke(app, ["--read-only", "--db", reg.url, "units", "--as-of", DAY, "--json"])
    plain = CliRunner().invoke(app, ["--db", reg.url, "units", "--as-of", DAY, "--json"])
    assert res.exit_code == 0 and res.stdout == plain.stdout
    assert "Thôn Tây Mới" in {u["name"] for u in json.loads(res.stdout)} | {u.get("full_name") for u in json.loads(res.stdout)}
    res = CliRunner().invoke(app, ["--read-only", "--db", reg.url, "record", "rename", "--help"])
    assert res.exit_code == 0


def test_read_only_from_the_environment(reg: Register, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MERGER_READ_ONLY", "1")
    res = CliRunner().invoke(app, ["--db", reg.url, *WRITES[0]])
    assert res.exit_code == 1 and "read-only" in res.stderr


def test_read_only_register_in_the_library(reg: Register) -> None:
    ro = Register.open(reg.url, read_only=True)
    with pytest.raises(StoreError, match="read-only"):
        ro.record(Spec("rename", date(2025, 9, 1), units=["Thôn Nam"], to="Thôn Bắc"), by="t")
    assert ro.units(as_of=date(2025, 9, 1), level="village")
    # the session itself cannot write either, whatever the code path
    from sqlalchemy import text

    with pytest.raises(StoreError, match="read-only") as caught, store.db_errors(ro.url), \
            ro.engine.begin() as conn:
        conn.execute(text("UPDATE meta SET value = 'x' WHERE key = 'generation'"))
    secret = pg.password_of(ro.url)
    assert not secret or secret not in str(caught.value)
    ro.close()


def test_read_only_never_builds(tmp_path: Path) -> None:
    path = tmp_path / "none.sqlite"
    res = CliRunner().invoke(app, ["--read-only", "--db", str(path), "counts"])
    assert res.exit_code == 1 and "merger init" in res.stderr
    assert not path.exists()


@pytest.fixture
def village_pg(pg_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    url = pg.create_database(pg_url, "ro")
    reg = village_builder().build(tmp_path, url)
    yield reg
    reg.close()
    pg.drop_database(url)


def test_select_only_role_reads_but_cannot_write(village_pg: Register, tmp_path: Path) -> None:
    event = village_pg.record(Spec("rename", date(2025, 8, 1), units=["Thôn Tây"], to="Thôn Tây Mới"),
                              by="t").events[0]
    reader = pg.create_reader(village_pg.url, "Reader-S3cret-Pw")
    try:
        res = CliRunner().invoke(app, ["--db", reader, "units", "--as-of", DAY, "--level", "village", "--csv"])
        assert res.exit_code == 0, res.stderr
        assert "Thôn Tây Mới" in res.stdout
        before = _export(village_pg, tmp_path / "before.json")
        for args in WRITES[:5]:
            res = CliRunner().invoke(app, ["--db", reader, *_args(args, tmp_path, event)])
            assert res.exit_code == 1, (args, res.output)
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error: "), (args, res.stderr, res.exception)
            assert "may not" in lines[0] or "permission denied" in lines[0], lines[0]
            assert "Reader-S3cret-Pw" not in res.output
        village_pg.invalidate()
        assert _export(village_pg, tmp_path / "after.json") == before
    finally:
        pg.drop_role(village_pg.url, reader)


def test_staff_role_as_documented_records_revokes_and_amends(village_pg: Register, tmp_path: Path) -> None:
    """docs/deploy.md's staff grants (SELECT, INSERT, UPDATE, sequences; no DELETE, no DDL) suffice."""
    staff = pg.create_staff(village_pg.url, "Staff-S3cret-Pw")
    try:
        runner = CliRunner()
        res = runner.invoke(app, ["--db", staff, "record", "rename", "Thôn Nam", "--to", "Thôn Bình Minh", "-e", DAY,
                                  "--by", "can.bo.1", "--json"])
        assert res.exit_code == 0, res.stderr
        key = json.loads(res.stdout)["events"][0]
        res = runner.invoke(app, ["--db", staff, "amend", key, "--to", "Thôn Bình An", "--reason", "typo"])
        assert res.exit_code == 0, res.stderr
        res = runner.invoke(app, ["--db", staff, "apply", _args(["ANNEX"], tmp_path, "")[0]])
        assert res.exit_code == 0, res.stderr
        log = runner.invoke(app, ["--db", staff, "log", "--json"])
        entries = json.loads(log.stdout)
        assert {e["recorded_by"] for e in entries} >= {"can.bo.1"}
        res = runner.invoke(app, ["--db", staff, "revoke", entries[-1]["event"], "--reason", "wrong annex"])
        assert res.exit_code == 0, res.stderr
        res = runner.invoke(app, ["--db", staff, "db", "upgrade"])
        assert res.exit_code == 0  # nothing to do: at head
        village_pg.invalidate()
        assert village_pg.check() == []
        assert "Staff-S3cret-Pw" not in log.output
    finally:
        pg.drop_role(village_pg.url, staff)
