"""The unions of children a boundary check computes, kept in a note beside the register's cache.

The union of a province's ~100 communes is most of a national ``boundaries check`` (2 s of its
~4 s, 34 unions), and it is the same geometry whenever the children's geometries are the same: a
check keeps each union's WKB under a digest of the children's WKB (and the GEOS version that
computed it), and a later check of the same children reads it back instead of computing it. WKB
holds the coordinates exactly, so the findings are the same to the last digit.

The note is data (WKB, read by GEOS), read only when trusted (``cache.trusted``: this user's,
writable by no one else) and ignored whole when anything in it does not read; it keeps at most
``KEEP`` unions in all, those of the last check first (a check with more keeps KEEP of its own).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

from merger import cache

MAGIC = b"merger unions 1\n"
KEEP = 256


class Unions:
    """The unions a check reads from the note and computes, written back by ``save``."""

    def __init__(self, path: Path | None):
        import shapely

        self.path = path
        self.geos = shapely.geos_version_string
        self._found: dict[str, bytes] | None = None  # read at the first union asked (a check may ask none)
        self.used: dict[str, bytes] = {}
        self.computed = 0

    @property
    def found(self) -> dict[str, bytes]:
        if self._found is None:
            self._found = self._read(self.path) if self.path is not None else {}
        return self._found

    def _read(self, path: Path) -> dict[str, bytes]:
        if not cache.trusted(path):
            return {}
        try:
            data = path.read_bytes()
            end = data.index(b"\n", len(MAGIC))
            if not data.startswith(MAGIC):
                return {}
            header = json.loads(data[len(MAGIC):end])
            if header["geos"] != self.geos:
                return {}
            out: dict[str, bytes] = {}
            at = end + 1
            for digest, size in header["entries"]:
                if not isinstance(digest, str) or not isinstance(size, int) or size <= 0 or at + size > len(data):
                    return {}
                out[digest] = data[at:at + size]
                at += size
            return out if at == len(data) else {}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def union(self, geoms: Any) -> Any:
        """``shapely.union_all(geoms)``: read from the note where these children's was kept."""
        import shapely

        parts = shapely.to_wkb(geoms)
        digest = hashlib.sha256(len(parts).to_bytes(8, "big") + b"".join(parts)).hexdigest()
        held = self.found.get(digest)
        if held is not None:
            try:
                found = shapely.from_wkb(held)
            except (shapely.errors.GEOSException, ValueError, TypeError):
                found = None
            if found is not None:
                self.used[digest] = held
                return found
        union = shapely.union_all(geoms)
        self.used[digest] = shapely.to_wkb(union)
        self.computed += 1
        return union

    def save(self) -> None:
        """Write the note when this check computed a union (best effort: a folder it may not
        write to only means the next check computes again)."""
        if self.path is None or not self.computed:
            return
        entries: dict[str, bytes] = {}
        for digest, held in itertools.chain(self.used.items(), self.found.items()):  # this check's first
            if len(entries) >= KEEP:
                break
            entries.setdefault(digest, held)
        header = json.dumps({"geos": self.geos, "entries": [[d, len(b)] for d, b in entries.items()]})
        with contextlib.suppress(OSError):
            cache.write_atomic(self.path, MAGIC, header.encode("utf-8"), b"\n", *entries.values())


def beside(register: Any) -> Unions:
    """The unions note of ``register`` (none for a register in memory)."""
    from merger import store

    if store.is_memory(register.url):
        return Unions(None)
    path = register.cache_path()
    return Unions(path.with_name(path.name + ".unions"))
