"""The recording tests, run again on PostgreSQL.

The recording, history, annex and village tests that speak to the register through the library
(not through SQLite files) are imported here unchanged; this module's ``reg`` fixture gives them
the village register loaded into a fresh PostgreSQL database. Skipped, with the reason, where no
PostgreSQL server can be had (see tests/pg.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pg
from merger.register import Register
from test_annex import test_yaml_annex_with_defaults_and_line_numbers  # noqa: F401
from test_record import (  # noqa: F401  (collected here, on PostgreSQL)
    test_default_recorder_is_the_os_user,
    test_library_refusal_lists_violations,
    test_merge_into_existing_unit_is_absorption,
    test_rename_reclassify_dissolve_establish_move,
    test_split_with_shares_and_transfer,
)
from test_record_history import (  # noqa: F401
    test_amend_a_wrong_date,
    test_cannot_revoke_what_later_events_build_on_nor_bundled_data,
)
from test_villages import (  # noqa: F401
    test_cum_dan_cu_joins_the_neighbouring_village,
    test_duplicate_names_must_be_renamed_before_merging_communes,
    test_thon_becomes_to_dan_pho_and_counts_follow,
    test_villages_merge_into_a_new_one_and_a_village_needs_a_commune,
)
from village_factory import village_builder


@pytest.fixture
def reg(pg_url: str, tmp_path: Path) -> Iterator[Register]:
    """The village register (tests/village_factory.py) in its own PostgreSQL database."""
    url = pg.create_database(pg_url, "rec")
    register = pg.build(village_builder(), tmp_path, url)
    assert register.check() == []
    yield register
    register.close()
    pg.drop_database(url)
