"""The register's tables as plain rows: read with any driver, derived into a snapshot, cached as JSON.

Why JSON and not pickle: the cache sits next to the register (or in the user's cache folder),
and unpickling a file runs whatever code it names: anyone able to plant ``<register>.snapshot``
would run code in every reader, even under ``--read-only``. JSON holds only data; a cache file
that is not the user's own, is group- or world-writable, or does not parse is ignored (a miss:
the store has the truth).

Why rows and not the finished snapshot: a write changes a few rows, so the cache is brought up
to date by reading only the rows added since (``id`` above the cached maximum) and the rows a
write changes in place (the versions and units of new events and of newly corrected events),
instead of re-reading the register. The bitemporal view (``--as-recorded``) is derived from the
same rows, so it needs no second read either.

Every query is plain SQL run through a ``Query`` function, so the stdlib ``sqlite3`` module,
``psycopg`` and a SQLAlchemy connection (the writer's, inside its transaction) all serve.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

FORMAT = 3  # 1-2 were pickles (never read again)

Query = Callable[[str], list]
Tables = dict[str, dict[int, list]]

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


def read_all(query: Query) -> Tables:
    """Every table, whole."""
    tables = {name: _rows(query, name) for name in COLUMNS}
    _fold_names(tables["version"].values())
    return tables


def _fold_names(rows: Any) -> None:
    """Each version row carries its folded name last (stored since schema 4; folded here if not)."""
    from merger.names import fold

    for row in rows:
        if row[14] is None:
            row[14] = fold(row[4])


def _ids(values: Any) -> str:
    """An SQL list of ids for ``IN (...)``; NULL for none (PostgreSQL refuses an empty ``IN ()``,
    and ``IN (NULL)`` matches nothing: never use it after NOT IN)."""
    return ",".join(str(int(x)) for x in sorted(set(values))) or "NULL"


def refresh(tables: Tables, query: Query) -> Tables:
    """The cached tables brought up to date: rows added since, and rows changed in place.

    In-place changes a write makes are to the versions (end date, key) and units (key) that the
    links of a new event, or of an event newly revoked or amended, name; those are read again.
    Statistics are read again whole if their number changed (they are only ever added).
    """
    new = {name: _rows(query, name, f" WHERE {COLUMNS[name].split(',')[0]} > {int(max(rows, default=0))}")
           for name, rows in tables.items() if name != "statistic"}
    events = set(new["event"]) | {r[1] for r in new["correction"].values()}
    if events:
        ids = _ids(events)
        named = (f"SELECT predecessor_id FROM link WHERE event_id IN ({ids}) AND predecessor_id IS NOT NULL "
                 f"UNION SELECT successor_id FROM link WHERE event_id IN ({ids}) AND successor_id IS NOT NULL")
        new["version"].update(_rows(query, "version", f" WHERE id IN ({named})"))
        new["unit"].update(_rows(query, "unit", f" WHERE id IN (SELECT unit_id FROM version WHERE id IN ({named}))"))
    for name, rows in new.items():
        if name == "version":
            _fold_names(rows.values())
        tables[name].update(rows)
    (count,) = query("SELECT COUNT(*) FROM statistic")[0]
    if count != len(tables["statistic"]):
        tables["statistic"] = _rows(query, "statistic")
    return tables


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
    units = f"SELECT id FROM version WHERE unit_id IN (SELECT unit_id FROM version WHERE id IN ({seeds}))"
    reach = ids(
        f"WITH RECURSIVE fwd(id) AS ({units} UNION "
        "SELECT l.successor_id FROM link l JOIN fwd ON l.predecessor_id = fwd.id WHERE l.successor_id IS NOT NULL), "
        f"bwd(id) AS ({units} UNION "
        "SELECT l.predecessor_id FROM link l JOIN bwd ON l.successor_id = bwd.id WHERE l.predecessor_id IS NOT NULL) "
        "SELECT id FROM fwd UNION SELECT id FROM bwd")
    if not reach:
        return {name: {} for name in COLUMNS}
    near = ids(f"SELECT id FROM version WHERE unit_id IN (SELECT unit_id FROM version WHERE id IN ({_ids(reach)}))")
    touching = f"predecessor_id IN ({_ids(near)}) OR successor_id IN ({_ids(near)})"
    ends = ids(f"SELECT predecessor_id FROM link WHERE {touching} UNION SELECT successor_id FROM link WHERE {touching}")
    loaded = near | ends
    parents = ids(
        f"WITH RECURSIVE up(unit_id) AS (SELECT parent_unit_id FROM version WHERE id IN ({_ids(loaded)}) "
        "UNION SELECT v.parent_unit_id FROM version v JOIN up ON v.unit_id = up.unit_id "
        "WHERE v.parent_unit_id IS NOT NULL) SELECT id FROM version WHERE unit_id IN (SELECT unit_id FROM up)")
    vids = _ids(loaded | parents)
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


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _time(value: str) -> datetime:
    return _naive_utc(datetime.fromisoformat(value))


def derive(tables: Tables, as_recorded: datetime | None = None) -> tuple:
    """The snapshot's rows (acts, versions, events, links, stats), as recorded at ``as_recorded``.

    Bitemporal: only events recorded by then and not revoked or amended by then are seen; the
    bundled baseline (``origin`` empty) always is. A recorded version exists while an event that
    created it does, and a version a recorded event ended ends the day before the first visible
    event that ends it (so a revocation reopens it); bundled versions keep their stored end.
    """
    limit = _naive_utc(as_recorded) if as_recorded is not None else None

    def seen(when: str) -> bool:
        return limit is None or _time(when) <= limit

    revoked = {r[1] for r in tables["correction"].values() if seen(r[2])}
    acts = [(r[0], r[1], r[2], r[3], r[4], _day(r[5]), _day(r[6]), r[7])
            for r in sorted(tables["legal_act"].values())]
    units = {r[0]: (original_key(r[1]), r[2]) for r in tables["unit"].values()}
    event_rows = [tables["event"][i] for i in sorted(tables["event"])]
    recorded = {r[0] for r in event_rows if r[11]}
    events = [
        (r[0], r[1], r[2], _day(r[3]), r[4], r[5], r[6], r[7], r[8], _time(r[9]), r[10])
        for r in event_rows
        if r[0] not in revoked and (not r[11] or seen(r[9]))
    ]
    effective = {r[0]: r[3] for r in events}
    # shares derived later (from geometry) apply to links that carry none, as recorded by then
    derived = {d[1]: (d[2], d[3]) for d in (tables["derived_share"][i] for i in sorted(tables["derived_share"]))
               if seen(d[4])}
    link_rows = [
        (r[0], r[1], r[2], r[3], r[4], r[5],
         *((r[6], r[7]) if r[6] is not None else derived.get(r[0], (None, r[7]))), r[8])
        for r in (tables["link"][i] for i in sorted(tables["link"]))
    ]
    # A recorded event dated inside a version whose start is unknown ("…") gives it a start (the
    # earlier state is a recorded version, its predecessor): while that event is visible.
    touched = {r[2] for r in link_rows if r[1] in recorded and r[2] is not None}
    ended: dict[int, date | None] = {}
    created: set[int] = set()
    started: dict[int, date] = {}
    for r in link_rows:
        day = effective.get(r[1])
        if r[2] in touched:
            last = ended.get(r[2])
            if day is not None:
                end = day - timedelta(days=1)
                ended[r[2]] = end if last is None else min(last, end)
            else:
                ended.setdefault(r[2], None)
        if day is not None:
            if r[3] is not None:
                created.add(r[3])
                if r[1] in recorded:
                    started[r[3]] = min(day, started.get(r[3], day))
            if r[2] is not None:
                created.add(r[2])
    versions = []
    for i in sorted(tables["version"]):
        r = tables["version"][i]
        if r[13] is None or r[0] in created:
            unit_key, kind = units[r[2]]
            start = _day(r[9]) if r[9] is not None else started.get(r[0])
            versions.append((r[0], original_key(r[1]), r[2], unit_key, kind, r[3], r[4], r[5], r[6], r[7], r[8],
                             start, ended[r[0]] if r[0] in ended else _day(r[10]), r[11], r[12], r[14]))
    kept = {r[0] for r in versions}
    links = [r for r in link_rows if r[1] in effective
             and (r[2] is None or r[2] in tables["version"]) and (r[3] is None or r[3] in tables["version"])]
    stats = {r[0]: dict(area_km2=r[1], population=r[2], seat=r[3], lon=r[4], lat=r[5], source=r[6])
             for r in tables["statistic"].values() if r[0] in kept}
    return acts, versions, events, links, stats


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


def read(path: Path) -> tuple[str, Tables] | None:
    """(generation, tables) from a cache file, or None for a miss (absent, foreign, damaged)."""
    if not trusted(path):
        return None
    try:
        data = json.loads(path.read_bytes())
        if data.get("format") != FORMAT:
            return None
        tables = {name: {int(r[0]): r for r in data["tables"][name]} for name in COLUMNS}
        if any(len(r) != 15 or not isinstance(r[14], str) for r in tables["version"].values()):
            return None
        return str(data["generation"]), tables
    except Exception:  # noqa: BLE001  (a damaged cache is only a miss: the store has the truth)
        return None


def write(path: Path, generation: str, tables: Tables) -> None:
    """Write the cache atomically, readable and writable by this user only.

    Each writer has its own temporary file: processes refreshing the cache at the same moment
    (staff recording while analysts read) must not write into one shared file."""
    import tempfile

    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    tmp = Path(name)
    try:
        text = json.dumps({"format": FORMAT, "generation": generation,  # dumps: the C encoder
                           "tables": {n: list(rows.values()) for n, rows in tables.items()}},
                          ensure_ascii=False, separators=(",", ":"))
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
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
    import tempfile

    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(json.dumps({"format": FORMAT, "generation": generation, "value": value},
                                ensure_ascii=False).encode("utf-8"))
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
