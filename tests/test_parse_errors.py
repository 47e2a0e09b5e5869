"""A parser's complaint about a file (YAML annex, JSON export, CSV table) in the user's language,
and an annex row's problems said once each, in Vietnamese, on the real register."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from clirunner import CliRunner
from merger import i18n, parse_errors
from merger.cli import app

VI = {"LANG": "vi_VN.UTF-8", "MERGER_LANG": None, "LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}
EN = {"MERGER_LANG": "en"}
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Broken YAML as people write it, and the problem libyaml names for each.
BROKEN_YAML = {
    "events: [a, b\n": "did not find expected ',' or ']'",
    "act: {number: 1/NQ\n": "did not find expected ',' or '}'",
    "events:\n\t- x\n": "found character that cannot start any token",
    "act: number: 1\n": "mapping values are not allowed in this context",
    "act: 'x\n": "found unexpected end of stream",
    'act: "\\q"\n': "found unknown escape character",
    "- a\nb: c\n": "did not find expected '-' indicator",
    "a:\n  - b\n c: d\n": "did not find expected key",
}
BROKEN_JSON = ["", "{", '{"a" 1}', '{"a": 1 "b": 2}', '"abc', '"a\x01"', '"\\q"', '"\\u12"', "{} x", "[1,]",
               "\ufeff{}"]


@pytest.mark.parametrize(("text", "problem"), BROKEN_YAML.items())
def test_the_yaml_problems_known_are_libyamls_own(text: str, problem: str) -> None:
    """The set of known problems is libyaml's wording: each broken document's problem is in it."""
    if LOADER is yaml.SafeLoader:
        pytest.skip("PyYAML without libyaml words its problems otherwise")
    with pytest.raises(yaml.YAMLError) as caught:
        yaml.load(text, Loader=LOADER)  # noqa: S506 (a safe loader)
    assert caught.value.problem == problem
    assert problem in parse_errors.YAML_PROBLEMS
    assert parse_errors.yaml_problem(caught.value) == problem  # English: libyaml's words
    with i18n.use("vi"):
        said = parse_errors.yaml_problem(caught.value)
    assert said != problem and not said.isascii()


@pytest.mark.parametrize("text", BROKEN_JSON)
def test_the_json_problems_known_are_the_json_modules_own(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(text)
    assert caught.value.msg in parse_errors.JSON_PROBLEMS
    assert parse_errors.json_problem(caught.value) == \
        f"{caught.value.msg}: line {caught.value.lineno}, column {caught.value.colno}"
    with i18n.use("vi"):
        said = parse_errors.json_problem(caught.value)
    assert caught.value.msg not in said and f"dòng {caught.value.lineno}, cột {caught.value.colno}" in said


@given(st.text(max_size=40))
def test_any_json_problem_is_said(text: str) -> None:
    """Whatever the text, a JSON error is said as a message (translated or the module's own), never raised."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        with i18n.use("vi"):
            said = parse_errors.json_problem(exc)
        assert said.endswith(f"dòng {exc.lineno}, cột {exc.colno}")
        assert exc.msg not in parse_errors.JSON_PROBLEMS or exc.msg not in said


def test_a_csv_error_of_unknown_wording_is_shown_as_written() -> None:
    assert parse_errors.csv_problem(csv.Error("something new")) == "something new"
    with i18n.use("vi"):
        assert parse_errors.csv_problem(csv.Error("field larger than field limit (131072)")) == \
            "có một ô dài quá giới hạn 131.072 ký tự"
    assert parse_errors.csv_problem(csv.Error("field larger than field limit (131072)")) == \
        "a cell is longer than the limit of 131,072 characters"


def _run(args: list[str], env: dict[str, str | None]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, args, env=env)


def test_a_broken_yaml_annex_is_said_in_vietnamese(national_path: str, tmp_path: Path) -> None:
    """Regression: `merger apply` of a YAML annex missing a ']' said "YAML không hợp lệ (did not
    find expected ',' or ']')" in a Vietnamese run."""
    annex = tmp_path / "annex.yaml"
    annex.write_text("events:\n  - event: rename\n    units: [Phường An Lư\n", encoding="utf-8")
    vi = _run(["--db", national_path, "apply", str(annex), "--dry-run"], VI)
    assert vi.exit_code == 1, vi.output
    assert "dòng 4: YAML không hợp lệ (thiếu dấu ',' hoặc ']')" in vi.stderr, vi.stderr
    assert "did not find" not in vi.stderr and "Traceback" not in vi.stderr
    en = _run(["--db", national_path, "apply", str(annex), "--dry-run"], EN)
    assert "line 4: not valid YAML (did not find expected ',' or ']')" in en.stderr, en.stderr


def test_a_broken_register_export_is_said_in_vietnamese(tmp_path: Path) -> None:
    """Regression: `merger import-register` of a cut JSON file said "Expecting property name
    enclosed in double quotes: line 1 column 22 (char 21)" in a Vietnamese run; a file that is not
    UTF-8 said Python's "'utf-8' codec can't decode byte 0xff in position 0"."""
    cut, binary = tmp_path / "cut.json", tmp_path / "binary.json"
    cut.write_text('{"format": "merger", ', encoding="utf-8")
    binary.write_bytes(b'{"a": "\xff"}')
    db = str(tmp_path / "new.sqlite")
    vi = _run(["--db", db, "import-register", str(cut)], VI)
    assert vi.exit_code == 1
    assert vi.stderr.strip() == f"Lỗi: không đọc được {cut}: cần tên trường đặt trong dấu ngoặc kép: dòng 1, cột 22"
    vi = _run(["--db", db, "import-register", str(binary)], VI)
    assert vi.exit_code == 1
    assert vi.stderr.strip() == f"Lỗi: không đọc được {binary}: không phải văn bản UTF-8 (byte thứ 8)"
    en = _run(["--db", db, "import-register", str(cut)], EN)
    assert en.stderr.strip() == \
        f"Error: cannot read {cut}: Expecting property name enclosed in double quotes: line 1, column 22"
    assert not Path(db).exists()  # a refused import leaves no register behind


def test_an_oversized_cell_is_said_in_vietnamese(national_path: str, tmp_path: Path) -> None:
    table = tmp_path / "pop.csv"
    table.write_text("ma_xa,dan_so\n11533," + "9" * 200_000 + "\n", encoding="utf-8")
    vi = _run(["--db", national_path, "convert", str(table), "--key", "ma_xa", "--sum", "dan_so"], VI)
    assert vi.exit_code == 1
    assert "có một ô dài quá giới hạn 131.072 ký tự" in vi.stderr, vi.stderr
    assert "field larger" not in vi.stderr


def test_an_annex_rows_problems_are_said_once_in_vietnamese(national_path: str, tmp_path: Path) -> None:
    """Regression: in a Vietnamese run, an annex row with an impossible date got a second,
    English problem ("field effective: no effective date ...") besides the translated one, because
    the row's problems were found again by their English prefix; and every problem of a row said
    "field" and its English detail."""
    bad_date = tmp_path / "bad_date.csv"
    bad_date.write_text("event,units,to,effective,act\nrename,Phường An Lư,Phường X,2025-02-30,1/NQ\n",
                        encoding="utf-8")
    vi = _run(["--db", national_path, "apply", str(bad_date), "--dry-run"], VI)
    assert vi.exit_code == 1
    assert "1 lỗi; không ghi gì" in vi.stderr, vi.stderr
    assert "dòng 2, trường effective: effective '2025-02-30' không phải là ngày" in vi.stderr
    assert "field" not in vi.stderr
    many = tmp_path / "many.csv"
    many.write_text("event,units,to,effective,act,basis\nfoo,Phường An Lư,Phường X,,1/NQ,xyz\n", encoding="utf-8")
    vi = _run(["--db", national_path, "apply", str(many), "--dry-run"], VI)
    assert vi.exit_code == 1
    assert vi.stderr.splitlines()[1:] == [
        "  dòng 2, trường event: không có loại sự kiện 'foo' (một trong: merge, split, transfer, rename, "
        "reclassify, dissolve, establish, move)",
        "  dòng 2, trường effective: thiếu ngày hiệu lực (cột effective, hoặc --effective)",
        "  dòng 2, trường basis: 'xyz' không thuộc: area, population"], vi.stderr
    en = _run(["--db", national_path, "apply", str(many), "--dry-run"], EN)
    assert en.stderr.splitlines()[1:] == [
        "  line 2, field event: unknown event 'foo' (one of merge, split, transfer, rename, reclassify, "
        "dissolve, establish, move)",
        "  line 2, field effective: no effective date (column effective, or --effective)",
        "  line 2, field basis: 'xyz' is not one of area, population"], en.stderr
