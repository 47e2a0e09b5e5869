"""PostgreSQL for the tests: a real server, started by the project's own script when none is given.

``MERGER_TEST_PG`` (a ``postgresql+psycopg://`` URL of a role that may CREATE DATABASE) names a
server that is already running; otherwise ``scripts/postgres-test-server`` installs (as root, with
apt-get), initialises and starts one on 127.0.0.1, and the session stops it at the end. When
neither works the PostgreSQL tests are skipped with the reason, never passed silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

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
    folder = Path(tempfile.mkdtemp(prefix="merger-pg-test-", dir="/tmp"))
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
        folder = Path(tempfile.mkdtemp(prefix="merger-pg-test-", dir="/tmp"))
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
    engine = _admin(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def copy_database(url: str, prefix: str = "c") -> str:
    """A new database copied from the one at ``url`` (CREATE DATABASE ... TEMPLATE); returns its URL.
    The template must have no open connections."""
    from sqlalchemy.engine import make_url

    source = make_url(url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = _admin(source.set(database="merger").render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            # connections left open by finished CLI runs would block the copy
            _retry(conn, source.database, f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"')
    finally:
        engine.dispose()
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


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (connecting to the server's main database to do it)."""
    from sqlalchemy.engine import make_url

    target = make_url(url)
    engine = _admin(target.set(database="merger").render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            _retry(conn, target.database, f'DROP DATABASE IF EXISTS "{target.database}"')
    finally:
        engine.dispose()


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
