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


def main() -> None:
    """Entry point: domain errors are one line and exit 1; usage errors exit 2; no tracebacks."""
    import click

    from merger.cli.common import not_utf8

    bad = not_utf8(sys.argv[1:])
    if bad:
        print(f"Error: {bad}", file=sys.stderr)
        sys.exit(1)
    try:
        code = app(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        from merger.cli.common import one_line

        exc.message = one_line(exc.message)  # a usage error echoes input too: never raw control characters
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("Aborted.", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 — the promise is: never a traceback
        if os.environ.get("MERGER_DEBUG"):
            raise
        from merger.cli.common import one_line

        print(one_line(f"Error: internal error: {type(exc).__name__}: {exc} (set MERGER_DEBUG=1 for details)"),
              file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main", "typer"]
