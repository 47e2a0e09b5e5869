"""The ``merger`` command line: parse, make one library call, render.

Only light modules are imported here: the library (and with it SQLAlchemy, networkx and, for
the geo commands, geopandas) is imported inside each command, so ``merger --help`` is fast.
"""

from __future__ import annotations

import os
import sys

import typer

from merger.cli.common import app

# Each module adds its commands to ``app`` when imported.
from merger.cli import register_cmds  # noqa: E402,F401  isort: skip
from merger.cli import db_cmds  # noqa: E402,F401  isort: skip
from merger.cli import record_cmds  # noqa: E402,F401  isort: skip
from merger.cli import analyst_cmds  # noqa: E402,F401  isort: skip
from merger.cli import geo_cmds  # noqa: E402,F401  isort: skip


# Global options people also write after the command ("merger counts --db X"); moved before it.
GLOBAL_OPTIONS = ("--db", "--as-recorded", "--read-only", "--lang")


def hoist_global_options(args: list[str]) -> list[str]:
    """``merger CMD ... --db X`` as ``merger --db X CMD ...``: click reads global options only
    before the command. Only options the top level has and the command itself has not are moved."""
    if not any(a.split("=", 1)[0] in GLOBAL_OPTIONS for a in args[1:]):
        return args  # the common case: nothing to do, and no need to build the command tree
    import click

    root = typer.main.get_command(app)
    takes_value = {o: not p.is_flag for p in root.params if isinstance(p, click.Option) for o in p.opts}
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":  # the options before the command
        name = args[i].split("=", 1)[0]
        i += 2 if takes_value.get(name) and "=" not in args[i] else 1
    if i >= len(args) or not isinstance(root, click.Group):
        return args
    command = root.commands.get(args[i])
    own: set[str] = set()
    stack = [command] if command is not None else []
    while stack:  # the command's own options (and its subcommands', for a group) stay where they are
        c = stack.pop()
        own.update(o for p in c.params for o in getattr(p, "opts", ()))
        stack.extend(getattr(c, "commands", {}).values())
    head, rest, moved, kept = args[: i + 1], args[i + 1:], [], []
    j = 0
    while j < len(rest):
        a = rest[j]
        if a == "--":
            kept += rest[j:]
            break
        name = a.split("=", 1)[0]
        if name in takes_value and name in GLOBAL_OPTIONS and name not in own:
            width = 2 if takes_value[name] and "=" not in a and j + 1 < len(rest) else 1
            moved += rest[j: j + width]
            j += width
            continue
        kept.append(a)
        j += 1
    return [*moved, *head, *kept] if moved else args


def main() -> None:
    """Entry point: domain errors are one line and exit 1; usage errors exit 2; no tracebacks."""
    import click

    try:
        code = app(args=hoist_global_options(sys.argv[1:]), standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("Aborted.", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 — the promise is: never a traceback
        if os.environ.get("MERGER_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        print(f"Error: internal error: {type(exc).__name__}: {first} (set MERGER_DEBUG=1 for details)",
              file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main", "typer"]
