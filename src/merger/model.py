"""The register's tables (sqlmodel), the same on SQLite and PostgreSQL.

Identity is a unit (stable across renames and re-parenting) plus its versions, each with a
validity period. A version's key is ``code@valid_from`` (or ``code@..valid_to`` for versions
that were in force before the register begins), because codes are reused for other territory.
Events link predecessor versions to successor versions and carry their legal act.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import DateTime, Index
from sqlmodel import Field, SQLModel

from merger.store import SCHEMA_VERSION  # noqa: F401  (re-exported)


def _folded(context) -> str:  # type: ignore[no-untyped-def]
    """The folded name of a version being inserted (every writer gets it without asking)."""
    from merger.names import fold

    return fold(context.get_current_parameters()["name"])


LEVELS = ("province", "district", "commune", "village", "agency")

EVENT_TYPES = (
    "merge",  # whole or partial units form one successor (new unit or absorbing unit)
    "split",  # a successor formed from part of a single predecessor
    "transfer",  # part of a unit's territory moves to another existing unit
    "rename",
    "reclassify",  # type change (xã -> phường, district -> special zone)
    "dissolve",
    "establish",
    "move",  # unchanged but re-parented
    "continue",  # carried over unchanged into a new version (its tier was reorganised)
)

PORTIONS = ("whole", "part")


class Meta(SQLModel, table=True):
    """Key/value facts about the register file: schema version, bundle digest."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class LegalAct(SQLModel, table=True):
    __tablename__ = "legal_act"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(index=True, unique=True)
    kind: str = ""
    issuer: str = ""
    title: str = ""
    date_signed: date | None = None
    effective_date: date | None = None
    source: str = ""


class Unit(SQLModel, table=True):
    __tablename__ = "unit"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True)
    kind: str = Field(default="admin", index=True)  # "admin" or "agency"; indexed: the few of a kind found by a seek


class Version(SQLModel, table=True):
    __tablename__ = "version"
    # National counts group the bundled versions by level, type and period from this index alone
    # (merger.partial.count_stored); the trigram index of ``folded`` is merger.textindex's.
    __table_args__ = (Index("ix_version_counting", "recorded_at", "level", "type", "valid_from", "valid_to"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    code: str = Field(index=True)
    name: str  # without the type word, e.g. "Hòa Bình"
    # fold(name), e.g. "hoa binh": indexed, so a name is found without reading every version
    folded: str | None = Field(default=None, index=True, sa_column_kwargs={"default": _folded})
    full_name: str  # as officially written, e.g. "Phường Hòa Bình"
    type: str  # lower-case Vietnamese type, e.g. "phường"
    level: str
    parent_unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    valid_from: date | None = Field(default=None, index=True)
    valid_to: date | None = Field(default=None, index=True)
    evidence: str | None = None  # "stated" / "inferred" where a record is not official
    source: str = ""
    # When a recorded version was written (UTC); None for the bundled baseline. A version
    # written by a recorded event is visible only while that event is (see graph.load).
    recorded_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Event(SQLModel, table=True):
    __tablename__ = "event"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True)
    type: str = Field(index=True)
    effective: date = Field(index=True)
    act_id: int | None = Field(default=None, foreign_key="legal_act.id", index=True)
    clause: str | None = None
    note: str = ""
    source: str = ""
    evidence: str | None = None
    recorded_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)  # UTC
    recorded_by: str
    # "" for the bundled baseline; "cli", "annex:<file>" or "amend" for recorded events.
    origin: str = Field(default="", index=True)  # indexed: the recorded events found by a seek
    # act number + clause + event type + subject: re-recording the same decision is refused.
    idem_key: str | None = Field(default=None, index=True)
    spec: str | None = None  # the recorded request as JSON, so that ``amend`` can replay it


class Correction(SQLModel, table=True):
    """A revocation or amendment of a recorded event: the event stays, marked superseded."""

    __tablename__ = "correction"
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    action: str  # "revoke" or "amend"
    replacement_id: int | None = Field(default=None, foreign_key="event.id")
    reason: str = ""
    recorded_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)  # UTC
    recorded_by: str


class Link(SQLModel, table=True):
    __tablename__ = "link"
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    predecessor_id: int | None = Field(default=None, foreign_key="version.id", index=True)
    successor_id: int | None = Field(default=None, foreign_key="version.id", index=True)
    portion: str = "whole"
    relation: str = ""  # finer category, e.g. "part_area_all_population", "renamed"
    share: float | None = None
    share_basis: str | None = None  # "area", "population", "geometry"; None when unknown
    note: str = ""  # the source's own wording


class DerivedShare(SQLModel, table=True):
    """A share derived for a link after the event was recorded (from geometry), kept with who and
    when. The link's own row never changes, so --as-recorded reproduces the answers from before."""

    __tablename__ = "derived_share"
    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="link.id", index=True)
    share: float
    basis: str  # "geometry"
    recorded_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)  # UTC
    recorded_by: str
    note: str = ""


class Statistic(SQLModel, table=True):
    """Official figures for a version (sapnhap.bando: area, population, seat)."""

    __tablename__ = "statistic"
    version_id: int = Field(foreign_key="version.id", primary_key=True)
    area_km2: float | None = None
    population: int | None = None
    seat: str = ""
    lon: float | None = None
    lat: float | None = None
    source: str = ""
