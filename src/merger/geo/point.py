"""One point, located without numpy, shapely or the register's whole snapshot.

``merger locate LON LAT`` should answer within half a second. The general ``Locator`` pays for
importing numpy and shapely (~0.25 s) and for the register's whole snapshot (~0.3 s); one point
needs neither. The GeoPackages' box columns (a covering index) give the few units whose box
holds the point; only their WKB is decoded (``struct``) and tested by an even-odd ray cast (a
point on an edge counts as inside, as shapely's ``intersects`` has it); the register is read only
around those versions (``Register.around_keys``), and whether a level has geometries on the day
at all is asked of the stored periods (a recorded event only narrows a stored period, so "none
stored" means "none"). The answer equals the ``Locator``'s (tests compare them over the real
units' seats on both sides of the reform); where this path cannot be sure (a file without the
box columns, a register read ``--as-recorded``, a stored period the snapshot does not confirm)
it returns None and the caller asks the ``Locator``.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from merger.errors import DataError
from merger.geo.data import BBOX, LAYER, _wkb
from merger.geo.data import carried as carried_on
from merger.geo.locate import LEVELS, Hit, infer_commune
from merger.i18n import _

if TYPE_CHECKING:
    from merger.cache import Query
    from merger.graph import V
    from merger.register import Register

Rings = list[tuple[float, ...]]  # each ring's coordinates, flat: x0, y0, x1, y1, ...
_CHUNK = 500


class _Layer:
    """One merger-layout GeoPackage, read with the stdlib ``sqlite3`` (one connection)."""

    def __init__(self, path: Path):
        self.path = path
        self.con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        indexed = self.con.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                                   (f"{LAYER}_index",)).fetchone()
        self.small = f'"{LAYER}" INDEXED BY "{LAYER}_index"' if indexed else f'"{LAYER}"'  # the covering index
        row = self.con.execute("SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?",
                               (LAYER,)).fetchone()
        cols = {r[1] for r in self.con.execute(f'PRAGMA table_info("{LAYER}")')}
        self.geom = row[0] if row is not None and row[1] == 4326 else None
        self.usable = self.geom is not None and set(BBOX) <= cols

    def in_box(self, lon: float, lat: float) -> dict[str, str]:
        """Keys (with their level) whose bounding box holds the point."""
        rows = self.con.execute(f'SELECT key, level FROM {self.small} WHERE min_x <= ? AND max_x >= ? '
                                "AND min_y <= ? AND max_y >= ?", (lon, lon, lat, lat)).fetchall()
        return dict(rows)

    def having(self, keys: list[str]) -> set[str]:
        out: set[str] = set()
        for part in _chunks(keys):
            out.update(r[0] for r in self.con.execute(
                f'SELECT key FROM {self.small} WHERE key IN ({",".join("?" * len(part))})', part))
        return out

    def keys(self, level: str) -> list[str]:
        return [r[0] for r in self.con.execute(f'SELECT key FROM {self.small} WHERE level = ?', (level,))]

    def rings(self, key: str) -> list[Rings]:
        row = self.con.execute(f'SELECT "{self.geom}" FROM "{LAYER}" WHERE key = ?', (key,)).fetchone()
        return polygons(_wkb(row[0])) if row and row[0] else []

    def close(self) -> None:
        self.con.close()


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(keys), _CHUNK):
        yield keys[i:i + _CHUNK]


class Unsupported(ValueError):
    """A geometry this path does not decode (not a 2D (Multi)Polygon): the Locator answers."""


def polygons(wkb: bytes) -> list[Rings]:
    """The polygons of a 2D (Multi)Polygon in WKB, each as its rings."""
    out: list[Rings] = []

    def polygon(pos: int) -> int:
        order = "<" if wkb[pos] == 1 else ">"
        (kind,) = struct.unpack_from(order + "I", wkb, pos + 1)
        if kind != 3:
            raise Unsupported(f"geometry type {kind}")
        (n,) = struct.unpack_from(order + "I", wkb, pos + 5)
        pos += 9
        rings: Rings = []
        for _ in range(n):
            (m,) = struct.unpack_from(order + "I", wkb, pos)
            rings.append(struct.unpack_from(f"{order}{2 * m}d", wkb, pos + 4))
            pos += 4 + 16 * m
        out.append(rings)
        return pos

    order = "<" if wkb[0] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", wkb, 1)
    if kind == 6:
        (n,) = struct.unpack_from(order + "I", wkb, 5)
        pos = 9
        for _ in range(n):
            pos = polygon(pos)
    elif kind == 3:
        polygon(0)
    else:
        raise Unsupported(f"geometry type {kind}")
    return out


def contains(polys: list[Rings], x: float, y: float) -> bool:
    """Whether the point is inside or on the boundary of any polygon (even-odd over its rings)."""
    for rings in polys:
        inside = False
        for c in rings:
            x1, y1 = c[-2], c[-1]
            for i in range(0, len(c), 2):
                x2, y2 = c[i], c[i + 1]
                if (y1 > y) != (y2 > y):
                    cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
                    if cross == x:
                        return True  # on the edge
                    if x < cross:
                        inside = not inside
                elif y1 == y == y2 and min(x1, x2) <= x <= max(x1, x2):
                    return True  # on a horizontal edge
                elif y == y2 and x == x2:
                    return True  # on a vertex
                x1, y1 = x2, y2
        if inside:
            return True
    return False


def _stored(query: Query, layers: list[_Layer], level: str, day: date, *, later: bool = False) -> str | None:
    """A key with a geometry whose stored period holds ``day`` (or, ``later``, starts after it)."""
    d = day.isoformat()
    if later:  # few versions start after a day: read them through the valid_from index
        keys = {k for layer in layers for k in layer.keys(level)}
        found = sorted(r[0] for r in query(f"SELECT key FROM version WHERE level = '{level}' AND valid_from > '{d}'")
                       if r[0] in keys)
        return found[0] if found else None
    keys = sorted({k for layer in layers for k in layer.keys(level)})
    if not keys:
        return None
    quoted = ", ".join("'" + k.replace("'", "''") + "'" for k in keys)
    rows = query(f"SELECT key FROM version WHERE level = '{level}' AND key IN ({quoted}) AND (valid_from IS NULL OR "
                 f"valid_from <= '{d}') AND (valid_to IS NULL OR valid_to >= '{d}') ORDER BY key LIMIT 1")
    return str(rows[0][0]) if rows else None


def locate_point(register: Register, paths: list[Path], lon: float, lat: float, day: date) -> list[Hit] | None:
    """The ``Locator``'s answer for one point, reading only what the point needs; None when this
    path cannot be sure (the caller then asks the ``Locator``)."""
    if register.as_recorded is not None:
        return None
    layers: list[_Layer] = []
    reading = paths[0]
    try:
        for p in paths:
            if p.exists():
                reading = p
                layers.append(_Layer(p))
        if not all(layer.usable for layer in layers):
            return None
        return _locate(register, layers, lon, lat, day)
    except Unsupported:
        return None
    except (struct.error, IndexError):
        raise DataError(_("cannot read {path}: a boundary's geometry is not valid WKB").format(path=reading)) from None
    except sqlite3.Error as exc:
        raise DataError(_("cannot read {path}: {exc}").format(path=reading, exc=exc)) from None
    finally:
        for layer in layers:
            layer.close()


def _stored_on(row: tuple | None, level: str, day: date, later: bool) -> bool:
    """Whether a version's stored row (level, valid_from, valid_to) holds ``day`` (or starts after it)."""
    if row is None or row[0] != level:
        return False
    start, end = (None if v is None else str(v)[:10] for v in row[1:])
    d = day.isoformat()
    if later:
        return start is not None and start > d
    return (start is None or start <= d) and (end is None or end >= d)


def _locate(register: Register, layers: list[_Layer], lon: float, lat: float, day: date) -> list[Hit] | None:
    owner: dict[str, _Layer] = {}  # key -> the file whose geometry counts (the last: the user's wins)
    for i, layer in enumerate(layers):
        found = layer.in_box(lon, lat)
        for later_layer in layers[i + 1:]:  # a key the user's file replaces counts only from there
            for k in later_layer.having(list(found)):
                found.pop(k, None)
        for k in found:
            owner[k] = layer
    groups = [(lv, False) for lv in LEVELS] + [("commune", True)]
    witness: dict[tuple[str, bool], str | None] = {}
    with register.reading() as query:
        stored = {}
        if owner:
            quoted = ", ".join("'" + k.replace("'", "''") + "'" for k in owner)
            stored = {r[0]: r[1:] for r in query(
                f"SELECT key, level, valid_from, valid_to FROM version WHERE key IN ({quoted})")}
        for lv, later in groups:
            if not any(_stored_on(stored.get(k), lv, day, later) for k in owner):
                witness[(lv, later)] = _stored(query, layers, lv, day, later=later)
    snap = register.around_keys(sorted(set(owner) | {w for w in witness.values() if w}))
    # versions holding a bounded territory unchanged (a unit made a city) answer with its geometry
    carried = {k: src for k, src in carried_on(snap, list(owner)).items() if k not in owner}

    def derived(keys: list[str], lv: str, later: bool) -> list[V]:
        keys = keys + [k for k, src in carried.items() if src in keys]
        vs = [snap.by_key[k] for k in keys if k in snap.by_key and snap.by_key[k].level == lv]
        if later:
            return sorted((v for v in vs if v.valid_from is not None and v.valid_from > day), key=lambda v: v.key)
        return sorted((v for v in vs if v.valid_on(day)), key=lambda v: v.key)

    present: dict[tuple[str, bool], list[V]] = {}
    for lv, later in groups:
        mine = derived(list(owner), lv, later)
        w = witness.get((lv, later))
        if mine or (w and derived([w], lv, later)):
            present[(lv, later)] = mine
        elif (lv, later) not in witness or w:
            return None  # stored says yes, the snapshot says no: ask the Locator
    rings: dict[str, list[Rings]] = {}

    def first(vs: list[V]) -> V | None:
        for v in vs:  # in key order: on a shared edge the lowest key wins, as in the Locator
            if v.key not in rings:
                src = carried.get(v.key, v.key)
                rings[v.key] = owner[src].rings(src)
            if contains(rings[v.key], lon, lat):
                return v
        return None

    hits: list[Hit] = []
    for lv in LEVELS:
        own = present.get((lv, False))
        found = first(own) if own is not None else None
        if found is not None:
            hits.append(Hit(lv, found.key, found.full_name, "geometry"))
        elif lv == "commune" and ("commune", True) in present:
            later_v = first(present[("commune", True)])
            district = next((h for h in hits if h.level == "district"), None)
            hits.append(infer_commune(snap, day, later_v.key if later_v else None,
                                      district.key if district else None))
        elif own is not None:
            hits.append(Hit(lv, None, None, "none"))
    return hits
