"""What staff ask for (``Spec``), what they get back (``Outcome``), and the rules' vocabulary.

A ``Spec`` is one decision as staff state it (merge these into that, rename this to that);
names in it are resolved against the register only when it is planned.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from merger.counts import TYPE_ORDER
from merger.errors import BadInput, MergerError, Violation
from merger.i18n import _
from merger.names import fold, tidy

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from merger import search

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

# Which request fields each event type uses (the rest would be silently ignored, so they are refused).
METADATA = frozenset({"act", "act_date", "act_effective", "issuer", "clause", "note", "source", "evidence"})
USES = {
    "merge": {"units", "into", "unit_type", "parent", "codes"},
    "split": {"units", "into", "unit_type", "parent", "codes", "shares", "basis"},
    "transfer": {"units", "to", "shares", "basis"},
    "rename": {"units", "to", "codes"},
    "reclassify": {"units", "to"},
    "dissolve": {"units", "to"},
    "establish": {"into", "unit_type", "parent", "codes"},
    "move": {"units", "parent", "to"},
}
OPTION_NAMES = {"units": "the units", "into": "--into", "to": "--to", "unit_type": "--type", "parent": "--parent",
                "codes": "--code", "shares": "--share", "basis": "--basis", "effective": "--effective"}


class Target(Protocol):
    """What recording needs of a register (``merger.register.Register`` is one): no import of it."""

    as_recorded: datetime | None
    url: str  # a write connects to it directly (merger.recording.db), without SQLAlchemy
    read_only: bool

    @property
    def engine(self) -> Engine: ...  # the log's reads (merger.recording.history)

    def invalidate(self) -> None: ...

    def columns_at(self, query: Any) -> Any: ...  # the rows by column as a write sees them, or None (cache.Columns)

    def resolve(self, query: str, *, as_of: date | None = None) -> search.Match: ...


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
    act_effective: date | None = None
    line: int | None = None  # the annex line it came from

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in _FIELDS if f.name != "line"}  # asdict's deep copy is slow
        return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> Spec:
        data = json.loads(text)
        for name in ("effective", "act_date", "act_effective"):
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


_FIELDS = fields(Spec)
_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?|[.,]\d+)\s*(%?)\s*$")


def parse_share(raw: str) -> tuple[str, float]:
    """"Xã An=0.6" -> ("Xã An", 0.6); a bare "0.6" (transfer) -> ("", 0.6); "60%" is 0.6.

    Exactly one '=', a name before it (when there is one), one number after it: anything else
    (two '=', several shares in one value, a missing name) is refused with the expected form.
    """
    form = "give each share as NAME=NUMBER (e.g. --share \"Xã An=0.6\"; a transfer takes a bare 0.2), " \
           "one share per --share (an annex separates them with ';')"
    text = raw.strip()
    if text.count("=") > 1 or ";" in text:
        raise BadInput(_("share {raw!r} is malformed: {form}").format(raw=raw, form=form))
    name, sep, number = text.rpartition("=")
    if sep and not name.strip():
        raise BadInput(_("share {raw!r} names no unit before '=': {form}").format(raw=raw, form=form))
    m = _NUMBER.match(number)
    if not m:
        raise BadInput(_("share {raw!r}: {strip!r} is not a number: {form}").format(raw=raw, strip=number.strip(), form=form))
    value = float(m.group(1).replace(",", ".")) / (100 if m.group(2) else 1)
    return tidy(name), value


def parse_shares(values: list[str]) -> dict[str, float]:
    """Several ``--share`` values; the same unit twice is refused."""
    out: dict[str, float] = {}
    for raw in values:
        name, value = parse_share(raw)
        if name in out or (not name and out) or ("" in out):
            raise BadInput(_("share {raw!r}: {value}").format(raw=raw, value='a share is given twice' if name in out else 'a bare share is only for a transfer (one value)'))
        out[name] = value
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


class Refused(MergerError):
    """One rule broken by one event (collected into ValidationFailed); ``field`` names the input."""

    def __init__(self, rule: str, message: str, subjects: list[str] | None = None, field: str | None = None):
        super().__init__(message)
        self.field = field
        self.violation = Violation(rule, message, subjects or [])


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
