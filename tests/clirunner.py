"""typer's CliRunner, with the click command of an app built once per test process.

typer builds the whole click tree (~40 commands, each parameter read from its function's
signature and annotations) on every ``invoke``: ~0.1 s, paid by each of the suite's CLI
invocations. Here it is built once per app and kept as a master that never runs; invocations run
on a copy of it. The copy is reused while the invocations leave it as built: the one thing an
invocation changes on its tree is the help, translated in place when it runs in Vietnamese
(merger.cli.lang.localize, which also gives every command the localized context class); a copy
so changed is dropped, and the next invocation gets a fresh copy (~0.02 s), so no invocation
sees another's language.
"""

from __future__ import annotations

import copy
from typing import Any

import click
import click.testing
import typer
import typer.main
import typer.testing

from merger.cli.lang import LocalizedContext


class _Built:
    """One app's click command: the master as built, and the copy the next invocation runs on."""

    def __init__(self, app: typer.Typer) -> None:
        self.app = app
        self.shape = _shape(app)
        self.master = typer.main.get_command(app)
        self.ready: click.Command | None = None

    def take(self) -> click.Command:
        if self.ready is None:
            self.ready = copy.deepcopy(self.master)
        return self.ready

    def give_back(self, command: click.Command) -> None:
        if command.context_class is LocalizedContext:  # translated in place: not for the next one
            self.ready = None


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
