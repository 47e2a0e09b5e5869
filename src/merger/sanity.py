"""Statistics sanity: do the official figures a crosswalk estimates shares from add up?

The population shares of a divided commune are estimated from its successors' sapnhap figures.
Where a province's new communes do not sum to the province's own figure (within 1 %), or a
commune has no figure at all, those estimates are weaker; the importer lists both in
``data/units/IMPORT_REPORT.txt`` and the crosswalk names them per row. This module recomputes the
same lists from the register, so the two can be compared and the reasons given at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from merger.graph import Snapshot, V

TOLERANCE = 0.01  # a province's communes may differ from its own figure by 1 %
REFORM = date(2025, 7, 1)  # the day the official figures describe (sapnhap, July 2025)


@dataclass
class ProvinceSum:
    """A province's own population against the sum of its communes' figures."""

    province: V
    own: int
    communes: int
    missing: list[V] = field(default_factory=list)  # its communes without a figure

    @property
    def off(self) -> float:
        """(communes - own) / own: +0.033 when the communes sum to 3.3 % more."""
        return (self.communes - self.own) / self.own

    def label(self) -> str:
        """"04 Tỉnh Cao Bằng +3.4%": for a reason cell."""
        return f"{self.province.code} {self.province.full_name} {100 * self.off:+.1f}%"


@dataclass
class Sanity:
    off: dict[int, ProvinceSum]  # province unit id -> its sum, only where off by more than 1 %
    missing: list[V]  # communes (of any province) without a population figure

    def province_of(self, snap: Snapshot, v: V) -> ProvinceSum | None:
        """The off-sum of the province ``v`` lies in, if that province's figures do not add up."""
        for anc in snap.ancestors(v):
            if anc.level == "province":
                return self.off.get(anc.unit_id)
        return None


def population_sums(snap: Snapshot, day: date = REFORM) -> Sanity:
    """The provinces (valid on ``day``) whose communes' populations are off by more than 1 %,
    and the communes with no population figure."""
    provinces = {v.unit_id: v for v in snap.valid_on(day) if v.level == "province"}
    totals: dict[int, int] = dict.fromkeys(provinces, 0)
    missing_by: dict[int, list[V]] = {u: [] for u in provinces}
    missing: list[V] = []
    for v in snap.valid_on(day):
        if v.level != "commune" or v.parent_unit_id not in provinces:
            continue
        pop = (snap.stats.get(v.id) or {}).get("population")
        if pop:
            totals[v.parent_unit_id] += int(pop)
        else:
            missing.append(v)
            missing_by[v.parent_unit_id].append(v)
    off: dict[int, ProvinceSum] = {}
    for uid, p in provinces.items():
        own = (snap.stats.get(p.id) or {}).get("population")
        if own and abs(totals[uid] - own) > TOLERANCE * own:
            off[uid] = ProvinceSum(p, int(own), totals[uid], missing_by[uid])
    return Sanity(off, sorted(missing, key=lambda v: v.code))
