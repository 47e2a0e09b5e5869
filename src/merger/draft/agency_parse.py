"""Read what a People's Council resolution (or a People's Committee decision) does to agencies.

The provincial texts of 2025 say it in a few fixed phrasings, which news reports quote:
"Thành lập Sở Tài chính trên cơ sở hợp nhất Sở Kế hoạch và Đầu tư và Sở Tài chính", "Sở Nội
vụ hình thành từ sự hợp nhất giữa Sở Nội vụ và Sở Lao động - Thương binh và Xã hội", "hợp
nhất Sở GTVT và Sở Xây dựng thành Sở Xây dựng", "Sở Kế hoạch và Đầu tư hợp nhất với Sở Tài
chính" (no successor named), "sáp nhập Ban Tôn giáo thuộc Sở Nội vụ vào Ban Dân tộc", "đổi
tên Sở A thành Sở B", "giải thể Ban X", "chuyển Chi cục X từ Sở A sang Sở B". Names are cut
where the next agency's head word begins ("Sở", "Ban", "Văn phòng", ...), so the "và" inside
"Sở Kế hoạch và Đầu tư" or the comma in "Sở Văn hóa, Thể thao và Du lịch" never splits a name.
This module resolves no names: ``agencies`` does, against the register.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field

from merger.i18n import _

MAX_SENTENCE = 2000  # characters; the longest clause of the 2025 texts seen is under 700
# Words an agency's name starts with (capitalised: "các sở" in running text is no name).
HEADS = ("Văn phòng", "Thanh tra", "Chi cục", "Trung tâm", "Ban", "Sở", "Quỹ", "Hội", "Cục", "Bộ")
_HEAD = r"(?:" + "|".join(h.replace(" ", r"\s+") for h in HEADS) + r")(?=\s)"
# Abbreviations the reports use, as whole words; expanded before anything is read.
ABBREVIATIONS = (
    ("UBND", "Ủy ban nhân dân"), ("HĐND", "Hội đồng nhân dân"), ("KH&ĐT", "Kế hoạch và Đầu tư"),
    ("KHĐT", "Kế hoạch và Đầu tư"), ("GTVT", "Giao thông vận tải"), ("NN&PTNT", "Nông nghiệp và Phát triển nông thôn"),
    ("NNPTNT", "Nông nghiệp và Phát triển nông thôn"), ("TN&MT", "Tài nguyên và Môi trường"),
    ("TNMT", "Tài nguyên và Môi trường"), ("TT&TT", "Thông tin và Truyền thông"), ("TTTT", "Thông tin và Truyền thông"),
    ("KH&CN", "Khoa học và Công nghệ"), ("KHCN", "Khoa học và Công nghệ"),
    ("LĐ-TB&XH", "Lao động - Thương binh và Xã hội"), ("LĐTB&XH", "Lao động - Thương binh và Xã hội"),
    ("LĐTBXH", "Lao động - Thương binh và Xã hội"), ("VH-TT&DL", "Văn hóa, Thể thao và Du lịch"),
    ("VHTT&DL", "Văn hóa, Thể thao và Du lịch"), ("VHTTDL", "Văn hóa, Thể thao và Du lịch"),
    ("GD&ĐT", "Giáo dục và Đào tạo"), ("GDĐT", "Giáo dục và Đào tạo"), ("NN&MT", "Nông nghiệp và Môi trường"),
    ("TP.HCM", "thành phố Hồ Chí Minh"), ("TPHCM", "thành phố Hồ Chí Minh"), ("TP.", "thành phố "), ("TP", "thành phố"),
)
_ABBREV = re.compile(r"(?<![\w&.-])(" + "|".join(re.escape(a) for a, _ in sorted(ABBREVIATIONS, key=lambda x: -len(x[0])))
                     + r")(?![\w&-])")
_EXPAND = dict(ABBREVIATIONS)

_NAME = rf"{_HEAD}.+?"
# Where a list of names ends: a parenthesis that is not an abbreviation, "đồng thời",
# "và tiếp nhận" (what the new agency also takes over), "để".
_STOP = re.compile(r"\s*(?:\(|,?\s+đồng\s+thời\b|,?\s+và\s+tiếp\s+nhận\b|,\s*tiếp\s+nhận\b|\s+để\s|,\s*sau\s+khi\b)")
_SEP = re.compile(rf"\s*(?:,|\bvà\b|\bvới\b|\bgiữa\b|\bvào\b)\s*(?={_HEAD})")

# The clause forms, tried in this order on each sentence. NEW: the agency the clause makes;
# LIST: the ones it is made from.
_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("merge", re.compile(rf"(?:^|\b)[Tt]hành\s+lập\s+(?P<new>{_NAME})\s+trên\s+cơ\s+sở\s+(?:tổ\s+chức\s+lại\s+và\s+)?"
                         rf"(?:hợp\s+nhất|sáp\s+nhập)\s+(?:giữa\s+)?(?P<list>{_HEAD}.*)$")),
    ("merge", re.compile(rf"(?P<new>{_NAME})\s+(?:được\s+)?(?:thành\s+lập|tổ\s+chức\s+lại|hình\s+thành)\s+"
                         rf"(?:trên\s+cơ\s+sở|từ\s+(?:sự|việc))\s+(?:hợp\s+nhất|sáp\s+nhập)\s+(?:giữa\s+)?"
                         rf"(?P<list>{_HEAD}.*)$")),
    ("absorb", re.compile(rf"(?:^|\b)[Ss]áp\s+nhập\s+(?P<list>{_HEAD}.+?)\s+vào\s+(?P<new>{_HEAD}.*)$")),
    ("merge", re.compile(rf"(?:^|\b)[Hh]ợp\s+nhất\s+(?P<list>{_HEAD}.+?)\s+thành\s+(?P<new>{_HEAD}.*)$")),
    ("rename", re.compile(rf"(?:^|\b)[Đđ]ổi\s+tên\s+(?P<list>{_HEAD}.+?)\s+thành\s+(?P<new>{_HEAD}.*)$")),
    ("pair", re.compile(rf"(?P<list>{_NAME}\s+hợp\s+nhất\s+với\s+{_HEAD}.*)$")),
    ("pair", re.compile(rf"(?:^|\b)[Hh]ợp\s+nhất\s+(?P<list>{_HEAD}.*)$")),
    ("establish", re.compile(rf"(?:^|\b)[Tt]hành\s+lập\s+(?P<new>{_NAME})\s+trên\s+cơ\s+sở\s+(?:chia\s+)?tách\s+"
                             r"(?P<list>.*)$")),
    ("dissolve", re.compile(rf"(?:^|\b)[Gg]iải\s+thể\s+(?P<list>{_HEAD}.*)$")),
    ("move", re.compile(rf"(?:^|\b)[Cc]huyển\s+(?P<list>{_HEAD}.+?)\s+(?:từ|thuộc)\s+(?P<old>{_HEAD}.+?)\s+"
                        rf"(?:sang|về)\s+(?:trực\s+thuộc\s+)?(?P<new>(?:{_HEAD}|Ủy\s+ban\s+nhân\s+dân\b).*)$")),
)
# Clauses that change no agency's existence but are worth a line in the notes.
_NOTE = re.compile(r"(?:^|\b)(?:[Tt]ổ\s+chức\s+lại|[Gg]iữ\s+nguyên|[Cc]huyển\s+(?:giao\s+)?(?:chức\s+năng|nhiệm\s+vụ))\b")
# Verbs of a change: a sentence with one and an agency's name that no form reads is reported.
_VERBS = re.compile(r"\b(?:[Tt]hành\s+lập|[Hh]ợp\s+nhất|[Ss]áp\s+nhập|[Gg]iải\s+thể|[Đđ]ổi\s+tên|[Cc]hia\s+tách|"
                    r"[Tt]ách|[Cc]huyển)\b")
# "Sau khi tổ chức lại, các cơ quan chuyên môn thuộc UBND tỉnh Hải Dương gồm 12 cơ quan: Sở Nội vụ, ..."
_AFTER = re.compile(r"Sau\s+khi\s+(?:tổ\s+chức\s+lại|sắp\s+xếp|hợp\s+nhất|tinh\s+gọn)[^:.;]{0,300}?(?:gồm|có|còn)\s+"
                    r"(?P<n>\d+)\s+(?:cơ\s+quan|sở)[^:.;]{0,300}:\s*(?P<list>[^.]{1,3000}?)(?:\.\s|\.$|$)")
_NUMBER = re.compile(r"Số\s*:\s*(\d+(?:\s*/\s*\d{4})?\s*/\s*(?:NQ|QĐ)\s*-\s*[A-ZĐa-z0-9]+)")
# A report names the act in its prose: "đã ký Quyết định số 1459/QĐ-TTg thành lập ...".
_NUMBER_IN_PROSE = re.compile(r"(?:Quyết\s+định|Nghị\s+quyết)\s+số\s+(\d+(?:/\d{4})?/(?:NQ|QĐ)-[A-ZĐa-z0-9]+)"
                              r"(?=[^.;]{0,300}?(?:thành\s+lập|hợp\s+nhất|sáp\s+nhập|tổ\s+chức\s+lại|giải\s+thể))")
_SIGNED = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})")
_FROM = re.compile(r"(?:hoạt\s+động|hiệu\s+lực(?:\s+thi\s+hành)?)\s+(?:kể\s+)?từ\s+ngày\s+"
                   r"(?:(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})|(\d{1,2})/(\d{1,2})/(\d{4}))")
_ISSUER = re.compile(r"(HỘI ĐỒNG NHÂN DÂN|ỦY BAN NHÂN DÂN|UỶ BAN NHÂN DÂN)\s+(TỈNH|THÀNH PHỐ)\s+"
                     r"([A-ZĐÂĂÊÔƠƯÁÀẢÃẠ-ỹ][^\n*|]*?)(?=\s*(?:\n|\*|\||-{2,}|CỘNG|Số|$))")
_PLACE = re.compile(r"\b(tỉnh|thành\s+phố)\s+((?:[A-ZĐ][\w’'-]*)(?:\s+[A-ZĐ][\w’'-]*){0,3})")
# "hợp nhất 10 sở thành 5 sở", "hợp nhất 25 sở, ngành (tại 02 địa phương) thành 13 sở, ngành"
_MERGED_COUNT = re.compile(r"hợp\s+nhất\s+(\d+)\s+(?:sở|cơ\s+quan)[^.;]{0,80}?\s+thành\s+(\d+)\s+(?:sở|cơ\s+quan)")
# A commune-arrangement resolution is read by ``parse`` (its title says so).
_COMMUNE_TITLE = re.compile(r"SẮP\s+XẾP\s+(?:CÁC\s+)?ĐƠN\s+VỊ\s+HÀNH\s+CHÍNH", re.I)


@dataclass
class AgencyClause:
    """One sentence that changes agencies, as read (names not yet resolved)."""

    number: int  # its order in the document, from 1
    kind: str  # merge, absorb, pair (merged, no successor named), rename, dissolve, move
    text: str  # the sentence as the document gives it
    names: list[str]  # the agencies it acts on, as written (abbreviations expanded)
    new: str | None = None  # merge/absorb/rename: the agency it makes or keeps; move: the new parent
    old_parent: str | None = None  # move: the parent it leaves
    cite: str | None = None  # "khoản 1 Điều 1" when the text is numbered, else None
    problems: list[str] = field(default_factory=list)


@dataclass
class AgencyDocument:
    """An agency text as read: identity (what it states of it), clauses, and its closing list."""

    number: str | None
    date_signed: datetime.date | None
    issuer: str | None
    province: str | None  # the province the text is about ("Hải Dương"), from its issuer or its prose
    places: list[str]  # every "tỉnh X" / "thành phố X" the text names, most named first
    effective: datetime.date | None
    clauses: list[AgencyClause]
    after: list[str]  # "gồm 12 cơ quan: ..." -- the agencies after the change, as listed
    after_stated: int | None  # the number stated before that list
    notes: list[str]  # sentences that reorganise without changing which agencies exist
    unread: list[str] = field(default_factory=list)  # sentences that seem to change agencies, not read
    merged_stated: tuple[int, int] | None = None  # "hợp nhất 10 sở thành 5 sở" -> (10, 5)


def expand(text: str) -> str:
    """NFC, Markdown and abbreviations out ("Sở GTVT" -> "Sở Giao thông vận tải")."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"[*_`#>|]+", " ", text).replace("\\", "")
    text = _ABBREV.sub(lambda m: _EXPAND[m.group(1)], text)
    return re.sub(r"[ \t\u00a0]+", " ", text)


def _drop_abbreviation_notes(text: str) -> str:
    """"Bộ Nông nghiệp và Phát triển nông thôn (NN-PTNT)": the parenthesis only abbreviates."""
    return re.sub(r"\s*\((?:[A-ZĐ&\-–. ]{2,16})\)", "", text)


def split_names(text: str) -> list[str]:
    """"Sở Kế hoạch và Đầu tư, Sở Tài chính và Sở Xây dựng" -> the three names."""
    text = _drop_abbreviation_notes(text)
    stop = _STOP.search(text)
    if stop:
        text = text[: stop.start()]
    parts = _SEP.split(text.strip(" .;:,"))
    return [" ".join(p.split()).strip(" .;:,") for p in parts if p.strip(" .;:,")]


def _cut(name: str) -> str:
    """One name, without what follows it in the sentence."""
    names = split_names(name)
    return names[0] if names else name.strip()


def _paragraphs(text: str) -> list[str]:
    """Lines joined back into paragraphs (converted texts wrap them): a blank line, an article
    heading, a numbered clause or a bullet starts a new one."""
    out: list[str] = []
    joined = False
    for raw in text.splitlines():
        line = raw.strip(" \t")
        if not line:
            joined = False
            continue
        # A capitalised verb at a line's start begins a sentence ("Hợp nhất Sở A với Sở B" one per line).
        starts = re.match(r"^(?:Điều\s+\d+\s*\.|\d{1,3}\s*[.)]\s|[-•+]\s|(?:Hợp\s+nhất|Thành\s+lập|Sáp\s+nhập|"
                          r"Đổi\s+tên|Giải\s+thể|Chuyển)\s)", line)
        if joined and not starts:
            out[-1] += " " + line
        else:
            out.append(line.strip(" -•+"))
        joined = True
    return out


def _sentences(text: str) -> list[tuple[str | None, str]]:
    """(citation, sentence) in order; a numbered clause of an article is cited as "khoản N Điều M"."""
    out: list[tuple[str | None, str]] = []
    article = None
    for line in _paragraphs(text):
        heading = re.match(r"^Điều\s+(\d+)\s*\.\s*(.*)$", line)
        cite = None
        if heading:
            article, line = heading.group(1), heading.group(2)
            cite = f"Điều {article}"
        numbered = re.match(r"^(\d{1,3})\s*[.)]\s+(.*)$", line)
        if numbered and article:
            cite, line = f"khoản {int(numbered.group(1))} Điều {article}", numbered.group(2)
        for part in re.split(r";\s+|\.\s+(?=[A-ZĐ])|:\s+(?=(?:[Hh]ợp\s+nhất|[Tt]hành\s+lập|[Ss]áp\s+nhập|"
                             rf"[Đđ]ổi\s+tên|[Gg]iải\s+thể|{_HEAD}\S*\s+\S+\s+[^:]{{0,200}}?hợp\s+nhất\s+với))", line):
            part = part.strip(" .;")
            if part:
                out.append((cite, part))
    return out


def read_clause(number: int, cite: str | None, sentence: str) -> AgencyClause | None:
    """The agency change one sentence states, or None when it states none (or is too long to be
    one clause: the forms' searches grow with the square of the length)."""
    if len(sentence) > MAX_SENTENCE or _AFTER.search(sentence + " "):
        return None
    for kind, form in _FORMS:
        m = form.search(sentence)
        if m is None:
            continue
        names = split_names(m.group("list")) if kind != "establish" else []
        new = _cut(m.group("new")) if "new" in form.groupindex and m.group("new") else None
        clause = AgencyClause(number, kind, sentence, names, new, cite=cite)
        if kind == "pair":
            names = [re.sub(r"\s+hợp\s+nhất\s+với$", "", n) for n in re.split(r"\s+hợp\s+nhất\s+với\s+(?=" + _HEAD + ")",
                                                                                  m.group("list"))]
            clause.names = [n for part in names for n in split_names(part)]
            if len(clause.names) < 2:
                clause.problems.append(_("a merger names fewer than two agencies"))
        if kind == "move":
            clause.old_parent = _cut(m.group("old"))
        if kind in ("merge", "absorb") and not names:
            clause.problems.append(_("no agency read after 'hợp nhất' / 'sáp nhập'"))
        return clause
    return None


def _province(head: str, text: str) -> tuple[str | None, str | None, list[str]]:
    """(issuer, province, places): the issuer's province, else the one the prose names most."""
    flat = " ".join(head.split())
    m = _ISSUER.search(flat)
    issuer = province = None
    if m:
        body, where, name = m.groups()
        province = " ".join(name.split()).title()
        body = "Hội đồng nhân dân" if body.startswith("HỘI") else "Ủy ban nhân dân"
        issuer = f"{body} {where.lower()} {province}"
    counts: dict[str, int] = {}
    for _word, name in _PLACE.findall(text):
        counts[name] = counts.get(name, 0) + 1
    places = sorted(counts, key=lambda k: -counts[k])
    if province is None and places:
        province = places[0]
    return issuer, province, places


def looks_like_agencies(text: str) -> bool:
    """An agency text: no commune-arrangement title, and a sentence that changes an agency (read or not)."""
    text = expand(text)
    if _COMMUNE_TITLE.search(text[:3000]):
        return False
    return any(read_clause(i, c, s) is not None or (_VERBS.search(s) and re.search(_HEAD, s))
               for i, (c, s) in enumerate(_sentences(text), start=1))


def read_agency_document(text: str) -> AgencyDocument:
    """Parse an agency text (resolution, decision, or sentences quoted from one)."""
    text = expand(text)
    head = text[:1500]
    number = _NUMBER.search(head) or _NUMBER_IN_PROSE.search(" ".join(text.split()))
    signed = _SIGNED.search(head)
    issuer, province, places = _province(head, text)
    clauses: list[AgencyClause] = []
    notes: list[str] = []
    unread: list[str] = []
    for cite, sentence in _sentences(text):
        clause = read_clause(len(clauses) + 1, cite, sentence)
        if clause is not None:
            clauses.append(clause)
        elif _NOTE.search(sentence) and re.search(_HEAD, sentence) and not _AFTER.search(sentence + " "):
            notes.append(sentence)
        elif _VERBS.search(sentence) and re.search(_HEAD, sentence) and not _AFTER.search(sentence + " "):
            unread.append(sentence)
    # A title or a lead that names an agency a clause makes ("Thành lập Ban Quản lý Khu kinh tế Hải
    # Phòng sau hợp nhất") says nothing more.
    made = [c.new for c in clauses if c.new]
    unread = [s for s in unread if not any(m in s for m in made)]
    after, stated = [], None
    m = _AFTER.search(" ".join(text.split()) + " ")
    if m:
        stated = int(m.group("n"))
        after = split_names(m.group("list"))
    eff = _FROM.search(" ".join(text.split()))
    effective = None
    if eff:
        d, mo, y = (int(x) for x in (eff.groups()[:3] if eff.group(1) else eff.groups()[3:]))
        effective = datetime.date(y, mo, d)
    return AgencyDocument(
        number=" ".join(number.group(1).split()).replace(" ", "") if number else None,
        date_signed=datetime.date(int(signed.group(3)), int(signed.group(2)), int(signed.group(1))) if signed else None,
        issuer=issuer, province=province, places=places, effective=effective, clauses=clauses, after=after,
        after_stated=stated, notes=notes, unread=unread,
        merged_stated=(int(mc.group(1)), int(mc.group(2))) if (mc := _MERGED_COUNT.search(" ".join(text.split())))
        else None)
