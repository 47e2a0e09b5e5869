"""The suite's kept PostgreSQL connections (tests/pgkeep.py) are given out as new ones would be:
no test sees what an earlier use left on a connection."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

import pg
import pgkeep
from merger import store


@pytest.fixture
def conninfo(pg_url: str):  # type: ignore[no-untyped-def]
    url = pg.create_database(pg_url, "keep")
    u = make_url(url)
    yield f"host={u.host} port={u.port} user={u.username} password={u.password} dbname={u.database}"
    pg.drop_database(url)


def test_a_kept_connection_comes_back_as_a_new_one(conninfo: str) -> None:
    keeper = pgkeep.Keeper(psycopg.Connection.connect)
    first = keeper.connect(conninfo, autocommit=True, options=store.PG_OPTIONS)
    pid = first.info.backend_pid
    store._pg_naive_utc(first, None)  # what the product's write connection registers
    for _ in range(6):  # psycopg prepares a statement on its fifth run
        first.execute("SELECT %s::int", (1,))
    first.execute("SET application_name = 'left behind'")
    first.execute("BEGIN")
    first.execute("CREATE TEMPORARY TABLE left_behind (x int)")
    first.close()
    assert not first.closed  # kept, not closed

    again = keeper.connect(conninfo, autocommit=True, options=store.PG_OPTIONS)
    assert again is first and again.info.backend_pid == pid and keeper.reused == 1
    assert again.info.transaction_status == psycopg.pq.TransactionStatus.IDLE and again.autocommit
    assert again.execute("SHOW application_name").fetchone() == ("",)
    assert again.execute("SHOW TimeZone").fetchone() == ("UTC",)  # the connect options stay
    assert again.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)
    assert again.execute("SELECT to_regclass('left_behind')").fetchone() == (None,)
    moment = again.execute("SELECT now()").fetchone()[0]
    assert moment.tzinfo is not None  # psycopg's own loaders: the write connection's are gone
    for _ in range(6):  # kept and given out again and again: psycopg counts even DISCARD ALL
        for _ in range(6):
            again.execute("SELECT %s::int", (1,))  # prepared anew, under a name the server knows
        again.close()
        again = keeper.connect(conninfo, autocommit=True, options=store.PG_OPTIONS)
        assert again is first
    again.close()
    keeper.close_all()
    assert first.closed


def test_other_arguments_and_ended_sessions_get_new_connections(conninfo: str) -> None:
    keeper = pgkeep.Keeper(psycopg.Connection.connect)
    one = keeper.connect(conninfo, autocommit=True)
    pid = one.info.backend_pid
    one.close()
    other = keeper.connect(conninfo)  # not autocommit: another key
    assert other is not one and not other.autocommit
    other.close()
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    fresh = keeper.connect(conninfo, autocommit=True)
    assert fresh is not one and fresh.info.backend_pid != pid and one.closed
    fresh.close()
    fresh.close()  # a second close does nothing: the connection is not given out twice
    given, new = keeper.connect(conninfo, autocommit=True), keeper.connect(conninfo, autocommit=True)
    assert given is fresh and new is not fresh
    pids = {given.info.backend_pid, new.info.backend_pid}
    given.close()
    new.close()
    with psycopg.connect(conninfo, autocommit=True) as admin:  # both kept ones ended
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    third = keeper.connect(conninfo, autocommit=True)
    assert third.info.backend_pid not in pids and given.closed and new.closed
    third.close()
    keeper.close_all()
    assert third.closed
