"""Boundaries of unit versions (the ``merger[geo]`` extra): storage, checks, point location, maps.

Nothing here is imported by the register's own commands. The modules import shapely/pyproj
(and geopandas/matplotlib only where files are written or maps drawn) inside their functions,
so ``merger lineage`` never pays for them. ``merger.boundaries`` is the front door.
"""

from __future__ import annotations

import importlib

from merger.errors import MergerError

METRIC_CRS = "EPSG:32648"  # WGS 84 / UTM zone 48N: metres, good across northern Vietnam
WGS84 = "EPSG:4326"
EXTRA_HINT = "pip install 'merger[geo]'"


class GeoUnavailable(MergerError):
    """The optional geo extra is not installed; the message names the command that installs it."""


def require(*modules: str) -> None:
    """Fail with one clear line when a geo dependency is missing (default: all of the extra)."""
    for name in modules or ("shapely", "pyproj", "geopandas", "pyogrio", "matplotlib"):
        try:
            importlib.import_module(name)
        except ImportError:
            raise GeoUnavailable(
                f"this command needs the optional geo extra ({name} is not installed): {EXTRA_HINT}"
            ) from None
