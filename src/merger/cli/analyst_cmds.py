"""Commands for analysts: crosswalk, convert, resolve, diff, report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from merger.cli.common import (
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
    note_unrecorded_past,
    parse_date,
    state,
)

FromOpt = Annotated[str, typer.Option("--from", help="The date the input units are valid on (2025-06-30 or 30/6/2025).")]
ToOpt = Annotated[str, typer.Option("--to", help="The date of the units to carry onto (earlier than --from back-casts).")]
WithinOpt = Annotated[str | None, typer.Option("--within", "-w", help="Only the territory of this unit (e.g. \"Hải Phòng\").",
                                               autocompletion=complete_unit)]
WeightsOpt = Annotated[str, typer.Option("--weights", help="How to split a divided unit where no weight is recorded: "
                                         "population, area (from the successors' sapnhap statistics) or equal.")]
LevelOpt = Annotated[str | None, typer.Option("--level", help="province, district or commune (default: commune).")]


def _dates(start: str, end: str) -> tuple:  # type: ignore[type-arg]
    s, e = parse_date(start, "--from"), parse_date(end, "--to")
    return s, e


def _level(level: str | None) -> str | None:
    if level is None:
        return "commune"
    if level.lower() in ("all", "any"):
        return None
    if level not in ("province", "district", "commune", "village"):
        raise typer.BadParameter(f"{level!r} is not a level (province, district, commune or all)", param_hint="--level")
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
    "recorded-population" (NSO "toàn bộ dân số"), or the fallback used for a divided unit.

    Examples:

      merger crosswalk --from 2025-06-30 --to 2025-07-01 --csv > crosswalk.csv

      merger crosswalk --within "Hải Phòng" --weights area

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
              "split", "events"]
    if as_json:
        known, total = cw.known_share()
        emit_json(dict(start=cw.start, end=cw.end, weights=cw.weights, level=cw.level, within=cw.within,
                       sources=len(cw.sources), targets=len(cw.targets), known_paths=known,
                       unreached=[v.key for v in cw.unreached()], rows=records))
        return
    if as_csv:
        emit_csv(header, [[r[h] for h in header] for r in records])
        return
    from rich.table import Table

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
    c.print(table)
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


def _basis(basis: str) -> str:
    """Where a crosswalk share comes from, for people ("whole", "recorded-population", "fallback-successor-area")."""
    from merger.i18n import _
    from merger.lineage import basis_label

    if basis == "whole":
        return _("whole")
    if basis == "successor-unknown":
        return _("successor unknown (source gap)")
    for prefix, said in (("recorded-", _("recorded {what}")), ("fallback-successor-", _("estimated from the "
                                                                                        "successors' {what}"))):
        if basis.startswith(prefix):
            return said.format(what=basis_label(basis.removeprefix(prefix)))
    return basis_label(basis)


@app.command()
def convert(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The CSV table (UTF-8, header row) keyed by units at --from.")],
    key: Annotated[str, typer.Option("--key", help="The column holding the unit code, key or name.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the re-tabulated CSV.")],
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
    level: LevelOpt = None,
    weights: WeightsOpt = "population",
    skip_unmatched: Annotated[bool, typer.Option("--skip-unmatched", help="Leave out rows whose key matches no unit "
                                                 "or several (listed on stderr) instead of refusing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Re-tabulate a statistics table from the units at FROM onto the units at TO.

    Sums are split by the crosswalk shares (totals are conserved); means are weighted. Rows whose
    key matches no unit, or several, are listed by line number, and nothing is written unless
    --skip-unmatched is given.

    Examples:

      merger convert pop_2024.csv --key ma_xa --sum dan_so --out pop_2024_new.csv

      merger convert budget.csv --key xa --key-kind name --sum thu,chi --group nam --out new.csv

      merger convert rates.csv --key code --mean ty_le --weight dan_so --sum dan_so --out new.csv
    """
    s, e = _dates(start, end)

    def cols(values: list[str] | None) -> list[str]:
        return [c.strip() for v in values or [] for c in v.split(",") if c.strip()]

    reg = state(ctx).register()
    from merger import convert as cv
    from merger.errors import ValidationFailed

    with errors():
        try:
            conv = cv.convert_file(reg, file, key=key, key_kind=key_kind, start=s, end=e, sums=cols(sum_cols),
                                   means=cols(mean_cols), weight=weight, group=cols(group),
                                   level=_level(level), weights=weights, skip_unmatched=skip_unmatched)
        except ValidationFailed as exc:
            listed = "; ".join(v.message for v in exc.violations[:10])
            more = f"; … and {len(exc.violations) - 10} more" if len(exc.violations) > 10 else ""
            hint = "" if all(v.rule == "convert-not-a-number" for v in exc.violations) else \
                " (or pass --skip-unmatched to leave them out)"
            fail(f"{len(exc.violations)} row(s) cannot be carried over, nothing written: {listed}{more}. "
                 f"Fix them{hint}.")
    with errors():
        cv.write_table(conv, out)
    note_unrecorded_past(reg, s, e)
    for p in conv.problems:
        print(f"skipped {p}", file=sys.stderr)
    summary = dict(file=str(file), out=str(out), rows_in=conv.rows_in, rows_matched=conv.rows_matched,
                   rows_out=len(conv.rows), skipped=len(conv.problems),
                   totals={c: dict(input=conv.totals_in[c], matched=conv.totals_matched[c],
                                   output=conv.totals_out[c], dissolved=conv.lost[c]) for c in conv.sums})
    if as_json:
        emit_json(summary)
        return
    from rich.table import Table

    c = console()
    c.print(f"{conv.rows_matched:,} of {conv.rows_in:,} rows carried from {s} to {e}: {len(conv.rows):,} rows "
            f"written to {out}" + (f"; {len(conv.problems):,} skipped (listed on stderr)" if conv.problems else ""),
            highlight=False, soft_wrap=True)
    if conv.sums:
        table = Table(title="Totals before and after")
        for col in ("Column", "Input", "Carried", "Output", "Difference"):
            table.add_column(col, justify="left" if col == "Column" else "right")
        for col in conv.sums:
            diff = conv.totals_out[col] - conv.totals_matched[col]
            table.add_row(col, f"{conv.totals_in[col]:,.6g}", f"{conv.totals_matched[col]:,.6g}",
                          f"{conv.totals_out[col]:,.6g}", f"{diff:+.3g}")
        c.print(table)


@app.command()
def resolve(
    ctx: typer.Context,
    address: Annotated[str | None, typer.Argument(help="An address: \"xã Hòa Bình, huyện Vĩnh Bảo, Hải Phòng\", "
                                                  "\"P. An Lư, TX. Thủy Nguyên, TP. Hải Phòng\".")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="A CSV file of addresses.")] = None,
    column: Annotated[str | None, typer.Option("--column", "-c", help="The address column of --file.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where to write the resolved CSV (with --file).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Only units valid on this date.")] = None,
    today: Annotated[str | None, typer.Option("--to", help="The date to give successors on (default: today).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The unit an old- or new-style address names, and all its successors today (with shares).

    A commune divided between several new units returns every one of them, flagged "split".
    With --file, every row gets a status (ok, split, not_found, ambiguous, unparseable); none
    is dropped.

    Examples:

      merger resolve "xa hoa binh, h. vinh bao, hai phong"

      merger resolve "P. An Lư, TX. Thủy Nguyên, TP. Hải Phòng" --json

      merger resolve --file customers.csv --column dia_chi --out customers_new.csv
    """
    if (address is None) == (file is None):
        raise typer.BadParameter("give one ADDRESS or --file (with --column and --out)")
    if file is not None and (not column or out is None):
        raise typer.BadParameter("--file needs --column and --out")
    day = parse_date(today, "--to")
    on = parse_date(as_of, "--as-of")
    reg = state(ctx).register()
    from merger.addresses import AddressResolver

    snap = reg.snapshot
    resolver = AddressResolver(snap, today=day)
    if address is not None:
        res = resolver.resolve(address, as_of=on)
        data = _resolved_dict(snap, res)
        if as_json:
            emit_json(data)
        else:
            _print_resolved(data)
        if not res.ok:
            raise typer.Exit(1)
        return
    assert file is not None and column is not None and out is not None
    _resolve_file(resolver, file, column, out, on, as_json)


def _resolved_dict(snap, res) -> dict:  # type: ignore[no-untyped-def,type-arg]
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
    )


def _print_resolved(data: dict) -> None:  # type: ignore[type-arg]
    c = console()
    if data["unit"] is None:
        print(f"Error: {data['status'].replace('_', ' ')}: {data['message']}", file=sys.stderr)
        return
    u = data["unit"]
    c.print(f"[bold]{u['name']}[/bold] [cyan]{u['key']}[/cyan] ({u['valid_from'] or '…'} – {u['valid_to'] or ''})",
            highlight=False)
    if data["message"]:
        c.print(f"[yellow]note[/yellow]: {data['message']}", highlight=False)
    if data["split"]:
        c.print(f"[yellow]split[/yellow]: divided between {len(data['successors'])} units; every one is listed")
    for s in data["successors"]:
        if s["key"] == u["key"]:
            c.print("→ still valid (no change)")
            continue
        name = s["name"] or "[red]dissolved[/red]"
        c.print(f"→ {name} [cyan]{s['key'] or ''}[/cyan]  share {s['share']:.4f} ({s['basis']})", highlight=False)


def _resolve_file(resolver, file: Path, column: str, out: Path, on, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    import csv

    from merger.convert import read_table

    with errors():
        header, rows = read_table(file)
    if column not in header:
        fail(f"no column {column!r} in {file}; the columns are: {', '.join(header)}")
    ci = header.index(column)
    texts = [row[ci] if ci < len(row) else "" for row in rows]
    from rich.progress import Progress

    with Progress(transient=True, console=console()) as progress:
        task = progress.add_task("Resolving", total=len(texts))
        results = []
        for i in range(0, len(texts), 5000):
            results += resolver.resolve_many(texts[i: i + 5000], as_of=on)
            progress.update(task, advance=len(texts[i: i + 5000]))
    snap = resolver.snap
    extra = ["status", "unit_key", "unit_code", "unit_name", "split", "successor_keys", "successor_codes",
             "successor_names", "shares", "basis", "message"]
    tmp = out.with_name(out.name + ".tmp")
    counts: dict[str, int] = {}
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header + extra)
            for row, res in zip(rows, results, strict=True):
                counts[res.status] = counts.get(res.status, 0) + 1
                succ = [r for r in res.successors]
                u = res.unit
                w.writerow(list(row) + [
                    res.status, u.key if u else "", u.code if u else "", snap.path(u) if u else "",
                    "yes" if res.split else ("no" if u else ""),
                    " | ".join(r.target.key if r.target else "" for r in succ),
                    " | ".join(r.target.code if r.target else "" for r in succ),
                    " | ".join(snap.path(r.target) if r.target else "dissolved" for r in succ),
                    " | ".join(f"{r.share:.6g}" for r in succ),
                    " | ".join(r.basis for r in succ), res.message])
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"cannot write {out}: {exc.strerror or exc}")
    bad = [(i + 2, res) for i, res in enumerate(results) if not res.ok]
    for line, res in bad[:50]:
        print(f"line {line}: {res.status}: {res.text!r}: {res.message}", file=sys.stderr)
    if len(bad) > 50:
        print(f"… and {len(bad) - 50} more rows not resolved (see the status column)", file=sys.stderr)
    if as_json:
        emit_json(dict(file=str(file), out=str(out), rows=len(rows), statuses=counts))
        return
    console().print(f"{len(rows):,} addresses → {out}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())),
                    highlight=False)


@app.command()
def diff(
    ctx: typer.Context,
    start: FromOpt = "2025-06-30",
    end: ToOpt = "2025-07-01",
    within: WithinOpt = None,
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
        d = rp.diff(reg, s, e, within=within)  # type: ignore[arg-type]
    snap = reg.snapshot
    if as_json:
        emit_json(dict(start=d.start, end=d.end, within=d.within, counts=d.counts(), total=d.total,
                       groups={t: [dict(event=c.event.key, type=t, level=c.level, effective=c.event.effective,
                                        basis=c.event.basis(), summary=c.summary(english=True),
                                        successors=[v.key for v in c.successors],
                                        predecessors=[dict(key=x.pred.key, relation=x.relation, portion=x.portion)
                                                      for x in c.links if x.pred is not None])
                                   for c in cs] for t, cs in d.groups.items()},
                       divided=[dict(key=v.key, name=snap.path(v), successors=[x.key for x in succ])
                                for v, succ in d.divided]))
        return
    if as_csv:
        emit_csv(["group", "event", "effective", "level", "basis", "summary"],
                 [[rp.GROUP_LABELS.get(t, t), c.event.key, c.event.effective, c.level, c.event.basis(), c.summary(english=True)]
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
    start: FromOpt = "2025-06-30",
    end: ToOpt = "2025-07-01",
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
    reg = state(ctx).register()
    from merger import report as rp

    with errors():
        r = rp.build(reg, within=within, start=s, end=e, weights=weights)  # type: ignore[arg-type]
        path = rp.write(r, reg.snapshot, out, chart=chart)
    n = sum(len(cs) for cs in r.diff.groups.values())
    from merger.i18n import _, fnum

    console().print(_("Report written to {path}: {units} new units, {events} events.").format(
        path=path, units=fnum(len(r.new_units)), events=fnum(n)), highlight=False, soft_wrap=True)
