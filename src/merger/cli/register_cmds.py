"""Reading the register: counts, lineage, show, units, search, check, init, import-sources.

No ``from __future__ import annotations`` here: typer reads every command's annotations, and
strings would be compiled and evaluated on every run (measured: most of building a command).
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from merger.cli.common import (
    AsOfOpt,
    CsvOpt,
    JsonOpt,
    app,
    check_formats,
    complete_unit,
    console,
    emit_csv,
    emit_json,
    emit_rows,
    errors,
    fail,
    key_column,
    nonempty,
    note_unrecorded_past,
    out_path,
    parse_date,
    print_table,
    say,
    state,
)
from merger.i18n import N_, _, fdate, fnum, fpct

LEVEL_NAMES = {"province": N_("Provinces"), "district": N_("District level"), "commune": N_("Communes"),
               "village": N_("Villages"), "agency": N_("Agencies")}


@app.command()
def counts(
    ctx: typer.Context,
    within: Annotated[str | None, typer.Option("--within", "-w", help="Only the territory of this unit "
                                               "(through the lineage on the other date).", autocompletion=complete_unit)] = None,
    before: Annotated[str, typer.Option("--from", "--before", help="The 'before' date (2025-06-30 or 30/6/2025).")]
    = "2025-06-30",
    after: Annotated[str, typer.Option("--to", "--after", help="The 'after' date.")] = "2025-07-01",
    kind: Annotated[str, typer.Option(help="admin (units) or agency.")] = "admin",
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Units before and after, by level and type, with the change.

    \b
    Examples:
      merger counts
      merger counts --within "Hải Phòng" --csv
      merger counts --from 2025-01-01 --to 2026-01-01   (--before/--after are the same)
    """
    check_formats(as_json, as_csv)
    b, a = parse_date(before, "--from"), parse_date(after, "--to")
    reg = state(ctx).register()
    with errors():
        result = reg.counts(before=b, after=a, within=within, kind=kind)  # type: ignore[arg-type]
    note_unrecorded_past(reg, b, a, kind=kind)
    rows = [[r.level, r.type or "", r.before, r.after, r.change] for r in result.rows]
    if as_json:
        emit_json(dict(before=str(result.before), after=str(result.after), within=result.within,
                       rows=[dict(level=r[0], type=r[1] or None, before=r[2], after=r[3], change=r[4])
                             for r in rows]))
        return
    if as_csv:
        emit_csv(["level", "type", "before", "after", "change"], rows)
        return
    from merger.cli.draw import Table

    title = _("Units {before} → {after}").format(before=fdate(result.before), after=fdate(result.after)) + (
        _(" within {unit}").format(unit=result.within) if result.within else "")
    table = Table(title=title)
    table.add_column(_("Level / type"))
    table.add_column(fdate(result.before), justify="right")
    table.add_column(fdate(result.after), justify="right")
    table.add_column(_("Change"), justify="right")
    for r in result.rows:
        label = f"[bold]{_(LEVEL_NAMES.get(r.level, r.level))}[/bold]" if r.type is None else f"  {r.type}"
        change = ("+" if r.change > 0 else "") + fnum(r.change) if r.change else "0"
        style = "red" if r.change < 0 else ("green" if r.change > 0 else "")
        table.add_row(label, fnum(r.before), fnum(r.after), f"[{style}]{change}[/{style}]" if style else change)
    print_table(table)


@app.command()
def lineage(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="Name (\"Hòa Bình, Vĩnh Bảo\"), code (11533) or key (11533@2025-07-01).", autocompletion=complete_unit)],
    forward: Annotated[bool | None, typer.Option("--forward/--backward", help="What it became / what formed it "
                                                 "(default: forward for a unit that has ended).")] = None,
    as_of: AsOfOpt = None,
    depth: Annotated[int | None, typer.Option(help="Follow at most this many events.")] = None,
    overlap: Annotated[bool, typer.Option("--overlap", help="Also the area taken from each unit on the other "
                                          "side of the reform, by overlay of the boundaries (needs merger[geo]).")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also draw the lineage as a diagram, "
                                             "FILE.png or FILE.svg (needs matplotlib).")] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """What an old unit became, or which old units formed a new one.

    UNIT is a name, qualified by parents if needed ("Hòa Bình, Vĩnh Bảo", "Hoa Binh / Kim Thanh /
    Hai Phong"), a code (11533, read with --as-of when codes were reused) or a key
    (11533@2025-07-01). Chains of several events are followed.

    \b
    Examples:
      merger lineage "An Lư"
      merger lineage "Phường Hòa Bình, Hải Phòng" --as-of 2025-07-01
      merger lineage 11533 --as-of 2025-06-30 --json
      merger lineage "Phường An Lư" --csv > an_lu.csv   (one row per link, as merger changes)
      merger lineage "Phường Hồng Bàng" --out hong_bang.png   (a diagram for the dossier)
    """
    check_formats(as_json, as_csv)
    direction = None if forward is None else ("forward" if forward else "backward")
    out = out_path(out)
    reg = state(ctx).register()
    with errors():
        tree = reg.lineage(unit, direction=direction, as_of=parse_date(as_of, "--as-of"),  # type: ignore[arg-type]
                           depth=depth)
    from merger import lineage as lin

    snap = reg.answered_from or reg.snapshot  # the neighbourhood the answer was read from
    if out is not None:
        from merger import diagram

        with errors():
            drawn = diagram.draw(snap, tree, out)
        print(_("Diagram written to {path}").format(path=drawn), file=sys.stderr)
    rows = []
    if overlap:
        from merger import boundaries

        with errors():
            rows = boundaries.overlap(reg, tree.root.version)
    if as_csv:
        from merger.changes import COLUMNS, link_row

        flat = []

        def walk(node: lin.Node, depth: int) -> None:
            for child in node.children:
                assert child.link is not None
                flat.append([depth, tree.direction, *link_row(snap, child.link).values()])
                walk(child, depth + 1)

        walk(tree.root, 1)
        emit_csv(["depth", "direction", *COLUMNS], flat)
        return
    if as_json:
        from dataclasses import asdict

        data = dict(direction=tree.direction, lineage=lin.to_dict(snap, tree.root))
        if overlap:
            data["overlap"] = [asdict(r) for r in rows]
        emit_json(data)
        return
    from merger.cli.draw import Tree

    def head(v) -> str:  # type: ignore[no-untyped-def]
        within = snap.path(v).removeprefix(v.full_name)  # ", Huyện …, Thành phố …" or ""
        return f"[bold]{v.full_name}[/bold][dim]{within}[/dim] [cyan]{v.key}[/cyan]"

    root_v = tree.root.version
    assert root_v is not None
    arrow = "→" if tree.direction == "forward" else "←"
    title = _("became") if tree.direction == "forward" else _("formed from")
    rt = Tree(f"{head(root_v)} [dim]({root_v.period()}) — {title}:[/dim]")

    def grow(branch: Tree, node: lin.Node) -> None:
        for child in node.children:
            assert child.link is not None
            what = lin.describe_link(child.link)
            ev = child.link.event
            evidence = f" [yellow]({lin.evidence_label(ev.evidence)}: {ev.source})[/yellow]" if ev.evidence else ""
            if child.territory and child.version is not None:
                sub = branch.add(_("↳ its territory → {unit}").format(unit=head(child.version)))
            elif child.version is None:
                gone = _("dissolved, no successor") if tree.direction == "forward" else _("new, no predecessor")
                end = ("[yellow]" + _("unknown") + "[/yellow]" if child.link.relation.endswith("_unknown")
                       else f"[red]{gone}[/red]")
                sub = branch.add(f"{arrow} {end} [dim]{what}[/dim]{evidence}"
                                 + ("\n  [dim]" + _("where the territory of its sub-units went:") + "[/dim]"
                                    if child.children else ""))
            else:
                sub = branch.add(f"{arrow} {head(child.version)}\n  [dim]{what}[/dim]{evidence}")
            if child.truncated:
                sub.add("[dim]" + _("… (use a larger --depth)") + "[/dim]")
            grow(sub, child)

    grow(rt, tree.root)
    if not tree.root.children:
        rt.add("[dim]" + _("(no recorded events in this direction)") + "[/dim]")
    print_table(rt)  # at any width a key is never split: words wrap, keys stay whole
    if overlap:
        from merger.cli.draw import Table

        table = Table(title=_("Area of {unit} by unit on the other side of the reform (overlay)").format(
            unit=root_v.full_name))
        for col in (N_("Unit"), "km²", N_("share of this unit"), N_("share of that unit"), N_("in lineage")):
            table.add_column(_(col), justify="left" if col == "Unit" else "right")
        for r in rows:
            table.add_row(r.name, fnum(r.area_km2, 2), fpct(r.share_of_unit),
                          "" if r.share_of_other is None else fpct(r.share_of_other),
                          _("yes") if r.in_lineage else "[yellow]" + _("no") + "[/yellow]")
        print_table(table)


@app.command()
def show(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="Name, code or key.", autocompletion=complete_unit)],
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Every version of a unit, and the events that created and ended each.

    UNIT is a name (with parents if needed), a code or a key, as for `merger lineage`.

    \b
    Examples:
      merger show "Hải Phòng"
      merger show 11533 --as-of 2025-06-30
    """
    check_formats(as_json, as_csv)
    reg = state(ctx).register()
    with errors():
        history = reg.show(unit, as_of=parse_date(as_of, "--as-of"))
    from merger.lineage import describe_link, evidence_label, level_name

    stats = (reg.answered_from or reg.snapshot).statistics
    if as_csv:
        emit_csv(["key", "code", "name", "type", "level", "parent", "valid_from", "valid_to", "evidence",
                  "created_by", "ended_by"],
                 [[h.version.key, h.version.code, h.version.full_name, h.version.type, h.version.level,
                   h.parent.full_name if h.parent else "", h.version.valid_from or "", h.version.valid_to or "",
                   h.version.evidence or "", " | ".join(dict.fromkeys(x.event.key for x in h.created_by)),
                   " | ".join(dict.fromkeys(x.event.key for x in h.ended_by))] for h in history.versions])
        return
    if as_json:
        emit_json(dict(unit=history.unit_key, versions=[dict(
            key=h.version.key, code=h.version.code, name=h.version.full_name, type=h.version.type,
            level=h.version.level, parent=h.parent.full_name if h.parent else None,
            valid_from=h.version.valid_from, valid_to=h.version.valid_to, evidence=h.version.evidence,
            statistics=stats(h.version),
            created_by=[dict(event=link.event.key, type=link.event.type, basis=link.event.basis(),
                             predecessor=link.pred.key if link.pred else None, relation=link.relation)
                        for link in h.created_by],
            ended_by=[dict(event=link.event.key, type=link.event.type, basis=link.event.basis(),
                           successor=link.succ.key if link.succ else None, relation=link.relation)
                      for link in h.ended_by],
        ) for h in history.versions]))
        return
    from merger.cli.draw import Table

    first = history.versions[-1].version
    say(f"[bold]{first.full_name}[/bold] — " + _("unit {key}, {n} version(s)").format(
        key=f"[cyan]{history.unit_key}[/cyan]", n=len(history.versions)))
    for h in history.versions:
        v = h.version
        table = Table(show_header=False, title=f"[cyan]{v.key}[/cyan]", title_justify="left", min_width=60)
        table.add_column("field", style="dim")
        table.add_column("value")
        table.add_row(_("name"), v.full_name)
        table.add_row(_("code / type / level"), f"{v.code} / {v.type} / {level_name(v.level)}")
        table.add_row(_("parent"), h.parent.full_name if h.parent else "—")
        in_force = _("(in force)")
        table.add_row(_("valid"), f"{fdate(v.valid_from, '…')} – {fdate(v.valid_to, in_force)}")
        if v.evidence:
            table.add_row(_("evidence"), f"[yellow]{evidence_label(v.evidence)}[/yellow] ({v.source})")
        st = stats(v)
        if st and st.get("area_km2") is not None:
            pop = _(", population {n}").format(n=fnum(st["population"])) if st.get("population") else ""
            table.add_row(_("official figures"), f"{fnum(st['area_km2'], None)} km²{pop} ({st['source']})")
        for label, links, other in ((_("created by"), h.created_by, _pred), (_("ended by"), h.ended_by, _succ)):
            for link in links:
                who = other(link)
                side = _("from") if other is _pred else _("to")
                said = (f"\n  [yellow]{evidence_label(link.event.evidence)}[/yellow]: {link.event.note}"
                        if link.event.evidence == "reported" else "")
                whom = who.full_name + " " + who.key if who else _nobody(link)
                table.add_row(label, f"{describe_link(link)}\n  {side} {whom}{said}")
        print_table(table)


def _nobody(link) -> str:  # type: ignore[no-untyped-def]
    if link.relation.endswith("_unknown"):
        return _("— (not stated by the sources: source gap)")
    return _("— (no successor)") if link.pred is not None else _("— (established)")


def _pred(link):  # type: ignore[no-untyped-def]
    return link.pred


def _succ(link):  # type: ignore[no-untyped-def]
    return link.succ


@app.command()
def units(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The date (2025-07-01 or 1/7/2025); default today.")] = None,
    within: Annotated[str | None, typer.Option("--within", "-w", help="Only units under this one.", autocompletion=complete_unit,
                                               callback=nonempty)] = None,
    level: Annotated[str | None, typer.Option(help="province, district, commune, village or agency.", callback=nonempty)] = None,
    type_: Annotated[str | None, typer.Option("--type", help="e.g. xã, phường, \"đặc khu\", huyện (any case, "
                                              "with or without marks).", callback=nonempty)] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="admin (administrative units), agency or all "
                                             "(default: admin, or agency with --level agency).")] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """The units valid on a date.

    \b
    Examples:
      merger units --as-of 2025-06-30 --within "Hải Phòng" --level district
      merger units --within "Hải Phòng" --type "dac khu" --csv
      merger units --kind agency --within "Hải Phòng" --as-of 2025-06-30
    """
    check_formats(as_json, as_csv)
    reg = state(ctx).register()
    from datetime import date

    day = parse_date(as_of, "--as-of") or date.today()
    if kind not in (None, "admin", "agency", "all"):
        raise typer.BadParameter(_("{kind!r} is not a kind (admin, agency or all)").format(kind=kind), param_hint="--kind")
    which = (None if kind == "all" else kind) if kind else ("agency" if level == "agency" else "admin")
    with errors():
        found = reg.units(as_of=day, within=within, level=level, type_=type_, kind=which)
    note_unrecorded_past(reg, day, kind=which)
    snap = reg.answered_from or reg.snapshot  # what the units were read from, with their parents
    rows = [[v.code, v.full_name, v.type, v.level, (snap.parent_of(v, day).full_name if snap.parent_of(v, day) else ""),
             str(v.valid_from or ""), str(v.valid_to or ""), v.key] for v in found]
    header = ["code", "name", "type", "level", "parent", "valid_from", "valid_to", "key"]
    if emit_rows(header, rows, as_json=as_json, as_csv=as_csv):
        return
    from merger.cli.draw import Table

    table = Table(title=_("{n} units valid on {day}").format(n=fnum(len(rows)), day=fdate(day)) + (
        _(" within {unit}").format(unit=within) if within else ""))
    for col in (N_("Code"), N_("Name"), N_("Type"), N_("Parent"), N_("Valid from"), N_("Valid to")):
        key_column(table, _(col)) if col in ("Code", "Valid from", "Valid to") else table.add_column(_(col))
    for v, r in zip(found, rows, strict=True):
        table.add_row(r[0], r[1], r[2], r[4], fdate(v.valid_from, "…"), fdate(v.valid_to))
    print_table(table)


@app.command("search")
def search_cmd(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Part of a name (any case, with or without marks) or a code.")],
    as_of: AsOfOpt = None,
    limit: Annotated[int, typer.Option(help="At most this many results.")] = 50,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Units whose name contains TEXT, with parent, code and period.

    \b
    Examples:
      merger search "hoa binh"
      merger search 115 --as-of 2025-07-01
    """
    check_formats(as_json, as_csv)
    reg = state(ctx).register()
    with errors():
        found = reg.search(text, limit=limit, as_of=parse_date(as_of, "--as-of"))
    snap = reg.answered_from or reg.snapshot  # what the hits were read from, with their parents
    rows = [[v.code, v.full_name, v.level, ", ".join(a.full_name for a in snap.ancestors(v)),
             str(v.valid_from or ""), str(v.valid_to or ""), v.key] for v in found]
    header = ["code", "name", "level", "parents", "valid_from", "valid_to", "key"]
    if emit_rows(header, rows, as_json=as_json, as_csv=as_csv):
        return
    if not rows:
        fail(_("nothing matches {text!r}").format(text=text))
    from merger.cli.draw import Table

    table = Table(title=_("{n} match(es) for {text!r}").format(n=len(rows), text=text))
    for col in (N_("Code"), N_("Name"), N_("Parents"), N_("Valid from"), N_("Valid to"), N_("Key")):
        key_column(table, _(col)) if col in ("Code", "Key", "Valid from", "Valid to") else table.add_column(_(col))
    for v, r in zip(found, rows, strict=True):
        table.add_row(r[0], r[1], r[3], fdate(v.valid_from, "…"), fdate(v.valid_to), r[6])
    print_table(table)


@app.command()
def check(
    ctx: typer.Context,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
    gaps_only: Annotated[bool, typer.Option("--gaps", help="List the source gaps (successor or origin unknown: "
                                            "not errors) instead of checking.")] = False,
) -> None:
    """Run every integrity check on the register; exit 1 if anything is violated.

    A unit whose successor (or origin) the sources do not state is a source gap, not an error:
    it is counted in a Note and listed by --gaps.

    \b
    Examples:
      merger check
      merger check --json
      merger check --gaps --json
      merger check --csv > violations.csv
    """
    check_formats(as_json, as_csv)
    reg = state(ctx).register()
    with errors():
        said = reg.integrity(gaps_only=gaps_only)
    found, gaps, differ = said.violations, said.gaps, said.disagreements
    if gaps_only:
        if as_json:
            emit_json([dict(rule=v.rule, message=v.message, subjects=v.subjects) for v in gaps + differ])
        else:
            for v in gaps + differ:
                print(v.message)
        return
    if as_json:
        emit_json([dict(rule=v.rule, message=v.message, subjects=v.subjects) for v in found])
    elif as_csv:
        emit_csv(["rule", "message", "subjects"], [[v.rule, v.message, " | ".join(map(str, v.subjects))] for v in found])
    elif not found:
        say("[green]OK[/green]: " + _("{versions} versions, {events} events, {links} links; "
                        "no violations.").format(versions=fnum(said.versions), events=fnum(said.events),
                                                 links=fnum(said.links)))
    else:
        from merger.cli.draw import Table

        table = Table(title=_("{n} violation(s)").format(n=len(found)))
        table.add_column(_("Rule"))
        table.add_column(_("Problem"))
        for v in found[:500]:
            table.add_row(v.rule, v.message)
        print_table(table)
    if said.gaps_ended or said.gaps_began:
        print(_("Note: not errors — {ends} unit(s) ended with successor unknown and {begins} began with origin "
                "unknown (source gap: the published lists do not say where the territory went or came from); "
                "`merger check --gaps` lists them.").format(ends=fnum(said.gaps_ended), begins=fnum(said.gaps_began)),
              file=sys.stderr)
    if said.disagreeing:
        print(_("Note: sources disagree on {n} change(s) after 1 July 2025, recorded as reported by one source "
                "only (evidence 'reported'); `merger check --gaps` lists them.").format(n=fnum(said.disagreeing)),
              file=sys.stderr)
    if found:
        raise typer.Exit(1)


@app.command()
def init(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Rebuild an embedded register from the bundled data "
                                        "(its recorded events are lost: export them first).")] = False,
) -> None:
    """Build the register from the bundled data (done automatically on first use).

    \b
    Examples:
      merger init
      merger --db postgresql+psycopg://merger@127.0.0.1/merger init
    """
    from merger import store
    from merger.register import Register

    st = state(ctx)
    with errors():
        url = store.resolve_url(st.db)
    if force and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", ".snapshot"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    with errors():
        reg = Register.open(st.db)
        snap = reg.snapshot
        reg.close()
    console().print(_("Register ready at {url}: {versions} versions, {events} events, {links} links.").format(
        url=store.redact(url), versions=fnum(len(snap.versions)), events=fnum(len(snap.events)),
        links=fnum(len(snap.links))))


@app.command("import-sources", hidden=False)
def import_sources(
    sources: Annotated[Path, typer.Argument(help="The folder of raw official sources, the one holding MANIFEST.md "
                                                 "(data/units/README.md says where it lives).")],
    out: Annotated[Path, typer.Option(help="Where to write the curated files.")] = Path("data/units"),
) -> None:
    """For maintainers: rebuild data/units/ (and data/units/agencies/) from the raw sources, reporting every fix.

    \b
    Example:
      merger import-sources path/to/sources --out data/units
    """
    from merger.importers import agencies, nso

    with errors():
        report = nso.run(sources, out)
        agency_report = agencies.run(sources, out / "agencies")
    c = console()
    for line in report.lines():
        c.print(f"• {line}", markup=False, highlight=False)
    c.print(", ".join(f"{k}={v:,}" for k, v in sorted(report.figures.items())))
    for line in agency_report.lines:
        c.print(f"• agencies: {line}", markup=False, highlight=False)
