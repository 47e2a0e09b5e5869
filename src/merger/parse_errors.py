"""What a parser found wrong in a file, said in the user's language.

libyaml (PyYAML's CSafeLoader), the json module and the csv module say what is wrong in English,
and annexes, register exports and tables are written by staff who read Vietnamese first. Each
parser's wording is a small fixed set: every known text is a message here, translated by the
catalog like any other (in English the parser's own words, as before); a text not in the set (a
newer parser's wording, PyYAML's pure-Python loader) is shown as the parser wrote it.
"""

from __future__ import annotations

import csv
import json
import re

from merger.i18n import N_, _

# libyaml's problems, as its scanner, parser and reader word them (the strings of its C source;
# PyYAML passes them on as ``exc.problem``).
YAML_PROBLEMS = frozenset({
    N_("did not find expected ',' or ']'"),
    N_("did not find expected ',' or '}'"),
    N_("did not find expected key"),
    N_("did not find expected '-' indicator"),
    N_("did not find expected node content"),
    N_("did not find expected <document start>"),
    N_("did not find expected comment or line break"),
    N_("did not find expected whitespace or line break"),
    N_("could not find expected ':'"),
    N_("mapping values are not allowed in this context"),
    N_("block sequence entries are not allowed in this context"),
    N_("found character that cannot start any token"),
    N_("found a tab character that violates indentation"),
    N_("found a tab character where an indentation space is expected"),
    N_("found unexpected end of stream"),
    N_("found unexpected ':'"),
    N_("found unexpected document indicator"),
    N_("found unknown escape character"),
    N_("found undefined tag handle"),
    N_("found an indentation indicator equal to 0"),
    N_("control characters are not allowed"),
    N_("invalid leading UTF-8 octet"),
    N_("invalid trailing UTF-8 octet"),
    N_("incomplete UTF-8 octet sequence"),
    N_("invalid Unicode character"),
})

# The json module's messages (``JSONDecodeError.msg``, without the position it adds).
JSON_PROBLEMS = frozenset({
    N_("Expecting value"),
    N_("Expecting property name enclosed in double quotes"),
    N_("Expecting ':' delimiter"),
    N_("Expecting ',' delimiter"),
    N_("Unterminated string starting at"),
    N_("Invalid control character at"),
    N_("Invalid \\escape"),
    N_("Invalid \\uXXXX escape"),
    N_("Extra data"),
    N_("Unexpected UTF-8 BOM (decode using utf-8-sig)"),
})

_FIELD_LIMIT = re.compile(r"field larger than field limit \((\d+)\)\Z")


def yaml_problem(exc: Exception) -> str:
    """The problem a YAML error names (``exc.problem``, else the error's text), translated if known."""
    problem = str(getattr(exc, "problem", None) or exc)
    return _(problem) if problem in YAML_PROBLEMS else problem


def json_problem(exc: ValueError) -> str:
    """Why a JSON file could not be read: the json module's message and where (line, column), or a
    file that is not UTF-8 text."""
    if isinstance(exc, json.JSONDecodeError):
        what = _(exc.msg) if exc.msg in JSON_PROBLEMS else exc.msg
        return _("{what}: line {line}, column {column}").format(what=what, line=exc.lineno, column=exc.colno)
    if isinstance(exc, UnicodeDecodeError):
        return _("not UTF-8 text (byte {position})").format(position=exc.start + 1)  # counted from 1
    return str(exc)


def csv_problem(exc: csv.Error) -> str:
    """Why the csv module stopped reading a table, translated if known."""
    found = _FIELD_LIMIT.match(str(exc))
    if found:
        return _("a cell is longer than the limit of {limit:,} characters").format(limit=int(found.group(1)))
    return str(exc)
