"""docs/cli.md and the launcher's copy of `merger --help` are the program's real help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


# Examples that write, need a file of the user's, or belong to the tutorial's example register
# (docs/recording.md) are not run here; their commands have their own tests.
WRITES_OR_NEEDS_FILES = ("record", "apply", "revoke", "amend", "init", "import-", "db revision", "db upgrade",
                         "boundaries load", "boundaries forget", "convert", "resolve --file", "locate --file",
                         "Xã An", "nguyen.van.a", "merger draft ")
# `boundaries check` reports the real data's findings (coast, islands) and exits 1, as documented
EXIT_1_BY_DESIGN = {'merger boundaries check --within "Hải Phòng"',
                    'merger boundaries check --within "Hải Phòng" --as-of 2025-07-01',
                    'merger boundaries check --within "Hải Phòng" --lineage',
                    # the whole country's layer has findings beyond even these tolerances (docs/boundaries.md)
                    'merger boundaries check --area-rel 0.35 --gap-share 0.02',
                    "merger boundaries check --as-of 2025-07-01",  # the whole country: overlaps, coasts
                    "merger boundaries check --as-of 2025-07-01 --csv"}


PAGES = ("quickstart", "lineage", "counts", "analysts", "boundaries")  # the user pages' shell blocks


def _examples() -> list[str]:
    import re

    found = re.findall(r"^\s+(merger [^\n]*)$", DOC.read_text(encoding="utf-8"), flags=re.M)
    for page in PAGES:
        text = (DOC.parent / f"{page}.md").read_text(encoding="utf-8")
        for block in re.findall(r"```(?:sh|bash)\n(.*?)```", text, flags=re.S):
            found += re.findall(r"^(merger [^\n#]*)", block, flags=re.M)
    lines = {re.sub(r"\s+\(.*\)$", "", line).split(" > ")[0].split(" | ")[0].strip() for line in found}
    return sorted(x for x in lines if not any(w in x for w in WRITES_OR_NEEDS_FILES) and "--db" not in x)


def test_the_help_and_the_pages_hold_enough_examples() -> None:
    assert len(_examples()) >= 40


@pytest.mark.parametrize("line", _examples())
def test_the_help_examples_run_on_the_real_register(line: str, national_sqlite_path, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every read-only example in `--help` and in the user pages works as printed, on the bundled
    register (one test per example: the workers share them out, and a failure names its line)."""
    import shlex

    from clirunner import CliRunner
    from merger.cli import app

    pytest.importorskip("geopandas")
    monkeypatch.chdir(tmp_path)  # examples that write a picture or an export write here
    result = CliRunner().invoke(app, ["--db", str(national_sqlite_path), *shlex.split(line)[1:]])
    expected = 1 if line in EXIT_1_BY_DESIGN else 0
    assert result.exit_code == expected and "Traceback" not in result.output, \
        f"{line} -> {result.exit_code}: {(result.stderr or result.stdout)[:200]}"


def test_each_command_alone_is_the_same_command() -> None:
    """`main` builds only the invoked command (lazy loading): the map of commands to modules is
    complete, and each command built alone has the same help as in the whole CLI."""
    import click
    from typer.main import get_command, get_command_name

    import merger.cli as cli

    whole = cli.app
    defined = {(c.name or get_command_name(c.callback.__name__)): c.callback.__module__.rsplit(".", 1)[1]
               for c in whole.registered_commands}
    defined |= {g.name: next(c.callback.__module__ for c in g.typer_instance.registered_commands).rsplit(".", 1)[1]
                for g in whole.registered_groups}
    assert defined == cli.COMMANDS
    root = get_command(whole)
    for name in defined:
        alone = get_command(cli.command_app(["--db", "x.sqlite", name, "--help"]))
        assert list(alone.commands) == [name]  # type: ignore[attr-defined]
        ctx = click.Context(root, info_name="merger")
        assert alone.commands[name].get_help(ctx) == root.commands[name].get_help(ctx)  # type: ignore[attr-defined]
    assert cli.invoked(["--db", "lineage", "--read-only", "lineage", "An Lư"]) == "lineage"
    assert cli.invoked(["--help", "lineage"]) is None and cli.invoked([]) is None


def test_vietnamese_reference_and_help_copy_are_the_real_help() -> None:
    """docs/cli.vi.md and cli/help.vi.txt: the same pages, generated with the Vietnamese catalog."""
    from merger.cli.reference import DOCS, HELP_COPIES

    assert DOCS["vi"].read_text(encoding="utf-8") == render("vi"), f"docs/cli.vi.md is out of date: {HINT}"
    assert HELP_COPIES["vi"].read_text(encoding="utf-8") == root_help(lang="vi"), f"cli/help.vi.txt is out of date: {HINT}"
    assert "Cách dùng: merger" in HELP_COPIES["vi"].read_text(encoding="utf-8")


def test_launcher_prints_the_vietnamese_help_for_a_vietnamese_locale() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("MERGER_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env.update(COLUMNS="120", LANG="vi_VN.UTF-8")
    code = "import sys; sys.argv[0] = 'merger'; from merger.{} import main; main()"
    fast = subprocess.run([sys.executable, "-c", code.format("launcher"), "--help"],
                          capture_output=True, text=True, env=env, check=True)
    slow = subprocess.run([sys.executable, "-c", code.format("cli"), "--help"],
                          capture_output=True, text=True, env=env, check=True)
    assert fast.stdout == slow.stdout
    assert fast.stdout.startswith("Cách dùng: merger [TÙY_CHỌN] LỆNH") and "Tùy chọn:" in fast.stdout
