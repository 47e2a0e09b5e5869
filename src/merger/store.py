"""The store: opening a register database and building it from the bundled data.

SQLite (embedded, the default) and PostgreSQL share one schema through sqlmodel. A register
that does not exist yet is built from data/units/ in one transaction, so a failed build leaves
nothing behind.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from merger.errors import DataError, StoreError
from merger.i18n import N_, _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

# Bumped with every schema change (and an Alembic migration).
# 2: recorded events (origin, idem_key, spec), corrections, version.recorded_at; 3: derived_share;
# 4: version.folded (indexed folded name: one-unit questions read only that unit's neighbourhood);
# 5: lookup indexes (national counts, recorded events) and the trigram index of folded names
SCHEMA_VERSION = 5

ENV_VAR = "MERGER_DB"

Progress = Callable[[str, int, int], None]

# Every PostgreSQL session: in UTC, so recorded times read back as SQLite's do (never
# server-local). No planner settings: the walks through links and parents are one indexed query a
# step (merger.cache.walk and cache.above), not recursive CTEs, which the server planned blind
# (with its default random_page_cost of 4 they scanned whole tables at each step).
PG_OPTIONS = "-c TimeZone=UTC"


def default_path() -> Path:
    """The embedded register lives in the user's data directory."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("merger", appauthor=False)) / "register.sqlite"


MEMORY = "sqlite://"  # SQLAlchemy's in-memory SQLite: what --db :memory: means
# libpq's keyword/value connection strings ("host=db password=..."): refused (with the URL form to
# use), never taken for a file name.
_KEYWORD_VALUE = re.compile(r"^\s*(host|hostaddr|port|dbname|user|password|passfile|service|sslmode|"
                            r"options|application_name|connect_timeout)\s*=", re.IGNORECASE)


def resolve_url(db: str | None) -> str:
    """``--db`` wins, then $MERGER_DB, then the default file; a bare path means SQLite.

    Nothing is created here (a read-only open must not make folders): the folder of a new
    embedded register is made when it is built (open_engine).
    """
    if db is not None and not db.strip():
        raise StoreError(_("--db is empty: give a register file path or a database URL"))
    value = db or os.environ.get(ENV_VAR) or str(default_path())
    if "\x00" in value:
        raise StoreError(_("--db contains a NUL character"))
    if _KEYWORD_VALUE.match(value):
        raise StoreError(_("--db {scrub!r} is a keyword/value connection string; give a URL instead, e.g. "
                           "postgresql+psycopg://user@host/dbname (the password in ~/.pgpass or PGPASSWORD)").format(scrub=scrub(value)))
    if value.strip() in (":memory:", "sqlite:///:memory:", "sqlite://"):
        return MEMORY
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser()}"
    _check_url(value)
    return value


def _check_url(url: str) -> None:
    """A URL that cannot be parsed is one clear error here, not a driver's traceback later
    (urllib only: opening a register from the snapshot cache must not import SQLAlchemy)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        _port = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        raise StoreError(_("cannot read the database URL {redact}: {exc}").format(redact=redact(url), exc=exc)) from None
    if not parts.scheme or not re.fullmatch(r"[a-z][a-z0-9+.-]*", parts.scheme):
        raise StoreError(_("cannot read the database URL {redact}: no scheme such as postgresql+psycopg://").format(redact=redact(url)))


def sqlite_read_uri(path: Path) -> str:
    """The SQLite URI that opens ``path`` read-only: mode=ro, or immutable=1 on a read-only file
    system, where not even the WAL index can be made (and nobody can be writing)."""
    from urllib.parse import quote

    shm = Path(str(path) + "-shm")
    writable = os.access(path.parent, os.W_OK) or (shm.exists() and os.access(shm, os.W_OK))
    return f"file:{quote(str(path))}?{'mode=ro' if writable else 'immutable=1'}"


def is_memory(url: str) -> bool:
    """An in-memory SQLite database: it keeps nothing, so writes to it are refused."""
    return url in (MEMORY, "sqlite:///:memory:")


_SECRETS = (
    # user:password@ in the authority part of a URL
    (re.compile(r"(://[^/?#@\s:]*:)[^@\s]*@"), r"\1***@"),
    # password=... in a URL query or a keyword/value string (quoted or not)
    (re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s'\"]+)", re.IGNORECASE), r"\1***"),
)


def scrub(text: str) -> str:
    """``text`` with every credential libpq accepts masked: user:password@ in a URL, a
    password= query parameter, a password=... keyword (passfile paths are not secrets)."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def redact(url: str) -> str:
    """The URL as it may be shown: never with its password (in any form libpq accepts); a
    read-only SQLite open (file:...?mode=ro) shown as the plain file it is."""
    from urllib.parse import unquote

    found = re.fullmatch(r"sqlite:///file(?::|%3A)([^?]*)\?.*uri=true", url)
    return f"sqlite:///{unquote(found.group(1))}" if found else scrub(url)


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")


BUSY_TIMEOUT_MS = 30000  # one wait for a lock inside SQLite (writers then queue again: begin_write)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_read_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    """A read-only open changes nothing: no journal mode switch (that is a write)."""
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
    cur.execute("PRAGMA query_only=ON")
    cur.close()


READ_ONLY = ("the register is open read-only (--read-only): writing is refused; "
             "open it without --read-only, with a role that may write")


IN_MEMORY = ("--db :memory: keeps nothing (the database ends with the command), so writing to it "
             "is refused; give a file path or a database URL")


def _pg_naive_utc(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    """Recorded times come back as naive UTC, exactly as SQLite returns them (the register's
    convention, see graph._naive_utc), so output and comparisons are the same on both stores."""
    from datetime import UTC

    from psycopg.types.datetime import TimestamptzBinaryLoader, TimestamptzLoader

    class Text(TimestamptzLoader):
        def load(self, data):  # type: ignore[no-untyped-def]
            return super().load(data).astimezone(UTC).replace(tzinfo=None)

    class Binary(TimestamptzBinaryLoader):
        def load(self, data):  # type: ignore[no-untyped-def]
            return super().load(data).astimezone(UTC).replace(tzinfo=None)

    dbapi_conn.adapters.register_loader("timestamptz", Text)
    dbapi_conn.adapters.register_loader("timestamptz", Binary)


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url``; ``read_only`` sessions cannot write (SQLite query_only, PostgreSQL
    default_transaction_read_only), and begin_write refuses before trying."""
    from sqlalchemy import create_engine  # not sqlmodel's re-export: reading needs no pydantic
    from sqlalchemy import event as sa_event
    from sqlalchemy.exc import ArgumentError

    try:
        options: dict = {}
        path = sqlite_file(url)
        if read_only and path is not None:
            # Opened read-only by SQLite itself; on a read-only file system, where not even the
            # WAL index can be made, as immutable (nobody can be writing there).
            url = "sqlite:///" + sqlite_read_uri(path) + "&uri=true"
        if url.startswith("postgresql"):
            pg_options = PG_OPTIONS + (" -c default_transaction_read_only=on" if read_only else "")
            options = {"connect_args": {"options": pg_options}}
        engine = create_engine(url, **options)
    except (ArgumentError, ImportError, ModuleNotFoundError, ValueError) as exc:
        raise StoreError(_("cannot use database {redact}: {exc}").format(redact=redact(url), exc=exc)) from None
    if engine.dialect.name == "sqlite":
        sa_event.listen(engine, "connect", _sqlite_read_pragmas if read_only else _sqlite_pragmas)
        # pysqlite would commit DDL on its own; take transactions in hand so a build or a write
        # is all-or-nothing (and writers can BEGIN IMMEDIATE).
        sa_event.listen(engine, "begin", _sqlite_begin)
    elif engine.dialect.driver == "psycopg":
        sa_event.listen(engine, "connect", _pg_naive_utc)
    if read_only:
        return engine.execution_options(merger_read_only=True)
    return engine


def is_read_only(conn: Connection) -> bool:
    return bool(conn.get_execution_options().get("merger_read_only"))


def is_initialised(engine: Engine) -> bool:
    from sqlalchemy import inspect

    with db_errors(str(engine.url)):
        return inspect(engine).has_table("meta")


@contextmanager
def db_errors(url: str) -> Iterator[None]:
    """Database driver errors become one StoreError line, with the URL's password hidden."""
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except DBAPIError as exc:
        raise (driver_failure(url, exc.orig) if exc.orig else driver_error(url, type(exc).__name__, None)) from None


# The database server's and libpq's words for the failures people meet on connecting, by SQLSTATE
# or by the words libpq uses (it sends none for a client-side failure): said in the language of
# the run where translated; in English, libpq's own line (it names the host, port or role).
DB_STATES = {"3D000": N_("the database does not exist"),
             "28P01": N_("the server refused the role or its password"),
             "28000": N_("the server refused the role or its password")}
DB_WORDS = ((r'database ".*" does not exist', DB_STATES["3D000"]),
            (r'role ".*" does not exist|password authentication failed', DB_STATES["28P01"]),
            ("Connection refused", N_("the server refused the connection (is PostgreSQL running at that host and port?)")),
            ("failed to resolve host|could not translate host name", N_("the server's host name is not known")),
            ("timeout expired", N_("the connection timed out")),
            ("no password supplied", N_("the server asks for a password the URL does not give")))


def driver_reason(reason: str, state: str | None) -> str:
    """``reason`` (a driver's first line) in the language of the run where it is a known failure."""
    said = DB_STATES.get(state or "") or next((m for w, m in DB_WORDS if re.search(w, reason)), None)
    if said is None:
        return reason
    translated = _(said)
    return reason if translated == said else translated  # English: libpq's line says more


def driver_failure(url: str, exc: BaseException) -> StoreError:
    """``driver_error`` for a driver's exception (its first line, its SQLSTATE if any)."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return driver_error(url, reason, getattr(exc, "sqlstate", None))


def driver_error(url: str, reason: str, state: str | None) -> StoreError:
    """The one line a database driver's error becomes (whichever driver: SQLAlchemy's, or the
    stdlib sqlite3 / psycopg of the read and write paths), with the URL's password hidden and
    any credential in the driver's own words masked."""
    reason = driver_reason(scrub(reason), state)
    if state == "25006" or "readonly database" in reason:
        return StoreError(f"{READ_ONLY} ({redact(url)})")
    if state == "42501":  # insufficient_privilege: e.g. a role granted SELECT only
        return StoreError(_("the database role may not do this at {redact} ({reason}); writing needs a role with "
                            "INSERT/UPDATE on the register's tables").format(redact=redact(url), reason=reason))
    if "unable to open database file" in reason:
        reason += " (its folder may be read-only: add --read-only to read it)"
    return StoreError(_("cannot use the register at {redact}: {reason}").format(redact=redact(url), reason=reason))


def meta(conn: Connection) -> dict[str, str]:
    from sqlalchemy import text

    # Plain SQL: opening a register to read needs neither the ORM models nor pydantic.
    return dict(conn.execute(text("SELECT key, value FROM meta")).all())  # type: ignore[arg-type]


def check_schema(engine: Engine) -> None:
    """Refuse a register written by a newer program rather than misread it.

    The Alembic revision (merger.migrations) decides when the register has one; registers made
    before Alembic are judged by meta.schema_version.
    """
    from merger import migrations

    with db_errors(str(engine.url)), engine.connect() as conn:
        found = int(meta(conn).get("schema_version", "0"))
        revision = migrations.stored_revision(conn)
    if found > SCHEMA_VERSION or (revision is not None and revision not in migrations.REVISIONS):
        raise StoreError(
            _("this register has schema version {found} (revision {revision}), newer than this program's "
              "({schema_version}, revision {head}); upgrade merger").format(found=found, revision=revision, schema_version=SCHEMA_VERSION, head=migrations.HEAD)
        )
    if found < SCHEMA_VERSION or (revision is not None and revision != migrations.HEAD):
        raise StoreError(older_schema(found))


def older_schema(found: int | str) -> str:
    return (f"this register has schema version {found}, older than this program's ({SCHEMA_VERSION}); "
            "upgrade it with 'merger db upgrade' (back it up first: merger export)")


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _utc(value: str) -> datetime:
    from datetime import UTC

    found = datetime.fromisoformat(value)
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _float(value: str) -> float | None:
    return float(value) if value else None


def load_bundle(engine: Engine, folder: Path | None = None, progress: Progress | None = None) -> dict[str, int]:
    """Create the schema and load the bundled files, all in one transaction."""
    from sqlalchemy import func, insert, select, text
    from sqlmodel import SQLModel

    from merger import bundle  # hashlib and csv: only for building, not on every read
    from merger.model import Event, LegalAct, Link, Meta, Statistic, Unit, Version
    from merger.names import fold

    folder = folder or bundle.units_dir()
    if not (folder / "versions.csv").exists():
        raise DataError(_("no bundled data in {folder} (expected versions.csv)").format(folder=folder))
    if progress:
        progress("reading the bundled files", 0, 6)
    rows = {name: bundle.read(folder, name) for name in bundle.BUNDLE_FILES}
    agencies = bundle.read_agencies(folder)
    known_acts = {r["number"] for r in rows["acts"]}
    rows["acts"] += [r for r in agencies["acts"] if r["number"] not in known_acts]
    for name in ("versions", "events", "links"):
        rows[name] = rows[name] + agencies[name]
    counts: dict[str, int] = {}
    step = [0]

    def tick(label: str) -> None:
        step[0] += 1
        if progress:
            progress(label, step[0], 6)

    with engine.begin() as conn:
        SQLModel.metadata.create_all(conn)
        if conn.execute(select(func.count()).select_from(Version)).scalar():
            raise StoreError(_("the register already holds data; build into an empty database"))
        act_id = {r["number"]: i for i, r in enumerate(rows["acts"], start=1)}
        _insert(conn, insert(LegalAct), [
            dict(id=act_id[r["number"]], number=r["number"], kind=r["kind"], issuer=r["issuer"],
                 title=r["title"], date_signed=_date(r["date_signed"]),
                 effective_date=_date(r["effective_date"]), source=r["source"])
            for r in rows["acts"]
        ])
        tick("acts")
        unit_id: dict[str, int] = {}
        unit_kind: dict[str, str] = {}
        for r in rows["versions"]:
            unit_id.setdefault(r["unit"], len(unit_id) + 1)
            unit_kind.setdefault(r["unit"], r.get("kind") or "admin")
        _insert(conn, insert(Unit), [dict(id=i, key=k, kind=unit_kind[k]) for k, i in unit_id.items()])
        version_id = {r["key"]: i for i, r in enumerate(rows["versions"], start=1)}
        _insert(conn, insert(Version), [
            dict(id=version_id[r["key"]], key=r["key"], unit_id=unit_id[r["unit"]], code=r["code"],
                 name=r["name"], folded=fold(r["name"]), full_name=r["full_name"], type=r["type"], level=r["level"],
                 parent_unit_id=unit_id[r["parent_unit"]] if r["parent_unit"] else None,
                 valid_from=_date(r["valid_from"]), valid_to=_date(r["valid_to"]),
                 evidence=r.get("evidence") or None, source=r["source"])
            for r in rows["versions"]
        ])
        tick("versions")
        event_id = {r["key"]: i for i, r in enumerate(rows["events"], start=1)}
        _insert(conn, insert(Event), [
            dict(id=event_id[r["key"]], key=r["key"], type=r["type"], effective=_date(r["effective"]),
                 act_id=act_id[r["act"]] if r["act"] else None, clause=r["clause"] or None,
                 note=r["note"], source=r["source"], evidence=r["evidence"] or None,
                 recorded_at=_utc(r["recorded_at"]), recorded_by=r["recorded_by"])
            for r in rows["events"]
        ])
        tick("events")
        _insert(conn, insert(Link), [
            dict(id=i, event_id=event_id[r["event"]],
                 predecessor_id=version_id[r["predecessor"]] if r["predecessor"] else None,
                 successor_id=version_id[r["successor"]] if r["successor"] else None,
                 portion=r["portion"], relation=r["relation"], share=_float(r["share"]),
                 share_basis=r["share_basis"] or None, note=r["note"])
            for i, r in enumerate(rows["links"], start=1)
        ])
        tick("links")
        _insert(conn, insert(Statistic), [
            dict(version_id=version_id[r["version"]], area_km2=_float(r["area_km2"]),
                 population=int(r["population"]) if r["population"] else None, seat=r["seat"],
                 lon=_float(r["lon"]), lat=_float(r["lat"]), source=r["source"])
            for r in rows["statistics"]
        ])
        tick("statistics")
        _insert(conn, insert(Meta), [
            dict(key="schema_version", value=str(SCHEMA_VERSION)),
            dict(key="bundle_digest", value=bundle.digest(folder)),
            dict(key="built_at", value=datetime.now().replace(microsecond=0).isoformat()),
            dict(key="generation", value="0"),
        ])
        from merger import migrations, textindex

        textindex.create(conn)  # outside the model: what migration 0005 makes, made here too
        migrations.stamp_head(conn)  # a fresh register is at the newest schema revision
        if conn.dialect.name == "postgresql":
            for table in ("legal_act", "unit", "version", "event", "link"):
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                ))
        tick("done")
        counts = {name: len(r) for name, r in rows.items()}
    return counts


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one committed state, however many statements they take.

    SQLite's read transaction (BEGIN, WAL) already does; PostgreSQL's default READ COMMITTED gives
    each statement its own view, so a snapshot read across tables could see half of an event a
    writer commits meanwhile: there it is read in one REPEATABLE READ, READ ONLY transaction.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            if is_read_only(conn):
                # Already read-only by the session default; setting postgresql_readonly here would
                # be reset to READ WRITE when the connection goes back to the pool, overriding the
                # default_transaction_read_only of a --read-only register for the next user.
                conn.execution_options(isolation_level="REPEATABLE READ")
            else:
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        yield conn


def check_writable(conn: Connection) -> None:
    """Refuse a write to a register opened read-only or kept in memory, before any work."""
    if is_read_only(conn):
        raise StoreError(READ_ONLY)
    if is_memory(str(conn.engine.url)):
        raise StoreError(IN_MEMORY)


def generation(conn: Connection) -> str:
    """The register's write counter as this transaction sees it (bump_generation advances it)."""
    from sqlalchemy import text

    with db_errors(str(conn.engine.url)):
        found = conn.execute(text("SELECT value FROM meta WHERE key = 'generation'")).scalar()
    return str(found or "0")


def begin_write(conn: Connection) -> None:
    """Start a write transaction that holds the write lock from its first statement.

    SQLite: BEGIN IMMEDIATE (WAL mode; other writers wait up to busy_timeout), so what a
    writer validated against cannot change before it commits. PostgreSQL: an exclusive lock on
    the meta table, which every write updates, serialises writers the same way.
    """
    from sqlalchemy import text

    check_writable(conn)
    if conn.dialect.name == "sqlite":
        _sqlite_begin_immediate(conn)
    else:
        conn.begin()
        with db_errors(str(conn.engine.url)):  # a role that may only SELECT is refused here, in one line
            conn.execute(text("LOCK TABLE meta IN EXCLUSIVE MODE"))


BUSY = "the register is busy (another writer); nothing was recorded; try again"
# How long a SQLite writer queues for the write lock in all, before BUSY. Each try waits up to
# busy_timeout inside SQLite; SQLite's waiting is not first-come-first-served, so a writer that
# lost one round simply queues again (nothing has been done in its transaction yet).
WRITE_WAIT_SECONDS = 600.0


def _sqlite_begin_immediate(conn: Connection) -> None:
    """BEGIN IMMEDIATE, queueing behind other writers. In WAL mode a writer holding the lock is
    never refused later in its transaction, so retrying this first statement retries the whole
    transaction; only a wait beyond WRITE_WAIT_SECONDS ends in BUSY (nothing written)."""
    import time

    from sqlalchemy.exc import OperationalError

    deadline = time.monotonic() + WRITE_WAIT_SECONDS
    while True:
        conn.info["immediate"] = True  # read by _sqlite_begin; pooled connections keep info
        try:
            conn.begin()
            return
        except OperationalError as exc:
            if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
                with db_errors(str(conn.engine.url)):
                    raise
            conn.rollback()
            if time.monotonic() >= deadline:
                raise StoreError(BUSY) from None
            time.sleep(0.05)
        finally:
            conn.info.pop("immediate", None)


LAST_WRITE = "last_write"  # meta key: a mark of the register's last write, new at every write


def write_mark() -> str:
    """A new mark for meta ``last_write``. The generation counts writes, so a register put back
    from a copy and written again reaches counts its readers' caches were made at, with other
    rows; the mark (in the generation string, merger.register._generation) tells them apart."""
    import secrets

    return secrets.token_hex(8)


def bump_generation(conn: Connection) -> str:
    """Advance the register's generation in the writer's transaction (snapshot caches key on it),
    with a new mark of the write (``write_mark``)."""
    from sqlalchemy import text  # plain SQL: a write need not import the ORM models

    def put(key: str, value: str) -> None:
        found = conn.execute(text("UPDATE meta SET value = :v WHERE key = :k"), {"k": key, "v": value})
        if not found.rowcount:
            conn.execute(text("INSERT INTO meta (key, value) VALUES (:k, :v)"), {"k": key, "v": value})

    counted = str(int(conn.execute(text("SELECT value FROM meta WHERE key = 'generation'")).scalar() or "0") + 1)
    put("generation", counted)
    put(LAST_WRITE, write_mark())
    return counted


def _insert(conn: Connection, statement, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
    """Rows into ``statement``'s table as an executemany of them would put them, for less: the
    national bundle is ~55,000 rows, and SQLAlchemy's parameter handling of each (and on
    PostgreSQL a statement each, with its round of foreign-key checks) made most of a build.

    PostgreSQL takes them by COPY; SQLite by the driver's executemany, each value first through
    the bind processor of its column, as SQLAlchemy would (dates and times stored as it stores
    them). A column a row leaves out gets its column's scalar default, as an INSERT through
    SQLAlchemy would give it; an empty list inserts nothing (an empty executemany is a bare
    INSERT)."""
    if not rows:
        return
    table = statement.table
    given = list(rows[0])
    left = [c for c in table.columns if c.key not in rows[0] and c.default is not None]
    if any(not c.default.is_scalar for c in left):  # a default that needs the statement's context
        conn.execute(statement, rows)
        return
    names = [*given, *(c.key for c in left)]
    defaults = tuple(c.default.arg for c in left)
    dialect = conn.dialect
    if dialect.name == "postgresql":
        import psycopg
        from psycopg import sql

        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names)))
        try:
            with conn.connection.driver_connection.cursor() as cur, cur.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row((*(row[k] for k in given), *defaults))
        except psycopg.Error as exc:  # as SQLAlchemy raises a driver's error (db_errors words it)
            from sqlalchemy.exc import DBAPIError

            raise DBAPIError.instance(f"COPY {table.name}", None, exc, psycopg.Error) from exc
        return
    # column by column: each processor over its column, then the rows zipped back together
    values = [[row[k] for row in rows] for k in given] + [[d] * len(rows) for d in defaults]
    for i, column in enumerate(table.c[k] for k in names):
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            values[i] = [None if v is None else process(v) for v in values[i]]
    quoted = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
    conn.exec_driver_sql(
        f"INSERT INTO {dialect.identifier_preparer.quote(table.name)} ({quoted}) VALUES ({', '.join('?' * len(names))})",
        list(zip(*values, strict=True)))


SQLITE_MAGIC = b"SQLite format 3\x00"
# Tables every merger register has had since schema 1: a database holding them is a register.
REGISTER_TABLES = frozenset({"meta", "unit", "version", "event", "link"})


def sqlite_file(url: str) -> Path | None:
    """The file of an embedded register (None for PostgreSQL or an in-memory database)."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") and not is_memory(url) else None


def sqlite_state(path: Path) -> str:
    """What a file holds, judged without writing a byte to it: "missing", "empty" (no bytes, or a
    SQLite database without tables), "register", "foreign" (another application's tables) or
    "not-sqlite". Opening it through SQLAlchemy would already write (WAL mode), hence the stdlib
    driver read-only, and immutable where even that cannot open it (a read-only file system)."""
    import sqlite3

    try:
        if not path.exists():
            return "missing"
        if path.is_dir():
            return "not-sqlite"
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError:
        return "not-sqlite"
    if not head:
        return "empty"
    if head != SQLITE_MAGIC:
        return "not-sqlite"
    tables: set[str] | None = None
    from urllib.parse import quote

    for mode in ("mode=ro", "immutable=1"):
        try:
            con = sqlite3.connect(f"file:{quote(str(path))}?{mode}", uri=True, timeout=30)
            try:
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                con.close()
            break
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc) or "malformed" in str(exc):
                return "not-sqlite"
    if tables is None:
        return "not-sqlite"
    if not tables:
        return "empty"
    return "register" if tables >= REGISTER_TABLES else "foreign"


def check_target(url: str, *, build: bool) -> str:
    """Refuse an embedded register path that merger must not touch; returns its sqlite_state
    ("postgresql" or "memory" for the others). Only a missing path or an empty file is ever built
    into (``build``); a file holding anything but a merger register is never opened for writing."""
    if is_memory(url):
        return "memory"
    path = sqlite_file(url)
    if path is None:
        return "postgresql"
    found = sqlite_state(path)
    if found in ("foreign", "not-sqlite"):
        what = (_("another application's database") if found == "foreign"
                else _("a folder") if path.is_dir() else _("not a SQLite database, or a damaged one"))
        raise StoreError(_("{shown} is not a merger register ({what}); nothing was written to it. Give another --db "
                           "path (a new file is built from the bundled data)").format(shown=_shown(path), what=what))
    if found in ("missing", "empty") and not build:
        raise StoreError(_("no register at {shown}; run 'merger init' first").format(shown=_shown(path)))
    return found


def _shown(path: Path) -> str:
    """A path as messages quote it: at most ~120 characters, control characters made visible."""
    text = str(path)
    text = text if len(text) <= 120 else text[:60] + "…" + text[-59:]
    return repr(text)[1:-1] if not text.isprintable() else text


def make_folder(path: Path) -> None:
    """The folder of a new embedded register, made only when it is built (never by a read)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(_("cannot create the register's folder {shown}: {value}").format(shown=_shown(path.parent), value=exc.strerror or exc)) from None


def open_engine(db: str | None = None, *, build: bool = True, progress: Progress | None = None,
                read_only: bool = False) -> Engine:
    """Open (and on first use, build) the register named by ``db``."""
    url = resolve_url(db)
    build = build and not read_only
    found = check_target(url, build=build)
    sqlite_path = sqlite_file(url)
    existed = found not in ("missing", "memory", "postgresql")
    if sqlite_path is not None and found == "missing":
        make_folder(sqlite_path)
    engine = make_engine(url, read_only=read_only)
    if not is_initialised(engine):
        engine.dispose()
        if sqlite_path is not None and not existed:
            remove_sqlite(url)
        if not build:
            raise StoreError(_("no register at {redact}; run 'merger init' first").format(redact=redact(url)))
        if found == "postgresql":
            _refuse_foreign_database(url)
        engine = make_engine(url)
        try:
            with db_errors(url):
                load_bundle(engine, progress=progress)
                if found == "postgresql":
                    _analyse(engine)
        except BaseException:
            engine.dispose()
            if sqlite_path is not None and not existed:
                remove_sqlite(url)  # the build is one transaction; an empty file is all that's left
            raise
    try:
        check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _analyse(engine: Engine) -> None:
    """Gather PostgreSQL's planner statistics once the bundle is in: until autovacuum gets to a new
    database it plans the neighbourhood reads blind, ~9x slower (measured on the national register)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def _refuse_foreign_database(url: str) -> None:
    """A PostgreSQL database that holds other tables (and no register) is not built into."""
    from sqlalchemy import inspect

    engine = make_engine(url)
    try:
        with db_errors(url):
            tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    if tables and not tables >= REGISTER_TABLES:
        raise StoreError(_("{redact} is not a merger register (it holds other tables: {join}); nothing was written to "
                           "it. Build the register into an empty database").format(redact=redact(url), join=', '.join(sorted(tables)[:5])))


def remove_sqlite(url: str) -> None:
    """A half-built embedded register is removed, so the next run starts clean."""
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
