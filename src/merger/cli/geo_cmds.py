"""Boundary commands (the ``merger[geo]`` extra): boundaries check/load, locate, map, overlap,
export, import-boundaries. The geo libraries are imported inside the commands only."""

from __future__ import annotations

import sys
from datetime import date
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
    errors,
    fail,
    nonempty,
    out_path,
    parse_date,
    raw_csv,
    state,
    stdout_text,
)
from merger.i18n import N_, _, fdate, fnum, fpct

boundaries_app = typer.Typer(
    name="boundaries",
    help="Boundaries of unit versions: check them against each other and the official areas, load your own.",
    no_args_is_help=True,
)
app.add_typer(boundaries_app, name="boundaries")

FORMATS = ("geojson", "gpkg", "json")


def _need(*modules: str) -> None:
    """Refuse in one line, naming the extra, when the geo libraries are not installed."""
    from merger.geo import require

    with errors():
        require(*modules)


def _day(value: str | None, option: str = "--as-of") -> date:
    return parse_date(value, option) or date.today()


@boundaries_app.command("check")
def check_cmd(
    ctx: typer.Context,
    within: Annotated[str | None, typer.Option("--within", "-w", help="Only this unit and the units under it "
                                               "(default: every province with a boundary).", autocompletion=complete_unit,
                                               callback=nonempty)] = None,
    as_of: AsOfOpt = None,
    overlap_m2: Annotated[float, typer.Option(help="Tolerance: overlap between two units, m².")] = 10_000.0,
    gap_share: Annotated[float, typer.Option(help="Tolerance: share of a parent uncovered by (or outside) "
                                             "its children.")] = 0.005,
    area_rel: Annotated[float, typer.Option(help="Tolerance: relative difference between computed and "
                                            "official area.")] = 0.05,
    lineage: Annotated[bool, typer.Option("--lineage", help="Also overlay each unit with the other side of the "
                                          "reform and report units it overlaps that its lineage does not link.")] = False,
    lineage_share: Annotated[float, typer.Option(help="Tolerance for --lineage: share of a unit inside an "
                                                 "unlinked unit.")] = 0.05,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Check boundaries in metres (equal-area projection); exit 1 when anything exceeds the tolerances.

    Reports overlaps between units of one level (pair, m²), parts of a parent its children do not
    cover (or children outside it) with where they are, units with no geometry, invalid
    geometries, and each unit's computed area against the official (sapnhap) area; without
    --within, the whole country, with the findings counted per province.

    Examples:

      merger boundaries check --within "Hải Phòng"

      merger boundaries check --as-of 2025-07-01

      merger boundaries check --within "Hải Phòng" --as-of 2025-06-30 --json

      merger boundaries check --within "Hải Phòng" --area-rel 0.35 --gap-share 0.02

      merger boundaries check --within "Hải Phòng" --lineage

      merger boundaries check --as-of 2025-07-01 --csv > findings.csv
    """
    check_formats(as_json, as_csv)
    _need("shapely", "pyproj")
    from merger import boundaries
    from merger.geo.checks import Tolerances

    day = _day(as_of)
    reg = state(ctx).register()
    with errors():
        report = boundaries.check(reg, as_of=day, within=within, lineage=lineage,
                                  tolerances=Tolerances(overlap_m2, gap_share, area_rel, lineage_share))
    problems = report.problems()
    if as_json or as_csv:
        if as_json:
            emit_json(report.to_dict())
        else:
            emit_csv(list(report.CSV_HEADER), report.rows())
        if problems:
            raise typer.Exit(1)
        return
    _print_report(report, problems)
    if problems:
        raise typer.Exit(1)


def _print_report(report, problems) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    c = console()
    from merger.lineage import level_name

    beyond_, ok_ = "[red]" + _("beyond tolerance") + "[/red]", "[green]" + _("ok") + "[/green]"
    scope = _(" within {unit}").format(unit=report.within) if report.within else ""
    levels = ", ".join(f"{level_name(lv)} ({n})" for lv, n in report.checked.items()) or _("none")
    c.print("[bold]" + _("Boundaries{scope} on {day}").format(scope=scope, day=fdate(report.as_of)) + "[/bold]: "
            + _("levels checked: {levels}").format(levels=levels))
    if report.uncovered_levels:
        c.print("[dim]" + _("No geometry at all (not checked): {levels}").format(levels=", ".join(
            _("{level} ({n} units)").format(level=level_name(lv), n=n) for lv, n in report.uncovered_levels.items()))
            + "[/dim]")
    t = report.tolerances
    c.print("[dim]" + _("Tolerances: overlap ≤ {m2} m², gap ≤ {gap} of the parent, area within ±{rel} of the "
                        "official figure").format(m2=fnum(t.overlap_m2), gap=fpct(t.gap_share, 1), rel=fpct(t.area_rel, 0))
            + (_(", unlinked overlay ≤ {share} of a unit").format(share=fpct(t.lineage_share, 0))
               if report.lineage is not None else "")
            + "[/dim]")
    if not report.overlaps:
        c.print("[green]" + _("No overlaps between units of one level.") + "[/green]")
    table = Table(title=_("Overlaps between units of one level: {n}").format(n=len(report.overlaps)))
    for col in (N_("Level"), N_("Units"), N_("Area m²"), N_("At (lon, lat)"), ""):
        table.add_column(_(col) if col else "", justify="right" if col == "Area m²" else "left")
    for o in report.overlaps[:50]:
        table.add_row(level_name(o.level), f"{o.a_name} / {o.b_name}", fnum(o.area_m2), f"{o.lon}, {o.lat}",
                      beyond_ if o.exceeds else ok_)
    if report.overlaps:
        c.print(table)
    c.print("[bold]" + _("Parents against the union of their children") + "[/bold]")
    for g in report.gaps:
        what = _("in the parent but in no child") if g.kind == "uncovered" else _("in a child but outside the parent")
        status = beyond_ if g.exceeds else ok_
        c.print(f"  {status} {g.parent_name}: {_area(g.area_km2)} ({fpct(g.share, 2)}) {what}, "
                + _("{n} piece(s)").format(n=g.pieces))
        if g.largest:
            on_outline = sum(1 for p in g.largest if p.on_outline)
            where = "; ".join(f"{name} {_area(a)}" for name, a in list(g.by_unit.items())[:8])
            more = _("; … {n} more").format(n=len(g.by_unit) - 8) if len(g.by_unit) > 8 else ""
            c.print("    [dim]" + _("by nearest unit: {where}").format(where=where) + f"{more}[/dim]")
            c.print("    [dim]" + _("{k} of the {n} largest pieces touch the parent's outline (coast, islands, "
                                    "provincial border); largest {area} at {lon}, {lat} near {near}").format(
                k=on_outline, n=len(g.largest), area=_area(g.largest[0].area_km2), lon=g.largest[0].lon,
                lat=g.largest[0].lat, near=g.largest[0].near) + "[/dim]")
    if report.missing:
        names = ", ".join(n for _k, n, _l in report.missing[:20])
        c.print("[red]" + _("No geometry: {n}").format(n=len(report.missing)) + f"[/red] {names}"
                + (" …" if len(report.missing) > 20 else ""))
    else:
        c.print("[green]" + _("Every unit at the checked levels has a geometry.") + "[/green]")
    if report.invalid:
        for key, name, reason in report.invalid:
            c.print("[red]" + _("Invalid geometry") + f"[/red]: {name} ({key}): {reason}")
    else:
        c.print("[green]" + _("All geometries are valid.") + "[/green]")
    over = [a for a in report.areas if a.exceeds]
    table = Table(title=_("Computed vs official area: {n} units, {k} beyond ±{rel} (largest differences "
                          "first)").format(n=len(report.areas), k=len(over), rel=fpct(t.area_rel, 0)))
    for col in (N_("Unit"), N_("Computed km²"), N_("Official km²"), N_("Difference"), ""):
        table.add_column(_(col) if col else "", justify="left" if col in ("Unit", "") else "right")
    shown = report.areas[:min(max(len(over), 10), 60)]
    for a in shown:
        # "over" only for a unit above its official area; one below it is "under"
        table.add_row(a.name, fnum(a.computed_km2, 2), fnum(a.official_km2, 2), fpct(a.rel_diff, 1, signed=True),
                      ("[red]" + (_("over") if a.rel_diff > 0 else _("under")) + "[/red]") if a.exceeds else ok_)
    if report.areas:
        c.print(table)
        if len(over) > len(shown):
            c.print(f"[dim]… {len(over) - len(shown)} more beyond the tolerance (--json lists them all)[/dim]")
    else:
        c.print("[dim]" + _("No official area figures for these units (sapnhap covers the new units only).")
                + "[/dim]")
    if report.lineage is not None:
        table = Table(title=_("Overlay against the recorded lineage: {n} unlinked overlap(s) of 1 % or more").format(
            n=len(report.lineage)))
        for col in (N_("Unit"), N_("Lies partly in"), "km²", N_("Share of the unit"), ""):
            table.add_column(_(col) if col else "", justify="right" if col in ("km²", "Share of the unit") else "left")
        for d in report.lineage:
            table.add_row(d.name, d.other_name, fnum(d.area_km2, 2), fpct(d.share_of_unit, 1),
                          beyond_ if d.exceeds else ok_)
        c.print(table)
    if len(report.provinces) > 1:
        table = Table(title=f"Per province: {len(report.provinces)}")
        for col in ("Province", "Units", "No geometry", "Invalid", "Overlaps (over)", "Uncovered km²",
                    "Outside km²", "Areas over", "Findings"):
            table.add_column(col, justify="left" if col == "Province" else "right")
        for r in report.provinces:
            table.add_row(r.name, f"{r.units:,}", str(r.missing or ""), str(r.invalid or ""),
                          f"{r.overlaps} ({r.overlaps_over})" if r.overlaps else "", f"{r.uncovered_km2:,.1f}",
                          f"{r.outside_km2:,.1f}", str(r.areas_over or ""),
                          f"[red]{r.problems}[/red]" if r.problems else "[green]0[/green]")
        c.print(table)
    if problems:
        c.print("[red bold]" + _("{n} finding(s) beyond the tolerances.").format(n=len(problems)) + "[/red bold]")
    else:
        c.print("[green bold]" + _("OK: nothing beyond the tolerances.") + "[/green bold]")


def _area(km2: float) -> str:
    return f"{fnum(km2, 2)} km²" if km2 >= 0.01 else f"{fnum(km2 * 1e6)} m²"


@boundaries_app.command("load")
def load_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A GeoJSON, GeoPackage or Shapefile.")],
    level: Annotated[str, typer.Option(help="province, district or commune.")],
    as_of: Annotated[str, typer.Option("--as-of", help="The date the boundaries describe; each code is matched "
                                       "to the version valid then.")],
    code_field: Annotated[str, typer.Option(help="The attribute holding the NSO code.")] = "code",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Match and report, keep nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Load your own boundaries; each geometry is kept for the version its code names on the date.

    Codes that match no version of that level on that date are reported (exit 1 if none match).
    The geometries are kept next to the register and take precedence over the bundled ones.

    Examples:

      merger boundaries load wards.geojson --level commune --as-of 2025-07-01 --code-field ma_xa

      merger boundaries load districts.shp --level district --as-of 2025-06-30 --code-field MA_HUYEN --dry-run
    """
    _need("shapely", "pyproj", "geopandas", "pyogrio")
    from merger import boundaries

    reg = state(ctx).register()
    with errors():
        report = boundaries.load_file(reg, file, level=level, as_of=_day(as_of), code_field=code_field,
                                      dry_run=dry_run)
    if as_json:
        emit_json(report.__dict__)
    else:
        c = console()
        from merger.lineage import level_name

        c.print(_("{n} features read from {path} (CRS {crs}); {k} matched a {level} valid on {day}").format(
                    n=fnum(report.features), path=report.path, crs=report.crs, k=fnum(len(report.matched)),
                    level=level_name(level), day=fdate(_day(as_of)))
                + (_(", {n} replacing an existing geometry").format(n=fnum(len(report.replaced)))
                   if report.replaced else "")
                + (_("; {n} codes zero-padded").format(n=fnum(report.padded)) if report.padded else ""))
        if report.unmatched:
            c.print("[yellow]" + _("{n} code(s) match no {level} on {day}:").format(
                n=fnum(len(report.unmatched)), level=level_name(level), day=fdate(_day(as_of))) + "[/yellow] "
                    + ", ".join(report.unmatched[:30]) + (" …" if len(report.unmatched) > 30 else ""))
        if report.matched:
            c.print("[dim]" + _("Dry run: nothing kept.") + "[/dim]" if dry_run
                    else _("Kept in {path}.").format(path=report.stored_in))
    if not report.matched:
        fail(_("no feature of {file} matched a {level} valid on {day}").format(file=file, level=level, day=as_of))


@boundaries_app.command("list")
def list_cmd(ctx: typer.Context, as_json: JsonOpt = False, as_csv: CsvOpt = False) -> None:
    """Which versions have a geometry: counts per level, period and source, and the files read.

    Examples:

      merger boundaries list

      merger boundaries list --json
    """
    check_formats(as_json, as_csv)
    _need("shapely")
    from merger import boundaries

    reg = state(ctx).register()
    with errors():
        b = boundaries.load(reg)
        rows = boundaries.summary(reg, b)
    header = ["level", "valid_from", "valid_to", "source", "versions"]
    if as_json:
        emit_json(dict(files=b.origin, groups=rows))
        return
    if as_csv:
        emit_csv(header, [[r[h] for h in header] for r in rows])
        return
    from rich.table import Table

    from merger.lineage import level_name

    table = Table(title=_("{n} geometries from {files}").format(n=fnum(len(b)), files=", ".join(b.origin) or "—"))
    for col in (N_("Level"), N_("Valid from"), N_("Valid to"), N_("Source"), N_("Versions")):
        table.add_column(_(col), justify="right" if col == "Versions" else "left")
    for r in rows:
        table.add_row(level_name(str(r["level"])) if r["level"] else "?", _shown_day(r["valid_from"], "…"),
                      _shown_day(r["valid_to"]), str(r["source"]), fnum(r["versions"]))
    console().print(table)


@boundaries_app.command("shares")
def shares_cmd(
    ctx: typer.Context,
    within: Annotated[str | None, typer.Option("--within", "-w", help="Only districts or communes in this old or "
                                               "new province.", autocompletion=complete_unit, callback=nonempty)] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Area shares old district -> new commune, from the overlay of the two layers (whole country).

    A district-level figure spread by area gives each new commune figure x share_of_district.
    "In lineage" says whether the recorded lineage also links them (through the communes);
    pairs it does not link are edge slivers or places where the old geometries predate a change.

    Examples:

      merger boundaries shares --within "Hải Phòng" --csv > shares.csv

      merger boundaries shares --json
    """
    check_formats(as_json, as_csv)
    from merger import boundaries

    reg = state(ctx).register()
    with errors():
        rows = boundaries.district_shares(reg, within=within)
    header = ["district", "district_name", "commune", "commune_name", "area_km2", "share_of_district",
              "share_of_commune", "in_lineage"]
    data = [[getattr(r, h) for h in header] for r in rows]
    if as_json:
        emit_json(dict(basis="geometry", rows=[dict(zip(header, d, strict=True)) for d in data]))
        return
    if as_csv:
        emit_csv(header, data)
        return
    from rich.table import Table

    table = Table(title=_("Old district -> new commune by area: {n} pairs (basis: geometry)").format(n=fnum(len(rows))))
    for col, right in ((_("Old district"), False), (_("New commune"), False), ("km²", True),
                       (_("Share of district"), True), (_("Share of commune"), True), (_("In lineage"), False)):
        table.add_column(col, justify="right" if right else "left")
    for r in rows[:200]:
        table.add_row(r.district_name, r.commune_name, fnum(r.area_km2, 3), fpct(r.share_of_district),
                      fpct(r.share_of_commune), _("yes") if r.in_lineage else "[yellow]" + _("no") + "[/yellow]")
    console().print(table)
    if len(rows) > 200:
        console().print("[dim]" + _("… {n} more: --csv or --json lists them all").format(n=fnum(len(rows) - 200))
                        + "[/dim]")


def _shown_day(value: object, empty: str = "") -> str:
    """A stored date (ISO text or date) as people write it in the current language."""
    from datetime import date

    if not value:
        return empty
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return fdate(day)


@boundaries_app.command("forget")
def forget_cmd(ctx: typer.Context) -> None:
    """Remove the boundaries you loaded into this register; the bundled ones remain.

    Example:

      merger boundaries forget
    """
    from merger import boundaries

    reg = state(ctx).register()
    with errors():
        removed = boundaries.forget(reg)
    if removed:
        console().print(_("Your loaded boundaries were removed; the bundled ones remain."))
    else:
        console().print(_("No loaded boundaries to remove."))


@app.command()
def locate(
    ctx: typer.Context,
    lon: Annotated[float | None, typer.Argument(help="Longitude (e.g. 106.68).")] = None,
    lat: Annotated[float | None, typer.Argument(help="Latitude (e.g. 20.86).")] = None,
    as_of: AsOfOpt = None,
    file: Annotated[Path | None, typer.Option("--file", help="A CSV of points (batch form).")] = None,
    lon_column: Annotated[str, typer.Option(help="The CSV's longitude column.")] = "lon",
    lat_column: Annotated[str, typer.Option(help="The CSV's latitude column.")] = "lat",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where the batch CSV goes (default: stdout).")] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """The unit at each level containing a point on a date.

    Before 1 July 2025 the old district comes from the old geometries and the old commune from
    the lineage where only one candidate remains (otherwise the candidates are listed).

    Examples:

      merger locate 106.6683 20.8651

      merger locate 106.6683 20.8651 --as-of 2025-06-30

      merger locate 106.6683 20.8651 --csv

      merger locate --file points.csv --lon-column x --lat-column y --out located.csv
    """
    check_formats(as_json, as_csv)
    day = _day(as_of)
    if file is None:
        if lon is None or lat is None:
            raise typer.BadParameter(_("give LON LAT, or --file points.csv"))
        _check_point(lon, lat)
    elif lon is not None:
        raise typer.BadParameter(_("give either LON LAT or --file, not both"))
    elif as_json:
        raise typer.BadParameter(_("--file writes CSV (one row per point): --json is for one point"))
    out = out_path(out)
    from merger import boundaries

    reg = state(ctx).register()
    if file is not None:
        _need("shapely")
        with errors():
            _locate_file(boundaries.locator(reg, as_of=day), file, lon_column, lat_column, out, day)
        return
    assert lon is not None and lat is not None
    with errors():
        hits = boundaries.locate(reg, lon, lat, as_of=day)  # reads only the units around the point
    if as_json:
        emit_json(dict(lon=lon, lat=lat, as_of=day, units=[h.__dict__ for h in hits]))
    elif as_csv:
        emit_csv(["level", "key", "name", "how", "candidates", "candidate_names"],
                 [[h.level, h.key, h.name, h.how, "|".join(h.candidates), "|".join(h.candidate_names)]
                  for h in hits])
    else:
        from rich.table import Table

        from merger.lineage import level_name

        table = Table(title=_("({lon}, {lat}) on {day}").format(lon=lon, lat=lat, day=fdate(day)))
        for col in (N_("Level"), N_("Unit"), N_("Key"), N_("How")):
            table.add_column(_(col))
        for h in hits:
            name = h.name or ("—" if not h.candidates else _("one of: {names}").format(
                names=", ".join(h.candidate_names)))
            table.add_row(level_name(h.level), name, h.key or "", _(HOW[h.how]) if h.how in HOW else h.how)
        console().print(table)
    if not any(h.key for h in hits):
        fail(_("({lon}, {lat}) lies in no unit with a boundary on {day}").format(lon=lon, lat=lat, day=fdate(day)))


HOW = {"geometry": N_("boundary"), "lineage": N_("lineage (one candidate left)"), "candidates": N_("candidates"),
       "none": N_("none")}  # how locate found each unit, for people


def _check_point(lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        hint = " (did you swap them? longitude comes first)" if -180 <= lat <= 180 and -90 <= lon <= 90 else ""
        raise typer.BadParameter(_("({lon}, {lat}) is not a longitude, latitude pair{hint}").format(lon=lon, lat=lat, hint=hint))
    if 8 <= lon <= 24 and 100 <= lat <= 118:
        raise typer.BadParameter(_("({lon}, {lat}) looks like latitude, longitude: give the longitude first").format(lon=lon, lat=lat))


def _locate_file(loc, file: Path, lon_column: str, lat_column: str, out: Path | None, day: date) -> None:  # type: ignore[no-untyped-def]
    """The batch form: one library call (merger.geo.batch), the CSV written in one piece."""
    from merger.geo.batch import locate_file

    with errors():
        done = locate_file(loc, file, lon_column, lat_column, raw=raw_csv())
    if out is None:
        stdout_text(done.text)
        return
    from merger.outputs import writing

    with errors(), writing(out) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write(done.text)
    print(f"{done.rows:,} points on {day}: {done.inside:,} inside a unit with a boundary, "
          f"{done.rows - done.inside:,} outside" + (f" ({done.bad:,} without numeric coordinates)" if done.bad else "")
          + f"; written to {out}", file=sys.stderr)


@app.command("map")
def map_cmd(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="FILE.png or FILE.svg.")],
    unit: Annotated[str | None, typer.Argument(help="Name, code or key of the unit (omit for a map of many "
                                               "units: --within / --level).", autocompletion=complete_unit)] = None,
    as_of: AsOfOpt = None,
    within: Annotated[str | None, typer.Option("--within", "-w", help="Without UNIT: every unit of --level in "
                                               "this province, or \"Việt Nam\" for the whole country.",
                                               autocompletion=complete_unit, callback=nonempty)] = None,
    level: Annotated[str | None, typer.Option(help="Without UNIT: province, district or commune (default: province "
                                              "for the country, commune within a province).")] = None,
) -> None:
    """A map of the unit with its neighbours, labels, a scale bar, a legend and the outlines of the
    units on the other side of the reform that it overlaps; without UNIT, every unit of one level
    in a territory, each named where the name fits without colliding.

    Examples:

      merger map "Phường Hồng Bàng" --out hong_bang.png

      merger map "Huyện Cát Hải" --as-of 2025-06-30 --out cat_hai_old.svg

      merger map --within "Việt Nam" --out vietnam.png

      merger map --level commune --within "Hải Phòng" --out hai_phong.png
    """
    out = out_path(out)  # type: ignore[assignment]
    _need("shapely", "pyproj", "matplotlib")
    from merger import boundaries

    if level is not None and level not in ("province", "district", "commune"):
        raise typer.BadParameter(_("{level!r} is not one of province, district, commune").format(level=level), param_hint="--level")
    reg = state(ctx).register()
    day = parse_date(as_of, "--as-of")
    if unit is None:
        with errors():
            info = boundaries.render_overview(reg, out, level=level, within=within, as_of=day)
        from merger.lineage import level_name

        console().print(_("Map of {n} units at {level} level written to {path}: {k} named ({c} outside their unit, "
                          "with a line; {i} in an inset), {m} names left out where they would collide.").format(
            n=len(info.units), level=level_name(info.level), path=info.path, k=len(info.labelled), c=len(info.callouts),
            i=len(info.insets), m=len(info.unlabelled)), soft_wrap=True)
        return
    if within is not None or level is not None:
        raise typer.BadParameter(_("--within and --level draw many units: give them without UNIT"))
    with errors():
        match = reg.resolve(unit, as_of=day)
        version = match.version if day is None else next((v for v in match.versions if v.valid_on(day)),
                                                         match.version)
        info1 = boundaries.render_map(reg, version, out, as_of=day)
    console().print(_("Map of {unit} ({key}) written to {path}: {n} neighbours, {m} outline(s) from the other "
                      "side.").format(unit=version.full_name, key=version.key, path=info1.path,
                                      n=len(info1.neighbours), m=len(info1.predecessors)), soft_wrap=True)


@app.command()
def overlap(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="Name, code or key of the unit.", autocompletion=complete_unit)],
    as_of: AsOfOpt = None,
    level: Annotated[str | None, typer.Option(help="The other side's level (default: district).")] = None,
    store: Annotated[bool, typer.Option("--store-weights", help="Also record geometry-derived shares for "
                                        "partial links whose two versions have geometries and no share yet "
                                        "(kept with who and when; --as-recorded sees them from then on).")] = False,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """The area a new unit took from each old unit (km² and shares), by overlaying geometries.

    For an old unit, the area each new unit took from it. "In lineage" says whether the recorded
    lineage (through the communes) also links the two.

    Examples:

      merger overlap "Phường Hồng Bàng"

      merger overlap 317@..2025-06-30 --json
    """
    check_formats(as_json, as_csv)
    _need("shapely", "pyproj")
    from merger import boundaries

    reg = state(ctx).register()
    day = parse_date(as_of, "--as-of")
    with errors():
        match = reg.resolve(unit, as_of=day)
        version = match.version if day is None else next((v for v in match.versions if v.valid_on(day)),
                                                         match.version)
        b = boundaries.load(reg)
        rows = boundaries.overlap(reg, version, b, level)
        stored = boundaries.store_weights(reg, boundaries.geometry_weights(reg, b)) if store else None
    header = ["key", "name", "level", "area_km2", "share_of_unit", "share_of_other", "in_lineage"]
    data = [[r.key, r.name, r.level, r.area_km2, r.share_of_unit, r.share_of_other, r.in_lineage] for r in rows]
    if as_json:
        emit_json(dict(unit=version.key, name=version.full_name, rows=[dict(zip(header, d, strict=True)) for d in data],
                       weights_stored=stored))
        return
    if as_csv:
        emit_csv(header, data)
        return
    from rich.table import Table

    table = Table(title=_("{unit} ({key}): overlay with the other side of the reform").format(
        unit=version.full_name, key=version.key))
    for col in (N_("Unit"), N_("Key"), "km²", N_("Share of this unit"), N_("Share of that unit"), N_("In lineage")):
        table.add_column(_(col), justify="right" if "km" in col or "Share" in col else "left")
    for r in rows:
        table.add_row(r.name, r.key or "", fnum(r.area_km2, 3), fpct(r.share_of_unit, 1),
                      "" if r.share_of_other is None else fpct(r.share_of_other, 1),
                      "" if r.key is None else (_("yes") if r.in_lineage else "[yellow]" + _("no") + "[/yellow]"))
    c = console()
    c.print(table)
    if not rows:
        c.print("[dim]" + _("No geometries on the other side of the reform.") + "[/dim]")
    if stored is not None:
        c.print(_("{n} link weight(s) stored with basis 'geometry'.").format(n=stored))


@app.command()
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")],
    format_: Annotated[str, typer.Option("--format", "-f", help="geojson or gpkg (boundaries), json (the "
                                         "register's exchange format).")] = "geojson",
    as_of: AsOfOpt = None,
    within: Annotated[str | None, typer.Option("--within", "-w", help="Only this unit and the units under it.", autocompletion=complete_unit,
                                               callback=nonempty)] = None,
    level: Annotated[str | None, typer.Option(help="Only this level: province, district or commune.", callback=nonempty)] = None,
) -> None:
    """Export boundaries with the register's attributes (code, name, type, parent, period,
    predecessors), or the whole register as JSON.

    Examples:

      merger export --format geojson --as-of 2025-07-01 --within "Hải Phòng" --out hai_phong.geojson

      merger export --format gpkg --level district --out old_districts.gpkg

      merger export --format json --out register.json
    """
    fmt = format_.lower()
    if fmt not in FORMATS:
        raise typer.BadParameter(_("{value!r} is not one of {join}").format(value=format_, join=', '.join(FORMATS)), param_hint="--format")
    out = out_path(out)  # type: ignore[assignment]
    reg = state(ctx).register()
    if fmt == "json":
        import importlib.util

        if importlib.util.find_spec("merger.exchange") is None:
            fail(_("the JSON export is not available in this build (merger.exchange is missing); use --format "
                   "geojson or gpkg for boundaries"))
        from merger import exchange  # type: ignore[attr-defined]

        with errors():
            written = exchange.export_register(reg, out)
        rows = ", ".join(f"{k} {fnum(v)}" for k, v in written.items()) if isinstance(written, dict) else ""
        console().print(_("Register exported to {path}").format(path=out) + (f": {rows}." if rows else "."))
        return
    _need("shapely", "pyproj", "geopandas", "pyogrio")
    from merger import boundaries

    with errors():
        n = boundaries.export(reg, out, fmt, as_of=parse_date(as_of, "--as-of"), within=within, level=level)
    console().print(_("{n} boundaries written to {path} ({format}).").format(n=fnum(n), path=out, format=fmt),
                    soft_wrap=True)


@app.command("import-boundaries")
def import_boundaries(
    new: Annotated[Path, typer.Argument(help="The new units' folder: thanglequoc/vietnamese-provinces-database "
                                             "json/geojson/ (one NN_name/ folder per province).")],
    old: Annotated[Path, typer.Argument(help="The old units' folder: daohoangson/dvhcvn data/gis/ at tag "
                                             "v20250301 (one NN.json per old province).")],
    out: Annotated[Path, typer.Option(help="Where to write boundaries.gpkg and README.md.")] = Path("data/boundaries"),
) -> None:
    """For maintainers: rebuild data/boundaries/ from the raw boundary files, reporting every mismatch.

    docs/boundaries.md says how to get the two folders (git snapshots of the public repositories).

    Example:

      merger import-boundaries /tmp/geo-sources/thanglequoc-geojson/json/geojson /tmp/geo-sources/dvhcvn-gis/data/gis
    """
    _need("shapely", "pyproj")
    from merger.importers import geo

    with errors():
        report = geo.run(new, old, out)
    c = console()
    for line in report.lines:
        c.print(f"• {line}", markup=False, highlight=False)
    c.print(", ".join(f"{k}={v:,}" for k, v in sorted(report.figures.items())))
