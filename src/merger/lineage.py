"""Lineage: what a unit became, or what formed it, followed through chains of events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from merger.graph import L, Snapshot, V
from merger.i18n import N_, _, fdate, pgettext

Direction = Literal["forward", "backward"]

RELATION_LABELS = {
    "whole": N_("whole unit"),
    "part": N_("part"),
    "part_area": N_("part of the area"),
    "part_area_all_population": N_("part of the area, all of the population"),
    "part_population": N_("part of the population"),
    "unchanged": N_("unchanged"),
    "renamed": N_("renamed"),
    "reclassified": N_("type changed"),
    "renamed_from_part": N_("renamed, from part"),
    "renamed_reclassified_from_part": N_("renamed and type changed, from part"),
    "remainder": N_("remainder after a part went elsewhere"),
    "district_to_special_zone": N_("whole district became special zone"),
    "commune_to_special_zone": N_("whole commune became special zone"),
    "district_area": N_("territory managed by the district"),
    "dissolved": N_("dissolved"),
    "successor_unknown": N_("successor unknown (source gap)"),
    "origin_unknown": N_("origin unknown (source gap)"),
    "absorbed": N_("absorbed"),
    "absorbing": N_("absorbed another unit"),
    "moved": N_("re-parented"),
    "functions_to": N_("its functions taken over"),
    "established": N_("new, no predecessor"),
}

EVENT_LABELS = {
    "merge": N_("merge"),
    "split": N_("split"),
    "transfer": N_("partial transfer"),
    "rename": N_("rename"),
    "reclassify": N_("reclassification"),
    "dissolve": N_("dissolution"),
    "establish": N_("establishment"),
    "move": N_("unchanged, re-parented"),
    "continue": N_("unchanged, new version"),
}


BASIS_LABELS = {"area": N_("area"), "population": N_("population"), "geometry": N_("geometry"),
                "equal": N_("equal shares")}


def basis_label(basis: str | None) -> str:
    """What a share measures, in the current language."""
    return _(BASIS_LABELS[basis]) if basis in BASIS_LABELS else str(basis)


EVIDENCE_LABELS = {"stated": N_("stated"), "inferred": N_("inferred"), "reported": N_("reported"),
                   "unknown": N_("unknown")}


def evidence_label(evidence: str | None) -> str:
    """How sure a record is (stated by an act or source, inferred, reported), in the current language."""
    return _(EVIDENCE_LABELS[evidence]) if evidence in EVIDENCE_LABELS else str(evidence or "")


def level_name(level: str) -> str:
    """One unit's level, in the current language ("commune", "cấp xã")."""
    names = {"province": pgettext("level", "province"), "district": pgettext("level", "district"),
             "commune": pgettext("level", "commune"), "village": pgettext("level", "village"),
             "agency": pgettext("level", "agency")}
    return names.get(level, level)


def relation_label(relation: str) -> str:
    """How a link's predecessor went into its successor, in the current language ("nhập toàn bộ")."""
    return _(RELATION_LABELS[relation]) if relation in RELATION_LABELS else relation.replace("_", " ")


def event_label(event_type: str) -> str:
    """The kind of event, in the current language ("sáp nhập", "đổi tên")."""
    return _(EVENT_LABELS[event_type]) if event_type in EVENT_LABELS else event_type


# (event, relation) pairs where the relation only repeats the event ("rename · renamed").
SAID_BY_EVENT = {("dissolve", "dissolved"), ("establish", "established"), ("rename", "renamed"),
                 ("reclassify", "reclassified"), ("move", "unchanged")}


def describe_link(link: L) -> str:
    """"merge · part of the area · 2025-07-01 · khoản 3 Điều 1, 1669/NQ-UBTVQH15"."""
    ev = link.event
    kind = event_label(ev.type)
    if link.portion == "part" and ev.type in ("merge", "split", "transfer"):
        kind = _("partial transfer")  # part of the predecessor's territory went to this successor
    if link.relation == "district_to_special_zone":
        kind = _("district turned special zone")
    parts = [kind]
    if (ev.type, link.relation) not in SAID_BY_EVENT:
        parts.append(relation_label(link.relation))
    parts.append(fdate(ev.effective))
    if ev.basis():
        parts.append(ev.basis())
    if link.share is not None:
        parts.append(_("share {share} of {basis}").format(share=f"{link.share:g}",
                                                          basis=basis_label(link.share_basis)))
    return " · ".join(parts)


@dataclass
class Node:
    version: V | None  # None for "dissolved" (no successor)
    link: L | None = None
    children: list[Node] = field(default_factory=list)
    truncated: bool = False
    territory: bool = False  # not a successor: where the territory of a dissolved unit's sub-units went


@dataclass
class Lineage:
    root: Node
    direction: Direction

    def count(self) -> int:
        def n(node: Node) -> int:
            return 1 + sum(n(c) for c in node.children)

        return n(self.root) - 1


def pick_version(versions: list[V], as_of: date | None, direction: Direction | None) -> tuple[V, Direction]:
    """The version a lineage starts from, and the direction that makes sense for it.

    A unit that has ended is followed forward (what did it become?); one still in force is
    followed backward (what formed it?).
    """
    if as_of is not None:
        start = next((v for v in versions if v.valid_on(as_of)), None)
        if start is None:
            raise ValueError(f"not valid on {as_of}")
    elif direction == "forward":
        start = versions[0]
    else:
        start = versions[-1]
    if direction is None:
        direction = "forward" if start.valid_to is not None else "backward"
    return start, direction


def trace(snap: Snapshot, start: V, direction: Direction, depth: int | None = None) -> Lineage:
    """The lineage tree from ``start``; ``depth`` limits the number of event steps."""

    def grow(node: Node, v: V, level: int, seen: frozenset[int]) -> None:
        links = snap.successors(v) if direction == "forward" else snap.predecessors(v)
        if depth is not None and level >= depth:
            node.truncated = bool(links)
            return
        for link in sorted(links, key=lambda x: (x.event.effective, x.id)):
            nxt = link.succ if direction == "forward" else link.pred
            child = Node(nxt, link)
            node.children.append(child)
            if nxt is not None and nxt.id not in seen:
                grow(child, nxt, level + 1, seen | {nxt.id})
            elif nxt is None and direction == "forward":
                child.children = territory(v, link)

    def territory(v: V, link: L) -> list[Node]:
        """A unit dissolved without successor (a district in 2025): the units its sub-units became."""
        from merger.counts import inside

        day = link.event.effective
        last = v.valid_to or day
        found = {r.id: r for c in inside(snap, v.unit_id, last, v.kind)  # its sub-units on its last day
                 for r in snap.descendants_on(c, day).values() if r.level == _below(v.level)}
        return [Node(w, link, territory=True) for w in sorted(found.values(), key=lambda w: (w.full_name, w.code))]

    root = Node(start)
    grow(root, start, 0, frozenset({start.id}))
    return Lineage(root, direction)


def _below(level: str) -> str:
    """The level a dissolved unit's territory is counted in: a district's communes, a province's..."""
    return {"province": "commune", "district": "commune", "commune": "village"}.get(level, level)


def to_dict(snap: Snapshot, node: Node) -> dict[str, Any]:
    """JSON-ready lineage, one object per version reached."""
    out: dict[str, Any] = {}
    if node.version is not None:
        v = node.version
        parent = snap.parent_of(v)
        out.update(key=v.key, code=v.code, name=v.full_name, type=v.type, level=v.level,
                   parent=parent.full_name if parent else None,
                   valid_from=v.valid_from.isoformat() if v.valid_from else None,
                   valid_to=v.valid_to.isoformat() if v.valid_to else None)
    else:
        out["key"] = None
    if node.link is not None:
        ev = node.link.event
        out["via"] = dict(event=ev.key, type=ev.type, effective=ev.effective.isoformat(),
                          act=ev.act.number if ev.act else None, clause=ev.clause,
                          portion=node.link.portion, relation=node.link.relation,
                          share=node.link.share, share_basis=node.link.share_basis,
                          evidence=ev.evidence, source=ev.source, note=node.link.note)
    if node.territory:
        out["via"] = dict(out.get("via", {}), territory=True,
                          note="not a successor: territory of the dissolved unit's sub-units went here")
    out["children"] = [to_dict(snap, c) for c in node.children]
    if node.truncated:
        out["truncated"] = True
    return out
