"""A lineage as a picture: the unit and what formed it (or what it became), boxes and arrows.

Boundary staff paste it into the new boundary dossiers; seven wards merging into one read faster
as a diagram than as a tree of text. Arrows always run from the older unit to the newer one:
solid for a whole unit, dashed for part of one. matplotlib (the ``report`` or ``geo`` extra) is
imported only when drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from merger.errors import BadInput
from merger.i18n import _, fdate
from merger.lineage import Lineage, Node, relation_label

if TYPE_CHECKING:
    from merger.graph import Snapshot

FORMATS = (".png", ".svg")
MAX_BOXES = 120
NEAR = 0.42  # where on an arrow its label goes, from the older unit (columns are 1 apart)
ROOT, ENDED, CURRENT, GONE = "#fde3a7", "#ececec", "#dcebf7", "#f6d5d5"


@dataclass
class Placed:
    node: Node
    depth: int
    y: float


def pyplot(purpose: str):  # type: ignore[no-untyped-def]
    """matplotlib's pyplot drawing to files only (no display), or BadInput naming the extra.

    Text is drawn as plain text: names are data, and a name like "$\\frac{1}{0}$" must neither be
    typeset as a formula nor make mathtext fail."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BadInput(_("{purpose} needs matplotlib: pip install 'merger[report]'").format(purpose=purpose)) from None
    matplotlib.rcParams["text.parse_math"] = False
    matplotlib.rcParams["text.usetex"] = False
    return plt


def footer(fig, text: str, fontsize: float = 7):  # type: ignore[no-untyped-def]
    """The footer, wrapped to the figure's width and inside it; returns the height (a fraction of
    the figure) it takes, for the layout to leave free. A long list of acts no longer runs off
    the right edge of the picture."""
    import textwrap

    width_pt, height_pt = fig.get_figwidth() * 72, fig.get_figheight() * 72
    per_line = max(20, int(0.98 * width_pt / (0.5 * fontsize)))  # a first guess, then measured
    artist = fig.text(0.01, 0.01, text, fontsize=fontsize, color="#444444", ha="left", va="bottom",
                      linespacing=1.25)
    renderer = fig.canvas.get_renderer()
    lines = [text]
    for _attempt in range(8):  # re-wrap until the measured text fits the picture's width
        lines = textwrap.wrap(text, per_line) or [""]
        artist.set_text("\n".join(lines))
        box = artist.get_window_extent(renderer)
        room = fig.bbox.width * 0.98 - box.x0
        if box.x1 <= fig.bbox.width * 0.99 or per_line <= 10:
            break
        per_line = max(10, int(per_line * room / box.width) - 1)
    return min(0.5, (len(lines) * fontsize * 1.25 * 1.2 + 0.02 * height_pt + 4) / height_pt)


def layout(tree: Lineage) -> list[Placed]:
    """Columns by number of events from the unit; leaves one row apart, a parent between its children."""
    placed: list[Placed] = []
    rows = 0

    def place(node: Node, depth: int) -> float:
        nonlocal rows
        if node.children:
            ys = [place(c, depth + 1) for c in node.children]
            y = sum(ys) / len(ys)
        else:
            y, rows = float(rows), rows + 1
        placed.append(Placed(node, depth, y))
        return y

    place(tree.root, 0)
    return placed


def label(snap: Snapshot, node: Node) -> str:
    v = node.version
    if v is None:
        return _("dissolved\n(no successor)")
    parent = snap.parent_of(v)
    lines = [v.full_name, parent.full_name if parent else "", f"{v.code} · {v.period()}"]
    if node.truncated:
        lines.append(_("… (--depth)"))
    return "\n".join(x for x in lines if x)


def draw(snap: Snapshot, tree: Lineage, out: Path) -> Path:
    """Write the lineage diagram to ``out`` (.png or .svg); returns the path."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise BadInput(_("cannot draw {name}: use a .png or .svg file name").format(name=out.name))
    plt = pyplot("drawing a lineage")
    placed = layout(tree)
    if len(placed) > MAX_BOXES:
        raise BadInput(_("the lineage has {len:,} units, too many to draw legibly (at most {max_boxes}); limit it "
                         "with --depth").format(len=len(placed), max_boxes=MAX_BOXES))
    depth = max(p.depth for p in placed)
    rows = max(p.y for p in placed) + 1
    sign = 1 if tree.direction == "forward" else -1  # the older units on the left
    fig, ax = plt.subplots(figsize=(2.2 + 3.3 * (depth + 1), 1.4 + 0.78 * rows), dpi=110)
    ax.set_xlim(-0.6 + (0 if sign > 0 else -depth), 0.6 + (depth if sign > 0 else 0))
    ax.set_ylim(rows - 0.4, -0.6)
    ax.axis("off")
    boxes = {}
    for p in placed:
        v = p.node.version
        colour = ROOT if p.depth == 0 else GONE if v is None else ENDED if v.valid_to is not None else CURRENT
        boxes[id(p.node)] = ax.text(sign * p.depth, p.y, label(snap, p.node), ha="center", va="center",
                                    fontsize=8, linespacing=1.3, wrap=False,
                                    bbox=dict(boxstyle="round,pad=0.45", fc=colour, ec="#6b6b6b", lw=0.8))
    ys = {id(p.node): p.y for p in placed}
    events = set()
    for p in placed:
        for child in p.node.children:
            link = child.link
            assert link is not None
            events.add((link.event.effective, link.event.basis() or link.event.key))
            older, newer = (p.node, child) if tree.direction == "forward" else (child, p.node)
            part = link.portion == "part"
            ax.annotate("", xy=(0, 0.5), xycoords=boxes[id(newer)], xytext=(1, 0.5), textcoords=boxes[id(older)],
                        arrowprops=dict(arrowstyle="-|>", color="#c0392b" if part else "#34495e", lw=1.1,
                                        linestyle="--" if part else "-", shrinkA=2, shrinkB=2,
                                        connectionstyle="arc3,rad=0"))
            # the label sits near the older unit, where the arrows have not yet converged
            y_old, y_new = (p.y, ys[id(child)]) if tree.direction == "forward" else (ys[id(child)], p.y)
            x_old = sign * (p.depth if tree.direction == "forward" else p.depth + 1)
            ax.text(x_old + NEAR, y_old + (y_new - y_old) * NEAR, relation_label(link.relation),
                    ha="center", va="center", fontsize=6.5, color="#555555",
                    bbox=dict(fc="white", ec="none", pad=0.5, alpha=0.9))
    root = tree.root.version
    assert root is not None
    what = _("What {unit} became") if tree.direction == "forward" else _("What {unit} was formed from")
    ax.set_title(what.format(unit=root.full_name), fontsize=11, loc="left")
    basis = "; ".join(f"{fdate(day)}: {act}" for day, act in sorted(events)[:4]) + (" …" if len(events) > 4 else "")
    band = footer(fig, _("Solid arrow: whole unit; dashed: part of it. {basis}. Made with merger.").format(basis=basis))
    fig.tight_layout(rect=(0, band, 1, 1))
    from merger.outputs import writing

    try:
        with writing(out) as tmp, plt.rc_context({"svg.fonttype": "none"}):  # SVG text stays text
            fig.savefig(tmp, format=out.suffix.lower().lstrip("."))
    finally:
        plt.close(fig)
    return out
