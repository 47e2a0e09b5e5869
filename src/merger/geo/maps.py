"""A map of one unit version: its neighbours, labels, a scale bar, a legend, and the outlines of
the units it came from on the other side of the reform (for a new Hải Phòng commune, the old
districts it overlaps). Drawn in an equal-area projection for Vietnam (lengths within ~1 %, so
the scale bar holds); matplotlib's Agg backend. ``render_overview`` draws every unit of one level
in a province or the whole country.
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


def share_text(share: float) -> str:
    """A share for the legend that never reads "0%": a recorded predecessor that only touches the
    unit (the two datasets' edges disagree) shows as "< 0.1%", small ones with a decimal."""
    if share >= 0.01:
        return fpct(share, 0)
    return fpct(share, 1) if share >= 0.001 else f"< {fpct(0.001, 1)}"


def render(register: Register, boundaries: Boundaries, version: V, out: Path, *, as_of: date | None = None,
           dpi: int = 150) -> MapInfo:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False  # names are drawn as plain text, never as TeX math
    import matplotlib.patheffects as pe
    import matplotlib.pyplot as plt
    import shapely
    from matplotlib.collections import PatchCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, PathPatch, Rectangle
    from matplotlib.path import Path as MplPath

    from merger.geo.data import to_lonlat
    from merger.geo.overlap import overlap

    if out.suffix.lower() not in (".png", ".svg"):
        raise BadInput(_("--out must end in .png or .svg, not {value!r}").format(value=out.suffix or 'nothing'))
    if version.key not in boundaries:
        raise BadInput(_("{full_name} ({key}) has no geometry; see 'merger boundaries check'").format(full_name=version.full_name, key=version.key))
    snap = register.snapshot
    day = as_of or version.valid_from or version.valid_to or date.today()
    geom = boundaries.metric([version.key])[0]
    rows = [r for r in overlap(register, version, boundaries) if r.key is not None]
    # slivers where two datasets' edges disagree would only clutter the map
    preds = [r for r in rows if r.share_of_unit >= MIN_DRAWN_SHARE or r.in_lineage]
    pred_geoms = boundaries.metric([r.key for r in preds])  # type: ignore[misc]

    frame, left_out = _frame(geom)
    minx, miny, maxx, maxy = frame.bounds
    pad = max(maxx - minx, maxy - miny) * 0.25 + 500
    view = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    view_box = shapely.box(*view)
    # the same level's units in view, found by bounding box: only those geometries are read
    around = to_lonlat([view_box.buffer(pad)])[0].bounds
    same = [v for v in snap.valid_on(day) if v.level == version.level and v.key in boundaries and v.id != version.id]
    near_keys = set(boundaries.in_box([v.key for v in same], around))
    same = [v for v in same if v.key in near_keys]
    same_geoms = boundaries.metric([v.key for v in same])
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
                name=row.name, period=preds_end, km2=fnum(row.area_km2, 2), share=share_text(row.share_of_unit))
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

    # scale bar, bottom left, in metres
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
        "Albers equal-area (Vietnam). Boundaries: {sources} (data/boundaries/README.md). Made with merger.").format(
            sources=", ".join(sources))))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), fontsize=8.5, frameon=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return MapInfo(out, version.key, [v.key for v, _ in neigh], drawn)


COUNTRY_NAMES = {"viet nam", "vietnam", "vn", "ca nuoc", "toan quoc"}  # folded: the whole country
FILLS = ("#f2d7a7", "#c9dfb4", "#b9d3e6", "#e8c3cf", "#d9cfe8", "#f0e6a6")


@dataclass
class OverviewInfo:
    path: Path
    level: str
    units: list[str] = field(default_factory=list)  # keys drawn
    labelled: list[str] = field(default_factory=list)  # keys whose label was placed
    unlabelled: list[str] = field(default_factory=list)  # left out: no room without a collision
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)  # placed labels, pixels
    callouts: list[str] = field(default_factory=list)  # keys named outside their unit, with a leader line
    insets: list[str] = field(default_factory=list)  # keys far off the rest, drawn in an inset


def is_country(within: str | None) -> bool:
    from merger.names import fold

    return within is None or fold(within).strip() in COUNTRY_NAMES


def _colours(geoms: list[Any]) -> list[int]:
    """Greedy colouring: units that touch get different fills (largest first, so it stays stable)."""
    import shapely

    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    near: dict[int, set[int]] = {}
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i != j:
            near.setdefault(i, set()).add(j)
    out = [-1] * len(geoms)
    for i in sorted(range(len(geoms)), key=lambda k: -geoms[k].area):
        used = {out[j] for j in near.get(i, ())}
        out[i] = next(c for c in range(len(FILLS) + 8) if c not in used) % len(FILLS)
    return out


def _far(geoms: list[Any]) -> list[int]:
    """Units far off the rest (Bạch Long Vĩ, ~70 km out in the gulf): drawn in insets, so the
    rest is not shrunk to leave room for the sea between (at most three; never for two units).
    Only units that touch no other are measured (distances between provinces' outlines are slow)."""
    import numpy as np
    import shapely

    if len(geoms) < 3:
        return []
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    touching = set(left[left != right].tolist())
    far = []
    for i, g in enumerate(geoms):
        if i in touching:
            continue
        others = [geoms[j] for j in range(len(geoms)) if j != i]
        x0, y0, x1, y1 = shapely.total_bounds(others)
        reach = 0.15 * max(x1 - x0, y1 - y0)
        near = tree.query(g, predicate="dwithin", distance=reach)
        if not np.any(near != i):
            far.append(i)
    return far[:3]


class _Placed:
    """The label boxes placed so far (display pixels), tested all at once."""

    def __init__(self, boxes: list[Any]):
        self.boxes: list[Any] = []
        self._shapes: Any = None
        for b in boxes:
            self.append(b)

    def append(self, box: Any) -> None:
        import numpy as np

        self.boxes.append(box)
        self._arr = np.array([(b.x0, b.y0, b.x1, b.y1) for b in self.boxes], dtype=float)
        self._shapes = None

    def overlaps(self, box: Any) -> bool:
        """As matplotlib's Bbox.overlaps against any placed box (touching edges count)."""
        import numpy as np

        if not self.boxes:
            return False
        a = self._arr
        return bool(np.any((a[:, 0] <= box.x1) & (box.x0 <= a[:, 2]) & (a[:, 1] <= box.y1) & (box.y0 <= a[:, 3])))

    def crossed(self, line: Any) -> bool:
        """Whether a leader line crosses a placed box."""
        import shapely

        if not self.boxes:
            return False
        if self._shapes is None:
            self._shapes = shapely.box(self._arr[:, 0], self._arr[:, 1], self._arr[:, 2], self._arr[:, 3])
        return bool(shapely.intersects(line, self._shapes).any())


def _paths(geoms: list[Any], fills: list[int]) -> tuple[list[Any], list[str]]:
    import shapely
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    patches, colours = [], []
    for g, c in zip(geoms, fills, strict=True):
        for poly in shapely.get_parts(g):
            rings = [poly.exterior, *poly.interiors]
            patches.append(PathPatch(MplPath.make_compound_path(*[MplPath(shapely.get_coordinates(r)) for r in rings])))
            colours.append(FILLS[c])
    return patches, colours


def render_overview(register: Register, boundaries: Boundaries, out: Path, *, level: str | None = None,
                    within: str | None = None, as_of: date | None = None, dpi: int = 150) -> OverviewInfo:
    """Every unit of one level in a territory (the 34 provinces of the country, or a province's
    communes), one fill per unit so neighbours differ, and the names placed largest first where
    they collide with no name already placed; a name that fits nowhere inside its unit goes
    outside it, over the sea or empty ground where possible, with a leader line (the others are
    counted in the legend). Units far off the rest (islands) get an inset."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False  # names are drawn as plain text, never as TeX math
    import matplotlib.patheffects as pe
    import matplotlib.pyplot as plt
    import shapely
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Patch
    from matplotlib.transforms import Bbox

    from merger import counts
    from merger.lineage import level_name

    if out.suffix.lower() not in (".png", ".svg"):
        raise BadInput(_("--out must end in .png or .svg, not {value!r}").format(value=out.suffix or 'nothing'))
    snap = register.snapshot
    day = as_of or date.today()
    country = is_country(within)
    level = level or ("province" if country else "commune")
    if country:
        versions = [v for v in snap.valid_on(day) if v.level == level and v.kind == "admin"]
        place = "Việt Nam"
    else:
        match = register.resolve(within, as_of=day, containers=True)  # type: ignore[arg-type]
        versions = [v for v in counts.inside(snap, match.unit_id, day, "admin") if v.level == level]
        place = match.version.full_name
    title = _("{place}: units at {level} level on {day}").format(place=place, level=level_name(level),
                                                                 day=fdate(day))
    drawn = sorted((v for v in versions if v.key in boundaries), key=lambda v: v.code)
    if not drawn:
        if country:
            raise BadInput(_("no {level} with a boundary on {day}").format(level=level, day=day))
        raise BadInput(_("no {level} with a boundary on {day} within {within}").format(level=level, day=day,
                                                                                       within=repr(within)))
    geoms = boundaries.metric([v.key for v in drawn])
    fills = _colours(geoms)
    far = _far(geoms)
    main = [i for i in range(len(drawn)) if i not in far]
    minx, miny, maxx, maxy = shapely.total_bounds([geoms[i] for i in main])
    pad = max(maxx - minx, maxy - miny) * 0.03
    aspect = (maxy - miny + 2 * pad) / (maxx - minx + 2 * pad)
    width = 10.0 if aspect >= 1 else 14.0
    fig, ax = plt.subplots(figsize=(width, min(max(width * aspect, 6.0), 22.0)))
    patches, colours = _paths([geoms[i] for i in main], [fills[i] for i in main])
    ax.add_collection(PatchCollection(patches, facecolor=colours, edgecolor="#555555", linewidth=0.4, zorder=1))
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=13)
    halo = [pe.withStroke(linewidth=2.5, foreground="white")]
    info = OverviewInfo(out, level, [v.key for v in drawn])
    insets = []
    # each far unit in a box at its own scale, in the corners the drawn units cover least
    x_lo, x_hi, y_lo, y_hi = minx - pad, maxx + pad, miny - pad, maxy + pad
    corners = [(0.76, 0.02), (0.76, 0.72), (0.02, 0.02), (0.02, 0.72)]

    def covered(c: tuple[float, float]) -> float:
        cell = shapely.box(x_lo + c[0] * (x_hi - x_lo), y_lo + c[1] * (y_hi - y_lo),
                           x_lo + (c[0] + 0.22) * (x_hi - x_lo), y_lo + (c[1] + 0.22) * (y_hi - y_lo))
        return sum(geoms[j].intersection(cell).area for j in main if geoms[j].intersects(cell))

    corners = sorted(corners, key=covered) if far else []
    for n, i in enumerate(far):
        sub = ax.inset_axes((*corners[n], 0.22, 0.22))
        sub_patches, _colours_ = _paths([geoms[i]], [fills[i]])
        sub.add_collection(PatchCollection(sub_patches, facecolor=FILLS[fills[i]], edgecolor="#555555", linewidth=0.4))
        x0, y0, x1, y1 = geoms[i].bounds
        r = max(x1 - x0, y1 - y0) * 0.6 + 500
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        sub.set_xlim(cx - r, cx + r)
        sub.set_ylim(cy - r, cy + r)
        sub.set_aspect("equal")
        sub.set_xticks([])
        sub.set_yticks([])
        sub.set_title(drawn[i].name, fontsize=8)
        insets.append(sub)
        info.insets.append(drawn[i].key)
    fig.canvas.draw()  # the renderer measures the labels
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    size = 8.0 if len(drawn) <= 40 else 6.5
    placed = _Placed([sub.get_window_extent(renderer).expanded(1.0, 1.15) for sub in insets])
    span = max(maxx - minx, maxy - miny)
    left = []

    def measure(name: str, fs: float) -> tuple[float, float, float, float]:
        """The name's box (with a margin) relative to its anchor: dx, dy of the lower left, w, h."""
        at = (sum(ax.get_xlim()) / 2, sum(ax.get_ylim()) / 2)  # inside the view
        probe = ax.text(*at, name, fontsize=fs, ha="center", va="center", path_effects=halo)
        e = probe.get_window_extent(renderer).expanded(1.05, 1.1)
        probe.remove()
        ox, oy = ax.transData.transform(at)
        return e.x0 - ox, e.y0 - oy, e.width, e.height

    for i in sorted(main, key=lambda k: -geoms[k].area):
        v, g = drawn[i], geoms[i]
        biggest = max(shapely.get_parts(g), key=lambda p: p.area)
        p = biggest.representative_point()
        # where the name fits: the unit's inner point, then nudged around it (still inside the
        # unit), then a size smaller
        step = span * 0.012
        spots = [(p.x, p.y)] + [(p.x + dx * step, p.y + dy * step) for dx, dy in
                                ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, -1), (1, -1), (-1, 1), (0, 2), (0, -2))
                                if biggest.contains(shapely.Point(p.x + dx * step, p.y + dy * step))]
        box = None
        for fs in (size, size * 0.8):
            # a name's box moves with its anchor: measured once per size, then only shifted
            dx0, dy0, w, h = measure(v.name, fs)
            for x, y in spots:
                ax_, ay_ = ax.transData.transform((x, y))
                box = Bbox.from_bounds(ax_ + dx0, ay_ + dy0, w, h)
                if not placed.overlaps(box):
                    ax.text(x, y, v.name, fontsize=fs, ha="center", va="center", color="#222222",
                            path_effects=halo, zorder=5)
                    break
                box = None
            if box is not None:
                break
        if box is None:
            left.append((i, p))
            continue
        placed.append(box)
        info.labelled.append(v.key)
        info.boxes.append((box.x0, box.y0, box.x1, box.y1))
    # the names that fit nowhere inside their unit: outside it with a leader line, first where the
    # label covers no unit (sea, neighbouring countries), then anywhere free; never over a name
    tree = shapely.STRtree([geoms[i] for i in main])
    frame = ax.get_window_extent(renderer)
    to_data = ax.transData.inverted()
    fs = size * 0.9
    for i, p in sorted(left, key=lambda ip: geoms[ip[0]].area):  # the smallest, hardest to place, first
        v = drawn[i]
        dx0, dy0, w, h = measure(v.name, fs)
        # the line starts at a point of the unit that no name covers (a large neighbour's name
        # may lie over a small unit's inner point)
        covers = [shapely.box(*to_data.transform([(b.x0, b.y0), (b.x1, b.y1)]).ravel()) for b in placed.boxes]
        free = max(shapely.get_parts(geoms[i]), key=lambda q: q.area).difference(shapely.union_all(covers))
        if not free.is_empty:
            p = max(shapely.get_parts(free), key=lambda q: q.area).representative_point()
        ax_, ay_ = ax.transData.transform((p.x, p.y))
        spot = None
        for over_land in (False, True):
            for radius in (25, 40, 60, 85, 115, 150, 190, 240, 300, 370, 450):
                for k in range(24):
                    a = math.pi * 2 * k / 24
                    cx, cy = ax_ + radius * math.cos(a), ay_ + radius * math.sin(a)
                    box = Bbox.from_bounds(cx + dx0, cy + dy0, w, h)
                    if not (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1):
                        continue
                    if placed.overlaps(box):
                        continue
                    # the leader line crosses no name either
                    line = shapely.LineString([(ax_, ay_), (cx, cy)])
                    if placed.crossed(line):
                        continue
                    if not over_land:
                        (lx0, ly0), (lx1, ly1) = to_data.transform([(box.x0, box.y0), (box.x1, box.y1)])
                        if len(tree.query(shapely.box(lx0, ly0, lx1, ly1), predicate="intersects")):
                            continue
                    spot = (cx, cy, box)
                    break
                if spot:
                    break
            if spot:
                break
        if spot is None:
            info.unlabelled.append(v.key)
            continue
        cx, cy, box = spot
        tx, ty = to_data.transform((cx, cy))
        ax.annotate(v.name, xy=(p.x, p.y), xytext=(tx, ty), fontsize=fs, ha="center", va="center",
                    color="#222222", path_effects=halo, zorder=6,
                    arrowprops=dict(arrowstyle="-", color="#333333", linewidth=0.6, shrinkA=0, shrinkB=1))
        placed.append(box)
        info.labelled.append(v.key)
        info.callouts.append(v.key)
        info.boxes.append((box.x0, box.y0, box.x1, box.y1))
    sources = sorted({boundaries.features[v.key].source for v in drawn})
    named = _("{n} units drawn, {k} named").format(n=fnum(len(drawn)), k=fnum(len(info.labelled) + len(far)))
    if info.callouts:
        named += _(" ({n} outside their unit, with a line)").format(n=fnum(len(info.callouts)))
    if far:
        named += _("; {n} far off the rest in a box at its own scale").format(n=fnum(len(far)))
    if info.unlabelled:
        named += _("; {n} names left out where they would overlap another (a smaller territory, --within, "
                   "shows more)").format(n=fnum(len(info.unlabelled)))
    handles = [Patch(facecolor="none", edgecolor="none", label=named),
               Patch(facecolor="none", edgecolor="none", label=_(
                   "Albers equal-area (Vietnam). Boundaries: {sources} (data/boundaries/README.md). Made with "
                   "merger.").format(sources=", ".join(sources)))]
    missing = len(versions) - len(drawn)
    if missing:
        handles.insert(1, Patch(facecolor="none", edgecolor="none",
                                label=_("{n} unit(s) without a boundary").format(n=fnum(missing))))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), fontsize=8.5, frameon=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return info
