"""The part of the register a write needs, read with indexed queries instead of the whole register.

A write is planned against a working snapshot. Most events touch a handful of units, so the
snapshot holds only their neighbourhood: the versions the requests may name (by key, code or
folded name: ``search.seed_sql``), everything reached from them through links, all versions of
their units, the far ends of their links and their parents up to the province (as
``cache.read_around`` reads for one-unit questions), plus the links, events, acts and corrections
of all of these.

Nothing is guessed about what the planner will look at. The snapshot's indexes (by key, code,
folded name, unit) and the planner's children index record every lookup (``Lookups``). After
planning, one indexed query asks the register for every version those lookups could have found;
if any was not loaded, it is added and the events are planned again (``uncovered``), and a lookup
that needs everything (close-name suggestions for a name that names nothing) sends the write to
the whole register. So a write planned on a neighbourhood is accepted or refused exactly as on the
whole register, with the same message and the same rows (tests/test_write_path.py compares them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from merger import cache, graph, search
from merger.names import fold, parse_query, split_type
from merger.portions import split_portion
from merger.recording.spec import Spec


@dataclass
class Lookups:
    """What the planner asked the working snapshot for (what the neighbourhood must hold whole)."""

    folds: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    units: set[int] = field(default_factory=set)
    parents: set[int] = field(default_factory=set)
    whole: bool = False  # a lookup over every name: only the whole register answers it


class Tracked(defaultdict):
    """A snapshot index that records each key asked for (and any walk over all its keys)."""

    def __init__(self, source: dict, seen: set, lookups: Lookups) -> None:
        # the source's own behaviour for a missing key: a list (by_unit, by_fold...) or KeyError (by_key)
        super().__init__(getattr(source, "default_factory", None), source)
        self.seen = seen
        self.lookups = lookups

    def __getitem__(self, key: Any) -> Any:
        self.seen.add(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self.seen.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.seen.add(key)
        return super().__contains__(key)

    def __iter__(self):  # type: ignore[no-untyped-def]
        self.lookups.whole = True
        return super().__iter__()

    def keys(self):  # type: ignore[no-untyped-def]
        self.lookups.whole = True
        return super().keys()


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _texts(spec: Spec) -> list[str]:
    """Every text of a request that may name a unit."""
    texts = [split_portion(u)[0] for u in spec.units] + list(spec.into)
    texts += [t for t in (spec.to, spec.parent) if t]
    texts += [c for c in spec.codes.values() if c]
    return [t for t in texts if t and t.strip()]


def _in(column: str, values: set[str]) -> list[str]:
    """``SELECT id FROM version WHERE column IN (...)``, 500 values a statement (a long OR chain
    would pass SQLite's expression depth limit of 1000 for an annex of a hundred events)."""
    items = sorted(values)
    return [f"SELECT id FROM version WHERE {column} IN ({', '.join(_quoted(v) for v in items[i:i + 500])})"
            for i in range(0, len(items), 500)]


def _named_sql(keys: set[str], codes: set[str], folds: set[str]) -> list[str]:
    """Selects of the versions with these keys (and their superseded records "key~N", found by the
    key's code: the indexes on key and code, never a LIKE, which SQLite cannot index here), codes
    and folded names."""
    codes = codes | {k.split("@", 1)[0] for k in keys}
    return _in("key", keys) + _in("code", codes) + _in("folded", folds)


def seed_sql(specs: list[Spec]) -> str | None:
    """SQL selecting the versions the requests may name (None: a text that cannot be seeded):
    what search.seed_sql selects for each text (key, code, folded name), a superset of it."""
    keys: set[str] = set()
    codes: set[str] = set()
    folds: set[str] = set()
    for spec in specs:
        for text in _texts(spec):
            if search.seed_sql(text) is None:
                return None
            q = text.strip()
            keys.add(q)
            if q.isdigit():
                codes.update(q.zfill(w) for w in (len(q), 2, 3, 5))
            elif " " not in q:
                codes.add(q)  # an agency's or village's code: 31.so-noi-vu
            pieces = text.split(",")
            for k in range(1, len(pieces) + 1):  # names that hold a comma ("Sở Văn hóa, Thể thao và Du lịch")
                folds.add(fold(",".join(pieces[:k])))
            folds.update(r.name for r in parse_query(text).target)
            folds.update(r.name for r in split_type(text))
    folds.discard("")
    parts = _named_sql(keys, codes, folds)
    return " UNION ".join(parts) if parts else None


def _ids(values: Any) -> str:
    return ",".join(str(int(x)) for x in sorted(set(values))) or "0"


def read(query: cache.Query, seeds: str, plain: set[int]) -> cache.Tables:
    """The neighbourhood of ``seeds`` (reached through links, as cache.read_around) and the
    versions ``plain`` (by themselves), with their parents and all rows that derive them."""
    def ids(sql: str) -> set[int]:
        return {r[0] for r in query(sql) if r[0] is not None}

    start = ids(f"SELECT id FROM version WHERE unit_id IN (SELECT unit_id FROM version WHERE id IN ({seeds}))")
    reach = cache.linked(query, start)  # one indexed query a step (cache.walk)
    near = ids(f"SELECT id FROM version WHERE unit_id IN (SELECT unit_id FROM version WHERE id IN "
               f"({_ids(reach | plain)}))")
    touching = f"predecessor_id IN ({_ids(near)}) OR successor_id IN ({_ids(near)})"
    ends = ids(f"SELECT predecessor_id FROM link WHERE {touching} UNION SELECT successor_id FROM link WHERE {touching}")
    loaded = near | ends
    vids = _ids(loaded | cache.above(query, loaded))
    tables: cache.Tables = {"version": cache._rows(query, "version", f" WHERE id IN ({vids})")}
    cache._fold_names(tables["version"].values())
    tables["link"] = cache._rows(query, "link", f" WHERE predecessor_id IN ({vids}) OR successor_id IN ({vids})")
    events = _ids({r[1] for r in tables["link"].values()})
    tables["event"] = cache._rows(query, "event", f" WHERE id IN ({events})")
    tables["unit"] = cache._rows(query, "unit", f" WHERE id IN ({_ids(r[2] for r in tables['version'].values())})")
    tables["legal_act"] = cache._rows(query, "legal_act",
                                      f" WHERE id IN ({_ids(r[4] or 0 for r in tables['event'].values())})")
    tables["correction"] = cache._rows(query, "correction", f" WHERE event_id IN ({events})")
    tables["derived_share"] = cache._rows(query, "derived_share", f" WHERE link_id IN ({_ids(tables['link'])})")
    tables["statistic"] = {}  # planning never reads statistics
    return tables


def snapshot(tables: cache.Tables, lookups: Lookups) -> graph.Snapshot:
    """The working snapshot of a neighbourhood, its indexes recording every lookup."""
    snap = graph.from_tables("working", tables)
    snap.by_key = Tracked(snap.by_key, lookups.keys, lookups)  # type: ignore[assignment]
    snap.by_code = Tracked(snap.by_code, lookups.codes, lookups)  # type: ignore[assignment]
    snap.by_fold = Tracked(snap.by_fold, lookups.folds, lookups)  # type: ignore[assignment]
    snap.by_unit = Tracked(snap.by_unit, lookups.units, lookups)  # type: ignore[assignment]
    return snap


def uncovered(query: cache.Query, lookups: Lookups, loaded: set[int]) -> tuple[set[int], set[int]]:
    """(versions to add with their neighbourhood, versions to add by themselves): every version of
    the register that a lookup made while planning could have found and that was not loaded."""
    def missing(where: list[str]) -> set[int]:
        if not where:
            return set()
        found: set[int] = set()
        for clause in where:
            found |= {r[0] for r in query(f"SELECT id FROM version WHERE {clause}")}
        return found - loaded

    def chunks(values: set, column: str, quote: bool) -> list[str]:
        items = sorted(values, key=str)
        out = []
        for i in range(0, len(items), 500):
            part = items[i:i + 500]
            shown = ", ".join(_quoted(str(x)) if quote else str(int(x)) for x in part)
            out.append(f"{column} IN ({shown})")
        return out

    named = [sql.removeprefix("SELECT id FROM version WHERE ") for sql in _named_sql(
        {k for k in lookups.keys if isinstance(k, str)}, {k for k in lookups.codes if isinstance(k, str)},
        {k for k in lookups.folds if isinstance(k, str)})]
    placed = chunks({u for u in lookups.units if isinstance(u, int) and u > 0}, "unit_id", False)
    placed += chunks({u for u in lookups.parents if isinstance(u, int) and u > 0}, "parent_unit_id", False)
    if None in lookups.parents:  # the units with no parent (provinces) were asked for
        placed.append("parent_unit_id IS NULL")
    return missing(named), missing(placed)
