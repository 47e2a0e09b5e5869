"""Summaries for people: what changed between two dates, and a self-contained before/after report.

``diff`` groups every event between the dates by type (merges, partial transfers, renames,
reclassifications, dissolutions, establishments, ...) and lists old units divided between
several successors, since in the 2025 reform partial transfers happen inside merges.
``build`` adds the before/after counts and, for each new unit, its predecessors with shares;
``write`` renders it as one HTML file (CSS and the matplotlib chart embedded, nothing fetched
from the network) or as Markdown with the chart as a data URI.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger import counts as counts_mod
from merger.crosswalk import Composer, Row, paused_gc
from merger.diagram import pyplot
from merger.errors import BadInput
from merger.graph import LEVEL_ORDER, E, L, Snapshot, V
from merger.i18n import N_, _, fdate, fnum, pgettext
from merger.lineage import relation_label

if TYPE_CHECKING:
    from merger.register import Register

GROUPS: tuple[tuple[str, str], ...] = (
    ("merge", N_("Merges")),
    ("transfer", N_("Partial transfers")),
    ("split", N_("Splits")),
    ("rename", N_("Renames")),
    ("reclassify", N_("Reclassifications")),
    ("dissolve", N_("Dissolutions")),
    ("establish", N_("Establishments")),
    ("move", N_("Unchanged, re-parented")),
    ("continue", N_("Carried over unchanged")),
)
GROUP_LABELS = dict(GROUPS)  # English (CSV, JSON); group_label() for people
LEVEL_LABELS = {"province": N_("Provinces"), "district": N_("District level"), "commune": N_("Communes"),
                "village": N_("Villages"), "agency": N_("Agencies")}


def group_label(event_type: str) -> str:
    """A group of events in the current language ("Merges", "Sáp nhập")."""
    return _(GROUP_LABELS[event_type]) if event_type in GROUP_LABELS else event_type


def level_label(level: str) -> str:
    """A level in the current language ("Communes", "Cấp xã")."""
    return _(LEVEL_LABELS[level]) if level in LEVEL_LABELS else level


@dataclass
class Change:
    """One event, seen from its successors: who formed what, how."""

    event: E
    links: list[L]

    @property
    def successors(self) -> list[V]:
        return list({link.succ.id: link.succ for link in self.links if link.succ is not None}.values())

    @property
    def predecessors(self) -> list[V]:
        return list({link.pred.id: link.pred for link in self.links if link.pred is not None}.values())

    @property
    def level(self) -> str:
        vs = self.successors or self.predecessors
        return vs[0].level if vs else ""

    def sort_key(self) -> tuple:
        vs = self.successors or self.predecessors
        return (LEVEL_ORDER.get(self.level, 9), vs[0].code if vs else "", self.event.key)

    def summary(self, english: bool = False) -> str:
        """"Phường Hải An ← Phường Đông Hải 1 (whole), Phường Nam Hải (part)"; ``english`` for
        machine output (JSON, CSV), which is the same in every language."""
        if english:
            from merger import i18n

            with i18n.use("en"):
                return self.summary()
        succ = self.successors
        preds = [f"{link.pred.full_name} ({_portion(link)})" for link in self.links if link.pred is not None]
        if not succ:
            return _("{units} dissolved").format(units=", ".join(p.full_name for p in self.predecessors))
        if not preds:
            return _("{units} established").format(units=", ".join(v.full_name for v in succ))
        return f"{', '.join(v.full_name for v in succ)} ← {', '.join(preds)}"


def _portion(link: L) -> str:
    if link.relation == "whole":
        return _("whole")
    return relation_label(link.relation)


@dataclass
class Diff:
    start: date
    end: date
    within: str | None
    groups: dict[str, list[Change]]
    divided: list[tuple[V, list[V]]] = field(default_factory=list)  # old units split between successors

    def counts(self) -> dict[str, int]:
        return {t: len(cs) for t, cs in self.groups.items()}

    def by_level(self, group: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.groups.get(group, []):
            out[c.level] = out.get(c.level, 0) + 1
        return out

    @property
    def total(self) -> int:
        return sum(len(cs) for cs in self.groups.values())


def _scope(reg: Register, within: str | None, lo: date, hi: date) -> tuple[str | None, set[int] | None]:
    if not within:
        return None, None
    snap = reg.snapshot
    unit = reg.resolve(within, containers=True)
    ids = {v.id for day in (lo, hi) for v in counts_mod.territory_on(snap, unit.version, day, None)}
    return unit.version.full_name, ids


def diff(reg: Register, start: date, end: date, *, within: str | None = None, kind: str | None = "admin") -> Diff:
    """Every event after ``start`` up to ``end`` (either order), grouped by type.

    ``kind`` "admin" keeps administrative units (as the counts do), "agency" the agencies,
    None both."""
    lo, hi = min(start, end), max(start, end)
    snap = reg.snapshot
    label, scope = _scope(reg, within, lo, hi)
    groups: dict[str, list[Change]] = {}
    divided: dict[int, tuple[V, dict[int, V]]] = {}
    for ev in snap.events.values():
        if not (lo < ev.effective <= hi):
            continue
        links = snap.event_links.get(ev.id, [])
        if kind is not None and not any((x.pred or x.succ).kind == kind for x in links  # type: ignore[union-attr]
                                        if x.pred is not None or x.succ is not None):
            continue
        if scope is not None:
            links_in = [x for x in links if (x.pred is not None and x.pred.id in scope)
                        or (x.succ is not None and x.succ.id in scope)]
            if not links_in:
                continue
        groups.setdefault(ev.type, []).append(Change(ev, list(links)))
        for x in links:
            if x.pred is not None and x.succ is not None and x.portion == "part":
                entry = divided.setdefault(x.pred.id, (x.pred, {}))
                entry[1][x.succ.id] = x.succ
    order = [t for t, _ in GROUPS] + sorted(t for t in groups if t not in GROUP_LABELS)
    ordered = {t: sorted(groups[t], key=Change.sort_key) for t in order if t in groups}
    split = [(v, sorted(s.values(), key=lambda x: x.code)) for v, s in divided.values() if len(s) > 1]
    split.sort(key=lambda p: (LEVEL_ORDER.get(p[0].level, 9), p[0].code))
    return Diff(lo, hi, label, ordered, split)


@dataclass
class NewUnit:
    version: V
    stats: dict[str, Any] | None
    predecessors: list[tuple[Row, bool]]  # (backward crosswalk row, predecessor divided?)


@dataclass
class Report:
    title: str
    counts: counts_mod.Counts
    diff: Diff
    new_units: list[NewUnit]
    generated: date


def build(reg: Register, *, within: str | None = None, start: date = date(2025, 6, 30),
          end: date = date(2025, 7, 1), weights: str = "population", kind: str = "admin") -> Report:
    """Everything the report shows, computed once (the renderers only format it)."""
    if end <= start:
        raise BadInput(_("the report needs --from before --to (got {start} and {end})").format(
            start=fdate(start), end=fdate(end)))
    snap = reg.snapshot
    cnt = reg.counts(before=start, after=end, within=within, kind=kind)
    d = diff(reg, start, end, within=within, kind=kind)
    composer = Composer(snap, weights)
    if within:
        unit = reg.resolve(within, containers=True)
        after = counts_mod.territory_on(snap, unit.version, end, kind)
    else:
        after = snap.valid_on(end, kind)
    fresh = [v for v in after if v.valid_from is not None and start < v.valid_from <= end]
    fresh.sort(key=lambda v: (LEVEL_ORDER.get(v.level, 9), v.code))
    new_units: list[NewUnit] = []
    with paused_gc():
        for v in fresh:
            rows = composer.compose(v, start)
            preds = [(r, r.target is not None and sum(1 for f in composer.compose(r.target, end)
                                                      if f.target is not None) > 1) for r in rows]
            new_units.append(NewUnit(v, snap.statistics(v), preds))
    what = _("Agencies {start} → {end}") if kind == "agency" else _("Administrative units {start} → {end}")
    title = what.format(start=fdate(start), end=fdate(end))
    return Report(f"{title} — {cnt.within or _('Viet Nam')}", cnt, d, new_units, date.today())


# --- chart ----------------------------------------------------------------------------------------


def chart_png(report: Report) -> bytes:
    """Before/after bar chart by level and type, as PNG bytes (matplotlib, no display needed)."""
    plt = pyplot("the report's chart")
    rows = [r for r in report.counts.rows if r.type is not None and (r.before or r.after)]
    labels = [f"{level_label(r.level)}: {r.type}" for r in rows]
    before = [r.before for r in rows]
    after = [r.after for r in rows]
    height = 0.38
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.6), dpi=110)
    ys = list(range(len(rows)))
    b1 = ax.barh([y - height / 2 for y in ys], before, height, label=fdate(report.counts.before), color="#7f8fa6")
    b2 = ax.barh([y + height / 2 for y in ys], after, height, label=fdate(report.counts.after), color="#e1812c")
    ax.bar_label(b1, padding=3, fontsize=8, fmt=fnum)
    ax.bar_label(b2, padding=3, fontsize=8, fmt=fnum)
    ax.set_yticks(ys, labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel(_("number of units"))
    ax.set_title(_("Units before and after, by level and type"), fontsize=11)
    ax.legend(loc="lower right", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlim(0, max(before + after + [1]) * 1.15)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


# --- rendering ------------------------------------------------------------------------------------
# The pages are Jinja2 templates (merger/templates/report.*.j2), filled with the figures below,
# already formatted for the current language. HTML values are autoescaped; in Markdown every value
# goes through md_escape (a unit name or act cannot inject markup, HTML or table cells).

_MD_SPECIAL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\\": "\\\\", "`": "\\`", "*": "\\*",
                             "_": "\\_", "[": "\\[", "]": "\\]", "|": "\\|", "\n": " ", "\r": " "})


def md_escape(value: object) -> str:
    """A value safe in Markdown text and table cells: HTML and Markdown's special characters escaped."""
    if value is None:
        return ""
    return str(value).translate(_MD_SPECIAL)


def _environment(fmt: str):  # type: ignore[no-untyped-def]
    """The Jinja2 environment for "html" (autoescaped) or "md" (every value through md_escape)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("merger", "templates"),
        autoescape=fmt == "html",
        finalize=md_escape if fmt == "md" else None,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(_, lambda s, p, n: _(s) if n == 1 else _(p), newstyle=True,  # type: ignore[attr-defined]
                                  pgettext=pgettext)
    return env


def _pred_text(row: Row, divided: bool, snap: Snapshot) -> tuple[str, str]:
    """A predecessor of a new unit: its name, and the note on the part taken ("" for a whole unit)."""
    v = row.target
    if v is None:
        return _("(no predecessor recorded)"), ""
    parent = snap.parent_of(v)
    where = f", {parent.full_name}" if parent is not None and parent.level == "district" else ""
    if not divided:
        return f"{v.full_name}{where}", ""
    share = fnum(row.share * 100) + "%"
    part = _("part; {share} of the new unit").format(share=share if row.exact else "≈" + share)
    if row.share == 0 and row.bases & {"recorded-population", "stated-population"}:
        part = _("part of its area, none of its population")
    return f"{v.full_name}{where}", part


def view(report: Report, snap: Snapshot, png: bytes | None) -> dict[str, Any]:
    """What the templates show, formatted for the current language."""
    from merger import i18n

    c, d = report.counts, report.diff
    cards = []
    for level in ("province", "district", "commune"):
        try:
            t = c.total(level)
        except StopIteration:
            continue
        cards.append(dict(label=level_label(level), before=fnum(t.before), after=fnum(t.after),
                          change=_signed(t.change), negative=t.change < 0))
    rows = [dict(total=r.type is None, label=level_label(r.level) if r.type is None else r.type,
                 before=fnum(r.before), after=fnum(r.after), change=_signed(r.change),
                 cls="neg" if r.change < 0 else ("pos" if r.change > 0 else "")) for r in c.rows]
    groups = [dict(label=group_label(t), n=fnum(len(cs)),
                   levels=", ".join(f"{level_label(k).lower()} {fnum(n)}" for k, n in d.by_level(t).items()),
                   changes=[dict(summary=ch.summary(), basis=ch.event.basis() or "") for ch in cs])
              for t, cs in d.groups.items()]
    divided = [dict(path=snap.path(v), successors=", ".join(x.full_name for x in succ)) for v, succ in d.divided]
    new_units = []
    for nu in report.new_units:
        v, st = nu.version, nu.stats or {}
        created = snap.predecessors(v)
        new_units.append(dict(code=v.code, name=v.full_name, type=v.type,
                              area="" if st.get("area_km2") is None else fnum(st["area_km2"], 2),
                              population="" if st.get("population") is None else fnum(st["population"]),
                              predecessors=[_pred_text(r, div, snap) for r, div in nu.predecessors],
                              basis=created[0].event.basis() if created else ""))
    return dict(lang=i18n.current().code, title=report.title, generated=fdate(report.generated),
                before=fdate(c.before), after=fdate(c.after), cards=cards, rows=rows,
                chart=base64.b64encode(png).decode("ascii") if png else None,
                total=fnum(d.total), groups=groups, divided=divided, n_divided=fnum(len(d.divided)),
                new_units=new_units, n_new=fnum(len(report.new_units)), css=_CSS)


def _signed(n: int) -> str:
    return ("+" if n > 0 else "") + fnum(n)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:2rem auto;max-width:1100px;
color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #e1812c;padding-bottom:.2rem;margin-top:2rem}
.meta{color:#666;font-size:.9rem}table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .55rem;vertical-align:top}th{background:#f4f4f4;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:600;background:#fafafa}
.neg{color:#b3261e}.pos{color:#1b7f3b}.part{color:#b36200}.est{color:#888;font-size:.8rem}
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}ul{margin:.3rem 0 .3rem 1.2rem;padding:0}
img{max-width:100%;border:1px solid #eee}.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:.5rem .9rem;min-width:9rem}
.card b{display:block;font-size:1.4rem}
"""


def to_html(report: Report, snap: Snapshot, png: bytes | None) -> str:
    return _environment("html").get_template("report.html.j2").render(view(report, snap, png))


def to_markdown(report: Report, snap: Snapshot, png: bytes | None) -> str:
    return _environment("md").get_template("report.md.j2").render(view(report, snap, png))


def write(report: Report, snap: Snapshot, out: Path, *, chart: bool = True) -> Path:
    """Render to ``out`` by its suffix (.html/.htm or .md), atomically."""
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".md", ".markdown"):
        raise BadInput(_("cannot tell the format of {name}: use a .html or .md file name").format(name=out.name))
    png = chart_png(report) if chart else None
    text = to_html(report, snap, png) if suffix in (".html", ".htm") else to_markdown(report, snap, png)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BadInput(_("cannot write {path}: {reason}").format(path=out, reason=exc.strerror or exc)) from None
    return out
