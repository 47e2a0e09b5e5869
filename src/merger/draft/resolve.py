"""Find the unit each name in a clause means, on the day before the resolution takes effect.

A name is resolved only when exactly one unit fits: same name (same spelling first, then
without marks), same type word, in force that day, inside the resolution's own area, and
inside the place a parenthesis names ("xã Long Hòa (huyện Cần Giờ)"). Anything else is left
for review with its candidates: never guessed.

The area is the named province plus every old province that holds at least ``AREA_MIN`` of
the clauses' unambiguous names (a new province of 2025 is two or three old ones, which the
text does not list).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from merger.draft.parse import Pred
from merger.graph import Snapshot, V
from merger.names import fold, spelling

AREA_MIN = 2
# The level each type word of a predecessor names.
LEVEL_OF = {"xã": "commune", "phường": "commune", "thị trấn": "commune", "đặc khu": "commune",
            "huyện": "district", "quận": "district", "thị xã": "district", "thành phố": "district"}


@dataclass
class Found:
    """What one name resolved to: the version, or why not (with candidates)."""

    pred: Pred
    version: V | None
    problem: str | None = None
    candidates: list[V] = field(default_factory=list)
    note: str | None = None  # resolved, but worth a look (context, spelling)


def bare(pred: Pred) -> str:
    """"Phường 1" -> "1" (the register keeps numbered names bare); "Phường Đúc" is a name."""
    words = pred.name.split()
    if len(words) == 2 and words[0].casefold() in ("phường", "quận", "xã") and (
            words[1].isdigit() or set(words[1]) <= set("IVX")):
        return words[1]
    return pred.name


def loose(name: str) -> str:
    """A looser key for spellings the sources vary: "Đak Rong"/"Đakrông", "Quí"/"Quý", "N' Thôn"."""
    words = [str(_ROMAN[w.upper()]) if w.upper() in _ROMAN else w for w in name.split()]
    return _LOOSE_GAPS.sub("", fold(" ".join(words))).replace("y", "i")


_LOOSE_GAPS = re.compile(r"[\s'’\-]+")
# A word loose may read as a Roman numeral: only letters whose upper case is I, V or X ("ı" too).
_ROMAN_WORD = re.compile(r"(?<!\S)[IVXivxı]+(?!\S)")


# "Phường IV" in the text, "Phường 4" in the code list (and the other way round).
_ROMAN = {r: i for i, r in enumerate(
    ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV"), start=1)}


class Resolver:
    """Resolves names against one snapshot on one day, within one resolution's area."""

    def __init__(self, snap: Snapshot, day: date, province: V | None):
        self.snap = snap
        self.day = day
        self.area: set[int] = {province.unit_id} if province else set()
        self.by_loose: dict[str, list[V]] = defaultdict(list)
        # Worked out once per resolver (similar() and the area tests ask for every unit again):
        # the units in force, each name's loose key, each version's province.
        self._in_force = snap.valid_on(day)
        self._loose: dict[str, str] = {}
        self._province: dict[int, V | None] = {}
        self._pools: dict[str | None, tuple[set[int], list[V]]] = {}
        for v in self._in_force:
            self.by_loose[self._key(v)].append(v)

    def _key(self, v: V) -> str:
        """loose(v.name) from the name the register keeps folded (``V.folded``), without folding
        it again: the same key, since loose drops the spaces fold normalises, unless a word may be
        a Roman numeral (then loose itself)."""
        if v.folded and not _ROMAN_WORD.search(v.name):
            return _LOOSE_GAPS.sub("", v.folded).replace("y", "i")
        return self.loose(v.name)

    def loose(self, name: str) -> str:
        """loose(name), each name once."""
        key = self._loose.get(name)
        if key is None:
            key = self._loose[name] = loose(name)
        return key

    def province_of(self, v: V) -> V | None:
        if v.id in self._province:
            return self._province[v.id]
        chain = [v, *self.snap.ancestors(v, self.day)]
        top = chain[-1]
        found = self._province[v.id] = top if top.level == "province" else None
        return found

    def _named(self, pred: Pred) -> tuple[list[V], list[V]]:
        """(same type, any type of the level) in force on the day; spelling variants last."""
        name = bare(pred)
        level = LEVEL_OF.get(pred.type)
        found = [v for v in self.by_loose.get(loose(name), ()) if v.level == level]
        return [v for v in found if self._typed(v, pred)], found

    @staticmethod
    def _typed(v: V, pred: Pred) -> bool:
        # The type column or the full name's type word (the register has a "Thị trấn" typed xã).
        return v.type == pred.type or fold(v.full_name).startswith(fold(pred.type) + " ")

    def _exact(self, pred: Pred, cands: list[V]) -> list[V]:
        same = [v for v in cands if spelling(v.name) == spelling(bare(pred))]
        return same or cands

    def learn_area(self, preds: list[Pred]) -> None:
        """Add the old provinces that hold the unambiguous names (see the module's docstring)."""
        hits: Counter[int] = Counter()
        for p in preds:
            typed, _ = self._named(p)
            if len(typed) == 1:
                prov = self.province_of(typed[0])
                if prov is not None:
                    hits[prov.unit_id] += 1
        self.area |= {unit for unit, n in hits.items() if n >= AREA_MIN}

    def _in_place(self, v: V, qualifier: str) -> bool:
        """"huyện Châu Thành, tỉnh Trà Vinh": every part names one of the version's ancestors."""
        names = set()
        for a in self.snap.ancestors(v, self.day):
            names |= {fold(a.full_name), fold(a.name)}
            if a.type == "thành phố trực thuộc trung ương":
                names.add(fold("thành phố " + a.name))
        parts = [p.strip() for p in qualifier.split(",") if p.strip()]
        return bool(parts) and all(fold(p) in names for p in parts)

    def resolve(self, pred: Pred) -> Found:
        typed, found = self._named(pred)
        if not typed:
            if found:
                return Found(pred, None, f"{pred.type} {pred.name}: no {pred.type} of that name on "
                             f"{self.day}, but {len(found)} unit(s) of another type", found)
            return Found(pred, None, f"{pred.type} {pred.name}: no unit of that name on {self.day}")
        cands = typed
        if self.area:
            inside = [v for v in cands if (p := self.province_of(v)) is not None and p.unit_id in self.area]
            if not inside:
                return Found(pred, None, f"{pred.type} {pred.name}: none in the resolution's area", cands)
            cands = inside
        if pred.qualifier:
            placed = [v for v in cands if self._in_place(v, pred.qualifier)]
            if not placed:
                return Found(pred, None, f"{pred.type} {pred.name} ({pred.qualifier}): none in that place",
                             cands)
            cands = placed
        if len(cands) > 1:
            exact = [v for v in cands if spelling(v.name) == spelling(bare(pred))]
            if len(exact) == 1:  # "Đăk Long" beside "Đắk Long": the clause's district may still overrule
                return Found(pred, exact[0], None, cands, note=f"{pred.type} {pred.name}: {len(cands)} units "
                             "of a similar name; taken by its exact spelling")
            return Found(pred, None, f"{pred.type} {pred.name}: {len(cands)} units of that name", cands)
        found_one = Found(pred, cands[0])
        if spelling(cands[0].name) != spelling(bare(pred)) or cands[0].type != pred.type:
            found_one.note = (f"the text writes {pred.type} {pred.name!r}, the register "
                              f"{cands[0].full_name!r} ({cands[0].type}): the only one that fits")
        return found_one

    def similar(self, pred: Pred, known: list[V], n: int = 6) -> list[V]:
        """Units of a similar name (the sources spell "Huổi Lếch"/"Huổi Lếnh", "NT"/"Nông trường"),
        in the district of the clause's other units first, else in the resolution's area."""
        import difflib

        level = LEVEL_OF.get(pred.type)
        want = loose(fold(bare(pred)).replace("nong truong ", "nt "))
        districts = {k.parent_unit_id for k in known}
        pools = [[v for v in self._in_force if v.level == level and v.parent_unit_id in districts]]
        if self.area:
            pools.append(self._area_pool(level))
        out: list[V] = []
        for pool in pools:
            names: dict[str, list[V]] = defaultdict(list)
            for v in pool:
                if v not in known:
                    names[self.loose(v.name)].append(v)
            for c in difflib.get_close_matches(want, list(names), n=n, cutoff=0.6):
                out += [v for v in names[c] if v not in out]
        return out[: n * 2]

    def _area_pool(self, level: str | None) -> list[V]:
        """The units of ``level`` in force inside the area, in the snapshot's order; kept while
        the area stays the same (similar() asks for it for every name left for review)."""
        kept = self._pools.get(level)
        if kept is None or kept[0] != self.area:
            kept = self._pools[level] = (set(self.area), [
                v for v in self._in_force if v.level == level
                and (p := self.province_of(v)) is not None and p.unit_id in self.area])
        return kept[1]

    def resolve_clause(self, preds: list[Pred]) -> list[Found]:
        """Resolve a clause's names; a name shared by several units in the area is narrowed to
        the one in the district (else the old province) of the clause's other units, and says so."""
        found = [self.resolve(p) for p in preds]
        known = [f.version for f in found if f.version is not None]
        for f in found:
            if f.version is None and (not f.candidates or "none in the resolution's area" in (f.problem or "")):
                near = [v for v in self.similar(f.pred, known) if v not in f.candidates]
                if near and f.problem:
                    f.problem += " (similar names nearby are listed)"
                f.candidates += near
        for f in found:
            by_spelling = f.version is not None and len(f.candidates) > 1
            if not by_spelling and (f.version is not None or len(f.candidates) < 2 or not f.problem
                                    or "units of that name" not in f.problem):
                continue
            if by_spelling:
                known = [k for k in known if k is not f.version]
            for scope, what in ((lambda v: v.parent_unit_id, "district"),
                                (lambda v: getattr(self.province_of(v), "unit_id", None), "old province")):
                near = {scope(k) for k in known}
                hits = [v for v in f.candidates if scope(v) in near]
                if len(hits) == 1:
                    if by_spelling and hits[0] is f.version:
                        break
                    f.version, f.problem = hits[0], None
                    f.note = (f"{f.pred.type} {f.pred.name}: {len(f.candidates)} units of that name; taken in "
                              f"the {what} of the clause's other units")
                    break
        return found
