"""The ``merger`` command line: parse, make one library call, render.

Only light modules are imported here: the library (and with it SQLAlchemy, networkx and, for
the geo commands, geopandas) is imported inside each command, so ``merger --help`` is fast.
"""

from __future__ import annotations

import os
import sys

import typer

from merger.cli.common import app
from merger.cli.lang import said
from merger.i18n import N_

# Each module adds its commands to ``app`` when imported.
from merger.cli import register_cmds  # noqa: E402,F401  isort: skip
from merger.cli import db_cmds  # noqa: E402,F401  isort: skip
from merger.cli import record_cmds  # noqa: E402,F401  isort: skip
from merger.cli import analyst_cmds  # noqa: E402,F401  isort: skip
from merger.cli import geo_cmds  # noqa: E402,F401  isort: skip


def main() -> None:
    """Entry point: domain errors are one line and exit 1; usage errors exit 2; no tracebacks."""
    import click

    try:
        code = app(standalone_mode=False)
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


__all__ = ["app", "main", "typer"]
