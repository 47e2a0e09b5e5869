"""Commands for analysts: crosswalk, convert, resolve, diff, report."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from merger.cli.common import (
    PIPE_WIDTH,
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
    key_column,
    nonempty,
    note_unrecorded_past,
    one_line,
    out_path,
    parse_date,
    print_table,
    raw_csv,
    state,
    stdout_stream,
    write_text,
)
from merger.i18n import _

FromOpt = Annotated[str, typer.Option("--from", "--before", help="The date the input units are valid on (2025-06-30 "
                                      "or 30/6/2025).")]
ToOpt = Annotated[str, typer.Option("--to", "--after", help="The date of the units to carry onto (earlier than --from "
                                    "back-casts).")]
SinceOpt = Annotated[str, typer.Option("--from", "--before", help="Changes after this date (2025-06-30 or 30/6/2025).")]
UntilOpt = Annotated[str, typer.Option("--to", "--after", help="Up to and including this date.")]
KindOpt = Annotated[str | None, typer.Option("--kind", help="admin (administrative units) or agency; default: both.")]
UnitKindOpt = Annotated[str, typer.Option("--kind", help="admin (administrative units), agency or all.")]
WithinOpt = Annotated[str | None, typer.Option("--within", "-w", help="Only the territory of this unit (e.g. \"Hải Phòng\").",
                                               autocompletion=complete_unit, callback=nonempty)]
WeightsOpt = Annotated[str, typer.Option("--weights", help="What the statistics measure: population or area (the "
                                         "matching portion of each link, else the successors' sapnhap figures), or "
                                         "equal.")]
LevelOpt = Annotated[str | None, typer.Option("--level", help="province, district or commune (default: commune).",
                                              callback=nonempty)]


def _dates(start: str, end: str) -> tuple:  # type: ignore[type-arg]
    s, e = parse_date(start, "--from"), parse_date(end, "--to")
    return s, e


def _kind(kind: str) -> str | None:
    """--kind: admin, agency, or all (None)."""
    if kind not in ("admin", "agency", "all"):
        raise typer.BadParameter(_("{kind!r} is not a kind (admin, agency or all)").format(kind=kind), param_hint="--kind")
    return None if kind == "all" else kind


def _level(level: str | None) -> str | None:
    if level is None:
        return "commune"
    if level.lower() in ("all", "any"):
        return None
    if level not in ("province", "district", "commune", "village"):
        raise typer.BadParameter(_("{level!r} is not a level (province, district, commune or all)").format(level=level), param_hint="--level")
    return level


@app.command()
def crosswalk(
    ctx: typer.Context,
    start: FromOpt = "2025-06-30",
    end: ToOpt = "2025-07-01",
    within: WithinOpt = None,
    level: LevelOpt = None,
    weights: WeightsOpt = "population",
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """One row per (unit at FROM, unit at TO) with the share of the FROM unit in the TO unit.

    Shares of each FROM unit sum to 1. "basis" says where a share comes from: "whole" (exact),
    "recorded-population" (NSO "toàn bộ dân số"), "stated-area"/"stated-population" (the wording
    moves none, or all, of that measure), or the fallback used for a divided unit; "reason" says
    why a share fell back, and a summary line on stderr counts them. --weights chooses the
    portion used: area statistics follow the area, population statistics the population. At
    --level district the old districts go to the new communes by the boundary overlay
    ("overlay-area", "overlay-population").

    Examples:

      merger crosswalk --from 2025-06-30 --to 2025-07-01 --csv > crosswalk.csv

      merger crosswalk --within "Hải Phòng" --weights area

      merger crosswalk --level district --weights area --csv > districts.csv

      merger crosswalk --from 2025-07-01 --to 2025-06-30 --json   (back-casting)
    """
    check_formats(as_json, as_csv)
    s, e = _dates(start, end)
    lvl = _level(level)
    reg = state(ctx).register()
    from merger import crosswalk as cx

    with errors():
        cw = cx.crosswalk(reg, s, e, within=within, level=lvl, weights=weights)  # type: ignore[arg-type]
    note_unrecorded_past(reg, s, e)
    snap = reg.snapshot
    records = cx.to_records(snap, cw)
    header = ["from_key", "from_code", "from_name", "to_key", "to_code", "to_name", "share", "basis", "exact",
              "split", "events", "reason"]
    if as_json:
        known, total = cw.known_share()
        emit_json(dict(start=cw.start, end=cw.end, weights=cw.weights, level=cw.level, within=cw.within,
                       sources=len(cw.sources), targets=len(cw.targets), known_paths=known,
                       unreached=[v.key for v in cw.unreached()], fallbacks=cw.fallbacks(), rows=records))
        return
    if as_csv:
        emit_csv(header, [[r[h] for h in header] for r in records])
        _fallback_line(cw.fallbacks(), sum(1 for r in cw.rows if r.reasons))
        return
    from merger.cli.draw import Table
    from merger.i18n import N_, _, fdate, fnum, fpct
    from merger.lineage import basis_label, level_name

    c = console()
    split = cw.split_sources()
    title = (_("Crosswalk {start} → {end}").format(start=fdate(cw.start), end=fdate(cw.end))
             + (_(" within {unit}").format(unit=cw.within) if cw.within else "")
             + _(": {n} units → {m} units, {rows} rows").format(n=fnum(len(cw.sources)), m=fnum(len(cw.targets)),
                                                              rows=fnum(len(cw.rows))))
    table = Table(title=title)
    for col in (N_("From"), N_("To"), N_("Share"), N_("Basis")):
        table.add_column(_(col), justify="right" if col == "Share" else "left")
    shown = records if len(records) <= 200 else [r for r in records if r["split"]][:200]
    for r in shown:
        table.add_row(str(r["from_name"]).split(",")[0] + f" [dim]{r['from_code']}[/dim]",
                      (str(r["to_name"]).split(",")[0] + f" [dim]{r['to_code']}[/dim]") if r["to_key"] else "[red]—[/red]",
                      fnum(float(r['share']), 4), _basis(str(r["basis"])))  # type: ignore[arg-type]
    print_table(table)
    if len(records) > len(shown):
        c.print("[dim]" + _("showing {n} rows of divided units out of {total}; use --csv or --json for all").format(
            n=len(shown), total=fnum(len(records))) + "[/dim]")
    c.print(_("{n} unit(s) divided between several; weights: {weights}.").format(n=fnum(len(split)),
                                                                                 weights=basis_label(cw.weights)))
    known, total = cw.known_share()
    c.print(_("Path to {day} fully known for {known} of {total} units ({share}); the rest cross a source gap "
              "(basis successor-unknown: the published lists do not say where a unit's territory went).").format(
                  day=fdate(cw.end), known=fnum(known), total=fnum(total),
                  share=fpct(known / total if total else 1.0)), highlight=False)
    for v in cw.unreached():
        c.print("[yellow]" + _("note") + "[/yellow]: " + _("{unit} is reached by no {level} unit at {day} (formed "
                "from another level)").format(unit=snap.path(v), level=level_name(cw.level or ""), day=fdate(cw.start)),
                highlight=False)
    _fallback_line(cw.fallbacks(), sum(1 for r in cw.rows if r.reasons))


def _fallback_line(counts: dict[str, int], rows: int) -> None:
    """For people, on stderr: how many shares fell back, and why ("N shares fell back: X because ...")."""
    if not rows:
        return
    from merger.i18n import _, fnum

    why = {
        "no-recorded-share": _("no share is recorded for the divided unit (estimated from the successors' "
                               "figures)"),
        "no-population-figure": _("a successor has no population figure"),
        "no-area-figure": _("a successor has no area figure"),
        "province-sum-off": _("the successors' province does not sum to its own population within 1%"),
        "equal-weights-asked": _("--weights equal was asked"),
        "old-units-without-statistics": _("the old units carry no figures (counted as equal units)"),
        "district-without-geometry": _("the district has no boundary (carried through its communes)"),
        "overlay-disagrees-with-lineage": _("the district's old boundary lies mostly where its communes did not go "
                                            "(carried through its communes)"),
    }
    parts = [_("{n} because {why}").format(n=fnum(n), why=why.get(code, code)) for code, n in counts.items()]
    print(_("{n} shares fell back (see the reason column): {parts}.").format(n=fnum(rows), parts="; ".join(parts)),
          file=sys.stderr)


def _basis(basis: str) -> str:
    """Where a crosswalk share comes from, for people ("whole", "recorded-population", "fallback-successor-area")."""
    from merger.i18n import _
    from merger.lineage import basis_label

    if basis == "whole":
        return _("whole")
    if basis == "successor-unknown":
        return _("successor unknown (source gap)")
    for prefix, said in (("recorded-", _("recorded {what}")), ("fallback-successor-", _("estimated from the "
                                                                                        "successors' {what}")),
                         ("stated-", _("stated {what}")), ("overlay-", _("boundary overlay, {what}"))):
        if basis.startswith(prefix):
            return said.format(what=basis_label(basis.removeprefix(prefix)))
    return basis_label(basis)


@app.command()
def convert(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The CSV table (UTF-8, header row) keyed by units at --from; "
                                        "- reads standard input.")],
    key: Annotated[str, typer.Option("--key", help="The column holding the unit code, key or name.")],
    out: Annotated[str | None, typer.Option("--out", "-o", help="Where to write the re-tabulated CSV "
                                            "(default, or -: standard output; the summary then goes to stderr).")]
    = None,
    key_kind: Annotated[str, typer.Option("--key-kind", help="code (e.g. 11533), name (\"Hòa Bình, Vĩnh Bảo, "
                                          "Hải Phòng\") or key (11533@..2025-06-30).")] = "code",
    start: FromOpt = "2025-06-30",
    end: ToOpt = "2025-07-01",
    sum_cols: Annotated[list[str] | None, typer.Option("--sum", help="Columns to split by share and add up "
                                                       "(repeat, or comma-separate).")] = None,
    mean_cols: Annotated[list[str] | None, typer.Option("--mean", help="Columns to average, weighted by share "
                                                        "(and --weight).")] = None,
    weight: Annotated[str | None, typer.Option("--weight", help="Column weighting the --mean columns "
                                               "(e.g. population).")] = None,
    group: Annotated[list[str] | None, typer.Option("--group", help="Columns kept as extra keys (e.g. year).")] = None,
    within: Annotated[str | None, typer.Option("--within", "-w", help="Only output units in this unit's territory "
                                               "(what goes elsewhere is totalled as outside).",
                                               autocompletion=complete_unit, callback=nonempty)] = None,
    digits: Annotated[int | None, typer.Option("--round", min=0, max=12, help="Round the figures written to N "
                                               "decimals (totals are computed before rounding).")] = None,
    level: LevelOpt = None,
    weights: WeightsOpt = "population",
    skip_unmatched: Annotated[bool, typer.Option("--skip-unmatched", help="Leave out rows whose key matches no unit "
                                                 "or several (listed on stderr) instead of refusing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Re-tabulate a statistics table from the units at FROM onto the units at TO.

    Sums are split by the crosswalk shares (totals are conserved); means are weighted. Rows whose
    key matches no unit, or several, are listed on stderr, one per line with its line number,
    and nothing is written unless --skip-unmatched is given. Without --out the table goes to
    standard output and the summary (totals per group, as plain numbers) to stderr.

    \b
    Examples:
      merger convert pop_2024.csv --key ma_xa --sum dan_so --out pop_2024_new.csv
      merger convert budget.csv --key xa --key-kind name --sum thu,chi --group nam --round 0 > new.csv
      cat rates.csv | merger convert - --key code --mean ty_le --weight dan_so --sum dan_so --within "Hải Phòng"
    """
    s, e = _dates(start, end)
    to_stdout = out is None or out == "-"
    if not to_stdout:
        out = str(out_path(Path(str(out))))  # the one --out behaviour: checked before any work

    def cols(values: list[str] | None) -> list[str]:
        return [c.strip() for v in values or [] for c in v.split(",") if c.strip()]

    reg = state(ctx).register()
    from merger import convert as cv
    from merger.errors import ValidationFailed

    with errors():
        try:
            conv = cv.convert_file(reg, file, key=key, key_kind=key_kind, start=s, end=e, sums=cols(sum_cols),
                                   means=cols(mean_cols), weight=weight, group=cols(group),
                                   level=_level(level), weights=weights, skip_unmatched=skip_unmatched,
                                   within=within)
        except ValidationFailed as exc:
            hint = "" if all(v.rule == "convert-not-a-number" for v in exc.violations) else \
                _(" (or pass --skip-unmatched to leave them out)")
            print(_("Error: {message}").format(message=_(
                "{n} row(s) cannot be carried over, nothing written; fix them{hint}. One per line:").format(
                n=len(exc.violations), hint=hint)), file=sys.stderr)
            for v in exc.violations:
                print(v.message, file=sys.stderr)
            raise typer.Exit(1) from None
    with errors():
        cv.write_table(conv, out, digits, raw=raw_csv())
    note_unrecorded_past(reg, s, e)
    for p in conv.problems:
        print(_("skipped {problem}").format(problem=p), file=sys.stderr)
    where = "standard output" if to_stdout else str(out)
    summary = dict(file=str(file), out=where, rows_in=conv.rows_in, rows_matched=conv.rows_matched,
                   rows_out=len(conv.rows), skipped=len(conv.problems), within=conv.within,
                   totals={c: dict(input=conv.totals_in[c], matched=conv.totals_matched[c],
                                   output=conv.totals_out[c], dissolved=conv.lost[c], outside=conv.outside[c])
                           for c in conv.sums},
                   groups=[dict(group=dict(zip(cols(group), g, strict=True)), totals=t)
                           for g, t in conv.by_group.items()] if group else [], fallbacks=conv.fallbacks)
    if as_json:
        if to_stdout:
            print(json.dumps(summary, ensure_ascii=False, indent=2, default=str), file=sys.stderr)
        else:
            emit_json(summary)
        return
    from rich.console import Console
    from rich.table import Table

    c = Console(stderr=True, width=PIPE_WIDTH if not sys.stderr.isatty() else None) if to_stdout else console()
    from merger.i18n import fdate, fnum

    c.print(_("{matched} of {rows} rows carried from {start} to {end}").format(
                matched=fnum(conv.rows_matched), rows=fnum(conv.rows_in), start=fdate(s), end=fdate(e))
            + (_(" within {area}").format(area=conv.within) if conv.within else "")
            + _(": {n} rows written to {where}").format(
                n=fnum(len(conv.rows)), where=_("standard output") if to_stdout else str(out))
            + (_("; {n} skipped (listed on stderr)").format(n=fnum(len(conv.problems))) if conv.problems else ""),
            highlight=False, soft_wrap=True)
    if conv.sums:
        gnames = cols(group)
        table = Table(title=_("Totals before and after") + (_(" by {columns}").format(columns=", ".join(gnames))
                                                            if gnames else ""))
        heads = [*gnames, _("Column"), _("Input"), _("Carried"), _("Output"), _("Dissolved")] + (
            [_("Outside")] if within else [])
        for i, col in enumerate(heads):
            table.add_column(col, justify="left" if i <= len(gnames) else "right")
        groups = conv.by_group.items() if gnames else [((), {k: dict(input=conv.totals_in[k],
                                                                     matched=conv.totals_matched[k],
                                                                     output=conv.totals_out[k],
                                                                     dissolved=conv.lost[k],
                                                                     outside=conv.outside[k])
                                                              for k in conv.sums})]
        for g, totals in groups:
            for col in conv.sums:
                t = totals[col]
                cells = [t["input"], t["matched"], t["output"], t["dissolved"]] + ([t["outside"]] if within else [])
                table.add_row(*g, col, *(cv.plain(x, digits) for x in cells))
        print_table(table, c)
    _fallback_line(conv.fallbacks, conv.fallback_shares)


@app.command()
def resolve(
    ctx: typer.Context,
    address: Annotated[str | None, typer.Argument(help="An address: \"xã Hòa Bình, huyện Vĩnh Bảo, Hải Phòng\", "
                                                  "\"P. An Lư, TX. Thủy Nguyên, TP. Hải Phòng\"; - reads one "
                                                  "address per line from standard input.")] = None,
    file: Annotated[str | None, typer.Option("--file", "-f", help="A CSV file of addresses (- : standard "
                                             "input).")] = None,
    column: Annotated[str | None, typer.Option("--column", "-c", help="The address column of --file (needed "
                                               "when it has several columns).")] = None,
    out: Annotated[str | None, typer.Option("--out", "-o", help="Where to write the resolved CSV (default, or -: "
                                            "standard output; the summary then goes to stderr).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", "--from", help="Only units valid on this date.")] = None,
    today: Annotated[str | None, typer.Option("--to", help="The date to give successors on (default: today).")] = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one address as a CSV row (the columns of "
                                         "--file).")] = False,
) -> None:
    """The unit an old- or new-style address names, its successors today (with shares), and the address rewritten.

    The rewritten address keeps the street part and puts the new unit and province in place of
    the old ones; a commune divided between several new units gets one candidate per successor,
    flagged "split". Province abbreviations (HP, HN, HCM, TP.HCM, ĐN...), both i/y spellings
    (Quý/Quí, Kỳ/Kì) and district-only addresses are understood; a street and a province alone
    answer the province (status province_only). With --file, every row gets a status (ok, split,
    province_only, district, not_found, ambiguous, unparseable); none is dropped.

    \b
    Examples:
      merger resolve "xa hoa binh, h. vinh bao, hai phong"
      merger resolve "P. An Lư, TX. Thủy Nguyên, TP. Hải Phòng" --json
      merger resolve --file customers.csv --column dia_chi --out customers_new.csv
      cut -d, -f3 customers.csv | merger resolve - > resolved.csv
    """
    if (address is None) == (file is None):
        raise typer.BadParameter(_("give one ADDRESS (or - for standard input) or --file"))
    check_formats(as_json, as_csv)
    if out is not None and out != "-":
        out = str(out_path(Path(out)))
    day = parse_date(today, "--to")
    on = parse_date(as_of, "--as-of")
    reg = state(ctx).register()
    from merger.addresses import AddressResolver

    if address is not None and address != "-" and as_csv:
        if not _resolve_file(reg, day, ["address"], [[address]], "the command line", "address", None, on, False,
                             first_line=1, quiet=True):
            raise typer.Exit(1)
        return
    if address is not None and address != "-":
        snap = reg.snapshot
        resolver = AddressResolver(snap, today=day)
        res = resolver.resolve(address, as_of=on)
        data = _resolved_dict(snap, res, resolver)
        if as_json:
            emit_json(data)
        else:
            _print_resolved(data)
        if not res.answered:
            raise typer.Exit(1)
        return
    if address == "-":
        header, rows = ["address"], [[line] for line in sys.stdin.read().splitlines() if line.strip()]
        column = "address"
        source = "standard input"
    else:
        from merger.convert import read_table

        assert file is not None
        with errors():
            header, rows = read_table(file)
        source = "standard input" if file == "-" else file
        if column is None:
            if len(header) != 1:
                raise typer.BadParameter(_("--file has {len} columns: say which holds the address ({join})").format(len=len(header), join=', '.join(header)), param_hint="--column")
            column = header[0]
    _resolve_file(reg, day, header, rows, source, column, out, on, as_json, first_line=1 if address == "-" else 2)


def _resolved_dict(snap, res, resolver) -> dict:  # type: ignore[no-untyped-def,type-arg]
    from merger.addresses import rewrite

    u = res.unit
    return dict(
        address=res.text, status=res.status, message=res.message,
        parsed=dict(street=res.address.street, commune=res.address.commune, district=res.address.district,
                    province=res.address.province) if res.address else None,
        unit=dict(key=u.key, code=u.code, name=snap.path(u), type=u.type, valid_from=u.valid_from,
                  valid_to=u.valid_to) if u else None,
        split=res.split,
        successors=[dict(key=r.target.key if r.target else None, code=r.target.code if r.target else None,
                         name=snap.path(r.target) if r.target else None, share=round(r.share, 10), basis=r.basis)
                    for r in res.successors],
        candidates=[dict(key=v.key, name=snap.path(v)) for v in res.candidates],
        rewritten=rewrite(snap, res, resolver.today),
    )


def _print_resolved(data: dict) -> None:  # type: ignore[type-arg]
    c = console()
    if data["unit"] is None:
        print(one_line(_("Error: {message}").format(message=f"{status_label(data['status']).replace('_', ' ')}: {data['message']}")),
              file=sys.stderr)
        return
    u = data["unit"]
    from merger.i18n import fdate, fnum

    c.print(f"[bold]{u['name']}[/bold] [cyan]{u['key']}[/cyan] ({fdate(u['valid_from'], '…')} – "
            f"{fdate(u['valid_to'])})", highlight=False)
    if data["message"]:
        c.print(f"[yellow]{_('note')}[/yellow]: {data['message']}", highlight=False)
    if data["split"]:
        c.print(f"[yellow]{status_label('split')}[/yellow]: "
                + _("divided between {n} units; every one is listed").format(n=len(data["successors"])))
    for s in data["successors"]:
        if s["key"] == u["key"]:
            c.print("→ " + _("still valid (no change)"))
            continue
        name = s["name"] or f"[red]{_('dissolved')}[/red]"
        c.print(f"→ {name} [cyan]{s['key'] or ''}[/cyan]  " + _("share {share} ({basis})").format(
            share=fnum(s["share"], 4), basis=s["basis"]), highlight=False)
    for text in data["rewritten"]:
        c.print(_("new address: {address}").format(address=text), highlight=False, markup=False)


def status_label(status: str) -> str:
    """A resolve status (a code in CSV/JSON) as people read it in Vietnamese (English shows the code)."""
    from merger import i18n

    if i18n.current().code == "en":
        return status
    labels = {"ok": _("found"), "split": _("split"), "district": _("district only"),
              "province_only": _("province only"), "not_found": _("not found"), "ambiguous": _("ambiguous"),
              "unparseable": _("unreadable")}
    return labels.get(status, status)


def _resolve_file(reg, day, header: list[str], rows: list[list[str]], source: str, column: str,  # type: ignore[no-untyped-def]
                  out: str | None, on, as_json: bool, first_line: int = 2, quiet: bool = False) -> bool:
    """Resolve a table's address column and write it with the cells added; True when every row
    was answered."""
    from merger.graph import no_gc

    with no_gc():  # tens of thousands of rows and cells, no cycles: no collector passes over them
        return _resolve_rows(reg, day, header, rows, source, column, out, on, as_json, first_line, quiet)


def _resolve_rows(reg, day, header: list[str], rows: list[list[str]], source: str, column: str,  # type: ignore[no-untyped-def]
                  out: str | None, on, as_json: bool, first_line: int, quiet: bool) -> bool:
    from merger.outputs import SafeWriter, safe_rows, writing
    from merger.resolve_index import CELLS, resolve_batch

    if column not in header:
        fail(_("no column {column!r} in {source}; the columns are: {join}").format(column=column, source=source, join=', '.join(header)))
    ci = header.index(column)
    texts = [row[ci] if ci < len(row) else "" for row in rows]
    if sys.stderr.isatty():  # the bar is drawn on a terminal only (rich costs ~0.1 s to import)
        from rich.console import Console
        from rich.progress import Progress

        with Progress(transient=True, console=Console(stderr=True)) as progress:
            task = progress.add_task(_("Resolving"), total=len(texts))
            batch = resolve_batch(reg, texts, today=day, as_of=on,
                                  progress=lambda n: progress.update(task, advance=n))
    else:
        batch = resolve_batch(reg, texts, today=day, as_of=on)
    counts: dict[str, int] = {}

    def write(fh) -> None:  # type: ignore[no-untyped-def]
        raw = raw_csv()
        for cells in batch.cells:
            counts[cells[0]] = counts.get(cells[0], 0) + 1
        w = SafeWriter(fh, raw)
        w.writerow(header + CELLS)
        w.writerows_safe(safe_rows([[*row, *cells] for row, cells in zip(rows, batch.cells, strict=True)], raw))

    to_stdout = out is None or out == "-"
    if to_stdout:
        write(stdout_stream())  # on a terminal the cells' control characters drawn, never obeyed
        sys.stdout.flush()
    else:
        assert out is not None
        with errors(), writing(Path(out)) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
            write(fh)
    bad = [(i + first_line, res) for i, res in sorted(batch.resolved.items()) if not res.answered]
    for line, res in bad[:50]:
        print(one_line(_("line {line}: {status}: {text!r}: {message}").format(
            line=line, status=status_label(res.status), text=res.text, message=res.message)), file=sys.stderr)
    if len(bad) > 50:
        print(_("… and {n} more rows not resolved (see the status column)").format(n=len(bad) - 50), file=sys.stderr)
    where = "standard output" if to_stdout else str(out)
    if quiet:
        return not bad
    if as_json:
        text = json.dumps(dict(file=source, out=where, rows=len(rows), statuses=counts), ensure_ascii=False, indent=2)
        print(text, file=sys.stderr if to_stdout else sys.stdout)
        return not bad
    from merger.i18n import fnum, ngettext

    shown = _("standard output") if to_stdout else where
    line = ngettext("{n} address → {where}: {counts}", "{n} addresses → {where}: {counts}", len(rows)).format(
        n=fnum(len(rows)), where=shown,
        counts=", ".join(f"{status_label(k)} {fnum(v)}" for k, v in sorted(counts.items()))) if counts else \
        _("no addresses → {where}").format(where=shown)  # a file of a header alone
    print(line, file=sys.stderr if to_stdout else sys.stdout)
    return not bad


@app.command()
def diff(
    ctx: typer.Context,
    start: SinceOpt = "2025-06-30",
    end: UntilOpt = "2025-07-01",
    within: WithinOpt = None,
    kind: UnitKindOpt = "admin",
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Every event between two dates, grouped by type, with counts and the list under each group.

    Examples:

      merger diff --from 2025-06-30 --to 2025-07-01 --within "Hải Phòng"

      merger diff --within "Hải Phòng" --csv > changes.csv

      merger diff --from 2025-07-01 --to 2026-12-31 --json
    """
    check_formats(as_json, as_csv)
    s, e = _dates(start, end)
    reg = state(ctx).register()
    from merger import report as rp

    with errors():
        d = rp.diff(reg, s, e, within=within, kind=_kind(kind))  # type: ignore[arg-type]
    snap = reg.snapshot
    if as_json:
        emit_json(dict(start=d.start, end=d.end, within=d.within, counts=d.counts(), total=d.total,
                       groups={t: [dict(event=c.event.key, event_type=t, level=c.level, effective=c.event.effective,
                                        act=c.event.act.number if c.event.act else None, clause=c.event.clause,
                                        citation=c.event.basis(), summary=c.summary(english=True),
                                        successors=[v.key for v in c.successors],
                                        predecessors=[dict(key=x.pred.key, relation=x.relation, portion=x.portion)
                                                      for x in c.links if x.pred is not None])
                                   for c in cs] for t, cs in d.groups.items()},
                       divided=[dict(key=v.key, name=snap.path(v), successors=[x.key for x in succ])
                                for v, succ in d.divided]))
        return
    if as_csv:
        # the column names of `changes` for the same things; "citation" is the act as people cite it
        emit_csv(["event_type", "group", "event", "effective", "level", "act", "clause", "citation", "summary"],
                 [[t, rp.GROUP_LABELS.get(t, t), c.event.key, c.event.effective, c.level,
                   c.event.act.number if c.event.act else "", c.event.clause or "", c.event.basis(),
                   c.summary(english=True)]
                  for t, cs in d.groups.items() for c in cs])
        return
    from merger.i18n import _, fdate, fnum

    c = console()
    where = _(" within {unit}").format(unit=d.within) if d.within else ""
    c.print("[bold]" + _("{n} events from {start} (exclusive) to {end}").format(
        n=fnum(d.total), start=fdate(d.start), end=fdate(d.end)) + f"{where}[/bold]", highlight=False)
    for t, cs in d.groups.items():
        levels = ", ".join(f"{rp.level_label(k).lower()} {fnum(n)}" for k, n in d.by_level(t).items())
        c.print(f"\n[bold]{rp.group_label(t)}[/bold]: {fnum(len(cs))} ({levels})", highlight=False)
        for ch in cs:
            c.print(f"  • {ch.summary()}" + (f" [dim]{ch.event.basis()}[/dim]" if ch.event.basis() else ""),
                    highlight=False)
    c.print("\n[bold]" + _("Old units divided between several new ones") + f"[/bold]: {fnum(len(d.divided))}")
    for v, succ in d.divided:
        c.print(f"  • {snap.path(v)} → {', '.join(x.full_name for x in succ)}", highlight=False)


@app.command()
def report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="The report file: .html (self-contained) or .md.")],
    within: WithinOpt = None,
    start: Annotated[str, typer.Option("--from", "--before", help="The 'before' date (2025-06-30 or 30/6/2025).")]
    = "2025-06-30",
    end: Annotated[str, typer.Option("--to", "--after", help="The 'after' date.")] = "2025-07-01",
    kind: Annotated[str, typer.Option("--kind", help="admin (administrative units) or agency.")] = "admin",
    weights: WeightsOpt = "population",
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Embed the before/after bar chart "
                                        "(needs matplotlib: pip install 'merger[report]').")] = True,
) -> None:
    """A self-contained before/after report: counts, events, a bar chart, and each new unit's predecessors.

    Examples:

      merger report --within "Hải Phòng" --out hai_phong.html

      merger report --within "Hải Phòng" --out hai_phong.md

      merger report --out vietnam.html --from 2025-06-30 --to 2025-07-01
    """
    s, e = _dates(start, end)
    out = out_path(out)  # type: ignore[assignment]
    reg = state(ctx).register()
    from merger import report as rp

    with errors():
        r = rp.build(reg, within=within, start=s, end=e, weights=weights, kind=kind)  # type: ignore[arg-type]
        path = rp.write(r, reg.snapshot, out, chart=chart)
    n = sum(len(cs) for cs in r.diff.groups.values())
    from merger.i18n import _, fnum

    console().print(_("Report written to {path}: {units} new units, {events} events.").format(
        path=path, units=fnum(len(r.new_units)), events=fnum(n)), highlight=False, soft_wrap=True)




@app.command()
def summary(
    ctx: typer.Context,
    within: WithinOpt = None,
    kind: KindOpt = None,
    start: Annotated[str, typer.Option("--from", "--before", help="The 'before' date (2025-06-30 or 30/6/2025).")]
    = "2025-06-30",
    end: Annotated[str, typer.Option("--to", "--after", help="The 'after' date.")] = "2025-07-01",
    fmt: Annotated[str, typer.Option("--format", help="text, md (Markdown) or docx (Word, needs --out and "
                                     "python-docx: pip install 'merger[docs]').")] = "text",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="vi (default) or en.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts: the sentences and the figures "
                                          "behind them.")] = False,
) -> None:
    """The report paragraphs: results as sentences, as the Department writes them, with the acts cited.

    The figures are those of `merger counts` (the same computation): provinces, the district
    level, communes by type, and agencies by type, e.g. "Hợp nhất 25 sở, ngành (tại 02 địa
    phương) thành 13 sở, ngành và tương đương (giảm 12 sở, ngành)."

    \b
    Examples:
      merger summary --within "Hải Phòng" --kind agency
      merger summary --within "Hải Phòng" --format docx --out bao_cao.docx
      merger summary --format md --lang en
    """
    from merger import summary as sm
    from merger.i18n import _, from_args, normalize

    if fmt not in sm.FORMATS:
        raise typer.BadParameter(_("{value!r} is not a format (text, md or docx)").format(value=fmt),
                                 param_hint="--format")
    if fmt == "docx" and (out is None or str(out) == "-"):
        raise typer.BadParameter(_("--format docx needs --out FILE.docx"), param_hint="--out")
    if fmt == "docx":
        out = out_path(out)
    s, e = _dates(start, end)
    language = lang.strip().lower() if lang else normalize(from_args(sys.argv[1:]) or os.environ.get("MERGER_LANG") or "vi")
    reg = state(ctx).register()
    with errors():
        result = sm.summarize(reg, within=within, kind=kind, start=s, end=e)  # type: ignore[arg-type]
        title, sections = sm.render(result, language)
        if fmt == "docx":
            assert out is not None
            sm.to_docx(title, sections, out, language)
            print(_("Written to {path}").format(path=out), file=sys.stderr)
            return
    note_unrecorded_past(reg, s, e, kind=kind)
    if as_json:
        emit_json(dict(start=result.start, end=result.end, within=result.within, lang=language, title=title,
                       sections=[dict(heading=x.heading, sentences=x.sentences) for x in sections],
                       parts=[dict(kind=p.kind, rows=[dict(level=r.level, type=r.type, before=r.before, after=r.after,
                                                           change=r.change) for r in p.counts.rows],
                                   acts=[dict(act=a, kind=k, events=n) for a, k, n in p.acts],
                                   events_without_act=dict(p.unsourced)) for p in result.parts]))
        return
    text = sm.to_markdown(title, sections) if fmt == "md" else sm.to_text(title, sections)
    write_text(text, out)


@app.command()
def changes(
    ctx: typer.Context,
    start: SinceOpt = "2025-06-30",
    end: UntilOpt = "2025-07-01",
    within: WithinOpt = None,
    kind: UnitKindOpt = "admin",
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """A flat change list: one row per old unit -> new unit link, like the COG "mouvements" files.

    Each row: effective date, event id and type, old code/name/type/parent, new
    code/name/type/parent, portion, relation, share and its basis, act and clause. An empty old
    side is an establishment, an empty new side a dissolution.

    \b
    Examples:
      merger changes --from 2025-06-30 --to 2025-07-01 --within "Hải Phòng" --csv > changes.csv
      merger changes --kind agency --json
      merger changes --within "Hải Phòng" | grep "Vĩnh Bảo"
    """
    check_formats(as_json, as_csv)
    s, e = _dates(start, end)
    reg = state(ctx).register()
    from merger import changes as ch

    with errors():
        rows = ch.changes(reg, s, e, within=within, kind=_kind(kind))
    if as_json:
        emit_json(rows)
        return
    if as_csv:
        emit_csv(ch.COLUMNS, [[r[c] for c in ch.COLUMNS] for r in rows])
        return
    from merger.cli.draw import Table
    from merger.i18n import N_, _, fdate, fnum
    from merger.lineage import relation_label

    table = Table(title=_("{n} links from {start} (exclusive) to {end}").format(n=fnum(len(rows)), start=fdate(s),
                                                                               end=fdate(e))
                  + (_(" within {unit}").format(unit=within) if within else ""))
    for col in (N_("Effective"), N_("Event"), N_("Old"), N_("New"), N_("Relation"), N_("Act")):
        key_column(table, _(col)) if col in ("Event", "Effective", "Act") else table.add_column(_(col))
    for r in rows:
        old = f"{r['old_name']} [dim]{r['old_code']}[/dim]" if r["old_key"] else "—"
        new = f"{r['new_name']} [dim]{r['new_code']}[/dim]" if r["new_key"] else "—"
        act = (r["act"] or "") + (f" k.{r['clause']}" if r["clause"] else "")
        table.add_row(fdate(date.fromisoformat(str(r["effective"]))), r["event"], old, new, f"{_(r['portion'])} · {relation_label(r['relation'])}", act)
    print_table(table)
