"""What every command shares: the app, the --db option, dates, errors and output formats.

No ``from __future__ import annotations``: typer reads the global options' annotations on every
run, and as strings they would be compiled and evaluated each time.
"""

import io
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
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

    def __init__(self, db: str | None, as_recorded: Any = None, read_only: bool = False, raw_csv: bool = False):
        self.db = db
        self.raw_csv = raw_csv  # --raw-csv: CSV cells written as stored, formulas included
        self.as_recorded = as_recorded  # date or datetime: read the register as recorded then
        self.read_only = read_only  # --read-only: every write refused
        self.refuse: str | None = None  # the writing command to refuse (with --read-only)
        self.writes: str | None = None  # the writing command about to run, if it is one
        self._register: Register | None = None

    def register(self) -> "Register":
        if self.refuse:
            read_only_refusal(self.refuse)
        if self.writes and _in_memory(self.db):
            _memory_refusal()
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
    raw_csv: Annotated[
        bool,
        typer.Option("--raw-csv", help="Write CSV cells exactly as stored. By default a text cell "
                     "starting with =, +, -, @, tab or CR gets a leading ' so that a spreadsheet shows "
                     "it instead of running it as a formula (numbers are left as they are)."),
    ] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", is_eager=True,
                                          callback=lambda value: _print_version(value))] = False,
    lang: Annotated[
        str | None,
        typer.Option("--lang", envvar="MERGER_LANG", show_envvar=True,
                     help="Language of the output and help: vi (Vietnamese) or en (English). Default: "
                     "vi when the locale (LANGUAGE, LC_ALL, LANG) is Vietnamese, else en."),
    ] = None,
) -> None:
    if lang is not None and lang.strip().lower() not in ("vi", "en"):
        raise typer.BadParameter(_("{value!r} is not a language (vi or en)").format(value=_cut(lang)),
                                 param_hint="--lang")
    bad = not_utf8([v for v in (db, as_recorded) if v is not None])
    if bad:
        fail(bad)
    ctx.obj = State(db, parse_moment(as_recorded, "--as-recorded"), read_only, raw_csv)
    ctx.obj.writes = _writes(ctx, read_only)
    if read_only:
        ctx.obj.refuse = ctx.obj.writes
    ctx.call_on_close(ctx.obj.close)


def _print_version(value: bool) -> None:
    """--version, eager: answered before click asks for a command."""
    if value:
        from merger import __version__

        print(f"merger {__version__}")
        raise typer.Exit()


# Commands (and command groups) that only write. Other writes (db upgrade, boundaries load and
# forget) are refused by their command or, failing that, by the read-only database session.
WRITES = ("init", "record", "apply", "revoke", "amend", "import-register")


def not_utf8(args: list[str]) -> str | None:
    """The refusal for the first argument that came in as bytes that are not UTF-8 (Python keeps
    them as lone surrogates, which would fail later, deep inside, when written or compared)."""
    for value in args:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            return _("the argument {value!r} is not valid UTF-8 text: check the encoding of the terminal "
                     "or script that passed it").format(value=visible(_cut(shown)))
    return None


def _writes(ctx: typer.Context, read_only: bool) -> str | None:
    """The writing command about to run: with --read-only (or --db :memory:, which keeps nothing)
    refused when it opens the register (so that its --help still works); init and
    import-register, which open the database themselves, at once."""
    name = ctx.invoked_subcommand
    if name in ("init", "import-register"):
        if read_only:
            read_only_refusal(f"merger {name}")
        if _in_memory(ctx.params.get("db")):
            _memory_refusal()
    return f"merger {name}" if name in WRITES else None


def _in_memory(db: str | None) -> bool:
    return db is not None and db.strip() in (":memory:", "sqlite://", "sqlite:///:memory:")


def _memory_refusal() -> NoReturn:
    from merger.store import IN_MEMORY

    fail(IN_MEMORY)


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
    print(_("Error: {message}").format(message=one_line(message)), file=sys.stderr)
    raise typer.Exit(code)


# C0 and C1 control characters (newline and tab excepted) and the bidirectional overrides that
# can make text read differently from what it is (Trojan Source).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _picture(match: re.Match[str]) -> str:
    c = ord(match.group())
    if c < 0x20:
        return chr(0x2400 + c)  # Unicode's Control Pictures: ESC shows as ␛, BEL as ␇
    return "\u2421" if c == 0x7F else f"<U+{c:04X}>"


def visible(text: str) -> str:
    """Text as a terminal may show it: control characters drawn, never obeyed (an ESC[2J in a
    stored name must not clear the screen)."""
    return _CONTROL.sub(_picture, text)


ECHO = 200  # at most this many characters of one input are echoed in a message
_LONG_WORD = re.compile(rf"\S{{{ECHO + 1},}}")


def one_line(message: str) -> str:
    """A message as one short, safe line: control characters (newlines too) visible, a long
    command-line value or unbroken word cut to ECHO characters, the whole kept under ~1,000."""
    import click

    from merger.store import scrub

    ctx = click.get_current_context(silent=True)
    while ctx is not None:  # a long argument echoed unquoted
        for value in ctx.params.values():
            for item in value if isinstance(value, list | tuple) else [value]:
                if isinstance(item, str) and len(item) > ECHO and item in message:
                    message = message.replace(item, _cut(item))
        ctx = ctx.parent
    message = _LONG_WORD.sub(lambda m: _cut(m.group()), message)  # e.g. a name from an annex file
    message = scrub(message).replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    message = visible(message)
    return message if len(message) <= 5 * ECHO else message[: 5 * ECHO - 1] + "…"


def _cut(text: str) -> str:
    return text if len(text) <= ECHO else text[: ECHO - 30] + f"… ({len(text):,} characters)"


@contextmanager
def errors() -> Iterator[None]:
    """Turn the library's domain errors into the CLI's one-line errors."""
    from merger.errors import MergerError

    try:
        yield
    except MergerError as exc:
        fail(str(exc))
    except RecursionError:
        fail(_("the input is nested too deeply to read"))
    except OSError as exc:  # a file named on the command line that cannot be read or written
        from merger.outputs import shown

        where = f" ({shown(exc.filename)})" if exc.filename else ""
        from merger.i18n import os_reason

        fail(f"{os_reason(exc)}{where}")
    except Exception as exc:
        reason = _database_failure(exc)
        if reason is None:
            raise
        fail(reason)


def _database_failure(exc: Exception) -> str | None:
    """A database error that escaped the library (a damaged file, a lost server) as one line;
    None for anything else (a bug, which the entry point reports as such)."""
    import sqlite3

    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError):
        exc = exc.orig if isinstance(exc.orig, Exception) else exc
    elif not isinstance(exc, sqlite3.Error):
        return None
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "malformed" in reason or "not a database" in reason:
        return (f"the register's database is damaged ({reason}); nothing was changed. Restore it from "
                "a backup (merger import-register, or pg_restore) or rebuild it (merger init --force)")
    if "locked" in reason or "busy" in reason:
        from merger.store import BUSY

        return BUSY
    return f"the register's database refused the operation ({reason}); nothing was changed"


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def parse_date(value: str | None, option: str = "date", *, event: bool = False) -> date | None:
    """ISO dates (2025-07-01) or Vietnamese day-first dates (1/7/2025). ``event``: the date of an
    event or act, held to merger.dates' plausibility rule (one Error line, exit 1)."""
    if value is None:
        return None
    text = value.strip()
    try:
        if _DMY.match(text):
            d, m, y = _DMY.match(text).groups()  # type: ignore[union-attr]
            day = date(int(y), int(m), int(d))
        else:
            day = date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(_("{value!r} is not a date (use 2025-07-01 or 1/7/2025)").format(value=_cut(value)),
                                 param_hint=option) from None
    if event:
        from merger.dates import plausible

        with errors():
            plausible(day, option)
    return day


def parse_moment(value: str | None, option: str = "time") -> Any:
    """A date (as parse_date) or an ISO date-time (2025-07-15T08:30, UTC unless it has a zone)."""
    if value is None or "T" not in value.strip():
        return parse_date(value, option)
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(_("{value!r} is not a date or ISO time").format(value=value), param_hint=option) from None


# Width of a console whose output is piped or redirected: wide enough that nothing is wrapped or
# cut (a file or a pipe has no width; rich would otherwise assume 80 columns).
PIPE_WIDTH = 1_000_000


def console(stderr: bool = False) -> "Console":
    """stdout's console (or stderr's): on a terminal its width; piped or redirected, no wrapping and
    no cutting. Its text shows control characters instead of obeying them (a stored name with
    ESC[2J must not clear the screen): every str it renders (tables, trees, markup) passes through
    visible(); rich's own styling is added after and is untouched."""
    from rich.console import Console

    class Visible(Console):
        def render_str(self, text: str, **options: Any):  # type: ignore[no-untyped-def,override]
            return super().render_str(visible(text), **options)

    tty = (sys.stderr if stderr else sys.stdout).isatty()
    return Visible(stderr=stderr) if tty else Visible(stderr=stderr, width=PIPE_WIDTH)


def key_column(table: Any, header: str, **options: Any) -> None:
    """A column of codes, keys, event ids or dates: never wrapped or cut, so it can be copied back
    into a command (`revoke E20080401-…`); the other columns wrap first (see ``print_table``)."""
    table.add_column(header, no_wrap=True, overflow="ignore", **options)


def print_table(table: Any, out: "Console | None" = None) -> None:
    """Print a table (or a tree); when even its narrowest layout (key columns and words whole) is
    wider than the terminal, print it at that width and let the terminal show the long lines,
    rather than cut a key. A ``merger.cli.draw`` table or tree going to a pipe or a file is
    written without rich (the same characters: see that module)."""
    from merger.cli import draw

    if isinstance(table, draw.Table | draw.Tree):
        if out is None and draw.plain_stream(sys.stdout):
            text = draw.plain_text(table)
            if text is not None:
                sys.stdout.write(text)
                return
        table = table.to_rich()
    from rich.measure import Measurement

    c = out or console()
    if c.width >= PIPE_WIDTH:  # piped: already as wide as anything (and measuring 10,000 rows costs)
        c.print(table)
        return
    need = Measurement.get(c, c.options.update_width(PIPE_WIDTH), table).minimum
    if need <= c.width:
        c.print(table)
        return
    width = c.width
    c.width = need  # print(width=...) would be clamped to the terminal's width
    try:
        c.print(table)
    finally:
        c.width = width


def say(markup: str) -> None:
    """One line of console markup on stdout, as ``console().print`` prints it (without rich when
    piped: ``merger.cli.draw``)."""
    from merger.cli import draw

    text = draw.plain_text(markup) if draw.plain_stream(sys.stdout) else None
    if text is None:
        console().print(markup)
    else:
        sys.stdout.write(text)


def write_text(text: str, out: Any = None) -> None:
    """Text to stdout (``out`` None or "-") or to a file, written whole or not at all."""

    if out is None or str(out) == "-":
        stdout_text(text)
        return
    from merger.outputs import check_out, writing

    with errors():  # the one --out behaviour (merger.outputs): checked, whole or not at all
        path = check_out(Path(out))
        with writing(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    print(_("Written to {path}").format(path=visible(str(path))), file=sys.stderr)


def emit_json(data: Any) -> None:
    stdout_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def stdout_text(text: str) -> None:
    """Machine output (CSV, JSON, text) on stdout: as it is into a pipe or a file; on a terminal
    with its control characters drawn (``visible``), never obeyed: a cell of the user's file or a
    stored name holding ESC[2J must not clear the screen, nor a C1 control survive in JSON."""
    sys.stdout.write(visible(text) if is_terminal(sys.stdout) else text)


def stdout_stream() -> Any:
    """stdout for machine output written piece by piece (a CSV of many rows): itself into a pipe
    or a file, on a terminal a writer that draws control characters (as ``stdout_text``)."""
    return _Drawn(sys.stdout) if is_terminal(sys.stdout) else sys.stdout


class _Drawn:
    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(visible(text))

    def flush(self) -> None:
        self.stream.flush()


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def raw_csv() -> bool:
    """--raw-csv was given (CSV cells as stored, formulas included)."""
    import click

    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return bool(getattr(obj, "raw_csv", False))


def csv_cell(value: Any) -> Any:
    """Booleans as true/false in every CSV (as in JSON), never Python's True/False."""
    return ("true" if value else "false") if isinstance(value, bool) else value


def emit_csv(header: list[str], rows: list[list[Any]]) -> None:
    """CSV on stdout; text cells that a spreadsheet would run as formulas are neutralised
    (merger.outputs.safe_cell) unless --raw-csv."""
    from merger.outputs import SafeWriter

    buf = io.StringIO()
    w = SafeWriter(buf, raw_csv())
    w.writerow(header)
    w.writerows([csv_cell(x) for x in row] for row in rows)
    stdout_text(buf.getvalue())


def out_path(path: Path | None, suffixes: tuple[str, ...] = ()) -> Path | None:
    """An --out path checked before any work (merger.outputs.check_out): one Error line if it
    cannot be written."""
    if path is None:
        return None
    from merger.outputs import check_out

    with errors():
        return check_out(path, suffixes)


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
            # each unit's latest version first: a code offers what the unit was last, not in 2004
            hits = reg.search(incomplete, limit=200)
            snap = reg.answered_from or reg.snapshot
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


def note_unrecorded_past(reg: "Register", *days: date | None, kind: str | None = "admin") -> None:
    """Say so (on stderr, so machine output stays clean) when a date lies before the register's
    recorded history: the answer is then the oldest state it knows, not that day's."""
    known = reg.unrecorded_before(kind)
    early = sorted({d for d in days if d is not None and known is not None and d < known})
    if early:
        print(_("Note: the register records changes from {start} on; for {days} it shows the units in force on "
                "{known}, whose earlier history is not recorded.").format(
                    start=fdate(known + timedelta(days=1)), days=", ".join(map(fdate, early)), known=fdate(known)),
              file=sys.stderr)


def nonempty(ctx: typer.Context, param: Any, value: Any) -> Any:
    """Option callback for filters: "" or blanks would silently mean "everything", so refused."""
    if not ctx.resilient_parsing and isinstance(value, str) and not value.strip():
        fail(_("{option} is empty: give a value, or leave the option out to mean everything").format(
            option=param.opts[0]))
    return value


def check_formats(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        raise typer.BadParameter(_("choose one of --json and --csv"))


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV for spreadsheets.")]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="The date to read the register at (2025-07-01 or 1/7/2025).")
]
