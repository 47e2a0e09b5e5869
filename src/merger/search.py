"""Finding units by name, code or key, the way people write them.

A name matches every version that ever carried it; qualifiers ("Hòa Bình, Vĩnh Bảo") must
match a parent of that version at its time. Several units matching is an error that lists
them, never a guess; nothing matching lists the closest names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from merger.errors import Ambiguous, BadInput, Candidate, NotFound
from merger.graph import Snapshot, V
from merger.i18n import _
from merger.names import NamePart, fold, parse_query, spelling, type_word

# The last day of the units the register of July 2025 started from (before the 2003-2025 history).
BASE_DAY = date(2025, 6, 30)


@dataclass
class Match:
    """A resolved unit: every matching version of it, and the one meant."""

    unit_id: int
    versions: list[V]
    version: V


def _typed(v: V, types: tuple[str, ...] | None) -> bool:
    """The listed type, or the type word the official name is written with, matches."""
    return types is None or v.type in types or any(t in types for t in type_word(v.full_name))


def _part_matches(v: V, readings: tuple[NamePart, ...]) -> bool:
    return any(fold(v.name) == r.name and _typed(v, r.types) for r in readings)


def _candidates(snap: Snapshot, query: str) -> list[V]:
    q = query.strip()
    if q in snap.by_key:
        return [snap.by_key[q]]
    if q.isdigit():
        for width in (len(q), 2, 3, 5):
            found = snap.by_code.get(q.zfill(width))
            if found:
                return list(found)
        return []
    if " " not in q and q in snap.by_code:  # an agency's or village's code: 31.so-noi-vu, 10606.nam-son
        return list(snap.by_code[q])
    parsed = parse_query(q)
    found: list[V] = []
    seen: set[int] = set()
    parts = q.split(",")
    for k in range(len(parts), 1, -1):  # a name that holds a comma: "Sở Văn hóa, Thể thao và Du lịch[, Hải Phòng]"
        head, rest = ",".join(parts[:k]), ",".join(parts[k:])
        quals = parse_query("x," + rest).qualifiers if rest.strip() else ()
        for v in snap.by_fold.get(fold(head), ()):
            if v.id not in seen and (not quals or _qualified(snap, v, quals)):
                seen.add(v.id)
                found.append(v)
        if found:
            return found
    for reading in parsed.target:
        for v in snap.by_fold.get(reading.name, ()):
            if v.id in seen or not _typed(v, reading.types):
                continue
            if parsed.qualifiers and not _qualified(snap, v, parsed.qualifiers):
                continue
            seen.add(v.id)
            found.append(v)
    return found


def seed_sql(query: str, *, sqlite: bool = False) -> str | None:
    """SQL selecting the ids of every version ``query`` may name (a superset of _candidates' answer:
    key, code or folded name, through their indexes), or None when it cannot be written as one.

    A superseded key ("11533@2025-07-01~...") is found by its prefix: on SQLite with GLOB, which
    seeks the key index (a LIKE there is case-insensitive, so every version is scanned: 2-5 ms
    of each lookup); elsewhere with LIKE."""
    q = query.strip()
    if not q or "\x00" in q:
        return None

    def quoted(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    if sqlite:
        superseded = "key GLOB " + quoted("".join(f"[{c}]" if c in "*?[" else c for c in q) + "~*")
    else:
        superseded = f"key LIKE {quoted(q.replace('%', '_') + '~%')}"
    parts = [f"key = {quoted(q)}", superseded]
    if q.isdigit():
        parts.append(f"code IN ({', '.join(quoted(q.zfill(w)) for w in (len(q), 2, 3, 5))})")
    else:
        names = {reading.name for reading in parse_query(q).target}
        if names:
            parts.append(f"folded IN ({', '.join(quoted(n) for n in sorted(names))})")
    return "SELECT id FROM version WHERE " + " OR ".join(parts)


def _qualified(snap: Snapshot, v: V, qualifiers: tuple[tuple[NamePart, ...], ...]) -> bool:
    """Every qualifier names a parent of ``v``: at its own time, or where its territory is now.

    People write old addresses with today's province ("Hòa Bình / Kim Thành / Hải Phòng", although
    Kim Thành belonged to Hải Dương), so the parents of its successors count too.
    """
    chains = [snap.ancestors(v)]
    if v.valid_to is not None:
        for later in snap.descendants_on(v, date.max).values():
            chains.append([later, *snap.ancestors(later)])
    names = [a for chain in chains for a in chain]
    return all(any(_part_matches(a, qual) for a in names) for qual in qualifiers)


def _exact_spelling(query: str, versions: list[V]) -> list[V]:
    """Among folded matches, those spelled exactly as typed (with marks), if the query has marks."""
    target = query.split(",")[0].split("/")[0]
    if fold(target) == target.casefold().strip():
        return versions  # typed without marks: nothing to prefer
    want = spelling(target)
    return [v for v in versions if spelling(v.full_name) == want or spelling(v.name) == want]


def resolve(
    snap: Snapshot,
    query: str,
    *,
    as_of: date | None = None,
    levels: set[str] | None = None,
    kind: str | None = None,
    containers: bool = False,
    holders: set[int] | None = None,
    suggestions: bool = True,
) -> Match:
    """The one unit ``query`` names (on ``as_of`` if given), or a NotFound/Ambiguous error.

    ``containers`` prefers units that have children (for ``--within``) when a name is shared;
    ``holders``: the ids of the units that have children, when ``snap`` is only part of the register;
    ``suggestions=False``: a NotFound without the close names (a caller that looks again in the
    whole register when part of it has no such name).
    """
    if not query.strip():
        raise BadInput(_("empty unit name"))
    versions = _candidates(snap, query)
    if as_of is not None:
        named = versions
        versions = [v for v in versions if v.valid_on(as_of)]
        if named and not versions:
            raise NotFound.not_in_force(query, as_of, [describe(snap, v) for v in named[:5]])
    if levels:
        versions = [v for v in versions if v.level in levels]
    if kind:
        versions = [v for v in versions if v.kind == kind]
    if not versions:
        raise NotFound(query, suggest(snap, query) if suggestions else [], on=as_of)
    units = _group(versions)
    if len(units) > 1 and as_of is None and _is_code(snap, query):
        # A code reused over time names the unit holding it now (older holders: by key or --as-of).
        current = [v for v in versions if snap.by_unit[v.unit_id][-1].valid_to is None]
        if current and len(_group(current)) == 1:
            versions, units = current, _group(current)
    if len(units) > 1:
        exact = _exact_spelling(query, versions)
        if exact and len(_group(exact)) < len(units):
            versions, units = exact, _group(exact)
    if len(units) > 1 and not any(r.types for r in parse_query(query).target[:1]):
        # A name shared by a province and smaller units means the province ("hai phong"), unless
        # a type word or a parent says otherwise.
        provinces = [v for v in versions if v.level == "province"]
        if provinces and len(_group(provinces)) == 1:
            versions, units = provinces, _group(provinces)
    if len(units) > 1 and containers:
        parents = holders if holders is not None else {v.parent_unit_id for v in snap.versions.values()}
        holding = [v for v in versions if v.unit_id in parents]
        if holding and len(_group(holding)) < len(units):
            versions, units = holding, _group(holding)
    if len(units) > 1 and as_of is None:
        # Without --as-of a name is read in the register of July 2025 first: a name that ended
        # before 30 June 2025 (from the 2003-2025 history) is meant only when no unit of that
        # register has the name ("Gia Viên, Ngô Quyền" is the ward of 2025, not the one of 2024).
        recent = [v for v in versions if v.valid_to is None or v.valid_to >= BASE_DAY]
        if recent and len(_group(recent)) < len(units):
            versions, units = recent, _group(recent)
    if len(units) > 1:
        cands = [
            Candidate(key=vs[-1].key, label=describe(snap, vs[-1]))
            for vs in sorted(units.values(), key=lambda vs: (vs[-1].level, vs[-1].valid_from or date.min))
        ]
        raise Ambiguous(query, cands)
    unit_id, matched = next(iter(units.items()))
    return Match(unit_id, matched, matched[-1])


def _is_code(snap: Snapshot, query: str) -> bool:
    q = query.strip()
    return " " not in q and (q in snap.by_code or (q.isdigit() and any(
        q.zfill(w) in snap.by_code for w in (len(q), 2, 3, 5))))


def _group(versions: list[V]) -> dict[int, list[V]]:
    out: dict[int, list[V]] = {}
    for v in sorted(versions, key=lambda v: v.valid_from or date.min):
        out.setdefault(v.unit_id, []).append(v)
    return out


def describe(snap: Snapshot, v: V) -> str:
    """"Xã Hòa Bình, Huyện Vĩnh Bảo, Thành phố Hải Phòng [11857, … – 2025-06-30]"."""
    return f"{snap.path(v)} [{v.code}, {v.period()}]"


def suggest(snap: Snapshot, query: str, n: int = 5) -> list[str]:
    """Closest known names to a query that matched nothing."""
    target = parse_query(query).target[-1].name if query.strip() else ""
    names = close_matches(target, snap.by_fold, n=n, cutoff=0.6)
    out: list[str] = []
    for name in names:
        v = snap.by_fold[name][-1]
        out.append(v.full_name)
    return list(dict.fromkeys(out))


def close_matches(word: str, possibilities: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """``difflib.get_close_matches(word, possibilities, n, cutoff)``, the same list, found sooner.

    difflib computes the similarity ``ratio()`` of every name whose quick upper bound of it
    (``quick_ratio()``) reaches the cutoff: 700-2,400 of the national register's 7,918 folded
    names for the typos tried, up to half of a "did you mean". Here the names are taken by that bound,
    best first, and the search stops once the bound falls below the n-th best ratio found: no
    name left could enter. The result is ordered as difflib orders it (ratio, then the name)."""
    import heapq

    if n <= 0 or not 0.0 <= cutoff <= 1.0:
        raise ValueError(f"n must be > 0 and cutoff in [0.0, 1.0]: {n!r}, {cutoff!r}")  # as difflib
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word)
    bounded: list[tuple[float, str]] = []
    for x in possibilities:
        matcher.set_seq1(x)
        if matcher.real_quick_ratio() >= cutoff:
            bound = matcher.quick_ratio()
            if bound >= cutoff:
                bounded.append((bound, x))
    bounded.sort(reverse=True)
    best: list[tuple[float, str]] = []  # the n best (ratio, name) so far, smallest first
    for bound, x in bounded:
        if len(best) == n and bound < best[0][0]:
            break
        matcher.set_seq1(x)
        score = matcher.ratio()
        if score >= cutoff:
            if len(best) < n:
                heapq.heappush(best, (score, x))
            elif (score, x) > best[0]:
                heapq.heapreplace(best, (score, x))
    return [x for _score, x in sorted(best, reverse=True)]


def search(snap: Snapshot, text: str, *, limit: int = 50, as_of: date | None = None) -> list[V]:
    """Versions whose name contains ``text`` (folded) or whose code starts with it."""
    q = fold(text)
    if not q:
        raise BadInput(_("empty search text"))
    start = text.strip()
    folds = snap._folds  # each name folded once per snapshot, not once per search
    hits: list[tuple[V, str]] = []
    for v in snap.versions.values():
        found = folds.get(v.id)
        if found is None or found[0] is not v:
            found = folds[v.id] = (v, fold(v.full_name), fold(v.name))
        if (q in found[1] or v.code.startswith(start)) and (as_of is None or v.valid_on(as_of)):
            hits.append((v, found[2]))
    hits.sort(key=lambda h: (h[1] != q, h[0].level != "province", h[0].level, h[1], h[0].valid_from or date.min))
    return [v for v, _name in hits[:limit]]
