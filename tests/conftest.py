"""Shared fixtures: the national register and small factory registers, on both stores.

Every test that takes ``national``, ``national_path``, ``national_copy`` or ``build`` runs twice:
once on the embedded SQLite store and once on PostgreSQL (a real server, see tests/pg.py). Where
no PostgreSQL server can be had, the PostgreSQL half is skipped with the reason shown. Tests of
SQLite-only behaviour (the file on first use, WAL, SIGKILL) take ``national_sqlite`` instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from merger.register import Register

if TYPE_CHECKING:
    import pg

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT.parent / "shared" / "data" / "sources"
STORES = ["sqlite", "postgresql"]


@pytest.fixture
def sources() -> Path:
    if not (SOURCES / "MANIFEST.md").exists():
        pytest.skip(f"raw sources not present at {SOURCES}")
    return SOURCES


def pytest_configure(config: pytest.Config) -> None:
    """The run's own settings, each for CPU a run spent on something other than the tests: the
    collector's pace in every process of pytest; bytecode and the temporary folders, set in the
    controller before it starts the workers (they inherit its environment)."""
    import gc

    # A worker lives for the whole run and holds several national registers, their snapshots and
    # caches: the cyclic collector's default pace (a collection every 700 new objects) spent
    # ~16 s of CPU a run going over them, ~5 s at this one. The processes of the CLI runs
    # (subprocesses) keep Python's default; the product's own pauses are in merger.collector.
    gc.set_threshold(50_000, 20, 20)
    # PostgreSQL connections kept between uses in this process (tests/pgkeep.py): a new server
    # process and its catalog caches for each CLI run cost the server ~15 ms of CPU each.
    if os.environ.get("MERGER_TEST_PG_KEEP", "1") != "0":
        import pgkeep

        config._merger_pg_keeper = pgkeep.install()  # type: ignore[attr-defined]
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    # Where the environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE, as on this
    # project's CI machines), every worker and subprocess compiled each module of the checkout it
    # imported, and pytest rewrote every test module in each worker: ~18 s of CPU a run. The run
    # writes bytecode as Python does by default, to the __pycache__ folders .gitignore leaves out.
    # (PYTHONPYCACHEPREFIX would keep them out of the checkout, but it moves the installed
    # packages' bytecode too: every library was compiled again.)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    # The run's temporary folders in RAM where the machine has room (tests/pg.py, ram_folder: file
    # creation on this disk is slow once many files have come and gone), unless the user chose
    # where (--basetemp, TMPDIR, PYTEST_DEBUG_TEMPROOT).
    if config.option.basetemp is None and not {"TMPDIR", "PYTEST_DEBUG_TEMPROOT"} & set(os.environ):
        import pg

        ram = pg.ram_folder()
        if ram is not None:
            os.environ["PYTEST_DEBUG_TEMPROOT"] = str(ram)


def pytest_unconfigure(config: pytest.Config) -> None:
    keeper = getattr(config, "_merger_pg_keeper", None)
    if keeper is not None:
        keeper.close_all()


@pytest.fixture
def unkept_pg_connections(pytestconfig: pytest.Config) -> Iterator[None]:
    """psycopg's own connect for a test about connections themselves (one closed is closed)."""
    keeper = getattr(pytestconfig, "_merger_pg_keeper", None)
    if keeper is None:
        yield
        return
    import psycopg

    psycopg.connect = keeper.real
    try:
        yield
    finally:
        psycopg.connect = keeper.connect


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject's addopts): one worker per core this process may use. A third
    worker on two cores once filled the time workers spent waiting on the PostgreSQL server (305 s
    with two, 275 s with three); since the server and the run's files live in RAM
    (pytest_configure) there is little waiting left, and a third worker's own share of the
    collection, its module fixtures and its collector cost more than it gained (this VM, README
    command: 189 s with two workers, 197 s with three, in paired runs)."""
    return len(os.sched_getaffinity(0))


# --- the stores ------------------------------------------------------------------------------


@pytest.fixture(scope="session", params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The store a store-bound test runs on; every such test runs once per store."""
    return request.param


@pytest.fixture(scope="session", autouse=True)
def private_user_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The session's snapshot caches and user data (PostgreSQL registers keep both there) go to
    session folders, never to the user's ~/.cache and ~/.local/share."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    # matplotlib keeps its font list under $XDG_CACHE_HOME, which is new for each worker: one
    # folder for the whole run instead, so the list (~3 s to make) is made once, not per worker
    # and per subprocess. The user's own ~/.config/matplotlib stays out of the run either way.
    mpl = _run_folder(tmp_path_factory) / "matplotlib"
    mpl.mkdir(exist_ok=True)
    patch.setenv("MPLCONFIGDIR", str(mpl))
    yield
    patch.undo()


class Assembled:
    """Whole-register snapshots this process has assembled from a current cache file, kept for
    the next Register that reads the same file at the same generation (another CLI invocation,
    another copy of the national register): each invocation reads the register anew, and at the
    national size decoding the cache and assembling the snapshot cost ~60 ms each, thousands of
    times in a run.

    A snapshot is kept only when Register.snapshot read it from the cache file as it is (the
    file's generation is the register's, the file trusted, and unchanged by the read), so it is
    what that read gives again for the same bytes, generation and ``as_recorded``: the file is
    read and compared byte for byte before a kept one is handed out, and every other case (no
    cache, a stale or damaged one, a file the read rewrote, --db :memory:) runs Register.snapshot
    itself. Partial reads (Register.around, _part, _territory) are untouched: they never ask for
    the whole snapshot, and a register holds one only after asking, as before."""

    KEEP = 4  # snapshots (~32 MB each at the national size)

    def __init__(self) -> None:
        from collections import OrderedDict

        self.kept: OrderedDict[tuple[str, object], tuple[bytes, object]] = OrderedDict()
        self.hits = 0

    def snapshot(self, reg: Register, read: Callable[[Register], object]) -> object:
        from merger import store

        gen = reg.generation()
        held = reg._snapshot
        if held is not None and held.generation == gen:
            return held
        if store.is_memory(reg.url):
            return read(reg)
        path = reg.cache_path()
        before = _current_cache(path, gen)
        key = (gen, reg.as_recorded)
        found = self.kept.get(key)
        if before is not None and found is not None and found[0] == before:
            self.kept[key] = found  # the most recently used
            self.kept.move_to_end(key)
            self.hits += 1
            reg._snapshot = found[1]  # type: ignore[assignment]
            return found[1]
        snap = read(reg)
        if before is not None and getattr(snap, "generation", None) == gen and _current_cache(path, gen) == before:
            self.kept[key] = (before, snap)
            self.kept.move_to_end(key)
            while len(self.kept) > self.KEEP:
                self.kept.popitem(last=False)
        return snap


def _current_cache(path: Path, gen: str) -> bytes | None:
    """The bytes of the snapshot cache at ``path`` when Register.snapshot would read it (trusted)
    and it is of generation ``gen``; else None."""
    import json

    from merger import cache

    if not cache.trusted(path):
        return None
    try:
        data = path.read_bytes()
        end = data.find(b"\n", len(cache.MAGIC))
        if not data.startswith(cache.MAGIC) or end < 0 or str(json.loads(data[len(cache.MAGIC):end])["generation"]) != gen:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data


@pytest.fixture(scope="session", autouse=True)
def assembled() -> Iterator[Assembled]:
    """Register.snapshot through ``Assembled`` for the whole run (a test that replaces
    Register.snapshot itself replaces this too, and gets it back afterwards)."""
    found = Assembled()
    read = Register.snapshot.fget  # type: ignore[attr-defined]
    patch = pytest.MonkeyPatch()
    patch.setattr(Register, "snapshot", property(lambda reg: found.snapshot(reg, read)))
    yield found
    patch.undo()


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PostgreSQL server URL (role may create databases): $MERGER_TEST_PG, or one the project
    starts, shared by the run's xdist workers and stopped at the end of the run
    (pytest_sessionfinish below).

    Skips, with the reason shown, when PostgreSQL cannot be installed or started here.
    """
    import pg

    try:
        return pg.shared_server(_run_folder(tmp_path_factory))
    except pg.Unavailable as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")


# --- made once per run, shared by the xdist workers ---------------------------------------------


def _run_folder(factory: pytest.TempPathFactory) -> Path:
    """A folder all processes of this run share: xdist makes each worker's basetemp a child of
    the controller's; without xdist, the session's own."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name`` of this run, filled by ``make`` in whichever worker asks first; the
    others wait for it on a file lock (a failed ``make`` leaves it to the next one to try)."""
    import pg

    run = _run_folder(factory)
    folder, done = run / name, run / f"{name}.done"
    with pg.locked(run / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


def pytest_sessionfinish(session: pytest.Session) -> None:
    """At the end of the run (the xdist controller, or the only process): drop the national
    template database and stop the PostgreSQL server the workers shared."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if os.environ.get("PYTEST_XDIST_WORKER") or factory is None:
        return
    import pg

    run = factory.getbasetemp()
    template = run / "national-pg" / "url"
    if template.exists():
        with contextlib.suppress(Exception):  # best effort: stopping a server of ours removes it anyway
            pg.drop_database(template.read_text(encoding="utf-8"))
    pg.stop_shared(run)


# --- the national register -------------------------------------------------------------------


@pytest.fixture(scope="session")
def national_sqlite_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite register built from the bundled data/units/, as a user's first run builds it (and
    its snapshot cache, as the first read leaves it). Built once per run; each worker gets its
    own copy of the two files."""
    def make(folder: Path) -> None:
        reg = Register.open(str(folder / "register.sqlite"))
        _ = reg.snapshot
        reg.close()

    built = _once(tmp_path_factory, "national-sqlite", make)
    path = tmp_path_factory.mktemp("national") / "register.sqlite"
    for name in ("register.sqlite", "register.sqlite.snapshot"):
        shutil.copy2(built / name, path.parent / name)
    return path


@pytest.fixture(scope="session")
def national_sqlite(national_sqlite_path: Path) -> Register:
    reg = Register.open(str(national_sqlite_path))
    _ = reg.snapshot
    return reg


@pytest.fixture(scope="session")
def national_pg(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Register]:
    """The national register loaded into its own PostgreSQL database (as `merger --db URL init`
    does). Loaded once per run into a template database (with its snapshot cache); each worker
    gets its own CREATE DATABASE ... TEMPLATE copy, and the cache beside it."""
    import pg

    def make(folder: Path) -> None:
        template = pg.create_database(pg_url, "national")
        reg = Register.open(template)
        reg.close()
        # The planner's statistics, as autovacuum leaves them a minute after a load: without them
        # the neighbourhood queries (recursive CTEs over link) took ~9x longer (test_cache.py on
        # PostgreSQL: ~10 minutes of the suite). Copies (CREATE DATABASE ... TEMPLATE) keep them.
        pg.analyze(template)
        _ = reg.snapshot
        reg.close()
        shutil.copy2(reg.cache_path(), folder / "snapshot")
        (folder / "url").touch(mode=0o600)  # the URL carries the password
        (folder / "url").write_text(template, encoding="utf-8")

    built = _once(tmp_path_factory, "national-pg", make)
    url = pg.copy_database((built / "url").read_text(encoding="utf-8"), "national")
    shutil.copy2(built / "snapshot", Register(url).cache_path())
    reg = Register.open(url)
    _ = reg.snapshot
    yield reg
    reg.close()
    pg.drop_database(url)


@pytest.fixture(scope="session")
def national(store_kind: str, request: pytest.FixtureRequest) -> Register:
    """The national register on the store of this run."""
    return request.getfixturevalue("national_sqlite" if store_kind == "sqlite" else "national_pg")


@pytest.fixture(scope="session")
def national_path(national: Register) -> str:
    """What the CLI tests pass to --db: the SQLite file, or the PostgreSQL URL."""
    return str(national.sqlite_path) if national.sqlite_path is not None else national.url


@pytest.fixture
def national_copy(national: Register, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Register]:
    """A private, writable copy of the national register on the store of this run."""
    import pg

    if national.sqlite_path is not None:
        from copies import private_copy

        with private_copy(national, tmp_path) as reg:
            yield reg
        return
    # PostgreSQL: the copy the last test of this worker left, put back as it was, else a new one
    spare: Spare = request.getfixturevalue("spare_pg_copy")
    url = spare.url
    if url is None:
        national.close()  # a template database must have no open connections
        url = pg.copy_database(national.url)
    spare.url = None
    if spare.restorer is None:
        spare.restorer = pg.Restorer(url)
    _fresh_files(Register(url), national.cache_path())
    reg = Register.open(url)
    yield reg
    reg.close()
    pg.end_sessions(url)
    if spare.restorer.restore(url):
        spare.url = url  # as it was: the next test's copy, without CREATE DATABASE (~0.7 s)
    else:
        pg.drop_database(url)


class Spare:
    """This worker's copy of the national PostgreSQL register that the last test left (put back
    as it was by tests/pg.py ``Restorer``), and the restorer, made from the first copy."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.restorer: pg.Restorer | None = None


@pytest.fixture(scope="session")
def spare_pg_copy(pg_url: str) -> Iterator[Spare]:
    import pg

    spare = Spare()
    yield spare
    if spare.url is not None:
        pg.drop_database(spare.url)


def _fresh_files(reg: Register, cache: Path) -> None:
    """A copy's files outside the database as a new copy has them: the national snapshot cache,
    and no note or boundaries left by a test that used the same database before."""
    from merger.geo.data import user_path

    path = reg.cache_path()
    for left in path.parent.glob(path.stem + ".*"):
        left.unlink()
    user_path(reg).unlink(missing_ok=True)
    with contextlib.suppress(FileNotFoundError):
        shutil.copy(cache, path)


# --- small registers from factories ------------------------------------------------------------


@pytest.fixture
def new_db(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """``new_db(name)``: the URL of a new, empty database on the store of this run."""
    import pg

    made: list[str] = []

    def make(name: str = "register") -> str:
        if store_kind == "sqlite":
            return f"sqlite:///{tmp_path / name}.sqlite"
        url = pg.create_database(request.getfixturevalue("pg_url"), name.replace("-", "_")[:20])
        made.append(url)
        return url

    yield make
    for url in made:
        pg.drop_database(url)


class Loaded:
    """This process's factory registers as first loaded, one per store and bundle (the bytes of
    its files), for a later ``build`` of the same bundle to copy instead of loading the files
    again: on SQLite a copy of the file (~3 ms, not ~22 ms: the first load is copied right after
    it is made); on PostgreSQL CREATE DATABASE ... TEMPLATE of a database loaded for the purpose
    when a bundle comes a second time, in place of CREATE DATABASE, create_all and the inserts
    (~0.1 s a register, for the ~150 small registers of the PostgreSQL halves; a bundle built only
    once is loaded as before, not copied). A copy holds what a load writes, rows, sequences and
    text index alike; only ``built_at`` in meta is the first load's time, not the test's."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[tuple[str, str], str] = {}  # (store, digest of the bundle) -> file or template URL
        self.seen: set[tuple[str, str]] = set()  # PostgreSQL bundles loaded once so far, with no template


@pytest.fixture(scope="session")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    import pg

    found = Loaded(tmp_path_factory.mktemp("factory-templates"))
    yield found
    for (kind, _), where in found.made.items():
        if kind == "postgresql":
            pg.drop_database(where)


def _bundle_digest(folder: Path) -> str:
    """What a load reads from a written factories.Builder bundle: each file's name and bytes."""
    import hashlib

    from merger import bundle

    h = hashlib.sha256()
    for name in bundle.BUNDLE_FILES:
        data = (folder / f"{name}.csv").read_bytes()
        h.update(f"{name}:{len(data)}:".encode())
        h.update(data)
    return h.hexdigest()


@pytest.fixture
def build(store_kind: str, tmp_path: Path, loaded: Loaded,
          request: pytest.FixtureRequest) -> Iterator[Callable[..., Register]]:
    """``build(builder)``: a factories.Builder register loaded into a new database on this run's
    store (or a copy of the same bundle's load, see ``Loaded``)."""
    import pg
    from merger import store

    opened: list[Register] = []
    made: list[str] = []

    def make(builder, name: str = "factory") -> Register:  # type: ignore[no-untyped-def]
        key = (store_kind, _bundle_digest(builder.write(tmp_path / name / "bundle")))
        first = loaded.made.get(key)
        if store_kind == "sqlite":
            path = tmp_path / f"{name}.sqlite"
            url = f"sqlite:///{path}"
            if first is None:
                builder.build(tmp_path / name, url=url).close()
                left = [p.name for p in path.parent.glob(f"{path.name}-*")]
                assert not left, f"a closed SQLite register left {left}: a copy of the file alone would lose them"
                first = loaded.made[key] = str(loaded.folder / f"{len(loaded.made)}.sqlite")
                shutil.copyfile(path, first)
            else:
                shutil.copyfile(first, path)
        else:
            prefix = name.replace("-", "_")[:20]
            if first is None and key not in loaded.seen:
                loaded.seen.add(key)
                url = pg.create_database(request.getfixturevalue("pg_url"), prefix)
                made.append(url)
                reg = builder.build(tmp_path / name, url=url)
                opened.append(reg)
                return reg
            if first is None:
                first = pg.create_database(request.getfixturevalue("pg_url"), "factory")
                loaded.made[key] = first
                builder.build(loaded.folder / str(len(loaded.made)), url=first).close()
            url = pg.copy_database(first, prefix)
            made.append(url)
        reg = Register(url, store.make_engine(url))
        opened.append(reg)
        return reg

    yield make
    for reg in opened:
        reg.close()
    for url in made:
        pg.drop_database(url)
