"""Export -> import -> export is byte-identical; the import restores everything, corrections too."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clirunner import CliRunner
from merger import store
from merger.cli import app
from merger.errors import DataError, StoreError
from merger.events import Spec
from merger.exchange import dumps, export_register, import_register
from merger.register import Register
from village_factory import village_register


def test_round_trip_of_the_national_register_is_byte_identical(national: Register, new_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = tmp_path / "a.json"
    counts = export_register(national, first)
    assert counts["version"] == len(national.snapshot.versions) and counts["event"] == len(national.snapshot.events)
    target = Register(new_db("restored"))
    import_register(target, first)
    second = tmp_path / "b.json"
    export_register(target, second)
    target.close()
    assert first.read_bytes() == second.read_bytes()
    restored = Register.open(target.url)
    assert restored.check() == []
    assert restored.counts(within="Hải Phòng").total("commune").after == 114
    if target.sqlite_path is None:
        # The planner's statistics are there, as `merger init` leaves them: before, an imported
        # register planned blind until autovacuum came (unrecorded_before: ~2 s a call, not ~1 ms).
        from sqlalchemy import text

        engine = store.make_engine(target.url)
        with engine.connect() as conn:
            gathered = conn.execute(text("SELECT count(*) FROM pg_stats WHERE tablename = 'version'")).scalar()
        engine.dispose()
        assert gathered


def test_round_trip_keeps_recorded_events_corrections_and_history(build, new_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg = village_register(build)
    t1, t2 = datetime(2025, 7, 10, tzinfo=UTC), datetime(2025, 7, 20, tzinfo=UTC)
    out = reg.record(Spec("rename", date(2025, 7, 1), units=["Thôn Nam"], to="Thôn Bình Minh", act="X/1"),
                     by="clerk", at=t1)
    reg.amend(out.events[0], {"to": "Thôn Bình An"}, reason="typo", by="head", at=t2)
    reg.record(Spec("dissolve", date(2025, 8, 1), units=["Thôn Tây"]), by="clerk", at=t2)
    reg.revoke(reg.log()[-1].key, reason="withdrawn", by="head", at=t2)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    export_register(reg, a)
    data = json.loads(a.read_text(encoding="utf-8"))
    assert len(data["tables"]["correction"]["rows"]) == 2
    url = new_db("r2")
    res = CliRunner().invoke(app, ["--db", url, "import-register", str(a)])
    assert res.exit_code == 0, res.stderr
    restored = Register.open(url)
    export_register(restored, b)
    assert a.read_bytes() == b.read_bytes()
    assert [(e.key, e.status, e.recorded_by) for e in restored.log()] == \
        [(e.key, e.status, e.recorded_by) for e in reg.log()]
    then = Register.open(url, as_recorded=date(2025, 7, 15))
    assert "Thôn Bình Minh" in {v.full_name for v in then.snapshot.valid_on(date(2025, 7, 1))}
    assert restored.check() == []


def test_import_refuses_a_register_that_holds_data(build, new_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg = village_register(build)
    path = tmp_path / "a.json"
    export_register(reg, path)
    with pytest.raises(StoreError, match="already holds data"):
        import_register(reg, path)
    res = CliRunner().invoke(app, ["--db", reg.url, "import-register", str(path)])
    assert res.exit_code == 1 and res.stderr.startswith("Error: the register already holds data")
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    res = CliRunner().invoke(app, ["--db", new_db("new"), "import-register", str(bad)])
    assert res.exit_code == 1 and "not a merger register export" in res.stderr


def test_an_export_of_an_older_schema_still_restores(build, new_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Backups outlive upgrades: an export of schema 2 (before derived_share) restores at today's
    schema; an export from a newer program is refused."""
    from merger import store

    reg = village_register(build)
    reg.record(Spec("rename", date(2025, 7, 1), units=["Thôn Nam"], to="Thôn Bình Minh"), by="clerk")
    path = tmp_path / "old.json"
    export_register(reg, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["tables"]["derived_share"]
    data["schema_version"] = 2
    path.write_text(json.dumps(data), encoding="utf-8")
    restored = Register(new_db("old"))
    import_register(restored, path)
    restored.close()
    again = Register.open(restored.url)
    assert again.check() == [] and "Thôn Bình Minh" in {v.full_name for v in again.snapshot.versions.values()}
    with again.engine.connect() as conn:
        assert store.meta(conn)["schema_version"] == str(store.SCHEMA_VERSION)
    again.close()
    data["schema_version"] = store.SCHEMA_VERSION + 1
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError, match="schema version"):
        import_register(Register(new_db("newer")), path)


def _reference(value: object) -> str:
    """The export's text as it was written before exchange.dumps: json's pure-Python indent path."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1, separators=(",", ": "))


def _outcome(encode, value: object) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    try:
        return "text", encode(value)
    except (TypeError, ValueError) as exc:
        return "error", type(exc)


# Strings that look like the layout itself ("],\n [", brackets, newlines), beside any text.
_TEXT = st.one_of(st.text(), st.sampled_from(["", "]", "],", "],\n [", "[", "{", "}", "\n", "\"", "ư\u2028\x00"]))
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), _TEXT)
_KEYS = st.one_of(_TEXT, st.integers(), st.floats(), st.booleans(), st.none())
_ROWS = st.lists(st.lists(_SCALAR, max_size=5), max_size=5)  # a table's rows, empty ones too


def _nested(children):  # type: ignore[no-untyped-def]
    return st.one_of(st.lists(children, max_size=4), st.lists(children, max_size=3).map(tuple),
                     st.dictionaries(_TEXT, children, max_size=4),
                     st.dictionaries(_KEYS, children, max_size=3))  # mixed keys: both refuse to sort


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(st.one_of(_SCALAR, _ROWS), _nested, max_leaves=30))
def test_dumps_writes_what_json_dumps_with_indent_writes(value: object) -> None:
    """exchange.dumps is the old json.dumps call, byte for byte (or the same kind of refusal)."""
    assert _outcome(dumps, value) == _outcome(_reference, value)


def test_dumps_refuses_what_json_dumps_refuses() -> None:
    loop: list[object] = [[1]]
    loop.append(loop)
    assert _outcome(dumps, loop) == _outcome(_reference, loop) == ("error", ValueError)
    assert _outcome(dumps, {"a": [[object()]]}) == ("error", TypeError)


def test_export_of_the_national_register_is_the_old_json_dumps(national_sqlite: Register, tmp_path: Path) -> None:
    path = tmp_path / "national.json"
    export_register(national_sqlite, path)
    text = path.read_text(encoding="utf-8")
    assert text == _reference(json.loads(text)) + "\n"
