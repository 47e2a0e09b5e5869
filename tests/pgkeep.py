"""psycopg connections kept between the uses a test process makes of them, as a pool would.

Each in-process CLI run and each register a test opens on PostgreSQL connects anew, as the real
one-command process does: a server process each, ~4 ms of the server's CPU to start it and
~10 ms more to load the catalog entries of the register's tables into its caches before the
first answer. A run makes thousands. Here ``psycopg.connect`` is wrapped, in the test processes
only (not in the CLI subprocesses the tests start), so that a connection the product closes is
kept, put back as a new one would be, and given to the next ``connect`` with the same arguments.

Put back as new: the transaction ended, ``DISCARD ALL`` (prepared statements, session settings,
temporary tables, and psycopg's record of what it prepared), autocommit and the transaction
characteristics as connect leaves them; given out with the type adapters a new connection would
have (the product registers some on its write connections; a new one starts from psycopg's, or
from a copy of SQLAlchemy's ``context`` map). One that the server has
ended (a test ends the sessions of a database before dropping or copying it) is closed, not
given. The product's own code runs unchanged: what a test sees differently is only that the
server process behind a connection may have served an earlier one.
"""

from __future__ import annotations

import contextlib
import functools
import select
import threading
from collections import OrderedDict
from typing import Any


class Keeper:
    """Idle connections by the arguments they were made with; at most ``limit`` kept."""

    def __init__(self, connect: Any, limit: int = 8) -> None:
        self.real = self._connect = connect
        self._idle: OrderedDict[int, tuple[Any, Any]] = OrderedDict()  # id(conn) -> (key, conn)
        self.limit = limit
        self.made = self.reused = 0
        self._leases = 0
        self._lock = threading.Lock()  # the suite runs no threads; a product that did stays safe

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        context = kwargs.get("context")
        try:
            key = (args, tuple(sorted((k, v) for k, v in kwargs.items() if k != "context")))
            hash(key)
        except TypeError:
            return self._connect(*args, **kwargs)
        with self._lock:
            taken = self._take(key)
        if taken is not None:
            _adapters(taken, context)
            return taken
        conn = self._connect(*args, **kwargs)
        conn._kept_autocommit = conn.autocommit
        with self._lock:
            self.made += 1
            return self._lend(conn, key)

    def _take(self, key: Any) -> Any:
        """An idle connection made with ``key``, lent; None when there is none alive."""
        for ident, (found, conn) in reversed(list(self._idle.items())):
            if found != key:
                continue
            del self._idle[ident]
            if not _alive(conn):
                _really_close(conn)
                continue
            self.reused += 1
            return self._lend(conn, key)
        return None

    def _lend(self, conn: Any, key: Any) -> Any:
        """``conn`` with a ``close`` that gives it back, for this loan only: a second close, or one
        kept from an earlier loan (a finalizer), does nothing."""
        self._leases += 1
        conn._kept_lease = self._leases
        conn.close = functools.partial(self._give_back, conn, key, self._leases)
        return conn

    def _give_back(self, conn: Any, key: Any, lease: int) -> None:
        """``conn.close()``: keep the connection, reset as connect made it (or close it)."""
        from psycopg import pq

        with self._lock:
            if conn._kept_lease != lease:
                return
            conn._kept_lease = None
        if conn.closed or conn.broken:
            _really_close(conn)
            return
        try:
            status = conn.info.transaction_status
            if status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR):
                conn.rollback()
            elif status != pq.TransactionStatus.IDLE:  # a query still running, a COPY
                _really_close(conn)
                return
            conn.autocommit = True
            conn.execute("DISCARD ALL")
            _statements(conn)
            conn.isolation_level = conn.read_only = conn.deferrable = None
            conn.autocommit = conn._kept_autocommit
        except Exception:  # any trouble: not kept
            _really_close(conn)
            return
        with self._lock:
            self._idle[id(conn)] = (key, conn)
            evicted = [self._idle.popitem(last=False)[1][1] for _ in range(len(self._idle) - self.limit)]
        for oldest in evicted:
            _really_close(oldest)

    def forget(self, database: str) -> None:
        """Close the idle connections to ``database`` (before it is dropped or copied: sessions of
        another role than the test's own would hold it; the test's own are ended by the server)."""
        with self._lock:
            gone = [ident for ident, (_key, conn) in self._idle.items() if conn.closed or conn.info.dbname == database]
            conns = [self._idle.pop(ident)[1] for ident in gone]
        for conn in conns:
            _really_close(conn)

    def close_all(self) -> None:
        with self._lock:
            conns = [conn for _key, conn in self._idle.values()]
            self._idle.clear()
        for conn in conns:
            _really_close(conn)


def _alive(conn: Any) -> bool:
    """An idle connection the server has not ended: nothing waiting to be read on its socket
    (a server that ends a session sends its reason and closes)."""
    if conn.closed or conn.broken:
        return False
    try:
        readable, _w, _x = select.select([conn.pgconn.socket], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _adapters(conn: Any, context: Any) -> None:
    """The connection's type adapters as ``psycopg.connect`` would have made them: psycopg's
    own (made when first asked), or a copy of ``context``'s."""
    from psycopg.adapt import AdaptersMap

    conn._adapters = AdaptersMap(context.adapters) if context is not None else None


def _statements(conn: Any) -> None:
    """psycopg's record of the statements it prepared on the connection, empty as a new one's
    (DISCARD ALL dropped them on the server; psycopg notices only some ways of dropping them)."""
    from psycopg._preparing import PrepareManager

    conn._prepared = PrepareManager()


def _really_close(conn: Any) -> None:
    conn.__dict__.pop("close", None)
    with contextlib.suppress(Exception):  # closing a dead connection
        conn.close()


def forget(database: str) -> None:
    """Keeper.forget in this process, where a keeper is installed."""
    import sys

    psycopg = sys.modules.get("psycopg")
    keeper = getattr(getattr(psycopg, "connect", None), "__self__", None)
    if isinstance(keeper, Keeper):
        keeper.forget(database)


def install() -> Keeper | None:
    """Wrap ``psycopg.connect`` in this process; the keeper, or None without psycopg."""
    try:
        import psycopg
    except ImportError:
        return None
    keeper = Keeper(psycopg.connect)
    psycopg.connect = keeper.connect
    return keeper
