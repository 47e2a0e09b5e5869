"""``merger locate --file``: a CSV of points in, the same rows with each level's unit added, out.

Column-wise, so that 100,000 points cost little more than locating them: the file is read as
text and, when it is plain (no quote, NUL or carriage return outside a CR LF line end anywhere:
what spreadsheets and scripts write for coordinates), each line is kept as it is, since the csv module would write the
same cells back unchanged; only short or long lines are padded or cut and only lines with a cell
a spreadsheet would run are rebuilt cell by cell (merger.outputs.safe_cell). The coordinates are
converted a column at a time (numpy), located at once (``Locator.locate_indices``), and the
added cells are formatted once per distinct combination of units, not once per point. A file
with quotes goes through the csv module row by row, as before. Both paths
write exactly what the csv module would write for the padded, neutralised rows (tests compare).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger.errors import BadInput
from merger.i18n import _
from merger.outputs import FORMULA_START, safe_cell

if TYPE_CHECKING:
    from merger.geo.locate import Hit, Locator

# a cell that starts like a formula: at the start of a line or after a comma (plain text only)
_FORMULA_CELL = re.compile("(?:^|,)[" + re.escape("".join(FORMULA_START)) + "]")
_WIDE = 2_000_000  # cells: above this, the coordinates are cut out line by line (memory)
_ONE_INTEGER = 2**62  # combinations of hits numbered as one integer below this; rows of indexes above


@dataclass
class Located:
    """A located file: the output CSV text and what the summary line says."""

    text: str
    rows: int
    inside: int  # rows in at least one unit with a boundary
    bad: int  # rows without numeric coordinates


def locate_file(loc: Locator, path: Path, lon_column: str, lat_column: str, *, raw: bool = False) -> Located:
    """The rows of ``path`` with ``<level>_key``, ``<level>_name``, ``<level>_how`` added per level;
    ``raw`` (--raw-csv) leaves cells that look like formulas as they are."""
    from merger.graph import no_gc

    if not path.exists():
        raise BadInput(_("no such file: {file}").format(file=path))
    with no_gc():  # 100,000 rows of strings: no collector passes over them
        return _locate(loc, path, lon_column, lat_column, raw)


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise BadInput(_("cannot read {path}: {value}").format(path=path, value=exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise BadInput(_("{path} is not UTF-8 text; save it as CSV UTF-8").format(path=path)) from None


def _plain_lines(text: str) -> list[str] | None:
    """The file's lines when every cell is plain (the csv module reads each line as its commas
    split it, and writes the cells back unchanged); None otherwise. Lines may end in CR LF (as
    Windows and Python's csv module write them): the csv module reads both ends alike."""
    if '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None  # a carriage return alone: the csv module's own rules
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the last line's end
    if lines and max(map(len, lines)) >= csv.field_size_limit():
        return None  # the csv module refuses it: let it say so
    return lines


def _locate(loc: Locator, path: Path, lon_column: str, lat_column: str, raw: bool) -> Located:
    text = _read_text(path)
    lines = _plain_lines(text)
    if lines is None:
        from merger.convert import read_table

        fields, rows = read_table(path)
        body: list[str] | None = None
    else:
        if not lines or not lines[0]:
            raise BadInput(_("{path} is empty").format(path=path))
        fields = [h.strip().lstrip("\ufeff") for h in lines[0].split(",")]
        body, rows = lines[1:], []
    for col in (lon_column, lat_column):
        if col not in fields:
            raise BadInput(_("{file} has no column {col!r}; columns: {join}").format(
                file=path, col=col, join=", ".join(fields)))
    k = len(fields)
    i_lon, i_lat = fields.index(lon_column), fields.index(lat_column)
    if body is not None:
        body = _normalised(body, k, raw)
        lon_cells, lat_cells = _columns(body, k, i_lon, i_lat)
    else:
        rows = [r[:k] + [""] * (k - len(r)) for r in rows]  # short rows padded, long ones cut
        if not raw:
            starts = set(FORMULA_START)
            for i in range(k):
                if any(r[i][:1] in starts for r in rows):
                    for r in rows:
                        r[i] = safe_cell(r[i])
        lon_cells, lat_cells = [r[i_lon] for r in rows], [r[i_lat] for r in rows]
    lons, lats, bad = _coordinates(lon_cells, lat_cells)
    columns = loc.locate_indices(lons, lats)
    extra = [f"{lv}{suffix}" for lv, _t, _i in columns for suffix in ("_key", "_name", "_how")]
    n = len(lons)
    combos, inverse, inside = _combinations(columns, n)
    if body is not None and extra:
        added = [_format(cells, lead=True) for cells in _cells(combos, raw)]
        out = [_format([safe_cell(h, raw) for h in fields + extra])]
        if n:
            import numpy as np

            tails = np.array(added, dtype=object)[inverse].tolist()
            out.append("\n".join([a + b for a, b in zip(body, tails, strict=True)]))
        text = "\n".join(out) + "\n"
    else:  # the csv module row by row (quoted cells, or nothing located on that day)
        if body is not None:
            rows = [line.split(",") for line in body]
        per_combo = _cells(combos, raw)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([safe_cell(h, raw) for h in fields + extra])
        w.writerows(r + per_combo[j] for r, j in zip(rows, inverse.tolist(), strict=True))
        text = buf.getvalue()
    return Located(text, n, inside, bad)


def _normalised(body: list[str], k: int, raw: bool) -> list[str]:
    """Plain lines with exactly ``k`` cells (short ones padded, long ones cut, as the csv path
    does), cells that look like formulas neutralised (merger.outputs.safe_cell)."""
    commas = k - 1
    odd = [i for i, c in enumerate([line.count(",") for line in body]) if c != commas]
    for i in odd:
        cells = body[i].split(",")[:k]
        body[i] = ",".join(cells + [""] * (k - len(cells)))
    if not raw and _formula_like("\n".join(body)):
        search = _FORMULA_CELL.search
        for i, line in enumerate(body):
            if search(line):
                body[i] = ",".join(safe_cell(c) for c in line.split(","))
    return body


def _formula_like(text: str) -> bool:
    """Whether any cell of plain lines starts like a formula (str.find: a regex scan of 100,000
    lines costs a quarter of a second)."""
    text = "\n" + text
    return any(f"\n{c}" in text or f",{c}" in text for c in FORMULA_START)


def _columns(body: list[str], k: int, i_lon: int, i_lat: int) -> tuple[list[str], list[str]]:
    """The two coordinate columns' cells of plain lines of ``k`` cells each."""
    if not body:
        return [], []
    if len(body) * k <= _WIDE:
        cells = ",".join(body).split(",")  # no cell holds a comma: n * k cells, row after row
        return cells[i_lon::k], cells[i_lat::k]
    lon_cells, lat_cells = [], []
    for line in body:
        parts = line.split(",")
        lon_cells.append(parts[i_lon])
        lat_cells.append(parts[i_lat])
    return lon_cells, lat_cells


def _coordinates(lon_cells: list[str], lat_cells: list[str]) -> tuple[Any, Any, int]:
    """Numbers of the coordinate cells; rows where either is not a number get NaN (and count)."""
    import numpy as np

    try:  # every row has numeric coordinates
        return np.array(lon_cells, dtype=float), np.array(lat_cells, dtype=float), 0
    except ValueError:
        pass
    n = len(lon_cells)
    lons, lats, bad = np.full(n, np.nan), np.full(n, np.nan), 0
    for i, (a, b) in enumerate(zip(lon_cells, lat_cells, strict=True)):
        try:
            lon, lat = float(a), float(b)
        except ValueError:
            bad += 1
            continue
        lons[i], lats[i] = lon, lat
    return lons, lats, bad


def _combinations(columns: list[tuple[str, list[Hit], Any]], n: int) -> tuple[list[list[Hit]], Any, int]:
    """The distinct combinations of hits (one per level), each point's combination, and how many
    points lie in at least one unit."""
    import numpy as np

    if not columns:
        return [[]], np.zeros(n, dtype=np.int64), 0
    size = 1
    for _lv, table, _index in columns:
        size *= len(table)
    if size < _ONE_INTEGER:  # one integer per combination
        codes = np.zeros(n, dtype=np.int64)
        for _lv, table, index in columns:
            codes = codes * len(table) + index
        _u, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    else:
        _u, first, inverse = np.unique(np.stack([index for _lv, _t, index in columns], axis=1), axis=0,
                                       return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    combos = [[table[int(index[f])] for _lv, table, index in columns] for f in first.tolist()]
    found = np.array([any(h.key is not None for h in c) for c in combos], dtype=bool)
    return combos, inverse, int(found[inverse].sum()) if n else 0


def _cells(combos: list[list[Hit]], raw: bool) -> list[list[Any]]:
    """The added cells of each combination: key (or the candidates' keys), name, how, per level."""
    return [[safe_cell(c, raw) for h in combo for c in (h.key or "|".join(h.candidates), h.name or "", h.how)]
            for combo in combos]


def _format(cells: list[Any], lead: bool = False) -> str:
    """One CSV line as the csv module writes it (without its end); ``lead``: with the comma that
    joins it to the cells before it."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(([""] if lead else []) + cells)
    return buf.getvalue()[:-1]  # with ``lead``: "," and the cells (an empty first cell is written as nothing)
