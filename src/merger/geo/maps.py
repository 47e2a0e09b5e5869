"""A map of one unit version: its neighbours, labels, a scale bar, a legend, and the outlines of
the units it came from on the other side of the reform (for a new Hải Phòng commune, the old
districts it overlaps). Drawn in UTM 48N so the scale bar is true; matplotlib's Agg backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger.errors import BadInput
from merger.i18n import _, fdate, fnum, fpct

if TYPE_CHECKING:
    from merger.geo.data import Boundaries
    from merger.graph import V
    from merger.register import Register

MIN_DRAWN_SHARE = 0.01
MAX_LEGEND_OUTLINES = 8
PRED_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


@dataclass
class MapInfo:
    path: Path
    unit: str
    neighbours: list[str] = field(default_factory=list)
    predecessors: list[str] = field(default_factory=list)  # keys of the outlines drawn


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    for step in (100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000):
        if step >= target:
            return float(step)
    return 200_000.0


def _frame(geom: Any) -> tuple[Any, str]:
    """The part of the unit to frame: without far-off islets when they would shrink the rest
    (Bạch Long Vĩ is 100 km offshore), with a legend note saying what was left out."""
    import shapely

    from merger.geo.data import to_lonlat

    parts = list(shapely.get_parts(geom))
    core = shapely.union_all([p for p in parts if p.area >= 0.01 * geom.area])
    near = [p for p in parts if p.distance(core) <= 10_000]
    far = [p for p in parts if p.distance(core) > 10_000]

    def extent(b: tuple[float, ...]) -> float:
        return max((b[2] - b[0]) * (b[3] - b[1]), 1.0)

    if not far or extent(geom.bounds) / extent(shapely.union_all(near).bounds) < 2.5:
        return geom, ""
    rest = shapely.union_all(far)
    c = to_lonlat([rest.centroid])[0]
    return shapely.union_all(near), _("Not in the frame: {n} outlying part(s), {km2} km², around {x}, {y}").format(
        n=len(far), km2=fnum(rest.area / 1e6, 1), x=f"{c.x:.3f}", y=f"{c.y:.3f}")


def render(register: Register, boundaries: Boundaries, version: V, out: Path, *, as_of: date | None = None,
           dpi: int = 150) -> MapInfo:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.patheffects as pe
    import matplotlib.pyplot as plt
    import shapely
    from matplotlib.collections import PatchCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, PathPatch, Rectangle
    from matplotlib.path import Path as MplPath

    from merger.geo.overlap import overlap

    if out.suffix.lower() not in (".png", ".svg"):
        raise BadInput(f"--out must end in .png or .svg, not {out.suffix or 'nothing'!r}")
    if version.key not in boundaries:
        raise BadInput(f"{version.full_name} ({version.key}) has no geometry; see 'merger boundaries check'")
    snap = register.snapshot
    day = as_of or version.valid_from or version.valid_to or date.today()
    geom = boundaries.metric([version.key])[0]
    same = [v for v in snap.valid_on(day) if v.level == version.level and v.key in boundaries and v.id != version.id]
    same_geoms = boundaries.metric([v.key for v in same])
    rows = [r for r in overlap(register, version, boundaries) if r.key is not None]
    # slivers where two datasets' edges disagree would only clutter the map
    preds = [r for r in rows if r.share_of_unit >= MIN_DRAWN_SHARE or r.in_lineage]
    pred_geoms = boundaries.metric([r.key for r in preds])  # type: ignore[misc]

    frame, left_out = _frame(geom)
    minx, miny, maxx, maxy = frame.bounds
    pad = max(maxx - minx, maxy - miny) * 0.25 + 500
    view = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    view_box = shapely.box(*view)
    neigh = [(v, g) for v, g in zip(same, same_geoms, strict=True) if g.intersects(view_box)]  # all in view

    aspect = (view[3] - view[1]) / (view[2] - view[0])
    fig, ax = plt.subplots(figsize=(10, min(max(10 * aspect, 5.0), 14.0) + 0.25 * (len(preds) + 3)))
    halo = [pe.withStroke(linewidth=3, foreground="white")]

    def draw(g: Any, **kw: Any) -> None:
        """One collection per layer (fast even for Cát Hải's ~100 islands); holes stay holes."""
        patches = []
        for poly in shapely.get_parts(g):
            if poly.is_empty or poly.geom_type != "Polygon":
                continue
            rings = [poly.exterior, *poly.interiors]
            patches.append(PathPatch(MplPath.make_compound_path(*[MplPath(shapely.get_coordinates(r)) for r in rings])))
        if patches:
            ax.add_collection(PatchCollection(
                patches, facecolor=kw["face"] if kw.get("fill", True) else "none", edgecolor=kw["edge"],
                linewidth=kw.get("lw", 0.8), linestyle=kw.get("ls", "-"), zorder=kw.get("z", 1)))

    for v, g in neigh:
        draw(g.intersection(view_box.buffer(pad)), face="#eeeeee", edge="#888888", lw=0.7, z=1)
        seen = g.intersection(view_box.buffer(-(view[2] - view[0]) * 0.06))  # room for the label
        if seen.area >= view_box.area * 0.004:  # a sliver at the frame's edge gets no label
            p = seen.representative_point()
            ax.text(p.x, p.y, v.full_name, fontsize=7.5, ha="center", va="center", color="#444444",
                    path_effects=halo, zorder=6)
    draw(geom, face="#ffe9a8", edge="#b35900", lw=1.8, z=2)
    handles: list[Any] = [Patch(facecolor="#ffe9a8", edgecolor="#b35900", label=f"{version.full_name} ({version.period()})")]
    if neigh:
        handles.append(Patch(facecolor="#eeeeee", edgecolor="#888888", label=_("neighbouring units, same date")))
    drawn = []
    others = [snap.by_key[r.key] for r in preds]  # type: ignore[index]
    preds_end = ", ".join(sorted({_("until {day}").format(day=fdate(w.valid_to)) if w.valid_to
                                  else _("from {day}").format(day=fdate(w.valid_from)) for w in others}))
    many = len(preds) > MAX_LEGEND_OUTLINES  # e.g. a province: one legend line, names on the map
    for n, (row, g) in enumerate(zip(preds, pred_geoms, strict=True)):
        colour = PRED_COLOURS[0 if many else n % len(PRED_COLOURS)]
        draw(g, fill=False, edge=colour, lw=1.4 if many else 2.2, ls="--", z=4)
        drawn.append(row.key)
        if not many:
            label = (_("{name}, {period}: {km2} km² = {share} of the unit").format(
                name=row.name, period=preds_end, km2=fnum(row.area_km2, 2), share=fpct(row.share_of_unit, 0))
                     + ("" if row.in_lineage else _(" (not in the recorded lineage)")))
            handles.append(Line2D([0], [0], color=colour, lw=2.2, ls="--", label=label))
        inside = g.intersection(view_box)
        if inside.is_empty:
            continue
        q = inside.representative_point() if many else inside.boundary.interpolate(0.1, normalized=True)
        ax.text(q.x, q.y, snap.by_key[row.key].name if many else row.name, fontsize=7 if many else 8, color=colour, fontweight="bold",
                ha="center" if many else "left", path_effects=halo, zorder=7)
    if many:
        handles.append(Line2D([0], [0], color=PRED_COLOURS[0], lw=1.4, ls="--",
                              label=_("{n} units, {period} (named on the map; 'merger overlap' lists km² "
                                      "and shares)").format(n=len(preds), period=preds_end)))
    c = geom.representative_point()
    if not many:  # with many outlines named inside, the title alone names the unit
        ax.text(c.x, c.y, version.full_name, fontsize=12, fontweight="bold", ha="center", va="center",
                color="#5a2d00", path_effects=halo, zorder=8)

    # scale bar, bottom left, in metres (UTM)
    length = _nice_length(view[2] - view[0])
    x0, y0 = view[0] + (view[2] - view[0]) * 0.04, view[1] + (view[3] - view[1]) * 0.04
    h = (view[3] - view[1]) * 0.012
    for k in range(2):
        ax.add_patch(Rectangle((x0 + k * length / 2, y0), length / 2, h, facecolor="black" if k == 0 else "white",
                               edgecolor="black", zorder=9))
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x0, y0 + h * 1.8, "0", ha="center", fontsize=9, path_effects=halo, zorder=9)
    ax.text(x0 + length, y0 + h * 1.8, text, ha="center", fontsize=9, path_effects=halo, zorder=9)
    ax.text(view[2] - (view[2] - view[0]) * 0.04, view[3] - (view[3] - view[1]) * 0.06, "N\n↑", ha="center",
            fontsize=12, fontweight="bold", path_effects=halo, zorder=9)

    ax.set_xlim(view[0], view[2])
    ax.set_ylim(view[1], view[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{snap.path(version, day)}\n" + _("{key}, on {day}").format(key=version.key, day=fdate(day)),
                 fontsize=12)
    if drawn:
        at = len(handles) - (1 if many else len(drawn))
        handles.insert(at, Patch(facecolor="none", edgecolor="none",
                                 label=_("Dashed outlines: units on the other side of the reform that it overlaps")))
    if left_out:
        handles.append(Patch(facecolor="none", edgecolor="none", label=left_out))
    sources = sorted({boundaries.features[k].source for k in [version.key, *drawn]})
    handles.append(Patch(facecolor="none", edgecolor="none", label=_(
        "EPSG:32648 (UTM 48N). Boundaries: {sources} (data/boundaries/README.md). Made with merger.").format(
            sources=", ".join(sources))))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), fontsize=8.5, frameon=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return MapInfo(out, version.key, [v.key for v, _ in neigh], drawn)
