"""Do the annex's results match the figures the resolution itself states?

A commune-arrangement resolution closes Article 1 with its result: "Sau khi sắp xếp, thành phố
Hải Phòng có 114 đơn vị hành chính cấp xã, gồm 67 xã, 45 phường và 02 đặc khu". ``merger draft``
copies those figures into the annex (``closing_figures:``); ``merger apply --dry-run`` plans the
annex on a private copy of the register and counts the commune-level units inside that province
on the effective day, so staff see at once whether the annex does what the text says.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger.errors import BadInput
from merger.i18n import _

if TYPE_CHECKING:
    from merger.events import Draft
    from merger.graph import Snapshot, V
    from merger.register import Register

KINDS = ("xã", "phường", "đặc khu")


@dataclass
class FigureCheck:
    """Stated vs counted composition of one province after the annex."""

    within: str  # the province's full name
    clause: str | None
    stated: dict[str, int]
    before: dict[str, int]  # commune-level units the annex ends or moves, by type
    after: dict[str, int]  # commune-level units in the province on the effective day, by type

    @property
    def matches(self) -> bool:
        return all(self.after.get(k, 0) == self.stated.get(k, 0) for k in (*KINDS, "total"))

    def to_dict(self) -> dict[str, Any]:
        return dict(within=self.within, clause=self.clause, stated=self.stated, before=self.before,
                    after=self.after, matches=self.matches)


def stated(path: Path) -> dict[str, Any] | None:
    """The ``closing_figures:`` mapping of a YAML annex, or None (CSV, or none stated)."""
    if path.suffix.casefold() not in (".yaml", ".yml"):
        return None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when PyYAML has it
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # the annex reader has already said what is wrong with the file
    figures = data.get("closing_figures") if isinstance(data, dict) else None
    return figures if isinstance(figures, dict) else None


def _composition(versions: list[V]) -> dict[str, int]:
    c = Counter(v.type for v in versions)
    out = {k: c.get(k, 0) for k in sorted(c, key=lambda t: (t not in KINDS, t))}
    for k in KINDS:
        out.setdefault(k, 0)
    out["total"] = len(versions)
    return out


def _inside(snap: Snapshot, v: V, unit_id: int, day: date) -> bool:
    return any(a.unit_id == unit_id for a in snap.ancestors(v, day))


def count(snap: Snapshot, drafts: list[Draft], figures: dict[str, Any], day: date) -> FigureCheck:
    """Compare ``figures`` with the commune-level units inside their province on ``day``, in a
    snapshot the ``drafts`` have been planned on."""
    from merger import search

    within = str(figures.get("within") or "")
    target = snap.by_key.get(within)
    if target is None:
        target = search.resolve(snap, within, as_of=day - timedelta(days=1), levels={"province"}).version
    try:
        want = {k: int(figures.get(k, 0)) for k in (*KINDS, "total")}
    except (TypeError, ValueError):
        raise BadInput(_("closing_figures must be numbers (xã, phường, đặc khu, total)")) from None
    touched = {v.unit_id: v for d in drafts for v in d.ended if v.level == "commune"}
    # A version's ancestors are its parent's walk, so whether it lies inside the target is asked
    # once per parent unit (~100 per province), not once per commune (~3,300).
    inside: dict[int | None, bool] = {}

    def within_target(v: V) -> bool:
        found = inside.get(v.parent_unit_id)
        if found is None:
            found = inside[v.parent_unit_id] = _inside(snap, v, target.unit_id, day)
        return found

    after = [v for v in snap.versions.values() if v.kind == "admin" and v.level == "commune"
             and v.valid_on(day) and within_target(v)]
    clause = figures.get("clause")
    return FigureCheck(target.full_name, str(clause) if clause is not None else None, want,
                       _composition(list(touched.values())), _composition(after))


def check(reg: Register, path: Path, defaults: dict[str, Any] | None = None) -> FigureCheck | None:
    """Plan the annex on a private snapshot and compare with its closing figures (None if it states none).

    Call it after the annex has passed ``annex.apply(..., dry_run=True)``: it plans the same rows.
    """
    from merger import annex, graph
    from merger.events import Planner

    figures = stated(path)
    if figures is None:
        return None
    specs, problems = annex.read(path, defaults)
    if problems or not specs:
        return None
    with reg.engine.connect() as conn:
        snap = graph.load(conn, "figures")
        conn.rollback()
    planner = Planner(snap, {}, datetime.now(UTC), "dry-run", 0)
    drafts = [planner.plan(spec) for spec in specs]
    return count(snap, drafts, figures, max(s.effective for s in specs))
