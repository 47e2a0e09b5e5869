"""Babel extractor for the CLI: typer ``help=`` texts and command docstrings, besides ``_()`` calls.

The help of every command and option is user-visible text, but typer takes it as plain string
arguments and docstrings, which Babel's Python extractor does not see. Wrapping each of them in
``_()`` would mean editing every command; instead this extractor records them, split into the
same message ids that :func:`merger.i18n.translate_help` looks up when the CLI speaks Vietnamese.
Used by ``babel.cfg`` (``pybabel extract -F babel.cfg``) and by tests/test_i18n.py.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from merger.i18n import help_messages

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

HELP_DECORATORS = ("command", "callback")


def extract_cli(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                options: dict[str, Any]) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel extraction method: ``_()``-style calls, then the help texts of typer commands/options."""
    from babel.messages.extract import extract_python

    source = fileobj.read()
    fileobj.seek(0)
    yield from extract_python(fileobj, keywords, comment_tags, options)
    tree = ast.parse(source.decode(options.get("encoding", "utf-8")))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "help" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    for msg in help_messages(kw.value.value):
                        yield kw.value.lineno, None, msg, []
        elif isinstance(node, ast.FunctionDef) and any(_is_command(d) for d in node.decorator_list):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                for msg in help_messages(doc):
                    yield node.lineno, None, msg, []


def _is_command(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr in HELP_DECORATORS


# --- the catalog: extract, update, compile -----------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]  # the source checkout (babel.cfg, src/)
PO = Path(__file__).with_name("locale") / "vi" / "LC_MESSAGES" / "merger.po"


def template(root: Path = ROOT) -> Catalog:
    """Every user-visible English message in the code, as ``pybabel extract -F babel.cfg`` finds it."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with open(root / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    cat = Catalog(project="merger", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(str(root), method_map, options_map):
        cat.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return cat


def read_po(path: Path = PO) -> Catalog:
    from babel.messages.pofile import read_po as read

    with open(path, "rb") as fh:
        return read(fh, locale="vi", domain="merger")


def mo_bytes(catalog: Catalog) -> bytes:
    """The compiled catalog, as ``pybabel compile`` writes it (fuzzy entries left out)."""
    import io

    from babel.messages.mofile import write_mo

    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def update(root: Path = ROOT, po: Path = PO) -> tuple[int, int]:
    """Bring the Vietnamese catalog up to date with the code and recompile merger.mo.

    Returns (messages, untranslated). New messages arrive untranslated; removed ones are dropped."""
    import io

    from babel.messages.pofile import write_po

    cat = read_po(po)
    created = cat.creation_date  # kept: a header that changes on every run would only make merge conflicts
    cat.update(template(root), no_fuzzy_matching=True)
    cat.obsolete.clear()
    cat.creation_date, cat.project, cat.version = created, "merger", ""
    buf = io.BytesIO()
    write_po(buf, cat, no_location=True, sort_output=True, width=100, ignore_obsolete=True)
    po.write_bytes(buf.getvalue())
    cat = read_po(po)
    po.with_suffix(".mo").write_bytes(mo_bytes(cat))
    ids = [m for m in cat if m.id]
    return len(ids), sum(1 for m in ids if not translated(m))


def translated(message: Any) -> bool:
    """A catalog entry has its translation (every plural form of it), and is not fuzzy."""
    forms = [message.string] if isinstance(message.string, str) else list(message.string)
    return bool(forms) and all(forms) and not message.fuzzy


if __name__ == "__main__":  # python -m merger.i18n_extract  (needs Babel: pip install -e '.[test]')
    total, missing = update()
    print(f"{PO}: {total} messages, {missing} untranslated")
