"""typer's CliRunner, with the click command of an app built once per test process.

typer builds the whole click tree (~40 commands, each parameter read from its function's
signature and annotations) on every ``invoke``: ~0.1 s, paid by each of the suite's CLI
invocations. Here it is built once per app and kept as a master that never runs; invocations run
on a copy of it. The copy is reused while the invocations leave it as built: the one thing an
invocation changes on its tree is the help, translated in place when it runs in Vietnamese
(merger.cli.lang.localize, which also gives every command the localized context class, and sets
help texts and metavars), and click keeps the --help option it made in the invocation's language.
What these set is noted when the copy is made and put back after each invocation, so no
invocation sees another's language (a fresh deep copy each time cost
~0.05 s, ~5 s of each Vietnamese test on the real register).
"""

from __future__ import annotations

import copy
from typing import Any

import click
import click.testing
import typer
import typer.main
import typer.testing


class _Built:
    """One app's click command: the master as built, and the copy the next invocation runs on."""

    def __init__(self, app: typer.Typer) -> None:
        self.app = app
        self.shape = _shape(app)
        self.master = typer.main.get_command(app)
        self.ready: click.Command | None = None
        self.as_built: list[tuple[object, str, object]] = []

    def take(self) -> click.Command:
        if self.ready is None:
            self.ready = copy.deepcopy(self.master)
            self.as_built = _state(self.ready)
        return self.ready

    def give_back(self, command: click.Command) -> None:
        # Put back as built after every invocation: a Vietnamese one translates in place, and any
        # one leaves click's --help option made in its language (Command._help_option).
        for thing, name, value in self.as_built:
            setattr(thing, name, value)


# What merger.cli.lang.localize changes on a command and on its parameters, and click's cached
# --help option (made in the language of the invocation that first asks for it).
_COMMAND_FIELDS = ("context_class", "options_metavar", "subcommand_metavar", "help", "short_help", "_help_option")
_PARAM_FIELDS = ("help", "metavar")


def _state(command: click.Command) -> list[tuple[object, str, object]]:
    """(object, attribute, value) of every field localize may change, in the whole tree."""
    found: list[tuple[object, str, object]] = []

    def walk(cmd: click.Command) -> None:
        found.extend((cmd, name, getattr(cmd, name)) for name in _COMMAND_FIELDS if hasattr(cmd, name))
        for param in cmd.params:
            found.extend((param, name, getattr(param, name)) for name in _PARAM_FIELDS if hasattr(param, name))
        if isinstance(cmd, click.Group):
            for sub in cmd.commands.values():
                walk(sub)

    walk(command)
    return found


def _shape(app: typer.Typer) -> tuple[int, int]:
    return len(app.registered_commands), len(app.registered_groups)


class CliRunner(typer.testing.CliRunner):
    """``typer.testing.CliRunner`` building each app's click command once (see the module doc)."""

    _built: dict[int, _Built] = {}

    def invoke(self, app: typer.Typer, args: Any = None, **kwargs: Any) -> click.testing.Result:  # type: ignore[override]
        built = self._built.get(id(app))
        if built is None or built.app is not app or built.shape != _shape(app):
            built = self._built[id(app)] = _Built(app)
        command = built.take()
        try:
            return click.testing.CliRunner.invoke(self, command, args, **kwargs)
        finally:
            built.give_back(command)
