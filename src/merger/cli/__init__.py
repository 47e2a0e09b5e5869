"""The ``merger`` command line: parse, make one library call, render.

Only light modules are imported here, and ``main`` imports only the module of the command it
runs and builds only that command (building the click tree of all ~40 commands, and importing
every command module, cost more than answering a one-unit question). ``app`` (``from
merger.cli import app``) is the whole CLI, every command module imported, for tests and the
CLI reference; ``merger --help`` and anything ``main`` cannot place use it too, so help and
errors read exactly the same either way.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

# The command modules, in the order their commands are listed by --help.
MODULES = ("register_cmds", "db_cmds", "record_cmds", "analyst_cmds", "geo_cmds", "draft_cmds")

# The module defining each top-level command or group (tests/test_cli_reference.py checks this
# against the modules). A command missing here still works, through the whole CLI.
COMMANDS = {
    **dict.fromkeys(("counts", "lineage", "show", "units", "search", "check", "init", "import-sources"),
                    "register_cmds"),
    "db": "db_cmds",
    **dict.fromkeys(("record", "apply", "log", "revoke", "amend", "import-register"), "record_cmds"),
    **dict.fromkeys(("crosswalk", "convert", "resolve", "diff", "report", "summary", "changes"), "analyst_cmds"),
    **dict.fromkeys(("boundaries", "locate", "map", "overlap", "export", "import-boundaries"), "geo_cmds"),
    "draft": "draft_cmds",
}

# Global options that take a value (merger --db X --as-recorded D COMMAND ...).
_VALUED = ("--db", "--as-recorded", "--lang")


def _load(modules: tuple[str, ...]) -> None:
    """Import command modules; each adds its commands to merger.cli.common.app."""
    for name in modules:
        importlib.import_module(f"merger.cli.{name}")


def __getattr__(name: str) -> Any:
    if name == "app":
        _load(MODULES)
        from merger.cli.common import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def invoked(args: list[str]) -> str | None:
    """The command named in ``args`` after the global options; None before it asks for help."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-h", "--help"):
            return None
        if arg in _VALUED:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return arg
    return None


def command_app(args: list[str]) -> typer.Typer:
    """The CLI holding only the command ``args`` invoke (its module imported alone), or all of it."""
    from merger.cli.common import app

    name = invoked(args)
    module = COMMANDS.get(name) if name else None
    if module is None or any(k.endswith("_COMPLETE") for k in os.environ if k.startswith("_")):
        _load(MODULES)
        return app
    _load((module,))
    import copy

    from typer.main import get_command_name

    only = copy.copy(app)  # the same app (callback, settings), listing one command
    only.registered_commands = [c for c in app.registered_commands
                                if (c.name or get_command_name(c.callback.__name__)) == name]  # type: ignore[union-attr]
    only.registered_groups = [_one_subcommand(g, args[args.index(name) + 1:]) for g in app.registered_groups
                              if g.name == name]
    return only


def _one_subcommand(group: Any, rest: list[str]) -> Any:
    """A group (``merger record``) listing only the subcommand ``rest`` names first, when it names
    one (building all eight ``record`` subcommands cost a recording ~40 ms); else the whole group,
    so that its help and "No such command" read as always."""
    import copy

    from typer.main import get_command_name

    sub = group.typer_instance
    if not rest or rest[0].startswith("-") or sub is None:
        return group
    found = [c for c in sub.registered_commands if (c.name or get_command_name(c.callback.__name__)) == rest[0]]
    if not found or sub.registered_groups:
        return group
    narrow = copy.copy(sub)
    narrow.registered_commands = found
    info = copy.copy(group)
    info.typer_instance = narrow
    return info


# Global options people also write after the command ("merger counts --db X"); moved before it.
GLOBAL_OPTIONS = ("--db", "--as-recorded", "--read-only", "--lang", "--raw-csv")


def hoist_global_options(args: list[str]) -> list[str]:
    """``merger CMD ... --db X`` as ``merger --db X CMD ...``: click reads global options only
    before the command. Only options the top level has and the command itself has not are moved."""
    if not any(a.split("=", 1)[0] in GLOBAL_OPTIONS for a in args[1:]):
        return args  # the common case: nothing to do, and no need to build the command tree
    import click
    import typer.main

    from merger.cli.common import app

    _load(MODULES)  # the whole tree: which options are the command's own
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

    from merger.cli.common import not_utf8
    from merger.cli.lang import said
    from merger.i18n import N_

    bad = not_utf8(sys.argv[1:])
    if bad:
        print(said(N_("Error: {message}")).format(message=bad), file=sys.stderr)
        sys.exit(1)
    try:
        args = hoist_global_options(sys.argv[1:])
        code = command_app(args)(args=args, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        from merger.cli.common import one_line

        exc.message = one_line(exc.message)  # a usage error echoes input too: never raw control characters
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        print(said(N_("Aborted.")), file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 — the promise is: never a traceback
        if os.environ.get("MERGER_DEBUG"):
            raise
        from merger.cli.common import one_line

        print(one_line(said(N_("Error: internal error: {kind}: {first} (set MERGER_DEBUG=1 for details)")).format(
            kind=type(exc).__name__, first=exc)), file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
