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
