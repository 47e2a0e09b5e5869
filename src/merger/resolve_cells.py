"""The cells ``resolve --file`` adds to each row for an answer, and the separators the notes of
answers use: shared by the note of answers by spelling (``merger.resolve_index``) and the names
noted per generation (``merger.resolve_names``), so neither imports the other's module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from merger.i18n import _

if TYPE_CHECKING:
    from merger.addresses import AddressResolver, Resolved

CELLS = ["status", "unit_key", "unit_code", "unit_name", "split", "successor_keys", "successor_codes",
         "successor_names", "shares", "basis", "new_address", "message"]
_ANSWERED = ("ok", "split")


class Answer:
    """What the resolver answered for a key: the status and the cells ``CELLS`` from unit_key to
    basis (``head``), each successor's new address after the street (``tails``), and the
    message, made ready for many streets."""

    __slots__ = ("head", "tails", "plains", "names", "plain", "message")

    def __init__(self, head: list[str], tails: tuple[tuple[str, ...], ...], message: str):
        self.head = head
        self.tails = tails
        self.plains = [", ".join(dict.fromkeys(p for p in tail if p)) for tail in tails]
        self.names = [frozenset(tail) for tail in tails]
        self.plain = " | ".join(self.plains)  # the new address without a street
        self.message = message

    def row(self, street: str) -> list[str]:
        """The cells ``resolve --file`` adds for an address with this street (as
        ``AddressResolver.rewrite`` writes them: the street, then the tail without repeats)."""
        street = street.strip()
        if not street:
            return [*self.head, self.plain, self.message]
        new = " | ".join((street + ", " + plain if plain else street) if street not in names
                         else ", ".join(dict.fromkeys(p for p in (street, *tail) if p))
                         for tail, plain, names in zip(self.tails, self.plains, self.names, strict=True))
        return [*self.head, new, self.message]


# Separators of the note's texts: private-use characters (no unit name holds one, a key or an
# answer that does is not kept, and an address that does is asked of the resolver); JSON writes
# them as they are, where control characters would each take six bytes and slow its parser.
_RS, _US, _GS, _FS = "\ue01e", "\ue01f", "\ue01d", "\ue01c"
_SEPARATORS = (_RS, _US, _GS, _FS)


def _decode_answer(text: str) -> Answer | None:
    fields = text.split(_US)
    if len(fields) != 13 or fields[0] not in _ANSWERED:
        return None
    tails = tuple(tuple(t.split(_GS)) for t in fields[11].split(_FS)) if fields[11] else ()
    if fields[12] and fields[12].count(_GS) != 1:
        return None
    return Answer(fields[:10], tails, _message(fields[12]))


def _message(written: str) -> str:
    """``Resolved.message`` of an ok or split answer, from its noted type words (or "")."""
    if not written:
        return ""
    typed, _sep, type_ = written.partition(_GS)
    return _("written as {typed}, recorded as {type}").format(typed=typed, type=type_)


def unit_cells(resolver: AddressResolver, res: Resolved) -> list[str]:
    """The cells of ``CELLS`` from unit_key to basis for one answer."""
    u = res.unit
    succ = res.successors
    if u is not None and len(succ) == 1:  # the common case, without five joins
        r = succ[0]
        t = r.target
        return [u.key, u.code, resolver.path(u), "false", t.key if t else "", t.code if t else "",
                resolver.path(t) if t else "dissolved", f"{r.share:.6g}", r.basis]
    return [u.key if u else "", u.code if u else "", resolver.path(u) if u else "",
            ("true" if res.split else "false") if u else "",
            " | ".join(r.target.key if r.target else "" for r in succ),
            " | ".join(r.target.code if r.target else "" for r in succ),
            " | ".join(resolver.path(r.target) if r.target else "dissolved" for r in succ),
            " | ".join(f"{r.share:.6g}" for r in succ),
            " | ".join(r.basis for r in succ)]


def cells_of(resolver: AddressResolver, res: Resolved, memo: dict[tuple[int, int], list[str]] | None = None) -> list[str]:
    """The cells ``CELLS`` of the resolver's answer (``memo``: the unit and successor cells of the
    answers made so far, kept by the identity of their unit and successor list)."""
    key = (id(res.unit), id(res.successors))
    found = memo.get(key) if memo is not None else None
    if found is None:
        found = unit_cells(resolver, res)
        if memo is not None:
            memo[key] = found
    return [res.status, *found, " | ".join(resolver.rewrite(res)), res.message]
