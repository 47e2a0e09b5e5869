"""Integrity checks over a whole register: the invariants every accepted change must keep."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from merger.check_rows import GAP_RELATIONS
from merger.errors import Violation
from merger.graph import LEVEL_ORDER, Snapshot, V
from merger.i18n import _

ONE_DAY = timedelta(days=1)
TOLERANCE = 1e-9


def _overlaps(versions: list[V]) -> list[tuple[V, V]]:
    ordered = sorted(versions, key=lambda v: v.valid_from or date.min)
    out = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.valid_to is None or (b.valid_from or date.min) <= a.valid_to:
            out.append((a, b))
    return out


def _overlaps_sorted(versions: list[V]) -> list[tuple[V, V]]:
    """``_overlaps`` of versions already in order of start (a snapshot's ``by_unit`` lists)."""
    return [(a, b) for a, b in zip(versions, versions[1:], strict=False)
            if a.valid_to is None or (b.valid_from or date.min) <= a.valid_to]


def check(snap: Snapshot) -> list[Violation]:
    """Every violation found, by rule; an empty list means the register is sound.

    The verdicts and messages, in order, are those of the plain rules (kept in
    tests/test_snapshot_speed.py as the reference and compared on the real register and on
    drawn damage); the work is less: a unit's single version is not compared with itself, nor
    a code held by one unit only; a parent's verdict is computed once per parent unit and child
    period; the search for a cycle runs only when some link does not go forward in time.
    """
    out: list[Violation] = []
    add = out.append

    for versions in snap.by_unit.values():
        if len(versions) > 1:
            for a, b in _overlaps_sorted(versions):
                add(Violation("overlapping-identity", _("{key} and {key2} of one unit overlap").format(key=a.key, key2=b.key), [a.key, b.key]))
    by_code: dict[tuple[str, str], list[V]] = defaultdict(list)
    for v in snap.versions.values():
        by_code[(v.kind, v.code)].append(v)
    for versions in by_code.values():
        first = versions[0].unit_id
        if all(v.unit_id == first for v in versions):
            continue  # one unit's versions keep its code: only other units' can collide with them
        for a, b in _overlaps(versions):
            if a.unit_id != b.unit_id:
                add(Violation("overlapping-code", _("code {code} held by {key} and {key2} at once").format(code=a.code, key=a.key, key2=b.key),
                              [a.key, b.key]))

    for link in snap.links:
        ev, p, s = link.event, link.pred, link.succ
        if p is not None:
            after = p.valid_to + ONE_DAY if p.valid_to is not None else None
            if s is not None:
                if p.id == s.id:
                    add(Violation("own-successor", _("{key} is its own successor ({key2})").format(key=p.key, key2=ev.key), [p.key]))
                if after is None or s.valid_from != after:
                    add(Violation("successor-gap",
                                  _("{key} does not start the day {key2} ends ({key3})").format(key=s.key, key2=p.key, key3=ev.key), [p.key, s.key]))
            if after is not None and after != ev.effective:
                add(Violation("event-date", _("{key} ends {valid_to}, but {key2} takes effect {effective}").format(key=p.key, valid_to=p.valid_to, key2=ev.key, effective=ev.effective),
                              [p.key, ev.key]))
        if s is not None and s.valid_from != ev.effective:
            add(Violation("event-date", _("{key} starts {valid_from}, but {key2} takes effect {effective}").format(key=s.key, valid_from=s.valid_from, key2=ev.key, effective=ev.effective),
                          [s.key, ev.key]))

    out_links, in_links = snap.out_links, snap.in_links
    parents = _Parents(snap)
    sound = parents.sound
    for v in snap.versions.values():
        if v.valid_to is not None and v.id not in out_links:
            add(Violation("no-fate", _("{key} ({full_name}) ends {valid_to} with no recorded fate").format(key=v.key, full_name=v.full_name, valid_to=v.valid_to), [v.key]))
        if v.valid_from is not None and v.id not in in_links:
            add(Violation("no-origin", _("{key} ({full_name}) starts {valid_from} with no predecessor or establishment").format(key=v.key, full_name=v.full_name, valid_from=v.valid_from), [v.key]))
        if v.parent_unit_id is not None and (v.parent_unit_id, v.kind, v.level, v.valid_from, v.valid_to) not in sound:
            parents.violations(v, out)

    shares: dict[tuple[int, str], list[float | None]] = defaultdict(list)
    for link in snap.links:
        if link.pred is not None and link.share_basis:
            shares[(link.pred.id, link.share_basis)].append(link.share)
    for (vid, basis), values in shares.items():
        total = sum(x for x in values if x is not None)
        v = snap.versions[vid]
        if any(x is not None and not 0 < x <= 1 for x in values) or total > 1 + TOLERANCE:
            add(Violation("shares", _("{basis} shares of {key} sum to {total:g} (must not exceed 1)").format(basis=basis, key=v.key, total=total), [v.key]))
        all_given = len(values) == len(snap.out_links.get(vid, [])) and None not in values
        if all_given and abs(total - 1) > TOLERANCE:
            add(Violation("shares", _("{basis} shares of {key} sum to {total:g}, not 1").format(basis=basis, key=v.key, total=total), [v.key]))

    cycle = find_cycle(snap) if _backward_links(snap) else []
    if cycle:
        keys = [v.key for v in cycle]
        add(Violation("cycle", "lineage cycle: " + " -> ".join(keys), keys))
    return out


def _backward_links(snap: Snapshot) -> bool:
    """Whether some link does not lead to a later start. Along links that all do, start dates
    strictly increase, so they cannot close a cycle: then there is none to search for."""
    low = date.min
    return not all(lk.pred is None or lk.succ is None or (lk.pred.valid_from or low) < (lk.succ.valid_from or low)
                   for lk in snap.links)


def find_cycle(snap: Snapshot) -> list[V]:
    """One lineage cycle (its versions in order), or [] when the lineage graph is acyclic.

    An iterative depth-first search over the snapshot's adjacency: the same verdict as networkx's
    is_directed_acyclic_graph on snap.to_networkx(), without importing networkx (0.2 s) and
    building a second graph for one question.
    """
    state: dict[int, int] = {}  # absent: unseen, 1: on the current path, 2: done
    for root in snap.versions:
        if root in state:
            continue
        path: list[int] = [root]
        state[root] = 1
        stack = [iter(snap.out_links.get(root, ()))]
        while stack:
            link = next(stack[-1], None)
            if link is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if link.succ is None:
                continue
            nxt = link.succ.id
            seen = state.get(nxt)
            if seen == 1:
                return [snap.versions[i] for i in path[path.index(nxt):]]
            if seen is None:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(snap.out_links.get(nxt, ())))
    return []




def source_gaps(snap: Snapshot) -> list[Violation]:
    """Ends (and starts) the sources record without saying where the territory went (or came
    from). Not errors: the published lists do not state it, and nothing may be guessed."""
    out: list[Violation] = []
    labels = {relation: _(label) for relation, label in GAP_RELATIONS.items()}  # translated once
    ends, starts = _("ends {day}"), _("starts {day}")
    for link in snap.links:
        label = labels.get(link.relation)
        if label is None:
            continue
        v = link.pred if link.pred is not None else link.succ
        if v is None:
            continue
        when = ends.format(day=v.valid_to) if link.pred is not None else starts.format(day=v.valid_from)
        out.append(Violation("source-gap", f"{v.key} ({v.full_name}) {when}: {label}", [v.key, link.event.key]))
    return out


def disagreements(snap: Snapshot) -> list[Violation]:
    """Changes one source reports and another does not (evidence ``reported``): not errors, but
    nobody should read them as settled."""
    out: list[Violation] = []
    for link in snap.links:
        ev = link.event
        if ev.evidence == "reported" and link.succ is not None:
            out.append(Violation("sources-disagree", _("{key} ({full_name}) from {effective}: reported only — {note}").format(key=link.succ.key, full_name=link.succ.full_name, effective=ev.effective, note=ev.note), [link.succ.key, ev.key]))
    return out


class _Parents:
    """The parent rules with each verdict computed once: per parent unit, child kind and level
    (which parent version, if any, sits at the child's level or below), and per parent unit and
    child period (whether the parent's versions cover it). Same verdicts, same order, as the
    rules applied child by child."""

    def __init__(self, snap: Snapshot) -> None:
        self.by_unit = snap.by_unit
        self.levels: dict[tuple[int, str, str], V | None] = {}
        self.covered: dict[tuple[int, date | None, date | None], bool] = {}
        self.sound: set[tuple] = set()  # (parent unit, kind, level, start, end) found sound

    def violations(self, v: V, out: list[Violation]) -> None:
        unit = v.parent_unit_id
        assert unit is not None
        parents = self.by_unit.get(unit)
        if not parents:
            out.append(Violation("parent", _("{key} has a parent that does not exist").format(key=v.key), [v.key]))
            return
        key = (unit, v.kind, v.level)
        if key in self.levels:
            p = self.levels[key]
        else:
            rank = LEVEL_ORDER.get(v.level, 9)
            p = self.levels[key] = next((p for p in parents if v.kind == p.kind != "agency"
                                         and LEVEL_ORDER.get(p.level, 9) >= rank), None)
        if p is not None:
            out.append(Violation("parent-level", _("{key} ({level}) has parent {key2} ({level2})").format(key=v.key, level=v.level, key2=p.key, level2=p.level),
                                 [v.key, p.key]))
        span = (unit, v.valid_from, v.valid_to)
        ok = self.covered.get(span)
        if ok is None:
            ok = self.covered[span] = _covers(parents, v.valid_from, v.valid_to)
        if not ok:
            out.append(Violation("parent-validity", _("the parent of {key} is not valid throughout {period}").format(key=v.key, period=v.period()),
                                 [v.key]))
        elif p is None:
            self.sound.add((unit, v.kind, v.level, v.valid_from, v.valid_to))


def _covers(parents: list[V], start: date | None, end: date | None) -> bool:
    """Whether the parent's versions (in order of start), end to end, cover start..end."""
    cursor = start
    for p in parents:
        if p.valid_to is not None and cursor is not None and p.valid_to < cursor:
            continue
        if (p.valid_from is not None) and (cursor is None or p.valid_from > cursor):
            break
        if p.valid_to is None:
            return True
        cursor = p.valid_to + ONE_DAY
        if end is not None and cursor > end:
            return True
    return False
