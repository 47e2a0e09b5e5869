"""PostgreSQL for the tests: a real server, started by the project's own script when none is given.

``MERGER_TEST_PG`` (a ``postgresql+psycopg://`` URL of a role that may CREATE DATABASE) names a
server that is already running; otherwise ``scripts/postgres-test-server`` installs (as root, with
apt-get), initialises and starts one on 127.0.0.1, and the session stops it at the end. When
neither works the PostgreSQL tests are skipped with the reason, never passed silently.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pgkeep

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "postgres-test-server"
ENV = "MERGER_TEST_PG"


class Unavailable(Exception):
    """PostgreSQL cannot be had on this machine; the message says why."""


@contextmanager
def server() -> Iterator[str]:
    """The URL of a running server for the session, stopped and removed at the end.

    Each session gets its own cluster (its own MERGER_PG_DIR), so test sessions running at the
    same time on one machine never stop each other's server.
    """
    given = os.environ.get(ENV)
    if given:
        yield given
        return
    folder = Path(tempfile.mkdtemp(prefix="merger-pg-test-", dir=ram_folder() or "/tmp"))
    try:
        url = _start(folder)
        try:
            yield url
        finally:
            _stop(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _start(folder: Path) -> str:
    """Start a cluster in ``folder`` with the project's script; its URL."""
    if not SCRIPT.exists():
        raise Unavailable(f"{SCRIPT} is missing")
    env = {**os.environ, "MERGER_PG_DIR": str(folder)}
    try:
        done = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=900, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"scripts/postgres-test-server could not run: {exc}") from None
    if done.returncode != 0 or "://" not in done.stdout:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise Unavailable(f"PostgreSQL could not be installed or started: {last}")
    return done.stdout.strip().splitlines()[-1]


def _stop(folder: Path) -> None:
    env = {**os.environ, "MERGER_PG_DIR": str(folder)}
    with suppress(subprocess.TimeoutExpired, OSError):  # best effort: the folder goes anyway
        subprocess.run([str(SCRIPT), "stop"], capture_output=True, text=True, timeout=120, env=env)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (made if missing) among the processes of a test run."""
    import fcntl

    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# What a run keeps in a folder of RAM at most at once: the shared server's cluster (~0.3 GB) and
# the tests' own folders (~2 GB when every test's folder was kept; pyproject.toml now removes a
# passed test's folder after it).
RAM_NEEDED = 4 * 1024**3


def ram_folder() -> Path | None:
    """A folder of RAM (a tmpfs) this run may write its temporary files to, or None.

    On this project's machines /tmp is on ext4, where creating a file costs a scan of recently
    deleted inodes once thousands have come and gone: CREATE DATABASE (a thousand files) took
    ~0.2 s of CPU there and 0.02 s on a tmpfs, and a run creates ~150 databases and thousands of
    register files. /dev/shm is taken only where it is a tmpfs with room to spare in it and in
    memory; elsewhere the system's temporary folder is used, as before."""
    shm = Path("/dev/shm")
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
        if not any(line.split()[1:3] == [str(shm), "tmpfs"] for line in mounts if len(line.split()) > 2):
            return None
        room = os.statvfs(shm)
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines())
        available = int(meminfo["MemAvailable"].split()[0]) * 1024
    except (OSError, ValueError, KeyError, IndexError):
        return None
    if room.f_bavail * room.f_frsize < RAM_NEEDED or available < 2 * RAM_NEEDED or not os.access(shm, os.W_OK):
        return None
    return shm


def shared_server(run: Path) -> str:
    """The URL of the one server all xdist workers of a test run share (``run``: a folder they all
    see). The first worker that asks starts it; stop_shared, at the end of the run, stops it.
    One initdb and one server instead of one per worker. $MERGER_TEST_PG wins, as in server()."""
    given = os.environ.get(ENV)
    if given:
        return given
    url_file, failed = run / "pg.url", run / "pg.unavailable"
    with locked(run / "pg.lock"):
        if failed.exists():  # the first worker could not have one: every worker skips, saying why
            raise Unavailable(failed.read_text(encoding="utf-8"))
        if url_file.exists():
            return url_file.read_text(encoding="utf-8")
        folder = Path(tempfile.mkdtemp(prefix="merger-pg-test-", dir=ram_folder() or "/tmp"))
        (run / "pg.folder").write_text(str(folder), encoding="utf-8")
        try:
            url = _start(folder)
        except Unavailable as exc:
            failed.write_text(str(exc), encoding="utf-8")
            raise
        url_file.touch(mode=0o600)  # the URL carries the password
        url_file.write_text(url, encoding="utf-8")
        return url


def stop_shared(run: Path) -> None:
    """Stop and remove the server shared_server started for ``run``, if it did."""
    found = run / "pg.folder"
    if not found.exists():
        return
    folder = Path(found.read_text(encoding="utf-8"))
    _stop(folder)
    shutil.rmtree(folder, ignore_errors=True)
    found.unlink()
    (run / "pg.url").unlink(missing_ok=True)


def _admin(url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT")


@contextmanager
def _server(url: str) -> Iterator[Any]:
    """A connection to the server's own database (``merger``) of ``url``, for CREATE, DROP and
    ending sessions. One engine per server and process, its connection kept between calls: a
    new one each time made ~600 connections a run (a backend each, ~10 ms of CPU with the
    client's setup)."""
    from sqlalchemy.engine import make_url

    with _server_engine(make_url(url).set(database="merger").render_as_string(hide_password=False)).connect() as conn:
        yield conn


@functools.cache
def _server_engine(url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    # pre-ping: a kept connection the server ended (a restart) is replaced, not used
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1, pool_pre_ping=True)


def _terminate_own(conn, database: str) -> None:  # type: ignore[no-untyped-def]
    """End our role's other sessions on ``database``. Only our own: the server's autovacuum
    workers belong to no role, and a non-superuser may not signal them (``WITH (FORCE)`` tries
    and fails); plain CREATE/DROP DATABASE asks them to leave by itself."""
    from sqlalchemy import text

    conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db "
                      "AND usename = current_user AND pid <> pg_backend_pid()"), {"db": database})


def _retry(conn, database: str, statement: str, attempts: int = 20) -> None:  # type: ignore[no-untyped-def]
    """Run a CREATE ... TEMPLATE or DROP DATABASE that needs ``database`` free of sessions,
    ending ours first and retrying while a session still lingers (terminated ones take a moment)."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    pgkeep.forget(database)
    for attempt in range(attempts):
        _terminate_own(conn, database)
        try:
            conn.execute(text(statement))
            return
        except OperationalError as exc:
            if "being accessed by other users" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.25)


def create_database(url: str, prefix: str = "t") -> str:
    """A new, empty database on the server of ``url``; returns its URL (same role)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _server(url) as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def copy_database(url: str, prefix: str = "c") -> str:
    """A new database copied from the one at ``url`` (CREATE DATABASE ... TEMPLATE); returns its URL.
    The template must have no open connections."""
    from sqlalchemy.engine import make_url

    source = make_url(url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _server(url) as conn:
        # connections left open by finished CLI runs would block the copy
        _retry(conn, source.database, f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"')
    return source.set(database=name).render_as_string(hide_password=False)


def analyze(url: str) -> None:
    """ANALYZE the database of ``url``: the planner's statistics, which a bulk load leaves unset
    until autovacuum's next pass."""
    from sqlalchemy import text

    engine = _admin(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


class Restorer:
    """Puts a copy of a database back as it was when this was made from it, in place: the rows a
    test added go, the rows it changed or removed come back, the sequences return, and every table
    touched is then compared whole (an md5 of its rows in key order) with the original; anything
    else (a schema change, a failed statement, a difference left) refuses, and the caller makes a
    new copy instead. ~0.1 s where DROP and CREATE DATABASE ... TEMPLATE cost ~0.7 s of CPU.

    Rows are told apart by their primary key; a row a test added or updated carries a transaction
    id (``xmin``) newer than any the original held, so untouched tables cost one count each.
    """

    def __init__(self, url: str):
        from sqlalchemy import text

        engine = _admin(url)
        try:
            with engine.connect() as conn:
                self.catalog = _catalog(conn)
                self.tables = _tables(conn)  # parents before children
                self.keys: dict[str, str] = {}  # each table's key, as an expression over the alias t
                self.rows: dict[str, dict[str, str]] = {}
                self.sums: dict[str, tuple[int, str]] = {}
                self.base = 0
                self.refused = ""  # why the last restore was refused
                for table, cols in self.tables:
                    key = self.keys[table] = _key(cols, "t")
                    found = conn.execute(text(f"SELECT {key}::text, t::text, xmin::text::bigint FROM {table} t")).all()
                    self.rows[table] = {k: r for k, r, _ in found}
                    self.base = max([self.base, *(x for _, _, x in found)])
                    self.sums[table] = _sum(conn, table, key)
                names = conn.execute(text("SELECT c.oid::regclass::text FROM pg_class c WHERE c.relkind = 'S'")).scalars()
                # as each sequence holds it (pg_sequences shows no value before the first nextval,
                # though a sequence restarted after a load starts past the loaded ids)
                self.sequences = [(name, *conn.execute(text(f"SELECT last_value, is_called FROM {name}")).one())
                                  for name in names.all()]
        finally:
            engine.dispose()

    def restore(self, url: str) -> bool:
        """Put the database at ``url`` back; False (nothing changed) where that cannot be done."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import DBAPIError

        engine = create_engine(url)  # one transaction: all of it, or nothing
        try:
            with engine.connect() as conn:
                if _catalog(conn) != self.catalog or _tables(conn) != self.tables:
                    self.refused = f"the schema changed: {_catalog(conn)} {self.catalog}"
                    return False
                touched = self._restore(conn)
                differ = [table for table in touched if _sum(conn, table, self.keys[table]) != self.sums[table]]
                if differ:
                    conn.rollback()
                    self.refused = f"not as it was after putting back: {', '.join(differ)}"
                    return False
                for name, value, called in self.sequences:
                    conn.execute(text("SELECT setval(CAST(:s AS regclass), :v, :called)"),
                                 {"s": name, "v": value, "called": called})
                # what this transaction wrote is as it was: a later change is newer than it
                base = conn.execute(text("SELECT pg_current_xact_id()::xid::text::bigint")).scalar()
                conn.commit()
        except DBAPIError as exc:
            self.refused = str(exc).splitlines()[0]
            return False
        finally:
            engine.dispose()
        self.base, self.refused = max(self.base, base), ""
        return True

    def _restore(self, conn) -> list[str]:  # type: ignore[no-untyped-def]
        from sqlalchemy import text

        plan = []
        for table, cols in self.tables:
            key = self.keys[table]
            count, newer = conn.execute(text(
                f"SELECT count(*), count(*) FILTER (WHERE xmin::text::bigint > {self.base}) FROM {table}")).one()
            if count == len(self.rows[table]) and not newer:
                continue  # nothing added or changed (an insert or update is newer), nothing removed
            held = dict(conn.execute(text(f"SELECT {key}::text, xmin::text::bigint > {self.base} FROM {table} t")).all())
            original = self.rows[table]
            plan.append((table, cols, [original[k] for k in original if k not in held],
                         [original[k] for k, newer in held.items() if newer and k in original and cols],
                         [k for k in held if k not in original]))
        for table, _cols, missing, _changed, _extra in plan:  # parents first
            if missing:
                conn.execute(text(f"INSERT INTO {table} OVERRIDING SYSTEM VALUE "
                                  f"SELECT (CAST(x AS {table})).* FROM unnest(CAST(:rows AS text[])) x"), {"rows": missing})
        for table, key_cols, _missing, changed, _extra in plan:
            if changed:  # (a table keyed by its whole row has no changed rows, only added and removed ones)
                cols = conn.execute(text(
                    "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
                    "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped"), {"t": table}).scalar()
                conn.execute(text(
                    f"UPDATE {table} t SET ({cols}) = ROW({', '.join('s.' + c for c in cols.split(', '))}) "
                    f"FROM (SELECT (CAST(x AS {table})).* FROM unnest(CAST(:rows AS text[])) x) s "
                    f"WHERE {_key(key_cols, 't')}::text = {_key(key_cols, 's')}::text"), {"rows": changed})
        for table, _cols, _missing, _changed, extra in reversed(plan):  # children first
            if extra:
                conn.execute(text(f"DELETE FROM {table} t WHERE {self.keys[table]}::text = ANY(CAST(:keys AS text[]))"),
                             {"keys": extra})
        return [table for table, *_ in plan]


def _catalog(conn) -> tuple:  # type: ignore[no-untyped-def]
    """The schema's fingerprint: a DDL statement, a grant or a comment leaves a newer catalog row."""
    from sqlalchemy import text

    return tuple(conn.execute(text(
        "SELECT (SELECT (count(*), max(xmin::text::bigint))::text FROM pg_class),"
        " (SELECT (count(*), max(xmin::text::bigint))::text FROM pg_attribute),"
        " (SELECT (count(*), max(xmin::text::bigint))::text FROM pg_namespace),"
        " (SELECT (count(*), max(xmin::text::bigint))::text FROM pg_proc),"
        " (SELECT (count(*), max(xmin::text::bigint))::text FROM pg_trigger),"
        " (SELECT (count(*), max(xmin::text::bigint))::text FROM pg_description),"
        " (SELECT (count(*), max(xmin::text::bigint))::text FROM pg_constraint),"
        " (SELECT xmin::text FROM pg_database WHERE datname = current_database()),"
        " (SELECT (count(*), max(xmin::text::bigint))::text FROM pg_db_role_setting)")).one())


def _key(cols: tuple[str, ...], alias: str) -> str:
    """A row's key as one expression over ``alias``: its primary key's columns, or the whole row."""
    if not cols:
        return alias
    if len(cols) == 1:
        return f"{alias}.{cols[0]}"
    return "(" + ", ".join(f"{alias}.{c}" for c in cols) + ")"


def _tables(conn) -> list[tuple[str, tuple[str, ...]]]:  # type: ignore[no-untyped-def]
    """(table, its primary key's columns) of the user's tables, each after the tables it refers to
    (no columns: a table without a primary key, keyed by its whole row)."""
    from sqlalchemy import text

    names = conn.execute(text(
        "SELECT c.oid::regclass::text, (SELECT string_agg(quote_ident(a.attname), ',' ORDER BY a.attnum) "
        "  FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "  WHERE i.indrelid = c.oid AND i.indisprimary) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")).all()
    refers = conn.execute(text(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid <> confrelid")).all()
    before: dict[str, set[str]] = {name: set() for name, _ in names}
    for child, parent in refers:
        if child in before and parent in before:
            before[child].add(parent)
    order: list[str] = []
    while len(order) < len(before):
        ready = sorted(t for t, parents in before.items() if t not in order and parents <= set(order))
        if not ready:
            raise RuntimeError("tables refer to each other in a circle")
        order += ready
    keys = {name: tuple(key.split(",")) if key else () for name, key in names}
    return [(name, keys[name]) for name in order]


def _sum(conn, table: str, key: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """The table's row count and an md5 of all its rows in key order: the primary key's own
    order (no text sort of every key: ~30% cheaper on the national tables), a keyless table's
    rows by their text (a row of json cells has no order of its own)."""
    from sqlalchemy import text

    order = f"{key}::text" if key == "t" else key
    return tuple(conn.execute(text(
        f"SELECT count(*), coalesce(md5(string_agg(t::text, chr(10) ORDER BY {order})), '') FROM {table} t")).one())


def end_sessions(url: str) -> None:
    """End our role's sessions still open on the database of ``url`` (a connection a test left
    behind, holding a lock), as DROP DATABASE would, so a reused copy starts with none."""
    from sqlalchemy.engine import make_url

    pgkeep.forget(make_url(url).database)
    with _server(url) as conn:
        _terminate_own(conn, make_url(url).database)


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (connecting to the server's main database to do it)."""
    from sqlalchemy.engine import make_url

    target = make_url(url)
    with _server(url) as conn:
        _retry(conn, target.database, f'DROP DATABASE IF EXISTS "{target.database}"')


def with_password(url: str, password: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(password=password).render_as_string(hide_password=False)


def password_of(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).password or ""


def create_reader(url: str, password: str) -> str:
    """A login role that may only SELECT from the register's tables; returns its URL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    role = f"reader_{uuid.uuid4().hex[:8]}"
    engine = _admin(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
            conn.execute(text(f'GRANT CONNECT ON DATABASE "{target.database}" TO {role}'))
            conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
            conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    finally:
        engine.dispose()
    return target.set(username=role, password=password).render_as_string(hide_password=False)


def drop_role(url: str, role_url: str) -> None:
    """Revoke what create_reader granted in the database of ``url``, then drop the role."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    role = make_url(role_url).username
    engine = _admin(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"))
            conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}"))
            conn.execute(text(f"REVOKE USAGE ON SCHEMA public FROM {role}"))
            conn.execute(text(f'REVOKE CONNECT ON DATABASE "{make_url(url).database}" FROM {role}'))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    finally:
        engine.dispose()


# --- a small register of real data: the Hải Phòng part of the bundle ------------------------------

HAI_PHONG_ROOTS = {"30@..2025-06-30", "31@..2025-06-30", "31@2025-07-01"}


def hai_phong_bundle(out: Path) -> Path:
    """The bundle's Hải Phòng and Hải Dương units (518 versions: 2 provinces, 27 districts, 374 -> 114
    communes, the new city), the events wholly inside them, their acts and statistics; no agencies."""
    import csv

    from merger import bundle

    folder = bundle.units_dir()
    rows = {name: bundle.read(folder, name) for name in bundle.BUNDLE_FILES}
    parent: dict[str, str] = {}
    for row in rows["versions"]:
        parent.setdefault(row["unit"], row["parent_unit"])

    def root(unit: str) -> str:
        for _ in range(10):
            if not parent.get(unit):
                break
            unit = parent[unit]
        return unit

    units = {u for u in parent if root(u) in HAI_PHONG_ROOTS}
    versions = [r for r in rows["versions"] if r["unit"] in units]
    keys = {r["key"] for r in versions}
    by_event: dict[str, list[dict[str, str]]] = {}
    for link in rows["links"]:
        by_event.setdefault(link["event"], []).append(link)
    events = [e for e in rows["events"] if by_event.get(e["key"]) and all(
        (not k["predecessor"] or k["predecessor"] in keys) and (not k["successor"] or k["successor"] in keys)
        for k in by_event[e["key"]])]
    names = {e["key"] for e in events}
    acts = {e["act"] for e in events}
    kept = {"versions": versions, "events": events, "links": [k for k in rows["links"] if k["event"] in names],
            "acts": [a for a in rows["acts"] if a["number"] in acts],
            "statistics": [s for s in rows["statistics"] if s["version"] in keys]}
    out.mkdir(parents=True, exist_ok=True)
    for name, found in kept.items():
        with (out / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[name][0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(found)
    return out


def hai_phong_register(tmp_path: Path, url: str | None = None):  # type: ignore[no-untyped-def]
    """The Hải Phòng register in the (empty) database ``url``, or in a SQLite file under tmp_path."""
    from merger import store
    from merger.register import Register

    folder = hai_phong_bundle(tmp_path / "hai-phong-bundle")
    url = url or f"sqlite:///{tmp_path / 'hai-phong.sqlite'}"
    engine = store.make_engine(url)
    store.load_bundle(engine, folder)
    return Register(url, engine)


def create_staff(url: str, password: str) -> str:
    """A login role that may read and record (SELECT, INSERT, UPDATE; sequences) but not change the
    schema or delete: what docs/deploy.md grants to staff. Returns its URL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    role = f"staff_{uuid.uuid4().hex[:8]}"
    engine = _admin(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
            conn.execute(text(f'GRANT CONNECT ON DATABASE "{target.database}" TO {role}'))
            conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
            conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}"))
            conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    finally:
        engine.dispose()
    return target.set(username=role, password=password).render_as_string(hide_password=False)
