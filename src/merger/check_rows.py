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
from operator import and_, eq, is_not, itemgetter, le, lt, ne, not_
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
GAP_RELATIONS = {"successor_unknown": N_("successor unknown (source gap)"),
                 "origin_unknown": N_("origin unknown (source gap)")}


class Report(NamedTuple):
    """What ``merger check`` says: the violations (none when only the gaps were asked for), the
    source gaps (listed only when asked for; counted always), the disagreements between sources,
    and the register's size."""

    violations: list[Violation]
    gaps: list[Violation]
    gaps_ended: int  # units that ended with successor unknown
    gaps_began: int  # units that began with origin unknown
    disagreements: list[Violation]
    versions: int
    events: int
    links: int


def report(rows: Derived, *, gaps_only: bool = False) -> Report:
    """Everything ``merger check`` says about the rows, from one set of columns: the violations,
    or with ``gaps_only`` the source gaps listed instead."""
    r = _Rows(rows)
    ended, began = _gap_counts(r)
    return Report([] if gaps_only else _check(r), _source_gaps(r) if gaps_only else [], ended, began,
                  _disagreements(r), len(rows.versions[0]), len(rows.events[0]), len(rows.links[0]))


class _Rows:
    """The columns the rules read, with a version's row found by its id."""

    def __init__(self, rows: Derived) -> None:
        v = rows.versions
        self.vid, self.key, self.unit, self.kind, self.code = v[0], v[1], v[2], v[4], v[5]
        self.full_name, self.level, self.parent, self.start, self.end = v[7], v[9], v[10], v[11], v[12]
        self.row = row = dict(zip(v[0], range(len(v[0])), strict=True))
        e = rows.events
        self.events = e
        self.event_key = dict(zip(e[0], e[1], strict=True))
        self.effective = dict(zip(e[0], e[3], strict=True))
        k = rows.links
        self.pred, self.succ = _known(k[2], row), _known(k[3], row)
        self.link_event, self.relation, self.share, self.basis = k[1], k[5], k[6], k[7]
        low = {d: d for d in set(self.start)}
        low[None] = LOW
        self.low = list(map(low.__getitem__, self.start))  # a start, or the earliest day for none


def _known(ids: list[int | None], row: dict[int, int]) -> list[int | None]:
    """A link's version ids, None where the rows do not hold that version (as in the snapshot)."""
    missing = set(ids).difference(row)
    missing.discard(None)
    return [None if i in missing else i for i in ids] if missing else ids


def check(rows: Derived) -> list[Violation]:
    """Every violation found, by rule, as ``merger.checks.check`` finds them on the snapshot of
    these rows; an empty list means the register is sound."""
    return _check(_Rows(rows))


def _check(r: _Rows) -> list[Violation]:
    out: list[Violation] = []
    n = len(r.vid)
    # every version in order of unit, start and id: a unit's versions are consecutive, by start
    ordered = sorted(zip(r.unit, r.low, range(n), strict=True))
    out += _identity(r, ordered)
    out += _codes(r)
    _link_dates(r, out)
    by_unit = _UnitRows(ordered)
    key, start, end, row = r.key, r.start, r.end, r.row
    fates = set(compress(r.vid, map(is_not, end, repeat(None)))).difference(r.pred)
    origins = set(compress(r.vid, map(is_not, start, repeat(None)))).difference(r.succ)
    fates, origins = set(map(row.__getitem__, fates)), set(map(row.__getitem__, origins))
    parents = _Parents(r, by_unit)
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


def _ends_high(r: _Rows, rows: Iterable[int]) -> list[date]:
    """The versions' ends, the last day there is for none (an open end overlaps every later start)."""
    end = r.end
    return [end[i] or HIGH for i in rows]


def _identity(r: _Rows, ordered: list[tuple[int, date, int]]) -> list[Violation]:
    """overlapping-identity: consecutive versions of one unit (in order of start) that overlap,
    units in order of their first version."""
    units = list(map(itemgetter(0), ordered))
    lows = list(map(itemgetter(1), ordered))
    rows = list(map(itemgetter(2), ordered))
    ends = _ends_high(r, rows)
    hits = list(compress(range(len(rows) - 1), map(and_, map(eq, units, units[1:]), map(le, lows[1:], ends))))
    if not hits:
        return []
    first = dict(zip(reversed(r.unit), range(len(r.unit) - 1, -1, -1), strict=True))
    hits.sort(key=lambda j: (first[units[j]], j))
    key = r.key
    return [Violation("overlapping-identity", _("{key} and {key2} of one unit overlap").format(key=key[a], key2=key[b]), [key[a], key[b]])
            for a, b in ((rows[j], rows[j + 1]) for j in hits)]


def _codes(r: _Rows) -> list[Violation]:
    """overlapping-code: consecutive versions (in order of start) of one code and kind that
    overlap and belong to different units; codes in order of their first version. A code whose
    versions all belong to one unit cannot collide: those are passed over."""
    codes = list(zip(r.kind, r.code, strict=True))
    pairs = set(zip(codes, r.unit, strict=True))
    if len(pairs) == len(set(codes)):
        return []
    shared = {c for c, times in Counter(map(itemgetter(0), pairs)).items() if times > 1}
    n = len(codes)
    first = dict(zip(reversed(codes), range(n - 1, -1, -1), strict=True))
    picked = list(compress(range(n), map(shared.__contains__, codes)))
    ordered = sorted(zip(map(first.__getitem__, map(codes.__getitem__, picked)), map(r.low.__getitem__, picked), picked, strict=True))
    groups = list(map(itemgetter(0), ordered))
    lows = list(map(itemgetter(1), ordered))
    rows = list(map(itemgetter(2), ordered))
    units = list(map(r.unit.__getitem__, rows))
    ends = _ends_high(r, rows)
    hits = compress(range(len(rows) - 1), map(all, zip(map(eq, groups, groups[1:]), map(le, lows[1:], ends),
                                                       map(ne, units, units[1:]), strict=True)))
    key, code = r.key, r.code
    return [Violation("overlapping-code", _("code {code} held by {key} and {key2} at once").format(code=code[a], key=key[a], key2=key[b]),
                      [key[a], key[b]])
            for a, b in ((rows[j], rows[j + 1]) for j in hits)]


class _UnitRows:
    """A unit's version rows in order of start, found in the sorted rows by bisection."""

    def __init__(self, ordered: list[tuple[int, date, int]]) -> None:
        self.units = list(map(itemgetter(0), ordered))
        self.rows = list(map(itemgetter(2), ordered))

    def get(self, unit: int) -> list[int]:
        lo = bisect_left(self.units, unit)
        return self.rows[lo:bisect_right(self.units, unit, lo)]


def _link_dates(r: _Rows, out: list[Violation]) -> None:
    """own-successor, successor-gap and event-date, link by link in order. The links whose
    successor starts the day after the predecessor ends, the day the event takes effect
    (nearly all), are selected by C-level passes over the columns and passed over."""
    row, key, start, end, effective = r.row, r.key, r.start, r.end, r.effective
    next_day = {d: d + ONE_DAY for d in set(end) if d is not None}
    after = dict(zip(r.vid, map(next_day.get, end), strict=True))  # the day after a version ends
    begins = dict(zip(r.vid, start, strict=True))
    days = list(map(effective.__getitem__, r.link_event))
    pred, succ = r.pred, r.succ
    ends_ok = map(eq, map(after.get, pred), days)  # False without a predecessor
    starts_ok = map(eq, map(begins.get, succ), days)  # False without a successor
    doubtful = compress(range(len(days)), map(not_, map(all, zip(ends_ok, starts_ok, map(ne, pred, succ), strict=True))))
    add = out.append
    event_key = r.event_key
    for j in doubtful:
        ev, p, s, day = r.link_event[j], pred[j], succ[j], days[j]
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
    links_out = Counter(r.pred)
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
    (along links that all do, start dates strictly increase). (-1,) before and (1,) after any
    (0, start): a link without a version at one end passes."""
    begins = dict(zip(r.vid, zip(repeat(0), r.low), strict=True))
    return not all(map(lt, map(begins.get, r.pred, repeat((-1,))), map(begins.get, r.succ, repeat((1,)))))


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
    """The parent rules, each verdict computed once (as merger.checks._Parents): which parent
    version, if any, sits at the child's level or below, per parent unit, kind and level; whether
    the parent's versions cover the child's period, per parent unit and period. The rows that
    break one are found first; their messages are then made row by row."""

    def __init__(self, r: _Rows, by_unit: _UnitRows) -> None:
        self.r = r
        self.by_unit = by_unit
        self.verdicts: dict[tuple, tuple[bool, int | None, bool]] = {}  # exists, wrong-level parent row, covered

    def suspects(self) -> set[int]:
        """The rows whose parent breaks a rule."""
        r = self.r
        keys = list(zip(r.parent, r.kind, r.level, r.start, r.end, strict=True))
        levels: dict[tuple[int, str, str], int | None] = {}
        covered: dict[tuple[int, date | None, date | None], bool] = {}
        verdicts = self.verdicts
        kinds, ranks = r.kind, r.level
        for k in set(keys):
            unit, kind, level, start, end = k
            if unit is None:
                continue
            parents = self.by_unit.get(unit)
            if not parents:
                verdicts[k] = (False, None, True)
                continue
            at = (unit, kind, level)
            if at in levels:
                wrong = levels[at]
            else:
                rank = LEVEL_ORDER.get(level, 9)
                wrong = levels[at] = next((p for p in parents if kind == kinds[p] != "agency"
                                           and LEVEL_ORDER.get(ranks[p], 9) >= rank), None)
            span = (unit, start, end)
            ok = covered.get(span)
            if ok is None:
                ok = covered[span] = _covers(parents, r.start, r.end, start, end)
            verdicts[k] = (True, wrong, ok)
        bad = {k for k, (exists, wrong, ok) in verdicts.items() if not exists or wrong is not None or not ok}
        return set(compress(range(len(keys)), map(bad.__contains__, keys))) if bad else set()

    def violations(self, i: int, out: list[Violation]) -> None:
        r = self.r
        if r.parent[i] is None:
            return
        exists, wrong, covered = self.verdicts[(r.parent[i], r.kind[i], r.level[i], r.start[i], r.end[i])]
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
    counts = Counter(r.relation)
    ended, began = counts["successor_unknown"], counts["origin_unknown"]
    if None in r.pred and None in r.succ:  # a link with a version at neither end is not listed
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


def _disagreements(r: _Rows) -> list[Violation]:
    e = r.events
    reported = {i for i, evidence in zip(e[0], e[8], strict=True) if evidence == "reported"}
    if not reported:
        return []
    note = dict(zip(e[0], e[6], strict=True))
    out: list[Violation] = []
    for ev, s in zip(r.link_event, r.succ, strict=True):
        if ev in reported and s is not None:
            i = r.row[s]
            out.append(Violation("sources-disagree", _("{key} ({full_name}) from {effective}: reported only — {note}").format(
                key=r.key[i], full_name=r.full_name[i], effective=r.effective[ev], note=note[ev]), [r.key[i], r.event_key[ev]]))
    return out
