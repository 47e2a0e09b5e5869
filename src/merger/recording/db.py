"""The write's database connection: the stdlib ``sqlite3`` driver for an embedded register,
``psycopg`` for PostgreSQL — no SQLAlchemy on the write path (issue 12), as on the read path.

Importing SQLAlchemy cost a recording command more than half of its time. The transaction
semantics are the ones store.begin_write gives a SQLAlchemy connection (and that other writers,
such as ``merger overlap --store-weights``, still use), so both kinds of writer queue for one lock:

- planning reads in one read transaction (SQLite: ``BEGIN`` in WAL mode; PostgreSQL:
  ``REPEATABLE READ, READ ONLY``), holding no lock;
- the write takes the write lock with its first statement (SQLite: ``BEGIN IMMEDIATE``, queueing
  behind other writers for up to ``store.WRITE_WAIT_SECONDS``, then ``store.BUSY``; PostgreSQL:
  ``LOCK TABLE meta IN EXCLUSIVE MODE``), re-reads the generation, inserts every row, bumps the
  generation and commits — or rolls back on any error, leaving nothing.

SQLite sessions get the pragmas store.make_engine sets (WAL, foreign keys, busy timeout,
``synchronous=NORMAL``: a commit survives a killed process); PostgreSQL sessions run in UTC and
read times back as naive UTC (store._pg_naive_utc), as the SQLAlchemy engine does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from merger import store
from merger.errors import StoreError
from merger.i18n import _
from merger.recording import tables


class Connection:
    """One connection a write plans, checks and inserts through. Calling it runs plain SQL and
    returns the rows, so it is also a ``cache.Query`` for the neighbourhood reads."""

    def __init__(self, raw: Any, dialect: str, url: str) -> None:
        self.raw = raw
        self.dialect = dialect  # "sqlite" or "postgresql"
        self.url = url

    def __call__(self, sql: str) -> list:
        return self.query(sql)

    def _sql(self, sql: str) -> str:
        """qmark placeholders (``?``) as the driver wants them (psycopg: ``%s``, ``%`` doubled)."""
        return sql.replace("%", "%%").replace("?", "%s") if self.dialect == "postgresql" else sql

    def query(self, sql: str, params: tuple | list | None = None) -> list:
        """The rows of ``sql`` (without parameters, the text is sent as it is: LIKE '%' stays)."""
        if params is None:
            return self.raw.execute(sql).fetchall()
        return self.raw.execute(self._sql(sql), tuple(params)).fetchall()

    def value(self, sql: str, params: tuple | list | None = None) -> Any:
        """The first column of the first row (None for no row)."""
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, params: tuple | list | None = None) -> None:
        if params is None:
            self.raw.execute(sql)
        else:
            self.raw.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        if not rows:
            return
        if self.dialect == "postgresql":
            with self.raw.cursor() as cur:
                cur.executemany(self._sql(sql), rows)
        else:
            self.raw.executemany(sql, rows)

    # --- transactions ------------------------------------------------------------------------

    def begin_read(self) -> None:
        """A read transaction: every statement sees one committed state, and no lock is held."""
        self.raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if self.dialect == "postgresql"
                         else "BEGIN")

    def begin_write(self) -> None:
        """A write transaction holding the write lock from its first statement (module doc)."""
        if self.dialect == "postgresql":
            self.raw.execute("BEGIN")
            self.raw.execute("LOCK TABLE meta IN EXCLUSIVE MODE")
            return
        import time

        deadline = time.monotonic() + store.WRITE_WAIT_SECONDS
        while True:
            try:
                self.raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
            if self.raw.in_transaction:
                self.raw.execute("ROLLBACK")
            if time.monotonic() >= deadline:
                raise StoreError(store.BUSY)
            time.sleep(0.05)

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        """End the transaction, if one is open, writing nothing."""
        if self.dialect == "postgresql":
            from psycopg import pq

            if self.raw.info.transaction_status != pq.TransactionStatus.IDLE:
                self.raw.execute("ROLLBACK")
        elif self.raw.in_transaction:
            self.raw.execute("ROLLBACK")

    # --- the register's write counter and new rows ------------------------------------------------

    def generation(self) -> str:
        """The register's write counter as this transaction sees it (as store.generation)."""
        found = self.value("SELECT value FROM meta WHERE key = 'generation'")
        return str(found or "0")

    def bump_generation(self) -> str:
        """Advance the generation inside the write transaction (snapshot caches key on it), with
        a new mark of the write (as store.bump_generation)."""
        counted = str(int(self.value("SELECT value FROM meta WHERE key = 'generation'") or "0") + 1)
        for key, value in (("generation", counted), (store.LAST_WRITE, store.write_mark())):
            if self.value("SELECT 1 FROM meta WHERE key = ?", (key,)) is None:
                self.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            else:
                self.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
        return counted

    def max_id(self, table: str) -> int:
        """The largest id of ``table`` (0 when empty)."""
        return int(self.value(f"SELECT MAX(id) FROM {_table(table)}") or 0)

    def new_ids(self, table: str, n: int) -> list[int]:
        """``n`` new ids for ``table``: from its sequence on PostgreSQL (what a plain insert would
        take, with the same privilege), after the largest on SQLite (the write lock is held)."""
        if n <= 0:
            return []
        if self.dialect == "postgresql":
            rows = self.query(f"SELECT nextval(pg_get_serial_sequence('{_table(table)}', 'id')) "
                              f"FROM generate_series(1, {int(n)})")
            return [int(r[0]) for r in rows]
        start = self.max_id(table)
        return list(range(start + 1, start + n + 1))

    def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` (each with its id) into ``table``, in one statement per table."""
        self.executemany(tables.insert_sql(table), [tables.row(table, r, self.dialect) for r in rows])

    def bind(self, value: Any) -> Any:
        """A parameter as this store keeps it (SQLite: dates and times as text)."""
        return tables.bind(value, self.dialect)


def _table(name: str) -> str:
    if name not in tables.COLUMNS:
        raise KeyError(name)
    return name


@contextmanager
def connect(reg: Any) -> Iterator[Connection]:
    """A write connection to ``reg`` (its ``url`` and ``read_only``), refused before anything is
    opened when the register is read-only or in memory. Driver errors become one StoreError line
    (store.driver_error), with the URL's password hidden; the connection is always closed."""
    url = reg.url
    if getattr(reg, "read_only", False):
        raise StoreError(store.READ_ONLY)
    if store.is_memory(url):
        raise StoreError(store.IN_MEMORY)
    path = store.sqlite_file(url)
    if path is not None:
        dialect, error = "sqlite", sqlite3.Error
        with _errors(url, error):
            raw = _sqlite(path)
    else:
        conninfo = pg_conninfo(url)
        try:
            import psycopg
        except ImportError:
            conninfo = None
        if conninfo is None:
            raise StoreError(_("cannot use database {redact}: not a SQLite file or a PostgreSQL URL "
                               "(postgresql+psycopg://…)").format(redact=store.redact(url)))
        dialect, error = "postgresql", psycopg.Error
        with _errors(url, error):
            raw = psycopg.connect(conninfo, autocommit=True, options=store.PG_OPTIONS)
            store._pg_naive_utc(raw, None)
    try:
        with _errors(url, error):
            yield Connection(raw, dialect, url)
    finally:
        raw.close()


def _sqlite(path: Any) -> sqlite3.Connection:
    """The embedded register, opened for writing (never created: mode=rw) with the engine's pragmas."""
    from urllib.parse import quote

    con = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, isolation_level=None,
                          timeout=store.BUSY_TIMEOUT_MS / 1000)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute(f"PRAGMA busy_timeout={int(store.BUSY_TIMEOUT_MS)}")
        con.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        con.close()
        raise
    return con


def pg_conninfo(url: str) -> str | None:
    """The libpq URI of a PostgreSQL register's URL (None: not one psycopg opens)."""
    for prefix in ("postgresql+psycopg://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    return None


@contextmanager
def _errors(url: str, kind: type[BaseException]) -> Iterator[None]:
    try:
        yield
    except kind as exc:
        raise store.driver_failure(url, exc) from None  # (its words scrubbed: never a password)
