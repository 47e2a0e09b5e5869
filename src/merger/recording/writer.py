"""Writing planned events: one transaction, all of them or none, in time linear in their number.

``write`` opens one write transaction (BEGIN IMMEDIATE on SQLite, a table lock on PostgreSQL,
so concurrent writers queue instead of racing), reads the register as it stands inside that
transaction, plans every event in order against a private working snapshot (each later event
sees the earlier ones), and inserts all of them in a few bulk statements, or none.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from merger import graph
from merger.errors import BadInput, MergerError, ValidationFailed, Violation
from merger.i18n import _
from merger.recording.handlers import HANDLERS
from merger.recording.planner import Draft, Planner
from merger.recording.spec import Outcome, Refused, Spec, Target, advisories

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

Progress = Callable[[str, int, int], None]  # (what, done, total)


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def utc_now(at: datetime | None) -> datetime:
    now = at or datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def acts(conn: Connection) -> dict[str, tuple[int, graph.Act]]:
    from sqlalchemy import select

    from merger.model import LegalAct

    return {r.number: (r.id, graph.Act(r.id, r.number, r.kind, r.issuer, r.title, r.date_signed,
                                       r.effective_date, r.source))
            for r in conn.execute(select(LegalAct))}


def max_id(conn: Connection, table: Any) -> int:
    from sqlalchemy import func, select

    return int(conn.execute(select(func.max(table.id))).scalar() or 0)


def _recorded_keys(conn: Connection) -> dict[str, tuple[str, datetime, str]]:
    """idem_key -> (event key, recorded_at, by) for recorded events still in force."""
    from sqlalchemy import select

    from merger.model import Correction, Event

    revoked = {r[0] for r in conn.execute(select(Correction.event_id))}
    return {r.idem_key: (r.key, r.recorded_at, r.recorded_by)
            for r in conn.execute(select(Event.id, Event.key, Event.idem_key, Event.recorded_at,
                                         Event.recorded_by).where(Event.idem_key.is_not(None)))
            if r.id not in revoked}


def where(spec: Spec, i: int, total: int, field: str | None = None) -> str:
    """"line 7, field into: " — where a problem is, for people fixing an annex."""
    place = _("line {line}").format(line=spec.line) if spec.line is not None else (
        _("event {i}").format(i=i) if total > 1 else "")
    if field and spec.line is not None:
        place += _(", field {field}").format(field=field)
    return f"{place}: " if place else ""


def working_snapshot(conn: Connection, reg: Target | None = None) -> graph.Snapshot:
    """A private, mutable snapshot of the register as it stands inside the write transaction."""
    return graph.load(conn, "working")


def plan_all(conn: Connection, specs: list[Spec], now: datetime, by: str,
             progress: Progress | None = None, reg: Target | None = None) -> list[Draft]:
    """Plan every event in order; raise ValidationFailed listing every problem (with lines)."""
    from merger.model import Event

    snap = working_snapshot(conn, reg)
    planner = Planner(snap, acts(conn), now, by, max_id(conn, Event), HANDLERS)
    recorded = _recorded_keys(conn)
    seen: dict[str, int | None] = {}
    drafts: list[Draft] = []
    problems: list[Violation] = []
    total = len(specs)
    for i, spec in enumerate(specs, start=1):
        if progress is not None and (i % 500 == 0 or i == total):
            progress("checking", i, total)
        key = spec.idem_key()
        if key is not None and key in recorded:
            ek, when, who = recorded[key]
            problems.append(Violation("already-recorded", _("{where}act {act}, clause {value}, {type} of {subject!r} is already recorded as {ek} "
                                                            "({when:%Y-%m-%d %H:%M} by {who})").format(where=where(spec, i, total), act=spec.act, value=spec.clause or '-', type=spec.type, subject=spec.subject(), ek=ek, when=when, who=who), [ek]))
            continue
        if key is not None and key in seen:
            other = seen[key]
            problems.append(Violation("already-recorded", _("{where}same act, clause and event as {value}").format(where=where(spec, i, total), value='line ' + str(other) if other else 'an earlier event')))
            continue
        try:
            draft = planner.plan(spec)
        except Refused as exc:
            v = exc.violation
            problems.append(Violation(v.rule, where(spec, i, total, exc.field) + v.message, v.subjects))
            continue
        except MergerError as exc:
            problems.append(Violation("input", where(spec, i, total) + str(exc)))
            continue
        if key is not None:
            seen[key] = spec.line
        drafts.append(draft)
    if problems:
        raise ValidationFailed(problems)
    return drafts


def insert_drafts(conn: Connection, drafts: list[Draft], origin: str) -> list[int]:
    """Insert the planned rows in bulk (ids assigned here: the write lock is held), in order.

    Returns the new events' ids."""
    from sqlalchemy import bindparam, insert, update

    from merger.model import Event, LegalAct, Link, Unit, Version

    needed = {
        LegalAct: len({d.event.act.id for d in drafts if d.event.act is not None and d.event.act.id < 0}),
        Event: len(drafts),
        Unit: sum(len(d.new_units) for d in drafts),
        Version: sum(len(d.new_versions) for d in drafts),
        Link: sum(len(d.links) for d in drafts),
    }
    pools = {t: iter(_allocate(conn, t, n)) for t, n in needed.items()}

    def new_id(table: Any) -> int:
        return next(pools[table])

    act_ids: dict[int, int] = {}
    unit_ids: dict[int, int] = {}
    version_ids: dict[int, int] = {}
    rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in (LegalAct, Event, Unit, Version, Link)}
    ends: list[dict[str, Any]] = []
    event_ids: list[int] = []
    for d in drafts:
        ev = d.event
        act_id = None
        if ev.act is not None:
            if ev.act.id < 0 and ev.act.id not in act_ids:
                act_ids[ev.act.id] = new_id(LegalAct)
                rows[LegalAct].append(dict(id=act_ids[ev.act.id], number=ev.act.number, kind=ev.act.kind,
                                           issuer=ev.act.issuer, title=ev.act.title, date_signed=ev.act.date_signed,
                                           effective_date=ev.act.effective_date, source=ev.act.source))
            act_id = act_ids.get(ev.act.id, ev.act.id)
        event_id = new_id(Event)
        event_ids.append(event_id)
        rows[Event].append(dict(id=event_id, key=ev.key, type=ev.type, effective=ev.effective, act_id=act_id,
                                clause=ev.clause, note=ev.note, source=ev.source, evidence=ev.evidence,
                                recorded_at=ev.recorded_at, recorded_by=ev.recorded_by, origin=origin,
                                idem_key=d.spec.idem_key(), spec=d.spec.to_json()))
        for temp, (key, kind) in d.new_units.items():
            unit_ids[temp] = new_id(Unit)
            rows[Unit].append(dict(id=unit_ids[temp], key=key, kind=kind))
        for v in d.new_versions:
            version_ids[v.id] = new_id(Version)
            parent = unit_ids.get(v.parent_unit_id, v.parent_unit_id) if v.parent_unit_id else None
            rows[Version].append(dict(
                id=version_ids[v.id], key=v.key, unit_id=unit_ids.get(v.unit_id, v.unit_id), code=v.code,
                name=v.name, full_name=v.full_name, type=v.type, level=v.level, parent_unit_id=parent,
                valid_from=v.valid_from, valid_to=v.valid_to if v.valid_from is None else None,
                evidence=v.evidence, source=v.source, recorded_at=ev.recorded_at))
        for v in d.ended:
            ends.append(dict(vid=version_ids.get(v.id, v.id), end=v.valid_to))
        for lk in d.links:
            rows[Link].append(dict(
                id=new_id(Link), event_id=event_id,
                predecessor_id=version_ids.get(lk.pred.id, lk.pred.id) if lk.pred else None,
                successor_id=version_ids.get(lk.succ.id, lk.succ.id) if lk.succ else None,
                portion=lk.portion, relation=lk.relation, share=lk.share, share_basis=lk.share_basis,
                note=lk.note))
    for table in (LegalAct, Event, Unit, Version, Link):  # parents before the rows that refer to them
        if rows[table]:
            conn.execute(insert(table), rows[table])
    if ends:
        conn.execute(update(Version).where(Version.id == bindparam("vid")).values(valid_to=bindparam("end")), ends)
    return event_ids


def _allocate(conn: Connection, table: Any, n: int) -> list[int]:
    """``n`` new ids for ``table``: from its sequence on PostgreSQL (what a plain insert would
    take, with the same privilege), after the largest on SQLite (the write lock is held)."""
    if n == 0:
        return []
    if conn.dialect.name == "postgresql":
        from sqlalchemy import text

        name = table.__tablename__
        rows = conn.execute(text(f"SELECT nextval(pg_get_serial_sequence('{name}', 'id')) "
                                 "FROM generate_series(1, :n)"), {"n": n})
        return [int(r[0]) for r in rows]
    start = max_id(conn, table)
    return list(range(start + 1, start + n + 1))


def write(reg: Target, specs: list[Spec], *, by: str | None, dry_run: bool, at: datetime | None,
          origin: str, progress: Progress | None = None) -> Outcome:
    """Plan and write ``specs`` in one transaction; on any problem nothing is written."""
    from merger import store

    if not specs:
        raise BadInput(_("nothing to record"))
    now, by = utc_now(at), by or default_user()
    with reg.engine.connect() as conn:
        store.begin_write(conn)
        try:
            drafts = plan_all(conn, specs, now, by, progress, reg)
            changes = [c for d in drafts for c in d.changes]
            keys = [d.event.key for d in drafts]
            if dry_run:
                conn.rollback()
                return Outcome(keys, changes, False, warnings=advisories(specs))
            if progress is not None:
                progress("writing", 0, len(drafts))
            insert_drafts(conn, drafts, origin)
            store.bump_generation(conn)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    reg.invalidate()
    return Outcome(keys, changes, True, warnings=advisories(specs))
