"""``resolve --file`` answered from the note beside the snapshot cache (issue 12, fourth round): the
same bytes as the resolver's own answers, on the real register, and never a stale or foreign note."""

from __future__ import annotations

import csv
import json
import os
import random
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clirunner import CliRunner
from merger import resolve_index
from merger.addresses import AddressResolver, split_parts
from merger.cli import app
from merger.events import Spec
from merger.names import fold
from merger.register import Register

AFTER = date(2025, 7, 1)
STREETS = ["Số 5 Lê Lợi", "thôn 3", "=1+2", "@SUM(A1)", "Ngõ 12, phố Huế"]
ODD = ["", "   ", "Hoa Binh", "Phường Không Có, Quận Không Có, Hà Nội", "Xã Hòa Bình, Huyện Vĩnh Bảo, Tỉnh Hải Dương",
       "Số 3, huyện Vĩnh Bảo, HP", "Đường Lê Lợi, Hải Phòng", "=HYPERLINK(\"x\")", "-2+3", "P. An Lư, TX. Thủy Nguyên, TP. Hải Phòng",
       "12 Tran Phu, P.01, Q.5, TP.HCM", "Phường Hải Châu, ĐN", "xã Kì Sơn, huyện Kì Anh, Hà Tĩnh", "Tỉnh Hải Dương",
       "Phường Hòa Bình, Thành phố Hải Phòng", "Số 12 Lê Lợi, Phường Hòa Bình, TP Hải Phòng",
       # a street that repeats the new commune or the province: written once in the new address
       "Thành phố Hải Phòng, Phường Hòa Bình, Thành phố Hải Phòng",
       "Xã Nguyễn Bỉnh Khiêm, Xã Hòa Bình, Huyện Vĩnh Bảo, Thành phố Hải Phòng",
       "Số 1, Xã Nguyễn Bỉnh Khiêm, Xã Hòa Bình, Huyện Vĩnh Bảo, Thành phố Hải Phòng"]
_TYPES = ("Xã ", "Phường ", "Thị trấn ", "Huyện ", "Quận ", "Thị xã ", "Thành phố ", "Tỉnh ")
_SHORT = {"Xã ": "X. ", "Phường ": "P. ", "Thị trấn ": "TT. ", "Huyện ": "H. ", "Quận ": "Q. ", "Thị xã ": "TX. ",
          "Thành phố ": "TP. ", "Tỉnh ": ""}


@pytest.fixture(autouse=True)
def spelling_note_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the note of answers by spelling: the resolver answers every address
    not noted there, as before the names of each generation were noted (test_resolve_first.py)."""
    monkeypatch.setattr(resolve_index, "NAMES_AFTER", 10**9)


def _target(reg: Register) -> str:
    return str(reg.sqlite_path) if reg.sqlite_path is not None else reg.url


def _nso(sources: Path) -> list[str]:
    with (sources / "units_old" / "gso_ward_2025-07-18.csv").open(encoding="utf-8-sig") as fh:
        return [f"{r['Tên']}, {r['Quận Huyện']}, {r['Tỉnh / Thành Phố']}" for r in csv.DictReader(fh)]


def _sample(texts: list[str], n: int) -> list[str]:
    return random.Random(7).sample(texts, n)


def _new_style(reg: Register) -> list[str]:
    """The communes of July 2025 with their province, as the register writes them."""
    snap = reg.snapshot
    return [snap.path(v) for v in snap.valid_on(AFTER) if v.kind == "admin" and v.level == "commune"]


def _variant(text: str, how: int) -> str:
    """One way people write an address differently (all kinds the resolver accepts, and more)."""
    parts = [p.strip() for p in text.split(",")]
    if how == 0:
        return text.lower()
    if how == 1:
        return fold(text)  # no marks, no dots
    if how == 2:
        return "  ,  ".join(f" {p}  " for p in parts)  # spaces around the parts
    if how == 3:  # type words dropped
        return ", ".join(next((p[len(t):] for t in _TYPES if p.startswith(t)), p) for p in parts)
    if how == 4:  # abbreviated
        return ", ".join(next((_SHORT[t] + p[len(t):] for t in _TYPES if p.startswith(t)), p) for p in parts)
    if how == 5:
        return text.upper()
    if how == 6:
        return f"{STREETS[len(text) % len(STREETS)]}, {text}"
    return f"{text}, Việt Nam"


def _reference(reg: Register, texts: list[str], day: date = AFTER) -> list[list[str]]:
    """The resolver's own cells (no note), as resolve --file wrote them before the note."""
    resolver = AddressResolver(reg.snapshot, today=day)
    return [resolve_index.cells_of(resolver, res) for res in resolver.resolve_many(texts)]


def _no_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Register) -> None:
        raise AssertionError("the snapshot was read")

    monkeypatch.setattr(Register, "snapshot", property(refuse))


def test_the_note_answers_byte_for_byte_as_the_resolver(national_copy: Register, sources: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The 10,035 NSO addresses, the new communes, and variants of a sample (case, marks, spaces,
    type words dropped or abbreviated, a street in front, the country after) plus unknown,
    ambiguous, empty and formula-like ones: the first run (the resolver, which fills the note) and
    the next (the note) give exactly the resolver's cells; answering from the note reads no snapshot."""
    reg = national_copy
    rng = random.Random(12)
    base = _nso(sources) + _new_style(reg)
    sample = rng.sample(base, 600)
    texts = base + [_variant(t, i % 8) for i, t in enumerate(sample)] + ODD
    texts += [_variant(t, (i + 3) % 8) for i, t in enumerate(sample)]
    expected = _reference(reg, texts)
    path = resolve_index.note_path(reg)
    assert path is not None and not path.exists()
    first = resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=AFTER)
    assert first.cells == expected and len(first.resolved) == len(texts)  # no note yet: the resolver
    table = resolve_index.read(Register.open(_target(reg)), AFTER)
    assert table is not None
    noted = [(t, c) for t, c in zip(texts, expected, strict=True) if table.lookup(split_parts(t)) is not None]
    assert len(noted) > len(base)  # every NSO address and new commune, and variants
    with monkeypatch.context() as m:
        _no_snapshot(m)
        fast = resolve_index.resolve_batch(Register.open(_target(reg)), [t for t, _c in noted], today=AFTER)
    assert not fast.resolved and fast.cells == [c for _t, c in noted]
    # all of them again, and noted ones with another street in front
    again = texts + [f"Số 9 Trần Phú, {t}" for t, _c in rng.sample(noted, 300)]
    second = resolve_index.resolve_batch(Register.open(_target(reg)), again, today=AFTER)
    assert second.cells == expected + _reference(reg, again[len(texts):])
    assert len(second.resolved) < len(again) // 10  # nearly all from the note
    assert {c[0] for i, c in enumerate(second.cells) if i not in second.resolved} <= {"ok", "split"}


def test_nso_addresses_answered_from_the_note_in_every_language(national_copy: Register, sources: Path) -> None:
    """A "written as ..., recorded as ..." note is kept as its words: Vietnamese output from a note
    made in English is the resolver's Vietnamese."""
    from merger import i18n

    reg = national_copy
    texts = ["Phường Hòa Bình, Huyện Vĩnh Bảo, Hải Phòng", "Xã An Lư, TX. Thủy Nguyên, Hải Phòng",
             *_sample(_nso(sources), 200)]
    en = resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=AFTER)
    assert len(en.resolved) == len(texts) and en.cells[0][11] == "written as phường, recorded as xã"
    with i18n.use("vi"):
        vi = resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=AFTER)
        assert not vi.resolved  # all from the note
        assert vi.cells == _reference(reg, texts)
    assert vi.cells[0][11] == "ghi là phường, trong cơ sở dữ liệu là xã"


@pytest.fixture(scope="module")
def learned(national: Register) -> tuple[AddressResolver, resolve_index.Table, list[str]]:
    """A table learned in memory from the NSO addresses and the new communes (no note written)."""
    from conftest import SOURCES

    if not (SOURCES / "MANIFEST.md").exists():
        pytest.skip(f"raw sources not present at {SOURCES}")
    resolver = AddressResolver(national.snapshot, today=AFTER)
    table = resolve_index.Table(national.snapshot.generation, AFTER, AFTER)
    texts = _nso(SOURCES) + _new_style(national)
    for text in texts:
        table.learn(resolver, split_parts(text), resolver.resolve(text))
    return resolver, table, texts


_STREET = st.text(st.characters(exclude_categories=("Cs", "Co")), max_size=12)  # Co: the note's separators


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_drawn_variants_agree_with_the_resolver(learned: tuple[AddressResolver, resolve_index.Table, list[str]],
                                                data: st.DataObject) -> None:
    """Any variant of an address the table answers is answered as the resolver answers it; and
    once learned, the resolver's answer is what the table gives for that spelling with any street."""
    resolver, table, texts = learned
    # An index, not st.sampled_from(texts): a strategy made per example hashes all ~10,000 texts
    # for its label each time (~1 s of CPU a run); the draw and its shrinking are the same.
    text = texts[data.draw(st.integers(0, len(texts) - 1))]
    for how in data.draw(st.lists(st.integers(0, 7), min_size=1, max_size=3)):
        text = _variant(text, how)
    if data.draw(st.booleans()):
        text = data.draw(_STREET) + ", " + text
    parts = split_parts(text)
    expected = resolve_index.cells_of(resolver, resolver.resolve(text))
    got = table.lookup(parts)
    if got is not None:
        assert got == expected, text
    table.learn(resolver, parts, resolver.resolve(text))
    if table.lookup(parts) is not None:
        assert table.lookup(parts) == expected, text
        street = "Số 1, " + text
        assert table.lookup(split_parts(street)) == resolve_index.cells_of(resolver, resolver.resolve(street)), street


def test_the_note_is_stale_after_a_rename(national_copy: Register, tmp_path: Path) -> None:
    """After a rename recorded on 1 January 2026 the next resolve answers with the new name."""
    reg = national_copy
    src, out = tmp_path / "a.csv", tmp_path / "b.csv"
    src.write_text("id,dia_chi\n1,\"Phường Hòa Bình, Thành phố Hải Phòng\"\n"
                   "2,\"Phường An Lư, Thành phố Thủy Nguyên, Thành phố Hải Phòng\"\n"
                   "3,\"Số 4, Phường Thử Nghiệm, Thành phố Hải Phòng\"\n", encoding="utf-8")
    args = ["--db", _target(reg), "resolve", "--file", str(src), "--column", "dia_chi", "--out", str(out),
            "--to", "2026-02-01"]
    runner = CliRunner()
    assert runner.invoke(app, args).exit_code == 0
    before = out.read_bytes()
    assert "Phường Hòa Bình" in before.decode() and resolve_index.note_path(reg).exists()
    assert [r["status"] for r in csv.DictReader(before.decode().splitlines())] == ["ok", "split", "province_only"]
    assert runner.invoke(app, args).exit_code == 0 and out.read_bytes() == before  # from the note
    reg.record(Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm",
                    act="TEST/2026"), by="test")
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    # the ward of July 2025 ended on 31 December: the name now also names the ward of 2025 in
    # Thủy Nguyên, so the resolver asks for the district; An Lư's successors carry the new name,
    # and the new name is found
    assert [r["status"] for r in rows] == ["ambiguous", "split", "ok"]
    assert rows[1]["successor_names"] == ("Phường Thử Nghiệm, Thành phố Hải Phòng | "
                                          "Phường Thủy Nguyên, Thành phố Hải Phòng")
    assert rows[2]["unit_name"] == "Phường Thử Nghiệm, Thành phố Hải Phòng"
    assert rows[2]["new_address"] == "Số 4, Phường Thử Nghiệm, Thành phố Hải Phòng"
    fresh = Register.open(_target(reg))
    texts = ["Phường Hòa Bình, Thành phố Hải Phòng", "Phường An Lư, Thành phố Thủy Nguyên, Thành phố Hải Phòng",
             "Số 4, Phường Thử Nghiệm, Thành phố Hải Phòng"]
    assert [row[2:] for row in csv.reader(out.read_text(encoding="utf-8").splitlines())][1:] == \
        _reference(fresh, texts, date(2026, 2, 1))


def test_a_damaged_foreign_or_other_day_note_is_ignored(national_copy: Register) -> None:
    reg = national_copy
    texts = ["Phường Hòa Bình, Thành phố Hải Phòng", "Xã Hòa Bình, Huyện Vĩnh Bảo, Thành phố Hải Phòng"]
    expected = _reference(reg, texts)
    resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=AFTER)
    path = resolve_index.note_path(reg)
    assert path is not None and resolve_index.read(Register.open(_target(reg)), AFTER) is not None
    good = path.read_bytes()
    # tampered answers: a wrong unit in a kept shape is trusted (the user's own file, like the
    # cache); a broken shape is a miss, answered by the resolver
    end = good.index(b"\n", len(resolve_index.MAGIC))
    head = json.loads(good[len(resolve_index.MAGIC):end])
    answers_at = end + 1 + 4 * head["keys"] + head["key_bytes"]
    us, rs = resolve_index._US.encode(), resolve_index._RS.encode()
    other = resolve_index.MAGIC + json.dumps({**head, "generation": "other"}).encode() + good[end:]
    for bad in (b"{not json", good[:answers_at] + good[answers_at:].replace(us, rs, 3),
                good.replace(b'"format": ', b'"format": 1', 1), other, good[: len(good) // 2],
                good[:end + 3] + good[end + 5:]):
        path.write_bytes(bad)
        os.chmod(path, 0o600)
        got = resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=AFTER)
        assert got.cells == expected
        assert resolve_index.read(Register.open(_target(reg)), AFTER) is not None  # rewritten
    path.write_bytes(good)
    os.chmod(path, 0o620)  # writable by the group: never read
    assert resolve_index.read(Register.open(_target(reg)), AFTER) is None
    os.chmod(path, 0o600)
    assert resolve_index.read(Register.open(_target(reg)), AFTER) is not None
    # another day on which other versions are valid: not used
    assert resolve_index.read(Register.open(_target(reg)), date(2025, 6, 30)) is None
    got = resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=date(2025, 6, 30))
    assert got.cells == _reference(reg, texts, date(2025, 6, 30)) and len(got.resolved) == 2
    # an address holding the note's separator is asked of the resolver, never looked up
    forged = [f"{resolve_index._US.join(['Phường Hòa Bình', 'Thành phố Hải Phòng'])}, Thành phố Hải Phòng"]
    got = resolve_index.resolve_batch(Register.open(_target(reg)), forged, today=AFTER)
    assert got.cells == _reference(reg, forged) and len(got.resolved) == 1
    # --as-of answers are never noted nor read from the note
    asked = resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=AFTER, as_of=date(2024, 1, 1))
    assert len(asked.resolved) == 2


def test_cli_output_with_and_without_the_note(national_copy: Register, tmp_path: Path, sources: Path) -> None:
    """CR LF, a BOM, quoted cells, short rows, formula cells, empty cells: the bytes written, the
    summary and the unresolved lines are the same from the resolver and from the note, in every
    output mode."""
    reg = national_copy
    nso = _sample(_nso(sources), 300)
    lines = ["id,dia_chi,note"] + [f'{i},"{t}",=x{i}' for i, t in enumerate(nso)]
    lines += ['900,"=1+2, Xã Hòa Bình, Huyện Vĩnh Bảo, Thành phố Hải Phòng",', "901,", "902,,",
              '903,"Hoa Binh",y', '904,"@cmd, Phường Hòa Bình, Thành phố Hải Phòng",-']
    src = tmp_path / "in.csv"
    src.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    runner = CliRunner()
    target = _target(reg)

    def run(raw: bool, *extra: str) -> tuple[int, str, str, bytes]:
        out = tmp_path / "out.csv"
        out.unlink(missing_ok=True)
        res = runner.invoke(app, ["--db", target, *(["--raw-csv"] if raw else []), "resolve", "--file", str(src),
                                  "--column", "dia_chi", "--to", "2025-07-01",
                                  *(extra if "-" in extra else ("--out", str(out), *extra))])
        return res.exit_code, res.stdout, res.stderr, out.read_bytes() if out.exists() else b""

    modes = [(False, ()), (False, ("--json",)), (False, ("--out", "-")), (True, ())]
    first = []
    for raw, extra in modes:  # each from the resolver (no note), then from the note
        resolve_index.note_path(reg).unlink(missing_ok=True)
        first.append(run(raw, *extra))
        assert resolve_index.note_path(reg).exists()
        assert run(raw, *extra) == first[-1], extra
    code, _stdout, stderr, written = first[0]
    assert code == 0 and "line 303: unparseable" in stderr and "line 305: ambiguous" in stderr
    assert stderr.startswith("line 303")  # no progress bar (nor its empty line) when stderr is not a terminal
    rows = list(csv.reader(written.decode("utf-8").splitlines()))
    assert rows[1][2] == "'=x0" and rows[-1][0] == "904" and rows[-1][2] == "'-"
    assert rows[-5][1].startswith("'=1+2") and rows[-5][3] == "ok" and rows[-5][13].startswith("'=1+2, Xã")
    raw = list(csv.reader(first[3][3].decode("utf-8").splitlines()))
    assert raw[1][2] == "=x0"


@given(st.lists(st.sampled_from([",", ";", "\n", " ", ".", "-", "a", "Xã", "Việt Nam", "VN", "\r"]), max_size=20).map("".join))
def test_split_parts_is_the_regular_expression_split(text: str) -> None:
    """split_parts takes str.split where the text has no ';' or line break: the same parts."""
    import re

    parts = [p.strip(" .-") for p in re.split(r"[,;\n]", text)]
    parts = [p for p in parts if p]
    while parts and parts[-1].casefold() in {"viet nam", "vietnam", "vn", "việt nam", "việtnam"}:
        parts.pop()
    assert split_parts(text) == parts


@pytest.mark.parametrize("day", [date(2025, 6, 30), AFTER, date(2026, 2, 1), date(2019, 12, 31)])
def test_days_alike_are_the_days_with_the_same_versions_valid(national: Register, day: date) -> None:
    """The note holds from the first to the last day on which exactly the versions valid on its
    day are valid; the day before and the day after, some version starts or ends."""
    from datetime import timedelta

    snap = national.snapshot
    first, last = resolve_index.days_alike(snap, day)
    valid = {v.id for v in snap.versions.values() if v.valid_on(day)}
    assert first <= day <= last
    for edge in (first, last):
        assert {v.id for v in snap.versions.values() if v.valid_on(edge)} == valid
    if first > date.min:
        assert {v.id for v in snap.versions.values() if v.valid_on(first - timedelta(days=1))} != valid
    if last < date.max:
        assert {v.id for v in snap.versions.values() if v.valid_on(last + timedelta(days=1))} != valid


_NO_RS = st.text(st.characters(blacklist_characters=resolve_index._RS, blacklist_categories=("Cs",)), max_size=30)


@given(answers=st.lists(_NO_RS, min_size=1, max_size=8), keys=st.lists(_NO_RS, max_size=8, unique=True),
       data=st.data())
def test_a_note_of_answers_reads_back_as_written(answers: list[str], keys: list[str], data: st.DataObject) -> None:
    table = resolve_index.Table("g~1", date(2025, 7, 1), date(2026, 1, 1),
                                keys={k: data.draw(st.integers(0, len(answers) - 1)) for k in keys},
                                answers=answers)
    table.undated = data.draw(st.booleans())
    got = resolve_index.decode("g~1", resolve_index.encode(table))
    assert got is not None and got.keys == table.keys and got.answers == answers
    assert (got.first, got.last, got.undated) == (table.first, table.last, table.undated)
    assert resolve_index.decode("g~2", resolve_index.encode(table)) is None  # another generation's


@given(tail=st.binary(max_size=300), cut=st.integers(0, 400))
def test_a_note_of_answers_of_any_bytes_is_a_table_or_a_miss(tail: bytes, cut: int) -> None:
    good = resolve_index.encode(resolve_index.Table("g", date(2025, 7, 1), date(2026, 1, 1),
                                                    keys={"a\x1fb": 0, "c\x1fd": 1}, answers=["x", "y"]))
    for data in (tail, resolve_index.MAGIC + tail, good[:cut] + tail, good + tail):
        got = resolve_index.decode("g", data)
        assert got is None or isinstance(got, resolve_index.Table)
