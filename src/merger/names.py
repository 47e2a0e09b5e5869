"""How Vietnamese users type unit names: case, diacritics, type words and abbreviations.

``fold`` maps every spelling of a name to one key ("Hòa"/"Hoà"/"HOA"/"hoa" -> "hoa", đ -> d).
``parse_query`` splits "P. Hòa Bình, Vĩnh Bảo / Hải Phòng" into a type, a name and qualifiers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from merger.i18n import _

_WS = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")

# Type words (folded) with the lower-case type(s) they denote. Longest first when matching.
TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "thanh pho truc thuoc trung uong": ("thành phố trực thuộc trung ương",),
    "thanh pho thuoc tinh": ("thành phố",),  # a district-level city, as the legal texts call it
    "huyen dao": ("huyện",),  # an island district
    "thanh pho": ("thành phố", "thành phố trực thuộc trung ương"),
    "thi tran": ("thị trấn",),
    "thi xa": ("thị xã",),
    "dac khu": ("đặc khu",),
    "phuong": ("phường",),
    "quan": ("quận",),
    "huyen": ("huyện",),
    "tinh": ("tỉnh",),
    "xa": ("xã",),
    "thu do": ("thành phố trực thuộc trung ương",),
    "thon": ("thôn",),
    "to dan pho": ("tổ dân phố",),
}
ABBREVIATIONS: dict[str, str] = {
    "tp": "thanh pho",
    "tx": "thi xa",
    "tt": "thi tran",
    "dk": "dac khu",
    "p": "phuong",
    "q": "quan",
    "h": "huyen",
    "x": "xa",
    "t": "tinh",
}
_TYPE_KEYS = sorted(TYPE_WORDS, key=len, reverse=True)


def _mark_table() -> dict[int, str]:
    """Precomposed Latin letters -> base letter, so folding is one str.translate call."""
    table = {ord("đ"): "d", ord("Đ"): "D"}
    for cp in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:  # Latin-1, Extended-A/B, Additional
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if base != ch and base.isascii() and base:
            table[cp] = base
    return table


_MARKS = _mark_table()


def strip_marks(text: str) -> str:
    """Remove Vietnamese diacritics; đ/Đ are letters of their own, so they are mapped explicitly."""
    text = unicodedata.normalize("NFC", text).translate(_MARKS)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)  # stray combining marks, rare letters
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# Old-style tone placement ("hoà", "thuỷ") and new-style ("hòa", "thủy") are one spelling.
_TONE_PAIRS = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}
_TONE_RE = re.compile("|".join(_TONE_PAIRS))


def spelling(text: str) -> str:
    """Comparison key that keeps the marks: case and tone placement are all it forgets.

    "Cẩm Giang" and "Cẩm Giàng" are two communes of Hải Phòng; ``fold`` cannot tell them apart.
    """
    text = _WS.sub(" ", unicodedata.normalize("NFC", text).casefold()).strip().replace("’", "'")
    return _TONE_RE.sub(lambda m: _TONE_PAIRS[m.group(0)], text)


def fold(text: str) -> str:
    """The comparison key of a name: no marks, lower case, no punctuation, single spaces."""
    text = strip_marks(text).casefold()
    text = _PUNCT.sub(" ", text)
    return _WS.sub(" ", text).strip()


def tidy(text: str) -> str:
    """A name as displayed: NFC, single spaces, no stray edges."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


@dataclass(frozen=True)
class NamePart:
    """One comma- or slash-separated part of a query: optional types and a folded bare name."""

    types: tuple[str, ...] | None
    name: str


@dataclass(frozen=True)
class Query:
    """A parsed query: readings of the target (most specific first) and of each qualifier."""

    target: tuple[NamePart, ...]
    qualifiers: tuple[tuple[NamePart, ...], ...]


def _marked(word: str) -> str:
    return _WS.sub(" ", unicodedata.normalize("NFC", word).casefold()).strip()


# The type words as written with their marks: "phường" is a type, "phương" is a name.
_MARKED_TYPES = {_marked(t): key for key, types in TYPE_WORDS.items() for t in types}
_MARKED_TYPES.update({"thủ đô": "thu do", "thôn": "thon", "tổ dân phố": "to dan pho", "huyện đảo": "huyen dao",
                      "thành phố thuộc tỉnh": "thanh pho thuoc tinh"})
_MARKED_LONGEST_FIRST = sorted(_MARKED_TYPES, key=len, reverse=True)
_MOST_TYPE_WORDS = max(len(w.split(" ")) for w in _MARKED_TYPES)


def split_type(text: str) -> tuple[NamePart, ...]:
    """Readings of one part: a type word or abbreviation ("P.", "Phường", "TP") and a name.

    A type word written with its marks is certain. Written without marks it may be the start
    of a name ("Quan Sơn", "Phuong Trung"), so the untyped reading is offered too.
    """
    raw = unicodedata.normalize("NFC", text).strip()
    folded = fold(raw)
    m = re.match(r"^([A-Za-zĐđ]{1,2})\s*\.\s*(.+)$", raw)
    if m and fold(m.group(1)) in ABBREVIATIONS:
        word = ABBREVIATIONS[fold(m.group(1))]
        return (NamePart(TYPE_WORDS[word], fold(m.group(2))),)
    marked = _marked(_PUNCT.sub(" ", raw))
    for word in _MARKED_LONGEST_FIRST:
        if marked.startswith(word + " "):
            rest = fold(raw)[len(fold(word)) + 1 :]
            return (NamePart(TYPE_WORDS[_MARKED_TYPES[word]], rest),)
    readings: list[NamePart] = []
    for key in _TYPE_KEYS:
        if folded.startswith(key + " "):
            readings.append(NamePart(TYPE_WORDS[key], folded[len(key) + 1 :]))
            break
    first, _, rest = folded.partition(" ")
    if not readings and rest and first in ABBREVIATIONS and len(first) > 1:
        readings.append(NamePart(TYPE_WORDS[ABBREVIATIONS[first]], rest))
    readings.append(NamePart(None, folded))
    return tuple(readings)


def parse_query(text: str) -> Query:
    """Parse "name[, parent[, grandparent]]" (commas or slashes), innermost first."""
    parts = [p for p in re.split(r"[,/;]", text) if p.strip()]
    if not parts:
        return Query((NamePart(None, ""),), ())
    target, *quals = (split_type(p) for p in parts)
    return Query(target, tuple(quals))


def bare_name(full_name: str, type_: str) -> str:
    """The name without its type word: ("Phường Hòa Bình", "phường") -> "Hòa Bình"."""
    name = tidy(full_name)
    folded = fold(name)
    candidates = [k for k, types in TYPE_WORDS.items() if type_ in types]
    for key in sorted(candidates, key=len, reverse=True):
        if folded.startswith(key + " "):
            return " ".join(name.split(" ")[len(key.split(" ")) :])
    # The name carries another type's word ("Thị trấn Ngọc Lặc" listed as xã): strip it too, but
    # only when written with its marks, so "Quan Sơn" keeps its "Quan".
    marked = _marked(name)
    for word in _MARKED_LONGEST_FIRST:
        if marked.startswith(word + " "):
            return " ".join(name.split(" ")[len(word.split(" ")) :])
    return name


def type_word(full_name: str) -> tuple[str, ...]:
    """The types a full name's leading type word denotes ("Phường 5" -> ("phường",)), if any."""
    marked = _marked(full_name)
    for word in _MARKED_LONGEST_FIRST:
        if marked.startswith(word + " "):
            return TYPE_WORDS[_MARKED_TYPES[word]]
    return ()


# --- names as recorded ----------------------------------------------------------------------

MAX_NAME = 200  # longer than any official Vietnamese unit or agency name (the longest are ~120)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_name(text: str) -> str:
    """A name as it will be stored: NFC, trimmed, runs of spaces made one; or ValueError saying why not
    (in the user's language: the planner shows it as the refusal).

    That is the only normalisation (documented in docs/recording.md): the letters, marks,
    hyphens and punctuation are kept exactly as given.
    """
    bad = _CONTROL.search(text)
    if bad:
        raise ValueError(_("the name contains an invisible or control character (at position {position}); "
                           "type it again").format(position=bad.start() + 1))
    name = tidy(text)
    if not name:
        raise ValueError(_("the name is empty"))
    if len(name) > MAX_NAME:
        raise ValueError(_("the name is {length} characters long; at most {most} are allowed")
                         .format(length=len(name), most=MAX_NAME))
    if not any(ch.isalnum() for ch in name):
        raise ValueError(_("the name {name!r} has no letter or digit").format(name=name))
    return name


def strip_type(text: str) -> tuple[tuple[str, ...] | None, str]:
    """("Thôn Hạ - Thượng") -> (("thôn",), "Hạ - Thượng"): the leading type word, and the rest
    exactly as written (only the type word, or its abbreviation "P.", is cut off).

    A type word written without its marks is not taken for one ("Quan Sơn" stays a name).
    """
    raw = tidy(text)
    m = re.match(r"^([A-Za-zĐđ]{1,2})\s*\.\s*(.+)$", raw)
    if m and fold(m.group(1)) in ABBREVIATIONS:
        return TYPE_WORDS[ABBREVIATIONS[fold(m.group(1))]], m.group(2).strip()
    words = raw.split(" ")
    for n in range(min(_MOST_TYPE_WORDS, len(words) - 1), 0, -1):  # the longest type word first
        word = _marked(" ".join(words[:n]))
        if word in _MARKED_TYPES:
            return TYPE_WORDS[_MARKED_TYPES[word]], " ".join(words[n:])
    return None, raw


def is_type_word(text: str) -> bool:
    """"Thôn", "Phường", "TP.": a type word alone, which is no name."""
    return _marked(_PUNCT.sub(" ", text)) in _MARKED_TYPES or fold(text) in ABBREVIATIONS
