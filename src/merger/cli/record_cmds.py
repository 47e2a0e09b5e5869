"""Recording decisions: record <event>, apply (annexes), log, revoke, amend, import-register."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from merger.cli.common import (
    CsvOpt,
    JsonOpt,
    app,
    check_formats,
    complete_unit,
    console,
    emit_json,
    emit_rows,
    errors,
    fail,
    key_column,
    nonempty,
    one_line,
    parse_date,
    parse_moment,
    print_table,
    state,
)

record_app = typer.Typer(
    name="record",
    help="Record one reorganisation event (validated; written in one transaction, or not at all).\n\n"
    "\b\nExamples:\n"
    "  merger record merge \"Thôn Đông, Xã An\" \"Thôn Tây, Xã An\" --into \"Thôn Đông Tây\" "
    "--effective 2025-09-01 --act 12/NQ-HĐND --clause 1\n"
    "  merger record rename \"Thôn 3, Xã An\" --to \"Thôn Bình Minh\" --effective 2025-09-01 --act 12/NQ-HĐND",
    no_args_is_help=True,
)
app.add_typer(record_app, name="record")

Effective = Annotated[str, typer.Option("--effective", "-e", help="Date the event takes effect (2025-07-01 or 1/7/2025).")]
Act = Annotated[str | None, typer.Option("--act", help="Number of the legal act, e.g. 1669/NQ-UBTVQH15.")]
ActDate = Annotated[str | None, typer.Option("--act-date", help="Date the act was signed.")]
ActEffective = Annotated[str | None, typer.Option("--act-effective", help="Date the act itself comes into force "
                                                  "(if it differs from the date it was signed).")]
Issuer = Annotated[str | None, typer.Option("--issuer", help="Who issued the act (e.g. HĐND thành phố).")]
Clause = Annotated[str | None, typer.Option("--clause", help="Where in the act: \"khoản 2 Điều 3\", \"k2 Đ3\", "
                                            "\"điểm a khoản 2 Điều 3\", or \"2\" (khoản 2).")]
Note = Annotated[str, typer.Option("--note", help="Free text kept with the event.")]
Evidence = Annotated[str | None, typer.Option("--evidence", help="stated (an act or official source says so) or "
                                              "inferred (read from one, e.g. two lists; say how in --note).")]
Source = Annotated[str, typer.Option("--source", help="Where it comes from (document, page, URL).")]
By = Annotated[str | None, typer.Option("--by", help="Who records it (default: your OS user name).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the before/after table; write nothing.")]
Shares = Annotated[list[str] | None, typer.Option("--share", help="NAME=SHARE of the predecessor going to "
                                                   "NAME (0 < share <= 1); repeatable.")]
Basis = Annotated[str | None, typer.Option("--basis", help="What the shares measure: area or population.")]
Codes = Annotated[list[str] | None, typer.Option("--code", help="Code of a new unit (CODE, or NAME=CODE; "
                                                 "default: a predecessor's code; villages and agencies "
                                                 "get one made from the name).")]


def _codes(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in values or []:
        name, sep, code = raw.rpartition("=")
        out[name.strip() if sep else ""] = code.strip()
    return out


def _run(ctx: typer.Context, kind: str, *, effective: str, act: str | None, act_date: str | None,
         issuer: str | None, clause: str | None, note: str, by: str | None, dry_run: bool,
         as_json: bool = False, act_effective: str | None = None, evidence: str | None = None, source: str = "",
         **fields: Any) -> None:
    from merger.recording import Spec, parse_shares

    day = parse_date(effective, "--effective", event=True)
    assert day is not None
    with errors():
        shares = parse_shares(fields.pop("shares", None) or [])
        spec = Spec(type=kind, effective=day, act=act, act_date=parse_date(act_date, "--act-date", event=True),
                    act_effective=parse_date(act_effective, "--act-effective", event=True),
                    issuer=issuer, clause=clause, note=note, shares=shares, evidence=evidence, source=source,
                    **fields)
        reg = state(ctx).register()
        outcome = reg.record(spec, by=by, dry_run=dry_run)
    _show(outcome, as_json)


def _show(outcome: Any, as_json: bool, figures: Any = None) -> None:
    from merger.i18n import N_, _

    for warning in outcome.warnings:
        print(_("Warning: {message}").format(message=one_line(str(warning))), file=sys.stderr)
    if as_json:
        emit_json(dict(written=outcome.written, events=outcome.events, corrections=outcome.corrections,
                       changes=[dict(event=c.event, unit=c.unit, before=c.before, after=c.after)
                                for c in outcome.changes], warnings=outcome.warnings,
                       **({"closing_figures": figures.to_dict()} if figures else {})))
        return
    from rich.table import Table

    title = _("Recorded") if outcome.written else _("Dry run — nothing written")
    table = Table(title=f"{title}: {', '.join(outcome.events) or ', '.join(outcome.corrections)}")
    for col in (N_("Event"), N_("Before"), N_("After")):
        table.add_column(_(col))
    for c in outcome.changes:
        table.add_row(c.event, c.before, _when(c.after))
    console().print(table)
    if figures:
        from merger.draft.render import figures_text

        sys.stdout.write(figures_text(figures))


def _when(text: str) -> str:
    """The library's "… ends 2025-08-31" / "… from 2025-09-01" in the current language."""
    import re
    from datetime import date

    from merger.i18n import _, fdate

    if text.startswith("new unit: "):  # the planner's words for an establishment
        text = _("new unit: {unit}").format(unit=text.removeprefix("new unit: "))
    m = re.search(r"\b(ends|from) (\d{4}-\d{2}-\d{2})$", text)
    if not m:
        return text
    said = _("ends {day}") if m[1] == "ends" else _("from {day}")
    return text[: m.start()] + said.format(day=fdate(date.fromisoformat(m[2])))


@record_app.command("merge")
def merge(
    ctx: typer.Context,
    units: Annotated[list[str], typer.Argument(help="The units merged (names, codes or keys).", autocompletion=complete_unit)],
    into: Annotated[str, typer.Option("--into", help="The result: a new unit's name, or an existing sibling "
                                      "that absorbs them.")],
    effective: Effective,
    type_: Annotated[str | None, typer.Option("--type", help="Type of a new unit (default: the units').")] = None,
    parent: Annotated[str | None, typer.Option("--parent", help="Parent of a new unit (default: theirs).")] = None,
    code: Codes = None,
    act: Act = None, act_date: ActDate = None, act_effective: ActEffective = None, issuer: Issuer = None, clause: Clause = None, note: Note = "", evidence: Evidence = None, source: Source = "",
    by: By = None, dry_run: DryRun = False, as_json: JsonOpt = False,
) -> None:
    """Merge whole units into a new unit, or into an existing one (absorption).

    \b
    Examples:
      merger record merge "Thôn Đông, Xã An" "Thôn Tây, Xã An" --into "Thôn Đông Tây" -e 2025-09-01 --act 12/NQ-HĐND --clause 1
      merger record merge "Thôn Bắc, Xã An" --into "Thôn Đông, Xã An" -e 2025-09-01 --act 12/NQ-HĐND --clause 2
    """
    _run(ctx, "merge", units=units, into=[into], unit_type=type_, parent=parent, codes=_codes(code),
         effective=effective, act=act, act_date=act_date, act_effective=act_effective, issuer=issuer, clause=clause, note=note, evidence=evidence, source=source, by=by,
         dry_run=dry_run, as_json=as_json)


@record_app.command("split")
def split(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The unit divided.", autocompletion=complete_unit)],
    into: Annotated[list[str], typer.Option("--into", help="A successor (new, existing, or the unit itself "
                                            "for the part it keeps); repeat.")],
    effective: Effective,
    share: Shares = None, basis: Basis = None,
    type_: Annotated[str | None, typer.Option("--type", help="Type of the new units.")] = None,
    code: Codes = None,
    act: Act = None, act_date: ActDate = None, act_effective: ActEffective = None, issuer: Issuer = None, clause: Clause = None, note: Note = "", evidence: Evidence = None, source: Source = "",
    by: By = None, dry_run: DryRun = False, as_json: JsonOpt = False,
) -> None:
    """Divide a unit between successors, optionally with shares.

    \b
    Examples:
      merger record split "Thôn Nam, Xã An" --into "Thôn Nam 1" --into "Thôn Nam 2" --share "Thôn Nam 1=0.6" --share "Thôn Nam 2=0.4" --basis area -e 2025-09-01
    """
    _run(ctx, "split", units=[unit], into=into, shares=share, basis=basis, unit_type=type_, codes=_codes(code),
         effective=effective, act=act, act_date=act_date, act_effective=act_effective, issuer=issuer, clause=clause, note=note, evidence=evidence, source=source, by=by,
         dry_run=dry_run, as_json=as_json)


@record_app.command("transfer")
def transfer(
    ctx: typer.Context,
    part_of: Annotated[str, typer.Option("--part-of", help="The unit giving part of its territory.")],
    to: Annotated[str, typer.Option("--to", help="The unit receiving it.")],
    effective: Effective,
    share: Shares = None, basis: Basis = None,
    act: Act = None, act_date: ActDate = None, act_effective: ActEffective = None, issuer: Issuer = None, clause: Clause = None, note: Note = "", evidence: Evidence = None, source: Source = "",
    by: By = None, dry_run: DryRun = False, as_json: JsonOpt = False,
) -> None:
    """Move part of a unit's territory to another (both get new versions).

    A village-level "ghép cụm dân cư vào thôn liền kề" is this event.

    \b
    Examples:
      merger record transfer --part-of "Thôn Đông, Xã An" --to "Thôn Tây, Xã An" --share 0.2 --basis population -e 2025-09-01
    """
    _run(ctx, "transfer", units=[part_of], to=to, shares=share, basis=basis, effective=effective, act=act,
         act_date=act_date, act_effective=act_effective, issuer=issuer, clause=clause, note=note, evidence=evidence, source=source, by=by, dry_run=dry_run, as_json=as_json)


@record_app.command("rename")
def rename(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The unit renamed.", autocompletion=complete_unit)],
    to: Annotated[str, typer.Option("--to", help="The new name.")],
    effective: Effective,
    act: Act = None, act_date: ActDate = None, act_effective: ActEffective = None, issuer: Issuer = None, clause: Clause = None, note: Note = "", evidence: Evidence = None, source: Source = "",
    by: By = None, dry_run: DryRun = False, as_json: JsonOpt = False,
) -> None:
    """Rename a unit (refused if a sibling already has the name).

    \b
    Examples:
      merger record rename "Thôn 3, Xã An" --to "Thôn Bình Minh" -e 2025-09-01 --act 12/NQ-HĐND --clause 4
    """
    _run(ctx, "rename", units=[unit], to=to, effective=effective, act=act, act_date=act_date, act_effective=act_effective, issuer=issuer,
         clause=clause, note=note, evidence=evidence, source=source, by=by, dry_run=dry_run, as_json=as_json)


@record_app.command("reclassify")
def reclassify(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The unit whose type changes.", autocompletion=complete_unit)],
    to: Annotated[str, typer.Option("--to", help="The new type: phường, xã, \"tổ dân phố\", thôn...")],
    effective: Effective,
    act: Act = None, act_date: ActDate = None, act_effective: ActEffective = None, issuer: Issuer = None, clause: Clause = None, note: Note = "", evidence: Evidence = None, source: Source = "",
    by: By = None, dry_run: DryRun = False, as_json: JsonOpt = False,
) -> None:
    """Change a unit's type (xã -> phường, thôn -> tổ dân phố...).

    \b
    Examples:
      merger record reclassify "Thôn Đông, Xã An" --to "tổ dân phố" -e 2025-09-01
    """
    _run(ctx, "reclassify", units=[unit], to=to, effective=effective, act=act, act_date=act_date,
         issuer=issuer, clause=clause, note=note, evidence=evidence, source=source, by=by, dry_run=dry_run, as_json=as_json)


@record_app.command("dissolve")
def dissolve(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The unit dissolved.", autocompletion=complete_unit)],
    effective: Effective,
    functions_to: Annotated[str | None, typer.Option("--functions-to", help="The unit taking over its "
                                                     "functions (it gets a new version).")] = None,
    act: Act = None, act_date: ActDate = None, act_effective: ActEffective = None, issuer: Issuer = None, clause: Clause = None, note: Note = "", evidence: Evidence = None, source: Source = "",
    by: By = None, dry_run: DryRun = False, as_json: JsonOpt = False,
) -> None:
    """Dissolve a unit (its sub-units must be moved or dissolved first).

    \b
    Examples:
      merger record dissolve "Trung tâm Ví dụ" --functions-to "Sở Ví dụ" -e 2025-09-01 --act 99/QĐ-UBND
    """
    _run(ctx, "dissolve", units=[unit], to=functions_to, effective=effective, act=act, act_date=act_date,
         issuer=issuer, clause=clause, note=note, evidence=evidence, source=source, by=by, dry_run=dry_run, as_json=as_json)


@record_app.command("establish")
def establish(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The new unit's name.")],
    type_: Annotated[str, typer.Option("--type", help="Its type: thôn, xã, \"chi cục\", \"sở và tương đương\"...")],
    effective: Effective,
    parent: Annotated[str | None, typer.Option("--parent", help="Its parent unit.")] = None,
    code: Codes = None,
    act: Act = None, act_date: ActDate = None, act_effective: ActEffective = None, issuer: Issuer = None, clause: Clause = None, note: Note = "", evidence: Evidence = None, source: Source = "",
    by: By = None, dry_run: DryRun = False, as_json: JsonOpt = False,
) -> None:
    """Establish a new unit with no predecessor.

    \b
    Examples:
      merger record establish "Thôn Mới" --type thôn --parent "Xã An" -e 2025-09-01
    """
    _run(ctx, "establish", into=[name], unit_type=type_, parent=parent, codes=_codes(code), effective=effective,
         act=act, act_date=act_date, act_effective=act_effective, issuer=issuer, clause=clause, note=note, evidence=evidence, source=source, by=by, dry_run=dry_run,
         as_json=as_json)


@record_app.command("move")
def move(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="The unit moved.", autocompletion=complete_unit)],
    to_parent: Annotated[str, typer.Option("--to-parent", help="Its new parent.")],
    effective: Effective,
    act: Act = None, act_date: ActDate = None, act_effective: ActEffective = None, issuer: Issuer = None, clause: Clause = None, note: Note = "", evidence: Evidence = None, source: Source = "",
    by: By = None, dry_run: DryRun = False, as_json: JsonOpt = False,
) -> None:
    """Re-parent a unit, unchanged otherwise.

    \b
    Examples:
      merger record move "Thôn Đông, Xã An" --to-parent "Xã Bình" -e 2025-09-01
    """
    _run(ctx, "move", units=[unit], parent=to_parent, effective=effective, act=act, act_date=act_date,
         issuer=issuer, clause=clause, note=note, evidence=evidence, source=source, by=by, dry_run=dry_run, as_json=as_json)


def _refuse_all(path: str, exc: Any) -> None:
    """Every problem of a refused annex, one line each after the Error line; exit 1."""
    from merger.i18n import ngettext

    n = len(exc.violations)
    print(one_line(ngettext("Error: {path}: {n} problem; nothing was recorded",
                            "Error: {path}: {n} problems; nothing was recorded", n).format(path=path, n=n)),
          file=sys.stderr)
    for v in exc.violations:
        print(f"  {one_line(v.message)}", file=sys.stderr)
    raise typer.Exit(1)


@app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The decision annex (.csv, .yaml or .yml).")],
    effective: Annotated[str | None, typer.Option("--effective", "-e", help="Default effective date for rows "
                                                  "without one.")] = None,
    act: Act = None, act_date: ActDate = None, act_effective: ActEffective = None, issuer: Issuer = None,
    by: By = None, dry_run: DryRun = False, as_json: JsonOpt = False,
) -> None:
    """Apply a decision annex atomically: every event, or none and every problem by line.

    Re-applying an annex is refused (same act, clause and event already recorded).
    See docs/recording.md for the format.

    \b
    Examples:
      merger apply docs/examples/annex-example.csv --dry-run
      merger apply annex.yaml --by nguyen.van.a
      merger apply annex.csv --act 12/NQ-HĐND --act-date 2025-08-20 --effective 2025-09-01
    """
    from merger import annex
    from merger.errors import MergerError, ValidationFailed

    defaults = dict(effective=parse_date(effective, "--effective", event=True), act=act,
                    act_date=parse_date(act_date, "--act-date", event=True),
                    act_effective=parse_date(act_effective, "--act-effective", event=True), issuer=issuer)
    reg = state(ctx).register()
    progress, stop = _apply_progress()
    try:
        outcome = annex.apply(reg, path, by=by, dry_run=dry_run, defaults=defaults, progress=progress)
    except ValidationFailed as exc:
        stop()
        _refuse_all(str(path), exc)
    except MergerError as exc:
        stop()
        fail(str(exc))
    finally:
        stop()
    figures = _figures(reg, path, defaults) if dry_run else None
    _show(outcome, as_json, figures)


def _figures(reg: Any, path: Path, defaults: dict[str, Any]) -> Any:
    """The drafted annex's closing figures against the dry run (see merger.draft.figures)."""
    from merger.draft import figures

    with errors():
        return figures.check(reg, path, defaults)


def _apply_progress() -> tuple[Any, Any]:
    """A progress bar for a long annex, on a terminal only (pipes and files stay clean)."""
    if not sys.stderr.isatty():
        return None, lambda: None
    held: dict[str, Any] = {}

    def show(what: str, done: int, total: int) -> None:
        if "bar" not in held:
            if total < 500:
                return
            from rich.console import Console
            from rich.progress import Progress

            held["bar"] = Progress(console=Console(stderr=True), transient=True)
            held["bar"].start()
            held["task"] = held["bar"].add_task("annex", total=total)
        held["bar"].update(held["task"], completed=done, total=total, description=f"Annex: {what}")

    def stop() -> None:
        bar = held.pop("bar", None)
        if bar is not None:
            bar.stop()

    return show, stop


@app.command("log")
def log_cmd(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="Only records made on or after this date.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Only records by this person.", callback=nonempty)] = None,
    act: Annotated[str | None, typer.Option("--act", help="Only events under this act.", callback=nonempty)] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Only events touching this unit (a name, code or key).", callback=nonempty)] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Read --unit as the unit of that name on this date "
                                              "(when the name was shared over time).")] = None,
    include_bundled: Annotated[bool, typer.Option("--all", help="Include the bundled official events.")] = False,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Every recorded event, oldest first: who recorded it, when, and whether it still stands.

    \b
    Examples:
      merger log
      merger log --since 2025-09-01 --by nguyen.van.a
      merger log --unit "Thôn Đông, Xã An" --csv
      merger log --act 1669 --all
      merger --as-recorded 2025-09-30 log
    """
    check_formats(as_json, as_csv)
    reg = state(ctx).register()
    with errors():
        entries = reg.log(since=parse_moment(since, "--since"), by=by, act=act, unit=unit,
                          include_bundled=include_bundled, as_of=parse_date(as_of, "--as-of"))
    header = ["event", "event_type", "effective", "act", "clause", "summary", "recorded_at", "recorded_by", "origin",
              "status", "reason", "note"]
    rows = [[e.key, e.type, e.effective.isoformat(), e.act or "", e.clause or "", e.summary,
             e.recorded_at.isoformat(timespec="seconds"), e.recorded_by, e.origin, e.status, e.reason, e.note]
            for e in entries]
    if emit_rows(header, rows, as_json=as_json, as_csv=as_csv):
        return
    from rich.table import Table

    from merger import citation
    from merger.i18n import N_, _, fdate
    from merger.lineage import event_label

    table = Table(title=_("{n} recorded event(s)").format(n=len(rows)))
    for col in (N_("Event"), N_("Effective"), N_("Act"), N_("What"), N_("Recorded"), N_("Status")):
        key_column(table, _(col)) if col in ("Event", "Effective", "Act") else table.add_column(_(col))
    for e in entries:
        basis = citation.render(e.clause, e.act) if e.act else (e.clause or "")
        said = _(e.status) if e.status in (N_("in force"), N_("revoked")) else _("amended by {event}").format(
            event=e.status.removeprefix("amended by "))
        status = said if e.status == "in force" else f"[red]{said}[/red]: {e.reason}"
        table.add_row(e.key, fdate(e.effective), basis, f"{event_label(e.type)}: {_summary(e.summary)}",
                      f"{fdate(e.recorded_at.date())} {e.recorded_at:%H:%M} {e.recorded_by}", status)
    print_table(table)


def _summary(text: str) -> str:
    """The log's "new unit: X" / "X dissolved (no successor)" (kept English in --csv) in the current language."""
    from merger.i18n import _

    if text.startswith("new unit: "):
        return _("new unit: {unit}").format(unit=text.removeprefix("new unit: "))
    if text.endswith(" dissolved (no successor)"):
        return _("{units} dissolved (no successor)").format(units=text.removesuffix(" dissolved (no successor)"))
    return text


@app.command("revoke")
def revoke_cmd(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(help="The recorded event's key (see merger log).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the correction).")],
    by: By = None,
) -> None:
    """Revoke a recorded event: it stays in the log, marked revoked; its effects disappear.

    \b
    Examples:
      merger revoke E20250901-R4051 --reason "recorded under the wrong act"
    """
    reg = state(ctx).register()
    with errors():
        reg.revoke(event, reason=reason, by=by)
    from merger.i18n import _

    console().print(_("Revoked {event}.").format(event=event))


@app.command("amend")
def amend_cmd(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(help="The recorded event's key (see merger log).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the correction).")],
    effective: Annotated[str | None, typer.Option("--effective", "-e", help="Corrected effective date.")] = None,
    into: Annotated[list[str] | None, typer.Option("--into", help="Corrected successor name(s).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Corrected new name / type / target.")] = None,
    parent: Annotated[str | None, typer.Option("--parent", help="Corrected parent.")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Corrected type of new units.")] = None,
    share: Shares = None, basis: Basis = None,
    act: Act = None, act_date: ActDate = None, act_effective: ActEffective = None, issuer: Issuer = None, clause: Clause = None,
    note: Annotated[str | None, typer.Option("--note", help="Corrected note.")] = None,
    by: By = None, dry_run: DryRun = False, as_json: JsonOpt = False,
) -> None:
    """Correct a recorded event (wrong date, act, name, shares): the old record is kept, superseded.

    \b
    Examples:
      merger amend E20250901-R4051 --effective 2025-10-01 --reason "the decision takes effect on 1/10"
      merger amend E20250901-R4052 --to "Thôn Bình Minh" --reason "typo in the name"
    """
    from merger.recording import parse_shares

    changes: dict[str, Any] = {}
    if effective:
        changes["effective"] = parse_date(effective, "--effective", event=True)
    for name, value in (("into", into), ("to", to), ("parent", parent), ("unit_type", type_), ("basis", basis),
                        ("act", act), ("issuer", issuer), ("clause", clause), ("note", note)):
        if value:
            changes[name] = value
    if act_date:
        changes["act_date"] = parse_date(act_date, "--act-date", event=True)
    if act_effective:
        changes["act_effective"] = parse_date(act_effective, "--act-effective", event=True)
    reg = state(ctx).register()
    with errors():
        if share:
            changes["shares"] = parse_shares(share)
        outcome = reg.amend(event, changes, reason=reason, by=by, dry_run=dry_run)
    _show(outcome, as_json)


@app.command("import-register")
def import_register_cmd(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A JSON export (merger export --format json).")],
) -> None:
    """Restore a whole register from a JSON export into an empty database (--db).

    \b
    Examples:
      merger --db restored.sqlite import-register backup.json
    """
    from merger import exchange, store
    from merger.register import Register

    st = state(ctx)
    with errors():
        url = store.resolve_url(st.db)
        reg = Register(url)
        try:
            counts = exchange.import_register(reg, path)
        finally:
            reg.close()
    from merger.i18n import _, fnum

    console().print(_("Imported: {counts}").format(counts=", ".join(f"{k} {fnum(v)}" for k, v in counts.items())))
