"""A register put back from a copy and written again (a backup restored, a file copied back from
another machine) can reach the write count its readers' snapshot cache was made at, with other
rows. Each write leaves a mark of its own in the register (meta ``last_write``), and the cache is
only brought forward by the rows written since when its last event is still the register's: a
reader answers from the register's rows, never from the other line of writes.

The other machine is played here by putting that line's cache file back beside the register,
as a cache made elsewhere (a user's cache folder, a copied folder) would be.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clirunner import CliRunner
from merger import cache
from merger.cli import app
from merger.register import Register

WARD_A = "Phường Thủy Nguyên, Hải Phòng"
WARD_B = "Phường Hồng Bàng"
ACT = ["--act", "TEST/1", "--by", "test"]


def _rename(url: str, ward: str, to: str, day: str) -> None:
    res = CliRunner().invoke(app, ["--db", url, "record", "rename", ward, "--to", to, "-e", day, *ACT])
    assert res.exit_code == 0, res.output


class _Copy:
    """The register as it is now, to be put back later (a file copy; on PostgreSQL the tests'
    in-place restorer, as a dump restored would)."""

    def __init__(self, reg: Register, folder: Path):
        self.reg, self.file = reg, None
        if reg.sqlite_path is not None:
            self.file = folder / "backup.sqlite"
            shutil.copy(reg.sqlite_path, self.file)
        else:
            import pg

            self.restorer = pg.Restorer(reg.url)

    def put_back(self) -> None:
        self.reg.close()
        if self.file is not None:
            assert self.reg.sqlite_path is not None
            for suffix in ("-wal", "-shm"):
                Path(str(self.reg.sqlite_path) + suffix).unlink(missing_ok=True)
            shutil.copy(self.file, self.reg.sqlite_path)
        else:
            import pg

            pg.end_sessions(self.reg.url)
            assert self.restorer.restore(self.reg.url), self.restorer.refused


@pytest.mark.parametrize("writes_after", [1, 2])
def test_a_register_put_back_and_written_again_is_not_read_from_the_other_lines_cache(
        national_copy: Register, tmp_path: Path, writes_after: int) -> None:
    """One write, its cache kept; the register put back and written ``writes_after`` times (the
    same count as the cache: the cache is exactly of another line; one more: a delta from it
    would add the new rows to the other line's). Every reader sees the register's own rows."""
    reg = national_copy
    url = str(reg.sqlite_path) if reg.sqlite_path is not None else reg.url
    copy = _Copy(reg, tmp_path)
    _rename(url, WARD_A, "Phường Dòng Khác", "2025-09-01")
    line_a = Register.open(url)
    assert line_a.search("Dòng Khác")
    # its reader's cache, of that line's rows and count (as a reader writes it after many writes)
    columns, generation = line_a._columns(line_a.generation())  # noqa: SLF001
    other_line = tmp_path / "other-line.snapshot"
    cache.write_columns(other_line, generation, columns)
    line_a.close()
    copy.put_back()
    _rename(url, WARD_B, "Phường Dòng Này", "2025-09-01")
    if writes_after == 2:
        _rename(url, "Phường Dòng Này", "Phường Dòng Này Hai", "2025-10-01")
    shutil.copy(other_line, reg.cache_path())  # the other machine's cache, of the same count or one behind
    fresh = Register.open(url)
    names = {v.full_name for v in fresh.snapshot.versions.values()}  # the whole snapshot, from the cache
    assert "Phường Dòng Khác" not in names, "the other line's rename was read from its cache"
    assert "Phường Dòng Này" in names
    assert fresh.snapshot.generation == fresh.generation()
    assert not fresh.search("Dòng Khác") and fresh.search("Dòng Này")
    # the partial readers (neighbourhood, territory) and the CLI agree
    res = CliRunner().invoke(app, ["--db", url, "lineage", WARD_A])
    assert res.exit_code == 0 and "Dòng Khác" not in res.output, res.output
    res = CliRunner().invoke(app, ["--db", url, "search", "Dòng Khác"])
    assert res.exit_code == 1, res.output
