"""The CLI in the user's language: pick it per invocation and translate the help in place.

The root group's ``main`` picks the language (``--lang``, ``MERGER_LANG``, the locale), sets it
for the whole invocation (``merger.i18n.use``) and, for Vietnamese, translates the help of every
command and option before click parses anything, so ``--help`` at any depth and the command list
are Vietnamese. click's own words (Usage:, Options, [default: …]) go through a help formatter that
uses the same catalog. The English help is the source text and is never altered.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

import click
import typer.core

from merger import i18n
from merger.i18n import N_, _

# click's and typer's own words in help pages, translated by the formatter below
HEADINGS = (N_("Usage:"), N_("Options"), N_("Arguments"), N_("Commands"))
EXTRAS = {"default": N_("default: {value}"), "env var": N_("env var: {value}"), "required": N_("required")}
HELP_OPTION = N_("Show this message and exit.")
TYPER_HELP = (N_("Install completion for the current shell."),
              N_("Show completion for the current shell, to copy it or customize the installation."))
_EXTRA = re.compile(r"(^|  )\[([^\[\]]*)\]$")


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


def localize(command: click.Command) -> None:
    """Translate the help of ``command``, its parameters and its subcommands, in place."""
    command.context_class = LocalizedContext
    command.help = i18n.translate_help(command.help)
    if command.short_help:
        command.short_help = i18n.translate_help(command.short_help)
    for param in command.params:
        if getattr(param, "help", None):
            param.help = i18n.translate_help(param.help)  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            localize(sub)


class LocalizedGroup(typer.core.TyperGroup):
    """The root ``merger`` group: runs each invocation in the language the user chose."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        code = i18n.choose(argv)
        with i18n.use(code):
            if code != "en":
                localize(self)
            return super().main(args, *rest, **extra)
