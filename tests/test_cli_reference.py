"""docs/cli.md and the launcher's copy of `merger --help` are the program's real help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from merger.cli.reference import HELP_COPY, render, root_help

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
HINT = "run `python -m merger.cli.reference --write`"


def test_cli_reference_matches_help() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), f"docs/cli.md is out of date: {HINT}"


def test_every_command_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for command in ("counts", "lineage", "show", "units", "search", "check", "init"):
        assert f"## `merger {command}`" in text


def test_help_copy_is_the_real_help() -> None:
    assert HELP_COPY.read_text(encoding="utf-8") == root_help(), f"cli/help.txt is out of date: {HINT}"


def test_launcher_prints_the_same_help_as_the_cli() -> None:
    env = {**os.environ, "COLUMNS": "120"}
    code = "import sys; sys.argv[0] = 'merger'; from merger.{} import main; main()"
    fast = subprocess.run([sys.executable, "-c", code.format("launcher"), "--help"],
                          capture_output=True, text=True, env=env, check=True)
    slow = subprocess.run([sys.executable, "-c", code.format("cli"), "--help"],
                          capture_output=True, text=True, env=env, check=True)
    assert fast.stdout == slow.stdout
    assert "Usage: merger [OPTIONS] COMMAND" in fast.stdout
