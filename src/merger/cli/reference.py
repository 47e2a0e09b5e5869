"""Write the CLI reference (docs/cli.md, and its Vietnamese twin docs/cli.vi.md) from the real
``--help`` of every command.

A test regenerates them and compares, so the reference cannot drift from the program.
Run: ``python -m merger.cli.reference --write`` (also writes cli/help.txt and cli/help.vi.txt,
the launcher's copies of ``merger --help``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer.main

from merger import i18n
from merger.cli import app
from merger.cli.lang import LocalizedContext, localize

WIDTH = 100


def _walk(command: click.Command, ctx: click.Context) -> list[tuple[click.Context, click.Command]]:
    out = [(ctx, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                out.extend(_walk(sub, sub.context_class(sub, parent=ctx, info_name=name, **sub.context_settings)))
    return out


INTRO = {
    "en": ["# CLI reference\n",
           "Generated from the program's own `--help` by `python -m merger.cli.reference > docs/cli.md`;",
           "`tests/test_cli_reference.py` fails when this page and the program disagree.",
           "Vietnamese: [cli.vi.md](cli.vi.md).\n"],
    "vi": ["# Tra cứu lệnh (CLI)\n",
           "Sinh từ chính `--help` của chương trình (`merger --lang vi`, hoặc `LANG=vi_VN.UTF-8`) bằng",
           "`python -m merger.cli.reference --write`; `tests/test_cli_reference.py` báo lỗi khi trang này và",
           "chương trình không khớp. Tiếng Anh: [cli.md](cli.md).\n"],
}


def _root(lang: str) -> click.Command:
    root = typer.main.get_command(app)
    if lang != "en":
        localize(root)
    return root


def render(lang: str = "en") -> str:
    """The reference page in ``lang`` ("en": docs/cli.md, "vi": docs/cli.vi.md)."""
    with i18n.use(lang):
        root = _root(lang)
        parts = list(INTRO[lang])
        top = LocalizedContext(root, info_name="merger", terminal_width=WIDTH, max_content_width=WIDTH,
                               **root.context_settings)
        for ctx, command in _walk(root, top):
            parts.append(f"## `{ctx.command_path}`\n")
            parts.append("```text")
            parts.append(command.get_help(ctx).rstrip())
            parts.append("```\n")
        return "\n".join(parts)


def root_help(width: int = 80, lang: str = "en") -> str:
    """`merger --help` as click prints it on a terminal at least ``width`` (80) columns wide."""
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with i18n.use(lang), redirect_stdout(buf):
        root = _root(lang)
        # click formats help at min(terminal columns, 80) - 2 characters.
        ctx = LocalizedContext(root, info_name="merger", terminal_width=width - 2, **root.context_settings)
        click.echo(ctx.get_help(), color=False)
    return buf.getvalue()


HELP_COPY = Path(__file__).with_name("help.txt")
HELP_COPIES = {"en": HELP_COPY, "vi": Path(__file__).with_name("help.vi.txt")}
DOC = Path(__file__).resolve().parents[3] / "docs" / "cli.md"
DOCS = {"en": DOC, "vi": DOC.with_name("cli.vi.md")}


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:  # docs/cli*.md and the launcher's copies of the top-level help
        for lang in ("en", "vi"):
            DOCS[lang].write_text(render(lang), encoding="utf-8")
            HELP_COPIES[lang].write_text(root_help(lang=lang), encoding="utf-8")
    else:
        sys.stdout.write(render(i18n.choose(sys.argv[1:])))
