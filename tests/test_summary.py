"""`merger summary`: the Department's report paragraphs, computed as `counts` computes them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clirunner import CliRunner
from merger import summary as sm
from merger.cli import app

SEED_AGENCIES = ("Hợp nhất 25 sở, ngành (tại 02 địa phương) thành 13 sở, ngành và tương đương "
                 "(giảm 12 sở, ngành).")
SEED_BQL = ("Hợp nhất 02 tổ chức đương sở (Ban Quản lý Khu kinh tế Hải Phòng và Ban Quản lý các Khu công "
            "nghiệp tỉnh Hải Dương) thành 01 tổ chức (giảm 01 tổ chức).")


@pytest.fixture
def run(national_path):  # type: ignore[no-untyped-def]
    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["--db", str(national_path), *args])

    return invoke


def test_hai_phong_agencies_read_as_the_seed_report(run) -> None:  # type: ignore[no-untyped-def]
    """Seed report, section 2a: 25 -> 13 sở, ngành (giảm 12) and 2 -> 1 tổ chức đương sở."""
    result = run("summary", "--within", "Hải Phòng", "--kind", "agency")
    assert result.exit_code == 0, result.output
    assert SEED_AGENCIES in result.stdout
    assert SEED_BQL in result.stdout
    assert "Quyết định số 1459/QĐ-TTg" in result.stdout
    assert "Đơn vị hành chính" not in result.stdout  # --kind agency only


def test_units_paragraphs_in_vietnamese_and_english(run) -> None:  # type: ignore[no-untyped-def]
    vi = run("summary", "--within", "Hải Phòng", "--kind", "admin").stdout
    assert "Cấp tỉnh: hợp nhất 02 đơn vị hành chính cấp tỉnh" in vi
    assert ("Cấp huyện: kết thúc hoạt động của 27 đơn vị hành chính cấp huyện (08 quận, 15 huyện, 01 thị xã, "
            "03 thành phố) từ ngày 01/7/2025.") in vi
    assert ("374 đơn vị hành chính cấp xã (232 xã, 125 phường, 17 thị trấn) thành 114 đơn vị hành chính cấp xã "
            "(67 xã, 45 phường, 02 đặc khu) (giảm 260 đơn vị)") in vi
    assert "Nghị quyết số 1669/NQ-UBTVQH15" in vi
    en = run("summary", "--within", "Hải Phòng", "--kind", "admin", "--lang", "en").stdout
    assert "374 commune-level units" in en and "Resolution 1669/NQ-UBTVQH15" in en
    assert "đơn vị hành chính" not in en


def test_national_figures_use_the_vietnamese_thousands_separator(run) -> None:  # type: ignore[no-untyped-def]
    out = run("summary", "--kind", "admin").stdout
    assert "10.035 đơn vị hành chính cấp xã" in out and "3.321 đơn vị hành chính cấp xã" in out
    assert "63 đơn vị hành chính cấp tỉnh" in out and "34 đơn vị hành chính cấp tỉnh" in out


@pytest.mark.parametrize("within", [None, "Hải Phòng", "Hà Nội", "Thủy Nguyên"])
def test_figures_are_those_of_counts(national, within) -> None:  # type: ignore[no-untyped-def]
    """The paragraphs' numbers come from the very computation `counts` uses, and say so."""
    result = sm.summarize(national, within=within)
    for part in result.parts:
        assert part.counts == national.counts(within=within, kind=part.kind)
    _, sections = sm.render(result, "en")
    text = " ".join(s for sec in sections for s in sec.sentences)
    for part in result.parts:
        for r in part.counts.rows:
            if r.type is None and r.level in ("province", "district", "commune") and r.before:
                assert f"{r.before:,} " in text


@settings(max_examples=30, deadline=None)
@given(n=st.integers(min_value=0, max_value=10**7))
def test_vietnamese_numbers(n: int) -> None:
    text = sm._num(n, "vi")
    assert int(text.replace(".", "")) == n
    assert re.fullmatch(r"0\d" if n < 10 else r"\d{1,3}(\.\d{3})*", text)


def test_markdown_and_file_output(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "hp.md"
    result = run("summary", "--within", "Hải Phòng", "--format", "md", "--out", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text.startswith("## Kết quả sắp xếp") and "### Cơ quan, tổ chức" in text
    assert f"- {SEED_AGENCIES}" in text


def test_docx_opens_with_python_docx_and_holds_the_sentences(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    docx = pytest.importorskip("docx")
    out = tmp_path / "bao_cao.docx"
    result = run("summary", "--within", "Hải Phòng", "--format", "docx", "--out", str(out))
    assert result.exit_code == 0, result.output
    document = docx.Document(str(out))
    paragraphs = [p.text for p in document.paragraphs]
    assert document.styles["Normal"].font.name == "Times New Roman"
    assert SEED_AGENCIES in paragraphs and SEED_BQL in paragraphs
    assert any(p.startswith("Cấp xã:") for p in paragraphs)


def test_a_docx_that_cannot_be_written_is_one_error_line(national_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Regression: a folder in the way of the temporary file (`OUT.tmp`) made cleaning up raise
    again, and the user read "Is a directory (…/bao_cao.docx.tmp)" instead of the refusal; in a
    Vietnamese run the reason is the system's words translated."""
    pytest.importorskip("docx")
    out = tmp_path / "bao_cao.docx"
    (tmp_path / "bao_cao.docx.tmp").mkdir()
    args = ["--db", str(national_path), "summary", "--within", "Hải Phòng", "--format", "docx", "--out", str(out)]
    en = CliRunner().invoke(app, args, env={"MERGER_LANG": "en"})
    assert en.exit_code == 1 and en.stderr == f"Error: cannot write {out}: Is a directory\n", en.stderr
    vi = CliRunner().invoke(app, args, env={"MERGER_LANG": "vi"})
    assert vi.exit_code == 1 and vi.stderr == f"Lỗi: không ghi được {out}: Là một thư mục\n", vi.stderr
    assert not out.exists() and (tmp_path / "bao_cao.docx.tmp").is_dir()


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "docx"], "needs --out"),
    (["--format", "pdf"], "not a format"),
    (["--kind", "village"], "unknown kind"),
    (["--lang", "fr"], "unknown language"),
    (["--within", "Nowhere at all"], "Error:"),
])
def test_bad_input_is_one_line(run, args, message) -> None:  # type: ignore[no-untyped-def]
    result = run("summary", *args)
    assert result.exit_code in (1, 2)
    assert message in result.output and "Traceback" not in result.output


def test_a_period_without_changes_says_unchanged(run) -> None:  # type: ignore[no-untyped-def]
    out = run("summary", "--within", "Hải Phòng", "--from", "2025-07-02", "--to", "2025-12-01").stdout
    assert "Cấp xã: 114 đơn vị hành chính cấp xã (67 xã, 45 phường, 02 đặc khu), không thay đổi." in out
    assert "hợp nhất" not in out.lower() and "sắp xếp 114" not in out


def test_hai_duong_march_2025_agency_mergers(run) -> None:  # type: ignore[no-untyped-def]
    """The March 2025 mergers of Hải Dương's departments, read from the register as sentences."""
    out = run("summary", "--within", "Hải Dương", "--kind", "agency", "--from", "2025-02-01",
              "--to", "2025-06-30").stdout
    counts = run("counts", "--within", "Hải Dương", "--kind", "agency", "--from", "2025-02-01", "--to", "2025-06-30",
                 "--csv").stdout
    row = next(r for r in counts.splitlines() if r.startswith("agency,sở và tương đương,"))
    before, after = (int(x) for x in row.split(",")[2:4])
    assert before > after
    assert (f"Hợp nhất {before} sở, ngành thành {after} sở, ngành và tương đương "
            f"(giảm {before - after:02d} sở, ngành).") in out


def test_every_marked_sentence_has_its_vietnamese() -> None:
    """Each string marked with _() or N_() in summary.py has Vietnamese wording (until the catalogue)."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(sm.__file__).read_text(encoding="utf-8"))
    marked = {node.args[0].value for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)}
    assert len(marked) > 30
    vi = sm.translator("vi")
    missing = sorted(m for m in marked if m not in sm._VI and vi(m) == m)  # a catalogue entry also counts
    assert not missing, missing


def test_english_counts_one_in_the_singular(run) -> None:  # type: ignore[no-untyped-def]
    out = run("summary", "--within", "Hải Phòng", "--lang", "en").stdout
    assert "(down 1 unit)" in out and "into 1 organisation (down 1 organisation)" in out
    assert "(1 event)" in out and "1 events" not in out and "1 units" not in out


def test_the_note_on_unrecorded_history_is_per_kind(run, national) -> None:  # type: ignore[no-untyped-def]
    """The units' and the agencies' recorded histories start on different days: each kind's note says its own."""
    known = {k: national.unrecorded_before(k) for k in ("admin", "agency")}
    assert known["admin"] != known["agency"]
    later = max(known, key=lambda k: known[k])  # a day inside one kind's history, before the other's
    other = "admin" if later == "agency" else "agency"
    day = (known[later] - timedelta(days=1)).isoformat()
    noted = run("counts", "--from", day, "--within", "Hải Phòng", "--kind", later, "--csv")
    quiet = run("counts", "--from", day, "--within", "Hải Phòng", "--kind", other, "--csv")
    assert noted.exit_code == quiet.exit_code == 0
    assert noted.stderr.startswith(f"Note: the register records changes from {known[later] + timedelta(days=1)} on")
    assert quiet.stderr == ""
