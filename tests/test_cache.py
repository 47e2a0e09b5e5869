"""The snapshot cache: data only (never code), trusted only when it is the user's own, and brought
up to date by the rows a write adds instead of a rebuild (issue 10 item 12, issue 12)."""

from __future__ import annotations

import os
import pickle
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clirunner import CliRunner
from merger import cache
from merger import register as register_module
from merger.cli import app
from merger.events import Spec
from merger.register import Register

RENAME = Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm",
              act="TEST/2026")


class _Planted:
    """What an attacker writes as ``<register>.snapshot``: unpickling it creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (str(self.marker), "w"))


def _target(reg: Register) -> str:
    return str(reg.sqlite_path) if reg.sqlite_path is not None else reg.url


def test_a_planted_pickle_runs_no_code_even_read_only(national_copy: Register, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = national_copy.cache_path()
    path.write_bytes(pickle.dumps((2, national_copy.generation(), _Planted(marker))))
    os.chmod(path, 0o600)
    for args in (["lineage", "An Lư"], ["counts", "--within", "Hải Phòng"]):  # the neighbourhood; all
        result = CliRunner().invoke(app, ["--db", _target(national_copy), "--read-only", *args])
        assert result.exit_code == 0, result.output
        assert "Phường Hòa Bình" in result.output or "114" in result.output
        assert not marker.exists()


def _forged(reg: Register) -> Path:
    """A well-formed cache that lies: Phường An Lư renamed."""
    _ = reg.snapshot
    path = reg.cache_path()
    gen, tables = cache.read(path)  # type: ignore[misc]
    for row in tables["version"].values():
        if row[5] == "Phường An Lư":
            row[4], row[5], row[14] = "Giả Mạo", "Phường Giả Mạo", "gia mao"
    cache.write(path, gen, tables)
    return path


@pytest.mark.parametrize("mode", [0o620, 0o602])
def test_a_cache_others_may_write_is_not_trusted(national_copy: Register, mode: int) -> None:
    path = _forged(national_copy)
    assert Register(national_copy.url).resolve("Giả Mạo").version.name == "Giả Mạo"  # it is read...
    os.chmod(path, mode)
    fresh = Register(national_copy.url)
    assert fresh.resolve("An Lư").version.name == "An Lư"  # ...but not once others may write it
    assert cache.trusted(path)  # and replaced by the user's own, writable by no one else


def test_a_damaged_or_foreign_format_cache_is_a_miss(national_copy: Register) -> None:
    path = national_copy.cache_path()
    for content in (b"", b"{", b'{"format": 2}', b"[" * 100_000, b'{"format": 3, "generation": "x"}'):
        path.write_bytes(content)
        os.chmod(path, 0o600)
        assert Register(national_copy.url).resolve("An Lư").version.code == "11533"


def _full(reg: Register, seen: dict[str, tuple] | None = None, gen: str | None = None) -> tuple:
    """The rows derived from every row read through SQL; ``seen``: those already derived, by the
    register's generation ``gen`` (a test reads the register whole once per state it compares,
    not once per assertion about that state)."""
    if seen is not None and gen in seen:
        return seen[gen]
    with reg._reading() as query:
        found = cache.derive(cache.read_all(query))
    if seen is not None:
        assert gen is not None
        seen[gen] = found
    return found


def _refreshed(reg: Register) -> tuple:
    """Read the whole snapshot in a new process's way, refusing a full read of the register; the
    rows it derived."""
    def whole(query):  # type: ignore[no-untyped-def]
        raise AssertionError("the whole register was read again")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "read_all", whole)
        fresh = Register.open(_target(reg))
        return cache.derive_columns(fresh._columns(fresh.generation())[0])


def _cached(reg: Register) -> tuple[str, cache.Tables]:
    found = cache.read(reg.cache_path())
    assert found is not None
    return found


def test_the_cache_follows_writes_by_their_rows(national_copy: Register) -> None:
    reg = national_copy
    _ = reg.snapshot  # a reader wrote the cache
    full: dict[str, tuple] = {}  # the whole register read through SQL once per generation
    gen0 = reg.generation()
    before = _full(reg, full, gen0)
    at = datetime(2026, 1, 2, 8, tzinfo=UTC)
    out = reg.record(RENAME, by="t", at=at)
    gen1 = reg.generation()  # readers leave it as it is: read once for this state
    assert _refreshed(reg) == _full(reg, full, gen1)  # the next reader of everything reads the rows written since
    gen, tables = _cached(reg)
    assert gen == gen0 != gen1  # a few rows behind: the cache is not rewritten for them
    assert Register(reg.url).resolve("Phường Thử Nghiệm").version.key == "11533@2026-01-01"
    with pytest.MonkeyPatch.context() as patch:  # beyond the limit, the reader writes the cache anew
        patch.setattr(register_module, "REWRITE_AFTER", 0)
        assert _refreshed(reg) == _full(reg, full, gen1)
    gen, tables = _cached(reg)
    assert gen == gen1 == reg.generation()
    assert cache.derive(tables) == _full(reg, full, gen1)
    # --as-recorded from the same rows: before the write, the register as it was
    # (acts are not bitemporal: the new act is listed, used by no visible event)
    assert cache.derive(tables, datetime(2026, 1, 1, tzinfo=UTC))[1:] == before[1:]
    reg.revoke(out.events[0], reason="test of the cache", by="t", at=datetime(2026, 1, 3, tzinfo=UTC))
    gen2 = reg.generation()
    assert _refreshed(reg) == _full(reg, full, gen2)
    assert _refreshed(reg)[1:] == before[1:]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(register_module, "REWRITE_AFTER", 0)
        _refreshed(reg)
    gen, tables = _cached(reg)
    assert gen == gen2 == reg.generation()
    assert cache.derive(tables) == _full(reg, full, gen2)
    assert Register(reg.url).resolve("11533@2025-07-01").version.valid_to is None


def test_a_reader_refreshes_a_stale_cache_by_delta(national_copy: Register) -> None:
    """Another process's write (no refresh by the writer) is caught up by the next reader."""
    reg = national_copy
    _ = reg.snapshot
    stale = cache.read(reg.cache_path())
    reg.record(RENAME, by="t")
    cache.write(reg.cache_path(), *stale)  # type: ignore[misc]
    other = Register(reg.url)
    assert other.resolve("Phường Thử Nghiệm").version.key == "11533@2026-01-01"
    assert _refreshed(reg) == _full(reg)


def _refresh_rows(tables: cache.Tables, query: cache.Query) -> cache.Tables:
    """The plain rule ``cache.refresh_columns`` must equal: the rows written since, by id."""
    new, stats = cache._changed({name: max(rows, default=0) for name, rows in tables.items()},
                                len(tables["statistic"]), query)
    for name, rows in new.items():
        tables[name].update(rows)
    if stats is not None:
        tables["statistic"] = stats
    return tables


def test_refreshing_columns_equals_refreshing_rows(national_copy: Register) -> None:
    """The column-wise refresh gives the rows the row-wise one does, after writes of each kind
    (appended rows, versions ended in place, a merge, a revocation)."""
    reg = national_copy
    _ = reg.snapshot
    gen, columns = cache.read_columns(reg.cache_path())  # type: ignore[misc]
    out = reg.record(RENAME, by="t", at=datetime(2026, 1, 2, tzinfo=UTC))
    reg.record(Spec("merge", date(2026, 2, 1), units=["Phường Tân Hưng, Hải Phòng"],
                    into=["Phường Thành Đông, Hải Phòng"], act="TEST/2026-2"), by="t", at=datetime(2026, 1, 3, tzinfo=UTC))
    reg.revoke(out.events[0], reason="test", by="t", at=datetime(2026, 1, 4, tzinfo=UTC))
    with reg._reading() as query:
        by_rows = cache.columns_of(_refresh_rows(cache.tables_of(columns), query))
        by_columns, changed = cache.refresh_columns(columns, query)
    assert by_columns == by_rows
    assert cache.derive_columns(by_columns) == _full(reg)
    assert 0 < changed < 100
    assert columns == cache.read_columns(reg.cache_path())[1]  # type: ignore[index]  # the input is not changed


# --- one-unit questions read only the unit's neighbourhood -------------------------------------


def _answer(reg: Register, query: str, as_of: date | None = None) -> object:
    """Everything lineage and show print about ``query``, or the error they give."""
    from merger import lineage as lin
    from merger.errors import MergerError

    try:
        tree = reg.lineage(query, as_of=as_of)
        snap = reg.answered_from or reg.snapshot
        paths = []
        stack = [tree.root]
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            if node.version is not None:
                paths.append(snap.path(node.version))
        hist = reg.show(query, as_of=as_of)
        snap = reg.answered_from or reg.snapshot
        shown = [(h.version.key, h.parent.full_name if h.parent else None, snap.path(h.version),
                  snap.statistics(h.version),
                  [(lk.event.key, lk.pred.key if lk.pred else None, lk.succ.key if lk.succ else None, lk.share)
                   for lk in h.created_by + h.ended_by]) for h in hist.versions]
        return lin.to_dict(snap, tree.root), paths, shown
    except MergerError as exc:
        return type(exc).__name__, str(exc)


def _queries(reg: Register) -> list[str]:
    """Names (bare and qualified), codes and keys of a spread of real units, and a few misses."""
    snap = reg.snapshot
    versions = sorted(snap.versions.values(), key=lambda v: v.id)[::331]
    out = ["An Lư", "Hòa Bình, Vĩnh Bảo", "Hoa Binh / Kim Thanh / Hai Phong", "Hải Phòng", "11533",
           "Sở Y tế", "Xã Không Có", "Hòa Bình", "11533@2025-07-01"]
    for v in versions:
        parent = snap.parent_of(v)
        out += [v.name, v.key, v.code] + ([f"{v.full_name}, {parent.name}"] if parent else [])
    return out


def test_neighbourhood_answers_equal_the_whole_registers(national: Register) -> None:
    whole = Register.open(_target(national))
    _ = whole.snapshot  # answers from the snapshot of everything
    for query in _queries(whole):
        local = Register(national.url)  # no snapshot in memory: reads the neighbourhood only
        answer = _answer(whole, query)
        assert _answer(local, query) == answer, query
        # Only an error, or a unit dissolved with no successor (where its sub-units went needs the
        # whole register: Register.lineage), may read more than the neighbourhood.
        assert local._snapshot is None or isinstance(answer[0], str) or _ends_without_successor(whole, query), query


def _ends_without_successor(reg: Register, query: str) -> bool:
    match = reg.resolve(query)
    return any(lk.succ is None for v in reg.snapshot.by_unit[match.version.unit_id]
               for lk in reg.snapshot.successors(v))


def test_neighbourhood_answers_as_recorded(national_copy: Register) -> None:
    reg = national_copy
    out = reg.record(RENAME, by="t", at=datetime(2026, 1, 2, 8, tzinfo=UTC))
    reg.revoke(out.events[0], reason="test of the cache", by="t", at=datetime(2026, 1, 3, tzinfo=UTC))
    reg.record(RENAME, by="t", at=datetime(2026, 1, 4, tzinfo=UTC))
    for when in (None, date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)):
        whole = Register.open(_target(reg), as_recorded=when)
        _ = whole.snapshot
        for query in ("Phường Thử Nghiệm", "An Lư", "11533", "Phường Hòa Bình, Hải Phòng"):
            for as_of in (None, date(2026, 1, 1)):
                assert _answer(Register(reg.url, as_recorded=when), query, as_of) == \
                    _answer(whole, query, as_of), (when, query, as_of)


# The recursive CTEs the neighbourhood and territory reads used (slow on PostgreSQL: ~80-105 ms
# each), kept as the reference for the stepwise walks that replaced them (cache.walk, cache.above).


def _cte_linked(query, start: set[int]) -> set[int]:  # type: ignore[no-untyped-def]
    if not start:
        return set()
    seeds = f"SELECT id FROM version WHERE id IN ({cache._ids(start)})"
    return {r[0] for r in query(
        f"WITH RECURSIVE fwd(id) AS ({seeds} UNION "
        "SELECT l.successor_id FROM link l JOIN fwd ON l.predecessor_id = fwd.id WHERE l.successor_id IS NOT NULL), "
        f"bwd(id) AS ({seeds} UNION "
        "SELECT l.predecessor_id FROM link l JOIN bwd ON l.successor_id = bwd.id WHERE l.predecessor_id IS NOT NULL) "
        "SELECT id FROM fwd UNION SELECT id FROM bwd") if r[0] is not None}


def _cte_above(query, vids: set[int]) -> set[int]:  # type: ignore[no-untyped-def]
    if not vids:
        return set()
    return {r[0] for r in query(
        f"WITH RECURSIVE up(unit_id) AS (SELECT parent_unit_id FROM version WHERE id IN ({cache._ids(vids)}) "
        "UNION SELECT v.parent_unit_id FROM version v JOIN up ON v.unit_id = up.unit_id "
        "WHERE v.parent_unit_id IS NOT NULL) SELECT id FROM version WHERE unit_id IN (SELECT unit_id FROM up)")
        if r[0] is not None}


def _cte_down(query, unit_ids: set[int]) -> set[int]:  # type: ignore[no-untyped-def]
    if not unit_ids:
        return set()
    return {r[0] for r in query(
        f"WITH RECURSIVE d(unit_id) AS (SELECT id FROM unit WHERE id IN ({cache._ids(unit_ids)}) "
        "UNION SELECT v.unit_id FROM version v JOIN d ON v.parent_unit_id = d.unit_id) "
        "SELECT id FROM version WHERE unit_id IN (SELECT unit_id FROM d)") if r[0] is not None}


def test_neighbourhood_and_territory_reads_walk_links_through_indexes(national: Register) -> None:
    """cache.read_around and partial.territory (and the walks under them: through links both ways,
    up the parents, down the units) give, for many seeds on the real register, exactly what the
    recursive CTEs they replaced give (kept above as the reference)."""
    import random

    from merger import partial

    snap = national.snapshot
    rng = random.Random(12)
    versions = sorted(snap.versions)
    units = sorted({v.unit_id for v in snap.versions.values()})
    wholes = sorted({v.unit_id for v in snap.versions.values() if v.level in ("province", "district")})
    seeds = [set(rng.sample(versions, rng.choice((1, 1, 2, 5)))) for _ in range(40)]
    seeds += [{v.id for v in snap.versions.values() if v.name == "An Lư"}, set()]
    with national._reading() as query:
        for vids in seeds:
            assert cache.linked(query, vids) == _cte_linked(query, vids), vids
            assert cache.above(query, vids) == _cte_above(query, vids), vids
        for chosen in [{u} for u in rng.sample(units, 30) + rng.sample(wholes, 10)] + [set(rng.sample(units, 4)), set()]:
            assert partial._down(query, chosen) == _cte_down(query, chosen), chosen
        found = {}
        for vids in seeds[:30]:
            found[("around", *sorted(vids))] = cache.read_around(query, f"SELECT id FROM version WHERE id IN ({cache._ids(vids)})")
        territories = rng.sample(units, 6) + rng.sample(wholes, 4)
        for unit_id in territories:
            found[("territory", unit_id)] = partial.territory(query, unit_id)
        with pytest.MonkeyPatch.context() as patch:  # the same reads with the CTEs
            patch.setattr(cache, "linked", _cte_linked)
            patch.setattr(cache, "above", _cte_above)
            patch.setattr(partial, "_down", lambda q, ids: _cte_down(q, ids))
            patch.setattr(partial, "_up", lambda q, ids: _cte_above(q, ids))
            patch.setattr(partial, "_lineage", lambda q, ids: _cte_linked(q, ids))
            for vids in seeds[:30]:
                assert found[("around", *sorted(vids))] == cache.read_around(
                    query, f"SELECT id FROM version WHERE id IN ({cache._ids(vids)})"), vids
            for unit_id in territories:
                assert found[("territory", unit_id)] == partial.territory(query, unit_id), unit_id
    assert any(len(t["version"]) > 10 for k, t in found.items() if k[0] == "around")  # walks that went somewhere
    assert any(len(t) > 500 for k, t in found.items() if k[0] == "territory")


def _pack_plain(column: list) -> tuple[list, list[bytes]]:
    """The per-value rules ``cache._pack`` must give the bytes of (its C-level calls are the speed)."""
    import json
    from array import array

    n = len(column)
    nones = array("I", [i for i, x in enumerate(column) if x is None])
    kinds = {type(x) for x in column if x is not None}
    if kinds == {int} and all(-(2**63) <= x <= 2**63 - 1 for x in column if x is not None):
        return ["int", n], [array("q", [0 if x is None else x for x in column]).tobytes(), nones.tobytes()]
    if kinds == {float}:
        return ["float", n], [array("d", [0.0 if x is None else x for x in column]).tobytes(), nones.tobytes()]
    if kinds <= {str} and not any("\x00" in x for x in column if x is not None):
        distinct = dict.fromkeys(column)
        if n >= 64 and len(distinct) * 4 <= n:
            index = {x: i for i, x in enumerate(distinct)}
            code = "H" if len(distinct) < 2**16 else "I"
            return ["few", n, list(distinct), code], [array(code, map(index.__getitem__, column)).tobytes(), b""]
        text = "\x00".join("" if x is None else x for x in column)
        return ["text", n], [text.encode("utf-8", "surrogatepass"), nones.tobytes()]
    return ["json", n], [json.dumps(column, ensure_ascii=False).encode("utf-8", "surrogatepass"), b""]


def test_packing_gives_the_plain_rules_bytes_on_the_real_register(national: Register) -> None:
    _ = national.snapshot
    found = cache.read_columns(national.cache_path())
    assert found is not None
    kinds = set()
    for cols in found[1].values():
        for column in cols:
            packed = cache._pack(column)
            assert packed == _pack_plain(column)
            kinds.add(packed[0][0])
            assert cache._unpack(packed[0], [memoryview(b) for b in packed[1]], False) == column
    assert kinds >= {"int", "float", "few", "text"}  # the real register exercises every common kind


_CELLS = st.one_of(st.none(), st.integers(min_value=-(2**70), max_value=2**70), st.booleans(),
                   st.floats(allow_nan=False), st.text(max_size=6), st.sampled_from(["a", "b\x00", "Phường"]))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(_CELLS, max_size=80),
                 st.lists(st.one_of(st.none(), st.sampled_from(["xã", "phường", "thị trấn", ""])), min_size=60, max_size=200),
                 st.lists(st.one_of(st.none(), st.integers(min_value=-5, max_value=2**63)), max_size=80),
                 st.lists(st.one_of(st.none(), st.floats(allow_nan=False)), max_size=80)))
def test_packing_gives_the_plain_rules_bytes_on_drawn_columns(column: list) -> None:
    packed = cache._pack(column)
    assert packed == _pack_plain(column)
    if packed[0][0] != "json":
        assert cache._unpack(packed[0], [memoryview(b) for b in packed[1]], False) == column


def test_a_superseded_key_is_seeded_through_the_key_index(national_copy: Register) -> None:
    """A revoked event leaves its versions' keys as "key~N". Asked for by the key, the seeds of a
    one-unit question find those records on both stores; on SQLite through the key index (a
    case-insensitive LIKE there scanned all 17,860 versions: 2-5 ms of every lookup)."""
    from merger import search

    reg = national_copy
    out = reg.record(RENAME, by="t", at=datetime(2026, 1, 2, 8, tzinfo=UTC))
    reg.revoke(out.events[0], reason="test of the seeds", by="t", at=datetime(2026, 1, 3, tzinfo=UTC))
    sqlite = reg.sqlite_path is not None
    with reg._reading() as query:
        stored = query("SELECT id, key FROM version WHERE key LIKE '%~%'")
        assert stored
        for vid, key in stored:
            text = key.split("~", 1)[0]
            seeds = search.seed_sql(text, sqlite=sqlite)
            assert vid in {r[0] for r in query(seeds)}, key
            if sqlite:
                plan = " ".join(str(r[-1]) for r in query("EXPLAIN QUERY PLAN " + seeds))
                assert "SCAN version" not in plan, plan
        # pattern characters in the text are themselves, not wildcards
        text = stored[0][1].split("~", 1)[0]
        for odd in (text[:-1] + "?", text[:-1] + "*", text[:-1] + "_", text[:-1] + "%", "[" + text[1:]):
            if sqlite:
                assert stored[0][0] not in {r[0] for r in query(search.seed_sql(odd, sqlite=True))}, odd
            query(search.seed_sql(odd, sqlite=sqlite))  # and no SQL error


def test_territory_walks_seek_the_index_on_an_analysed_register(national_sqlite_path: Path, tmp_path: Path) -> None:
    """Once ANALYZE has run (the benchmarks' registers, a department's), SQLite reckons ~23 versions
    under each parent and scanned the version table for a walk step over ~450 ids or more (Hải
    Phòng's territory: 2-5 ms a step against 0.1 ms). cache.walk asks in pieces it seeks."""
    import shutil
    import sqlite3

    from merger import partial

    path = tmp_path / "analysed.sqlite"
    shutil.copy(national_sqlite_path, path)
    with sqlite3.connect(path) as con:
        con.execute("ANALYZE")
    reg = Register.open(str(path))
    plans: list[str] = []
    longest = 0
    with reg._reading() as query:
        def planned(sql: str) -> list:
            nonlocal longest
            longest = max(longest, sql.count(","))
            plans.append(" ".join(str(r[-1]) for r in query("EXPLAIN QUERY PLAN " + sql)) + " :: " + sql[:60])
            return query(sql)

        unit = query("SELECT unit_id FROM version WHERE name = 'Hải Phòng' AND level = 'province'")[0][0]
        assert len(partial.territory(planned, unit)) > 500
    assert not [p for p in plans if "SCAN version" in p or "SCAN link" in p]
    assert longest > 300  # steps of hundreds of ids were taken


def test_a_note_of_another_generation_is_stale_from_its_first_bytes(tmp_path: Path) -> None:
    """cache.stale_note reads only the start of a note: of its generation (as either note writer
    puts it first) not stale; of another, absent, or writable by others, stale."""
    from merger import resolve_index

    path = tmp_path / "note"
    table = resolve_index.Table("gen|a|1", date(2025, 7, 1), date(2026, 1, 1), keys={"x\x1fy": 0}, answers=["z" * 10**6])
    cache.write_atomic(path, resolve_index.encode(table))
    assert not cache.stale_note(path, "gen|a|1", resolve_index.MAGIC)
    assert cache.stale_note(path, "gen|a|2", resolve_index.MAGIC) and cache.stale_note(path, "gen|a|11")
    assert cache.stale_note(tmp_path / "absent", "gen|a|1")
    os.chmod(path, 0o620)
    assert cache.stale_note(path, "gen|a|1", resolve_index.MAGIC)
