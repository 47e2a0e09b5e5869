"""Boundaries of unit versions: the library's front door for the geo features (``merger[geo]``).

Every function takes the Register (no global state) and, optionally, an already loaded
``Boundaries`` set to share between calls. The implementation lives in ``merger.geo.*``; this
module imports nothing heavy itself, so importing it costs nothing until a function is called,
and each function first checks that the extra is installed (``GeoUnavailable`` otherwise).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from merger.geo import EXTRA_HINT, METRIC_CRS, GeoUnavailable, installed, require
from merger.i18n import _

if TYPE_CHECKING:
    from merger.geo.checks import BoundaryReport, Tolerances
    from merger.geo.data import Boundaries
    from merger.geo.io import LoadReport
    from merger.geo.locate import Hit, Locator
    from merger.geo.maps import MapInfo, OverviewInfo
    from merger.geo.overlap import AreaShare, OverlapRow, Weight
    from merger.graph import V
    from merger.register import Register

LIGHT = ("shapely", "pyproj")  # enough to read, check, locate and overlay
FILES = ("shapely", "pyproj", "geopandas", "pyogrio")  # to read or write other files


def load(register: Register | None = None, *, bundled: Path | None = None, user: bool = True) -> Boundaries:
    """The bundled boundaries plus the register's own loaded ones."""
    require("shapely")
    from merger.geo import data

    return data.load(register, bundled=bundled, user=user)


def summary(register: Register, boundaries: Boundaries | None = None) -> list[dict[str, object]]:
    """What the boundary set covers: versions per level, period and source."""
    require("shapely")
    from merger.geo import data

    return data.summary(register, _b(register, boundaries))


def forget(register: Register) -> bool:
    """Remove the boundaries loaded into this register (the bundled ones remain)."""
    from merger.geo import data

    _writable(register, "boundaries forget")
    target = data.user_path(register)
    if target.exists():
        target.unlink()
        return True
    return False


def _writable(register: Register, what: str) -> None:
    """--read-only covers the register's own boundary file too: it is neither written nor removed."""
    if register.read_only:
        from merger.errors import StoreError

        raise StoreError(_("the register is open read-only (--read-only): 'merger {what}' writes, so it is refused").format(what=what))


def _b(register: Register, boundaries: Boundaries | None) -> Boundaries:
    return boundaries if boundaries is not None else load(register)


def check(register: Register, *, as_of: date, within: str | None = None, tolerances: Tolerances | None = None,
          boundaries: Boundaries | None = None, lineage: bool = False) -> BoundaryReport:
    """Overlaps, gaps, missing and invalid geometries, areas against the official figures; with
    ``lineage``, also where overlay and the recorded lineage disagree."""
    require(*LIGHT)
    from merger.geo import checks

    return checks.check(register, _b(register, boundaries), as_of=as_of, within=within, tolerances=tolerances,
                        lineage=lineage)


def locate(register: Register, lon: float, lat: float, *, as_of: date,
           boundaries: Boundaries | None = None) -> list[Hit]:
    """The unit at each level containing the point on ``as_of``.

    Without ``boundaries`` (the bundled layer plus the register's own), only the units whose box
    holds the point and the register around them are read (merger.geo.point); the answer is the
    ``Locator``'s, which is asked where that path cannot be sure."""
    installed("shapely")  # no pyproj: location works in longitude/latitude
    if boundaries is None:
        from merger.geo import data, point

        hits = point.locate_point(register, [data.bundled_path(), data.user_path(register)], lon, lat, as_of)
        if hits is not None:
            return hits
    from merger.geo import locate as loc

    return loc.locate(register, _b(register, boundaries), lon, lat, as_of)


def locator(register: Register, *, as_of: date, boundaries: Boundaries | None = None) -> Locator:
    """A reusable point locator for one date (``.locate_many(lons, lats)`` for batches)."""
    require("shapely")
    from merger.geo.locate import Locator

    return Locator(register, _b(register, boundaries), as_of)


def overlap(register: Register, version: V | str, boundaries: Boundaries | None = None,
            level: str | None = None) -> list[OverlapRow]:
    """Area (km², shares) the unit took from each unit on the other side of the reform.

    For ``merger lineage UNIT --overlap``: call ``overlap(reg, match.version)`` and print one
    line per row (name, ``area_km2``, ``share_of_unit``, ``in_lineage``)."""
    require(*LIGHT)
    from merger.geo import overlap as ov

    return ov.overlap(register, version, _b(register, boundaries), level)


def geometry_weights(register: Register, boundaries: Boundaries | None = None) -> list[Weight]:
    """Area shares of partial links whose two versions both have geometries."""
    require(*LIGHT)
    from merger.geo import overlap as ov

    return ov.geometry_weights(register, _b(register, boundaries))


def district_shares(register: Register, *, within: str | None = None) -> list[AreaShare]:
    """Area shares old district -> new commune (the bundled national overlay), each marked with
    whether the lineage links the two: to spread district-level figures over the new communes."""
    from merger.geo import overlap as ov

    return ov.district_shares(register, within=within)


def store_weights(register: Register, weights: list[Weight], *, by: str | None = None,
                  at: datetime | None = None) -> int:
    """Record geometry-derived shares for their links (basis "geometry"), with who and when."""
    from merger.geo import overlap as ov

    return ov.store_weights(register, weights, by=by, at=at)


def render_map(register: Register, version: V, out: Path, *, as_of: date | None = None,
               boundaries: Boundaries | None = None) -> MapInfo:
    """A PNG or SVG map of the unit, its neighbours and the outlines of its predecessors."""
    require(*LIGHT, "matplotlib")
    from merger.geo import maps

    return maps.render(register, _b(register, boundaries), version, out, as_of=as_of)


def render_overview(register: Register, out: Path, *, level: str | None = None, within: str | None = None,
                    as_of: date | None = None, boundaries: Boundaries | None = None) -> OverviewInfo:
    """A PNG or SVG map of every unit of one level in a province or the country, labels not colliding."""
    require(*LIGHT, "matplotlib")
    from merger.geo import maps

    return maps.render_overview(register, _b(register, boundaries), out, level=level, within=within, as_of=as_of)


def export(register: Register, out: Path, fmt: str, *, as_of: date | None = None, within: str | None = None,
           level: str | None = None, boundaries: Boundaries | None = None) -> int:
    """Write boundaries with the register's attributes as GeoJSON or GeoPackage."""
    require(*FILES)
    from merger.geo import io

    return io.export(register, _b(register, boundaries), out, fmt, as_of=as_of, within=within, level=level)


def load_file(register: Register, path: Path, *, level: str, as_of: date, code_field: str,
              dry_run: bool = False) -> LoadReport:
    """Keep a user's boundary file (GeoJSON, GeoPackage, Shapefile) as the register's own."""
    if not dry_run:
        _writable(register, "boundaries load")
    require(*FILES)
    from merger.geo import io

    return io.load_file(register, path, level=level, as_of=as_of, code_field=code_field, dry_run=dry_run)


__all__ = ["EXTRA_HINT", "METRIC_CRS", "GeoUnavailable", "check", "district_shares", "export", "geometry_weights", "load",
           "load_file", "locate", "locator", "overlap", "render_map", "render_overview", "store_weights", "summary", "forget"]
