"""Draft the annex of an agency text: each clause's agencies found in the register, never guessed.

Names are looked up among the agencies in force the day before the effective date inside the
text's area: the issuer's province and every province the text names ("Sở Nội vụ tỉnh Hải
Dương"). A trailing "tỉnh X" / "thành phố X" picks the province; "Ban Tôn giáo thuộc Sở Nội
vụ" picks the parent agency. An agency resolved is written as its version key; anything else
is left for review with candidates.

The successor: a clause that names it ("Thành lập Sở Tài chính trên cơ sở hợp nhất ...") is
taken at its word. When it is one of the merged agencies (Sở Tài chính above), that agency
absorbs the others and goes on with a new version: the register cannot end an agency and start
another of the same name under the same parent in one event (the planner calls that a cycle).
When the clause names no successor ("Sở Kế hoạch và Đầu tư hợp nhất với Sở Tài chính"), the
text's own list of the agencies after the change ("gồm 12 cơ quan: ...") decides it only when
the list leaves one answer: exactly one merged agency keeps its name in the list, or the list
has exactly one new name left for exactly one such clause. Both are marked CHECK; otherwise
the row is left for review.
"""

from __future__ import annotations

import datetime
import difflib
import re
from typing import TYPE_CHECKING

from merger.draft.agency_parse import AgencyClause, AgencyDocument, read_agency_document
from merger.draft.parse import ClauseDraft, Document, Pred
from merger.draft.resolve import Found
from merger.errors import BadInput
from merger.i18n import _
from merger.names import fold, spelling

if TYPE_CHECKING:
    from merger.draft.build import Drafted, Row
    from merger.graph import Snapshot, V
    from merger.register import Register

ONE_DAY = datetime.timedelta(days=1)
DEPARTMENT = "sở và tương đương"
# The agency type a new agency's first words give (else its predecessors' common type).
TYPE_OF_HEAD = (("Ban Quản lý dự án", "ban quản lý dự án"), ("Ban Quản lý", "ban quản lý"), ("Chi cục", "chi cục"),
                ("Sở", DEPARTMENT), ("Văn phòng", DEPARTMENT), ("Thanh tra", DEPARTMENT), ("Quỹ", "quỹ"),
                ("Hội", "hội"))
LABEL = {"merge": "merge", "absorb": "merge", "pair": "merge", "rename": "rename", "dissolve": "dissolve",
         "move": "move", "establish": "establish"}


class AgencyResolver:
    """Agencies in force on one day inside the text's provinces, found by name."""

    def __init__(self, snap: Snapshot, day: datetime.date, home: V | None, area: list[V]):
        self.snap, self.day, self.home, self.area = snap, day, home, area
        ids = {p.unit_id for p in area}
        self.pool = [v for v in snap.valid_on(day, kind="agency")
                     if (p := self.province_of(v)) is not None and p.unit_id in ids]

    def province_of(self, v: V) -> V | None:
        chain = [v, *self.snap.ancestors(v, self.day)]
        return chain[-1] if chain[-1].level == "province" else None

    def split(self, text: str) -> tuple[list[str], V | None, str | None]:
        """("Sở Nội vụ tỉnh Hải Dương") -> (readings of the name, the province named, the parent named)."""
        name, parent = text, None
        m = re.match(r"^(.+?)\s+(?:thuộc|trực\s+thuộc)\s+(.+)$", text)
        if m:
            name, parent = m.group(1), m.group(2)
        for p in self.area:
            for tail in (f"{p.type} {p.name}", p.full_name, p.name):
                if fold(name).endswith(" " + fold(tail)):
                    words = name.split()
                    kept = words[: len(words) - len(tail.split())]
                    readings = [" ".join(kept)]
                    if tail != p.name:  # "Văn phòng Ủy ban nhân dân tỉnh Hải Dương" keeps "tỉnh"
                        readings.append(" ".join(words[: len(words) - len(p.name.split())]))
                    return readings, p, parent
        return [name], None, parent

    def bare(self, text: str) -> str:
        """"Sở Nội vụ thành phố Hải Phòng" -> "Sở Nội vụ": the province's type word and name cut."""
        for p in self.area:
            m = re.match(rf"^(.+?)\s+{re.escape(p.type)}\s+{re.escape(p.name)}$", text, re.I)
            if m:
                return m.group(1)
        return text

    def named(self, text: str) -> tuple[list[V], V | None]:
        """The agencies a name can mean (place and parent applied), and the province it names.
        The whole name is tried first: "Ban Quản lý Khu kinh tế Hải Phòng" is the board's own name."""
        readings, place, parent = self.split(text)
        whole = text if parent is None else text[: text.index(parent)].strip()
        whole = re.sub(r"\s+(?:trực\s+)?thuộc$", "", whole)
        found = [v for v in self.pool if fold(whole) in (fold(v.name), fold(v.full_name))]
        if found:
            readings, place = [whole], None
        else:
            want = {fold(r) for r in readings}
            found = [v for v in self.pool if fold(v.name) in want or fold(v.full_name) in want]
        if place is not None:
            found = [v for v in found if (p := self.province_of(v)) is not None and p.unit_id == place.unit_id]
        if parent:  # "thuộc Sở Nội vụ"; "thuộc Ủy ban nhân dân thành phố": directly under the province
            committee = fold(parent).startswith("uy ban nhan dan")
            found = [v for v in found if (up := self.snap.parent_of(v, self.day)) is not None
                     and (up.level == "province" if committee else fold(up.name) == fold(self.split(parent)[0][0]))]
        exact = [v for v in found if spelling(v.name) in {spelling(r) for r in readings}]
        return (exact or found), place

    def resolve(self, text: str) -> Found:
        pred = Pred("whole", "", text)
        found, place = self.named(text)
        if len(found) == 1:
            return Found(pred, found[0])
        if len(found) > 1 and place is None and self.home is not None:
            home = [v for v in found if (p := self.province_of(v)) is not None and p.unit_id == self.home.unit_id]
            if len(home) == 1:
                return Found(pred, home[0], None, found, note=_(
                    "{name}: {n} agencies of that name in the text's provinces; taken in {province}, the "
                    "text's province").format(name=text, n=len(found), province=self.home.full_name))
        if found:
            return Found(pred, None, _("{name}: {n} agencies of that name").format(name=text, n=len(found)), found)
        near = difflib.get_close_matches(fold(text), [fold(v.name) for v in self.pool], n=6, cutoff=0.6)
        cands = [v for n in near for v in self.pool if fold(v.name) == n]
        where = ", ".join(p.full_name for p in self.area) or _("no province found")
        return Found(pred, None, _("{name}: no agency of that name on {day} in {where}").format(
            name=text, day=self.day, where=where), cands)


def _short(text: str, most: int = 300) -> str:
    """A sentence for a note: at most ``most`` characters."""
    return text if len(text) <= most else text[: most - 1] + "…"


def _type_of(name: str, preds: list[V]) -> str | None:
    for head, type_ in TYPE_OF_HEAD:
        if name.startswith(head + " "):
            return type_
    types = {v.type for v in preds}
    return types.pop() if len(types) == 1 else None


def _provinces(snap: Snapshot, names: list[str], day: datetime.date) -> dict[str, V]:
    out: dict[str, V] = {}
    for name in names:
        found = [v for v in snap.by_fold.get(fold(name), ()) if v.level == "province" and v.kind == "admin"
                 and v.valid_on(day)]
        if len(found) == 1:
            out[name] = found[0]
    return out


def draft(reg: Register, source: str, text: str, *, act: str | None = None,
          effective: datetime.date | None = None) -> Drafted:
    """Draft the annex of an agency text against ``reg`` (see the module's docstring)."""
    from merger.draft.build import Drafted

    doc = read_agency_document(text)
    if not doc.clauses:
        raise BadInput(_("{source}: no agency clause read ('Thành lập ... trên cơ sở hợp nhất ...', "
                         "'hợp nhất ... thành ...', 'đổi tên ... thành ...', 'giải thể ...')").format(source=source)
                       + (_("; not read: {sentence}").format(sentence=doc.unread[0][:160]) if doc.unread else ""))
    day = effective or doc.effective
    if day is None:
        raise BadInput(_("{source} states no effective date: give --effective DATE").format(source=source))
    before = day - ONE_DAY
    snap = reg.snapshot
    provinces = _provinces(snap, [n for n in [doc.province, *doc.places] if n], before)
    home = provinces.get(doc.province or "")
    area = list({p.unit_id: p for p in provinces.values()}.values())
    resolver = AgencyResolver(snap, before, home, area)
    rows = [_row(c, resolver) for c in doc.clauses]
    notes = [_("not an event (the agency goes on): {sentence}").format(sentence=_short(s)) for s in doc.notes]
    notes += [_("not read as an event (record it yourself if it changes an agency): {sentence}").format(
        sentence=_short(s)) for s in doc.unread]
    _successors_from_list(doc, rows, resolver, notes)
    if home is None:
        for r in rows:
            r.review.append(_("province: {name} named; no single province of that name on {day}").format(
                name=doc.province or "-", day=before))
    figures = _check_figures(doc, rows, resolver, notes)
    if not (act or doc.number):
        notes.append(_("the text states no act number: the events are recorded without an act (evidence: stated); "
                       "give --act NUMBER if you know it"))
    document = Document(number=doc.number or "", date_signed=doc.date_signed, issuer=doc.issuer,  # type: ignore[arg-type]
                        province=doc.province or "", in_force=None, operates=doc.effective, clauses=[], figures=None)
    return Drafted(source, document, act or doc.number or "", day, home, rows, notes, kind="agency",
                   agency_figures=figures)


def _row(c: AgencyClause, res: AgencyResolver) -> Row:
    from merger.draft.build import Row

    names = c.names
    if c.kind == "move" and c.old_parent:  # "chuyển Chi cục A từ Sở B": the one under B
        names = [f"{n} thuộc {c.old_parent}" for n in names]
    found = [res.resolve(n) for n in names]
    clause = ClauseDraft(c.number, c.kind, c.text, None, c.new, [f.pred for f in found], list(c.problems))
    row = Row(clause, LABEL[c.kind], LABEL[c.kind], found, cite=c.cite)
    row.review += c.problems
    for f in found:
        if f.version is None:
            cands = "; ".join(f"{res.snap.path(v, res.day)} [{v.key}]" for v in f.candidates[:8])
            row.review.append((f.problem or "") + (_(" — candidates: {candidates}").format(candidates=cands)
                                                   if cands else ""))
    if c.kind == "rename":
        row.into = c.new
    elif c.kind == "dissolve":
        pass
    elif c.kind == "establish":  # "thành lập Sở X trên cơ sở tách ...": a new agency of the province
        row.into = row.new_label = res.bare(c.new or "")
        row.type = _type_of(row.into, [])
        if res.home is not None:
            row.parent, row.parent_label = res.home.key, res.snap.path(res.home, res.day)
        else:
            row.review.append(_("successor {name!r}: no parent (the predecessors sit under different parents)").format(
                name=c.new))
        if row.type is None:
            row.review.append(_("successor {name!r}: its agency type is not clear from its name; give type:").format(
                name=c.new))
    elif c.kind == "move" and fold(c.new or "").startswith("uy ban nhan dan") and res.home is not None:
        row.parent, row.parent_label = res.home.key, res.snap.path(res.home, res.day)  # the People's Committee
    elif c.kind == "move":
        target = res.resolve(c.new or "")
        if target.version is None:
            row.review.append(_("new parent: {problem}").format(problem=target.problem))
        else:
            row.parent = target.version.key
            row.parent_label = res.snap.path(target.version, res.day)
    elif c.new:
        _successor(row, c.new, res)
    return row


def _successor(row: Row, new: str, res: AgencyResolver, why: str | None = None) -> None:
    """Set the row's successor: a merged agency that keeps the name absorbs the rest; an agency
    already in force absorbs them all; else a new agency under the predecessors' parent."""
    preds = [f.version for f in row.found if f.version is not None]
    readings, place, _parent = res.split(new)
    keep = [v for v in preds if fold(v.name) == fold(new)]  # the whole name first (see AgencyResolver.named)
    if keep:
        readings, place = [new], None
    else:
        keep = [v for v in preds if fold(v.name) in {fold(r) for r in readings}]
    if len(keep) > 1:
        wanted = place or res.home
        keep = [v for v in keep if wanted is not None and (p := res.province_of(v)) is not None
                and p.unit_id == wanted.unit_id]
        if len(keep) == 1 and place is None:
            row.notes.append(_("{n} merged agencies are named {name!r}: the one of {province} (the text's "
                               "province) goes on").format(n=len(preds), name=new, province=res.home.full_name if res.home else "?"))
    row.new_label = readings[0]
    if why:
        row.notes.append(why)
    if len(keep) == 1:
        row.into = keep[0].key
        row.absorbs = keep[0]
        row.new_label = _("{unit} goes on").format(unit=res.snap.path(keep[0], res.day))
        return
    existing, _place = res.named(new)
    others = [v for v in existing if v not in preds]
    if len(others) == 1 and not keep:
        row.into = others[0].key
        row.absorbs = others[0]
        row.new_label = _("{unit} absorbs them").format(unit=res.snap.path(others[0], res.day))
        return
    if keep or len(others) > 1:
        row.review.append(_("successor {name!r}: {n} agencies of that name; say which goes on").format(
            name=new, n=len(keep) or len(others)))
        return
    parents = {v.parent_unit_id for v in preds}
    parent = res.snap.unit_version(parents.pop(), res.day) if len(parents) == 1 else res.home
    # A new agency's name without "tỉnh X" / "thành phố X" (the register's agencies carry none);
    # a province name that is part of the name ("Ban Quản lý Khu kinh tế Hải Phòng") stays.
    row.into = row.new_label = res.bare(new)
    row.type = _type_of(row.into, preds)
    row.parent = parent.key if parent is not None else None
    row.parent_label = res.snap.path(parent, res.day) if parent is not None else None
    if row.type is None:
        row.review.append(_("successor {name!r}: its agency type is not clear from its name; give type:").format(
            name=new))
    if row.parent is None:
        row.review.append(_("successor {name!r}: no parent (the predecessors sit under different parents)").format(
            name=new))


def _successors_from_list(doc: AgencyDocument, rows: list[Row], res: AgencyResolver, notes: list[str]) -> None:
    """Clauses that name no successor ("A hợp nhất với B"): the text's closing list decides, when
    it leaves one answer (see the module's docstring)."""
    pending = [r for r in rows if r.clause.kind == "pair"]
    if not pending:
        return
    listed = {fold(n): n for n in doc.after}
    if doc.after:
        notes.append(_("the text lists {n} agencies after the change: {names}").format(
            n=len(doc.after), names=", ".join(doc.after)))
    left: list[Row] = []
    for r in pending:
        if any(f.version is None for f in r.found):
            r.review.append(_("the clause names no successor (and not every agency in it was found)"))
            continue
        keep = [f.version for f in r.found if f.version is not None and fold(f.version.name) in listed]
        if len(keep) == 1 and doc.after:
            name = listed[fold(keep[0].name)]
            _successor(r, name, res, why=_(
                "CHECK: the clause names no successor; {name} is the only one of them in the text's list of "
                "agencies after the change (see the note on that list)").format(name=keep[0].name))
        else:
            left.append(r)
    if not left:
        return
    home_ids = {res.home.unit_id} if res.home else set()
    in_force = {fold(v.name) for v in res.pool if (p := res.province_of(v)) is not None and p.unit_id in home_ids}
    claimed = {fold(r.new_label) for r in rows if r.new_label} | {fold(r.clause.new_name or "") for r in rows}
    new = [n for k, n in listed.items() if k not in in_force and k not in claimed]
    if len(left) == 1 and len(new) == 1:
        _successor(left[0], new[0], res, why=_(
            "CHECK: the clause names no successor; {name} is the only new name in the text's list of agencies "
            "after the change, and this the only merger left without one (see the note on that list)").format(
                name=new[0]))
        return
    for r in left:
        r.review.append(_("the clause names no successor: write into: the agency it makes") + (
            _(" (new names in the text's list: {names})").format(names=", ".join(new)) if new else ""))


def _check_figures(doc: AgencyDocument, rows: list[Row], res: AgencyResolver,
                   notes: list[str]) -> dict[str, int] | None:
    """The count the text states after its list ("gồm 12 cơ quan") against the list and the draft."""
    merges = [r for r in rows if r.event == "merge"]
    if doc.merged_stated is not None and merges:
        into = sum(1 for r in merges if r.into)
        ended = sum(len(r.found) for r in merges)
        said, made = doc.merged_stated
        notes.append(_("the text says {said} merged into {made}; the draft merges {ended} into {into}").format(
            said=said, made=made, ended=ended, into=into) + ("" if (said, made) == (ended, into)
                                                             else _(" — CHECK the annex")))
    if doc.after_stated is None or res.home is None:
        return None
    if len(doc.after) != doc.after_stated:
        notes.append(_("the text says {stated} agencies and lists {listed}").format(
            stated=doc.after_stated, listed=len(doc.after)))
    top = [v for v in res.pool if v.parent_unit_id == res.home.unit_id and v.type == DEPARTMENT]
    ended = {f.version.unit_id for r in rows if r.event in ("merge", "dissolve") for f in r.found if f.version}
    continuing = {r.absorbs.unit_id for r in rows if r.absorbs is not None}
    new = [r for r in rows if r.event in ("merge", "establish") and r.absorbs is None and r.type == DEPARTMENT
           and r.parent == res.home.key]
    after = len([v for v in top if v.unit_id not in ended or v.unit_id in continuing]) + len(new)
    notes.append(_("{type} of {province} after the draft: {after} (the text states {stated})").format(
        type=DEPARTMENT, province=res.home.full_name, after=after, stated=doc.after_stated)
        + ("" if after == doc.after_stated else _(" — CHECK the annex")))
    return {"stated": doc.after_stated, "drafted": after}
