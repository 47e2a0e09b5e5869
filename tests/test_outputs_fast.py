"""``merger.outputs.safe_rows``, the formula escaping of a whole ``resolve --file`` output at
once, gives exactly what escaping row by row (``safe_cells``) gives, and the CSV written from it
is the same text: drawn rows of any text (formula starts in any cell, control characters, commas,
quotes, line ends), cells that are not text, empty rows, with and without --raw-csv."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from merger.outputs import FORMULA_START, SafeWriter, safe_cells, safe_rows

_TRICKY = st.sampled_from([",", '"', "\n", "\r", "\x00", "\t", " ", "", "=1+1", "-2", "-2+3", "@x", "+x", "\u2028",
                           "\x85", "\ue01f", "Xã Hòa Bình", "'", "a,b", "1e5"])
_TEXT = st.one_of(st.text(max_size=10), _TRICKY, st.lists(_TRICKY, max_size=4).map("".join),
                  st.sampled_from(FORMULA_START).flatmap(lambda c: st.text(max_size=6).map(lambda t: c + t)))
_CELL = st.one_of(_TEXT, st.none(), st.integers(), st.floats(allow_nan=False))


def _written(rows: list[list[object]], raw: bool) -> str:
    fh = io.StringIO(newline="")
    SafeWriter(fh, raw).writerows_safe(rows)
    return fh.getvalue()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_TEXT, max_size=6), max_size=8), st.booleans())
def test_escaped_at_once_as_row_by_row(rows: list[list[str]], raw: bool) -> None:
    by_row = [safe_cells(row, raw) for row in rows]
    at_once = safe_rows([list(row) for row in rows], raw)
    assert at_once == by_row
    assert _written(at_once, raw) == _written(by_row, raw)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_CELL, max_size=5), max_size=6))
def test_cells_that_are_not_text(rows: list[list[object]]) -> None:
    assert safe_rows([list(row) for row in rows]) == [safe_cells(row) for row in rows]


def test_the_usual_output_is_left_as_it_is() -> None:
    rows = [["Xã Hòa Bình, Huyện Vĩnh Bảo, Hải Phòng", "ok", "-2"], ["", "=1+2"], []]
    usual = [["Xã Hòa Bình, Huyện Vĩnh Bảo, Hải Phòng", "ok", "1"]]
    assert safe_rows(usual) is usual  # nothing to escape: the rows themselves, not copies
    assert safe_rows(rows) == [safe_cells(row) for row in rows]
    assert safe_rows(rows)[1] == ["", "'=1+2"]
