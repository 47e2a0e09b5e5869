"""The village tier (thôn, tổ dân phố) under communes: the report's village operations.

"chuyển đổi thôn thành tổ dân phố", "đổi tên thôn, tổ dân phố trùng tên", "ghép các cụm dân cư
vào thôn, tổ dân phố liền kề": factories only, as no public village data exists.
"""

from __future__ import annotations

from datetime import date

import pytest

from merger.errors import ValidationFailed
from merger.events import Spec
from merger.register import Register
from village_factory import village_register

D = date(2025, 9, 1)


@pytest.fixture
def reg(build) -> Register:  # type: ignore[no-untyped-def]
    """The village register (tests/village_factory.py), on each store."""
    return village_register(build)


def villages(reg: Register, day: date, within: str) -> dict[str, str]:
    return {v.full_name: v.type for v in reg.units(as_of=day, within=within, level="village")}


def test_thon_becomes_to_dan_pho_and_counts_follow(reg: Register) -> None:
    reg.record(Spec("reclassify", D, units=["Thôn Đông, Xã An"], to="tổ dân phố"), by="t")
    assert villages(reg, D, "Xã An") == {"Tổ dân phố Đông": "tổ dân phố", "Thôn Tây": "thôn", "Thôn Nam": "thôn"}
    c = reg.counts(before=date(2025, 8, 31), after=D, within="Tỉnh Thử")
    assert (c.get("village", "thôn").before, c.get("village", "thôn").after) == (4, 3)
    assert (c.get("village", "tổ dân phố").before, c.get("village", "tổ dân phố").after) == (1, 2)
    lineage = reg.lineage("Tổ dân phố Đông", direction="backward")
    assert lineage.root.children[0].version.full_name == "Thôn Đông"
    assert reg.check() == []


def test_duplicate_names_must_be_renamed_before_merging_communes(reg: Register) -> None:
    """Merging Xã An and Phường Bình: each has a Thôn Đông, so one is renamed first (same annex)."""
    specs = [
        Spec("move", D, units=["Thôn Đông, Phường Bình"], parent="Xã An", line=2),
    ]
    with pytest.raises(ValidationFailed, match="duplicates Thôn Đông"):
        reg.apply(specs, by="t")
    specs = [
        Spec("rename", D, units=["Thôn Đông, Phường Bình"], to="Thôn Bình Đông", line=2),
        Spec("move", D, units=["Thôn Bình Đông"], parent="Xã An", line=3),
    ]
    with pytest.raises(ValidationFailed, match="not after the start"):  # one change per unit and day
        reg.apply(specs, by="t")
    reg.record(Spec("rename", D, units=["Thôn Đông, Phường Bình"], to="Thôn Bình Đông"), by="t")
    later = date(2025, 10, 1)
    reg.apply([Spec("move", later, units=["Thôn Bình Đông"], parent="Xã An", line=2),
               Spec("move", later, units=["Tổ dân phố 1"], parent="Xã An", line=3),
               Spec("merge", later, units=["Phường Bình"], into=["Xã An"], line=4)], by="t")
    assert set(villages(reg, later, "Xã An")) == {"Thôn Đông", "Thôn Tây", "Thôn Nam", "Thôn Bình Đông",
                                                    "Tổ dân phố 1"}
    assert reg.check() == []


def test_cum_dan_cu_joins_the_neighbouring_village(reg: Register) -> None:
    """"ghép cụm dân cư vào thôn liền kề" is a transfer: part of one village moves to the next."""
    reg.record(Spec("transfer", D, units=["Thôn Nam"], to="Thôn Tây", shares={"": 0.1}, basis="population"),
               by="t")
    snap = reg.snapshot
    tay = reg.resolve("Thôn Tây", as_of=D).version
    parts = sorted((lk.pred.full_name, lk.relation, lk.share) for lk in snap.predecessors(tay) if lk.pred)
    assert parts == [("Thôn Nam", "part", 0.1), ("Thôn Tây", "whole", None)]
    assert reg.check() == []


def test_villages_merge_into_a_new_one_and_a_village_needs_a_commune(reg: Register) -> None:
    reg.record(Spec("merge", D, units=["Thôn Tây", "Thôn Nam"], into=["Thôn Tây Nam"]), by="t")
    assert set(villages(reg, D, "Xã An")) == {"Thôn Đông", "Thôn Tây Nam"}
    with pytest.raises(ValidationFailed, match="its parent must be a commune"):
        reg.record(Spec("establish", D, into=["Thôn Lạc"], unit_type="thôn", parent="Tỉnh Thử"), by="t")
    with pytest.raises(ValidationFailed, match="needs --parent"):
        reg.record(Spec("establish", D, into=["Thôn Lạc"], unit_type="thôn"), by="t")
