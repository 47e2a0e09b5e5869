"""``merger resolve --file`` without the snapshot: the answers to the addresses written the usual way,
kept beside the snapshot cache.

Reading the register's snapshot and indexing its names costs ~0.15 s of CPU, and resolving each
address another ~35 µs; 10,035 addresses then take ~1 s. Most addresses are written one of two
ways: "commune, district, province" (the old style, as the NSO list and most customer files
write them) or "commune, province" (the new style), with a street in front. For those, the
answer depends only on those two or three parts, not on the street, so it is worked out once by
the resolver itself (``merger.addresses.AddressResolver``: there is one resolver, and the table
only remembers what it said) and kept in a table keyed by the parts as written, case aside.

Which answers are kept: ``ok`` and ``split`` only, and only when the resolver read the parts the
way the key says (the commune, district and province parts are exactly the last three; for two
parts, a commune part that cannot be read as a district, so a street in front changes nothing).
The table is learned: each run keeps the answers the resolver gave it, so the next run of those
spellings (with any street) reads no snapshot. Seeding it with every commune as the register
writes it was tried and cost ~1.7 s of CPU on the first run after every write, for a spelling
customer files rarely use. Every other address (other forms, spellings not seen yet, not found,
ambiguous, a district alone, ``--as-of``) goes to the resolver, which reads the snapshot as before.

The answers hold for one register generation and for the days on which the same versions are
valid (the successors are "on today"): the note records the first and the last such day.
It is a JSON line and bytes (``encode``), trusted on the cache's terms (``merger.cache.trusted``:
this user's regular file, writable by no one else, the right format and generation); a stale,
foreign or damaged note is only a miss, and is written anew. Messages are stored as their words, not as text, so the
note answers in every language.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from merger.addresses import _IY, _norm, _to_i, split_parts
from merger.names import fold, strip_marks
from merger.resolve_cells import (  # noqa: F401  (CELLS, unit_cells: this module's interface)
    _ANSWERED,
    _FS,
    _GS,
    _RS,
    _US,
    CELLS,
    Answer,
    _decode_answer,
    _message,
    cells_of,
    unit_cells,
)

if TYPE_CHECKING:
    from pathlib import Path

    from merger.addresses import AddressResolver, Resolved
    from merger.graph import Snapshot
    from merger.register import Register
    from merger.resolve_carry import Carried
    from merger.resolve_names import Names

NOTE_SUFFIX = ".resolve"
MAX_KEYS = 50_000  # ~18 MB of note (every run reads it all: ~0.1 s); past that nothing more is learned


@dataclass
class Table:
    """The answers of one register generation, for the days ``first`` to ``last``: ``keys`` maps
    the casefolded last three (or two) parts, joined by US, to an answer, kept encoded until asked."""

    generation: str
    first: date
    last: date
    keys: dict[str, int] = field(default_factory=dict)
    answers: list[str] = field(default_factory=list)
    _decoded: dict[int, Answer | None] = field(default_factory=dict)
    _plain: dict[int, list[str]] = field(default_factory=dict)  # the cells of an address without a street
    _index: dict[str, int] = field(default_factory=dict)
    learned: int = 0  # keys added since the table was read
    carried: int = 0  # keys kept from the generation before (carry_table)
    undated: bool = False  # some unit version has no dates: the resolver places it on the real today

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last and (not self.undated or self.first <= date.today() <= self.last)

    def lookup(self, parts: list[str]) -> list[str] | None:
        """The cells ``CELLS`` for an address's parts (none holding a separator), or None when the
        resolver must be asked. Addresses without a street and with the same answer get one list."""
        n = len(parts)
        if n < 2:
            return None
        found = self.keys.get(_US.join(parts[-3:]).casefold()) if n >= 3 else None
        k = 3
        if found is None:
            found, k = self.keys.get(_US.join(parts[-2:]).casefold()), 2
            if found is None:
                return None
        if n == k:  # no street: the cells as noted
            row = self._plain.get(found)
            if row is None:
                fields = self.answers[found].split(_US)
                if len(fields) != 13 or fields[0] not in _ANSWERED:
                    return None  # a damaged answer: the resolver decides
                row = self._plain[found] = [*fields[:11], _message(fields[12])]
            return row
        a = self._answer(found)
        return None if a is None else a.row(", ".join(parts[:-k]))

    def _answer(self, i: int) -> Answer | None:
        a = self._decoded.get(i, False)
        if a is False:
            a = self._decoded[i] = _decode_answer(self.answers[i])
        return a  # type: ignore[return-value]

    def _keep(self, parts: list[str], resolver: AddressResolver, res: Resolved, row: list[str] | None,
              plain: bool) -> None:
        key = _US.join(parts).casefold()
        if key in self.keys or key.count(_US) != len(parts) - 1 or _RS in key or _GS in key or _FS in key:
            return
        self._store(key, _encode(resolver, res, row, plain))

    def keep(self, parts: list[str], text: str) -> None:
        """Keep an answer already in the table's form (``_encode``'s) under these parts."""
        key = _US.join(parts).casefold()
        if key in self.keys or key.count(_US) != len(parts) - 1 or _RS in key or _GS in key or _FS in key:
            return
        self._store(key, text)

    def _store(self, key: str, text: str) -> None:
        if text.count(_US) != 12 or _RS in text:
            return  # a name holding a separator: not kept
        found = self._index.get(text)
        if found is None:
            found = self._index[text] = len(self.answers)
            self.answers.append(text)
        self.keys[key] = found
        self.learned += 1

    def learn(self, resolver: AddressResolver, parts: list[str], res: Resolved, row: list[str] | None = None) -> None:
        """Keep the resolver's answer for these parts when it holds for every street (see the
        module's docstring); anything else is not kept. ``row``: its cells (``cells_of``) if made."""
        a = res.address
        if res.status not in _ANSWERED or a is None or res.unit is None or not parts:
            return
        if len(parts) >= 3 and a.district is not None and (a.commune, a.district, a.province) == tuple(parts[-3:]):
            self._keep(parts[-3:], resolver, res, row, len(parts) == 3)
        elif (len(parts) >= 2 and a.district is None and (a.commune, a.province) == tuple(parts[-2:])
              and resolver.typed_commune(parts[-2])):
            self._keep(parts[-2:], resolver, res, row, len(parts) == 2)


def _encode(resolver: AddressResolver, res: Resolved, row: list[str] | None, plain: bool) -> str:
    """The resolver's answer as the table keeps it: status, the nine cells, the new address
    without a street, the tails, the type words (``row``: ``cells_of`` if already made; ``plain``:
    the address had no street, so its new address is the one without a street)."""
    tails = resolver.tails(res)
    if row is None:
        row = cells_of(resolver, res)
    new = row[10] if plain else " | ".join(", ".join(dict.fromkeys(p for p in tail if p)) for tail in tails)
    return _US.join([*row[:10], new, _FS.join(_GS.join(t) for t in tails), _GS.join(res.written) if res.written else ""])


def days_alike(snap: Snapshot, day: date) -> tuple[date, date]:
    """The first and last days around ``day`` on which exactly the same versions are valid (no
    version starts or ends in between), so every answer "on ``day``" is the same on them."""
    versions = snap.versions.values()
    starts = {v.valid_from for v in versions} | {end + timedelta(days=1) for end in {v.valid_to for v in versions}
                                                 if end is not None and end < date.max}
    starts.discard(None)
    first = max((d for d in starts if d <= day), default=date.min)  # type: ignore[operator]
    later = [d for d in starts if d > day]  # type: ignore[operator]
    return first, (min(later) - timedelta(days=1)) if later else date.max


# --- the note beside the snapshot cache ----------------------------------------------------------


def note_path(register: Register) -> Path | None:
    from merger import store

    if store.is_memory(register.url) or register.as_recorded is not None:
        return None
    path = register.cache_path()
    return path.with_name(path.name + NOTE_SUFFIX)


# The note: MAGIC, one line of JSON (the format and the generation first, so ``cache.stale_note`` reads a
# few bytes of it; the days; the counts of keys and answers, the length of the keys), then each key's
# answer number (native ints), the keys and the answers in UTF-8, joined by RS. JSON for all of
# it spelt every separator as an escape: ~16.5 ms to write at the national size, ~5.6 ms now;
# reading costs ~10 ms either way (3 MB of Vietnamese UTF-8 decoded).
MAGIC = b"merger resolve answers\n"
FORMAT = 1


def encode(table: Table) -> bytes:
    keys = _RS.join(table.keys).encode("utf-8", "surrogatepass")
    index = array("i", table.keys.values())  # OverflowError past 2**31: not noted
    header = json.dumps({"format": FORMAT, "generation": table.generation, "byteorder": sys.byteorder,
                         "first": table.first.isoformat(), "last": table.last.isoformat(),
                         "undated": table.undated, "keys": len(index), "key_bytes": len(keys),
                         "answers": len(table.answers)},
                        ensure_ascii=False)
    return b"".join([MAGIC, header.encode("utf-8", "surrogatepass"), b"\n", index.tobytes(), keys,
                     _RS.join(table.answers).encode("utf-8", "surrogatepass")])


def decode(generation: str, data: bytes | None) -> Table | None:
    """The table a note holds, or None when it is not of this generation or not in the expected
    shape (an answer is checked when it is first used)."""
    if data is None or not data.startswith(MAGIC):
        return None
    try:
        end = data.index(b"\n", len(MAGIC))
        head = json.loads(data[len(MAGIC):end])
        if not isinstance(head, dict) or head.get("format") != FORMAT or head.get("generation") != generation \
                or head.get("byteorder") != sys.byteorder:
            return None
        count, size, many = head["keys"], head["key_bytes"], head["answers"]
        if not all(type(x) is int and x >= 0 for x in (count, size, many)):
            return None
        table = Table(generation, date.fromisoformat(head["first"]), date.fromisoformat(head["last"]))
        table.undated = head["undated"] is not False
        at = end + 1
        view = memoryview(data)  # (slices without copies of megabytes)
        index = array("i")
        index.frombytes(view[at: at + 4 * count])
        at += 4 * count
        names = str(view[at: at + size], "utf-8", "surrogatepass")
        answers = str(view[at + size:], "utf-8", "surrogatepass")
    except (KeyError, TypeError, ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError: ValueErrors
        return None
    table.answers = answers.split(_RS) if many else []  # (counted: one empty text is not none)
    keys = names.split(_RS) if count else []
    if len(keys) != count or len(index) != count or len(table.answers) != many:
        return None
    if count and (min(index) < 0 or max(index) >= len(table.answers)):
        return None
    table.keys = dict(zip(keys, index, strict=True))
    return table


def _read_note(path: Path, generation: str) -> Table | None:
    """The table noted at ``path`` for ``generation``: a miss if absent, not trusted (on the cache's
    terms: this user's regular file, writable by no one else), of another generation or damaged."""
    from merger import cache

    if cache.stale_note(path, generation, MAGIC):  # (encode writes the generation first)
        return None
    try:
        return decode(generation, path.read_bytes())
    except OSError:
        return None


def read(register: Register, day: date) -> Table | None:
    """The table noted for the register's generation, if it answers for ``day``."""
    path = note_path(register)
    if path is None:
        return None
    table = _read_note(path, register.generation())
    return table if table is not None and table.covers(day) else None


def carry_table(register: Register, carried: Carried, names: Names, day: date) -> Table:
    """The answers by spelling for the generation ``names`` were carried to (``carried``: from
    ``merger.resolve_carry``): the previous generation's, less every answer whose commune or
    district part may read one of the changed keys (``Carried.keys``: the commune indexes' keys
    of the versions whose rows were made again or added; the province indexes are never changed
    by a carried write), for the days both hold. An answer's lookups read only the keys its parts
    fold to (``AddressResolver._lookup``: the part in full, or the name after a type word or an
    abbreviation: a suffix of the folded part; ``_dropped``), and the rows under the others are
    as they were: what is kept is what the names answer now (tests/test_resolve_carry.py).
    Without a table of that generation answering on ``day`` (one written by a run on another
    day holds for other days): an empty one."""
    table = Table(names.generation, names.first, names.last)
    table.undated = names.undated
    path = note_path(register)
    old = _read_note(path, carried.since) if path is not None and carried.since else None
    if old is None or old.undated or not old.first <= day <= old.last:
        return table
    table.first, table.last = max(table.first, old.first), min(table.last, old.last)
    changed: dict[str, list[str]] = {}
    for key in carried.keys:
        changed.setdefault(key.rpartition(" ")[2], []).append(key)
    # those that may read a changed key are answered by the names, and kept anew
    dropped = _dropped(old.keys, changed) if changed else []
    table.keys, table.answers = old.keys, old.answers  # (decoded for this call: ours to change)
    for key in dropped:
        del table.keys[key]
    used = set(table.keys.values())
    if len(used) < len(table.answers):  # answers no key reads any more: not noted again
        renumber = {i: n for n, i in enumerate(sorted(used))}
        table.answers = [table.answers[i] for i in sorted(used)]
        table.keys = {key: renumber[i] for key, i in table.keys.items()}
    table._index = {text: i for i, text in enumerate(table.answers)}  # noqa: SLF001
    table.carried = table.learned = len(table.keys)  # of this generation now: noted
    return table


def _dropped(keys: Iterable[str], changed: dict[str, list[str]]) -> list[str]:
    """The keys whose lookup of the commune or district part may read one of the changed index
    keys (``changed``: by their last word). Every key a lookup reads is the part's name after a
    type word or an abbreviation, folded (``_norm(fold(...))``): the part folded, or what follows
    a space in it (fold turns punctuation into spaces), with y and i spelt as ``_norm`` spells
    them (word by word) and a number alone unpadded; so its last word is the last word of the
    part folded, which is in the part's last token (folding makes no whitespace). One loop, each
    last token's last word found once (a call per key or per part cost 3-20 ms more at the
    national size; tests/test_resolve_carry.py keeps the call per key as the reference)."""
    lasts: dict[str, str] = {}
    out = []
    for key in keys:
        parts = key.split(_US)
        parts.pop()  # the province: its indexes are not changed by a carried write
        for part in parts:
            tokens = part.rsplit(None, 1)
            token = tokens[-1] if tokens else ""
            last = lasts.get(token)
            if last is None:
                last = _last_word(token)
                if last:
                    lasts[token] = last
                else:  # a token of punctuation alone: the part's own last word
                    last = _last_word(part)
            if last in changed and _reads(part, changed[last]):  # (rare: a changed key ends with it)
                out.append(key)
                break
    return out


def _reads(part: str, keys: list[str]) -> bool:
    """Whether a lookup of ``part`` may read one of ``keys`` (changed keys ending with its last word)."""
    whole = fold(part)
    if "y" in whole:
        whole = _IY.sub(_to_i, whole)
    return any(whole == k or whole.endswith(" " + k) or k.isdigit() for k in keys)


def _last_word(text: str) -> str:
    """The last word of ``fold(text)``, as ``_norm`` spells it ("" if none)."""
    found = _LAST_WORD.search(strip_marks(text).casefold())
    return _norm(found.group(1)) if found else ""


_LAST_WORD = re.compile(r"(\w+)\W*$")  # fold's last word (punctuation is a space to it)


def write(register: Register, table: Table) -> None:
    """Note the table (a read-only location only costs speed next time)."""
    from merger import cache

    path = note_path(register)
    if path is not None:
        with contextlib.suppress(OSError, OverflowError):
            cache.write_atomic(path, encode(table))


@dataclass
class Batch:
    """Resolved addresses: the cells ``CELLS`` of each, and the resolver's answer for those it was
    asked, or for an address the noted names found ambiguous its text, status and message only
    (the others are all ``ok`` or ``split``)."""

    cells: list[list[str]]
    resolved: dict[int, Resolved]
    names: str = ""  # where the names came from, if asked: "noted", "carried", "built", "carry: <why not>"
    kept: int = 0  # answers by spelling kept from the generation before (carried names: carry_table)


def resolve_batch(register: Register, texts: list[str], *, today: date | None = None, as_of: date | None = None,
                  progress: Callable[[int], None] | None = None) -> Batch:
    """Resolve ``texts`` on ``today`` (default: today; only units valid on ``as_of`` if given):
    from the noted table where it answers, else from the names noted for the register's
    generation (merger.resolve_names: noted by the first run that asks the resolver more than
    ``NAMES_AFTER`` addresses; on the first run after a write, carried from the generation
    before, merger.resolve_carry), else with the resolver (reading the snapshot), whose answers
    the note then keeps. ``progress`` is called with the number of addresses done, a chunk at a time."""
    from merger.graph import no_gc

    with no_gc():  # tens of thousands of lists and no cycles: no collector passes over them (~6% here)
        return _resolve_batch(register, texts, today=today, as_of=as_of, progress=progress)


def _resolve_batch(register: Register, texts: list[str], *, today: date | None, as_of: date | None,
                   progress: Callable[[int], None] | None) -> Batch:
    from merger.addresses import AddressResolver

    today = today or date.today()
    table = read(register, today) if as_of is None else None
    names = None
    how = ""
    if table is None and as_of is None and len(texts) > NAMES_AFTER:
        # the first run after a write: the names carried across it, and the answers by spelling
        # that the write cannot have changed (else every address would be read by the names)
        names, how, table = _first_after_write(register, today)
    cells: list[list[str] | None] = [None] * len(texts)
    asked: list[tuple[int, list[str]]] = []
    for start in range(0, len(texts), 5000):
        before = len(asked)
        for i in range(start, min(start + 5000, len(texts))):
            text = texts[i] or ""
            parts = split_parts(text)
            hit = table.lookup(parts) if table is not None and _US not in text else None  # (see _US)
            if hit is None:
                asked.append((i, parts))
            else:
                cells[i] = hit
        if progress is not None:
            progress(min(start + 5000, len(texts)) - start - (len(asked) - before))
    resolved: dict[int, Resolved] = {}
    if asked and as_of is None and names is not None:  # read or carried above (carried: answers kept by spelling too)
        asked, damaged = _from_names(names, texts, asked, cells, resolved, today, progress, table)
        if damaged:
            names = None
    elif asked and as_of is None and not how:  # spellings not noted: the names noted for this generation, if any
        from merger import resolve_names

        names = resolve_names.read(register, today)
        if names is not None:  # (their answers are not noted by spelling: ~50 ms more for a first run)
            how = "noted"
            asked, damaged = _from_names(names, texts, asked, cells, resolved, today, progress, None)
            if damaged:
                names = None  # noted anew below
    if asked:
        resolver = AddressResolver(register.snapshot, today=today)
        snap = resolver.snap
        if as_of is None and names is None and len(asked) > NAMES_AFTER:
            names = _note_names(register, resolver)
            if names is not None:
                how = "built" if not how else f"built ({how})"  # this run pays ~1 s anyway: its answers are noted by spelling too
                if table is None or table.generation != names.generation:
                    table = Table(names.generation, names.first, names.last)
                    table.undated = names.undated
                asked, _damaged = _from_names(names, texts, asked, cells, resolved, today, progress, table)
        fresh = as_of is None and note_path(register) is not None and (table is None or table.generation != snap.generation)
        if fresh:  # none yet, or the register changed meanwhile
            table = Table(snap.generation, *days_alike(snap, resolver.today))
            table.undated = any(v.valid_from is None and v.valid_to is None and v.kind == "admin"
                                for v in snap.versions.values())
            if table.undated and not table.first <= date.today() <= table.last:
                table = None  # answers on --to that would not hold on the real today: not noted
        memo: dict[tuple[int, int], list[str]] = {}
        for start in range(0, len(asked), 5000):
            chunk = asked[start: start + 5000]
            results = resolver.resolve_many([texts[i] for i, _parts in chunk], as_of=as_of,
                                            parts=[parts for _i, parts in chunk])
            for (i, parts), res in zip(chunk, results, strict=True):
                resolved[i] = res
                cells[i] = row = cells_of(resolver, res, memo)
                if table is not None and as_of is None and len(table.keys) < MAX_KEYS:
                    table.learn(resolver, parts, res, row)
            if progress is not None:
                progress(len(chunk))
    if table is not None and as_of is None and table.learned:
        write(register, table)
    return Batch(cells, resolved, how, table.carried if table is not None else 0)  # type: ignore[arg-type]


# A run asking the resolver more addresses than this notes the names of the generation (the
# resolver has the snapshot then); fewer are answered by the resolver alone, cheaper than a note.
NAMES_AFTER = 200


def _first_after_write(register: Register, today: date) -> tuple[Names | None, str, Table | None]:
    """For a run of many addresses with no answers noted for this generation: the names noted for
    it, if any (its answers are not kept by spelling); else the names of the generation before
    carried across the writes since (``merger.resolve_carry``) and that generation's answers by
    spelling the writes cannot have changed (``carry_table``); else why not."""
    from merger import resolve_carry, resolve_names

    names = resolve_names.read(register, today)
    if names is not None:
        return names, "noted", None  # (their answers are not noted by spelling: ~50 ms more for a first run)
    carried = resolve_carry.carry(register, today)
    if carried.names is None:
        return None, f"carry: {carried.why}", None
    return carried.names, "carried", carry_table(register, carried, carried.names, today)


def _note_names(register: Register, resolver: AddressResolver) -> Names | None:
    """Note the resolver's names for its generation and days alike (see merger.resolve_names);
    the names, or None where the answers would not hold on the real today or nothing is noted."""
    from merger import resolve_names

    snap = resolver.snap
    if note_path(register) is None:
        return None
    first, last = days_alike(snap, resolver.today)
    undated = any(v.valid_from is None and v.valid_to is None and v.kind == "admin" for v in snap.versions.values())
    if undated and not first <= date.today() <= last:
        return None
    try:
        note = resolve_names.build(resolver, first, last, undated)
    except OverflowError:  # a number past the note's 32 bits: the resolver answers
        return None
    from merger.resolve_carry import since_of

    note[0]["since"] = since_of(register, snap.generation)  # what the next generation's note carries from
    resolve_names.write(register, snap.generation, note)
    return resolve_names.decode(snap.generation, *note)


def _from_names(names: Names, texts: list[str], asked: list[tuple[int, list[str]]], cells: list[list[str] | None],
                resolved: dict[int, Resolved], today: date,
                progress: Callable[[int], None] | None,
                table: Table | None) -> tuple[list[tuple[int, list[str]]], bool]:
    """Answer what the names can (merger.resolve_names), keeping their answers in ``table`` if
    given: the addresses left for the resolver, and whether the note proved damaged (its parts
    are decoded when first asked; then the resolver answers the rest)."""
    left: list[tuple[int, list[str]]] = []
    damaged = False
    for k, (i, parts) in enumerate(asked):
        try:
            found = names.cells(parts, texts[i] or "", today)
        except (ValueError, TypeError, IndexError, KeyError, OverflowError):  # a damaged note is only a miss
            left.extend(asked[k:])
            damaged = True
            break
        if found is None:
            left.append((i, parts))
            continue
        cells[i], res, noted = found
        if res is not None:
            resolved[i] = res
        elif noted is not None and table is not None and len(table.keys) < MAX_KEYS:
            table.keep(parts[-noted[0]:], names.noted(noted[1], noted[2]))
    if progress is not None:
        progress(len(asked) - len(left))
    return left, damaged
