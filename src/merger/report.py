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
import html
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
from merger.lineage import RELATION_LABELS

if TYPE_CHECKING:
    from merger.register import Register

GROUPS: tuple[tuple[str, str], ...] = (
    ("merge", "Merges"),
    ("transfer", "Partial transfers"),
    ("split", "Splits"),
    ("rename", "Renames"),
    ("reclassify", "Reclassifications"),
    ("dissolve", "Dissolutions"),
    ("establish", "Establishments"),
    ("move", "Unchanged, re-parented"),
    ("continue", "Carried over unchanged"),
)
GROUP_LABELS = dict(GROUPS)
LEVEL_LABELS = {"province": "Provinces", "district": "District level", "commune": "Communes",
                "village": "Villages", "agency": "Agencies"}


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

    def summary(self) -> str:
        """"Phường Hải An ← Phường Đông Hải 1 (whole), Phường Nam Hải (part)"."""
        succ = self.successors
        preds = [f"{link.pred.full_name} ({_portion(link)})" for link in self.links if link.pred is not None]
        if not succ:
            return f"{', '.join(p.full_name for p in self.predecessors)} dissolved"
        if not preds:
            return f"{', '.join(v.full_name for v in succ)} established"
        return f"{', '.join(v.full_name for v in succ)} ← {', '.join(preds)}"


def _portion(link: L) -> str:
    if link.relation in ("whole", "unchanged", "renamed", "reclassified"):
        return "whole" if link.relation == "whole" else link.relation
    return RELATION_LABELS.get(link.relation, link.relation)


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
        raise BadInput(f"the report needs --from before --to (got {start} and {end})")
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
    where = f" — {cnt.within}" if cnt.within else " — Viet Nam"
    what = "Agencies" if kind == "agency" else "Administrative units"
    return Report(f"{what} {start} → {end}{where}", cnt, d, new_units, date.today())


# --- chart ----------------------------------------------------------------------------------------


def chart_png(report: Report) -> bytes:
    """Before/after bar chart by level and type, as PNG bytes (matplotlib, no display needed)."""
    plt = pyplot("the report's chart")
    rows = [r for r in report.counts.rows if r.type is not None and (r.before or r.after)]
    labels = [f"{LEVEL_LABELS.get(r.level, r.level)}: {r.type}" for r in rows]
    before = [r.before for r in rows]
    after = [r.after for r in rows]
    height = 0.38
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.6), dpi=110)
    ys = list(range(len(rows)))
    b1 = ax.barh([y - height / 2 for y in ys], before, height, label=str(report.counts.before), color="#7f8fa6")
    b2 = ax.barh([y + height / 2 for y in ys], after, height, label=str(report.counts.after), color="#e1812c")
    ax.bar_label(b1, padding=3, fontsize=8, fmt="{:,.0f}")
    ax.bar_label(b2, padding=3, fontsize=8, fmt="{:,.0f}")
    ax.set_yticks(ys, labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("number of units")
    ax.set_title("Units before and after, by level and type", fontsize=11)
    ax.legend(loc="lower right", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlim(0, max(before + after + [1]) * 1.15)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


# --- rendering ------------------------------------------------------------------------------------

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


def _e(text: object) -> str:
    return html.escape(str(text))


def _num(x: float | int | None, digits: int = 0) -> str:
    if x is None:
        return ""
    return f"{x:,.{digits}f}"


def _pred_text(row: Row, divided: bool, snap: Snapshot, html_out: bool) -> str:
    v = row.target
    if v is None:
        return "(no predecessor recorded)"
    parent = snap.parent_of(v)
    where = f", {parent.full_name}" if parent is not None and parent.level == "district" else ""
    name = f"{v.full_name}{where}"
    if divided:
        share = f"≈{row.share:.0%}" if not row.exact else f"{row.share:.0%}"
        part = f"part; {share} of the new unit"
        if row.share == 0 and "recorded-population" in row.bases:
            part = "part of its area, none of its population"
        return f'{_e(name)} <span class="part">({_e(part)})</span>' if html_out else f"{name} (part)"
    return _e(name) if html_out else name


def to_html(report: Report, snap: Snapshot, png: bytes | None) -> str:
    c, d = report.counts, report.diff
    out: list[str] = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(report.title)}</h1>",
        f'<p class="meta">Generated {report.generated} by merger from the official register (NSO code lists and '
        "conversion table, resolutions 1654–1687/NQ-UBTVQH15, sapnhap.bando.com.vn statistics). "
        "This file is self-contained.</p>",
    ]
    cards = []
    for level in ("province", "district", "commune"):
        try:
            t = c.total(level)
        except StopIteration:
            continue
        cards.append(f'<div class="card">{_e(LEVEL_LABELS[level])}<b>{t.before:,} → {t.after:,}</b>'
                     f'<span class="{"neg" if t.change < 0 else "pos"}">{t.change:+,}</span></div>')
    out.append(f'<div class="cards">{"".join(cards)}</div>')
    out.append(f"<h2>Units before and after</h2><table><tr><th>Level / type</th><th>{c.before}</th>"
               f"<th>{c.after}</th><th>Change</th></tr>")
    for r in c.rows:
        label = f"<b>{_e(LEVEL_LABELS.get(r.level, r.level))}</b>" if r.type is None else f"&nbsp;&nbsp;{_e(r.type)}"
        cls = "neg" if r.change < 0 else ("pos" if r.change > 0 else "")
        out.append(f'<tr class="{"total" if r.type is None else ""}"><td>{label}</td><td class="n">{r.before:,}</td>'
                   f'<td class="n">{r.after:,}</td><td class="n {cls}">{r.change:+,}</td></tr>'.replace(">+0<", ">0<"))
    out.append("</table>")
    if png:
        b64 = base64.b64encode(png).decode("ascii")
        out.append(f'<img alt="Bar chart of units before and after by level and type" src="data:image/png;base64,{b64}">')
    out.append(f"<h2>What happened: {d.total:,} events</h2><table><tr><th>Type</th><th>Events</th><th>By level</th></tr>")
    for t, cs in d.groups.items():
        levels = ", ".join(f"{LEVEL_LABELS.get(k, k).lower()} {n:,}" for k, n in d.by_level(t).items())
        out.append(f'<tr><td>{_e(GROUP_LABELS.get(t, t))}</td><td class="n">{len(cs):,}</td><td>{_e(levels)}</td></tr>')
    out.append(f'<tr><td>Old units divided between several new ones</td><td class="n">{len(d.divided):,}</td><td></td></tr>')
    out.append("</table>")
    for t, cs in d.groups.items():
        out.append(f"<details><summary>{_e(GROUP_LABELS.get(t, t))} ({len(cs):,})</summary><ul>")
        for ch in cs:
            basis = ch.event.basis()
            out.append(f"<li>{_e(ch.summary())}" + (f' <span class="est">{_e(basis)}</span>' if basis else "") + "</li>")
        out.append("</ul></details>")
    if d.divided:
        out.append(f"<details><summary>Old units divided ({len(d.divided):,})</summary><ul>")
        for v, succ in d.divided:
            out.append(f"<li>{_e(snap.path(v))} → {_e(', '.join(s.full_name for s in succ))}</li>")
        out.append("</ul></details>")
    out.append(f"<h2>New units and their predecessors ({len(report.new_units):,})</h2>")
    out.append('<p class="meta">Area and population: sapnhap.bando.com.vn. “part” marks a predecessor divided '
               "between several new units; ≈ shares are estimates (see docs/analysts.md).</p>")
    out.append("<table><tr><th>Code</th><th>New unit</th><th>Type</th><th>Area km²</th><th>Population</th>"
               "<th>Formed from</th><th>Legal basis</th></tr>")
    for nu in report.new_units:
        v, st = nu.version, nu.stats or {}
        preds = "<br>".join(_pred_text(r, div, snap, True) for r, div in nu.predecessors)
        created = snap.predecessors(v)
        basis = created[0].event.basis() if created else ""
        out.append(f'<tr><td>{_e(v.code)}</td><td>{_e(v.full_name)}</td><td>{_e(v.type)}</td>'
                   f'<td class="n">{_num(st.get("area_km2"), 2)}</td><td class="n">{_num(st.get("population"))}</td>'
                   f"<td>{preds}</td><td>{_e(basis)}</td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out)


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report, snap: Snapshot, png: bytes | None) -> str:
    c, d = report.counts, report.diff
    out = [f"# {report.title}", "",
           f"Generated {report.generated} by merger from the official register. Self-contained (the chart is embedded).",
           "", "## Units before and after", "", f"| Level / type | {c.before} | {c.after} | Change |",
           "|---|---:|---:|---:|"]
    for r in c.rows:
        label = f"**{LEVEL_LABELS.get(r.level, r.level)}**" if r.type is None else f"  {r.type}"
        out.append(f"| {_md(label)} | {r.before:,} | {r.after:,} | {r.change:+,} |")
    if png:
        out += ["", f"![Units before and after by level and type](data:image/png;base64,"
                    f"{base64.b64encode(png).decode('ascii')})"]
    out += ["", f"## What happened: {d.total:,} events", "", "| Type | Events | By level |", "|---|---:|---|"]
    for t, cs in d.groups.items():
        levels = ", ".join(f"{LEVEL_LABELS.get(k, k).lower()} {n:,}" for k, n in d.by_level(t).items())
        out.append(f"| {GROUP_LABELS.get(t, t)} | {len(cs):,} | {levels} |")
    out.append(f"| Old units divided between several new ones | {len(d.divided):,} | |")
    for t, cs in d.groups.items():
        out += ["", f"### {GROUP_LABELS.get(t, t)} ({len(cs):,})", ""]
        out += [f"- {ch.summary()}" + (f" — {ch.event.basis()}" if ch.event.basis() else "") for ch in cs]
    if d.divided:
        out += ["", f"### Old units divided ({len(d.divided):,})", ""]
        out += [f"- {snap.path(v)} → {', '.join(s.full_name for s in succ)}" for v, succ in d.divided]
    out += ["", f"## New units and their predecessors ({len(report.new_units):,})", "",
            "| Code | New unit | Type | Area km² | Population | Formed from | Legal basis |",
            "|---|---|---|---:|---:|---|---|"]
    for nu in report.new_units:
        v, st = nu.version, nu.stats or {}
        preds = "; ".join(_pred_text(r, div, snap, False) for r, div in nu.predecessors)
        created = snap.predecessors(v)
        basis = created[0].event.basis() if created else ""
        out.append(f"| {v.code} | {_md(v.full_name)} | {v.type} | {_num(st.get('area_km2'), 2)} | "
                   f"{_num(st.get('population'))} | {_md(preds)} | {_md(basis)} |")
    return "\n".join(out) + "\n"


def write(report: Report, snap: Snapshot, out: Path, *, chart: bool = True) -> Path:
    """Render to ``out`` by its suffix (.html/.htm or .md), atomically."""
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".md", ".markdown"):
        raise BadInput(f"cannot tell the format of {out.name}: use a .html or .md file name")
    png = chart_png(report) if chart else None
    text = to_html(report, snap, png) if suffix in (".html", ".htm") else to_markdown(report, snap, png)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BadInput(f"cannot write {out}: {exc.strerror or exc}") from None
    return out
