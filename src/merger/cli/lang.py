"""The CLI in the user's language: pick it per invocation and translate the help in place.

The root group's ``main`` picks the language (``--lang``, ``MERGER_LANG``, the locale), sets it
for the whole invocation (``merger.i18n.use``) and, for Vietnamese, translates the help of every
command and option before click parses anything, so ``--help`` at any depth and the command list
are Vietnamese. click's own words (Usage:, Options, [default: …]) go through a help formatter that
uses the same catalog; the metavariables (TEXT, PATH, [OPTIONS], COMMAND, UNIT) are translated on
the command objects; the messages click words itself (its type checks: "'x' is not a valid
integer.", "Path 'f' does not exist.") go through our catalog too: click looks them up with
``gettext.gettext`` bound as ``_`` in its modules, and :func:`hook_click` rebinds that name to a
function that follows the invocation's language (English: the text itself, as click says it).
The English help is the source text and is never altered.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Sequence
from typing import Any

import click
import typer.core

from merger import i18n
from merger.i18n import N_, _, pgettext

# click's and typer's own words in help pages, translated by the formatter below
HEADINGS = (N_("Usage:"), N_("Options"), N_("Arguments"), N_("Commands"))
EXTRAS = {"default": N_("default: {value}"), "env var": N_("env var: {value}"), "required": N_("required")}
HELP_OPTION = N_("Show this message and exit.")
TYPER_HELP = (N_("Install completion for the current shell."),
              N_("Show completion for the current shell, to copy it or customize the installation."))
_EXTRA = re.compile(r"(^|  )\[([^\[\]]*)\]$")


def said(message: str) -> str:
    """``message`` in the language of this command line, for what is printed after the app has returned."""
    with i18n.use(i18n.choose(sys.argv[1:])):
        return _(message)


class LocalizedFormatter(click.HelpFormatter):
    """click's help formatter with its fixed words in the current language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix if prefix is not None else f"{_('Usage:')} ")

    def write_heading(self, heading: str) -> None:
        super().write_heading(_(heading))

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(term, _extras(text)) for term, text in rows], col_max, col_spacing)


class LocalizedContext(click.Context):
    formatter_class = LocalizedFormatter


def _extras(text: str) -> str:
    """The option help's trailing "[default: …; env var: …]" in the current language."""
    if text == HELP_OPTION:
        return _(text)
    m = _EXTRA.search(text)
    if not m:
        return text
    items = []
    for item in m.group(2).split("; "):
        key, _sep, value = item.partition(": ")
        msg = EXTRAS.get(key)
        items.append(_(msg).format(value=value) if msg else item)
    return f"{text[: m.start()]}{m.group(1)}[{'; '.join(items)}]"


# The metavariables of the help (TEXT, UNIT, [OPTIONS]), each looked up only when shown: every
# invocation in Vietnamese shows ~300 of them, and looking up all twenty for each was ~7 ms.
_METAVARS = {
    "TEXT": lambda: pgettext("metavar", "TEXT"), "INTEGER": lambda: pgettext("metavar", "INTEGER"),
    "FLOAT": lambda: pgettext("metavar", "FLOAT"), "PATH": lambda: pgettext("metavar", "PATH"),
    "FILE": lambda: pgettext("metavar", "FILE"), "RANGE": lambda: pgettext("metavar", "RANGE"),
    "OPTIONS": lambda: pgettext("metavar", "OPTIONS"), "COMMAND": lambda: pgettext("metavar", "COMMAND"),
    "ARGS": lambda: pgettext("metavar", "ARGS"), "UNIT": lambda: pgettext("metavar", "UNIT"),
    "UNITS": lambda: pgettext("metavar", "UNITS"), "EVENT": lambda: pgettext("metavar", "EVENT"),
    "NAME": lambda: pgettext("metavar", "NAME"), "NEW": lambda: pgettext("metavar", "NEW"),
    "OLD": lambda: pgettext("metavar", "OLD"), "RESOLUTION": lambda: pgettext("metavar", "RESOLUTION"),
    "SOURCES": lambda: pgettext("metavar", "SOURCES"), "ADDRESS": lambda: pgettext("metavar", "ADDRESS"),
    "LAT": lambda: pgettext("metavar", "LAT"), "LON": lambda: pgettext("metavar", "LON"),
}


def metavar_word(word: str) -> str:
    """A metavariable of the help (TEXT, UNIT, [OPTIONS]) in the current language."""
    found = _METAVARS.get(word)
    return found() if found is not None else word


def _metavar(text: str) -> str:
    return re.sub(r"[A-Z][A-Z_]+", lambda m: metavar_word(m.group(0)), text)


def _localize_metavars(command: click.Command) -> None:
    """[OPTIONS], COMMAND [ARGS]..., and each parameter's TEXT/UNIT in the current language."""
    command.options_metavar = _metavar(command.options_metavar or "")
    if isinstance(command, click.Group):
        command.subcommand_metavar = _metavar(command.subcommand_metavar or "")
    ctx = click.Context(command)
    for param in command.params:
        if isinstance(param, click.Option) and (param.is_flag or param.count):
            continue
        shown = param.make_metavar(ctx)
        if isinstance(param, click.Argument) and not param.required and shown.startswith("[") \
                and shown.endswith("]"):
            shown = shown[1:-1]  # typer brackets an optional argument's metavar itself
        param.metavar = _metavar(shown)


def _click_gettext(message: str) -> str:
    if message in ("file", "directory", "path"):
        return message  # a Path type's name, fixed when the command is built: translated in _say
    return _(message)


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    # Vietnamese has one form; click's two forms differ in their placeholders, so each is a message.
    return _(singular if n == 1 else plural)


def hook_click() -> None:
    """Let click word its own messages in the invocation's language (idempotent; English unchanged)."""
    for name in ("click.core", "click.exceptions", "click.types", "click.parser", "click.decorators",
                 "click.termui"):
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = _click_gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _click_ngettext  # type: ignore[attr-defined]


# click's own messages (its gettext ids, looked up through hook_click), named so the extractor
# puts them in our catalog.
CLICK_MESSAGES = (
    N_("Aborted!"), N_("Missing command."), N_("No such command {name!r}."), N_("Missing argument"),
    N_("Missing option"), N_("Missing parameter"), N_("Missing {param_type}"),
    N_("Missing parameter: {param_name}"), N_("No such option: {name}"), N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"), N_("Error: {message}"),
    N_("Could not open file {filename!r}: {message}"), N_("unknown error"),
    N_("Option {name!r} does not take a value."), N_("Argument {name!r} takes {nargs} values."),
    N_("Value must be an iterable."), N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."), N_("{value!r} is not a valid boolean."),
    N_("{value!r} is not a valid UUID."), N_("file"), N_("directory"), N_("path"),
    N_("{name} {filename!r} does not exist."), N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."), N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."), N_("{name} {filename!r} is not executable."),
    N_("Choose from:\n\t{choices}"), N_("Show the version and exit."), N_("(dynamic)"),
    N_("env var: {var}"), N_("default: {default}"),
    # click's plural messages: each form its own message (see _click_ngettext)
    N_("Got unexpected extra argument ({args})"), N_("Got unexpected extra arguments ({args})"),
    N_("Takes {nargs} values but 1 was given."), N_("Takes {nargs} values but {len} were given."),
    N_("Option {name!r} requires an argument."), N_("Option {name!r} requires {nargs} arguments."),
    N_("Did you mean {possibility}?"), N_("(Possible options: {possibilities})"),
    N_("{value!r} is not {choice}."), N_("{value!r} is not one of {choices}."),
    N_("{value!r} does not match the format {format}."), N_("{value!r} does not match the formats {formats}."),
)
# click's number types, named raw in "'x' is not a valid integer."
NUMBER_TYPES = {"integer": N_("integer"), "float": N_("float"), "integer range": N_("integer range"),
                "float range": N_("float range")}


def _no_empty_envvar(command: click.Command) -> None:
    """typer shows every option's environment variable in errors, even none ("(env var: 'None')")."""
    for param in command.params:
        if isinstance(param, click.Option) and param.envvar is None:
            param.show_envvar = False
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _no_empty_envvar(sub)


def localize(command: click.Command) -> None:
    """Translate the help of ``command``, its parameters and its subcommands, in place."""
    command.context_class = LocalizedContext
    _localize_metavars(command)
    command.help = i18n.translate_help(command.help)
    if command.short_help:
        command.short_help = i18n.translate_help(command.short_help)
    for param in command.params:
        if getattr(param, "help", None):
            param.help = i18n.translate_help(param.help)  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            localize(sub)


# click's own usage errors, as it words them, and their message ids
CLICK_ERRORS = (
    (re.compile(r"^No such option: (?P<name>\S+)"), N_("No such option: {name}")),
    (re.compile(r"^No such command '(?P<name>[^']*)'\."), N_("No such command '{name}'.")),
    (re.compile(r"^Missing argument '(?P<name>[^']*)'\."), N_("Missing argument '{name}'.")),
    (re.compile(r"^Missing option '(?P<name>.*?)'\."), N_("Missing option '{name}'.")),
    (re.compile(r"^Missing parameter: (?P<name>\S+)"), N_("Missing parameter: {name}")),
    (re.compile(r"^Got unexpected extra arguments? \((?P<name>.*)\)"), N_("Unexpected extra argument(s): {name}")),
    (re.compile(r"^Option '(?P<name>[^']*)' requires an argument\."), N_("Option '{name}' requires an argument.")),
    (re.compile(r"^Invalid value for (?P<name>.*?): "), N_("Invalid value for {name}:") + " "),
    (re.compile(r"^Invalid value: "), N_("Invalid value:") + " "),
)
CLICK_TAILS = (
    (re.compile(r"\s*Did you mean (?P<name>.*?)\?$"), N_("Did you mean {name}?")),
    (re.compile(r"\s*\(Possible options: (?P<name>.*)\)$"), N_("(Possible options: {name})")),
)


class LocalizedUsageError(click.UsageError):
    """A usage error already worded in the user's language (usage line, hint and message)."""

    def __init__(self, text: str, exit_code: int = 2):
        super().__init__(text)
        self.text = text
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(self.text, file=file if file is not None else sys.stderr)


def _say(exc: click.UsageError) -> str:
    """``exc``'s message in the current language (what click words itself, by pattern)."""
    message = exc.format_message()
    for english, msgid in sorted(NUMBER_TYPES.items(), key=lambda item: -len(item[0])):
        message = message.replace(f" {english} ", f" {_(msgid)} ")  # "'x' không phải là integer hợp lệ."
    # click's Path type names itself ("Path 'x' does not exist."); its name is shared, never changed
    message = re.sub(r"\b(File|Directory|Path) (?=')", lambda m: _(m[1].lower()).capitalize() + " ", message)
    tail = ""
    for pattern, msgid in CLICK_TAILS:
        m = pattern.search(message)
        if m:
            message, tail = message[: m.start()], " " + _(msgid.strip()).format(name=m["name"])
    for pattern, msgid in CLICK_ERRORS:
        m = pattern.match(message)
        if m:
            return _(msgid.strip()).format(name=m["name"]) + (" " if msgid.endswith(" ") else "") \
                + message[m.end():] + tail
    return message + tail


def _localized(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, LocalizedUsageError) or i18n.current().code == "en":
        return exc
    lines = []
    ctx = exc.ctx
    if ctx is not None:
        lines.append(ctx.get_usage())
        if ctx.command.get_help_option(ctx) is not None:
            lines.append(_("Try '{command} {option}' for help.").format(command=ctx.command_path,
                                                                         option=ctx.help_option_names[0]))
        lines.append("")
    lines.append(_("Error: {message}").format(message=_say(exc)))
    return LocalizedUsageError("\n".join(lines), exc.exit_code)


class LocalizedGroup(typer.core.TyperGroup):
    """The root ``merger`` group: runs each invocation in the language the user chose."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        code = i18n.choose(argv)
        _no_empty_envvar(self)
        with i18n.use(code):
            if code != "en":
                hook_click()
                localize(self)
            return super().main(args, *rest, **extra)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise _localized(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _localized(exc) from None
