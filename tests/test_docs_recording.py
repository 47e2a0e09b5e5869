"""docs/recording.md's walk-through, run command by command on a copy of the real register."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from clirunner import CliRunner
from factories import count_rows
from merger.cli import app
from merger.register import Register

DOC = Path(__file__).resolve().parent.parent / "docs" / "recording.md"


def walkthrough() -> list[tuple[list[str], str | None, bool]]:
    """(arguments, expected text, refused) of every command between the walkthrough markers."""
    text = DOC.read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"<!-- walkthrough -->\n```sh\n(.*?)```\n<!-- /walkthrough -->", text, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            code, _, comment = command.partition("  #")
            args = shlex.split(code)
            assert args[0] == "merger", command
            comment = comment.strip()
            expect = comment.removeprefix("→").strip() if comment.startswith("→") else None
            out.append((args[1:], expect, comment == "refused"))
    return out


def test_the_walkthrough_runs_as_documented(national_copy: Register) -> None:
    steps = walkthrough()
    assert len(steps) >= 12
    for args, expect, refused in steps:
        before = count_rows(national_copy, "event")
        res = CliRunner().invoke(app, ["--db", national_copy.url, *args], env={"COLUMNS": "200"})
        said = res.stdout + res.stderr
        if refused:
            assert res.exit_code == 1 and res.stderr.startswith("Error: "), (args, said)
            assert count_rows(national_copy, "event") == before
        else:
            assert res.exit_code == 0, (args, said)
        if expect:
            assert expect in " ".join(said.split()), (args, expect, said)
