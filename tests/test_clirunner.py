"""The suite's CliRunner (tests/clirunner.py) reuses one click tree between invocations: no
invocation may see what another's language did to it."""

from __future__ import annotations

import typer.testing

from clirunner import CliRunner
from merger.cli import app

VI = {"LANG": "vi_VN.UTF-8", "MERGER_LANG": None, "LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}
EN = {"MERGER_LANG": "en"}


def _paths() -> list[list[str]]:
    import click
    import typer.main

    out: list[list[str]] = [[]]

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                out.append([*path, name])
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return out


def _help(runner: typer.testing.CliRunner, path: list[str], env: dict) -> str:
    res = runner.invoke(app, [*path, "--help"], env={**env, "COLUMNS": "100"})
    assert res.exit_code == 0, res.output
    return res.stdout


def test_each_language_gets_the_help_it_would_get_first() -> None:
    """Vietnamese, English, Vietnamese, English again, Vietnamese again on the one reused tree: each
    help equals the first of its language, and both equal typer's own runner (a tree built for
    each call)."""
    paths = _paths()
    assert len(paths) > 40
    runner = CliRunner()
    for path in paths:  # whatever a Vietnamese run leaves on the tree must not reach the next ones
        _help(runner, path, VI)
    first = {("en", i): _help(runner, p, EN) for i, p in enumerate(paths)}
    first |= {("vi", i): _help(runner, p, VI) for i, p in enumerate(paths)}
    for i, path in enumerate(paths):
        assert _help(runner, path, EN) == first["en", i], path
        assert _help(runner, path, VI) == first["vi", i], path
        assert first["en", i] != first["vi", i], path
    for i in (0, 1, len(paths) - 1):  # typer's runner builds the whole tree each call (~0.1 s)
        assert _help(typer.testing.CliRunner(), paths[i], EN) == first["en", i]
        assert _help(typer.testing.CliRunner(), paths[i], VI) == first["vi", i]
