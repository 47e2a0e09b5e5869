"""Boundaries of unit versions (the ``merger[geo]`` extra): storage, checks, point location, maps.

Nothing here is imported by the register's own commands. The modules import shapely/pyproj
(and geopandas/matplotlib only where files are written or maps drawn) inside their functions,
so ``merger lineage`` never pays for them. ``merger.boundaries`` is the front door.
"""

from __future__ import annotations

import importlib
import importlib.util

from merger.errors import MergerError

# Albers equal-area conic for Vietnam (WGS 84, standard parallels 11°N and 21°N, centre 106°E
# 16°N): areas are exact from Hà Giang to Cà Mau and out to Trường Sa (UTM 48N, used before the
# national layer, is off by 1-3 % in area east of 110°E); lengths are within about 1 % on land.
METRIC_CRS = "+proj=aea +lat_0=16 +lon_0=106 +lat_1=11 +lat_2=21 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
METRIC_NAME = "Albers equal-area, Vietnam (WGS 84; 11°N/21°N, 106°E)"
WGS84 = "EPSG:4326"
EXTRA_HINT = "pip install 'merger[geo]'"


class GeoUnavailable(MergerError):
    """The optional geo extra is not installed; the message names the command that installs it."""


def _missing(name: str) -> str:
    from merger.i18n import _

    return _("this command needs the optional geo extra ({name} is not installed): {hint}").format(name=name, hint=EXTRA_HINT)


def require(*modules: str) -> None:
    """Fail with one clear line when a geo dependency is missing (default: all of the extra)."""
    for name in modules or ("shapely", "pyproj", "geopandas", "pyogrio", "matplotlib"):
        try:
            importlib.import_module(name)
        except ImportError:
            raise GeoUnavailable(_missing(name)) from None


def installed(*modules: str) -> None:
    """As ``require``, without importing them: importing shapely and numpy costs ~0.25 s, which
    one located point (merger.geo.point) does not need."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            raise GeoUnavailable(_missing(name))
