"""Legal citations: điểm / khoản / Điều of an act, parsed from what people type, rendered once.

Staff type a clause as "khoản 2 Điều 3", "k2 Đ3", "điểm a khoản 2 Điều 3" or just "2" (khoản 2
of the article the act uses). It is stored in one canonical spelling ("khoản 2 Điều 3") and
rendered in the Vietnamese order, smallest unit first: "điểm a khoản 2 Điều 3, 12/NQ-HĐND".

The bundled data stores a bare number ("71"): the importer reads only Article 1 of the National
Assembly Standing Committee's resolutions (see importers/legal.py), so a bare bundled number
is khoản N of Điều 1. A recorded citation never gets an article nobody gave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from merger.names import fold

BUNDLED_ARTICLE = "1"  # every bundled clause number is a khoản of Điều 1 (importers/legal.py)

_PART = re.compile(
    r"(?P<word>diem|khoan|dieu|d|k)\s*\.?\s*(?P<value>[0-9]+[a-z]?|[a-z])(?![a-z0-9])"
)


@dataclass(frozen=True)
class Citation:
    """One place in an act. Any part may be missing; none is ever guessed."""

    point: str | None = None  # điểm (a letter)
    clause: str | None = None  # khoản (a number)
    article: str | None = None  # Điều (a number)

    def render(self) -> str:
        parts = []
        if self.point:
            parts.append(f"điểm {self.point}")
        if self.clause:
            parts.append(f"khoản {self.clause}")
        if self.article:
            parts.append(f"Điều {self.article}")
        return " ".join(parts)


def parse(text: str | None) -> Citation | None:
    """"khoản 2 Điều 3" / "k2 Đ3" / "k.2 đ.3" / "điểm a khoản 2" / "Điều 3" / "2" -> Citation.

    ValueError names the accepted forms when the text is none of them.
    """
    if text is None or not text.strip():
        return None
    raw = text.strip()
    if re.fullmatch(r"\d+", raw):
        return Citation(clause=str(int(raw)))
    folded = fold(raw.replace(".", " . "))
    found: dict[str, str] = {}
    pos = 0
    for m in _PART.finditer(folded):
        if folded[pos:m.start()].strip(" .,;"):
            break
        word, value = m.group("word"), m.group("value")
        if word == "d":  # "Đ3" is an article; "đ a" would be a point, written out as "điểm a"
            word = "dieu" if value[0].isdigit() else "diem"
        if word == "k":
            word = "khoan"
        if word in found or (word == "diem") == value[0].isdigit():
            break
        found[word] = value if word == "diem" else str(int(re.sub(r"\D", "", value)))
        pos = m.end()
    else:
        if found and not folded[pos:].strip(" .,;"):
            return Citation(found.get("diem"), found.get("khoan"), found.get("dieu"))
    from merger.i18n import _

    raise ValueError(_("clause {text} is not a citation: write it as 'khoản 2 Điều 3', 'k2 Đ3', "
                       "'điểm a khoản 2 Điều 3' or '2' (khoản 2)").format(text=repr(text)))


def canonical(text: str | None) -> str | None:
    """The stored spelling of a typed citation (None when none was given)."""
    found = parse(text)
    return found.render() if found else None


def render(clause: str | None, act_number: str | None) -> str:
    """"khoản 3 Điều 1, 1669/NQ-UBTVQH15": the legal basis as people cite it (empty without an act).

    A stored bare number is the bundled convention (khoản N of Điều 1); anything else was
    stored canonical and is shown as it is.
    """
    if not act_number:
        return ""
    if not clause:
        return act_number
    text = clause.strip()
    if text.isdigit():
        text = f"khoản {text} Điều {BUNDLED_ARTICLE}"
    else:
        try:
            found = parse(text)
        except ValueError:
            found = None
        text = found.render() if found else text
    return f"{text}, {act_number}"


def matches_act(number: str, query: str) -> bool:
    """An act number as people type it: in full (any case, marks optional) or the short number
    before the slash ("1669" for 1669/NQ-UBTVQH15)."""
    q = fold(query)
    if not q:
        return False
    return fold(number) == q or (q.isdigit() and number.split("/", 1)[0].strip() == query.strip())
