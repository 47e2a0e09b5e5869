"""What point location needs of the register, for the versions with a geometry, without the snapshot.

Building the register's whole snapshot costs about 0.4 s of CPU, a fifth of a 100,000-point
``merger locate --file``. Of it, location needs only each bounded version's level, code, name and
valid period, and which later versions hold a bounded territory unchanged
(``merger.geo.data.carried``). That is derived once from the snapshot and kept beside the
snapshot cache for the register's generation and the boundary layer's key set (JSON, trusted on
the cache's terms: ``merger.cache.read_note``; a stale, foreign or damaged note is only a miss),
so later runs read about 4,000 short rows. Only the old communes' lineage (locating before 1 July
2025) still reads the snapshot, and only when a point needs it.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from merger.graph import Snapshot
    from merger.register import Register

NOTE_SUFFIX = ".locate"


@dataclass(frozen=True)
class Entry:
    """The part of a version (merger.graph.V) location reads."""

    key: str
    level: str
    code: str
    full_name: str
    valid_from: date | None
    valid_to: date | None
    unit_id: int = 0

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Catalog:
    """The bounded versions of one register state: ``entries`` for the keys the register knows
    (given and carried on), ``carried`` {later key: key with the geometry}."""

    url: str
    as_recorded: object
    generation: str
    keys: frozenset[str]
    entries: dict[str, Entry]
    carried: dict[str, str]

    def fits(self, register: Register, keys: Iterable[str]) -> bool:
        """Whether this catalog answers for ``register`` as it is now and for these keys."""
        if self.url != register.url or self.as_recorded != register.as_recorded:
            return False
        if not set(keys) <= self.keys | self.carried.keys():
            return False
        return self.generation == register.generation()


def digest(keys: list[str]) -> str:
    """The key list in order (the order decides which geometry a chain of renames carries on)."""
    return hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()


def from_snapshot(register: Register, snap: Snapshot, keys: list[str]) -> Catalog:
    """The catalog derived from a snapshot (the reference: a note holds exactly this); ``keys``
    in the boundary set's order, as ``merger.geo.data.carry`` walks them."""
    from merger.geo.data import carried

    given = frozenset(keys)
    moved = {later: src for later, src in carried(snap, keys).items() if later not in given}
    entries = {}
    for k in sorted(given | moved.keys()):
        v = snap.by_key.get(k)
        if v is not None:
            entries[k] = Entry(v.key, v.level, v.code, v.full_name, v.valid_from, v.valid_to, v.unit_id)
    return Catalog(register.url, register.as_recorded, snap.generation, given, entries, moved)


def _note_path(register: Register) -> Path | None:
    from merger import store

    if store.is_memory(register.url):
        return None
    path = register.cache_path()
    return path.with_name(path.name + NOTE_SUFFIX)


def _encode(cat: Catalog, key_digest: str) -> dict[str, object]:
    return {"keys": key_digest, "carried": list(cat.carried.items()),
            "entries": [[e.key, e.level, e.code, e.full_name, e.valid_from and e.valid_from.isoformat(),
                         e.valid_to and e.valid_to.isoformat(), e.unit_id] for e in cat.entries.values()]}


def _decode(register: Register, generation: str, keys: frozenset[str], value: object,
            key_digest: str) -> Catalog | None:
    """The catalog a note holds, or None when it is for other keys or not in the expected shape."""
    if not isinstance(value, dict) or value.get("keys") != key_digest:
        return None
    try:
        entries = {}
        for key, level, code, name, start, end, unit_id in value["entries"]:
            if not all(isinstance(x, str) for x in (key, level, code, name)) or not isinstance(unit_id, int):
                return None
            entries[key] = Entry(key, level, code, name, date.fromisoformat(start) if start else None,
                                 date.fromisoformat(end) if end else None, unit_id)
        moved = {str(a): str(b) for a, b in value["carried"]}
    except (KeyError, TypeError, ValueError):
        return None
    return Catalog(register.url, register.as_recorded, generation, keys, entries, moved)


def for_register(register: Register, keys: list[str]) -> Catalog:
    """The catalog of ``register`` for these boundary keys (in the set's order): from the note
    kept for its generation when there is one, else derived from the snapshot (and noted)."""
    from merger import cache

    given = frozenset(keys)
    path = _note_path(register)
    if path is None or register.as_recorded is not None:  # --as-recorded views are never noted
        return from_snapshot(register, register.snapshot, keys)
    key_digest = digest(keys)
    generation = register.generation()
    found = _decode(register, generation, given, cache.read_note(path, generation), key_digest)
    if found is not None:
        return found
    snap = register.snapshot
    cat = from_snapshot(register, snap, keys)
    with contextlib.suppress(OSError):  # a read-only location only costs speed
        cache.write_note(path, snap.generation, _encode(cat, key_digest))
    return cat


# --- the old communes' lineage on one day ---------------------------------------------------------

LINEAGE_SUFFIX = ".lineage"
Ancestors = dict[str, list[tuple[str, str, str, int | None]]]  # later key -> (key, name, code, parent unit)


def ancestors_from(snap: Snapshot, day: date, later: list[str]) -> Ancestors:
    """The communes valid on ``day`` that each later commune comes from (in the snapshot's order:
    ``merger.geo.locate.infer_commune`` picks among them by the old district)."""
    out: Ancestors = {}
    for k in later:
        v = snap.by_key.get(k)
        if v is not None:
            out[k] = [(a.key, a.full_name, a.code, a.parent_unit_id)
                      for a in snap.ancestors_on(v, day).values() if a.level == "commune"]
    return out


def ancestors(register: Register, cat: Catalog, day: date, later: list[str]) -> Ancestors:
    """``ancestors_from`` the snapshot, kept beside the snapshot cache for the last day asked (a
    batch on 30 June 2025 then reads ~10,000 short rows, not the register)."""
    from merger import cache

    path = _note_path(register)
    if path is None or register.as_recorded is not None:
        return ancestors_from(register.snapshot, day, later)
    path = path.with_name(path.name.removesuffix(NOTE_SUFFIX) + LINEAGE_SUFFIX)
    key_digest = digest(sorted(later))
    value = cache.read_note(path, cat.generation)
    if isinstance(value, dict) and value.get("keys") == key_digest and value.get("day") == day.isoformat():
        try:
            found: Ancestors = {}
            for k, rows in value["ancestors"].items():
                found[str(k)] = [(str(a), str(b), str(c), None if d is None else int(d)) for a, b, c, d in rows]
            return found
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a damaged note is only a miss
    snap = register.snapshot
    out = ancestors_from(snap, day, later)
    if snap.generation == cat.generation:
        with contextlib.suppress(OSError):  # a read-only location only costs speed
            cache.write_note(path, snap.generation, {"keys": key_digest, "day": day.isoformat(), "ancestors": out})
    return out
