"""The register's tables as plain rows: read with any driver, derived into a snapshot, cached as data.

Why data and not pickle: the cache sits next to the register (or in the user's cache folder),
and unpickling a file runs whatever code it names: anyone able to plant ``<register>.snapshot``
would run code in every reader, even under ``--read-only``. The cache holds only numbers and
texts (a JSON header, stdlib ``array`` bytes, UTF-8 text; never pickle or marshal); a cache
file that is not the user's own, is group- or world-writable, or does not parse is ignored (a
miss: the store has the truth).

Why rows and not the finished snapshot: a write changes a few rows, so the cache is brought up
to date by reading only the rows added since (``id`` above the cached maximum) and the rows a
write changes in place (the versions and units of new events and of newly corrected events),
instead of re-reading the register. The bitemporal view (``--as-recorded``) is derived from the
same rows, so it needs no second read either.

On disk the rows are stored by column (format 5, see ``MAGIC``): each table is its columns in
``COLUMNS`` order, sorted by id; a column of few distinct values (types, levels, dates, sources)
is written once per value plus an index. Reading it is a few C-level calls per column (no parse
per value: JSON rows took longer to parse than everything else a snapshot needs), and deriving
the snapshot is a few list comprehensions per column (``derive_columns``), not a Python loop
building a tuple per row (issue 12: ``check`` spent most of its time there).

Every query is plain SQL run through a ``Query`` function, so the stdlib ``sqlite3`` module,
``psycopg`` and a SQLAlchemy connection (the writer's, inside its transaction) all serve.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import compress, repeat
from operator import contains, is_, is_not
from pathlib import Path
from typing import Any, NamedTuple

FORMAT = 5  # 1-2 were pickles (never read again), 3 JSON rows, 4 JSON columns, 5 binary columns

Query = Callable[[str], list]
Tables = dict[str, dict[int, list]]  # table -> {id: row}, rows as COLUMNS lists them
Columns = dict[str, list[list]]  # table -> its columns in COLUMNS order, rows sorted by id

# Columns read from each table; the first is the row's identity (increasing for new rows).
COLUMNS: dict[str, str] = {
    "legal_act": "id, number, kind, issuer, title, date_signed, effective_date, source",
    "unit": "id, key, kind",
    "version": ("id, key, unit_id, code, name, full_name, type, level, parent_unit_id, valid_from, "
                "valid_to, evidence, source, recorded_at, folded"),
    "event": ("id, key, type, effective, act_id, clause, note, source, evidence, recorded_at, "
              "recorded_by, origin"),
    "link": "id, event_id, predecessor_id, successor_id, portion, relation, share, share_basis, note",
    "statistic": "version_id, area_km2, population, seat, lon, lat, source",
    "correction": "id, event_id, recorded_at",
    "derived_share": "id, link_id, share, basis, recorded_at",
}


def _naive_utc(value: datetime) -> datetime:
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _plain(value: Any) -> Any:
    """A value as JSON holds it: dates ISO, times naive UTC ISO (SQLite already gives strings)."""
    if isinstance(value, datetime):
        return _naive_utc(value).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


# The date and time columns of each table (by position in COLUMNS): SQLite gives them as text
# already; other drivers give date objects, made text here.
TIMES = {"legal_act": (5, 6), "version": (9, 10, 13), "event": (3, 9), "correction": (2,), "derived_share": (4,)}


def _rows(query: Query, table: str, where: str = "") -> dict[int, list]:
    found: dict[int, list] = {}
    times = TIMES.get(table, ())
    for r in query(f"SELECT {COLUMNS[table]} FROM {table}{where}"):
        row = list(r)
        for i in times:
            if row[i] is not None and not isinstance(row[i], str):
                row[i] = _plain(row[i])
        found[row[0]] = row
    return found


def rows_where(query: Query, table: str, where: str) -> dict[int, list]:
    """The rows of ``table`` matching ``where`` by id, as the cache holds them."""
    return _rows(query, table, f" WHERE {where}")


def read_all(query: Query) -> Tables:
    """Every table, whole."""
    tables = {name: _rows(query, name) for name in COLUMNS}
    _fold_names(tables["version"].values())
    return tables


def _fold_names(rows: Any) -> None:
    """Each version row carries its folded name last (stored since schema 4; folded here if not).
    merger.names is imported only then: a reader bringing the cache up to date after a write
    (``merger check``) does not otherwise need it."""
    unfolded = [row for row in rows if row[14] is None]
    if unfolded:
        from merger.names import fold

        for row in unfolded:
            row[14] = fold(row[4])


def _ids(values: Any) -> str:
    """An SQL list of ids for ``IN (...)``; NULL for none (PostgreSQL refuses an empty ``IN ()``,
    and ``IN (NULL)`` matches nothing: never use it after NOT IN)."""
    return ",".join(str(int(x)) for x in sorted(set(values))) or "NULL"


def _changed(last: dict[str, int], statistics: int, query: Query) -> tuple[Tables, dict[int, list] | None]:
    """The rows written since a cached state (``last``: each table's highest id then;
    ``statistics``: how many statistic rows it held): rows added since, and rows changed in place.

    In-place changes a write makes are to the versions (end date, key) and units (key) that the
    links of a new event, or of an event newly revoked or amended, name; those are read again.
    Statistics are read again whole if their number changed (they are only ever added): the
    second value, else None.
    """
    new = {name: _rows(query, name, f" WHERE {COLUMNS[name].split(',')[0]} > {int(top)}")
           for name, top in last.items() if name != "statistic"}
    events = set(new["event"]) | {r[1] for r in new["correction"].values()}
    if events:
        ids = _ids(events)
        named = (f"SELECT predecessor_id FROM link WHERE event_id IN ({ids}) AND predecessor_id IS NOT NULL "
                 f"UNION SELECT successor_id FROM link WHERE event_id IN ({ids}) AND successor_id IS NOT NULL")
        new["version"].update(_rows(query, "version", f" WHERE id IN ({named})"))
        new["unit"].update(_rows(query, "unit", f" WHERE id IN (SELECT unit_id FROM version WHERE id IN ({named}))"))
    _fold_names(new["version"].values())
    (count,) = query("SELECT COUNT(*) FROM statistic")[0]
    return new, (_rows(query, "statistic") if count != statistics else None)


def refresh_columns(columns: Columns, query: Query, *, in_place: bool = False) -> tuple[Columns, int]:
    """The cached columns brought up to date with the rows written since (``_changed``), without
    transposing them to rows and back (the first whole-register read after a write paid more for
    those than for anything else), and how many rows changed.

    A row whose id is above the cached ones is appended (ids only grow, so the columns stay
    sorted); a row re-read is replaced where its id is (found by bisection), or inserted in order.
    ``in_place``: change the given columns instead of copies (a reader that has just read them
    from the cache file: copying every column of the tables written to cost ~3 ms).
    """
    new, stats = _changed({name: max(cols[0], default=0) for name, cols in columns.items()},
                          len(columns["statistic"][0]), query)
    out = dict(columns)
    changed = 0
    for name, rows in new.items():
        if not rows:
            continue
        cols = out[name] = columns[name] if in_place else [list(c) for c in columns[name]]
        ids = cols[0]
        for i in sorted(rows):
            row = rows[i]
            at = bisect_left(ids, i)
            if at < len(ids) and ids[at] == i:
                for col, value in zip(cols, row, strict=True):
                    col[at] = value
            else:  # at the end (appended) or, for a row the cache never had, in order
                for col, value in zip(cols, row, strict=True):
                    col.insert(at, value)
        changed += len(rows)
    if stats is not None:
        out["statistic"] = columns_of({"statistic": stats})["statistic"]
        changed += len(stats)
    return out, changed


# The walks below are one indexed query a step (``IN (...)`` over an indexed column, level by
# level until no new id), not a recursive CTE: in a CTE's recursive join SQLite (3.38 on, once
# ANALYZE has written statistics) builds a Bloom filter over the whole version or link index at
# every step (200 ms at 10x the national register for 4 rows, growing with the register), and
# PostgreSQL plans the recursion blind (~80-105 ms a neighbourhood or territory in-process, where
# these steps take well under a millisecond each). tests/test_cache.py keeps the CTEs as the
# reference and compares.


# Ids asked for in one statement of a walk. With the register's statistics SQLite reckons ~23
# versions under each parent, so for a longer list (~450 ids and up, most of them communes with
# nothing under them) it scans the table instead of seeking the index: 2-5 ms against 0.1 ms.
WALK_STEP = 400


def walk(query: Query, start: set[int], src: str, dst: str, table: str = "link") -> set[int]:
    """``start`` and every id reached from it, step by step: the ``dst`` of the rows of ``table``
    whose ``src`` is one reached, as far as they go. Through links forward: ``predecessor_id`` to
    ``successor_id`` (backward the other way); down the units: ``version``, ``parent_unit_id`` to
    ``unit_id`` (every unit ever under them)."""
    seen, frontier = set(start), set(start)
    while frontier:
        found: set[int] = set()
        ordered = sorted(frontier)
        for i in range(0, len(ordered), WALK_STEP):
            found.update(r[0] for r in query(f"SELECT {dst} FROM {table} WHERE {src} IN ({_ids(ordered[i:i + WALK_STEP])}) "
                                             f"AND {dst} IS NOT NULL"))
        frontier = found - seen
        seen |= frontier
    return seen


def above(query: Query, vids: set[int]) -> set[int]:
    """Every version of every unit above these versions (their parents, recursively)."""
    if not vids:
        return set()
    units: set[int] = set()
    frontier = {r[0] for r in query(f"SELECT parent_unit_id FROM version WHERE id IN ({_ids(vids)})")
                if r[0] is not None}
    while frontier:
        units |= frontier
        frontier = {r[0] for r in query(f"SELECT parent_unit_id FROM version WHERE unit_id IN "
                                        f"({_ids(frontier)}) AND parent_unit_id IS NOT NULL")} - units
    return {r[0] for r in query(f"SELECT id FROM version WHERE unit_id IN ({_ids(units)})")} if units else set()


def linked(query: Query, start: set[int]) -> set[int]:
    """``start`` and the versions reached from it through links, forward and backward (each
    direction followed on its own, as the lineage walks do)."""
    return walk(query, start, "predecessor_id", "successor_id") | walk(query, start, "successor_id", "predecessor_id")


def read_around(query: Query, seeds: str) -> Tables:
    """The rows a question about the versions ``seeds`` (a SQL query of version ids) needs, not the
    register's: every version reached from them forward or backward through links, all versions
    of their units, the versions at the other end of their links, the parents of all of these up
    to the province, and the links, events, corrections and statistics of those versions.

    Derived (merger.cache.derive) and assembled, it answers resolve, lineage and show exactly as
    the whole register does (tests/test_cache.py compares them), for a few indexed queries.
    """
    def ids(sql: str) -> set[int]:
        return {r[0] for r in query(sql) if r[0] is not None}

    # From every version of the seeds' units: a lineage may start at another version of the unit
    # (with the 2003-2025 history, a unit's earlier versions have their own predecessors).
    # The seeds are read once, not in each direction of the walk (a name's seeds are a scan of version).
    found = ids(seeds)
    start = ids(f"SELECT id FROM version WHERE unit_id IN (SELECT unit_id FROM version WHERE id IN ({_ids(found)}))") \
        if found else set()
    reach = linked(query, start)
    if not reach:
        return {name: {} for name in COLUMNS}
    near = ids(f"SELECT id FROM version WHERE unit_id IN (SELECT unit_id FROM version WHERE id IN ({_ids(reach)}))")
    touching = f"predecessor_id IN ({_ids(near)}) OR successor_id IN ({_ids(near)})"
    ends = ids(f"SELECT predecessor_id FROM link WHERE {touching} UNION SELECT successor_id FROM link WHERE {touching}")
    loaded = near | ends
    vids = _ids(loaded | above(query, loaded))
    tables: Tables = {"version": _rows(query, "version", f" WHERE id IN ({vids})")}
    _fold_names(tables["version"].values())
    tables["link"] = _rows(query, "link", f" WHERE predecessor_id IN ({vids}) OR successor_id IN ({vids})")
    events = _ids({r[1] for r in tables["link"].values()} or {0})
    tables["event"] = _rows(query, "event", f" WHERE id IN ({events})")
    tables["unit"] = _rows(query, "unit", f" WHERE id IN ({_ids({r[2] for r in tables['version'].values()})})")
    tables["legal_act"] = _rows(query, "legal_act", f" WHERE id IN ({_ids({r[4] or 0 for r in tables['event'].values()})})")
    tables["correction"] = _rows(query, "correction", f" WHERE event_id IN ({events})")
    tables["derived_share"] = _rows(query, "derived_share", f" WHERE link_id IN ({_ids(tables['link'] or {0})})")
    tables["statistic"] = _rows(query, "statistic", f" WHERE version_id IN ({vids})")
    return tables


# --- deriving the snapshot's rows ------------------------------------------------------------


def original_key(key: str) -> str:
    """A superseded record's key is stored with a "~<correction>" suffix; this is its own key."""
    return key.split("~", 1)[0]


def _original_keys(keys: list[str]) -> list[str]:
    """The keys with any "~<correction>" suffix taken off (the list itself when none has one:
    the common case, found by one C-level pass). Keys left unread (None) stay None."""
    if not any(map(contains, filter(None, keys), repeat("~"))):
        return keys
    return [k.split("~", 1)[0] if k and "~" in k else k for k in keys]


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _time(value: str) -> datetime:
    return _naive_utc(datetime.fromisoformat(value))


def _mapped(column: list, convert: Callable[[Any], Any]) -> list:
    """``convert`` applied to a column once per distinct value: dates repeat thousands of times,
    and one shared object per day is also less memory."""
    table = {x: (convert(x) if x is not None else None) for x in set(column)}
    return list(map(table.__getitem__, column))


def _width(table: str) -> int:
    return COLUMNS[table].count(",") + 1


def columns_of(tables: Tables) -> Columns:
    """Rows by id as columns, sorted by id (the order the snapshot is built in)."""
    out: Columns = {}
    for name in COLUMNS:
        rows = tables.get(name) or {}
        ordered = [rows[i] for i in sorted(rows)]
        out[name] = [list(c) for c in zip(*ordered, strict=True)] if ordered else [[] for _ in range(_width(name))]
    return out


def tables_of(columns: Columns) -> Tables:
    """Columns back to rows by id (for ``read``, and the tests comparing the row-wise rules)."""
    return {name: {row[0]: list(row) for row in zip(*cols, strict=True)} for name, cols in columns.items()}


class Derived(NamedTuple):
    """The snapshot's rows as recorded at a moment, by column, sorted by id; merger.graph makes
    its objects with one ``map`` per table."""

    acts: list[list]  # id, number, kind, issuer, title, date_signed, effective_date, source
    versions: list[list]  # id, key, unit_id, unit_key, kind, code, name, full_name, type, level,
    #                       parent_unit_id, valid_from, valid_to, evidence, source, folded
    events: list[list]  # id, key, type, effective, act_id, clause, note, source, evidence, recorded_at,
    #                     recorded_by
    links: list[list]  # id, event_id, predecessor_id, successor_id, portion, relation, share, share_basis, note
    stats: dict[int, dict[str, Any]]

    def rows(self) -> tuple:
        """The same as rows (acts, versions, events, links: lists of tuples; stats), for comparing."""
        return (*(list(zip(*cols, strict=True)) for cols in self[:4]), self.stats)


def derive(tables: Tables, as_recorded: datetime | None = None) -> Derived:
    """``derive_columns`` of rows by id (a neighbourhood, a fresh read)."""
    return derive_columns(columns_of(tables), as_recorded)


def derive_columns(cols: Columns, as_recorded: datetime | None = None, *, stats: bool = True,
                   unit_keys: bool = True) -> Derived:
    """The snapshot's rows (acts, versions, events, links, stats), as recorded at ``as_recorded``.

    Bitemporal: only events recorded by then and not revoked or amended by then are seen; the
    bundled baseline (``origin`` empty) always is. A recorded version exists while an event that
    created it does, and a version a recorded event ended ends the day before the first visible
    event that ends it (so a revocation reopens it); bundled versions keep their stored end.

    Column by column: a register of bundled rows only (the common case) needs no Python loop
    over its rows here; the per-row rules run on the rows recorded events touch. ``stats=False``:
    no statistics (empty); ``unit_keys=False``: no unit keys (None); for readers that use
    neither (``merger check``).
    """
    limit = _naive_utc(as_recorded) if as_recorded is not None else None
    times: dict[str, datetime] = {}

    def seen(when: str) -> bool:
        if limit is None:
            return True
        found = times.get(when)
        if found is None:
            found = times[when] = _time(when)
        return found <= limit

    _, c_event, c_at = cols["correction"]
    revoked = {e for e, at in zip(c_event, c_at, strict=True) if seen(at)}
    a = cols["legal_act"]
    acts = [a[0], a[1], a[2], a[3], a[4], _mapped(a[5], _day), _mapped(a[6], _day), a[7]]
    u = cols["unit"]
    unit_key = dict(zip(u[0], _original_keys(u[1]), strict=True)) if unit_keys else {}
    unit_kind = dict(zip(u[0], u[2], strict=True))
    e = cols["event"]
    recorded = set(compress(e[0], e[11]))  # events with an origin: recorded, not bundled
    if revoked or (recorded and limit is not None):
        keep = [i not in revoked and (not origin or seen(at)) for i, origin, at in zip(e[0], e[11], e[9], strict=True)]
        e = [list(compress(c, keep)) for c in e]
    events = [e[0], e[1], e[2], _mapped(e[3], _day), e[4], e[5], e[6], e[7], e[8], _mapped(e[9], _time), e[10]]
    effective = dict(zip(events[0], events[3], strict=True))
    # shares derived later (from geometry) apply to links that carry none, as recorded by then
    d = cols["derived_share"]
    derived = {link: (share, basis) for link, share, basis, at in zip(d[1], d[2], d[3], d[4], strict=True) if seen(at)}
    k = cols["link"]
    share, basis = k[6], k[7]
    if derived:
        share, basis = list(share), list(basis)
        for j, (i, x) in enumerate(zip(k[0], k[6], strict=True)):
            if x is None and i in derived:
                share[j], basis[j] = derived[i]
    k_event, k_pred, k_succ = k[1], k[2], k[3]
    v = cols["version"]
    # A recorded event dated inside a version whose start is unknown ("…") gives it a start (the
    # earlier state is a recorded version, its predecessor): while that event is visible.
    ended: dict[int, date | None] = {}
    started: dict[int, date] = {}
    created: set[int] = set()
    # Per-link loops run on the links that need them (those of recorded events, those naming a
    # touched or a recorded version), found by one comprehension each: the first whole-register
    # read after a write paid ~15 ms here for loops over every link.
    if recorded:
        mine = [j for j, ev in enumerate(k_event) if ev in recorded]
        touched = {k_pred[j] for j in mine}
        touched.discard(None)
        for j in [j for j, p in enumerate(k_pred) if p in touched] if touched else ():
            p, day = k_pred[j], effective.get(k_event[j])
            if day is not None:
                end = day - timedelta(days=1)
                last = ended.get(p)
                ended[p] = end if last is None else min(last, end)
            else:
                ended.setdefault(p, None)
        for j in mine:
            s = k_succ[j]
            if s is not None:
                day = effective.get(k_event[j])
                if day is not None:
                    started[s] = min(day, started.get(s, day))
    if v[13].count(None) != len(v[13]):  # some version was recorded (not bundled)
        fresh = set(compress(v[0], map(is_not, v[13], repeat(None))))
        for j in [j for j, (p, s) in enumerate(zip(k_pred, k_succ, strict=True)) if p in fresh or s in fresh]:
            if effective.get(k_event[j]) is not None:  # a visible event created (or ended) it
                created.update((k_pred[j], k_succ[j]))
        if not fresh <= created:  # a recorded version no visible event names: not there
            keep = [at is None or i in created for i, at in zip(v[0], v[13], strict=True)]
            v = [list(compress(c, keep)) for c in v]
    start = _mapped(v[9], _day)
    ids = v[0]
    for i, day in started.items():  # a recorded event gives an unknown start ("…") a day
        at = bisect_left(ids, i)
        if at < len(ids) and ids[at] == i and v[9][at] is None:
            start[at] = day
    end_ = _mapped(v[10], _day)
    for i, day in ended.items():
        at = bisect_left(ids, i)
        if at < len(ids) and ids[at] == i:
            end_[at] = day
    versions = [v[0], _original_keys(v[1]), v[2], list(map(unit_key.__getitem__, v[2])) if unit_keys else [None] * len(v[2]),
                list(map(unit_kind.__getitem__, v[2])), v[3], v[4], v[5], v[6], v[7], v[8], start, end_,
                v[11], v[12], v[14]]
    stored = set(cols["version"][0])
    links = [k[0], k_event, k_pred, k_succ, k[4], k[5], share, basis, k[8]]
    ends = set(k_pred).union(k_succ)
    ends.discard(None)
    if not (effective.keys() >= set(k_event) and ends <= stored):  # else every link is kept (the common case)
        keep = [ev in effective and (p is None or p in stored) and (s is None or s in stored)
                for ev, p, s in zip(k_event, k_pred, k_succ, strict=True)]
        links = [list(compress(c, keep)) for c in links]
    kept = set(versions[0]) if stats else ()
    figures = {i: {"area_km2": area, "population": pop, "seat": seat, "lon": lon, "lat": lat, "source": src}
               for i, area, pop, seat, lon, lat, src in zip(*cols["statistic"], strict=True) if i in kept}
    return Derived(acts, versions, events, links, figures)


# --- the cache file ----------------------------------------------------------------------------


def trusted(path: Path) -> bool:
    """Only a regular file of this user's, writable by no one else, is read."""
    try:
        info = path.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    return not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


# The file: MAGIC, one line of JSON (format, generation, byte order, and per table a descriptor
# per column), then the columns' bytes. A column is kept as the stdlib ``array`` of its numbers,
# its texts joined by NUL in UTF-8, or (few distinct texts) its values in the header and an
# ``array`` of indexes; its empty cells as an ``array`` of their positions; anything else (mixed
# types, a text holding NUL) as JSON. Reading is ``array.frombytes`` and ``str.split``: no parser
# of ours runs per value, and nothing in the file can name code to run.
MAGIC = b"merger snapshot cache\n"
_INT64 = (-(2**63), 2**63 - 1)


def _pack(column: list) -> tuple[list, list[bytes]]:
    """(descriptor, [values' bytes, empty cells' bytes]) of one column.

    C-level calls per column, no Python loop per value on the common columns (a write rewrites
    the cache, and the first whole-register read after it paid ~0.2 s here for per-value loops);
    the bytes are those of the plain per-value rules (tests/test_cache.py keeps them and compares).
    """
    n = len(column)
    has_none = None in column
    nones = array("I", compress(range(n), map(is_, column, repeat(None))) if has_none else ())
    kinds = set(map(type, column))
    kinds.discard(type(None))
    if kinds == {int} or kinds == {float}:
        filled = [0 if x is None else x for x in column] if has_none else column
        try:
            values = array("q" if kinds == {int} else "d", filled)
        except OverflowError:  # an integer beyond 64 bits: kept exactly, as JSON
            pass
        else:
            return ["int" if kinds == {int} else "float", n], [values.tobytes(), nones.tobytes()]
    elif kinds <= {str}:
        distinct = dict.fromkeys(column)
        if not any("\x00" in x for x in distinct if x is not None):
            if n >= 64 and len(distinct) * 4 <= n:
                index = dict(zip(distinct, range(len(distinct)), strict=True))
                code = "H" if len(distinct) < 2**16 else "I"
                return ["few", n, list(distinct), code], [array(code, map(index.__getitem__, column)).tobytes(), b""]
            text = "\x00".join(["" if x is None else x for x in column] if has_none else column)
            return ["text", n], [text.encode("utf-8", "surrogatepass"), nones.tobytes()]
    return ["json", n], [json.dumps(column, ensure_ascii=False).encode("utf-8", "surrogatepass"), b""]


def _array(code: str, data: memoryview, swap: bool) -> array:
    found = array(code)
    found.frombytes(data)
    if swap:
        found.byteswap()
    return found


def _unpack(desc: list, blobs: list[memoryview], swap: bool) -> list:
    kind, n = desc[0], desc[1]
    values, empty = blobs
    if kind == "int":
        out = _array("q", values, swap).tolist()
    elif kind == "float":
        out = _array("d", values, swap).tolist()
    elif kind == "text":
        out = str(values, "utf-8", "surrogatepass").split("\x00") if n else []
    elif kind == "few":
        if desc[3] not in ("H", "I"):
            raise ValueError(desc[3])
        out = list(map(desc[2].__getitem__, _array(desc[3], values, swap)))
    elif kind == "json":
        out = json.loads(str(values, "utf-8", "surrogatepass"))
    else:
        raise ValueError(kind)
    for i in _array("I", empty, swap):
        out[i] = None
    if not isinstance(out, list) or len(out) != n:
        raise ValueError("column length")
    return out


def read_columns(path: Path, unread: dict[str, tuple[int, ...]] | None = None) -> tuple[str, Columns] | None:
    """(generation, columns) from a cache file, or None for a miss (absent, foreign, damaged).

    ``unread``: per table, the positions of columns the caller will not read, left undecoded
    (each cell None; never the first, the ids): ``merger check`` skips names, types, sources and
    statistics. Such columns are never written back (Register._columns reads them all first)."""
    if not trusted(path):
        return None
    try:
        # Mapped, not read: only the pages of the columns decoded are touched, and no 4 MB copy
        # is made (~7 ms of a whole process at the national size). merger replaces the file
        # (write_columns), never truncates it, so a mapping stays valid while it is read.
        import mmap

        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _columns_in(data, unread or {})
    except Exception:  # noqa: BLE001  (a damaged cache is only a miss: the store has the truth)
        return None


def _columns_in(data: Any, skip: dict[str, tuple[int, ...]]) -> tuple[str, Columns] | None:
    """(generation, columns) of a cache file's bytes (``read_columns``)."""
    if data[:len(MAGIC)] != MAGIC:
        return None
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        return None
    header = json.loads(data[len(MAGIC):end])
    if header.get("format") != FORMAT:
        return None
    swap = header["byteorder"] != sys.byteorder
    size = len(data) - end - 1
    if any(b > size for name in COLUMNS for _, spans in header["tables"][name] for _, b in spans):
        return None  # cut short (even where the columns left unread were)
    columns: Columns = {}
    with memoryview(data) as whole:
        body = whole[end + 1:]
        try:
            for name in COLUMNS:
                left = skip.get(name, ())
                cols = [[None] * desc[1] if i in left and i else _unpack(desc, [body[a:b] for a, b in spans], swap)
                        for i, (desc, spans) in enumerate(header["tables"][name])]
                if len(cols) != _width(name) or len({len(c) for c in cols}) != 1:
                    return None
                columns[name] = cols
        finally:
            body.release()
    folded = columns["version"][14]  # every version's folded name, a text (see _fold_names)
    if header["tables"]["version"][14][0][0] not in ("text", "few") or (14 not in skip.get("version", ()) and None in folded):
        return None
    return str(header["generation"]), columns


def read(path: Path) -> tuple[str, Tables] | None:
    """(generation, tables) from a cache file, or None for a miss (absent, foreign, damaged)."""
    found = read_columns(path)
    return None if found is None else (found[0], tables_of(found[1]))


def write(path: Path, generation: str, tables: Tables) -> None:
    """``write_columns`` of rows by id."""
    write_columns(path, generation, columns_of(tables))


def write_columns(path: Path, generation: str, columns: Columns) -> None:
    """Write the cache atomically, readable and writable by this user only.

    Each writer has its own temporary file: processes refreshing the cache at the same moment
    (staff recording while analysts read) must not write into one shared file."""
    import tempfile

    tables: dict[str, list] = {}
    blobs: list[bytes] = []
    offset = 0
    for table, cols in columns.items():
        described = []
        for column in cols:
            desc, parts = _pack(column)
            spans = []
            for part in parts:
                spans.append([offset, offset + len(part)])
                blobs.append(part)
                offset += len(part)
            described.append([desc, spans])
        tables[table] = described
    header = json.dumps({"format": FORMAT, "generation": generation, "byteorder": sys.byteorder, "tables": tables},
                        ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + header + b"\n")
            fh.writelines(blobs)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --- small notes kept beside the cache -----------------------------------------------------------


def read_note(path: Path, generation: str) -> Any:
    """A small JSON value saved for this generation of the register (None: absent, stale, foreign
    or damaged; it is then computed again). Trusted on the same terms as the cache file."""
    if not trusted(path):
        return None
    try:
        data = json.loads(path.read_bytes())
        return data["value"] if data.get("format") == FORMAT and data.get("generation") == generation else None
    except Exception:  # noqa: BLE001  (a damaged note is only a miss)
        return None


def write_note(path: Path, generation: str, value: Any) -> None:
    """Save a small JSON value for this generation, atomically, readable by this user only."""
    write_atomic(path, json.dumps({"format": FORMAT, "generation": generation, "value": value},
                                  ensure_ascii=False).encode("utf-8"))


def write_atomic(path: Path, *chunks: bytes) -> None:
    """Write the chunks to ``path`` through a temporary file of this writer's own (mode 0600, as
    mkstemp makes it) put in place in one step: a reader sees the old file or the new one. (In
    chunks: joining megabytes first costs a copy.)"""
    import tempfile

    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.writelines(chunks)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def stale_note(path: Path, generation: str, magic: bytes = b"") -> bool:
    """Whether a note is surely not of this generation, seen from its first bytes (its writer
    puts the generation near the start of its JSON line): a note of another generation (megabytes
    at the national size: the first run after each write) is then not read whole. Absent or not
    trusted: stale too (a miss)."""
    if not trusted(path):
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(len(magic) + 64 + 4 * len(generation))
    except OSError:
        return True
    return json.dumps(generation, ensure_ascii=False).encode("utf-8", "surrogatepass") not in head


def read_any_note(path: Path, magic: bytes) -> tuple[dict[str, Any], memoryview] | None:
    """A note of the form MAGIC, one line of JSON, then bytes (``merger.resolve_names``) as it is,
    whatever generation it was written for: its header and the bytes after it (None: absent,
    foreign, damaged). For a reader that carries a note across a write (``merger.resolve_carry``)
    and checks the generation itself; trusted on the cache's terms."""
    if not trusted(path):
        return None
    try:
        data = path.read_bytes()
        if not data.startswith(magic):
            return None
        end = data.index(b"\n", len(magic))
        header = json.loads(data[len(magic):end])
    except (OSError, ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    return (header, memoryview(data)[end + 1:]) if isinstance(header, dict) else None  # (a view: no copy)
