"""The names note of ``merger resolve --file`` carried across a write (issue 12, sixth/seventh round).

The names note (``merger.resolve_names``) holds for one register generation. Every write (a
recorded event) bumps the generation, so the first ``resolve --file`` after it had no note and
fell to the resolver: the whole snapshot read, every name indexed, every commune's answer made
again (~1 s of a 1.3 s run), for a write that changes a handful of answers.

Here the previous generation's note is brought up to date instead. The note records what the
register held when it was made (``since``: each table's highest id, the number of statistics,
the last event's row); the rows written since are read by id (``cache._changed``, as the snapshot
cache is refreshed), and the versions they touch, with every version that leads to them through
links (whose answers go through them) and every version they lead to, are read with their
neighbourhood (``cache.read_around``: all their links, their parents to the province, the
statistics of their successors). Their rows and answers are made again by the same code that
builds a note (``resolve_names.version_row``), on a resolver over that neighbourhood, and the
new versions' names are added to the indexes in the resolver's order; everything else is the
note as it was, its bytes kept (``_Note``): a carried note holds, row for row, what the note a
full build makes holds (tests/test_resolve_carry.py), its answers' texts numbered otherwise.

Anything this cannot prove equal goes to the full build, as before: a note that is absent, of
an older format, damaged, foreign, of another register or build, or whose last event is not the
register's any more (a file put back from a copy); statistics added; corrections or derived
shares; a district, province or non-administrative version touched; a commune version starting
after the day asked, or a day outside the old note's days; a changed start date; a unit with no
dates; more touched versions than ``MAX_TOUCHED``. ``carry`` says which (``Carried.why``).
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from merger import cache
from merger.resolve_names import _COLUMNS, _NONE, _RS, _UNDATED_TO, FORMAT, LEVELS, MAGIC, _unints, header_of

if TYPE_CHECKING:
    from merger.graph import Snapshot
    from merger.register import Register
    from merger.resolve_names import Names

MAX_TOUCHED = 500  # versions touched by the writes since: past that, the full build is as cheap
_TABLES = tuple(t for t in cache.COLUMNS if t != "statistic")  # those with an increasing id


class Carried(NamedTuple):
    """The names carried to the register's generation (None: not carried) and why not ("": carried);
    when carried, the generation they were carried from and the keys of the resolver's commune
    indexes (full names and names) under which a version whose row was made again or added is
    found: only answers reached through those keys may differ from the generation before
    (``resolve_index.carry_table`` keeps the others of that generation's answers by spelling)."""

    names: Names | None
    why: str
    since: str = ""
    keys: frozenset[str] = frozenset()


def since(query: cache.Query) -> dict[str, Any]:
    """What the register holds as ``query`` reads it, as a note records it: each table's highest id,
    the number of statistics, and the last event's row (as the cache holds rows)."""
    last = {t: int(query(f"SELECT MAX(id) FROM {t}")[0][0] or 0) for t in _TABLES}
    (count,) = query("SELECT COUNT(*) FROM statistic")[0]
    event = cache.rows_where(query, "event", f"id = {last['event']}").get(last["event"]) if last["event"] else None
    return {"last": last, "statistics": int(count), "event": event}


def since_of(register: Register, generation: str) -> dict[str, Any] | None:
    """``since`` for the register at ``generation`` (None if it has been written meanwhile)."""
    with register.reading() as query:
        if register._generation_in(query) != generation:  # noqa: SLF001
            return None
        return since(query)


def carry(register: Register, day: date) -> Carried:
    """The names of the register's generation for ``day``, made from the note of an earlier one
    and the rows written since, and noted; or why not (then the full build runs)."""
    from merger import resolve_names
    from merger.register import _follows

    path = resolve_names.note_path(register)
    if path is None:
        return Carried(None, "no note path")
    found = cache.read_any_note(path, MAGIC)
    if found is None:
        return Carried(None, "no note")
    header, body = found
    if header.get("format") != FORMAT or header.get("byteorder") != sys.byteorder:
        return Carried(None, "format")
    old_generation, mark = header.get("generation"), header.get("since")
    if not isinstance(old_generation, str) or not isinstance(mark, dict):
        return Carried(None, "no since")
    try:
        parts, first, last, undated = _parts(*resolve_names.unpack(header, body))
    except (KeyError, TypeError, ValueError, IndexError, UnicodeDecodeError):
        return Carried(None, "damaged")
    if undated:
        return Carried(None, "undated")
    if not first <= day <= last:
        return Carried(None, "other days")
    with register.reading() as query:
        now = register._generation_in(query)  # noqa: SLF001
        if now == old_generation:
            return Carried(None, "current")  # the note of this generation was refused: not ours to mend
        if not _follows(old_generation, now):
            return Carried(None, "generation")
        try:
            top, stats, event = dict(mark["last"]), int(mark["statistics"]), mark["event"]
            if set(top) != set(_TABLES) or not all(type(x) is int for x in top.values()):
                return Carried(None, "damaged")
        except (KeyError, TypeError, ValueError):
            return Carried(None, "damaged")
        if top["event"] and cache.rows_where(query, "event", f"id = {top['event']}").get(top["event"]) != event:
            return Carried(None, "history")  # a register put back from a copy
        new, statistics = cache._changed(top, stats, query)  # noqa: SLF001
        if statistics is not None:
            return Carried(None, "statistics")
        if new["correction"] or new["derived_share"]:
            return Carried(None, "corrections")
        touched = set(new["version"])  # the versions written and those the new events' links name
        touched.update(x for row in new["link"].values() for x in row[2:4] if x is not None)
        if len(touched) > MAX_TOUCHED:
            return Carried(None, "many")
        mark_now = {"last": {t: max(top[t], max(new[t], default=0)) for t in _TABLES}, "statistics": stats,
                    "event": new["event"][max(new["event"])] if new["event"] else event}
        snap = None
        if touched:
            ids = cache._ids(touched)  # noqa: SLF001
            closure = (f"WITH RECURSIVE bwd(id) AS (SELECT id FROM version WHERE id IN ({ids}) UNION "
                       "SELECT l.predecessor_id FROM link l JOIN bwd ON l.successor_id = bwd.id "
                       "WHERE l.predecessor_id IS NOT NULL) SELECT id FROM bwd")
            tables = cache.read_around(query, closure)
    if touched:
        from merger.graph import from_tables

        snap = from_tables(now, tables)
    keys: set[str] = set()
    try:
        why = _patch(parts, snap, touched, day, keys)
    except (KeyError, TypeError, ValueError, IndexError):
        return Carried(None, "damaged")
    if isinstance(why, str):
        return Carried(None, why)
    first, last = max(first, why[0]), min(last, why[1])
    try:
        header, text, cols, ends = parts.encoded(first, last, False)
    except (KeyError, TypeError, ValueError, IndexError):  # an index kept as it was proved damaged
        return Carried(None, "damaged")
    header["since"] = mark_now
    resolve_names.write(register, now, (header, text))
    return Carried(resolve_names.names_of(now, (header, text), cols, ends), "", old_generation, frozenset(keys))


def _added(value: object, new: list[tuple[str, list[int]]], n: int) -> tuple[list[str], dict[str, int]]:
    """An encoded index (``resolve_names._encode_index``) with rows added under some keys (after
    the rows already there; a new key after the others), and each key's position; patched as
    encoded (decoding a national index to lists and back cost ~10 ms)."""
    from merger.resolve_names import _decode_index, _ints

    index = _decode_index(value, n)
    keys, starts, rows = index.keys, index.starts, index.rows
    fresh: list[str] = []
    for key, more in new:
        i = keys.get(key)
        if i is None:
            keys[key] = len(keys)
            fresh.append(key)
            rows.extend(more)
            starts.append(len(rows))
        else:
            at = starts[i + 1]
            rows[at:at] = array("i", more)
            for j in range(i + 1, len(starts)):
                starts[j] += len(more)
    text = value[0] if isinstance(value, list) else ""
    if fresh:
        text = _RS.join([text, *fresh] if text else fresh)
    return [text, _ints(starts), _ints(rows)], keys


@dataclass
class _Note:
    """A note being carried, kept as it was read where the write changes nothing: the columns as
    arrays (set and appended to in place), each old row's answer number with the answers' text
    and ends as noted, the labels, the indexes as encoded; ``texts``: the answer of every row made
    again or added (None: not noted).

    ``encoded`` numbers a text made again after the noted ones (unless it is the row's own text
    as noted) instead of numbering every answer again in row order as ``build`` does: ~6 ms
    instead of ~20 at the national size. A carried note is therefore not the full build's byte
    for byte: every row's columns, answer text and label, and every index, are the same
    (tests/test_resolve_carry.py); a text no row reads any more stays until the next build."""

    types: list[str]
    cols: dict[str, array[int]]
    fkey: array[int]
    answer: array[int]
    body: bytes | memoryview  # (a view of the note as read: no copy)
    ends: array[int]
    labels: list[bytes]
    indexes: list[Any]
    later: list[Any]
    texts: dict[int, bytes | None] = field(default_factory=dict)

    def encoded(self, first: date, last: date, undated: bool) -> tuple[dict[str, object], bytes,
                                                                       dict[str, array[int]], array[int]]:
        """The header and text of the note, and its columns and answers' ends as arrays (as
        ``resolve_names.Parts.encoded`` gives them)."""
        n = len(self.cols["id"])
        old, body, ends = self.answer, self.body, array("i", self.ends)
        answer = array("i", old)
        answer.extend([_NONE] * (n - len(old)))
        added: dict[bytes, int] = {}
        for row, text in sorted(self.texts.items()):
            was = old[row] if row < len(old) else _NONE
            if text is None:
                answer[row] = _NONE
            elif was == _NONE or body[(ends[was - 1] if was else 0): ends[was]] != text:  # (else: as noted)
                number = added.get(text)
                if number is None:
                    number = added[text] = len(ends)
                    ends.append((ends[-1] if ends else 0) + len(text))  # (OverflowError past 2**31, as Parts.encoded)
                answer[row] = number
        fkey = self.fkey
        if fkey.count(_NONE):  # not under a full name (one holding a separator): the resolver answers
            for row, key in enumerate(fkey):
                if key == _NONE:
                    answer[row] = _NONE
        cols = {**self.cols, "answer": answer, "fkey": fkey}
        header = header_of(first, last, undated, self.types, cols, self.indexes, self.later, ends)
        return header, b"".join([body, *added, _RS.encode("utf-8").join(self.labels)]), cols, ends


def _parts(header: dict[str, Any], body: bytes | memoryview) -> tuple[_Note, date, date, bool]:
    """A note's parts as carrying keeps them (ValueError and the like: damaged)."""
    cols = {c: _unints(header["columns"][c]) for c in _COLUMNS}  # arrays: appended to and set in place
    n = len(cols["id"])
    if any(len(col) != n for col in cols.values()):
        raise ValueError("columns of several lengths")
    types = header["types"]
    if not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
        raise TypeError("types")
    ends = _unints(header["ends"])
    if ends and (min(ends) < 0 or max(ends) > len(body) or ends != array("i", sorted(ends))):
        raise ValueError("ends")
    answer, fkey = cols.pop("answer"), cols.pop("fkey")
    if answer and (min(answer) < _NONE or max(answer) >= len(ends)):
        raise IndexError("an answer not noted")
    if fkey.count(_NONE) and any(level == 0 and key == _NONE for level, key in zip(cols["level"], fkey, strict=True)):
        raise ValueError("a commune under no full name: its answer is not noted")
    split = ends[-1] if ends else 0
    labels = bytes(body[split:]).split(_RS.encode("utf-8"))  # (UTF-8: a character's bytes are its own)
    if len(labels) != n:
        raise ValueError("labels")
    indexes = header["indexes"]  # decoded (and checked) where needed, else kept as they are
    if not isinstance(indexes, list) or len(indexes) != 6:
        raise ValueError("indexes")
    later = header["later"]
    if not isinstance(later, list):
        raise TypeError("later")
    first, last = date.fromisoformat(header["first"]), date.fromisoformat(header["last"])
    note = _Note(types, cols, fkey, answer, body[:split], ends, labels, indexes, later)
    return note, first, last, header["undated"] is not False


def _patch(parts: _Note, snap: Snapshot | None, touched: set[int], day: date,
           keys: set[str]) -> tuple[date, date] | str:
    """Bring ``parts`` to the neighbourhood ``snap`` of the versions ``touched`` (in place): the
    rows of every version whose answer may change made again, the new versions added; the days
    around ``day`` on which the new rows keep every answer the same (to narrow the note's days),
    or why the note cannot be carried. ``keys`` gets the keys of the commune indexes under which
    those versions are found (a version's keys are made from its own names, as the full
    resolver makes them)."""
    if snap is None:
        return date.min, date.max
    from merger.addresses import AddressResolver
    from merger.resolve_names import version_row

    admin = {i: v for i, v in snap.versions.items() if v.kind == "admin"}
    if any(i not in admin or admin[i].level != "commune" for i in touched):
        return "not a commune"  # a district, a province, another kind: the full build
    if any(v.level == "commune" and v.valid_from is not None and v.valid_from > day for v in admin.values()):
        return "later"  # a commune that starts after the day asked: answered backwards
    # every version leading to a touched one (its answer goes through it) and every one it leads to
    affected = set(touched)
    for links, end in ((snap.in_links, "pred"), (snap.out_links, "succ")):
        stack = list(touched)
        seen = set(touched)
        while stack:
            for link in links.get(stack.pop(), ()):
                other = getattr(link, end)
                if other is not None and other.id not in seen:
                    seen.add(other.id)
                    stack.append(other.id)
        affected |= seen
    if any(i not in admin or admin[i].level != "commune" for i in affected):
        return "not a commune"
    cols = parts.cols
    row_of = {v: i for i, v in enumerate(cols["id"])}
    top = max(cols["id"], default=0)
    resolver = AddressResolver(snap, today=day)
    for source in (resolver._full, resolver._by_level):  # noqa: SLF001
        keys.update(key for key, versions in source["commune"].items() if any(v.id in affected for v in versions))
    starts: set[date] = set()
    added: dict[int, int] = {}
    for i in sorted(affected):
        v = admin[i]
        level, fields, text, label = version_row(resolver, v)
        row = row_of.get(i)
        if row is None:
            if i <= top:
                return "unexpected"  # a version the note did not have, not written since
            row = row_of[i] = added[i] = len(cols["id"])
            if v.type not in parts.types:
                parts.types.append(v.type)
            for name, value in (("level", level), ("type", parts.types.index(v.type)), ("id", i)):
                cols[name].append(value)
            for name, value in zip(("unit", "parent", "cdist", "cprov", "vf", "vt"), fields, strict=True):
                cols[name].append(value)
            parts.fkey.append(_NONE)  # (set below, from the full index of its level)
            parts.texts[row] = None if text is None else text.encode("utf-8", "surrogatepass")
            parts.labels.append(label.encode("utf-8", "surrogatepass"))
            starts.add(date.fromordinal(fields[4]) if fields[4] > 1 else date.min)
            if fields[5] != _UNDATED_TO:
                starts.add(date.fromordinal(fields[5]) + timedelta(days=1))
            continue
        unit, parent, _district, _province, vf, vt = fields
        if (cols["level"][row], parts.types[cols["type"][row]], cols["unit"][row], cols["parent"][row],
                cols["vf"][row]) != (level, v.type, unit, parent, vf):
            return "changed"
        if cols["vt"][row] != vt:
            if cols["vt"][row] != _UNDATED_TO:
                return "changed"  # an end moved: the days it bounded are not known here
            starts.add(date.fromordinal(vt) + timedelta(days=1))
        for name, value in zip(("cdist", "cprov", "vt"), fields[2:4] + fields[5:], strict=True):
            cols[name][row] = value
        parts.texts[row] = None if text is None else text.encode("utf-8", "surrogatepass")
        parts.labels[row] = label.encode("utf-8", "surrogatepass")
    if added:  # the new versions' names, in the resolver's order (after every older version's)
        n = len(cols["id"])
        for k, source in enumerate((resolver._full, resolver._by_level)):  # noqa: SLF001
            for level_i, level_name in enumerate(LEVELS):
                new = [(key, rows) for key, versions in source[level_name].items() if _RS not in key
                       and (rows := [added[v.id] for v in versions if v.id in added])]
                if new:
                    at = 3 * k + level_i
                    parts.indexes[at], positions = _added(parts.indexes[at], new, n)
                    if k == 0:  # a row's place in the full index of its level
                        for key, rows in new:
                            for row in rows:
                                parts.fkey[row] = positions[key]
    first = max((d for d in starts if d <= day), default=date.min)
    later = [d for d in starts if d > day]
    return first, (min(later) - timedelta(days=1)) if later else date.max
