"""The joined CSV writer of ``resolve --file`` (``merger.outputs.csv_text``) writes exactly what
``csv.writer`` writes, on drawn rows: any text (commas, quotes, line ends, control characters,
private-use and wide characters), formula-like cells after the project's escaping
(``safe_cells``), cells that are not text, one-cell and empty rows."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from merger.outputs import FORMULA_START, csv_text, safe_cells

_TRICKY = st.sampled_from([",", '"', "\n", "\r", "\r\n", "\x00", "\t", " ", "", "=1+1", "-2", "@x", "+x", "\u2028",
                           "\x85", "\ue01f", "Xã Hòa Bình", "'", '""', ",,", "a,b"])
_TEXT = st.one_of(st.text(max_size=12), _TRICKY, st.lists(_TRICKY, max_size=4).map("".join),
                  st.sampled_from(FORMULA_START).flatmap(lambda c: st.text(max_size=6).map(lambda t: c + t)))
_CELL = st.one_of(_TEXT, st.none(), st.integers(), st.floats(allow_nan=False), st.booleans())


def _written(rows: list[list[object]]) -> str:
    fh = io.StringIO(newline="")
    csv.writer(fh, lineterminator="\n").writerows(rows)
    return fh.getvalue()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_TEXT, max_size=6), max_size=8))
def test_texts_as_csv_writer_writes_them(rows: list[list[str]]) -> None:
    assert csv_text(rows) == _written(rows)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_TEXT, min_size=1, max_size=6), max_size=8), st.booleans())
def test_escaped_cells_as_csv_writer_writes_them(rows: list[list[str]], raw: bool) -> None:
    """What ``resolve --file`` writes: each row passed through the formula escaping first."""
    safe = [safe_cells(row, raw) for row in rows]
    assert csv_text(safe) == _written(safe)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_CELL, max_size=5), max_size=6))
def test_other_cells_as_csv_writer_writes_them(rows: list[list[object]]) -> None:
    assert csv_text(rows) == _written(rows)


def test_the_usual_rows_and_the_edges() -> None:
    rows = [["Xã Hòa Bình, Huyện Vĩnh Bảo, Thành phố Hải Phòng", "ok", "1.0"], ["plain", "", "x"], [""], [],
            ["", ""], ["a\nb", 'say "x"'], ["a\rb"]]
    assert csv_text(rows) == _written(rows)
    assert csv_text([]) == ""
    assert csv_text(iter([["a", "b"]])) == "a,b\n"
