"""``merger resolve --file`` for spellings never seen before, without the snapshot: the resolver's
name index and each commune's answer, noted once per register generation.

The answers the note of ``merger.resolve_index`` keeps are keyed by spelling, so a file written
another way (no marks, lower case, type words dropped or abbreviated) or the first file after a
write goes to the resolver, which reads the whole snapshot and indexes every name (~0.3 s) before
the first address. This note keeps what the resolver consults instead, as data: for every
commune, district and province version its level, type, unit, parent, the district and province
it sat in (``AddressResolver.chain``), its dates, the resolver's name indexes (same keys, same
order), the provinces each province became, and for every commune version the cells of its
answer on the note's days (``resolve_cells.CELLS``: its successors, shares, new names).

``Names.cells`` then reads an address the way ``AddressResolver._interpret`` and ``_resolve``
do, step by step (the same lookups, filters, order, preference of spelling and choice of
version), for the two usual forms: "commune, district, province" and "commune, province", with
anything in front as the street. Whatever it is not sure of (no province found, no commune
found, a district alone, a name holding a separator) returns None and goes to the resolver, so
an answer from here is the resolver's answer (tests/test_resolve_first.py compares them on the
10,035 NSO addresses, the new communes and their variants, and drawn ones).

The note is built from a resolver that has the snapshot already (the first ``resolve --file``
of a generation that asks the resolver about more than ``resolve_index.NAMES_AFTER`` addresses),
or carried from the note of the generation before across the writes since
(``merger.resolve_carry``: the same rows, answers and labels as a build, row for row; its
answers' texts numbered otherwise), once per generation and days alike
(``resolve_index.days_alike``), and trusted on the cache's terms (``merger.cache.trusted``:
this user's regular file, writable by no one else; then the right format and generation); a
stale, foreign or damaged note is only a miss. It is a line of JSON, then stdlib ``array``
bytes and UTF-8 text (never pickle; ``pack``/``unpack``): numbers are read with
``array.frombytes``, each answer is decoded when an address asks for it, and an index is decoded
when first asked.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from array import array
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

from merger.addresses import COMMUNE_TYPES, DISTRICT_TYPES, PROVINCE_ALIASES, PROVINCE_TYPES, Resolved, _norm
from merger.i18n import _, fdate
from merger.names import NamePart, fold, spelling, split_type, strip_marks
from merger.resolve_cells import _FS, _GS, _RS, _US, Answer, _message
from merger.search import BASE_DAY

if TYPE_CHECKING:
    from pathlib import Path

    from merger.addresses import AddressResolver
    from merger.graph import V
    from merger.register import Register

NOTE_SUFFIX = ".resolve-names"
LEVELS = ("commune", "district", "province")
_ALLOWED = (COMMUNE_TYPES, DISTRICT_TYPES, PROVINCE_TYPES)
_COLUMNS = ("level", "type", "unit", "parent", "cdist", "cprov", "vf", "vt", "answer", "fkey", "id")
_NONE = -1  # an absent parent, district, province or answer
_UNDATED_TO = 0  # valid_to None (valid_from None is date.min's ordinal: the resolver sorts it so)
_BASE = BASE_DAY.toordinal()
_FOLDED = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")  # what fold leaves as it is


def _ints(values: list[int] | array[int]) -> array[int]:
    return array("i", values)  # OverflowError past 2**31


def _unints(value: object) -> array[int]:
    """A column or an index's numbers as a note holds them (``unpack``); else TypeError."""
    if not (isinstance(value, array) and value.typecode == "i"):
        raise TypeError("not a column")
    return value


def folded(text: str) -> str:
    """``_norm(fold(text))`` (AddressResolver._fold), fold's regular expressions skipped where they
    would change nothing."""
    plain = strip_marks(text).casefold()
    if not _FOLDED.fullmatch(plain):
        plain = fold(text)  # punctuation, other spaces: fold's own rules
    return _norm(plain)


class _Index:
    """One of the resolver's name indexes (key -> versions, in its order) as row numbers."""

    __slots__ = ("keys", "starts", "rows")

    def __init__(self, keys: dict[str, int], starts: array[int], rows: array[int]):
        self.keys, self.starts, self.rows = keys, starts, rows

    def get(self, key: str) -> array[int] | tuple[()]:
        i = self.keys.get(key)
        return () if i is None else self.rows[self.starts[i]: self.starts[i + 1]]

    def __contains__(self, key: str) -> bool:
        return key in self.keys


def _encode_index(index: dict[str, list[int]]) -> list[str]:
    starts, rows = [0], []
    for found in index.values():
        rows.extend(found)
        starts.append(len(rows))
    return [_RS.join(index), _ints(starts), _ints(rows)]


def _decode_index(value: object, n: int) -> _Index:
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)):
        raise TypeError("not an index")
    keys = value[0].split(_RS) if value[0] else []
    starts, rows = _unints(value[1]), _unints(value[2])
    if len(starts) != len(keys) + 1 or starts[0] != 0 or starts[-1] != len(rows) or \
            (rows and (min(rows) < 0 or max(rows) >= n)):
        raise ValueError("a damaged index")
    return _Index(dict(zip(keys, range(len(keys)), strict=True)), starts, rows)


class Names:
    """The resolver's names and the communes' answers of one generation, for the days ``first``
    to ``last``; the memos of one run (distinct parts are read once)."""

    def __init__(self, generation: str, first: date, last: date, undated: bool, types: list[str],
                 cols: dict[str, array[int]], indexes: list[object], later: dict[int, frozenset[int]],
                 blob: bytes | memoryview, ends: array[int]):
        self.generation, self.first, self.last, self.undated = generation, first, last, undated
        self.types = types
        self.level, self.type, self.unit = cols["level"], cols["type"], cols["unit"]
        self.parent, self.cdist, self.cprov = cols["parent"], cols["cdist"], cols["cprov"]
        self.vf, self.vt, self.answer, self.fkey = cols["vf"], cols["vt"], cols["answer"], cols["fkey"]
        self._indexes = indexes  # as noted, each decoded when first asked (_index)
        self._decoded: list[_Index | None] = [None] * len(indexes)
        self.full0 = self._index(0)  # AddressResolver._full["commune"]: asked by every address
        self.later = later
        self.blob, self.ends = blob, ends  # answer i: UTF-8 blob[ends[i - 1]:ends[i]]; then the versions' names
        self._labels_at = ends[-1] if ends else 0
        self._labels: list[str] | None = None
        self._answers: dict[int, Answer | None] = {}
        self._plain: dict[int, list[str] | None] = {}  # the cells of an address without a street
        self._folds: dict[str, str] = {}
        self._readings: dict[str, tuple[NamePart, ...]] = {}
        self._lookups: dict[tuple[str, int, bool], list[int]] = {}
        self._provinces: dict[str, frozenset[int]] = {}
        self._districts: dict[tuple[str, frozenset[int]], set[int]] = {}
        self._typed: dict[str, bool] = {}

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last and (not self.undated or self.first <= date.today() <= self.last)

    def _index(self, i: int) -> _Index:
        """Index ``i``: the resolver's _full of each level (0-2), then its _by_level (3-5); a
        damaged one raises ValueError (the caller's note is then a miss)."""
        found = self._decoded[i]
        if found is None:
            found = self._decoded[i] = _decode_index(self._indexes[i], len(self.level))
        return found

    # --- the resolver's lookups, on row numbers (AddressResolver's methods of the same names) ---

    def _fold(self, text: str) -> str:
        found = self._folds.get(text)
        if found is None:
            found = self._folds[text] = folded(text)
        return found

    def _read(self, part: str) -> tuple[NamePart, ...]:
        found = self._readings.get(part)
        if found is None:
            found = self._readings[part] = split_type(part)
        return found

    def _lookup(self, part: str, level: int, typed: bool = True) -> list[int]:
        key = (part, level, typed)
        found = self._lookups.get(key)
        if found is None:
            found = self._lookups[key] = self._lookup_uncached(part, level, typed)
        return found

    def _lookup_uncached(self, part: str, level: int, typed: bool) -> list[int]:
        folded = self._fold(part)
        full = self._index(level)
        if typed and folded in full:
            return list(full.get(folded))
        index, allowed, types = self._index(3 + level), _ALLOWED[level], self.types
        out: list[int] = []
        for r in self._read(part):
            if r.types is not None and not allowed.intersection(r.types):
                continue
            name = _norm(r.name)
            names = PROVINCE_ALIASES.get(name, (name,)) if level == 2 else (name,)
            for v in (v for n in names for v in index.get(n)):
                if typed and r.types is not None and types[self.type[v]] not in r.types:
                    continue
                out.append(v)
            if out:
                break
        if not typed:
            ids = set(out)
            out = out + [v for v in index.get(folded) if v not in ids]
        return out

    def _in_province(self, v: int, provinces: frozenset[int]) -> bool:
        own = self.cprov[v]
        return own in provinces or (own != _NONE and not provinces.isdisjoint(self.later.get(own, ())))

    def provinces(self, part: str) -> frozenset[int]:
        found = self._provinces.get(part)
        if found is None:
            rows = self._lookup(part, 2) or self._lookup(part, 2, False)
            found = self._provinces[part] = frozenset(self.unit[v] for v in rows)
        return found

    def _districts_in(self, part: str, provinces: frozenset[int]) -> set[int]:
        """The units of the districts ``part`` names in ``provinces`` (AddressResolver._districts)."""
        for typed in (True, False):
            rows = [d for d in self._lookup(part, 1, typed) if self._in_province(d, provinces)]
            if rows:
                return {self.unit[d] for d in rows}
        return set()

    def typed_commune(self, part: str) -> bool:
        found = self._typed.get(part)
        if found is None:
            folded = self._fold(part)
            if folded in self.full0 or folded in self._index(1):
                found = folded not in self._index(1)
            else:
                found = all(r.types is not None and COMMUNE_TYPES.issuperset(r.types) for r in self._read(part))
            self._typed[part] = found
        return found

    def _communes(self, part: str, provinces: frozenset[int], districts: set[int] | None, typed: bool) -> list[int]:
        found = self._lookup(part, 0, typed)
        if districts is not None:
            parent, cdist = self.parent, self.cdist
            found = [c for c in found if parent[c] in districts or cdist[c] in districts]
        return [c for c in found if self._in_province(c, provinces)]

    # --- an address --------------------------------------------------------------------------------

    def cells(self, parts: list[str], text: str,
              today: date) -> tuple[list[str], Resolved | None, tuple[int, int, str] | None] | None:
        """The cells ``CELLS`` the resolver gives an address, its answer when it is not answered
        (ambiguous), and what ``resolve_index.Table`` may keep of it (the number of last parts the
        answer holds for with any street, the unit version and the type words written, for
        ``noted``; None: nothing), or None when the resolver must be asked."""
        n = len(parts)
        if n < 2:
            return None
        provinces = self._provinces.get(parts[-1])
        if provinces is None:
            provinces = self.provinces(parts[-1])
        if not provinces:
            return None
        i = n - 2
        if i >= 1:
            key = (parts[i], provinces)
            districts = self._districts.get(key)
            if districts is None:
                districts = self._districts[key] = (set() if self.typed_commune(parts[i])
                                                    else self._districts_in(parts[i], provinces))
            if districts:
                commune = parts[i - 1]
                street = ", ".join(parts[: i - 1]) if i > 1 else ""
                key_ = self._folds.get(commune)
                if key_ is None:
                    key_ = self._folds[commune] = folded(commune)
                full = self.full0
                at = full.keys.get(key_)
                if at is not None:  # written in full: _lookup's first answer, filtered
                    parent, cdist, cprov = self.parent, self.cdist, self.cprov
                    start, end = full.starts[at], full.starts[at + 1]
                    if end - start == 1:
                        c = full.rows[start]
                        found = [c] if ((parent[c] in districts or cdist[c] in districts)
                                        and (cprov[c] in provinces or self._in_province(c, provinces))) else []
                    else:
                        found = [c for c in full.rows[start:end] if (parent[c] in districts or cdist[c] in districts)
                                 and (cprov[c] in provinces or self._in_province(c, provinces))]
                    if len(found) == 1:  # the common case: one version, found under its full name
                        v = found[0]
                        row = self._plain.get(v) if not street else None
                        if row is None:
                            row = self._row(v, street)
                        if row is not None:
                            return row, None, (3, v, "")
                else:
                    found = self._communes(commune, provinces, districts, True)
                if not found:
                    found = self._communes(commune, provinces, districts, False)
                if found:
                    return self._finish(text, found, commune, True, street, today, 3)
        found = self._communes(parts[i], provinces, None, True) or self._communes(parts[i], provinces, None, False)
        if not found:
            return None
        return self._finish(text, found, parts[i], False, ", ".join(parts[:i]), today,
                            2 if self.typed_commune(parts[i]) else 0)

    def _finish(self, text: str, found: list[int], commune: str, district: bool, street: str, today: date,
                kept: int) -> tuple[list[str], Resolved | None, tuple[int, int, str] | None] | None:
        """``AddressResolver._resolve`` from the candidates on (``as_of`` is never given here);
        ``kept``: the last parts the answer holds for with any street (0: none)."""
        if len(found) == 1:  # one version: it is the unit's version answered, whichever rule applies
            unit = found[0]
        else:
            found_unit = self._choose(text, found, commune, district, today)
            if not isinstance(found_unit, int):
                return (*found_unit, None)
            unit = found_unit
        row = self._row(unit, street)
        if row is None:
            return None
        if self.fkey[unit] != self.full0.keys.get(self._fold(commune), _NONE):  # AddressResolver.written_as:
            # the version is not among those the part names in full (each is under one full name)
            typed = [r.types for r in self._read(commune) if r.types is not None]
            type_ = self.types[self.type[unit]]
            if typed and type_ not in typed[0]:
                written = f"{typed[0][0]}{_GS}{type_}"
                row = [*row[:11], _message(written)]
                return row, None, (kept, unit, written) if kept else None
        return row, None, (kept, unit, "") if kept else None

    def _choose(self, text: str, found: list[int], commune: str, district: bool,
                today: date) -> int | tuple[list[str], Resolved]:
        """The version answered among several candidates, or the ambiguous answer."""
        vf, vt = self.vf, self.vt
        if not district:
            day = today.toordinal()
            current = [v for v in found if vf[v] <= day and (vt[v] == _UNDATED_TO or day <= vt[v])]
            found = current or found
        units: dict[int, list[int]] = {}
        for v in (found if len(found) == 1 else sorted(found, key=vf.__getitem__)):
            units.setdefault(self.unit[v], []).append(v)
        if len(units) > 1:
            recent = {uid: vs for uid, vs in units.items() if any(vt[x] == _UNDATED_TO or vt[x] >= _BASE for x in vs)}
            units = recent or units
        if len(units) > 1:
            units = self._prefer_spelling(commune, units)
        if len(units) > 1:
            cands = [vs[-1] for vs in units.values()]
            listed = "; ".join(self._listed(v) for v in cands)
            message = _("{n} units match: {listed}; add the district or province").format(n=len(cands), listed=listed)
            return ["ambiguous", *[""] * 10, message], Resolved(text, "ambiguous", message=message)
        versions = next(iter(units.values()))
        ended = [v for v in versions if vt[v] != _UNDATED_TO]
        return (ended[-1] if ended else versions[0]) if district else versions[-1]

    def _fields(self, v: int) -> list[str] | None:
        i = self.answer[v]
        if 0 <= i < len(self.ends):
            fields = str(self.blob[self.ends[i - 1] if i else 0: self.ends[i]], "utf-8", "surrogatepass").split(_US)
            if len(fields) == 12 and fields[0] in ("ok", "split"):
                return fields
        return None

    def noted(self, v: int, written: str) -> str:
        """Unit version ``v``'s answer in ``resolve_index.Table``'s form, with the type words
        written (``cells``' third item)."""
        i = self.answer[v]
        return str(self.blob[self.ends[i - 1] if i else 0: self.ends[i]], "utf-8", "surrogatepass") + _US + written

    def _row(self, v: int, street: str) -> list[str] | None:
        """The cells of unit version ``v``'s answer for an address with this street (message empty)."""
        if not street or not street.strip():
            plain = self._plain.get(v, False)
            if plain is False:
                plain = self._plain[v] = self._fields(v)
                if plain is not None:
                    plain[11] = ""  # the tails' place: the message (none)
            return plain  # one list for every address without a street (as resolve_index.Table.lookup)
        found = self._answers.get(v, False)
        if found is False:
            fields = self._fields(v)
            found = self._answers[v] = None if fields is None else Answer(
                fields[:10], tuple(tuple(t.split(_GS)) for t in fields[11].split(_FS)) if fields[11] else (), "")
        return None if found is None else found.row(street)

    def _label(self, v: int) -> list[str]:
        """(path, code, name, full name) of a commune version."""
        if self._labels is None:
            self._labels = str(self.blob[self._labels_at:], "utf-8", "surrogatepass").split(_RS)
        names = self._labels[v].split(_US) if v < len(self._labels) else []
        fields = self._fields(v)
        return [fields[3], fields[2], *names] if len(names) == 2 and fields is not None else ["", "", "", ""]

    def _listed(self, v: int) -> str:
        """A candidate as the resolver lists it: its path, code and period."""
        start = fdate(date.fromordinal(self.vf[v]) if self.vf[v] > 1 else None, "…")
        end = fdate(date.fromordinal(self.vt[v]) if self.vt[v] != _UNDATED_TO else None)
        path, code, _name, _full = self._label(v)
        return f"{path} [{code}, {f'{start} – {end}'.rstrip()}]"

    def _prefer_spelling(self, part: str, units: dict[int, list[int]]) -> dict[int, list[int]]:
        if fold(part) == part.casefold().strip():
            return units
        sp = spelling(part)

        def spelled(v: int) -> bool:
            _path, _code, name, full = self._label(v)
            return sp == spelling(full) or sp == spelling(name) or sp.endswith((" " + spelling(name), "." + spelling(name)))

        exact = {uid: vs for uid, vs in units.items() if any(spelled(v) for v in vs)}
        return exact or units


# --- made from a resolver, and noted ---------------------------------------------------------------

# The file: MAGIC, one line of JSON (format, generation, byte order, days, type words, the
# provinces each became, "since", and the length of each section after it), then the sections:
# each column's and the answers' ends' ``array`` bytes, each index's keys (UTF-8) and numbers,
# then the answers and the versions' names as UTF-8 text (JSON's parser took ~40 ms over the
# same text held as one JSON string; format 3 held the numbers in base64 inside the JSON line,
# ~1.7 MB of it at the national size: ~10 ms to write and ~5 to read, now array bytes as they are).
MAGIC = b"merger resolve names\n"
FORMAT = 4  # 1: answers' offsets in characters; 2: no version ids, no "since"; 3: numbers in the JSON line
_BIG = ("columns", "ends", "indexes")  # the header's values held as sections, not in its JSON line


def header_of(first: date, last: date, undated: bool, types: list[str], cols: dict[str, array[int]],
              indexes: list[Any], later: list[Any], ends: array[int]) -> dict[str, Any]:
    """A note's header (``pack`` writes it), for a build (``Parts.encoded``) and a carry alike."""
    return {"byteorder": sys.byteorder, "first": first.isoformat(), "last": last.isoformat(), "undated": undated,
            "types": list(types), "columns": {c: cols[c] for c in _COLUMNS}, "indexes": indexes, "later": later,
            "ends": ends}


def pack(header: dict[str, Any]) -> tuple[bytes, list[bytes]]:
    """A note's header as its JSON line and its sections (``unpack`` reads them back)."""
    small = {k: v for k, v in header.items() if k not in _BIG}
    sections = [header["columns"][c].tobytes() for c in _COLUMNS] + [header["ends"].tobytes()]
    for keys, starts, rows in header["indexes"]:
        sections += [keys.encode("utf-8", "surrogatepass"), starts.tobytes(), rows.tobytes()]
    small["sections"] = [len(section) for section in sections]
    return json.dumps(small, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"), sections


def unpack(small: dict[str, Any], body: bytes | memoryview) -> tuple[dict[str, Any], memoryview]:
    """The header (its sections as arrays and texts again) and the text after the sections, of
    a note whose JSON line is ``small`` and the bytes after it ``body``; ValueError, TypeError or
    KeyError when they are not in that shape."""
    sizes = small["sections"]
    if not (isinstance(sizes, list) and len(sizes) >= len(_COLUMNS) + 1 and (len(sizes) - len(_COLUMNS) - 1) % 3 == 0
            and all(type(size) is int and size >= 0 for size in sizes)):
        raise ValueError("sections")
    view, at, parts = memoryview(body), 0, []
    for size in sizes:
        if at + size > len(view):
            raise ValueError("a section past the end")
        parts.append(view[at: at + size])
        at += size

    def ints(part: memoryview) -> array[int]:
        found = array("i")
        found.frombytes(part)  # ValueError: not a whole number of ints
        return found

    header = {k: v for k, v in small.items() if k != "sections"}
    header["columns"] = {c: ints(parts[i]) for i, c in enumerate(_COLUMNS)}
    header["ends"] = ints(parts[len(_COLUMNS)])
    header["indexes"] = [[str(parts[i], "utf-8", "surrogatepass"), ints(parts[i + 1]), ints(parts[i + 2])]
                         for i in range(len(_COLUMNS) + 1, len(parts), 3)]
    return header, view[at:]


def version_row(resolver: AddressResolver, v: V) -> tuple[int, tuple[int, ...], str | None, str]:
    """One version as the note holds it: its level, its unit, parent, district, province and
    dates (the columns of ``_COLUMNS`` from "unit" to "vt"), its answer's text (a commune's; None:
    not noted, the resolver answers) and its label (a commune's names). ``build`` and the carrying
    of a note across a write (``merger.resolve_carry``) both make rows here, so they agree."""
    from merger.resolve_cells import cells_of

    level = LEVELS.index(v.level)
    district, province = resolver.chain(v) if level < 2 else (None, None)
    fields = (v.unit_id, _NONE if v.parent_unit_id is None else v.parent_unit_id,
              _NONE if district is None else district, _NONE if province is None else province,
              (v.valid_from or date.min).toordinal(), _UNDATED_TO if v.valid_to is None else v.valid_to.toordinal())
    text: str | None = None
    label = ""
    if level == 0:
        rows = resolver.successors(v)
        status = "split" if len([r for r in rows if r.target is not None]) > 1 else "ok"
        res = Resolved("", status, None, v, rows)
        text = _US.join([*cells_of(resolver, res)[:11], _FS.join(_GS.join(t) for t in resolver.tails(res))])
        if text.count(_US) != 11 or _RS in text:  # a name holding a separator: the resolver answers
            text = None
        label = _US.join([v.name, v.full_name])
        if label.count(_US) != 1 or _RS in label:
            label = ""
    return level, fields, text, label


def build(resolver: AddressResolver, first: date, last: date, undated: bool) -> tuple[dict[str, object], bytes]:
    """The note (its header and text), from a resolver: its snapshot, indexes, chains, and answers
    on its today."""
    snap = resolver.snap
    versions = [v for v in snap.versions.values() if v.kind == "admin" and v.level in LEVELS]
    row_of = {v.id: i for i, v in enumerate(versions)}
    parts = Parts([], {c: [] for c in _COLUMNS if c not in ("answer", "fkey")}, [], [], [],
                  [[unit, sorted(units)] for unit, units in resolver._later.items()])  # noqa: SLF001
    types: dict[str, int] = {}
    cols = parts.cols
    for v in versions:
        level, fields, text, label = version_row(resolver, v)
        cols["level"].append(level)
        cols["type"].append(types.setdefault(v.type, len(types)))
        for name, value in zip(("unit", "parent", "cdist", "cprov", "vf", "vt"), fields, strict=True):
            cols[name].append(value)
        cols["id"].append(v.id)
        parts.texts.append(None if text is None else text.encode("utf-8", "surrogatepass"))
        parts.labels.append(label.encode("utf-8", "surrogatepass"))
    parts.types.extend(types)
    for source in (resolver._full, resolver._by_level):  # noqa: SLF001  (the resolver's own indexes)
        for level in LEVELS:
            parts.indexes.append({k: [row_of[v.id] for v in vs] for k, vs in source[level].items() if _RS not in k})
    return parts.note(first, last, undated)


class Parts(NamedTuple):
    """A note before it is encoded: the type words, the columns but "answer" and "fkey" (per row),
    each row's answer text (None: not noted) and label in UTF-8, the six indexes (key -> rows, in
    the resolver's order; or as encoded, when carried unchanged) and the provinces each became. ``build`` makes them from a resolver, and
    ``merger.resolve_carry`` from the note of an earlier generation and the rows written since;
    ``note`` encodes either the same way."""

    types: list[str]
    cols: dict[str, list[int]]
    texts: list[bytes | None]
    labels: list[bytes]
    indexes: list[dict[str, list[int]] | list[str]]
    later: list[list[object]]
    fkey: list[int] | array[int] | None = None  # each row's position in its level's full index, if known

    def note(self, first: date, last: date, undated: bool) -> tuple[dict[str, object], bytes]:
        """The header and text of the note (answers numbered in row order, each text once)."""
        header, text, _cols, _ends = self.encoded(first, last, undated)
        return header, text

    def encoded(self, first: date, last: date, undated: bool) -> tuple[dict[str, object], bytes,
                                                                       dict[str, array[int]], array[int]]:
        """``note``'s header and text, and its columns and answers' ends as arrays (``names_of``:
        the names of a note just made, without decoding its header again)."""
        n = len(self.texts)
        fkey = self.fkey if self.fkey is not None else self._positions(n)
        answers: dict[bytes, int] = {}
        answer = [_NONE if text is None else answers.setdefault(text, len(answers)) for text in self.texts]
        for row, key in enumerate(fkey):
            if key == _NONE:  # not under a full name (one holding a separator): the resolver answers
                answer[row] = _NONE
        cols = {c: array("i", col) for c, col in {**self.cols, "answer": answer, "fkey": fkey}.items()}
        ends, at = array("i"), 0  # (array: OverflowError past 2**31, as _ints)
        for blob in answers:
            at += len(blob)
            ends.append(at)
        indexes = [_encode_index(index) if isinstance(index, dict) else index for index in self.indexes]
        header = header_of(first, last, undated, self.types, cols, indexes, self.later, ends)
        return header, b"".join(answers) + _RS.encode("utf-8").join(self.labels), cols, ends

    def _positions(self, n: int) -> list[int]:
        """Each row's position in its level's full index (``fkey``)."""
        fkey = [_NONE] * n
        for index in self.indexes[:3]:
            rows_of = index.values() if isinstance(index, dict) else _index_lists(index, n)
            for position, rows in enumerate(rows_of):
                for row in rows:
                    fkey[row] = position
        return fkey


def _index_lists(value: object, n: int) -> list[array[int]]:
    """The rows under each key of an encoded index, in order."""
    index = _decode_index(value, n)
    starts, rows = index.starts, index.rows
    return [rows[starts[i]: starts[i + 1]] for i in range(len(index.keys))]


def decode(generation: str, header: object, text: bytes | memoryview) -> Names | None:
    """The names a note holds, or None when it is not in the expected shape."""
    if not isinstance(header, dict) or header.get("byteorder") != sys.byteorder:
        return None
    try:
        types = header["types"]
        if not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
            return None
        cols = {c: _unints(header["columns"][c]) for c in _COLUMNS}
        n = len(cols["level"])
        if any(len(col) != n for col in cols.values()):
            return None
        if n and (min(cols["level"]) < 0 or max(cols["level"]) > 2 or min(cols["type"]) < 0
                  or max(cols["type"]) >= len(types)):
            return None
        indexes = header["indexes"]
        if not (isinstance(indexes, list) and len(indexes) == 6):
            return None
        later = {int(unit): frozenset(int(u) for u in units) for unit, units in header["later"]}
        ends = _unints(header["ends"])
        if ends and (min(ends) < 0 or max(ends) > len(text) or ends != array("i", sorted(ends))):
            return None
        return Names(generation, date.fromisoformat(header["first"]), date.fromisoformat(header["last"]),
                     header["undated"] is not False, types, cols, indexes, later, text, ends)
    except (KeyError, TypeError, ValueError):
        return None


def names_of(generation: str, note: tuple[dict[str, Any], bytes], cols: dict[str, array[int]],
             ends: array[int]) -> Names:
    """The names of a note just made (``Parts.encoded``): what ``decode`` gives for it, without
    decoding its columns again (~7 ms at the national size)."""
    header, text = note
    later = {int(unit): frozenset(int(u) for u in units) for unit, units in header["later"]}
    return Names(generation, date.fromisoformat(header["first"]), date.fromisoformat(header["last"]),
                 header["undated"] is not False, header["types"], cols, header["indexes"], later, text, ends)


def note_path(register: Register) -> Path | None:
    """Beside the snapshot cache (none for a register in memory or an ``--as-recorded`` view)."""
    from merger import store

    if store.is_memory(register.url) or register.as_recorded is not None:
        return None
    path = register.cache_path()
    return path.with_name(path.name + NOTE_SUFFIX)


def read(register: Register, day: date, generation: str | None = None) -> Names | None:
    """The names noted for the register's generation, if they answer for ``day``: None when
    absent, stale, foreign or damaged (a miss), trusted on the cache's terms."""
    from merger import cache

    path = note_path(register)
    if path is None:
        return None
    generation = generation or register.generation()
    if cache.stale_note(path, generation, MAGIC):  # (write puts the generation first)
        return None
    try:
        data = path.read_bytes()
        if not data.startswith(MAGIC):
            return None
        end = data.index(b"\n", len(MAGIC))
        header = json.loads(data[len(MAGIC): end])
        if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("generation") != generation:
            return None
        names = decode(generation, *unpack(header, memoryview(data)[end + 1:]))
    except (OSError, ValueError, RecursionError, KeyError, TypeError):  # (UnicodeDecodeError, JSONDecodeError)
        return None
    return names if names is not None and names.covers(day) else None


def write(register: Register, generation: str, note: tuple[dict[str, object], bytes]) -> None:
    """Note the names atomically, readable by this user only (a read-only location only costs
    speed next time)."""
    from merger import cache

    path = note_path(register)
    if path is None:
        return
    header, text = note
    line, sections = pack({"format": FORMAT, "generation": generation, **header})
    with contextlib.suppress(OSError):
        cache.write_atomic(path, MAGIC, line, b"\n", *sections, text)
