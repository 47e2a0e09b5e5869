"""The bundled curated data (data/units/): where it is, its schema, and its digest.

The register is built from these files alone; nothing at run time reads the raw sources.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

BUNDLE_FILES = ("acts", "versions", "events", "links", "statistics")

FIELDS: dict[str, tuple[str, ...]] = {
    "acts": ("number", "kind", "issuer", "title", "date_signed", "effective_date", "source"),
    "versions": (
        "key", "unit", "level", "code", "type", "name", "full_name", "parent_unit",
        "valid_from", "valid_to", "source",
    ),
    "events": (
        "key", "type", "effective", "act", "clause", "note", "source", "evidence",
        "recorded_at", "recorded_by",
    ),
    "links": (
        "event", "predecessor", "successor", "portion", "relation", "share", "share_basis", "note",
    ),
    "statistics": ("version", "area_km2", "population", "seat", "lon", "lat", "source"),
}


# Agencies (data/units/agencies/, written by merger.importers.agencies): the same files for
# acts, versions, events and links, with a unit ``kind`` and an ``evidence`` status per version.
AGENCY_DIR = "agencies"
AGENCY_FILES = ("acts", "versions", "events", "links")
AGENCY_FIELDS: dict[str, tuple[str, ...]] = {
    **{name: FIELDS[name] for name in AGENCY_FILES},
    "versions": FIELDS["versions"] + ("kind", "evidence"),
}


def data_root() -> Path:
    """data/ of a source checkout, or the copy packed into an installed wheel."""
    here = Path(__file__).resolve().parent
    packed = here / "_bundle"
    if packed.is_dir():
        return packed
    return here.parent.parent / "data"


def units_dir() -> Path:
    return data_root() / "units"


def boundaries_dir() -> Path:
    return data_root() / "boundaries"


def read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_agencies(folder: Path) -> dict[str, list[dict[str, str]]]:
    """The agency files under ``folder``/agencies, or nothing when the folder is absent."""
    sub = folder / AGENCY_DIR
    if not (sub / "versions.csv").exists():
        return {name: [] for name in AGENCY_FILES}
    return {name: read(sub, name) for name in AGENCY_FILES}


def digest(folder: Path) -> str:
    """A fingerprint of the bundle, so a register built from older data can be told apart."""
    h = hashlib.sha256()
    for name in BUNDLE_FILES:
        h.update((folder / f"{name}.csv").read_bytes())
    sub = folder / AGENCY_DIR
    if (sub / "versions.csv").exists():
        for name in AGENCY_FILES:
            h.update((sub / f"{name}.csv").read_bytes())
    return h.hexdigest()[:16]
