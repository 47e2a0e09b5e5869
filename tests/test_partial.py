"""Questions answered from part of the register (merger.partial, issue 12) give exactly the whole
register's answers: counts (national, counted in SQL; within a unit, on its territory's rows),
units, search and the start of the recorded history, on both stores and ``--as-recorded``."""

from __future__ import annotations

from datetime import UTC, date, datetime

from merger.errors import MergerError
from merger.events import Spec
from merger.register import Register

DATES = [(date(2025, 6, 30), date(2025, 7, 1)), (date(2008, 1, 1), date(2025, 7, 1)),
         (date(2019, 6, 1), date(2020, 6, 1)), (date(2026, 1, 1), date(2026, 1, 2))]
TEXTS = ["An Lư", "hoa binh", "Phường Hòa", "g an", "115", "11533", "Sở Y", "phuong", "xa", "Thử", "'; --", "100%",
         # substrings through the trigram index: start, middle (across words), end of names; marks
         # and case folded, đ = d; 1-2 characters (too short for trigrams: scanned); type words,
         # texts running from a type word into the name; codes; GLOB and FTS5 syntax taken literally
         "An L", "ủy Ng", "nguyên", "NGUYÊN", "Đông", "dong", "Lư", "ư", "An", "thị trấn", "ờng Hò", "ã An",
         "01", "0115", "An*", "[a", "a?b", '"an lu"', "an OR lu", "*", "n l"]


def _target(reg: Register) -> str:
    return str(reg.sqlite_path) if reg.sqlite_path is not None else reg.url


def _outcome(call):  # type: ignore[no-untyped-def]
    try:
        return call()
    except MergerError as exc:
        return type(exc).__name__, str(exc)


def _same(whole: Register, fresh, call) -> None:  # type: ignore[no-untyped-def]
    """``call`` on a register with no snapshot in memory equals it on the whole snapshot, and the
    fresh register did not read the whole register to answer."""
    local = fresh()
    assert _outcome(lambda: call(local)) == _outcome(lambda: call(whole))
    return local


def _units(reg: Register, **kw) -> list[tuple]:  # type: ignore[no-untyped-def]
    found = reg.units(**kw)
    snap = reg.answered_from or reg.snapshot
    return [(v.key, v.valid_from, v.valid_to, p.key if (p := snap.parent_of(v, kw["as_of"])) else None) for v in found]


def _search(reg: Register, text: str) -> list[tuple]:
    found = reg.search(text, limit=500)
    snap = reg.answered_from or reg.snapshot
    return [(v.key, [a.key for a in snap.ancestors(v)]) for v in found]


def _withins(whole: Register) -> list[str]:
    """Every province (old and new, by key), a spread of districts, and names as people type them."""
    snap = whole.snapshot
    provinces = sorted(v.key for v in snap.versions.values() if v.level == "province")[::6]
    districts = sorted(v.key for v in snap.versions.values() if v.level == "district")[::301]
    return [*provinces, *districts, "Hải Phòng", "Hai Duong", "Kim Thành", "Thủy Nguyên", "Hòa Bình", "Không Có"]


def test_counts_and_units_equal_the_whole_registers(national: Register) -> None:
    url = _target(national)
    whole = Register.open(url)
    _ = whole.snapshot

    def fresh() -> Register:
        return Register(national.url)  # no snapshot in memory (opened above: no check to repeat)

    for before, after in DATES:
        for kind in ("admin", "agency"):
            local = _same(whole, fresh, lambda r: r.counts(before=before, after=after, kind=kind))  # noqa: B023
            assert local._snapshot is None  # counted in SQL, not on the whole snapshot
    for i, within in enumerate(_withins(whole)):
        before, after = DATES[i % len(DATES)]
        kind = "agency" if i % 7 == 0 else "admin"
        _same(whole, fresh, lambda r: r.counts(before=before, after=after, within=within, kind=kind))  # noqa: B023
        if i % 5 == 0:
            _same(whole, fresh, lambda r: _units(r, as_of=after, within=within, kind=kind))  # noqa: B023
    local = _same(whole, fresh, lambda r: r.counts(within="Hải Phòng"))
    assert local._snapshot is None  # the province's territory only
    for day in (date(2025, 6, 30), date(2025, 7, 1)):
        _same(whole, fresh, lambda r: _units(r, as_of=day, level="commune", type_="phuong"))  # noqa: B023
    _same(whole, fresh, lambda r: _units(r, as_of=date(2025, 7, 1), type_="không có"))
    for kind in ("admin", "agency", None):
        _same(whole, fresh, lambda r: r.unrecorded_before(kind))  # noqa: B023


def test_search_equals_the_whole_registers(national: Register) -> None:
    url = _target(national)
    whole = Register.open(url)
    _ = whole.snapshot
    for text in TEXTS:
        local = _same(whole, lambda: Register(national.url), lambda r: _search(r, text))  # noqa: B023
        if text not in ("phuong", "xa", "thị trấn", "ư", "An", "An*", "[a"):  # inside a type word: read whole
            assert local._snapshot is None, text


def test_partial_answers_as_recorded(national_copy: Register) -> None:
    reg = national_copy
    merge = Spec("merge", date(2026, 1, 1), units=["Phường Thành Đông, Hải Phòng"],
                 into=["Phường Hải Dương, Hải Phòng"], act="TEST/2026")
    rename = Spec("rename", date(2026, 1, 1), units=["Phường Lê Thanh Nghị, Hải Phòng"], to="Phường Thử Nghiệm",
                  act="TEST/2026")
    out = reg.record(merge, by="t", at=datetime(2026, 1, 2, 8, tzinfo=UTC))
    reg.record(rename, by="t", at=datetime(2026, 1, 2, 9, tzinfo=UTC))
    reg.revoke(out.events[0], reason="test of partial reads", by="t", at=datetime(2026, 1, 3, tzinfo=UTC))
    reg.record(merge, by="t", at=datetime(2026, 1, 4, tzinfo=UTC))
    url = _target(reg)
    for when in (None, date(2026, 1, 2), date(2026, 1, 3)):  # now; merge and rename seen; merge revoked
        whole = Register.open(url, as_recorded=when)
        _ = whole.snapshot

        def fresh() -> Register:
            return Register(reg.url, as_recorded=when)  # noqa: B023

        day = date(2026, 1, 2)
        _same(whole, fresh, lambda r: r.counts(before=date(2025, 12, 31), after=day))  # noqa: B023
        _same(whole, fresh, lambda r: r.counts(before=date(2025, 12, 31), after=day, within="Hải Phòng"))  # noqa: B023
        _same(whole, fresh, lambda r: _units(r, as_of=day, within="Hải Phòng", level="commune"))  # noqa: B023
        _same(whole, fresh, lambda r: _units(r, as_of=day, type_="phường"))  # noqa: B023
        _same(whole, fresh, lambda r: r.unrecorded_before())
        for text in ("Thử Nghiệm", "Thành Đông"):
            _same(whole, fresh, lambda r: _search(r, text))  # noqa: B023
            for limit in (1, 2):  # the recorded and touched versions are read whatever the limit
                _same(whole, fresh, lambda r: [v.key for v in r.search(text, limit=limit)])  # noqa: B023


def test_an_in_memory_register_answers_from_part_of_it(national_sqlite: Register) -> None:
    """--db :memory: (SQLite without a file) reads part of the register like a file does; it was
    asked for PostgreSQL's information_schema ("no such table: information_schema.tables")."""
    reg = Register.open(":memory:")
    try:
        assert reg.counts(within="Hải Phòng") == national_sqlite.counts(within="Hải Phòng")
        assert reg.counts() == national_sqlite.counts()
        assert [v.key for v in reg.search("An Lư")] == [v.key for v in national_sqlite.search("An Lư")]
        assert reg.lineage("An Lư").root.version.key == national_sqlite.lineage("An Lư").root.version.key
        assert reg._snapshot is None  # none of these read the whole register
    finally:
        reg.close()


def test_search_keeps_the_type_words_per_generation(national_copy: Register) -> None:
    """The type-word prefixes a search needs are read once per generation and kept beside the
    snapshot cache; a stale, damaged or foreign note is a miss, never a wrong answer."""
    import json
    import os

    reg = national_copy
    url = _target(reg)
    expected = _search(reg, "An Lư")
    path = reg.cache_path().with_name(reg.cache_path().name + ".prefixes")
    assert path.exists()
    assert _search(Register.open(url), "An Lư") == expected
    path.write_text('{"format": 3, "generation": "old", "value": ["x", null]}')  # stale
    assert _search(Register.open(url), "An Lư") == expected
    path.write_text("{not json")
    assert _search(Register.open(url), "An Lư") == expected
    gen = Register.open(url).generation()
    path.write_text(json.dumps({"format": 3, "generation": gen, "value": [""]}))
    os.chmod(path, 0o666)  # others may write it: not trusted (trusted, it would hide every "Phường An …")
    assert _search(Register.open(url), "Phường An") == _search(reg, "Phường An")
    reg.record(Spec("rename", date(2026, 1, 1), units=["Phường Lê Thanh Nghị, Hải Phòng"],
                    to="Phường Thử Nghiệm", act="TEST/2026"), by="t")
    whole = Register.open(url)
    _ = whole.snapshot
    found = _search(Register.open(url), "Thử Nghiệm")  # a new generation: the note is read again
    assert found == _search(whole, "Thử Nghiệm") and found  # the write is seen


def test_search_reads_only_what_its_first_hits_may_be(national: Register) -> None:
    """A search reads, of the names holding the text, only those that may be among its first
    ``limit`` hits (ties at the limit included): the same hits as the whole register's, for any
    limit, with and without --as-of."""
    url = _target(national)
    whole = Register.open(url)
    _ = whole.snapshot
    for text in ("An Lư", "Hòa", "nguyên", "ờng Hò", "115"):
        for limit in (1, 7):
            for as_of in (None, date(2025, 7, 1), date(2010, 1, 1)):
                fresh = Register(national.url)
                found = _outcome(lambda: [v.key for v in fresh.search(text, limit=limit, as_of=as_of)])  # noqa: B023
                assert found == _outcome(lambda: [v.key for v in whole.search(text, limit=limit, as_of=as_of)]), \
                    (text, limit, as_of)  # noqa: B023
    few = Register.open(url)
    few.search("Hòa", limit=3)
    many = Register.open(url)
    many.search("Hòa", limit=500)
    assert len(few.answered_from.versions) < len(many.answered_from.versions)  # type: ignore[union-attr]
