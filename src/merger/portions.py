"""How much of a unit an event takes: "một phần X" (part), "phần còn lại X" (the rest).

A resolution merges whole units and parts of units into one new unit ("toàn bộ ... của xã A
và một phần ... của xã B thành xã C"). An annex row says the same by prefixing a predecessor
with its portion, so a merge row can carry both: ``units: "Xã A; một phần Xã B"``.
"""

from __future__ import annotations

from merger.names import tidy

# (prefix as typed, folded to lower case) -> (portion, relation) of the link it makes.
PREFIXES: tuple[tuple[str, tuple[str, str]], ...] = (
    ("phần còn lại của ", ("part", "remainder")),
    ("phần còn lại ", ("part", "remainder")),
    ("một phần của ", ("part", "part")),
    ("một phần ", ("part", "part")),
    ("remainder of ", ("part", "remainder")),
    ("part of ", ("part", "part")),
)


def split_portion(text: str) -> tuple[str, str, str]:
    """(unit text, portion, relation): "một phần Xã B" -> ("Xã B", "part", "part")."""
    clean = tidy(text)
    low = clean.casefold()
    for prefix, (portion, relation) in PREFIXES:
        if low.startswith(prefix) and len(clean) > len(prefix):
            return clean[len(prefix):].strip(), portion, relation
    return clean, "whole", "whole"


# --- how much of each measure a link carries ---------------------------------------------------
# The NSO conversion table and the resolutions say which part of a unit goes where, and they keep
# area and population apart: "một phần diện tích" (part of the area, none of the population),
# "một phần diện tích, toàn bộ dân số" (part of the area, all of the population), "một phần dân
# số" (part of the population only), "toàn bộ diện tích" (all of the area). A crosswalk of area
# statistics must follow the area wording, one of population statistics the population wording.

MEASURES = ("area", "population")
WHOLE, PART, NONE = "whole", "part", "none"

_BY_RELATION: dict[str, tuple[str, str]] = {  # relation -> (area, population)
    "part_area": (PART, NONE),
    "part_area_all_population": (PART, WHOLE),
    "part_population": (NONE, PART),
}


def measure_portion(relation: str, portion: str, note: str, measure: str) -> str:
    """``whole``, ``part`` or ``none``: how much of the predecessor's ``measure`` (area or
    population) the link carries, as its relation and the source's wording state it."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    stated = _BY_RELATION.get(relation)
    if stated is not None:
        return stated[MEASURES.index(measure)]
    said = tidy(note).casefold()
    if "toàn bộ diện tích" in said and "dân số" not in said:  # "Nhập toàn bộ diện tích": area only
        return WHOLE if measure == "area" else PART
    return WHOLE if portion == "whole" else PART
