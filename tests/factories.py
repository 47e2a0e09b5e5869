"""Small registers for tests, written in the bundle format and loaded like the real one."""

from __future__ import annotations

import csv
from pathlib import Path

from merger import bundle, store
from merger.names import bare_name
from merger.register import Register


class Builder:
    """Build a tiny register: versions, events and links, keyed like the real data."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, str]]] = {name: [] for name in bundle.BUNDLE_FILES}
        self._units: dict[str, str] = {}

    def act(self, number: str, signed: str = "2025-06-16", effective: str = "") -> str:
        self.rows["acts"].append(dict(number=number, kind="resolution", issuer="test", title=number,
                                      date_signed=signed, effective_date=effective, source="factory"))
        return number

    def version(self, code: str, full_name: str, type_: str, level: str, *, parent: str | None = None,
                unit: str | None = None, valid_from: str = "", valid_to: str = "") -> str:
        key = f"{code}@{valid_from}" if valid_from else f"{code}@..{valid_to}"
        self._units[key] = self._units[unit] if unit else key
        self.rows["versions"].append(dict(
            key=key, unit=self._units[key], level=level, code=code, type=type_,
            name=bare_name(full_name, type_), full_name=full_name,
            parent_unit=self._units[parent] if parent else "", valid_from=valid_from, valid_to=valid_to,
            source="factory"))
        return key

    def event(self, key: str, type_: str, effective: str, links: list[tuple], act: str = "",
              clause: str = "") -> str:
        """``links``: (predecessor key or "", successor key or "", portion, relation[, share, basis])."""
        self.rows["events"].append(dict(key=key, type=type_, effective=effective, act=act, clause=clause,
                                        note="", source="factory", evidence="",
                                        recorded_at="2025-07-18T00:00:00", recorded_by="factory"))
        for link in links:
            pred, succ, portion, relation, *rest = link
            share, basis = (str(rest[0]), rest[1]) if rest else ("", "")
            self.rows["links"].append(dict(event=key, predecessor=pred, successor=succ, portion=portion,
                                           relation=relation, share=share, share_basis=basis, note=""))
        return key

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name in bundle.BUNDLE_FILES:
            with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(bundle.FIELDS[name]), lineterminator="\n")
                w.writeheader()
                w.writerows(self.rows[name])
        return folder

    def build(self, tmp_path: Path) -> Register:
        folder = self.write(tmp_path / "bundle")
        url = f"sqlite:///{tmp_path / 'factory.sqlite'}"
        engine = store.make_engine(url)
        store.load_bundle(engine, folder)
        return Register(url, engine)


def tiny_reform() -> Builder:
    """One province, two districts, four communes; on 2025-07-01 two merge, one splits, one moves."""
    b = Builder()
    b.act("1/TEST")
    p = b.version("01", "Tỉnh Thử", "tỉnh", "province", valid_to="2025-06-30")
    p2 = b.version("01", "Tỉnh Thử", "tỉnh", "province", unit=p, valid_from="2025-07-01")
    d1 = b.version("001", "Huyện Một", "huyện", "district", parent=p, valid_to="2025-06-30")
    d2 = b.version("002", "Huyện Hai", "huyện", "district", parent=p, valid_to="2025-06-30")
    a = b.version("00001", "Xã An", "xã", "commune", parent=d1, valid_to="2025-06-30")
    bb = b.version("00002", "Xã Bình", "xã", "commune", parent=d1, valid_to="2025-06-30")
    c = b.version("00003", "Xã Hòa Bình", "xã", "commune", parent=d2, valid_to="2025-06-30")
    d = b.version("00004", "Thị trấn Đông", "thị trấn", "commune", parent=d2, valid_to="2025-06-30")
    n1 = b.version("00001", "Xã An Bình", "xã", "commune", parent=p2, valid_from="2025-07-01")
    n2 = b.version("00004", "Thị trấn Đông", "thị trấn", "commune", parent=p2, unit=d, valid_from="2025-07-01")
    b.event("E-P", "continue", "2025-07-01", [(p, p2, "whole", "unchanged")], act="1/TEST")
    b.event("E-1", "merge", "2025-07-01", [(a, n1, "whole", "whole"), (bb, n1, "whole", "whole"),
                                            (c, n1, "part", "part")], act="1/TEST", clause="1")
    b.event("E-2", "move", "2025-07-01", [(d, n2, "whole", "unchanged"), (c, n2, "part", "part")],
            act="1/TEST", clause="2")
    b.event("E-D1", "dissolve", "2025-07-01", [(d1, "", "whole", "dissolved")], act="1/TEST")
    b.event("E-D2", "dissolve", "2025-07-01", [(d2, "", "whole", "dissolved")], act="1/TEST")
    return b
