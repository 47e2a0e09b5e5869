"""Corrections: ``revoke`` and ``amend`` add a ``Correction`` that supersedes a recorded event.

Nothing is ever deleted; ``graph.load`` hides superseded events unless asked for an earlier
moment (``--as-recorded``). Two kinds of amendment:

- metadata (act, its dates and issuer, clause, note, evidence, source): the event is re-issued
  with the same links to the same versions, so nothing else changes and nothing cascades —
  later events built on it stay as they are;
- structure (date, units, successors, names, types, parents, codes, shares): the event is
  revoked and the corrected request planned again exactly as a new recording would be.

An amendment that changes nothing, or that gives options the event's type does not use, is
refused with the reason.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from merger import citation, graph
from merger.errors import BadInput, NotFound, ValidationFailed, Violation
from merger.i18n import _
from merger.recording import neighbourhood
from merger.recording.spec import METADATA, OPTION_NAMES, USES, Change, Outcome, Spec, Target
from merger.recording.writer import _moment, default_user, insert_drafts, plan_all, utc_now

if TYPE_CHECKING:
    from merger.recording.db import Connection

ONE_DAY = timedelta(days=1)
AMENDABLE = {f.name for f in fields(Spec)} - {"type", "line"}


def _event_row(conn: Connection, key: str) -> SimpleNamespace:
    cols = ("id", "key", "type", "effective", "note", "source", "origin", "spec")
    rows = conn.query(f"SELECT {', '.join(cols)} FROM event WHERE key = ?", (key.strip(),))
    if not rows:
        raise NotFound(key, what="event")
    return SimpleNamespace(**dict(zip(cols, rows[0], strict=True)))


def _not_corrected(conn: Connection, row: Any) -> None:
    if not row.origin:
        raise ValidationFailed([Violation("bundled", _("{key} is bundled official data, not a recorded event: correct the sources and re-import "
                                                       "them").format(key=row.key))])
    done = conn.query("SELECT action, recorded_at, recorded_by FROM correction WHERE event_id = ? ORDER BY id",
                      (row.id,))
    if done:
        action, recorded_at, recorded_by = done[0]
        what = "revoked" if action == "revoke" else "amended"
        raise ValidationFailed([Violation("already-corrected", _("{key} was already {what} on {recorded_at:%Y-%m-%d %H:%M} by {recorded_by}").format(key=row.key, what=what, recorded_at=_moment(recorded_at), recorded_by=recorded_by))])


def _around_event(conn: Connection, event_id: int) -> graph.Snapshot:
    """The working snapshot a correction needs: the versions event ``event_id`` links, their units,
    every link touching them (with its far end) and their parents (indexed reads, not the register)."""
    seeds = (f"SELECT predecessor_id FROM link WHERE event_id = {int(event_id)} AND predecessor_id IS NOT NULL "
             f"UNION SELECT successor_id FROM link WHERE event_id = {int(event_id)} AND successor_id IS NOT NULL")
    return graph.from_tables("working", neighbourhood.read(conn, seeds, set()))


def _correction(conn: Connection, event_id: int, action: str, reason: str, by: str, now: datetime,
                replacement_id: int | None = None) -> int:
    """Insert a correction of event ``event_id``; its id."""
    (corr_id,) = conn.new_ids("correction", 1)
    conn.insert("correction", [dict(id=corr_id, event_id=event_id, action=action, replacement_id=replacement_id,
                                    reason=reason, recorded_at=now, recorded_by=by)])
    return corr_id


def _revoke(conn: Connection, key: str, action: str, reason: str, by: str, now: datetime) -> tuple[int, int]:
    """Write a correction superseding event ``key`` (inside the caller's transaction)."""
    row = _event_row(conn, key)
    _not_corrected(conn, row)
    snap = _around_event(conn, row.id)
    links = snap.event_links.get(row.id, [])
    touched = {lk.succ.id for lk in links if lk.succ} | {lk.pred.id for lk in links if lk.pred}
    recorded = {r[0] for r in conn.query(f"SELECT id FROM version WHERE id IN ({neighbourhood._ids(touched)}) "
                                         "AND recorded_at IS NOT NULL")}
    # The versions this event made (a bundled version it only gave a start to is not one of them).
    created = {lk.succ.id: lk.succ for lk in links if lk.succ is not None and lk.succ.id in recorded
               and not any(o.event.id != row.id for o in snap.in_links.get(lk.succ.id, []))}
    # The earlier state of a split pre-start version: made by this event, as its predecessor.
    earlier = {lk.pred.id: lk.pred for lk in links if lk.pred is not None and lk.pred.id in recorded
               and not snap.in_links.get(lk.pred.id)}
    for vid, v in created.items():
        later = [lk.event.key for lk in snap.out_links.get(vid, [])]
        if later:
            raise ValidationFailed([Violation("used-later", _("{full_name} [{key}], created by {key2}, is used by later event {value}: correct that one "
                                                              "first").format(full_name=v.full_name, key=v.key, key2=row.key, value=later[0]),
                                              [v.key, later[0]])])
    corr_id = _correction(conn, row.id, action, reason, by, now)
    for vid, v in {**created, **earlier}.items():  # free the keys for a corrected record; the original is kept
        conn.execute("UPDATE version SET key = ? WHERE id = ?", (f"{v.key}~{corr_id}", vid))
        first = snap.by_unit[v.unit_id][0]
        if first.id == vid and v.unit_id > 0 and vid in created:
            conn.execute("UPDATE unit SET key = ? WHERE id = ?", (f"{v.unit_key}~{corr_id}", v.unit_id))
    for lk in links:  # the versions it ended are open again (unless another event ends them)
        if lk.pred is not None and lk.pred.id not in earlier:
            other = [o.event.effective for o in snap.out_links.get(lk.pred.id, []) if o.event.id != row.id]
            if lk.pred.id in recorded or not other:
                conn.execute("UPDATE version SET valid_to = ? WHERE id = ?",
                             (conn.bind(min(other) - ONE_DAY if other else None), lk.pred.id))
    return row.id, corr_id


def revoke(reg: Target, key: str, *, reason: str, by: str | None, at: datetime | None) -> Outcome:
    """Mark a recorded event revoked (kept, with who, when and why); its effects disappear."""
    from merger.recording import db

    if not reason.strip():
        raise BadInput(_("give the reason for the revocation (--reason)"))
    now, by = utc_now(at), by or default_user()
    with db.connect(reg) as conn:
        conn.begin_write()
        try:
            _revoke(conn, key, "revoke", reason.strip(), by, now)
            conn.bump_generation()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    reg.invalidate()
    return Outcome([], [Change(key, "", key, f"revoked: {reason.strip()}")], True, [key])


def _judge(spec: Spec, changes: dict[str, Any]) -> dict[str, Any]:
    """The changes that really change something; refusals for the rest (see the module doc)."""
    unknown = set(changes) - AMENDABLE
    if unknown:
        raise BadInput(_("cannot amend {join}").format(join=', '.join(sorted(unknown))))
    if not changes:
        raise BadInput(_("nothing to amend: give the corrected values"))
    extra = sorted(k for k in changes if k not in METADATA | USES[spec.type] | {"effective"})
    if extra:
        hint = " (the new unit's name is --into)" if spec.type == "establish" and "to" in extra else ""
        raise BadInput(_("{join} does not apply to a {type} event{hint}; nothing was changed").format(join=', '.join(OPTION_NAMES.get(k, '--' + k) for k in extra), type=spec.type, hint=hint))
    real = {}
    for name, value in changes.items():
        old = getattr(spec, name)
        if name == "clause" and (value is None or isinstance(value, str)):
            try:
                same = citation.canonical(value) == citation.canonical(old)
            except ValueError as exc:
                raise BadInput(str(exc)) from None
        elif name == "act" and isinstance(old, str) and isinstance(value, str):
            same = citation.matches_act(old, value) or citation.matches_act(value, old)
        else:
            same = value == old
        if not same:
            real[name] = value
    if not real:
        raise BadInput(_("the amendment changes nothing: every value given is already recorded; nothing was changed"))
    return real


def amend(reg: Target, key: str, changes: dict[str, Any], *, reason: str, by: str | None,
          dry_run: bool, at: datetime | None) -> Outcome:
    """Supersede ``key`` by a corrected event, in one transaction (see the module doc)."""
    from merger.recording import db

    if not reason.strip():
        raise BadInput(_("give the reason for the amendment (--reason)"))
    now, by = utc_now(at), by or default_user()
    with db.connect(reg) as conn:
        conn.begin_write()
        try:
            row = _event_row(conn, key)
            if not row.spec:
                raise ValidationFailed([Violation("bundled", _("{key} has no recorded request to amend (bundled data): correct the sources and re-import").format(key=row.key))])
            spec = Spec.from_json(row.spec)
            real = _judge(spec, changes)
            for name, value in real.items():
                setattr(spec, name, value)
            if set(real) <= METADATA:
                outcome = _reissue(conn, row, spec, reason.strip(), by, now, dry_run)
            else:
                outcome = _replan(conn, key, spec, reason.strip(), by, now, dry_run)
            if dry_run:
                conn.rollback()
                return outcome
            conn.bump_generation()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    reg.invalidate()
    return outcome


def _replan(conn: Connection, key: str, spec: Spec, reason: str, by: str, now: datetime, dry_run: bool) -> Outcome:
    _, corr_id = _revoke(conn, key, "amend", reason, by, now)
    drafts = plan_all(conn, [spec], now, by)
    out = Outcome([d.event.key for d in drafts], [c for d in drafts for c in d.changes], not dry_run, [key])
    if not dry_run:
        (new_id,) = insert_drafts(conn, drafts, "amend")
        conn.execute("UPDATE correction SET replacement_id = ? WHERE id = ?", (new_id, corr_id))
    return out


def _reissue(conn: Connection, row: Any, spec: Spec, reason: str, by: str, now: datetime, dry_run: bool) -> Outcome:
    """A metadata correction: the same event (same links, same versions) under corrected metadata."""
    from merger.recording.handlers import HANDLERS
    from merger.recording.planner import Planner
    from merger.recording.writer import _clauses, acts, max_id

    _not_corrected(conn, row)
    planner = Planner(_around_event(conn, row.id), acts(conn), now, by, max_id(conn, "event"), HANDLERS,
                      clauses=_clauses(conn))
    try:
        act = planner._act(spec) if spec.act else None
        clause = planner._clause(spec, act)
    except Exception as exc:  # a Refused: the same message a new recording would give
        raise ValidationFailed([getattr(exc, "violation", Violation("input", str(exc)))]) from None
    new_id = max_id(conn, "event") + 1
    new_key = f"E{spec.effective:%Y%m%d}-R{new_id}"
    basis = citation.render(clause, act.number if act else None) or "no legal act"
    out = Outcome([new_key], [Change(new_key, "", row.key, f"{new_key}: {basis}"
                                     + (f"; note {spec.note!r}" if spec.note != row.note else ""))],
                  not dry_run, [row.key])
    if dry_run:
        return out
    act_id = None
    if act is not None:
        act_id = act.id
        if act.id < 0:
            (act_id,) = conn.new_ids("legal_act", 1)
            conn.insert("legal_act", [dict(id=act_id, number=act.number, kind=act.kind, issuer=act.issuer,
                                           title=act.title, date_signed=act.date_signed,
                                           effective_date=act.effective_date, source=act.source)])
    (new_id,) = conn.new_ids("event", 1)
    conn.insert("event", [dict(
        id=new_id, key=new_key, type=row.type, effective=row.effective, act_id=act_id, clause=clause, note=spec.note,
        source=spec.source or row.source, evidence=spec.evidence, recorded_at=now, recorded_by=by,
        origin="amend", idem_key=spec.idem_key(), spec=spec.to_json())])
    links = conn.query("SELECT predecessor_id, successor_id, portion, relation, share, share_basis, note "
                       "FROM link WHERE event_id = ? ORDER BY id", (row.id,))
    ids = conn.new_ids("link", len(links))
    conn.insert("link", [dict(id=i, event_id=new_id, predecessor_id=lk[0], successor_id=lk[1], portion=lk[2],
                              relation=lk[3], share=lk[4], share_basis=lk[5], note=lk[6])
                         for i, lk in zip(ids, links, strict=True)])
    _correction(conn, row.id, "amend", reason, by, now, replacement_id=new_id)
    return out
