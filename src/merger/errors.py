"""Domain errors. Library code raises these; only the CLI turns them into exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field

from merger.i18n import N_, _, fdate

WHAT = {"unit": N_("unit"), "event": N_("event"), "predecessor": N_("predecessor"), "parent": N_("parent"),
        "successor": N_("successor")}  # what NotFound did not find, for people


class MergerError(Exception):
    """Base class: a refusal the user can act on (printed as one line, exit 1)."""


class NotFound(MergerError):
    """A name, code or key that matches nothing; carries the closest suggestions."""

    def __init__(self, query: str, suggestions: list[str] | None = None, what: str = "unit", on: object = None):
        self.query = query
        self.suggestions = suggestions or []
        hint = _("; did you mean: {names}").format(names=", ".join(self.suggestions)) if self.suggestions else ""
        if on is None:
            said = _("no {what} matches {query!r}").format(what=_(WHAT.get(what, what)), query=query)
        else:  # the day asked about
            said = _("no {what} matches '{query} on {day}'").format(what=_(WHAT.get(what, what)), query=query, day=on)
        super().__init__(said + hint)

    @classmethod
    def not_in_force(cls, query: str, day: object, held: list[str]) -> NotFound:
        """The name is known, but nothing by that name was in force on the day asked about."""
        err = cls(query)
        when = fdate(day) if hasattr(day, "isoformat") else day  # type: ignore[arg-type]
        err.args = (_("{query!r} names no unit in force on {day}; it names: {held}").format(
            query=query, day=when, held="; ".join(held)),)
        return err


@dataclass
class Candidate:
    """One possible reading of an ambiguous name, described for a person to pick from."""

    key: str
    label: str


class Ambiguous(MergerError):
    """A name that matches several units; the candidates say how to tell them apart."""

    def __init__(self, query: str, candidates: list[Candidate]):
        self.query = query
        self.candidates = candidates
        shown = candidates[: self.SHOWN]
        listed = "; ".join(c.label for c in shown)
        more = (_("; and {n} more (merger search {query!r} lists them)").format(n=len(candidates) - len(shown),
                                                                                   query=query)
                if len(candidates) > len(shown) else "")
        super().__init__(
            _("{query!r} is ambiguous ({n} units): {listed}{more}.").format(query=query, n=len(candidates),
                                                                            listed=listed, more=more) + " "
            + _("Qualify it by parent (e.g. 'Hòa Bình, Vĩnh Bảo'), give the code or key, or use --as-of.")
        )

    SHOWN = 12


@dataclass
class Violation:
    """One broken invariant or rule, with the objects it concerns."""

    rule: str
    message: str
    subjects: list[str] = field(default_factory=list)


class ValidationFailed(MergerError):
    """An event or import that would break the register's rules; nothing was written."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        first = violations[0].message if violations else "invalid"
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        super().__init__(f"{first}{more}")


class DataError(MergerError):
    """Bundled or imported data that cannot be read as documented."""


class StoreError(MergerError):
    """The register database cannot be opened or used as asked."""


class BadInput(MergerError):
    """A malformed argument value (date, share, option combination)."""
