"""`merger check` runs its rules on the register's rows by column (merger.check_rows), not on
the snapshot's objects (issue 12). The object rules (merger.checks, themselves compared with the
plain reference rules in test_snapshot_speed.py) are the reference here: same violations, same
messages, same order, on the real register (both stores), on the real register damaged so that
every rule fires, after a record, a revocation and a merge, from a cache older than the last
write, as recorded at earlier moments, in Vietnamese, through the CLI, and on drawn damage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clirunner import CliRunner
from merger import cache, check_rows, checks, graph, i18n
from merger.cli import app
from merger.errors import Violation
from merger.events import Spec
from merger.graph import E, L, Snapshot, V
from merger.register import Register


def _said(found: list[Violation]) -> list[tuple]:
    return [(v.rule, v.message, v.subjects) for v in found]


def _agree(reg: Register) -> check_rows.Report:
    """The rows' answers equal the objects' on this register (a fresh read of each)."""
    fresh = Register.open(str(reg.sqlite_path) if reg.sqlite_path else reg.url, as_recorded=reg.as_recorded)
    rows, snap = fresh._checked_rows(), fresh.snapshot
    report = check_rows.report(rows)
    assert _said(report.violations) == _said(check_rows.check(rows)) == _said(checks.check(snap))
    gaps, differ = checks.source_gaps(snap), checks.disagreements(snap)
    assert _said(check_rows.source_gaps(rows)) == _said(gaps)
    label = i18n._(check_rows.GAP_RELATIONS["successor_unknown"])
    ended = sum(1 for g in gaps if label in g.message)
    assert (report.gaps_ended, report.gaps_began, report.disagreeing) == (ended, len(gaps) - ended, len(differ))
    assert _said(check_rows.disagreements(rows)) == _said(differ)
    assert (report.versions, report.events, report.links) == (len(snap.versions), len(snap.events), len(snap.links))
    listed = check_rows.report(rows, gaps_only=True)
    assert (_said(listed.gaps), _said(listed.disagreements), listed.violations) == (_said(gaps), _said(differ), [])
    # read without keys and names, the rows say whether there are violations, and count alike
    lean = Register.open(_db(fresh), as_recorded=fresh.as_recorded)._checked_rows(names=False)
    assert lean[1][1].count(None) > 0 or not lean[1][1]  # the keys were left unread
    quick = check_rows.report(lean, names=False)
    assert (bool(quick.violations), quick[2:]) == (bool(report.violations), report[2:])
    said = Register.open(_db(fresh), as_recorded=fresh.as_recorded).integrity()
    assert _said(said.violations) == _said(report.violations) and said[2:] == report[2:]
    fresh.close()
    return report


def test_the_rows_agree_with_the_objects_on_the_real_register(national: Register) -> None:
    report = _agree(national)
    assert report.violations == []  # the bundled register is sound
    assert report.gaps_ended > 900 and report.gaps_began > 700 and report.disagreeing > 10
    assert check_rows.LEVEL_ORDER == graph.LEVEL_ORDER


def test_check_builds_no_snapshot(national_copy: Register) -> None:
    """What makes it fast: the rules read the rows; no object is made for a version or a link."""
    reg = Register.open(str(national_copy.sqlite_path) if national_copy.sqlite_path else national_copy.url)
    assert reg.integrity().violations == []
    assert reg._snapshot is None and reg._rows is not None and reg._rows[1] is False  # nor keys and names
    assert reg.check() == []
    assert reg._snapshot is None
    reg.close()


# Damage done with plain SQL to real rows, each breaking one or more rules (and the cache thrown
# away: a write outside merger is not one its cache can follow).
DAMAGE = [
    # successor-gap, event-date: ends ten days early
    "UPDATE version SET valid_to = '2025-06-20' WHERE key = '14338@..2025-06-30'",
    # parent: a parent unit with no version
    "INSERT INTO unit (id, key, kind) VALUES (999999, 'no-version', 'admin')",
    "UPDATE version SET parent_unit_id = 999999 WHERE key = '14341@..2025-06-30'",
    # parent-level and parent-validity: a commune under an old commune
    "UPDATE version SET parent_unit_id = (SELECT unit_id FROM version WHERE key = '14338@..2025-06-30') "
    "WHERE key = '04795@2025-07-01'",
    # overlapping-code: a district given a commune's code
    "UPDATE version SET code = '04792' WHERE key = '060@..2025-06-30'",
    # overlapping-identity (and dates): a new commune starting a month before its old version ends
    "UPDATE version SET valid_from = '2025-06-01' WHERE key = '04792@2025-07-01'",
    # shares over 1, and not summing to 1
    "UPDATE link SET share = 1.5, share_basis = 'area' WHERE predecessor_id = (SELECT id FROM version WHERE key = '661@..2004-08-30')",
    "UPDATE link SET share = 0.4, share_basis = 'population' WHERE predecessor_id = (SELECT id FROM version WHERE key = '101@..2004-08-30')",
    # cycle: the same event links the successor back to its predecessor
    "INSERT INTO link (id, event_id, predecessor_id, successor_id, portion, relation, share, share_basis, note) "
    "SELECT (SELECT MAX(id) + 1 FROM link), event_id, successor_id, predecessor_id, 'whole', 'moved', NULL, NULL, '' "
    "FROM link WHERE predecessor_id = (SELECT id FROM version WHERE key = '661@..2004-08-30')",
    # no-fate and no-origin: a link removed
    "DELETE FROM link WHERE predecessor_id = (SELECT id FROM version WHERE key = '100@..2004-08-30')",
    "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS VARCHAR) WHERE key = 'generation'",
]
EVERY_RULE = {"overlapping-identity", "overlapping-code", "successor-gap", "event-date", "no-fate", "no-origin",
              "parent", "parent-level", "parent-validity", "shares", "cycle"}


@pytest.fixture
def damaged(national_copy: Register) -> Iterator[Register]:
    from sqlalchemy import text

    with national_copy.engine.begin() as conn:
        for sql in DAMAGE:
            conn.execute(text(sql))
    national_copy.close()
    national_copy.cache_path().unlink(missing_ok=True)
    yield national_copy


def test_every_rule_fires_alike_on_the_damaged_real_register(damaged: Register) -> None:
    report = _agree(damaged)
    assert {v.rule for v in report.violations} == EVERY_RULE
    with i18n.use("vi"):  # messages, dates and periods as Vietnamese readers get them
        vi = _agree(damaged)
    assert _said(vi.violations) != _said(report.violations) and len(vi.violations) == len(report.violations)


def _db(reg: Register) -> str:
    return str(reg.sqlite_path) if reg.sqlite_path else reg.url


def test_the_cli_says_what_the_objects_say(damaged: Register) -> None:
    """--json, --csv, --gaps, the notes and the exit code, in English and Vietnamese, against the
    object rules' answers."""
    snap = Register.open(_db(damaged)).snapshot
    runner = CliRunner()
    for lang in ("en", "vi"):
        with i18n.use(lang):
            found, gaps, differ = checks.check(snap), checks.source_gaps(snap), checks.disagreements(snap)
            label = i18n._(check_rows.GAP_RELATIONS["successor_unknown"])
            ended = i18n.fnum(sum(1 for g in gaps if label in g.message))
        res = runner.invoke(app, ["--db", _db(damaged), "--lang", lang, "check", "--json"])
        assert res.exit_code == 1
        assert json.loads(res.stdout) == [dict(rule=v.rule, message=v.message, subjects=v.subjects) for v in found]
        assert f" {ended} " in res.stderr
        res = runner.invoke(app, ["--db", _db(damaged), "--lang", lang, "check", "--gaps", "--json"])
        assert res.exit_code == 0
        assert json.loads(res.stdout) == [dict(rule=v.rule, message=v.message, subjects=v.subjects) for v in gaps + differ]
    res = runner.invoke(app, ["--db", _db(damaged), "check", "--csv"])
    assert res.exit_code == 1 and len(res.stdout.splitlines()) == len(found) + 1
    res = runner.invoke(app, ["--db", _db(damaged), "check"])
    assert res.exit_code == 1 and "violation(s)" in res.stdout and found[0].rule in res.stdout


def test_the_rows_agree_after_writes_and_from_an_older_cache(national_copy: Register) -> None:
    """A record, a revocation and a merge: each check's rows come from a cache brought up to date
    by the rows written since (cache.refresh_columns); then from a cache older than all three; and
    as recorded before, between and after them."""
    reg = national_copy
    old_cache = reg.cache_path().read_bytes() if reg.cache_path().exists() else None
    rename = Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm",
                  act="TEST/2026")
    first = reg.record(rename, by="t", at=datetime(2026, 1, 2, 8, tzinfo=UTC))
    reg.revoke(first.events[0], reason="test", by="t", at=datetime(2026, 1, 3, tzinfo=UTC))
    _agree(reg)
    merge = Spec("merge", date(2026, 2, 1), units=["Phường Lê Thanh Nghị"], into=["Phường Hải Dương"],
                 act="TEST/2026-2")
    reg.record(merge, by="t", at=datetime(2026, 1, 6, tzinfo=UTC))
    now = _agree(reg)
    assert now.violations == []
    if old_cache is not None:  # the cache as it was before the three writes
        reg.cache_path().write_bytes(old_cache)
        reg.cache_path().chmod(0o600)
        again = Register.open(_db(reg))
        assert cache.read_columns(reg.cache_path())[0] != again.generation()  # older than the register
        with again.reading() as q:  # the rows read whole from the store
            full = cache.derive_columns(cache.columns_of(cache.read_all(q)), stats=False)
        assert _read(again._checked_rows()) == _read(full)
        assert _said(again.check()) == _said(checks.check(again.snapshot))
    _agree(Register.open(_db(reg), as_recorded=datetime(2026, 1, 2, 9, tzinfo=UTC)))  # the rename in force


def _read(rows: cache.Derived) -> list[list]:
    """The derived columns the rules read (the others are left undecoded: check_rows.UNREAD)."""
    v, e, k = rows.versions, rows.events, rows.links
    return [*(v[i] for i in (0, 1, 2, 4, 5, 7, 9, 10, 11, 12)), *(e[i] for i in (0, 1, 3, 6, 8)),
            *(k[i] for i in (0, 1, 2, 3, 5, 6, 7))]


def test_a_cache_written_after_a_check_holds_every_column(national_copy: Register, monkeypatch: pytest.MonkeyPatch) -> None:
    """check reads the cache without the columns it does not need; when it must write the cache
    anew (more rows behind than REWRITE_AFTER), the file it writes holds them all, as read from
    the store."""
    from merger import register

    reg = national_copy
    reg.record(Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm",
                    act="TEST/2026"), by="t")
    monkeypatch.setattr(register, "REWRITE_AFTER", 0)
    fresh = Register.open(_db(reg))
    assert fresh.integrity().violations == []  # read without keys, names and more
    written = cache.read_columns(reg.cache_path())
    assert written is not None and written[0] == fresh.generation()
    with fresh.reading() as q:
        assert written[1] == cache.columns_of(cache.read_all(q))
    assert _read(Register.open(_db(reg))._checked_rows()) == _read(cache.derive_columns(written[1]))


def test_a_cut_or_damaged_cache_is_a_miss(national_copy: Register) -> None:
    """The cache file is mapped, not read: cut short, or its columns' bytes garbled, it is a miss
    (the store answers), never a wrong answer or a crash."""
    reg = national_copy
    path = reg.cache_path()
    whole = path.read_bytes()
    header_end = whole.index(b"\n", len(cache.MAGIC)) + 1
    for content in (whole[:header_end], whole[: len(whole) // 2], whole[:-1],
                    whole[:header_end] + bytes(len(whole) - header_end)):
        path.write_bytes(content)
        path.chmod(0o600)
        assert cache.read_columns(path) is None
        assert cache.read_columns(path, check_rows.unread(False)) is None
        fresh = Register.open(_db(reg))
        said = fresh.integrity()
        assert said.violations == [] and said.versions == 17_860 and said.gaps_ended == 951
        assert cache.read_columns(path) is not None  # written anew from the store


# --- drawn damage ----------------------------------------------------------------------------------

DAYS = st.none() | st.integers(0, 6).map(lambda n: date(2025, 6, 28) + timedelta(days=n))


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    """A small snapshot with whatever is wrong: overlaps, shared codes, gaps, ends before starts,
    missing, wrong-level or partly valid parents (contiguous or not), shares, cycles, own
    successors, links to versions not held, source gaps, reported changes."""
    n = draw(st.integers(1, 10))
    # version ids without gaps (as bundled), with gaps (after a revocation), or far apart
    ids = draw(st.sampled_from([list(range(1, n + 2)), list(range(0, 3 * n + 3, 3)), [10**9 + 7 * i for i in range(n + 1)]]))
    versions = {}
    for i in ids[:n]:
        start, end = draw(DAYS), draw(DAYS)
        versions[i] = V(i, f"k{i}", draw(st.integers(1, 4)), "u", draw(st.sampled_from(["admin", "admin", "agency", "other"])),
                        draw(st.sampled_from(["01", "02", "03"])), f"X{i}", f"Xã X{i}", "xã",
                        draw(st.sampled_from(["province", "district", "commune", "village", "agency", "other"])),
                        draw(st.none() | st.integers(1, 5)), start, end, None, "")
    ev = {j: E(j, f"E{j}", "merge", draw(DAYS) or date(2025, 7, 1), None, None, f"note {j}", "",
               draw(st.sampled_from([None, "reported"])), datetime(2025, 7, 1), "t") for j in (1, 2)}
    ends = st.none() | st.sampled_from(ids)  # ids[n]: a version the rows do not hold
    links = []
    for m in range(draw(st.integers(0, 14))):
        p, s = draw(ends), draw(ends)
        share = draw(st.none() | st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5]))
        links.append(L(m, ev[draw(st.sampled_from([1, 2]))], versions.get(p) if p is not None else None,
                       versions.get(s) if s is not None else None, "part",
                       draw(st.sampled_from(["", "whole", "successor_unknown", "origin_unknown"])), share,
                       draw(st.sampled_from([None, "area", "population"])), ""))
    return Snapshot("g", versions, ev, links, {})


def _rows_of(snap: Snapshot) -> cache.Derived:
    """The rows (cache.Derived) the snapshot would be made of."""
    vs = [snap.versions[i] for i in sorted(snap.versions)]
    versions = [[v.id for v in vs], [v.key for v in vs], [v.unit_id for v in vs], [v.unit_key for v in vs],
                [v.kind for v in vs], [v.code for v in vs], [v.name for v in vs], [v.full_name for v in vs],
                [v.type for v in vs], [v.level for v in vs], [v.parent_unit_id for v in vs],
                [v.valid_from for v in vs], [v.valid_to for v in vs], [v.evidence for v in vs],
                [v.source for v in vs], [v.folded for v in vs]]
    es = list(snap.events.values())
    events = [[e.id for e in es], [e.key for e in es], [e.type for e in es], [e.effective for e in es],
              [None for e in es], [e.clause for e in es], [e.note for e in es], [e.source for e in es],
              [e.evidence for e in es], [e.recorded_at for e in es], [e.recorded_by for e in es]]
    ks = snap.links
    links = [[k.id for k in ks], [k.event.id for k in ks], [k.pred.id if k.pred else None for k in ks],
             [k.succ.id if k.succ else None for k in ks], [k.portion for k in ks], [k.relation for k in ks],
             [k.share for k in ks], [k.share_basis for k in ks], [k.note for k in ks]]
    return cache.Derived([[] for _ in range(8)], versions, events, links, {})


@given(snapshots())
@settings(max_examples=150, deadline=None)
def test_the_rows_agree_with_the_objects_on_drawn_damage(snap: Snapshot) -> None:
    rows = _rows_of(snap)
    assert _said(check_rows.check(rows)) == _said(checks.check(snap))
    assert bool(check_rows.report(rows, names=False).violations) == bool(checks.check(snap))
    assert _said(check_rows.source_gaps(rows)) == _said(checks.source_gaps(snap))
    assert _said(check_rows.disagreements(rows)) == _said(checks.disagreements(snap))


@given(st.lists(st.tuples(st.integers(0, 7), st.none() | st.integers(0, 8)), max_size=20))
@settings(max_examples=200, deadline=None)
def test_the_cycle_search_on_rows_agrees_with_the_objects(edges: list[tuple[int, int | None]]) -> None:
    vs = {i: V(i, f"k{i}", i, "u", "admin", f"{i:05d}", f"X{i}", f"Xã X{i}", "xã", "commune",
               None, None, None, None, "") for i in range(8)}
    ev = E(1, "E", "rename", date(2025, 7, 1), None, None, "", "", None, datetime(2025, 7, 1), "t")
    snap = Snapshot("g", vs, {1: ev}, [L(n, ev, vs[a], vs.get(b) if b is not None else None, "whole", "", None, None, "")
                                       for n, (a, b) in enumerate(edges)], {})
    found = check_rows.find_cycle(list(vs), [a for a, _ in edges], [b if b in vs else None for _, b in edges])
    assert [vs[i] for i in found] == checks.find_cycle(snap)
