"""Parse the Standing Committee resolutions on commune-level arrangement (2025).

The 34 resolutions 1654/NQ-UBTVQH15 ... 1687/NQ-UBTVQH15 each list, in Article 1
(Điều 1), one numbered clause (khoản) per new commune-level unit, and close Article 1
with a summary ("Sau khi sắp xếp, thành phố Hải Phòng có 114 đơn vị hành chính cấp xã,
gồm 67 xã, 45 phường và 02 đặc khu"). Units that were *not* rearranged have no clause of
their own: the summary names them ("... và 06 xã không thực hiện sắp xếp là các xã A, B").

The sources are Markdown converted from Word/PDF, with conversion glitches. Every glitch
is repaired by a general rule below (each one commented where it is applied); nothing is
fixed for a particular unit. Anything the rules cannot make sense of raises ``ValueError``
naming the file and clause, so a bad source fails loudly instead of yielding a wrong unit.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from merger.i18n import N_  # reasons marked for draft's message (merger.draft.parse), raised in English

__all__ = [
    "UNIT_TYPES",
    "Clause",
    "CommuneResolution",
    "parse_commune_resolution",
    "parse_commune_resolution_text",
]

#: The three commune-level unit types created on 1 July 2025, as written in the texts.
UNIT_TYPES: tuple[str, ...] = ("xã", "phường", "đặc khu")

# A unit-type word. "đặc khu" may be wrapped over a line break (collapsed to one space
# before matching) and the type word may be glued to the name ("phườngNgô Quyền"), so
# the pattern consumes no following whitespace itself. Case-insensitive because a
# sentence may start with it; names themselves are always capitalised.
_TYPE = r"(?i:đặc\s*khu|phường|xã)"

# Clause start: a number at the start of a line, then a dot. Glitches handled here:
# - the converter escapes the dot ("1\\.") so it is not read as a Markdown list;
# - some lines are indented with spaces or NO-BREAK SPACEs (U+00A0), which ``[^\S\n]``
#   covers because Python's ``\s`` is Unicode-aware;
# - the space after the dot is sometimes missing ("9.Sắp xếp");
# - bold markers may surround the number ("**12.**"), tolerated though not yet seen.
# ``_split_clauses`` also requires an upper-case letter after it ("Sắp xếp", "Đổi tên",
# "Sau khi"), so a wrapped line that happens to start with a number and a dot is not
# taken for a clause.
_CLAUSE_START = re.compile(r"(?m)^[^\S\n]*(?:\*\*)?(\d{1,3})[^\S\n]*\\?\.(?:\*\*)?[^\S\n]*")

# Article headings: "**Điều 2. Hiệu lực thi hành**" at the start of a line. The bold is
# optional so a heading that lost its markers still ends Article 1; in running text
# "Điều" is followed by "này", never by a number and a dot.
_HEADING = re.compile(r"(?m)^[^\S\n]*(?:\*\*)?[^\S\n]*Điều[^\S\n]+(\d+)[^\S\n]*\\?\.")
_NUMBER = re.compile(r"Số\s*:\s*(\d+\s*/\s*NQ\s*-\s*UBTVQH\d+)")
_DATE = re.compile(r"ngày\s*(\d{1,2})\s*tháng\s*(\d{1,2})\s*năm\s*(\d{4})")
# The title is upper case and wraps: "VỀ VIỆC SẮP XẾP CÁC ĐƠN VỊ HÀNH CHÍNH CẤP XÃ CỦA
# THÀNH PHỐ HẢI PHÒNG NĂM\n2025" (matched after whitespace collapsing).
_TITLE = re.compile(
    r"VỀ VIỆC SẮP XẾP CÁC ĐƠN VỊ HÀNH CHÍNH CẤP XÃ CỦA\s+(TỈNH|THÀNH PHỐ)\s+(.+?)\s+NĂM\s+\d{4}"
)

# The final designation of a clause. Glitches: "có tên gọilà" (missing space), the bold
# moved onto "là" ("có tên gọi **là phường Ba Đình**"), bold around the type alone
# ("**xã** **Đam Rông 1**"), no bold at all ("có tên gọi là xã Cờ Đỏ"), "thànhxã". The
# bold markers are removed before matching, so all of these read alike. The greedy
# ``.*`` makes the match the LAST designation in the clause (predecessors come first).
_NAMED_AS = re.compile(rf".*có\s*tên\s*gọi\s*là\s*({_TYPE})\s*(.+)$", re.S)
# Clauses without "có tên gọi là": "thành **xã Ninh Thạnh Lợi**" and renames
# "Đổi tên xã Krông Na thành **xã Buôn Đôn**". The verb "thành" is lower case; the
# same syllable inside a name is capitalised ("Tân Thành"), so the match is
# case-sensitive on it.
_BECOMES = re.compile(rf".*thành\s*({_TYPE})\s*(.+)$", re.S)

_SUMMARY = re.compile(
    r"Sau\s*khi\s*sắp\s*xếp\s*,?\s*(?P<who>.+?)\s*có\s*(?P<total>\d+)\s*đơn\s*vị\s*hành\s*chính"
    r"\s*cấp\s*xã\s*,?\s*gồm\s*(?P<parts>[^;.]+)"
)
_COUNT = re.compile(rf"(\d+)\s*({_TYPE})")
_UNCHANGED = re.compile(
    r"(?P<count>\d+)\s*(?P<what>đơn\s*vị\s*hành\s*chính\s*cấp\s*xã|" + _TYPE + r")"
    r"\s*không\s*thực\s*hiện\s*sắp\s*xếp\s*là\s*(?P<names>.+?)\s*\.?\s*$",
    re.S,
)
# A unit name: up to 8 words of letters and digits ("Hà Giang 2", "1 Bảo Lộc"),
# apostrophes ("Ea H'Leo") and hyphens ("Lang Biang - Đà Lạt"), starting with a capital
# or a digit. Anything else (a comma, a parenthesis, a second sentence, a lower-case
# word first) means the clause was not understood, and parsing stops with an error
# rather than guessing.
_NAME = re.compile(r"^[\w'’\-]+(?: [\w'’\-]+){0,7}$")
_MAX_CLAUSES = 400


@dataclass(frozen=True)
class Clause:
    """One new commune-level unit as Article 1 establishes it, with its source text."""

    number: int  # the khoản number in Article 1
    unit_type: str  # lower-case Vietnamese: "xã", "phường" or "đặc khu"
    unit_name: str  # the name without the type word, NFC, single spaces, e.g. "Thủy Nguyên"
    text: str  # the clause text, whitespace-collapsed (for provenance)


@dataclass(frozen=True)
class CommuneResolution:
    """What a commune-arrangement resolution decides, as read from its text.

    ``clauses`` are the numbered clauses of Article 1 that form, rename or convert a unit.
    ``unchanged`` are the units the summary names as "không thực hiện sắp xếp": they
    exist after 1 July 2025 but have no clause, so a register needs them to be complete.
    Each carries the summary's khoản number and text as provenance. ``summary`` is the
    stated composition, always with the keys "xã", "phường", "đặc khu" (0 when the text
    does not mention a type) and "total"; ``None`` when the resolution states none.
    """

    number: str  # e.g. "1669/NQ-UBTVQH15"
    date_signed: datetime.date  # from "ngày 16 tháng 6 năm 2025"
    province: str  # the province named in the title, e.g. "Hải Phòng"
    clauses: list[Clause]
    summary: dict[str, int] | None
    unchanged: list[Clause] = field(default_factory=list)


def parse_commune_resolution(path: Path) -> CommuneResolution:
    """Parse one resolution file; raises ``ValueError`` (naming the file) on bad input."""
    path = Path(path)
    try:
        return parse_commune_resolution_text(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from exc


def parse_commune_resolution_text(text: str) -> CommuneResolution:
    """Parse the Markdown text of one resolution (split out so tests can feed snippets)."""
    # Combining marks occur decomposed or doubled ("mộ̂t"); NFC makes every later
    # comparison and every returned name canonical.
    text = unicodedata.normalize("NFC", text)

    header, article1, after = _articles(text)
    number = _resolution_number(header)
    date_signed = _date_signed(header)
    province = _province(header, article1)

    clauses: list[Clause] = []
    summary: dict[str, int] | None = None
    unchanged: list[Clause] = []
    for num, body in _split_clauses(article1):
        flat = _collapse(body)
        if _SUMMARY.search(_plain(flat)):
            if summary is not None:
                raise ValueError(f"khoản {num}: a second summary of Article 1")
            summary, unchanged = _parse_summary(num, flat)
            continue
        clauses.append(_parse_clause(num, flat))
    if summary is None:
        # The brief allows the closing summary to sit in a later article; look there.
        for num, body in _split_clauses(after):
            flat = _collapse(body)
            if _SUMMARY.search(_plain(flat)):
                summary, unchanged = _parse_summary(num, flat)
                break
    if not clauses:
        raise ValueError(N_("Article 1 has no numbered clauses"))
    return CommuneResolution(
        number=number,
        date_signed=date_signed,
        province=province,
        clauses=clauses,
        summary=summary,
        unchanged=unchanged,
    )


# --- helpers -------------------------------------------------------------------------


def _collapse(s: str) -> str:
    """Collapse runs of whitespace (line wraps, NO-BREAK SPACE, tabs) to one space."""
    # Line wraps fall inside names ("phường Dương\nQuan"); joining with one space
    # restores them. ``str.split()`` treats U+00A0 as whitespace too.
    return " ".join(s.split())


def _plain(s: str) -> str:
    """Strip Markdown emphasis and escapes so the wording can be matched as prose."""
    # Bold/italic markers land anywhere, including glued to words ("là**xã An Bình**")
    # and around the type word alone ("**xã** **Đam Rông 1**"). Replacing each by a
    # space (then collapsing) separates glued words and never joins two words.
    s = re.sub(r"\*+", " ", s)
    # Backslash escapes added by the converter ("1\\.", "\\-").
    s = re.sub(r"\\([.\-*_()\[\]])", r"\1", s)
    return _collapse(s)


def _articles(text: str) -> tuple[str, str, str]:
    """Split into (header and preamble, Article 1, the rest) at the article headings."""
    headings = list(_HEADING.finditer(text))
    starts = [m for m in headings if m.group(1) == "1"]
    if not starts:
        raise ValueError(N_("no '**Điều 1.' heading"))
    start = starts[0]
    later = [m for m in headings if m.start() > start.start() and m.group(1) != "1"]
    end = later[0].start() if later else len(text)
    return text[: start.start()], text[start.start() : end], text[end:]


def _resolution_number(header: str) -> str:
    m = _NUMBER.search(header)
    if not m:
        raise ValueError(N_("no 'Số: .../NQ-UBTVQH..' in the header"))
    return re.sub(r"\s+", "", m.group(1))


def _date_signed(header: str) -> datetime.date:
    # The first date in the document is the place-and-date line next to "Số:"; the
    # preamble's dates (of other acts) come after the title.
    title_at = header.find("NGHỊ QUYẾT")
    m = _DATE.search(header if title_at < 0 else header[:title_at])
    if not m:
        raise ValueError(N_("no 'ngày .. tháng .. năm ....' before the title"))
    day, month, year = (int(g) for g in m.groups())
    return datetime.date(year, month, day)


def _province(header: str, article1: str) -> str:
    """The province of the title, in the mixed case the body uses."""
    title = _TITLE.search(_plain(header))
    if not title:
        raise ValueError(N_("no title 'VỀ VIỆC SẮP XẾP ... CẤP XÃ CỦA <TỈNH|THÀNH PHỐ> ... NĂM'"))
    upper = title.group(2)
    # The title is in capitals. Article 1's heading names the same province in mixed case
    # ("... cấp xã của thành phố Hải Phòng"); take that spelling when it is the same name,
    # else fall back to capitalising each syllable (how Vietnamese writes place names).
    heading = _plain(article1.split("\n\n", 1)[0])
    m = re.search(r"cấp xã của (?i:tỉnh|thành phố) (.+?)\s*$", heading)
    if m and m.group(1).casefold() == upper.casefold():
        return m.group(1)
    return " ".join(w[:1].upper() + w[1:].lower() for w in upper.split())


def _split_clauses(article: str) -> list[tuple[int, str]]:
    """Split an article into (khoản number, raw text) in document order."""
    starts = [
        m for m in _CLAUSE_START.finditer(article) if article[m.end() : m.end() + 1].isupper()
    ]
    out = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(article)
        out.append((int(m.group(1)), article[m.end() : end]))
    if len(out) > _MAX_CLAUSES:
        raise ValueError(f"{len(out)} clauses in one article: splitting went wrong")
    return out


def _unit_type(raw: str) -> str:
    t = " ".join(raw.split()).casefold()
    if t not in UNIT_TYPES:
        raise ValueError(f"unknown unit type {raw!r}")
    return t


def _clean_name(raw: str) -> str:
    """Trim a designated name to the bare name, or raise if it is not one."""
    # The clause's full stop sits outside or inside the bold ("**xã Hoằng Tiến.**").
    name = _collapse(raw).rstrip(" .;:")
    if not (_NAME.match(name) and (name[0].isupper() or name[0].isdigit())):
        raise ValueError(f"not a unit name: {name!r}")
    return name


def _parse_clause(number: int, flat: str) -> Clause:
    plain = _plain(flat)
    m = _NAMED_AS.match(plain) or _BECOMES.match(plain)
    if not m:
        raise ValueError(
            f"khoản {number}: no 'có tên gọi là <type> <name>' or 'thành <type> <name>'"
        )
    try:
        unit_type = _unit_type(m.group(1))
        unit_name = _clean_name(m.group(2))
    except ValueError as exc:
        raise ValueError(f"khoản {number}: {exc}") from exc
    return Clause(number=number, unit_type=unit_type, unit_name=unit_name, text=flat)


def _parse_summary(number: int, flat: str) -> tuple[dict[str, int], list[Clause]]:
    """Parse the composition after arrangement and the units left unchanged."""
    plain = _plain(flat)
    m = _SUMMARY.search(plain)
    if m is None:
        raise ValueError(f"khoản {number}: not a summary: {plain!r}")
    summary = {t: 0 for t in UNIT_TYPES}
    # Digits glued to the next word ("gồm67 xã", "và15 phường") are fine: ``\s*``.
    for count, raw_type in _COUNT.findall(m.group("parts")):
        summary[_unit_type(raw_type)] += int(count)
    summary["total"] = int(m.group("total"))
    if sum(summary[t] for t in UNIT_TYPES) != summary["total"]:
        raise ValueError(f"khoản {number}: summary parts do not add up: {plain!r}")

    unchanged: list[Clause] = []
    u = _UNCHANGED.search(plain)
    if u:
        unchanged = _unchanged_units(number, flat, u.group("names"))
        stated = int(u.group("count"))
        what = u.group("what")
        if len(unchanged) != stated or (
            what.casefold() in UNIT_TYPES
            and any(c.unit_type != _unit_type(what) for c in unchanged)
        ):
            raise ValueError(
                f"khoản {number}: states {stated} {what} unchanged, read "
                f"{[(c.unit_type, c.unit_name) for c in unchanged]}"
            )
    return summary, unchanged


def _unchanged_units(number: int, flat: str, names: str) -> list[Clause]:
    """Read "phường Tân Lộc, các xã Trường Long, Thạnh Phú và Krong" as typed names."""
    out = []
    current: str | None = None
    # Items are separated by commas and "và"; a comma may lack its space ("Giáp
    # Trung,Tiên Nguyên"). A type word ("xã", "các xã", "phường") applies to the items
    # after it until the next type word.
    for item in re.split(r"\s*,\s*|\s+và\s+", names):
        item = item.strip()
        # "(huyện Đăk Glei)" tells same-named old units apart; it is not part of the name.
        item = re.sub(r"\s*\([^)]*\)\s*", " ", item).strip()
        if not item:
            continue
        # The type word is lower case here; a capitalised "Phường 1" is a proper name.
        m = re.match(r"^(?:các\s+)?(đặc\s*khu|phường|xã)\s*(.*)$", item)
        if m and m.group(2)[:1].isupper():
            current = _unit_type(m.group(1))
            item = m.group(2)
        if current is None:
            raise ValueError(f"khoản {number}: unchanged unit {item!r} has no type word")
        try:
            name = _clean_name(item)
        except ValueError as exc:
            raise ValueError(f"khoản {number}: {exc}") from exc
        out.append(Clause(number=number, unit_type=current, unit_name=name, text=flat))
    return out


# --- what a clause names as its predecessors ------------------------------------------------------

# The designation that ends the predecessor list: "thành phường mới có tên gọi là", "thành xã".
_DESIGNATION = re.compile(r"thành\s*(?:\*\*)?\s*(?:phường|xã|đặc\s*khu)\b")
# A qualifier: lower-case words from "toàn bộ" / "một phần" / "phần còn lại" to "của" (names are
# capitalised, so none lies inside).
# "của" may be glued to what follows ("củathị trấn Mèo Vạc").
_QUALIFIER = re.compile(r"(toàn bộ|một phần|phần còn lại)[^A-ZĐ]*?của")
# "sau khi sắp xếp theo quy định tại (các) khoản 3, 4 và 5 Điều này": where the rest came from.
_TAIL = re.compile(r"\s*sau\s*khi.*?(?:Điều\s*này|$)", re.S)
# Type words before a name, possibly glued ("cácxã Kim Thạch").
_UNIT_WORD = re.compile(r"^(?:các\s*)?(?:xã|phường|thị\s*trấn|huyện|thị\s*xã|thành\s*phố)\s*")


def clause_predecessors(text: str) -> list[tuple[str, str, str]]:
    """(name, portion, qualifier) of every unit a clause names before its designation: portion
    "whole" for "toàn bộ …", "part" for "một phần …" and "phần còn lại …" (the remainder)."""
    text = re.sub(r"\*\*", "", unicodedata.normalize("NFC", text))
    m = _DESIGNATION.search(text)
    head = text[: m.start()] if m else text
    quals = list(_QUALIFIER.finditer(head))
    out: list[tuple[str, str, str]] = []
    for i, q in enumerate(quals):
        names = head[q.end(): quals[i + 1].start() if i + 1 < len(quals) else len(head)]
        names = re.sub(r"\s*\([^)]*\)", "", _TAIL.sub("", names))  # "Quang Trung (quận Đống Đa)"
        qualifier = " ".join(q.group(0).split()[:-1])
        portion = "whole" if q.group(1) == "toàn bộ" and "một phần" not in qualifier else "part"
        for piece in re.split(r",|và", names):  # "và" is often glued to a name ("Hưng Đạovà xã")
            piece = _UNIT_WORD.sub("", piece.strip(" .;")).strip(" .;")
            piece = _UNIT_WORD.sub("", piece).strip()
            piece = re.sub(r"^(?:Phường|Xã)\s+(?=\d+$)", "", piece)  # "Phường 1": the name is "1"
            # a type word glued to the previous name ("Nghènxã Thiên Lộc"): two names
            glued = re.split(r"(?<=[a-zà-ỹđ])\s*(?:xã|phường|thị trấn)\s+(?=[A-ZĐ])", piece)
            if len(glued) > 1:
                out.extend((g.strip(), portion, qualifier) for g in glued
                           if g.strip()[:1].isupper() or g.strip()[:1].isdigit())
                continue
            if piece and piece[0].isupper() or piece[:1].isdigit():
                out.append((piece, portion, qualifier))
    return out
