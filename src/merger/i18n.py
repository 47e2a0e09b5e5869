"""The interface language: English (the message ids) or Vietnamese (a gettext catalog).

The users read Vietnamese first, so every label, header, help text and message a person reads
goes through ``_()``. The catalog is ``merger/locale/vi/LC_MESSAGES/merger.po``, managed with
Babel (``babel.cfg``; see docs/i18n.md) and compiled to ``merger.mo``, which is committed and kept
equal to the ``.po`` by tests/test_i18n.py. The language is not a global setting: the CLI picks it
(``--lang``, ``MERGER_LANG``, or the locale) and sets it for the invocation with :func:`use`;
library code that renders text for people reads it with :func:`_` and :func:`fdate`. Without a
language set, everything is English, as before. Machine output (JSON, CSV) is never translated.

Kept light (os, string and contextvars at import; gettext, re and inspect when first needed): the
launcher imports it to pick the help copy.
"""

from __future__ import annotations

import os
import string
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gettext

DOMAIN = "merger"
LOCALE_DIR = os.path.join(os.path.dirname(__file__), "locale")
LANGUAGES = ("en", "vi")
ENV_ORDER = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's own order


class Language:
    """A language code and its translations (None for English: the message ids are English)."""

    __slots__ = ("code", "translations")

    def __init__(self, code: str, translations: gettext.NullTranslations | None = None):
        self.code = code
        self.translations = translations


ENGLISH = Language("en")
# The language of the running invocation: set by the CLI (``use``), English when nothing set it.
_CURRENT: ContextVar[Language] = ContextVar("merger_language", default=ENGLISH)


def normalize(value: str | None) -> str:
    """"vi", "vi_VN.UTF-8", "vi:en" -> "vi"; anything else (C, en_US, fr) -> "en"."""
    first = (value or "").strip().split(":")[0].lower()
    return "vi" if first.startswith("vi") else "en"


def from_args(args: Sequence[str]) -> str | None:
    """The value of ``--lang`` on a command line (before ``--``), if given."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def choose(args: Sequence[str] = (), env: Mapping[str, str] | None = None) -> str:
    """``--lang`` first, then ``MERGER_LANG``, then the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)."""
    env = os.environ if env is None else env
    given = from_args(args)
    if given is not None:
        return normalize(given)
    if env.get("MERGER_LANG"):
        return normalize(env["MERGER_LANG"])
    return normalize(next((env[k] for k in ENV_ORDER if env.get(k)), ""))


def load(code: str) -> Language:
    """The language ``code`` with its compiled catalog (gettext caches the file)."""
    if normalize(code) == "en":
        return ENGLISH
    import gettext

    return Language(code, gettext.translation(DOMAIN, LOCALE_DIR, languages=[code], fallback=True))


@contextmanager
def use(code: str) -> Iterator[Language]:
    """Speak ``code`` ("vi" or "en") inside the block (one CLI invocation, one report)."""
    token = _CURRENT.set(load(code))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


def current() -> Language:
    return _CURRENT.get()


def N_(message: str) -> str:  # noqa: N802 — the gettext convention: marked for extraction, translated later
    return message


class Message(str):
    """A translated message whose ``.format()`` writes dates as people write them in its language.

    Messages say ``_("… on {day}").format(day=day)`` with a ``date``: ISO (2025-07-01, what
    ``str(date)`` gives) in English, 01/7/2025 in Vietnamese. Times (datetime) are left as given."""

    __slots__ = ()

    def format(self, *args: object, **kwargs: object) -> str:  # type: ignore[override]
        if _CURRENT.get().code == "en":
            return str.format(self, *args, **kwargs)
        args = tuple(_people_date(a) for a in args)
        kwargs = {k: _people_value(k, v) for k, v in kwargs.items()}
        return _VietnameseNumbers().vformat(self, args, kwargs)


class _VietnameseNumbers(string.Formatter):
    """Numbers formatted by a spec ({share:g}, {area:,.2f}, {rel:+.1%}) with Vietnamese separators."""

    def format_field(self, value: object, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        if format_spec and isinstance(value, int | float) and not isinstance(value, bool):
            return text.translate(str.maketrans(",.", ".,"))
        return text


# Message fields that name a level code ("a {level} needs a parent"): in Vietnamese the level's
# word ("đơn vị cấp xã"), not the code people type after --level.
LEVEL_FIELDS = frozenset({"level", "level2", "want"})


def _level_word(value: str) -> str:
    """"commune" -> "xã"; "province or district" -> "tỉnh hoặc huyện"; anything else as given."""
    words = {"province": pgettext("level word", "province"), "district": pgettext("level word", "district"),
             "commune": pgettext("level word", "commune"), "no parent": _("no parent")}
    parts = value.split(" or ")
    if all(p in words for p in parts):
        return _(" or ").join(words[p] for p in parts)
    return value


def _people_value(key: str, value: object) -> object:
    if key in LEVEL_FIELDS and isinstance(value, str):
        return _level_word(value)
    return _people_date(value)


def _people_date(value: object) -> object:
    """A value as it reads in a message: a date as people write it, the system's reason for a
    failed file operation (English from the C library) in the current language."""
    if type(value) is date:  # noqa: E721 — a datetime is a date too, and keeps its time
        return fdate(value)
    if isinstance(value, OSError):
        reason = os_reason(value)
        return f"{reason}: {value.filename}" if value.filename and value.strerror else reason
    if isinstance(value, str) and value in OS_REASONS.values():
        return _(value)
    return value


# The system's words for the failures people meet with files (strerror), translated in messages.
OS_REASONS = {2: N_("No such file or directory"), 13: N_("Permission denied"), 21: N_("Is a directory"),
              20: N_("Not a directory"), 28: N_("No space left on device"), 30: N_("Read-only file system"),
              17: N_("File exists"), 36: N_("File name too long"), 1: N_("Operation not permitted")}


def os_reason(exc: OSError) -> str:
    """Why a file operation failed, in the current language (the system's English when unknown)."""
    said = OS_REASONS.get(exc.errno or 0)
    if said is not None and exc.strerror == said:
        return _(said)
    return exc.strerror or str(exc)


def _(message: str) -> str:
    """``message`` in the current language (itself when English or untranslated)."""
    tr = _CURRENT.get().translations
    return Message(message if tr is None else tr.gettext(message))


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, where the same English word needs context."""
    tr = _CURRENT.get().translations
    return Message(message if tr is None else tr.pgettext(context, message))


def ngettext(singular: str, plural: str, n: int) -> str:
    tr = _CURRENT.get().translations
    return Message((singular if n == 1 else plural) if tr is None else tr.ngettext(singular, plural, n))


def fdate(day: date | None, empty: str = "") -> str:
    """A date as people write it: 2025-07-01 in English output, 01/7/2025 in Vietnamese."""
    if day is None:
        return empty
    if _CURRENT.get().code == "vi":
        return f"{day.day:02d}/{day.month}/{day.year}"
    return day.isoformat()


def fnum(n: float, digits: int | None = 0) -> str:
    """A number with thousands separators: 10,035 in English, 10.035 in Vietnamese (None: as Python)."""
    text = f"{n:,}" if digits is None else f"{n:,.{digits}f}"
    if _CURRENT.get().code == "vi":
        return text.translate(str.maketrans(",.", ".,"))
    return text


def fpct(share: float, digits: int = 1, signed: bool = False) -> str:
    """A share as a percentage: 12.5% in English, 12,5% in Vietnamese."""
    text = f"{share:+.{digits}%}" if signed else f"{share:.{digits}%}"
    return text.replace(".", ",") if _CURRENT.get().code == "vi" else text


# --- help texts (command docstrings and typer help=) -------------------------------------------

_COMMENT = r"^(?P<cmd>\s*merger .*?)(?P<gap>\s{2,}|\s)\((?P<note>[^()]*)\)\s*$"  # an example's (comment)


def help_messages(text: str) -> list[str]:
    """The message ids of a help text, as the extractor records and :func:`translate_help` looks up.

    A paragraph is one id (whitespace collapsed: click rewraps it anyway); in a ``\\b`` block (kept
    as written) each line is one id, except example commands (``merger …``), of which only a
    trailing ``(comment)`` is one."""
    out: list[str] = []
    for kind, piece in _pieces(text):
        if kind == "text" and piece:
            out.append(piece)
    return out


def translate_help(text: str | None, gettext_: object = None) -> str | None:
    """The help text in the current language, paragraph by paragraph, layout kept."""
    import inspect

    if not text:
        return text
    tr = _ if gettext_ is None else gettext_
    paras = []
    for para in inspect.cleandoc(text).split("\n\n"):
        if para.startswith("\b") or para.lstrip().startswith("merger "):
            paras.append("\n".join(_translate_line(line, tr) for line in para.split("\n")))  # type: ignore[arg-type]
        else:
            key = " ".join(para.split())
            paras.append(tr(key) if key else para)  # type: ignore[operator]
    return "\n\n".join(paras)


def _translate_line(line: str, tr) -> str:  # type: ignore[no-untyped-def]
    import re

    stripped = line.strip()
    if not stripped or stripped == "\b":
        return line
    m = re.match(_COMMENT, line)
    if m:
        return f"{m['cmd']}{m['gap']}({tr(m['note'].strip())})"
    if _is_command(stripped) or stripped.startswith("\b"):
        return line
    indent = line[: len(line) - len(line.lstrip())]
    return indent + tr(stripped)


def _is_command(line: str) -> bool:
    """An example command line (``merger …``, or a pipe into merger): typed as is, never translated."""
    return line.startswith("merger ") or "| merger " in line


def _pieces(text: str) -> Iterator[tuple[str, str]]:
    import inspect
    import re

    for para in inspect.cleandoc(text).split("\n\n"):
        if para.startswith("\b") or para.lstrip().startswith("merger "):
            for line in para.split("\n"):
                stripped = line.strip()
                if not stripped or stripped == "\b":
                    continue
                m = re.match(_COMMENT, line)
                if m:
                    yield "text", m["note"].strip()
                elif not _is_command(stripped):
                    yield "text", stripped
        else:
            yield "text", " ".join(para.split())
