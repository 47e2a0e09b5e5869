"""Recording events: building them from a request, validating them, writing them atomically.

Staff describe a decision as a ``Spec`` (what the act says: merge these into that, rename this
to that...). ``write`` opens one write transaction (BEGIN IMMEDIATE on SQLite, so concurrent
writers queue instead of racing), reads the register as it stands inside that transaction,
plans every event in order against a private working snapshot (each later event sees the
earlier ones), and writes all of them or none. Every refusal names its rule and reason.

Nothing is ever deleted: ``revoke`` and ``amend`` add a ``Correction`` that supersedes a
recorded event; ``graph.load`` hides superseded events unless asked for an earlier moment.
"""

from __future__ import annotations

import getpass
import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from merger import graph
from merger.counts import TYPE_ORDER
from merger.errors import Ambiguous, BadInput, MergerError, NotFound, ValidationFailed, Violation
from merger.graph import E, L, Snapshot, V
from merger.names import fold, spelling, split_type, strip_marks, tidy

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from merger.register import Register

ONE_DAY = timedelta(days=1)

# Agency types (lower-case Vietnamese, as unit types are) with their English labels.
AGENCY_TYPES = {
    "sở và tương đương": "department and equivalent",
    "ban quản lý": "board",
    "chi cục": "sub-department office",
    "đơn vị sự nghiệp công lập": "public service unit",
    "ban quản lý dự án": "project management board",
    "hội": "association",
    "quỹ": "fund",
}
ADMIN_TYPES = {t: level for level, types in TYPE_ORDER.items() for t in types}
# Which levels a unit of each level may sit under (agencies: a People's Committee, i.e. a
# province or commune, or another agency).
PARENT_LEVELS = {
    "province": (),
    "district": ("province",),
    "commune": ("province", "district"),
    "village": ("commune",),
    "agency": ("province", "commune", "agency"),
}
EVENT_TYPES = ("merge", "split", "transfer", "rename", "reclassify", "dissolve", "establish", "move")
BASES = ("area", "population")


# --- requests -----------------------------------------------------------------------------


@dataclass
class Spec:
    """One decision as staff state it; names are resolved against the register when planned.

    ``units``: the units acted on (predecessors); ``into``: successors by name (new or
    existing); ``to``: transfer target, new name, new type, or where functions go on
    dissolution; ``parent``: parent of a new unit or the new parent of a move.
    """

    type: str
    effective: date
    units: list[str] = field(default_factory=list)
    into: list[str] = field(default_factory=list)
    to: str | None = None
    unit_type: str | None = None
    parent: str | None = None
    codes: dict[str, str] = field(default_factory=dict)
    shares: dict[str, float] = field(default_factory=dict)
    basis: str | None = None
    act: str | None = None
    act_date: date | None = None
    issuer: str | None = None
    clause: str | None = None
    note: str = ""
    source: str = ""
    evidence: str | None = None
    line: int | None = None  # the annex line it came from

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("line")
        return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> Spec:
        data = json.loads(text)
        for name in ("effective", "act_date"):
            if data.get(name):
                data[name] = date.fromisoformat(data[name])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def subject(self) -> str:
        return (self.units or self.into or [""])[0]

    def idem_key(self) -> str | None:
        """act + clause + event (type and first subject): the same decision recorded twice."""
        if not self.act:
            return None
        return "|".join([tidy(self.act).casefold(), (self.clause or "").strip().casefold(), self.type,
                         fold(self.subject())])


def parse_shares(values: list[str]) -> dict[str, float]:
    """"X=0.6" (or a bare "0.6" for a transfer) -> {"X": 0.6}; refuses what is not a number."""
    out: dict[str, float] = {}
    for raw in values:
        name, sep, number = raw.rpartition("=")
        if not sep:
            name, number = "", raw
        try:
            out[tidy(name)] = float(number.strip().rstrip("%")) / (100 if number.strip().endswith("%") else 1)
        except ValueError:
            raise BadInput(f"share {raw!r} is not NAME=NUMBER (e.g. \"Xã An=0.6\")") from None
    return out


@dataclass
class Change:
    """One line of a before/after table."""

    event: str
    unit: str
    before: str
    after: str


@dataclass
class Outcome:
    events: list[str]
    changes: list[Change]
    written: bool
    corrections: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # accepted, but worth a second look


def advisories(specs: list[Spec]) -> list[str]:
    """What the rules allow but staff usually mean otherwise: an event without its legal basis,
    an act dated after the day it takes effect (retroactive)."""
    out: list[str] = []
    for s in specs:
        where = f"line {s.line}: " if s.line else ""
        if not s.act:
            out.append(f"{where}{s.type} recorded without its legal act (--act); "
                       "add it with merger amend EVENT --act NUMBER --reason ...")
        elif s.act_date is not None and s.act_date > s.effective:
            out.append(f"{where}act {s.act} is dated {s.act_date}, after the day it takes effect "
                       f"({s.effective}): retroactive?")
    return out


@dataclass
class Draft:
    spec: Spec
    event: E
    new_units: dict[int, tuple[str, str]] = field(default_factory=dict)  # temp unit id -> (key, kind)
    new_versions: list[V] = field(default_factory=list)
    ended: list[V] = field(default_factory=list)
    links: list[L] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


class Refused(MergerError):
    """One rule broken by one event (collected into ValidationFailed)."""

    def __init__(self, rule: str, message: str, subjects: list[str] | None = None):
        super().__init__(message)
        self.violation = Violation(rule, message, subjects or [])


# --- planning -----------------------------------------------------------------------------


def _display_type(type_: str) -> str:
    if type_ == "thành phố trực thuộc trung ương":
        return "Thành phố"
    return type_[:1].upper() + type_[1:]


def full_name_of(kind: str, type_: str, name: str) -> str:
    return name if kind == "agency" else f"{_display_type(type_)} {name}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


class Planner:
    """Plans events one after another against a private working snapshot it updates."""

    def __init__(self, snap: Snapshot, acts: dict[str, tuple[int, graph.Act]], now: datetime, by: str,
                 next_event: int):
        self.snap = snap
        self.acts = acts
        self.now = now
        self.by = by
        self.next_event = next_event
        self._temp = 0
        self._by_parent: dict[int, list[V]] | None = None

    # names ------------------------------------------------------------------------------

    def find(self, query: str, day: date, *, what: str = "unit", kind: str | None = None) -> V:
        """The version of the unit ``query`` names that is in force on ``day``, or a refusal
        saying why not (ended before, starts after, unknown, ambiguous)."""
        from merger import search

        try:
            return search.resolve(self.snap, query, as_of=day, kind=kind).version
        except NotFound as first:
            try:
                match = search.resolve(self.snap, query, kind=kind)
            except (NotFound, Ambiguous):
                raise Refused("not-found", str(first), [query]) from None
            versions = match.versions
            if versions[0].valid_from is not None and versions[0].valid_from > day:
                raise Refused("before-start", f"the effective date {day} is before the start of "
                              f"{self.label(versions[0])} (in force from {versions[0].valid_from})",
                              [versions[0].key]) from None
            last = versions[-1]
            raise Refused("not-in-force", f"{what} {self.label(last)} is not in force on {day}"
                          + (f" (it ended on {last.valid_to})" if last.valid_to else ""), [last.key]) from None
        except Ambiguous as exc:
            direct = self._direct_child(query, day, kind)
            if direct is not None:
                return direct
            raise Refused("ambiguous", str(exc), [query]) from None

    def _direct_child(self, query: str, day: date, kind: str | None) -> V | None:
        """"Sở Y tế, Hải Phòng": the one unit of that name whose own parent is so named.

        The search also matches qualifiers through lineage (an old Hải Dương unit lies in
        today's Hải Phòng); when recording, the direct parent on the day is what staff mean.
        """
        from merger.names import parse_query

        parsed = parse_query(query)
        if not parsed.qualifiers:
            return None
        found: dict[int, V] = {}
        for reading in parsed.target:
            for v in self.snap.by_fold.get(reading.name, ()):
                if not v.valid_on(day) or (kind and v.kind != kind):
                    continue
                if reading.types is not None and v.type not in reading.types:
                    continue
                parent = self.snap.parent_of(v, day)
                if parent is not None and any(fold(parent.name) == q.name or fold(parent.full_name) == q.name
                                              for q in parsed.qualifiers[0]):
                    found[v.unit_id] = v
        return next(iter(found.values())) if len(found) == 1 else None

    def label(self, v: V) -> str:
        parent = self.snap.parent_of(v)
        return f"{v.full_name}" + (f" ({parent.full_name})" if parent else "") + f" [{v.key}]"

    def predecessor(self, query: str, day: date) -> V:
        v = self.find(query, day, what="predecessor")
        if v.valid_from is not None and v.valid_from >= day:
            raise Refused("before-start", f"the effective date {day} is not after the start of "
                          f"{self.label(v)} (in force from {v.valid_from})", [v.key])
        if v.valid_to is not None:
            # Its fate is already recorded (a later event ends it): a second fate would leave two
            # overlapping successors. Correct the later event (revoke/amend) instead.
            fate = next((link.event.key for link in self.snap.successors(v)), None)
            raise Refused("already-ended", f"{self.label(v)} already ends on {v.valid_to}"
                          + (f" by {fate}" if fate else "") + "; record changes after that date, or "
                          "revoke or amend that event first", [v.key])
        return v

    def sibling(self, text: str, parent_unit_id: int | None, kind: str, level: str, day: date) -> V | None:
        """An existing unit named ``text`` under the same parent on ``day`` (for --into X)."""
        if text in self.snap.by_key:
            v = self.snap.by_key[text]
            return self.snap.unit_version(v.unit_id, day)
        found: dict[int, V] = {}
        want = spelling(tidy(text)).casefold()
        for v in self.snap.valid_on(day, kind):  # the whole text as a sibling's name
            if (v.parent_unit_id == parent_unit_id and v.level == level
                    and want in (spelling(v.full_name).casefold(), spelling(v.name).casefold())):
                found[v.unit_id] = v
        if len(found) == 1:
            return next(iter(found.values()))
        if "," in text or "/" in text:  # "Thôn Đông, Xã An": a qualified name
            from merger import search

            try:
                v = search.resolve(self.snap, text, as_of=day, kind=kind).version
            except (NotFound, Ambiguous):
                v = None
            if v is not None and v.parent_unit_id == parent_unit_id and v.level == level:
                return v
        found = {}
        # A name written with its marks means that spelling: "Cẩm Giang" is not "Cẩm Giàng".
        marked = strip_marks(tidy(text)) != tidy(text)
        for reading in split_type(text):
            words = tidy(text).split()
            bare = " ".join(words[len(words) - len(reading.name.split()):])
            for v in self.snap.by_fold.get(reading.name, ()):
                if (v.valid_on(day) and v.parent_unit_id == parent_unit_id and v.kind == kind
                        and v.level == level and (reading.types is None or v.type in reading.types)
                        and not (marked and spelling(v.name) != spelling(bare))):
                    found[v.unit_id] = v
            if found:
                break
        if len(found) > 1:
            raise Refused("ambiguous", f"{text!r} names {len(found)} units under the same parent", [text])
        return next(iter(found.values()), None)

    def parent(self, query: str, day: date, kind: str, level: str) -> V:
        p = self.find(query, day, what="parent")
        allowed = PARENT_LEVELS.get(level, ())
        if p.level not in allowed or (kind == "admin" and p.kind != "admin"):
            want = " or ".join(allowed) or "no parent"
            raise Refused("parent-level", f"a {level} cannot be placed under {p.full_name} ({p.level}): "
                          f"its parent must be a {want}", [p.key])
        return p

    def check_parent(self, parent_unit_id: int | None, day: date, kind: str, level: str) -> None:
        if parent_unit_id is None:
            if level != "province":
                raise Refused("parent-level", f"a {level} needs a parent (--parent)")
            return
        p = self.snap.unit_version(parent_unit_id, day)
        if p is None:
            raise Refused("parent", f"the parent unit is not in force on {day}")
        self.parent(p.key, day, kind, level)

    def name_type(self, text: str, kind: str, default_type: str | None) -> tuple[str, str, str]:
        """(type, bare name, full name) of a successor written as "Phường Hòa Bình" or "Hòa Bình"."""
        text = tidy(text)
        if kind == "agency":
            type_ = default_type or ""
            if type_ not in AGENCY_TYPES:
                raise Refused("type", f"unknown agency type {type_!r}: one of {', '.join(AGENCY_TYPES)}")
            return type_, text, text
        readings = split_type(text)
        typed = next((r for r in readings if r.types is not None), None)
        if typed is not None and (default_type is None or default_type in typed.types):
            type_ = default_type or typed.types[0]
            words = len(text.split()) - len(typed.name.split())
            name = " ".join(text.split()[words:])
        else:
            if default_type is None:
                raise Refused("type", f"cannot tell the type of {text!r}: write it in the name "
                              "(\"Phường ...\") or give --type")
            type_, name = default_type, text
        return type_, name, full_name_of(kind, type_, name)

    def check_name(self, name: str, full_name: str, parent_unit_id: int | None, kind: str, level: str,
                   day: date, unit_id: int | None) -> None:
        """A successor's name must not duplicate a sibling's under the same parent on ``day``.

        Villages and agencies compare bare names (a thôn and a tổ dân phố may not share one);
        other levels compare full names (a xã and a phường of one name may coexist).
        """
        bare = level in ("village", "agency")
        want = spelling(name if bare else full_name).casefold()
        for v in self.snap.by_fold.get(fold(name), ()):
            # The new name holds from ``day`` on: a sibling in force then or later clashes (a
            # back-dated decision must not duplicate a unit recorded for a later date).
            ended_before = v.valid_to is not None and v.valid_to < day
            if v.unit_id == unit_id or v.parent_unit_id != parent_unit_id or ended_before:
                continue
            if v.kind != kind or v.level != level:
                continue
            if spelling(v.name if bare else v.full_name).casefold() == want:
                parent = self.snap.unit_version(parent_unit_id, day) if parent_unit_id else None
                where = f" under {parent.full_name}" if parent else ""
                raise Refused("duplicate-name", f"the name {full_name!r} duplicates {v.full_name} [{v.key}]"
                              f"{where} on {day}; choose another name", [v.key])

    def code_for(self, kind: str, level: str, name: str, parent_unit_id: int | None, given: str | None,
                 inherit: str | None) -> str:
        """An explicit code, a predecessor's code, or (villages, agencies) one made from the name."""
        if given:
            return given.strip()
        if inherit:
            return inherit
        if kind == "agency" or level == "village":
            parent = self.snap.by_unit.get(parent_unit_id or 0)
            prefix = parent[-1].code if parent else "x"
            return f"{prefix}.{slug(name)}"
        raise Refused("code", f"give the new unit {name!r} a code (--code)")

    # changing the working snapshot --------------------------------------------------------

    def _temp_id(self) -> int:
        self._temp -= 1
        return self._temp

    def end(self, draft: Draft, v: V, day: date) -> None:
        if v in draft.ended:
            return
        v.valid_to = day - ONE_DAY
        draft.ended.append(v)
        draft.changes.append(Change(draft.event.key, v.full_name, f"{v.full_name} ({v.type}) [{v.key}]",
                                    f"ends {v.valid_to}"))

    def new_version(self, draft: Draft, *, unit_id: int | None, kind: str, code: str, name: str,
                    full_name: str, type_: str, level: str, parent_unit_id: int | None, day: date,
                    evidence: str | None = None) -> V:
        key = f"{code}@{day.isoformat()}"
        if key in self.snap.by_key:
            raise Refused("duplicate-key", f"a version {key} already exists", [key])
        for other in self.snap.by_code.get(code, ()):
            # One code, one unit at a time: from ``day`` on, no other unit may hold it.
            if other.unit_id != unit_id and other.kind == kind and (other.valid_to is None or other.valid_to >= day):
                raise Refused("duplicate-code", f"code {code} is held by {other.full_name} [{other.key}] "
                              f"from {other.valid_from or '…'}; give another code (--code)", [other.key])
        if unit_id is None:
            unit_id = self._temp_id()
            draft.new_units[unit_id] = (key, kind)
            unit_key = key
        else:
            unit_key = self.snap.by_unit[unit_id][0].unit_key
        v = V(self._temp_id(), key, unit_id, unit_key, kind, code, name, full_name, type_, level,
              parent_unit_id, day, None, evidence, draft.spec.source or f"recorded by {self.by}", fold(name))
        self.snap.versions[v.id] = v
        self.snap.by_key[key] = v
        self.snap.by_unit[unit_id].append(v)
        self.snap.by_fold[fold(name)].append(v)
        self.snap.by_code[code].append(v)
        if self._by_parent is not None and parent_unit_id is not None:
            self._by_parent[parent_unit_id].append(v)
        draft.new_versions.append(v)
        parent = self.snap.unit_version(parent_unit_id, day) if parent_unit_id else None
        draft.changes.append(Change(draft.event.key, full_name, "—",
                                    f"{full_name} ({type_}{', ' + parent.full_name if parent else ''}) "
                                    f"[{key}] from {day}"))
        return v

    def link(self, draft: Draft, pred: V | None, succ: V | None, portion: str, relation: str,
             share: float | None = None, basis: str | None = None) -> None:
        lk = L(self._temp_id(), draft.event, pred, succ, portion, relation, share,
               basis if share is not None else None, "")
        self.snap.links.append(lk)
        if pred is not None:
            self.snap.out_links[pred.id].append(lk)
        if succ is not None:
            self.snap.in_links[succ.id].append(lk)
        self.snap.event_links[draft.event.id].append(lk)
        draft.links.append(lk)

    def successor_of(self, draft: Draft, v: V, day: date, **changes: Any) -> V:
        """A new version of ``v``'s unit from ``day`` with some attributes changed."""
        attrs = dict(kind=v.kind, code=v.code, name=v.name, full_name=v.full_name, type_=v.type,
                     level=v.level, parent_unit_id=v.parent_unit_id)
        attrs.update(changes)
        self.end(draft, v, day)
        return self.new_version(draft, unit_id=v.unit_id, day=day, **attrs)

    def _children(self) -> dict[int, list[V]]:
        """Versions by parent unit, built on first use (a large annex ends hundreds of units)."""
        if self._by_parent is None:
            self._by_parent = defaultdict(list)
            for c in self.snap.versions.values():
                if c.parent_unit_id is not None:
                    self._by_parent[c.parent_unit_id].append(c)
        return self._by_parent

    def orphans(self, v: V, day: date) -> None:
        """A unit that ends may not leave units under it in force after its end."""
        left = [c for c in self._children().get(v.unit_id, ()) if c.valid_on(day)]
        if left:
            names = ", ".join(sorted(c.full_name for c in left)[:3])
            raise Refused("orphans", f"{v.full_name} [{v.key}] still has {len(left)} unit(s) under it on {day} "
                          f"({names}{', …' if len(left) > 3 else ''}): move, merge or dissolve them first "
                          "(earlier in the same annex)", [v.key])

    # events ---------------------------------------------------------------------------------

    def plan(self, spec: Spec) -> Draft:
        if spec.type not in EVENT_TYPES:
            raise Refused("event-type", f"unknown event {spec.type!r}: one of {', '.join(EVENT_TYPES)}")
        act = None
        if spec.act:
            act = self._act(spec)
        self.next_event += 1
        ev = E(-self.next_event, f"E{spec.effective:%Y%m%d}-R{self.next_event}", spec.type, spec.effective,
               act, (spec.clause or "").strip() or None, spec.note, spec.source or "recorded",
               spec.evidence, self.now, self.by)
        draft = Draft(spec, ev)
        self._shares_ok(spec)
        getattr(self, f"_{spec.type}")(draft, spec, spec.effective)
        self._check_shares(draft)
        return draft

    def _act(self, spec: Spec) -> graph.Act:
        number = tidy(spec.act or "")
        for known, (_, a) in self.acts.items():
            if fold(known) == fold(number):
                if spec.act_date and a.date_signed and spec.act_date != a.date_signed:
                    raise Refused("act", f"act {a.number} is recorded as signed on {a.date_signed}, "
                                  f"not {spec.act_date}", [a.number])
                return a
        if spec.act_date and spec.act_date > spec.effective + timedelta(days=366 * 5):
            raise Refused("act", f"act date {spec.act_date} is implausible")
        kind = "resolution" if "NQ" in number.upper() else "decision" if "QĐ" in number.upper() else ""
        a = graph.Act(self._temp_id(), number, kind, spec.issuer or "", "", spec.act_date, None, "recorded")
        self.acts[number] = (a.id, a)
        return a

    def _shares_ok(self, spec: Spec) -> None:
        for name, share in spec.shares.items():
            if not 0 < share <= 1:
                raise Refused("shares", f"share {share:g}{' of ' + name if name else ''} is outside (0, 1]")
        if spec.shares and spec.basis not in BASES:
            raise Refused("shares", f"give --basis ({' or '.join(BASES)}) with --share")
        if spec.shares and spec.type not in ("split", "transfer"):
            raise Refused("shares", f"shares apply to split and transfer, not {spec.type}")

    def _check_shares(self, draft: Draft) -> None:
        """Per predecessor: shares sum to at most 1, and exactly 1 when it ends (all given)."""
        by_pred: dict[int, list[L]] = {}
        for lk in draft.links:
            if lk.pred is not None:
                by_pred.setdefault(lk.pred.id, []).append(lk)
        for links in by_pred.values():
            given = [lk.share for lk in links if lk.share is not None]
            if not given:
                continue
            total = sum(given)
            pred = links[0].pred
            assert pred is not None
            if total > 1 + 1e-9:
                raise Refused("shares", f"the shares of {pred.full_name} sum to {total:g}, more than 1", [pred.key])
            continues = any(lk.succ is not None and lk.succ.unit_id == pred.unit_id for lk in links)
            if not continues and len(given) == len(links) and abs(total - 1) > 1e-9:
                raise Refused("shares", f"{pred.full_name} ends, so its shares must sum to exactly 1 "
                              f"(they sum to {total:g})", [pred.key])

    def _share(self, spec: Spec, name: str) -> float | None:
        for key, value in spec.shares.items():
            if key == "" or fold(key) == fold(name) or fold(split_type(key)[-1].name) == fold(split_type(name)[-1].name):
                return value
        return None

    def _preds(self, spec: Spec, day: date, *, one: bool = False) -> list[V]:
        if not spec.units:
            raise Refused("input", f"{spec.type} needs the unit(s) it acts on")
        if one and len(spec.units) != 1:
            raise Refused("input", f"{spec.type} acts on exactly one unit ({len(spec.units)} given)")
        preds: list[V] = []
        for q in spec.units:
            v = self.predecessor(q, day)
            if any(p.unit_id == v.unit_id for p in preds):
                raise Refused("duplicate", f"{v.full_name} is listed twice", [v.key])
            preds.append(v)
        kinds, levels = {p.kind for p in preds}, {p.level for p in preds}
        if len(kinds) > 1 or len(levels) > 1:
            raise Refused("input", "the units of one event must be of one kind and level "
                          f"({', '.join(sorted(levels))})")
        return preds

    def _target_parent(self, spec: Spec, preds: list[V], day: date, kind: str, level: str) -> int | None:
        if spec.parent:
            return self.parent(spec.parent, day, kind, level).unit_id
        parents = {p.parent_unit_id for p in preds}
        if len(parents) != 1:
            raise Refused("parent", "the units have different parents: give --parent")
        parent = parents.pop()
        self.check_parent(parent, day, kind, level)
        return parent

    def _portioned_preds(self, spec: Spec, day: date) -> tuple[list[V], list[tuple[str, str]]]:
        """Predecessors of a merge, each with its portion ("một phần X": part of X).

        A unit split between several new units ends once; each part links it to one of them,
        so a part may come from a unit that an earlier event of the same day already ended.
        """
        from merger.portions import split_portion

        parsed = [split_portion(q) for q in spec.units]
        if all(portion == "whole" for _, portion, _ in parsed):
            return self._preds(spec, day), [("whole", "whole")] * len(parsed)
        preds: list[V] = []
        for text, portion, _ in parsed:
            if portion == "whole":
                v = self.predecessor(text, day)
            else:
                v = self.find(text, day - ONE_DAY, what="predecessor")
                split_today = v.valid_to == day - ONE_DAY and all(
                    lk.portion == "part" and lk.event.effective == day for lk in self.snap.successors(v))
                if v.valid_to is not None and not split_today:
                    raise Refused("already-ended", f"{self.label(v)} already ends on {v.valid_to}; "
                                  "only its parts may go to several units on one day", [v.key])
            if any(p.unit_id == v.unit_id for p in preds):
                raise Refused("duplicate", f"{v.full_name} is listed twice", [v.key])
            preds.append(v)
        if len({p.kind for p in preds}) > 1 or len({p.level for p in preds}) > 1:
            raise Refused("input", "the units of one event must be of one kind and level")
        return preds, [(portion, relation) for _, portion, relation in parsed]

    def _merge(self, d: Draft, spec: Spec, day: date) -> None:
        preds, portions = self._portioned_preds(spec, day)
        if len(spec.into) != 1:
            raise Refused("input", "merge needs exactly one --into")
        kind, level = preds[0].kind, preds[0].level
        if kind == "admin" and spec.unit_type and ADMIN_TYPES.get(tidy(spec.unit_type).casefold()) == "commune":
            level = "commune"  # a whole district becomes a special zone (đặc khu), a commune-level unit
        parent = self._target_parent(spec, preds, day, kind, level)
        target = self.sibling(spec.into[0], parent, kind, level, day)
        if target is not None and any(p.unit_id == target.unit_id for p in preds):
            raise Refused("cycle", f"{target.full_name} cannot be merged into itself (a lineage cycle): "
                          "list only the units it absorbs", [target.key])
        for p in preds:
            if p.valid_to is None:
                self.end(d, p, day)
            self.orphans(p, day)
        if target is not None:  # absorption: the existing unit gets a new version
            if target.valid_from is not None and target.valid_from >= day:
                raise Refused("before-start", f"the effective date {day} is not after the start of "
                              f"{self.label(target)}", [target.key])
            succ = self.successor_of(d, target, day)
            self.link(d, target, succ, "whole", "whole")
        else:
            types = {p.type for p in preds}
            type_, name, full = self.name_type(spec.into[0], kind, spec.unit_type or (
                types.pop() if len(types) == 1 else None))
            self.check_name(name, full, parent, kind, level, day, None)
            # The first predecessor's code whose holder has ended (a part's unit may have passed
            # it on earlier the same day).
            free = [p.code for p in preds if not any(
                o.kind == kind and (o.valid_to is None or o.valid_to >= day) for o in self.snap.by_code.get(p.code, ()))]
            code = self.code_for(kind, level, name, parent, spec.codes.get("") or self._code(spec, name),
                                 (free or [preds[0].code])[0] if level not in ("village", "agency") else None)
            succ = self.new_version(d, unit_id=None, kind=kind, code=code, name=name, full_name=full,
                                    type_=type_, level=level, parent_unit_id=parent, day=day)
        for p, (portion, relation) in zip(preds, portions, strict=True):
            self.link(d, p, succ, portion, relation)

    def _code(self, spec: Spec, name: str) -> str | None:
        for key, value in spec.codes.items():
            if key and fold(split_type(key)[-1].name) == fold(name):
                return value
        return None

    def _split(self, d: Draft, spec: Spec, day: date) -> None:
        (pred,) = self._preds(spec, day, one=True)
        if len(spec.into) < 2 and not any(self.sibling(t, pred.parent_unit_id, pred.kind, pred.level, day)
                                          for t in spec.into):
            raise Refused("input", "split needs at least two --into (or one existing unit)")
        kind, level = pred.kind, pred.level
        parent = pred.parent_unit_id
        if spec.parent:
            parent = self.parent(spec.parent, day, kind, level).unit_id
        plans: list[tuple[str, V | None]] = []
        for text in spec.into:
            existing = self.sibling(text, parent, kind, level, day)
            if existing is None and fold(split_type(text)[-1].name) == fold(pred.name):
                existing = pred
            plans.append((text, existing))
        continues = any(e is not None and e.unit_id == pred.unit_id for _, e in plans)
        self.end(d, pred, day)
        if not continues:
            self.orphans(pred, day)
        inherit = None if continues or level in ("village", "agency") else pred.code
        given = {t: self._share(spec, t) for t, _ in plans}
        remainder_share = None
        if continues and any(v is not None for v in given.values()):
            others = sum(v for t, v in given.items() if v is not None and dict(plans)[t] is not pred)
            if all(given[t] is None for t, e in plans if e is pred):
                remainder_share = 1 - others
                if remainder_share <= 1e-9:
                    raise Refused("shares", f"the shares given leave nothing to {pred.full_name}, which "
                                  "continues; record its end instead", [pred.key])
        for text, existing in plans:
            share = given[text]
            if existing is pred:
                succ = self.successor_of(d, pred, day)
                self.link(d, pred, succ, "part", "remainder", share if share is not None else remainder_share,
                          spec.basis)
                continue
            if existing is not None:
                succ = self.successor_of(d, existing, day)
                self.link(d, existing, succ, "whole", "whole")
            else:
                type_, name, full = self.name_type(text, kind, spec.unit_type or pred.type)
                self.check_name(name, full, parent, kind, level, day, None)
                code = self.code_for(kind, level, name, parent, self._code(spec, name), inherit)
                inherit = None
                succ = self.new_version(d, unit_id=None, kind=kind, code=code, name=name, full_name=full,
                                        type_=type_, level=level, parent_unit_id=parent, day=day)
            self.link(d, pred, succ, "part", "part", share, spec.basis)

    def _transfer(self, d: Draft, spec: Spec, day: date) -> None:
        (pred,) = self._preds(spec, day, one=True)
        if not spec.to:
            raise Refused("input", "transfer needs --to (the unit receiving the part)")
        target = self.predecessor(spec.to, day)
        if target.unit_id == pred.unit_id:
            raise Refused("cycle", f"part of {pred.full_name} cannot be transferred to itself (a cycle)",
                          [pred.key])
        if target.kind != pred.kind or target.level != pred.level:
            raise Refused("input", f"{target.full_name} is a {target.level}, {pred.full_name} a {pred.level}")
        share = next(iter(spec.shares.values()), None)
        if share is not None and share >= 1:
            raise Refused("shares", f"a share of 1 would leave nothing of {pred.full_name}: record a merge")
        rest = self.successor_of(d, pred, day)
        got = self.successor_of(d, target, day)
        self.link(d, pred, rest, "part", "remainder", None if share is None else 1 - share, spec.basis)
        self.link(d, pred, got, "part", "part", share, spec.basis)
        self.link(d, target, got, "whole", "whole")

    def _rename(self, d: Draft, spec: Spec, day: date) -> None:
        (pred,) = self._preds(spec, day, one=True)
        if not spec.to:
            raise Refused("input", "rename needs --to NAME")
        type_, name, full = self.name_type(spec.to, pred.kind, pred.type)
        if type_ != pred.type:
            raise Refused("input", f"a rename keeps the type ({pred.type}); record a reclassify too")
        if spelling(name) == spelling(pred.name):
            raise Refused("input", f"{pred.full_name} is already called {name!r}", [pred.key])
        self.check_name(name, full, pred.parent_unit_id, pred.kind, pred.level, day, pred.unit_id)
        code = pred.code
        if pred.kind == "agency" or pred.level == "village":
            code = self.code_for(pred.kind, pred.level, name, pred.parent_unit_id, self._code(spec, name), None)
            if any(v.unit_id != pred.unit_id for v in self.snap.by_code.get(code, ())):
                code = pred.code
        succ = self.successor_of(d, pred, day, name=name, full_name=full, code=code)
        self.link(d, pred, succ, "whole", "renamed")

    def _reclassify(self, d: Draft, spec: Spec, day: date) -> None:
        (pred,) = self._preds(spec, day, one=True)
        if not spec.to:
            raise Refused("input", "reclassify needs --to TYPE")
        type_ = tidy(spec.to).casefold()
        allowed = tuple(AGENCY_TYPES) if pred.kind == "agency" else TYPE_ORDER.get(pred.level, ())
        if type_ not in allowed:
            raise Refused("type", f"{type_!r} is not a {pred.level} type (one of: {', '.join(allowed)})")
        if type_ == pred.type:
            raise Refused("input", f"{pred.full_name} is already a {type_}", [pred.key])
        full = full_name_of(pred.kind, type_, pred.name)
        self.check_name(pred.name, full, pred.parent_unit_id, pred.kind, pred.level, day, pred.unit_id)
        succ = self.successor_of(d, pred, day, type_=type_, full_name=full)
        self.link(d, pred, succ, "whole", "reclassified")

    def _dissolve(self, d: Draft, spec: Spec, day: date) -> None:
        (pred,) = self._preds(spec, day, one=True)
        self.end(d, pred, day)
        self.orphans(pred, day)
        if spec.to:
            target = self.predecessor(spec.to, day)
            if target.unit_id == pred.unit_id:
                raise Refused("cycle", f"{pred.full_name} cannot pass its functions to itself", [pred.key])
            got = self.successor_of(d, target, day)
            self.link(d, target, got, "whole", "whole")
            self.link(d, pred, got, "whole", "functions_to")
        else:
            self.link(d, pred, None, "whole", "dissolved")

    def _establish(self, d: Draft, spec: Spec, day: date) -> None:
        if len(spec.into) != 1 or spec.units:
            raise Refused("input", "establish names exactly one new unit (and no predecessors)")
        if not spec.unit_type:
            raise Refused("input", "establish needs --type")
        type_ = tidy(spec.unit_type).casefold()
        if type_ in AGENCY_TYPES:
            kind, level = "agency", "agency"
        elif type_ in ADMIN_TYPES:
            kind, level = "admin", ADMIN_TYPES[type_]
        else:
            raise Refused("type", f"unknown type {type_!r}")
        parent = None
        if level != "province":
            if not spec.parent:
                raise Refused("input", "establish needs --parent")
            parent = self.parent(spec.parent, day, kind, level).unit_id
        _, name, full = self.name_type(spec.into[0], kind, type_)
        self.check_name(name, full, parent, kind, level, day, None)
        code = self.code_for(kind, level, name, parent, spec.codes.get("") or self._code(spec, name), None)
        succ = self.new_version(d, unit_id=None, kind=kind, code=code, name=name, full_name=full, type_=type_,
                                level=level, parent_unit_id=parent, day=day, evidence=spec.evidence)
        self.link(d, None, succ, "whole", "established")

    def _move(self, d: Draft, spec: Spec, day: date) -> None:
        (pred,) = self._preds(spec, day, one=True)
        target = spec.parent or spec.to
        if not target:
            raise Refused("input", "move needs --to-parent")
        p = self.find(target, day, what="parent")
        if p.unit_id == pred.unit_id or any(a.unit_id == pred.unit_id for a in self.snap.ancestors(p, day)):
            raise Refused("cycle", f"{pred.full_name} cannot be moved under {p.full_name}, which lies under it "
                          "(a cycle)", [pred.key, p.key])
        if p.unit_id == pred.parent_unit_id:
            raise Refused("input", f"{pred.full_name} is already under {p.full_name}", [pred.key])
        p = self.parent(p.key, day, pred.kind, pred.level)
        self.check_name(pred.name, pred.full_name, p.unit_id, pred.kind, pred.level, day, pred.unit_id)
        succ = self.successor_of(d, pred, day, parent_unit_id=p.unit_id)
        self.link(d, pred, succ, "whole", "unchanged")


# --- writing ---------------------------------------------------------------------------------


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _utc_now(at: datetime | None) -> datetime:
    now = at or datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _acts(conn: Connection) -> dict[str, tuple[int, graph.Act]]:
    from sqlalchemy import select

    from merger.model import LegalAct

    return {r.number: (r.id, graph.Act(r.id, r.number, r.kind, r.issuer, r.title, r.date_signed,
                                       r.effective_date, r.source))
            for r in conn.execute(select(LegalAct))}


def _next_event(conn: Connection) -> int:
    from sqlalchemy import func, select

    from merger.model import Event

    return int(conn.execute(select(func.max(Event.id))).scalar() or 0)


def _recorded_keys(conn: Connection) -> dict[str, tuple[str, datetime, str]]:
    """idem_key -> (event key, recorded_at, by) for recorded events still in force."""
    from sqlalchemy import select

    from merger.model import Correction, Event

    revoked = {r[0] for r in conn.execute(select(Correction.event_id))}
    return {r.idem_key: (r.key, r.recorded_at, r.recorded_by)
            for r in conn.execute(select(Event.id, Event.key, Event.idem_key, Event.recorded_at,
                                         Event.recorded_by).where(Event.idem_key.is_not(None)))
            if r.id not in revoked}


def plan_all(conn: Connection, specs: list[Spec], now: datetime, by: str) -> list[Draft]:
    """Plan every event in order; raise ValidationFailed listing every problem (with lines)."""
    snap = graph.load(conn, "working")
    planner = Planner(snap, _acts(conn), now, by, _next_event(conn))
    recorded = _recorded_keys(conn)
    seen: dict[str, int | None] = {}
    drafts: list[Draft] = []
    problems: list[Violation] = []
    for i, spec in enumerate(specs, start=1):
        where = f"line {spec.line}: " if spec.line is not None else (f"event {i}: " if len(specs) > 1 else "")
        key = spec.idem_key()
        if key is not None and key in recorded:
            ek, when, who = recorded[key]
            problems.append(Violation("already-recorded", f"{where}act {spec.act}, clause {spec.clause or '-'}, "
                                      f"{spec.type} of {spec.subject()!r} is already recorded as {ek} "
                                      f"({when:%Y-%m-%d %H:%M} by {who})", [ek]))
            continue
        if key is not None and key in seen:
            other = seen[key]
            problems.append(Violation("already-recorded", f"{where}same act, clause and event as "
                                      f"{'line ' + str(other) if other else 'an earlier event'}"))
            continue
        try:
            draft = planner.plan(spec)
        except Refused as exc:
            v = exc.violation
            problems.append(Violation(v.rule, where + v.message, v.subjects))
            continue
        except MergerError as exc:
            problems.append(Violation("input", where + str(exc)))
            continue
        if key is not None:
            seen[key] = spec.line
        drafts.append(draft)
    if problems:
        raise ValidationFailed(problems)
    return drafts


def _insert_drafts(conn: Connection, drafts: list[Draft], acts: dict[str, tuple[int, graph.Act]],
                   origin: str) -> None:
    from sqlalchemy import insert, update

    from merger.model import Event, LegalAct, Link, Unit, Version

    act_ids: dict[int, int] = {}
    unit_ids: dict[int, int] = {}
    version_ids: dict[int, int] = {}
    for d in drafts:
        ev = d.event
        act_id = None
        if ev.act is not None:
            if ev.act.id < 0 and ev.act.id not in act_ids:
                act_ids[ev.act.id] = conn.execute(insert(LegalAct).values(
                    number=ev.act.number, kind=ev.act.kind, issuer=ev.act.issuer, title=ev.act.title,
                    date_signed=ev.act.date_signed, source=ev.act.source)).inserted_primary_key[0]
            act_id = act_ids.get(ev.act.id, ev.act.id)
        event_id = conn.execute(insert(Event).values(
            key=ev.key, type=ev.type, effective=ev.effective, act_id=act_id, clause=ev.clause, note=ev.note,
            source=ev.source, evidence=ev.evidence, recorded_at=ev.recorded_at, recorded_by=ev.recorded_by,
            origin=origin, idem_key=d.spec.idem_key(), spec=d.spec.to_json())).inserted_primary_key[0]
        for temp, (key, kind) in d.new_units.items():
            unit_ids[temp] = conn.execute(insert(Unit).values(key=key, kind=kind)).inserted_primary_key[0]
        for v in d.new_versions:
            version_ids[v.id] = conn.execute(insert(Version).values(
                key=v.key, unit_id=unit_ids.get(v.unit_id, v.unit_id), code=v.code, name=v.name,
                full_name=v.full_name, type=v.type, level=v.level,
                parent_unit_id=unit_ids.get(v.parent_unit_id, v.parent_unit_id) if v.parent_unit_id else None,
                valid_from=v.valid_from, valid_to=None, evidence=v.evidence, source=v.source,
                recorded_at=ev.recorded_at)).inserted_primary_key[0]
        for v in d.ended:
            conn.execute(update(Version).where(Version.id == version_ids.get(v.id, v.id))
                         .values(valid_to=v.valid_to))
        for lk in d.links:
            conn.execute(insert(Link).values(
                event_id=event_id,
                predecessor_id=version_ids.get(lk.pred.id, lk.pred.id) if lk.pred else None,
                successor_id=version_ids.get(lk.succ.id, lk.succ.id) if lk.succ else None,
                portion=lk.portion, relation=lk.relation, share=lk.share, share_basis=lk.share_basis,
                note=lk.note))


def write(reg: Register, specs: list[Spec], *, by: str | None, dry_run: bool, at: datetime | None,
          origin: str) -> Outcome:
    """Plan and write ``specs`` in one transaction; on any problem nothing is written."""
    from merger import store

    if not specs:
        raise BadInput("nothing to record")
    now, by = _utc_now(at), by or default_user()
    with reg.engine.connect() as conn:
        store.begin_write(conn)
        try:
            drafts = plan_all(conn, specs, now, by)
            changes = [c for d in drafts for c in d.changes]
            keys = [d.event.key for d in drafts]
            if dry_run:
                conn.rollback()
                return Outcome(keys, changes, False, warnings=advisories(specs))
            _insert_drafts(conn, drafts, _acts(conn), origin)
            store.bump_generation(conn)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    reg.invalidate()
    return Outcome(keys, changes, True, warnings=advisories(specs))


# --- corrections -------------------------------------------------------------------------------


def _event_row(conn: Connection, key: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from merger.model import Event

    row = conn.execute(select(Event).where(Event.key == key.strip())).first()
    if row is None:
        raise NotFound(key, what="event")
    return row


def _revoke(conn: Connection, key: str, action: str, reason: str, by: str, now: datetime) -> tuple[int, int]:
    """Write a correction superseding event ``key`` (inside the caller's transaction)."""
    from sqlalchemy import insert, select, update

    from merger.model import Correction, Unit, Version

    row = _event_row(conn, key)
    if not row.origin:
        raise ValidationFailed([Violation("bundled", f"{row.key} is bundled official data, not a recorded "
                                          "event: correct the sources and re-import them")])
    done = conn.execute(select(Correction).where(Correction.event_id == row.id)).first()
    if done is not None:
        raise ValidationFailed([Violation("already-corrected", f"{row.key} was already {'revoked' if done.action == 'revoke' else 'amended'} on "
                                          f"{done.recorded_at:%Y-%m-%d %H:%M} by {done.recorded_by}")])
    snap = graph.load(conn, "working")
    links = snap.event_links.get(row.id, [])
    created = {lk.succ.id: lk.succ for lk in links if lk.succ is not None
               and not any(o.event.id != row.id for o in snap.in_links.get(lk.succ.id, []))}
    for vid, v in created.items():
        later = [lk.event.key for lk in snap.out_links.get(vid, [])]
        if later:
            raise ValidationFailed([Violation("used-later", f"{v.full_name} [{v.key}], created by {row.key}, is "
                                              f"used by later event {later[0]}: correct that one first",
                                              [v.key, later[0]])])
    corr_id = conn.execute(insert(Correction).values(event_id=row.id, action=action, reason=reason,
                                                     recorded_at=now, recorded_by=by)).inserted_primary_key[0]
    for vid, v in created.items():  # free the keys for a corrected record; the original is kept
        conn.execute(update(Version).where(Version.id == vid).values(key=f"{v.key}~{corr_id}"))
        first = snap.by_unit[v.unit_id][0]
        if first.id == vid and v.unit_id > 0:
            conn.execute(update(Unit).where(Unit.id == v.unit_id).values(key=f"{v.unit_key}~{corr_id}"))
    for lk in links:  # the versions it ended are open again (unless another event ends them)
        if lk.pred is not None:
            other = [o.event.effective for o in snap.out_links.get(lk.pred.id, []) if o.event.id != row.id]
            conn.execute(update(Version).where(Version.id == lk.pred.id)
                         .values(valid_to=min(other) - ONE_DAY if other else None))
    return row.id, corr_id


def revoke(reg: Register, key: str, *, reason: str, by: str | None, at: datetime | None) -> Outcome:
    from merger import store

    if not reason.strip():
        raise BadInput("give the reason for the revocation (--reason)")
    now, by = _utc_now(at), by or default_user()
    with reg.engine.connect() as conn:
        store.begin_write(conn)
        try:
            _revoke(conn, key, "revoke", reason.strip(), by, now)
            store.bump_generation(conn)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    reg.invalidate()
    return Outcome([], [Change(key, "", key, f"revoked: {reason.strip()}")], True, [key])


AMENDABLE = {f.name for f in fields(Spec)} - {"type", "line"}


def amend(reg: Register, key: str, changes: dict[str, Any], *, reason: str, by: str | None,
          dry_run: bool, at: datetime | None) -> Outcome:
    """Revoke ``key`` and record the corrected event in its place, in one transaction."""
    from sqlalchemy import update

    from merger import store
    from merger.model import Correction

    unknown = set(changes) - AMENDABLE
    if unknown:
        raise BadInput(f"cannot amend {', '.join(sorted(unknown))}")
    if not changes:
        raise BadInput("nothing to amend: give the corrected values")
    if not reason.strip():
        raise BadInput("give the reason for the amendment (--reason)")
    now, by = _utc_now(at), by or default_user()
    with reg.engine.connect() as conn:
        store.begin_write(conn)
        try:
            row = _event_row(conn, key)
            if not row.spec:
                raise ValidationFailed([Violation("bundled", f"{row.key} has no recorded request to amend "
                                                  "(bundled data): correct the sources and re-import")])
            spec = Spec.from_json(row.spec)
            for name, value in changes.items():
                setattr(spec, name, value)
            _, corr_id = _revoke(conn, key, "amend", reason.strip(), by, now)
            drafts = plan_all(conn, [spec], now, by)
            if dry_run:
                conn.rollback()
                return Outcome([d.event.key for d in drafts], [c for d in drafts for c in d.changes], False, [key])
            _insert_drafts(conn, drafts, _acts(conn), "amend")
            new_id = _next_event(conn)
            conn.execute(update(Correction).where(Correction.id == corr_id).values(replacement_id=new_id))
            store.bump_generation(conn)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    reg.invalidate()
    return Outcome([d.event.key for d in drafts], [c for d in drafts for c in d.changes], True, [key])


# --- the log -----------------------------------------------------------------------------------


@dataclass
class LogEntry:
    key: str
    type: str
    effective: date
    act: str | None
    clause: str | None
    recorded_at: datetime
    recorded_by: str
    origin: str
    status: str  # "in force", "revoked", "amended by E..."
    summary: str
    note: str
    reason: str = ""
    corrected_at: datetime | None = None
    corrected_by: str | None = None


def log(reg: Register, *, since: datetime | date | None, by: str | None, act: str | None,
        unit: str | None, include_bundled: bool) -> list[LogEntry]:
    """Recorded events, oldest first, each with its status; filtered by time, person, act, unit."""
    from sqlalchemy import select

    from merger.model import Correction, Event, LegalAct, Link, Version
    from merger.register import recorded_limit

    with reg.engine.connect() as conn:
        acts = {r.id: r.number for r in conn.execute(select(LegalAct.id, LegalAct.number))}
        ids = {r.id: r.key for r in conn.execute(select(Event.id, Event.key))}
        corrections = {r.event_id: r for r in conn.execute(select(Correction))}
        query = select(Event).order_by(Event.recorded_at, Event.id)
        if not include_bundled:
            query = query.where(Event.origin != "")
        rows = list(conn.execute(query))
        wanted = {r.id for r in rows}
        versions = {r.id: r for r in conn.execute(select(Version.id, Version.key, Version.unit_id,
                                                         Version.full_name))}
        links: dict[int, list[Any]] = {}
        for r in conn.execute(select(Link).order_by(Link.id)):
            if r.event_id in wanted:
                links.setdefault(r.event_id, []).append(r)
    unit_id = reg.resolve(unit).unit_id if unit else None
    start = None
    if since is not None:
        start = graph._naive_utc(since if isinstance(since, datetime) else
                                 recorded_limit(since) - timedelta(days=1) + timedelta(microseconds=1))
    out: list[LogEntry] = []
    for r in rows:
        if start is not None and graph._naive_utc(r.recorded_at) < start:
            continue
        if by and r.recorded_by != by:
            continue
        number = acts.get(r.act_id) if r.act_id else None
        if act and (number is None or fold(number) != fold(act)):
            continue
        lks = links.get(r.id, [])
        if unit_id is not None and not any(
                (lk.predecessor_id and versions[lk.predecessor_id].unit_id == unit_id)
                or (lk.successor_id and versions[lk.successor_id].unit_id == unit_id) for lk in lks):
            continue
        preds = list(dict.fromkeys(versions[lk.predecessor_id].full_name for lk in lks if lk.predecessor_id))
        succs = list(dict.fromkeys(versions[lk.successor_id].full_name for lk in lks if lk.successor_id))
        summary = f"{', '.join(preds) or '—'} → {', '.join(succs) or 'dissolved'}"
        c = corrections.get(r.id)
        status = "in force"
        if c is not None:
            status = "revoked" if c.action == "revoke" else f"amended by {ids.get(c.replacement_id, '?')}"
        out.append(LogEntry(r.key, r.type, r.effective, number, r.clause, r.recorded_at, r.recorded_by,
                            r.origin or "bundled", status, summary, r.note,
                            c.reason if c else "", c.recorded_at if c else None, c.recorded_by if c else None))
    return out
