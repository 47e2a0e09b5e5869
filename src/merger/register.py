"""The library's front door: ``Register.open(db)`` and one method per question.

Reads go through a cached ``Snapshot`` (see graph.py); the database engine, and with it the
ORM, is only created when the snapshot must be rebuilt or something is written.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from merger import cache, store
from merger.collector import no_gc
from merger.errors import Ambiguous, BadInput, MergerError, NotFound, StoreError, Violation
from merger.i18n import _

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from merger import check_rows, counts, graph, lineage, partial, recording, search
else:
    class _Later:
        """A module imported when first used: ``merger check`` reads rows only, and importing the
        snapshot's classes (merger.graph, merger.names), counts and search cost it ~10 ms."""

        def __init__(self, name: str) -> None:
            self._name = name

        def __getattr__(self, attr: str) -> object:
            return getattr(__import__(self._name, fromlist=["_"]), attr)

    counts, graph, partial, search = (_Later(f"merger.{m}") for m in ("counts", "graph", "partial", "search"))

REFORM_BEFORE = date(2025, 6, 30)
REFORM_AFTER = date(2025, 7, 1)
KINDS = ("admin", "agency")  # what the filters' kind= accepts


@dataclass
class VersionHistory:
    version: graph.V
    parent: graph.V | None
    created_by: list[graph.L]
    ended_by: list[graph.L]


@dataclass
class UnitHistory:
    unit_key: str
    versions: list[VersionHistory]


class Register:
    """A register database plus its lineage snapshot. Pass it in; there is no global one."""

    def __init__(self, url: str, engine: Engine | None = None, *, as_recorded: datetime | date | None = None,
                 read_only: bool = False):
        self.url = url
        self.read_only = read_only  # every write refused, by merger and by the database session
        self._engine = engine
        self._snapshot: graph.Snapshot | None = None
        self._rows: tuple[str, bool, cache.Derived] | None = None  # (generation, with names, rows) read for check
        self.answered_from: graph.Snapshot | None = None  # what lineage/show last answered from
        self.as_recorded = recorded_limit(as_recorded)
        self._pg: Any = None  # PostgreSQL: one psycopg connection for this register's reads (see _pg_connection)

    # --- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, db: str | None = None, *, build: bool = True,
             progress: store.Progress | None = None, as_recorded: datetime | date | None = None,
             read_only: bool = False) -> Register:
        """Open the register named by ``db`` / $MERGER_DB / the default file, building it on first use.

        ``as_recorded``: read the register as it stood at that moment (a date means the end of
        that day, UTC): what it said then, before later records and corrections.
        """
        url = store.resolve_url(db)
        reg = cls(url, as_recorded=as_recorded, read_only=read_only)
        build = build and not read_only  # a read-only open never builds
        path = reg.sqlite_path
        if path is not None and path.exists() and reg._sqlite_generation() is not None:
            return reg  # an existing embedded register: no engine needed to read it
        if path is not None and not path.exists() and not build:
            raise StoreError(_("no register at {path}; run 'merger init' first").format(path=path))
        if reg._pg_generation() is not None:
            return reg  # an existing PostgreSQL register: no SQLAlchemy needed to read it either
        reg._engine = store.open_engine(url, build=build, progress=progress, read_only=read_only)
        return reg

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = store.open_engine(self.url, build=False, read_only=self.read_only)
        return self._engine

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.url.removeprefix("sqlite:///")) if self.url.startswith("sqlite:///") else None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self.close_reads()

    def _pg_connection(self, conninfo: str, *, fresh: bool = False) -> Any:
        """This register's psycopg connection for reads, opened on first use and kept (a command
        reads the generation, then a neighbourhood or the rows since: one connection instead of
        one per read, ~6 ms and a server process each). Closed by close(), or when the register
        is collected (weakref.finalize: never left to psycopg's warning); ``fresh`` replaces one
        the server has ended."""
        import weakref

        import psycopg

        if self._pg is not None and (fresh or self._pg[0].closed):
            self.close_reads()
        if self._pg is None:
            con = psycopg.connect(conninfo, autocommit=True, options=store.PG_OPTIONS)
            self._pg = (con, weakref.finalize(self, con.close))
        return self._pg[0]

    def close_reads(self) -> None:
        """Close the read connection (the next read opens another)."""
        if self._pg is not None:
            self._pg[1]()  # the finalizer: closes the connection, once
            self._pg = None

    # --- the snapshot --------------------------------------------------------------------

    def _sqlite_generation(self) -> str | None:
        """The register's generation read with the stdlib driver: fast, no ORM import."""
        path = self.sqlite_path
        assert path is not None
        try:
            con = sqlite3.connect(store.sqlite_read_uri(path), uri=True, timeout=30)
            try:
                rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
                with contextlib.suppress(sqlite3.Error):  # registers made before Alembic have none
                    rows["revision"] = con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return None
        return _judged(rows)

    def _pg_conninfo(self) -> str | None:
        """The libpq URI of a PostgreSQL register read through psycopg (None: no fast path)."""
        for prefix in ("postgresql+psycopg://", "postgresql://"):
            if self.url.startswith(prefix):
                return "postgresql://" + self.url.removeprefix(prefix)
        return None

    def _pg_generation(self) -> str | None:
        """PostgreSQL: the generation read with psycopg alone (the SQLite fast path's twin: no
        SQLAlchemy import to answer from the snapshot cache). None when there is no register yet."""
        conninfo = self._pg_conninfo()
        if conninfo is None:
            return None
        try:
            import psycopg
        except ImportError:
            return None
        try:
            for attempt in (0, 1):
                con = self._pg_connection(conninfo, fresh=attempt == 1)
                try:
                    rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
                except psycopg.errors.UndefinedTable:
                    return None
                except psycopg.OperationalError:
                    if attempt == 1 or self._pg is None:
                        raise
                    continue  # a kept connection the server ended (restarted, or the session terminated)
                with contextlib.suppress(psycopg.errors.UndefinedTable):  # none before Alembic
                    found = con.execute("SELECT version_num FROM alembic_version").fetchone()
                    if found:
                        rows["revision"] = found[0]
                break
        except psycopg.Error as exc:
            self.close_reads()
            raise store.driver_failure(self.url, exc) from None
        return _judged(rows)

    def generation(self) -> str:
        if self.sqlite_path is not None:
            found = self._sqlite_generation()
            if found is not None:
                return found
        found = self._pg_generation()
        if found is not None:
            return found
        with store.db_errors(self.url), self.engine.connect() as conn:
            rows = store.meta(conn)
        return _generation(rows)

    def cache_path(self) -> Path:
        path = self.sqlite_path
        if path is not None:
            return path.with_name(path.name + ".snapshot")
        import hashlib

        from platformdirs import user_cache_dir

        digest = hashlib.sha256(_without_password(self.url).encode()).hexdigest()[:16]
        folder = Path(user_cache_dir("merger", appauthor=False))
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{digest}.snapshot"

    @property
    def snapshot(self) -> graph.Snapshot:
        """The lineage snapshot, from the cache file when it matches the register's generation.

        A stale cache is brought up to date with the rows written since (merger.cache.refresh_columns),
        not rebuilt; ``--as-recorded`` views are derived from the same cached rows.
        """
        gen = self.generation()
        if self._snapshot is not None and self._snapshot.generation == gen:
            return self._snapshot
        with no_gc():  # parsing the cache makes thousands of lists: no collector passes over them
            columns, gen = self._columns(gen)
        self._snapshot = graph.from_columns(gen, columns, self.as_recorded)
        return self._snapshot

    def _columns(self, gen: str, unread: dict[str, tuple[int, ...]] | None = None) -> tuple[cache.Columns, str]:
        """The register's rows by column: the cache if current, else the cache plus what changed,
        else all. ``unread``: columns the caller will not read, left undecoded in the cache
        (cache.read_columns); to write the cache anew, every column is read."""
        if store.is_memory(self.url):  # --db :memory: keeps nothing, so nothing is cached for it
            with self._reading() as query:
                return cache.columns_of(cache.read_all(query)), gen
        path = self.cache_path()
        found = cache.read_columns(path, unread)
        if found is not None and found[0] == gen:
            return found[1], gen
        skip = (unread or {}).get("event", ())
        with self._reading() as query:
            now = self._generation_in(query)
            if found is not None and _follows(found[0], now) and _same_history(found[1], query, skip):
                columns, changed = cache.refresh_columns(found[1], query, in_place=True)  # read just now: ours
                if changed <= REWRITE_AFTER:  # a few writes behind: read them again next time
                    return columns, now
                if unread:  # the cache is to be written anew: every column of it is needed
                    found = cache.read_columns(path)
                    if found is not None and _follows(found[0], now):
                        columns, _ = cache.refresh_columns(found[1], query, in_place=True)
                    else:
                        columns = cache.columns_of(cache.read_all(query))
            else:
                columns = cache.columns_of(cache.read_all(query))
        with contextlib.suppress(OSError):  # a read-only location only costs speed
            cache.write_columns(path, now, columns)
        return columns, now

    def _generation_in(self, query: cache.Query) -> str:
        rows = dict(query("SELECT key, value FROM meta"))
        # Registers made before Alembic (or restored by import-register) have no alembic_version.
        # Ask whether it exists instead of trying: on PostgreSQL a failed statement would abort
        # the read transaction for every statement after it.
        exists = ("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
                  if self.url.startswith("sqlite") else  # a file, or --db :memory:
                  "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'alembic_version' "
                  "AND table_schema = current_schema()")
        if query(exists)[0][0]:
            rows["revision"] = query("SELECT version_num FROM alembic_version")[0][0]
        return _judged(rows)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[cache.Query]:
        """One read transaction (one committed state) through the lightest driver there is:
        stdlib sqlite3, psycopg, else SQLAlchemy."""
        path = self.sqlite_path
        if path is not None:
            try:
                con = sqlite3.connect(store.sqlite_read_uri(path), uri=True, timeout=30, isolation_level=None)
                try:
                    con.execute("BEGIN")
                    yield lambda sql: con.execute(sql).fetchall()
                finally:
                    con.close()
            except sqlite3.Error as exc:
                raise StoreError(_("cannot use the register at {path}: {exc}").format(path=path, exc=exc)) from None
            return
        conninfo = self._pg_conninfo()
        try:
            import psycopg
        except ImportError:
            conninfo = None
        if conninfo is not None:
            try:
                con = self._pg_connection(conninfo)
                if con.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    # a read inside a read: its own connection, as every read had before
                    with psycopg.connect(conninfo, autocommit=True, options=store.PG_OPTIONS) as other:
                        other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                        yield lambda sql: other.execute(sql).fetchall()
                        other.execute("COMMIT")
                    return
                try:
                    con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                except psycopg.OperationalError:  # a kept connection the server ended
                    con = self._pg_connection(conninfo, fresh=True)
                    con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                try:
                    yield lambda sql: con.execute(sql).fetchall()
                except BaseException:
                    with contextlib.suppress(psycopg.Error):
                        con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            except psycopg.Error as exc:
                self.close_reads()
                raise store.driver_failure(self.url, exc) from None
            return
        with store.db_errors(self.url), store.reading(self.engine) as conn:
            yield graph.sqlalchemy_query(conn)

    def _written(self, outcome: recording.Outcome) -> recording.Outcome:
        """After a write commits: the snapshot in memory is stale. The cache file is left to the
        next reader of the whole register, who brings it up to date by the rows written
        (cache.refresh_columns); one-unit questions do not need it (Register.around). Refreshing it here
        would add a cache read and write to every record."""
        if outcome.written:
            self.invalidate()
        return outcome

    def invalidate(self) -> None:
        self._snapshot = None
        self._rows = None

    def columns_at(self, query: cache.Query) -> cache.Columns | None:
        """The register's rows by column as ``query`` (a write's transaction) reads them, from the
        snapshot cache: as it is if it is of this generation, else plus the rows written since
        (cache.refresh_columns, as readers do); None without a usable cache. A write planned on the
        whole register reads this (~0.1 s) instead of every row through SQL (~0.4 s, more on
        PostgreSQL)."""
        if store.is_memory(self.url):
            return None
        found = cache.read_columns(self.cache_path())
        if found is None or not _same_history(found[1], query):
            return None
        now = self._generation_in(query)
        if found[0] == now:
            return found[1]
        if _follows(found[0], now):
            return cache.refresh_columns(found[1], query, in_place=True)[0]  # read just now: ours
        return None

    # --- questions -----------------------------------------------------------------------

    def resolve(self, query: str, *, as_of: date | None = None, levels: set[str] | None = None,
                kind: str | None = None, containers: bool = False) -> search.Match:
        return search.resolve(self.snapshot, query, as_of=as_of, levels=levels, kind=kind,
                              containers=containers)

    def around(self, query: str) -> graph.Snapshot:
        """A snapshot of what a question about ``query`` needs: the versions it may name and their
        neighbourhood (merger.cache.read_around), read through indexes instead of the whole
        register; the whole snapshot when that is in memory already or the query cannot be seeded."""
        seeds = search.seed_sql(query, sqlite=self.sqlite_path is not None)
        if self._snapshot is not None or seeds is None:
            return self.snapshot
        return self._around(seeds)

    def around_keys(self, keys: Iterable[str]) -> graph.Snapshot:
        """As ``around``, for questions that already know their version keys (``merger locate``
        of one point: the few units whose box holds it)."""
        if self._snapshot is not None:
            return self.snapshot
        quoted = ", ".join("'" + k.replace("'", "''") + "'" for k in keys)
        return self._around(f"SELECT id FROM version WHERE key IN ({quoted or 'NULL'})")

    def reading(self) -> contextlib.AbstractContextManager[cache.Query]:
        """One read transaction through the lightest driver (as the snapshot is read), giving
        ``query(sql) -> rows``: for library questions that need a few stored columns, not the snapshot."""
        return self._reading()

    def _around(self, seeds: str) -> graph.Snapshot:
        with self._reading() as q:
            gen = self._generation_in(q)
            if q("SELECT id FROM version WHERE folded IS NULL LIMIT 1"):
                tables = None  # written by something that did not fold names: read it all
            else:
                tables = cache.read_around(q, seeds)
        if tables is None:
            return self.snapshot
        return graph.from_tables(gen, tables, self.as_recorded)

    def _resolve_around(self, query: str, as_of: date | None) -> tuple[graph.Snapshot, search.Match]:
        """Resolve on the neighbourhood; a name it does not find is looked for again in the whole
        register (for the suggestions of close names)."""
        snap = self.around(query)
        try:
            # close names only when this is the whole register: otherwise it is asked next
            match = search.resolve(snap, query, as_of=as_of, suggestions=snap is self._snapshot)
        except NotFound:
            if snap is self._snapshot:
                raise
            snap = self.snapshot
            match = search.resolve(snap, query, as_of=as_of)
        self.answered_from = snap
        return snap, match

    def show(self, query: str, *, as_of: date | None = None) -> UnitHistory:
        snap, match = self._resolve_around(query, as_of)
        out = []
        for v in snap.by_unit[match.unit_id]:
            out.append(VersionHistory(v, snap.parent_of(v), snap.predecessors(v), snap.successors(v)))
        return UnitHistory(match.version.unit_key, out)

    def lineage(self, query: str, *, direction: lineage.Direction | None = None,
                as_of: date | None = None, depth: int | None = None) -> lineage.Lineage:
        from merger import lineage  # imported by the command that uses it (start-up time)

        if depth is not None and depth < 1:
            raise BadInput(_("--depth must be at least 1"))
        snap, match = self._resolve_around(query, as_of)
        try:
            start, direction = lineage.pick_version(snap.by_unit[match.unit_id], as_of, direction)
        except ValueError as exc:
            raise NotFound(f"{query} {exc}") from None
        if snap is not self._snapshot and any(lk.succ is None for lk in snap.successors(start)):
            # a unit dissolved without successor: where its sub-units went needs the whole register
            snap = self.snapshot
            self.answered_from = snap
            start = snap.versions[start.id]
        return lineage.trace(snap, start, direction, depth)

    def _part(self, pick: Callable[[cache.Query], set[int] | None]) -> graph.Snapshot | None:
        """A snapshot of the versions ``pick`` selects (a superset of what a question reads) and
        what deriving them needs (merger.partial.read), instead of the whole register; None when
        the whole snapshot is in memory already, or ``pick`` cannot select (read it all then)."""
        if self._snapshot is not None:
            return None
        with self._reading() as q:
            gen = self._generation_in(q)
            if q("SELECT id FROM version WHERE folded IS NULL LIMIT 1"):
                return None  # written by something that did not fold names: read it all
            ids = pick(q)
            if ids is None:
                return None
            tables = partial.read(q, ids)
        return graph.from_tables(gen, tables, self.as_recorded)

    def _prefixes(self, q: cache.Query) -> list[str | None]:
        """The register's type-word prefixes (merger.partial.prefixes: a scan of every version),
        kept beside the snapshot cache for this generation, so a search reads only two indexes."""
        gen = self._generation_in(q)
        path = None if store.is_memory(self.url) else self.cache_path().with_name(self.cache_path().name + ".prefixes")
        found = cache.read_note(path, gen) if path is not None else None
        if found is None:
            found = partial.prefixes(q)
            if path is not None:
                with contextlib.suppress(OSError):  # a read-only location only costs speed
                    cache.write_note(path, gen, found)
        return found

    def _territory(self, within: str) -> tuple[graph.Snapshot, graph.V]:
        """What a count or list within ``within`` reads, and the unit's version, in one read
        transaction (one connection: on PostgreSQL each costs a round trip and a backend): the
        name resolved on its neighbourhood (units that hold others preferred, as ``--within``
        does), then the unit's territory (merger.partial.territory). Where the name is not
        found or stays ambiguous there, the whole register answers (its suggestions, its list)."""
        seeds = search.seed_sql(within, sqlite=self.sqlite_path is not None)
        if self._snapshot is None and seeds is not None:
            with self._reading() as q:
                gen = self._generation_in(q)
                if not q("SELECT id FROM version WHERE folded IS NULL LIMIT 1"):
                    near = graph.from_tables(gen, cache.read_around(q, seeds), self.as_recorded)
                    holders = partial.holders(q, set(near.by_unit))
                    try:
                        match = search.resolve(near, within, containers=True, holders=holders, suggestions=False)
                    except (NotFound, Ambiguous):
                        match = None
                    if match is not None:
                        tables = partial.read(q, partial.territory(q, match.unit_id))
                        snap = graph.from_tables(gen, tables, self.as_recorded)
                        return snap, snap.versions[match.version.id]
        snap = self.snapshot
        return snap, search.resolve(snap, within, containers=True).version

    def counts(self, *, before: date = REFORM_BEFORE, after: date = REFORM_AFTER,
               within: str | None = None, kind: str = "admin") -> counts.Counts:
        """Counted on the unit's territory (merger.partial.territory) or, nationally, in SQL
        (versions no recorded event touches) plus the touched ones derived in Python."""
        _one_of(kind, KINDS, "kind")
        if within is not None:
            snap, unit = self._territory(within)
            return counts.count(snap, before, after, unit, kind)
        if self._snapshot is not None:
            return counts.count(self._snapshot, before, after, None, kind)
        with self._reading() as q:
            gen = self._generation_in(q)
            touched = partial.touched(q)
            cb, ca = partial.count_stored(q, (before, after), kind, touched)
            tables = partial.read(q, touched) if touched else None
        if tables is not None:
            snap = graph.from_tables(gen, tables, self.as_recorded)
            for day, tally in ((before, cb), (after, ca)):
                tally.update((v.level, v.type) for v in snap.versions.values()
                             if v.id in touched and v.kind == kind and v.valid_on(day))
        return counts.tally(before, after, None, cb, ca)

    def units(self, *, as_of: date, within: str | None = None, level: str | None = None,
              type_: str | None = None, kind: str | None = "admin") -> list[graph.V]:
        """The units valid on ``as_of``; the snapshot they were read from is ``answered_from``
        (their parents are in it)."""
        _one_of(level, counts.LEVELS, "level")
        _one_of(kind, KINDS, "kind")
        if type_:
            from merger.names import fold

            known = sorted(self._types(kind))
            if fold(type_) not in {fold(t) for t in known}:
                raise BadInput(_("unknown type {type!r}; the register's types are: {join}").format(type=type_, join=', '.join(known)))
        if within is not None:
            snap, unit = self._territory(within)
            found = [v for v in counts.territory_on(snap, unit, as_of, kind) if v.unit_id != unit.unit_id]
        else:
            snap = self._part(lambda q: partial.valid_on(q, as_of)) or self.snapshot
            found = snap.valid_on(as_of, kind)
        self.answered_from = snap
        if level:
            found = [v for v in found if v.level == level]
        if type_:
            from merger.names import fold

            found = [v for v in found if fold(v.type) == fold(type_)]
        return sorted(found, key=lambda v: (counts.LEVELS.index(v.level) if v.level in counts.LEVELS else 9,
                                            v.code))

    def _types(self, kind: str | None) -> set[str]:
        """The types of the register's versions (of ``kind``), as the snapshot has them."""
        if self._snapshot is None:
            with self._reading() as q:
                gen = self._generation_in(q)
                stored = partial.types_stored(q, kind)
                touched = partial.touched(q)
                tables = partial.read(q, touched) if touched else None
            if tables is None:
                return stored
            snap = graph.from_tables(gen, tables, self.as_recorded)
            return stored | {v.type for v in snap.versions.values()
                             if v.id in touched and (kind is None or v.kind == kind)}
        return {v.type for v in self._snapshot.versions.values() if kind is None or v.kind == kind}

    def unrecorded_before(self, kind: str | None = "admin") -> date | None:
        """The last day whose state the register knows: the day before its first recorded change
        (of units of ``kind``: agencies' history may start earlier than the units' own).

        Units in force then have no recorded start; asked about an earlier day, the register can
        only answer with that state, and callers should say so."""
        def linked(snap: graph.Snapshot) -> list[date]:  # one pass over the links, not per event
            return [link.event.effective for link in snap.links if link.event.id in snap.events
                    and any(v is not None and (kind is None or v.kind == kind) for v in (link.pred, link.succ))]

        if self._snapshot is not None:
            found = linked(self._snapshot)
        else:  # bundled, uncorrected events in SQL; recorded or corrected ones derived in Python
            with self._reading() as q:
                gen = self._generation_in(q)
                first = partial.first_event_stored(q, kind)
                others = partial.other_events(q)
                tables = partial.read(q, others) if others else None
            found = [first] if first is not None else []
            if tables is not None:
                found += linked(graph.from_tables(gen, tables, self.as_recorded))
        first_day = min(found, default=None)
        return first_day - timedelta(days=1) if first_day is not None else None

    def search(self, text: str, *, limit: int = 50, as_of: date | None = None) -> list[graph.V]:
        """Read through the trigram, folded-name and code indexes (merger.partial.search_ids) the versions
        that may match, not the register; ``answered_from`` holds them with their parents."""
        from merger.names import fold

        folded = fold(text)
        if not folded:  # refused by search.search before it reads anything
            return search.search(graph.Snapshot("", {}, {}, [], {}), text, limit=limit, as_of=as_of)
        sqlite = self.url.startswith("sqlite")  # its trigram index is an FTS5 table (merger.textindex)
        snap = self._part(lambda q: partial.search_ids(q, folded, text, self._prefixes(q), sqlite=sqlite,
                                                       limit=limit, as_of=as_of)) or self.snapshot
        self.answered_from = snap
        return search.search(snap, text, limit=limit, as_of=as_of)

    def _checked_rows(self, *, names: bool = True) -> cache.Derived:
        """The snapshot's rows by column (what its objects are made from), without making the
        objects, and only the columns the integrity rules read (merger.check_rows.unread: the
        others hold None; no statistics); ``names=False``: nor the versions' keys and names
        and the events' keys, which only messages show."""
        from merger import check_rows

        gen = self.generation()
        if self._rows is not None and self._rows[0] == gen and (self._rows[1] or not names):
            return self._rows[2]
        with no_gc(freeze=True):
            columns, gen = self._columns(gen, check_rows.unread(self.as_recorded is not None, names=names))
            derived = cache.derive_columns(columns, self.as_recorded, stats=False, unit_keys=False)
        self._rows = (gen, names, derived)
        return derived

    def integrity(self, *, gaps_only: bool = False) -> check_rows.Report:
        """What ``merger check`` says: the violations (or, ``gaps_only``, the source gaps and the
        disagreements listed instead), the gaps and the disagreements counted, the register's
        size. The rules run on the rows by column (merger.check_rows), not on the snapshot's
        objects; a register found sound is read without the keys and names only messages show
        (the common case), one with violations read again with them."""
        from merger import check_rows

        if not gaps_only:
            rows = self._checked_rows(names=False)
            with no_gc(freeze=True):  # the rules make thousands of short-lived tuples: no collector passes over the rows
                said = check_rows.report(rows, names=False)
            if not said.violations:
                return said
        rows = self._checked_rows()
        with no_gc(freeze=True):
            return check_rows.report(rows, gaps_only=gaps_only)

    def check(self) -> list[Violation]:
        from merger import check_rows

        return check_rows.check(self._checked_rows())

    def source_gaps(self) -> list[Violation]:
        """Where the sources leave a unit's successor or origin unknown (not errors)."""
        from merger import check_rows

        return check_rows.source_gaps(self._checked_rows())

    def disagreements(self) -> list[Violation]:
        """Changes recorded from one source that another source contradicts (not errors)."""
        from merger import check_rows

        return check_rows.disagreements(self._checked_rows())

    # --- recording (see merger.recording) ----------------------------------------------------
    # The write entry points: each is one transaction; a hook run after a write commits can wrap them.

    def record(self, spec: recording.Spec, *, by: str | None = None, dry_run: bool = False,
               at: datetime | None = None) -> recording.Outcome:
        """Validate and write one event in one transaction (nothing is written on refusal)."""
        from merger import recording

        return self._written(recording.write(self, [spec], by=by, dry_run=dry_run, at=at, origin="cli"))

    def apply(self, specs: list[recording.Spec], *, by: str | None = None, dry_run: bool = False,
              at: datetime | None = None, origin: str = "annex",
              progress: Callable[[str, int, int], None] | None = None) -> recording.Outcome:
        """Write a batch of events atomically: all of them, or none with every problem listed."""
        from merger import recording

        return self._written(recording.write(self, specs, by=by, dry_run=dry_run, at=at, origin=origin, progress=progress))

    def log(self, *, since: datetime | date | None = None, by: str | None = None, act: str | None = None,
            unit: str | None = None, include_bundled: bool = False,
            as_of: date | None = None) -> list[recording.LogEntry]:
        """Every event recorded (and every correction), oldest first, as recorded at
        ``as_recorded``; nothing is ever removed."""
        from merger import recording

        return recording.log(self, since=since, by=by, act=act, unit=unit, include_bundled=include_bundled,
                             as_of=as_of)

    def revoke(self, event_key: str, *, reason: str, by: str | None = None,
               at: datetime | None = None) -> recording.Outcome:
        """Mark a recorded event revoked (kept, with who, when and why); its effects disappear."""
        from merger import recording

        return self._written(recording.revoke(self, event_key, reason=reason, by=by, at=at))

    def amend(self, event_key: str, changes: dict, *, reason: str, by: str | None = None,
              dry_run: bool = False, at: datetime | None = None) -> recording.Outcome:
        """Supersede a recorded event by a corrected one (metadata: re-issued; structure: re-planned)."""
        from merger import recording

        return self._written(recording.amend(self, event_key, changes, reason=reason, by=by, dry_run=dry_run, at=at))


def _judged(rows: dict[str, str]) -> str:
    """Refuse a register of another schema (read from its meta rows); else its generation."""
    from merger import migrations

    if rows.get("revision", migrations.HEAD) not in migrations.REVISIONS:
        raise StoreError(_("this register's schema (revision {revision}) is newer than this program's ({head}); "
                           "upgrade merger").format(revision=rows['revision'], head=migrations.HEAD))
    if int(rows.get("schema_version", "0")) > store.SCHEMA_VERSION:
        raise StoreError(_("this register has schema version {schema_version}, newer than this program's "
                           "({schema_version2}); upgrade merger").format(schema_version=rows['schema_version'], schema_version2=store.SCHEMA_VERSION))
    if int(rows.get("schema_version", "0")) < store.SCHEMA_VERSION:
        raise StoreError(store.older_schema(rows.get("schema_version", "0")))
    return _generation(rows)


def _generation(rows: dict[str, str]) -> str:
    """What the snapshot cache keys on: the build, the schema, the mark of the last write and the
    count of writes since the build (a register put back from a copy and written again reaches
    counts it had, with other rows: the mark tells them apart)."""
    return (f"{rows.get('bundle_digest', '')}|{rows.get('built_at', '')}|{rows.get('schema_version', '')}|"
            f"{rows.get('revision', '')}|{rows.get(store.LAST_WRITE, '')}|{rows.get('generation', '0')}")


def _split(generation: str) -> tuple[str, str, str]:
    """(build and schema, mark of the last write, count of writes) of a generation; a generation
    noted before writes were marked has no mark."""
    parts = generation.split("|")
    if len(parts) >= 6:
        return "|".join(parts[:-2]), parts[-2], parts[-1]
    return "|".join(parts[:-1]), "", parts[-1]


# How many rows written since the cache was may be read again by every reader before one writes
# the cache anew. Rewriting it (~4 MB at the national size) cost the first whole-register read
# after each write more than the read itself; reading a few hundred rows by their ids costs
# milliseconds.
REWRITE_AFTER = 1000


def _same_history(columns: cache.Columns, query: cache.Query, unread: tuple[int, ...] = ()) -> bool:
    """The last event the cache holds is in the register as the cache has it (events are never
    changed in place, and each carries its time of recording). A generation counts writes, so a
    register file put back from an older copy and written again can pass the cache's count with
    other rows: neither a write nor a reader's delta may start from those. ``unread``: the event
    columns the cache was read without (cache.read_columns), not compared."""
    ids = columns["event"][0]
    if not ids:
        return True
    last = ids[-1]
    found = cache.rows_where(query, "event", f"id = {int(last)}").get(last)
    if found is None:
        return False
    return all(i in unread or a == c[-1] for i, (a, c) in enumerate(zip(found, columns["event"], strict=True)))


def _follows(cached: str, now: str) -> bool:
    """The cache is of this register's build and schema, at or before this generation: a delta
    brings it up to date, if the register still holds the cache's rows (``_same_history``: the
    caller asks; a register put back from a copy may have been written past the cache's count).
    At the same count, only the same write."""
    old_base, old_mark, old = _split(cached)
    base, mark, new = _split(now)
    if old_base != base or not (old.isdigit() and new.isdigit()):
        return False
    return int(old) < int(new) or (old == new and old_mark == mark)


def _without_password(url: str) -> str:
    """The URL without its password, without importing SQLAlchemy (keys the snapshot cache)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{netloc}"))


def recorded_limit(value: datetime | date | None) -> datetime | None:
    """``--as-recorded``: a datetime as given (UTC if naive); a date means the end of that day, UTC."""
    from datetime import UTC, time, timedelta

    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(microseconds=1)


def _one_of(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    """Refuse a filter value that can match nothing, naming the ones that can."""
    if value is not None and value not in allowed:
        raise BadInput(_("unknown {what} {value!r}; one of: {join}").format(what=what, value=value, join=', '.join(allowed)))


__all__ = ["Register", "MergerError", "UnitHistory", "VersionHistory"]
