"""The planner: one event at a time against a private working snapshot that it updates.

It holds what every event type needs — finding units as staff name them, naming and coding
new units, ending and continuing versions, linking them — and hands each event to its own
handler (``merger.recording.handlers``, dispatched by type). Each later event of an annex sees
the earlier ones.

Before the register's recorded start: the bundled versions begin at "…" (unknown). An event
dated inside such a version whose end is already recorded (the March 2025 restructuring of a
department the July 2025 reform ends) *splits* it: the earlier state becomes a version of its
own ("code@..DAY"), the unit keeps its identity, code and key, and every later event stays as
it was (see ``continue_``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from merger import citation, graph
from merger.errors import WHAT, Ambiguous, MergerError, NotFound
from merger.graph import E, L, Snapshot, V
from merger.i18n import _
from merger.names import (
    clean_name,
    fold,
    is_type_word,
    parse_query,
    spelling,
    split_type,
    strip_marks,
    strip_type,
    tidy,
)
from merger.recording.spec import (
    AGENCY_TYPES,
    BASES,
    EVENT_TYPES,
    PARENT_LEVELS,
    USES,
    Change,
    Refused,
    Spec,
)

ONE_DAY = timedelta(days=1)
EARLIEST_ACT = date(1945, 9, 2)  # no act of the state predates it


@dataclass
class Draft:
    spec: Spec
    event: E
    new_units: dict[int, tuple[str, str]] = field(default_factory=dict)  # temp unit id -> (key, kind)
    new_versions: list[V] = field(default_factory=list)
    ended: list[V] = field(default_factory=list)
    links: list[L] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def _display_type(type_: str) -> str:
    if type_ == "thành phố trực thuộc trung ương":
        return "Thành phố"
    return type_[:1].upper() + type_[1:]


def full_name_of(kind: str, type_: str, name: str) -> str:
    return name if kind == "agency" else f"{_display_type(type_)} {name}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def act_kind(number: str) -> str:
    """The kind of act its number says ("12/NQ-HĐND" is a resolution); "" when it says none."""
    tokens = fold(number).replace("/", " ").replace("-", " ").split()
    kinds = {"nq": "resolution", "qd": "decision", "nd": "decree", "tt": "circular", "ct": "directive"}
    return next((kinds[t] for t in tokens if t in kinds), "")


Handler = Callable[["Planner", Draft, Spec, date], None]


class Planner:
    """Plans events one after another against a private working snapshot it updates."""

    def __init__(self, snap: Snapshot, acts: dict[str, tuple[int, graph.Act]], now: datetime, by: str,
                 next_event: int, handlers: dict[str, Handler] | None = None, *,
                 lookups: Any = None, clauses: Callable[[int], list[str]] | None = None):
        """``lookups``: a neighbourhood.Lookups recording the parents whose children are asked
        for; ``clauses``: the clauses cited from an act by the events in force, read from the
        store (a neighbourhood snapshot does not hold every event of an act)."""
        self.snap = snap
        self.lookups = lookups
        self.clauses = clauses
        self.acts = acts
        self._act_index: tuple[int, dict[str, list[int]], dict[str, list[int]], list[graph.Act]] | None = None
        self.now = now
        self.by = by
        self.next_event = next_event
        if handlers is None:
            from merger.recording.handlers import HANDLERS

            handlers = HANDLERS
        self.handlers = handlers
        self._temp = 0
        self._children: dict[int | None, list[V]] | None = None
        self._articles: dict[int, set[str]] | None = None

    # names ------------------------------------------------------------------------------

    def find(self, query: str, day: date, *, what: str = "unit", kind: str | None = None,
             field: str | None = None, near: int | None = None) -> V:
        """The version of the unit ``query`` names that is in force on ``day``, or a refusal
        saying why not (ended before, starts after, unknown, ambiguous)."""
        from merger import search

        if not query.strip():
            raise Refused("input", _("the {what} is empty").format(what=what), field=field)
        try:
            return search.resolve(self.snap, query, as_of=day, kind=kind).version
        except NotFound as first:
            try:
                match = search.resolve(self.snap, query, kind=kind)
            except (NotFound, Ambiguous):
                raise Refused("not-found", str(first), [query], field=field) from None
            versions = match.versions
            if versions[0].valid_from is not None and versions[0].valid_from > day:
                raise Refused("before-start", _("the effective date {day} is before the start of {label} (in force from {valid_from})").format(day=day, label=self.label(versions[0]), valid_from=versions[0].valid_from),
                              [versions[0].key], field=field) from None
            last = versions[-1]
            raise Refused("not-in-force", _("{what} {label} is not in force on {day}").format(
                what=_(WHAT.get(what, what)), label=self.label(last), day=day)
                + (_(" (it ended on {day})").format(day=last.valid_to) if last.valid_to else ""), [last.key],
                field=field) from None
        except Ambiguous as exc:
            direct = self._direct_child(query, day, kind) or self._sibling_named(query, day, kind, near)
            if direct is not None:
                return direct
            raise Refused("ambiguous", str(exc).replace(", or use --as-of", ""), [query], field=field) from None

    def _direct_child(self, query: str, day: date, kind: str | None) -> V | None:
        """"Sở Y tế, Hải Phòng": the one unit of that name whose own parent is so named.

        The search also matches qualifiers through lineage (an old Hải Dương unit lies in
        today's Hải Phòng); when recording, the direct parent on the day is what staff mean.
        """
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

    def _sibling_named(self, query: str, day: date, kind: str | None, near: int | None) -> V | None:
        """A shared name means the one under the same parent as the unit acted on (``near``)."""
        if near is None:
            return None
        parsed = parse_query(query)
        if parsed.qualifiers:
            return None
        found = {v.unit_id: v for r in parsed.target for v in self.snap.by_fold.get(r.name, ())
                 if v.valid_on(day) and v.parent_unit_id == near and (kind is None or v.kind == kind)
                 and (r.types is None or v.type in r.types)}
        return next(iter(found.values())) if len(found) == 1 else None

    def label(self, v: V) -> str:
        parent = self.snap.parent_of(v)
        return f"{v.full_name}" + (f" ({parent.full_name})" if parent else "") + f" [{v.key}]"

    @staticmethod
    def prestart(v: V, day: date) -> bool:
        """``v`` began before the register's record (start "…") and its end is already recorded:
        an event on ``day`` inside it splits it rather than ending it."""
        return v.valid_from is None and v.valid_to is not None and day <= v.valid_to

    def predecessor(self, query: str, day: date, *, continues: bool = False, field: str = "units",
                    near: int | None = None) -> V:
        """The unit an event acts on. ``continues``: the event keeps the unit (rename, move, ...),
        so a version whose later fate is recorded may be split before it (see ``continue_``).
        ``near``: a shared name means the unit under this parent (the other unit's)."""
        v = self.find(query, day, what="predecessor", field=field, near=near)
        if v.valid_from is not None and v.valid_from >= day:
            raise Refused("before-start", _("the effective date {day} is not after the start of {label} (in force from {valid_from})").format(day=day, label=self.label(v), valid_from=v.valid_from), [v.key], field=field)
        if v.valid_to is not None and not (continues and self.prestart(v, day)):
            # Its fate is already recorded (a later event ends it): a second fate would leave two
            # overlapping successors. Correct the later event (revoke/amend) instead.
            fate = next((link.event.key for link in self.snap.successors(v)), None)
            raise Refused("already-ended", f"{self.label(v)} already ends on {v.valid_to}"
                          + (f" by {fate}" if fate else "") + "; record changes after that date, or "
                          "revoke or amend that event first", [v.key], field=field)
        return v

    def children(self, unit_id: int | None) -> list[V]:
        """Versions placed under a unit (any time); an index built once, kept up to date."""
        if self.lookups is not None:
            self.lookups.parents.add(unit_id)
        return self._children_index().get(unit_id, [])

    def _children_index(self) -> dict[int | None, list[V]]:
        if self._children is None:
            self._children = defaultdict(list)
            for v in self.snap.versions.values():
                self._children[v.parent_unit_id].append(v)
        return self._children

    def existing(self, text: str, parent_unit_id: int | None, kind: str, level: str, day: date,
                 field: str = "into") -> V | None:
        """The existing unit a successor's text names, or None for a new unit's name.

        A key, a code, a name qualified by its parent ("Sở Nội vụ, Thành phố Hải Phòng") or a
        sibling's name resolve to that unit; a qualified name that names no unit is refused
        (it would be stored as a name). Never a new unit by accident.
        """
        text = tidy(text)
        if not text:
            raise Refused("name", _("a successor's name is empty"), field=field)
        if text in self.snap.by_key or (text in self.snap.by_code and not text.isalpha()):
            v = self.find(text, day, kind=kind, field=field)
            return self._same_tier(v, kind, level, field)
        found: dict[int, V] = {}
        want = spelling(text).casefold()
        for v in self.children(parent_unit_id):  # the whole text as a sibling's name
            if (v.valid_on(day) and v.kind == kind and v.level == level
                    and want in (spelling(v.full_name).casefold(), spelling(v.name).casefold())):
                found[v.unit_id] = v
        if len(found) == 1:
            return next(iter(found.values()))
        if self.qualifier(text, kind) is not None:
            try:
                v = self.find(text, day, kind=kind, field=field)
            except Refused as exc:
                if exc.violation.rule in ("ambiguous", "not-in-force", "before-start"):
                    raise
                raise Refused("name", _("{text!r} names no existing unit, and a new unit's name cannot carry a parent qualifier "
                                        "(the part after the comma): give the bare name, and the parent with --parent").format(text=text), [text], field=field) from None
            return self._same_tier(v, kind, level, field)
        found = {}
        # A name written with its marks means that spelling: "Cẩm Giang" is not "Cẩm Giàng".
        marked = strip_marks(text) != text
        for reading in split_type(text):
            words = text.split()
            bare = " ".join(words[len(words) - len(reading.name.split()):])
            for v in self.snap.by_fold.get(reading.name, ()):
                if (v.valid_on(day) and v.parent_unit_id == parent_unit_id and v.kind == kind
                        and v.level == level and (reading.types is None or v.type in reading.types)
                        and not (marked and spelling(v.name) != spelling(bare))):
                    found[v.unit_id] = v
            if found:
                break
        if len(found) > 1:
            raise Refused("ambiguous", _("{text!r} names {len} units under the same parent").format(text=text, len=len(found)), [text],
                          field=field)
        return next(iter(found.values()), None)

    def _same_tier(self, v: V, kind: str, level: str, field: str) -> V:
        if v.kind != kind or v.level != level:
            raise Refused("input", _("{label} is a {level}; the units here are of level {level2}").format(label=self.label(v), level=v.level, level2=level),
                          [v.key], field=field)
        return v

    def qualifier(self, text: str, kind: str) -> str | None:
        """The parent qualifier in a name ("…, Xã An"), or None. An agency's own name may hold
        a comma ("Sở Văn hóa, Thể thao và Du lịch"): there only a part that names a unit counts."""
        if "/" in text or ";" in text:
            return text
        if "," not in text:
            return None
        if kind != "agency":
            return text
        for part in text.split(",")[1:]:
            if fold(part) and any(r.name in self.snap.by_fold for r in split_type(part)):
                return part.strip()
        return None

    def parent(self, query: str, day: date, kind: str, level: str) -> V:
        p = self.find(query, day, what="parent", field="parent")
        allowed = PARENT_LEVELS.get(level, ())
        if p.level not in allowed or (kind == "admin" and p.kind != "admin"):
            want = " or ".join(allowed) or "no parent"
            raise Refused("parent-level", _("a {level} cannot be placed under {full_name} ({level2}): its parent must be a {want}").format(level=level, full_name=p.full_name, level2=p.level, want=want), [p.key], field="parent")
        return p

    def check_parent(self, parent_unit_id: int | None, day: date, kind: str, level: str) -> None:
        if parent_unit_id is None:
            if level != "province":
                raise Refused("parent-level", _("a {level} needs a parent (--parent)").format(level=level), field="parent")
            return
        p = self.snap.unit_version(parent_unit_id, day)
        if p is None:
            raise Refused("parent", _("the parent unit is not in force on {day}").format(day=day), field="parent")
        self.parent(p.key, day, kind, level)

    def name_type(self, text: str, kind: str, default_type: str | None, field: str = "into") -> tuple[str, str, str]:
        """(type, bare name, full name) of a new name written as "Phường Hòa Bình" or "Hòa Bình".

        The name is stored exactly as given (NFC, trimmed, single spaces): only a leading type
        word is cut off, never a word of the name ("Thôn Hạ - Thượng" -> "Hạ - Thượng").
        """
        try:
            text = clean_name(text)
        except ValueError as exc:
            raise Refused("name", str(exc), field=field) from None
        if self.qualifier(text, kind) is not None:
            raise Refused("name", _("the name {text!r} carries a parent qualifier (the part after the comma or slash): give "
                                    "the bare name, and the parent with --parent").format(text=text), [text], field=field)
        if kind == "agency":
            type_ = default_type or ""
            if type_ not in AGENCY_TYPES:
                raise Refused("type", _("unknown agency type {type!r}: one of {join}").format(type=type_, join=', '.join(AGENCY_TYPES)),
                              field="type")
            return type_, text, text
        if is_type_word(text):
            raise Refused("name", _("the name {text!r} is only a type word: the name itself is empty").format(text=text), field=field)
        types, rest = strip_type(text)
        if types is not None and (default_type is None or default_type in types):
            type_, name = default_type or types[0], rest
        else:
            if default_type is None:
                raise Refused("type", _('cannot tell the type of {text!r}: write it in the name ("Phường ...") or give --type').format(text=text), field="type")
            type_, name = default_type, text
        try:
            name = clean_name(name)
        except ValueError as exc:
            raise Refused("name", str(exc), field=field) from None
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
                raise Refused("duplicate-name", _("the name {full_name!r} duplicates {full_name2} [{key}]{where} on {day}; choose another "
                                                  "name").format(full_name=full_name, full_name2=v.full_name, key=v.key, where=where, day=day), [v.key])

    def code_for(self, kind: str, level: str, name: str, parent_unit_id: int | None, given: str | None,
                 inherit: str | None) -> str:
        """An explicit code, a predecessor's code, or (villages, agencies) one made from the name."""
        if given:
            code = given.strip()
            if not code or re.search(r"[\s@~,;/]", code):
                raise Refused("code", _("code {given!r} may not be empty or hold spaces, '@', '~', ',', ';' or '/'").format(given=given),
                              field="code")
            return code
        if inherit:
            return inherit
        if kind == "agency" or level == "village":
            parent = self.snap.by_unit.get(parent_unit_id or 0)
            prefix = parent[-1].code if parent else "x"
            return f"{prefix}.{slug(name)}"
        raise Refused("code", _("give the new unit {name!r} a code (--code)").format(name=name), field="code")

    def given_code(self, spec: Spec, name: str) -> str | None:
        """The --code meant for ``name``: NAME=CODE, or a bare CODE when there is one new unit."""
        for key, value in spec.codes.items():
            if key and (fold(key) == fold(name) or fold(split_type(key)[-1].name) == fold(name)):
                return value
        return spec.codes.get("")

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
                    evidence: str | None = None, until: date | None = None) -> V:
        """A version from ``day`` (new unit when ``unit_id`` is None); ``until``: the earlier state
        of a split pre-start version, "…" to ``until``."""
        key = f"{code}@..{until.isoformat()}" if until else f"{code}@{day.isoformat()}"
        if key in self.snap.by_key:
            raise Refused("duplicate-key", _("a version {key} already exists").format(key=key), [key])
        for other in self.snap.by_code.get(code, ()):
            # One code, one unit at a time: from ``day`` on, no other unit may hold it.
            if (until is None and other.unit_id != unit_id and other.kind == kind
                    and (other.valid_to is None or other.valid_to >= day)):
                raise Refused("duplicate-code", _("code {code} is held by {full_name} [{key}] from {value}; give another code (--code)").format(code=code, full_name=other.full_name, key=other.key, value=other.valid_from or '…'), [other.key],
                              field="code")
        if unit_id is None:
            unit_id = self._temp_id()
            draft.new_units[unit_id] = (key, kind)
            unit_key = key
        else:
            unit_key = self.snap.by_unit[unit_id][0].unit_key
        v = V(self._temp_id(), key, unit_id, unit_key, kind, code, name, full_name, type_, level,
              parent_unit_id, None if until else day, until, evidence,
              draft.spec.source or f"recorded by {self.by}", fold(name))
        self.snap.versions[v.id] = v
        self.snap.by_key[key] = v
        versions = self.snap.by_unit[unit_id]
        versions.append(v)
        if len(versions) > 1 and (versions[-2].valid_from or date.min) > (v.valid_from or date.min):
            versions.sort(key=lambda x: x.valid_from or date.min)
        self.snap.by_fold[fold(name)].append(v)
        self.snap.by_code[code].append(v)
        self._children_index()[parent_unit_id].append(v)  # kept up to date (not a lookup)
        draft.new_versions.append(v)
        parent = self.snap.unit_version(parent_unit_id, day) if parent_unit_id else None
        what = "new unit: " if draft.new_units.get(unit_id) else ""
        period = f"… – {until}" if until else f"from {day}"
        draft.changes.append(Change(draft.event.key, full_name, "—",
                                    f"{what}{full_name} ({type_}{', ' + parent.full_name if parent else ''}) "
                                    f"[{key}] {period}"))
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

    def continue_(self, draft: Draft, v: V, day: date, changes: dict[str, Any] | None = None,
                  before: dict[str, Any] | None = None) -> tuple[V, V]:
        """(version that ends, version that follows) for a unit that goes on after ``day``.

        Normally ``v`` ends the day before and a new version of its unit starts, with
        ``changes``. Inside a pre-start version (see ``prestart``) the register already holds
        the state after ``day``: a new version "…" to ``day - 1`` takes the earlier state (``v``
        with ``before``), and ``v`` itself — same unit, code and key — now starts on ``day``.
        """
        changes = changes or {}
        attrs = dict(kind=v.kind, code=v.code, name=v.name, full_name=v.full_name, type_=v.type,
                     level=v.level, parent_unit_id=v.parent_unit_id)
        if not self.prestart(v, day):
            if before:
                raise Refused("input", _("{label} is in force on {day} under this name already").format(label=self.label(v), day=day),
                              [v.key])
            attrs.update(changes)
            self.end(draft, v, day)
            return v, self.new_version(draft, unit_id=v.unit_id, day=day, **attrs)
        differs = [k for k, value in changes.items() if attrs.get(k) != value]
        if differs:
            raise Refused("prestart", _("the register knows {label} as it stood until {valid_to} (its start is not recorded); a "
                                        "change on {day} would contradict that. To record its earlier state, name the unit as it "
                                        "was called before and give --to the name the register holds").format(label=self.label(v), valid_to=v.valid_to, day=day), [v.key])
        attrs.update(before or {})
        earlier = self.new_version(draft, unit_id=v.unit_id, day=day, until=day - ONE_DAY, **attrs)
        earlier.evidence = draft.spec.evidence
        v.valid_from = day
        self.snap.by_unit[v.unit_id].sort(key=lambda x: x.valid_from or date.min)
        draft.changes.append(Change(draft.event.key, v.full_name, f"{v.full_name} [{v.key}] … – {v.valid_to}",
                                    f"{v.full_name} [{v.key}] {day} – {v.valid_to} (start now recorded)"))
        return earlier, v

    def orphans(self, v: V, day: date) -> None:
        """A unit that ends may not leave units under it in force after its end."""
        left = [c for c in self.children(v.unit_id) if c.valid_on(day)]
        if left:
            names = ", ".join(sorted(c.full_name for c in left)[:3])
            raise Refused("orphans", _("{full_name} [{key}] still has {len} unit(s) under it on {day} ({names}{value}): move, "
                                       "merge or dissolve them first (earlier in the same annex)").format(full_name=v.full_name, key=v.key, len=len(left), day=day, names=names, value=', …' if len(left) > 3 else ''), [v.key])

    # events ---------------------------------------------------------------------------------

    def plan(self, spec: Spec) -> Draft:
        """One event: checked, planned by its type's handler, applied to the working snapshot."""
        if spec.type not in EVENT_TYPES:
            raise Refused("event-type", _("unknown event {type!r}: one of {join}").format(type=spec.type, join=', '.join(EVENT_TYPES)),
                          field="event")
        self._applies(spec)
        act = self._act(spec) if spec.act else None
        clause = self._clause(spec, act)
        self.next_event += 1
        ev = E(-self.next_event, f"E{spec.effective:%Y%m%d}-R{self.next_event}", spec.type, spec.effective,
               act, clause, spec.note, spec.source or "recorded", spec.evidence, self.now, self.by)
        draft = Draft(spec, ev)
        self._shares_ok(spec)
        self.handlers[spec.type](self, draft, spec, spec.effective)
        self._check_shares(draft)
        return draft

    def _applies(self, spec: Spec) -> None:
        """Options an event type does not use are refused, not silently dropped."""
        from merger.recording.spec import OPTION_NAMES

        given = {name for name in ("units", "into", "to", "unit_type", "parent", "codes", "shares", "basis")
                 if getattr(spec, name)}
        extra = sorted(given - USES[spec.type])
        if extra:
            raise Refused("input", _("{join} does not apply to {type}").format(join=', '.join(OPTION_NAMES[n] for n in extra), type=spec.type), field=extra[0])
        if spec.evidence and spec.evidence.strip().casefold() not in ("stated", "inferred"):
            raise Refused("input", _("evidence {evidence!r} is not 'stated' or 'inferred' (say how it was inferred in --note)").format(evidence=spec.evidence), field="evidence")
        for name in ("note", "issuer", "source", "evidence"):
            value = getattr(spec, name)
            if value and re.search(r"[\x00-\x08\x0b-\x1f\x7f]", value):
                raise Refused("input", _("the {name} contains a control character").format(name=name), field=name)

    def _act(self, spec: Spec) -> graph.Act:
        number = tidy(spec.act or "")
        found = self._acts_matching(number)
        if len(found) > 1:
            raise Refused("act", _("act {number} is ambiguous: {join}; give its full number").format(number=number, join=', '.join(sorted(a.number for a in found)[:6])), field="act")
        for day, what in ((spec.act_date, "act date"), (spec.act_effective, "act effective date")):
            if day is not None and not EARLIEST_ACT <= day <= spec.effective + timedelta(days=366 * 5):
                raise Refused("act", _("{what} {day} is implausible").format(what=what, day=day), field="act_date")
        if found:
            a = found[0]
            for given, known, what in ((spec.act_date, a.date_signed, "signed on"),
                                       (spec.act_effective, a.effective_date, "in force from")):
                if given and known and given != known:
                    raise Refused("act", _("act {number} is recorded as {what} {known}, not {given}").format(number=a.number, what=what, known=known, given=given), [a.number],
                                  field="act_date")
            if spec.issuer and a.issuer and fold(spec.issuer) != fold(a.issuer):
                raise Refused("act", _("act {number} is recorded as issued by {issuer}, not {issuer2}").format(number=a.number, issuer=a.issuer, issuer2=spec.issuer),
                              [a.number], field="issuer")
            return a
        if "/" not in number:
            raise Refused("act", _("no act numbered {number!r} in the register; give its full number (e.g. 12/NQ-HĐND)").format(number=number), field="act")
        if len(number) > 100 or re.search(r"[\x00-\x1f\x7f]", number):
            raise Refused("act", _("the act number is not a legal act's number"), field="act")
        a = graph.Act(self._temp_id(), number, act_kind(number), tidy(spec.issuer or ""), "", spec.act_date,
                      spec.act_effective, "recorded")
        self.acts[number] = (a.id, a)
        return a

    def _acts_matching(self, number: str) -> list[graph.Act]:
        """The acts ``citation.matches_act`` finds for ``number``, in the register's order, from
        an index of the acts by folded number and by short number (an annex of a hundred events
        asked every act of the register once per event: ~1,000,000 folds), made again when an
        act has been added."""
        if self._act_index is None or self._act_index[0] != len(self.acts):
            by_fold: dict[str, list[int]] = {}
            by_short: dict[str, list[int]] = {}
            for i, known in enumerate(self.acts):
                by_fold.setdefault(fold(known), []).append(i)
                by_short.setdefault(known.split("/", 1)[0].strip(), []).append(i)
            self._act_index = (len(self.acts), by_fold, by_short, [a for _, a in self.acts.values()])
        _, by_fold, by_short, acts = self._act_index
        q = fold(number)
        if not q:
            return []
        rows = set(by_fold.get(q, ()))
        if q.isdigit():
            rows.update(by_short.get(number.strip(), ()))
        return [acts[i] for i in sorted(rows)]

    def _clause(self, spec: Spec, act: graph.Act | None) -> str | None:
        """The citation in its one stored spelling; a bare khoản gets the article the act uses
        (when the register shows it uses one); nothing is guessed."""
        try:
            found = citation.parse(spec.clause)
        except ValueError as exc:
            raise Refused("clause", str(exc), field="clause") from None
        if found is None:
            return None
        if found.article is None and act is not None and act.id > 0:
            used = self._articles_of(act.id)
            if len(used) == 1:
                found = citation.Citation(found.point, found.clause, next(iter(used)))
        return found.render()

    def _articles_of(self, act_id: int) -> set[str]:
        if self.clauses is not None:
            return _articles(self.clauses(act_id))
        if self._articles is None:
            by_act: dict[int, list[str]] = defaultdict(list)
            for ev in self.snap.events.values():
                if ev.act is not None and ev.clause:
                    by_act[ev.act.id].append(ev.clause)
            self._articles = {k: _articles(v) for k, v in by_act.items()}
        return self._articles.get(act_id, set())

    def _shares_ok(self, spec: Spec) -> None:
        for name, share in spec.shares.items():
            if not 0 < share <= 1:
                raise Refused("shares", _("share {share:g}{value} is outside (0, 1]").format(share=share, value=' of ' + name if name else ''),
                              field="shares")
        if spec.shares and spec.basis not in BASES:
            raise Refused("shares", _("give --basis ({join}) with --share").format(join=' or '.join(BASES)), field="basis")
        if spec.basis and not spec.shares:
            raise Refused("shares", _("--basis is given without any --share"), field="basis")
        if spec.type == "transfer" and len(spec.shares) > 1:
            raise Refused("shares", _("a transfer takes one share (of the part transferred)"), field="shares")

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
                raise Refused("shares", _("the shares of {full_name} sum to {total:g}, more than 1").format(full_name=pred.full_name, total=total), [pred.key],
                              field="shares")
            continues = any(lk.succ is not None and lk.succ.unit_id == pred.unit_id for lk in links)
            if not continues and len(given) == len(links) and abs(total - 1) > 1e-9:
                raise Refused("shares", _("{full_name} ends, so its shares must sum to exactly 1 (they sum to {total:g})").format(full_name=pred.full_name, total=total), [pred.key], field="shares")

    def share(self, spec: Spec, name: str, used: set[str]) -> float | None:
        """The share given for successor ``name`` (marking it used: every share must find one)."""
        for key, value in spec.shares.items():
            if key == "" or fold(key) == fold(name) or fold(split_type(key)[-1].name) == fold(split_type(name)[-1].name):
                used.add(key)
                return value
        return None

    def all_shares_used(self, spec: Spec, used: set[str]) -> None:
        unused = [k for k in spec.shares if k not in used]
        if unused:
            raise Refused("shares", _("share for {value!r} names no successor of this {type} (successors: {value2})").format(value=unused[0], type=spec.type, value2='; '.join(spec.into) or spec.to or '-'), field="shares")

    def preds(self, spec: Spec, day: date, *, one: bool = False, continues: bool = False) -> list[V]:
        if not spec.units:
            raise Refused("input", _("{type} needs the unit(s) it acts on").format(type=spec.type), field="units")
        if one and len(spec.units) != 1:
            raise Refused("input", _("{type} acts on exactly one unit ({len} given)").format(type=spec.type, len=len(spec.units)), field="units")
        preds: list[V] = []
        for q in spec.units:
            v = self.predecessor(q, day, continues=continues)
            if any(p.unit_id == v.unit_id for p in preds):
                raise Refused("duplicate", _("{full_name} is listed twice").format(full_name=v.full_name), [v.key], field="units")
            preds.append(v)
        kinds, levels = {p.kind for p in preds}, {p.level for p in preds}
        if len(kinds) > 1 or len(levels) > 1:
            raise Refused("input", _("the units of one event must be of one kind and level ({join})").format(join=', '.join(sorted(levels))), field="units")
        return preds

    def target_parent(self, spec: Spec, preds: list[V], day: date, kind: str, level: str) -> int | None:
        if spec.parent:
            return self.parent(spec.parent, day, kind, level).unit_id
        parents = {p.parent_unit_id for p in preds}
        if len(parents) != 1:
            raise Refused("parent", _("the units have different parents: give --parent"), field="parent")
        parent = parents.pop()
        self.check_parent(parent, day, kind, level)
        return parent


def _articles(clauses: list[str]) -> set[str]:
    """The articles (Điều) an act's recorded clauses cite."""
    found: set[str] = set()
    for clause in clauses:
        if not clause:
            continue
        if clause.strip().isdigit():
            found.add(citation.BUNDLED_ARTICLE)
            continue
        try:
            c = citation.parse(clause)
        except ValueError:
            continue
        if c is not None and c.article:
            found.add(c.article)
    return found


def refusal(exc: MergerError) -> Refused:
    """Any domain error met while planning, as a Refused."""
    if isinstance(exc, Refused):
        return exc
    return Refused("input", str(exc))
