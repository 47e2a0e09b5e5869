"""docs/cli.md is the program's real --help, regenerated and compared."""

from __future__ import annotations

from pathlib import Path

from merger.cli.reference import render

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_cli_reference_matches_help() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/cli.md is out of date: run `python -m merger.cli.reference > docs/cli.md`"
    )


def test_every_command_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for command in ("counts", "lineage", "show", "units", "search", "check", "init"):
        assert f"## `merger {command}`" in text
