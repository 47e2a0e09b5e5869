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
    **dict.fromkeys(("crosswalk", "convert", "resolve", "diff", "report"), "analyst_cmds"),
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
    only.registered_groups = [g for g in app.registered_groups if g.name == name]
    return only


def main() -> None:
    """Entry point: domain errors are one line and exit 1; usage errors exit 2; no tracebacks."""
    import click

    from merger.cli.lang import said
    from merger.i18n import N_

    try:
        code = command_app(sys.argv[1:])(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        print(said(N_("Aborted.")), file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 — the promise is: never a traceback
        if os.environ.get("MERGER_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        print(said(N_("Error: internal error: {kind}: {first} (set MERGER_DEBUG=1 for details)")).format(
            kind=type(exc).__name__, first=first), file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
