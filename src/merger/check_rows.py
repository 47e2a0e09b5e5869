"""The integrity rules run on the register's rows by column (``cache.Derived``), not on objects.

Why: ``merger check`` reads every version, event and link, and building a Python object for each
(``graph._assemble`` and the snapshot's adjacency) cost more than the rules themselves (issue 12:
"10x needs the checks on columns, not objects"). The verdicts and messages, in order, are those
of ``merger.checks`` on the snapshot of the same rows (tests/test_check_rows.py compares them on
the real register, after writes, on factory registers breaking each rule and on drawn damage).

Most rows break no rule, so each rule first selects, with a C-level pass per column where it can,
the few rows that might (a version whose period overlaps, a code held by more than one unit, a
link whose dates do not meet), and formats messages only for those.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from itertools import compress, repeat
from operator import eq, is_, is_not, itemgetter
from typing import TYPE_CHECKING, NamedTuple

from merger.errors import Violation
from merger.i18n import N_, _, fdate

if TYPE_CHECKING:
    from merger.cache import Derived

ONE_DAY = timedelta(days=1)
TOLERANCE = 1e-9
LOW, HIGH = date.min, date.max
# as merger.graph.LEVEL_ORDER (kept equal by a test): importing graph would build its classes
LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2, "village": 3, "agency": 1}
# The columns of each table (by position in merger.cache.COLUMNS) no rule here reads: left
# undecoded when the cache is read for ``merger check`` (names, types, sources, statistics...).
UNREAD: dict[str, tuple[int, ...]] = {
    "legal_act": (1, 2, 3, 4, 5, 6, 7),
    "unit": (1,),  # key (checks name versions, not units)
    "version": (4, 6, 11, 12, 14),  # name, type, evidence, source, folded
    "event": (2, 4, 5, 7, 10),  # type, act, clause, source, recorded_by
    "link": (4, 8),  # portion, note
    "statistic": (1, 2, 3, 4, 5, 6),
}


def unread(as_recorded: bool, *, names: bool = True) -> dict[str, tuple[int, ...]]:
    """``UNREAD``, and when the register is read as it is now (not ``--as-recorded``) the events'
    recording times too: only the bitemporal view compares them; without ``names``, the
    versions' keys and names and the events' keys too: only messages show them."""
    found = UNREAD if as_recorded else {**UNREAD, "event": (*UNREAD["event"], 9)}
    if not names:
        found = {**found, "version": (*found["version"], 1, 5), "event": (*found["event"], 1)}
    return found


GAP_RELATIONS = {"successor_unknown": N_("successor unknown (source gap)"),
                 "origin_unknown": N_("origin unknown (source gap)")}


class Report(NamedTuple):
    """What ``merger check`` says: the violations (none when only the gaps were asked for), the
    source gaps and the disagreements between sources (listed only when asked for; counted
    always), and the register's size."""

    violations: list[Violation]
    gaps: list[Violation]
    gaps_ended: int  # units that ended with successor unknown
    gaps_began: int  # units that began with origin unknown
    disagreements: list[Violation]
    disagreeing: int  # changes reported by one source only
    versions: int
    events: int
    links: int


def report(rows: Derived, *, gaps_only: bool = False, names: bool = True) -> Report:
    """Everything ``merger check`` says about the rows, from one set of columns: the violations,
    or with ``gaps_only`` the source gaps and disagreements listed instead. ``names=False``: the
    rows hold no keys or names (``unread(names=False)``): whether there are violations is right,
    their messages are not (read the rows with names to say them)."""
    r = _Rows(rows, names)
    ended, began = _gap_counts(r)
    return Report([] if gaps_only else _check(r), _source_gaps(r) if gaps_only else [], ended, began,
                  _disagreements(r) if gaps_only else [], _disagreeing(r),
                  len(rows.versions[0]), len(rows.events[0]), len(rows.links[0]))


class _Rows:
    """The columns the rules read, with a version's row found by its id, and each version's
    start and end as day numbers (``date.toordinal``), which compare faster than dates."""

    def __init__(self, rows: Derived, names: bool = True) -> None:
        v = rows.versions
        self.vid, self.key, self.unit, self.kind, self.code = v[0], v[1], v[2], v[4], v[5]
        self.full_name, self.level, self.parent, self.start, self.end = v[7], v[9], v[10], v[11], v[12]
        if not names:  # texts in messages nobody will read (see ``report``)
            self.key = self.full_name = [""] * len(v[0])
        self.by_id = _ById(v[0])
        self.row = row = self.by_id(range(len(v[0])))  # a version's row, by its id
        e = rows.events
        self.events = e
        by_event = _ById(e[0])
        self.event_key, self.effective = by_event(e[1] if names else [""] * len(e[0])), by_event(e[3])
        k = rows.links
        (self.pred, self.preds), (self.succ, self.succs) = _known(k[2], v[0], row), _known(k[3], v[0], row)
        self.link_event, self.relation, self.share, self.basis = k[1], k[5], k[6], k[7]
        # a start as a day number, none as the earliest day (``valid_from or date.min``)
        self.lo = _days(self.start, LOW.toordinal())
        # an end as a day number, none after every day there is (an open end overlaps any later start)
        self.hi = _days(self.end, OPEN)


OPEN = HIGH.toordinal() + 1  # the day number of no end


def _days(column: list[date | None], none: int) -> list[int]:
    """Day numbers of a column of dates (computed once per distinct date)."""
    table = {d: d.toordinal() for d in set(column) if d is not None}
    table[None] = none  # type: ignore[index]
    return list(map(table.__getitem__, column))


class _ById:
    """Values, one per row of a table sorted by id, found by id: a list indexed by id where the
    ids run without gaps from a small number (as bundled: no dictionary to build, and a list
    index is the fastest lookup there is), or with few gaps; else a dictionary."""

    def __init__(self, ids: list[int]) -> None:
        n = len(ids)
        self.ids = ids
        self.pad: list | None = None
        self.top = -1
        if n and 0 <= ids[0] <= 4 * n + 1024 and ids[-1] - ids[0] == n - 1:
            self.pad = [None] * ids[0]
        elif n and ids[0] >= 0 and ids[-1] <= 4 * n + 1024:
            self.top = ids[-1]

    def __call__(self, values: Iterable) -> list | dict:
        if self.pad is not None:
            return [*self.pad, *values]
        if self.top >= 0:
            out = [None] * (self.top + 1)
            for i, x in zip(self.ids, values, strict=True):
                out[i] = x
            return out
        return dict(zip(self.ids, values, strict=True))


def _known(ids: list[int | None], held: list[int], row: list | dict) -> tuple[list[int | None], set[int]]:
    """A link's version ids, None where the rows do not hold that version (as in the snapshot),
    and the set of them."""
    found = set(ids)
    found.discard(None)
    if not found:
        return ids, found
    if isinstance(row, dict):
        missing = found.difference(row)
    elif min(found) >= held[0] and max(found) <= held[-1] and len(row) - len(held) == held[0]:
        return ids, found  # every id between the first and the last version's is one (no gaps)
    else:
        missing = found.difference(held)
    if not missing:
        return ids, found
    return [None if i in missing else i for i in ids], found - missing


def _sorted_rows(groups: list[int], days: list[int], rows: list[int]) -> tuple[list[int], list[int], list[int]]:
    """``rows`` in order of group, then start day, then row (a stable sort by start within each
    group), as (groups, start days, rows)."""
    ordered = sorted(zip(groups, days, rows, strict=True))
    return list(map(itemgetter(0), ordered)), list(map(itemgetter(1), ordered)), list(map(itemgetter(2), ordered))


def check(rows: Derived) -> list[Violation]:
    """Every violation found, by rule, as ``merger.checks.check`` finds them on the snapshot of
    these rows; an empty list means the register is sound."""
    return _check(_Rows(rows))


def _check(r: _Rows) -> list[Violation]:
    out: list[Violation] = []
    n = len(r.vid)
    # every version in order of unit, start and row: a unit's versions are consecutive, by start
    units, lows, order = _sorted_rows(r.unit, r.lo, list(range(n)))
    out += _identity(r, units, lows, order)
    out += _codes(r)
    _link_dates(r, out)
    key, start, end, row = r.key, r.start, r.end, r.row
    fates = set(compress(r.vid, map(is_not, end, repeat(None)))) - r.preds
    origins = set(compress(r.vid, map(is_not, start, repeat(None)))) - r.succs
    fates, origins = {row[v] for v in fates}, {row[v] for v in origins}
    parents = _Parents(r, _UnitRows(units, order))
    for i in sorted(fates | origins | parents.suspects()):
        if i in fates:
            out.append(Violation("no-fate", _("{key} ({full_name}) ends {valid_to} with no recorded fate").format(
                key=key[i], full_name=r.full_name[i], valid_to=end[i]), [key[i]]))
        if i in origins:
            out.append(Violation("no-origin", _("{key} ({full_name}) starts {valid_from} with no predecessor or establishment").format(
                key=key[i], full_name=r.full_name[i], valid_from=start[i]), [key[i]]))
        parents.violations(i, out)
    out += _shares(r)
    cycle = find_cycle(r.vid, r.pred, r.succ) if _backward(r) else []
    if cycle:
        keys = [key[row[v]] for v in cycle]
        out.append(Violation("cycle", "lineage cycle: " + " -> ".join(keys), keys))
    return out


def _identity(r: _Rows, units: list[int], lows: list[int], order: list[int]) -> list[Violation]:
    """overlapping-identity: consecutive versions of one unit (in order of start) that overlap,
    units in order of their first version."""
    hi = r.hi
    hits = [j for j in range(len(order) - 1) if units[j] == units[j + 1] and lows[j + 1] <= hi[order[j]]]
    if not hits:
        return []
    first = dict(zip(reversed(r.unit), range(len(r.unit) - 1, -1, -1), strict=True))
    hits.sort(key=lambda j: (first[units[j]], j))
    key = r.key
    return [Violation("overlapping-identity", _("{key} and {key2} of one unit overlap").format(key=key[a], key2=key[b]), [key[a], key[b]])
            for a, b in ((order[j], order[j + 1]) for j in hits)]


def _codes(r: _Rows) -> list[Violation]:
    """overlapping-code: consecutive versions (in order of start) of one code and kind that
    overlap and belong to different units; codes in order of their first version. A code whose
    versions all belong to one unit cannot collide: those are passed over."""
    kind, code, unit = r.kind, r.code, r.unit
    last = dict(zip(code, unit, strict=True))
    shared = {c for c, u in zip(code, unit, strict=True) if last[c] != u}  # held by two units, of any kind
    if not shared:
        return []
    picked = [i for i, c in enumerate(code) if c in shared]
    if len({kind[i] for i in picked}) == 1:
        picked_keys: list = [code[i] for i in picked]  # one kind: the code alone names the group
    else:
        picked_keys = [(kind[i], code[i]) for i in picked]
    first = dict(zip(reversed(picked_keys), reversed(picked), strict=True))  # each code's first row
    lo = r.lo
    groups, lows, order = _sorted_rows(list(map(first.__getitem__, picked_keys)), [lo[i] for i in picked], picked)
    hi = r.hi
    hits = [j for j in range(len(order) - 1)
            if groups[j] == groups[j + 1] and lows[j + 1] <= hi[order[j]] and unit[order[j]] != unit[order[j + 1]]]
    key = r.key
    return [Violation("overlapping-code", _("code {code} held by {key} and {key2} at once").format(code=code[a], key=key[a], key2=key[b]),
                      [key[a], key[b]])
            for a, b in ((order[j], order[j + 1]) for j in hits)]


class _UnitRows:
    """A unit's version rows in order of start, found in the sorted rows by bisection."""

    def __init__(self, units: list[int], rows: list[int]) -> None:
        self.units, self.rows = units, rows

    def get(self, unit: int) -> list[int]:
        lo = bisect_left(self.units, unit)
        return self.rows[lo:bisect_right(self.units, unit, lo)]


def _link_dates(r: _Rows, out: list[Violation]) -> None:
    """own-successor, successor-gap and event-date, link by link in order. The links whose
    successor starts the day after the predecessor ends, the day the event takes effect
    (nearly all), are passed over by one comprehension."""
    row, key, start, end, effective = r.row, r.key, r.start, r.end, r.effective
    next_day = {d: d + ONE_DAY for d in set(end) if d is not None}
    after = r.by_id(map(next_day.get, end))  # the day after a version ends
    begins = r.by_id(start)
    days = list(map(effective.__getitem__, r.link_event))
    pred, succ, link_event = r.pred, r.succ, r.link_event
    doubtful = [j for j, p, s, day in zip(range(len(days)), pred, succ, days, strict=True)
                if p is None or s is None or p == s or after[p] != day or begins[s] != day]
    add = out.append
    event_key = r.event_key
    for j in doubtful:
        ev, p, s, day = link_event[j], pred[j], succ[j], days[j]
        if p is not None:
            a = after[p]
            if s is not None:
                if p == s:
                    add(Violation("own-successor", _("{key} is its own successor ({key2})").format(key=key[row[p]], key2=event_key[ev]),
                                  [key[row[p]]]))
                if a is None or begins[s] != a:
                    add(Violation("successor-gap", _("{key} does not start the day {key2} ends ({key3})").format(
                        key=key[row[s]], key2=key[row[p]], key3=event_key[ev]), [key[row[p]], key[row[s]]]))
            if a is not None and a != day:
                i = row[p]
                add(Violation("event-date", _("{key} ends {valid_to}, but {key2} takes effect {effective}").format(
                    key=key[i], valid_to=end[i], key2=event_key[ev], effective=day), [key[i], event_key[ev]]))
        if s is not None and begins[s] != day:
            i = row[s]
            add(Violation("event-date", _("{key} starts {valid_from}, but {key2} takes effect {effective}").format(
                key=key[i], valid_from=start[i], key2=event_key[ev], effective=day), [key[i], event_key[ev]]))


def _shares(r: _Rows) -> list[Violation]:
    """shares: per predecessor and basis, shares within (0, 1] summing to at most 1, and to 1 when
    every link out of it gives one."""
    shares: dict[tuple[int, str], list[float | None]] = defaultdict(list)
    for j in compress(range(len(r.basis)), r.basis):
        p = r.pred[j]
        if p is not None:
            shares[(p, r.basis[j])].append(r.share[j])
    if not shares:
        return []
    out = []
    wanted = {v for v, _ in shares}
    links_out = Counter(compress(r.pred, map(wanted.__contains__, r.pred)))  # links out of each
    for (v, basis), values in shares.items():
        total = sum(x for x in values if x is not None)
        k = r.key[r.row[v]]
        if any(x is not None and not 0 < x <= 1 for x in values) or total > 1 + TOLERANCE:
            out.append(Violation("shares", _("{basis} shares of {key} sum to {total:g} (must not exceed 1)").format(basis=basis, key=k, total=total), [k]))
        all_given = len(values) == links_out[v] and None not in values
        if all_given and abs(total - 1) > TOLERANCE:
            out.append(Violation("shares", _("{basis} shares of {key} sum to {total:g}, not 1").format(basis=basis, key=k, total=total), [k]))
    return out


def _backward(r: _Rows) -> bool:
    """Whether some link does not lead to a later start: only then can the links close a cycle
    (along links that all do, start dates strictly increase)."""
    lo = r.by_id(r.lo)
    return any([1 for p, s in zip(r.pred, r.succ, strict=True) if p is not None and s is not None and lo[p] >= lo[s]])


def find_cycle(order: Iterable[int], preds: Iterable[int | None], succs: Iterable[int | None]) -> list[int]:
    """One lineage cycle (version ids in order), or [] when the links (``preds[i]`` to
    ``succs[i]``) close none: an iterative depth-first search from each version in ``order``,
    following each version's links in their order (merger.checks.find_cycle on objects)."""
    adjacent: dict[int, list[int | None]] = defaultdict(list)
    for p, s in zip(preds, succs, strict=True):
        if p is not None:
            adjacent[p].append(s)
    state: dict[int, int] = {}  # absent: unseen, 1: on the current path, 2: done
    for root in order:
        if root in state:
            continue
        path: list[int] = [root]
        state[root] = 1
        stack = [iter(adjacent.get(root, ()))]
        while stack:
            nxt = next(stack[-1], _END)
            if nxt is _END:
                state[path.pop()] = 2
                stack.pop()
                continue
            if nxt is None:
                continue
            seen = state.get(nxt)
            if seen == 1:
                return path[path.index(nxt):]
            if seen is None:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(adjacent.get(nxt, ())))
    return []


_END = object()  # a version's links are all followed


class _Parents:
    """The parent rules. A first pass over the rows passes the children whose parent is surely
    sound: a parent unit whose versions run end to end from its first start to its last end
    (most) covers a child inside those days, and sits at a wrong level only if one of its
    versions of the child's kind has the child's level or a lower one. The rest are judged
    exactly as merger.checks._Parents does, each verdict computed once."""

    def __init__(self, r: _Rows, by_unit: _UnitRows) -> None:
        self.r = r
        self.by_unit = by_unit
        self.verdicts: dict[tuple, tuple[bool, int | None, bool]] = {}  # exists, wrong-level parent row, covered

    def _bounds(self, units: set[int]) -> dict[int, tuple[int, int, int]]:
        """Per parent unit whose versions run end to end: its first start (2 at least: a child
        with no start is passed only by a parent with none) and last end, as day numbers, and
        the deepest level rank of its versions of kind "admin" (-1: none)."""
        r = self.r
        kind, level, lo, hi, start, end = r.kind, r.level, r.lo, r.hi, r.start, r.end
        found: dict[int, tuple[int, int, int]] = {}
        for unit in units:
            rows = self.by_unit.get(unit)
            if rows and all(hi[a] + 1 == lo[b] and end[a] is not None and start[b] is not None
                            for a, b in zip(rows, rows[1:], strict=False)):
                head = rows[0]
                deepest = max((LEVEL_ORDER.get(level[p], 9) for p in rows if kind[p] == "admin"), default=-1)
                found[unit] = (1 if start[head] is None else max(lo[head], 2), hi[rows[-1]], deepest)
        return found

    def suspects(self) -> set[int]:
        """The rows whose parent may break a rule, their verdicts computed. Passed at once: a
        child of an admin parent unit (``_bounds``) inside its days, and, for an admin child, of
        a lower level than each of its versions; an agency child (the level rule spares it)."""
        r = self.r
        parent, kind, lo, hi = r.parent, r.kind, r.lo, r.hi
        units = set(parent)
        units.discard(None)
        bounds = self._bounds(units)  # type: ignore[arg-type]
        rank = dict.fromkeys(set(r.level), 9)
        rank.update((level, LEVEL_ORDER[level]) for level in rank.keys() & LEVEL_ORDER.keys())
        level_rank = list(map(rank.__getitem__, r.level))
        found = [i for i, p, k, s, e, depth in zip(range(len(parent)), parent, kind, lo, hi, level_rank, strict=True)
                 if p is not None and ((b := bounds.get(p)) is None or not b[0] <= s <= b[1] or e > b[1]
                                       or (k != "agency" and (k != "admin" or b[2] >= depth)))]
        verdicts = self.verdicts
        for i in found:
            k = (parent[i], kind[i], r.level[i], r.start[i], r.end[i])
            if k not in verdicts:
                verdicts[k] = self._verdict(*k)
        return {i for i in found if verdicts[(parent[i], kind[i], r.level[i], r.start[i], r.end[i])] != (True, None, True)}

    def _verdict(self, unit: int, kind: str, level: str, start: date | None, end: date | None) -> tuple[bool, int | None, bool]:
        r = self.r
        parents = self.by_unit.get(unit)
        if not parents:
            return False, None, True
        rank = LEVEL_ORDER.get(level, 9)
        wrong = next((p for p in parents if kind == r.kind[p] != "agency" and LEVEL_ORDER.get(r.level[p], 9) >= rank), None)
        return True, wrong, _covers(parents, r.start, r.end, start, end)

    def violations(self, i: int, out: list[Violation]) -> None:
        r = self.r
        verdict = self.verdicts.get((r.parent[i], r.kind[i], r.level[i], r.start[i], r.end[i]))
        if verdict is None:  # no parent, or one surely sound
            return
        exists, wrong, covered = verdict
        key = r.key[i]
        if not exists:
            out.append(Violation("parent", _("{key} has a parent that does not exist").format(key=key), [key]))
            return
        if wrong is not None:
            out.append(Violation("parent-level", _("{key} ({level}) has parent {key2} ({level2})").format(
                key=key, level=r.level[i], key2=r.key[wrong], level2=r.level[wrong]), [key, r.key[wrong]]))
        if not covered:
            out.append(Violation("parent-validity", _("the parent of {key} is not valid throughout {period}").format(
                key=key, period=period(r.start[i], r.end[i])), [key]))


def _covers(parents: list[int], starts: list, ends: list, start: date | None, end: date | None) -> bool:
    """Whether the parent's version rows (in order of start), end to end, cover start..end."""
    cursor = start
    for p in parents:
        p_start, p_end = starts[p], ends[p]
        if p_end is not None and cursor is not None and p_end < cursor:
            continue
        if p_start is not None and (cursor is None or p_start > cursor):
            break
        if p_end is None:
            return True
        cursor = p_end + ONE_DAY
        if end is not None and cursor > end:
            return True
    return False


def period(start: date | None, end: date | None) -> str:
    """A version's period as ``V.period`` writes it: "2025-07-01 – " (dates as people write them)."""
    return f"{fdate(start, '…')} – {fdate(end)}".rstrip()


def source_gaps(rows: Derived) -> list[Violation]:
    """Ends (and starts) the sources record without saying where the territory went (or came
    from), as ``merger.checks.source_gaps`` lists them. Not errors."""
    return _source_gaps(_Rows(rows))


def _gap_counts(r: _Rows) -> tuple[int, int]:
    """How many source gaps ``source_gaps`` lists: (units ended with successor unknown, units
    begun with origin unknown), without making their messages."""
    ended, began = r.relation.count("successor_unknown"), r.relation.count("origin_unknown")
    if any(map(is_, r.pred, r.succ)):  # maybe a link with a version at neither end: not listed
        for p, s, relation in zip(r.pred, r.succ, r.relation, strict=True):
            if p is None and s is None and relation in GAP_RELATIONS:
                ended, began = (ended - 1, began) if relation == "successor_unknown" else (ended, began - 1)
    return ended, began


def _source_gaps(r: _Rows) -> list[Violation]:
    out: list[Violation] = []
    labels = {relation: _(label) for relation, label in GAP_RELATIONS.items()}  # translated once
    ends, starts = _("ends {day}"), _("starts {day}")
    row, key, full_name = r.row, r.key, r.full_name
    for j in compress(range(len(r.relation)), map(labels.__contains__, r.relation)):
        ev, p, s, label = r.link_event[j], r.pred[j], r.succ[j], labels[r.relation[j]]
        if p is not None:
            i = row[p]
            when = ends.format(day=r.end[i])
        elif s is not None:
            i = row[s]
            when = starts.format(day=r.start[i])
        else:
            continue
        out.append(Violation("source-gap", f"{key[i]} ({full_name[i]}) {when}: {label}", [key[i], r.event_key[ev]]))
    return out


def disagreements(rows: Derived) -> list[Violation]:
    """Changes one source reports and another does not (evidence ``reported``), as
    ``merger.checks.disagreements`` lists them: not errors, but not settled either."""
    return _disagreements(_Rows(rows))


def _disagreeing(r: _Rows) -> int:
    """How many changes ``disagreements`` lists, without making their messages."""
    e = r.events
    reported = set(compress(e[0], map(eq, e[8], repeat("reported"))))
    if not reported:
        return 0
    return sum(1 for j in compress(range(len(r.link_event)), map(reported.__contains__, r.link_event))
               if r.succ[j] is not None)


def _disagreements(r: _Rows) -> list[Violation]:
    e = r.events
    reported = set(compress(e[0], map(eq, e[8], repeat("reported"))))
    if not reported:
        return []
    note = _ById(e[0])(e[6])
    out: list[Violation] = []
    for j in compress(range(len(r.link_event)), map(reported.__contains__, r.link_event)):
        ev, s = r.link_event[j], r.succ[j]
        if s is not None:
            i = r.row[s]
            out.append(Violation("sources-disagree", _("{key} ({full_name}) from {effective}: reported only — {note}").format(
                key=r.key[i], full_name=r.full_name[i], effective=r.effective[ev], note=note[ev]), [r.key[i], r.event_key[ev]]))
    return out
