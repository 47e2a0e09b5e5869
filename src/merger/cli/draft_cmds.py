"""Drafting a decision annex from the resolution's own text: merger draft."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from merger.cli.common import JsonOpt, app, emit_json, errors, fail, out_path, parse_date, state
from merger.i18n import _, fdate, pgettext


@app.command("draft")
def draft_cmd(
    ctx: typer.Context,
    resolution: Annotated[Path, typer.Argument(help="The resolution: Markdown or text (.md, .txt), .docx, "
                                               "or a PDF with a text layer.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the drafted annex (.yaml).")],
    act: Annotated[str | None, typer.Option("--act", help="The act's number, when the text's is missing "
                                            "or wrong.")] = None,
    effective: Annotated[str | None, typer.Option("--effective", "-e", help="The day the changes take "
                                                  "effect (default: the day the text says the new units "
                                                  "operate from, else the day it is in force).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Draft a decision annex from a resolution's text, for review and merger apply.

    One annex event per clause (merge, partial merge with "một phần" / "phần còn lại",
    special zone, rename, units left unchanged), citing its clause and quoting its
    sentence. Every name is resolved against the register on the day before the
    effective date, inside the resolution's province; a name that is not certain is
    left marked "# REVIEW" with its candidates, never guessed. The resolution's
    closing figures are copied, so `merger apply --dry-run` can compare them.
    Agency texts (a People's Council resolution or a People's Committee decision:
    "Thành lập Sở X trên cơ sở hợp nhất Sở A và Sở B", "hợp nhất ... thành ...",
    "sáp nhập ... vào ...", "đổi tên ... thành ...", "giải thể ...") give agency
    events, resolved among the province's agencies.
    Exits 1 when any row needs review.

    \b
    Examples:
      merger draft 1669_NQ-UBTVQH15.md --out annex-1669.yaml
      merger draft nghi-quyet.docx --out annex.yaml --effective 2025-07-01
      merger draft nq-hop-nhat-so.md --out annex-so.yaml --effective 1/3/2025
      merger apply annex-1669.yaml --dry-run
    """
    from merger.draft import build

    day = parse_date(effective, "--effective", event=True)
    out = out_path(out)  # type: ignore[assignment]
    reg = state(ctx).register()
    with errors():
        drafted = build.draft(reg, resolution, act=act, effective=day)
        build.write(drafted, reg.snapshot, out)
    summary = drafted.summary()
    review = drafted.needs_review
    if as_json:
        emit_json(dict(summary, out=str(out), review=[
            dict(clause=r.clause.number, event=r.event, reasons=r.review) for r in review],
            notes=drafted.notes))
    else:
        _print_summary(summary, out, review, drafted.notes)
    if review:
        print(_("Error: {message}").format(message=_(
            "{n} row(s) need review before merger apply: see the '# REVIEW' lines in {out}").format(
            n=len(review), out=out)), file=sys.stderr)
        raise typer.Exit(1)


def _clean(text: object) -> str:
    """Text from a document, safe for a terminal: control characters (escape codes) dropped."""
    import unicodedata

    return "".join(ch for ch in str(text) if not unicodedata.category(ch).startswith("C"))


def _print_summary(summary: dict, out: Path, review: list, notes: list[str]) -> None:  # type: ignore[type-arg]
    """The summary for people, in the order they check it."""
    from merger.i18n import _

    figures = summary.get("closing_figures")
    kinds = {"merge": pgettext("draft", "merge"), "partial merge": pgettext("draft", "partial merge"),
             "special zone": pgettext("draft", "special zone"), "rename": pgettext("draft", "rename"),
             "unchanged": pgettext("draft", "unchanged"), "move": pgettext("draft", "move")}
    lines = [
        _("Drafted {out}: {act}, {province}, effective {effective}").format(
            out=out, act=summary["act"] or _("no act number"), province=summary["province"],
            effective=fdate(date.fromisoformat(str(summary["effective"])))),
        "  " + _("events: {n} ({types})").format(n=summary["events"], types=", ".join(
            f"{kinds.get(k, k)} {v}" for k, v in summary["events_by_type"].items())),  # type: ignore[union-attr]
        "  " + _("units named: {named}, resolved: {resolved} (to check: {check})").format(
            named=summary["units_named"], resolved=summary["units_resolved"], check=summary["units_to_check"]),
        "  " + _("rows needing review: {n}").format(n=summary["rows_needing_review"]),
    ]
    agencies = summary.get("agencies_after")
    if summary.get("kind") == "agency":
        lines.append("  " + _("rows to check (# CHECK: lines): {n}").format(n=summary.get("rows_to_check", 0)))
        if agencies:
            lines.append("  " + _("departments after (sở và tương đương): stated {stated}, drafted {drafted}").format(
                **agencies))  # type: ignore[arg-type]
    if figures:
        total = pgettext("figures", "total")
        lines.append("  " + _("closing figures stated: {figures} (merger apply FILE --dry-run compares them)").format(
            figures=", ".join(f"{total if k == 'total' else k} {v}" for k, v in figures.items())))
    for r in review:
        where = (r.cite or _("sentence {n}").format(n=r.clause.number)) if summary.get("kind") == "agency" \
            else f"khoản {r.clause.number}"
        lines.append("  " + _("REVIEW {where}: {reasons}").format(where=where, reasons=" | ".join(r.review)[:400]))
    lines += ["  " + _("note: {note}").format(note=n) for n in notes]
    sys.stdout.write("\n".join(_clean(line) for line in lines) + "\n")


__all__ = ["draft_cmd", "fail"]
