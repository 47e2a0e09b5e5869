"""What every command shares: the app, the --db option, dates, errors and output formats."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import typer.core

from merger.cli.lang import LocalizedGroup
from merger.i18n import _, fdate

# Plain click help: typer's rich help formatter (and its markdown parser) would double the
# start-up time of every `--help`, and the CLI reference in docs/ is this plain text.
typer.core.HAS_RICH = False

if TYPE_CHECKING:
    from rich.console import Console

    from merger.register import Register

app = typer.Typer(
    name="merger",
    help=(
        "A versioned register of administrative reorganisations: Vietnam's 1 July 2025 reform "
        "(63 -> 34 provinces, districts abolished, 10,035 -> 3,321 communes) as a lineage graph.\n\n"
        "\b\nExamples:\n"
        "  merger counts --within \"Hải Phòng\"\n"
        "  merger lineage \"An Lư, Thủy Nguyên\"\n"
        "  merger units --as-of 2025-07-01 --within \"Hải Phòng\" --type \"đặc khu\""
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: importing rich's help formatter would double start-up time
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=LocalizedGroup,  # each invocation in the user's language (--lang, MERGER_LANG, LANG)
)


class State:
    """Per-invocation settings from the global options (no module-level register)."""

    def __init__(self, db: str | None, as_recorded: Any = None, read_only: bool = False):
        self.db = db
        self.as_recorded = as_recorded  # date or datetime: read the register as recorded then
        self.read_only = read_only  # --read-only: every write refused
        self.refuse: str | None = None  # the writing command to refuse (with --read-only)
        self._register: Register | None = None

    def register(self) -> Register:
        if self.refuse:
            read_only_refusal(self.refuse)
        if self._register is None:
            from merger.register import Register

            with errors():
                self._register = Register.open(self.db, progress=_build_progress(),
                                               as_recorded=self.as_recorded, read_only=self.read_only)
        return self._register

    def close(self) -> None:
        """Release the register's database connections (a PostgreSQL pool) when the command ends."""
        if self._register is not None:
            self._register.close()
            self._register = None


def _build_progress():  # type: ignore[no-untyped-def]
    """Progress while the embedded register is built on first use: a bar on a terminal, else lines."""
    state: dict[str, Any] = {}

    def show(label: str, step: int, total: int) -> None:
        if "started" not in state:
            state["started"] = True
            if sys.stderr.isatty():
                from rich.console import Console
                from rich.progress import Progress

                bar = Progress(console=Console(stderr=True), transient=True)
                bar.start()
                state["bar"], state["task"] = bar, bar.add_task(_("Building the register (first use)"), total=total)
            else:
                print(_("Building the register from the bundled data (first use)…"), file=sys.stderr)
        if "bar" in state:
            state["bar"].update(state["task"], completed=step,
                                description=_("Building the register: {step}").format(step=label))
        if step == total:
            if "bar" in state:
                state["bar"].stop()
            print(_("Register built."), file=sys.stderr)

    return show


@app.callback()
def _main(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="MERGER_DB",
            help="Register to use: a SQLite file path or a database URL "
            "(default: register.sqlite in your user data folder, built on first use).",
            show_envvar=True,
        ),
    ] = None,
    as_recorded: Annotated[
        str | None,
        typer.Option(
            "--as-recorded",
            help="Read the register as it was recorded on this date (end of day, UTC) or at this "
            "ISO time, before later records and corrections: e.g. merger --as-recorded 2025-07-15 "
            "lineage X --as-of 2025-07-01.",
        ),
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option("--read-only", envvar="MERGER_READ_ONLY",
                     help="Query only: every write (record, apply, revoke, amend, init, import-register, "
                     "db upgrade...) is refused, and the database session itself cannot write."),
    ] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
    lang: Annotated[
        str | None,
        typer.Option("--lang", envvar="MERGER_LANG", show_envvar=True,
                     help="Language of the output and help: vi (Vietnamese) or en (English). Default: "
                     "vi when the locale (LANGUAGE, LC_ALL, LANG) is Vietnamese, else en."),
    ] = None,
) -> None:
    if lang is not None and lang.strip().lower() not in ("vi", "en"):
        raise typer.BadParameter(_("{value!r} is not a language (vi or en)").format(value=lang), param_hint="--lang")
    if version:
        from merger import __version__

        print(f"merger {__version__}")
        raise typer.Exit()
    ctx.obj = State(db, parse_moment(as_recorded, "--as-recorded"), read_only)
    if read_only:
        ctx.obj.refuse = _writes(ctx)
    ctx.call_on_close(ctx.obj.close)


# Commands (and command groups) that only write. Other writes (db upgrade, boundaries load and
# forget) are refused by their command or, failing that, by the read-only database session.
WRITES = ("init", "record", "apply", "revoke", "amend", "import-register")


def _writes(ctx: typer.Context) -> str | None:
    """--read-only: the writing command about to run, refused when it opens the register (so that
    its --help still works); init and import-register, which open the database themselves, at once."""
    name = ctx.invoked_subcommand
    if name in ("init", "import-register"):
        read_only_refusal(f"merger {name}")
    return f"merger {name}" if name in WRITES else None


def read_only_refusal(what: str) -> NoReturn:
    fail(_("the register is open read-only (--read-only): '{what}' writes, so it is refused").format(what=what))


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State(None)
        ctx.find_root().obj = obj
    return obj


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, starting with "Error:", and a non-zero exit."""
    print(_("Error: {message}").format(message=message), file=sys.stderr)
    raise typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    """Turn the library's domain errors into the CLI's one-line errors."""
    from merger.errors import MergerError

    try:
        yield
    except MergerError as exc:
        fail(str(exc))


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def parse_date(value: str | None, option: str = "date") -> date | None:
    """ISO dates (2025-07-01) or Vietnamese day-first dates (1/7/2025)."""
    if value is None:
        return None
    text = value.strip()
    try:
        if _DMY.match(text):
            d, m, y = _DMY.match(text).groups()  # type: ignore[union-attr]
            return date(int(y), int(m), int(d))
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(_("{value!r} is not a date (use 2025-07-01 or 1/7/2025)").format(value=value),
                                 param_hint=option) from None


def parse_moment(value: str | None, option: str = "time") -> Any:
    """A date (as parse_date) or an ISO date-time (2025-07-15T08:30, UTC unless it has a zone)."""
    if value is None or "T" not in value.strip():
        return parse_date(value, option)
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(_("{value!r} is not a date or ISO time").format(value=value), param_hint=option) from None


def console() -> Console:
    from rich.console import Console

    return Console()


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def emit_csv(header: list[str], rows: list[list[Any]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    sys.stdout.write(buf.getvalue())


def emit_rows(header: list[str], rows: list[list[Any]], *, as_json: bool, as_csv: bool) -> bool:
    """Machine output of a table, if asked for: JSON objects or CSV. True when it was printed."""
    if as_json:
        emit_json([dict(zip(header, r, strict=True)) for r in rows])
    elif as_csv:
        emit_csv(header, rows)
    return as_json or as_csv


def complete_unit(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Shell completion of unit names and codes from the register, with code and period as help.

    The shell keeps only candidates that start with what was typed, so they are offered as typed:
    "Phường An" or "An L" (marks as written) or a code prefix. Reads the register given by --db /
    MERGER_DB without building it; any problem means no suggestions, never an error in the shell."""
    if len(incomplete.strip()) < 2:
        return []
    try:
        from merger.register import Register

        reg = Register.open(ctx.find_root().params.get("db"), build=False, read_only=True)
        try:
            snap = reg.snapshot
            # each unit's latest version first: a code offers what the unit was last, not in 2004
            hits = reg.search(incomplete, limit=200)
            order = {u: i for i, u in reversed(list(enumerate(v.unit_id for v in hits)))}
            found = sorted(hits, key=lambda v: (order[v.unit_id], -(v.valid_to or date.max).toordinal()))
            shared = Counter(v.full_name for v in found) + Counter(v.name for v in found)
            out: dict[str, str] = {}
            for v in found:  # a name several units share is offered with its parent
                parent = snap.parent_of(v)
                where = f", {parent.full_name}" if parent is not None else ""
                full = v.full_name if shared[v.full_name] == 1 else v.full_name + where
                bare = v.name if shared[v.name] == 1 else v.name + where
                for value in (full, bare, v.code):
                    if value.startswith(incomplete):
                        out.setdefault(value, f"{v.full_name}{where} [{v.code}, {v.period()}]")
                        break
            return list(out.items())[:40]
        finally:
            reg.close()
    except Exception:  # noqa: BLE001  (completion must never break the shell)
        return []


def note_unrecorded_past(reg: Register, *days: date | None) -> None:
    """Say so (on stderr, so machine output stays clean) when a date lies before the register's
    recorded history: the answer is then the oldest state it knows, not that day's."""
    known = reg.unrecorded_before()
    early = sorted({d for d in days if d is not None and known is not None and d < known})
    if early:
        print(_("Note: the register records changes from {start} on; for {days} it shows the units in force on "
                "{known}, whose earlier history is not recorded.").format(
                    start=fdate(known + timedelta(days=1)), days=", ".join(map(fdate, early)), known=fdate(known)),
              file=sys.stderr)


def check_formats(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        raise typer.BadParameter(_("choose one of --json and --csv"))


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV for spreadsheets.")]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="The date to read the register at (2025-07-01 or 1/7/2025).")
]
