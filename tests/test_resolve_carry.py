"""``resolve --file`` on the first run after a write (issue 12, sixth/seventh round): the names
note of the generation before is carried across the write (``merger.resolve_carry``), on the real
register, on SQLite and PostgreSQL. A carried note is byte for byte the note a full build makes,
and its answers to the 10,035 NSO addresses and the new communes are the resolver's; whatever
cannot be carried (a province renamed, a commune starting after the day asked, another day,
statistics added, a revoked event, a note of another history, format or a damaged one) goes to
the full build, which still answers as the resolver does.
"""

from __future__ import annotations

import json
import os
from array import array
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copies import private_copy
from merger import resolve_carry, resolve_index, resolve_names
from merger.events import Spec
from merger.register import Register
from test_resolve_note import _new_style, _nso, _reference, _sample, _target, _variant

DAY = date(2026, 3, 1)  # the day asked: after the events recorded here
RENAME = Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm", act="TEST/2026")
MERGE = Spec("merge", date(2026, 2, 1), units=["Phường Tân Hưng, Hải Phòng"], into=["Phường Thành Đông, Hải Phòng"],
             act="TEST/2026-2")
SPLIT = Spec("split", date(2026, 2, 1), units=["Phường Chí Linh, Hải Phòng"], into=["Phường Chí Linh Bắc", "Phường Chí Linh Nam"],
             codes={"Chí Linh Nam": "99903"}, shares={"Chí Linh Bắc": 0.6, "Chí Linh Nam": 0.4}, basis="area",
             act="TEST/2026-3")


@pytest.fixture(scope="module")
def texts(national: Register) -> list[str]:
    from conftest import SOURCES

    if not (SOURCES / "MANIFEST.md").exists():
        pytest.skip(f"raw sources not present at {SOURCES}")
    return _nso(SOURCES) + _new_style(national)


@pytest.fixture(scope="module")
def written(national: Register, texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Register]:
    """A copy of the register whose names note was built for its generation (the full build)."""
    with private_copy(national, tmp_path_factory.mktemp("carry")) as reg:
        batch = resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=DAY)
        assert batch.names == "built (carry: no note)"
        yield reg


@pytest.fixture(scope="module")
def first_note(written: Register) -> bytes:
    """The note of the copy's first generation: what each fallback is tried from."""
    path = resolve_names.note_path(written)
    assert path is not None
    return path.read_bytes()


def _fresh(reg: Register) -> Register:
    return Register.open(_target(reg))


def _table_head(path: Path) -> dict:
    """The header of a note of answers by spelling (resolve_index.encode)."""
    data = path.read_bytes()
    assert data.startswith(resolve_index.MAGIC)
    return json.loads(data[len(resolve_index.MAGIC):data.index(b"\n", len(resolve_index.MAGIC))])


def _carried_as_built(reg: Register, texts: list[str]) -> None:
    """The first run after a write carries the note; its answers are the resolver's, and the note
    is the one a full build makes, byte for byte."""
    before = resolve_index.note_path(reg)
    assert before is not None
    answers = _table_head(before)["keys"]  # keys noted for the generation before
    got = resolve_index.resolve_batch(_fresh(reg), texts, today=DAY)
    assert got.names == "carried"
    # the answers by spelling the writes cannot have changed are kept (most), the others dropped
    # and answered by the names: every answer is still the resolver's
    assert answers * 0.9 < got.kept < answers
    assert got.cells == _reference(_fresh(reg), texts, DAY)
    path = resolve_names.note_path(reg)
    assert path is not None
    carried = path.read_bytes()
    path.unlink()
    resolve_index.note_path(reg).unlink()  # type: ignore[union-attr]
    again = resolve_index.resolve_batch(_fresh(reg), texts, today=DAY)
    assert again.names == "built (carry: no note)"
    assert _rows(path.read_bytes()) == _rows(carried)
    assert again.cells == got.cells


def _rows(note: bytes) -> tuple:
    """What a names note holds, row for row, whatever the numbering of its answers' texts: its
    days and type words, its columns (but the answer numbers), each row's answer text and label,
    the indexes and the provinces each became."""
    return _held(*_note_parts(note))


def _held(header: dict, body: bytes) -> tuple:
    cols = {c: resolve_names._unints(header["columns"][c]) for c in resolve_names._COLUMNS}
    ends = resolve_names._unints(header["ends"])
    starts = [0, *ends[:-1]]
    texts = [None if a == resolve_names._NONE else body[starts[a]: ends[a]] for a in cols.pop("answer")]
    labels = body[ends[-1] if ends else 0:].split(resolve_names._RS.encode())
    return (header["first"], header["last"], header["undated"], header["types"], cols, texts, labels,
            header["indexes"], header["later"], header.get("since"))


def test_a_rename_a_merge_and_a_split_are_carried_as_a_full_build_makes_them(written: Register, first_note: bytes,
                                                                            texts: list[str]) -> None:
    reg = written
    reg.record(RENAME, by="test")
    _carried_as_built(reg, texts)
    cells = resolve_index.resolve_batch(_fresh(reg), ["Số 4, Phường Thử Nghiệm, Thành phố Hải Phòng"], today=DAY)
    assert cells.cells[0][3] == "Phường Thử Nghiệm, Thành phố Hải Phòng"
    reg.record(MERGE, by="test")  # two writes behind: carried across both at once
    reg.record(SPLIT, by="test")
    _carried_as_built(reg, texts)
    got = resolve_index.resolve_batch(_fresh(reg), ["Phường Chí Linh, Thành phố Hải Phòng"], today=DAY).cells[0]
    assert got[0] == "split" and len(got[8].split(" | ")) == 2  # noqa: PLR2004  (two successors)
    # three writes behind, from the first note: the same note again
    path = resolve_names.note_path(reg)
    assert path is not None
    built = path.read_bytes()
    path.write_bytes(first_note)
    os.chmod(path, 0o600)
    carried = resolve_carry.carry(_fresh(reg), DAY)
    assert carried.why == "" and carried.names is not None
    assert _rows(path.read_bytes()) == _rows(built)
    # the carried names (made without decoding the note: names_of) are what reading the note gives
    noted = resolve_names.read(_fresh(reg), DAY)
    assert noted is not None
    for attr in ("generation", "first", "last", "undated", "types", "level", "type", "unit", "parent", "cdist",
                 "cprov", "vf", "vt", "answer", "fkey", "later", "blob", "ends", "_indexes"):
        assert getattr(carried.names, attr) == getattr(noted, attr), attr


def test_answers_by_spelling_kept_across_writes_are_the_resolvers_for_every_way_of_writing(
        national_copy: Register, texts: list[str]) -> None:
    """Every way people write an address (lower and upper case, no marks, type words dropped or
    abbreviated, a street, the country), for Hải Phòng's communes old and new and a sample of the
    country, noted by spelling on one generation; after a rename, a merge and a split, the answers
    kept (``resolve_index.carry_table``) and those answered again are the resolver's."""
    reg = national_copy
    sample = [t for t in texts if "Hải Phòng" in t] + _sample(texts, 100)
    variants = [_variant(t, how) for t in sample for how in range(8)]
    first = resolve_index.resolve_batch(_fresh(reg), variants, today=DAY)
    assert first.names.startswith("built")
    for spec in (RENAME, MERGE, SPLIT):
        reg.record(spec, by="test")
        got = resolve_index.resolve_batch(_fresh(reg), variants, today=DAY)
        assert got.names == "carried" and got.kept > 0
        assert got.cells == _reference(_fresh(reg), variants, DAY)


def test_answers_by_spelling_of_other_days_are_not_carried(national_copy: Register, texts: list[str]) -> None:
    """The names noted for the days around DAY, then the answers by spelling rewritten by a
    small run (no names noted) on a day before the reform: after a write, the names are carried
    but no answer of those other days is kept; every answer is the resolver's on DAY."""
    reg = national_copy
    assert resolve_index.resolve_batch(_fresh(reg), texts, today=DAY).names.startswith("built")
    before = date(2025, 6, 30)
    small = resolve_index.resolve_batch(_fresh(reg), texts[:50], today=before)
    assert small.names == ""  # the resolver alone: the names note is still DAY's
    noted = resolve_index.note_path(reg)
    assert noted is not None
    assert _table_head(noted)["last"] < DAY.isoformat()  # the answers of other days
    reg.record(RENAME, by="test")
    got = resolve_index.resolve_batch(_fresh(reg), texts, today=DAY)
    assert got.names == "carried" and got.kept == 0
    assert got.cells == _reference(_fresh(reg), texts, DAY)


# --- what is not carried -------------------------------------------------------------------------


@pytest.fixture
def planted(national_copy: Register, first_note: bytes) -> Register:
    """A copy at the first generation, with the first generation's note (made on the module's copy)."""
    path = resolve_names.note_path(national_copy)
    assert path is not None
    path.write_bytes(first_note)
    os.chmod(path, 0o600)
    return national_copy


def _header(note: bytes) -> dict[str, object]:
    return _note_parts(note)[0]


def _with_header(note: bytes, **changes: object) -> bytes:
    header, text = _note_parts(note)
    line, sections = resolve_names.pack({**header, **changes})
    return b"".join([resolve_names.MAGIC, line, b"\n", *sections, text])


def test_notes_that_are_not_carried(planted: Register, first_note: bytes, texts: list[str]) -> None:
    """Another day, another history or register build, an older format, a damaged or foreign note:
    never carried; the full build answers as the resolver does."""
    reg = planted
    path = resolve_names.note_path(reg)
    assert path is not None
    reg.record(RENAME, by="test")
    header = _header(first_note)
    since = dict(header["since"])  # type: ignore[arg-type]
    cases = {
        "other days": (first_note, date(2025, 1, 1)),  # --to before the note's days
        "history": (_with_header(first_note, since={**since, "event": ["restored"]}), DAY),
        "generation": (_with_header(first_note, generation="other|build|5|0005|0"), DAY),
        "format": (_with_header(first_note, format=2), DAY),
        "no since": (_with_header(first_note, since=None), DAY),
        "damaged": (_with_header(first_note, ends=array("i", [-5])), DAY),
        "no note": (first_note[: len(resolve_names.MAGIC) + 40], DAY),  # cut short
    }
    for why, (note, day) in cases.items():
        path.write_bytes(note)
        os.chmod(path, 0o600)
        assert resolve_carry.carry(_fresh(reg), day).why == why
    path.write_bytes(first_note)
    os.chmod(path, 0o620)  # writable by the group: never read
    assert resolve_carry.carry(_fresh(reg), DAY).why == "no note"
    # a damaged note: the full build, the resolver's answers
    path.write_bytes(_with_header(first_note, columns={**header["columns"], "vt": array("i", [1, 2])}))  # type: ignore[dict-item]
    os.chmod(path, 0o600)
    sample = texts[::40]
    got = resolve_index.resolve_batch(_fresh(reg), sample, today=DAY)
    assert got.names == "built (carry: damaged)"
    assert got.cells == _reference(_fresh(reg), sample, DAY)


@pytest.mark.parametrize("change", ["province", "later", "revoked", "statistics"])
def test_writes_that_are_not_carried(planted: Register, texts: list[str], change: str) -> None:
    """A province renamed (every commune's new address in it changes), a commune that starts
    after the day asked, a revoked event, statistics added: the full build, the resolver's answers."""
    from sqlalchemy import text

    reg = planted
    why = {"province": "not a commune", "later": "later", "revoked": "corrections", "statistics": "statistics"}[change]
    if change == "province":
        reg.record(Spec("rename", date(2026, 1, 1), units=["Thành phố Hải Phòng"], to="Thành phố Hải Phòng Mới",
                        act="TEST/2026-P"), by="test")
    elif change == "later":
        reg.record(Spec("rename", date(2026, 6, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm",
                        act="TEST/2026"), by="test")
    elif change == "revoked":
        out = reg.record(RENAME, by="test")
        reg.revoke(out.events[0], reason="test", by="test")
    else:
        with reg.engine.begin() as conn:
            vid = conn.execute(text("SELECT MAX(id) FROM version WHERE id NOT IN (SELECT version_id FROM statistic)")).scalar()
            conn.execute(text("INSERT INTO statistic (version_id, population, seat, source) VALUES (:v, 1234, '', 'test')"),
                         {"v": vid})
            conn.execute(text("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
                              "WHERE key = 'generation'"))
    assert resolve_carry.carry(_fresh(reg), DAY).why == why
    sample = texts[::40]
    got = resolve_index.resolve_batch(_fresh(reg), sample, today=DAY)
    assert got.names == f"built (carry: {why})"
    assert got.cells == _reference(_fresh(reg), sample, DAY)


def _note_parts(note: bytes) -> tuple[dict, bytes]:
    """A names note's header (its sections as arrays and texts) and the text after them."""
    end = note.index(b"\n", len(resolve_names.MAGIC))
    header, text = resolve_names.unpack(json.loads(note[len(resolve_names.MAGIC):end]), note[end + 1:])
    return header, bytes(text)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_carried_note_holds_what_the_full_build_holds_row_for_row(first_note: bytes, data: st.DataObject) -> None:
    """resolve_carry._Note.encoded keeps the noted bytes and numbers a text made again after them;
    resolve_names.Parts.encoded (what build uses) makes every answer's text again. On the real
    note, with rows made again (an old answer's text, another row's, none, a new one, the same new
    one twice) and rows added: the same rows, answers and labels; only the numbering may differ."""
    header, body = _note_parts(first_note)
    note, first, last, undated = resolve_carry._parts(header, body)  # noqa: SLF001
    n = len(note.cols["id"])
    texts = [None if a == resolve_names._NONE else note.body[note.ends[a - 1] if a else 0: note.ends[a]]
             for a in note.answer]
    news = [b"new answer \xe1\xba\xa1", b"another new one"]

    def a_text() -> bytes | None:
        return data.draw(st.one_of(st.none(), st.sampled_from(news), st.integers(0, n - 1).map(lambda r: texts[r])))

    for row in data.draw(st.lists(st.integers(0, n - 1), max_size=12, unique=True)):
        note.texts[row] = texts[row] = a_text()
    for _ in range(data.draw(st.integers(0, 3))):
        for name, col in note.cols.items():
            col.append(col[0] if name != "id" else max(col) + 1)
        note.fkey.append(data.draw(st.sampled_from([resolve_names._NONE, 0])))
        note.labels.append(b"label")
        note.texts[len(texts)] = a_text()
        texts.append(note.texts[len(texts)])
    reference = resolve_names.Parts(list(note.types), {c: list(col) for c, col in note.cols.items()}, texts,
                                    list(note.labels), list(note.indexes), note.later, array("i", note.fkey))

    carried = note.encoded(first, last, undated)
    assert _held(*carried[:2]) == _held(*reference.encoded(first, last, undated)[:2])
    names = resolve_names.names_of("g", carried[:2], *carried[2:])
    assert names.answer == carried[2]["answer"] and names.blob == carried[1]


def _may_read(key: str, changed: dict[str, list[str]]) -> bool:
    """The reference for resolve_index._dropped, a key at a time: whether a lookup of the key's
    commune or district part may read a changed key (the part folded ends with it, or a number
    that is the part's last word)."""
    from merger.addresses import _IY, _to_i
    from merger.names import fold

    for part in key.split(resolve_index._US)[:-1]:  # not the province
        whole = fold(part)
        if "y" in whole:
            whole = _IY.sub(_to_i, whole)
        last = resolve_index._last_word(part)
        if any(whole == k or whole.endswith(" " + k) or k.isdigit() for k in changed.get(last, ())):
            return True
    return False


def test_the_keys_dropped_are_those_that_may_read_a_changed_key(sources: Path) -> None:
    """resolve_index._dropped (one loop, last words found once per token) drops exactly the keys
    the reference (_may_read, a key at a time, each part's last word found from the part) names,
    on the NSO addresses' keys, for changed keys made from real names (and a number). (No
    register: once.)"""
    import random

    from merger.addresses import split_parts
    from merger.names import fold

    texts = _nso(sources)

    keys = list(dict.fromkeys(resolve_index._US.join(split_parts(t)[-k:]).casefold() for t in texts for k in (2, 3)))
    rng = random.Random(5)
    for _ in range(12):
        names = [fold(split_parts(t)[0]) for t in rng.sample(texts, 4)] + [rng.choice(["1", "5", "ky son", "an"])]
        changed: dict[str, list[str]] = {}
        for name in names:
            for k in {name, name.rsplit(" ", 1)[-1]}:
                changed.setdefault(k.rpartition(" ")[2], []).append(k)
        expected = [k for k in keys if _may_read(k, changed)]
        assert resolve_index._dropped(keys, changed) == expected
        assert expected  # something to drop
