"""Read what a resolution decides, clause by clause, from its own words.

The commune-arrangement resolutions say in a fixed legal register what happens to each unit:
"Sắp xếp toàn bộ diện tích tự nhiên, quy mô dân số của xã A, xã B và một phần diện tích tự
nhiên, quy mô dân số của xã C thành xã mới có tên gọi là xã D", "phần còn lại của xã C sau khi
sắp xếp theo quy định tại khoản 1 Điều này", "Đổi tên xã E thành xã F". The clause splitting,
the designation of the new unit and the closing figures come from the importer's parser
(``merger.importers.legal``); this module reads the predecessors and their portions, the
issuer and the effective date. It resolves no names: that is ``resolve``'s job.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field

from merger.errors import BadInput
from merger.i18n import _
from merger.importers import legal

# A type word before a predecessor's name; "các xã A, B" gives the type to every name after it.
_PRED_TYPE = r"(?:thị\s*trấn|thị\s*xã|thành\s*phố|phường|xã|huyện|quận|đặc\s*khu)"
_ITEM = re.compile(rf"^(?:các\s*)?({_PRED_TYPE})\s*(.*)$")
# "Phường 1", "Phường IV", "Quận 3": the type word capitalised is part of a numbered name.
_NUMBERED = re.compile(r"^(Phường|Quận|Xã)\s+(\d+|[IVX]+)$")
# The portion phrases, in the order the texts use them. "bộ diện tích" is "toàn bộ" with its
# first word lost in conversion (1667 khoản 7): no other phrase starts that way.
_MARK = re.compile(
    rf"(?P<whole>toàn\s*bộ\s*(?={_PRED_TYPE})|(?:toàn\s*)?bộ\s*diện\s*tích\s*(?:tự\s*nhiên\s*)?,?\s*(?:và\s*)?"
    r"(?:quy\s*mô\s*dân\s*(?:số\s*)?)?(?:của\s*)*)"
    r"|(?P<part>một\s*phần\s*(?:diện\s*tích\s*(?:tự\s*nhiên\s*)?)?,?\s*(?:và\s*)?(?:toàn\s*bộ\s*)?"
    r"(?:quy\s*mô\s*dân\s*(?:số\s*)?)?(?:của\s*)*)"
    r"|(?P<rest>phần\s*(?:diện\s*tích\s*(?:tự\s*nhiên\s*)?|quy\s*mô\s*dân\s*số\s*)?còn\s*lại\s*(?:của\s*)*)"
)
# "... sau khi sắp xếp theo quy định tại (các) khoản 1, 3 và 11 Điều này" names the clauses
# that took the other parts.
_AFTER = re.compile(r"\s*sau\s*khi\s*(?:thực\s*hiện\s*)?sắp\s*xếp\s*theo\s*quy\s*định\s*tại\s*(?:các\s*)?"
                    r"(?P<refs>khoản\s*\d+(?:\s*(?:,|và)\s*(?:khoản\s*)?\d+)*)(?:\s*(?:của\s*)?Điều\s*này)?")
_VERB = re.compile(r"^\s*(?:Sắp\s*xếp|Nhập)\s*")
_TARGET = re.compile(rf"\s*thành\s*(?:{legal._TYPE})\s*(?:mới\s*)?(?:có\s*tên\s*gọi\s*là|\S)")
_RENAME = re.compile(rf"^\s*Đổi\s*tên\s*({_PRED_TYPE})\s*(.+?)\s*thành\s*({legal._TYPE})\s*(.+?)\s*\.?\s*$")
_ISSUERS = (
    ("ỦY BAN THƯỜNG VỤ QUỐC HỘI", "Ủy ban Thường vụ Quốc hội"),
    ("UỶ BAN THƯỜNG VỤ QUỐC HỘI", "Ủy ban Thường vụ Quốc hội"),
    ("QUỐC HỘI", "Quốc hội"),
    ("CHÍNH PHỦ", "Chính phủ"),
    ("HỘI ĐỒNG NHÂN DÂN", "Hội đồng nhân dân"),
)
_IN_FORCE = re.compile(r"có\s*hiệu\s*lực\s*(?:thi\s*hành\s*)?(?:kể\s*)?từ\s*ngày\s*(?P<what>được\s*thông\s*qua|"
                       r"ký|\d{1,2}\s*(?:tháng\s*|/)\s*\d{1,2}\s*(?:năm\s*|/)\s*\d{4})")
_OPERATES = re.compile(r"chính\s*thức\s*hoạt\s*động\s*(?:kể\s*)?từ\s*ngày\s*(\d{1,2})\s*tháng\s*(\d{1,2})\s*năm\s*(\d{4})")


@dataclass(frozen=True)
class Pred:
    """One predecessor as the clause names it, with the portion it gives."""

    portion: str  # "whole", "part" or "remainder"
    type: str  # as written, lower case: "xã", "thị trấn", "huyện" ...
    name: str  # the bare name, NFC
    qualifier: str | None = None  # "(huyện Cần Giờ)" -> "huyện Cần Giờ"
    refs: tuple[int, ...] = ()  # remainder: the clauses that took the other parts


@dataclass
class ClauseDraft:
    """What one clause of Article 1 does, read from its text (names not yet resolved)."""

    number: int
    kind: str  # "merge", "rename" or "move" (units the closing clause leaves unchanged)
    text: str  # the sentence, whitespace-collapsed, without Markdown
    new_type: str | None = None
    new_name: str | None = None
    preds: list[Pred] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be read: review


@dataclass
class Document:
    """A resolution as read: its identity, its clauses and the figures it states."""

    number: str
    date_signed: datetime.date
    issuer: str | None
    province: str
    in_force: datetime.date | None  # "có hiệu lực thi hành từ ngày ..." (adoption: the signing date)
    operates: datetime.date | None  # "chính thức hoạt động từ ngày ..."
    clauses: list[ClauseDraft]
    figures: dict[str, int] | None
    figures_clause: int | None = None


def _plain(text: str) -> str:
    """The prose without Markdown; "**xã An**." leaves no space before the full stop."""
    return re.sub(r"\s+([.,;:])", r"\1", legal._plain(text))


def _issuer(header: str) -> str | None:
    flat = " ".join(re.sub(r"[*\\]", " ", header).split()).upper()
    for upper, name in _ISSUERS:
        if upper in flat:
            if name == "Hội đồng nhân dân":
                m = re.search(r"HỘI ĐỒNG NHÂN DÂN\s+((?:TỈNH|THÀNH PHỐ)\s+[^\s].*?)\s+(?:CỘNG|SỐ|-)", flat)
                return f"{name} {m.group(1).title()}" if m else name
            return name
    return None


def _dates(after: str, signed: datetime.date) -> tuple[datetime.date | None, datetime.date | None]:
    flat = _plain(after)
    in_force = None
    m = _IN_FORCE.search(flat)
    if m:
        what = m.group("what")
        if what.startswith("được") or what.startswith("ký"):
            in_force = signed
        else:
            d, mo, y = (int(x) for x in re.findall(r"\d+", what))
            in_force = datetime.date(y, mo, d)
    o = _OPERATES.search(flat)
    operates = datetime.date(int(o.group(3)), int(o.group(2)), int(o.group(1))) if o else None
    return in_force, operates


_GLUED_AND = re.compile(r"(?<=\w)và(?=\w)|(?<=\w)và(?=\s)|(?<=\s)và(?=\w)")
_TYPE_AFTER = re.compile(r"(\w+)(\s*)((?:xã|phường|thị\s*trấn)\s*)(?=[^\W\d_])")


def _unglue(segment: str) -> str:
    """Restore the separators conversion glued away: "An TâyvàAn Cựu", "Sanvàxã Hua Bum",
    "thị trấn Thiên Cầm xã Nam Phúc Thăng" (a lost comma), "Nghènxã Thiên Lộc"."""

    def conj(m: re.Match[str]) -> str:
        after = segment[m.end(): m.end() + 1]
        before = segment[m.start() - 1: m.start()]
        # glued on a side only when that side starts a name or a type word ("vàcác", "vàxã")
        if before.isspace() or after.isspace() or after.isupper() or segment.startswith(
                ("xã", "phường", "thị", "các"), m.end()):
            return " và "
        return m.group(0)

    segment = _GLUED_AND.sub(conj, re.sub(r"\)\s*và\s*", ") và ", segment))

    def comma(m: re.Match[str]) -> str:
        word, space, type_ = m.groups()
        nxt = segment[m.end(): m.end() + 1]
        if word in ("và", "các", "của") or not nxt.isupper() or word.islower() and space:
            return m.group(0)
        return f"{word}, {type_}"

    return _TYPE_AFTER.sub(comma, segment)


def _split_items(segment: str) -> list[tuple[str, str]]:
    """Items of a list with the separator before each ("," or "và"); commas in parentheses stay."""
    # "Hồng Tháivà xã", "Mù Sang vàDào San": the conjunction glued to a neighbour.
    segment = _unglue(segment)
    out: list[tuple[str, str]] = []
    depth, start, sep = 0, 0, ","
    i = 0
    while i < len(segment):
        ch = segment[i]
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and ch == ",":
            out.append((sep, segment[start:i]))
            start, sep = i + 1, ","
        elif depth == 0 and segment.startswith(" và ", i):
            out.append((sep, segment[start:i]))
            start, sep = i + 4, "và"
            i += 3
        i += 1
    out.append((sep, segment[start:]))
    return out


def _items(segment: str, portion: str, refs: tuple[int, ...], current: str | None,
           problems: list[str]) -> tuple[list[Pred], str | None]:
    """"phường Dương Quan, phường Thủy Đường" or "các phường Hoa Động, An Lư,Thủy Hà"."""
    out: list[Pred] = []
    for sep, raw in _split_items(segment):
        item = raw.strip(" ,;.")
        if not item or item == "và":
            continue
        qualifier = None
        q = re.search(r"\(([^)]*)\)", item)
        if q:
            # "(do huyện Kim Sơn quản lý)", "(thuộc huyện Đăk Hà)", "(huyệnMèo Vạc)"
            qualifier = re.sub(r"^(?:do|thuộc)\s+|\s+quản\s*lý$", "", " ".join(q.group(1).split()))
            if qualifier.startswith("bao gồm"):  # "(bao gồm cụm đảo Hòn Chuối)": what it holds, no place
                qualifier = None
            if qualifier:
                qualifier = re.sub(r"^((?:huyện|quận|thị xã|thành phố|tỉnh))(?=[A-ZĐ])", r"\1 ", qualifier)
            item = (item[: q.start()] + item[q.end():]).strip()
            # "Phường 1 và Phường 2 (thành phố Mỹ Tho)": the place qualifies both.
            if qualifier and sep == "và" and out and out[-1].qualifier is None:
                out[-1] = Pred(out[-1].portion, out[-1].type, out[-1].name, qualifier, out[-1].refs)
        numbered = _NUMBERED.match(item)
        m = _ITEM.match(item)
        if numbered:
            out.append(Pred(portion, numbered.group(1).casefold(), item, qualifier, refs))
            continue
        if m and m.group(2)[:1].isupper():
            current = " ".join(m.group(1).split()).casefold()
            item = m.group(2).strip()
        elif m:  # "xã xã Đông Hưng": the type word doubled in the source
            again = _ITEM.match(m.group(2))
            if again and again.group(1) == m.group(1) and again.group(2)[:1].isupper():
                current = " ".join(m.group(1).split()).casefold()
                item = again.group(2).strip()
        if current is None:
            problems.append(f"no type word before {item!r}")
            continue
        if not (legal._NAME.match(item) and (item[:1].isupper() or item[:1].isdigit())):
            problems.append(f"not a unit name: {item!r}")
            continue
        out.append(Pred(portion, current, item, qualifier, refs))
    return out, current


def read_preds(body: str) -> tuple[list[Pred], list[str]]:
    """The predecessors of "toàn bộ ... của A, B và một phần ... của C" with their portions."""
    problems: list[str] = []
    marks = list(_MARK.finditer(body))
    if not marks or body[: marks[0].start()].strip(" ,"):
        return [], [f"no 'toàn bộ / một phần / phần còn lại ... của' before {body[:60]!r}"]
    preds: list[Pred] = []
    current: str | None = None
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        segment = body[m.end(): end]
        portion = "whole" if m.group("whole") else "part" if m.group("part") else "remainder"
        if portion == "whole" and "diện" in m.group(0) and "quy" not in m.group(0):
            portion = "part"  # "toàn bộ diện tích tự nhiên của xã Kỳ Lợi": all its area, not its people
        refs: tuple[int, ...] = ()
        after = _AFTER.search(segment)
        if after is not None:
            refs = tuple(int(x) for x in re.findall(r"\d+", after.group("refs")))
            segment = segment[: after.start()] + segment[after.end():]
        elif portion == "remainder":
            problems.append("'phần còn lại' without the clause that took the other part")
        segment = re.sub(r"^\s*(?:và|,)\s*|\s*(?:,|và)\s*$", "", segment.strip())
        found, current = _items(segment, portion, refs, current, problems)
        if not found:
            problems.append(f"no unit after '{m.group(0).strip()}'")
        preds += found
    return preds, problems


def read_clause(clause: legal.Clause) -> ClauseDraft:
    """One clause of Article 1 (already split and designated by the importer's parser)."""
    text = _plain(clause.text)
    rename = _RENAME.match(text)
    if rename:
        return ClauseDraft(clause.number, "rename", text, clause.unit_type, clause.unit_name,
                           [Pred("whole", " ".join(rename.group(1).split()).casefold(),
                                 rename.group(2).strip())])
    verb = _VERB.match(text)
    targets = list(_TARGET.finditer(text))
    if verb is None or not targets:
        return ClauseDraft(clause.number, "merge", text, clause.unit_type, clause.unit_name,
                           problems=["not read: neither 'Sắp xếp ... thành ...' nor 'Đổi tên ... thành ...'"])
    body = text[verb.end(): targets[-1].start()]
    preds, problems = read_preds(body)
    return ClauseDraft(clause.number, "merge", text, clause.unit_type, clause.unit_name, preds, problems)


def read_document(text: str) -> Document:
    """Parse a resolution's text; BadInput says why a text cannot be read as one."""
    text = unicodedata.normalize("NFC", text)
    try:
        res = legal.parse_commune_resolution_text(text)
        header, _sep, after = legal._articles(text)
    except ValueError as exc:
        raise BadInput(_("cannot read the resolution: {exc}").format(exc=_(str(exc)))) from None
    in_force, operates = _dates(after, res.date_signed)
    clauses = [read_clause(c) for c in res.clauses]
    figures_clause = None
    if res.unchanged:
        figures_clause = res.unchanged[0].number
        sentence = _plain(res.unchanged[0].text)
        # Read the list again keeping the places that tell same-named units apart
        # ("các xã Đăk Long (huyện Đăk Glei), Ba Xa"); the importer's parser drops them.
        listed = legal._UNCHANGED.search(sentence)
        problems: list[str] = []
        preds = _items(listed.group("names"), "whole", (), None, problems)[0] if listed else []
        if [(p.type, p.name) for p in preds] != [(u.unit_type, u.unit_name) for u in res.unchanged]:
            preds = [Pred("whole", u.unit_type, u.unit_name) for u in res.unchanged]
        for u, p in zip(res.unchanged, preds, strict=True):
            clauses.append(ClauseDraft(u.number, "move", sentence, u.unit_type, u.unit_name, [p]))
    elif res.summary is not None:
        nums = [n for n, body in legal._split_clauses(text) if legal._SUMMARY.search(_plain(body))]
        figures_clause = nums[0] if nums else None
    return Document(number=res.number, date_signed=res.date_signed, issuer=_issuer(header),
                    province=res.province, in_force=in_force, operates=operates, clauses=clauses,
                    figures=res.summary, figures_clause=figures_clause)
