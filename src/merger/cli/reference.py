"""Write the CLI reference (docs/cli.md) from the real ``--help`` of every command.

A test regenerates it and compares, so the reference cannot drift from the program.
Run: ``python -m merger.cli.reference --write`` (also writes cli/help.txt, the launcher's copy).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer.main

from merger.cli import app

WIDTH = 100


def _walk(command: click.Command, ctx: click.Context) -> list[tuple[click.Context, click.Command]]:
    out = [(ctx, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                out.extend(_walk(sub, click.Context(sub, parent=ctx, info_name=name, **sub.context_settings)))
    return out


def render() -> str:
    root = typer.main.get_command(app)
    parts = [
        "# CLI reference\n",
        "Generated from the program's own `--help` by `python -m merger.cli.reference > docs/cli.md`;",
        "`tests/test_cli_reference.py` fails when this page and the program disagree.\n",
    ]
    top = click.Context(root, info_name="merger", terminal_width=WIDTH, max_content_width=WIDTH,
                        **root.context_settings)
    for ctx, command in _walk(root, top):
        parts.append(f"## `{ctx.command_path}`\n")
        parts.append("```text")
        parts.append(command.get_help(ctx).rstrip())
        parts.append("```\n")
    return "\n".join(parts)


def root_help(width: int = 80) -> str:
    """`merger --help` as click prints it on a terminal at least ``width`` (80) columns wide."""
    import io
    from contextlib import redirect_stdout

    root = typer.main.get_command(app)
    buf = io.StringIO()
    with redirect_stdout(buf):
        # click formats help at min(terminal columns, 80) - 2 characters.
        ctx = click.Context(root, info_name="merger", terminal_width=width - 2, **root.context_settings)
        click.echo(ctx.get_help(), color=False)
    return buf.getvalue()


HELP_COPY = Path(__file__).with_name("help.txt")
DOC = Path(__file__).resolve().parents[3] / "docs" / "cli.md"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:  # docs/cli.md and the launcher's copy of the top-level help
        DOC.write_text(render(), encoding="utf-8")
        HELP_COPY.write_text(root_help(), encoding="utf-8")
    else:
        sys.stdout.write(render())
