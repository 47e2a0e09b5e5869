"""The log: every recorded event and correction, oldest first, as recorded at a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from merger import citation, graph
from merger.errors import BadInput
from merger.i18n import _
from merger.recording.spec import Target


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


def _start(since: datetime | date) -> datetime:
    """``--since``: a time as given (UTC if naive); a date means the start of that day, UTC."""
    if isinstance(since, datetime):
        return graph._naive_utc(since if since.tzinfo else since.replace(tzinfo=UTC))
    return datetime.combine(since, time.min)


def log(reg: Target, *, since: datetime | date | None, by: str | None, act: str | None,
        unit: str | None, include_bundled: bool, as_of: date | None = None) -> list[LogEntry]:
    """Recorded events, oldest first, each with its status, as the register stood at
    ``reg.as_recorded`` (later records and corrections unseen); filtered by time, person,
    act (full or short number) and unit (on ``as_of`` when its name was shared)."""
    from sqlalchemy import select

    from merger.model import Correction, Event, LegalAct, Link, Version

    for value, what in ((by, "--by"), (act, "--act"), (unit, "--unit")):
        if value is not None and not value.strip():
            raise BadInput(_("{what} is empty: give a value, or leave the option out").format(what=what))
    limit = graph._naive_utc(reg.as_recorded) if reg.as_recorded is not None else None

    def seen(when: datetime) -> bool:
        return limit is None or graph._naive_utc(when) <= limit

    with reg.engine.connect() as conn:
        acts = {r.id: r.number for r in conn.execute(select(LegalAct.id, LegalAct.number))}
        ids = {r.id: r.key for r in conn.execute(select(Event.id, Event.key))}
        corrections = {r.event_id: r for r in conn.execute(select(Correction).order_by(Correction.id))
                       if seen(r.recorded_at)}
        query = select(Event).order_by(Event.recorded_at, Event.id)
        if not include_bundled:
            query = query.where(Event.origin != "")
        rows = [r for r in conn.execute(query) if not r.origin or seen(r.recorded_at)]
        wanted = {r.id for r in rows}
        versions = {r.id: r for r in conn.execute(select(Version.id, Version.key, Version.unit_id,
                                                         Version.full_name))}
        links: dict[int, list[Any]] = {}
        for r in conn.execute(select(Link).order_by(Link.id)):
            if r.event_id in wanted:
                links.setdefault(r.event_id, []).append(r)
    unit_id = reg.resolve(unit, as_of=as_of).unit_id if unit else None
    start = _start(since) if since is not None else None
    out: list[LogEntry] = []
    for r in rows:
        if start is not None and graph._naive_utc(r.recorded_at) < start:
            continue
        if by and r.recorded_by != by.strip():
            continue
        number = acts.get(r.act_id) if r.act_id else None
        if act and (number is None or not citation.matches_act(number, act)):
            continue
        lks = links.get(r.id, [])
        if unit_id is not None and not any(
                (lk.predecessor_id and versions[lk.predecessor_id].unit_id == unit_id)
                or (lk.successor_id and versions[lk.successor_id].unit_id == unit_id) for lk in lks):
            continue
        preds = list(dict.fromkeys(versions[lk.predecessor_id].full_name for lk in lks if lk.predecessor_id))
        succs = list(dict.fromkeys(versions[lk.successor_id].full_name for lk in lks if lk.successor_id))
        if r.type == "establish":
            summary = f"new unit: {', '.join(succs)}"
        elif not succs:
            summary = f"{', '.join(preds)} dissolved (no successor)"
        else:
            summary = f"{', '.join(preds) or '—'} → {', '.join(succs)}"
        c = corrections.get(r.id)
        status = "in force"
        if c is not None:
            status = "revoked" if c.action == "revoke" else f"amended by {ids.get(c.replacement_id, '?')}"
        out.append(LogEntry(r.key, r.type, r.effective, number, r.clause, r.recorded_at, r.recorded_by,
                            r.origin or "bundled", status, summary, r.note,
                            c.reason if c else "", c.recorded_at if c else None, c.recorded_by if c else None))
    return out

