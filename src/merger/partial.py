"""Reading part of the register: the rows a question needs, found through indexes (issue 12).

Whole-register snapshots cost time in proportion to the register; a question about a name, a
province's territory or the national totals needs far less. Each function here finds, with
plain SQL through a ``cache.Query``, a set of version ids that is a *superset* of what the
question reads, and ``read`` loads exactly those rows (plus what deriving them needs: their
links, events, corrections, statistics, and the versions of their parent units up to the
province). The answers are then computed by the same code as on the whole snapshot, so they
are the same (tests/test_partial.py compares them over many dates, provinces and kinds).
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from merger.cache import COLUMNS, Query, Tables, _fold_names, _ids, _rows, above, linked, walk


def _set(query: Query, sql: str) -> set[int]:
    return {r[0] for r in query(sql) if r[0] is not None}


def _unit_versions(query: Query, vids: set[int]) -> set[int]:
    """Every version of the units of these versions."""
    if not vids:
        return set()
    return _set(query, f"SELECT id FROM version WHERE unit_id IN (SELECT unit_id FROM version WHERE id IN ({_ids(vids)}))")


def _up(query: Query, vids: set[int]) -> set[int]:
    """Every version of every unit above these versions (any of their parents, recursively)."""
    return above(query, vids)


def _down(query: Query, unit_ids: set[int]) -> set[int]:
    """Every version of these units and of every unit that was ever under them."""
    if not unit_ids:
        return set()
    units = walk(query, unit_ids, "parent_unit_id", "unit_id", table="version")
    return _set(query, f"SELECT id FROM version WHERE unit_id IN ({_ids(units)})")


def _lineage(query: Query, vids: set[int]) -> set[int]:
    """The versions reached from these through links, forward and backward (each direction
    followed on its own, as the lineage walks do)."""
    return linked(query, vids) if vids else set()


def read(query: Query, vids: set[int]) -> Tables:
    """The rows of these versions and of all versions of their units' parents up to the top, with
    every link that touches them (so deriving a version's period sees every event that made or
    ended it), those links' events, acts and corrections, derived shares and statistics."""
    loaded = _unit_versions(query, vids)
    loaded |= _up(query, loaded)
    if not loaded:
        return {name: {} for name in COLUMNS}
    ids = _ids(loaded)
    tables: Tables = {"version": _rows(query, "version", f" WHERE id IN ({ids})")}
    _fold_names(tables["version"].values())
    tables["link"] = _rows(query, "link", f" WHERE predecessor_id IN ({ids}) OR successor_id IN ({ids})")
    events = _ids({r[1] for r in tables["link"].values()} or {0})
    tables["event"] = _rows(query, "event", f" WHERE id IN ({events})")
    tables["unit"] = _rows(query, "unit", f" WHERE id IN ({_ids({r[2] for r in tables['version'].values()})})")
    tables["legal_act"] = _rows(query, "legal_act",
                                f" WHERE id IN ({_ids({r[4] or 0 for r in tables['event'].values()})})")
    tables["correction"] = _rows(query, "correction", f" WHERE event_id IN ({events})")
    tables["derived_share"] = _rows(query, "derived_share", f" WHERE link_id IN ({_ids(tables['link'] or {0})})")
    tables["statistic"] = _rows(query, "statistic", f" WHERE version_id IN ({ids})")
    return tables


# --- what each question reads --------------------------------------------------------------


def territory(query: Query, unit_id: int) -> set[int]:
    """A superset of the versions ``counts.territory_on`` reads for this unit on any day.

    The unit's subtree (every unit ever under it), the lineage of all of that both ways, and
    for every province or district above or among the versions reached, its own subtree and
    lineage (the "lies wholly in the unit" rule walks those). Parents are added by ``read``.
    """
    here = _down(query, {unit_id})
    reached = _lineage(query, here)
    reached |= _unit_versions(query, reached)
    above = reached | _up(query, reached)
    wholes = _set(query, f"SELECT unit_id FROM version WHERE id IN ({_ids(above)}) "
                         "AND level IN ('province', 'district')") if above else set()
    inner = _down(query, wholes)
    whole_versions = _set(query, f"SELECT id FROM version WHERE unit_id IN ({_ids(wholes)})") if wholes else set()
    return above | inner | _lineage(query, whole_versions)


def _like(text: str, *, before: bool = False) -> str:
    """A LIKE pattern (with ``ESCAPE '!'``) as a SQL literal: ``text`` literally, then anything
    (and anything before it with ``before``)."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_").replace("'", "''")
    return "'" + ("%" if before else "") + escaped + "%'"


PREFIXES = ("SELECT DISTINCT CASE WHEN substr(full_name, length(full_name) - length(name) + 1) = name "
            "THEN substr(full_name, 1, length(full_name) - length(name)) END FROM version")


def prefixes(query: Query) -> list[str | None]:
    """Each version's full name less its name: the type words ("Phường "), None where the full
    name does not end with the name. One scan of the table: callers keep it per generation."""
    return sorted((p for (p,) in query(PREFIXES)), key=lambda p: (p is None, p or ""))


def _glob(text: str) -> str:
    """A GLOB pattern (case-sensitive, so SQLite seeks it on a plain index) as a SQL literal:
    ``text`` literally at the start, then anything."""
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in text).replace("'", "''")
    return "'" + escaped + "*'"


def _substring(query: Query, folded: str, sqlite: bool) -> str:
    """SQL selecting the ids of the versions whose folded name contains ``folded``: through the
    trigram index (merger.textindex) where the register has one and the text is long enough for
    trigrams, else a scan of the folded-name index (PostgreSQL's planner picks its trigram index
    for the LIKE by itself)."""
    from merger import textindex

    if sqlite and len(folded) >= textindex.SHORTEST and query(textindex.PRESENT)[0][0]:
        return f"SELECT rowid FROM {textindex.FTS} WHERE {textindex.FTS} MATCH {textindex.phrase(folded)}"
    return f"SELECT id FROM version WHERE folded LIKE {_like(folded, before=True)} ESCAPE '!'"


def _first(query: Query, within: str, folded: str, limit: int, as_of: date | None, sqlite: bool) -> set[int]:
    """Of the versions ``within`` selects that are certainly hits, those ``search.search`` may
    list first: the bundled versions no recorded event touches (their stored period is their
    period) in its order (exact name first, provinces, level, folded name, start), the first
    ``limit`` and every one tied with the last; all the others (recorded, touched) as they are.
    Names and levels are compared as code points (SQLite's BINARY; PostgreSQL's "C")."""
    c = "" if sqlite else ' COLLATE "C"'
    rest = f"id IN ({within}) AND (recorded_at IS NOT NULL OR id IN ({_RECORDED_LINKED}))"
    found = _set(query, f"SELECT id FROM version WHERE {rest}")
    plain = f"id IN ({within}) AND recorded_at IS NULL AND id NOT IN ({_RECORDED_LINKED})"
    if as_of is not None:
        plain += " AND " + _valid(as_of)
    q = _literal(folded)
    top = query(f"SELECT id, folded, level, valid_from FROM version v WHERE {plain} ORDER BY folded <> {q}, "
                f"level <> 'province', level{c}, folded{c}, valid_from" + ("" if sqlite else " NULLS FIRST")
                + f" LIMIT {limit}")
    found |= {r[0] for r in top}
    if len(top) == limit:  # the ties of the last one: the whole register's order among them decides
        _, name, level, start = top[-1]
        same = "valid_from IS NULL" if start is None else f"valid_from = {_literal(_iso(start) or '')}"
        found |= _set(query, f"SELECT id FROM version v WHERE {plain} AND folded = {_literal(name)} "
                             f"AND level = {_literal(level)} AND {same}")
    return found


def search_ids(query: Query, folded: str, raw: str, known: list[str | None], *, sqlite: bool = False,
               limit: int | None = None, as_of: date | None = None) -> set[int] | None:
    """A superset of the versions ``search.search`` finds for ``raw`` (folded: ``folded``), or
    None when the text lies inside a type word ("phuong": every ward; read everything).

    A version's folded full name is its type word(s), a space, and its folded name (or just the
    folded name): the text is in it when it is in the folded name, or when it starts inside the
    type word and runs on into the name. ``known``: the register's ``prefixes``. ``sqlite``: the
    register is SQLite (its trigram index is an FTS5 table; prefixes are GLOBs, which it seeks).
    ``limit``, ``as_of``: the search's; of the names that hold the text, only those that may be
    among the first ``limit`` hits are read (merger.partial._first).
    """
    from merger.names import fold

    if None in known or any(p and (p[-1].isalnum() or p[-1] == "_") for p in known):
        return None  # a full name that is not "<type words> <name>": the rule is not known to hold
    by_head: dict[str, list[str]] = {}
    for p in known:
        if p and fold(p):
            by_head.setdefault(fold(p) + " ", []).append(p)
    starts: dict[str, set[str]] = {}  # the name's start -> the type words (as written) before it
    for head, written in by_head.items():
        if folded in head:
            return None
        for k in range(1, len(folded)):
            if head.endswith(folded[:k]):
                starts.setdefault(folded[k:], set()).update(written)
    # One query each, not one OR: each is then a read of one index (the trigram index, the folded
    # name's, the code's), not a scan of the table's wide rows.
    within = _substring(query, folded, sqlite)
    if limit is not None and limit >= 1:  # only what the first ``limit`` hits may be (flat with size)
        found = _first(query, within, folded, limit, as_of, sqlite)
    else:
        found = _set(query, within)
    for rest, written in starts.items():
        # only the names written after those type words: "lu" after "Quận ", not every "Lư…"
        after = " OR ".join(f"substr(full_name, 1, {len(w)}) = {_literal(w)}" for w in sorted(written))
        pattern = f"GLOB {_glob(rest)}" if sqlite else f"LIKE {_like(rest)} ESCAPE '!'"
        found |= _set(query, f"SELECT id FROM version WHERE folded {pattern} AND ({after})")
    code = raw.strip()
    if code:
        pattern = f"GLOB {_glob(code)}" if sqlite else f"LIKE {_like(code)} ESCAPE '!'"
        found |= _set(query, f"SELECT id FROM version WHERE code {pattern}")
    return found


# --- counting in SQL -------------------------------------------------------------------------

# The recorded events (the bundle's have no origin): a seek of ix_event_origin (every non-empty
# text sorts after ''; NULL and '' are not recorded).
_RECORDED = "SELECT id FROM event WHERE origin > ''"


# The versions a recorded event links (their derived period may differ from the stored one).
_RECORDED_LINKED = (f"SELECT predecessor_id FROM link WHERE event_id IN ({_RECORDED}) AND predecessor_id IS NOT NULL "
                    f"UNION SELECT successor_id FROM link WHERE event_id IN ({_RECORDED}) AND successor_id IS NOT NULL")


def touched(query: Query) -> set[int]:
    """The versions a recorded event links: their derived period may differ from the stored one
    (recorded versions exist only while such an event does). Read and derived in Python."""
    return _set(query, (f"SELECT predecessor_id FROM link WHERE event_id IN ({_RECORDED}) "
                        f"UNION SELECT successor_id FROM link WHERE event_id IN ({_RECORDED})"))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _valid(day: date) -> str:
    """Valid on ``day`` by the stored period (COALESCE: one scan, not two index walks per row)."""
    d = _literal(day.isoformat())
    return f"COALESCE(v.valid_from, '0001-01-01') <= {d} AND COALESCE(v.valid_to, '9999-12-31') >= {d}"


# The versions of the bundle (no recorded_at) as (level, type, valid_from, valid_to, how many):
# read from ix_version_counting alone, in its order (no sort, no table row).
_PERIODS = "SELECT v.level, v.type, v.valid_from, v.valid_to, COUNT(*) FROM "
_GROUPED = " GROUP BY v.level, v.type, v.valid_from, v.valid_to"
# More units of the other kinds than this: the kind's own versions are counted, not subtracted.
_FEW_OTHERS = 50_000


def _periods(query: Query, sqls: list[str]) -> Counter:
    """(level, type, valid_from, valid_to) -> how many versions the ``sqls`` (each a FROM ... WHERE)
    select together."""
    out: Counter = Counter()
    for sql in sqls:
        for r in query(_PERIODS + sql + _GROUPED):
            out[r[0], r[1], r[2], r[3]] += int(r[4])
    return out


def count_stored(query: Query, days: tuple[date, ...], kind: str, skip: set[int], *,
                 few_others: int = _FEW_OTHERS) -> list[Counter]:
    """For each day, (level, type) -> number of versions of ``kind`` valid on it by their stored
    period, among the bundled versions not in ``skip`` (touched: counted in Python).

    The versions are counted per period in SQL (every bundled version, from an index alone; minus
    those of the units of other kinds, few, found through ix_unit_kind; or, when the other kinds
    are many, the kind's own, found the same way), and the periods valid on each day are summed
    here: a few hundred periods, however large the register. Valid on a day is the test
    ``_valid`` writes in SQL, on the same values (ISO dates compared as text). ``few_others``:
    how many units of other kinds are still subtracted rather than the kind's own counted."""
    k = _literal(kind)
    # The other kinds as ranges of ix_unit_kind, one query each (an OR of them may be planned as
    # a scan of the whole index).
    others = [f"u.kind < {k}", f"u.kind > {k}", "u.kind IS NULL"]
    units = "unit u CROSS JOIN version v WHERE v.unit_id = u.id AND v.recorded_at IS NULL AND "  # units first
    many = sum(query(f"SELECT COUNT(*) FROM (SELECT u.id FROM unit u WHERE {o} LIMIT {few_others + 1}) AS o")[0][0]
               for o in others)
    if many > few_others:
        periods = _periods(query, [units + f"u.kind = {k}"])
    else:
        periods = _periods(query, ["version v WHERE v.recorded_at IS NULL"])
        periods.subtract(_periods(query, [units + o for o in others]))
    if skip:
        periods.subtract(_periods(query, [units + f"u.kind = {k} AND v.id IN ({_ids(skip)})"]))
    out = []
    for day in days:
        d = day.isoformat()
        tally: Counter = Counter()
        for (level, type_, start, end), n in periods.items():
            if n and (_iso(start) or "0001-01-01") <= d <= (_iso(end) or "9999-12-31"):
                tally[level, type_] += n
        out.append(+tally)
    return out


def _iso(value: object) -> str | None:
    """A stored date as the text SQLite compares (PostgreSQL's driver gives a ``date``)."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def first_event_stored(query: Query, kind: str | None) -> date | None:
    """The earliest bundled, uncorrected event that links a version of ``kind`` (those are always
    visible, and every version they link is); the others are judged on a partial snapshot."""
    bundled = "COALESCE(e.origin, '') = '' AND e.id NOT IN (SELECT event_id FROM correction)"
    if kind is None or kind == "admin":
        which = "" if kind is None else f"AND u.kind = {_literal(kind)}"
        # The first in order, not MIN(): PostgreSQL then reads the events down ix_event_effective
        # and stops at the first that qualifies (~1 ms) instead of testing all ~8,000 (~0.13 s).
        sql = (f"SELECT e.effective FROM event e WHERE {bundled} AND EXISTS (SELECT 1 FROM link l "
               "JOIN version v ON v.id = l.predecessor_id OR v.id = l.successor_id JOIN unit u ON u.id = v.unit_id "
               f"WHERE l.event_id = e.id {which}) ORDER BY e.effective LIMIT 1")
    else:
        # Units of another kind (agencies) are few and their events late: from the units to their
        # events through the indexes. Down the events in order, each tested, took 0.4-2 s on
        # PostgreSQL (~8,000 events before the first agency one) and 14 ms on SQLite.
        units = f"SELECT id FROM unit WHERE kind = {_literal(kind)}"
        linked = " UNION ".join(
            f"SELECT l.event_id FROM link l JOIN version v ON v.id = l.{end} WHERE v.unit_id IN ({units})"
            for end in ("predecessor_id", "successor_id"))
        sql = f"SELECT MIN(e.effective) FROM event e WHERE {bundled} AND e.id IN ({linked})"
    found = query(sql)
    value = found[0][0] if found else None
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def other_events(query: Query) -> set[int]:
    """The versions linked by recorded or corrected events (not covered by first_event_stored):
    those events found first (a scan of the event table, a read of the few corrections), then
    their links through the index on link.event_id."""
    events = f"{_RECORDED} UNION SELECT event_id FROM correction"
    return _set(query, (f"SELECT predecessor_id FROM link WHERE event_id IN ({events}) "
                        f"UNION SELECT successor_id FROM link WHERE event_id IN ({events})"))

def valid_on(query: Query, day: date) -> set[int]:
    """A superset of the versions valid on ``day``: bundled ones valid by their stored period, and
    those a recorded event links."""
    return _set(query, f"SELECT v.id FROM version v WHERE v.recorded_at IS NULL AND {_valid(day)}") | touched(query)


def types_stored(query: Query, kind: str | None) -> set[str]:
    """The types of the bundled versions (of ``kind``); recorded ones are judged in Python."""
    which = "" if kind is None else f"AND u.kind = {_literal(kind)}"
    return {r[0] for r in query("SELECT DISTINCT v.type FROM version v JOIN unit u ON u.id = v.unit_id "
                                f"WHERE v.recorded_at IS NULL {which}")}


def holders(query: Query, unit_ids: set[int]) -> set[int]:
    """Which of these units have (had) units under them (``--within`` prefers those)."""
    if not unit_ids:
        return set()
    return _set(query, f"SELECT parent_unit_id FROM version WHERE parent_unit_id IN ({_ids(unit_ids)})")
