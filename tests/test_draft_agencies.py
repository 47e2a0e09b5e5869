"""merger draft on agency texts: real sentences in, the bundled agency events out.

No resolution text of these mergers was found in the stored public sources (the Hải Dương
People's Council resolution of February 2025 is not even numbered in them): the documents below
are built from sentences that news reports quote or state, copied as they appear, each with its
page. The register they are drafted against is the bundled one cut on the eve of the change
(tests/draft_check.py), and the result is compared with the bundled agency events, which
merger.importers.agencies/agency_history wrote from other pages.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clirunner import CliRunner
from draft_check import before_register
from merger import annex, bundle
from merger.cli import app
from merger.draft.agency_parse import read_agency_document, read_clause, split_names
from merger.draft.build import Drafted, draft, events, write
from merger.errors import BadInput
from merger.register import Register

# kinhtemoitruong.vn/to-chuc-bo-may-ubnd-tinh-hai-duong-tinh-gon-con-12-so-ban-nganh-96740.html
# (21/02/2025): the report of the 20 February announcement, copied sentence by sentence.
HAI_DUONG = """\
Tổ chức bộ máy UBND tỉnh Hải Dương tinh gọn còn 12 sở, ban ngành

Thực hiện tinh gọn bộ máy tổ chức, UBND tỉnh Hải Dương đã hợp nhất 10 sở thành 5 sở. Sau khi tinh gọn, các cơ quan chuyên môn thuộc UBND tỉnh Hải Dương còn 12 sở, ban ngành.

Ngày 20/2, tỉnh Hải Dương tổ chức công bố các quyết định về sắp xếp tổ chức bộ máy các cơ quan chuyên môn thuộc UBND tỉnh và công tác cán bộ. Theo đó, tỉnh này hợp nhất các sở: Sở Kế hoạch và Đầu tư hợp nhất với Sở Tài chính; hợp nhất Sở Giao thông Vận tải và Sở Xây dựng; hợp nhất Sở Tài nguyên và Môi trường với Sở Nông nghiệp và Phát triển nông thôn; hợp nhất Sở Thông tin và Truyền thông với Sở Khoa học và Công nghệ; hợp nhất Sở Lao động - Thương binh và Xã hội với Sở Nội vụ.

Sau khi tổ chức lại, các cơ quan chuyên môn thuộc UBND tỉnh Hải Dương gồm 12 cơ quan: Sở Nội vụ, Sở Tài chính, Sở Xây dựng, Sở Khoa học và Công nghệ, Sở Nông nghiệp và Môi trường, Sở Tư pháp, Sở Công Thương, Sở Y tế, Sở Văn hóa, Thể thao và Du lịch, Sở Giáo dục và Đào tạo, Văn phòng UBND tỉnh, Thanh tra tỉnh.
"""
# baohaiduong.vn/to-chuc-bo-may-moi-o-hai-duong-di-vao-hoat-dong-tu-1-3-405823.html: "Tổ chức bộ máy
# mới ở Hải Dương đi vào hoạt động từ 1/3" (the year is the report's, 2025): given as --effective.
HAI_DUONG_FROM = date(2025, 3, 1)

# doanhnghieptiepthi.vn/thanh-lap-ban-quan-ly-khu-kinh-te-hai-phong-sau-hop-nhat-161250702152949989.htm
# (2/7/2025): Decision 1459/QĐ-TTg, as the report states it.
BOARD = """\
Thành lập Ban Quản lý Khu kinh tế Hải Phòng sau hợp nhất

Phó Thủ tướng Chính phủ Trần Hồng Hà đã ký Quyết định số 1459/QĐ-TTg thành lập Ban Quản lý Khu kinh tế Hải Phòng.

Theo quyết định, thành lập Ban Quản lý Khu kinh tế Hải Phòng trên cơ sở hợp nhất Ban Quản lý Khu kinh tế Hải Phòng và Ban Quản lý các Khu công nghiệp tỉnh Hải Dương.

Ban Quản lý Khu kinh tế Hải Phòng (sau đây gọi tắt là Ban Quản lý) là cơ quan trực thuộc Ủy ban nhân dân thành phố Hải Phòng, thực hiện chức năng quản lý nhà nước trực tiếp đối với các khu công nghiệp, khu kinh tế trên địa bàn thành phố Hải Phòng.
"""

# lite.baomoi.com/tp-hcm-thanh-lap-so-giao-thong-cong-chanh-c51526620.epi: Hồ Chí Minh City's
# departments of 20/2/2025, whose agencies the register does not hold.
HO_CHI_MINH = """\
Chiều 20/2, HĐND TP.HCM thông qua 7 Nghị quyết thành lập hàng loạt sở mới sau khi sắp xếp, tinh gọn bộ máy.

Sở Tài chính được thành lập trên cơ sở hợp nhất Sở Kế hoạch và Đầu tư, Sở Tài chính và tiếp nhận Ban Đổi mới quản lý doanh nghiệp thành phố.

Sở Nội vụ hình thành từ sự hợp nhất giữa Sở Nội vụ và Sở Lao động - Thương binh và Xã hội.
"""


def _bundled_agency_events(day: str) -> set[tuple[str, str, frozenset[str]]]:
    """(successor name, its province's code, predecessor keys) of the bundled agency events of ``day``."""
    rows = bundle.read_agencies(bundle.units_dir())
    versions = {r["key"]: r for r in rows["versions"]}
    out = set()
    for ev in rows["events"]:
        if ev["effective"] != day:
            continue
        links = [lk for lk in rows["links"] if lk["event"] == ev["key"]]
        (succ,) = {lk["successor"] for lk in links}
        out.add((versions[succ]["name"], versions[succ]["parent_unit"].split("@")[0],
                 frozenset(lk["predecessor"] for lk in links)))
    return out


def _recorded(reg: Register, day: date) -> set[tuple[str, str, frozenset[str]]]:
    """The same, of the agency versions that begin on ``day`` in ``reg``."""
    snap = reg.snapshot
    out = set()
    for v in snap.versions.values():
        if v.kind == "agency" and v.valid_from == day:
            parent = snap.parent_of(v, day)
            out.add((v.name, parent.code if parent else "", frozenset(lk.pred.key for lk in snap.predecessors(v))))
    return out


@pytest.fixture(scope="module")
def eve_of_march(tmp_path_factory: pytest.TempPathFactory) -> Register:
    """The register of 28 February 2025 (SQLite), before Hải Dương's departments merged."""
    return before_register(tmp_path_factory.mktemp("eve-march"), reform="2025-03-01")


@pytest.fixture(scope="module")
def eve_of_july(tmp_path_factory: pytest.TempPathFactory) -> Register:
    """The register of 30 June 2025 (SQLite)."""
    return before_register(tmp_path_factory.mktemp("eve-july"))


def _doc(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def hai_duong(eve_of_march: Register, tmp_path: Path) -> Drafted:
    return draft(eve_of_march, _doc(tmp_path, "hai-duong-2025.md", HAI_DUONG), effective=HAI_DUONG_FROM)


# --- Hải Dương, 1 March 2025: 10 departments -> 5 ---------------------------------------------------


def test_hai_duong_march_2025_is_drafted_without_review(hai_duong: Drafted) -> None:
    d = hai_duong
    assert d.kind == "agency" and d.needs_review == []
    assert d.province is not None and d.province.key == "30@..2025-06-30"
    assert [r.event for r in d.rows] == ["merge"] * 5
    assert sum(len(r.found) for r in d.rows) == 10 and all(f.version for r in d.rows for f in r.found)
    # the text's own figures: "gồm 12 cơ quan" after, and the draft leaves 12
    assert d.summary()["agencies_after"] == {"stated": 12, "drafted": 12}
    assert "the text says 10 merged into 5; the draft merges 10 into 5" in d.notes  # "hợp nhất 10 sở thành 5 sở"
    # The clauses name no successor: each is taken from the text's list, and says so.
    assert all(any(n.startswith("CHECK: the clause names no successor") for n in r.notes) for r in d.rows)
    (new,) = [r for r in d.rows if r.absorbs is None]
    assert (new.into, new.type, new.parent) == ("Sở Nông nghiệp và Môi trường", "sở và tương đương", "30@..2025-06-30")
    assert sorted(r.absorbs.name for r in d.rows if r.absorbs) == [
        "Sở Khoa học và Công nghệ", "Sở Nội vụ", "Sở Tài chính", "Sở Xây dựng"]
    assert any("no act number" in n for n in d.notes)


def test_hai_duong_draft_applied_reproduces_the_bundled_events(new_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Recorded for real, on both stores: the same five successors, from the same ten departments,
    as the bundled events of 1 March 2025."""
    reg = before_register(tmp_path, url=new_db("eve-march"), reform="2025-03-01")
    try:
        d = draft(reg, _doc(tmp_path, "hai-duong-2025.md", HAI_DUONG), effective=HAI_DUONG_FROM)
        out = tmp_path / "annex.yaml"
        write(d, reg.snapshot, out)
        outcome = annex.apply(reg, out, by="test")
        assert outcome.written and len(outcome.events) == 5
        want = _bundled_agency_events("2025-03-01")
        assert len(want) == 5 and sum(len(p) for _, _, p in want) == 10
        assert _recorded(reg, HAI_DUONG_FROM) == want
        c = reg.counts(within="Hải Dương", kind="agency", before=date(2025, 2, 28), after=HAI_DUONG_FROM)
        dept = c.get("agency", "sở và tương đương")
        assert dept is not None and (dept.before, dept.after) == (17, 12)
    finally:
        reg.close()


def test_without_the_closing_list_no_successor_is_guessed(eve_of_march: Register, tmp_path: Path) -> None:
    """The same clauses without the report's list of the agencies after: every row is left for review."""
    text = HAI_DUONG.split("Sau khi tổ chức lại")[0]
    d = draft(eve_of_march, _doc(tmp_path, "pairs.md", text), effective=HAI_DUONG_FROM)
    assert len(d.rows) == 5 and len(d.needs_review) == 5
    assert all("names no successor" in " ".join(r.review) for r in d.rows)
    assert all("into" not in e for e in events(d))
    out = tmp_path / "pairs.yaml"
    write(d, eve_of_march.snapshot, out)
    assert "# into: REVIEW" in out.read_text(encoding="utf-8")
    from merger.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="merge needs exactly one --into"):
        annex.apply(eve_of_march, out, dry_run=True)


# --- Hải Phòng, 1 July 2025: the two boards -> 1 (Decision 1459/QĐ-TTg) ----------------------------------


def test_board_merger_of_1_july_2025_reproduces_the_bundled_event(new_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg = before_register(tmp_path, url=new_db("eve-july"))
    try:
        d = draft(reg, _doc(tmp_path, "1459.md", BOARD), effective=date(2025, 7, 1))
        assert d.act == "1459/QĐ-TTg" and d.needs_review == []
        (row,) = d.rows
        # the board keeps its name ("Ban Quản lý Khu kinh tế Hải Phòng" is its name, not a place)
        assert row.absorbs is not None and row.absorbs.key == "31.ban-quan-ly-khu-kinh-te-hai-phong@..2025-06-30"
        out = tmp_path / "annex.yaml"
        write(d, reg.snapshot, out)
        annex.apply(reg, out, by="test")
        boards = {e for e in _bundled_agency_events("2025-07-01") if e[0].startswith("Ban")}
        assert boards == {e for e in _recorded(reg, date(2025, 7, 1)) if e[0].startswith("Ban")}
        v = reg.resolve("Ban Quản lý Khu kinh tế Hải Phòng", as_of=date(2025, 7, 1)).version
        (link, _) = sorted(reg.snapshot.predecessors(v), key=lambda lk: lk.pred.key)
        assert link.event.act is not None and link.event.act.number == "1459/QĐ-TTg"
    finally:
        reg.close()


# --- names the register does not hold -----------------------------------------------------------------


def test_agencies_not_in_the_register_are_left_for_review(eve_of_march: Register, tmp_path: Path) -> None:
    out = tmp_path / "hcm.yaml"
    r = CliRunner().invoke(app, ["--db", str(eve_of_march.sqlite_path), "draft",
                                 str(_doc(tmp_path, "hcm.md", HO_CHI_MINH)), "--out", str(out), "-e", "1/3/2025"])
    assert r.exit_code == 1, r.output
    assert "Error: 2 row(s) need review" in r.output
    text = out.read_text(encoding="utf-8")
    assert '"[REVIEW] Sở Kế hoạch và Đầu tư"' in text
    assert "# REVIEW: Sở Kế hoạch và Đầu tư: no agency of that name on 2025-02-28 in Thành phố Hồ Chí Minh" in text
    r = CliRunner().invoke(app, ["--db", str(eve_of_march.sqlite_path), "apply", str(out), "--dry-run"])
    assert r.exit_code == 1 and "[REVIEW] Sở" in r.output


# --- the command line -----------------------------------------------------------------------------------


def test_cli_draft_agencies_then_apply_dry_run(eve_of_march: Register, tmp_path: Path) -> None:
    db = str(eve_of_march.sqlite_path)
    out = tmp_path / "annex.yaml"
    r = CliRunner().invoke(app, ["--db", db, "draft", str(_doc(tmp_path, "hd.md", HAI_DUONG)), "--out", str(out),
                                 "--effective", "1/3/2025"])
    assert r.exit_code == 0, r.output
    assert "events: 5 (merge 5)" in r.output and "rows needing review: 0" in r.output
    assert "rows to check (# CHECK: lines): 5" in r.output
    assert "sở và tương đương of Tỉnh Hải Dương after the draft: 12 (the text states 12)" in r.output
    text = out.read_text(encoding="utf-8")
    assert 'into: "30.so-tai-chinh@..2025-02-28"  # Sở Tài chính, Tỉnh Hải Dương goes on' in text
    assert 'evidence: "stated"' in text and "act:" not in text.split("events:")[0].replace("# act:", "")
    r = CliRunner().invoke(app, ["--db", db, "apply", str(out), "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "Sở Nông nghiệp và Môi trường" in r.output
    import json

    r = CliRunner().invoke(app, ["--db", db, "draft", str(_doc(tmp_path, "hd.md", HAI_DUONG)), "--out", str(out),
                                 "--effective", "2025-03-01", "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert (got["kind"], got["agencies_after"], got["rows_to_check"], got["review"]) == (
        "agency", {"stated": 12, "drafted": 12}, 5, [])
    r = CliRunner().invoke(app, ["--db", db, "draft", str(_doc(tmp_path, "hd2.md", HAI_DUONG)), "--out",
                                 str(tmp_path / "x.yaml")])
    assert r.exit_code == 1
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert lines == ["Error: hd2.md states no effective date: give --effective DATE"]


def test_draft_refuses_an_agency_text_with_no_effective_date(eve_of_march: Register, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="states no effective date"):
        draft(eve_of_march, _doc(tmp_path, "hd.md", HAI_DUONG))


# --- reading the clauses ------------------------------------------------------------------------------

# Each sentence as a page quotes it: (sentence, kind, agencies acted on, the agency made or kept).
CLAUSES = [
    # lite.baomoi.com/tp-hcm-thanh-lap-so-giao-thong-cong-chanh-c51526620.epi
    ("Sở Tài chính được thành lập trên cơ sở hợp nhất Sở Kế hoạch và Đầu tư, Sở Tài chính và tiếp nhận Ban Đổi "
     "mới quản lý doanh nghiệp thành phố.", "merge", ["Sở Kế hoạch và Đầu tư", "Sở Tài chính"], "Sở Tài chính"),
    ("Sở Nội vụ hình thành từ sự hợp nhất giữa Sở Nội vụ và Sở Lao động - Thương binh và Xã hội.", "merge",
     ["Sở Nội vụ", "Sở Lao động - Thương binh và Xã hội"], "Sở Nội vụ"),
    ("Sở Dân tộc và Tôn giáo được thành lập trên cơ sở sáp nhập Ban Tôn giáo thuộc Sở Nội vụ vào Ban Dân tộc thuộc "
     "UBND TP.", "merge", ["Ban Tôn giáo thuộc Sở Nội vụ", "Ban Dân tộc thuộc Ủy ban nhân dân thành phố"],
     "Sở Dân tộc và Tôn giáo"),
    # hoinhabaohcm.vn (search page excerpt): abbreviations
    ("Trung ương đề nghị Thành ủy TP.HCM thực hiện hợp nhất Sở GTVT và Sở Xây dựng thành Sở Xây dựng", "merge",
     ["Sở Giao thông vận tải", "Sở Xây dựng"], "Sở Xây dựng"),
    ("hợp nhất Sở NN&PTNT và Sở TN&MT thành Sở Nông nghiệp và Môi trường", "merge",
     ["Sở Nông nghiệp và Phát triển nông thôn", "Sở Tài nguyên và Môi trường"], "Sở Nông nghiệp và Môi trường"),
    # vietnamtodaynew.blogspot.com/2025/04/thanh-pho-ho-chi-minh-tiep-tuc-e-xuat.html
    ("đổi tên Sở Tài nguyên và Môi trường thành Sở Nông nghiệp và Môi trường.", "rename",
     ["Sở Tài nguyên và Môi trường"], "Sở Nông nghiệp và Môi trường"),
    ("giải thể Ban Quản lý Đầu tư Xây dựng Khu đô thị Nam TP Hồ Chí Minh", "dissolve",
     ["Ban Quản lý Đầu tư Xây dựng Khu đô thị Nam thành phố Hồ Chí Minh"], None),
    ("hợp nhất Ban Quản lý Khu Công nghệ cao TP Hồ Chí Minh với Ban Quản lý Khu Nông nghiệp Công nghệ cao TP Hồ "
     "Chí Minh thành Ban Quản lý Khu Công nghệ cao TP Hồ Chí Minh", "merge",
     ["Ban Quản lý Khu Công nghệ cao thành phố Hồ Chí Minh", "Ban Quản lý Khu Nông nghiệp Công nghệ cao thành phố "
      "Hồ Chí Minh"], "Ban Quản lý Khu Công nghệ cao thành phố Hồ Chí Minh"),
    # giaoducthoidai.vn/ong-nguyen-ngoc-thach-lam-tan-tong-bien-tap-bao-nong-nghiep-va-moi-truong-post721407.html
    ("Phó Thủ tướng Trần Hồng Hà trao Quyết định thành lập Bộ Nông nghiệp và Môi trường trên cơ sở hợp nhất Bộ "
     "Nông nghiệp và Phát triển nông thôn (NN-PTNT) và Bộ Tài nguyên và Môi trường (TN-MT)", "merge",
     ["Bộ Nông nghiệp và Phát triển nông thôn", "Bộ Tài nguyên và Môi trường"], "Bộ Nông nghiệp và Môi trường"),
    # kinhtemoitruong.vn (above): a merger that names no successor
    ("Sở Kế hoạch và Đầu tư hợp nhất với Sở Tài chính", "pair", ["Sở Kế hoạch và Đầu tư", "Sở Tài chính"], None),
]


@pytest.mark.parametrize(("sentence", "kind", "names", "new"), CLAUSES)
def test_agency_clauses_read_from_real_sentences(sentence: str, kind: str, names: list[str], new: str | None) -> None:
    doc = read_agency_document(sentence)
    (clause,) = doc.clauses
    assert (clause.kind, clause.names, clause.new) == (kind, names, new)


def test_sentences_that_change_no_agency_are_not_clauses() -> None:
    # The Hải Dương report's list of the agencies after, and its title, make no event.
    assert read_clause(1, None, "Sau khi tổ chức lại, các cơ quan chuyên môn thuộc UBND tỉnh Hải Dương gồm 12 cơ "
                       "quan: Sở Nội vụ, Sở Tài chính ") is None
    doc = read_agency_document(HAI_DUONG)
    assert len(doc.clauses) == 5 and doc.after_stated == 12 and len(doc.after) == 12
    assert "Sở Văn hóa, Thể thao và Du lịch" in doc.after  # its comma splits no name
    assert doc.province == "Hải Dương" and doc.number is None and doc.effective is None


# Department names as the 2025 texts write them ("và" and commas inside names).
DEPARTMENTS = ["Sở Kế hoạch và Đầu tư", "Sở Tài chính", "Sở Giao thông vận tải", "Sở Xây dựng",
               "Sở Tài nguyên và Môi trường", "Sở Nông nghiệp và Phát triển nông thôn", "Sở Văn hóa, Thể thao và Du lịch",
               "Sở Lao động - Thương binh và Xã hội", "Văn phòng Ủy ban nhân dân tỉnh", "Thanh tra tỉnh",
               "Ban Quản lý các Khu công nghiệp tỉnh Hải Dương"]


@settings(max_examples=80, deadline=None)
@given(names=st.lists(st.sampled_from(DEPARTMENTS), min_size=1, max_size=5, unique=True),
       seps=st.lists(st.sampled_from([", ", " và ", " với ", ", và "]), min_size=4, max_size=4))
def test_a_list_of_agencies_reads_back(names: list[str], seps: list[str]) -> None:
    """Whatever the separators, the names come back whole and in order."""
    text = names[0] + "".join(s + n for s, n in zip(seps, names[1:], strict=False))
    assert split_names(text) == names


def test_the_commune_resolutions_still_take_the_commune_path() -> None:
    legal = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "sources" / "legal"
    path = legal / "1669_NQ-UBTVQH15.md"
    if not path.exists():
        pytest.skip("raw sources not present")
    from merger.draft.agency_parse import looks_like_agencies

    assert not looks_like_agencies(path.read_text(encoding="utf-8"))
    assert looks_like_agencies(HAI_DUONG) and looks_like_agencies(BOARD)
    assert re.search(r"hợp nhất", HAI_DUONG)


def test_a_numbered_resolution_is_read_with_its_number_dates_and_clause_citations() -> None:
    """No numbered agency resolution was found; the reader's header, dates and "khoản N Điều M"
    citations are checked on a real numbered resolution (1669/NQ-UBTVQH15, wrapped lines and all)."""
    legal = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "sources" / "legal"
    path = legal / "1669_NQ-UBTVQH15.md"
    if not path.exists():
        pytest.skip("raw sources not present")
    from merger.draft.agency_parse import _sentences, expand

    text = path.read_text(encoding="utf-8")
    doc = read_agency_document(text)
    assert (doc.number, doc.date_signed, doc.effective) == ("1669/NQ-UBTVQH15", date(2025, 6, 16), date(2025, 7, 1))
    assert doc.clauses == []  # it changes no agency
    cited = dict(_sentences(expand(text)))
    assert cited["khoản 1 Điều 1"].endswith("thành phường mới có tên gọi là phường Thủy Nguyên")  # a wrapped line
    assert cited["khoản 115 Điều 1"].startswith("Sau khi sắp xếp, thành phố Hải Phòng có 114")


# vietnamtodaynew.blogspot.com/2025/04/thanh-pho-ho-chi-minh-tiep-tuc-e-xuat.html (a proposal of Hồ Chí
# Minh City's Department of Home Affairs, as the page quotes it)
HCM_PROPOSAL = ("Theo đó, Sở Nội vụ Thành phố đề xuất hợp nhất Sở Xây dựng và Sở Giao thông Công chính thành Sở Xây "
                "dựng; thành lập Sở Quy hoạch - Kiến trúc trên cơ sở tách chức năng quản lý nhà nước về quy hoạch xây "
                "dựng và kiến trúc từ Sở Xây dựng; đổi tên Sở Tài nguyên và Môi trường thành Sở Nông nghiệp và Môi "
                "trường.\n\nTP Hồ Chí Minh\n")
# nld.com.vn/thoi-su-trong-nuoc/dieu-chinh-viec-hop-nhat-va-sap-nhap-so--nganh-229867.htm
HCM_2008 = ("Theo đó, hợp nhất ba sở TDTT, Du lịch với VHTT thành Sở Văn hóa - Thể thao - Du lịch; sáp nhập hai ban "
            "Thi đua - Khen thưởng và Tôn giáo - Dân tộc vào Sở Nội vụ.")


def test_one_sentence_with_three_clauses_gives_three_rows(eve_of_march: Register, tmp_path: Path) -> None:
    d = draft(eve_of_march, _doc(tmp_path, "hcm.md", HCM_PROPOSAL), effective=date(2025, 3, 1))
    assert [r.event for r in d.rows] == ["merge", "establish", "rename"]
    rows = events(d)
    assert rows[1] == {"event": "establish", "units": [], "into": "Sở Quy hoạch - Kiến trúc",
                       "type": "sở và tương đương", "parent": d.province.key if d.province else None,
                       "note": rows[1]["note"]}
    assert d.province is not None and d.province.name == "Hồ Chí Minh"
    assert rows[2]["units"] == ["[REVIEW] Sở Tài nguyên và Môi trường"] and rows[2]["to"] == "Sở Nông nghiệp và Môi trường"
    # the city's departments are not in the register: both rows that name them wait for review
    assert [r.event for r in d.needs_review] == ["merge", "rename"]


def test_sentences_that_change_agencies_in_words_not_read_are_reported(eve_of_march: Register, tmp_path: Path) -> None:
    """"hợp nhất ba sở TDTT, Du lịch với VHTT" names no agency in full: no row, and a note says so."""
    doc = read_agency_document(HCM_2008)
    assert doc.clauses == [] and len(doc.unread) == 2
    from merger.draft.agency_parse import looks_like_agencies

    assert looks_like_agencies(HCM_2008)
    out = tmp_path / "x.yaml"
    r = CliRunner().invoke(app, ["--db", str(eve_of_march.sqlite_path), "draft",
                                 str(_doc(tmp_path, "hcm2008.md", HCM_2008)), "--out", str(out), "-e", "1/3/2025"])
    assert r.exit_code == 1 and not out.exists()
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: hcm2008.md: no agency clause read")
    assert "not read: Theo đó, hợp nhất ba sở" in lines[0]


def test_a_huge_sentence_is_not_read_as_one_clause(eve_of_march: Register, tmp_path: Path) -> None:
    """A hostile 300,000-character 'clause' is refused as a clause (the forms' searches grow with the
    square of a sentence's length), and the note quoting it is short."""
    text = "hợp nhất " + "Sở Tài chính và " * 20000 + "Sở Xây dựng thành Sở Nội vụ"
    doc = read_agency_document(text)
    assert doc.clauses == [] and len(doc.unread) == 1
    with pytest.raises(BadInput, match="no agency clause read") as exc:
        draft(eve_of_march, _doc(tmp_path, "huge.md", text), effective=HAI_DUONG_FROM)
    assert len(str(exc.value)) < 600


def test_the_summary_and_notes_speak_vietnamese(eve_of_march: Register, tmp_path: Path) -> None:
    out = tmp_path / "annex.yaml"
    r = CliRunner().invoke(app, ["--lang", "vi", "--db", str(eve_of_march.sqlite_path), "draft",
                                 str(_doc(tmp_path, "hd.md", HAI_DUONG)), "--out", str(out), "-e", "1/3/2025"])
    assert r.exit_code == 0, r.output
    assert "Đã soạn" in r.output and "số dòng cần rà soát: 0" in r.output
    assert "số sở và tương đương sau sắp xếp: văn bản nêu 12, bản nháp cho 12" in r.output
    assert "# KIỂM TRA: khoản này không nêu cơ quan sau hợp nhất" in out.read_text(encoding="utf-8")
