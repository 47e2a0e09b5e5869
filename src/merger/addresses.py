"""Addresses written the old way or the new way, resolved to the unit they name and its successors.

"Số 5 Lê Lợi, P. An Lư, TX. Thủy Nguyên, TP. Hải Phòng" (old style: commune, district,
province) or "Phường Hòa Bình, Thành phố Hải Phòng" (new style: no district), in any case,
with or without diacritics and with the usual abbreviations (P., Q., TP., H., TX., TT., X.).
The parts are read from the right: province, then district (if any), then commune; what is
left on the left is the street. The unit named is looked up on its own date; its successors
on the target date come from the crosswalk, with shares, and a divided commune returns every
successor, flagged, never a guess. A province may be written as the old one or the new one
it became ("xã X, huyện Y, Hải Phòng" for a commune of old Hải Dương).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from merger.crosswalk import Composer, Row, paused_gc
from merger.graph import Snapshot, V
from merger.i18n import _, fdate
from merger.names import NamePart, fold, spelling, split_type
from merger.search import BASE_DAY

PROVINCE_TYPES = frozenset({"tỉnh", "thành phố trực thuộc trung ương"})
DISTRICT_TYPES = frozenset({"quận", "huyện", "thị xã", "thành phố"})
COMMUNE_TYPES = frozenset({"xã", "phường", "thị trấn", "đặc khu"})

# Short forms people write for provinces (folded), beyond the abbreviations of type words. A form
# two provinces share ("ĐN": Đà Nẵng, Đồng Nai) names both; the commune then tells them apart.
PROVINCE_ALIASES: dict[str, tuple[str, ...]] = {
    "hcm": ("ho chi minh",), "tphcm": ("ho chi minh",), "tp hcm": ("ho chi minh",), "sai gon": ("ho chi minh",),
    "sg": ("ho chi minh",), "hn": ("ha noi",), "hp": ("hai phong",), "hd": ("hai duong",),
    "dn": ("da nang", "dong nai"), "ct": ("can tho",), "brvt": ("ba ria vung tau",),
    "thua thien hue": ("hue",), "tt hue": ("hue",),
}
# i and y after a consonant are two allowed spellings of one syllable (Quý/Quí, Kỳ/Kì, Lý/Lí, Mỹ/Mĩ).
_IY = re.compile(r"\b(qu|ph|th|ch|tr|[bdhklmnrstv])y\b")
_COUNTRY_WRITTEN = {"viet nam", "vietnam", "vn", "việt nam", "việtnam"}
_SPLIT = re.compile(r"[,;\n]")
_NUM = re.compile(r"^0*(\d+)$")

STATUSES = ("ok", "split", "district", "province_only", "not_found", "ambiguous", "unparseable")


def _to_i(m: re.Match[str]) -> str:
    return m.group(1) + "i"  # a function: re expands a template like r"\1i" in Python, per match


def _norm(name: str) -> str:
    """Folded name with numbers unpadded ("Phường 01" and "Phường 1" are one name) and one
    spelling of i/y ("ky" and "ki" are one syllable)."""
    if "y" in name:
        name = _IY.sub(_to_i, name)
    if not name[:1].isdigit():
        return name  # the common case, without a regex
    m = _NUM.match(name)
    return m.group(1) if m else name


def split_parts(text: str) -> list[str]:
    """The parts of an address as the resolver reads them: split at commas, semicolons and line
    breaks, edges of spaces, dots and dashes trimmed, empty parts and a trailing country dropped."""
    pieces = text.split(",") if ";" not in text and "\n" not in text else _SPLIT.split(text)  # str.split is faster
    parts = [q for p in pieces if (q := p.strip(" .-"))]
    while parts and parts[-1].casefold() in _COUNTRY_WRITTEN:
        parts.pop()
    return parts


@dataclass
class Address:
    """An address split into its parts (raw text as written)."""

    text: str
    street: str = ""
    commune: str | None = None
    district: str | None = None
    province: str | None = None

    @property
    def style(self) -> str:
        """"old" when a district is written (before 1 July 2025 there were districts)."""
        return "old" if self.district else "new"


@dataclass
class Resolved:
    """What an address names: the unit on its date and its successors on the target date."""

    text: str
    status: str  # one of STATUSES
    address: Address | None = None
    unit: V | None = None
    successors: list[Row] = field(default_factory=list)
    candidates: list[V] = field(default_factory=list)
    message: str = ""
    written: tuple[str, str] | None = None  # (type word written, type recorded) when they differ

    @property
    def split(self) -> bool:
        return len([r for r in self.successors if r.target is not None]) > 1

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "split")

    @property
    def answered(self) -> bool:
        """Resolved, or answered at a coarser level (a district's successors, the province)."""
        return self.ok or self.status in ("district", "province_only")


class AddressResolver:
    """Resolve many addresses against one snapshot; indexes are built once per resolver."""

    def __init__(self, snap: Snapshot, *, today: date | None = None, weights: str = "population"):
        self.snap = snap
        self.today = today or date.today()
        self.composer = Composer(snap, weights)
        self._by_level: dict[str, dict[str, list[V]]] = {"province": {}, "district": {}, "commune": {}}
        self._full: dict[str, dict[str, list[V]]] = {"province": {}, "district": {}, "commune": {}}
        prefixes: dict[str, str] = {}
        norms: dict[str, str] = {}  # names repeat across the country: each normalised once

        def norm(name: str) -> str:
            found = norms.get(name)
            if found is None:
                found = norms[name] = _norm(name)
            return found

        for v in snap.versions.values():
            if v.kind == "admin" and v.level in self._by_level:
                name = v.folded or fold(v.name)
                self._by_level[v.level].setdefault(norm(name), []).append(v)
                if v.full_name.endswith(v.name):  # "Xã " + name: fold the type word once
                    prefix = v.full_name[: len(v.full_name) - len(v.name)]
                    if prefix not in prefixes:
                        prefixes[prefix] = fold(prefix)
                    full = norm(f"{prefixes[prefix]} {name}".strip())
                else:
                    full = norm(fold(v.full_name))
                self._full[v.level].setdefault(full, []).append(v)
        # a province and the provinces it became: an old commune may be written with either
        self._later: dict[int, set[int]] = {}
        for link in snap.links:
            p, s = link.pred, link.succ
            if p is not None and s is not None and p.level == "province" and s.level == "province":
                self._later.setdefault(p.unit_id, {p.unit_id}).add(s.unit_id)
        self._chain: dict[int, tuple[int | None, int | None]] = {}
        self._chain_at: dict[tuple[int, date], tuple[int | None, int | None]] = {}
        self._province_units: dict[str, frozenset[int]] = {}
        self._district_lists: dict[tuple[str, frozenset[int] | None], list[V]] = {}
        self._rewritten: dict[int, list[str]] = {}
        self._readings: dict[str, tuple[NamePart, ...]] = {}
        self._folds: dict[str, str] = {}
        self._lookups: dict[tuple[str, str, bool], list[V]] = {}
        self._successors: dict[int, list[Row]] = {}
        self._paths: dict[int, str] = {}
        self._memo: dict[tuple[str, date | None], Resolved] = {}

    # --- lookups -----------------------------------------------------------------------------

    def _read(self, part: str) -> tuple[NamePart, ...]:
        found = self._readings.get(part)
        if found is None:
            found = self._readings[part] = split_type(part)
        return found

    def _fold(self, text: str) -> str:
        found = self._folds.get(text)
        if found is None:
            found = self._folds[text] = _norm(fold(text))
        return found

    def _lookup(self, part: str, level: str, allowed: frozenset[str], typed: bool = True) -> list[V]:
        """Versions of ``level`` a part names; ``typed=False`` ignores a type word that disagrees."""
        key = (part, level, typed)
        found = self._lookups.get(key)
        if found is None:
            found = self._lookups[key] = self._lookup_uncached(part, level, allowed, typed)
        return found

    def _lookup_uncached(self, part: str, level: str, allowed: frozenset[str], typed: bool) -> list[V]:
        folded = self._fold(part)
        if typed and folded in self._full[level]:  # written in full, as the official lists do
            return self._full[level][folded]
        index = self._by_level[level]
        out: list[V] = []
        for r in self._read(part):
            if r.types is not None and not allowed.intersection(r.types):
                continue
            name = _norm(r.name)
            names = PROVINCE_ALIASES.get(name, (name,)) if level == "province" else (name,)
            for v in (v for n in names for v in index.get(n, ())):
                if typed and r.types is not None and v.type not in r.types:
                    continue
                out.append(v)
            if out:
                break
        if not typed:  # the source wrote the type word into the name ("Phường 5", recorded a xã)
            ids = {v.id for v in out}
            out = out + [v for v in index.get(folded, ()) if v.id not in ids]
        return out

    def chain(self, v: V) -> tuple[int | None, int | None]:
        """(district unit, province unit) a commune version sat in, at its own time.

        It depends only on the parent unit and the version's own day (its ancestors are found on
        it: Snapshot.parent_of), so it is worked out once per parent and day, not per version."""
        found = self._chain.get(v.id)
        if found is None:
            if v.parent_unit_id is None:
                found = (None, None)
            else:
                at = (v.parent_unit_id, v.valid_to or v.valid_from or date.today())
                found = self._chain_at.get(at)
                if found is None:
                    found = self._chain_at[at] = self._walk(v)
            self._chain[v.id] = found
        return found

    def _walk(self, v: V) -> tuple[int | None, int | None]:
        district = province = None
        for a in self.snap.ancestors(v):
            if a.level == "district" and district is None:
                district = a.unit_id
            elif a.level == "province":
                province = a.unit_id
                break
        return district, province

    def _provinces(self, part: str) -> frozenset[int]:
        found = self._province_units.get(part)
        if found is None:
            versions = (self._lookup(part, "province", PROVINCE_TYPES)
                        or self._lookup(part, "province", PROVINCE_TYPES, False))
            found = self._province_units[part] = frozenset(v.unit_id for v in versions)
        return found

    def _in_province(self, v: V, provinces: frozenset[int]) -> bool:
        """Whether ``v`` lay in one of ``provinces`` at its time, or in one its province became."""
        own = self.chain(v)[1]
        return own in provinces or (own is not None and not provinces.isdisjoint(self._later.get(own, ())))

    def _districts(self, part: str, provinces: frozenset[int] | None) -> list[V]:
        """The districts ``part`` names (in ``provinces``); the same list for the same question
        (a district is written in thousands of addresses)."""
        key = (part, provinces)
        found = self._district_lists.get(key)
        if found is None:
            found = self._district_lists[key] = self._districts_uncached(part, provinces)
        return found

    def _districts_uncached(self, part: str, provinces: frozenset[int] | None) -> list[V]:
        for typed in (True, False):  # "TX. Thủy Nguyên" for what had become a thành phố
            found = self._lookup(part, "district", DISTRICT_TYPES, typed)
            if provinces is not None:
                found = [d for d in found if self._in_province(d, provinces)]
            if found:
                return found
        return []

    def _communes(self, part: str, provinces: frozenset[int] | None, districts: set[int] | None,
                  typed: bool = True) -> list[V]:
        found = self._lookup(part, "commune", COMMUNE_TYPES, typed)
        if districts is not None:  # a commune's parent is its district (before 1 July 2025)
            found = [c for c in found if c.parent_unit_id in districts or self.chain(c)[0] in districts]
        if provinces is not None:
            found = [c for c in found if self._in_province(c, provinces)]
        return found

    # --- parsing --------------------------------------------------------------------------------

    def _interpret(self, parts: list[str]) -> tuple[Address, list[V], frozenset[int] | None]:
        """The reading of the parts that names a commune, with its candidates (maybe none)."""
        text = ", ".join(parts)
        i = len(parts) - 1
        provinces: frozenset[int] | None = None
        prov_text = None
        if i >= 1 or (i == 0 and self._provinces(parts[0]) and not self._communes(parts[0], None, None)):
            found = self._provinces(parts[i])
            if found:
                provinces, prov_text = found, parts[i]
                i -= 1
        if i < 0:
            return Address(text, province=prov_text), [], provinces
        if i >= 1 and not self.typed_commune(parts[i]):
            districts = self._districts(parts[i], provinces)
            if districts:
                units = {d.unit_id for d in districts}
                found = self._communes(parts[i - 1], provinces, units)
                if not found:
                    found = self._communes(parts[i - 1], provinces, units, typed=False)
                if found:
                    return (Address(text, ", ".join(parts[: i - 1]), parts[i - 1], parts[i], prov_text),
                            found, provinces)
        found = self._communes(parts[i], provinces, None)
        if not found:
            found = self._communes(parts[i], provinces, None, typed=False)
        if not found and i >= 1 and any(r.types is not None and DISTRICT_TYPES.issuperset(r.types)
                                        for r in self._read(parts[i])):
            # written as "commune, district[, province]" but not found: report it that way
            return Address(text, ", ".join(parts[: i - 1]), parts[i - 1], parts[i], prov_text), [], provinces
        return Address(text, ", ".join(parts[:i]), parts[i], None, prov_text), found, provinces

    def typed_commune(self, part: str) -> bool:
        """Whether a part can only be read as a commune (then it is not tried as a district)."""
        folded = self._fold(part)
        if folded in self._full["commune"] or folded in self._full["district"]:
            return folded not in self._full["district"]
        return all(r.types is not None and COMMUNE_TYPES.issuperset(r.types) for r in self._read(part))

    def parse(self, text: str) -> Address:
        """Split an address into street, commune, district and province (as written)."""
        return self._interpret(self._parts(text))[0]

    @staticmethod
    def _parts(text: str) -> list[str]:
        return split_parts(text)

    # --- resolving ------------------------------------------------------------------------------

    def successors(self, v: V) -> list[Row]:
        found = self._successors.get(v.id)
        if found is None:
            found = self._successors[v.id] = self.composer.compose(v, self.today)
        return found

    def path(self, v: V) -> str:
        """The version with its parents, for people (``Snapshot.path``), once per version (the
        new communes are the successors of thousands of addresses)."""
        found = self._paths.get(v.id)
        if found is None:
            found = self._paths[v.id] = self.snap.path(v)
        return found

    def rewrite(self, res: Resolved) -> list[str]:
        """``rewrite(snap, res, today)``, with each successor's commune and province found once."""
        street = res.address.street.strip() if res.address else ""
        return [", ".join(dict.fromkeys(p for p in [street, *tail] if p)) for tail in self.tails(res)]

    def tails(self, res: Resolved) -> list[list[str]]:
        """What follows the street in each successor's new address (its commune and province)."""
        out = []
        for r in res.successors:
            if r.target is None:
                continue
            tail = self._rewritten.get(r.target.id)
            if tail is None:
                chain = [r.target] + [a for a in self.snap.ancestors(r.target, self.today) if a.level == "province"]
                tail = self._rewritten[r.target.id] = [v.full_name for v in chain if v.level in ("commune", "province")]
            out.append(tail)
        return out

    def resolve(self, text: str, *, as_of: date | None = None, parts: list[str] | None = None) -> Resolved:
        """The unit an address names (on ``as_of`` if given) and its successors on ``today``
        (``parts``: ``split_parts(text)`` when the caller has it already)."""
        key = (text, as_of)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._resolve(text, as_of, parts)
        return found

    def resolve_many(self, texts: list[str], *, as_of: date | None = None,
                     parts: list[list[str]] | None = None) -> list[Resolved]:
        with paused_gc():
            if parts is not None:
                return [self.resolve(t, as_of=as_of, parts=p) for t, p in zip(texts, parts, strict=True)]
            return [self.resolve(t, as_of=as_of) for t in texts]

    def _resolve(self, text: str, as_of: date | None, parts: list[str] | None = None) -> Resolved:
        if parts is None:
            parts = self._parts(text or "")
        if not parts:
            return Resolved(text, "unparseable", message=_("empty address"))
        address, found, provinces = self._interpret(parts)
        if address.commune is None:
            return Resolved(text, "unparseable", address, message=_("no commune-level unit in the address"))
        if as_of is not None:
            found = [v for v in found if v.valid_on(as_of)]
        if not found:
            coarser = self._coarser(text, address, provinces, as_of)
            if coarser is not None:
                return coarser
            return Resolved(text, "not_found", address, message=self._why_not(address, provinces, as_of))
        if not address.district and as_of is None:
            current = [v for v in found if v.valid_on(self.today)]
            found = current or found
        units: dict[int, list[V]] = {}
        for v in (found if len(found) == 1 else sorted(found, key=lambda v: v.valid_from or date.min)):
            units.setdefault(v.unit_id, []).append(v)
        if len(units) > 1 and as_of is None:
            # As in names: the units of the register of July 2025 before the 2003-2025 history.
            recent = {uid: vs for uid, vs in units.items()
                      if any(x.valid_to is None or x.valid_to >= BASE_DAY for x in vs)}
            units = recent or units
        if len(units) > 1:
            units = self._prefer_spelling(address.commune, units)
        if len(units) > 1:
            cands = [vs[-1] for vs in units.values()]
            listed = "; ".join(f"{self.snap.path(v)} [{v.code}, {v.period()}]" for v in cands)
            return Resolved(text, "ambiguous", address, candidates=cands,
                            message=_("{n} units match: {listed}; add the district or province").format(
                                n=len(cands), listed=listed))
        versions = next(iter(units.values()))
        ended = [v for v in versions if v.valid_to is not None]  # an address with a district is pre-2025
        unit = (ended[-1] if ended else versions[0]) if address.district else versions[-1]
        rows = self.successors(unit)
        status = "split" if len([r for r in rows if r.target is not None]) > 1 else "ok"
        words = self.written_as(address.commune, unit)
        note = _("written as {typed}, recorded as {type}").format(typed=words[0], type=words[1]) if words else ""
        return Resolved(text, status, address, unit, rows, message=note, written=words)

    def written_as(self, commune: str, unit: V) -> tuple[str, str] | None:
        """(type word written, type recorded) when the commune part names ``unit`` with another type."""
        if not any(v is unit for v in self._full["commune"].get(self._fold(commune), ())):  # by identity:
            # a version is equal only to itself (its id), and comparing dataclasses field by field is slow
            typed = [r.types for r in self._read(commune) if r.types is not None]
            if typed and unit.type not in typed[0]:
                return typed[0][0], unit.type
        return None

    def _coarser(self, text: str, address: Address, provinces: frozenset[int] | None,
                 as_of: date | None) -> Resolved | None:
        """No commune found: a district named alone (answered with what its communes became), or a
        street and a province only (answered with the province); None when neither applies."""
        assert address.commune is not None
        part, street = address.district, address.commune
        if part is None:
            readings = self._read(address.commune)
            if not all(r.types is not None and COMMUNE_TYPES.issuperset(r.types) for r in readings):
                part, street = address.commune, address.street
        if part is not None:
            districts = [d for d in self._districts(part, provinces) if as_of is None or d.valid_on(as_of)]
            units: dict[int, V] = {}
            for d in sorted(districts, key=lambda d: d.valid_from or date.min):
                units[d.unit_id] = d
            if len(units) == 1:
                d = next(iter(units.values()))
                shown = Address(text, street, None, part, address.province)
                return Resolved(text, "district", shown, d, self._district_successors(d),
                                message=_("no commune named: answered with the successors of {name}").format(
                                    name=d.full_name))
            if len(units) > 1:
                listed = "; ".join(f"{self.snap.path(v)} [{v.code}, {v.period()}]" for v in units.values())
                return Resolved(text, "ambiguous", address, candidates=list(units.values()),
                                message=_("{n} districts match: {listed}; add the province").format(n=len(units), listed=listed))
        if provinces and address.province is not None and address.district is None:
            versions = sorted((v for uid in provinces for v in self.snap.by_unit.get(uid, ())
                               if as_of is None or v.valid_on(as_of)), key=lambda v: v.valid_from or date.min)
            current = [v for v in versions if v.valid_on(self.today)]
            if len(provinces) == 1 and versions:
                p = (current or versions)[-1]
                street_part = ", ".join(x for x in (address.street, address.commune) if x)
                shown = Address(text, street_part, None, None, address.province)
                return Resolved(text, "province_only", shown, p, self.successors(p),
                                message=_("no commune or district in the address; answered with the province"))
        return None

    def _district_successors(self, d: V) -> list[Row]:
        """The units a district's communes became, with the share of the district each took
        (communes weighted by population where known, else equally); a district that itself
        became a unit (an island district turned special zone) is answered with that unit."""
        own = [r for r in self.successors(d) if r.target is not None]
        if own:
            return own
        last = d.valid_to or self.today
        communes = [v for v in self.snap.valid_on(last) if v.parent_unit_id == d.unit_id and v.level == "commune"]
        pops = [(self.snap.statistics(c) or {}).get("population") for c in communes]
        weights = pops if communes and all(pops) else [1.0] * len(communes)
        total = float(sum(weights)) or 1.0  # type: ignore[arg-type]
        acc: dict[int, list] = {}  # type: ignore[type-arg]
        for c, w in zip(communes, weights, strict=True):
            for r in self.successors(c):
                if r.target is None:
                    continue
                entry = acc.setdefault(r.target.id, [r.target, 0.0, set(r.bases), []])
                entry[1] += r.share * float(w) / total  # type: ignore[arg-type]
                entry[2] |= r.bases
                entry[3] += list(r.events)
        basis = "district-communes-" + ("population" if communes and all(pops) else "equal")
        rows = [Row(d, t, share, frozenset(bases | {basis}), tuple(dict.fromkeys(evs)))
                for t, share, bases, evs in acc.values()]
        return sorted(rows, key=lambda r: r.target.code if r.target else "")

    @staticmethod
    def _prefer_spelling(part: str, units: dict[int, list[V]]) -> dict[int, list[V]]:
        """Among units whose names fold alike ("Sa Pa"/"Sa Pả"), those spelled as written."""
        if fold(part) == part.casefold().strip():
            return units  # written without marks: nothing to prefer
        sp = spelling(part)
        exact = {uid: vs for uid, vs in units.items()
                 if any(sp == spelling(v.full_name) or sp == spelling(v.name)
                        or sp.endswith((" " + spelling(v.name), "." + spelling(v.name))) for v in vs)}
        return exact or units

    def _why_not(self, address: Address, provinces: frozenset[int] | None, as_of: date | None) -> str:
        assert address.commune is not None
        where = ", ".join(x for x in (address.district, address.province) if x)
        elsewhere = self._communes(address.commune, None, None, typed=False)
        if address.district:
            districts = {d.unit_id for d in self._districts(address.district, None)}
            elsewhere = [c for c in elsewhere if self.chain(c)[0] in districts] or elsewhere
        msg = _("no commune {name!r}").format(name=address.commune) + (
            _(" in {where}").format(where=where) if where else "") + (
            _(" on {day}").format(day=fdate(as_of)) if as_of else "")
        if elsewhere:
            shown = "; ".join(sorted({self.snap.path(v) for v in elsewhere})[:3])
            msg += _("; the name exists in: {shown}").format(shown=shown) + (" …" if len(elsewhere) > 3 else "")
        return msg


def rewrite(snap: Snapshot, res: Resolved, today: date) -> list[str]:
    """The address written anew, one per successor: the street part kept, the new unit and its
    province in place of the old ones ("Đường Trần Não, Phường An Khánh, Thành phố Hồ Chí Minh")."""
    street = res.address.street.strip() if res.address else ""
    out = []
    for r in res.successors:
        if r.target is None:
            continue
        chain = [r.target] + [a for a in snap.ancestors(r.target, today) if a.level == "province"]
        parts = [street] + [v.full_name for v in chain if v.level in ("commune", "province")]
        out.append(", ".join(dict.fromkeys(p for p in parts if p)))
    return out


def resolve(snap: Snapshot, text: str, *, as_of: date | None = None, today: date | None = None) -> Resolved:
    """One address (for many, make one ``AddressResolver`` and reuse it)."""
    return AddressResolver(snap, today=today).resolve(text, as_of=as_of)
