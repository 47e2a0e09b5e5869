"""``resolve --file`` on a first run of spellings not seen before (issue 12, fifth round): the names
noted once per register generation (``merger.resolve_names``) answer exactly as the resolver, on
the real register, without the snapshot; a stale, foreign or damaged note is never used."""

from __future__ import annotations

import csv
import json
import os
import random
from array import array
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clirunner import CliRunner
from merger import resolve_index, resolve_names
from merger.addresses import AddressResolver, split_parts
from merger.cli import app
from merger.events import Spec
from merger.register import Register
from test_resolve_note import ODD, _new_style, _no_snapshot, _nso, _reference, _target, _variant

AFTER = date(2025, 7, 1)


@pytest.fixture(autouse=True)
def few_addresses_note_the_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of a few dozen addresses note the names here (the program waits for 200), so the
    tests stay short."""
    monkeypatch.setattr(resolve_index, "NAMES_AFTER", 10)


@pytest.fixture(scope="module")
def world(national: Register) -> tuple[AddressResolver, resolve_names.Names, list[str]]:
    """One resolver, the names built from it (in memory, as the note holds them), and the NSO
    addresses and the new communes as the register writes them."""
    from conftest import SOURCES

    if not (SOURCES / "MANIFEST.md").exists():
        pytest.skip(f"raw sources not present at {SOURCES}")
    snap = national.snapshot
    resolver = AddressResolver(snap, today=AFTER)
    first, last = resolve_index.days_alike(snap, AFTER)
    names = resolve_names.decode(snap.generation, *resolve_names.build(resolver, first, last, False))
    assert names is not None
    return resolver, names, _nso(SOURCES) + _new_style(national)


def _agrees(resolver: AddressResolver, names: resolve_names.Names, text: str) -> bool:
    """Whether the names answer ``text``; when they do, it is the resolver's answer, cell for cell
    (and status and message for an address they answer but do not resolve)."""
    got = names.cells(split_parts(text), text, AFTER)
    if got is None:
        return False
    res = resolver.resolve(text)
    assert got[0] == resolve_index.cells_of(resolver, res), text
    if got[1] is None:
        assert res.ok, text
    else:
        assert (got[1].text, got[1].status, got[1].message, got[1].answered) == (
            res.text, res.status, res.message, False), text
    return True


def test_every_nso_address_and_new_commune_is_answered_as_the_resolver_does(world) -> None:  # type: ignore[no-untyped-def]
    resolver, names, texts = world
    assert all(_agrees(resolver, names, t) for t in texts)


def test_variants_odd_and_ambiguous_addresses_agree(world) -> None:  # type: ignore[no-untyped-def]
    """Case, marks, spaces, type words dropped or abbreviated, a street in front, the country
    after, unknown, ambiguous, empty and formula-like addresses: answered as the resolver does,
    or left to it."""
    resolver, names, texts = world
    rng = random.Random(5)
    sample = rng.sample(texts, 500)
    answered = {how: sum(_agrees(resolver, names, _variant(t, how)) for t in sample) for how in range(8)}
    assert answered[1] == 0  # no commas: one part, the resolver's
    assert all(answered[how] == len(sample) for how in (0, 2, 3, 4, 5, 6, 7)), answered
    odd = [t for t in ODD if _agrees(resolver, names, t)]
    assert "" not in odd and "Hoa Binh" not in odd and "P. An Lư, TX. Thủy Nguyên, TP. Hải Phòng" in odd
    # no marks, commas kept: names folding alike are ambiguous, as the resolver says
    folded = [", ".join(_variant(p, 1) for p in t.split(", ")) for t in texts[:3000]]
    assert all(_agrees(resolver, names, t) for t in folded)
    assert "ambiguous" in {names.cells(split_parts(t), t, AFTER)[0][0] for t in folded}  # type: ignore[index]


def test_messages_in_vietnamese_as_the_resolver_gives_them(world, national: Register) -> None:  # type: ignore[no-untyped-def]
    """The names make their messages when asked, in the language of the run: an ambiguous answer
    (with dates as Vietnamese write them) and a type word written otherwise than recorded."""
    from merger import i18n

    _resolver, names, _texts = world
    texts = ["phuong sa pa, thi xa sa pa, tinh lao cai", "Phường Hòa Bình, Huyện Vĩnh Bảo, Hải Phòng",
             "Số 2, Phường Hòa Bình, Huyện Vĩnh Bảo, Hải Phòng"]
    with i18n.use("vi"):
        resolver = AddressResolver(national.snapshot, today=AFTER)
        assert all(_agrees(resolver, names, t) for t in texts)
        got = [names.cells(split_parts(t), t, AFTER) for t in texts]
    assert got[0][1].message.startswith("2 ") and "/" in got[0][1].message  # type: ignore[index,union-attr]
    assert got[1][0][11] == got[2][0][11] == "ghi là phường, trong cơ sở dữ liệu là xã"  # type: ignore[index]


_STREET = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_drawn_variants_agree_with_the_resolver(world, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    resolver, names, texts = world
    # An index, not st.sampled_from(texts): a strategy made per example hashes all ~10,000 texts
    # for its label each time (~1 s of CPU a run); the draw and its shrinking are the same.
    text = texts[data.draw(st.integers(0, len(texts) - 1))]
    for how in data.draw(st.lists(st.integers(0, 7), min_size=1, max_size=3)):
        text = _variant(text, how)
    if data.draw(st.booleans()):
        text = data.draw(_STREET) + ", " + text
    _agrees(resolver, names, text)


def _write(path: Path, texts: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "dia_chi"])
        w.writerows([i, t] for i, t in enumerate(texts))


def test_first_run_of_a_new_spelling_reads_no_snapshot(national_copy: Register, sources: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The first resolve of the generation notes the names; a file in another spelling is then
    answered without the snapshot, byte for byte as the resolver answers it, in every output mode."""
    reg = national_copy
    nso = random.Random(3).sample(_nso(sources), 120)
    first = resolve_index.resolve_batch(Register.open(_target(reg)), nso, today=AFTER)
    assert first.cells == _reference(reg, nso) and not first.resolved  # answered by the names just noted
    path = resolve_names.note_path(reg)
    assert path is not None and path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert resolve_names.read(Register.open(_target(reg)), AFTER) is not None
    # the run that noted the names kept their answers by spelling too, as the resolver's would be
    table = resolve_index.read(Register.open(_target(reg)), AFTER)
    assert table is not None and [table.lookup(split_parts(t)) for t in nso] == first.cells
    street = [f"Số 7, {t}" for t in nso[:20]]
    assert [table.lookup(split_parts(t)) for t in street] == _reference(reg, street)
    by_spelling = resolve_index.note_path(reg).read_bytes()
    lower = [_variant(t, i % 8 if i % 8 != 1 else 0) for i, t in enumerate(nso)] + ODD
    expected = _reference(reg, lower)
    with monkeypatch.context() as m:
        _no_snapshot(m)
        fast = resolve_index.resolve_batch(Register.open(_target(reg)), lower[:len(nso)], today=AFTER)
    assert fast.cells == expected[:len(nso)]
    assert resolve_index.note_path(reg).read_bytes() == by_spelling  # a later run keeps nothing by spelling
    odd = ["phuong sa pa, thi xa sa pa, tinh lao cai", "=1+2, Xã Hòa Bình, Huyện Vĩnh Bảo, HP",
           "@x, Phường Hòa Bình, Thành phố Hải Phòng", "Phường Hải Châu, ĐN"]
    expected = _reference(reg, odd)
    with monkeypatch.context() as m:
        _no_snapshot(m)
        got = resolve_index.resolve_batch(Register.open(_target(reg)), odd, today=AFTER)
    assert got.cells == expected and [r.status for r in got.resolved.values()] == ["ambiguous"]
    # the CLI: the same bytes from the names as from the resolver alone, in every mode, with rows
    # the names answer but do not resolve (ambiguous), and formula-like cells
    src = tmp_path / "in.csv"
    _write(src, lower[:60] + odd)
    runner = CliRunner()

    def run(raw: bool, *extra: str) -> tuple[int, str, str, bytes]:
        out = tmp_path / "out.csv"
        out.unlink(missing_ok=True)
        res = runner.invoke(app, ["--db", _target(reg), *(["--raw-csv"] if raw else []), "resolve", "--file", str(src),
                                  "--column", "dia_chi", "--to", "2025-07-01",
                                  *(extra if "-" in extra else ("--out", str(out), *extra))])
        return res.exit_code, res.stdout, res.stderr, out.read_bytes() if out.exists() else b""

    for raw, extra in [(False, ()), (False, ("--json",)), (False, ("--out", "-")), (True, ())]:
        resolve_index.note_path(reg).unlink(missing_ok=True)  # no answers noted by spelling
        with_names = run(raw, *extra)
        with monkeypatch.context() as m:  # the resolver alone, as before the names
            m.setattr(resolve_names, "read", lambda *args, **kwargs: None)
            m.setattr(resolve_index, "NAMES_AFTER", 10**9)
            alone = run(raw, *extra)
        assert with_names == alone, extra
        assert with_names[0] == 0 and "line 62: ambiguous: 'phuong sa pa" in with_names[2]


def test_the_names_are_stale_after_a_rename(national_copy: Register, sources: Path) -> None:
    """After a rename recorded on 1 January 2026 the next resolve notes the names anew and
    answers with the new name."""
    reg = national_copy
    day = date(2026, 2, 1)
    texts = ["Phường Hòa Bình, Thành phố Hải Phòng", "phường an lư, thành phố thủy nguyên, thành phố hải phòng",
             "Số 4, Phường Thử Nghiệm, Thành phố Hải Phòng", *random.Random(4).sample(_nso(sources), 40)]
    before = resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=day)
    assert before.cells == _reference(reg, texts, day)
    generation = reg.generation()
    assert resolve_names.read(Register.open(_target(reg)), day) is not None
    reg.record(Spec("rename", date(2026, 1, 1), units=["Phường Hòa Bình, Hải Phòng"], to="Phường Thử Nghiệm",
                    act="TEST/2026"), by="test")
    assert reg.generation() != generation
    assert resolve_names.read(Register.open(_target(reg)), day) is None  # stale
    after = resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=day)
    fresh = Register.open(_target(reg))
    assert after.cells == _reference(fresh, texts, day)
    assert [c[0] for c in after.cells[:3]] == ["ambiguous", "split", "ok"]
    assert after.cells[2][3] == "Phường Thử Nghiệm, Thành phố Hải Phòng"
    assert after.cells[1][7].startswith("Phường Thử Nghiệm, Thành phố Hải Phòng | ")
    assert resolve_names.read(Register.open(_target(reg)), day) is not None  # noted for the new generation


def test_a_damaged_foreign_or_other_day_names_note_is_ignored(national_copy: Register, sources: Path,
                                                               tmp_path: Path) -> None:
    reg = national_copy
    texts = random.Random(6).sample(_nso(sources), 60)
    expected = _reference(reg, texts)
    resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=AFTER)
    path = resolve_names.note_path(reg)
    assert path is not None and resolve_names.read(Register.open(_target(reg)), AFTER) is not None
    good = path.read_bytes()
    magic, rest = good[:len(resolve_names.MAGIC)], good[len(resolve_names.MAGIC):]
    head, _nl, body = rest.partition(b"\n")
    header, text = resolve_names.unpack(json.loads(head), body)

    def with_header(**changes: object) -> bytes:
        line, sections = resolve_names.pack({**header, **changes})
        return b"".join([magic, line, b"\n", *sections, text])

    assert with_header() == good  # (packed again as written)
    columns = dict(header["columns"])
    columns["type"] = columns["type"][:-2]  # a column shorter than the others
    index = [list(x) for x in header["indexes"]]
    index[0][2] = resolve_names._ints([10**8])  # the communes' index, read by every run: a row past the end
    sections_cut = magic + json.dumps({**json.loads(head), "sections": [7, *json.loads(head)["sections"][1:]]}).encode()
    for bad in (b"", b"{not json", b"merger snapshot cache\n" + rest, magic + b"{" + rest, good[: len(good) // 2],
                with_header(generation="other"), with_header(format=99), with_header(byteorder="middle"),
                with_header(columns=columns), with_header(indexes=index[:5]), with_header(ends=array("i", [-5])),
                with_header(types=[1, 2]), sections_cut + b"\n" + body, with_header(sections=[1, 2])[:400]):
        path.write_bytes(bad)
        os.chmod(path, 0o600)
        assert resolve_names.read(Register.open(_target(reg)), AFTER) is None, bad[:80]
    # parts decoded when first asked (an index, the answers' text): damaged, the resolver answers
    # the rest and the names are noted anew
    index[1][2] = resolve_names._ints([10**8])  # the districts' index: a row past the end
    at = len(good) - len(text)  # where the answers begin (after the sections)
    for bad in (with_header(indexes=index), good[:at] + b"\xff" * 3_000_000 + good[at + 3_000_000:]):
        path.write_bytes(bad)
        os.chmod(path, 0o600)
        resolve_index.note_path(reg).unlink(missing_ok=True)  # nothing answered by spelling
        got = resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=AFTER)
        assert got.cells == expected
        assert path.read_bytes() == good  # noted anew
    path.write_bytes(good)
    os.chmod(path, 0o620)  # writable by the group: never read
    assert resolve_names.read(Register.open(_target(reg)), AFTER) is None
    os.chmod(path, 0o600)
    assert resolve_names.read(Register.open(_target(reg)), AFTER) is not None
    elsewhere = tmp_path / "planted"
    elsewhere.write_bytes(good)
    path.unlink()
    path.symlink_to(elsewhere)  # not a regular file of its own
    assert resolve_names.read(Register.open(_target(reg)), AFTER) is None
    path.unlink()
    path.write_bytes(good)
    os.chmod(path, 0o600)
    # another day on which other versions are valid: not used
    assert resolve_names.read(Register.open(_target(reg)), date(2025, 6, 30)) is None
    # --as-of: the resolver, never the names
    asked = resolve_index.resolve_batch(Register.open(_target(reg)), texts[:20], today=AFTER, as_of=date(2024, 1, 1))
    assert len(asked.resolved) == 20


def test_a_small_run_notes_no_names(national_copy: Register, sources: Path) -> None:
    """A few addresses are answered by the resolver alone: noting the names would cost more
    (the program waits for 200; 10 here)."""
    reg = national_copy
    texts = _nso(sources)[:resolve_index.NAMES_AFTER]
    got = resolve_index.resolve_batch(Register.open(_target(reg)), texts, today=AFTER)
    assert len(got.resolved) == len(texts) and not resolve_names.note_path(reg).exists()


@given(st.text(st.sampled_from("aăâbcdđeêghiklmnoôơpqrstuưvxyAĐÝỳýỷỹỵ0123456789 .,-_\t\u0301\u00a0")) | st.text())
def test_folding_and_the_i_y_rule_are_the_resolvers(text: str) -> None:
    """The names fold a part as the resolver does (fold's regular expressions skipped only where
    they change nothing), and the i/y rule's replacement function is the template it replaced."""
    import re

    from merger.addresses import _norm
    from merger.names import fold

    assert resolve_names.folded(text) == _norm(fold(text))
    y = re.compile(r"\b(qu|ph|th|ch|tr|[bdhklmnrstv])y\b")
    if not text[:1].isdigit():
        assert _norm(text) == y.sub(r"\1i", text)


@given(body=st.binary(max_size=400), sizes=st.lists(st.integers(-3, 60), max_size=40),
       extra=st.dictionaries(st.sampled_from(["types", "later", "first", "last", "undated", "byteorder"]),
                             st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=3))))
def test_a_names_note_of_any_bytes_is_read_or_refused(body: bytes, sizes: list[int], extra: dict) -> None:
    """resolve_names.unpack reads any sections' sizes over any bytes, or refuses them with
    ValueError, TypeError or KeyError (a miss); decode then gives names or None, never raises."""
    try:
        header, text = resolve_names.unpack({"sections": sizes, **extra}, body)
    except (ValueError, TypeError, KeyError):
        return
    assert all(isinstance(col, array) for col in header["columns"].values())
    names = resolve_names.decode("g", header, text)
    assert names is None or isinstance(names, resolve_names.Names)
