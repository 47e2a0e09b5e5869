"""Addresses: abbreviations, missing diacritics, old and new style, wrong province, split communes."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from clirunner import CliRunner
from merger.addresses import AddressResolver
from merger.cli import app
from merger.register import Register

AFTER = date(2025, 7, 1)


@pytest.fixture(scope="module")
def resolver(national: Register) -> AddressResolver:
    return AddressResolver(national.snapshot, today=AFTER)


@pytest.mark.parametrize("text", [
    "Xã Hòa Bình, Huyện Vĩnh Bảo, Thành phố Hải Phòng",
    "xa hoa binh, huyen vinh bao, tp hai phong",
    "X. Hoà Bình, H. Vĩnh Bảo, TP. Hải Phòng",
    "XÃ HÒA BÌNH, HUYỆN VĨNH BẢO, HẢI PHÒNG",
    "thôn 3, Hòa Bình, Vĩnh Bảo, Hải Phòng, Việt Nam",
])
def test_old_style_forms(resolver: AddressResolver, text: str) -> None:
    res = resolver.resolve(text)
    assert res.status == "ok", res.message
    assert res.unit is not None and res.unit.key == "11890@..2025-06-30"
    assert [r.target.full_name for r in res.successors if r.target] == ["Xã Nguyễn Bỉnh Khiêm"]


def test_split_commune_returns_every_successor(resolver: AddressResolver) -> None:
    res = resolver.resolve("P. An Lư, TX. Thủy Nguyên, TP. Hải Phòng")  # Thủy Nguyên was a thành phố by then
    assert res.status == "split" and res.split
    assert {r.target.full_name for r in res.successors if r.target} == {"Phường Hòa Bình", "Phường Thủy Nguyên"}
    assert sum(r.share for r in res.successors) == pytest.approx(1)
    assert res.address is not None and res.address.district == "TX. Thủy Nguyên"


def test_new_style_with_street(resolver: AddressResolver) -> None:
    res = resolver.resolve("Số 12 Lê Lợi, Phường Hòa Bình, TP Hải Phòng")
    assert res.status == "ok" and res.unit is not None and res.unit.key == "11533@2025-07-01"
    assert res.address is not None and res.address.street == "Số 12 Lê Lợi" and res.address.style == "new"
    assert [r.target for r in res.successors] == [res.unit]


def test_city_abbreviations_and_numbered_wards(resolver: AddressResolver) -> None:
    res = resolver.resolve("12 Tran Phu, P.01, Q.5, TP.HCM")
    assert res.status == "ok" and res.unit is not None and res.unit.full_name == "Phường 1"
    assert res.successors[0].target.full_name == "Phường Chợ Quán"  # type: ignore[union-attr]


def test_new_province_written_for_an_old_commune(resolver: AddressResolver) -> None:
    """An old Hải Dương commune written with the city it joined is still found."""
    res = resolver.resolve("Phường Cẩm Thượng, TP Hải Dương, Hải Phòng")
    assert res.ok and res.unit is not None and res.unit.code == "10507"


def test_wrong_province_is_reported_not_guessed(resolver: AddressResolver) -> None:
    res = resolver.resolve("Xã Hòa Bình, Huyện Vĩnh Bảo, Tỉnh Hải Dương")
    assert res.status == "not_found" and res.unit is None
    assert "Hải Dương" in res.message and "Thành phố Hải Phòng" in res.message


def test_ambiguous_and_unparseable(resolver: AddressResolver) -> None:
    res = resolver.resolve("Hoa Binh")
    assert res.status == "ambiguous" and len(res.candidates) >= 2
    assert resolver.resolve("  , ,").status == "unparseable"
    assert resolver.resolve("Tỉnh Hải Dương").status == "unparseable"


def test_every_old_commune_of_the_nso_list(resolver: AddressResolver, national: Register, sources: Path) -> None:
    """The 10,035 old communes as the NSO list writes them: each gives exactly its official successors."""
    with (sources / "units_old" / "gso_ward_2025-07-18.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    texts = [f"{r['Tên']}, {r['Quận Huyện']}, {r['Tỉnh / Thành Phố']}" for r in rows]
    results = resolver.resolve_many(texts)
    snap = national.snapshot
    bad = []
    for row, res in zip(rows, results, strict=True):
        official = {link.succ.key for link in snap.successors(res.unit) if link.succ} if res.unit else set()
        got = {r.target.key for r in res.successors if r.target}
        if not res.ok or res.unit is None or res.unit.code != row["Mã"] or got != official or not got:
            bad.append(res.text)
    assert len(rows) == 10_035 and bad == []
    # the 440 divided communes of the NSO table, and Xã Hòa Thắng, whose part going to Xã Hồng Thái the
    # importer records from the clause of 1671/NQ-UBTVQH15 (the table omits it; see IMPORT_REPORT.txt)
    split = {res.unit.code for res in results if res.split and res.unit is not None}
    assert len(split) == 441 and "23053" in split


def test_cli_resolve_one_and_file(tmp_path: Path, national_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["--db", str(national_path), "resolve", "phuong an lu, thuy nguyen, hai phong",
                              "--to", "2025-07-01"])
    assert res.exit_code == 0, res.stderr
    assert "Phường Hòa Bình" in res.stdout and "Phường Thủy Nguyên" in res.stdout and "split" in res.stdout
    res = runner.invoke(app, ["--db", str(national_path), "resolve", "Xã Hòa Bình, Huyện Vĩnh Bảo, Tỉnh Hải Dương"])
    assert res.exit_code == 1 and res.stderr.startswith("Error:")
    src, out = tmp_path / "a.csv", tmp_path / "b.csv"
    src.write_text("id,dia_chi\n1,\"P. An Lư, TX. Thủy Nguyên, Hải Phòng\"\n2,???\n3,\"xa hoa binh, vinh bao, hai phong\"\n",
                   encoding="utf-8")
    res = runner.invoke(app, ["--db", str(national_path), "resolve", "--file", str(src), "--column", "dia_chi",
                              "--out", str(out), "--to", "2025-07-01"])
    assert res.exit_code == 0, res.stderr
    assert "line 3" in res.stderr
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["split", "not_found", "ok"]
    assert rows[0]["split"] == "true" and rows[0]["successor_codes"] == "11533 | 11560"
    assert rows[2]["successor_names"] == "Xã Nguyễn Bỉnh Khiêm, Thành phố Hải Phòng"


# --- issue 11: rewriting, abbreviations, i/y, type words, coarser answers ------------------------


def test_address_rewritten_with_the_street_kept(resolver: AddressResolver, national: Register) -> None:
    from merger.addresses import rewrite

    res = resolver.resolve("Đường Trần Não, Phường An Khánh, TP. Thủ Đức, TP.HCM")
    assert res.status == "ok"
    assert rewrite(national.snapshot, res, AFTER) == ["Đường Trần Não, Phường An Khánh, Thành phố Hồ Chí Minh"]
    split = resolver.resolve("Số 5 Lê Lợi, P. An Lư, TX. Thủy Nguyên, TP. Hải Phòng")
    assert rewrite(national.snapshot, split, AFTER) == ["Số 5 Lê Lợi, Phường Hòa Bình, Thành phố Hải Phòng",
                                                         "Số 5 Lê Lợi, Phường Thủy Nguyên, Thành phố Hải Phòng"]


@pytest.mark.parametrize(("text", "code"), [
    ("xã Hòa Bình, huyện Vĩnh Bảo, HP", "11890"),
    ("Phường Mỹ Đình 1, Nam Từ Liêm, HN", "00625"),
    ("Phường Hải Châu, ĐN", "20242"),  # ĐN: Đà Nẵng or Đồng Nai, the commune decides
    ("xã Kì Sơn, huyện Kì Anh, Hà Tĩnh", "18844"),  # Kỳ written Kì
    ("Phường Mĩ Đình 1, Quận Nam Từ Liêm, Hà Nội", "00625"),  # Mỹ written Mĩ
    ("xã Quí Quân, huyện Hà Quảng, Cao Bằng", "01432"),  # Quý written Quí
    ("Phường Lí Thái Tổ, Quận Hoàn Kiếm, HN", "00058"),  # Lý written Lí
    ("P. An Lư, thành phố thuộc tỉnh Thủy Nguyên, Hải Phòng", "11533"),
])
def test_abbreviations_spellings_and_type_words(resolver: AddressResolver, text: str, code: str) -> None:
    res = resolver.resolve(text)
    assert res.ok and res.unit is not None and res.unit.code == code, res.message


def test_district_only_is_answered_with_its_successors(resolver: AddressResolver) -> None:
    res = resolver.resolve("Số 3, huyện Vĩnh Bảo, HP")
    assert res.status == "district" and res.answered and res.unit is not None and res.unit.code == "316"
    names = {r.target.full_name for r in res.successors if r.target}
    assert {"Xã Vĩnh Bảo", "Xã Nguyễn Bỉnh Khiêm"} <= names and len(names) == 7
    assert sum(r.share for r in res.successors) == pytest.approx(1.0)
    island = resolver.resolve("huyện đảo Bạch Long Vĩ, Hải Phòng")
    assert island.status == "district"
    assert [r.target.full_name for r in island.successors if r.target] == ["Đặc khu Bạch Long Vĩ"]


def test_street_and_province_only_answers_the_province(resolver: AddressResolver, national: Register) -> None:
    from merger.addresses import rewrite

    res = resolver.resolve("Đường Lê Lợi, Hải Phòng")
    assert res.status == "province_only" and res.unit is not None and res.unit.code == "31"
    assert rewrite(national.snapshot, res, AFTER) == ["Đường Lê Lợi, Thành phố Hải Phòng"]
    assert resolver.resolve("Tỉnh Hải Dương").status == "unparseable"  # no street: nothing to answer


def test_cli_resolve_reads_stdin_and_writes_stdout(national_path: Path) -> None:
    runner = CliRunner()
    text = "So 5 Le Loi, xa hoa binh, h. vinh bao, hai phong\nfoo bar\n"
    res = runner.invoke(app, ["--db", str(national_path), "resolve", "-"], input=text)
    assert res.exit_code == 0
    rows = list(csv.DictReader(res.stdout.splitlines()))
    assert [r["status"] for r in rows] == ["ok", "not_found"]
    assert rows[0]["new_address"] == "So 5 Le Loi, Xã Nguyễn Bỉnh Khiêm, Thành phố Hải Phòng"
    assert "line 2: not_found" in res.stderr and "2 addresses → standard output" in res.stderr
    csv_in = "id,dia_chi\n1,\"P. An Lư, TX. Thủy Nguyên, TP. Hải Phòng\"\n"
    res = runner.invoke(app, ["--db", str(national_path), "resolve", "--file", "-", "--column", "dia_chi"],
                        input=csv_in)
    assert res.exit_code == 0
    row = next(csv.DictReader(res.stdout.splitlines()))
    assert row["status"] == "split" and row["new_address"].count(" | ") == 1
    one = runner.invoke(app, ["--db", str(national_path), "resolve", "Đường Lê Lợi, Hải Phòng"])
    assert one.exit_code == 0 and "new address: Đường Lê Lợi, Thành phố Hải Phòng" in one.stdout


def test_memoised_chains_and_rewrites_equal_the_plain_walk(national: Register, sources: Path) -> None:
    """The resolver works out a commune's district and province once per parent and day, and a
    successor's new address once per successor (issue 12): the same as walking every version's
    ancestors and rewriting every address afresh."""
    from merger.addresses import rewrite

    snap = national.snapshot
    resolver = AddressResolver(snap, today=AFTER)
    for v in snap.versions.values():
        if v.kind == "admin" and v.level in ("commune", "district"):
            assert resolver.chain(v) == resolver._walk(v), v.key
    with (sources / "units_old" / "gso_ward_2025-07-18.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    texts = [f"Số 5 Lê Lợi, {r['Tên']}, {r['Quận Huyện']}, {r['Tỉnh / Thành Phố']}" for r in rows[::5]]
    for res in resolver.resolve_many(texts + [f"{r['Tên']}, {r['Tỉnh / Thành Phố']}" for r in rows[::50]]):
        assert resolver.rewrite(res) == rewrite(snap, res, AFTER), res.text
