"""A small register with a village tier, for the recording tests (no public village data exists).

Names are fictional ("Tỉnh Thử", "Xã An"...), as test data should be; the real data is tested
against the national register.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from factories import Builder
from merger.register import Register


def village_builder() -> Builder:
    """Tỉnh Thử with Xã An (Thôn Đông, Thôn Tây, Thôn Nam) and Phường Bình (Tổ dân phố 1, Thôn Đông)."""
    b = Builder()
    b.act("1/TEST")
    p = b.version("01", "Tỉnh Thử", "tỉnh", "province")
    an = b.version("00001", "Xã An", "xã", "commune", parent=p)
    binh = b.version("00002", "Phường Bình", "phường", "commune", parent=p)
    b.version("00001.dong", "Thôn Đông", "thôn", "village", parent=an)
    b.version("00001.tay", "Thôn Tây", "thôn", "village", parent=an)
    b.version("00001.nam", "Thôn Nam", "thôn", "village", parent=an)
    b.version("00002.1", "Tổ dân phố 1", "tổ dân phố", "village", parent=binh)
    b.version("00002.dong", "Thôn Đông", "thôn", "village", parent=binh)
    return b


def village_register(build: Callable[[Builder], Register] | Path) -> Register:
    """On the store of the ``build`` fixture, or in a SQLite file in a folder (SQLite-only tests)."""
    reg = build(village_builder()) if callable(build) else village_builder().build(build)
    assert reg.check() == []
    return reg
