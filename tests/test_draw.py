"""Tables and trees drawn without rich when piped (merger.cli.draw) print exactly what rich prints.

Compared three ways: drawn inputs (Hypothesis: markup, several lines, brackets, colons, wide and
combining characters, control characters, titles wider than their table, minimum widths), the
real commands on the bundled register with the plain drawing switched off, and the characters
the plain drawing assumes one cell wide, against rich's own width tables.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clirunner import CliRunner
from merger.cli import app, draw
from merger.cli.common import print_table, say

FRAGMENTS = ["Phường", "Hòa Bình", "Thủy Nguyên", "xã", "11533@2025-07-01", "→", "—", "…", " ", "  ", "\n",
             "\n  ", "[bold]", "[/bold]", "[dim]", "[/dim]", "[cyan]", "[/cyan]", "[yellow]", "[/yellow]",
             "[red]", "[/red]", "[green]", "[/green]", "[x]", "[/]", "[Hải Phòng]", "[", "]", "\\[", "\\",
             ":", ":smile:", "a:b:c", "\t", "漢字", "e\u0301", "\x1b[2J", "\u202e", "\u200d", "\ufe0f", "\u2028",
             "·", "²", "km", "1.234", "-27", "0", "(", ")", "'", '"']
TEXT = st.lists(st.sampled_from(FRAGMENTS) | st.text("aăâđêôơưAĐỳỹ bc123", max_size=8), max_size=6).map("".join)
# Text the plain drawing must handle itself (balanced tags, no tabs, escapes or wide characters).
SAFE = st.lists(st.sampled_from(["Phường Hòa Bình", "11533@2025-07-01", "xã", " ", "\n  ", "→ ", "·", "…",
                                 "[bold]B[/bold]", "[dim](x)[/dim]", "[cyan]k[/cyan]", "[Hải Phòng]", "]"]),
                max_size=5).map("".join)


@pytest.fixture(autouse=True)
def _no_forced_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


def _out(show, obj) -> str:  # type: ignore[no-untyped-def]
    """What is printed, or the error raised (rich refuses a closing tag that closes nothing)."""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            show(obj)
    except Exception as exc:  # noqa: BLE001
        return f"raised {type(exc).__name__}"
    return buf.getvalue()


def _printed(obj: draw.Table | draw.Tree) -> str:
    return _out(print_table, obj)


def _by_rich(obj: draw.Table | draw.Tree) -> str:
    return _out(lambda o: print_table(o.to_rich()), obj)


@st.composite
def tables(draw_: st.DrawFn, text: st.SearchStrategy[str] = TEXT) -> draw.Table:
    n, header = draw_(st.integers(1, 4)), draw_(st.booleans())
    table = draw.Table(title=draw_(st.none() | text), show_header=header,
                       title_justify=draw_(st.sampled_from(["center", "left"])),
                       min_width=draw_(st.none() | st.integers(0, 120)))
    for _ in range(n):
        table.add_column(draw_(text), justify=draw_(st.sampled_from(["left", "right"])))
    for _ in range(draw_(st.integers(0 if header else 1, 5))):  # without a cell: see below
        table.add_row(*(draw_(text) for _ in range(n)))
    return table


@st.composite
def trees(draw_: st.DrawFn, text: st.SearchStrategy[str] = TEXT, depth: int = 3) -> draw.Tree:
    tree = draw.Tree(draw_(text))

    def grow(node: draw.Tree, level: int) -> None:
        for _ in range(draw_(st.integers(0, 3 if level < depth else 0))):
            grow(node.add(draw_(text)), level + 1)

    grow(tree, 0)
    return tree


@settings(max_examples=150, deadline=None)
@given(tables())
def test_tables_print_as_rich_prints_them(table: draw.Table) -> None:
    assert _printed(table) == _by_rich(table)


@settings(max_examples=150, deadline=None)
@given(trees())
def test_trees_print_as_rich_prints_them(tree: draw.Tree) -> None:
    assert _printed(tree) == _by_rich(tree)


@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize(("columns", "rows"), [
    ([""], [["\n"]]), ([""], [["\n"], ["\n\n"]]), (["", ""], [["\n", "ab"]]), (["", ""], [["\n\n", "a\nb"]]),
    ([""], [["[bold]\n[/bold]"]]), ([""], [["\n"], ["x"]])])
def test_a_column_with_no_room_draws_each_cell_on_one_line(columns, rows, header) -> None:  # type: ignore[no-untyped-def]
    """Found by the drawn tables: rich lays out a cell of a column of width 0 as one line, newlines
    or not (the plain drawing gave "\n" two)."""
    table = draw.Table(show_header=header)
    for name in columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*row)
    assert _printed(table) == _by_rich(table)


def test_a_table_without_a_cell_is_left_to_rich() -> None:
    table = draw.Table(title="t", show_header=False)
    table.add_column("a")
    assert draw.plain_text(table) is None
    assert _printed(table) == _by_rich(table)


@settings(max_examples=100, deadline=None)
@given(tables(SAFE), trees(SAFE))
def test_plain_text_is_drawn_without_rich(table: draw.Table, tree: draw.Tree) -> None:
    """What the commands print is drawn here, not handed back to rich (else nothing is saved):
    everything but a title wider than its table, a header of several lines, a table without a cell."""
    table.title = None
    table.add_row(*(["x"] * len(table.columns)))
    for col in table.columns:
        col["header"] = col["header"].replace("\n", " ")
    assert draw.plain_text(table) == _by_rich(table)
    assert draw.plain_text(tree) == _by_rich(tree)


@given(TEXT)
def test_a_line_of_markup_prints_as_rich_prints_it(text: str) -> None:
    from merger.cli.common import console

    assert _out(say, text) == _out(lambda t: console().print(t), text)


def test_one_cell_characters_are_one_cell_in_every_unicode_version() -> None:
    from rich._unicode_data import load
    from rich._unicode_data._versions import VERSIONS
    from rich.cells import cell_len

    for version in VERSIONS:
        load(version)  # every table rich may pick (UNICODE_VERSION)
        wrong = [c for c in draw._ONE_CELL if c != "\n" and cell_len(c, version) != 1]
        assert not wrong, (version, wrong[:10])


def test_a_terminal_or_forced_colour_is_left_to_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert draw.plain_stream(io.StringIO())
    assert not draw.plain_stream(Tty())
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not draw.plain_stream(io.StringIO())
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    assert draw.plain_stream(io.StringIO())
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert not draw.plain_stream(io.StringIO())


def _commands(db: str) -> list[list[str]]:
    result = CliRunner().invoke(app, ["--db", db, "units", "--as-of", "2025-06-30", "--within", "Thủy Nguyên",
                                      "--json"])
    old = [u["key"] for u in json.loads(result.stdout)][:8]
    result = CliRunner().invoke(app, ["--db", db, "units", "--as-of", "2025-07-01", "--within", "Hải Phòng",
                                      "--json"])
    new = [u["key"] for u in json.loads(result.stdout)][:5]
    assert len(old) == 8 and len(new) == 5
    return [
        *(["lineage", k] for k in old + new), *(["show", k] for k in old[:4] + new[:2]),
        ["lineage", "Hải Phòng"], ["lineage", "Phường Hồng Bàng"], ["lineage", "Phường Hòa Bình, Hải Phòng", "--backward", "--as-of", "2025-07-01"],
        ["show", "Hải Phòng"], ["search", "An Lư"], ["search", "hoa binh"], ["counts"],
        ["counts", "--within", "Hải Phòng"], ["counts", "--kind", "agency", "--within", "Hải Phòng"],
        ["units", "--within", "Hải Phòng"], ["units", "--as-of", "2025-06-30", "--within", "Hải Phòng"],
        ["check"], ["changes", "--from", "2025-06-30", "--to", "2025-07-01", "--within", "Thủy Nguyên"],
        ["crosswalk", "--within", "Hải Phòng"],
    ]


def test_real_outputs_are_the_characters_rich_prints(national_sqlite_path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(national_sqlite_path)
    commands = _commands(db)
    plain = [CliRunner().invoke(app, ["--db", db, *args]) for args in commands]
    monkeypatch.setattr(draw, "plain_text", lambda drawing: None)  # every drawing by rich
    for args, mine in zip(commands, plain, strict=True):
        theirs = CliRunner().invoke(app, ["--db", db, *args])
        assert mine.exit_code == theirs.exit_code == 0, (args, mine.stderr)
        assert mine.stdout == theirs.stdout, args
        assert mine.stdout.strip(), args
