"""The one plausibility rule for the dates of events and acts.

A date outside these bounds is a typing slip (0001-01-01, 9999-12-31, 20255-07-01), not a
decision: it is refused where it enters (the CLI's --effective/--act-date, an annex's columns),
before any arithmetic on it can overflow.
"""

from __future__ import annotations

from datetime import date

from merger.errors import BadInput
from merger.i18n import _

EARLIEST = date(1900, 1, 1)
LATEST = date(2099, 12, 31)


def plausible(day: date | None, what: str) -> date | None:
    """``day`` if an event or act could bear it; BadInput naming the rule otherwise."""
    if day is not None and not EARLIEST <= day <= LATEST:
        raise BadInput(_("{what} {isoformat} is implausible: event and act dates lie between {isoformat2} and "
                         "{isoformat3}").format(what=what, isoformat=day.isoformat(), isoformat2=EARLIEST.isoformat(), isoformat3=LATEST.isoformat()))
    return day
