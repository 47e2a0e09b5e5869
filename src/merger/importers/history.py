"""Importer: the NSO unit lists as published on each effective date, 2003-2025 -> version history.

``history/*.jsonl.xz`` hold the whole national list (province, district, commune) on 223
published dates. Comparing consecutive lists gives, per code, when a unit appeared, changed its
name, type or parent, and disappeared. A list never says where the territory of a vanished unit
went, so successors are recorded only where the same date's changes make them unambiguous
(evidence ``inferred`` with the rule in the link note); every other end is recorded with its
successor unknown (relation ``successor_unknown``), counted and listed in IMPORT_REPORT.txt.
Each event cites the acts the source lists for its date, matched by the place names in the act
titles; a match that is not certain says so in the event note.

Identity is code + validity: the same code on consecutive lists is the same unit; a code that
vanishes and comes back later is a new unit. Versions in force on 30 June 2025 keep the keys of
the July 2025 register (``code@..2025-06-30``) and their units keep theirs, so nothing that
cited the register before breaks.
"""

from __future__ import annotations

import json
import lzma
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from merger.errors import DataError
from merger.i18n import _
from merger.names import bare_name, fold, tidy

if TYPE_CHECKING:
    from merger.importers.nso import ImportReport, OldUnit

ONE_DAY = timedelta(days=1)
FILE_OLD = "history/dvhcvn_historical_data_2003-2021.jsonl.xz"
FILE_NEW = "history/dvhcvn_2019-2025.jsonl.xz"
S_HIST_OLD = "dvhcvn-historical-data"
S_HIST_NEW = "dvhcvn-history"
LEVELS = {1: "province", 2: "district", 3: "commune"}
LETTER = {1: "P", 2: "D", 3: "C"}
_TYPES = {"thành phố trung ương": "thành phố trực thuộc trung ương"}
# Between the last published list (2025-03-01) and the list of 30 June 2025 no list exists: a
# change seen only between them has no known effective date. It is recorded on the first day it
# can have taken effect and the note says so (GAP_NOTE), never on an invented day.
GAP_NOTE = ("Ngày hiệu lực không rõ: thay đổi giữa danh mục ngày {last} và danh mục ngày 30/06/2025; "
            "ghi vào ngày sớm nhất có thể ({first})")
REPORT_LIMIT = 10


@dataclass(frozen=True)
class Rec:
    """One unit as one list shows it."""

    name: str
    type: str
    parent: str | None  # parent code (level - 1)


@dataclass
class State:
    """One published list: its date, units by (level, code), and the acts of its date."""

    day: date
    units: dict[tuple[int, str], Rec]
    acts: list[tuple[str, str]]  # (number, title)
    source: str  # source tag + commit
    line: int  # line of the file (1-based), for the report


@dataclass
class Run:
    """A version being derived: one code with one record over a period."""

    level: int
    code: str
    rec: Rec
    parent_unit: int | None  # internal unit id of the parent
    start: date | None
    end: date | None = None
    unit: int = 0
    source: str = ""
    key: str = ""


@dataclass
class Ev:
    """An event being derived (rows of events.csv and links.csv)."""

    day: date
    type: str
    subject: tuple[int, str]  # (level, code) it is keyed on
    links: list[tuple[Run | None, Run | None, str, str, str]] = field(default_factory=list)
    # (pred, succ, portion, relation, note)
    inferred: bool = False
    gap: bool = False
    suffix: str = ""


@dataclass
class History:
    """What the importer adds to the July 2025 register: earlier versions, events and acts."""

    versions: list[dict[str, str]]
    events: list[dict[str, str]]
    links: list[dict[str, str]]
    acts: list[dict[str, str]]
    start_of: dict[str, date | None]  # key of a version in force on 2025-06-30 -> its first day
    states: list[State]
    figures: dict[str, int]


# --- reading ------------------------------------------------------------------------------------


_ACT_LINE = re.compile(r"^\s*-?\s*(\d+[\w./-]*/[\w./-]*[A-ZĐ][\w.-]*)\s*:?\s*(.*?)\s*;?\s*$")


def parse_acts(message: str) -> list[tuple[str, str]]:
    """(number, title) of every act a commit message lists ("number: title;" or "- number title")."""
    out: list[tuple[str, str]] = []
    for line in message.replace("\r", "").split("\n"):
        m = _ACT_LINE.match(line)
        if m and "/" in m.group(1):
            out.append((m.group(1).strip(), tidy(m.group(2))))
    return out


_UNITS = b', "units": [['
_ROW_SEP = b"], ["


def read_lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    """The file's JSON lines, blank ones skipped: equal to ``json.loads`` of each line, except that
    a unit row (a list) is one object shared by every line that holds the same row text, so the
    rows are to be read, not changed.

    Why: the two files are ~130 MB of JSON, nearly all of it the same rows list after list, and
    decoding every row took json ~4.5 s. Here a line's ``"units"`` is cut at the row separator,
    each distinct row text is decoded once, and the rest of the line goes to json as it is.
    A line that does not cut so (any other layout) is decoded by json whole."""
    with lzma.open(path) as fh:
        raw = fh.read()
    if b"\r" in raw:  # text mode would end lines there too: read the way it reads
        with lzma.open(path, "rt", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    rows: dict[bytes, list] = {}  # type: ignore[type-arg]
    out: list[dict] = []  # type: ignore[type-arg]
    for line in raw.split(b"\n"):
        parsed = _cut_line(line, rows)
        if parsed is None:
            text = line.decode("utf-8")
            if not text.strip():
                continue
            parsed = json.loads(text)
        out.append(parsed)
    return out


def _cut_line(line: bytes, rows: dict[bytes, list]) -> dict | None:  # type: ignore[type-arg]
    """``{..., "units": [[row], [row], ...]}`` read with each distinct row decoded once; None if
    the line is not laid out so.

    Exact: the head (with "}" appended) and every "[" + row + "]" must each be a whole JSON value
    on its own, so the line is that object with "units" as its last member (a cut inside a string
    leaves a piece with an open string, one inside a nested list unbalanced brackets: never
    valid, and then json reads the line whole)."""
    cut = line.rfind(_UNITS)
    if cut < 0 or not line.endswith(b"]]}"):
        return None
    try:
        head = json.loads(line[:cut].decode("utf-8") + "}")
        if not isinstance(head, dict):
            return None
        pieces = line[cut + len(_UNITS):-3].split(_ROW_SEP)
        units = list(map(rows.get, pieces))
        if None in units:  # rows not seen on an earlier line (a row is a list, never None)
            for i, piece in enumerate(pieces):
                if units[i] is None:
                    row = rows.get(piece)
                    if row is None:
                        row = rows[piece] = json.loads("[" + piece.decode("utf-8") + "]")
                    units[i] = row
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        return None
    head["units"] = units
    return head


def _canon(name: str, type_: str, report: ImportReport, seen: dict[tuple[str, str], str]) -> str:
    """The official spelling of a listed name; canonicalised (and reported) once per name."""
    from merger.importers.nso import canonical_full_name

    if (name, type_) not in seen:
        seen[(name, type_)] = canonical_full_name(name, type_, report, "published list")
    return seen[(name, type_)]


def read_states(raw_old: list[dict], raw_new: list[dict],  # type: ignore[type-arg]
                report: ImportReport) -> tuple[list[State], list[str]]:
    """Every published list in date order (one per date), and the lines not used."""
    last_old = max(date.fromisoformat(x["date"]) for x in raw_old)
    chosen: dict[date, tuple[dict, str, int]] = {}  # type: ignore[type-arg]
    unused: list[str] = []
    # The acts of a date are those of every line of that date, used or not.
    acts_of: dict[date, dict[str, str]] = defaultdict(dict)
    for tag, fname, lines in ((S_HIST_OLD, FILE_OLD, raw_old), (S_HIST_NEW, FILE_NEW, raw_new)):
        for n, line in enumerate(lines, start=1):
            day = date.fromisoformat(line["date"])
            for number, title in parse_acts(line["message"]):
                acts_of[day].setdefault(number, title)
            if tag == S_HIST_NEW and day <= last_old:
                unused.append(f"{fname}:{n} ({day})")  # the 2003-2021 series stands to its end
                continue
            if day in chosen:
                report.fix("two published lists share a date (the later one stands)",
                           f"{fname}: lines {chosen[day][2]} and {n} ({day})")
                unused.append(f"{fname}:{chosen[day][2]} ({day})")
            chosen[day] = (line, tag, n)
    seen: dict[tuple[str, str], str] = {}
    recs: dict[tuple[str, str, str | None], Rec] = {}  # one Rec per distinct row, shared by all lists
    states: list[State] = []
    days = sorted(chosen)
    first_codes: dict[str, str] = {}
    for i, day in enumerate(days):
        line, tag, n = chosen[day]
        units: dict[tuple[int, str], Rec] = {}
        twice: dict[tuple[int, str], list[Rec]] = {}
        for level, code, name, type_, parent in line["units"]:
            rec = recs.get((name, type_, parent))
            if rec is None:
                t = _TYPES.get(type_.lower(), type_.lower())
                rec = recs[(name, type_, parent)] = Rec(_canon(name, t, report, seen), t, parent)
            k = (level, code)
            if k in units:
                twice.setdefault(k, [units[k]]).append(rec)
            units[k] = rec
        for k, found in sorted(twice.items()):
            if len(set(found)) == 1:
                report.fix("a code listed twice with the same record (read once)",
                           f"{day}: {LEVELS[k[0]]} {k[1]} {found[0].name}")
                continue
            # Listed twice with different records: the one the next list confirms stands.
            nxt = {(u[0], u[1]): u for u in chosen[days[i + 1]][0]["units"]} if i + 1 < len(days) else {}
            nr = nxt.get(k)
            pick = next((r for r in found if nr and (fold(r.name), r.parent) == (fold(tidy(nr[2])), nr[4])),
                        found[-1])
            report.fix("a code listed twice with different records (the one the next list confirms, "
                       "else the last, stands)",
                       f"{day}: {LEVELS[k[0]]} {k[1]} " + " / ".join(f"{r.name} ({r.parent})" for r in found)
                       + f" -> {pick.name}")
            units[k] = pick
        states.append(State(day, units, sorted(acts_of[day].items()), f"{tag} {line['commit'][:8]}", n))
    # The first list (2003-01-15) holds provinces only, under the pre-2004 code scheme (101, 103,
    # ...): its provinces take the codes of the next list's provinces of the same name.
    first, second = states[0], states[1]
    def plain(name: str) -> str:
        return re.sub(r"^(tinh|thanh pho) ", "", fold(name))

    by_name = {plain(r.name): c for (lv, c), r in second.units.items() if lv == 1}
    renumbered: dict[tuple[int, str], Rec] = {}
    for (lv, c), r in first.units.items():
        new = by_name.get(plain(r.name))
        if lv != 1 or new is None:
            raise DataError(_("{file_old}: province {c} {name} of {day} not found on {day2}").format(file_old=FILE_OLD, c=c, name=r.name, day=first.day, day2=second.day))
        first_codes[c] = new
        renumbered[(1, new)] = Rec(second.units[(1, new)].name, second.units[(1, new)].type, None)
        if r.type != second.units[(1, new)].type:
            report.fix("province type differs between the 2003 and 2004 lists (the 2004 type is kept)",
                       f"{r.name}: {r.type} / {second.units[(1, new)].type}")
    report.fix("the 2003-01-15 list uses the pre-2004 province codes (matched to the 2004 codes by name)",
               f"{len(first_codes)} provinces, e.g. " + ", ".join(f"{a}->{b}" for a, b in list(first_codes.items())[:5]))
    states[0] = State(first.day, renumbered, first.acts, first.source, first.line)
    return states, unused


def overlap_differences(raw_old: list[dict], raw_new: list[dict]) -> dict[date, int]:  # type: ignore[type-arg]
    """Dates the two files both publish and on which they disagree: number of differing codes."""
    old = {x["date"]: x for x in raw_old}
    out: dict[date, int] = {}
    for x in raw_new:
        if x["date"] in old:
            a = {(u[0], u[1]): (tidy(u[2]), u[3], u[4]) for u in old[x["date"]]["units"]}
            b = {(u[0], u[1]): (tidy(u[2]), u[3], u[4]) for u in x["units"]}
            n = sum(1 for k in set(a) | set(b) if a.get(k) != b.get(k))
            if n:
                out[date.fromisoformat(x["date"])] = n
    return out


def final_state(provinces: dict[str, OldUnit], districts: dict[str, OldUnit],
                communes: dict[str, OldUnit]) -> dict[tuple[int, str], Rec]:
    """The list of 30 June 2025 (units_old/), as the register already holds it."""
    out: dict[tuple[int, str], Rec] = {}
    for level, group in ((1, provinces), (2, districts), (3, communes)):
        for code, u in group.items():
            out[(level, code)] = Rec(u.full_name, u.type, u.parent_code)
    return out


# --- deriving -----------------------------------------------------------------------------------


@cache
def _fold(name: str) -> str:
    return fold(name)


def _same(a: Rec, b: Rec) -> bool:
    return a.type == b.type and (a.name == b.name or _fold(a.name) == _fold(b.name))


@dataclass
class _Day:
    """The changes one list shows against the previous one."""

    day: date
    ended: dict[tuple[int, str], Run] = field(default_factory=dict)
    appeared: dict[tuple[int, str], Run] = field(default_factory=dict)
    changed: dict[tuple[int, str], tuple[Run, Run]] = field(default_factory=dict)
    events: list[Ev] = field(default_factory=list)


class _Deriver:
    """Walks the lists in date order, keeping the version in force of every code."""

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self.events: list[Ev] = []
        self.cur: dict[tuple[int, str], Run] = {}
        self.units = 0
        self.spelled: list[str] = []

    def _unit(self) -> int:
        self.units += 1
        return self.units

    def _open(self, run: Run) -> Run:
        self.runs.append(run)
        self.cur[(run.level, run.code)] = run
        return run

    def step(self, idx: int, day: date, units: dict[tuple[int, str], Rec], source: str, gap: bool,
             prev: dict[tuple[int, str], Rec]) -> None:
        d = _Day(day)
        # Only codes whose record differs from the previous list can change: a parent's unit
        # changes only when its code vanishes, and then its children's records differ too.
        # (Records of one row are one object, so identity settles most; equal records of distinct
        # rows, spelt alike once made canonical, still compare equal.)
        diff = {k for k, r in units.items() if (p := prev.get(k)) is not r and p != r} | (prev.keys() - units.keys())
        for k in sorted(diff):
            self._code(idx, d, k[0], k[1], units.get(k), source)
        d.events.extend(_events_of_day(self, d))
        for ev in d.events:
            ev.gap = gap
        self.events.extend(d.events)

    def _code(self, idx: int, d: _Day, level: int, code: str, rec: Rec | None, source: str) -> None:
        k = (level, code)
        old = self.cur.get(k)
        if rec is None:
            if old is not None:
                old.end = d.day - ONE_DAY
                d.ended[k] = old
                del self.cur[k]
            return
        parent_unit = None
        if level > 1:
            pr = self.cur.get((level - 1, rec.parent or ""))
            if pr is None:
                raise DataError(_("{day}: {value} {code} has parent {parent}, which is not listed").format(day=d.day, value=LEVELS[level], code=code, parent=rec.parent))
            parent_unit = pr.unit
        if old is None:
            # The first list holds provinces only; districts and communes start on the second.
            before = idx == 0 or (idx == 1 and level > 1)
            run = Run(level, code, rec, parent_unit, None if before else d.day, unit=self._unit(), source=source)
            if before and level > 1 and self.cur[(level - 1, rec.parent or "")].start == d.day:
                # Listed first under a province that starts that day: where it was before is
                # not recorded, so its earlier version has no parent, and a move follows.
                pre = Run(level, code, Rec(rec.name, rec.type, None), None, None, d.day - ONE_DAY,
                          run.unit, source)
                self.runs.append(pre)
                run.start = d.day
                ev = Ev(d.day, "move", k)
                ev.links.append((pre, run, "whole", "moved", "đơn vị cấp trên được thành lập ngày này"))
                d.events.append(ev)
            self._open(run)
            if not before:
                d.appeared[k] = run
            return
        if _same(old.rec, rec) and old.parent_unit == parent_unit:
            if old.rec.name != rec.name:
                self.spelled.append(f"{code} {old.rec.name} -> {rec.name} ({d.day})")
                old.rec = rec  # spelling only (marks, case): the later spelling stands
            return
        old.end = d.day - ONE_DAY
        d.changed[k] = (old, self._open(Run(level, code, rec, parent_unit, d.day, unit=old.unit, source=source)))

    def renew(self, k: tuple[int, str], day: date) -> tuple[Run, Run]:
        """Close the version in force of ``k`` and open an identical one from ``day`` (it absorbed
        territory, so the lineage needs a version that starts that day)."""
        old = self.cur[k]
        old.end = day - ONE_DAY
        return old, self._open(Run(old.level, old.code, old.rec, old.parent_unit, day, unit=old.unit,
                                   source=old.source))


def derive(states: list[State], final: dict[tuple[int, str], Rec], last_old: date,
           report: ImportReport) -> tuple[list[Run], list[Ev]]:
    """Runs (versions) and events from consecutive lists; ``final`` is the list of ``last_old``."""
    dv = _Deriver()
    prev: dict[tuple[int, str], Rec] = {}
    for idx, s in enumerate(states):
        dv.step(idx, s.day, s.units, s.source, False, prev)
        prev = s.units
    dv.step(len(states), states[-1].day + ONE_DAY, final, "nso-units-2025-06-30", True, prev)
    for item in dv.spelled:
        report.fix("spelling changed between lists (marks or case only: one version, the later spelling "
                   "kept)", item)
    for run in dv.cur.values():
        run.end = last_old  # in force on the last day before the 2025 reform
    return dv.runs, dv.events


def _events_of_day(dv: _Deriver, d: _Day) -> list[Ev]:
    """The events of one date, with successors inferred only where the day's changes allow."""
    by_subject: dict[tuple[int, str], Ev] = {}
    # Units under one parent that were renamed, reclassified or newly listed this day: the only
    # candidates to have absorbed a unit of that parent that vanished.
    touched: dict[tuple[int, str | None], list[tuple[int, str]]] = defaultdict(list)
    for k, run in d.appeared.items():
        touched[(k[0], run.rec.parent)].append(k)
    for k, (old, new) in sorted(d.changed.items()):
        if old.rec.type != new.rec.type:
            etype, rel = "reclassify", "reclassified"
        elif fold(old.rec.name) != fold(new.rec.name):
            etype, rel = "rename", "renamed"
        else:
            etype, rel = "move", "moved"
        if etype != "move":
            touched[(k[0], new.rec.parent)].append(k)
        ev = Ev(d.day, etype, k)
        ev.links.append((old, new, "whole", rel, ""))
        by_subject[k] = ev
    for k in sorted(d.appeared):
        by_subject[k] = Ev(d.day, "establish", k)

    into: dict[tuple[int, str], list[tuple[Run, str, str]]] = defaultdict(list)
    unknown: list[Run] = []
    for k, run in sorted(d.ended.items()):
        level = k[0]
        targets: list[tuple[tuple[int, str], str, str]] = []
        if level < 3:
            # Its children go on under other units: its territory went there with them.
            moved = sorted({new.rec.parent or "" for (lv, _), (old, new) in d.changed.items()
                            if lv == level + 1 and old.rec.parent == k[1] and new.rec.parent != k[1]})
            if moved:
                portion = "whole" if len(moved) == 1 else "part"
                note = f"suy ra: các đơn vị cấp dưới của {run.rec.name} chuyển về đơn vị này cùng ngày"
                targets = [((level, p), portion, note) for p in moved if (level, p) in dv.cur]
        if not targets:
            cands = touched.get((level, run.rec.parent), [])
            if len(cands) == 1:
                targets = [(cands[0], "whole", "suy ra: đơn vị duy nhất được lập mới hoặc thay đổi tên, loại "
                            "hình trong cùng đơn vị cấp trên, cùng ngày")]
        for tk, portion, note in targets:
            into[tk].append((run, portion, note))
        if not targets:
            unknown.append(run)
    for tk, preds in sorted(into.items()):
        ev = by_subject.get(tk)
        if ev is None:  # the absorbing unit is otherwise unchanged: it gets a new version
            old, new = dv.renew(tk, d.day)
            ev = by_subject[tk] = Ev(d.day, "merge", tk)
            ev.links.append((old, new, "whole", "absorbing", ""))
        elif ev.type == "establish":
            ev.type = "merge" if len(preds) > 1 or preds[0][1] == "whole" else "split"
        else:
            ev.type = "merge"
        ev.inferred = True
        succ = dv.cur[tk]
        for run, portion, note in preds:
            ev.links.append((run, succ, portion, "absorbed", note))
    for k, ev in by_subject.items():
        if not ev.links:
            ev.links.append((None, d.appeared[k], "whole", "origin_unknown",
                             "danh mục không ghi đơn vị này được lập từ những đơn vị nào"))
    out = list(by_subject.values())
    for run in unknown:
        ev = Ev(d.day, "dissolve", (run.level, run.code), suffix="x")
        ev.links.append((run, None, "whole", "successor_unknown",
                         "danh mục không ghi lãnh thổ của đơn vị này chuyển về đâu"))
        out.append(ev)
    return out


# --- acts ---------------------------------------------------------------------------------------


def act_kind(number: str) -> tuple[str, str]:
    """(kind, issuer) read off an act number's suffix."""
    n = number.upper()
    if "NĐ-CP" in n or "ND-CP" in n:
        return "decree", "Chính phủ"
    if "UBTVQH" in n:
        return "resolution", "Ủy ban Thường vụ Quốc hội"
    if "QĐ-TTG" in n:
        return "decision", "Thủ tướng Chính phủ"
    if re.search(r"/QH\d+$", n):
        return "resolution", "Quốc hội"
    return "", ""


class _Folds:
    """fold and bare_name of one import, each text worked out once: every event of a date folds
    the same act titles and the same parents' names again (~55,000 titles for 4,000 events)."""

    def __init__(self) -> None:
        self._fold: dict[str, str] = {}
        self._bare: dict[tuple[str, str], str] = {}

    def fold(self, text: str) -> str:
        found = self._fold.get(text)
        if found is None:
            found = self._fold[text] = fold(text)
        return found

    def bare(self, full_name: str, type_: str) -> str:
        found = self._bare.get((full_name, type_))
        if found is None:
            found = self._bare[(full_name, type_)] = bare_name(full_name, type_)
        return found


class _Names:
    """Place names of a unit and of its parents on a list, for matching act titles."""

    def __init__(self, lists: list[dict[tuple[int, str], Rec]], folds: _Folds | None = None) -> None:
        self.lists = lists
        self.folds = folds or _Folds()

    def rec(self, level: int, code: str | None) -> Rec | None:
        for units in self.lists:
            r = units.get((level, code or ""))
            if r is not None:
                return r
        return None

    def province(self, run: Run) -> str:
        level, rec = run.level, run.rec
        while level > 1 and rec is not None:
            rec = self.rec(level - 1, rec.parent)
            level -= 1
        return self.folds.bare(rec.name, rec.type) if rec is not None else ""

    def district(self, run: Run) -> str:
        if run.level != 3:
            return ""
        r = self.rec(2, run.rec.parent)
        return self.folds.bare(r.name, r.type) if r is not None else ""


def match_act(ev: Ev, acts: list[tuple[str, str]], names: _Names) -> tuple[str, str, str]:
    """(act number or "", how it was matched, certainty) for one event among its date's acts."""
    if not acts:
        return "", "danh mục của ngày này không kèm văn bản", "none"
    folds = names.folds
    runs = [r for p, s, *_ in ev.links for r in (p, s) if r is not None]
    units = {folds.fold(folds.bare(r.rec.name, r.rec.type)) for r in runs}
    units = {u for u in units if len(u) >= 3 and not u.isdigit()}
    places = {folds.fold(x) for r in runs for x in (names.province(r), names.district(r)) if x}
    titles = [(num, f" {folds.fold(t)} ") for num, t in acts]
    named = [num for num, t in titles if any(f" {u} " in t for u in units) and any(f" {p} " in t for p in places)]
    if len(named) == 1:
        return named[0], "trích yếu văn bản nêu tên đơn vị và địa bàn", "certain"
    if len(named) > 1:
        return "", "nhiều văn bản cùng nêu tên đơn vị (không chọn): " + ", ".join(named), "none"
    prov = {folds.fold(names.province(r)) for r in runs} - {""}
    by_province = [num for num, t in titles if any(f" {p} " in t for p in prov)]
    if len(by_province) == 1:
        return by_province[0], "chỉ trích yếu văn bản nêu tên tỉnh (không chắc chắn)", "uncertain"
    if len(acts) == 1:
        return acts[0][0], "văn bản duy nhất của ngày này (không chắc chắn)", "uncertain"
    return "", "không xác định được văn bản trong các văn bản của ngày này", "none"


# --- the rows -----------------------------------------------------------------------------------


def build_history(src: Path, report: ImportReport, final: dict[tuple[int, str], Rec], last_old: date,
                  recorded_at: str, recorded_by: str) -> History:
    """Versions, events, links and acts from 2003 to the list of ``last_old`` (30 June 2025)."""
    raw_old, raw_new = read_lines(src / FILE_OLD), read_lines(src / FILE_NEW)
    states, unused = read_states(raw_old, raw_new, report)
    for day, n in sorted(overlap_differences(raw_old, raw_new).items()):
        report.fix("the two history files disagree on a date they both publish (the 2003-2021 file stands)",
                   f"{day}: {n} codes differ")
    runs, evs = derive(states, final, last_old, report)

    by_unit: dict[int, list[Run]] = defaultdict(list)
    for run in runs:
        if run.end is not None and run.end == last_old:
            run.key = f"{run.code}@..{last_old.isoformat()}"  # the July 2025 register's key
        elif run.start is None:
            run.key = f"{run.code}@..{run.end.isoformat() if run.end else ''}"
        else:
            run.key = f"{run.code}@{run.start.isoformat()}"
        by_unit[run.unit].append(run)
    keys = [r.key for r in runs]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1})[:5]
        raise DataError(_("history: version keys not unique: {dupes}").format(dupes=dupes))
    unit_key: dict[int, str] = {}
    for unit, group in by_unit.items():
        group.sort(key=lambda r: r.start or date.min)
        last = [r for r in group if r.end == last_old]
        unit_key[unit] = last[0].key if last else group[0].key

    versions: list[dict[str, str]] = []
    start_of: dict[str, date | None] = {}
    for run in runs:
        if run.end == last_old:
            start_of[run.key] = run.start
            continue
        versions.append(dict(
            key=run.key, unit=unit_key[run.unit], level=LEVELS[run.level], code=run.code, type=run.rec.type,
            name=bare_name(run.rec.name, run.rec.type), full_name=run.rec.name,
            parent_unit=unit_key[run.parent_unit] if run.parent_unit else "",
            valid_from=run.start.isoformat() if run.start else "", valid_to=run.end.isoformat() if run.end else "",
            source=run.source,
        ))
    versions.sort(key=lambda v: (v["level"] != "province", v["level"] != "district", v["code"], v["valid_to"]))

    state_of = {s.day: (i, s) for i, s in enumerate(states)}
    acts: dict[str, dict[str, str]] = {}
    for s in states:
        for number, title in s.acts:
            if number not in acts:
                kind, issuer = act_kind(number)
                acts[number] = dict(number=number, kind=kind, issuer=issuer, title=title, date_signed="",
                                    effective_date=s.day.isoformat(),
                                    source=f"{s.source}: commit message of the list of {s.day}")
    events: list[dict[str, str]] = []
    links: list[dict[str, str]] = []
    certainty: dict[str, int] = defaultdict(int)
    gap_first = states[-1].day + ONE_DAY
    folds = _Folds()
    for ev in sorted(evs, key=lambda e: (e.day, e.subject, e.suffix)):
        key = f"E{ev.day:%Y%m%d}-{LETTER[ev.subject[0]]}{ev.subject[1]}{ev.suffix}"
        if ev.gap:
            act, how, sure = "", GAP_NOTE.format(last=states[-1].day.strftime("%d/%m/%Y"),
                                                 first=gap_first.strftime("%d/%m/%Y")), "none"
            source = "nso-communes-2025-06-30 vs " + states[-1].source
        else:
            i, s = state_of[ev.day]
            prev = states[i - 1].units if i else {}
            act, how, sure = match_act(ev, s.acts, _Names([s.units, prev], folds))
            source = f"{s.source} (list of {ev.day} vs the previous list)"
        certainty[sure] += 1
        events.append(dict(key=key, type=ev.type, effective=ev.day.isoformat(), act=act, clause="",
                           note=how, source=source, evidence="inferred" if ev.inferred or ev.gap else "stated",
                           recorded_at=recorded_at, recorded_by=recorded_by))
        for pred, succ, portion, relation, note in ev.links:
            links.append(dict(event=key, predecessor=pred.key if pred else "", successor=succ.key if succ else "",
                              portion=portion, relation=relation, share="", share_basis="", note=note))
    gaps: dict[str, list[str]] = defaultdict(list)
    for ev in sorted(evs, key=lambda e: (e.day, e.subject, e.suffix)):
        for pred, succ, _portion, relation, _note in ev.links:
            if relation == "successor_unknown" and pred is not None:
                gaps["ends with successor unknown (source gap: the lists do not say where the territory "
                     "went)"].append(f"{ev.day} {pred.key} {pred.rec.name} (parent {pred.rec.parent or '-'})")
            elif relation == "origin_unknown" and succ is not None:
                gaps["starts with origin unknown (source gap: the lists do not say where the territory "
                     "came from)"].append(f"{ev.day} {succ.key} {succ.rec.name} (parent {succ.rec.parent or '-'})")
    report.listings.update(gaps)
    ekeys = [e["key"] for e in events]
    if len(set(ekeys)) != len(ekeys):
        raise DataError(_("history: event keys not unique"))
    figures = dict(
        history_successor_unknown=sum(1 for x in links if x["relation"] == "successor_unknown"),
        history_origin_unknown=sum(1 for x in links if x["relation"] == "origin_unknown"),
        history_inferred_links=sum(1 for x in links if x["relation"] == "absorbed"),
        history_lists=len(states), history_versions=len(versions) + len(start_of),
        history_events=len(events),
        history_acts=len(acts), history_acts_certain=certainty["certain"],
        history_acts_uncertain=certainty["uncertain"], history_acts_none=certainty["none"],
    )
    report.listings["published lists not used (another line stands for the same date)"] = unused
    return History(versions, events, links, [acts[k] for k in sorted(acts)], start_of, states, figures)
