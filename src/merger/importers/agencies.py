"""Hải Phòng's agencies (cơ quan chuyên môn, boards) from the gathered news sources.

Reads ``agencies/hp_13_agencies_2025.csv`` and ``agencies/hp_other_units_found.csv`` of the raw
sources and writes the project's own curated files in ``data/units/agencies/`` (the bundle
format of data/units plus ``kind`` and ``evidence`` columns). No official machine-readable
list exists, so every record says whether a source STATES it or it is INFERRED (same-name
pairing, a name from the uniform list of Decree 45/2025/NĐ-CP, or a date not seen), and where.
Only agencies the sources name are written: the seed report's other figures (offices, public
service units) have no public names and are left for staff to record.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from merger import bundle
from merger.errors import DataError
from merger.i18n import _
from merger.importers import agency_history as history
from merger.importers.nso import RECORDED_AT
from merger.names import fold, tidy

DEPARTMENT = "sở và tương đương"  # department and equivalent (cơ quan chuyên môn)
BOARD = "ban quản lý"  # board (economic zone / industrial parks), "tổ chức tương đương sở"

# The People's Committee of each province is represented by the province itself: agencies of
# the People's Committee are parented to the province's unit (unit keys of data/units).
OLD_HP, OLD_HD = "31@..2025-06-30", "30@..2025-06-30"
PROVINCE_CODE = {OLD_HP: "31", OLD_HD: "30"}
REFORM = "2025-07-01"
LAST_DAY = "2025-06-30"
SESSION_NOTE = ("HĐND thành phố Hải Phòng khóa XVI, kỳ họp thứ 28 (1/7/2025) thành lập 13 cơ quan chuyên "
                "môn trên cơ sở hợp nhất các cơ quan của Hải Phòng và Hải Dương; số nghị quyết chưa thấy "
                "trong nguồn")
BOARD_ACT = "1459/QĐ-TTg"
FILES = ("hp_13_agencies_2025.csv", "hp_other_units_found.csv")

# Abbreviations the source rows use for predecessor names, spelled out.
ABBREVIATIONS = {
    "UBND": "Ủy ban nhân dân",
    "NN&MT": "Nông nghiệp và Môi trường",
    "KH&CN": "Khoa học và Công nghệ",
    "GD&ĐT": "Giáo dục và Đào tạo",
    "VHTTDL": "Văn hóa, Thể thao và Du lịch",
}


@dataclass
class Report:
    """What was read and written, for the maintainer running the import."""

    lines: list[str] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)


def _expand(raw: str) -> str:
    """Abbreviations spelled out, remarks in parentheses dropped: "Sở NN&MT Hải Phòng" -> full."""
    text = re.sub(r"\(.*?\)", "", raw)
    for short, full in ABBREVIATIONS.items():
        text = text.replace(short, full)
    return tidy(text)


def _old_name(raw: str) -> str:
    """An old agency's name without its province (the parent says it), keeping a tier word:
    "Văn phòng UBND tỉnh Hải Dương" -> "Văn phòng Ủy ban nhân dân tỉnh"."""
    text = re.sub(r"\s+(Hải Phòng|Hải Dương)$", "", _expand(raw))
    if re.fullmatch(r"(Văn phòng Ủy ban nhân dân|Thanh tra)", text):
        raise DataError(_("cannot tell the tier of {raw!r}").format(raw=raw))
    return text


def code_of(province: str, name: str) -> str:
    """An agency code: province code + folded name, e.g. "31.so-noi-vu" (no official codes exist)."""
    return f"{province}." + re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")


def _evidence(basis: str) -> str:
    return "stated" if basis.strip().upper().startswith("STATED") else "inferred"


def read(sources: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    folder = sources / "agencies"
    out = []
    for name in FILES:
        path = folder / name
        if not path.exists():
            raise DataError(_("missing agency source {path}").format(path=path))
        with path.open(encoding="utf-8", newline="") as fh:
            out.append(list(csv.DictReader(fh)))
    return out[0], out[1]


def build(sources: Path, recorded_at: str | None = None) -> tuple[dict[str, list[dict[str, str]]], Report]:
    """The curated rows (acts, versions, events, links) and a report of what was decided."""
    departments, others = read(sources)
    # A fixed time, as for the NSO data, so a re-run reproduces the files byte for byte.
    recorded_at = recorded_at or RECORDED_AT
    rows: dict[str, list[dict[str, str]]] = {name: [] for name in bundle.AGENCY_FILES}
    report = Report()
    src13 = "agencies/hp_13_agencies_2025.csv"

    def version(code: str, full_name: str, type_: str, parent: str, *, valid_from: str = "",
                valid_to: str = "", unit: str = "", evidence: str, source: str) -> str:
        key = f"{code}@{valid_from}" if valid_from else f"{code}@..{valid_to}" if valid_to else f"{code}@.."
        rows["versions"].append(dict(
            key=key, unit=unit or key, level="agency", code=code, type=type_, name=full_name,
            full_name=full_name, parent_unit=parent, valid_from=valid_from, valid_to=valid_to,
            source=source, kind="agency", evidence=evidence))
        return key

    def event(key: str, type_: str, act: str, note: str, source: str, evidence: str,
              links: list[tuple[str, str, str]], effective: str = REFORM) -> None:
        rows["events"].append(dict(key=key, type=type_, effective=effective, act=act, clause="", note=note,
                                   source=source, evidence=evidence, recorded_at=recorded_at,
                                   recorded_by="merger-importer"))
        for pred, succ, relation in links:
            rows["links"].append(dict(event=key, predecessor=pred, successor=succ, portion="whole",
                                      relation=relation, share="", share_basis="", note=""))

    # Departments that were themselves formed by an earlier merger begin on that date.
    began = {(m.province, m.successor): m for m in history.MARCH_2025}
    merged = kept = 0
    for i, r in enumerate(departments, start=2):
        new_name = _expand(r["new_agency_name"])
        seen = r["post_merger_existence_seen_in"].strip()
        seen_ok = not seen.upper().startswith("NOT SEEN")
        new_source = f"{src13} line {i}: " + (seen if seen_ok else "name from Decree 45/2025/NĐ-CP; " + seen)
        hp_raw, hd_raw = r["old_HaiPhong_predecessor"].strip(), r["old_HaiDuong_predecessor"].strip()
        evidence = _evidence(r["predecessor_basis"])
        if "kept" in hp_raw.lower() and hd_raw.lower().startswith("(none"):
            # Kept as it was: one version spanning the reform, no event.
            version(code_of("31", new_name), new_name, DEPARTMENT, OLD_HP, evidence=evidence,
                    source=f"{src13} line {i}: {seen} ({r['predecessor_basis'].strip()})")
            kept += 1
            report.lines.append(f"{new_name}: kept unchanged across 1 July 2025 ({evidence})")
            continue
        preds = []
        for raw, parent in ((hp_raw, OLD_HP), (hd_raw, OLD_HD)):
            name = _old_name(raw)
            earlier = began.get((parent, name))
            preds.append(version(code_of(PROVINCE_CODE[parent], name), name, DEPARTMENT, parent,
                                 valid_from=earlier.effective if earlier else "", valid_to=LAST_DAY,
                                 evidence=evidence,
                                 source=f"{src13} line {i}: predecessor {raw!r} ({r['predecessor_basis'].strip()})"
                                 + (f"; formed {earlier.effective}: {history.page_list(earlier.pages)}"
                                    if earlier else "")))
        succ = version(code_of("31", new_name), new_name, DEPARTMENT, OLD_HP, valid_from=REFORM,
                       evidence="stated" if seen_ok else "inferred", source=new_source)
        event(f"E20250701-A{code_of('31', new_name)}", "merge", "", SESSION_NOTE,
              f"{src13} line {i}; agencies/SOURCES.txt", evidence,
              [(p, succ, "whole") for p in preds])
        merged += 1
    report.lines.append(f"{merged} departments merged pairwise, {kept} kept: "
                        f"{2 * merged + kept} -> {merged + kept}")
    _earlier_mergers(rows, report, version, event)

    board = next((r for r in others if BOARD_ACT in r["status_or_change"]), None)
    if board is None:
        raise DataError(_("no row citing {board_act} in hp_other_units_found.csv").format(board_act=BOARD_ACT))
    line = others.index(board) + 2
    src = f"agencies/hp_other_units_found.csv line {line}: {board['source'].strip()}"
    m = re.search(r"merging (Ban Quản lý .+?) \+ (Ban Quản lý .+?);", board["status_or_change"])
    if not m:
        raise DataError(_("cannot read the merged boards from line {line}").format(line=line))
    new_board = tidy(board["name"])
    preds = [
        version(code_of("31", tidy(m.group(1))), tidy(m.group(1)), BOARD, OLD_HP, valid_to=LAST_DAY,
                evidence="stated", source=src),
        version(code_of("30", tidy(m.group(2))), tidy(m.group(2)), BOARD, OLD_HD, valid_to=LAST_DAY,
                evidence="stated", source=src),
    ]
    succ = version(code_of("31", new_board), new_board, BOARD, OLD_HP, valid_from=REFORM,
                   evidence="stated", source=src)
    rows["acts"].append(dict(number=BOARD_ACT, kind="decision", issuer="Thủ tướng Chính phủ",
                             title="Quyết định thành lập Ban Quản lý Khu kinh tế Hải Phòng (hợp nhất)",
                             date_signed="", effective_date="", source=src))
    event(f"E20250701-A{code_of('31', new_board)}", "merge", BOARD_ACT,
          "Hợp nhất theo QĐ 1459/QĐ-TTg (stated); ngày hiệu lực suy ra: quyết định có hiệu lực từ ngày ký, "
          "ngày ký chưa thấy trong nguồn (tin đăng khoảng 2/7/2025) — inferred 1/7/2025",
          src, "inferred", [(p, succ, "whole") for p in preds])
    report.lines.append(f"{new_board}: 2 boards -> 1 by {BOARD_ACT} (effective date inferred as {REFORM})")
    skipped = [r["name"] for r in others if r is not board]
    report.lines.append(f"not bundled (no named predecessors or later than July 2025): {len(skipped)} rows")
    report.figures = {name: len(v) for name, v in rows.items()}
    return rows, report


def _earlier_mergers(rows: dict[str, list[dict[str, str]]], report: Report, version, event) -> None:  # type: ignore[no-untyped-def]
    """The departments' mergers before July 2025 (agency_history): each predecessor ends the day
    before, the successor (already written, beginning on that date) is linked to them."""
    successors = {r["key"] for r in rows["versions"]}
    for province in sorted({m.province for m in history.MARCH_2025}):
        found = [m for m in history.MARCH_2025 if m.province == province]
        for m in found:
            code = PROVINCE_CODE[m.province]
            succ = f"{code_of(code, m.successor)}@{m.effective}"
            if succ not in successors:
                raise DataError(_("agency_history: {successor} of {province} is not among the departments that merged on "
                                  "{reform}").format(successor=m.successor, province=m.province, reform=REFORM))
            day_before = (date.fromisoformat(m.effective) - timedelta(days=1)).isoformat()
            source = f"agency_history: {history.page_list(m.pages)}"
            preds = [version(code_of(code, name), name, DEPARTMENT, m.province, valid_to=day_before,
                             evidence="stated", source=source) for name in m.predecessors]
            event(f"E{m.effective.replace('-', '')}-A{code_of(code, m.successor)}", "merge", "", m.note,
                  source, "stated", [(p, succ, "whole") for p in preds], effective=m.effective)
        total = sum(len(m.predecessors) for m in found)
        report.lines.append(f"{province}: {total} departments merged into {len(found)} on "
                            f"{found[0].effective} (agency_history)")
    for what, figure, named in history.SEED_SUBORDINATE:
        report.lines.append(f"seed report, {what}: {figure}; backed by named records: {named}")


def write(rows: dict[str, list[dict[str, str]]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in bundle.AGENCY_FILES:
        with (out / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(bundle.AGENCY_FIELDS[name]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows[name])


def run(sources: Path, out: Path, recorded_at: str | None = None) -> Report:
    """Read the agency sources and write ``out`` (data/units/agencies)."""
    rows, report = build(sources, recorded_at)
    write(rows, out)
    return report
