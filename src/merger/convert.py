"""Re-tabulating statistics tables keyed by the units of one date onto the units of another.

Each input row is matched to a unit valid on FROM (by code, by version key, or by name, with
parents as written), and its figures are carried along the crosswalk: summed columns are split
by share (so totals are conserved), averaged columns are weighted by share times an optional
weight column. Rows whose key matches nothing, or several units, are listed with their line
numbers; they are left out only when asked (``skip_unmatched``), otherwise nothing is written.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from merger.crosswalk import WEIGHTS, Composer, Row, district_overlay, fallback_counts, paused_gc
from merger.errors import Ambiguous, BadInput, NotFound, ValidationFailed, Violation
from merger.graph import V
from merger.i18n import _
from merger.parse_errors import csv_problem

if TYPE_CHECKING:
    from merger.register import Register

KEY_KINDS = ("code", "name", "key")
CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}


@dataclass
class Problem:
    """An input row that could not be carried over, by its line number in the file."""

    line: int
    key: str
    reason: str  # "no match", "ambiguous", "not a number"
    detail: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.key!r} {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Conversion:
    """The re-tabulated table, the problems met, and the totals before and after."""

    header: list[str]
    rows: list[list[object]]
    problems: list[Problem]
    sums: list[str]
    means: list[str]
    totals_in: dict[str, float]  # every input row
    totals_matched: dict[str, float]  # rows that were carried over
    totals_out: dict[str, float]  # the output table
    rows_in: int = 0
    rows_matched: int = 0
    lost: dict[str, float] = field(default_factory=dict)  # carried to no unit (dissolved)
    outside: dict[str, float] = field(default_factory=dict)  # carried to units outside ``within``
    within: str | None = None
    # per group (the --group values): column -> {"input", "matched", "output", "dissolved", "outside"}
    by_group: dict[tuple[str, ...], dict[str, dict[str, float]]] = field(default_factory=dict)
    # crosswalk shares used whose value fell back, by reason code (crosswalk.REASONS)
    fallbacks: dict[str, int] = field(default_factory=dict)
    fallback_shares: int = 0  # crosswalk shares used that fell back (for any reason)


def _number(text: str) -> float | None:
    t = text.strip().replace("\u00a0", "").replace(" ", "")
    if not t:
        return None
    try:
        value = float(t)
    except ValueError:
        raise ValueError(text) from None
    if math.isnan(value) or math.isinf(value):
        raise ValueError(text)
    return value


class KeyMatcher:
    """Match table keys to units valid on one date; results are memoised per distinct key."""

    def __init__(self, reg: Register, day: date, kind: str, level: str | None):
        if kind not in KEY_KINDS:
            raise BadInput(_("unknown key kind {kind!r}; use one of {join}").format(kind=kind, join=', '.join(KEY_KINDS)))
        self.reg, self.day, self.kind, self.level = reg, day, kind, level
        snap = reg.snapshot
        self._codes: dict[str, list[V]] = defaultdict(list)
        for v in snap.valid_on(day):
            if level is None or v.level == level:
                self._codes[v.code].append(v)
        self._memo: dict[str, V | Problem] = {}
        self._resolver = None

    def match(self, key: str, line: int) -> V | Problem:
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._match(key, line)
        if isinstance(found, Problem):
            return Problem(line, found.key, found.reason, found.detail)
        return found

    def _match(self, key: str, line: int) -> V | Problem:
        text = key.strip()
        if not text:
            return Problem(line, key, "no match", "empty key")
        if self.kind == "key":
            v = self.reg.snapshot.by_key.get(text)
            if v is None or not v.valid_on(self.day):
                return Problem(line, key, "no match", f"no version with this key valid on {self.day}")
            return v
        if self.kind == "code":
            found = self._codes.get(text)
            if not found and text.isdigit():
                widths = [CODE_WIDTH[self.level]] if self.level in CODE_WIDTH else [5, 3, 2]
                found = [v for w in widths for v in self._codes.get(text.zfill(w), ())]
            if not found:
                return Problem(line, key, "no match", f"no unit with this code valid on {self.day}")
            if len(found) > 1:
                return Problem(line, key, "ambiguous", "; ".join(f"{v.full_name} ({v.level})" for v in found))
            return found[0]
        return self._match_name(text, key, line)

    def _match_name(self, text: str, key: str, line: int) -> V | Problem:
        if self.level in (None, "commune"):
            if self._resolver is None:
                from merger.addresses import AddressResolver

                self._resolver = AddressResolver(self.reg.snapshot, today=self.day)
            res = self._resolver.resolve(text, as_of=self.day)
            if res.ok and res.unit is not None and (self.level is None or res.unit.level == self.level):
                return res.unit
            if res.status == "ambiguous":
                return Problem(line, key, "ambiguous", res.message)
            if self.level == "commune":
                return Problem(line, key, "no match", res.message)
        try:
            m = self.reg.resolve(text, as_of=self.day, levels={self.level} if self.level else None, kind="admin")
        except Ambiguous as exc:
            return Problem(line, key, "ambiguous", "; ".join(c.label for c in exc.candidates))
        except NotFound as exc:
            return Problem(line, key, "no match", ", ".join(exc.suggestions))
        return m.version


STDIO = "-"  # the file name that means standard input (or, for an output, standard output)


def read_table(path: Path | str) -> tuple[list[str], list[list[str]]]:
    """A CSV file's header and rows (UTF-8, with or without BOM); "-" reads standard input."""
    if str(path) == STDIO:
        path = "standard input"  # how messages name it
    try:
        if path == "standard input":
            import io
            import sys

            fh = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="") \
                if hasattr(sys.stdin, "buffer") else sys.stdin
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = list(reader)
        else:
            with Path(path).open(encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh)
                header = next(reader, None)
                rows = list(reader)
    except OSError as exc:
        raise BadInput(_("cannot read {path}: {value}").format(path=path, value=exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise BadInput(_("{path} is not UTF-8 text; save it as CSV UTF-8").format(path=path)) from None
    except csv.Error as exc:  # e.g. a cell over the csv module's field size limit (131,072 characters)
        raise BadInput(_("{path} is not a CSV table merger can read: {exc}").format(path=path, exc=csv_problem(exc))) from None
    if not header:
        raise BadInput(_("{path} is empty").format(path=path))
    header = [h.strip().lstrip("\ufeff") for h in header]
    return header, rows


def _column(header: list[str], name: str) -> int:
    try:
        return header.index(name)
    except ValueError:
        raise BadInput(_("no column {name!r}; the columns are: {join}").format(name=name, join=', '.join(header))) from None


def convert_rows(reg: Register, header: list[str], rows: Iterable[Sequence[str]], *, key: str, start: date,
                 end: date, key_kind: str = "code", sums: Sequence[str] = (), means: Sequence[str] = (),
                 weight: str | None = None, group: Sequence[str] = (), level: str | None = "commune",
                 weights: str = "population", skip_unmatched: bool = False, first_line: int = 2,
                 within: str | None = None) -> Conversion:
    """Re-tabulate rows (data lines numbered from ``first_line``) from units at ``start`` to ``end``.

    ``within`` keeps only the output units in that unit's territory on ``end``; what is carried
    elsewhere is totalled as "outside", so the totals still reconcile."""
    if weights not in WEIGHTS:
        raise BadInput(_("unknown weights {weights!r}; use one of {join}").format(weights=weights, join=', '.join(WEIGHTS)))
    if not sums and not means:
        raise BadInput(_("nothing to convert: give --sum and/or --mean columns"))
    if weight and not means:
        raise BadInput(_("--weight only applies to --mean columns"))
    ki = _column(header, key)
    si = [_column(header, c) for c in sums]
    mi = [_column(header, c) for c in means]
    wi = _column(header, weight) if weight else None
    gi = [_column(header, c) for c in group]
    overlap = {key, *group} & {*sums, *means}
    if overlap:
        raise BadInput(_("column(s) used both as key/group and as figures: {join}").format(join=', '.join(sorted(overlap))))
    snap = reg.snapshot
    scope: set[int] | None = None
    label = None
    if within:
        from merger.counts import territory_on

        unit = reg.resolve(within, containers=True).version
        scope = {v.id for v in territory_on(snap, unit, end, None)}
        label = unit.full_name
    matcher = KeyMatcher(reg, start, key_kind, level)
    composer = Composer(snap, weights, overlay=district_overlay(level))
    paths: dict[int, list[Row]] = {}
    problems: list[Problem] = []
    ns, nm = len(sums), len(means)
    totals_in = [0.0] * ns
    totals_matched = [0.0] * ns
    lost = [0.0] * ns
    outside = [0.0] * ns
    kinds = ("input", "matched", "output", "dissolved", "outside")
    per_group: dict[tuple, dict[str, list[float]]] = {}
    acc_sum: dict[tuple, list[float]] = {}
    acc_num: dict[tuple, list[float]] = {}
    acc_den: dict[tuple, list[float]] = {}
    targets: dict[tuple, V] = {}
    bases: dict[tuple, set[str]] = defaultdict(set)
    reasons: dict[tuple, set[str]] = defaultdict(set)
    sources: dict[tuple, set[int]] = defaultdict(set)
    n_in = n_matched = 0
    with paused_gc():
        for offset, row in enumerate(rows):
            line = first_line + offset
            if not any(cell.strip() for cell in row):
                continue
            n_in += 1
            if len(row) < len(header):
                row = list(row) + [""] * (len(header) - len(row))
            try:
                svals = [_number(row[i]) for i in si]
                mvals = [_number(row[i]) for i in mi]
                w = _number(row[wi]) if wi is not None else 1.0
            except ValueError as exc:
                problems.append(Problem(line, row[ki], "not a number", str(exc)))
                continue
            gkey = tuple(row[i].strip() for i in gi)
            gt = per_group.get(gkey)
            if gt is None:
                gt = per_group[gkey] = {k: [0.0] * ns for k in kinds}
            for j, x in enumerate(svals):
                if x is not None:
                    totals_in[j] += x
                    gt["input"][j] += x
            unit = matcher.match(row[ki], line)
            if isinstance(unit, Problem):
                problems.append(unit)
                continue
            n_matched += 1
            cw = paths.get(unit.id)
            if cw is None:
                cw = paths[unit.id] = composer.compose(unit, end)
            for j, x in enumerate(svals):
                if x is not None:
                    totals_matched[j] += x
                    gt["matched"][j] += x
            for r in cw:
                if r.target is None or (scope is not None and r.target.id not in scope):
                    bucket, where = (lost, "dissolved") if r.target is None else (outside, "outside")
                    for j, x in enumerate(svals):
                        if x is not None:
                            bucket[j] += x * r.share
                            gt[where][j] += x * r.share
                    continue
                k = gkey + (r.target.id,)
                s = acc_sum.get(k)
                if s is None:
                    s = acc_sum[k] = [0.0] * ns
                    acc_num[k], acc_den[k] = [0.0] * nm, [0.0] * nm
                    targets[k] = r.target
                for j, x in enumerate(svals):
                    if x is not None:
                        s[j] += x * r.share
                        gt["output"][j] += x * r.share
                if nm and w is not None:
                    num, den = acc_num[k], acc_den[k]
                    for j, x in enumerate(mvals):
                        if x is not None:
                            num[j] += x * w * r.share
                            den[j] += w * r.share
                bases[k].add(r.basis)
                reasons[k] |= r.reasons
                sources[k].add(unit.id)
    refusals = [p for p in problems if p.reason == "not a number" or not skip_unmatched]
    if refusals:
        raise ValidationFailed([Violation("convert-" + p.reason.replace(" ", "-"), str(p), [str(p.line)])
                                for p in refusals])
    out_header = [*group, key, "name", "type", "parent", "unit_key", *sums, *means, "sources", "basis", "reason"]
    out_rows: list[list[object]] = []
    order = sorted(acc_sum, key=lambda k: (k[:-1], targets[k].code))
    totals_out = [0.0] * ns
    for k in order:
        v = targets[k]
        parent = snap.parent_of(v, end)
        means_out = [(acc_num[k][j] / acc_den[k][j]) if acc_den[k][j] else None for j in range(nm)]
        for j in range(ns):
            totals_out[j] += acc_sum[k][j]
        rest = sorted(b for b in bases[k] if b != "whole")
        out_rows.append([*k[:-1], v.code, v.full_name, v.type, parent.full_name if parent else "", v.key,
                         *acc_sum[k], *means_out, len(sources[k]), "+".join(rest) if rest else "whole",
                         "; ".join(sorted(reasons[k]))])
    return Conversion(out_header, out_rows, problems, list(sums), list(means),
                      dict(zip(sums, totals_in, strict=True)), dict(zip(sums, totals_matched, strict=True)),
                      dict(zip(sums, totals_out, strict=True)), n_in, n_matched,
                      dict(zip(sums, lost, strict=True)), dict(zip(sums, outside, strict=True)), label,
                      {g: {c: {k: t[k][j] for k in kinds} for j, c in enumerate(sums)}
                       for g, t in sorted(per_group.items())},
                      fallback_counts(used := [r for rows_ in paths.values() for r in rows_]),
                      sum(1 for r in used if r.reasons))


def convert_file(reg: Register, path: Path | str, **options: object) -> Conversion:
    """Read ``path`` and re-tabulate it (options as for ``convert_rows``)."""
    header, rows = read_table(path)
    return convert_rows(reg, header, rows, **options)  # type: ignore[arg-type]


def plain(value: float, digits: int | None = None) -> str:
    """A number as spreadsheets and people read it: 1234567.5, never 1.23457e+06 or "1,234,567"."""
    if value != value:
        return ""
    if digits is not None:
        value = round(value, digits)
        return f"{value:.{max(digits, 0)}f}"
    if value == int(value) and abs(value) < 1e18:
        return str(int(value))
    text = f"{value:.10f}".rstrip("0").rstrip(".")  # ten decimals: below that is noise of the shares
    return "0" if text in ("-0", "") else text


def _fmt(value: object, digits: int | None = None) -> object:
    if isinstance(value, float):
        return plain(value, digits) if digits is not None else (f"{value:.10g}" if value == value else "")
    return "" if value is None else value


def write_table(conv: Conversion, out: Path | str | None, digits: int | None = None, raw: bool = False) -> None:
    """Write the output table atomically (a half-written file never replaces a good one);
    ``out`` None or "-" writes standard output. ``digits`` rounds the figures. Text cells a
    spreadsheet would run as formulas are neutralised unless ``raw`` (outputs.safe_cell)."""
    from merger.outputs import SafeWriter, csv_file

    if out is None or str(out) == STDIO:
        import sys

        w = SafeWriter(sys.stdout, raw)
        w.writerow(conv.header)
        w.writerows([_fmt(x, digits) for x in row] for row in conv.rows)
        sys.stdout.flush()
        return
    with csv_file(Path(out), raw) as w:
        w.writerow(conv.header)
        w.writerows([_fmt(x, digits) for x in row] for row in conv.rows)
