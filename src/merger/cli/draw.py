"""Tables and trees: drawn by rich on a terminal, and as the very same characters without rich
when the output is piped or redirected.

Importing rich and laying out a table with it cost more than answering a one-unit question
(rich.tree and rich.console ~60 ms of imports; rich's layout of a 115-row table ~45% of
``merger units --within``). Piped, rich prints no styles and never wraps (``common.PIPE_WIDTH``),
so the text is a plain function of the cells: this module computes it. It draws only what it is
certain to draw exactly as rich does — the markup tags the commands use, characters one cell
wide, titles no wider than their table — and hands anything else to rich (``plain_text``
returns None); tests/test_draw.py compares both ways over real outputs and drawn inputs.
"""

from __future__ import annotations

import os
import re
import sys
from typing import IO, Any

# Markup tags the commands write; any other tag (or an escape) is left to rich.
_TAGS = frozenset(("bold", "dim", "cyan", "yellow", "red", "green"))
_RE_TAGS = re.compile(r"((\\*)\[([a-z#/@][^[]*?)])")  # rich.markup.RE_TAGS
_EMOJI = re.compile(r":\S*:")  # text rich might replace by an emoji (rich._emoji_replace)

# Characters one cell wide in every Unicode version rich knows (tests/test_draw.py checks):
# Latin with Vietnamese letters, Greek, Cyrillic, the punctuation, arrows and box lines drawn
# here, and the control pictures ``common.visible`` shows instead of control characters.
_ONE_CELL = frozenset(
    chr(c) for lo, hi in ((0x20, 0x7E), (0xA0, 0xAC), (0xAE, 0x2FF), (0x370, 0x482), (0x1E00, 0x1EFF),
                          (0x2010, 0x2027), (0x2190, 0x21FF), (0x2400, 0x2426), (0x2500, 0x25FC))
    for c in range(lo, hi + 1)
) | {"\n"}


class Table:
    """A table as rich.table.Table draws it (the few options the commands use)."""

    def __init__(self, title: str | None = None, *, show_header: bool = True, title_justify: str = "center",
                 min_width: int | None = None) -> None:
        self.title, self.show_header, self.title_justify, self.min_width = title, show_header, title_justify, min_width
        self.columns: list[dict[str, Any]] = []
        self.rows: list[tuple[str, ...]] = []

    def add_column(self, header: str = "", **options: Any) -> None:
        self.columns.append(dict(header=header, **options))

    def add_row(self, *cells: str) -> None:
        self.rows.append(tuple(cells))

    def to_rich(self) -> Any:
        from rich.table import Table as RichTable

        table = RichTable(title=self.title, show_header=self.show_header, title_justify=self.title_justify,  # type: ignore[arg-type]
                          min_width=self.min_width)
        for col in self.columns:
            options = dict(col)
            table.add_column(options.pop("header"), **options)
        for row in self.rows:
            table.add_row(*row)
        return table


class Tree:
    """A tree as rich.tree.Tree draws it."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.children: list[Tree] = []

    def add(self, label: str) -> Tree:
        child = Tree(label)
        self.children.append(child)
        return child

    def to_rich(self, into: Any = None) -> Any:
        from rich.tree import Tree as RichTree

        node = RichTree(self.label) if into is None else into.add(self.label)
        for child in self.children:
            child.to_rich(node)
        return node


def plain_stream(stream: IO[str]) -> bool:
    """True when rich would write to ``stream`` unstyled and unwrapped: not a terminal (isatty,
    which ``common.console()`` asks for the width, and rich's own rules: TTY_COMPATIBLE,
    FORCE_COLOR), in UTF-8 (else rich draws ASCII boxes)."""
    try:
        if stream.isatty():
            return False
    except (AttributeError, ValueError):
        pass
    env = os.environ
    tty, force = env.get("TTY_COMPATIBLE", ""), env.get("FORCE_COLOR")
    if tty == "1" or (tty != "0" and force is not None and force != ""):
        return False
    if getattr(sys.stdin, "__module__", "").startswith("idlelib"):
        return False
    return (getattr(stream, "encoding", "utf-8") or "utf-8").lower().startswith("utf")


def plain_markup(text: str) -> str | None:
    """The characters rich prints for ``text`` (console markup), or None when not certain."""
    from merger.cli.common import visible

    text = visible(text)
    if "\\" in text or "\t" in text or "\u2028" in text or "\u2029" in text or _EMOJI.search(text):
        return None
    if not _ONE_CELL.issuperset(text):
        return None
    if "[" not in text:
        return text
    out, position, opened = [], 0, []
    for match in _RE_TAGS.finditer(text):
        tag = match.group(3)
        name = tag[1:] if tag.startswith("/") else tag
        if name not in _TAGS:
            return None
        if tag.startswith("/"):
            if name not in opened:
                return None  # rich refuses an unmatched closing tag
            del opened[len(opened) - 1 - opened[::-1].index(name)]
        else:
            opened.append(name)
        out.append(text[position:match.start()])
        position = match.end()
    out.append(text[position:])
    return "".join(out)


def _ratio_distribute(total: int, ratios: list[int]) -> list[int]:
    """rich._ratio.ratio_distribute without minimums: ``total`` shared in proportion to ``ratios``."""
    total_ratio, remaining, out = sum(ratios), total, []
    for ratio in ratios:
        share = -(-ratio * remaining // total_ratio) if total_ratio > 0 else remaining  # ceil
        out.append(share)
        total_ratio -= ratio
        remaining -= share
    return out


def _table_lines(table: Table) -> list[str] | None:
    cols = len(table.columns)
    if not cols:
        return [""]
    if any(len(row) != cols for row in table.rows) or not (table.rows or table.show_header):
        return None  # rich makes a column without a single cell as wide as the console
    cells: list[list[list[str]]] = []  # column -> cell -> lines (header first)
    for i, col in enumerate(table.columns):
        texts = [col["header"]] if table.show_header else []
        texts += [row[i] for row in table.rows]
        column = []
        for text in texts:
            if not isinstance(text, str):
                return None
            plain = plain_markup(text)
            if plain is None:
                return None
            column.append(plain.split("\n"))
        if table.show_header and len(column[0]) > 1:
            return None  # a header of several lines is aligned to the bottom: rich's
        cells.append(column)
    widths = [max((max(len(line) for line in cell) for cell in column), default=0) + 2 for column in cells]
    widths = [w or 1 for w in widths]
    extra = 2 + cols - 1
    if table.min_width is not None and sum(widths) < table.min_width - extra:
        pads = _ratio_distribute(table.min_width - extra - sum(widths), widths)
        widths = [w + p for w, p in zip(widths, pads, strict=True)]
    width = sum(widths) + extra
    for c, w in enumerate(widths):
        if w == 2:  # a column with no room: rich lays each of its cells out as one line, "\n" or not
            cells[c] = [[""] for _cell in cells[c]]
    lines: list[str] = []
    if table.title:
        title = plain_markup(table.title)
        if title is None or "\n" in title or len(title) > width:
            return None  # rich would wrap it
        if table.title_justify == "center":
            title = title.rstrip()
            left = (width - len(title)) // 2
            lines.append(" " * left + title + " " * (width - left - len(title)))
        elif table.title_justify == "left":
            lines.append(title.ljust(width))
        else:
            return None
    heavy = table.show_header
    lines.append(("┏" + "┳".join("━" * w for w in widths) + "┓") if heavy else
                 ("┌" + "┬".join("─" * w for w in widths) + "┐"))
    justify = [col.get("justify", "left") for col in table.columns]
    if any(j not in ("left", "right") for j in justify):
        return None
    for r in range(len(cells[0])):
        row = [cells[c][r] for c in range(cols)]
        height = max(len(cell) for cell in row)
        edge = "┃" if heavy and r == 0 else "│"
        for n in range(height):
            parts = []
            for c, cell in enumerate(row):
                inner = widths[c] - 2
                if n >= len(cell):  # below a shorter cell: blank
                    text = " " * inner
                elif justify[c] == "right":
                    text = cell[n].rstrip().rjust(inner)
                else:
                    text = cell[n].ljust(inner)
                parts.append(" " + text + " ")
            lines.append(edge + edge.join(parts) + edge)
        if heavy and r == 0:
            lines.append("┡" + "╇".join("━" * w for w in widths) + "┩")
    lines.append("└" + "┴".join("─" * w for w in widths) + "┘")
    return lines


def _tree_lines(tree: Tree) -> list[str] | None:
    lines: list[str] = []

    def walk(node: Tree, prefix: list[str]) -> bool:
        label = plain_markup(node.label)
        if label is None:
            return False
        for i, line in enumerate(label.split("\n")):
            lines.append("".join(prefix) + line)
            if i == 0 and prefix:  # the fork or end of this node becomes a continuation
                prefix = [*prefix[:-1], "    " if prefix[-1] == "└── " else "│   "]
        for k, child in enumerate(node.children):
            last = k == len(node.children) - 1
            if not walk(child, [*prefix, "└── " if last else "├── "]):
                return False
        return True

    return lines if walk(tree, []) else None


def plain_text(drawing: Table | Tree | str) -> str | None:
    """What rich prints for ``drawing`` on a console that is not a terminal and never wraps
    (``common.console()`` piped), newline included; None where only rich can say."""
    if isinstance(drawing, str):
        text = plain_markup(drawing)
        return None if text is None else text + "\n"
    lines = _table_lines(drawing) if isinstance(drawing, Table) else _tree_lines(drawing)
    return None if lines is None else "".join(line + "\n" for line in lines)
