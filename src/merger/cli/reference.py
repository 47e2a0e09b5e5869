"""Write the CLI reference (docs/cli.md) from the real ``--help`` of every command.

A test regenerates it and compares, so the reference cannot drift from the program.
Run: ``python -m merger.cli.reference > docs/cli.md``.
"""

from __future__ import annotations

import sys

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


if __name__ == "__main__":
    sys.stdout.write(render())
