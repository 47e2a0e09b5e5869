"""The Department's report paragraphs: the before/after results as sentences, with the acts cited.

Staff of a Department of Home Affairs write monthly reports whose results read "hợp nhất 25 sở,
ngành (tại 02 địa phương) thành 13 sở, ngành và tương đương (giảm 12 sở, ngành)". ``summarize``
computes those figures with the very computation ``counts`` uses (``counts.count``), plus the
acts the events in scope cite; ``render`` turns them into sentences in Vietnamese (default) or
English, and ``to_text``/``to_markdown``/``to_docx`` lay them out.

The sentences are English msgids marked with ``_()`` so the gettext toolchain can catalogue
them; until a compiled catalogue carries them, the Vietnamese wording below (``_VI``) is used.
"""

from __future__ import annotations

import contextlib
import gettext
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from merger import counts as counts_mod
from merger.errors import BadInput

if TYPE_CHECKING:
    from merger.register import Register

KINDS = ("admin", "agency")
LANGS = ("vi", "en")
FORMATS = ("text", "md", "docx")


def N_(message: str) -> str:  # noqa: N802 — the gettext convention for "mark, translate later"
    """Mark a string for the catalogue without translating it here."""
    return message


# Vietnamese for the msgids below, as the Department writes them. To be moved into the gettext
# catalogue (locale/vi/LC_MESSAGES/merger.po) once it exists; a catalogue entry wins over this.
_VI = {
    "Results of the reorganisation from {start} to {end}{where}": "Kết quả sắp xếp từ ngày {start} đến ngày {end}{where}",
    " within {name}": " trên địa bàn {name}",
    "Administrative units": "Đơn vị hành chính",
    "Agencies": "Cơ quan, tổ chức",
    "merged": "hợp nhất",
    "reorganised": "sắp xếp",
    "{verb} {before} {what_before}{where} into {after} {what_after} ({change})":
        "{verb} {before} {what_before}{where} thành {after} {what_after} ({change})",
    " (in {n} localities)": " (tại {n} địa phương)",
    "down {n} {what}": "giảm {n} {what}",
    "up {n} {what}": "tăng {n} {what}",
    "unchanged": "không thay đổi",
    "Provinces: {verb} {before} province-level units ({types}) into {after} ({types_after}) ({change}).":
        "Cấp tỉnh: {verb} {before} đơn vị hành chính cấp tỉnh ({types}) thành {after} đơn vị hành chính "
        "cấp tỉnh ({types_after}) ({change}).",
    "District level: {before} district-level units ({types}) ended their work from {day}.":
        "Cấp huyện: kết thúc hoạt động của {before} đơn vị hành chính cấp huyện ({types}) từ ngày {day}.",
    "District level: {before} district-level units ({types}) became {after} ({types_after}) ({change}).":
        "Cấp huyện: {before} đơn vị hành chính cấp huyện ({types}) thành {after} đơn vị ({types_after}) ({change}).",
    "Communes: {verb} {before} commune-level units ({types}) into {after} commune-level units ({types_after}) ({change}).":
        "Cấp xã: {verb} {before} đơn vị hành chính cấp xã ({types}) thành {after} đơn vị hành chính cấp xã "
        "({types_after}) ({change}).",
    "units": "đơn vị",
    "{level}: {before} {noun} ({types}), unchanged.": "{level}: {before} {noun} ({types}), không thay đổi.",
    "{before} {noun}, unchanged.": "{before} {noun}, không thay đổi.",
    "Provinces": "Cấp tỉnh",
    "District level": "Cấp huyện",
    "Communes": "Cấp xã",
    "province-level units": "đơn vị hành chính cấp tỉnh",
    "district-level units": "đơn vị hành chính cấp huyện",
    "commune-level units": "đơn vị hành chính cấp xã",
    "Legal basis: {acts}.": "Căn cứ: {acts}.",
    "{act} ({n} {events})": "{act} ({n} {events})",
    "events": "sự kiện",
    "{n} event cites no act in the sources yet ({evidence}).": "{n} sự kiện chưa có số văn bản trong nguồn ({evidence}).",
    "{n} events cite no act in the sources yet ({evidence}).":
        "{n} sự kiện chưa có số văn bản trong nguồn ({evidence}).",
    "No recorded change in scope.": "Không có thay đổi nào được ghi nhận trong phạm vi này.",
    "and": "và",
    "Resolution {number}": "Nghị quyết số {number}",
    "Decision {number}": "Quyết định số {number}",
    "inferred": "suy luận",
    "stated": "nêu trong nguồn",
    "unknown": "chưa rõ",
    # agency types: (before, after, change) nouns
    "departments and sectors": "sở, ngành",
    "departments, sectors and equivalents": "sở, ngành và tương đương",
    "department-level organisations": "tổ chức đương sở",
    "organisations": "tổ chức",
}

LEVEL_WORDS = {"province": (N_("Provinces"), N_("province-level units")),
               "district": (N_("District level"), N_("district-level units")),
               "commune": (N_("Communes"), N_("commune-level units"))}
# English nouns for a count of one (Vietnamese nouns do not change with the number).
EN_SINGULAR = {"units": "unit", "events": "event", "organisations": "organisation",
               "department-level organisations": "department-level organisation",
               "departments and sectors": "department or sector",
               "departments, sectors and equivalents": "department, sector or equivalent"}
ACT_KINDS = {"resolution": N_("Resolution {number}"), "decision": N_("Decision {number}")}
EVIDENCE = (N_("inferred"), N_("stated"), N_("unknown"))

# How each agency type is counted in a sentence: nouns before, after, and for the change.
AGENCY_NOUNS: dict[str, tuple[str, str, str]] = {
    "sở và tương đương": (N_("departments and sectors"), N_("departments, sectors and equivalents"),
                          N_("departments and sectors")),
    "ban quản lý": (N_("department-level organisations"), N_("organisations"), N_("organisations")),
}


def translator(lang: str) -> Callable[[str], str]:
    """``_`` for ``lang``: a compiled gettext catalogue if one is installed, else the wording above."""
    if lang not in LANGS:
        raise BadInput(f"unknown language {lang!r}; use vi or en")
    if lang == "en":
        return lambda s: s
    locales = Path(__file__).resolve().parent / "locale"
    cat = gettext.translation("merger", localedir=str(locales), languages=[lang], fallback=True)

    def _(message: str) -> str:  # the Department's wording above first ("Cơ quan, tổ chức"), then the catalogue
        return _VI[message] if message in _VI else cat.gettext(message)

    return _


@dataclass
class Part:
    """The figures of one kind (admin units or agencies): the counts and the acts cited."""

    kind: str
    counts: counts_mod.Counts
    acts: list[tuple[str, str, int]]  # (act number, kind, events citing it), most cited first
    unsourced: Counter[str] = field(default_factory=Counter)  # events with no act, by evidence
    verbs: dict[str, set[str]] = field(default_factory=dict)  # (level or agency type) -> event types
    localities: dict[str, int] = field(default_factory=dict)  # agency type -> provinces before
    names_before: dict[str, list[str]] = field(default_factory=dict)  # agency type -> names (few)


@dataclass
class Summary:
    start: date
    end: date
    within: str | None
    parts: list[Part]


def summarize(reg: Register, *, within: str | None = None, kind: str | None = None,
              start: date = date(2025, 6, 30), end: date = date(2025, 7, 1)) -> Summary:
    """The figures behind the paragraphs, from ``Register.counts`` and the events in scope."""
    from merger import report

    if kind is not None and kind not in KINDS:
        from merger.i18n import _

        raise BadInput(_("unknown kind {kind!r}; use admin or agency").format(kind=kind))
    parts = []
    for k in ([kind] if kind else KINDS):
        c = reg.counts(before=start, after=end, within=within, kind=k)
        d = report.diff(reg, start, end, within=within, kind=k)
        cited: Counter[tuple[str, str]] = Counter()
        unsourced: Counter[str] = Counter()
        verbs: dict[str, set[str]] = {}
        for t, changes in d.groups.items():
            for ch in changes:
                if ch.event.act is not None:
                    cited[(ch.event.act.kind, ch.event.act.number)] += 1
                else:
                    unsourced[ch.event.evidence or "unknown"] += 1
                for v in ch.predecessors + ch.successors:
                    verbs.setdefault(v.type if k == "agency" else v.level, set()).add(t)
        acts = [(number, act_kind, n) for (act_kind, number), n in cited.items()]
        part = Part(k, c, sorted(acts, key=lambda a: (-a[2], a[0])), unsourced, verbs)
        if k == "agency":
            before = _agencies_on(reg, start, within)
            for t in {v.type for v in before}:
                of_type = [v for v in before if v.type == t]
                part.localities[t] = len({v.parent_unit_id for v in of_type})
                if len(of_type) <= 3:
                    part.names_before[t] = sorted(v.full_name for v in of_type)
        parts.append(part)
    return Summary(start, end, parts[0].counts.within if parts else None, parts)


def _agencies_on(reg: Register, day: date, within: str | None) -> list:  # type: ignore[type-arg]
    """The agencies counted on ``day`` (the same set ``counts`` counts)."""
    snap = reg.snapshot
    if within is None:
        return snap.valid_on(day, "agency")
    unit = reg.resolve(within, containers=True).version
    return [v for v in counts_mod.territory_on(snap, unit, day, "agency") if v.kind == "agency"]


# --- sentences -------------------------------------------------------------------------------


def _num(n: int, lang: str) -> str:
    """Vietnamese reports write small numbers with two digits (02) and thousands with a dot."""
    if lang == "vi":
        return f"{n:02d}" if 0 <= n < 10 else f"{n:,}".replace(",", ".")
    return f"{n:,}"


def day_text(d: date, lang: str) -> str:
    """01/7/2025 as Vietnamese documents write dates; ISO otherwise."""
    return f"{d.day:02d}/{d.month}/{d.year}" if lang == "vi" else d.isoformat()


@dataclass
class Section:
    heading: str
    sentences: list[str]


def render(summary: Summary, lang: str = "vi") -> tuple[str, list[Section]]:
    """The title and one section per kind, each a list of sentences."""
    _ = translator(lang)
    where = _(" within {name}").format(name=summary.within) if summary.within else ""
    title = _("Results of the reorganisation from {start} to {end}{where}").format(
        start=day_text(summary.start, lang), end=day_text(summary.end, lang), where=where)
    sections = []
    for part in summary.parts:
        sentences = (_admin_sentences(part, summary, lang, _) if part.kind == "admin"
                     else _agency_sentences(part, lang, _))
        sentences += _act_sentences(part, _, lang)
        if not any(r.before or r.after for r in part.counts.rows):
            sentences = [_("No recorded change in scope.")]
        sections.append(Section(_("Administrative units") if part.kind == "admin" else _("Agencies"), sentences))
    return title, sections


def _noun(msgid: str, n: int, lang: str, _: Callable[[str], str]) -> str:
    """A counted noun: English says "1 unit", "2 units"; Vietnamese has one form."""
    return EN_SINGULAR.get(msgid, msgid) if lang == "en" and n == 1 else _(msgid)


def _change(before: int, after: int, what: str, lang: str, _: Callable[[str], str]) -> str:
    n = abs(after - before)
    if after < before:
        return _("down {n} {what}").format(n=_num(n, lang), what=_noun(what, n, lang, _))
    if after > before:
        return _("up {n} {what}").format(n=_num(n, lang), what=_noun(what, n, lang, _))
    return _("unchanged")


def _types(part: Part, level: str, side: str, lang: str) -> str:
    rows = [r for r in part.counts.rows if r.level == level and r.type is not None and getattr(r, side)]
    return ", ".join(f"{_num(getattr(r, side), lang)} {r.type}" for r in rows)


def _verb(types: set[str], _: Callable[[str], str]) -> str:
    return _("merged") if types and types <= {"merge", "continue", "move"} else _("reorganised")


def _admin_sentences(part: Part, summary: Summary, lang: str, _: Callable[[str], str]) -> list[str]:
    out = []
    levels = {r.level for r in part.counts.rows}
    for level in ("province", "district", "commune"):
        if level not in levels:
            continue
        t = part.counts.total(level)
        if not t.before and not t.after:
            continue
        if t.before == t.after and not part.verbs.get(level):  # nothing happened at this level
            label, noun = (_(w) for w in LEVEL_WORDS[level])
            out.append(_("{level}: {before} {noun} ({types}), unchanged.").format(
                level=label, before=_num(t.before, lang), noun=noun, types=_types(part, level, "after", lang)))
            continue
        args = dict(before=_num(t.before, lang), after=_num(t.after, lang),
                    types=_types(part, level, "before", lang) or "-",
                    types_after=_types(part, level, "after", lang) or "-",
                    change=_change(t.before, t.after, N_("units"), lang, _),
                    verb=_verb(part.verbs.get(level, set()), _), day=day_text(summary.end, lang))
        if level == "province":
            out.append(_("Provinces: {verb} {before} province-level units ({types}) into {after} ({types_after}) "
                         "({change}).").format(**args))
        elif level == "district":
            if t.after == 0:
                out.append(_("District level: {before} district-level units ({types}) ended their work from "
                             "{day}.").format(**args))
            else:
                out.append(_("District level: {before} district-level units ({types}) became {after} "
                             "({types_after}) ({change}).").format(**args))
        else:
            out.append(_("Communes: {verb} {before} commune-level units ({types}) into {after} commune-level "
                         "units ({types_after}) ({change}).").format(**args))
    return out


def _agency_sentences(part: Part, lang: str, _: Callable[[str], str]) -> list[str]:
    out = []
    for r in part.counts.rows:
        if r.type is None or (not r.before and not r.after):
            continue
        nouns = AGENCY_NOUNS.get(r.type, (r.type, r.type, r.type))
        before_noun, after_noun = _noun(nouns[0], r.before, lang, _), _noun(nouns[1], r.after, lang, _)
        change_noun = nouns[2]
        if r.before == r.after and not part.verbs.get(r.type):
            sentence = _("{before} {noun}, unchanged.").format(before=_num(r.before, lang), noun=after_noun)
            out.append(sentence[:1].upper() + sentence[1:])
            continue
        names = part.names_before.get(r.type)
        joined = f" {_('and')} ".join(names or [])
        what_before = before_noun + (f" ({joined})" if names and len(names) > 1 else "")
        n_loc = part.localities.get(r.type, 0)
        where = _(" (in {n} localities)").format(n=_num(n_loc, lang)) if n_loc > 1 and not names else ""
        sentence = _("{verb} {before} {what_before}{where} into {after} {what_after} ({change})").format(
            verb=_verb(part.verbs.get(r.type, set()), _), before=_num(r.before, lang), what_before=what_before,
            where=where, after=_num(r.after, lang), what_after=after_noun,
            change=_change(r.before, r.after, change_noun, lang, _))
        out.append(sentence[:1].upper() + sentence[1:] + ".")
    return out


def _act_sentences(part: Part, _: Callable[[str], str], lang: str) -> list[str]:
    out = []
    if part.acts:
        acts = "; ".join(_("{act} ({n} {events})").format(act=_(ACT_KINDS.get(k, "{number}")).format(number=a),
                                                           n=_num(n, lang), events=_noun("events", n, lang, _))
                         for a, k, n in part.acts)
        out.append(_("Legal basis: {acts}.").format(acts=acts))
    if part.unsourced:
        n = sum(part.unsourced.values())
        evidence = ", ".join(f"{_(k)} {_num(v, lang)}" for k, v in sorted(part.unsourced.items()))
        msgid = (N_("{n} event cites no act in the sources yet ({evidence}).") if n == 1
                 else N_("{n} events cite no act in the sources yet ({evidence})."))
        out.append(_(msgid).format(n=_num(n, lang), evidence=evidence))
    return out


# --- layouts ---------------------------------------------------------------------------------


def to_text(title: str, sections: list[Section]) -> str:
    lines = [title, ""]
    for s in sections:
        lines.append(s.heading)
        lines += [f"- {x}" for x in s.sentences]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md(text: str) -> str:
    """Escape what Markdown would read as markup in a sentence."""
    for ch in "\\`*_[]<>#|":
        text = text.replace(ch, "\\" + ch)
    return text


def to_markdown(title: str, sections: list[Section]) -> str:
    lines = [f"## {_md(title)}", ""]
    for s in sections:
        lines += [f"### {_md(s.heading)}", ""]
        lines += [f"- {_md(x)}" for x in s.sentences]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def to_docx(title: str, sections: list[Section], out: Path, lang: str = "vi") -> Path:
    """A Word document the Department can paste from (needs python-docx: merger[docs])."""
    from merger.i18n import _  # the interface's language (this module's own ``_`` is the summary's)

    try:
        import docx
    except ImportError:
        raise BadInput(_("writing .docx needs python-docx: pip install 'merger[docs]'")) from None
    from docx.shared import Pt

    document = docx.Document()
    base = document.styles["Normal"]
    base.font.name, base.font.size = "Times New Roman", Pt(13)  # as administrative documents are set
    document.core_properties.title = title
    document.core_properties.language = "vi-VN" if lang == "vi" else "en"
    document.add_heading(title, level=1)
    for s in sections:
        document.add_heading(s.heading, level=2)
        for sentence in s.sentences:
            document.add_paragraph(sentence, style="List Bullet")
    tmp = out.with_name(out.name + ".tmp")
    try:
        document.save(str(tmp))
        tmp.replace(out)
    except OSError as exc:
        with contextlib.suppress(OSError):  # (a folder in the way of the temporary file stays)
            tmp.unlink(missing_ok=True)
        raise BadInput(_("cannot write {out}: {value}").format(out=out, value=exc.strerror or exc)) from None
    return out
