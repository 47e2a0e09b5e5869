"""Writing planned events: one transaction, all of them or none, in time linear in their number.

``write`` plans every event in order against a private working snapshot (each later event sees
the earlier ones) read in one read transaction at the register's generation G, *without* the
write lock; then it takes the write lock (BEGIN IMMEDIATE on SQLite, a table lock on PostgreSQL,
so concurrent writers queue instead of racing) and reads the generation again: still G, nothing
was committed since, so what was validated is what is written; otherwise the events are planned
again inside the lock, against the register as it now stands. The lock is held for the check of
the generation and the inserts (a few bulk statements), or for one re-plan when another writer
came first.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from merger import graph
from merger.errors import BadInput, MergerError, ValidationFailed, Violation
from merger.i18n import _
from merger.recording.handlers import HANDLERS
from merger.recording.planner import Draft, Planner
from merger.recording.spec import Outcome, Refused, Spec, Target, advisories

if TYPE_CHECKING:
    from merger.recording.db import Connection

Progress = Callable[[str, int, int], None]  # (what, done, total)


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def utc_now(at: datetime | None) -> datetime:
    now = at or datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _day(value: Any) -> date | None:
    """A stored date as a date (SQLite gives the text it keeps)."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _moment(value: Any) -> datetime:
    """A stored time as a naive UTC datetime (SQLite gives text; PostgreSQL naive UTC already)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def acts(conn: Connection) -> dict[str, tuple[int, graph.Act]]:
    return {r[1]: (r[0], graph.Act(r[0], r[1], r[2], r[3], r[4], _day(r[5]), _day(r[6]), r[7]))
            for r in conn.query("SELECT id, number, kind, issuer, title, date_signed, effective_date, source "
                                "FROM legal_act")}


def max_id(conn: Connection, table: str) -> int:
    """The largest id of ``table`` (a table's name)."""
    return conn.max_id(table)


def _recorded_keys(conn: Connection, specs: list[Spec]) -> dict[str, tuple[str, datetime, str]]:
    """idem_key -> (event key, recorded_at, by) for the requests' keys recorded by events still in force."""
    wanted = sorted({k for k in (s.idem_key() for s in specs) if k is not None})
    found: dict[str, tuple[str, datetime, str]] = {}
    for i in range(0, len(wanted), 500):
        part = wanted[i:i + 500]
        rows = conn.query(recorded_keys_sql(len(part), conn.dialect), part)
        found.update({r[1]: (r[0], _moment(r[2]), r[3]) for r in rows})
    return found


def recorded_keys_sql(n: int, dialect: str) -> str:
    """The events in force recording any of ``n`` idem_keys (qmark parameters), through the index
    on ``event.idem_key``. On SQLite the match is marked as rare (``likelihood``): the bundled
    events have no idem_key, so after ANALYZE the index looks like one value for every row and
    SQLite would scan the whole event table instead (78 ms at 10x, growing with the register)."""
    match = f"idem_key IN ({', '.join('?' * n)})"
    if dialect == "sqlite":
        match = f"likelihood({match}, 0.000001)"
    return (f"SELECT key, idem_key, recorded_at, recorded_by FROM event WHERE {match} "
            "AND id NOT IN (SELECT event_id FROM correction)")


def where(spec: Spec, i: int, total: int, field: str | None = None) -> str:
    """"line 7, field into: " — where a problem is, for people fixing an annex."""
    place = _("line {line}").format(line=spec.line) if spec.line is not None else (
        _("event {i}").format(i=i) if total > 1 else "")
    if field and spec.line is not None:
        place += _(", field {field}").format(field=field)
    return f"{place}: " if place else ""


# An annex this long is planned against the whole register: it touches so much that reading it
# all at once is cheaper than many neighbourhood queries.
WHOLE_FROM = 200
ROUNDS = 4  # neighbourhood widenings before the whole register is read instead


def working_snapshot(conn: Connection, reg: Target | None = None) -> graph.Snapshot:
    """A private, mutable snapshot of the whole register as this transaction sees it: from the
    register's snapshot cache brought to this transaction's state when there is one, else read
    whole (tests/test_write_path.py compares the two)."""
    from merger import cache

    columns = reg.columns_at(conn) if reg is not None else None
    if columns is not None:
        return graph.from_columns("working", columns)
    return graph.from_tables("working", cache.read_all(conn))


def plan_all(conn: Connection, specs: list[Spec], now: datetime, by: str,
             progress: Progress | None = None, reg: Target | None = None, *,
             scope: str = "auto", report: dict[str, Any] | None = None) -> list[Draft]:
    """Plan every event in order; raise ValidationFailed listing every problem (with lines).

    ``scope``: "neighbourhood" plans against the part of the register the events touch
    (merger.recording.neighbourhood: it widens until every lookup was covered, else reads the
    whole register), "whole" against the whole register, "auto" chooses by the annex's size.
    ``report`` receives what was read: the scope used, the rounds and the versions loaded.
    """
    report = {} if report is None else report
    report.update(scope="whole", rounds=0)
    if scope == "whole" or (scope == "auto" and len(specs) >= WHOLE_FROM):
        return _plan(conn, specs, working_snapshot(conn, reg), now, by, progress)
    from merger.recording import neighbourhood

    query = conn
    seeds = neighbourhood.seed_sql(specs)
    if seeds is None or query("SELECT id FROM version WHERE folded IS NULL LIMIT 1"):
        return _plan(conn, specs, working_snapshot(conn, reg), now, by, progress)
    extra: set[int] = set()
    plain: set[int] = set()
    for _round in range(ROUNDS):
        wider = f"{seeds} UNION SELECT id FROM version WHERE id IN ({neighbourhood._ids(extra)})"
        tables = neighbourhood.read(query, wider if extra else seeds, plain)
        lookups = neighbourhood.Lookups()
        snap = neighbourhood.snapshot(tables, lookups)
        report.update(rounds=report["rounds"] + 1, versions=len(tables["version"]))
        try:
            drafts: list[Draft] | ValidationFailed = _plan(conn, specs, snap, now, by, progress, lookups, query)
        except ValidationFailed as exc:
            drafts = exc
        if lookups.whole:
            break
        named, placed = neighbourhood.uncovered(query, lookups, set(tables["version"]))
        if not named and not placed:
            report["scope"] = "neighbourhood"
            if isinstance(drafts, ValidationFailed):
                raise drafts
            return drafts
        extra |= named
        plain |= placed
    return _plan(conn, specs, working_snapshot(conn, reg), now, by, progress)


def _clauses(query: Any) -> Callable[[int], list[str]]:
    """The clauses an act is cited with by events in force (not revoked or amended)."""
    def clauses(act_id: int) -> list[str]:
        return [r[0] for r in query(f"SELECT clause FROM event WHERE act_id = {int(act_id)} AND clause IS NOT NULL "
                                    "AND id NOT IN (SELECT event_id FROM correction)")]
    return clauses


def _plan(conn: Connection, specs: list[Spec], snap: graph.Snapshot, now: datetime, by: str,
          progress: Progress | None, lookups: Any = None, query: Any = None) -> list[Draft]:
    """Plan every event in order against ``snap`` (which the planner updates)."""
    planner = Planner(snap, acts(conn), now, by, max_id(conn, "event"), HANDLERS, lookups=lookups,
                      clauses=_clauses(query) if query is not None else None)
    recorded = _recorded_keys(conn, specs)
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
    from merger.names import fold

    needed = {
        "legal_act": len({d.event.act.id for d in drafts if d.event.act is not None and d.event.act.id < 0}),
        "event": len(drafts),
        "unit": sum(len(d.new_units) for d in drafts),
        "version": sum(len(d.new_versions) for d in drafts),
        "link": sum(len(d.links) for d in drafts),
    }
    pools = {t: iter(conn.new_ids(t, n)) for t, n in needed.items()}

    def new_id(table: str) -> int:
        return next(pools[table])

    act_ids: dict[int, int] = {}
    unit_ids: dict[int, int] = {}
    version_ids: dict[int, int] = {}
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in needed}
    ends: list[tuple] = []
    event_ids: list[int] = []
    for d in drafts:
        ev = d.event
        act_id = None
        if ev.act is not None:
            if ev.act.id < 0 and ev.act.id not in act_ids:
                act_ids[ev.act.id] = new_id("legal_act")
                rows["legal_act"].append(dict(id=act_ids[ev.act.id], number=ev.act.number, kind=ev.act.kind,
                                              issuer=ev.act.issuer, title=ev.act.title, date_signed=ev.act.date_signed,
                                              effective_date=ev.act.effective_date, source=ev.act.source))
            act_id = act_ids.get(ev.act.id, ev.act.id)
        event_id = new_id("event")
        event_ids.append(event_id)
        rows["event"].append(dict(id=event_id, key=ev.key, type=ev.type, effective=ev.effective, act_id=act_id,
                                  clause=ev.clause, note=ev.note, source=ev.source, evidence=ev.evidence,
                                  recorded_at=ev.recorded_at, recorded_by=ev.recorded_by, origin=origin,
                                  idem_key=d.spec.idem_key(), spec=d.spec.to_json()))
        for temp, (key, kind) in d.new_units.items():
            unit_ids[temp] = new_id("unit")
            rows["unit"].append(dict(id=unit_ids[temp], key=key, kind=kind))
        for v in d.new_versions:
            version_ids[v.id] = new_id("version")
            parent = unit_ids.get(v.parent_unit_id, v.parent_unit_id) if v.parent_unit_id else None
            rows["version"].append(dict(
                id=version_ids[v.id], key=v.key, unit_id=unit_ids.get(v.unit_id, v.unit_id), code=v.code,
                name=v.name, folded=fold(v.name), full_name=v.full_name, type=v.type, level=v.level, parent_unit_id=parent,
                valid_from=v.valid_from, valid_to=v.valid_to if v.valid_from is None else None,
                evidence=v.evidence, source=v.source, recorded_at=ev.recorded_at))
        for v in d.ended:
            ends.append((conn.bind(v.valid_to), version_ids.get(v.id, v.id)))
        for lk in d.links:
            rows["link"].append(dict(
                id=new_id("link"), event_id=event_id,
                predecessor_id=version_ids.get(lk.pred.id, lk.pred.id) if lk.pred else None,
                successor_id=version_ids.get(lk.succ.id, lk.succ.id) if lk.succ else None,
                portion=lk.portion, relation=lk.relation, share=lk.share, share_basis=lk.share_basis,
                note=lk.note))
    for table in ("legal_act", "event", "unit", "version", "link"):  # parents before the rows that refer to them
        conn.insert(table, rows[table])
    conn.executemany("UPDATE version SET valid_to = ? WHERE id = ?", ends)
    return event_ids


def write(reg: Target, specs: list[Spec], *, by: str | None, dry_run: bool, at: datetime | None,
          origin: str, progress: Progress | None = None) -> Outcome:
    """Plan ``specs`` outside the write lock, then write them in one transaction (re-planned
    inside it if another writer committed meanwhile); on any problem nothing is written."""
    from merger.recording import db

    if not specs:
        raise BadInput(_("nothing to record"))
    now, by = utc_now(at), by or default_user()
    with db.connect(reg) as conn:  # a read-only or in-memory register is refused here, dry run or not
        conn.begin_read()
        try:
            seen = conn.generation()
            drafts = plan_all(conn, specs, now, by, progress, reg)
        finally:
            conn.rollback()  # the read transaction: nothing to keep
        if dry_run:
            return Outcome([d.event.key for d in drafts], [c for d in drafts for c in d.changes], False,
                           warnings=advisories(specs))
        conn.begin_write()
        try:
            if conn.generation() != seen:  # another writer came first: validate again, locked
                drafts = plan_all(conn, specs, now, by, progress, reg)
            changes = [c for d in drafts for c in d.changes]
            keys = [d.event.key for d in drafts]
            if progress is not None:
                progress("writing", 0, len(drafts))
            insert_drafts(conn, drafts, origin)
            conn.bump_generation()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    reg.invalidate()
    return Outcome(keys, changes, True, warnings=advisories(specs))
