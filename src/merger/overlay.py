"""Derived area shares old district -> new commune, kept beside the lineage links.

The 1 July 2025 reform ended the district tier: a district's link says only "dissolved", so a
statistic kept by district (most yearbook tables) has nowhere to go. The overlay of the old
district boundaries with the new commune boundaries (``data/boundaries/district_shares.csv``,
written by the boundaries importer) says which share of each district's area lies in each new
commune. The crosswalk uses these shares for district-level statistics, named as derived
(``overlay-area``, or ``overlay-population`` when weighted by the communes' population), never
as recorded facts. Reading them needs only the csv module: no geopandas, and nothing is read
until a district is actually carried across the reform.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

SHARES_FILE = "district_shares.csv"


@dataclass(frozen=True, slots=True)
class Piece:
    """The part of an old district lying in one new commune."""

    commune: str  # new commune version key
    area_km2: float
    share_of_district: float
    share_of_commune: float


def default_path() -> Path:
    from merger import bundle

    return bundle.boundaries_dir() / SHARES_FILE


class DistrictShares:
    """The bundled overlay, read on first use and indexed by old district version key."""

    def __init__(self, path: Path | None = None):
        self.path = path or default_path()
        self._by_district: dict[str, list[Piece]] | None = None
        self._fits: dict[str, bool] = {}

    @property
    def available(self) -> bool:
        return self.path.exists()

    def fits(self, generation: str) -> bool:
        """Whether a register (its snapshot generation) was built from the bundled units these
        boundaries describe: another register may reuse the same keys for other units."""
        found = self._fits.get(generation)
        if found is None:
            from merger import bundle

            units = bundle.units_dir()
            found = self._fits[generation] = (units / "versions.csv").exists() and \
                generation.split("|", 1)[0] == bundle.digest(units)
        return found

    def pieces(self, district_key: str) -> list[Piece]:
        """The pieces of one district (empty when the district has no geometry)."""
        if self._by_district is None:
            self._by_district = self._read()
        return self._by_district.get(district_key, [])

    def _read(self) -> dict[str, list[Piece]]:
        out: dict[str, list[Piece]] = {}
        if not self.path.exists():
            return out
        with self.path.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                out.setdefault(r["district"], []).append(Piece(
                    r["commune"], float(r["area_km2"]), float(r["share_of_district"]),
                    float(r["share_of_commune"])))
        return out
