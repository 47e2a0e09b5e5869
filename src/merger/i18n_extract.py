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
from typing import IO, Any

from merger.i18n import help_messages

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
