"""The `merger` executable. `merger --help` is answered from a pre-rendered copy of the real help.

Rendering the top-level help means importing typer and click and building ~40 commands (0.2 s
here); the copy (``cli/help.txt``, written by ``python -m merger.cli.reference --write`` and
compared with the real help by tests/test_cli_reference.py) prints in a few milliseconds. It is
used only where the real help would print the same text: exactly ``--help`` or ``-h``, on a
terminal at least 80 columns wide (click wraps help at 80). Everything else goes to the CLI.
Vietnamese users (``LANG=vi_VN.UTF-8`` or ``MERGER_LANG=vi``) get the Vietnamese copy, help.vi.txt.
"""

from __future__ import annotations

import os
import shutil
import sys

HELP_COPY = os.path.join(os.path.dirname(__file__), "cli", "help.txt")
HELP_COPY_VI = os.path.join(os.path.dirname(__file__), "cli", "help.vi.txt")


def main() -> None:
    if sys.argv[1:] in (["--help"], ["-h"]) and shutil.get_terminal_size().columns >= 80:
        from merger.i18n import choose

        try:
            with open(HELP_COPY_VI if choose() == "vi" else HELP_COPY, encoding="utf-8") as fh:
                sys.stdout.write(fh.read())
            return
        except OSError:
            pass  # no copy (an unusual install): render it the slow way
    from merger.cli import main as cli_main

    cli_main()
