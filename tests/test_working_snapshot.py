"""A write planned on the whole register reads it from the snapshot cache brought to the write's
state (Register.columns_at), not row by row through SQL: the rows must be the same."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from merger import cache
from merger.recording import Spec, db
from merger.register import Register, _split


def _both(reg: Register) -> tuple[cache.Columns | None, cache.Columns]:
    """(from the cache, read whole) in one read transaction of a write connection."""
    with db.connect(reg) as conn:
        conn.begin_read()
        try:
            return reg.columns_at(conn), cache.columns_of(cache.read_all(conn))
        finally:
            conn.rollback()


def test_the_cache_gives_the_rows_sql_gives(national_copy: Register) -> None:
    reg = national_copy
    from_cache, whole = _both(reg)  # the cache of this generation
    assert from_cache == whole
    reg.record(Spec(type="rename", effective=date(2025, 9, 1), units=["Phường Hồng Bàng"], to="Phường Hồng Bàng Mới",
                    act="9/NQ-HĐND"))
    reg.record(Spec(type="merge", effective=date(2025, 10, 1), units=["Phường Hồng An"],
                    into=["Phường Hồng Bàng Mới"], act="10/NQ-HĐND"))
    from_cache, whole = _both(reg)  # two writes behind: brought up to date by the rows written
    assert from_cache is not None and from_cache == whole
    assert any(name == "Phường Hồng Bàng Mới" for name in whole["version"][5])  # the writes are in both


def test_no_cache_or_another_registers_is_not_used(national_copy: Register, tmp_path: Path) -> None:
    reg = national_copy
    path = reg.cache_path()
    kept = tmp_path / "kept"
    kept.write_bytes(path.read_bytes())
    path.unlink()
    assert _both(reg)[0] is None
    cache.write_columns(path, "another build|5|1", cache.read_columns(kept)[1])  # type: ignore[index]
    assert _both(reg)[0] is None


def test_a_refused_name_says_the_same_as_before(national_copy: Register) -> None:
    """An unknown name is judged on the whole register (its suggestions come from every name)."""
    import pytest

    from merger.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        national_copy.record(Spec(type="dissolve", effective=date(2025, 9, 1), units=["Xã Không Có Thật"],
                                  act="9/NQ-HĐND"))
    assert "no unit matches 'Xã Không Có Thật on 2025-09-01'; did you mean: Xã Hoàng Hoa Thám" in str(caught.value)


def test_a_cache_of_another_history_at_the_same_generation_is_not_used(national_sqlite_path: Path,
                                                                         tmp_path: Path) -> None:
    """A register file put back from a copy and written again reaches the generation of a cache
    made after other writes: the write reads the register itself."""
    import shutil

    path = tmp_path / "register.sqlite"
    shutil.copy(national_sqlite_path, path)
    backup = tmp_path / "backup.sqlite"
    shutil.copy(path, backup)
    reg = Register.open(str(path))
    reg.record(Spec(type="rename", effective=date(2025, 9, 1), units=["Phường Hồng Bàng"], to="Phường Hồng Bàng A",
                    act="9/NQ-HĐND"))
    with db.connect(reg) as conn:  # the cache as a reader leaves it after this write
        cache.write_columns(reg.cache_path(), reg.generation(), cache.columns_of(cache.read_all(conn)))
    reg.close()
    shutil.copy(backup, path)  # put back; the cache file stays
    reg = Register.open(str(path))
    reg.record(Spec(type="rename", effective=date(2025, 9, 1), units=["Phường Hồng An"], to="Phường Hồng An B",
                    act="9/NQ-HĐND"))
    # the same count of writes; the mark of the last write tells the two lines apart
    cached = cache.read_columns(reg.cache_path())[0]  # type: ignore[index]
    assert _split(cached)[::2] == _split(reg.generation())[::2] and cached != reg.generation()
    from_cache, whole = _both(reg)
    assert from_cache is None
    assert "Phường Hồng An B" in whole["version"][5] and "Phường Hồng Bàng A" not in whole["version"][5]
