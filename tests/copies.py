"""A private, writable copy of the national register with its snapshot cache, on either store:
what ``national_copy`` (tests/conftest.py) gives each test, for module fixtures that share one."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from merger.register import Register


@contextlib.contextmanager
def private_copy(national: Register, folder: Path) -> Iterator[Register]:
    """The copy, removed afterwards (a PostgreSQL database; a SQLite file in ``folder``). The
    snapshot cache is copied too: the copy is at the same generation, so a user's register read
    once before (the common case) is what the test starts from, not a cold read (~1 s)."""
    import pg

    if national.sqlite_path is not None:
        path = folder / "copy.sqlite"
        shutil.copy(national.sqlite_path, path)
        with contextlib.suppress(FileNotFoundError):
            shutil.copy(national.cache_path(), path.with_name(path.name + ".snapshot"))
        reg = Register.open(str(path))
        try:
            yield reg
        finally:
            reg.close()
        return
    national.close()  # a template database must have no open connections
    url = pg.copy_database(national.url)
    with contextlib.suppress(FileNotFoundError):
        shutil.copy(national.cache_path(), Register(url).cache_path())
    reg = Register.open(url)
    try:
        yield reg
    finally:
        reg.close()
        pg.drop_database(url)
