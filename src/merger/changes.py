"""A flat change list: one row per predecessor -> successor link, as statistics offices publish them.

The French COG "mouvements" and the Swiss BFS mutation files give one line per old unit -> new
unit with the date and the kind of change; analysts join them to their tables without walking a
graph. ``changes`` gives the same for the register between two dates (after ``start``, up to and
including ``end``), nationally or within a unit's territory; ``link_row`` is the one row layout,
shared with ``lineage --csv`` so the same things have the same column names everywhere.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from merger import counts as counts_mod
from merger.errors import BadInput
from merger.graph import LEVEL_ORDER, L, Snapshot, V
from merger.i18n import _

if TYPE_CHECKING:
    from merger.register import Register

COLUMNS = ["effective", "event", "event_type",
           "old_key", "old_code", "old_name", "old_type", "old_level", "old_parent_code", "old_parent",
           "new_key", "new_code", "new_name", "new_type", "new_level", "new_parent_code", "new_parent",
           "portion", "relation", "share", "share_basis", "act", "clause", "evidence"]


def _side(snap: Snapshot, v: V | None, prefix: str) -> dict[str, Any]:
    if v is None:  # dissolved (no successor) or established (no predecessor)
        return {f"{prefix}_{k}": None for k in ("key", "code", "name", "type", "level", "parent_code", "parent")}
    parent = snap.parent_of(v)
    return {f"{prefix}_key": v.key, f"{prefix}_code": v.code, f"{prefix}_name": v.full_name,
            f"{prefix}_type": v.type, f"{prefix}_level": v.level,
            f"{prefix}_parent_code": parent.code if parent else None,
            f"{prefix}_parent": snap.path(parent) if parent else None}


def link_row(snap: Snapshot, link: L) -> dict[str, Any]:
    """One link as a flat row (ISO dates; None where there is nothing)."""
    ev = link.event
    row: dict[str, Any] = {"effective": ev.effective.isoformat(), "event": ev.key, "event_type": ev.type}
    row.update(_side(snap, link.pred, "old"))
    row.update(_side(snap, link.succ, "new"))
    row.update(portion=link.portion, relation=link.relation, share=link.share, share_basis=link.share_basis,
               act=ev.act.number if ev.act else None, clause=ev.clause, evidence=ev.evidence)
    return row


def changes(reg: Register, start: date, end: date, *, within: str | None = None,
            kind: str | None = "admin") -> list[dict[str, Any]]:
    """Every link of every event after ``start`` up to ``end`` (either order), in date and code order.

    ``within`` keeps the links that touch the unit's territory on either date (read through the
    lineage, as ``counts`` reads it); ``kind`` "admin", "agency" or None for both."""
    if kind not in (None, "admin", "agency"):
        raise BadInput(_("unknown kind {kind!r}; use admin or agency").format(kind=kind))
    lo, hi = min(start, end), max(start, end)
    snap = reg.snapshot
    scope: set[int] | None = None
    if within:
        unit = reg.resolve(within, containers=True).version
        scope = {v.id for day in (lo, hi) for v in counts_mod.territory_on(snap, unit, day, None)}
    links = []
    for ev in snap.events.values():
        if not (lo < ev.effective <= hi):
            continue
        for link in snap.event_links.get(ev.id, ()):
            ends = [v for v in (link.pred, link.succ) if v is not None]
            if kind is not None and not any(v.kind == kind for v in ends):
                continue
            if scope is not None and not any(v.id in scope for v in ends):
                continue
            links.append(link)

    def order(link: L) -> tuple:  # type: ignore[type-arg]
        v = link.succ or link.pred
        assert v is not None
        return (link.event.effective, LEVEL_ORDER.get(v.level, 9), v.code, link.event.key,
                link.pred.code if link.pred else "")

    return [link_row(snap, link) for link in sorted(links, key=order)]
