"""Turn a resolution's text into a decision annex for ``merger apply``, with review marks.

One annex row per clause: a merge for "Sắp xếp ... thành ... mới có tên gọi là ..." (parts
as "một phần X", remainders as "phần còn lại X"), a rename for "Đổi tên ...", a move to the
province for each unit the closing clause leaves unchanged. Every row cites its clause and
quotes its sentence (in ``note``). Resolved units are written as version keys (certain) with
their names in a comment; unresolved ones keep the text's name and a ``# REVIEW`` comment with
the candidates, so ``merger apply`` refuses the file until someone has looked.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from merger.draft import readers
from merger.draft.parse import ClauseDraft, Document, Pred, read_document
from merger.draft.resolve import Found, Resolver
from merger.errors import BadInput
from merger.events import full_name_of
from merger.i18n import _
from merger.names import fold

if TYPE_CHECKING:
    from merger.graph import Snapshot, V
    from merger.register import Register

ONE_DAY = datetime.timedelta(days=1)
# An unresolved name is written so that no register can resolve it: staff replace the whole
# text with the unit they mean (a key from the candidates) before applying.
UNRESOLVED = "[REVIEW]"
PREFIX = {"whole": "", "part": "một phần ", "remainder": "phần còn lại "}
NOTE_MOST = 900  # characters of a quoted sentence in an agency row's note (annex.MAX_CELL is 1,000)


@dataclass
class Row:
    """One annex event drafted from one clause."""

    clause: ClauseDraft
    event: str  # merge, rename, move
    label: str  # for the summary: merge, partial merge, special zone, rename, unchanged (move)
    found: list[Found]
    into: str | None = None
    type: str | None = None
    review: list[str] = field(default_factory=list)
    # Agency rows (draft.agencies): the clause's citation when the text is numbered, the new
    # unit's parent (or a move's new parent), the agency that goes on, and notes for people.
    cite: str | None = None
    parent: str | None = None
    parent_label: str | None = None
    absorbs: V | None = None
    new_label: str | None = None
    notes: list[str] = field(default_factory=list)

    def units(self) -> list[str]:
        return [PREFIX[f.pred.portion] + (f.version.key if f.version else
                                          " ".join(x for x in (UNRESOLVED, f.pred.type, f.pred.name) if x))
                for f in self.found]


@dataclass
class Drafted:
    """A drafted annex: the document as read, its rows, and what it will be checked against."""

    source: str
    document: Document
    act: str
    effective: datetime.date
    province: V | None
    rows: list[Row]
    notes: list[str]  # not for review, but worth knowing (e.g. a part whose rest goes elsewhere)
    kind: str = "admin"  # "agency": an agency text (draft.agencies)
    agency_figures: dict[str, int] | None = None  # agency texts: departments after, stated and drafted

    @property
    def needs_review(self) -> list[Row]:
        return [r for r in self.rows if r.review]

    def summary(self) -> dict[str, object]:
        by_type = Counter(r.label for r in self.rows)
        found = [f for r in self.rows for f in r.found]
        return {
            "act": self.act, "effective": self.effective.isoformat(), "province": self.document.province,
            "events": len(self.rows), "events_by_type": dict(sorted(by_type.items())),
            "units_named": len(found), "units_resolved": sum(f.version is not None for f in found),
            "units_to_check": sum(f.note is not None for f in found),
            "rows_needing_review": len(self.needs_review), "closing_figures": self.document.figures,
            **({"kind": "agency", "agencies_after": self.agency_figures,
                "rows_to_check": sum(any(n.startswith("CHECK") or n.startswith("KIỂM TRA") for n in r.notes)
                                     for r in self.rows)} if self.kind == "agency" else {}),
        }


def _label(snap: Snapshot, v: V, day: datetime.date) -> str:
    return snap.path(v, day)


def draft(reg: Register, path: Path, *, act: str | None = None,
          effective: datetime.date | None = None) -> Drafted:
    """Read the resolution at ``path`` and draft its annex against ``reg``; BadInput if unreadable."""
    text = readers.read_text(path)
    from merger.draft import agency_parse

    if agency_parse.looks_like_agencies(text):
        from merger.draft import agencies

        return agencies.draft(reg, path.name, text, act=act, effective=effective)
    doc = read_document(text)
    day = effective or doc.operates or doc.in_force
    if day is None:
        raise BadInput(_("{name} states no effective date: give --effective DATE").format(name=path.name))
    before = day - ONE_DAY
    snap = reg.snapshot
    provinces = [v for v in snap.by_fold.get(fold(doc.province), ())
                 if v.level == "province" and v.kind == "admin" and v.valid_on(before)]
    province = provinces[0] if len(provinces) == 1 else None
    resolver = Resolver(snap, before, province)
    resolver.learn_area([p for c in doc.clauses for p in c.preds])
    rows = [_row(c, resolver) for c in doc.clauses]
    notes: list[str] = []
    if province is None:
        why = "no province" if not provinces else f"{len(provinces)} provinces"
        for r in rows:
            r.review.append(f"parent: {why} named {doc.province!r} on {before}")
    _check_portions(rows, notes)
    return Drafted(path.name, doc, act or doc.number, day, province, rows, notes)


def _expand_districts(found: list[Found], resolver: Resolver) -> list[Found]:
    """"toàn bộ ... của huyện Kiên Hải": a district that still holds communes gives them all
    (a district with none, like Bạch Long Vĩ, is itself the predecessor)."""
    out: list[Found] = []
    for f in found:
        v = f.version
        if v is None or v.level != "district":
            out.append(f)
            continue
        children = sorted((c for c in resolver.snap.versions.values() if c.parent_unit_id == v.unit_id
                           and c.kind == "admin" and c.valid_on(resolver.day)), key=lambda c: c.code)
        if not children:
            out.append(f)
            continue
        for c in children:
            out.append(Found(Pred(f.pred.portion, c.type, c.name), c,
                             note=f"{f.pred.type} {f.pred.name}: the text names the district; its "
                                  f"{len(children)} commune-level units on {resolver.day} are taken"))
    return out


def _row(clause: ClauseDraft, resolver: Resolver) -> Row:
    found = _expand_districts(resolver.resolve_clause(clause.preds), resolver)
    if clause.kind == "move":
        row = Row(clause, "move", "unchanged (move)", found)
    elif clause.kind == "rename":
        row = Row(clause, "rename", "rename", found, into=full_name_of("admin", clause.new_type or "", clause.new_name or ""))
    else:
        label = "special zone" if clause.new_type == "đặc khu" else (
            "partial merge" if any(p.portion != "whole" for p in clause.preds) else "merge")
        row = Row(clause, "merge", label, found,
                  into=full_name_of("admin", clause.new_type or "", clause.new_name or ""), type=clause.new_type)
    row.review += clause.problems
    for f in found:
        if f.version is None:
            cands = "; ".join(f"{resolver.snap.path(v, resolver.day)} [{v.key}]" for v in f.candidates[:8])
            row.review.append(f.problem + (f" — candidates: {cands}" if cands else "") if f.problem else "")
    if not found and not clause.problems:
        row.review.append("no predecessor read from the clause")
    return row


def _check_portions(rows: list[Row], notes: list[str]) -> None:
    """A remainder must follow the parts the text says it follows; parts should have a rest."""
    parts: dict[str, list[int]] = {}
    for r in rows:
        for f in r.found:
            if f.version is not None and f.pred.portion == "part":
                parts.setdefault(f.version.key, []).append(r.clause.number)
    rests = {f.version.key for r in rows for f in r.found if f.version is not None and f.pred.portion == "remainder"}
    for r in rows:
        for f in r.found:
            if f.version is None or f.pred.portion != "remainder":
                continue
            took = parts.get(f.version.key, [])
            missing = [n for n in f.pred.refs if n not in took]
            if missing or not took:
                r.review.append(f"phần còn lại of {f.version.full_name}: the text says khoản "
                                f"{', '.join(map(str, f.pred.refs)) or '?'} took the other part, "
                                f"but the parts drafted are in khoản {', '.join(map(str, took)) or 'none'}")
    wholes: dict[str, list[int]] = {}
    for r in rows:
        for f in r.found:
            if f.version is not None and f.pred.portion == "whole":
                wholes.setdefault(f.version.key, []).append(r.clause.number)
    remainders: dict[int, list[int]] = {}  # id of a version -> the clauses giving its remainder
    for x in rows:
        for g in x.found:
            if g.version is not None and g.pred.portion == "remainder":
                remainders.setdefault(id(g.version), []).append(x.clause.number)
    for r in rows:
        for f in r.found:
            if f.version is None:
                continue
            others = [n for n in wholes.get(f.version.key, []) + parts.get(f.version.key, [])
                      + remainders.get(id(f.version), []) if n != r.clause.number]
            if others and (f.pred.portion == "whole" or f.version.key in wholes):
                r.review.append(f"{f.version.full_name} [{f.version.key}] is also named in khoản "
                                f"{', '.join(map(str, sorted(set(others))))}: a whole unit goes to one clause")
    for key, clauses in parts.items():
        if key not in rests and len(clauses) == 1:
            notes.append(f"{key}: a part goes to khoản {clauses[0]}; this resolution gives no clause for "
                         "the rest (it ends here; check whether another act takes it)")


# --- writing -------------------------------------------------------------------------------------


def _q(value: object) -> str:
    """A YAML scalar that reads back as the same string (JSON strings are YAML)."""
    return json.dumps(str(value), ensure_ascii=False)


def _comment(text: str) -> str:
    """One line of a YAML comment: no line breaks or control characters from the document."""
    import unicodedata

    return " ".join("".join(ch if not unicodedata.category(ch).startswith("C") else " " for ch in str(text)).split())


def to_yaml(d: Drafted, snap: Snapshot) -> str:
    """The annex as YAML, in the format ``merger apply`` reads, with comments for people."""
    doc = d.document
    before = d.effective - ONE_DAY
    out = [
        f"# Drafted by merger draft from {_comment(d.source)}: {_comment(d.act or 'no act number in the text')} "
        f"({_comment(doc.issuer or 'issuer not found')},",
        f"# signed {doc.date_signed or 'not stated'}, in force {doc.in_force or 'not stated'}, "
        f"{'units' if d.kind == 'admin' else 'agencies'} operate from {doc.operates or 'not stated'}). "
        f"Names resolved against the register as of {before}.",
        "# Check every '# REVIEW' line, then: merger apply THIS_FILE --dry-run, then merger apply THIS_FILE.",
    ]
    out += [f"# note: {_comment(n)}" for n in d.notes] if d.kind == "agency" else []
    if d.act:
        out.append("act: {number: " + _q(d.act) + (f", date: {doc.date_signed.isoformat()}" if doc.date_signed else "")
                   + (", issuer: " + _q(doc.issuer) if doc.issuer else "") + "}")
    else:
        out += ["# " + _("No act number in the text: the events are recorded as stated in it. Add"),
                "# " + _("act: {number: ..., date: ...} here if you know the act."), "evidence: \"stated\""]
    out.append(f"effective: {d.effective.isoformat()}")
    if doc.figures:
        fig = ", ".join(f"{_q(k)}: {v}" for k, v in doc.figures.items())
        within = d.province.key if d.province else doc.province
        out.append("closing_figures: {within: " + _q(within) + ", " + fig
                   + (f", clause: {_q(doc.figures_clause)}" if doc.figures_clause else "") + "}")
    out.append("events:")
    for r, event in zip(d.rows, events(d), strict=True):
        out.append("")
        for reason in r.review:
            out.append(f"  # REVIEW: {_comment(reason)}")
        for note in r.notes:
            out.append(f"  # {_comment(note)}")
        out.append(f"  - event: {event['event']}")
        if "clause" in event:
            out.append(f"    clause: {_q(event['clause'])}")
        out.append("    units:")
        found = [f for f in r.found if r.absorbs is None or f.version is not r.absorbs]
        for text, f in zip(event["units"], found, strict=True):
            where = f"  # {_comment(snap.path(f.version, before))}" if f.version else "  # REVIEW: not resolved"
            if f.note:
                where += f" — CHECK: {_comment(f.note)}"
            out.append(f"      - {_q(text)}{where}")
        for key in ("to", "into", "type", "parent", "note"):
            if key in event:
                comment = ""
                if key == "into" and r.absorbs is not None:
                    comment = f"  # {_comment(r.new_label or '')}"
                elif key == "parent" and r.parent_label:
                    comment = f"  # {_comment(r.parent_label)}"
                out.append(f"    {key}: {_q(event[key])}{comment}")
            elif key == "into" and r.event == "merge":
                out.append("    # into: REVIEW: " + _("the agency the clause makes (a key, or a new name with type: and "
                                                     "parent:)"))
    return "\n".join(out) + "\n"


def events(d: Drafted) -> list[dict[str, object]]:
    """The annex's event rows as ``merger apply`` reads them (``to_yaml`` writes these)."""
    parent = d.province.key if d.province else d.document.province
    out: list[dict[str, object]] = []
    if d.kind == "agency":
        return [_agency_event(r) for r in d.rows]
    for r in d.rows:
        event: dict[str, object] = {"event": r.event, "clause": str(r.clause.number), "units": r.units()}
        if r.event == "rename":
            event["to"] = r.into
        elif r.event == "move":
            event["parent"] = parent
        else:
            event.update(into=r.into, type=r.type, parent=parent)
        event["note"] = f"khoản {r.clause.number} Điều 1: {r.clause.text}"
        out.append(event)
    return out


def _agency_event(r: Row) -> dict[str, object]:
    """An agency row as merger apply reads it: only the fields the event uses."""
    event: dict[str, object] = {"event": r.event}
    if r.cite:
        event["clause"] = r.cite
    event["units"] = [u for u, f in zip(r.units(), r.found, strict=True)
                      if r.absorbs is None or f.version is not r.absorbs]  # the one that goes on is no predecessor
    if r.event == "rename" and r.into:
        event["to"] = r.into
    elif r.event == "move" and r.parent:
        event["parent"] = r.parent
    elif r.event in ("merge", "establish") and r.into:
        event["into"] = r.into
        if r.absorbs is None:
            event.update({k: v for k, v in (("type", r.type), ("parent", r.parent)) if v})
    note = f"{r.cite}: {r.clause.text}" if r.cite else r.clause.text
    event["note"] = note if len(note) <= NOTE_MOST else note[: NOTE_MOST - 1] + "…"  # an annex cell holds 1,000
    return event


def write(d: Drafted, snap: Snapshot, out: Path) -> None:
    """Write the annex (all or nothing: a temporary file renamed into place)."""
    if out.suffix.casefold() not in (".yaml", ".yml"):
        raise BadInput(_("{name}: the draft is written as YAML (.yaml or .yml)").format(name=out.name))
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(to_yaml(d, snap), encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BadInput(_("cannot write {out}: {value}").format(out=out, value=exc.strerror or exc)) from None


__all__ = ["Drafted", "Pred", "Row", "draft", "events", "to_yaml", "write"]
